//! `portcheck resolve` end to end: private network and mount namespaces, a
//! generated hosts file, real listeners and real connections.
//!
//! Every test runs on a thread of its own network namespace (see the
//! harness). Every process it starts (portcheck, getent, ip) runs under the
//! harness's process lock and, for name lookups, inside a private mount
//! namespace (`unshare --mount --propagation private`) in which generated
//! files are bind-mounted over /etc/hosts, /etc/nsswitch.conf (`hosts:
//! files`, so an unknown name is NOTFOUND and never a DNS timeout) and
//! /etc/gai.conf (empty unless a test brings its own). The real files are
//! never touched: the mounts live and die with that namespace.
//!
//! Each prediction is checked against a real connection made by the test:
//! which of its listeners accept()s it, or ECONNREFUSED.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use socket2::{Socket, Type};

use crate::harness::{
    Etc, Holder, Opts, Run, SocketDoc, WarningDoc, bound, fd_of, fork_sharing, in_netns, inode_of,
    listener, parse_error, present, without_new_processes,
};

// ---------------------------------------------------------------------------
// The `resolve` document, mirrored field by field (as the harness does for
// `who`): a key added, renamed or omitted fails every test.

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveDoc {
    schema_version: u32,
    command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21).
    #[serde(deserialize_with = "crate::harness::present")]
    hostname: Option<String>,
    #[serde(deserialize_with = "crate::harness::present")]
    kernel: Option<String>,
    complete: bool,
    warnings: Vec<WarningDoc>,
    host: String,
    #[serde(deserialize_with = "present")]
    port: Option<u16>,
    protocol: String,
    destinations: Vec<DestinationDoc>,
    order_agrees: bool,
    decisions: Vec<DecisionDoc>,
    #[serde(deserialize_with = "present")]
    reached: Option<ReachedDoc>,
    #[serde(deserialize_with = "present")]
    connect: Option<Vec<ConnectDoc>>,
    /// `--dns` (tested in dns.rs); null here, as no test of this file asks.
    #[serde(deserialize_with = "present")]
    dns: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationDoc {
    address: String,
    family: String,
    system_rank: usize,
    rfc6724_rank: usize,
    #[serde(deserialize_with = "present")]
    source_address: Option<String>,
    origin: String,
    #[serde(deserialize_with = "present")]
    listener: Option<SocketDoc>,
    listeners: Vec<SocketDoc>,
    #[serde(deserialize_with = "present")]
    delivery: Option<String>,
    #[serde(deserialize_with = "present")]
    outcome: Option<String>,
    /// `--probe` (tested in probe.rs); null here.
    #[serde(deserialize_with = "present")]
    probe: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionDoc {
    before: String,
    after: String,
    rule: u8,
    reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReachedDoc {
    address: String,
    port: u16,
    #[serde(deserialize_with = "present")]
    socket: Option<SocketDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectDoc {
    address: String,
    #[serde(deserialize_with = "present")]
    outcome: Option<String>,
    #[serde(deserialize_with = "present")]
    error: Option<String>,
    #[serde(deserialize_with = "present")]
    socket: Option<SocketDoc>,
    #[serde(deserialize_with = "present")]
    agrees: Option<bool>,
    #[serde(deserialize_with = "present")]
    skipped: Option<String>,
}

impl ResolveDoc {
    fn warning_codes(&self) -> Vec<&str> {
        self.warnings.iter().map(|w| w.code.as_str()).collect()
    }

    fn warning(&self, code: &str) -> &WarningDoc {
        self.warnings
            .iter()
            .find(|w| w.code == code)
            .unwrap_or_else(|| panic!("no warning {code} in {self:#?}"))
    }

    /// The destination with this address.
    fn to(&self, address: &str) -> &DestinationDoc {
        self.destinations
            .iter()
            .find(|d| d.address == address)
            .unwrap_or_else(|| panic!("no destination {address} in {self:#?}"))
    }

    /// The addresses in system (getaddrinfo) order, as listed.
    fn system_order(&self) -> Vec<&str> {
        self.destinations
            .iter()
            .map(|d| d.address.as_str())
            .collect()
    }

    /// The addresses in RFC 6724 order.
    fn rfc6724_order(&self) -> Vec<&str> {
        let mut by_rank: Vec<&DestinationDoc> = self.destinations.iter().collect();
        by_rank.sort_by_key(|d| d.rfc6724_rank);
        by_rank.iter().map(|d| d.address.as_str()).collect()
    }

    /// `(before, after, rule)` of every decision.
    fn rules(&self) -> Vec<(&str, &str, u8)> {
        self.decisions
            .iter()
            .map(|d| (d.before.as_str(), d.after.as_str(), d.rule))
            .collect()
    }

    fn connect_to(&self, address: &str) -> &ConnectDoc {
        self.connect
            .as_ref()
            .unwrap_or_else(|| panic!("no connect[] in {self:#?}"))
            .iter()
            .find(|c| c.address == address)
            .unwrap_or_else(|| panic!("no connect[] entry for {address} in {self:#?}"))
    }
}

fn parse_resolve(run: &Run) -> ResolveDoc {
    let doc: ResolveDoc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one `resolve` document ({e}): {run:#?}"));
    assert_eq!(doc.schema_version, 1, "{run:#?}");
    assert_eq!(doc.command, "resolve", "{run:#?}");
    assert_eq!(doc.dns, None, "{run:#?}");
    // system_rank is the listing order; both rank sets are 1..=n.
    let n = doc.destinations.len();
    for (index, d) in doc.destinations.iter().enumerate() {
        assert_eq!(d.system_rank, index + 1, "{run:#?}");
        assert!((1..=n).contains(&d.rfc6724_rank), "{run:#?}");
        let family = if d.address.contains(':') {
            "ipv6"
        } else {
            "ipv4"
        };
        assert_eq!(d.family, family, "{run:#?}");
        assert_eq!(d.listener.as_ref(), d.listeners.first(), "{run:#?}");
    }
    let mut ranks: Vec<usize> = doc.destinations.iter().map(|d| d.rfc6724_rank).collect();
    ranks.sort_unstable();
    assert_eq!(ranks, (1..=n).collect::<Vec<_>>(), "{run:#?}");
    assert_eq!(
        doc.order_agrees,
        doc.system_order() == doc.rfc6724_order(),
        "{run:#?}"
    );
    // One decision per adjacent pair of the RFC 6724 order.
    let rfc = doc.rfc6724_order();
    let pairs: Vec<(&str, &str)> = rfc.windows(2).map(|w| (w[0], w[1])).collect();
    let decided: Vec<(&str, &str)> = doc.rules().iter().map(|&(b, a, _)| (b, a)).collect();
    assert_eq!(decided, pairs, "{run:#?}");
    doc
}

// ---------------------------------------------------------------------------
// `resolve` runs in a private /etc (the harness's `Etc`)

/// `resolve` through a private /etc.
trait ResolveIn {
    fn resolve(&self, args: &[&str]) -> (Run, ResolveDoc);
    fn human(&self, args: &[&str], code: i32) -> String;
}

impl ResolveIn for Etc {
    /// `portcheck resolve ARGS --json`, parsed.
    fn resolve(&self, args: &[&str]) -> (Run, ResolveDoc) {
        let mut full = vec!["resolve"];
        full.extend_from_slice(args);
        full.push("--json");
        let run = self.portcheck(&full);
        let doc = parse_resolve(&run);
        (run, doc)
    }

    /// `portcheck resolve ARGS` for people; its output.
    fn human(&self, args: &[&str], code: i32) -> String {
        let mut full = vec!["resolve"];
        full.extend_from_slice(args);
        let run = self.portcheck(&full);
        assert_eq!(run.code, code, "{run:#?}");
        run.stdout
    }
}

/// Runs `ip ARGS` (in the calling thread's network namespace).
fn ip(args: &[&str]) {
    let mut command = Command::new("ip");
    command.args(args).stdin(Stdio::null());
    let output = without_new_processes(|| command.output()).expect("run ip");
    assert!(output.status.success(), "ip {args:?}: {output:?}");
}

// ---------------------------------------------------------------------------
// Sockets held by another process

/// Hands `socket` to a forked child: afterwards only the child holds it.
fn give_away(socket: Socket) -> Holder {
    let holder = fork_sharing(&socket);
    drop(socket);
    holder
}

/// A copy, in this process, of the socket a holder keeps (pidfd_getfd), to
/// accept the connections it was handed. Take it only after the portcheck
/// runs that should see the child as the only owner.
fn copy_back(holder: &Holder) -> Socket {
    let pid = rustix::process::Pid::from_raw(i32::try_from(holder.pid()).expect("pid fits"))
        .expect("a positive pid");
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        .expect("pidfd_open of our holder");
    let fd = rustix::process::pidfd_getfd(
        &pidfd,
        i32::try_from(holder.fd()).expect("fd fits"),
        rustix::process::PidfdGetfdFlags::empty(),
    )
    .expect("pidfd_getfd of the held socket");
    Socket::from(fd)
}

fn this_pid() -> u32 {
    std::process::id()
}

// ---------------------------------------------------------------------------
// Real connections

/// What a real connection did.
#[derive(Debug, PartialEq, Eq)]
enum Real {
    /// Accepted by `listeners[index]`.
    By(usize),
    Refused,
}

/// Connects to `target` and finds which of `listeners` accept()s the
/// connection (matched by the client's own address), within 2 s.
fn connect_real(target: &str, listeners: &[&Socket]) -> Real {
    let target: SocketAddr = target.parse().expect("a test target");
    let stream = match TcpStream::connect_timeout(&target, Duration::from_secs(2)) {
        Ok(stream) => stream,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Real::Refused,
        Err(e) => panic!("connect {target}: {e}"),
    };
    let ours = stream.local_addr().expect("getsockname");
    for socket in listeners {
        socket.set_nonblocking(true).expect("O_NONBLOCK");
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        for (index, socket) in listeners.iter().enumerate() {
            match socket.accept() {
                Ok((_conn, peer)) => {
                    let peer = peer.as_socket().expect("an inet peer");
                    assert_eq!(
                        (peer.ip().to_canonical(), peer.port()),
                        (ours.ip().to_canonical(), ours.port()),
                        "listener {index} accepted a connection other than ours to {target}"
                    );
                    return Real::By(index);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("accept on listener {index}: {e}"),
            }
        }
        assert!(
            Instant::now() < deadline,
            "{target} connected but none of our listeners accepted it"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sets the flag when dropped, unwinding included.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Accepts on `socket` until `stop` (at most 30 s), keeping every
/// connection open (so that a portcheck run sees it owned), and returns
/// the peers.
fn accept_loop(socket: &Socket, stop: &AtomicBool) -> Vec<(Socket, SocketAddr)> {
    socket.set_nonblocking(true).expect("O_NONBLOCK");
    let mut accepted = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        match socket.accept() {
            Ok((conn, peer)) => accepted.push((conn, peer.as_socket().expect("an inet peer"))),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    accepted
}

// ---------------------------------------------------------------------------
// Assertions

/// A destination's prediction: outcome, and the listener by local address,
/// inode, owning pid and descriptor.
fn assert_destination(
    doc: &ResolveDoc,
    address: &str,
    outcome: &str,
    listener: Option<(&str, u64, u32, u32)>,
) {
    let d = doc.to(address);
    assert_eq!(d.outcome.as_deref(), Some(outcome), "{address}: {doc:#?}");
    match listener {
        None => {
            assert_eq!(d.listener, None, "{address}: {doc:#?}");
            assert!(d.listeners.is_empty(), "{address}: {doc:#?}");
        }
        Some((local, inode, pid, fd)) => {
            let socket = d
                .listener
                .as_ref()
                .unwrap_or_else(|| panic!("{address} has no listener: {doc:#?}"));
            assert_eq!(d.listeners.len(), 1, "{address}: {doc:#?}");
            assert_eq!(socket.state, "LISTEN", "{address}: {doc:#?}");
            assert_eq!(socket.local_address, local, "{address}: {doc:#?}");
            assert_eq!(socket.inode, Some(inode), "{address}: {doc:#?}");
            let owners: Vec<(u32, Option<u32>)> =
                socket.processes.iter().map(|p| (p.pid, p.fd)).collect();
            assert_eq!(owners, vec![(pid, Some(fd))], "{address}: {doc:#?}");
        }
    }
}

/// `reached` names this address and port and the listener with this inode.
fn assert_reached(doc: &ResolveDoc, address: &str, port: u16, inode: u64) {
    let reached = doc
        .reached
        .as_ref()
        .unwrap_or_else(|| panic!("nothing reached: {doc:#?}"));
    assert_eq!(reached.address, address, "{doc:#?}");
    assert_eq!(reached.port, port, "{doc:#?}");
    let socket = reached.socket.as_ref().expect("the reached socket");
    assert_eq!(socket.inode, Some(inode), "{doc:#?}");
}

/// Origin, source address and both ranks of a destination.
fn assert_ranks(
    doc: &ResolveDoc,
    address: &str,
    origin: &str,
    source: &str,
    ranks: (usize, usize),
) {
    let d = doc.to(address);
    assert_eq!(d.origin, origin, "{address}: {doc:#?}");
    assert_eq!(
        d.source_address.as_deref(),
        Some(source),
        "{address}: {doc:#?}"
    );
    assert_eq!(
        (d.system_rank, d.rfc6724_rank),
        ranks,
        "{address}: {doc:#?}"
    );
}

/// The hosts file of the seed: `web` is ::1 and 127.0.0.1.
const WEB: &str = "127.0.0.1 web\n::1 web\n";

// ---------------------------------------------------------------------------
// 1. The seed: 0.0.0.0:P (one process) beside [::]:P v6only (another)

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_seed_ipv6_first_reaches_the_v6only_server() {
    in_netns("resolve_seed_ipv6_first_reaches_the_v6only_server", || {
        let etc = Etc::new("seed", WEB);
        let v4 = listener("0.0.0.0:8000", Opts::new());
        let v6 = listener("[::]:8000", Opts::new().v6only(true));
        let v6_inode = inode_of(&v6);
        let other = give_away(v6);

        let (run, doc) = etc.resolve(&["web:8000"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.complete, "{doc:#?}");
        assert_eq!(
            (doc.host.as_str(), doc.port, doc.protocol.as_str()),
            ("web", Some(8000), "tcp")
        );
        assert_eq!(doc.system_order(), ["::1", "127.0.0.1"], "{doc:#?}");
        assert_eq!(etc.system_order("web"), doc.system_order());
        assert_ranks(&doc, "::1", "hosts", "::1", (1, 1));
        assert_ranks(&doc, "127.0.0.1", "hosts", "127.0.0.1", (2, 2));
        assert!(doc.order_agrees, "{doc:#?}");
        assert_eq!(doc.rules(), [("::1", "127.0.0.1", 6)], "{doc:#?}");
        assert!(doc.decisions[0].reason.contains("50"), "{doc:#?}");
        assert!(doc.decisions[0].reason.contains("35"), "{doc:#?}");

        let ipv6 = doc.to("::1").listener.clone().expect("a listener");
        assert_eq!((ipv6.v6only, ipv6.accepts_ipv4), (Some(true), Some(false)));
        assert_destination(
            &doc,
            "::1",
            "accept",
            Some(("::", v6_inode, other.pid(), other.fd())),
        );
        assert_destination(
            &doc,
            "127.0.0.1",
            "accept",
            Some(("0.0.0.0", inode_of(&v4), this_pid(), fd_of(&v4))),
        );
        assert_reached(&doc, "::1", 8000, v6_inode);
        assert_eq!(doc.connect, None);

        // Two programs behind one name: said, with who gets what.
        assert_eq!(doc.warning_codes(), ["split_by_family"], "{doc:#?}");
        let split = &doc.warning("split_by_family").message;
        let (ipv6_part, ipv4_part) = split
            .split_once("IPv4-only clients get")
            .unwrap_or_else(|| panic!("{split}"));
        assert!(ipv6_part.starts_with("IPv6 clients get"), "{split}");
        assert!(
            ipv6_part.contains(&format!("(pid {})", other.pid())),
            "{split}"
        );
        assert!(
            ipv4_part.contains(&format!("(pid {})", this_pid())),
            "{split}"
        );

        let table = etc.human(&["web:8000"], 0);
        assert!(table.contains("reaches [::1]:8000"), "{table}");
        assert!(table.contains("by rule 6"), "{table}");
        assert!(!table.contains("ECONNREFUSED"), "{table}");

        // The kernel agrees: ::1 to the v6only socket, 127.0.0.1 to IPv4.
        let v6 = copy_back(&other);
        assert_eq!(connect_real("[::1]:8000", &[&v4, &v6]), Real::By(1));
        assert_eq!(connect_real("127.0.0.1:8000", &[&v4, &v6]), Real::By(0));
    });
}

/// The same sockets in one process: no split warning.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_seed_in_one_process_is_not_split() {
    in_netns("resolve_seed_in_one_process_is_not_split", || {
        let etc = Etc::new("seed-one", WEB);
        let v4 = listener("0.0.0.0:8010", Opts::new());
        let v6 = listener("[::]:8010", Opts::new().v6only(true));

        let (run, doc) = etc.resolve(&["web:8010"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.warnings.is_empty(), "{doc:#?}");
        assert_destination(
            &doc,
            "::1",
            "accept",
            Some(("::", inode_of(&v6), this_pid(), fd_of(&v6))),
        );
        assert_destination(
            &doc,
            "127.0.0.1",
            "accept",
            Some(("0.0.0.0", inode_of(&v4), this_pid(), fd_of(&v4))),
        );
        assert_reached(&doc, "::1", 8010, inode_of(&v6));
        assert_eq!(connect_real("[::1]:8010", &[&v4, &v6]), Real::By(1));
        assert_eq!(connect_real("127.0.0.1:8010", &[&v4, &v6]), Real::By(0));
    });
}

// ---------------------------------------------------------------------------
// 2. Node: a server on 127.0.0.1 only; ::1 first is refused

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_node_scenario_ipv6_refused_then_ipv4() {
    in_netns("resolve_node_scenario_ipv6_refused_then_ipv4", || {
        let etc = Etc::new("node", WEB);
        let v4 = listener("127.0.0.1:3000", Opts::new());

        let (run, doc) = etc.resolve(&["web:3000"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.system_order(), ["::1", "127.0.0.1"], "{doc:#?}");
        assert_eq!(doc.rfc6724_order(), doc.system_order());
        assert_eq!(doc.rules(), [("::1", "127.0.0.1", 6)]);
        assert_destination(&doc, "::1", "refused", None);
        assert_destination(
            &doc,
            "127.0.0.1",
            "accept",
            Some(("127.0.0.1", inode_of(&v4), this_pid(), fd_of(&v4))),
        );
        assert_reached(&doc, "127.0.0.1", 3000, inode_of(&v4));
        assert!(doc.warnings.is_empty(), "{doc:#?}");

        let table = etc.human(&["web:3000"], 0);
        assert!(table.contains("reaches 127.0.0.1:3000"), "{table}");
        assert!(table.contains("ECONNREFUSED [::1]:3000"), "{table}");

        assert_eq!(connect_real("[::1]:3000", &[&v4]), Real::Refused);
        assert_eq!(connect_real("127.0.0.1:3000", &[&v4]), Real::By(0));
    });
}

// ---------------------------------------------------------------------------
// 3. A dual-stack [::] catches both

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_dual_stack_wildcard_catches_both() {
    in_netns("resolve_dual_stack_wildcard_catches_both", || {
        let etc = Etc::new("dual", WEB);
        let dual = listener("[::]:8020", Opts::new().v6only(false));
        let inode = inode_of(&dual);

        let (run, doc) = etc.resolve(&["web:8020"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(doc.warnings.is_empty(), "one socket, no split: {doc:#?}");
        for address in ["::1", "127.0.0.1"] {
            assert_destination(
                &doc,
                address,
                "accept",
                Some(("::", inode, this_pid(), fd_of(&dual))),
            );
        }
        let socket = doc.to("127.0.0.1").listener.clone().expect("a listener");
        assert_eq!(
            (socket.v6only, socket.accepts_ipv4),
            (Some(false), Some(true))
        );
        assert_reached(&doc, "::1", 8020, inode);
        assert!(etc.human(&["web:8020"], 0).contains("reaches [::1]:8020"));

        assert_eq!(connect_real("[::1]:8020", &[&dual]), Real::By(0));
        assert_eq!(connect_real("127.0.0.1:8020", &[&dual]), Real::By(0));
    });
}

// ---------------------------------------------------------------------------
// 4. An exact address beats a wildcard; IPv4 beats dual-stack for IPv4

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_exact_address_beats_wildcard() {
    in_netns("resolve_exact_address_beats_wildcard", || {
        let etc = Etc::new("exact", "127.0.0.1 both\n127.0.0.3 both\n");
        // Both with SO_REUSEPORT (same uid): otherwise the second bind fails.
        let exact = listener("127.0.0.1:8030", Opts::new().reuseport(true));
        let wild = listener("0.0.0.0:8030", Opts::new().reuseport(true));
        let wild_inode = inode_of(&wild);
        let other = give_away(wild);

        let (run, doc) = etc.resolve(&["both:8030"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.system_order(), ["127.0.0.1", "127.0.0.3"], "{doc:#?}");
        assert_eq!(etc.system_order("both"), doc.system_order());
        assert_ranks(&doc, "127.0.0.1", "hosts", "127.0.0.1", (1, 1));
        assert_ranks(&doc, "127.0.0.3", "hosts", "127.0.0.1", (2, 2));
        // Same family, precedence and scope: 127.0.0.1 is its own source,
        // which glibc (and rule 9 here) puts first.
        assert_eq!(doc.rules(), [("127.0.0.1", "127.0.0.3", 9)], "{doc:#?}");
        assert_destination(
            &doc,
            "127.0.0.1",
            "accept",
            Some(("127.0.0.1", inode_of(&exact), this_pid(), fd_of(&exact))),
        );
        assert_destination(
            &doc,
            "127.0.0.3",
            "accept",
            Some(("0.0.0.0", wild_inode, other.pid(), other.fd())),
        );
        assert_reached(&doc, "127.0.0.1", 8030, inode_of(&exact));
        assert_eq!(doc.warning_codes(), ["split_by_address"], "{doc:#?}");
        let split = &doc.warning("split_by_address").message;
        let (exact_part, wild_part) = split
            .split_once("; clients of 127.0.0.3 get")
            .unwrap_or_else(|| panic!("{split}"));
        assert!(
            exact_part.starts_with("clients of 127.0.0.1 get"),
            "{split}"
        );
        assert!(
            exact_part.contains(&format!("(pid {})", this_pid())),
            "{split}"
        );
        assert!(
            wild_part.contains(&format!("(pid {})", other.pid())),
            "{split}"
        );

        let wild = copy_back(&other);
        assert_eq!(
            connect_real("127.0.0.1:8030", &[&exact, &wild]),
            Real::By(0)
        );
        assert_eq!(
            connect_real("127.0.0.3:8030", &[&exact, &wild]),
            Real::By(1)
        );
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_ipv4_socket_beats_dual_stack_for_ipv4() {
    in_netns("resolve_ipv4_socket_beats_dual_stack_for_ipv4", || {
        let etc = Etc::new("v4-beats-dual", WEB);
        let dual = listener("[::]:8040", Opts::new().v6only(false).reuseport(true));
        let v4 = listener("0.0.0.0:8040", Opts::new().reuseport(true));

        let (run, doc) = etc.resolve(&["web:8040"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_destination(
            &doc,
            "::1",
            "accept",
            Some(("::", inode_of(&dual), this_pid(), fd_of(&dual))),
        );
        assert_destination(
            &doc,
            "127.0.0.1",
            "accept",
            Some(("0.0.0.0", inode_of(&v4), this_pid(), fd_of(&v4))),
        );
        assert_eq!(connect_real("[::1]:8040", &[&dual, &v4]), Real::By(0));
        assert_eq!(connect_real("127.0.0.1:8040", &[&dual, &v4]), Real::By(1));
    });
}

// ---------------------------------------------------------------------------
// 5. Several addresses per name, an IPv6 global one among them

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_several_addresses_sorted_by_rules_6_and_8() {
    in_netns("resolve_several_addresses_sorted_by_rules_6_and_8", || {
        // 2001:db8::1 local; 192.0.2.1 routed (a global IPv4 source) but
        // not local. Both families then have a non-loopback address.
        ip(&["-6", "addr", "add", "2001:db8::1/128", "dev", "lo", "nodad"]);
        ip(&["addr", "add", "198.51.100.1/32", "dev", "lo"]);
        ip(&[
            "route",
            "add",
            "192.0.2.0/24",
            "dev",
            "lo",
            "src",
            "198.51.100.1",
        ]);
        let etc = Etc::new("mix", "192.0.2.1 mix\n2001:db8::1 mix\n127.0.0.2 mix\n");
        let dual = listener("[::]:8050", Opts::new().v6only(false));
        let inode = inode_of(&dual);

        let (run, doc) = etc.resolve(&["mix:8050"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let order = ["2001:db8::1", "127.0.0.2", "192.0.2.1"];
        assert_eq!(doc.system_order(), order, "{doc:#?}");
        assert_eq!(etc.system_order("mix"), order);
        assert_eq!(doc.rfc6724_order(), order, "{doc:#?}");
        assert!(doc.order_agrees, "{doc:#?}");
        assert_eq!(
            doc.rules(),
            [
                ("2001:db8::1", "127.0.0.2", 6),
                ("127.0.0.2", "192.0.2.1", 8)
            ],
            "{doc:#?}"
        );
        assert_ranks(&doc, "2001:db8::1", "hosts", "2001:db8::1", (1, 1));
        assert_ranks(&doc, "127.0.0.2", "hosts", "127.0.0.1", (2, 2));
        assert_ranks(&doc, "192.0.2.1", "hosts", "198.51.100.1", (3, 3));
        for address in ["2001:db8::1", "127.0.0.2"] {
            assert_destination(
                &doc,
                address,
                "accept",
                Some(("::", inode, this_pid(), fd_of(&dual))),
            );
        }
        assert_destination(&doc, "192.0.2.1", "not_local", None);
        assert_reached(&doc, "2001:db8::1", 8050, inode);
        assert_eq!(doc.warning_codes(), ["remote_destinations"], "{doc:#?}");
        assert!(doc.complete, "{doc:#?}");

        // --connect tries the local ones only.
        let (run, doc) = etc.resolve(&["mix:8050", "--connect"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let skipped = doc.connect_to("192.0.2.1");
        assert_eq!(skipped.skipped.as_deref(), Some("not_local"), "{doc:#?}");
        assert_eq!((skipped.outcome.as_ref(), skipped.agrees), (None, None));
        for address in ["2001:db8::1", "127.0.0.2"] {
            let c = doc.connect_to(address);
            assert_eq!(c.outcome.as_deref(), Some("accept"), "{doc:#?}");
            assert_eq!(c.agrees, Some(true), "{doc:#?}");
        }
        // Drain what portcheck's connections left in the queue.
        dual.set_nonblocking(true).expect("O_NONBLOCK");
        while dual.accept().is_ok() {}

        assert_eq!(connect_real("[2001:db8::1]:8050", &[&dual]), Real::By(0));
        assert_eq!(connect_real("127.0.0.2:8050", &[&dual]), Real::By(0));
    });
}

// ---------------------------------------------------------------------------
// 6. Nothing listening; no port at all

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_nothing_listening_exits_1_and_no_port_exits_0() {
    in_netns(
        "resolve_nothing_listening_exits_1_and_no_port_exits_0",
        || {
            let etc = Etc::new("nothing", WEB);
            let (run, doc) = etc.resolve(&["web:8060"]);
            assert_eq!(run.code, 1, "{run:#?}");
            assert!(doc.complete, "{doc:#?}");
            assert_eq!(doc.reached, None, "{doc:#?}");
            assert_destination(&doc, "::1", "refused", None);
            assert_destination(&doc, "127.0.0.1", "refused", None);
            let table = etc.human(&["web:8060"], 1);
            assert!(table.contains("nothing accepts web:8060"), "{table}");
            assert_eq!(connect_real("[::1]:8060", &[]), Real::Refused);
            assert_eq!(connect_real("127.0.0.1:8060", &[]), Real::Refused);

            // A bound socket that does not listen accepts nothing either.
            let _bound = bound(Type::STREAM, "0.0.0.0:8061", Opts::new());
            let (run, doc) = etc.resolve(&["web:8061"]);
            assert_eq!(run.code, 1, "{run:#?}");
            assert_destination(&doc, "127.0.0.1", "refused", None);
            assert_eq!(connect_real("127.0.0.1:8061", &[]), Real::Refused);

            // No port: the name resolved is success; no outcome, no reach.
            let (run, doc) = etc.resolve(&["web"]);
            assert_eq!(run.code, 0, "{run:#?}");
            assert_eq!((doc.host.as_str(), doc.port), ("web", None));
            assert_eq!(doc.system_order(), ["::1", "127.0.0.1"]);
            for d in &doc.destinations {
                assert_eq!((d.outcome.as_ref(), d.listener.as_ref()), (None, None));
            }
            assert_eq!((doc.reached.as_ref(), doc.connect.as_ref()), (None, None));
            assert_eq!(doc.rules(), [("::1", "127.0.0.1", 6)]);
            etc.human(&["web"], 0);
        },
    );
}

// ---------------------------------------------------------------------------
// 7. --connect: real connections, identified in the socket table

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_connect_names_the_accepting_process() {
    in_netns("resolve_connect_names_the_accepting_process", || {
        let etc = Etc::new("connect", "::1 web\n127.0.0.1 web\n127.0.0.2 web\n");
        // ::1 goes to a child that never calls accept(); 127.0.0.1 to a
        // server of ours that accepts in a loop; 127.0.0.2 is refused.
        let idle = listener("[::]:8070", Opts::new().v6only(true));
        let idle_inode = inode_of(&idle);
        let idle = give_away(idle);
        let busy = listener("127.0.0.1:8070", Opts::new());
        let stop = AtomicBool::new(false);

        let (run, doc, accepted) = std::thread::scope(|scope| {
            let server = scope.spawn(|| accept_loop(&busy, &stop));
            // Stops the server even when the run panics (the scope waits).
            let stopper = StopOnDrop(&stop);
            let (run, doc) = etc.resolve(&["web:8070", "--connect"]);
            drop(stopper);
            let accepted = server.join().expect("the accept loop");
            (run, doc, accepted)
        });
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.system_order(), ["::1", "127.0.0.1", "127.0.0.2"]);
        assert_eq!(
            doc.rules(),
            [("::1", "127.0.0.1", 6), ("127.0.0.1", "127.0.0.2", 9)],
            "{doc:#?}"
        );
        assert_destination(
            &doc,
            "::1",
            "accept",
            Some(("::", idle_inode, idle.pid(), idle.fd())),
        );
        assert_destination(
            &doc,
            "127.0.0.1",
            "accept",
            Some(("127.0.0.1", inode_of(&busy), this_pid(), fd_of(&busy))),
        );
        assert_destination(&doc, "127.0.0.2", "refused", None);
        assert_eq!(doc.warning_codes(), ["split_by_family"], "{doc:#?}");

        // Never accepted: the listener whose queue grew, and it is the child's.
        let queued = doc.connect_to("::1");
        assert_eq!(queued.outcome.as_deref(), Some("accept"), "{doc:#?}");
        assert_eq!((queued.agrees, queued.skipped.as_ref()), (Some(true), None));
        let socket = queued.socket.as_ref().expect("the accepting socket");
        assert_eq!(socket.state, "LISTEN", "{doc:#?}");
        assert_eq!(socket.inode, Some(idle_inode), "{doc:#?}");
        let pids: Vec<u32> = socket.processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [idle.pid()], "{doc:#?}");

        // Accepted by our server: portcheck names either the connection's
        // server side (once our loop has accept()ed it) or, when it looks
        // first, the listener whose queue it sits in. Ours either way.
        let taken = doc.connect_to("127.0.0.1");
        assert_eq!(taken.outcome.as_deref(), Some("accept"), "{doc:#?}");
        assert_eq!(taken.agrees, Some(true), "{doc:#?}");
        let socket = taken.socket.as_ref().expect("the accepting socket");
        let pids: Vec<u32> = socket.processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [this_pid()], "{doc:#?}");
        assert_eq!(
            (socket.local_address.as_str(), socket.local_port),
            ("127.0.0.1", 8070)
        );
        assert_eq!(
            accepted.len(),
            1,
            "one connection from portcheck: {accepted:?}"
        );
        match socket.state.as_str() {
            "LISTEN" => assert_eq!(socket.inode, Some(inode_of(&busy)), "{doc:#?}"),
            "ESTABLISHED" => assert_eq!(
                (socket.remote_address.as_deref(), socket.remote_port),
                (
                    Some(accepted[0].1.ip().to_string().as_str()),
                    Some(accepted[0].1.port())
                ),
                "{doc:#?}"
            ),
            other => panic!("accepted by a socket in state {other}: {doc:#?}"),
        }

        let refused = doc.connect_to("127.0.0.2");
        assert_eq!(refused.outcome.as_deref(), Some("refused"), "{doc:#?}");
        assert_eq!(refused.error.as_deref(), Some("ECONNREFUSED"), "{doc:#?}");
        assert_eq!(
            (refused.socket.as_ref(), refused.agrees),
            (None, Some(true))
        );

        // The child's queue holds portcheck's connection from ::1.
        let idle_copy = copy_back(&idle);
        idle_copy.set_nonblocking(true).expect("O_NONBLOCK");
        let (_, peer) = idle_copy.accept().expect("portcheck's queued connection");
        assert_eq!(
            peer.as_socket().map(|p| p.ip()),
            Some("::1".parse().expect("ip"))
        );
        assert_eq!(
            connect_real("[::1]:8070", &[&idle_copy, &busy]),
            Real::By(0)
        );
        assert_eq!(
            connect_real("127.0.0.1:8070", &[&idle_copy, &busy]),
            Real::By(1)
        );
        assert_eq!(connect_real("127.0.0.2:8070", &[]), Real::Refused);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_connect_human_output_says_as_predicted() {
    in_netns("resolve_connect_human_output_says_as_predicted", || {
        let etc = Etc::new("connect-human", WEB);
        let v4 = listener("127.0.0.1:8071", Opts::new());
        let table = etc.human(&["web:8071", "--connect"], 0);
        let line = |address: &str| {
            table
                .lines()
                .find(|l| l.starts_with(&format!("connect {address}:")))
                .unwrap_or_else(|| panic!("no connect line for {address}:\n{table}"))
                .to_owned()
        };
        assert!(line("::1").contains("refused"), "{table}");
        assert!(line("::1").contains("(as predicted)"), "{table}");
        let accepted = line("127.0.0.1");
        assert!(accepted.contains("accept by"), "{table}");
        assert!(
            accepted.contains(&format!("(pid {})", this_pid())),
            "{table}"
        );
        assert!(accepted.contains("(as predicted)"), "{table}");
        assert!(!table.contains("DISAGREES"), "{table}");
        drop(v4);
    });
}

// ---------------------------------------------------------------------------
// 8. Input forms, and errors

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_accepts_urls_two_arguments_and_literals() {
    in_netns("resolve_accepts_urls_two_arguments_and_literals", || {
        let etc = Etc::new("forms", WEB);
        let dual = listener("[::]:8080", Opts::new().v6only(false));
        let inode = inode_of(&dual);
        // Port 80 from the scheme: private namespace, so ours to take.
        let http = listener("127.0.0.1:80", Opts::new());

        for args in [
            &["http://web:8080/"][..],
            &["web", "8080"],
            &["web:8080", "8080"],
            &["HTTP://WEB:8080/path?q#f"],
        ] {
            let (run, doc) = etc.resolve(args);
            assert_eq!(run.code, 0, "{args:?}: {run:#?}");
            assert_eq!(doc.host.to_ascii_lowercase(), "web", "{args:?}");
            assert_eq!(doc.port, Some(8080), "{args:?}");
            assert_eq!(doc.system_order(), ["::1", "127.0.0.1"], "{args:?}");
            assert!(
                doc.destinations.iter().all(|d| d.origin == "hosts"),
                "{doc:#?}"
            );
            assert_reached(&doc, "::1", 8080, inode);
        }

        let (run, doc) = etc.resolve(&["http://web/"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.port, Some(80));
        assert_destination(&doc, "::1", "refused", None);
        assert_reached(&doc, "127.0.0.1", 80, inode_of(&http));

        for (args, address, port) in [
            (&["[::1]:8080"][..], "::1", 8080),
            (&["http://[::1]:8080/"], "::1", 8080),
            (&["127.0.0.1:8080"], "127.0.0.1", 8080),
            (&["127.0.0.1", "80"], "127.0.0.1", 80),
            (&["http://127.0.0.1/"], "127.0.0.1", 80),
        ] {
            let (run, doc) = etc.resolve(args);
            assert_eq!(run.code, 0, "{args:?}: {run:#?}");
            assert_eq!((doc.host.as_str(), doc.port), (address, Some(port)));
            assert_eq!(doc.system_order(), [address], "{doc:#?}");
            assert_eq!(doc.destinations[0].origin, "literal", "{doc:#?}");
            assert_eq!(doc.destinations[0].rfc6724_rank, 1);
            assert!(doc.decisions.is_empty(), "{doc:#?}");
            assert_eq!(doc.destinations[0].outcome.as_deref(), Some("accept"));
        }
        // A literal ::1 with nothing on its port: refused.
        let (run, doc) = etc.resolve(&["::1", "8081"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert_destination(&doc, "::1", "refused", None);

        assert_eq!(connect_real("[::1]:8080", &[&dual, &http]), Real::By(0));
        assert_eq!(connect_real("127.0.0.1:8080", &[&dual, &http]), Real::By(0));
        assert_eq!(connect_real("127.0.0.1:80", &[&dual, &http]), Real::By(1));
        assert_eq!(connect_real("[::1]:80", &[&dual, &http]), Real::Refused);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_errors_exit_2_with_codes() {
    in_netns("resolve_errors_exit_2_with_codes", || {
        let etc = Etc::new("errors", WEB);
        for (args, code) in [
            (&["nosuchname:8000"][..], "host_not_found"),
            (&["nosuchname"], "host_not_found"),
            (&["http://nosuchname/"], "host_not_found"),
            (&["web:99999"], "bad_host"),
            (&["web:0"], "bad_host"),
            (&["web:http"], "bad_host"),
            (&["web:"], "bad_host"),
            (&["web", "99999"], "bad_host"),
            (&["web:80", "81"], "bad_host"),
            (&["http://"], "bad_host"),
            (&["http://web:99999/"], "bad_host"),
            (&["http://[::1/"], "bad_host"),
            (&["[::1:8000"], "bad_host"),
            (&["[web]:8000"], "bad_host"),
            (&[":8000"], "bad_host"),
        ] {
            let mut full = vec!["resolve"];
            full.extend_from_slice(args);
            full.push("--json");
            let run = etc.portcheck(&full);
            assert_eq!(run.code, 2, "{args:?}: {run:#?}");
            let error = parse_error(&run);
            assert_eq!(error.schema_version, 1, "{run:#?}");
            assert_eq!(error.command, "resolve", "{run:#?}");
            assert_eq!(error.error.code, code, "{args:?}: {run:#?}");
            assert!(!error.error.message.is_empty(), "{run:#?}");

            let mut human = vec!["resolve"];
            human.extend_from_slice(args);
            let run = etc.portcheck(&human);
            assert_eq!(run.code, 2, "{args:?}: {run:#?}");
            assert!(run.stdout.is_empty(), "{args:?}: {run:#?}");
            assert!(!run.stderr.is_empty(), "{args:?}: {run:#?}");
        }
    });
}

// ---------------------------------------------------------------------------
// 8b. RFC 6724 rule 3: a deprecated source, as glibc reads its flags

/// Two IPv6 sources on one link, one deprecated (`preferred_lft 0`), each
/// the source of one destination (the deprecated one by a route's `src`,
/// since the kernel itself avoids deprecated sources). Rule 9 alone would
/// put `2001:db8:1::1` first (it shares 126 bits with its source, the other
/// 79); glibc's rule 3, reading IFA_F_DEPRECATED from the address list,
/// puts it last. portcheck's order must be getaddrinfo's, and rule 3 named.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_rule_3_avoids_a_deprecated_source_as_glibc_does() {
    in_netns(
        "resolve_rule_3_avoids_a_deprecated_source_as_glibc_does",
        || {
            ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
            ip(&["link", "set", "v0", "up"]);
            ip(&["link", "set", "v1", "up"]);
            ip(&[
                "addr",
                "add",
                "2001:db8:1::2/64",
                "dev",
                "v0",
                "preferred_lft",
                "0",
                "nodad",
            ]);
            ip(&["addr", "add", "2001:db8:2::2/64", "dev", "v0", "nodad"]);
            ip(&[
                "-6",
                "route",
                "add",
                "2001:db8:1::1/128",
                "dev",
                "v0",
                "src",
                "2001:db8:1::2",
            ]);
            let etc = Etc::new("rule3", "2001:db8:1::1 dep\n2001:db8:2:0:1::1 dep\n");
            let (run, doc) = etc.resolve(&["dep"]);
            assert_eq!(run.code, 0, "{run:#?}");
            assert_eq!(
                doc.to("2001:db8:1::1").source_address.as_deref(),
                Some("2001:db8:1::2"),
                "{doc:#?}"
            );
            assert_eq!(
                doc.to("2001:db8:2:0:1::1").source_address.as_deref(),
                Some("2001:db8:2::2"),
                "{doc:#?}"
            );
            let system = etc.system_order("dep");
            assert_eq!(system, ["2001:db8:2:0:1::1", "2001:db8:1::1"], "{run:#?}");
            assert_eq!(doc.system_order(), system, "{doc:#?}");
            assert_eq!(doc.rfc6724_order(), system, "{doc:#?}");
            assert!(doc.order_agrees, "{doc:#?}");
            assert_eq!(
                doc.rules(),
                [("2001:db8:2:0:1::1", "2001:db8:1::1", 3)],
                "{doc:#?}"
            );
            assert!(doc.decisions[0].reason.contains("deprecated"), "{doc:#?}");
        },
    );
}

// ---------------------------------------------------------------------------
// 9. gai.conf: prefer IPv4

/// glibc's default table (RFC 3484 values, as Debian's gai.conf lists them)
/// with IPv4 raised above everything.
const PREFER_IPV4_TABLE: &str = "\
# the default table, IPv4 raised
precedence  ::1/128       50
precedence  ::/0          40
precedence  2002::/16     30
precedence ::/96          20
precedence ::ffff:0:0/96  100
";

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_gai_conf_precedence_puts_ipv4_first() {
    let test = "resolve_gai_conf_precedence_puts_ipv4_first";
    in_netns(test, || {
        let v4 = listener("0.0.0.0:8090", Opts::new());
        let v6 = listener("[::]:8090", Opts::new().v6only(true));
        for gai in ["precedence ::ffff:0:0/96 100\n", PREFER_IPV4_TABLE] {
            let Some(etc) = Etc::with_gai_conf("gai", WEB, gai) else {
                return;
            };
            assert_eq!(etc.system_order("web"), ["127.0.0.1", "::1"], "{gai}");
            let (run, doc) = etc.resolve(&["web:8090"]);
            assert_eq!(run.code, 0, "{run:#?}");
            assert!(doc.complete, "{doc:#?}");
            assert_eq!(doc.system_order(), ["127.0.0.1", "::1"], "{gai}: {doc:#?}");
            assert_eq!(doc.rfc6724_order(), ["127.0.0.1", "::1"], "{gai}: {doc:#?}");
            assert!(doc.order_agrees, "{doc:#?}");
            assert_eq!(doc.rules(), [("127.0.0.1", "::1", 6)], "{gai}: {doc:#?}");
            // In the one-line file ::1 falls to the ::/0 row glibc adds: 40.
            let ipv6 = if gai == PREFER_IPV4_TABLE { 50 } else { 40 };
            let reason = format!("precedence 100 of 127.0.0.1 beats {ipv6} of ::1");
            assert!(doc.decisions[0].reason.contains(&reason), "{doc:#?}");
            assert!(doc.warnings.is_empty(), "{doc:#?}");
            // Now IPv4 clients come first, and reach the IPv4 server.
            assert_reached(&doc, "127.0.0.1", 8090, inode_of(&v4));
            let table = etc.human(&["web:8090"], 0);
            assert!(table.contains("reaches 127.0.0.1:8090"), "{table}");
        }
        assert_eq!(connect_real("127.0.0.1:8090", &[&v4, &v6]), Real::By(0));
        assert_eq!(connect_real("[::1]:8090", &[&v4, &v6]), Real::By(1));
    });
}

/// A precedence table without a `::/0` row: glibc adds `::/0 40`, so IPv4
/// (no row of its own) gets 40 and beats a lowered ::1.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_gai_conf_table_without_default_row_gets_glibcs() {
    let test = "resolve_gai_conf_table_without_default_row_gets_glibcs";
    in_netns(test, || {
        let Some(etc) = Etc::with_gai_conf("gai-no-default", WEB, "precedence ::1/128 10\n") else {
            return;
        };
        assert_eq!(etc.system_order("web"), ["127.0.0.1", "::1"]);
        let (run, doc) = etc.resolve(&["web"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.system_order(), ["127.0.0.1", "::1"], "{doc:#?}");
        assert!(doc.order_agrees, "{doc:#?}");
        assert!(doc.warnings.is_empty(), "{doc:#?}");
        assert_eq!(doc.rules(), [("127.0.0.1", "::1", 6)], "{doc:#?}");
        assert!(
            doc.decisions[0]
                .reason
                .contains("precedence 40 of 127.0.0.1 beats 10 of ::1"),
            "{doc:#?}"
        );
    });
}

/// One `scopev4` line replaces glibc's whole IPv4 scope table: 127/8 is
/// then global like 10/8, and rule 8 no longer puts 127.0.0.2 first.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_gai_conf_scopev4_replaces_the_default_scopes() {
    let test = "resolve_gai_conf_scopev4_replaces_the_default_scopes";
    in_netns(test, || {
        // IPv4 only beyond loopback (getent's AI_ADDRCONFIG keeps IPv4).
        ip(&["addr", "add", "10.0.0.1/24", "dev", "lo"]);
        let hosts = "10.0.0.5 scoped\n127.0.0.2 scoped\n";
        let gai = "scopev4 ::ffff:169.254.0.0/112 2\n";
        let Some(etc) = Etc::with_gai_conf("gai-scopev4", hosts, gai) else {
            return;
        };
        assert_eq!(etc.system_order("scoped"), ["10.0.0.5", "127.0.0.2"]);
        let (run, doc) = etc.resolve(&["scoped"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.system_order(), ["10.0.0.5", "127.0.0.2"], "{doc:#?}");
        assert!(doc.order_agrees, "{doc:#?}");
        assert!(doc.warnings.is_empty(), "{doc:#?}");
        assert_ne!(doc.decisions[0].rule, 8, "{doc:#?}");

        // The default table (no scopev4 line): rule 8, 127.0.0.2 first.
        let etc = Etc::new("gai-scopev4-default", hosts);
        assert_eq!(etc.system_order("scoped"), ["127.0.0.2", "10.0.0.5"]);
        let (_, doc) = etc.resolve(&["scoped"]);
        assert_eq!(doc.system_order(), ["127.0.0.2", "10.0.0.5"], "{doc:#?}");
        assert_eq!(doc.rules(), [("127.0.0.2", "10.0.0.5", 8)], "{doc:#?}");
    });
}

/// Lines portcheck cannot read are reported, not silently dropped.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_gai_conf_unreadable_lines_are_warned_about() {
    let test = "resolve_gai_conf_unreadable_lines_are_warned_about";
    in_netns(test, || {
        let Some(etc) = Etc::with_gai_conf("gai-bad", WEB, "precedence nonsense\n") else {
            return;
        };
        let (run, doc) = etc.resolve(&["web"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(
            doc.warning_codes(),
            ["gai_conf_unreadable_lines"],
            "{doc:#?}"
        );
        assert_eq!(etc.system_order("web"), doc.system_order());
    });
}

// ---------------------------------------------------------------------------
// UDP: a bound socket "accepts"; --connect has nothing to connect

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_udp_maps_datagrams_to_bound_sockets() {
    in_netns("resolve_udp_maps_datagrams_to_bound_sockets", || {
        let etc = Etc::new("udp", WEB);
        let v6 = crate::harness::udp("[::]:5353", Opts::new().v6only(true));
        let (run, doc) = etc.resolve(&["web:5353", "-u", "--connect"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.protocol, "udp");
        let d = doc.to("::1");
        assert_eq!(d.outcome.as_deref(), Some("accept"), "{doc:#?}");
        assert_eq!(
            d.listener.as_ref().and_then(|s| s.inode),
            Some(inode_of(&v6))
        );
        assert_destination(&doc, "127.0.0.1", "refused", None);
        for address in ["::1", "127.0.0.1"] {
            let c = doc.connect_to(address);
            assert_eq!(c.skipped.as_deref(), Some("udp_has_no_connection"));
        }
        // The datagram to ::1 lands on it.
        let client = std::net::UdpSocket::bind("[::1]:0").expect("bind a client");
        client.send_to(b"x", "[::1]:5353").expect("send");
        v6.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let mut buffer = [std::mem::MaybeUninit::new(0u8); 8];
        let (n, _) = v6.recv_from(&mut buffer).expect("the datagram");
        assert_eq!(n, 1);
    });
}

// ---------------------------------------------------------------------------
// Addresses as people write them (issue 16, items 8 and 10)

/// `[::1]%lo:80`, as ss prints a device-bound endpoint and as who and try
/// read it, is resolved too; a numeric literal glibc reads (`127.1`) has
/// the origin `literal`; headers bracket an IPv6 literal.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_reads_zones_numeric_literals_and_brackets_headers() {
    in_netns(
        "resolve_reads_zones_numeric_literals_and_brackets_headers",
        || {
            let etc = Etc::new("zones", WEB);
            let _v6 = listener("[::]:8000", Opts::new().v6only(false));

            let (run, doc) = etc.resolve(&["[::1]%lo:8000"]);
            assert_eq!(run.code, 0, "{run:#?}");
            assert_eq!(doc.system_order(), ["::1"], "{doc:#?}");
            assert_eq!(doc.to("::1").outcome.as_deref(), Some("accept"), "{doc:#?}");
            let human = etc.human(&["[::1]%lo:8000"], 0);
            assert_eq!(human.lines().next(), Some("[::1]%lo:8000 (tcp)"), "{human}");

            let (run, doc) = etc.resolve(&["127.1:8000"]);
            assert_eq!(run.code, 0, "{run:#?}");
            assert_eq!(doc.system_order(), ["127.0.0.1"], "{doc:#?}");
            assert_eq!(doc.to("127.0.0.1").origin, "literal", "{doc:#?}");

            let human = etc.human(&["::1", "6400"], 1);
            assert_eq!(human.lines().next(), Some("[::1]:6400 (tcp)"), "{human}");
            assert!(human.contains("nothing accepts [::1]:6400"), "{human}");

            // Node's wildcard spelling has one reading; `::1:8000` has two.
            let (run, doc) = etc.resolve(&[":::8000"]);
            assert_eq!((run.code, doc.host.as_str()), (0, "::"), "{run:#?}");
            let run = etc.portcheck(&["resolve", "::1:8000"]);
            assert_eq!(run.code, 2, "{run:#?}");
            assert!(
                run.stderr.contains("[::1]:8000") && run.stderr.contains("[::1:8000]"),
                "{run:#?}"
            );

            let run = etc.portcheck(&["resolve", "[::1]%nosuchif:8000"]);
            assert_eq!(run.code, 2, "{run:#?}");
            assert!(run.stderr.contains("'nosuchif'"), "{run:#?}");
        },
    );
}
