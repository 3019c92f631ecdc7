//! Odd environments (issue #7, item 7): /proc mounted with hidepid, /proc
//! missing, IPv6 disabled, no /etc/hosts, an empty or broken /etc/gai.conf,
//! a nameserver that never answers. Each gives a clear message or warning
//! and the rest of the answer, never a panic or an unbounded wait.
//!
//! /proc and /etc are changed only in private mount namespaces
//! ([`with_private_mounts`], [`Etc`]), IPv6 only in the test's own network
//! namespace: the host's are never touched.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{
    BIN, Etc, NOBODY, Opts, Run, in_netns, listener, parse_error, parse_who, portcheck,
    unprivileged_bin, with_private_mounts,
};

/// Runs portcheck after `setup` (a shell script run as root in a private
/// mount namespace).
fn portcheck_after(setup: &str, args: &[&str]) -> Run {
    let mut command = vec![BIN];
    command.extend_from_slice(args);
    with_private_mounts(setup, &[], &command)
}

/// [`portcheck_after`] for a setup that drops to another user: the binary
/// at a path that user may execute.
fn unprivileged_portcheck_after(setup: &str, args: &[&str]) -> Run {
    let bin = unprivileged_bin().to_str().expect("a UTF-8 path");
    let mut command = vec![bin];
    command.extend_from_slice(args);
    with_private_mounts(setup, &[], &command)
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run:#?}"))
}

fn codes(document: &Value) -> Vec<&str> {
    document["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect()
}

fn no_panic(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

// ---------------------------------------------------------------------------
// /proc

/// /proc with hidepid: an unprivileged portcheck sees no other user's
/// process. The sockets are still listed (they come from the kernel), and
/// it says the owners are hidden rather than "in another PID namespace".
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn env_proc_hidepid_still_lists_sockets_and_says_owners_are_hidden() {
    in_netns("env_proc_hidepid", || {
        let _held = listener("127.0.0.1:9800", Opts::new());
        let setup = format!(
            "mount -t proc -o hidepid=invisible proc /proc || exit 125\n\
             set -- setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups \"$@\""
        );
        let run = unprivileged_portcheck_after(&setup, &["who", "9800", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stderr.is_empty(), "no permission noise: {run:#?}");
        let doc = parse_who(&run);
        assert!(!doc.complete, "{doc:#?}");
        assert_eq!(doc.warning_codes(), ["proc_hidepid"], "{doc:#?}");
        assert!(
            doc.warnings[0].message.contains("hidepid=invisible"),
            "{doc:#?}"
        );
        assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
        assert!(doc.sockets[0].processes.is_empty(), "{doc:#?}");
        assert_eq!(
            doc.sockets[0].owner_gap.as_deref(),
            Some("owner_unreadable")
        );

        let run = unprivileged_portcheck_after(&setup, &["who", "9800"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stderr.is_empty(), "{run:#?}");
        assert!(run.stdout.contains("owner unreadable"), "{run:#?}");
        assert!(run.stdout.contains("[proc_hidepid]"), "{run:#?}");
    });
}

/// No /proc (an empty tmpfs, or an empty directory, in its place): every
/// socket is still listed, each command still answers, and the warning
/// says /proc is what is missing.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn env_proc_missing_still_lists_sockets_and_says_so() {
    in_netns("env_proc_missing", || {
        let _held = listener("127.0.0.1:9810", Opts::new().reuseaddr(true));
        // An empty directory of the test's own, bound over /proc in the
        // private mount namespace (not a tmpfs over /tmp: the binary under
        // test may live there).
        let empty = std::env::temp_dir().join(format!(
            "portcheck-empty-proc-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&empty).expect("an empty directory");
        let bind_empty = format!("mount --bind '{}' /proc || exit 125", empty.display());
        for setup in ["mount -t tmpfs none /proc || exit 125", bind_empty.as_str()] {
            let run = portcheck_after(setup, &["who", "9810", "--json"]);
            assert_eq!(run.code, 0, "{setup}: {run:#?}");
            assert!(run.stderr.is_empty(), "{run:#?}");
            let doc = parse_who(&run);
            assert!(!doc.complete);
            assert_eq!(doc.warning_codes(), ["proc_unreadable"], "{doc:#?}");
            assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
            assert_eq!(
                doc.sockets[0].owner_gap.as_deref(),
                Some("owner_unreadable")
            );

            // Root would see no more: the table does not say "run as root".
            let run = portcheck_after(setup, &["who", "9810"]);
            assert!(
                run.stdout.contains("(owner unreadable: no /proc here)"),
                "{run:#?}"
            );

            // Other namespaces are found through /proc: this one is still
            // searched, and the gap is said.
            let run = portcheck_after(setup, &["who", "9810", "--all-netns", "--json"]);
            assert_eq!(run.code, 0, "{setup}: {run:#?}");
            let doc = parse_who(&run);
            assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
            assert!(
                doc.warning_codes().contains(&"netns_unreadable"),
                "{doc:#?}"
            );

            // What try and free assume without /proc/sys is said.
            for args in [
                &["try", "[::]:9811", "--json"][..],
                &["free", "--range", "9811-9820", "--json"][..],
            ] {
                let run = portcheck_after(setup, args);
                assert_eq!(run.code, 0, "{setup}: {args:?}: {run:#?}");
                let doc = json(&run);
                assert!(codes(&doc).contains(&"sysctl_unreadable"), "{doc:#}");
                assert_eq!(doc["complete"], false, "{doc:#}");
            }
            for (args, code) in [
                (&["try", "127.0.0.1:9811"][..], 0),
                (&["try", "127.0.0.1:9810"][..], 1),
                (&["free", "--range", "9811-9820"][..], 0),
                (&["wait", "9810", "--timeout", "1s"][..], 0),
                (&["resolve", "127.0.0.1:9810"][..], 0),
            ] {
                let run = portcheck_after(setup, args);
                assert_eq!(run.code, code, "{setup}: {args:?}: {run:#?}");
                no_panic(&run);
            }
        }
        let _ = std::fs::remove_dir(&empty);
    });
}

// ---------------------------------------------------------------------------
// No IPv6

/// IPv6 disabled in the namespace (`disable_ipv6`, as a kernel without it
/// would behave for addresses): IPv4 answers as usual, IPv6 addresses are
/// refused with EADDRNOTAVAIL or unreachable, and a note says why.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn env_without_ipv6_answers_for_ipv4_and_says_why_ipv6_fails() {
    in_netns("env_without_ipv6", || {
        // Written from this thread: the sysctls of its network namespace.
        for sysctl in ["all", "default", "lo"] {
            std::fs::write(
                format!("/proc/sys/net/ipv6/conf/{sysctl}/disable_ipv6"),
                "1",
            )
            .unwrap_or_else(|e| panic!("disable_ipv6 ({sysctl}): {e}"));
        }
        let _held = listener("0.0.0.0:9820", Opts::new());

        let run = portcheck(&["who", "9820", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(parse_who(&run).sockets.len(), 1);
        assert_eq!(portcheck(&["who", "9820", "-6"]).code, 1);

        let run = portcheck(&["try", "[::1]:9821", "--json"]);
        assert_eq!(run.code, 1, "{run:#?}");
        let doc = json(&run);
        let candidate = &doc["candidates"][0];
        assert_eq!(candidate["prediction"]["error"], "EADDRNOTAVAIL", "{doc:#}");
        assert_eq!(candidate["trial"]["error"], "EADDRNOTAVAIL", "{doc:#}");
        assert!(codes(&doc).contains(&"ipv6_disabled"), "{doc:#}");
        let run = portcheck(&["try", "[::1]:9821"]);
        assert!(run.stdout.contains("disable_ipv6"), "{run:#?}");
        assert_eq!(portcheck(&["try", "127.0.0.1:9821"]).code, 0);

        let run = portcheck(&["resolve", "::1", "9820", "--json"]);
        assert_eq!(run.code, 1, "{run:#?}");
        let doc = json(&run);
        assert_eq!(doc["destinations"][0]["outcome"], "unreachable", "{doc:#}");
        assert!(codes(&doc).contains(&"ipv6_disabled"), "{doc:#}");
        assert_eq!(portcheck(&["resolve", "127.0.0.1", "9820"]).code, 0);

        let run = portcheck(&["free", "--range", "9821-9830"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let run = portcheck(&["wait", "[::1]:9821", "--timeout", "200ms"]);
        assert_eq!(run.code, 1, "{run:#?}");
    });
}

// ---------------------------------------------------------------------------
// /etc

/// No /etc/hosts (nor any other /etc file but nsswitch.conf): a name is
/// not found, and the message says the hosts file is missing; addresses
/// and `who` still answer.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn env_without_etc_hosts_says_so_and_addresses_still_work() {
    in_netns("env_without_etc_hosts", || {
        let _held = listener("127.0.0.1:9840", Opts::new());
        let setup = "mount -t tmpfs none /etc || exit 125\n\
                     echo 'hosts: files' > /etc/nsswitch.conf";
        let run = portcheck_after(setup, &["resolve", "localhost:9840", "--json"]);
        assert_eq!(run.code, 2, "{run:#?}");
        let error = parse_error(&run);
        assert_eq!(error.error.code, "host_not_found");
        assert!(error.error.message.contains("no /etc/hosts"), "{error:#?}");
        let run = portcheck_after(setup, &["resolve", "127.0.0.1:9840"]);
        assert_eq!(run.code, 0, "{run:#?}");
        // No /etc/passwd either: the uid without a name.
        let run = portcheck_after(setup, &["who", "9840", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_who(&run);
        assert_eq!(doc.sockets[0].uid, Some(0));
    });
}

/// An empty /etc/gai.conf is the default policy; one of random bytes, or
/// with lines glibc cannot parse, is read as glibc reads it (those lines
/// skipped), with a note naming a few of them, escaped.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn env_empty_or_broken_gai_conf_keeps_the_answer() {
    in_netns("env_gai_conf", || {
        let _held = listener("127.0.0.1:9850", Opts::new());
        // Random-looking bytes, reproducibly: not UTF-8, control characters.
        let garbage: Vec<u8> = (0u32..3000)
            .map(|i| u8::try_from(i.wrapping_mul(2_654_435_761) >> 24).unwrap_or(0))
            .collect();
        let broken = b"precedence ::1/128 50\nlabel zzz\nprecedence ::/999 4\n\
                       scopev4 1.2.3.4/40 99999999999\nprecedence \xff\x1b[2J 3\nreload yes\n"
            .to_vec();
        for (name, gai, warned) in [
            ("empty", Vec::new(), false),
            ("garbage", garbage, true),
            ("broken", broken, true),
        ] {
            let Some(etc) = Etc::with_gai_conf("env_gai_conf", "127.0.0.1 localhost\n", &gai)
            else {
                return;
            };
            let run = etc.portcheck(&["resolve", "localhost:9850", "--json"]);
            assert_eq!(run.code, 0, "{name}: {run:#?}");
            let doc = json(&run);
            assert_eq!(doc["destinations"][0]["address"], "127.0.0.1", "{doc:#}");
            assert_eq!(
                codes(&doc).contains(&"gai_conf_unreadable_lines"),
                warned,
                "{name}: {doc:#}"
            );
            let run = etc.portcheck(&["resolve", "localhost:9850"]);
            assert_eq!(run.code, 0, "{name}: {run:#?}");
            assert!(
                !run.stdout.contains('\u{1b}') && run.stdout.len() < 2000,
                "{name}: escaped and bounded: {run:#?}"
            );
        }
    });
}

/// A hosts file with a line that is not UTF-8 (a Latin-1 comment) is read
/// as glibc reads it: its names still come from `hosts`.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn env_hosts_file_not_utf8_still_gives_origins() {
    in_netns("env_hosts_file_not_utf8", || {
        let _held = listener("127.0.0.1:9860", Opts::new());
        let hosts = b"# caf\xe9\n127.0.0.1 localhost somename\n";
        let Some(etc) = Etc::new("env_hosts_file_not_utf8", "").with_bytes(
            "env_hosts_file_not_utf8",
            "/etc/hosts",
            hosts,
        ) else {
            return;
        };
        let run = etc.portcheck(&["resolve", "somename:9860", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(json(&run)["destinations"][0]["origin"], "hosts", "{run:#?}");
    });
}

// ---------------------------------------------------------------------------
// A nameserver that never answers

/// Runs portcheck with `resolv` as /etc/resolv.conf and DNS in nsswitch;
/// returns the run and how long it took.
fn with_resolver(hosts: &str, resolv: &str, args: &[&str]) -> Option<(Run, Duration)> {
    let etc = Etc::new("env_silent_dns", hosts)
        .with("env_silent_dns", "/etc/nsswitch.conf", "hosts: files dns\n")?
        .with("env_silent_dns", "/etc/resolv.conf", resolv)?;
    // Timed, so not shadowed: the uid-65534 twin would wait out the silent
    // server a second time inside the measurement.
    let start = Instant::now();
    let run = etc.run(crate::harness::BIN, args);
    Some((run, start.elapsed()))
}

/// A nameserver that reads nothing and answers nothing (a UDP socket
/// bound on 127.0.0.2:53 in the test's namespace): the system resolver
/// gives up within glibc's own timeout (`options timeout:1 attempts:1`:
/// about 1 s), or portcheck's 10 s bound when glibc would wait longer; DNS
/// asked directly gives up within 2 s. Clear messages, exit 2 when the
/// name cannot be resolved.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn env_silent_nameserver_is_given_up_on_within_the_bounds() {
    in_netns("env_silent_nameserver", || {
        let _silent = UdpSocket::bind("127.0.0.2:53").expect("bind 127.0.0.2:53");

        let Some((run, took)) = with_resolver(
            "127.0.0.1 localhost\n",
            "nameserver 127.0.0.2\noptions timeout:1 attempts:1\n",
            &["resolve", "somename.test:80", "--json"],
        ) else {
            return;
        };
        assert_eq!(run.code, 2, "{run:#?}");
        let error = parse_error(&run);
        assert_eq!(error.error.code, "resolver_failed", "{error:#?}");
        assert!(
            error.error.message.contains("temporary failure"),
            "{error:#?}"
        );
        assert!(took < Duration::from_secs(5), "took {took:?}");

        // glibc's defaults (5 s, 2 attempts, and any search domains):
        // portcheck stops waiting after its own 10 s.
        let Some((run, took)) = with_resolver(
            "127.0.0.1 localhost\n",
            "nameserver 127.0.0.2\n",
            &["resolve", "somename.test:80"],
        ) else {
            return;
        };
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(
            run.stderr.contains("did not answer within 10 s")
                || run.stderr.contains("temporary failure"),
            "{run:#?}"
        );
        assert!(took < Duration::from_secs(12), "took {took:?}");

        // Resolved from the hosts file; DNS asked directly does not answer.
        for dns in [&["--dns-server", "127.0.0.2"][..], &["--dns"][..]] {
            let mut args = vec!["resolve", "somename.test:80", "--json"];
            args.extend_from_slice(dns);
            let Some((run, took)) = with_resolver(
                "127.0.0.1 localhost somename.test\n",
                "nameserver 127.0.0.2\noptions timeout:1 attempts:1\n",
                &args,
            ) else {
                return;
            };
            assert_eq!(run.code, 1, "nothing listens on 80: {run:#?}");
            let doc = json(&run);
            assert!(codes(&doc).contains(&"dns_unanswered"), "{doc:#}");
            assert!(!doc["complete"].as_bool().unwrap_or(true), "{doc:#}");
            assert!(took < Duration::from_secs(7), "{dns:?} took {took:?}");
        }
        let Some((run, _)) = with_resolver(
            "127.0.0.1 localhost somename.test\n",
            "nameserver 127.0.0.2\noptions timeout:1 attempts:1\n",
            &["resolve", "somename.test:80", "--dns-server", "127.0.0.2"],
        ) else {
            return;
        };
        assert!(
            run.stdout.contains("A no answer; AAAA no answer"),
            "an unanswered question is not an empty answer: {run:#?}"
        );
    });
}
