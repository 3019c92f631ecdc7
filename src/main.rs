//! The `portcheck` binary: everything happens in the library.

fn main() {
    std::process::exit(portcheck::run(std::env::args_os()));
}
