//! The netstat2 socket source against the netlink one, on sockets this test
//! holds in a private network namespace: the same sockets with the same
//! owners, `null` (and one `field_unavailable` warning) for what netstat2
//! cannot say, and no `try` verdict that the netlink source contradicts.
//! Without the `netstat2` feature only the error for asking for it runs.

use crate::harness::{parse_error, portcheck_with_source};

#[cfg(not(feature = "netstat2"))]
#[test]
fn without_the_feature_asking_for_netstat2_is_an_error_naming_it() {
    let run = portcheck_with_source("netstat2", &["who", "--json"]);
    assert_eq!(run.code, 2, "{run:#?}");
    let doc = parse_error(&run);
    assert_eq!(doc.error.code, "unsupported");
    assert!(
        doc.error.message.contains("--features netstat2"),
        "{run:#?}"
    );
}

#[test]
fn an_unknown_source_is_an_error_naming_the_known_ones() {
    let run = portcheck_with_source("procfs", &["who", "--json"]);
    assert_eq!(run.code, 2, "{run:#?}");
    let doc = parse_error(&run);
    assert_eq!(doc.error.code, "unsupported");
    assert!(doc.error.message.contains("netstat2"), "{run:#?}");
}

#[cfg(feature = "netstat2")]
mod differential {
    use std::collections::BTreeMap;

    use socket2::Type;

    use crate::harness::{
        Opts, Run, SocketDoc, WhoDoc, bound, fork_sharing, in_netns, listener, parse_who,
        portcheck_with_source, udp,
    };

    /// protocol, family, address, port: what identifies a socket in both.
    type Key = (String, String, String, u16);

    fn key(s: &SocketDoc) -> Key {
        (
            s.protocol.clone(),
            s.family.clone(),
            s.local_address.clone(),
            s.local_port,
        )
    }

    fn pids(s: &SocketDoc) -> Vec<u32> {
        s.processes.iter().map(|p| p.pid).collect()
    }

    fn who(source: &str) -> (Run, WhoDoc) {
        let run = portcheck_with_source(source, &["who", "--all", "--json"]);
        let doc = parse_who(&run);
        (run, doc)
    }

    fn by_key(doc: &WhoDoc) -> BTreeMap<Key, &SocketDoc> {
        doc.sockets.iter().map(|s| (key(s), s)).collect()
    }

    #[test]
    fn who_through_netstat2_agrees_with_netlink() {
        in_netns("netstat2::who_through_netstat2_agrees_with_netlink", || {
            let v4 = listener("127.0.0.1:8001", Opts::new().reuseaddr(true));
            let v6only = listener("[::]:8002", Opts::new().v6only(true));
            let dual = listener("[::]:8003", Opts::new().v6only(false).reuseport(true));
            let bound_only = bound(Type::STREAM, "0.0.0.0:8004", Opts::new());
            let udp4 = udp("127.0.0.1:8005", Opts::new());
            let udp6 = udp("[::]:8006", Opts::new().v6only(false));
            let udp6only = udp("[::1]:8007", Opts::new());
            let shared = listener("0.0.0.0:8008", Opts::new());
            let child = fork_sharing(&shared);

            let (netlink_run, netlink) = who("netlink");
            let (netstat2_run, netstat2) = who("netstat2");
            let context = || format!("{netlink_run:#?}\n{netstat2_run:#?}");

            // netlink is the reference: complete, nothing unavailable.
            assert!(netlink.complete, "{}", context());
            assert!(!netlink.warning_codes().contains(&"field_unavailable"));
            assert_eq!(netlink.sockets.len(), 8, "{}", context());

            let codes = netstat2.warning_codes();
            assert_eq!(
                codes.iter().filter(|c| **c == "field_unavailable").count(),
                1,
                "{}",
                context()
            );
            let field = &netstat2.warnings[codes
                .iter()
                .position(|c| *c == "field_unavailable")
                .expect("field_unavailable")];
            for name in ["v6only", "interface", "udp state"] {
                assert!(field.message.contains(name), "{}", context());
            }
            // A bound-only TCP socket is not in netstat2's request: the
            // document says so and is not complete.
            assert!(codes.contains(&"sockets_unlisted"), "{}", context());
            assert!(!netstat2.complete, "{}", context());

            let theirs = by_key(&netstat2);
            for ours in &netlink.sockets {
                let k = key(ours);
                if ours.protocol == "tcp" && ours.state == "UNCONN" {
                    assert!(!theirs.contains_key(&k), "{k:?}: {}", context());
                    continue;
                }
                let other = theirs
                    .get(&k)
                    .unwrap_or_else(|| panic!("{k:?} missing from netstat2: {}", context()));
                if ours.protocol == "tcp" {
                    assert_eq!(other.state, ours.state, "{k:?}");
                } else {
                    // netstat2 drops UDP state: unknown, not a guess.
                    assert_eq!(ours.state, "UNCONN", "{k:?}");
                    assert_eq!(other.state, "UNKNOWN", "{k:?}");
                }
                assert_eq!(pids(other), pids(ours), "{k:?}: {}", context());
                assert!(!pids(ours).is_empty(), "{k:?}");
                assert_eq!(other.inode, ours.inode, "{k:?}");
                assert_eq!(other.uid, ours.uid, "{k:?}");
                // Read from the owners on Linux, whatever the source.
                assert_eq!(
                    (other.reuseaddr, other.reuseport),
                    (ours.reuseaddr, ours.reuseport),
                    "{k:?}"
                );
                assert_eq!(other.netns, ours.netns, "{k:?}");
                // What netstat2 cannot give is null.
                assert_eq!(other.v6only, None, "{k:?}");
                assert_eq!(other.interface, None, "{k:?}");
                if ours.family == "ipv6" && ours.local_address == "::" {
                    assert_eq!(other.accepts_ipv4, None, "{k:?}");
                    assert!(ours.v6only.is_some(), "{k:?}");
                } else {
                    assert_eq!(other.accepts_ipv4, ours.accepts_ipv4, "{k:?}");
                }
            }
            assert_eq!(theirs.len(), netlink.sockets.len() - 1, "{}", context());

            // The socket shared across fork has both owners in both.
            let shared_key: Key = ("tcp".into(), "ipv4".into(), "0.0.0.0".into(), 8008);
            let mut expected = vec![std::process::id(), child.pid()];
            expected.sort_unstable();
            assert_eq!(pids(theirs[&shared_key]), expected, "{}", context());

            drop((v4, v6only, dual, bound_only, udp4, udp6, udp6only, shared));
        });
    }

    /// `prediction.ok` of each candidate, `None` where it depends or none
    /// was made.
    fn predictions(source: &str, candidates: &[&str]) -> (Run, Vec<Option<bool>>, Vec<String>) {
        let mut args = vec!["try", "--no-trial", "--json"];
        args.extend_from_slice(candidates);
        let run = portcheck_with_source(source, &args);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not one `try` document ({e}): {run:#?}"));
        let list = doc["candidates"].as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), candidates.len(), "{run:#?}");
        let oks = list
            .iter()
            .map(|c| c["prediction"]["ok"].as_bool())
            .collect();
        let rules = list
            .iter()
            .map(|c| c["prediction"]["rule"].as_str().unwrap_or("").to_owned())
            .collect();
        (run, oks, rules)
    }

    #[test]
    fn try_through_netstat2_never_states_a_verdict_netlink_contradicts() {
        in_netns(
            "netstat2::try_through_netstat2_never_states_a_verdict_netlink_contradicts",
            || {
                let _v4 = listener("127.0.0.1:8101", Opts::new().reuseaddr(true));
                let _v6only = listener("[::]:8102", Opts::new().v6only(true).reuseaddr(true));
                let _dual = listener("[::]:8103", Opts::new().v6only(false).reuseaddr(true));
                let _bound_only = bound(Type::STREAM, "0.0.0.0:8104", Opts::new());
                let _udp = udp("[::]:8105", Opts::new().v6only(false));
                let _device = listener("127.0.0.1:8106", Opts::new().device("lo"));
                // Each alone: a plan would let earlier candidates decide.
                let singles = [
                    "0.0.0.0:8101",
                    "127.0.0.1:8101",
                    "127.0.0.2:8101",
                    "[::]:8101/v6only",
                    "[::]:8101/dualstack",
                    "0.0.0.0:8102",
                    "[::]:8102/v6only",
                    "[::1]:8102",
                    "0.0.0.0:8103",
                    "127.0.0.1:8103",
                    "[::1]:8103",
                    "0.0.0.0:8104",
                    "127.0.0.1:8104/reuseaddr",
                    "udp:0.0.0.0:8105",
                    "udp:[::1]:8105",
                    "127.0.0.1:8106/device=lo",
                    "0.0.0.0:8106",
                    "127.0.0.1:8199",
                ];
                let mut stated = 0;
                let mut depends = 0;
                for candidate in singles {
                    let (netlink_run, netlink, _) = predictions("netlink", &[candidate]);
                    let (netstat2_run, netstat2, rules) = predictions("netstat2", &[candidate]);
                    if let Some(verdict) = netstat2[0] {
                        stated += 1;
                        assert_eq!(
                            netlink[0],
                            Some(verdict),
                            "{candidate}: netstat2 says {verdict}, netlink disagrees\n{netlink_run:#?}\n{netstat2_run:#?}"
                        );
                    } else {
                        depends += 1;
                        assert!(
                            rules[0].starts_with("depends_on_"),
                            "{candidate}: {rules:?}"
                        );
                    }
                    assert!(netlink[0].is_some(), "{candidate}: {netlink_run:#?}");
                }
                // Both kinds occur: the unknowns become "depends", and what
                // netstat2 does see still decides.
                assert!(
                    stated > 0 && depends > 0,
                    "{stated} stated, {depends} depend"
                );
            },
        );
    }
}
