//! `portcheck who` against real sockets.
//!
//! Each test binds its own sockets inside its own network namespace (see
//! the harness), so ports are fixed per test and every socket portcheck
//! reports is one the test made.

use std::collections::BTreeSet;
use std::os::fd::AsRawFd;

use socket2::{Domain, Socket, Type};

use crate::harness::{
    NOBODY, Opts, ProcessDoc, Run, SocketDoc, WhoDoc, bound, fd_of, fork_listener_as, fork_sharing,
    in_netns, inode_of, listener, parse_error, parse_who, port_of, portcheck, portcheck_as,
    portcheck_into_closed_pipe, socket_address, thread_netns, udp, who_json, without_new_processes,
};

// ---------------------------------------------------------------------------
// Helpers

/// The one socket listed with this protocol, local address and port.
fn the<'a>(doc: &'a WhoDoc, protocol: &str, address: &str, port: u16) -> &'a SocketDoc {
    let found: Vec<&SocketDoc> = doc
        .sockets
        .iter()
        .filter(|s| s.protocol == protocol && s.local_address == address && s.local_port == port)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {protocol} {address} port {port} in {doc:#?}"
    );
    found[0]
}

/// `(protocol, local address, port, state)` of every listed socket, in order.
fn listed(doc: &WhoDoc) -> Vec<(String, String, u16, String)> {
    doc.sockets
        .iter()
        .map(|s| {
            (
                s.protocol.clone(),
                s.local_address.clone(),
                s.local_port,
                s.state.clone(),
            )
        })
        .collect()
}

fn entry(protocol: &str, address: &str, port: u16, state: &str) -> (String, String, u16, String) {
    (protocol.into(), address.into(), port, state.into())
}

/// The one line of the human table whose LOCAL column is `endpoint`.
fn row<'a>(human: &'a str, endpoint: &str) -> &'a str {
    let rows: Vec<&str> = human
        .lines()
        .filter(|line| line.split_whitespace().any(|word| word == endpoint))
        .collect();
    assert_eq!(rows.len(), 1, "one row for {endpoint} in:\n{human}");
    rows[0]
}

/// A human run that succeeded quietly.
fn human(args: &[&str]) -> String {
    let run = portcheck(args);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.is_empty(), "{run:#?}");
    run.stdout
}

fn this_pid() -> u32 {
    std::process::id()
}

fn this_comm() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .expect("read /proc/self/comm")
        .trim_end_matches('\n')
        .to_owned()
}

fn this_cmdline() -> Vec<String> {
    std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

/// The process entry of this test binary holding `socket`.
fn us(socket: &Socket) -> ProcessDoc {
    ProcessDoc {
        pid: this_pid(),
        name: Some(this_comm()),
        name_bytes: None,
        cmdline: this_cmdline(),
        cmdline_bytes: None,
        fd: Some(fd_of(socket)),
        fds: vec![fd_of(socket)],
        uid: Some(0),
        user: Some("root".into()),
        // Same PID namespace as portcheck: not in a container of its own.
        container: None,
    }
}

/// The facts every live socket held by this test binary (as root) shows.
fn assert_ours(doc: &SocketDoc, socket: &Socket, reuseaddr: bool, reuseport: bool) {
    assert_eq!(doc.inode, Some(inode_of(socket)), "inode of {doc:#?}");
    assert_eq!(doc.uid, Some(0), "{doc:#?}");
    assert_eq!(doc.user.as_deref(), Some("root"), "{doc:#?}");
    assert_eq!(doc.reuseaddr, Some(reuseaddr), "SO_REUSEADDR of {doc:#?}");
    assert_eq!(doc.reuseport, Some(reuseport), "SO_REUSEPORT of {doc:#?}");
    assert_eq!(doc.netns, Some(thread_netns()), "{doc:#?}");
    assert_eq!(doc.processes, vec![us(socket)], "{doc:#?}");
    assert_eq!(doc.owner_gap, None, "{doc:#?}");
}

/// Nothing could be missed: complete, no warnings, nothing counted.
fn assert_clean(doc: &WhoDoc) {
    assert!(doc.complete, "{doc:#?}");
    assert!(doc.warnings.is_empty(), "{doc:#?}");
    assert!(doc.summary.by_state.is_empty(), "{doc:#?}");
}

// ---------------------------------------------------------------------------
// 1. Dual-stack `[::]` against `[::]` with IPV6_V6ONLY

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_tells_dual_stack_from_v6only() {
    in_netns("who_tells_dual_stack_from_v6only", || {
        let dual = listener("[::]:8001", Opts::new().v6only(false));
        let only = listener("[::]:8002", Opts::new().v6only(true));
        let dual_udp = udp("[::]:8003", Opts::new().v6only(false));

        let (run, doc) = who_json(&["8001-8003"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_clean(&doc);
        assert_eq!(
            listed(&doc),
            vec![
                entry("tcp", "::", 8001, "LISTEN"),
                entry("tcp", "::", 8002, "LISTEN"),
                entry("udp", "::", 8003, "UNCONN"),
            ]
        );
        for (socket, held, v6only) in [
            (the(&doc, "tcp", "::", 8001), &dual, false),
            (the(&doc, "tcp", "::", 8002), &only, true),
            (the(&doc, "udp", "::", 8003), &dual_udp, false),
        ] {
            assert_eq!(socket.family, "ipv6");
            assert_eq!(socket.v6only, Some(v6only), "{socket:#?}");
            assert_eq!(socket.accepts_ipv4, Some(!v6only), "{socket:#?}");
            assert_ours(socket, held, false, false);
        }

        let table = human(&["who", "8001-8003"]);
        let dual_row = row(&table, "[::]:8001");
        assert!(dual_row.contains("IPv6 + IPv4"), "{table}");
        assert!(!dual_row.contains("only"), "{table}");
        assert!(row(&table, "[::]:8002").contains("IPv6 only"), "{table}");
        assert!(row(&table, "[::]:8003").contains("IPv6 + IPv4"), "{table}");
    });
}

// ---------------------------------------------------------------------------
// 2. The seed scenario: 0.0.0.0:P beside [::]:P v6only

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_lists_ipv4_wildcard_beside_v6only_wildcard() {
    in_netns("who_lists_ipv4_wildcard_beside_v6only_wildcard", || {
        // Every SO_REUSEADDR/SO_REUSEPORT combination on each side.
        let combos = [(false, false), (true, false), (false, true), (true, true)];
        let ports = [8100u16, 8101, 8102, 8103];
        let mut held = Vec::new();
        for (i, port) in ports.into_iter().enumerate() {
            let (ipv4_reuse, ipv6_reuse) = (combos[i], combos[3 - i]);
            let v4 = listener(
                &format!("0.0.0.0:{port}"),
                Opts::new().reuseaddr(ipv4_reuse.0).reuseport(ipv4_reuse.1),
            );
            let v6 = listener(
                &format!("[::]:{port}"),
                Opts::new()
                    .v6only(true)
                    .reuseaddr(ipv6_reuse.0)
                    .reuseport(ipv6_reuse.1),
            );
            held.push((port, v4, ipv4_reuse, v6, ipv6_reuse));
        }

        let (run, doc) = who_json(&["8100-8103"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_clean(&doc);
        assert_eq!(doc.query.targets, vec!["8100-8103"]);
        assert_eq!(doc.query.protocols, vec!["tcp", "udp"]);
        assert_eq!(doc.query.families, vec!["ipv4", "ipv6"]);
        assert!(!doc.query.all);
        // Sorted by port, then IPv4 before IPv6.
        let expected: Vec<_> = ports
            .iter()
            .flat_map(|&port| {
                [
                    entry("tcp", "0.0.0.0", port, "LISTEN"),
                    entry("tcp", "::", port, "LISTEN"),
                ]
            })
            .collect();
        assert_eq!(listed(&doc), expected);

        for (port, v4, ipv4_reuse, v6, ipv6_reuse) in &held {
            let ipv4 = the(&doc, "tcp", "0.0.0.0", *port);
            assert_eq!(ipv4.family, "ipv4");
            assert_eq!(ipv4.v6only, None, "IPv4 has no IPV6_V6ONLY: {ipv4:#?}");
            assert_eq!(ipv4.accepts_ipv4, Some(true));
            assert_eq!(
                (ipv4.remote_address.as_deref(), ipv4.remote_port),
                (None, None)
            );
            assert_eq!(ipv4.interface, None);
            assert_ours(ipv4, v4, ipv4_reuse.0, ipv4_reuse.1);

            let ipv6 = the(&doc, "tcp", "::", *port);
            assert_eq!(ipv6.family, "ipv6");
            assert_eq!(ipv6.v6only, Some(true));
            assert_eq!(ipv6.accepts_ipv4, Some(false));
            assert_eq!(
                (ipv6.remote_address.as_deref(), ipv6.remote_port),
                (None, None)
            );
            assert_eq!(ipv6.interface, None);
            assert_ours(ipv6, v6, ipv6_reuse.0, ipv6_reuse.1);
        }

        // One port alone: the same two sockets, and the query says so.
        let (_, single) = who_json(&["8101"]);
        assert_eq!(single.query.targets, vec!["8101"]);
        assert_eq!(single.sockets, doc.sockets[2..4].to_vec());
    });
}

// ---------------------------------------------------------------------------
// 3. IPv4-mapped binds, and address targets finding what covers them

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_shows_ipv4_mapped_binds_as_ipv4() {
    in_netns("who_shows_ipv4_mapped_binds_as_ipv4", || {
        let v4 = listener("127.0.0.1:8200", Opts::new());
        let mapped = listener("[::ffff:127.0.0.1]:8201", Opts::new().v6only(false));

        let (_, doc) = who_json(&["8200", "8201"]);
        assert_clean(&doc);
        let plain = the(&doc, "tcp", "127.0.0.1", 8200);
        assert_eq!(plain.family, "ipv4");
        assert_eq!(plain.accepts_ipv4, Some(true));
        assert_eq!(plain.v6only, None);
        assert_ours(plain, &v4, false, false);
        let socket = the(&doc, "tcp", "::ffff:127.0.0.1", 8201);
        assert_eq!(socket.family, "ipv6");
        assert_eq!(socket.accepts_ipv4, Some(true));
        assert_eq!(socket.v6only, Some(false));
        assert_ours(socket, &mapped, false, false);

        let table = human(&["who", "8200", "8201"]);
        assert!(
            row(&table, "[::ffff:127.0.0.1]:8201").contains("(mapped)"),
            "{table}"
        );
        assert!(!row(&table, "127.0.0.1:8200").contains("mapped"), "{table}");

        // A mapped bind is an IPv4 bind: an IPv4 target finds it, another
        // IPv4 address or an IPv6 one does not.
        let (run, doc) = who_json(&["127.0.0.1:8201"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(
            listed(&doc),
            vec![entry("tcp", "::ffff:127.0.0.1", 8201, "LISTEN")]
        );
        for target in ["127.0.0.2:8201", "[::1]:8201"] {
            let (run, doc) = who_json(&[target]);
            assert_eq!(run.code, 1, "{target}: {run:#?}");
            assert!(doc.sockets.is_empty(), "{target}: {doc:#?}");
        }
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_address_target_lists_the_sockets_covering_it() {
    in_netns("who_address_target_lists_the_sockets_covering_it", || {
        // Bound, not listening, all with SO_REUSEADDR: the kernel lets
        // overlapping binds coexist then, so one port holds every kind.
        let opts = Opts::new().reuseaddr(true);
        let _held = [
            bound(Type::STREAM, "127.0.0.1:8300", opts),
            bound(Type::STREAM, "127.0.0.2:8300", opts),
            bound(Type::STREAM, "0.0.0.0:8300", opts),
            bound(Type::STREAM, "[::]:8300", opts.v6only(false)),
            bound(Type::STREAM, "[::1]:8300", opts),
            // A v6-only wildcard does not cover IPv4.
            bound(Type::STREAM, "0.0.0.0:8301", opts),
            bound(Type::STREAM, "[::]:8301", opts.v6only(true)),
        ];

        let covering = |target: &str| {
            let (run, doc) = who_json(&[target]);
            assert_eq!(run.code, 0, "{target}: {run:#?}");
            assert_eq!(doc.query.targets, vec![target.to_owned()]);
            listed(&doc)
        };
        assert_eq!(
            covering("127.0.0.1:8300"),
            vec![
                entry("tcp", "0.0.0.0", 8300, "UNCONN"),
                entry("tcp", "127.0.0.1", 8300, "UNCONN"),
                entry("tcp", "::", 8300, "UNCONN"),
            ]
        );
        assert_eq!(
            covering("127.0.0.2:8300"),
            vec![
                entry("tcp", "0.0.0.0", 8300, "UNCONN"),
                entry("tcp", "127.0.0.2", 8300, "UNCONN"),
                entry("tcp", "::", 8300, "UNCONN"),
            ]
        );
        assert_eq!(
            covering("[::1]:8300"),
            vec![
                entry("tcp", "::", 8300, "UNCONN"),
                entry("tcp", "::1", 8300, "UNCONN"),
            ]
        );
        assert_eq!(
            covering("127.0.0.1:8301"),
            vec![entry("tcp", "0.0.0.0", 8301, "UNCONN")]
        );
        assert_eq!(
            covering("[::1]:8301"),
            vec![entry("tcp", "::", 8301, "UNCONN")]
        );
        // The port alone lists all seven.
        let (_, doc) = who_json(&["8300-8301"]);
        assert_eq!(doc.sockets.len(), 7, "{doc:#?}");
    });
}

// ---------------------------------------------------------------------------
// 4. UDP

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_lists_udp_with_state_and_peer() {
    in_netns("who_lists_udp_with_state_and_peer", || {
        let _udp4 = udp("0.0.0.0:8400", Opts::new());
        let _udp6 = udp("[::]:8400", Opts::new().v6only(true));
        let _tcp4 = listener("0.0.0.0:8400", Opts::new());
        let _tcp6 = listener("[::]:8404", Opts::new().v6only(false));
        let peer = udp("127.0.0.1:8402", Opts::new());
        let connected = udp("127.0.0.1:8401", Opts::new());
        connected
            .connect(&socket_address("127.0.0.1:8402").into())
            .expect("connect UDP");
        let peer6 = udp("[::1]:8405", Opts::new());
        let connected6 = udp("[::1]:8403", Opts::new());
        connected6
            .connect(&socket_address("[::1]:8405").into())
            .expect("connect UDP over IPv6");

        let (run, doc) = who_json(&["8400-8405"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_clean(&doc);
        // UDP is listed by default in every state.
        assert_eq!(
            listed(&doc),
            vec![
                entry("tcp", "0.0.0.0", 8400, "LISTEN"),
                entry("udp", "0.0.0.0", 8400, "UNCONN"),
                entry("udp", "::", 8400, "UNCONN"),
                entry("udp", "127.0.0.1", 8401, "ESTABLISHED"),
                entry("udp", "127.0.0.1", 8402, "UNCONN"),
                entry("udp", "::1", 8403, "ESTABLISHED"),
                entry("tcp", "::", 8404, "LISTEN"),
                entry("udp", "::1", 8405, "UNCONN"),
            ]
        );
        for (address, port) in [("0.0.0.0", 8400), ("::", 8400), ("127.0.0.1", 8402)] {
            let socket = the(&doc, "udp", address, port);
            assert_eq!(socket.remote_address, None, "{socket:#?}");
            assert_eq!(socket.remote_port, None, "{socket:#?}");
        }
        let udp6 = the(&doc, "udp", "::", 8400);
        assert_eq!((udp6.v6only, udp6.accepts_ipv4), (Some(true), Some(false)));
        let socket = the(&doc, "udp", "127.0.0.1", 8401);
        assert_eq!(socket.remote_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(socket.remote_port, Some(8402));
        assert_ours(socket, &connected, false, false);
        assert_ours(the(&doc, "udp", "127.0.0.1", 8402), &peer, false, false);
        let socket = the(&doc, "udp", "::1", 8403);
        assert_eq!(socket.remote_address.as_deref(), Some("::1"));
        assert_eq!(socket.remote_port, Some(8405));
        assert_ours(socket, &connected6, false, false);
        assert_ours(the(&doc, "udp", "::1", 8405), &peer6, false, false);

        let kinds = |flags: &[&str]| {
            let mut args = vec!["8400-8405"];
            args.extend_from_slice(flags);
            let (run, doc) = who_json(&args);
            assert_eq!(run.code, 0, "{flags:?}: {run:#?}");
            let seen: BTreeSet<(String, String)> = doc
                .sockets
                .iter()
                .map(|s| (s.protocol.clone(), s.family.clone()))
                .collect();
            (doc.query.protocols, doc.query.families, seen)
        };
        let pair = |p: &str, f: &str| (p.to_owned(), f.to_owned());
        let (protocols, _, seen) = kinds(&["-t"]);
        assert_eq!(protocols, vec!["tcp"]);
        assert_eq!(seen, [pair("tcp", "ipv4"), pair("tcp", "ipv6")].into());
        let (protocols, _, seen) = kinds(&["-u"]);
        assert_eq!(protocols, vec!["udp"]);
        assert_eq!(seen, [pair("udp", "ipv4"), pair("udp", "ipv6")].into());
        let (_, families, seen) = kinds(&["-4"]);
        assert_eq!(families, vec!["ipv4"]);
        // -4 is the sockets that take IPv4: the dual-stack [::]:8404 too
        // (a bind of 0.0.0.0:8404 meets it), never the v6only or ::1 ones.
        assert_eq!(
            seen,
            [
                pair("tcp", "ipv4"),
                pair("tcp", "ipv6"),
                pair("udp", "ipv4")
            ]
            .into()
        );
        let (run, doc) = who_json(&["8400-8405", "-4"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let v6: Vec<(String, u16)> = doc
            .sockets
            .iter()
            .filter(|s| s.family == "ipv6")
            .map(|s| (s.local_address.clone(), s.local_port))
            .collect();
        assert_eq!(v6, vec![("::".to_owned(), 8404)], "{doc:#?}");
        let (_, families, seen) = kinds(&["-6"]);
        assert_eq!(families, vec!["ipv6"]);
        assert_eq!(seen, [pair("tcp", "ipv6"), pair("udp", "ipv6")].into());
        let (protocols, families, seen) = kinds(&["-u", "-6"]);
        assert_eq!(
            (protocols, families),
            (vec!["udp".into()], vec!["ipv6".into()])
        );
        assert_eq!(seen, [pair("udp", "ipv6")].into());
    });
}

// ---------------------------------------------------------------------------
// 5. TIME_WAIT: held by the kernel, counted, listed with --all

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_counts_and_lists_time_wait() {
    in_netns("who_counts_and_lists_time_wait", || {
        let server = listener("127.0.0.1:8500", Opts::new());
        let client = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        client
            .connect(&socket_address("127.0.0.1:8500").into())
            .expect("connect");
        let client_port = port_of(&client);
        let (accepted, _) = server.accept().expect("accept");
        // The side that closes first is left in TIME_WAIT: the server's.
        without_new_processes(|| {
            drop(accepted);
            drop(client);
            drop(server);
        });

        let doc = poll_until_only_time_wait(8500);
        assert_eq!(doc.query.targets, vec!["8500"]);
        assert!(doc.query.all);
        let socket = the(&doc, "tcp", "127.0.0.1", 8500);
        assert_eq!(socket.state, "TIME_WAIT");
        assert_eq!(socket.family, "ipv4");
        assert_eq!(socket.remote_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(socket.remote_port, Some(client_port));
        assert_eq!(
            socket.inode, None,
            "the kernel reports inode 0: {socket:#?}"
        );
        assert_eq!(socket.uid, None, "{socket:#?}");
        assert_eq!(socket.user, None, "{socket:#?}");
        assert_eq!(socket.reuseaddr, None, "{socket:#?}");
        assert_eq!(socket.reuseport, None, "{socket:#?}");
        assert!(socket.processes.is_empty(), "{socket:#?}");
        assert_eq!(socket.owner_gap.as_deref(), Some("kernel_owned"));
        assert_eq!(socket.netns, Some(thread_netns()));
        // Nothing that exists was missed: a note, not a gap.
        assert!(doc.complete, "{doc:#?}");
        assert!(doc.warning_codes().contains(&"kernel_owned"), "{doc:#?}");
        let note = doc.warnings.iter().find(|w| w.code == "kernel_owned");
        assert!(
            note.is_some_and(|w| w.message.contains("TIME_WAIT")),
            "{doc:#?}"
        );
        assert!(doc.summary.by_state.is_empty(), "{doc:#?}");

        // By default the entry is counted, not listed, and the port is not
        // free: a TIME_WAIT still blocks a bind without SO_REUSEADDR.
        let (run, doc) = who_json(&["8500"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.sockets.is_empty(), "{doc:#?}");
        assert_eq!(
            doc.summary.by_state,
            [("TIME_WAIT".to_owned(), 1)].into(),
            "{doc:#?}"
        );
        assert!(doc.complete, "{doc:#?}");
        let table = human(&["who", "8500"]);
        assert!(
            table.contains("TIME_WAIT") && table.contains("--all"),
            "{table}"
        );
    });
}

/// Polls `who PORT --all` (at most 5 s) until the port shows exactly one
/// entry, in TIME_WAIT.
fn poll_until_only_time_wait(port: u16) -> WhoDoc {
    let port_text = port.to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (run, doc) = who_json(&[&port_text, "--all"]);
        if doc.sockets.len() == 1 && doc.sockets[0].state == "TIME_WAIT" {
            assert_eq!(run.code, 0, "{run:#?}");
            return doc;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no lone TIME_WAIT on {port} after 5 s: {doc:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// 6. A socket shared across fork

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_lists_every_process_sharing_a_socket() {
    in_netns("who_lists_every_process_sharing_a_socket", || {
        let socket = listener("0.0.0.0:8600", Opts::new().reuseaddr(true));
        let child = fork_sharing(&socket);
        let fd = fd_of(&socket);
        assert_eq!(child.fd(), fd);

        let (run, doc) = who_json(&["8600"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_clean(&doc);
        let listed = the(&doc, "tcp", "0.0.0.0", 8600);
        assert_eq!(listed.inode, Some(inode_of(&socket)));
        assert_eq!(listed.reuseaddr, Some(true));
        assert_eq!(listed.owner_gap, None);
        let mut expected = vec![this_pid(), child.pid()];
        expected.sort_unstable();
        let pids: Vec<u32> = listed.processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, expected, "sorted by pid: {listed:#?}");
        for process in &listed.processes {
            assert_eq!(process.fd, Some(fd), "{process:#?}");
            assert_eq!(process.fds, vec![fd], "{process:#?}");
            assert_eq!(process.uid, Some(0));
            assert_eq!(process.user.as_deref(), Some("root"));
            assert!(process.name.is_some(), "{process:#?}");
            // A forked child keeps its parent's command line.
            assert_eq!(process.cmdline, this_cmdline());
        }

        let table = human(&["who", "8600"]);
        for pid in [this_pid(), child.pid()] {
            assert!(table.contains(&format!("(pid {pid}, fd {fd})")), "{table}");
        }
    });
}

// ---------------------------------------------------------------------------
// 7. An SO_REUSEPORT pair

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_lists_both_sockets_of_a_reuseport_pair() {
    in_netns("who_lists_both_sockets_of_a_reuseport_pair", || {
        let opts = Opts::new().reuseport(true);
        let first = listener("127.0.0.1:8700", opts);
        let second = listener("127.0.0.1:8700", opts);
        assert_ne!(inode_of(&first), inode_of(&second));

        let (run, doc) = who_json(&["8700"]);
        assert_eq!(run.code, 0, "{run:#?}");
        // Complete, and the pair is named once as a group.
        assert!(doc.complete && doc.summary.by_state.is_empty(), "{doc:#?}");
        let codes: Vec<&str> = doc.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["reuseport_group"], "{doc:#?}");
        assert!(
            doc.warnings[0]
                .message
                .contains("tcp 127.0.0.1:8700 is a SO_REUSEPORT group of 2 sockets"),
            "{doc:#?}"
        );
        assert_eq!(doc.sockets.len(), 2, "{doc:#?}");
        // Same port, address and state: ordered by inode.
        let mut held = [&first, &second];
        held.sort_by_key(|socket| inode_of(*socket));
        for (listed, socket) in doc.sockets.iter().zip(held) {
            assert_eq!(listed.local_address, "127.0.0.1");
            assert_eq!(listed.state, "LISTEN");
            assert_ours(listed, socket, false, true);
        }
    });
}

// ---------------------------------------------------------------------------
// 8. A socket of another uid

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_reports_the_uid_of_another_users_socket() {
    in_netns("who_reports_the_uid_of_another_users_socket", || {
        let holder = fork_listener_as(NOBODY, "0.0.0.0:8800");
        let name = uzers::get_user_by_uid(NOBODY).map(|u| u.name().to_string_lossy().into_owned());

        let (run, doc) = who_json(&["8800"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_clean(&doc);
        let socket = the(&doc, "tcp", "0.0.0.0", 8800);
        assert_eq!(socket.uid, Some(NOBODY), "{socket:#?}");
        assert_eq!(socket.user, name, "{socket:#?}");
        // Root reads the options of anyone's socket.
        assert_eq!(socket.reuseaddr, Some(false), "{socket:#?}");
        assert_eq!(socket.reuseport, Some(false), "{socket:#?}");
        assert_eq!(socket.owner_gap, None);
        assert_eq!(socket.processes.len(), 1, "{socket:#?}");
        let process = &socket.processes[0];
        assert_eq!(process.pid, holder.pid());
        assert_eq!(process.fd, Some(holder.fd()));
        assert_eq!(process.fds, vec![holder.fd()]);
        assert_eq!(process.uid, Some(NOBODY));
        assert_eq!(process.user, name);
        assert!(process.name.is_some(), "{process:#?}");
    });
}

// ---------------------------------------------------------------------------
// 9. portcheck itself run without privileges

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_unprivileged_still_lists_every_socket_and_says_what_it_missed() {
    in_netns("who_unprivileged_still_lists_every_socket", || {
        let _v4 = listener("0.0.0.0:8900", Opts::new().reuseaddr(true));
        let _v6 = listener("[::]:8900", Opts::new().v6only(true));
        let _udp = udp("127.0.0.1:8901", Opts::new());

        let (_, as_root) = who_json(&["8900-8901"]);
        assert_clean(&as_root);
        assert_eq!(as_root.sockets.len(), 3, "{as_root:#?}");

        let run = portcheck_as(NOBODY, &["who", "8900-8901", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stderr.is_empty(), "no permission noise: {run:#?}");
        let doc = parse_who(&run);
        assert!(!doc.complete, "{doc:#?}");
        assert!(
            doc.warning_codes().contains(&"owners_unreadable"),
            "{doc:#?}"
        );
        assert_eq!(doc.sockets.len(), as_root.sockets.len(), "{doc:#?}");
        for (unprivileged, root) in doc.sockets.iter().zip(&as_root.sockets) {
            assert!(unprivileged.processes.is_empty(), "{unprivileged:#?}");
            assert_eq!(
                unprivileged.owner_gap.as_deref(),
                Some("owner_unreadable"),
                "{unprivileged:#?}"
            );
            assert_eq!(unprivileged.reuseaddr, None, "{unprivileged:#?}");
            assert_eq!(unprivileged.reuseport, None, "{unprivileged:#?}");
            // Everything the kernel tells anyone is the same as root's view.
            let kernel_view = |s: &SocketDoc| SocketDoc {
                processes: Vec::new(),
                owner_gap: None,
                reuseaddr: None,
                reuseport: None,
                ..s.clone()
            };
            assert_eq!(kernel_view(unprivileged), kernel_view(root));
            assert!(root.inode.is_some() && root.uid == Some(0), "{root:#?}");
        }

        let run = portcheck_as(NOBODY, &["who", "8900-8901"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stderr.is_empty(), "{run:#?}");
        assert!(run.stdout.contains("[owners_unreadable]"), "{run:#?}");
        assert!(row(&run.stdout, "0.0.0.0:8900").contains("owner unreadable"));
    });
}

/// A socket shared by this test (root: unreadable to uid 65534) and by a
/// `sleep` exec'd as uid 65534 (dumpable, so its descriptors are readable
/// to that uid): without privileges the readable owner is listed, and the
/// socket says its owners may not all be visible instead of passing one
/// owner off as every owner.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_unprivileged_says_a_socket_may_have_owners_it_cannot_see() {
    in_netns("who_unprivileged_partial_owners", || {
        let socket = listener("127.0.0.1:8910", Opts::new());
        let mut sleeper = share_with_sleep_as_nobody(&socket);

        let (run, as_root) = who_json(&["8910"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let held = the(&as_root, "tcp", "127.0.0.1", 8910);
        let pids: BTreeSet<u32> = held.processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [this_pid(), sleeper.id()].into(), "{held:#?}");

        let run = portcheck_as(NOBODY, &["who", "8910", "--json"]);
        assert!(run.stderr.is_empty(), "{run:#?}");
        let doc = parse_who(&run);
        let seen = the(&doc, "tcp", "127.0.0.1", 8910);
        let pids: Vec<u32> = seen.processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [sleeper.id()], "{seen:#?}");
        assert_eq!(
            seen.owner_gap.as_deref(),
            Some("owner_unreadable"),
            "one of two owners is hidden: {seen:#?}"
        );
        assert!(!doc.complete, "{doc:#?}");
        assert!(
            doc.warning_codes().contains(&"owners_unreadable"),
            "{doc:#?}"
        );

        let run = portcheck_as(NOBODY, &["who", "8910"]);
        assert!(
            row(&run.stdout, "127.0.0.1:8910").contains("sleep"),
            "{run:#?}"
        );
        assert!(run.stdout.contains("more owners unreadable"), "{run:#?}");

        let _ = sleeper.kill();
        let _ = sleeper.wait();
    });
}

/// `sleep 60` as uid 65534, holding a copy of `socket` at the same
/// descriptor number; returns once it runs `sleep` itself.
fn share_with_sleep_as_nobody(socket: &Socket) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let fd = socket.as_raw_fd();
    let id = format!("{NOBODY}");
    let mut command = std::process::Command::new("setpriv");
    command
        .args([
            format!("--reuid={id}"),
            format!("--regid={id}"),
            "--clear-groups".to_owned(),
        ])
        .args(["sleep", "60"])
        .stdin(std::process::Stdio::null());
    // SAFETY: fcntl on a descriptor this (forked) child owns a copy of;
    // async-signal-safe. Only this socket loses close-on-exec.
    unsafe {
        command.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let child = without_new_processes(|| command.spawn()).expect("run setpriv sleep");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let comm = format!("/proc/{}/comm", child.id());
    while !std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep") {
        assert!(std::time::Instant::now() < deadline, "sleep did not start");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

// ---------------------------------------------------------------------------
// 10. A socket bound to a device

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_names_the_bound_device() {
    in_netns("who_names_the_bound_device", || {
        let on_lo = listener("127.0.0.1:9000", Opts::new().device("lo"));
        let _plain = listener("127.0.0.1:9001", Opts::new());
        let _on_lo6 = udp("[::1]:9002", Opts::new().device("lo"));

        let (_, doc) = who_json(&["9000-9002"]);
        assert_clean(&doc);
        let socket = the(&doc, "tcp", "127.0.0.1", 9000);
        assert_eq!(socket.interface.as_deref(), Some("lo"));
        assert_ours(socket, &on_lo, false, false);
        assert_eq!(the(&doc, "tcp", "127.0.0.1", 9001).interface, None);
        assert_eq!(
            the(&doc, "udp", "::1", 9002).interface.as_deref(),
            Some("lo")
        );

        let table = human(&["who", "9000-9002"]);
        row(&table, "127.0.0.1%lo:9000");
        row(&table, "127.0.0.1:9001");
        row(&table, "[::1]%lo:9002");

        // A target naming the device finds the socket bound to it.
        let (run, doc) = who_json(&["127.0.0.1%lo:9000"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
    });
}

// ---------------------------------------------------------------------------
// 11. Several targets, filtered in the kernel

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_lists_exactly_the_ports_asked_for() {
    in_netns("who_lists_exactly_the_ports_asked_for", || {
        let tcp_ports = [9099u16, 9100, 9101, 9109, 9110, 9111, 9112, 9113];
        let _tcp: Vec<Socket> = tcp_ports
            .iter()
            .map(|port| listener(&format!("127.0.0.1:{port}"), Opts::new()))
            .collect();
        let _udp = [
            udp("0.0.0.0:9100", Opts::new()),
            udp("0.0.0.0:9113", Opts::new()),
        ];

        let ports = |args: &[&str]| {
            let (run, doc) = who_json(args);
            assert_eq!(run.code, 0, "{args:?}: {run:#?}");
            doc.sockets
                .iter()
                .map(|s| format!("{}/{}", s.protocol, s.local_port))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ports(&["9100", "9110-9112"]),
            ["tcp/9100", "udp/9100", "tcp/9110", "tcp/9111", "tcp/9112"]
        );
        // Overlapping and adjacent ranges, given out of order.
        assert_eq!(
            ports(&["9111-9112", "9101", "9110-9111"]),
            ["tcp/9101", "tcp/9110", "tcp/9111", "tcp/9112"]
        );
        assert_eq!(
            ports(&["9113", "9099"]),
            ["tcp/9099", "tcp/9113", "udp/9113"]
        );
        assert_eq!(ports(&["9099-9113", "-u"]), ["udp/9100", "udp/9113"]);
        // An address target beside a port target.
        assert_eq!(ports(&["127.0.0.1:9109", "9112"]), ["tcp/9109", "tcp/9112"]);
        let (run, doc) = who_json(&["9102-9108", "9114"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(doc.sockets.is_empty(), "{doc:#?}");
    });
}

// ---------------------------------------------------------------------------
// 12. Exit codes and bad input

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_exits_1_for_a_free_port_and_0_for_a_held_one() {
    in_netns("who_exits_1_for_a_free_port_and_0_for_a_held_one", || {
        let (run, doc) = who_json(&["9200"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(doc.sockets.is_empty(), "{doc:#?}");
        assert_clean(&doc);
        let run = portcheck(&["who", "9200"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(run.stdout.contains("free"), "{run:#?}");
        assert!(run.stderr.is_empty(), "{run:#?}");

        let _held = listener("127.0.0.1:9201", Opts::new());
        let (run, doc) = who_json(&["9200", "9201"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
        // Nothing at all in the namespace but that socket.
        let (run, doc) = who_json(&[]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(
            listed(&doc),
            vec![entry("tcp", "127.0.0.1", 9201, "LISTEN")]
        );
        assert!(doc.query.targets.is_empty());
    });
}

#[test]
fn who_rejects_bad_targets_naming_the_bad_part() {
    // Parsing fails before any socket is read: no namespace, no root.
    for (target, bad_part) in [
        ("70000", "70000"),
        ("abc", "'abc'"),
        ("80-20", "80-20"),
        ("1.2.3.4.5:80", "'1.2.3.4.5'"),
        ("[::1:80", "]"),
        ("0", "port 0"),
        ("127.0.0.1:", "port is missing"),
    ] {
        let run = portcheck(&["who", target, "--json"]);
        assert_eq!(run.code, 2, "{target}: {run:#?}");
        let doc = parse_error(&run);
        assert_eq!(doc.schema_version, 1, "{target}: {doc:#?}");
        assert_eq!(doc.command, "who", "{target}: {doc:#?}");
        assert_eq!(doc.error.code, "bad_target", "{target}: {doc:#?}");
        assert!(doc.error.message.contains(target), "{target}: {doc:#?}");
        // Beyond echoing the target, the reason names the bad part.
        let reason = doc.error.message.replacen(target, "", 1);
        assert!(reason.contains(bad_part), "{target}: {doc:#?}");

        let run = portcheck(&["who", target]);
        assert_eq!(run.code, 2, "{target}: {run:#?}");
        assert!(run.stdout.is_empty(), "{target}: {run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{target}: {run:#?}");
        assert!(run.stderr.ends_with('\n'), "{target}: {run:#?}");
        assert!(
            run.stderr.replacen(target, "", 1).contains(bad_part),
            "{target}: {run:#?}"
        );
    }
    // A bad target among good ones still fails the whole command.
    let run = portcheck(&["--json", "who", "8000", "abc"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(parse_error(&run).error.code, "bad_target");
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_address_alone_lists_every_port_on_it() {
    in_netns("who_address_alone_lists_every_port_on_it", || {
        let _held = (
            listener("127.0.0.1:9301", Opts::new()),
            udp("0.0.0.0:9302", Opts::new()),
            listener("[::]:9303", Opts::new().v6only(false)),
            listener("127.0.0.2:9304", Opts::new()),
            listener("[::1]:9305", Opts::new()),
            listener("[::]:9306", Opts::new().v6only(true)),
        );
        let (run, doc) = who_json(&["127.0.0.1"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.query.targets, vec!["127.0.0.1"]);
        assert_eq!(
            listed(&doc),
            vec![
                entry("tcp", "127.0.0.1", 9301, "LISTEN"),
                entry("udp", "0.0.0.0", 9302, "UNCONN"),
                entry("tcp", "::", 9303, "LISTEN"),
            ]
        );
        let (_, doc) = who_json(&["::1"]);
        assert_eq!(
            listed(&doc),
            vec![
                entry("tcp", "::", 9303, "LISTEN"),
                entry("tcp", "::1", 9305, "LISTEN"),
                entry("tcp", "::", 9306, "LISTEN"),
            ]
        );
    });
}

// ---------------------------------------------------------------------------
// 13. --json anywhere, deterministic output, broken pipes

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_json_is_the_same_document_wherever_the_flag_is_and_every_time() {
    in_netns("who_json_is_the_same_document_every_time", || {
        let shared = listener("0.0.0.0:9400", Opts::new().reuseaddr(true));
        let _child = fork_sharing(&shared);
        let _held = (
            listener("[::]:9400", Opts::new().v6only(true)),
            listener("127.0.0.1:9401", Opts::new().reuseport(true)),
            listener("127.0.0.1:9401", Opts::new().reuseport(true)),
            udp("[::]:9402", Opts::new().v6only(false)),
            udp("127.0.0.1:9403", Opts::new()),
        );
        let after = portcheck(&["who", "--json"]);
        let before = portcheck(&["--json", "who"]);
        let again = portcheck(&["who", "--json"]);
        assert_eq!(after.code, 0, "{after:#?}");
        assert_eq!(parse_who(&after).sockets.len(), 6);
        assert_eq!(before.stdout, after.stdout);
        assert_eq!(before.code, after.code);
        assert_eq!(again.stdout, after.stdout, "two runs differ");
        assert!(before.stderr.is_empty() && after.stderr.is_empty());

        let targeted = portcheck(&["--json", "who", "9400-9403", "-a"]);
        let targeted_after = portcheck(&["who", "-a", "9400-9403", "--json"]);
        assert_eq!(targeted.stdout, targeted_after.stdout);
        assert_eq!(parse_who(&targeted).sockets, parse_who(&after).sockets);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_ends_quietly_when_the_reader_goes_away() {
    in_netns("who_ends_quietly_when_the_reader_goes_away", || {
        let _held: Vec<Socket> = (10_000u16..10_700)
            .map(|port| listener(&format!("127.0.0.1:{port}"), Opts::new()))
            .collect();
        for args in [
            &["who", "--json"][..],
            &["who", "10000-10699", "--json"][..],
            &["who", "--all"][..],
        ] {
            // More than a pipe buffer (64 KiB) holds, so a write must meet
            // the closed pipe.
            let full = portcheck(args);
            assert_eq!(full.code, 0, "{args:?}: {full:#?}");
            assert!(
                full.stdout.len() > 65_536,
                "{args:?}: only {} bytes",
                full.stdout.len()
            );

            let run: Run = portcheck_into_closed_pipe(args);
            assert_eq!(run.code, 0, "{args:?}: {run:#?}");
            assert!(!run.stderr.contains("panicked"), "{args:?}: {run:#?}");
            assert!(run.stderr.is_empty(), "{args:?}: {run:#?}");
        }
    });
}
