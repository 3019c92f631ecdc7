//! Section 2: named scenarios, `try PORT`, interfaces.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::matrix::{
    EXTRA_V4, EXTRA_V6, MAPPED, Mode, Place, Proto, RawEntry, Seen, Spec, Tally, add_addresses,
    assert_port_free, connection, fork_plan, ip, judge, real_plan, v4, wait_for_time_wait,
};
use super::schema::{CandidateDoc, SlotDoc, TryDoc, candidate, parse_try, try_json};
use crate::harness::{
    NOBODY, Opts, in_netns, listener, parse_error, portcheck, portcheck_as, socket_address,
    tcp_table, who_json, without_new_processes,
};

// ---------------------------------------------------------------------------
// 2. Named scenarios

/// A prediction that the candidate binds (and listens), confirmed by a
/// trial that did everything the candidate asks.
fn assert_binds_confirmed(c: &CandidateDoc) {
    assert_eq!(c.prediction.ok, Some(true), "{c:#?}");
    assert_eq!(c.prediction.error, None, "{c:#?}");
    assert!(c.trial.performed, "{c:#?}");
    assert_eq!(c.trial.ok, Some(true), "{c:#?}");
    assert_eq!(c.trial.listen_tried, c.options.listen, "{c:#?}");
    assert_eq!(c.agree, Some(true), "{c:#?}");
}

/// `(error, stage)` of a prediction that fails.
fn predicted_failure(c: &CandidateDoc) -> (Option<&str>, Option<&str>) {
    assert_eq!(c.prediction.ok, Some(false), "{c:#?}");
    (c.prediction.error.as_deref(), c.prediction.stage.as_deref())
}

/// The sockets that hold `port` (listening or bound, as `portcheck who`
/// lists them) are `count` sockets of this test: nothing of an exited
/// portcheck is left.
fn assert_only_ours_on(port: u16, count: usize) {
    let (run, doc) = who_json(&[&port.to_string()]);
    assert_eq!(run.code, 0, "{run:#?}");
    let ours = doc
        .sockets
        .iter()
        .filter(|s| s.processes.iter().any(|p| p.pid == std::process::id()))
        .count();
    assert_eq!(
        (doc.sockets.len(), ours),
        (count, count),
        "holders of port {port}: {doc:#?}"
    );
}

/// Only these TCP states are on `port` in this namespace (nothing of an
/// exited portcheck is left).
fn assert_tcp_states_on(port: u16, expected: &[u8]) {
    let mut states: Vec<u8> = tcp_table()
        .into_iter()
        .filter(|(p, _)| *p == port)
        .map(|(_, s)| s)
        .collect();
    states.sort_unstable();
    assert_eq!(states, expected, "TCP sockets on port {port}");
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_seed_dual_stack_https_then_ipv4_redirect_fails() {
    in_netns("try_seed_dual_stack_https_then_ipv4_redirect_fails", || {
        let (run, doc) = try_json(&["[::]:443", "0.0.0.0:443"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(!doc.ok && doc.complete, "{doc:#?}");
        // The defaults of a server runtime, with net.ipv6.bindv6only 0.
        let https = candidate(&doc, 0);
        assert!(!doc.assumed.bindv6only);
        assert!(!https.options.v6only && https.options.reuseaddr && https.options.listen);
        assert_binds_confirmed(https);
        let redirect = candidate(&doc, 1);
        // SO_REUSEADDR on both lets the second bind through; its listen()
        // meets the dual-stack listener.
        assert_eq!(
            predicted_failure(redirect),
            (Some("EADDRINUSE"), Some("listen"))
        );
        assert_eq!(
            redirect.prediction.rule,
            "dual_stack_wildcard_overlaps_ipv4"
        );
        let conflict = &redirect.prediction.conflicts[0];
        assert_eq!(conflict.candidate, Some(0), "{redirect:#?}");
        assert!(
            conflict.socket.is_none() && conflict.certain,
            "{redirect:#?}"
        );
        assert!(
            redirect.prediction.message.contains("IPV6_V6ONLY"),
            "{redirect:#?}"
        );
        assert_eq!(redirect.trial.ok, Some(false), "{redirect:#?}");
        assert_eq!(redirect.trial.stage.as_deref(), Some("listen"));
        assert_eq!(redirect.agree, Some(true), "{redirect:#?}");
        assert_port_free(443);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_seed_v6only_https_beside_ipv4_redirect_binds() {
    in_netns("try_seed_v6only_https_beside_ipv4_redirect_binds", || {
        let (run, doc) = try_json(&["[::]:443/v6only", "0.0.0.0:443"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.ok && doc.complete, "{doc:#?}");
        assert!(candidate(&doc, 0).options.v6only);
        for c in &doc.candidates {
            assert_binds_confirmed(c);
        }
        assert_eq!(candidate(&doc, 1).prediction.rule, "no_overlap");
        assert_port_free(443);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_seed_live_ipv4_listener_blocks_dual_stack_bind() {
    in_netns("try_seed_live_ipv4_listener_blocks_dual_stack_bind", || {
        let port = 8443;
        let spec = Spec {
            proto: Proto::Tcp,
            place: v4("0.0.0.0"),
            reuseaddr: true,
            reuseport: false,
            listen: true,
        };
        let (seen, live) = real_plan(&[spec], port);
        assert_eq!(seen, vec![Seen::ok()]);
        let (run, doc) = try_json(&[&format!("[::]:{port}")]);
        assert_eq!(run.code, 1, "{run:#?}");
        let c = candidate(&doc, 0);
        assert_eq!(predicted_failure(c), (Some("EADDRINUSE"), Some("bind")));
        assert_eq!(c.prediction.rule, "dual_stack_wildcard_overlaps_ipv4");
        let conflict = &c.prediction.conflicts[0];
        assert_eq!(conflict.candidate, None, "{c:#?}");
        let socket = conflict.socket.as_ref().expect("the live listener");
        assert_eq!(
            (
                socket.local_address.as_str(),
                socket.local_port,
                socket.state.as_str()
            ),
            ("0.0.0.0", port, "LISTEN")
        );
        let pids: Vec<u32> = socket.processes.iter().map(|p| p.pid).collect();
        assert!(pids.contains(&std::process::id()), "{socket:#?}");
        assert!(
            c.prediction
                .message
                .contains(&format!("pid {}", std::process::id())),
            "{c:#?}"
        );
        // The trial binds (safely: nothing listens) and sees the same.
        assert!(c.trial.performed && !c.trial.listen_tried, "{c:#?}");
        assert_eq!(c.trial.error.as_deref(), Some("EADDRINUSE"));
        assert_eq!(c.trial.stage.as_deref(), Some("bind"));
        assert_eq!(c.agree, Some(true), "{c:#?}");
        assert_only_ours_on(port, 1);
        // Closed at once: no process being started holds a copy meanwhile.
        without_new_processes(|| drop(live));
        assert_port_free(port);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_second_listen_on_one_address_fails_at_listen() {
    in_netns("try_second_listen_on_one_address_fails_at_listen", || {
        let (run, doc) = try_json(&["127.0.0.1:7000", "127.0.0.1:7000"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert_binds_confirmed(candidate(&doc, 0));
        let second = candidate(&doc, 1);
        assert_eq!(
            predicted_failure(second),
            (Some("EADDRINUSE"), Some("listen"))
        );
        assert_eq!(second.prediction.rule, "listener_never_shares");
        assert_eq!(second.prediction.conflicts[0].candidate, Some(0));
        assert!(second.trial.listen_tried, "{second:#?}");
        assert_eq!(second.trial.stage.as_deref(), Some("listen"));
        assert_eq!(second.agree, Some(true), "{second:#?}");
        assert_port_free(7000);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_exit_codes_say_whether_everything_binds() {
    in_netns("try_exit_codes_say_whether_everything_binds", || {
        let blocker = Spec {
            proto: Proto::Tcp,
            place: v4("127.0.0.1"),
            reuseaddr: false,
            reuseport: false,
            listen: true,
        };
        let (_, live) = real_plan(&[blocker], 7101);
        for trial in [true, false] {
            let run_with = |candidates: &[&str]| {
                let mut args = vec!["try"];
                args.extend_from_slice(candidates);
                if !trial {
                    args.push("--no-trial");
                }
                let human = portcheck(&args).code;
                args.push("--json");
                let run = portcheck(&args);
                let doc = parse_try(&run);
                assert_eq!(human, run.code, "table and JSON exit alike: {run:#?}");
                (run.code, doc.ok)
            };
            assert_eq!(run_with(&["127.0.0.1:7100"]), (0, true));
            assert_eq!(run_with(&["udp:127.0.0.1:7101"]), (0, true));
            assert_eq!(run_with(&["127.0.0.1:7101"]), (1, false));
            assert_eq!(run_with(&["127.0.0.1:7100", "127.0.0.1:7101"]), (1, false));
        }
        assert_port_free(7100);
        assert_only_ours_on(7101, 1);
        drop(live);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_no_trial_flag_makes_no_socket() {
    in_netns("try_no_trial_flag_makes_no_socket", || {
        let (run, doc) = try_json(&["127.0.0.1:7200", "udp:[::]:7200", "--no-trial"]);
        assert_eq!(run.code, 0, "{run:#?}");
        for c in &doc.candidates {
            assert_eq!(c.prediction.ok, Some(true), "{c:#?}");
            assert!(!c.trial.performed && !c.trial.listen_tried, "{c:#?}");
            assert_eq!(c.trial.ok, None, "{c:#?}");
            assert_eq!(c.trial.skipped.as_deref(), Some("no_trial_flag"));
            assert_eq!(c.agree, None, "{c:#?}");
        }
        assert_port_free(7200);
    });
}

/// A live SO_REUSEPORT group: the trial binds beside it but never
/// listens, so it never joins the group and takes no connection.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_trial_never_joins_a_live_reuseport_group() {
    in_netns("try_trial_never_joins_a_live_reuseport_group", || {
        let port = 7300;
        let member = Spec {
            proto: Proto::Tcp,
            place: v4("0.0.0.0"),
            reuseaddr: true,
            reuseport: true,
            listen: true,
        };
        let (seen, group) = real_plan(&[member, member], port);
        assert_eq!(seen, vec![Seen::ok(), Seen::ok()]);
        // Room in the accept queues for every connection of the run.
        for listener in &group {
            listener.listen(256).expect("a longer backlog");
        }
        let target = SocketAddr::from(([127, 0, 0, 1], port));
        let (run, connected) =
            while_connecting(target, || try_json(&[&format!("0.0.0.0:{port}/reuseport")]));
        let (run, doc) = run;
        assert_eq!(run.code, 0, "{run:#?}");
        let c = candidate(&doc, 0);
        assert_eq!(c.prediction.ok, Some(true), "{c:#?}");
        assert_eq!(c.prediction.rule, "shared_reuseport");
        // A live reuseport group: the trial touches nothing on the port
        // (not even a bind, which would change the port's cached
        // SO_REUSEPORT state), so it cannot join the group.
        assert!(!c.trial.performed, "{c:#?}");
        assert!(!c.trial.listen_tried, "{c:#?}");
        assert_eq!(
            c.trial.skipped.as_deref(),
            Some("would_change_reuseport_state")
        );
        assert_eq!(c.trial.ok, None, "no trial: {c:#?}");
        // Every connection made during the run, and one after it, reached
        // the live group.
        let after = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        after
            .connect(&target.into())
            .expect("connect after the run");
        let accepted = accept_all(&group, connected.len() + 1);
        assert_eq!(
            accepted,
            connected.len() + 1,
            "connections lost to the trial"
        );
        assert!(
            !connected.is_empty(),
            "no connection was made during the run"
        );
        assert_only_ours_on(port, 2);
    });
}

/// Connects to `target` every 2 ms from another thread (of this namespace)
/// while `body` runs; returns what `body` returned and the connections.
fn while_connecting<R: Send>(target: SocketAddr, body: impl FnOnce() -> R) -> (R, Vec<Socket>) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let connector = scope.spawn(|| {
            let mut connected = Vec::new();
            while !stop.load(Ordering::Relaxed) && connected.len() < 100 {
                let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
                socket
                    .connect_timeout(&target.into(), Duration::from_secs(1))
                    .expect("connect to the live group during the run");
                connected.push(socket);
                std::thread::sleep(Duration::from_millis(2));
            }
            connected
        });
        let result = body();
        stop.store(true, Ordering::Relaxed);
        (result, connector.join().expect("the connecting thread"))
    })
}

/// Accepts from `listeners` until `expected` connections came (at most 5 s).
fn accept_all(listeners: &[Socket], expected: usize) -> usize {
    for listener in listeners {
        listener.set_nonblocking(true).expect("non-blocking");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut accepted = Vec::new();
    while accepted.len() < expected && Instant::now() < deadline {
        let mut any = false;
        for listener in listeners {
            if let Ok((connection, _)) = listener.accept() {
                accepted.push(connection);
                any = true;
            }
        }
        if !any {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    accepted.len()
}

/// A live UDP socket with SO_REUSEADDR: a trial bind would share its port
/// (and could receive its datagrams), so no trial is made.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_trial_never_shares_a_live_udp_port() {
    in_netns("try_trial_never_shares_a_live_udp_port", || {
        let port = 7400;
        let spec = Spec {
            proto: Proto::Udp,
            place: v4("127.0.0.1"),
            reuseaddr: true,
            reuseport: false,
            listen: false,
        };
        let (seen, mut live) = real_plan(&[spec], port);
        assert_eq!(seen, vec![Seen::ok()]);
        let live = live.remove(0);
        let target = SocketAddr::from(([127, 0, 0, 1], port));
        let sender = UdpSocket::bind("127.0.0.1:0").expect("a sender");
        let stop = AtomicBool::new(false);
        let (run, sent_during) = std::thread::scope(|scope| {
            let sending = scope.spawn(|| {
                let mut sent = 0usize;
                while !stop.load(Ordering::Relaxed) && sent < 150 {
                    sender.send_to(&sent.to_ne_bytes(), target).expect("send");
                    sent += 1;
                    std::thread::sleep(Duration::from_millis(2));
                }
                sent
            });
            let result = try_json(&[&format!("udp:127.0.0.1:{port}/reuseaddr")]);
            stop.store(true, Ordering::Relaxed);
            (result, sending.join().expect("the sending thread"))
        });
        let (run, doc) = run;
        assert_eq!(run.code, 0, "{run:#?}");
        let c = candidate(&doc, 0);
        assert_eq!(c.prediction.ok, Some(true), "{c:#?}");
        assert_eq!(c.prediction.rule, "shared_reuseaddr");
        assert!(!c.trial.performed, "{c:#?}");
        assert_eq!(
            c.trial.skipped.as_deref(),
            Some("would_share_live_udp_port")
        );
        assert_eq!(c.agree, None, "{c:#?}");
        sender
            .send_to(b"after", target)
            .expect("send after the run");
        let received = receive_all(&live, sent_during + 1);
        assert_eq!(received, sent_during + 1, "datagrams lost to the trial");
        assert!(sent_during > 0, "nothing was sent during the run");
        drop(sender);
        assert_only_ours_on(port, 1);
    });
}

/// Reads datagrams until `expected` came (at most 5 s).
fn receive_all(socket: &Socket, expected: usize) -> usize {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("a read timeout");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut received = 0;
    let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 64];
    while received < expected && Instant::now() < deadline {
        if socket.recv(&mut buffer).is_ok() {
            received += 1;
        }
    }
    received
}

/// A TIME_WAIT entry at `place`:`port`, from a listener with `reuseaddr`.
fn time_wait_entry(place: Place, port: u16, reuseaddr: bool) {
    let spec = Spec {
        proto: Proto::Tcp,
        place,
        reuseaddr,
        reuseport: false,
        listen: true,
    };
    let (listener, accepted, client) = connection(&spec, port).expect("a connection");
    without_new_processes(|| {
        drop(accepted);
        drop(client);
        drop(listener);
    });
    wait_for_time_wait(&BTreeSet::from([port]));
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_time_wait_needs_reuseaddr_and_the_trial_settles_the_rest() {
    in_netns(
        "try_time_wait_needs_reuseaddr_and_the_trial_settles_the_rest",
        || {
            let (with, without) = (7500, 7501);
            time_wait_entry(v4("127.0.0.1"), with, true);
            time_wait_entry(v4("127.0.0.1"), without, false);

            // No SO_REUSEADDR on the candidate: surely refused.
            let (run, doc) = try_json(&[&format!("127.0.0.1:{with}/noreuseaddr")]);
            assert_eq!(run.code, 1, "{run:#?}");
            let c = candidate(&doc, 0);
            assert_eq!(predicted_failure(c), (Some("EADDRINUSE"), Some("bind")));
            assert_eq!(c.prediction.rule, "time_wait_needs_reuseaddr");
            let holder = c.prediction.conflicts[0]
                .socket
                .as_ref()
                .expect("the entry");
            assert_eq!(holder.state, "TIME_WAIT", "{c:#?}");
            assert_eq!(c.agree, Some(true), "{c:#?}");

            // With SO_REUSEADDR it depends on the entry's own SO_REUSEADDR,
            // which nothing reports; the trial (nothing else listens there)
            // settles it, both ways.
            for (port, binds) in [(with, true), (without, false)] {
                let (run, doc) = try_json(&[&format!("127.0.0.1:{port}")]);
                let c = candidate(&doc, 0);
                assert_eq!(c.prediction.ok, None, "{c:#?}");
                assert_eq!(c.prediction.rule, "depends_on_unreadable_options");
                assert!(!doc.complete, "{doc:#?}");
                assert!(
                    doc.warning_codes()
                        .contains(&"prediction_depends_on_unreadable_facts"),
                    "{doc:#?}"
                );
                assert!(c.trial.performed, "{c:#?}");
                assert_eq!(c.trial.ok, Some(binds), "{c:#?}");
                assert_eq!(c.agree, None, "nothing decided to agree with: {c:#?}");
                assert_eq!(run.code, i32::from(!binds), "the trial decides: {run:#?}");
                let (run, doc) = try_json(&[&format!("127.0.0.1:{port}"), "--no-trial"]);
                assert_eq!(run.code, 1, "undecided without a trial: {run:#?}");
                assert_eq!(candidate(&doc, 0).prediction.ok, None);
            }
            assert_tcp_states_on(with, &[crate::harness::TCP_TIME_WAIT]);
            assert_tcp_states_on(without, &[crate::harness::TCP_TIME_WAIT]);
        },
    );
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_plan_file_with_comments() {
    in_netns("try_plan_file_with_comments", || {
        let dir = scratch_dir("try_plan_file_with_comments");
        let plan = dir.join("plan.txt");
        std::fs::write(
            &plan,
            "# HTTPS on IPv6 only, and its redirect\n[::]:7600/v6only\n\n0.0.0.0:7600   # redirect\n",
        )
        .expect("write the plan");
        let path = plan.to_str().expect("a UTF-8 path");
        let (run, doc) = try_json(&["--file", path]);
        assert_eq!(run.code, 0, "{run:#?}");
        let texts: Vec<&str> = doc.candidates.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["[::]:7600/v6only", "0.0.0.0:7600"]);
        for c in &doc.candidates {
            assert_binds_confirmed(c);
        }
        // Candidates on the command line come first.
        let (run, doc) = try_json(&["127.0.0.1:7601", "--file", path, "--no-trial"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.candidates.len(), 3);
        assert_eq!(candidate(&doc, 0).port, 7601);
        std::fs::remove_dir_all(&dir).expect("remove the scratch directory");
        assert_port_free(7600);
    });
}

fn scratch_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portcheck-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Bad input: exit 2 and one error document, whatever the user (no
/// socket is made, so no namespace is needed).
#[test]
fn try_rejects_bad_input_with_exit_2() {
    let dir = scratch_dir("try_rejects_bad_input_with_exit_2");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "# nothing to try yet\n\n   \n").expect("write");
    let bad = dir.join("plan.txt");
    std::fs::write(&bad, "0.0.0.0:8080\nnot-an-address:80\n").expect("write");
    let empty = empty.to_str().expect("UTF-8").to_owned();
    let bad = bad.to_str().expect("UTF-8").to_owned();
    let cases: [(&[&str], &str, &[&str]); 6] = [
        (
            &["1.2.3.4:99999"],
            "bad_candidate",
            &["99999", "out of range"],
        ),
        (&["[::1]:80/bogus"], "bad_candidate", &["bogus", "v6only"]),
        (
            &["localhost:80"],
            "bad_candidate",
            &["localhost", "portcheck resolve"],
        ),
        (&["--file", &empty], "empty_plan", &["empty.txt"]),
        (
            &["--file", &bad],
            "bad_candidate",
            &["plan.txt line 2", "not-an-address"],
        ),
        (&[], "no_candidates", &["--file"]),
    ];
    for (args, code, needles) in cases {
        let mut full = vec!["try"];
        full.extend_from_slice(args);
        full.push("--json");
        let run = portcheck(&full);
        assert_eq!(run.code, 2, "{run:#?}");
        let doc = parse_error(&run);
        assert_eq!((doc.schema_version, doc.command.as_str()), (1, "try"));
        assert_eq!(doc.error.code, code, "{run:#?}");
        for needle in needles {
            assert!(doc.error.message.contains(needle), "{needle:?} in {run:#?}");
        }
        // Without --json the same error, in words, on stderr.
        full.pop();
        let human = portcheck(&full);
        assert_eq!(human.code, 2, "{human:#?}");
        assert!(human.stdout.is_empty(), "{human:#?}");
        assert!(human.stderr.contains(needles[0]), "{human:#?}");
    }
    std::fs::remove_dir_all(&dir).expect("remove the scratch directory");
}

/// Ports below net.ipv4.ip_unprivileged_port_start for a user without
/// CAP_NET_BIND_SERVICE: portcheck and the real bind both run as 65534.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_privileged_ports_as_nobody_match_the_kernel() {
    in_netns("try_privileged_ports_as_nobody_match_the_kernel", || {
        add_addresses();
        let tcp = |addr, v6only: Option<bool>, port| {
            let spec = Spec {
                proto: Proto::Tcp,
                place: Place { addr, v6only },
                reuseaddr: true,
                reuseport: false,
                listen: true,
            };
            (spec, port)
        };
        let udp = |addr, v6only, port| {
            let (spec, port) = tcp(addr, v6only, port);
            let spec = Spec {
                proto: Proto::Udp,
                reuseaddr: false,
                listen: false,
                ..spec
            };
            (spec, port)
        };
        let cells = [
            tcp("127.0.0.1", None, 80),
            tcp("0.0.0.0", None, 81),
            tcp("::", Some(false), 82),
            tcp("::1", Some(true), 83),
            udp("127.0.0.1", None, 84),
            udp("::", Some(false), 85),
            // IPv6 checks the port before the address, IPv4 the other way.
            tcp(MAPPED, Some(true), 86),
            tcp("192.0.2.9", None, 87),
            udp("2001:db8::99", Some(false), 88),
            tcp("fe80::1", Some(false), 89),
            tcp(EXTRA_V6, Some(true), 1023),
            tcp("127.0.0.1", None, 1024),
            udp("::1", Some(true), 1024),
        ];
        let texts: Vec<String> = cells.iter().map(|(s, p)| s.text(*p)).collect();
        let mut args = vec!["try", "--no-trial", "--json"];
        args.extend(texts.iter().map(String::as_str));
        let run = portcheck_as(NOBODY, &args);
        let doc = parse_try(&run);
        assert_eq!(doc.assumed.euid, NOBODY, "{run:#?}");
        assert!(!doc.assumed.can_bind_privileged, "{run:#?}");
        assert_eq!(doc.assumed.unprivileged_port_start, 1024);
        let entries: Vec<RawEntry> = cells.iter().map(|(s, p)| s.raw(*p, s.listens())).collect();
        let (child, seen) = fork_plan(NOBODY, &entries, false);
        drop(child);
        let mut tally = Tally::default();
        for ((c, seen), text) in doc.candidates.iter().zip(&seen).zip(&texts) {
            judge(c, seen, Mode::Predict, &mut tally, || {
                format!("as uid 65534: {text}")
            });
        }
        assert!(
            tally.disagreements.is_empty(),
            "{}",
            tally.disagreements.join("\n")
        );
        let eacces = seen
            .iter()
            .filter(|s| s.error.as_deref() == Some("EACCES"))
            .count();
        assert_eq!(eacces, 10, "{seen:?}");
        assert_eq!(candidate(&doc, 7).prediction.rule, "address_not_local");
        assert_eq!(candidate(&doc, 6).prediction.rule, "privileged_port");
        assert_eq!(run.code, 1);
    });
}

/// Without privileges the trial either runs or says why not, once: some
/// kernels refuse SO_ATTACH_FILTER on TCP sockets to unprivileged users,
/// and portcheck makes no trial socket without its drop-everything filter.
/// Before the fix every such candidate carried a `trial_setup_failed` note
/// with "Operation not permitted" in it and `skipped: null`.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_unprivileged_trial_runs_or_says_why_not() {
    in_netns("try_unprivileged_trial_runs_or_says_why_not", || {
        let args = [
            "try",
            "127.0.0.1:7700",
            "[::]:7701",
            "udp:127.0.0.1:7702",
            "--json",
        ];
        let run = portcheck_as(NOBODY, &args);
        assert!(run.stderr.is_empty(), "{run:#?}");
        let doc = parse_try(&run);
        assert_eq!(run.code, 0, "nothing holds these ports: {run:#?}");
        for c in &doc.candidates {
            assert_eq!(c.prediction.ok, Some(true), "{c:#?}");
            assert!(
                c.trial.performed || c.trial.skipped.is_some(),
                "no trial and no reason: {c:#?}"
            );
            if !c.trial.performed {
                assert_eq!(
                    c.trial.skipped.as_deref(),
                    Some("filter_not_permitted"),
                    "{c:#?}"
                );
            }
        }
        assert!(
            !doc.warning_codes().contains(&"trial_setup_failed"),
            "{doc:#?}"
        );
        let skipped = doc.candidates.iter().filter(|c| !c.trial.performed).count();
        let notes = doc
            .warnings
            .iter()
            .filter(|w| w.code == "trial_not_permitted")
            .count();
        assert_eq!(
            notes,
            usize::from(skipped > 0),
            "one note for all: {doc:#?}"
        );
        for w in &doc.warnings {
            assert!(
                !w.message.contains("os error"),
                "no raw errno text: {doc:#?}"
            );
        }
        assert_port_free(7700);
    });
}

// ---------------------------------------------------------------------------
// `try PORT`: every slot of a port, and how many more services fit

const LINK_LOCAL: &str = "fe80::9";

/// Holds a service the way `try PORT` counts one: a TCP listener with
/// SO_REUSEADDR (the runtime default), or a plain UDP socket, on `slot`.
fn hold_slot(slot: &SlotDoc, port: u16) -> Socket {
    let proto = if slot.protocol == "tcp" {
        Proto::Tcp
    } else {
        Proto::Udp
    };
    let address: IpAddr = slot.address.parse().expect("a slot address");
    let socket = Socket::new(
        Domain::for_address(SocketAddr::new(address, port)),
        proto.kind(),
        None,
    )
    .expect("socket()");
    if let Some(only) = slot.v6only {
        socket.set_only_v6(only).expect("IPV6_V6ONLY");
    }
    socket
        .set_reuse_address(proto == Proto::Tcp)
        .expect("SO_REUSEADDR");
    let target = match (address, &slot.device) {
        (IpAddr::V6(v6), Some(device)) => {
            let name = std::ffi::CString::new(device.as_str()).expect("a device name");
            // SAFETY: if_nametoindex reads the NUL-terminated name only.
            let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
            SocketAddr::V6(SocketAddrV6::new(v6, port, 0, index))
        }
        _ => SocketAddr::new(address, port),
    };
    socket
        .bind(&target.into())
        .unwrap_or_else(|e| panic!("bind {slot:?}: {e}"));
    if proto == Proto::Tcp {
        socket.listen(16).expect("listen()");
    }
    socket
}

fn more(doc: &TryDoc, protocol: &str) -> usize {
    doc.port_map
        .as_ref()
        .expect("a port map")
        .protocols
        .iter()
        .find(|p| p.protocol == protocol)
        .map_or_else(|| panic!("no {protocol} in {doc:#?}"), |p| p.more)
}

/// `try 8000` checks every slot on its own, says which are taken by whom,
/// and its "N more services" is what the kernel takes: binding the
/// `free` set all at once succeeds, and after that every slot is taken.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_port_counts_the_services_the_kernel_still_takes() {
    in_netns(
        "try_port_counts_the_services_the_kernel_still_takes",
        || {
            add_addresses();
            ip(&[
                "-6",
                "addr",
                "add",
                &format!("{LINK_LOCAL}/64"),
                "dev",
                "lo",
                "nodad",
            ]);
            let port = 8000;
            let _tcp = crate::harness::listener(
                &format!("127.0.0.1:{port}"),
                crate::harness::Opts::new().reuseaddr(true),
            );
            let _udp = crate::harness::udp(&format!("0.0.0.0:{port}"), crate::harness::Opts::new());
            let (run, doc) = try_json(&[&port.to_string()]);
            assert_eq!(run.code, 1, "some slots are taken: {run:#?}");
            let map = doc.port_map.clone().expect("try PORT has a port map");
            assert_eq!(map.port, port);
            // Every slot was checked, each against the live sockets only, and
            // the trial agrees with the model on every one.
            let per_protocol = 3 + 5; // wildcards; 127.0.0.1, EXTRA_V4, ::1, EXTRA_V6, fe80::9%lo
            assert_eq!(doc.candidates.len(), 2 * per_protocol, "{doc:#?}");
            for c in &doc.candidates {
                assert_ne!(c.agree, Some(false), "{c:#?}");
                assert_eq!(
                    c.trial.performed,
                    c.prediction.ok == Some(true) || c.trial.performed
                );
            }
            let slot = |protocol: &str, address: &str, v6only: Option<bool>| {
                doc.candidates
                    .iter()
                    .find(|c| {
                        c.protocol == protocol
                            && c.address == address
                            && (v6only.is_none() || Some(c.options.v6only) == v6only)
                    })
                    .unwrap_or_else(|| panic!("no slot {protocol} {address}: {doc:#?}"))
            };
            let held_by_test = |c: &CandidateDoc| {
                assert_eq!(c.prediction.ok, Some(false), "{c:#?}");
                assert!(
                    c.prediction
                        .conflicts
                        .iter()
                        .any(|k| k.socket.as_ref().is_some_and(|s| s.local_port == port)),
                    "names the holder: {c:#?}"
                );
            };
            held_by_test(slot("tcp", "0.0.0.0", None));
            held_by_test(slot("tcp", "::", Some(false)));
            held_by_test(slot("tcp", "127.0.0.1", None));
            assert_eq!(slot("tcp", "::", Some(true)).prediction.ok, Some(true));
            assert_eq!(slot("tcp", EXTRA_V4, None).prediction.ok, Some(true));
            held_by_test(slot("udp", EXTRA_V4, None));
            assert_eq!(slot("udp", LINK_LOCAL, None).prediction.ok, Some(true));
            // TCP: EXTRA_V4 on IPv4, the three IPv6 addresses; UDP: the IPv6 ones.
            assert_eq!(more(&doc, "tcp"), 4, "{map:#?}");
            assert_eq!(more(&doc, "udp"), 3, "{map:#?}");
            assert!(map.undecided.is_empty(), "{map:#?}");
            let human = portcheck(&["try", &port.to_string()]);
            assert!(
            human.stdout.contains("port 8000 could still take 4 more TCP services: on 10.200.0.1, [::1], [2001:db8::1] and [fe80::9]%lo; 3 more UDP services"),
            "{}",
            human.stdout
        );

            // The kernel's word: every slot of `free` binds at once...
            let held: Vec<Socket> = map.free.iter().map(|slot| hold_slot(slot, port)).collect();
            // ...and then the port is full: no slot binds any more.
            let (run, full) = try_json(&[&port.to_string()]);
            assert_eq!(run.code, 1);
            assert_eq!(
                (more(&full, "tcp"), more(&full, "udp")),
                (0, 0),
                "{full:#?}"
            );
            for c in &full.candidates {
                assert_eq!(c.prediction.ok, Some(false), "{c:#?}");
                assert_ne!(c.agree, Some(false), "{c:#?}");
            }
            drop(held);
        },
    );
}

// ---------------------------------------------------------------------------
// Interfaces that do not exist, or are down (issue 16, item 9)

/// The kernel, measured here: SO_BINDTODEVICE to a name no device has
/// fails with ENODEV, and so does bind() with a `%zone` of no device; a
/// device that is down takes SO_BINDTODEVICE, bind() and listen(). So an
/// unknown device is an error in the input (exit 2, naming it), and a
/// down one changes no prediction, which the trial confirms.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_refuses_unknown_interfaces_and_binds_on_down_ones() {
    in_netns(
        "try_refuses_unknown_interfaces_and_binds_on_down_ones",
        || {
            // The kernel's answer, first: a real socket to the unknown name.
            let probe = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
            let refused = probe
                .bind_device(Some(b"nosuchif"))
                .expect_err("no device is named nosuchif");
            assert_eq!(refused.raw_os_error(), Some(libc::ENODEV), "{refused}");

            for candidate in ["0.0.0.0:8100/device=nosuchif", "[fe80::1%nosuchif]:8100"] {
                let run = portcheck(&["try", candidate]);
                assert_eq!(run.code, 2, "{candidate}: {run:#?}");
                assert!(run.stderr.contains("'nosuchif'"), "{candidate}: {run:#?}");
                let run = portcheck(&["try", candidate, "--json"]);
                assert_eq!(run.code, 2, "{run:#?}");
                assert_eq!(
                    parse_error(&run).error.code,
                    "no_such_interface",
                    "{run:#?}"
                );
            }

            // A device that exists and is down: binds, as the kernel says.
            ip(&[
                "link", "add", "pcdown0", "type", "veth", "peer", "name", "pcdown1",
            ]);
            ip(&["addr", "add", "10.77.0.1/24", "dev", "pcdown0"]);
            let real = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
            real.bind_device(Some(b"pcdown0"))
                .expect("SO_BINDTODEVICE to a down device");
            real.bind(&socket_address("0.0.0.0:8101").into())
                .expect("bind on a down device");
            real.listen(1).expect("listen on a down device");
            drop(real);
            let (run, doc) = try_json(&["0.0.0.0:8101/device=pcdown0"]);
            assert_eq!(run.code, 0, "{run:#?}");
            let candidate = &doc.candidates[0];
            assert_eq!(candidate.prediction.ok, Some(true), "{doc:#?}");
            assert_eq!(
                (candidate.trial.performed, candidate.agree),
                (true, Some(true)),
                "{doc:#?}"
            );
        },
    );
}

/// An unused port: every slot binds (exit 0), and the count prefers the
/// wildcard where it ties with the one address it covers.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_port_on_an_unused_port_is_all_free() {
    in_netns("try_port_on_an_unused_port_is_all_free", || {
        let (run, doc) = try_json(&["udp:5300"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let map = doc.port_map.expect("a port map");
        assert_eq!(map.protocols.len(), 1);
        assert!(doc.candidates.iter().all(|c| c.protocol == "udp"));
        assert_eq!(map.taken, []);
        let free: Vec<(&str, Option<bool>)> = map
            .free
            .iter()
            .map(|s| (s.address.as_str(), s.v6only))
            .collect();
        assert_eq!(free, [("0.0.0.0", None), ("::", Some(true))]);
        for (args, why) in [
            (&["0"][..], "port 0"),
            (&["8000", "0.0.0.0:80"][..], "comes alone"),
            (&["tcp:70000"][..], "out of range"),
        ] {
            let mut full = vec!["try"];
            full.extend_from_slice(args);
            let run = portcheck(&full);
            assert_eq!(run.code, 2, "{run:#?}");
            assert!(run.stderr.contains(why), "{run:#?}");
        }
        // An ordinary plan has no port map.
        let (_, plan) = try_json(&["127.0.0.1:5301"]);
        assert!(plan.port_map.is_none());
    });
}

/// Node prints the wildcard with a port as `:::3000`: try reads it so.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_reads_nodes_wildcard_spelling() {
    in_netns("try_reads_nodes_wildcard_spelling", || {
        let _held = listener("0.0.0.0:3000", Opts::new());
        let (run, doc) = try_json(&[":::3000/dualstack", "--no-trial"]);
        assert_eq!(run.code, 1, "{run:#?}");
        let candidate = &doc.candidates[0];
        assert_eq!(
            (candidate.address.as_str(), candidate.port),
            ("::", 3000),
            "{doc:#?}"
        );
        let run = portcheck(&["try", "::1:3000"]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(
            run.stderr.contains("write [::1]:3000 for port 3000 on ::1"),
            "{run:#?}"
        );
    });
}
