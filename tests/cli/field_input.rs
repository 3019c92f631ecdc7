//! Input as people write it, in the field (issue 16, items 8 to 10): the
//! host:port forms runtimes print, names where a name makes sense,
//! interfaces that do not exist, and defaults a user relies on.

use crate::harness::{
    Etc, Opts, Run, WaitDoc, in_netns, listener, parse_error, portcheck, udp, who_json,
};

fn parse_wait(run: &Run) -> WaitDoc {
    let doc: WaitDoc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one `wait` document ({e}): {run:#?}"));
    assert_eq!((doc.schema_version, doc.command.as_str()), (1, "wait"));
    assert_eq!(
        run.code,
        i32::from(!doc.met),
        "exit code against met: {run:#?}"
    );
    doc
}

/// `who :::80` is Node's `[::]:80`; `who ::1:80` can be read two ways and
/// is refused with both spellings (it silently meant the address `::1:80`).
#[test]
fn who_reads_nodes_forms_and_refuses_ambiguous_ones() {
    in_netns("who_reads_nodes_forms_and_refuses_ambiguous_ones", || {
        let _server = listener("[::]:3000", Opts::new().v6only(false));
        let (run, doc) = who_json(&[":::3000"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.query.targets, [":::3000"], "{doc:#?}");
        assert!(
            doc.sockets
                .iter()
                .any(|s| s.local_address == "::" && s.local_port == 3000),
            "{doc:#?}"
        );

        let run = portcheck(&["who", "::1:3000"]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(
            run.stderr
                .contains("write [::1]:3000 for port 3000 on ::1, or [::1:3000]"),
            "{run:#?}"
        );
        let run = portcheck(&["--json", "who", "::1:3000"]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert_eq!(parse_error(&run).error.code, "bad_target", "{run:#?}");

        // Both bracketed readings are accepted as written.
        let (run, _) = who_json(&["[::1]:3000"]);
        assert_eq!(run.code, 0, "{run:#?}");
        // Every port of the address `::1:3000`: the dual-stack wildcard
        // covers it on 3000 only.
        let (run, _) = who_json(&["[::1:3000]"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let (run, _) = who_json(&["[::1:3000]:4000"]);
        assert_eq!(run.code, 1, "{run:#?}");
        let (run, _) = who_json(&["[::1]%lo:3000"]);
        assert_eq!(run.code, 0, "{run:#?}");
    });
}

/// An interface that does not exist is an error naming it, never "free".
#[test]
fn who_and_wait_refuse_unknown_interfaces() {
    in_netns("who_and_wait_refuse_unknown_interfaces", || {
        for args in [
            &["who", "[fe80::1%nosuchif]:80"][..],
            &["who", "[fe80::1]%nosuchif:80"],
            &["wait", "[fe80::1%nosuchif]:80", "--timeout", "100ms"],
        ] {
            let run = portcheck(args);
            assert_eq!(run.code, 2, "{args:?}: {run:#?}");
            assert!(run.stderr.contains("'nosuchif'"), "{args:?}: {run:#?}");
            let mut json = args.to_vec();
            json.push("--json");
            let run = portcheck(&json);
            assert_eq!(run.code, 2, "{run:#?}");
            assert_eq!(
                parse_error(&run).error.code,
                "no_such_interface",
                "{run:#?}"
            );
        }
        // A device that exists is no error.
        let (run, _) = who_json(&["[::1%lo]:80"]);
        assert_eq!(run.code, 1, "{run:#?}");
    });
}

/// `wait NAME:PORT` looks the name up (system order) and is met when one
/// of its destinations accepts, as a client trying them in order connects.
#[test]
fn wait_for_a_name_is_met_when_one_destination_accepts() {
    in_netns(
        "wait_for_a_name_is_met_when_one_destination_accepts",
        || {
            let etc = Etc::new("wait-name", "::1 web\n127.0.0.1 web\n");
            let _v4 = listener("127.0.0.1:8443", Opts::new());

            let run = etc.portcheck(&["wait", "web:8443", "--timeout", "5s", "--json"]);
            let doc = parse_wait(&run);
            assert!(doc.met, "{doc:#?}");
            assert_eq!(doc.target, "web:8443");
            assert_eq!(doc.destinations, etc.system_order("web"), "{doc:#?}");
            assert_eq!(doc.destinations.len(), 2, "{doc:#?}");
            assert!(
                doc.sockets
                    .iter()
                    .any(|s| s.local_address == "127.0.0.1" && s.local_port == 8443),
                "{doc:#?}"
            );

            // Nothing on either destination: not met, and free is met at once.
            let run = etc.portcheck(&["wait", "web:8444", "--timeout", "200ms", "--json"]);
            assert!(!parse_wait(&run).met, "{run:#?}");
            let run = etc.portcheck(&["wait", "web:8444", "--until", "free", "--json"]);
            assert!(parse_wait(&run).met, "{run:#?}");
            let run = etc.portcheck(&["wait", "web:8443", "--until", "free", "--timeout", "200ms"]);
            assert_eq!(run.code, 1, "{run:#?}");

            // An unknown name is an error, not a wait.
            let run = etc.portcheck(&["wait", "nosuchname.test:80", "--timeout", "100ms"]);
            assert_eq!(run.code, 2, "{run:#?}");
        },
    );
}

/// `wait PORT` waits for a TCP server, as `free` looks for TCP ports: a
/// UDP socket on the port does not meet it; `-u` asks for UDP.
#[test]
fn wait_defaults_to_tcp() {
    in_netns("wait_defaults_to_tcp", || {
        let _datagrams = udp("127.0.0.1:7002", Opts::new());
        let run = portcheck(&["wait", "7002", "--timeout", "200ms", "--json"]);
        let doc = parse_wait(&run);
        assert!(!doc.met, "{doc:#?}");
        let run = portcheck(&["wait", "-u", "7002", "--timeout", "5s", "--json"]);
        assert!(parse_wait(&run).met, "{run:#?}");
        let _stream = listener("127.0.0.1:7002", Opts::new());
        let run = portcheck(&["wait", "7002", "--timeout", "5s", "--json"]);
        assert!(parse_wait(&run).met, "{run:#?}");
    });
}
