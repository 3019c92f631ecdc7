//! `portcheck stop` (issue #18) on real processes in private network
//! namespaces. Every process a test signals, or lets portcheck signal, is
//! one it started: each runs in a process group of its own, which the
//! test kills on the way out (SIGKILL to the group, before its leader is
//! reaped, so the group id cannot belong to anyone else).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::field;
use crate::harness::{
    NOBODY, Run, SocketDoc, WarningDoc, in_netns, parse_who, portcheck, portcheck_as,
    portcheck_with_source, present, who_json, without_new_processes,
};

/// A holder in Python: binds `PROTO` 127.0.0.1:PORT (and listens, for
/// TCP), says `ready PID`, and on SIGTERM, SIGINT or SIGHUP says `signal N`
/// and exits, unless told to ignore SIGTERM. With a third argument it
/// connects to that port instead and stays connected (a client).
const HOLDER: &str = r#"
import os, signal, socket, sys, time
proto, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def caught(number, frame):
    print("signal %d %d" % (number, os.getpid()), flush=True)
    if not (mode == "ignore-term" and number == signal.SIGTERM):
        os._exit(0)
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, caught)
kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
if mode == "client":
    s.connect(("127.0.0.1", port))
else:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    if kind == socket.SOCK_STREAM:
        s.listen(8)
print("ready %d" % os.getpid(), flush=True)
while True:
    if mode == "server" and kind == socket.SOCK_STREAM:
        s.settimeout(0.2)
        try:
            conn, _ = s.accept()
            held = globals().setdefault("held", [])
            held.append(conn)
        except OSError:
            pass
    else:
        time.sleep(0.2)
"#;

/// A process tree the test started, in a process group of its own; the
/// lines it prints are collected.
struct Tree {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Tree {
    fn start(program: &str, args: &[&str]) -> Tree {
        let mut command = Command::new(program);
        command
            .args(args)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = without_new_processes(|| command.spawn())
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let collected = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                collected.lock().expect("lines").push(line);
            }
        });
        Tree { child, lines }
    }

    fn holder(proto: &str, port: u16, mode: &str) -> Tree {
        let port = port.to_string();
        Tree::start("python3", &["-c", HOLDER, proto, &port, mode])
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// The pid in the `count`th `ready PID` line, waiting for it (10 s).
    fn ready(&self, count: usize) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ready: Vec<u32> = self
                .lines()
                .iter()
                .filter_map(|l| l.strip_prefix("ready ")?.parse().ok())
                .collect();
            if let Some(pid) = ready.get(count - 1) {
                return *pid;
            }
            assert!(
                Instant::now() < deadline,
                "no ready line {count}: {:?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signals(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with("signal "))
            .collect()
    }

    /// Whether the group's leader is still running.
    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits (5 s) for the leader to exit.
    fn exited(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !self.running() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        if let Ok(group) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on the process group this test made; its
            // leader is not reaped yet, so the group id is still ours.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// Whether pid `pid` exists (only asked of pids the test started).
fn pid_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

// ---------------------------------------------------------------------------
// The JSON document, mirrored: deny_unknown_fields locks the schema (so
// every field is here, read by a test or not).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct StopDoc {
    pub schema_version: u32,
    pub command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21).
    #[serde(deserialize_with = "crate::harness::present")]
    pub hostname: Option<String>,
    #[serde(deserialize_with = "crate::harness::present")]
    pub kernel: Option<String>,
    pub complete: bool,
    pub warnings: Vec<WarningDoc>,
    pub query: StopQueryDoc,
    pub outcome: String,
    pub plan: Vec<StepDoc>,
    pub refused: Vec<RefusedDoc>,
    pub actions: Vec<ActionDoc>,
    pub respawns: Vec<RespawnDoc>,
    pub freed: bool,
    pub remaining: Vec<SocketDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct StopQueryDoc {
    pub targets: Vec<String>,
    pub protocols: Vec<String>,
    pub families: Vec<String>,
    pub signal: String,
    pub grace_ms: u64,
    pub escalate: bool,
    pub parent: bool,
    pub respawn_window_ms: u64,
    pub dry_run: bool,
    pub yes: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct StepDoc {
    pub pid: u32,
    #[serde(deserialize_with = "present")]
    pub name: Option<String>,
    pub cmdline: Vec<String>,
    pub method: String,
    #[serde(deserialize_with = "present")]
    pub signal: Option<String>,
    #[serde(deserialize_with = "present")]
    pub command: Option<Vec<String>>,
    #[serde(deserialize_with = "present")]
    pub unit: Option<String>,
    #[serde(deserialize_with = "present")]
    pub container: Option<String>,
    pub sockets: Vec<String>,
    pub covers: Vec<u32>,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RefusedDoc {
    #[serde(deserialize_with = "present")]
    pub pid: Option<u32>,
    #[serde(deserialize_with = "present")]
    pub name: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ActionDoc {
    pub pid: u32,
    #[serde(deserialize_with = "present")]
    pub name: Option<String>,
    pub method: String,
    #[serde(deserialize_with = "present")]
    pub signal: Option<String>,
    #[serde(deserialize_with = "present")]
    pub command: Option<Vec<String>>,
    pub stage: String,
    pub ok: bool,
    #[serde(deserialize_with = "present")]
    pub error: Option<String>,
    pub waited_ms: u64,
    pub freed: bool,
    #[serde(deserialize_with = "present")]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RespawnDoc {
    pub pid: u32,
    #[serde(deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(deserialize_with = "present")]
    pub parent_pid: Option<u32>,
    #[serde(deserialize_with = "present")]
    pub parent_name: Option<String>,
    pub parent_cmdline: Vec<String>,
    pub same_parent: bool,
}

fn parse(run: &Run) -> StopDoc {
    let doc: StopDoc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one `stop` document ({e}): {run:#?}"));
    assert_eq!(doc.schema_version, 1, "{run:#?}");
    assert_eq!(doc.command, "stop", "{run:#?}");
    doc
}

fn stop(args: &[&str]) -> (Run, StopDoc) {
    let mut full = vec!["stop"];
    full.extend_from_slice(args);
    full.push("--json");
    let run = portcheck(&full);
    let doc = parse(&run);
    (run, doc)
}

/// The pids `who` names as holders of `port`. Not shadowed: the tests
/// ask it while processes start and stop, and a second run a moment later
/// would see another world.
fn holders(port: u16) -> Vec<u32> {
    let run = portcheck_with_source("netlink", &["who", &port.to_string(), "--json"]);
    let doc = parse_who(&run);
    let mut pids: Vec<u32> = doc
        .sockets
        .iter()
        .flat_map(|s| s.processes.iter().map(|p| p.pid))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

// ---------------------------------------------------------------------------

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_stops_the_listener_and_never_its_client() {
    in_netns("stop_stops_the_listener_and_never_its_client", || {
        let mut server = Tree::holder("tcp", 8100, "server");
        let server_pid = server.ready(1);
        let mut client = Tree::holder("tcp", 8100, "client");
        let client_pid = client.ready(1);
        // The connection is up on both sides before portcheck looks.
        let (_, all) = who_json(&["8100", "--all"]);
        assert!(
            all.sockets.iter().any(|s| s.state == "ESTABLISHED"),
            "{all:#?}"
        );

        let (run, doc) = stop(&["8100", "-y", "--respawn-window", "0"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.outcome, "acted");
        assert!(doc.freed && doc.remaining.is_empty(), "{doc:#?}");
        let pids: Vec<u32> = doc.plan.iter().map(|s| s.pid).collect();
        assert_eq!(pids, vec![server_pid], "only the listener: {doc:#?}");
        let [action] = doc.actions.as_slice() else {
            panic!("one action: {doc:#?}")
        };
        assert_eq!(
            (action.pid, action.method.as_str(), action.signal.as_deref()),
            (server_pid, "signal", Some("SIGTERM"))
        );
        assert!(action.ok && action.freed, "{action:#?}");
        assert!(server.exited(), "the listener exited");
        assert_eq!(server.signals(), vec![format!("signal 15 {server_pid}")]);
        assert!(client.running(), "the client runs on");
        assert!(client.signals().is_empty(), "{:?}", client.signals());
        assert!(pid_exists(client_pid));
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_escalates_to_sigkill_after_the_grace_unless_told_not_to() {
    in_netns("stop_escalates_to_sigkill_after_the_grace", || {
        let mut stubborn = Tree::holder("tcp", 8101, "ignore-term");
        let pid = stubborn.ready(1);

        // --no-escalate: SIGTERM is ignored, and nothing more is sent.
        let started = Instant::now();
        let (run, doc) = stop(&["8101", "-y", "--grace", "400ms", "--no-escalate"]);
        assert_eq!(run.code, 1, "still held: {run:#?}");
        assert!(started.elapsed() >= Duration::from_millis(400));
        assert!(!doc.freed, "{doc:#?}");
        let stages: Vec<(&str, Option<&str>)> = doc
            .actions
            .iter()
            .map(|a| (a.stage.as_str(), a.signal.as_deref()))
            .collect();
        assert_eq!(stages, vec![("stop", Some("SIGTERM"))], "{doc:#?}");
        assert!(!doc.actions[0].freed && doc.actions[0].waited_ms >= 400);
        assert_eq!(doc.remaining.len(), 1, "{doc:#?}");
        assert!(stubborn.running(), "not killed without escalation");
        assert_eq!(stubborn.signals(), vec![format!("signal 15 {pid}")]);

        // Escalation: SIGKILL after the grace, and the port is free.
        let (run, doc) = stop(&["8101", "-y", "--grace", "300ms", "--respawn-window", "0"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let stages: Vec<(&str, Option<&str>, bool)> = doc
            .actions
            .iter()
            .map(|a| (a.stage.as_str(), a.signal.as_deref(), a.freed))
            .collect();
        assert_eq!(
            stages,
            vec![
                ("stop", Some("SIGTERM"), false),
                ("escalate", Some("SIGKILL"), true)
            ],
            "{doc:#?}"
        );
        assert!(doc.freed);
        assert!(stubborn.exited());
        assert!(holders(8101).is_empty());
        // The human view says each step and how long it took.
        let _ = &run;
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_frees_a_udp_port() {
    in_netns("stop_frees_a_udp_port", || {
        let mut holder = Tree::holder("udp", 5353, "server");
        let pid = holder.ready(1);
        let run = portcheck(&["stop", "udp:5353", "-y", "--respawn-window", "0"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stdout.contains("udp 127.0.0.1:5353 UNCONN"), "{run:#?}");
        assert!(
            run.stdout
                .contains(&format!("SIGTERM -> python3 (pid {pid}): port free after")),
            "{run:#?}"
        );
        assert!(run.stdout.contains("udp:5353 is free."), "{run:#?}");
        assert!(holder.exited());
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_without_a_terminal_or_yes_prints_the_plan_and_signals_nothing() {
    in_netns("stop_without_a_terminal_or_yes", || {
        let mut holder = Tree::holder("tcp", 8102, "server");
        let pid = holder.ready(1);
        let (run, doc) = stop(&["8102"]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert_eq!(doc.outcome, "not_confirmed");
        assert_eq!(doc.plan.len(), 1);
        assert_eq!(doc.plan[0].pid, pid);
        assert!(doc.actions.is_empty());
        let codes: Vec<&str> = doc.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, vec!["not_confirmed"], "{doc:#?}");
        let human = portcheck(&["stop", "8102"]);
        assert_eq!(human.code, 2);
        assert!(
            human.stdout.contains(&format!("SIGTERM pid {pid}")),
            "{human:#?}"
        );
        assert!(human.stderr.contains("pass --yes"), "{human:#?}");
        std::thread::sleep(Duration::from_millis(200));
        assert!(holder.running() && holder.signals().is_empty());
        assert_eq!(holders(8102), vec![pid]);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_dry_run_changes_nothing() {
    in_netns("stop_dry_run_changes_nothing", || {
        let mut holder = Tree::holder("tcp", 8103, "server");
        let pid = holder.ready(1);
        let (before, _) = who_json(&["8103"]);
        let (run, doc) = stop(&["8103", "--dry-run", "-y"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.outcome, "dry_run");
        assert!(doc.query.dry_run);
        assert_eq!(doc.plan.len(), 1);
        assert_eq!(doc.plan[0].method, "signal");
        assert_eq!(doc.plan[0].signal.as_deref(), Some("SIGTERM"));
        assert!(doc.actions.is_empty());
        std::thread::sleep(Duration::from_millis(200));
        let (after, _) = who_json(&["8103"]);
        assert_eq!(before.stdout, after.stdout, "who sees the same");
        assert!(holder.running() && holder.signals().is_empty());
        assert_eq!(holders(8103), vec![pid]);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_as_another_user_is_refused_and_signals_nothing() {
    in_netns("stop_as_another_user_is_refused", || {
        let mut holder = Tree::holder("tcp", 8104, "server");
        let pid = holder.ready(1);
        let run = portcheck_as(NOBODY, &["stop", "8104", "-y", "--json"]);
        assert_eq!(run.code, 2, "{run:#?}");
        let doc = parse(&run);
        assert_eq!(doc.outcome, "refused");
        let codes: Vec<&str> = doc.refused.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, vec!["not_permitted"], "{doc:#?}");
        assert!(doc.refused[0].message.contains("uid 0"), "{doc:#?}");
        assert!(doc.actions.is_empty());
        std::thread::sleep(Duration::from_millis(200));
        assert!(holder.running() && holder.signals().is_empty());
        assert_eq!(holders(8104), vec![pid]);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_refuses_time_wait_and_says_when_it_ends() {
    in_netns("stop_refuses_time_wait", || {
        // The server side closes first, so the TIME_WAIT is on 8105.
        crate::namespaces::time_wait_on(8105);
        let (run, doc) = stop(&["8105", "-y"]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert_eq!(doc.outcome, "refused", "{doc:#?}");
        let [refused] = doc.refused.as_slice() else {
            panic!("one refusal: {doc:#?}")
        };
        assert_eq!(refused.code, "kernel_owned");
        assert!(
            refused.message.contains("60 s") && refused.message.contains("SO_REUSEADDR"),
            "{refused:#?}"
        );
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_signals_the_nginx_master_not_each_worker() {
    let Some(nginx) = field::program("nginx", "stop_signals_the_nginx_master") else {
        return;
    };
    in_netns("stop_signals_the_nginx_master", || {
        let dir = temp_dir("nginx");
        let conf = dir.join("nginx.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "daemon off;\nmaster_process on;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 16; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
                 server {{ listen 127.0.0.1:8106; return 200 \"ok\\n\"; }}\n}}\n"
            ),
        )
        .expect("write nginx.conf");
        let nginx = nginx.to_string_lossy().into_owned();
        let conf_text = conf.to_string_lossy().into_owned();
        let prefix = format!("{d}/");
        let error_log = format!("{d}/error.log");
        let mut master = Tree::start(&nginx, &["-p", &prefix, "-c", &conf_text, "-e", &error_log]);
        // The master and its two workers all hold the listener.
        let deadline = Instant::now() + Duration::from_secs(10);
        let pids = loop {
            let pids = holders(8106);
            if pids.len() == 3 || Instant::now() > deadline {
                break pids;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let master_pid = master.child.id();
        assert_eq!(pids.len(), 3, "master and two workers: {pids:?}");
        assert!(pids.contains(&master_pid));

        let (run, doc) = stop(&["8106", "-y", "--respawn-window", "0"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let [step] = doc.plan.as_slice() else {
            panic!("one step: {doc:#?}")
        };
        assert_eq!(step.pid, master_pid);
        let workers: Vec<u32> = pids.iter().copied().filter(|&p| p != master_pid).collect();
        assert_eq!(step.covers, workers, "{doc:#?}");
        let signalled: Vec<u32> = doc.actions.iter().map(|a| a.pid).collect();
        assert_eq!(signalled, vec![master_pid], "one signal, to the master");
        assert!(doc.freed);
        assert!(master.exited());
        assert!(holders(8106).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    });
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "portcheck-stop-{}-{name}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// A shell loop that starts the holder again each time it exits.
fn shell_loop(port: u16) -> Tree {
    let script = format!("while :; do python3 -c \"$0\" tcp {port} server; done");
    Tree::start("sh", &["-c", &script, HOLDER])
}

/// A node parent that starts the holder again each time it exits.
fn node_parent(port: u16) -> Tree {
    let script = format!(
        "const {{spawn}} = require('child_process');\n\
         const holder = process.argv[1];\n\
         function start() {{\n\
           const child = spawn('python3', ['-c', holder, 'tcp', '{port}', 'server'], {{stdio: ['ignore', 'inherit', 'inherit']}});\n\
           child.on('exit', start);\n\
         }}\n\
         start();\n"
    );
    Tree::start("node", &["-e", &script, HOLDER])
}

fn respawning_parent_is_named_and_stopped_with_parent(
    test: &str,
    mut tree: Tree,
    port: u16,
    parent_name: &str,
) {
    let parent = tree.child.id();
    let first = tree.ready(1);
    let port_text = port.to_string();
    let (run, doc) = stop(&[&port_text, "-y", "--respawn-window", "3s"]);
    assert_eq!(run.code, 1, "{test}: taken again: {run:#?}");
    assert!(!doc.freed);
    let second = tree.ready(2);
    let [respawn] = doc.respawns.as_slice() else {
        panic!("{test}: one respawn: {doc:#?}")
    };
    assert_eq!(respawn.pid, second);
    assert_eq!(respawn.parent_pid, Some(parent));
    assert_eq!(respawn.parent_name.as_deref(), Some(parent_name));
    assert!(respawn.same_parent);
    let note = doc.warnings.iter().find(|w| w.code == "respawned");
    assert!(
        note.is_some_and(
            |w| w.message.contains(&format!("pid {parent}")) && w.message.contains("--parent")
        ),
        "{test}: {doc:#?}"
    );
    assert!(!pid_exists(first) || first == second);
    assert!(
        tree.running(),
        "{test}: the parent is not stopped by default"
    );

    let (run, doc) = stop(&[&port_text, "-y", "--parent", "--respawn-window", "1s"]);
    assert_eq!(run.code, 0, "{test}: {run:#?}");
    let stages: Vec<(&str, u32)> = doc
        .actions
        .iter()
        .map(|a| (a.stage.as_str(), a.pid))
        .collect();
    assert!(stages.contains(&("parent", parent)), "{test}: {doc:#?}");
    assert!(doc.freed, "{test}: {doc:#?}");
    assert!(tree.exited(), "{test}: the parent was stopped");
    assert!(holders(port).is_empty());
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_names_a_shell_loop_that_restarts_the_holder_and_stops_it_with_parent() {
    in_netns("stop_names_a_shell_loop", || {
        let tree = shell_loop(8107);
        respawning_parent_is_named_and_stopped_with_parent("shell loop", tree, 8107, "sh");
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_names_a_node_parent_that_restarts_the_holder_and_stops_it_with_parent() {
    if field::program("node", "stop_names_a_node_parent").is_none() {
        return;
    }
    in_netns("stop_names_a_node_parent", || {
        let tree = node_parent(8108);
        respawning_parent_is_named_and_stopped_with_parent("node parent", tree, 8108, "node");
    });
}

/// Runs in a PID namespace of its own (its own /proc) whose `pid_max` is
/// small, so that pids come round again within a few hundred forks. A
/// holder listens on PORT; `portcheck stop PORT -y` is started with the
/// test-only pause at STAGE; while it waits there the holder is killed
/// and reaped, and children are forked until one gets the holder's pid
/// (the newcomer, which writes down every signal it gets); then portcheck
/// goes on. Prints one JSON line: portcheck's run and what the newcomer
/// saw.
const PID_REUSE: &str = r#"
import json, os, signal, socket, subprocess, sys, tempfile, time

binary, stage, port, pid_max = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open("/proc/sys/kernel/pid_max", "w") as f:  # this PID namespace's own
    f.write(pid_max)

def churn_until(done):
    for _ in range(100000):
        child = os.fork()
        if child == 0:
            os._exit(0)
        os.waitpid(child, 0)
        if done(child):
            return True
    return False

# Past the first lap: from here pids come round between 300 and pid_max.
churn_until(lambda pid: pid >= int(pid_max) - 5)
ready_r, ready_w = os.pipe()
holder = os.fork()
if holder == 0:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    os.write(ready_w, b"r")
    while True:
        time.sleep(1)
os.read(ready_r, 1)

pause = tempfile.mkdtemp()
env = dict(os.environ, PORTCHECK_TEST_ONLY_PAUSE="%s:%s" % (stage, pause))
run = subprocess.Popen([binary, "stop", str(port), "-y", "--json", "--respawn-window", "0"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 20
while not os.path.exists(os.path.join(pause, "paused-" + stage)) and time.monotonic() < deadline:
    time.sleep(0.01)
paused = os.path.exists(os.path.join(pause, "paused-" + stage))

os.kill(holder, signal.SIGKILL)
os.waitpid(holder, 0)
signals_r, signals_w = os.pipe()
newcomer = None
for _ in range(100000):
    child = os.fork()
    if child == 0:
        if os.getpid() != holder:
            os._exit(0)
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(number, lambda n, f: os.write(signals_w, b"%d\n" % n))
        while True:
            time.sleep(1)
    if child == holder:
        newcomer = child
        break
    os.waitpid(child, 0)

open(os.path.join(pause, "resume-" + stage), "w").close()
stdout, stderr = run.communicate(timeout=60)
time.sleep(0.2)
alive = newcomer is not None and os.waitpid(newcomer, os.WNOHANG) == (0, 0)
os.set_blocking(signals_r, False)
try:
    got = os.read(signals_r, 1024).decode()
except BlockingIOError:
    got = ""
if newcomer is not None:
    os.kill(newcomer, signal.SIGKILL)
    os.waitpid(newcomer, 0)
print(json.dumps({"paused": paused, "holder": holder, "newcomer": newcomer, "alive": alive,
                  "signals": got, "code": run.returncode, "stdout": stdout, "stderr": stderr}))
"#;

#[derive(Deserialize)]
struct PidReuse {
    paused: bool,
    holder: u32,
    newcomer: Option<u32>,
    alive: bool,
    signals: String,
    code: i32,
    stdout: String,
    stderr: String,
}

fn pid_reuse(stage: &str, port: u16) {
    let args = [
        "--pid",
        "--fork",
        "--mount-proc",
        "python3",
        "-c",
        PID_REUSE,
        crate::harness::BIN,
        stage,
        &port.to_string(),
        "340",
    ];
    let output = without_new_processes(|| {
        Command::new("unshare")
            .args(args)
            .stdin(Stdio::null())
            .output()
    })
    .expect("run unshare");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "driver failed: {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: PidReuse = serde_json::from_str(stdout.trim()).expect("the driver's line");
    let run = Run {
        code: seen.code,
        stdout: seen.stdout.clone(),
        stderr: seen.stderr.clone(),
    };
    assert!(seen.paused, "portcheck paused at {stage}: {run:#?}");
    assert_eq!(
        seen.newcomer,
        Some(seen.holder),
        "a newcomer took the holder's pid {}",
        seen.holder
    );
    assert!(seen.alive, "the newcomer was not killed: {run:#?}");
    assert_eq!(seen.signals, "", "the newcomer got no signal: {run:#?}");
    let doc = parse(&run);
    assert_eq!(run.code, 0, "the port is free: {run:#?}");
    assert!(doc.freed, "{doc:#?}");
    // What portcheck says about the holder that went away.
    if stage == "signal" {
        let [action] = doc.actions.as_slice() else {
            panic!("one action: {doc:#?}")
        };
        assert_eq!(action.pid, seen.holder);
        assert!(
            action
                .note
                .as_deref()
                .is_some_and(|n| n.contains("already exited")),
            "{doc:#?}"
        );
    } else {
        assert!(doc.actions.is_empty(), "{doc:#?}");
        assert!(
            doc.warnings.iter().any(|w| w.code == "holder_exited"),
            "{doc:#?}"
        );
    }
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_never_signals_a_process_that_took_the_pid_before_the_pidfd_was_opened() {
    in_netns("stop_pid_reused_before_the_pidfd", || {
        pid_reuse("lookup", 8109);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_never_signals_a_process_that_took_the_pid_before_the_signal() {
    in_netns("stop_pid_reused_before_the_signal", || {
        pid_reuse("signal", 8110);
    });
}

/// `portcheck stop ARGS` on a pseudo-terminal (util-linux `script`), with
/// `answer` typed a second after it starts.
fn on_a_terminal(args: &str, answer: &str) -> Run {
    let line = format!(
        "(sleep 1; printf '{answer}\\n') | script -qec '{} stop {args}' /dev/null",
        crate::harness::BIN
    );
    let output = without_new_processes(|| {
        Command::new("sh")
            .args(["-c", &line])
            .stdin(Stdio::null())
            .output()
    })
    .expect("run script");
    Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stop_asks_once_on_a_terminal() {
    if field::program("script", "stop_asks_once_on_a_terminal").is_none() {
        return;
    }
    in_netns("stop_asks_once_on_a_terminal", || {
        let mut holder = Tree::holder("tcp", 8111, "server");
        let pid = holder.ready(1);
        let declined = on_a_terminal("8111 --respawn-window 0", "n");
        assert_eq!(declined.code, 1, "{declined:#?}");
        assert_eq!(declined.stdout.matches("[y/N]").count(), 1, "{declined:#?}");
        assert!(
            declined.stdout.contains("Nothing was stopped."),
            "{declined:#?}"
        );
        // The plan is shown once, before the question.
        assert_eq!(
            declined.stdout.matches("Plan (").count(),
            1,
            "{declined:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
        assert!(holder.running() && holder.signals().is_empty());

        let agreed = on_a_terminal("8111 --respawn-window 0", "y");
        assert_eq!(agreed.code, 0, "{agreed:#?}");
        assert!(agreed.stdout.contains("8111 is free."), "{agreed:#?}");
        assert!(holder.exited());
        assert_eq!(holder.signals(), vec![format!("signal 15 {pid}")]);
    });
}
