//! Section 1: the differential matrix.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use super::schema::{CandidateDoc, PredictionDoc, candidate, parse_try};
use crate::harness::{
    self, NOBODY, Opts, in_netns, listener, portcheck, portcheck_as, tcp_table,
    without_new_processes,
};

// ---------------------------------------------------------------------------
// Sockets as the matrix describes them

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proto {
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

    pub(super) fn kind(self) -> Type {
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
pub(super) struct Place {
    pub(super) addr: &'static str,
    pub(super) v6only: Option<bool>,
}

pub(super) const fn v4(addr: &'static str) -> Place {
    Place { addr, v6only: None }
}

const fn v6(addr: &'static str, v6only: bool) -> Place {
    Place {
        addr,
        v6only: Some(v6only),
    }
}

/// The second addresses of every matrix namespace (see [`add_addresses`]).
pub(super) const EXTRA_V4: &str = "10.200.0.1";
pub(super) const EXTRA_V6: &str = "2001:db8::1";
pub(super) const MAPPED: &str = "::ffff:127.0.0.1";

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
pub(super) struct Spec {
    pub(super) proto: Proto,
    pub(super) place: Place,
    pub(super) reuseaddr: bool,
    pub(super) reuseport: bool,
    pub(super) listen: bool,
}

impl Spec {
    pub(super) fn listens(&self) -> bool {
        self.proto == Proto::Tcp && self.listen
    }

    /// The candidate in `try` syntax, every option spelled out.
    pub(super) fn text(&self, port: u16) -> String {
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

    pub(super) fn raw(&self, port: u16, listen: bool) -> RawEntry {
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
pub(super) struct Seen {
    pub(super) ok: bool,
    pub(super) error: Option<String>,
    pub(super) stage: Option<&'static str>,
}

impl Seen {
    pub(super) fn ok() -> Seen {
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
pub(super) fn real_plan(plan: &[Spec], port: u16) -> (Vec<Seen>, Vec<Socket>) {
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
pub(super) struct RawEntry {
    pub(super) family: libc::c_int,
    pub(super) kind: libc::c_int,
    pub(super) v6only: Option<bool>,
    pub(super) reuseaddr: bool,
    pub(super) reuseport: bool,
    pub(super) listen: bool,
    pub(super) address: SockAddr,
}

/// A forked child of this test; dropping it kills (by pid) and reaps it.
pub(super) struct Child {
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
pub(super) fn fork_plan(id: u32, entries: &[RawEntry], hold: bool) -> (Child, Vec<Seen>) {
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
pub(super) fn ip(args: &[&str]) {
    let status = without_new_processes(|| Command::new("ip").args(args).status())
        .unwrap_or_else(|e| panic!("run ip {args:?}: {e}"));
    assert!(status.success(), "ip {args:?}: {status}");
}

/// A second IPv4 and a global IPv6 address on lo of this namespace.
pub(super) fn add_addresses() {
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
pub(super) fn assert_port_free(port: u16) {
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
pub(super) enum Mode {
    /// `--no-trial`: the prediction alone, against the kernel.
    Predict,
    /// With the trial: `agree` and the trial's own result are checked too.
    Trial,
}

/// What a matrix run found.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) cells: usize,
    pub(super) candidates: usize,
    pub(super) depends: usize,
    pub(super) runs: usize,
    pub(super) skipped: Vec<String>,
    /// Cells that had to be set up and could not.
    pub(super) broken: Vec<String>,
    pub(super) disagreements: Vec<String>,
    pub(super) trial_checked: usize,
    pub(super) rules: BTreeMap<String, usize>,
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
pub(super) fn connection(spec: &Spec, port: u16) -> Result<(Socket, Socket, Socket), String> {
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
pub(super) fn wait_for_time_wait(ports: &BTreeSet<u16>) {
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
pub(super) fn judge(
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
