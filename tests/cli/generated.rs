//! Man pages and completions are generated from the clap definition and
//! committed; these tests fail when they are stale.
//!
//! Regenerate with `PORTCHECK_BLESS=1 cargo test --test cli generated`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use clap_complete::Shell;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn blessing() -> bool {
    std::env::var_os("PORTCHECK_BLESS").is_some_and(|v| v == "1")
}

/// Every man page, by file name: `portcheck.1` and one per subcommand.
fn man_pages() -> BTreeMap<String, Vec<u8>> {
    fn render(command: &clap::Command, pages: &mut BTreeMap<String, Vec<u8>>) {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            render(sub, pages);
        }
        let man = clap_mangen::Man::new(command.clone());
        let mut page = Vec::new();
        man.render(&mut page).expect("render to memory");
        pages.insert(man.get_filename(), page);
    }
    let mut command = portcheck::cli::command().disable_help_subcommand(true);
    command.build();
    let mut pages = BTreeMap::new();
    render(&command, &mut pages);
    pages
}

fn completions() -> BTreeMap<String, Vec<u8>> {
    let mut scripts = BTreeMap::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut command = portcheck::cli::command();
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, "portcheck", &mut script);
        let name = clap_complete::Generator::file_name(&shell, "portcheck");
        scripts.insert(name, netns_names(shell, script));
    }
    scripts
}

/// `--netns` completes the names `ip netns list` prints (clap's static
/// scripts cannot ask), in the shells whose scripts take a command there.
fn netns_names(shell: Shell, script: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8(script).expect("a script is UTF-8");
    let text = match shell {
        Shell::Bash => text.replace(
            "                --netns)\n                    COMPREPLY=(\"${cur}\")\n",
            "                --netns)\n                    COMPREPLY=($(compgen -W \"$(ip netns list 2>/dev/null | cut -d' ' -f1)\" -- \"${cur}\"))\n",
        ),
        Shell::Fish => text.replace(
            "-l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r",
            "-l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 \" \")'",
        ),
        _ => text,
    };
    text.into_bytes()
}

/// Compares `expected` with the files in `dir` (or writes them when
/// blessing), and fails listing every stale, missing or extra file.
fn check_dir(dir: &Path, expected: &BTreeMap<String, Vec<u8>>) {
    if blessing() {
        fs::create_dir_all(dir).expect("create output dir");
        for entry in fs::read_dir(dir).expect("list output dir").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !expected.contains_key(&name) {
                fs::remove_file(entry.path()).expect("remove stale file");
            }
        }
        for (name, content) in expected {
            fs::write(dir.join(name), content).expect("write generated file");
        }
        return;
    }
    let mut problems = Vec::new();
    for (name, content) in expected {
        match fs::read(dir.join(name)) {
            Ok(committed) if &committed == content => {}
            Ok(_) => problems.push(format!("{name} is stale")),
            Err(_) => problems.push(format!("{name} is missing")),
        }
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !expected.contains_key(&name) {
                problems.push(format!("{name} is not generated any more"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}: {}; regenerate with `PORTCHECK_BLESS=1 cargo test --test cli generated`",
        dir.display(),
        problems.join(", ")
    );
}

#[test]
fn man_pages_are_current() {
    let pages = man_pages();
    assert!(pages.contains_key("portcheck.1"));
    assert!(pages.contains_key("portcheck-who.1"));
    check_dir(&repo().join("man"), &pages);
}

#[test]
fn completions_are_current() {
    let scripts = completions();
    assert_eq!(scripts.len(), 5);
    check_dir(&repo().join("completions"), &scripts);
}
