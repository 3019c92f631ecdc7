//! `why` in the field: real programs fail for real on ports held inside a
//! private network namespace, and their real output is piped into `why`.
//!
//! Every program is found with `field::program` (a missing one is recorded
//! as skipped by name), started under `without_new_processes` and under
//! `timeout`, so that one which unexpectedly succeeds ends by itself.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::field;
use crate::harness::{
    Holder, Opts, fork_sharing, in_netns, listener, portcheck, without_new_processes,
};
use crate::why::{WhyDoc, parse_why, why_stdin};

/// What a program printed (standard output, then standard error) and its
/// exit code; `timeout` ends it after `seconds`.
struct Ran {
    code: Option<i32>,
    output: String,
}

fn run_program(program: &PathBuf, args: &[&str], seconds: u32) -> Ran {
    let mut command = Command::new("timeout");
    command
        .arg("-s")
        .arg("KILL")
        .arg(seconds.to_string())
        .arg(program)
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null());
    let output = without_new_processes(|| command.output()).expect("run the program");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ran {
        code: output.status.code(),
        output: text,
    }
}

/// A listener on `address` held only by a forked child.
fn held_by_child(address: &str, opts: Opts) -> Holder {
    let socket = listener(address, opts);
    let child = fork_sharing(&socket);
    without_new_processes(|| drop(socket));
    child
}

/// The story's Rust server (`examples/rust_dual_stack.rs`), which `cargo
/// test` builds beside this test binary.
fn rust_server() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/debug");
    let path = dir.join("examples").join("rust_dual_stack");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it (or `cargo build --example rust_dual_stack`)",
        path.display()
    );
    path
}

fn kinds(doc: &WhyDoc) -> Vec<&str> {
    doc.fixes.iter().map(|f| f.kind.as_str()).collect()
}

// ---------------------------------------------------------------------------
// The Rust story

/// A Rust server binds `[::]:443` as std does (dual-stack), then its
/// redirect on `0.0.0.0:443`, and dies. Its own first socket is in the
/// way: `why` reads it from the log and says so, with fixes in Rust's
/// terms, and no "start it again". Both of Rust's error shapes.
#[test]
fn field_why_rust_server_is_in_its_own_way() {
    in_netns("field_why_rust_server", || {
        let server = rust_server();
        for mode in ["hyper", "debug"] {
            let ran = run_program(&server, &["443", mode], 10);
            assert_eq!(ran.code, Some(1), "{mode}: {}", ran.output);
            assert!(
                ran.output.contains("listening on [::]:443"),
                "{}",
                ran.output
            );
            let shape = if mode == "hyper" {
                "error binding to 0.0.0.0:443: error creating server listener: Address already in use (os error 98)"
            } else {
                "Error: Os { code: 98, kind: AddrInUse"
            };
            assert!(ran.output.contains(shape), "{mode}: {}", ran.output);

            let run = why_stdin(&["--json"], ran.output.as_bytes());
            assert_eq!(run.code, 0, "{mode}: {run:#?}");
            let doc = parse_why(&run);
            assert_eq!(doc.recognised.runtime, "Rust", "{mode}");
            assert_eq!(doc.diagnosis.status, "own_socket", "{mode}: {doc:#?}");
            let own = &doc.diagnosis.own_sockets;
            assert_eq!(own.len(), 1, "{mode}: {own:#?}");
            assert_eq!(
                (
                    own[0].protocol.as_str(),
                    own[0].address.as_str(),
                    own[0].port,
                    own[0].line
                ),
                ("tcp", "::", 443, 1),
                "{mode}"
            );
            assert!(
                doc.diagnosis.holders.is_empty(),
                "{mode}: nothing else holds 443"
            );
            assert_eq!(
                doc.try_field("/address").and_then(|v| v.as_str()),
                Some("0.0.0.0"),
                "{mode}: the failed bind is the redirect's"
            );
            assert_eq!(
                doc.try_field("/prediction/rule").and_then(|v| v.as_str()),
                Some("dual_stack_wildcard_overlaps_ipv4"),
                "{mode}"
            );
            assert_eq!(
                doc.try_field("/prediction/conflicts/0/candidate")
                    .and_then(serde_json::Value::as_u64),
                Some(0),
                "{mode}: the conflict is the program's own first socket"
            );
            assert_eq!(
                doc.try_field("/trial/error").and_then(|v| v.as_str()),
                Some("EADDRINUSE"),
                "{mode}: the kernel agrees"
            );
            assert!(!kinds(&doc).contains(&"retry"), "{mode}: {:#?}", doc.fixes);
            assert!(
                doc.fixes.iter().any(|f| f.kind == "set_v6only"
                    && f.setting
                        .as_deref()
                        .is_some_and(|s| s.contains("set_only_v6(true)"))),
                "{mode}: {:#?}",
                doc.fixes
            );
            assert!(
                doc.fixes.iter().any(|f| f
                    .setting
                    .as_deref()
                    .is_some_and(|s| s.contains("from_std") && s.contains("from_tcp_rustls"))),
                "{mode}: {:#?}",
                doc.fixes
            );
            assert!(kinds(&doc).contains(&"one_socket"), "{mode}");
            assert!(
                doc.fix("other_port").description.contains("port 80"),
                "{mode}: the redirect on port 80"
            );
            assert!(doc.also.is_empty(), "{mode}: {:#?}", doc.also);
        }
        // The fix it names works: with socket2's set_only_v6(true) on
        // [::]:443 both sockets bind.
        let fixed = run_program(&server, &["443", "v6only"], 10);
        assert_eq!(fixed.code, Some(0), "{}", fixed.output);
        assert!(
            fixed.output.contains("redirect listening on 0.0.0.0:443"),
            "{}",
            fixed.output
        );
    });
}

/// The failure line alone (no announcement) and nothing in the way now:
/// never only "start it again". The plan it names, run as given, finds the
/// program's own [::]:443 in the way.
#[test]
fn field_why_rust_failure_alone_names_the_plan_to_check() {
    in_netns("field_why_rust_alone", || {
        let ran = run_program(&rust_server(), &["443", "hyper"], 10);
        let failure = ran
            .output
            .lines()
            .find(|l| l.starts_with("error binding to"))
            .expect("the failure line");
        let run = why_stdin(&["--json"], failure.as_bytes());
        assert_eq!(run.code, 1, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.diagnosis.status, "gone");
        assert!(doc.diagnosis.own_sockets.is_empty());
        assert!(
            doc.diagnosis.summary.contains("or was the program itself"),
            "{}",
            doc.diagnosis.summary
        );
        let check = doc.fix("check_own_sockets");
        assert_eq!(
            check.command.as_deref(),
            Some("portcheck try '[::]:443' 0.0.0.0:443")
        );
        let tried = portcheck(&["try", "--json", "[::]:443", "0.0.0.0:443"]);
        assert_eq!(tried.code, 1, "the plan fails: {tried:#?}");
        let plan: serde_json::Value = serde_json::from_str(&tried.stdout).expect("try JSON");
        assert_eq!(
            plan.pointer("/candidates/1/prediction/rule")
                .and_then(|v| v.as_str()),
            Some("dual_stack_wildcard_overlaps_ipv4"),
            "{plan:#}"
        );
    });
}

/// An announced socket that something else holds now is not what ran:
/// the failed bind is checked alone and its live holder named.
#[test]
fn field_why_an_announced_socket_held_by_another_is_not_blamed() {
    in_netns("field_why_own_held_elsewhere", || {
        let ran = run_program(&rust_server(), &["8443", "hyper"], 10);
        let holder = held_by_child("[::]:8443", Opts::new().reuseaddr(true).v6only(false));
        let run = why_stdin(&["--json"], ran.output.as_bytes());
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.diagnosis.status, "present", "{doc:#?}");
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
        assert_eq!(doc.diagnosis.own_sockets.len(), 1, "still listed as read");
    });
}
