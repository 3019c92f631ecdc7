//! The Rust server of `portcheck why`'s first story, for the field tests
//! and the README: HTTPS on `[::]:PORT`, bound the way std, tokio and
//! axum-server bind it (no IPV6_V6ONLY, so with `net.ipv6.bindv6only = 0`
//! it is dual-stack), then an HTTP redirect on `0.0.0.0:PORT`, which the
//! first socket is in the way of.
//!
//! `rust_dual_stack PORT hyper`: logs as tracing does, then fails with
//! hyper's words (`error binding to ADDR: error creating server
//! listener: ...`). `rust_dual_stack PORT debug`: returns the io::Error
//! from `main`, so Rust prints `Error: Os { code: 98, kind: AddrInUse, .. }`.
//! `rust_dual_stack PORT v6only`: the fix, `socket2::Socket::set_only_v6(true)`
//! before bind; both sockets bind, and it exits 0.
//!
//! Nothing here accepts a connection: each socket only binds and listens,
//! and the process exits at once.

use std::error::Error;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::process::ExitCode;

use socket2::{Domain, Protocol, Socket, Type};

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .ok_or("usage: rust_dual_stack PORT hyper|debug|v6only")?
        .parse()?;
    let mode = args.next().unwrap_or_else(|| "hyper".to_owned());
    let https = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
    let redirect = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));

    // tracing_subscriber's fmt layer without timestamps writes lines like
    // these on standard output.
    let _https: TcpListener = if mode == "v6only" {
        let socket = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_only_v6(true)?;
        socket.bind(&https.into())?;
        socket.listen(1024)?;
        socket.into()
    } else {
        TcpListener::bind(https)?
    };
    println!(" INFO rust_dual_stack: listening on {https}");
    match TcpListener::bind(redirect) {
        Ok(_redirect) => {
            println!(" INFO rust_dual_stack: redirect listening on {redirect}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) if mode == "debug" => Err(error.into()),
        Err(error) => {
            eprintln!("error binding to {redirect}: error creating server listener: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
