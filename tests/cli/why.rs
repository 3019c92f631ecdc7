//! `portcheck why` end to end: a real runtime (Node, Python) fails on a
//! port the test holds in its own network namespace, and its real standard
//! error is piped into `portcheck why --json`.
//!
//! Every process (the runtime, portcheck) is started under the harness's
//! process lock (`without_new_processes`), and every runtime runs under
//! `timeout` so that one which unexpectedly succeeds cannot hang the test.
//! Node and Python are installed by `.ci/run` where missing; a test that
//! finds one missing says so and passes.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::harness::{
    Holder, NOBODY, Opts, Run, SocketDoc, WarningDoc, fork_sharing, in_netns, listener,
    parse_error, portcheck_fed, present, udp, without_new_processes,
};

// ---------------------------------------------------------------------------
// The `why` document, mirrored field by field: a key added, renamed or
// omitted fails every test. `try` and `resolve` are those commands' own
// objects, checked where a test needs them.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhyDoc {
    pub schema_version: u32,
    pub command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21; checked in
    /// origin.rs, locked here).
    #[serde(deserialize_with = "crate::harness::present")]
    #[allow(dead_code)]
    pub hostname: Option<String>,
    #[serde(deserialize_with = "crate::harness::present")]
    #[allow(dead_code)]
    pub kernel: Option<String>,
    pub complete: bool,
    pub warnings: Vec<WarningDoc>,
    pub input: String,
    pub recognised: RecognisedDoc,
    pub diagnosis: DiagnosisDoc,
    pub fixes: Vec<FixDoc>,
    /// The other failure lines of the input.
    pub also: Vec<AlsoDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlsoDoc {
    pub recognised: RecognisedDoc,
    pub diagnosis: DiagnosisDoc,
    pub fixes: Vec<FixDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnSocketDoc {
    pub protocol: String,
    pub address: String,
    pub port: u16,
    pub line: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecognisedDoc {
    pub error: String,
    pub operation: String,
    pub protocol: String,
    #[serde(deserialize_with = "present")]
    pub address: Option<String>,
    #[serde(deserialize_with = "present")]
    pub port: Option<u16>,
    pub format: String,
    pub pattern: String,
    pub runtime: String,
    #[serde(deserialize_with = "present")]
    pub address_from: Option<String>,
    #[serde(deserialize_with = "present")]
    pub port_from: Option<String>,
    pub line: usize,
    pub assumed: Vec<AssumptionDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssumptionDoc {
    pub field: String,
    pub value: String,
    pub why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisDoc {
    pub status: String,
    pub summary: String,
    pub holders: Vec<SocketDoc>,
    #[serde(rename = "try", deserialize_with = "present")]
    pub try_candidate: Option<serde_json::Value>,
    #[serde(deserialize_with = "present")]
    pub resolve: Option<serde_json::Value>,
    pub local_addresses: Vec<String>,
    pub own_sockets: Vec<OwnSocketDoc>,
    pub nearby: Vec<NearbyDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearbyDoc {
    pub address: String,
    pub port: u16,
    #[serde(deserialize_with = "present")]
    pub pid: Option<u32>,
    #[serde(deserialize_with = "present")]
    pub process: Option<String>,
    pub same_program: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixDoc {
    pub kind: String,
    #[serde(deserialize_with = "present")]
    pub pid: Option<u32>,
    #[serde(deserialize_with = "present")]
    pub port: Option<u16>,
    #[serde(deserialize_with = "present")]
    pub unit: Option<String>,
    #[serde(deserialize_with = "present")]
    pub command: Option<String>,
    #[serde(deserialize_with = "present")]
    pub setting: Option<String>,
    pub description: String,
}

impl WhyDoc {
    pub fn fix(&self, kind: &str) -> &FixDoc {
        self.fixes
            .iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} fix in {:#?}", self.fixes))
    }

    pub fn holder_pids(&self) -> Vec<u32> {
        self.diagnosis
            .holders
            .iter()
            .flat_map(|s| s.processes.iter().map(|p| p.pid))
            .collect()
    }

    /// A string field of the embedded `try` candidate, by JSON pointer.
    pub fn try_field(&self, pointer: &str) -> Option<&serde_json::Value> {
        self.diagnosis.try_candidate.as_ref()?.pointer(pointer)
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// Whether `program` can be run; says why the test passes without it.
fn have(program: &str, test: &str) -> bool {
    let found = without_new_processes(|| {
        Command::new(program)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    })
    .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipping {test}: {program} is not installed (.ci/run installs it)");
    }
    found
}

/// The standard error of `program ARGS` (as uid `uid` when given), which
/// is expected to fail at once.
fn runtime_stderr(program: &str, args: &[&str], uid: Option<u32>) -> String {
    let mut command = Command::new("timeout");
    command
        .arg("20")
        .arg(program)
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null());
    if let Some(id) = uid {
        command.uid(id).gid(id);
    }
    let output = without_new_processes(|| command.output()).expect("run the runtime");
    assert_ne!(
        output.status.code(),
        Some(124),
        "{program} did not fail within 20 s (it was expected to)"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `portcheck why ARGS` with `input` on its standard input (shadowed by
/// the same run as uid 65534, as every run through the harness is).
pub fn why_stdin(args: &[&str], input: &[u8]) -> Run {
    let mut full = vec!["why"];
    full.extend_from_slice(args);
    portcheck_fed(&full, input)
}

pub fn parse_why(run: &Run) -> WhyDoc {
    let doc: WhyDoc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one `why` document ({e}): {run:#?}"));
    assert_eq!(doc.schema_version, 1, "{run:#?}");
    assert_eq!(doc.command, "why", "{run:#?}");
    doc
}

/// A listener on `address` held only by a forked child.
fn held_by_child(address: &str, opts: Opts) -> Holder {
    let socket = listener(address, opts);
    let child = fork_sharing(&socket);
    without_new_processes(|| drop(socket));
    child
}

const NODE_LISTEN_3000: &str = "require('net').createServer().listen(3000)";

// ---------------------------------------------------------------------------
// Bind failures

/// Seed 000: Node's `:::3000` is a dual-stack [::], so an IPv4 listener on
/// 0.0.0.0:3000 is in its way.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_node_eaddrinuse_names_the_ipv4_holder_of_its_dual_stack_wildcard() {
    in_netns("why_node_eaddrinuse", || {
        if !have("node", "why_node_eaddrinuse") {
            return;
        }
        let holder = held_by_child("0.0.0.0:3000", Opts::new().reuseaddr(true));
        let stderr = runtime_stderr("node", &["-e", NODE_LISTEN_3000], None);
        assert!(stderr.contains("EADDRINUSE"), "{stderr}");

        let run = why_stdin(&["--json"], stderr.as_bytes());
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(
            doc.input,
            "Error: listen EADDRINUSE: address already in use :::3000"
        );
        let r = &doc.recognised;
        assert_eq!(
            (r.error.as_str(), r.operation.as_str(), r.protocol.as_str()),
            ("EADDRINUSE", "listen", "tcp")
        );
        assert_eq!(r.address.as_deref(), Some("::"));
        assert_eq!(r.port, Some(3000));
        assert_eq!(
            (r.format.as_str(), r.pattern.as_str()),
            ("node", "node_listen")
        );
        assert_eq!(r.runtime, "Node.js");
        assert!(r.line > 1, "the error is not Node's first line: {r:#?}");
        assert_eq!(doc.diagnosis.status, "present");
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
        let socket = &doc.diagnosis.holders[0];
        assert_eq!(
            (socket.local_address.as_str(), socket.local_port),
            ("0.0.0.0", 3000)
        );
        assert_eq!(
            doc.try_field("/prediction/rule").and_then(|v| v.as_str()),
            Some("dual_stack_wildcard_overlaps_ipv4")
        );
        assert_eq!(
            doc.try_field("/options/v6only")
                .and_then(serde_json::Value::as_bool),
            Some(false),
            "libuv clears IPV6_V6ONLY"
        );
        assert_eq!(
            doc.try_field("/trial/error").and_then(|v| v.as_str()),
            Some("EADDRINUSE")
        );
        let kill = doc.fix("stop_process");
        assert_eq!(kill.pid, Some(holder.pid()));
        assert_eq!(kill.command.as_deref(), Some("portcheck stop 3000"));
        assert!(
            kill.description.contains(&format!("kill {}", holder.pid())),
            "{kill:#?}"
        );
        assert!(
            doc.fix("set_v6only")
                .setting
                .as_deref()
                .is_some_and(|s| s.contains("ipv6Only: true")),
            "{:#?}",
            doc.fixes
        );
        let other = doc.fix("other_port");
        assert_eq!(other.port, Some(3001));
        for fix in &doc.fixes {
            assert!(!fix.description.is_empty(), "{fix:#?}");
            assert_eq!(fix.unit.is_some(), fix.kind == "stop_unit", "{fix:#?}");
        }
        assert!(doc.complete, "{:#?}", doc.warnings);

        let human = why_stdin(&[], stderr.as_bytes());
        assert_eq!(human.code, 0, "{human:#?}");
        for block in ["what happened\n", "\nwhy\n", "\nwhat to do\n"] {
            assert!(human.stdout.contains(block), "{}", human.stdout);
        }
        assert!(
            human.stdout.contains("':::3000' is [::]:3000"),
            "{}",
            human.stdout
        );
        assert!(
            human.stdout.contains("$ portcheck stop 3000"),
            "{}",
            human.stdout
        );
    });
}

/// A bare Python socket: no address and no port in the message; `--port`
/// fills the gap, 0.0.0.0 is assumed and said, and no SO_REUSEADDR.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_python_bare_bind_needs_the_port_and_assumes_ipv4() {
    in_netns("why_python_bare_bind", || {
        if !have("python3", "why_python_bare_bind") {
            return;
        }
        let holder = held_by_child("127.0.0.1:8000", Opts::new());
        let stderr = runtime_stderr(
            "python3",
            &[
                "-c",
                "import socket; s = socket.socket(); s.bind(('', 8000))",
            ],
            None,
        );
        assert!(
            stderr.contains("[Errno 98] Address already in use"),
            "{stderr}"
        );

        let run = why_stdin(&["--json"], stderr.as_bytes());
        assert_eq!(run.code, 2, "{run:#?}");
        let error = parse_error(&run);
        assert_eq!(error.command, "why");
        assert_eq!(error.error.code, "missing_port");
        assert!(error.error.message.contains("--port"), "{error:#?}");

        let run = why_stdin(&["--json", "--port", "8000"], stderr.as_bytes());
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        let r = &doc.recognised;
        assert_eq!(r.error, "EADDRINUSE");
        assert_eq!(
            (r.format.as_str(), r.pattern.as_str()),
            ("python", "python_errno")
        );
        assert_eq!(r.address, None, "the message names no address");
        assert_eq!(r.port, Some(8000));
        assert_eq!(r.port_from.as_deref(), Some("flag"));
        assert_eq!(r.address_from, None);
        let assumed = r
            .assumed
            .iter()
            .find(|a| a.field == "address")
            .expect("the address is assumed");
        assert_eq!(assumed.value, "0.0.0.0");
        assert!(assumed.why.contains("''"), "{assumed:#?}");
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
        assert_eq!(
            doc.try_field("/options/reuseaddr")
                .and_then(serde_json::Value::as_bool),
            Some(false),
            "a bare Python socket does not set SO_REUSEADDR"
        );
        assert_eq!(doc.fix("stop_process").pid, Some(holder.pid()));
    });
}

/// asyncio's message names the address; Python's http.server traceback
/// says which runtime bound (and so that it set SO_REUSEADDR).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_reads_python_asyncio_and_http_server_messages() {
    in_netns("why_python_asyncio", || {
        if !have("python3", "why_python_asyncio") {
            return;
        }
        let holder = held_by_child("0.0.0.0:8001", Opts::new().reuseaddr(true));
        let stderr = runtime_stderr(
            "python3",
            &[
                "-c",
                "import asyncio\nasync def main():\n    await asyncio.start_server(lambda r, w: None, '0.0.0.0', 8001)\nasyncio.run(main())",
            ],
            None,
        );
        let doc = parse_why(&why_stdin(&["--json"], stderr.as_bytes()));
        assert_eq!(doc.recognised.pattern, "python_asyncio");
        assert_eq!(doc.recognised.address.as_deref(), Some("0.0.0.0"));
        assert_eq!(doc.recognised.port, Some(8001));
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);

        let stderr = runtime_stderr("python3", &["-m", "http.server", "8001"], None);
        let run = why_stdin(&["--json", "--port", "8001"], stderr.as_bytes());
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.runtime, "Python (http.server)", "{doc:#?}");
        assert_eq!(
            doc.try_field("/options/reuseaddr")
                .and_then(serde_json::Value::as_bool),
            Some(true)
        );
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
    });
}

/// Node's dgram: UDP, and no SO_REUSEADDR unless asked.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_node_dgram_is_udp() {
    in_netns("why_node_dgram", || {
        if !have("node", "why_node_dgram") {
            return;
        }
        let socket = udp("0.0.0.0:41234", Opts::new());
        let holder = fork_sharing(&socket);
        without_new_processes(|| drop(socket));
        let stderr = runtime_stderr(
            "node",
            &["-e", "require('dgram').createSocket('udp4').bind(41234)"],
            None,
        );
        let run = why_stdin(&["--json"], stderr.as_bytes());
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.pattern, "node_dgram");
        assert_eq!(doc.recognised.protocol, "udp");
        assert_eq!(doc.recognised.operation, "bind");
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
    });
}

/// EACCES: the program's privileges count, not portcheck's (which runs as
/// root here).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_node_eacces_explains_privileged_ports() {
    in_netns("why_node_eacces", || {
        if !have("node", "why_node_eacces") {
            return;
        }
        let stderr = runtime_stderr(
            "node",
            &["-e", "require('net').createServer().listen(80)"],
            Some(NOBODY),
        );
        assert!(stderr.contains("EACCES"), "{stderr}");
        let run = why_stdin(&["--json"], stderr.as_bytes());
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.error, "EACCES");
        assert_eq!(doc.recognised.port, Some(80));
        assert_eq!(doc.diagnosis.status, "present");
        assert!(
            doc.diagnosis.summary.contains("ip_unprivileged_port_start"),
            "{doc:#?}"
        );
        assert_eq!(
            doc.try_field("/prediction/rule").and_then(|v| v.as_str()),
            Some("privileged_port")
        );
        assert!(
            doc.fix("grant_capability")
                .command
                .as_deref()
                .is_some_and(|c| c.contains("cap_net_bind_service")),
            "{:#?}",
            doc.fixes
        );
        assert!(doc.fix("unprivileged_port").port.is_some_and(|p| p >= 1024));
    });
}

/// EADDRNOTAVAIL: the address is not this host's; its addresses are listed.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_node_eaddrnotavail_lists_the_hosts_addresses() {
    in_netns("why_node_eaddrnotavail", || {
        if !have("node", "why_node_eaddrnotavail") {
            return;
        }
        let stderr = runtime_stderr(
            "node",
            &[
                "-e",
                "require('net').createServer().listen(3000, '10.9.9.9')",
            ],
            None,
        );
        let run = why_stdin(&["--json"], stderr.as_bytes());
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.error, "EADDRNOTAVAIL");
        assert_eq!(doc.recognised.address.as_deref(), Some("10.9.9.9"));
        assert!(
            doc.diagnosis
                .local_addresses
                .contains(&"127.0.0.1".to_owned()),
            "{doc:#?}"
        );
        assert!(
            !doc.diagnosis
                .local_addresses
                .contains(&"10.9.9.9".to_owned())
        );
        doc.fix("bind_local_address");
    });
}

/// Exit 1: the message is recognised, but the holder has exited since.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_exits_1_when_the_holder_has_gone() {
    in_netns("why_holder_gone", || {
        if !have("node", "why_holder_gone") {
            return;
        }
        let holder = held_by_child("0.0.0.0:3000", Opts::new().reuseaddr(true));
        let stderr = runtime_stderr("node", &["-e", NODE_LISTEN_3000], None);
        assert_eq!(why_stdin(&["--json"], stderr.as_bytes()).code, 0);
        drop(holder);
        let run = why_stdin(&["--json"], stderr.as_bytes());
        assert_eq!(run.code, 1, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.diagnosis.status, "gone");
        assert!(doc.diagnosis.holders.is_empty());
        assert!(doc.diagnosis.own_sockets.is_empty());
        // Never only "start it again": the cause may have been the
        // program's own earlier socket, and `try` checks that plan.
        let kinds: Vec<&str> = doc.fixes.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(kinds, ["check_own_sockets", "retry"], "{:#?}", doc.fixes);
        assert_eq!(
            doc.fixes[0].command.as_deref(),
            Some("portcheck try 0.0.0.0:3000 '[::]:3000'")
        );
        assert!(
            doc.diagnosis.summary.contains("or was the program itself"),
            "{}",
            doc.diagnosis.summary
        );
    });
}

// ---------------------------------------------------------------------------
// Connect failures

/// Seed 001: Node connects to ::1 while the server listens on 127.0.0.1
/// only. `why` says where the service really is, and both ways out.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_node_refused_on_ipv6_loopback_names_the_ipv4_only_server() {
    in_netns("why_node_refused_v6", || {
        if !have("node", "why_node_refused_v6") {
            return;
        }
        let server = held_by_child("127.0.0.1:3000", Opts::new().reuseaddr(true));
        let stderr = runtime_stderr("node", &["-e", "require('net').connect(3000, '::1')"], None);
        assert!(stderr.contains("ECONNREFUSED ::1:3000"), "{stderr}");
        let run = why_stdin(&["--json"], stderr.as_bytes());
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        let r = &doc.recognised;
        assert_eq!(doc.input, "Error: connect ECONNREFUSED ::1:3000");
        assert_eq!(
            (r.error.as_str(), r.operation.as_str()),
            ("ECONNREFUSED", "connect")
        );
        assert_eq!(r.address.as_deref(), Some("::1"));
        assert_eq!(r.port, Some(3000));
        assert_eq!(r.pattern, "node_connect");
        assert_eq!(doc.diagnosis.status, "present");
        assert_eq!(doc.holder_pids(), vec![server.pid()]);
        assert_eq!(doc.diagnosis.holders[0].local_address, "127.0.0.1");
        let resolve = doc.diagnosis.resolve.as_ref().expect("a resolve");
        assert_eq!(
            resolve
                .pointer("/destinations/0/outcome")
                .and_then(|v| v.as_str()),
            Some("refused")
        );
        assert!(doc.diagnosis.try_candidate.is_none());
        assert_eq!(
            doc.fix("connect_to_listener").setting.as_deref(),
            Some("--host 127.0.0.1")
        );
        let listen = doc.fix("listen_on_family");
        assert_eq!(listen.pid, Some(server.pid()));
        assert_eq!(listen.setting.as_deref(), Some("--host ::"));

        let human = why_stdin(&[], stderr.as_bytes());
        assert!(human.stdout.contains("takes IPv4 only"), "{}", human.stdout);
    });
}

/// Exit 1 for a connect failure whose service accepts now.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_exits_1_when_the_service_accepts_now() {
    in_netns("why_service_up", || {
        let _server = listener("127.0.0.1:4100", Opts::new());
        let run = why_stdin(
            &[
                "--json",
                "dial tcp 127.0.0.1:4100: connect: connection refused",
            ],
            b"",
        );
        assert_eq!(run.code, 1, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.format, "go");
        assert_eq!(doc.diagnosis.status, "gone");
    });
}

/// A message given as arguments (several words) is the same as piped.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn why_takes_the_message_as_arguments() {
    in_netns("why_arguments", || {
        let _held = listener("0.0.0.0:8080", Opts::new().reuseaddr(true));
        let run = why_stdin(
            &[
                "--json", "listen", "tcp", ":8080:", "bind:", "address", "already", "in", "use",
            ],
            b"",
        );
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.pattern, "go_listen");
        assert_eq!(doc.recognised.address.as_deref(), Some("::"));
        assert_eq!(doc.holder_pids(), vec![std::process::id()]);
    });
}

// ---------------------------------------------------------------------------
// Bad input: exit 2, cleanly, in bounded time

fn assert_error(run: &Run, code: &str) -> String {
    assert_eq!(run.code, 2, "{run:#?}");
    let error = parse_error(run);
    assert_eq!(error.command, "why", "{run:#?}");
    assert_eq!(error.error.code, code, "{run:#?}");
    error.error.message
}

#[test]
fn why_rejects_empty_input() {
    let message = assert_error(&why_stdin(&["--json"], b""), "not_recognised");
    assert!(message.contains("empty"), "{message}");
    let human = why_stdin(&[], b"\n\n");
    assert_eq!(human.code, 2);
    assert!(human.stdout.is_empty());
    assert!(human.stderr.contains("--port"), "{}", human.stderr);
}

#[test]
fn why_rejects_binary_garbage() {
    // A fixed pseudo-random stream (xorshift), NUL bytes included.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..1_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let message = assert_error(&why_stdin(&["--json"], &garbage), "not_recognised");
    assert!(message.contains("binary"), "{message}");
}

#[test]
fn why_gives_up_on_a_huge_log_without_a_match_in_bounded_time() {
    let mut log = Vec::with_capacity(10 * 1024 * 1024 + 200);
    let mut i = 0u64;
    while log.len() < 10 * 1024 * 1024 {
        let _ = writeln!(
            log,
            "2024-01-01T12:00:{:02}Z INFO GET /api/items/{i} 200 in {} ms (worker {})",
            i % 60,
            i % 97,
            i % 8
        );
        i += 1;
    }
    let started = Instant::now();
    let message = assert_error(&why_stdin(&["--json"], &log), "not_recognised");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "took {took:?} for 10 MB (debug build)"
    );
    assert!(message.contains("lines"), "{message}");

    // Past the 16 MiB cap it stops reading and says so.
    let mut bigger = log.clone();
    bigger.extend_from_slice(&log);
    let message = assert_error(&why_stdin(&["--json"], &bigger), "not_recognised");
    assert!(message.contains("16 MiB"), "{message}");
}

#[test]
fn why_rejects_a_port_out_of_range_and_a_missing_port() {
    let message = assert_error(
        &why_stdin(
            &[
                "--json",
                "Error: listen EADDRINUSE: address already in use :::70000",
            ],
            b"",
        ),
        "bad_message",
    );
    assert!(message.contains("70000"), "{message}");
    let message = assert_error(
        &why_stdin(
            &["--json", "java.net.BindException: Address already in use"],
            b"",
        ),
        "missing_port",
    );
    assert!(message.contains("--port"), "{message}");
    assert_error(
        &why_stdin(
            &["--json", "--port", "70000", "Address already in use"],
            b"",
        ),
        "bad_argument",
    );
    assert_error(
        &why_stdin(&["--json", "the weather is fine"], b""),
        "not_recognised",
    );
}
