//! `portcheck try` against the kernel: a differential matrix and the seed scenarios.
//!
//! The matrix (section 1) puts existing sockets on a port, asks `portcheck
//! try --no-trial --json` about a candidate (or a plan of candidates) on
//! that port, then makes the candidate's real socket()/setsockopt()/bind()/
//! listen() and compares. Every disagreement is a bug in the model; each
//! matrix test collects them all and fails once with the full list.
//!
//! Cells are batched: many cells on distinct ports share one namespace and
//! one `portcheck try` run (a plan's candidates are bound together, so only
//! candidates on distinct ports share a run).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use socket2::{Domain, SockAddr, Socket, Type};

use crate::harness::{
    self, NOBODY, Opts, Run, SocketDoc, WarningDoc, in_netns, listener, parse_error, portcheck,
    portcheck_as, present, socket_address, tcp_table, who_json, without_new_processes,
};

// ---------------------------------------------------------------------------
// The `try` document, mirrored field by field (deny_unknown_fields and
// `present` lock the schema as the harness does for `who`).

// Fields not read by a test are still part of the locked schema.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TryDoc {
    schema_version: u32,
    command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21).
    #[serde(deserialize_with = "present")]
    hostname: Option<String>,
    #[serde(deserialize_with = "present")]
    kernel: Option<String>,
    complete: bool,
    warnings: Vec<WarningDoc>,
    ok: bool,
    assumed: AssumedDoc,
    candidates: Vec<CandidateDoc>,
    #[serde(deserialize_with = "present")]
    port_map: Option<PortMapDoc>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortMapDoc {
    port: u16,
    protocols: Vec<ProtocolMapDoc>,
    free: Vec<SlotDoc>,
    taken: Vec<SlotDoc>,
    undecided: Vec<SlotDoc>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtocolMapDoc {
    protocol: String,
    slots: usize,
    binding: usize,
    more: usize,
}

#[allow(dead_code)]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotDoc {
    protocol: String,
    address: String,
    #[serde(deserialize_with = "present")]
    v6only: Option<bool>,
    #[serde(deserialize_with = "present")]
    device: Option<String>,
    candidate: usize,
}

impl TryDoc {
    fn warning_codes(&self) -> Vec<&str> {
        self.warnings.iter().map(|w| w.code.as_str()).collect()
    }
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssumedDoc {
    euid: u32,
    can_bind_privileged: bool,
    unprivileged_port_start: u16,
    bindv6only: bool,
    ipv4_nonlocal_bind: bool,
    ipv6_nonlocal_bind: bool,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CandidateDoc {
    index: usize,
    text: String,
    protocol: String,
    family: String,
    address: String,
    port: u16,
    options: OptionsDoc,
    prediction: PredictionDoc,
    trial: TrialDoc,
    #[serde(deserialize_with = "present")]
    agree: Option<bool>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsDoc {
    v6only: bool,
    reuseaddr: bool,
    reuseport: bool,
    listen: bool,
    freebind: bool,
    #[serde(deserialize_with = "present")]
    device: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictionDoc {
    #[serde(deserialize_with = "present")]
    ok: Option<bool>,
    #[serde(deserialize_with = "present")]
    error: Option<String>,
    #[serde(deserialize_with = "present")]
    stage: Option<String>,
    rule: String,
    message: String,
    conflicts: Vec<ConflictDoc>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConflictDoc {
    #[serde(deserialize_with = "present")]
    candidate: Option<usize>,
    #[serde(deserialize_with = "present")]
    socket: Option<SocketDoc>,
    certain: bool,
    depends_on: Vec<String>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrialDoc {
    performed: bool,
    #[serde(deserialize_with = "present")]
    ok: Option<bool>,
    #[serde(deserialize_with = "present")]
    error: Option<String>,
    #[serde(deserialize_with = "present")]
    stage: Option<String>,
    #[serde(deserialize_with = "present")]
    skipped: Option<String>,
    listen_tried: bool,
}

/// The `try` document of a run that did not fail with an error (exit 0 or
/// 1, matching the document's `ok`).
fn parse_try(run: &Run) -> TryDoc {
    let doc: TryDoc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one `try` document ({e}): {run:#?}"));
    assert_eq!(doc.schema_version, 1, "{run:#?}");
    assert_eq!(doc.command, "try", "{run:#?}");
    assert_eq!(
        run.code,
        i32::from(!doc.ok),
        "exit code against ok: {run:#?}"
    );
    doc
}

/// `portcheck try ARGS --json`, parsed.
fn try_json(args: &[&str]) -> (Run, TryDoc) {
    let mut full = vec!["try"];
    full.extend_from_slice(args);
    full.push("--json");
    let run = portcheck(&full);
    let doc = parse_try(&run);
    (run, doc)
}

// ---------------------------------------------------------------------------
// Sockets as the matrix describes them

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    fn kind(self) -> Type {
        match self {
            Proto::Tcp => Type::STREAM,
            Proto::Udp => Type::DGRAM,
        }
    }

    fn raw_kind(self) -> libc::c_int {
        match self {
            Proto::Tcp => libc::SOCK_STREAM,
            Proto::Udp => libc::SOCK_DGRAM,
        }
    }
}

/// An address and, for an IPv6 socket, the IPV6_V6ONLY it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    addr: &'static str,
    v6only: Option<bool>,
}

const fn v4(addr: &'static str) -> Place {
    Place { addr, v6only: None }
}

const fn v6(addr: &'static str, v6only: bool) -> Place {
    Place {
        addr,
        v6only: Some(v6only),
    }
}

/// The second addresses of every matrix namespace (see [`add_addresses`]).
const EXTRA_V4: &str = "10.200.0.1";
const EXTRA_V6: &str = "2001:db8::1";
const MAPPED: &str = "::ffff:127.0.0.1";

/// Every place an existing socket or a candidate takes in the matrix.
const PLACES: [Place; 10] = [
    v4("0.0.0.0"),
    v4("127.0.0.1"),
    v4(EXTRA_V4),
    v6("::", false),
    v6("::", true),
    v6("::1", false),
    v6("::1", true),
    v6(EXTRA_V6, false),
    v6(EXTRA_V6, true),
    v6(MAPPED, false),
];

impl Place {
    fn ip(self) -> IpAddr {
        self.addr
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", self.addr))
    }

    fn socket_address(self, port: u16) -> SocketAddr {
        match self.ip() {
            IpAddr::V6(ip) => SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0)),
            ip @ IpAddr::V4(_) => SocketAddr::new(ip, port),
        }
    }

    /// Where a client connects to reach a listener bound here (an IPv4
    /// client for a dual-stack `[::]` or a mapped address).
    fn reached_at(self) -> IpAddr {
        let ip: IpAddr = match (self.addr, self.v6only) {
            ("0.0.0.0", _) => EXTRA_V4,
            ("::", Some(false)) | (MAPPED, _) => "127.0.0.1",
            ("::", _) => EXTRA_V6,
            (other, _) => other,
        }
        .parse()
        .expect("an address");
        ip
    }
}

/// A socket: protocol, place and options (`listen` only for TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spec {
    proto: Proto,
    place: Place,
    reuseaddr: bool,
    reuseport: bool,
    listen: bool,
}

impl Spec {
    fn listens(&self) -> bool {
        self.proto == Proto::Tcp && self.listen
    }

    /// The candidate in `try` syntax, every option spelled out.
    fn text(&self, port: u16) -> String {
        let host = if self.place.addr.contains(':') {
            format!("[{}]", self.place.addr)
        } else {
            self.place.addr.to_owned()
        };
        let mut options = Vec::new();
        if let Some(only) = self.place.v6only {
            options.push(if only { "v6only" } else { "dualstack" });
        }
        options.push(if self.reuseaddr {
            "reuseaddr"
        } else {
            "noreuseaddr"
        });
        if self.reuseport {
            options.push("reuseport");
        }
        if self.proto == Proto::Tcp {
            options.push(if self.listen { "listen" } else { "nolisten" });
        }
        format!("{}:{host}:{port}/{}", self.proto.name(), options.join(","))
    }

    fn raw(&self, port: u16, listen: bool) -> RawEntry {
        let address = self.place.socket_address(port);
        RawEntry {
            family: if address.is_ipv4() {
                libc::AF_INET
            } else {
                libc::AF_INET6
            },
            kind: self.proto.raw_kind(),
            v6only: self.place.v6only,
            reuseaddr: self.reuseaddr,
            reuseport: self.reuseport,
            listen,
            address: address.into(),
        }
    }
}

/// Every spec over `places`: both SO_REUSEADDR, both SO_REUSEPORT, and for
/// TCP listening or not.
fn specs(proto: Proto, places: &[Place]) -> Vec<Spec> {
    let listens: &[bool] = match proto {
        Proto::Tcp => &[true, false],
        Proto::Udp => &[false],
    };
    let mut out = Vec::new();
    for &place in places {
        for reuseaddr in [false, true] {
            for reuseport in [false, true] {
                for &listen in listens {
                    out.push(Spec {
                        proto,
                        place,
                        reuseaddr,
                        reuseport,
                        listen,
                    });
                }
            }
        }
    }
    out
}

/// What the kernel said to one candidate (or what portcheck predicted).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    ok: bool,
    error: Option<String>,
    stage: Option<&'static str>,
}

impl Seen {
    fn ok() -> Seen {
        Seen {
            ok: true,
            error: None,
            stage: None,
        }
    }

    fn failed(error: &io::Error, stage: &'static str) -> Seen {
        Seen {
            ok: false,
            error: Some(errno_name(error.raw_os_error().unwrap_or(0))),
            stage: Some(stage),
        }
    }

    fn from_raw(stage: i32, errno: i32) -> Seen {
        if stage == 0 {
            return Seen::ok();
        }
        Seen {
            ok: false,
            error: Some(errno_name(errno)),
            stage: Some(match stage {
                1 => "setup",
                2 => "bind",
                _ => "listen",
            }),
        }
    }

    fn show(&self) -> String {
        if self.ok {
            "ok".into()
        } else {
            format!(
                "{} at {}",
                self.error.as_deref().unwrap_or("?"),
                self.stage.unwrap_or("?")
            )
        }
    }
}

fn errno_name(code: i32) -> String {
    match code {
        libc::EADDRINUSE => "EADDRINUSE".into(),
        libc::EACCES => "EACCES".into(),
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL".into(),
        libc::EINVAL => "EINVAL".into(),
        other => format!("errno {other}"),
    }
}

/// socket(), the options the spec names (IPV6_V6ONLY and SO_REUSEADDR
/// always set explicitly, SO_REUSEPORT when on, as portcheck's trial does),
/// bind().
fn open(spec: &Spec, port: u16) -> Result<Socket, Seen> {
    let address = spec.place.socket_address(port);
    let setup = |e: io::Error| Seen::failed(&e, "setup");
    let socket =
        Socket::new(Domain::for_address(address), spec.proto.kind(), None).map_err(setup)?;
    if let Some(only) = spec.place.v6only {
        socket.set_only_v6(only).map_err(setup)?;
    }
    socket.set_reuse_address(spec.reuseaddr).map_err(setup)?;
    if spec.reuseport {
        socket.set_reuse_port(true).map_err(setup)?;
    }
    socket
        .bind(&address.into())
        .map_err(|e| Seen::failed(&e, "bind"))?;
    Ok(socket)
}

/// A plan for real, as `try` models it: every candidate bound in order and
/// kept, then the listening ones listen in order.
fn real_plan(plan: &[Spec], port: u16) -> (Vec<Seen>, Vec<Socket>) {
    let mut seen = Vec::with_capacity(plan.len());
    let mut held = Vec::with_capacity(plan.len());
    for spec in plan {
        match open(spec, port) {
            Ok(socket) => {
                seen.push(Seen::ok());
                held.push(Some(socket));
            }
            Err(failed) => {
                seen.push(failed);
                held.push(None);
            }
        }
    }
    for ((spec, socket), seen) in plan.iter().zip(&held).zip(seen.iter_mut()) {
        if let Some(socket) = socket
            && spec.listens()
            && let Err(error) = socket.listen(16)
        {
            *seen = Seen::failed(&error, "listen");
        }
    }
    (seen, held.into_iter().flatten().collect())
}

// ---------------------------------------------------------------------------
// Forked children: sockets of another uid, binds without privileges

/// One socket a forked child makes, prepared before the fork (the child
/// allocates nothing).
#[derive(Clone)]
struct RawEntry {
    family: libc::c_int,
    kind: libc::c_int,
    v6only: Option<bool>,
    reuseaddr: bool,
    reuseport: bool,
    listen: bool,
    address: SockAddr,
}

/// A forked child of this test; dropping it kills (by pid) and reaps it.
struct Child {
    pid: libc::pid_t,
}

impl Drop for Child {
    fn drop(&mut self) {
        let mut status = 0;
        // SAFETY: our own child, not yet reaped, so the pid is still ours.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, &raw mut status, 0);
        }
    }
}

/// Forks a child that becomes uid and gid `id`, then makes `entries` as a
/// plan (all bound in order, then the listening ones listen) and reports
/// what each step gave. With `hold` the child keeps its sockets until the
/// returned [`Child`] is dropped; otherwise it exits at once.
fn fork_plan(id: u32, entries: &[RawEntry], hold: bool) -> (Child, Vec<Seen>) {
    let mut fds: Vec<libc::c_int> = vec![-1; entries.len()];
    let mut results: Vec<[libc::c_int; 2]> = vec![[0; 2]; entries.len()];
    let mut ends: [RawFd; 2] = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `ends`.
    let rc = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned only here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    // Started as the harness asks: while no other test starts a process, and
    // until the child has closed what it does not keep.
    without_new_processes(|| {
        // SAFETY: the child runs only async-signal-safe libc calls on memory
        // prepared before the fork and never returns into Rust code.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: as above.
            unsafe {
                plan_child(
                    id,
                    entries,
                    &mut fds,
                    &mut results,
                    write_end.as_raw_fd(),
                    hold,
                )
            }
        }
        assert!(pid > 0, "fork: {}", io::Error::last_os_error());
        let child = Child { pid };
        drop(write_end);
        let mut bytes = vec![0u8; entries.len() * 8];
        let mut poll = libc::pollfd {
            fd: read_end.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd that lives for the call.
        let ready = unsafe { libc::poll(&raw mut poll, 1, 10_000) };
        assert_eq!(ready, 1, "forked child {pid} sent nothing within 10 s");
        File::from(read_end)
            .read_exact(&mut bytes)
            .unwrap_or_else(|e| panic!("forked child {pid} ended early: {e}"));
        let seen = bytes
            .chunks_exact(8)
            .map(|pair| {
                let stage = i32::from_ne_bytes(pair[..4].try_into().expect("4 bytes"));
                let errno = i32::from_ne_bytes(pair[4..].try_into().expect("4 bytes"));
                Seen::from_raw(stage, errno)
            })
            .collect();
        (child, seen)
    })
}

/// The forked child: drop to `id`, bind everything, listen, report
/// `(stage, errno)` per entry (stage 0 ok, 1 setup, 2 bind, 3 listen).
unsafe fn plan_child(
    id: u32,
    entries: &[RawEntry],
    fds: &mut [libc::c_int],
    results: &mut [[libc::c_int; 2]],
    out: RawFd,
    hold: bool,
) -> ! {
    // SAFETY: system calls on this (forked) process's own descriptors and
    // memory; every failure ends the child with _exit.
    unsafe {
        if !close_all_but(out) {
            libc::_exit(100);
        }
        let id = libc::c_long::from(id);
        if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
            || libc::syscall(libc::SYS_setgid, id) != 0
            || libc::syscall(libc::SYS_setuid, id) != 0
        {
            libc::_exit(101);
        }
        let errno = || *libc::__errno_location();
        for (i, entry) in entries.iter().enumerate() {
            let fd = libc::socket(entry.family, entry.kind | libc::SOCK_CLOEXEC, 0);
            if fd < 0 {
                results[i] = [1, errno()];
                continue;
            }
            let mut set = true;
            if let Some(only) = entry.v6only {
                set &= set_flag(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, only);
            }
            set &= set_flag(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, entry.reuseaddr);
            if entry.reuseport {
                set &= set_flag(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, true);
            }
            if !set {
                results[i] = [1, errno()];
                libc::close(fd);
                continue;
            }
            if libc::bind(fd, entry.address.as_ptr().cast(), entry.address.len()) != 0 {
                results[i] = [2, errno()];
                libc::close(fd);
                continue;
            }
            fds[i] = fd;
        }
        for (i, entry) in entries.iter().enumerate() {
            if entry.listen && fds[i] >= 0 && libc::listen(fds[i], 16) != 0 {
                results[i] = [3, errno()];
            }
        }
        let bytes = results.as_ptr().cast::<u8>();
        let total = results.len() * 8;
        let mut sent = 0;
        while sent < total {
            let n = libc::write(out, bytes.add(sent).cast(), total - sent);
            let Ok(n) = usize::try_from(n) else {
                libc::_exit(102)
            };
            sent += n;
        }
        if !hold {
            libc::_exit(0);
        }
        loop {
            libc::pause();
        }
    }
}

/// setsockopt of an int flag.
unsafe fn set_flag(fd: libc::c_int, level: libc::c_int, name: libc::c_int, on: bool) -> bool {
    let value = libc::c_int::from(on);
    let size = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: a valid pointer to an int that lives for the call.
    unsafe { libc::setsockopt(fd, level, name, (&raw const value).cast(), size) == 0 }
}

/// Closes every descriptor from 3 up except `keep`.
unsafe fn close_all_but(keep: RawFd) -> bool {
    let Ok(keep) = libc::c_uint::try_from(keep) else {
        return false;
    };
    // SAFETY: closes descriptors of this (forked) process only.
    unsafe {
        (keep <= 3 || libc::syscall(libc::SYS_close_range, 3, keep - 1, 0) == 0)
            && libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0) == 0
    }
}

// ---------------------------------------------------------------------------
// Namespaces with the matrix's addresses

/// `ip addr add`, as a child process of the calling (namespaced) thread.
fn ip(args: &[&str]) {
    let status = without_new_processes(|| Command::new("ip").args(args).status())
        .unwrap_or_else(|e| panic!("run ip {args:?}: {e}"));
    assert!(status.success(), "ip {args:?}: {status}");
}

/// A second IPv4 and a global IPv6 address on lo of this namespace.
fn add_addresses() {
    ip(&["addr", "add", &format!("{EXTRA_V4}/32"), "dev", "lo"]);
    ip(&[
        "-6",
        "addr",
        "add",
        &format!("{EXTRA_V6}/128"),
        "dev",
        "lo",
        "nodad",
    ]);
}

/// Nothing holds `port` in TCP or UDP, on any address: a dual-stack `[::]`
/// without SO_REUSEADDR binds (and listens) there.
fn assert_port_free(port: u16) {
    if let Some(held) = port_held(port) {
        panic!("{held}");
    }
}

/// Why `port` is not free, if it is not.
fn port_held(port: u16) -> Option<String> {
    for proto in [Proto::Tcp, Proto::Udp] {
        let spec = Spec {
            proto,
            place: v6("::", false),
            reuseaddr: false,
            reuseport: false,
            listen: true,
        };
        let (seen, _held) = real_plan(&[spec], port);
        if seen != [Seen::ok()] {
            return Some(format!(
                "{} port {port} is still held after portcheck exited: {}",
                proto.name(),
                seen[0].show()
            ));
        }
    }
    None
}

// ---------------------------------------------------------------------------
// The matrix

/// What an existing socket is doing on its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Listen,
    Bound,
    /// The server side of a connection it closed first.
    TimeWait,
    /// An accepted connection whose listener was closed.
    Established,
}

/// An existing socket of a cell. A cell's own sockets are made in order,
/// then those of uid 65534 (one forked child holds a batch's).
#[derive(Debug, Clone, Copy)]
struct Existing {
    spec: Spec,
    held: Held,
    /// Made by a forked child as uid 65534 instead of this test (root).
    other_uid: bool,
}

impl Existing {
    fn describe(&self) -> String {
        let mut text = format!("{} {:?}", self.spec.text(0), self.held);
        if self.other_uid {
            text.push_str(" uid 65534");
        }
        text.replace(":0/", "/")
    }
}

/// Existing sockets on one port, and the candidates tried there.
#[derive(Debug, Clone)]
struct Cell {
    existing: Vec<Existing>,
    plan: Vec<Spec>,
    /// Sampled existing sockets that may not all bind together; a cell
    /// that cannot be set up is then skipped instead of failing the test.
    may_skip: bool,
}

impl Cell {
    fn new(existing: Vec<Existing>, plan: Vec<Spec>) -> Cell {
        Cell {
            existing,
            plan,
            may_skip: false,
        }
    }

    fn describe(&self, port: u16) -> String {
        let existing: Vec<String> = self.existing.iter().map(Existing::describe).collect();
        let plan: Vec<String> = self.plan.iter().map(|s| s.text(port)).collect();
        format!(
            "port {port}: existing [{}], plan [{}]",
            existing.join("; "),
            plan.join(" ")
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `--no-trial`: the prediction alone, against the kernel.
    Predict,
    /// With the trial: `agree` and the trial's own result are checked too.
    Trial,
}

/// What a matrix run found.
#[derive(Debug, Default)]
struct Tally {
    cells: usize,
    candidates: usize,
    depends: usize,
    runs: usize,
    skipped: Vec<String>,
    /// Cells that had to be set up and could not.
    broken: Vec<String>,
    disagreements: Vec<String>,
    trial_checked: usize,
    rules: BTreeMap<String, usize>,
}

impl Tally {
    fn finish(self, section: &str, started: Instant) {
        eprintln!(
            "bind matrix {section}: {} cells, {} candidates ({} predicted 'depends'), {} portcheck runs, {} cells skipped in setup, {} trial checks, {:.1} s",
            self.cells,
            self.candidates,
            self.depends,
            self.runs,
            self.skipped.len(),
            self.trial_checked,
            started.elapsed().as_secs_f64()
        );
        eprintln!("bind matrix {section}: rules seen {:?}", self.rules);
        MATRIX_CELLS.fetch_add(self.cells, Ordering::Relaxed);
        assert!(
            self.disagreements.is_empty(),
            "{} disagreement(s) between `portcheck try` and the kernel in {section}:\n{}",
            self.disagreements.len(),
            self.disagreements.join("\n")
        );
        assert!(
            self.broken.is_empty(),
            "{} cell(s) of {section} could not be set up:\n{}",
            self.broken.len(),
            self.broken.join("\n")
        );
        assert!(
            self.skipped.len() * 2 <= self.cells,
            "most sampled cells of {section} could not be set up: the sample needs another shape"
        );
    }
}

/// Cells run by every matrix test of this binary so far.
static MATRIX_CELLS: AtomicUsize = AtomicUsize::new(0);

/// Most candidates in one `portcheck try` run.
const RUN_CANDIDATES: usize = 400;
/// Matrix ports start here: below the ephemeral range, so no client socket
/// of a connection lands on a cell's port.
const FIRST_PORT: u16 = 10_000;

/// Runs `cells` in the calling thread's namespace, in batches.
fn run_matrix(cells: &[Cell], mode: Mode, tally: &mut Tally) {
    let mut port = FIRST_PORT;
    let mut start = 0;
    while start < cells.len() {
        let mut end = start;
        let mut count = 0;
        while end < cells.len() && count + cells[end].plan.len() <= RUN_CANDIDATES {
            count += cells[end].plan.len();
            end += 1;
        }
        let count = u16::try_from(end - start).expect("ports fit");
        let ports: Vec<u16> = (port..port + count).collect();
        // With the trial on, portcheck's own binds change the port's
        // SO_REUSEPORT shortcut state where live sockets keep the port's
        // bind bucket alive, so the real plans run on a twin of each cell.
        let twins: Vec<u16> = match mode {
            Mode::Predict => ports.clone(),
            Mode::Trial => (port + count..port + 2 * count).collect(),
        };
        run_batch(&cells[start..end], &ports, &twins, mode, tally);
        port += if mode == Mode::Trial {
            2 * count
        } else {
            count
        };
        assert!(port < 32_000, "the matrix ran out of ports");
        start = end;
    }
}

/// What a batch holds while portcheck and the real binds run.
#[derive(Default)]
struct Setup {
    sockets: Vec<Socket>,
    children: Vec<Child>,
    time_wait: BTreeSet<u16>,
    /// Cells whose existing sockets could not all be made, with why.
    broken: BTreeMap<usize, String>,
}

/// `cells` twice over: on `ports`, and again on `twins` (trial mode).
fn twice(cells: &[Cell], ports: &[u16], twins: &[u16]) -> (Vec<Cell>, Vec<u16>) {
    let all_cells = cells.iter().chain(cells).cloned().collect();
    let all_ports = ports.iter().chain(twins).copied().collect();
    (all_cells, all_ports)
}

fn set_up(cells: &[Cell], ports: &[u16]) -> Setup {
    let mut setup = Setup::default();
    let mut foreign: Vec<(usize, RawEntry)> = Vec::new();
    let mut closing: Vec<(Socket, Socket, Socket)> = Vec::new();
    for (i, (cell, &port)) in cells.iter().zip(ports).enumerate() {
        for existing in &cell.existing {
            let made = match existing.held {
                _ if existing.other_uid => {
                    let listen = existing.held == Held::Listen;
                    foreign.push((i, existing.spec.raw(port, listen)));
                    Ok(())
                }
                Held::Listen | Held::Bound => {
                    let spec = Spec {
                        listen: existing.held == Held::Listen,
                        ..existing.spec
                    };
                    let (seen, held) = real_plan(&[spec], port);
                    setup.sockets.extend(held);
                    if seen[0].ok {
                        Ok(())
                    } else {
                        Err(seen[0].show())
                    }
                }
                Held::TimeWait | Held::Established => {
                    connection(&existing.spec, port).map(|(listener, accepted, client)| {
                        if existing.held == Held::TimeWait {
                            setup.time_wait.insert(port);
                            closing.push((accepted, client, listener));
                        } else {
                            setup.sockets.extend([accepted, client]);
                        }
                    })
                }
            };
            if let Err(why) = made {
                setup
                    .broken
                    .entry(i)
                    .or_insert_with(|| format!("{}: {why}", existing.describe()));
            }
        }
    }
    // The server side closes first, then the client; the listener last. No
    // process may start meanwhile (it would hold copies of the sockets).
    without_new_processes(|| {
        for (accepted, client, listener) in closing {
            drop(accepted);
            drop(client);
            drop(listener);
        }
    });
    if !foreign.is_empty() {
        let entries: Vec<RawEntry> = foreign.iter().map(|(_, e)| e.clone()).collect();
        let (child, seen) = fork_plan(NOBODY, &entries, true);
        for ((i, _), seen) in foreign.iter().zip(seen) {
            if !seen.ok {
                setup
                    .broken
                    .entry(*i)
                    .or_insert_with(|| format!("uid 65534 socket: {}", seen.show()));
            }
        }
        setup.children.push(child);
    }
    wait_for_time_wait(&setup.time_wait);
    setup
}

/// Listener, accepted connection and client on `spec`'s place and `port`.
fn connection(spec: &Spec, port: u16) -> Result<(Socket, Socket, Socket), String> {
    let listening = Spec {
        listen: true,
        proto: Proto::Tcp,
        ..*spec
    };
    let (seen, mut held) = real_plan(&[listening], port);
    if !seen[0].ok {
        return Err(seen[0].show());
    }
    let listener = held.remove(0);
    let target = SocketAddr::new(spec.place.reached_at(), port);
    let client = Socket::new(Domain::for_address(target), Type::STREAM, None)
        .map_err(|e| format!("client socket: {e}"))?;
    client
        .connect(&target.into())
        .map_err(|e| format!("connect {target}: {e}"))?;
    let (accepted, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    Ok((listener, accepted, client))
}

/// Waits (at most 10 s) until every port has its TIME_WAIT entry and
/// nothing else of its connection is left on it.
fn wait_for_time_wait(ports: &BTreeSet<u16>) {
    if ports.is_empty() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let table = tcp_table();
        let done = ports.iter().all(|port| {
            let states: Vec<u8> = table
                .iter()
                .filter(|(p, _)| p == port)
                .map(|(_, s)| *s)
                .collect();
            states == [crate::harness::TCP_TIME_WAIT]
        });
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no lone TIME_WAIT entries on {ports:?} after 10 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One batch: set up, one `portcheck try`, then every plan for real (on
/// `twins`, set up the same way, when they are not `ports`).
fn run_batch(cells: &[Cell], ports: &[u16], twins: &[u16], mode: Mode, tally: &mut Tally) {
    let n = cells.len();
    let setup = if ports == twins {
        set_up(cells, ports)
    } else {
        let (all_cells, all_ports) = twice(cells, ports, twins);
        set_up(&all_cells, &all_ports)
    };
    let broken = |i: usize| setup.broken.get(&i).or_else(|| setup.broken.get(&(i + n)));
    let mut texts: Vec<String> = Vec::new();
    let mut owners: Vec<usize> = Vec::new();
    for (i, (cell, &port)) in cells.iter().zip(ports).enumerate() {
        if let Some(why) = broken(i) {
            let line = format!("{}: {why}", cell.describe(port));
            if cell.may_skip {
                tally.skipped.push(line);
            } else {
                tally.broken.push(line);
            }
            continue;
        }
        for spec in &cell.plan {
            texts.push(spec.text(port));
            owners.push(i);
        }
    }
    if texts.is_empty() {
        return;
    }
    let mut args: Vec<&str> = vec!["try"];
    if mode == Mode::Predict {
        args.push("--no-trial");
    }
    args.push("--json");
    args.extend(texts.iter().map(String::as_str));
    let run = portcheck(&args);
    tally.runs += 1;
    let doc = parse_try(&run);
    assert_eq!(doc.candidates.len(), texts.len(), "{run:#?}");

    let mut next = 0;
    for (i, (cell, (&port, &twin))) in cells.iter().zip(ports.iter().zip(twins)).enumerate() {
        if broken(i).is_some() {
            continue;
        }
        // The trial's sockets went with the portcheck process.
        if mode == Mode::Trial
            && cell.existing.is_empty()
            && let Some(held) = port_held(port)
        {
            tally
                .disagreements
                .push(format!("{}: {held}", cell.describe(port)));
        }
        let docs = &doc.candidates[next..next + cell.plan.len()];
        next += cell.plan.len();
        assert!(owners[next - 1] == i, "candidates out of order");
        let (seen, held) = real_plan(&cell.plan, twin);
        tally.cells += 1;
        for (index, (candidate, seen)) in docs.iter().zip(&seen).enumerate() {
            let what = || format!("{} :: #{index} {}", cell.describe(port), candidate.text);
            judge(candidate, seen, mode, tally, what);
        }
        drop(held);
    }
    drop(setup);
}

/// Compares one candidate's document with what the kernel did.
fn judge(
    candidate: &CandidateDoc,
    seen: &Seen,
    mode: Mode,
    tally: &mut Tally,
    what: impl Fn() -> String,
) {
    tally.candidates += 1;
    let prediction = &candidate.prediction;
    *tally.rules.entry(prediction.rule.clone()).or_default() += 1;
    let same_error = !seen.ok && seen.error == prediction.error;
    let same_failure = same_error && seen.stage.map(str::to_owned) == prediction.stage;
    // "Depends" says: binds, or fails with this error (at a stage that may
    // depend on the same unknown).
    let agrees = match prediction.ok {
        Some(true) => seen.ok,
        Some(false) => same_failure,
        None => {
            tally.depends += 1;
            seen.ok || same_error
        }
    };
    if !agrees {
        tally.disagreements.push(format!(
            "{}\n    predicted {} (rule {}: {})\n    kernel    {}",
            what(),
            predicted(prediction),
            prediction.rule,
            prediction.message,
            seen.show()
        ));
    }
    match mode {
        Mode::Predict => {
            if candidate.trial.performed
                || candidate.trial.skipped.as_deref() != Some("no_trial_flag")
                || candidate.agree.is_some()
            {
                tally.disagreements.push(format!(
                    "{}\n    --no-trial, yet trial {:?}, agree {:?}",
                    what(),
                    candidate.trial,
                    candidate.agree
                ));
            }
        }
        Mode::Trial => check_trial(candidate, seen, tally, &what),
    }
}

fn predicted(prediction: &PredictionDoc) -> String {
    match prediction.ok {
        Some(true) => "ok".into(),
        ok => format!(
            "{}{} at {}",
            if ok.is_none() { "depends: ok or " } else { "" },
            prediction.error.as_deref().unwrap_or("?"),
            prediction.stage.as_deref().unwrap_or("?")
        ),
    }
}

/// With the trial on: `agree` is true wherever the trial was made and the
/// prediction is decided (null only where there is nothing to compare), and
/// the trial saw what the test's own real bind saw.
fn check_trial(
    candidate: &CandidateDoc,
    seen: &Seen,
    tally: &mut Tally,
    what: &dyn Fn() -> String,
) {
    let trial = &candidate.trial;
    let prediction = &candidate.prediction;
    let mut wrong = Vec::new();
    if candidate.agree == Some(false) {
        wrong.push("agree is false".to_owned());
    }
    if trial.performed {
        tally.trial_checked += 1;
        let listens = candidate.options.listen;
        let covered = trial.ok == Some(false) || trial.listen_tried || !listens;
        let comparable = prediction.ok == Some(true)
            || prediction.ok == Some(false)
                && (covered || prediction.stage.as_deref() == Some("bind"));
        if comparable && candidate.agree != Some(true) {
            wrong.push(format!("agree is {:?}, expected true", candidate.agree));
        }
        if !comparable && candidate.agree.is_some() {
            wrong.push(format!(
                "agree is {:?} with nothing to compare",
                candidate.agree
            ));
        }
        let trial_seen = Seen {
            ok: trial.ok == Some(true),
            error: trial.error.clone(),
            stage: trial
                .stage
                .as_deref()
                .map(|s| if s == "bind" { "bind" } else { "listen" }),
        };
        let expected = if covered {
            seen.clone()
        } else if seen.stage == Some("listen") {
            Seen::ok()
        } else {
            seen.clone()
        };
        if trial_seen != expected {
            wrong.push(format!(
                "the trial saw {} where the test's real bind saw {}",
                trial_seen.show(),
                seen.show()
            ));
        }
    } else if candidate.agree.is_some() {
        wrong.push("agree without a trial".to_owned());
    }
    if !wrong.is_empty() {
        tally.disagreements.push(format!(
            "{}\n    trial {:?}, agree {:?}, prediction {}: {}",
            what(),
            trial,
            candidate.agree,
            predicted(prediction),
            wrong.join("; ")
        ));
    }
}

// ---------------------------------------------------------------------------
// Building the cells (deterministic)

/// xorshift64*: a fixed sequence for sampling.
struct Sample(u64);

impl Sample {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let len = u64::try_from(items.len()).expect("a length");
        &items[usize::try_from(self.next() % len).expect("an index")]
    }
}

fn own(spec: Spec, held: Held) -> Existing {
    Existing {
        spec,
        held,
        other_uid: false,
    }
}

/// One existing socket × one candidate, every combination; plus every
/// candidate on a free port.
fn single_cells(proto: Proto) -> Vec<Cell> {
    let states: &[Held] = match proto {
        Proto::Tcp => &[Held::Listen, Held::Bound],
        Proto::Udp => &[Held::Bound],
    };
    let candidates = specs(proto, &PLACES);
    let mut cells: Vec<Cell> = candidates
        .iter()
        .map(|&c| Cell::new(Vec::new(), vec![c]))
        .collect();
    for existing in specs(proto, &PLACES) {
        if existing.proto == Proto::Tcp && !existing.listen {
            continue; // `held` says listening or not
        }
        for &held in states {
            for &candidate in &candidates {
                cells.push(Cell::new(vec![own(existing, held)], vec![candidate]));
            }
        }
    }
    cells
}

/// Candidates that fail before any port check, against nothing and against
/// wildcard listeners: EINVAL for a mapped address on a v6only socket and
/// for link-local without a scope, EADDRNOTAVAIL for addresses not local.
fn error_cells() -> Vec<Cell> {
    let odd = [
        v6(MAPPED, true),
        v4("192.0.2.9"),
        v6("2001:db8::99", false),
        v6("2001:db8::99", true),
        v6("fe80::1", false),
        v6("fe80::1", true),
    ];
    let holders = [
        None,
        Some(Spec {
            proto: Proto::Tcp,
            place: v6("::", false),
            reuseaddr: false,
            reuseport: false,
            listen: true,
        }),
        Some(Spec {
            proto: Proto::Tcp,
            place: v4("0.0.0.0"),
            reuseaddr: true,
            reuseport: true,
            listen: true,
        }),
    ];
    let mut cells = Vec::new();
    for proto in [Proto::Tcp, Proto::Udp] {
        for candidate in specs(proto, &odd) {
            for holder in holders {
                let existing = holder
                    .map(|h| {
                        let spec = Spec { proto, ..h };
                        let held = if proto == Proto::Tcp {
                            Held::Listen
                        } else {
                            Held::Bound
                        };
                        vec![own(spec, held)]
                    })
                    .unwrap_or_default();
                cells.push(Cell::new(existing, vec![candidate]));
            }
        }
    }
    cells
}

/// TCP against UDP on one port: never a conflict, whatever the options.
fn cross_protocol_cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for place in PLACES {
        let tcp = Spec {
            proto: Proto::Tcp,
            place,
            reuseaddr: false,
            reuseport: false,
            listen: true,
        };
        let udp = Spec {
            proto: Proto::Udp,
            listen: false,
            ..tcp
        };
        for other in PLACES {
            cells.push(Cell::new(
                vec![own(tcp, Held::Listen)],
                vec![Spec {
                    place: other,
                    ..udp
                }],
            ));
            cells.push(Cell::new(
                vec![own(udp, Held::Bound)],
                vec![Spec {
                    place: other,
                    ..tcp
                }],
            ));
        }
    }
    cells
}

/// Where the connection cells' listeners sit (and so where their
/// TIME_WAIT and ESTABLISHED sockets end up): 127.0.0.1, 10.200.0.1
/// through 0.0.0.0, ::1, ::ffff:127.0.0.1 through a dual-stack [::], and
/// 2001:db8::1 through a v6only [::].
const CONNECTION_PLACES: [Place; 5] = [
    v4("127.0.0.1"),
    v4("0.0.0.0"),
    v6("::1", true),
    v6("::", false),
    v6("::", true),
];

/// A TIME_WAIT or ESTABLISHED socket (its listener's options) × every TCP
/// candidate.
fn connection_cells(held: Held) -> Vec<Cell> {
    let candidates = specs(Proto::Tcp, &PLACES);
    let mut cells = Vec::new();
    for existing in specs(Proto::Tcp, &CONNECTION_PLACES) {
        if !existing.listen {
            continue;
        }
        for &candidate in &candidates {
            cells.push(Cell::new(vec![own(existing, held)], vec![candidate]));
        }
    }
    cells
}

/// Sockets of uid 65534 × candidates of root: the SO_REUSEPORT uid rule.
fn other_uid_cells() -> Vec<Cell> {
    let places = [
        v4("127.0.0.1"),
        v4("0.0.0.0"),
        v6("::", false),
        v6("::1", true),
    ];
    let mut cells = Vec::new();
    for proto in [Proto::Tcp, Proto::Udp] {
        let states: &[Held] = match proto {
            Proto::Tcp => &[Held::Listen, Held::Bound],
            Proto::Udp => &[Held::Bound],
        };
        let candidates = specs(proto, &PLACES);
        for existing in specs(proto, &places) {
            if proto == Proto::Tcp && !existing.listen {
                continue;
            }
            for &held in states {
                for &candidate in &candidates {
                    cells.push(Cell::new(
                        vec![Existing {
                            spec: existing,
                            held,
                            other_uid: true,
                        }],
                        vec![candidate],
                    ));
                }
            }
        }
    }
    cells
}

/// Where plan candidates sit: the places that collide in interesting ways.
const PLAN_PLACES: [Place; 6] = [
    v4("0.0.0.0"),
    v4("127.0.0.1"),
    v6("::", false),
    v6("::", true),
    v6("::1", true),
    v6(MAPPED, false),
];

/// Every 2-candidate plan over the plan specs, and a sample of 3-candidate
/// plans, for TCP and UDP, on a free port.
fn plan_cells(sample: &mut Sample) -> Vec<Cell> {
    let mut cells = Vec::new();
    for (proto, threes) in [(Proto::Tcp, 1200), (Proto::Udp, 400)] {
        let all = specs(proto, &PLAN_PLACES);
        for &a in &all {
            for &b in &all {
                cells.push(Cell::new(Vec::new(), vec![a, b]));
            }
        }
        for _ in 0..threes {
            let plan = vec![*sample.pick(&all), *sample.pick(&all), *sample.pick(&all)];
            cells.push(Cell::new(Vec::new(), plan));
        }
    }
    cells
}

/// One to three existing sockets (of this test or of uid 65534, listening
/// or not) and a plan of one to three candidates, sampled. Existing sockets
/// that cannot all bind together make the cell be skipped. These cells
/// exercise the order-dependent kernel paths (TCP's SO_REUSEPORT shortcut,
/// UDP's first match in the hash chain), so more is better: set
/// PORTCHECK_MATRIX_SEED to sample another set.
fn mixed_cells(sample: &mut Sample, count: usize) -> Vec<Cell> {
    let mut cells = Vec::new();
    for i in 0..count {
        let proto = if i % 4 == 3 { Proto::Udp } else { Proto::Tcp };
        let all = specs(proto, &PLAN_PLACES);
        let states: &[Held] = match proto {
            Proto::Tcp => &[Held::Listen, Held::Bound],
            Proto::Udp => &[Held::Bound],
        };
        let existing_count = 1 + sample.next() % 3;
        let plan_count = 1 + sample.next() % 3;
        let existing = (0..existing_count)
            .map(|_| Existing {
                spec: *sample.pick(&all),
                held: *sample.pick(states),
                other_uid: sample.next() % 4 == 0,
            })
            .collect();
        let plan = (0..plan_count).map(|_| *sample.pick(&all)).collect();
        cells.push(Cell {
            may_skip: true,
            ..Cell::new(existing, plan)
        });
    }
    cells
}

/// The sampling seed: `fixed`, or PORTCHECK_MATRIX_SEED to explore.
fn matrix_seed(fixed: u64) -> u64 {
    match std::env::var("PORTCHECK_MATRIX_SEED") {
        Ok(text) => {
            let seed = text
                .parse()
                .unwrap_or_else(|e| panic!("PORTCHECK_MATRIX_SEED={text}: {e}"));
            eprintln!("bind matrix: sampling with seed {seed}");
            seed
        }
        Err(_) => fixed,
    }
}

/// Runs `cells` in a fresh namespace with the matrix addresses and fails
/// with every disagreement.
fn matrix_test(section: &str, cells: &[Cell], mode: Mode) {
    in_netns(section, || {
        let started = Instant::now();
        add_addresses();
        let mut tally = Tally::default();
        run_matrix(cells, mode, &mut tally);
        tally.finish(section, started);
        eprintln!(
            "bind matrix: {} cells so far in this test binary",
            MATRIX_CELLS.load(Ordering::Relaxed)
        );
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_matrix_tcp_listening_and_bound() {
    let mut cells = single_cells(Proto::Tcp);
    cells.extend(error_cells());
    cells.extend(cross_protocol_cells());
    matrix_test("try_matrix_tcp_listening_and_bound", &cells, Mode::Predict);
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_matrix_udp() {
    let cells = single_cells(Proto::Udp);
    matrix_test("try_matrix_udp", &cells, Mode::Predict);
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_matrix_time_wait_and_established() {
    let mut cells = connection_cells(Held::TimeWait);
    cells.extend(connection_cells(Held::Established));
    matrix_test(
        "try_matrix_time_wait_and_established",
        &cells,
        Mode::Predict,
    );
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_matrix_other_uid() {
    let cells = other_uid_cells();
    matrix_test("try_matrix_other_uid", &cells, Mode::Predict);
}

/// As uid 65534 against root's sockets, whose SO_REUSEADDR/SO_REUSEPORT
/// uid 65534 cannot read: the rule named is the one that decides. Root's
/// SO_REUSEPORT listener on `0.0.0.0:P` refuses a `reuseport` bind of
/// another uid whatever root's options are, so that is
/// `reuseport_needs_same_uid` (before the fix: `same_address`, as if the
/// missing option were to blame); without SO_REUSEPORT on the candidate the
/// holder's listening alone refuses it (`same_address`); and where the
/// holder's unread SO_REUSEADDR decides (a bound-only holder), it depends
/// on that option and on nothing else. Each is checked against the real
/// bind()/listen() made as uid 65534.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_as_another_uid_names_the_rule_that_decides() {
    in_netns("try_as_another_uid_names_the_rule_that_decides", || {
        let reuse_both = Opts::new().reuseaddr(true).reuseport(true);
        let _held = [
            listener("0.0.0.0:8100", reuse_both),
            listener("0.0.0.0:8101", reuse_both),
            harness::bound(Type::STREAM, "0.0.0.0:8102", reuse_both),
            harness::udp("0.0.0.0:8103", Opts::new().reuseport(true)),
        ];
        let spec = |proto, reuseaddr, reuseport, listen| Spec {
            proto,
            place: v4("0.0.0.0"),
            reuseaddr,
            reuseport,
            listen,
        };
        // (candidate, port, rule, what the answer depends on)
        let cases: [(Spec, u16, &str, &[&str]); 4] = [
            (
                spec(Proto::Tcp, true, true, true),
                8100,
                "reuseport_needs_same_uid",
                &[],
            ),
            (
                spec(Proto::Tcp, true, false, true),
                8101,
                "same_address",
                &[],
            ),
            (
                spec(Proto::Tcp, true, true, false),
                8102,
                "depends_on_unreadable_options",
                &["reuseaddr"],
            ),
            (
                spec(Proto::Udp, false, true, false),
                8103,
                "reuseport_needs_same_uid",
                &[],
            ),
        ];
        // The issue's own spelling first: its defaults are the first case's.
        let mut texts = vec!["0.0.0.0:8100/reuseport".to_owned()];
        texts.extend(cases[1..].iter().map(|(s, port, _, _)| s.text(*port)));
        let mut args = vec!["try", "--no-trial", "--json"];
        args.extend(texts.iter().map(String::as_str));
        let run = portcheck_as(NOBODY, &args);
        let doc = parse_try(&run);
        assert_eq!(doc.assumed.euid, NOBODY, "{run:#?}");
        let entries: Vec<RawEntry> = cases
            .iter()
            .map(|(s, port, _, _)| s.raw(*port, s.listens()))
            .collect();
        let (child, seen) = fork_plan(NOBODY, &entries, false);
        drop(child);
        let mut tally = Tally::default();
        for (i, ((spec, port, rule, depends_on), seen)) in cases.iter().zip(&seen).enumerate() {
            let c = candidate(&doc, i);
            let what = || format!("as uid 65534 against root's: {}", spec.text(*port));
            assert_eq!(
                (c.options.reuseaddr, c.options.reuseport, c.options.listen),
                (spec.reuseaddr, spec.reuseport, spec.listens()),
                "{}: {c:#?}",
                what()
            );
            judge(c, seen, Mode::Predict, &mut tally, what);
            assert_eq!(c.prediction.rule, *rule, "{}: {c:#?}", what());
            let conflict = c.prediction.conflicts.first();
            let unknown = conflict.map(|k| k.depends_on.clone()).unwrap_or_default();
            assert_eq!(unknown, *depends_on, "{}: {c:#?}", what());
        }
        assert!(
            tally.disagreements.is_empty(),
            "{}",
            tally.disagreements.join("\n")
        );
        // What the kernel said, so the cases keep testing what they name.
        let outcome: Vec<(bool, Option<&str>)> = seen.iter().map(|s| (s.ok, s.stage)).collect();
        assert_eq!(
            outcome,
            [
                (false, Some("bind")),
                (false, Some("bind")),
                (true, None),
                (false, Some("bind"))
            ],
            "{seen:?}"
        );
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_matrix_plans() {
    let mut sample = Sample(matrix_seed(0x005E_ED0F_B1ED));
    let mut cells = plan_cells(&mut sample);
    cells.extend(mixed_cells(&mut sample, 4000));
    matrix_test("try_matrix_plans", &cells, Mode::Predict);
}

/// The trial on: a deterministic sample of every section, where `agree`
/// must be true wherever the trial was made and the prediction decided.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn try_trial_agrees_with_the_kernel() {
    let mut sample = Sample(matrix_seed(0x0007_E1A1));
    let mut everything = single_cells(Proto::Tcp);
    everything.extend(single_cells(Proto::Udp));
    everything.extend(error_cells());
    everything.extend(connection_cells(Held::TimeWait));
    everything.extend(connection_cells(Held::Established));
    everything.extend(other_uid_cells());
    everything.extend(plan_cells(&mut sample));
    everything.extend(mixed_cells(&mut sample, 300));
    let cells: Vec<Cell> = everything.into_iter().step_by(7).collect();
    matrix_test("try_trial_agrees_with_the_kernel", &cells, Mode::Trial);
}

// ---------------------------------------------------------------------------
// 2. Named scenarios

fn candidate(doc: &TryDoc, index: usize) -> &CandidateDoc {
    doc.candidates
        .get(index)
        .unwrap_or_else(|| panic!("no candidate #{index} in {doc:#?}"))
}

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
