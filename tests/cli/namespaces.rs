//! Namespaces (--netns, who --all-netns), free and wait, against real namespaces and sockets.
//!
//! Named namespaces are made with `ip netns add` (deleted again by a guard,
//! even when a test fails); their listeners are held by children of this
//! binary forked on a thread that entered the namespace with setns(2), so
//! `--netns PID` has a real process to name. Everything else runs in the
//! test's private namespace (see the harness).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use socket2::{Domain, Socket, Type};

use crate::harness::{
    BIN, ContainerDoc, Holder, NOBODY, Opts, Run, SocketDoc, WaitDoc, WarningDoc, fork_sharing,
    in_netns, inode_of, is_root, listener, parse_error, parse_who, portcheck, portcheck_as,
    socket_address, thread_netns, udp, who_json, without_new_processes,
};

// ---------------------------------------------------------------------------
// Documents of `free` and `wait`, mirrored field by field (as the harness
// does for `who`): a key added, renamed or dropped fails the tests.

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FreeDoc {
    schema_version: u32,
    command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21).
    #[serde(deserialize_with = "crate::harness::present")]
    hostname: Option<String>,
    #[serde(deserialize_with = "crate::harness::present")]
    kernel: Option<String>,
    complete: bool,
    warnings: Vec<WarningDoc>,
    ports: Vec<u16>,
    protocols: Vec<String>,
    count: usize,
    range: RangeDoc,
    excluded: ExcludedDoc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeDoc {
    low: u16,
    high: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExcludedDoc {
    ephemeral: RangeDoc,
    reserved: Vec<RangeDoc>,
}

fn parse<T: for<'de> Deserialize<'de>>(run: &Run) -> T {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one document of the expected shape ({e}): {run:#?}"))
}

/// `portcheck free ARGS --json`.
fn free_json(args: &[&str]) -> (Run, FreeDoc) {
    let mut full = vec!["free"];
    full.extend_from_slice(args);
    full.push("--json");
    let run = portcheck(&full);
    let doc: FreeDoc = parse(&run);
    assert_eq!(doc.schema_version, 1, "{run:#?}");
    assert_eq!(doc.command, "free", "{run:#?}");
    (run, doc)
}

/// `portcheck wait ARGS --json`.
fn wait_json(args: &[&str]) -> (Run, WaitDoc) {
    let run = portcheck(args);
    let doc: WaitDoc = parse(&run);
    assert_eq!(doc.schema_version, 1, "{run:#?}");
    assert_eq!(doc.command, "wait", "{run:#?}");
    (run, doc)
}

/// A run that failed with the JSON error `code` of `command`, its message
/// naming `needle`.
fn assert_error(run: &Run, command: &str, code: &str, needle: &str) {
    assert_eq!(run.code, 2, "{run:#?}");
    let error = parse_error(run);
    assert_eq!(error.schema_version, 1, "{run:#?}");
    assert_eq!(error.command, command, "{run:#?}");
    assert_eq!(error.error.code, code, "{run:#?}");
    assert!(error.error.message.contains(needle), "{run:#?}");
}

/// A usage error: exit 2, the reason on stderr, and on stdout nothing, or
/// under `--json` an error document (code `usage`) with the same reason.
fn assert_usage_error(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains(needle), "{run:#?}");
    if !run.stdout.is_empty() {
        let error = parse_error(run);
        assert_eq!(error.error.code, "usage", "{run:#?}");
        assert!(error.error.message.contains(needle), "{run:#?}");
    }
}

fn pids(socket: &SocketDoc) -> Vec<u32> {
    socket.processes.iter().map(|p| p.pid).collect()
}

/// What portcheck should say about the container of this test binary (and
/// of its forked children): nothing, since they share portcheck's PID
/// namespace, and a process in portcheck's own PID namespace is not in a
/// container of its own (portcheck does not read its cgroup).
fn our_container() -> Option<ContainerDoc> {
    None
}

// ---------------------------------------------------------------------------
// Named namespaces

/// A namespace made with `ip netns add`, deleted when dropped.
struct NamedNetns {
    name: String,
}

fn ip(args: &[&str]) {
    let output = without_new_processes(|| Command::new("ip").args(args).output())
        .unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    assert!(
        output.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl NamedNetns {
    /// `ip netns add pc-TAG-PID` with its loopback up.
    fn add(tag: &str) -> NamedNetns {
        let name = format!("pc-{tag}-{}", std::process::id());
        if Path::new(&format!("/run/netns/{name}")).exists() {
            // Left over by an earlier run that had this pid.
            ip(&["netns", "del", &name]);
        }
        ip(&["netns", "add", &name]);
        let namespace = NamedNetns { name };
        ip(&["-n", &namespace.name, "link", "set", "lo", "up"]);
        namespace
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// `net:[INODE]`, as portcheck reports it.
    fn id(&self) -> String {
        let meta = std::fs::metadata(self.path()).expect("stat the namespace file");
        format!("net:[{}]", meta.ino())
    }

    /// Runs `work` on a new thread that entered this namespace.
    fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
        let file = File::open(self.path()).expect("open the namespace file");
        thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: setns(2) on a descriptor we own; it moves only
                    // this new thread.
                    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                    work()
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A child process in this namespace that listens on `address`; and the
    /// socket's inode.
    fn hold_listener(&self, address: &str) -> (Holder, u64) {
        self.run(|| {
            let socket = listener(address, Opts::new());
            let inode = inode_of(&socket);
            let holder = fork_sharing(&socket);
            drop(socket);
            (holder, inode)
        })
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let deleted = without_new_processes(|| {
            Command::new("ip")
                .args(["netns", "del", &self.name])
                .output()
        });
        match deleted {
            Ok(output) if output.status.success() => {}
            other => eprintln!("could not delete the namespace {}: {other:?}", self.name),
        }
    }
}

// ---------------------------------------------------------------------------
// Sockets and timing helpers

/// Polls the calling thread's TCP table (at most 5 s) until `port` has a
/// TIME_WAIT entry and nothing else.
fn wait_for_lone_time_wait(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let states: Vec<u8> = crate::harness::tcp_table()
            .into_iter()
            .filter(|(local, _)| *local == port)
            .map(|(_, state)| state)
            .collect();
        if states == [crate::harness::TCP_TIME_WAIT] {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no lone TIME_WAIT on {port} after 5 s: {states:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Leaves a TIME_WAIT entry on 127.0.0.1:`port` (the server closes first)
/// and nothing else there.
pub fn time_wait_on(port: u16) {
    let address = format!("127.0.0.1:{port}");
    let server = listener(&address, Opts::new());
    let client = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    client
        .connect(&socket_address(&address).into())
        .expect("connect");
    let (accepted, _) = server.accept().expect("accept");
    without_new_processes(|| {
        drop(accepted);
        drop(client);
        drop(server);
    });
    wait_for_lone_time_wait(port);
}

/// Writes `net.ipv4.NAME` of the calling thread's network namespace.
fn write_ipv4_sysctl(name: &str, value: &str) {
    assert_ne!(
        std::fs::read_link("/proc/self/ns/net").expect("readlink"),
        std::fs::read_link("/proc/thread-self/ns/net").expect("readlink"),
        "only ever in a private namespace"
    );
    let path = format!("/proc/sys/net/ipv4/{name}");
    std::fs::write(&path, value).unwrap_or_else(|e| panic!("write {value} to {path}: {e}"));
}

fn read_ipv4_sysctl(name: &str) -> String {
    let path = format!("/proc/sys/net/ipv4/{name}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Blocks (at most 30 s: another test's run may hold the harness's lock)
/// until `portcheck ARGS`, started by this process, is running; so a
/// change made after it is seen by its polls, not by its first look.
fn wait_until_running(args: &[&str]) {
    let mut expected: Vec<u8> = Vec::new();
    for word in std::iter::once(BIN).chain(args.iter().copied()) {
        expected.extend_from_slice(word.as_bytes());
        expected.push(0);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = std::fs::read_dir("/proc")
            .expect("read /proc")
            .flatten()
            .any(|entry| std::fs::read(entry.path().join("cmdline")).is_ok_and(|c| c == expected));
        if running {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "portcheck {args:?} did not start within 30 s"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------
// 1. --netns NAME|PATH|PID

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn netns_flag_enters_a_namespace_by_name_path_and_pid() {
    in_netns("netns_flag_enters_a_namespace_by_name_path_and_pid", || {
        let namespace = NamedNetns::add("flag");
        let (holder, inode) = namespace.hold_listener("0.0.0.0:7100");
        let ours = listener("127.0.0.1:7100", Opts::new());

        // Without --netns: the test's own namespace, its own socket only.
        let (run, doc) = who_json(&["7100"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
        assert_eq!(doc.sockets[0].inode, Some(inode_of(&ours)), "{doc:#?}");
        assert_eq!(doc.sockets[0].netns, Some(thread_netns()), "{doc:#?}");
        assert_eq!(doc.sockets[0].netns_name, None, "unnamed: {doc:#?}");

        let pid = holder.pid().to_string();
        let path = namespace.path();
        for spec in [namespace.name.as_str(), path.as_str(), pid.as_str()] {
            for args in [
                ["--netns", spec, "who", "7100", "--json"],
                ["who", "7100", "--json", "--netns", spec],
            ] {
                let run = portcheck(&args);
                assert_eq!(run.code, 0, "{run:#?}");
                let doc = parse_who(&run);
                assert!(!doc.query.all_netns, "{doc:#?}");
                assert_eq!(doc.sockets.len(), 1, "only the namespace's: {doc:#?}");
                let socket = &doc.sockets[0];
                assert_eq!(
                    (socket.protocol.as_str(), socket.local_address.as_str()),
                    ("tcp", "0.0.0.0")
                );
                assert_eq!(socket.state, "LISTEN", "{socket:#?}");
                assert_eq!(socket.inode, Some(inode), "{socket:#?}");
                assert_eq!(socket.netns, Some(namespace.id()), "{socket:#?}");
                assert_eq!(
                    socket.netns_name.as_deref(),
                    Some(namespace.name.as_str()),
                    "{socket:#?}"
                );
                assert_eq!(pids(socket), vec![holder.pid()], "{socket:#?}");
                assert_eq!(socket.processes[0].fd, Some(holder.fd()), "{socket:#?}");
                assert_eq!(socket.forwards_to, None, "{socket:#?}");
            }
        }

        // The human table names the holder.
        let run = portcheck(&["--netns", &namespace.name, "who", "7100"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stdout.contains(&pid), "{run:#?}");

        // The host's namespace (this binary's main thread, by pid) does not
        // have the namespace's socket.
        let host = std::fs::read_link("/proc/self/ns/net")
            .expect("readlink")
            .to_string_lossy()
            .into_owned();
        let this_pid = std::process::id().to_string();
        let run = portcheck(&["--netns", &this_pid, "who", "7100", "--json"]);
        let doc = parse_who(&run);
        assert!(
            doc.sockets
                .iter()
                .all(|s| s.netns.as_ref() == Some(&host) && s.inode != Some(inode)),
            "{doc:#?}"
        );
    });
}

// ---------------------------------------------------------------------------
// 2. --netns errors

#[test]
fn netns_flag_errors_exit_2() {
    let nosuch = format!("pc-nosuch-{}", std::process::id());
    let run = portcheck(&["--netns", &nosuch, "who", "--json"]);
    assert_error(&run, "who", "netns_unavailable", &nosuch);
    // A pid above PID_MAX_LIMIT never exists.
    let run = portcheck(&["--netns", "4194305", "who", "--json"]);
    assert_error(&run, "who", "netns_unavailable", "4194305");
    // A file that is not a namespace.
    let run = portcheck(&["who", "--json", "--netns", "/etc/hostname"]);
    assert_error(&run, "who", "netns_unavailable", "/etc/hostname");
    if is_root() {
        assert!(run.stdout.contains("not a network namespace"), "{run:#?}");
    }
    // Every command enters it first.
    for command in ["free", "wait"] {
        let mut args = vec!["--json", "--netns", &nosuch, command];
        if command == "wait" {
            args.push("7000");
        }
        assert_error(&portcheck(&args), command, "netns_unavailable", &nosuch);
    }
    // Without --json: the message on stderr, nothing on stdout.
    let run = portcheck(&["--netns", &nosuch, "who"]);
    assert_usage_error(&run, &nosuch);

    // --all-netns looks everywhere; with --netns it is a usage error.
    for args in [
        ["--netns", "x", "who", "--all-netns", "--json"],
        ["who", "--all-netns", "--netns", "x", "--json"],
    ] {
        let run = portcheck(&args);
        assert_usage_error(&run, "--all-netns");
        assert!(
            !run.stdout.is_empty(),
            "--json: an error document: {run:#?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 3. who --all-netns

/// A socket of one of the test's namespaces: (netns, netns_name, address,
/// inode, pids).
type Row = (
    Option<String>,
    Option<String>,
    String,
    Option<u64>,
    Vec<u32>,
);

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn all_netns_lists_every_namespace_with_its_own_id_and_name() {
    in_netns(
        "all_netns_lists_every_namespace_with_its_own_id_and_name",
        || {
            let first = NamedNetns::add("alla");
            let second = NamedNetns::add("allb");
            let (first_holder, first_inode) = first.hold_listener("0.0.0.0:7300");
            let (second_holder, second_inode) = second.hold_listener("[::1]:7300");
            let ours = listener("0.0.0.0:7300", Opts::new());
            let own = thread_netns();

            // (netns, netns_name, address, inode, pids), in the contract's
            // order: family, address, then inode.
            let mut expected: Vec<Row> = vec![
                (
                    Some(own.clone()),
                    None,
                    "0.0.0.0".into(),
                    Some(inode_of(&ours)),
                    vec![std::process::id()],
                ),
                (
                    Some(first.id()),
                    Some(first.name.clone()),
                    "0.0.0.0".into(),
                    Some(first_inode),
                    vec![first_holder.pid()],
                ),
                (
                    Some(second.id()),
                    Some(second.name.clone()),
                    "::1".into(),
                    Some(second_inode),
                    vec![second_holder.pid()],
                ),
            ];
            expected.sort_by_key(|row| (row.2.contains(':'), row.2.clone(), row.3));
            let ids = [own.clone(), first.id(), second.id()];

            let mine = |sockets: &[SocketDoc]| -> Vec<Row> {
                sockets
                    .iter()
                    .filter(|s| s.netns.as_ref().is_some_and(|n| ids.contains(n)))
                    .map(|s| {
                        (
                            s.netns.clone(),
                            s.netns_name.clone(),
                            s.local_address.clone(),
                            s.inode,
                            pids(s),
                        )
                    })
                    .collect()
            };

            let (run, doc) = who_json(&["7300", "--all-netns"]);
            assert_eq!(run.code, 0, "{run:#?}");
            assert!(doc.query.all_netns, "{doc:#?}");
            assert_eq!(mine(&doc.sockets), expected, "{doc:#?}");
            for socket in &doc.sockets {
                assert_eq!(socket.local_port, 7300, "{socket:#?}");
                assert!(socket.netns.is_some(), "{socket:#?}");
                if socket.netns.as_ref().is_some_and(|n| ids.contains(n)) {
                    assert_eq!(socket.state, "LISTEN", "{socket:#?}");
                    let containers: Vec<_> = socket
                        .processes
                        .iter()
                        .map(|p| p.container.clone())
                        .collect();
                    assert_eq!(containers, vec![our_container()], "{socket:#?}");
                }
            }
            // Sorted: protocol, then family, whatever else is on the host.
            let keys: Vec<(String, String)> = doc
                .sockets
                .iter()
                .map(|s| (s.protocol.clone(), s.family.clone()))
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "{doc:#?}");
            // And the same again.
            let (_, again) = who_json(&["7300", "--all-netns"]);
            assert_eq!(mine(&again.sockets), expected, "{again:#?}");

            // The human table says which namespace each socket is in.
            let run = portcheck(&["who", "7300", "--all-netns"]);
            assert_eq!(run.code, 0, "{run:#?}");
            assert!(
                run.stdout.contains(&first.name) && run.stdout.contains(&second.name),
                "{run:#?}"
            );

            // Without --all-netns: this namespace alone.
            let (_, doc) = who_json(&["7300"]);
            let own_row: Vec<Row> = expected
                .iter()
                .filter(|row| row.0.as_ref() == Some(&own))
                .cloned()
                .collect();
            assert_eq!(mine(&doc.sockets), own_row, "{doc:#?}");
            assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
        },
    );
}

// ---------------------------------------------------------------------------
// 4. Container hint

/// Without privileges no other namespace can be entered, but the one
/// portcheck runs in needs no entering: its sockets are still listed (before
/// the fix setns(2) into it failed like the others and `--all-netns` said
/// the port was free).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn all_netns_unprivileged_still_lists_its_own_namespace() {
    in_netns(
        "all_netns_unprivileged_still_lists_its_own_namespace",
        || {
            let _held = listener("127.0.0.1:7350", Opts::new());
            let run = portcheck_as(NOBODY, &["who", "7350", "--all-netns", "--json"]);
            assert_eq!(run.code, 0, "the port is held: {run:#?}");
            assert!(run.stderr.is_empty(), "{run:#?}");
            let doc = parse_who(&run);
            let here: Vec<(&str, u16, Option<&str>)> = doc
                .sockets
                .iter()
                .map(|s| (s.local_address.as_str(), s.local_port, s.netns.as_deref()))
                .collect();
            assert_eq!(
                here,
                [("127.0.0.1", 7350, Some(thread_netns().as_str()))],
                "{doc:#?}"
            );
            assert!(!doc.complete, "other namespaces were not read: {doc:#?}");
            let codes = doc.warning_codes();
            assert!(
                codes.contains(&"netns_hidden") || codes.contains(&"netns_unreadable"),
                "{doc:#?}"
            );

            // A port found nowhere it could look is not called free when it
            // could not look everywhere (exit 1 is "nothing matched").
            let run = portcheck_as(NOBODY, &["who", "7351", "--all-netns"]);
            assert_eq!(run.code, 1, "{run:#?}");
            assert!(!run.stdout.contains(": free."), "{run:#?}");
            assert!(run.stdout.contains("may not be free"), "{run:#?}");
            assert!(run.stdout.contains("incomplete:"), "{run:#?}");
            // Where everything was seen, it is.
            let run = portcheck(&["who", "7351"]);
            assert_eq!(run.code, 1, "{run:#?}");
            assert!(run.stdout.contains(": free."), "{run:#?}");
        },
    );
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_gives_the_owners_container_from_its_cgroup() {
    in_netns("who_gives_the_owners_container_from_its_cgroup", || {
        let socket = listener("127.0.0.1:7400", Opts::new());
        let (run, doc) = who_json(&["7400"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
        let found = &doc.sockets[0];
        assert_eq!(found.inode, Some(inode_of(&socket)), "{doc:#?}");
        assert_eq!(pids(found), vec![std::process::id()], "{doc:#?}");
        assert_eq!(found.processes[0].container, our_container(), "{doc:#?}");
        // No forwarder here.
        assert_eq!(found.forwards_to, None, "{doc:#?}");
    });
}

// ---------------------------------------------------------------------------
// 5. free

const FREE_LOW: u16 = 21000;

fn ports(offsets: &[u16]) -> Vec<u16> {
    offsets.iter().map(|offset| FREE_LOW + offset).collect()
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn free_lists_the_lowest_ports_that_bind_everywhere() {
    in_netns("free_lists_the_lowest_ports_that_bind_everywhere", || {
        let range = format!("{FREE_LOW}-{}", FREE_LOW + 9);
        let whole = RangeDoc {
            low: FREE_LOW,
            high: FREE_LOW + 9,
        };

        // Nothing held: the three lowest.
        let (run, doc) = free_json(&["--range", &range, "--count", "3"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.ports, ports(&[0, 1, 2]), "{doc:#?}");
        assert_eq!(doc.protocols, ["tcp"], "{doc:#?}");
        assert_eq!(doc.count, 3, "{doc:#?}");
        assert_eq!(doc.range, whole, "{doc:#?}");
        let default_ephemeral: Vec<u16> = read_ipv4_sysctl("ip_local_port_range")
            .split_whitespace()
            .map(|n| n.parse().expect("a port"))
            .collect();
        assert_eq!(
            [doc.excluded.ephemeral.low, doc.excluded.ephemeral.high],
            default_ephemeral[..],
            "{doc:#?}"
        );
        assert!(doc.excluded.reserved.is_empty(), "{doc:#?}");
        assert!(doc.complete, "{doc:#?}");
        let codes: Vec<&str> = doc.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["pick_then_bind_race"], "{doc:#?}");

        // Human: the ports alone on stdout, the race note on stderr.
        let run = portcheck(&["free", "--range", &range, "--count", "3"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(run.stdout, "21000 21001 21002\n", "{run:#?}");
        assert!(
            run.stderr.contains("pick_then_bind_race") && run.stderr.contains("port 0"),
            "{run:#?}"
        );

        // Hold some: a TIME_WAIT entry (made while the ephemeral range is
        // still the default, so the client's port is not in ours), an IPv4
        // wildcard listener, a [::] v6only listener (a dual-stack [::] bind
        // would fail), a UDP socket; then make +5..+6 ephemeral and +8
        // reserved.
        time_wait_on(FREE_LOW + 3);
        let _v4 = listener(&format!("0.0.0.0:{FREE_LOW}"), Opts::new());
        let _v6 = listener(&format!("[::]:{}", FREE_LOW + 1), Opts::new().v6only(true));
        let _dgram = udp(&format!("0.0.0.0:{}", FREE_LOW + 2), Opts::new());
        write_ipv4_sysctl(
            "ip_local_port_range",
            &format!("{} {}", FREE_LOW + 5, FREE_LOW + 6),
        );
        write_ipv4_sysctl("ip_local_reserved_ports", &(FREE_LOW + 8).to_string());

        let (run, doc) = free_json(&["--range", &range, "--count", "3"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.ports, ports(&[2, 4, 7]), "{doc:#?}");
        assert_eq!(
            doc.excluded,
            ExcludedDoc {
                ephemeral: RangeDoc {
                    low: FREE_LOW + 5,
                    high: FREE_LOW + 6
                },
                reserved: vec![RangeDoc {
                    low: FREE_LOW + 8,
                    high: FREE_LOW + 8
                }],
            },
            "{doc:#?}"
        );

        // UDP: the TCP sockets (TIME_WAIT included) do not count.
        let (run, doc) = free_json(&["--range", &range, "--count", "3", "-u"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.ports, ports(&[0, 1, 3]), "{doc:#?}");
        assert_eq!(doc.protocols, ["udp"], "{doc:#?}");

        // Both protocols: free for each.
        let (run, doc) = free_json(&["--range", &range, "--count", "2", "-t", "-u"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.ports, ports(&[4, 7]), "{doc:#?}");
        assert_eq!(doc.protocols, ["tcp", "udp"], "{doc:#?}");

        // Fewer than asked: exit 1 with what was found.
        let (run, doc) = free_json(&["--range", &range, "--count", "5"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert_eq!(doc.ports, ports(&[2, 4, 7, 9]), "{doc:#?}");
        assert_eq!(doc.count, 5, "{doc:#?}");
        let run = portcheck(&["free", "--range", &range, "--count", "5"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert_eq!(
            run.stdout.lines().next(),
            Some("21002 21004 21007 21009"),
            "{run:#?}"
        );
        let none = format!("{FREE_LOW}-{}", FREE_LOW + 1);
        let (run, doc) = free_json(&["--range", &none]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(doc.ports.is_empty(), "{doc:#?}");
    });
}

#[test]
fn free_rejects_bad_arguments() {
    let run = portcheck(&["free", "--range", "80-20", "--json"]);
    assert_error(&run, "free", "bad_argument", "--range");
    let run = portcheck(&["free", "--count", "0", "--json"]);
    assert_error(&run, "free", "bad_argument", "--count");
    let run = portcheck(&["free", "--range", "80-20"]);
    assert_usage_error(&run, "80-20");
}

// ---------------------------------------------------------------------------
// 6. wait

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn wait_times_out_when_nothing_listens() {
    in_netns("wait_times_out_when_nothing_listens", || {
        let (run, doc) = wait_json(&["wait", "7600", "--timeout", "300ms", "--json"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(!doc.met, "{doc:#?}");
        assert!(
            (300..2000).contains(&doc.waited_ms),
            "waited {} ms: {doc:#?}",
            doc.waited_ms
        );
        assert_eq!(doc.timeout_ms, 300, "{doc:#?}");
        assert!(doc.polls >= 2, "{doc:#?}");
        assert_eq!(
            (doc.target.as_str(), doc.until.as_str()),
            ("7600", "listening")
        );
        assert!(doc.sockets.is_empty(), "{doc:#?}");
        assert!(doc.summary.by_state.is_empty(), "{doc:#?}");
        assert!(doc.complete, "{doc:#?}");

        let run = portcheck(&["wait", "7600", "--timeout", "100ms"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(run.stdout.contains("timed out"), "{run:#?}");
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn wait_sees_a_listener_that_starts_later() {
    in_netns("wait_sees_a_listener_that_starts_later", || {
        let args = ["wait", "7601", "--timeout", "5s", "--json"];
        let (run, late) = thread::scope(|scope| {
            // A thread of this test, in its namespace, starts listening
            // ~300 ms after portcheck has started.
            let starter = scope.spawn(|| {
                wait_until_running(&args);
                thread::sleep(Duration::from_millis(300));
                listener("127.0.0.1:7601", Opts::new())
            });
            let run = portcheck(&args);
            let late = starter
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (run, late)
        });
        let doc: WaitDoc = parse(&run);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.met, "{doc:#?}");
        assert!(
            (200..5000).contains(&doc.waited_ms),
            "waited {} ms: {doc:#?}",
            doc.waited_ms
        );
        assert!(doc.polls >= 2, "{doc:#?}");
        assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
        assert_eq!(doc.sockets[0].inode, Some(inode_of(&late)), "{doc:#?}");
        assert_eq!(pids(&doc.sockets[0]), vec![std::process::id()], "{doc:#?}");

        // Already listening: met at the first poll. UDP counts as bound.
        let _bound = udp("127.0.0.1:7602", Opts::new());
        let (run, doc) = wait_json(&["wait", "7602", "-u", "--timeout", "2s", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.met && doc.polls == 1, "{doc:#?}");
        assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
        assert_eq!(doc.sockets[0].protocol, "udp", "{doc:#?}");
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn wait_until_free_sees_a_listener_close() {
    in_netns("wait_until_free_sees_a_listener_close", || {
        let held = listener("0.0.0.0:7603", Opts::new());
        let args = [
            "wait",
            "7603",
            "--until",
            "free",
            "--timeout",
            "5s",
            "--json",
        ];
        let run = thread::scope(|scope| {
            let closer = scope.spawn(|| {
                wait_until_running(&args);
                thread::sleep(Duration::from_millis(300));
                // No process can be starting now (this test's portcheck run
                // holds the harness's lock until it exits), so this is the
                // last copy and the close is immediate.
                drop(held);
            });
            let run = portcheck(&args);
            closer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            run
        });
        let doc: WaitDoc = parse(&run);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.met, "{doc:#?}");
        assert_eq!(doc.until, "free", "{doc:#?}");
        assert!(
            (200..5000).contains(&doc.waited_ms),
            "waited {} ms: {doc:#?}",
            doc.waited_ms
        );
        assert!(doc.polls >= 2, "{doc:#?}");
        assert!(doc.sockets.is_empty(), "{doc:#?}");
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn wait_until_free_ignores_time_wait() {
    in_netns("wait_until_free_ignores_time_wait", || {
        time_wait_on(7604);
        let (run, doc) = wait_json(&[
            "wait",
            "7604",
            "--until",
            "free",
            "--timeout",
            "2s",
            "--json",
        ]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.met && doc.polls == 1, "{doc:#?}");
        assert!(doc.sockets.is_empty(), "{doc:#?}");
        assert_eq!(
            doc.summary.by_state,
            BTreeMap::from([("TIME_WAIT".to_owned(), 1)]),
            "{doc:#?}"
        );
        // Nor does it listen.
        let (run, doc) = wait_json(&["wait", "7604", "--timeout", "200ms", "--json"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(!doc.met, "{doc:#?}");
    });
}

#[test]
fn wait_rejects_bad_arguments() {
    let run = portcheck(&["wait", "7000", "--timeout", "1x", "--json"]);
    assert_error(&run, "wait", "bad_argument", "--timeout");
    let run = portcheck(&["wait", "7000", "--interval", "0", "--json"]);
    assert_error(&run, "wait", "bad_argument", "--interval");
    let run = portcheck(&["wait", "127.0.0.1", "--json"]);
    assert_error(&run, "wait", "bad_target", "127.0.0.1");
    let run = portcheck(&["wait", "7000", "--until", "nonsense"]);
    assert_usage_error(&run, "nonsense");
}

/// `netns_name` is the same for one socket in who, try and resolve (try
/// and resolve left it null).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn netns_name_is_set_alike_in_who_try_and_resolve() {
    in_netns("netns_name_is_set_alike_in_who_try_and_resolve", || {
        let namespace = NamedNetns::add("alike");
        let (_holder, inode) = namespace.hold_listener("127.0.0.1:7300");
        let name = namespace.name.as_str();

        let run = portcheck(&["--netns", name, "who", "7300", "--json"]);
        let doc = parse_who(&run);
        assert_eq!(doc.sockets[0].netns_name.as_deref(), Some(name), "{doc:#?}");

        // The shape of these documents is locked in bind.rs and resolve.rs;
        // here only the one field is read.
        let value = |run: &Run| -> serde_json::Value {
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
        };
        let run = portcheck(&[
            "--netns",
            name,
            "try",
            "127.0.0.1:7300",
            "--no-trial",
            "--json",
        ]);
        assert_eq!(run.code, 1, "{run:#?}");
        let socket = &value(&run)["candidates"][0]["prediction"]["conflicts"][0]["socket"];
        assert_eq!(socket["inode"], inode, "{run:#?}");
        assert_eq!(socket["netns_name"], name, "{run:#?}");

        let run = portcheck(&["--netns", name, "resolve", "127.0.0.1:7300", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let listener = &value(&run)["destinations"][0]["listener"];
        assert_eq!(listener["inode"], inode, "{run:#?}");
        assert_eq!(listener["netns_name"], name, "{run:#?}");
    });
}
