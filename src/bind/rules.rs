//! The conflict model: how Linux decides bind() and listen(), as pure
//! functions over plain data.
//!
//! Sources, read in the kernel tree: `__inet_bind` (net/ipv4/af_inet.c) and
//! `__inet6_bind` (net/ipv6/af_inet6.c) for the order of the EADDRNOTAVAIL,
//! EACCES and EINVAL checks; `inet_csk_bind_conflict` and
//! `inet_bind_conflict` (net/ipv4/inet_connection_sock.c) for TCP sharing;
//! `udp_lib_lport_inuse` (net/ipv4/udp.c) for UDP; `ipv6_rcv_saddr_equal` and
//! `ipv4_rcv_saddr_equal` for when two addresses overlap. The facts and the
//! cases that surprise people are in shared/docs/notes/bind-rules.md; the
//! differential test in tests/cli holds this module to the real kernel.
//!
//! Facts that could not be read (another user's SO_REUSEPORT, a TIME_WAIT
//! entry's SO_REUSEADDR) are `None`, and the model answers "depends" rather
//! than guessing: logic here is three-valued.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::candidate::Candidate;
use crate::model::{Protocol, Socket, State};

/// A three-valued fact: `None` when it could not be read.
pub type Tri = Option<bool>;

fn and(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn not(a: Tri) -> Tri {
    a.map(|v| !v)
}

/// What the model needs to know about the process that would bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub euid: u32,
    /// Root, or CAP_NET_BIND_SERVICE in the effective set.
    pub can_bind_privileged: bool,
    /// `net.ipv4.ip_unprivileged_port_start` (it covers IPv6 too).
    pub unprivileged_port_start: u16,
    pub ipv4_nonlocal_bind: bool,
    pub ipv6_nonlocal_bind: bool,
}

/// Who holds an entry of the bind table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holder {
    /// A live socket: its index in the socket list given to the model.
    Live(usize),
    /// An earlier (or, at listen time, any other) candidate of the plan.
    Candidate(usize),
}

/// An entry of the port's bind table, live or planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub holder: Holder,
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    /// Effective IPV6_V6ONLY: implied for a specific non-mapped IPv6
    /// address, false for IPv4 sockets and mapped binds.
    pub v6only: Tri,
    pub device: Option<String>,
    pub reuseaddr: Tri,
    pub reuseport: Tri,
    pub listening: bool,
    pub time_wait: bool,
    /// A connection (ESTABLISHED, CLOSE_WAIT, ...): it shares the port's
    /// bind bucket, but will never bind or listen again.
    pub connected: bool,
    /// A connection no process holds yet (inode 0): it waits in its
    /// listener's accept queue, with the listener's options.
    pub queued: bool,
    pub uid: Option<u32>,
}

impl Binding {
    /// A live socket as the bind table holds it; `None` for request
    /// sockets (SYN_RECV), which are not in the bind table.
    pub fn from_socket(index: usize, socket: &Socket) -> Option<Binding> {
        if socket.state == State::SynRecv {
            return None;
        }
        let connected = !matches!(
            socket.state,
            State::Listen | State::Unconn | State::TimeWait
        );
        Some(Binding {
            holder: Holder::Live(index),
            protocol: socket.protocol,
            address: socket.local_address,
            port: socket.local_port,
            v6only: effective_v6only(socket.local_address, socket.v6only),
            device: socket.interface.clone(),
            reuseaddr: socket.reuseaddr,
            reuseport: socket.reuseport,
            listening: socket.state == State::Listen,
            time_wait: socket.state == State::TimeWait,
            connected,
            queued: connected && socket.inode.is_none_or(|inode| inode == 0),
            uid: socket.uid,
        })
    }

    pub fn from_candidate(candidate: &Candidate, euid: u32, listening: bool) -> Binding {
        Binding {
            holder: Holder::Candidate(candidate.index),
            protocol: candidate.protocol,
            address: candidate.address,
            port: candidate.port,
            v6only: effective_v6only(candidate.address, Some(candidate.options.v6only)),
            device: candidate.device().map(str::to_owned),
            reuseaddr: Some(candidate.options.reuseaddr),
            reuseport: Some(candidate.options.reuseport),
            listening,
            time_wait: false,
            connected: false,
            queued: false,
            uid: Some(euid),
        }
    }
}

/// The kernel sets IPV6_V6ONLY itself when a specific non-mapped IPv6
/// address is bound; a mapped bind is an IPv4 bind.
fn effective_v6only(address: IpAddr, flag: Tri) -> Tri {
    match address {
        IpAddr::V4(_) => Some(false),
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => Some(false),
        IpAddr::V6(v6) if v6 == Ipv6Addr::UNSPECIFIED => flag,
        IpAddr::V6(_) => Some(true),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Errno {
    AddrInUse,
    Access,
    AddrNotAvail,
    Inval,
}

impl Errno {
    pub fn name(self) -> &'static str {
        match self {
            Errno::AddrInUse => "EADDRINUSE",
            Errno::Access => "EACCES",
            Errno::AddrNotAvail => "EADDRNOTAVAIL",
            Errno::Inval => "EINVAL",
        }
    }

    pub fn from_raw(code: i32) -> Option<Errno> {
        match code {
            98 => Some(Errno::AddrInUse),
            13 => Some(Errno::Access),
            99 => Some(Errno::AddrNotAvail),
            22 => Some(Errno::Inval),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Bind,
    Listen,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Bind => "bind",
            Stage::Listen => "listen",
        }
    }
}

/// How two bound addresses overlap, from the candidate's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    SameAddress,
    /// The holder is the wildcard of the candidate's family.
    HolderWildcard,
    /// The candidate is a wildcard over the holder's address.
    CandidateWildcard,
    /// The candidate is a dual-stack `[::]` and the holder IPv4.
    CandidateDualStack,
    /// The holder is a dual-stack `[::]` and the candidate IPv4.
    HolderDualStack,
    /// One side is an IPv4-mapped address, which binds as IPv4.
    Mapped,
}

/// Why two overlapping sockets may not share the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotShared {
    /// SO_REUSEADDR is missing on one side and SO_REUSEPORT does not apply.
    MissingReuse,
    /// Both have SO_REUSEADDR but the holder listens.
    HolderListens,
    /// The new socket has SO_REUSEPORT, the holder has it too (or it could
    /// not be read), and they have different owners.
    ReuseportOtherUid,
    /// A TIME_WAIT entry yields only to SO_REUSEADDR on both sides.
    TimeWait,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub holder: Holder,
    pub overlap: Overlap,
    pub why: NotShared,
    /// False when the conflict depends on a fact that could not be read.
    pub certain: bool,
    /// The unreadable facts it depends on.
    pub unknown: Vec<&'static str>,
}

/// The model's answer for one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `Some(true)` binds (and listens), `Some(false)` fails, `None`
    /// depends on a fact that could not be read.
    pub ok: Tri,
    /// The error when it fails, or would fail if the unknown goes badly.
    pub error: Option<Errno>,
    pub stage: Option<Stage>,
    /// A stable snake_case name for the rule that decided.
    pub rule: &'static str,
    pub conflicts: Vec<Conflict>,
    /// Live sockets whose future listen() this candidate would break
    /// (both bound with SO_REUSEADDR, the live one not yet listening).
    pub breaks_listen_of: Vec<usize>,
}

/// The rule of a verdict that was not made: the OS is not one whose bind
/// rules this module models.
pub const NO_MODEL: &str = "no_model_for_os";

impl Verdict {
    /// No prediction: the model is Linux's, and these are not Linux's rules.
    pub fn no_model() -> Verdict {
        Verdict {
            ok: None,
            error: None,
            stage: None,
            rule: NO_MODEL,
            conflicts: Vec::new(),
            breaks_listen_of: Vec::new(),
        }
    }

    /// Whether the model predicted anything.
    pub fn predicted(&self) -> bool {
        self.rule != NO_MODEL
    }

    fn ok(rule: &'static str) -> Verdict {
        Verdict {
            ok: Some(true),
            error: None,
            stage: None,
            rule,
            conflicts: Vec::new(),
            breaks_listen_of: Vec::new(),
        }
    }

    fn fail(error: Errno, stage: Stage, rule: &'static str) -> Verdict {
        Verdict {
            ok: Some(false),
            error: Some(error),
            stage: Some(stage),
            rule,
            conflicts: Vec::new(),
            breaks_listen_of: Vec::new(),
        }
    }

    /// Whether later candidates should see this one in the bind table. A
    /// "depends" candidate is assumed bound, as the trial will show.
    fn bound(&self) -> bool {
        self.ok != Some(false) || self.stage == Some(Stage::Listen)
    }
}

/// Every rule name `try` can report, with what it means (the man page and
/// the tests list them from here).
pub const RULES: &[(&str, &str)] = &[
    ("port_unused", "no socket of this protocol holds the port"),
    (
        "no_overlap",
        "sockets hold the port, but none overlaps this address (a v6only [::] beside 0.0.0.0, two different specific addresses)",
    ),
    (
        "different_device",
        "the overlapping sockets are bound to other devices (SO_BINDTODEVICE)",
    ),
    (
        "shared_reuseaddr",
        "both sockets set SO_REUSEADDR and the holder does not listen, so the port is shared",
    ),
    (
        "shared_reuseport",
        "both sockets set SO_REUSEPORT under one uid (or the holder is TIME_WAIT): they form a reuseport group",
    ),
    (
        "reuseport_shortcut",
        "the kernel's SO_REUSEPORT shortcut let it in without checking every socket on the port: on TCP an earlier SO_REUSEPORT socket of the same uid covering this address set the port's fastreuseport state; on UDP the first socket met in the port's hash chain shares through SO_REUSEPORT",
    ),
    (
        "ephemeral_port",
        "port 0: the kernel picks a free ephemeral port",
    ),
    (
        "same_address",
        "the holder is bound to the same address and port",
    ),
    (
        "wildcard_covers_address",
        "the holder is bound to the wildcard (0.0.0.0 or [::]) that covers this address",
    ),
    (
        "candidate_wildcard_covers_address",
        "this wildcard covers an address the holder is bound to",
    ),
    (
        "dual_stack_wildcard_overlaps_ipv4",
        "a [::] socket without IPV6_V6ONLY also takes IPv4, so it collides with IPv4 binds on the port",
    ),
    (
        "mapped_address_is_ipv4",
        "an IPv4-mapped IPv6 address ([::ffff:a.b.c.d]) binds as IPv4 and collides with the IPv4 socket",
    ),
    (
        "listener_never_shares",
        "SO_REUSEADDR on both sides does not share a port with a socket that listens",
    ),
    (
        "reuseport_needs_same_uid",
        "SO_REUSEPORT on both sides shares only between sockets of the same effective uid",
    ),
    (
        "time_wait_needs_reuseaddr",
        "a TIME_WAIT entry blocks the address unless both it and the new socket had SO_REUSEADDR",
    ),
    (
        "depends_on_unreadable_options",
        "the verdict depends on SO_REUSEADDR/SO_REUSEPORT of a socket that could not be read (another user's, or a TIME_WAIT entry's)",
    ),
    (
        "depends_on_bind_order",
        "the verdict depends on the order in which the sockets on the port were bound (the kernel's SO_REUSEPORT shortcut), which no socket table shows",
    ),
    (
        "depends_on_unknown_v6only",
        "the verdict depends on IPV6_V6ONLY of a [::] socket the kernel did not report",
    ),
    (
        "depends_on_unlisted_sockets",
        "nothing listed is in the way, but the socket source cannot list TCP sockets that are bound without listening (netstat2), and one may hold the port",
    ),
    (
        "depends_on_unknown_device",
        "the conflict depends on a socket's bound device (SO_BINDTODEVICE), which the socket source does not report (netstat2)",
    ),
    (
        "no_model_for_os",
        "no prediction: the model is Linux's, and this OS's bind rules differ; the trial bind alone answers",
    ),
    (
        "privileged_port",
        "ports below net.ipv4.ip_unprivileged_port_start need root or CAP_NET_BIND_SERVICE (EACCES)",
    ),
    (
        "address_not_local",
        "the address is not assigned to this host and neither freebind nor ip_nonlocal_bind is set (EADDRNOTAVAIL)",
    ),
    (
        "mapped_address_on_v6only",
        "an IPv4-mapped address cannot be bound with IPV6_V6ONLY set (EINVAL)",
    ),
    (
        "link_local_needs_scope",
        "a link-local IPv6 address needs an interface: [fe80::1%eth0] or device= (EINVAL)",
    ),
    (
        "tcp_multicast",
        "TCP cannot bind a multicast address (EINVAL)",
    ),
];

/// The rules as the man page lists them (kept in step with `RULES` by a
/// test).
pub const RULES_HELP: &str = "\
Rules (prediction.rule in JSON):
  port_unused                        no socket of this protocol holds the port
  no_overlap                         sockets hold the port, but none overlaps this address
  different_device                   the overlapping sockets are bound to other devices
  shared_reuseaddr                   SO_REUSEADDR on both sides, and the holder does not listen
  shared_reuseport                   SO_REUSEPORT on both sides under one uid (or a TIME_WAIT holder)
  reuseport_shortcut                 the kernel's SO_REUSEPORT shortcut let it in without checking every socket
  ephemeral_port                     port 0: the kernel picks a free port
  same_address                       the holder has the same address and port (EADDRINUSE)
  wildcard_covers_address            the holder's 0.0.0.0 or [::] covers this address (EADDRINUSE)
  candidate_wildcard_covers_address  this wildcard covers the holder's address (EADDRINUSE)
  dual_stack_wildcard_overlaps_ipv4  [::] without IPV6_V6ONLY also takes IPv4 (EADDRINUSE)
  mapped_address_is_ipv4             [::ffff:a.b.c.d] binds as IPv4 (EADDRINUSE)
  listener_never_shares              SO_REUSEADDR never shares with a listening socket (EADDRINUSE)
  reuseport_needs_same_uid           SO_REUSEPORT shares only within one effective uid (EADDRINUSE)
  time_wait_needs_reuseaddr          a TIME_WAIT entry yields only to SO_REUSEADDR on both (EADDRINUSE)
  depends_on_unreadable_options      depends on another socket's SO_REUSEADDR/SO_REUSEPORT, unreadable
  depends_on_bind_order              depends on the order the port's sockets were bound, not reported
  depends_on_unknown_v6only          depends on a [::] socket's IPV6_V6ONLY, not reported
  depends_on_unlisted_sockets        nothing listed is in the way, but bound-only TCP sockets are not listed (netstat2)
  depends_on_unknown_device          depends on a socket's bound device, not reported (netstat2)
  no_model_for_os                    no prediction off Linux: the trial bind alone answers
  privileged_port                    below ip_unprivileged_port_start without CAP_NET_BIND_SERVICE (EACCES)
  address_not_local                  not an address of this host, no freebind/ip_nonlocal_bind (EADDRNOTAVAIL)
  mapped_address_on_v6only           an IPv4-mapped address with IPV6_V6ONLY (EINVAL)
  link_local_needs_scope             a link-local IPv6 address without an interface (EINVAL)
  tcp_multicast                      TCP cannot bind a multicast address (EINVAL)";

/// Predicts a plan: every candidate bound in order, then the listening
/// ones listen in order, all kept open, against the live bind table.
///
/// `address_valid[i]` says whether candidate i's address is local (or
/// multicast/broadcast) on this host; `None` when that could not be told.
///
/// Candidates meet only the sockets of their own protocol and port, so each
/// port is predicted on its own. On a TCP port the kernel keeps a shortcut
/// for SO_REUSEPORT binds (see [`Shortcut`]) whose state depends on the
/// order the port's sockets were bound, which no socket table shows: the
/// plan is predicted under every state the live sockets allow, and a
/// candidate whose outcome differs between them depends on that order.
pub fn predict_plan(
    host: &Host,
    live: &[Binding],
    candidates: &[Candidate],
    address_valid: &[Tri],
) -> Vec<Verdict> {
    let mut groups: Vec<(Protocol, u16, Vec<usize>)> = Vec::new();
    for (i, candidate) in candidates.iter().enumerate() {
        let key = (candidate.protocol, candidate.port);
        match groups.iter_mut().find(|(p, port, _)| (*p, *port) == key) {
            Some((_, _, members)) => members.push(i),
            None => groups.push((key.0, key.1, vec![i])),
        }
    }
    let live = &with_queued_options(live);
    let mut verdicts: Vec<Option<Verdict>> = vec![None; candidates.len()];
    for (protocol, port, members) in groups {
        let on_port: Vec<&Binding> = live
            .iter()
            .filter(|b| b.protocol == protocol && b.port == port)
            .collect();
        let starts = if protocol == Protocol::Tcp && port != 0 {
            Shortcut::possible_states(&on_port)
        } else {
            vec![Shortcut::Off]
        };
        let courses: Vec<Branch> = starts
            .into_iter()
            .flat_map(|start| simulate(host, live, candidates, &members, address_valid, start))
            .collect();
        for (k, &i) in members.iter().enumerate() {
            let variants: Vec<(&Verdict, Option<&'static str>)> = courses
                .iter()
                .filter_map(|course| course.verdicts.get(k).map(|v| (v, course.assumed)))
                .collect();
            verdicts[i] = merge(&variants);
        }
    }
    verdicts.into_iter().flatten().collect()
}

/// The live table with the options of queued connections filled in from
/// their listener: `sk_clone_lock` gives a connection its listener's
/// `sk_reuse` and `sk_reuseport`, and no process can have changed them
/// before accept(). Where several live listeners could have taken the
/// connection and disagree, the options stay unknown.
fn with_queued_options(live: &[Binding]) -> Vec<Binding> {
    let mut out = live.to_vec();
    for entry in out.iter_mut().filter(|b| b.queued) {
        let parents: Vec<&Binding> = live
            .iter()
            .filter(|l| {
                l.listening
                    && l.protocol == entry.protocol
                    && l.port == entry.port
                    && devices_overlap(l, entry)
                    && rcv_saddr_equal(&Side::of(l), &Side::of(entry), true, false) == Some(true)
            })
            .collect();
        let agreed = |get: fn(&Binding) -> Tri| {
            let first = get(parents.first()?);
            parents
                .iter()
                .all(|p| get(p) == first)
                .then_some(first)
                .flatten()
        };
        if entry.reuseaddr.is_none() {
            entry.reuseaddr = agreed(|b| b.reuseaddr);
        }
        if entry.reuseport.is_none() {
            entry.reuseport = agreed(|b| b.reuseport);
        }
    }
    out
}

/// One course of a port's plan: the shortcut state, the candidates bound
/// so far, the verdicts so far, and the undecided outcome it first assumed.
#[derive(Debug, Clone)]
struct Branch {
    shortcut: Shortcut,
    bound: Vec<Binding>,
    verdicts: Vec<Verdict>,
    assumed: Option<&'static str>,
}

/// Most courses followed for one port; past it, undecided outcomes are
/// assumed to go well (bound, listening) without another course.
const MAX_BRANCHES: usize = 64;

/// One port's candidates, bound in order and then listening in order, from
/// one state of the port's SO_REUSEPORT shortcut. Where an outcome is
/// undecided ("depends"), both courses are followed, so later candidates
/// are never decided on an assumption.
fn simulate(
    host: &Host,
    live: &[Binding],
    candidates: &[Candidate],
    members: &[usize],
    address_valid: &[Tri],
    start: Shortcut,
) -> Vec<Branch> {
    let mut branches = vec![Branch {
        shortcut: start,
        bound: Vec::new(),
        verdicts: Vec::with_capacity(members.len()),
        assumed: None,
    }];
    for &i in members {
        let valid = address_valid.get(i).copied().flatten();
        branches = fork_all(branches, |branch| {
            bind_step(host, live, &candidates[i], valid, branch)
        });
    }
    // listen(): the kernel runs the port check again (`inet_csk_get_port`
    // from `inet_csk_listen_start`) now that the socket listens, against
    // everything bound by then; earlier listeners now LISTEN.
    for (k, &i) in members.iter().enumerate() {
        branches = fork_all(branches, |branch| {
            listen_step(host, live, &candidates[i], k, branch)
        });
    }
    branches
}

fn fork_all(branches: Vec<Branch>, step: impl Fn(Branch) -> Vec<Branch>) -> Vec<Branch> {
    let room = branches.len() < MAX_BRANCHES;
    let mut next = Vec::with_capacity(branches.len());
    for branch in branches {
        let mut courses = step(branch);
        if !room {
            courses.truncate(1);
        }
        next.extend(courses);
    }
    next
}

/// bind() of one candidate in one course: the course where it binds first,
/// then, when that is undecided, the course where it does not.
fn bind_step(
    host: &Host,
    live: &[Binding],
    candidate: &Candidate,
    valid: Tri,
    mut branch: Branch,
) -> Vec<Branch> {
    let verdict = predict_bind(
        host,
        live,
        &branch.bound,
        candidate,
        valid,
        &branch.shortcut,
    );
    // A port-0 candidate gets a port of its own: it meets no one.
    if candidate.port == 0 || !verdict.bound() {
        branch.verdicts.push(verdict);
        return vec![branch];
    }
    let mut refused = None;
    if verdict.ok.is_none() {
        branch.assumed.get_or_insert(verdict.rule);
        let mut course = branch.clone();
        course.verdicts.push(verdict.clone());
        refused = Some(course);
    }
    let binding = Binding::from_candidate(candidate, host.euid, false);
    branch.shortcut.update(&binding);
    branch.bound.push(binding);
    branch.verdicts.push(verdict);
    std::iter::once(branch).chain(refused).collect()
}

/// listen() of one candidate in one course (the k-th of its port).
fn listen_step(
    host: &Host,
    live: &[Binding],
    candidate: &Candidate,
    k: usize,
    mut branch: Branch,
) -> Vec<Branch> {
    let me = Holder::Candidate(candidate.index);
    if !candidate.options.listen
        || candidate.protocol != Protocol::Tcp
        || candidate.port == 0
        || !branch.bound.iter().any(|b| b.holder == me)
    {
        return vec![branch];
    }
    let new = Binding::from_candidate(candidate, host.euid, true);
    let listen_verdict = if branch.shortcut.admits(&new) {
        None
    } else {
        let others = branch.bound.iter().filter(|b| b.holder != me);
        conflict_verdict(
            conflicts_with(&new, live.iter().chain(others)),
            Stage::Listen,
        )
    };
    let mut refused = None;
    if let Some(listen_verdict) = listen_verdict {
        let undecided = listen_verdict.ok.is_none();
        // A bind that "depends" and a listen that surely fails still fail.
        if branch.verdicts[k].ok == Some(true) || listen_verdict.ok == Some(false) {
            branch.verdicts[k] = listen_verdict;
        }
        if undecided {
            branch.assumed.get_or_insert(branch.verdicts[k].rule);
            // The course where this listen() fails: bound, not listening.
            refused = Some(branch.clone());
        }
    }
    if branch.verdicts[k].ok == Some(false) {
        return vec![branch];
    }
    if let Some(entry) = branch.bound.iter_mut().find(|b| b.holder == me) {
        entry.listening = true;
    }
    branch.shortcut.update(&new);
    branch.verdicts[k].breaks_listen_of = broken_listens(&new, live);
    std::iter::once(branch).chain(refused).collect()
}

/// One candidate's verdict from its verdicts in every course of its port
/// (every shortcut state the live sockets allow, every undecided outcome
/// of earlier candidates): one outcome everywhere decides; otherwise it
/// depends on what decided the courses apart.
fn merge(variants: &[(&Verdict, Option<&'static str>)]) -> Option<Verdict> {
    let (first, _) = *variants.first()?;
    let outcome = |v: &Verdict| (v.ok, v.error, v.stage);
    if variants.iter().all(|(v, _)| outcome(v) == outcome(first)) {
        // Prefer an explanation that does not need the shortcut.
        let plain = variants
            .iter()
            .map(|(v, _)| *v)
            .find(|v| v.rule != "reuseport_shortcut")
            .unwrap_or(first);
        return Some(plain.clone());
    }
    let undecided = variants.iter().find(|(v, _)| v.ok.is_none());
    let failing = variants.iter().find(|(v, _)| v.ok == Some(false));
    let mut verdict = match (undecided, failing) {
        // Unreadable facts already make it "depends": that explains it.
        (Some((v, _)), _) => (*v).clone(),
        (None, Some((v, _))) => {
            let mut verdict = (*v).clone();
            verdict.ok = None;
            // Courses part on an earlier candidate's undecided outcome, or
            // else on the port's shortcut state: its bind order.
            verdict.rule = variants
                .iter()
                .find_map(|(_, assumed)| *assumed)
                .unwrap_or("depends_on_bind_order");
            for conflict in &mut verdict.conflicts {
                conflict.certain = false;
                if verdict.rule == "depends_on_bind_order" {
                    conflict.unknown.push("bind_order");
                }
            }
            verdict
        }
        (None, None) => first.clone(),
    };
    verdict.breaks_listen_of = variants
        .iter()
        .flat_map(|(v, _)| v.breaks_listen_of.iter().copied())
        .collect();
    verdict.breaks_listen_of.sort_unstable();
    verdict.breaks_listen_of.dedup();
    Some(verdict)
}

/// The kernel's shortcut for SO_REUSEPORT on a TCP port: the bind
/// bucket's `fastreuseport` with `fastuid` and the `fast_*rcv_saddr` of the
/// socket that set it (`sk_reuseport_match`, `inet_csk_update_fastreuse`
/// in net/ipv4/inet_connection_sock.c). A socket with SO_REUSEPORT that
/// the shortcut matches gets the port, at bind and at listen, without the
/// pairwise check against the other sockets on it; seen on Linux 6.18:
/// `127.0.0.1:P` with SO_REUSEADDR, then `0.0.0.0:P` with SO_REUSEADDR and
/// SO_REUSEPORT, then `127.0.0.1:P` with SO_REUSEPORT alone binds, though
/// it conflicts with the first.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shortcut {
    /// The port has no sockets: the next one starts the state afresh.
    Fresh,
    /// `fastreuseport` 0: every bind takes the pairwise check.
    Off,
    /// `FASTREUSEPORT_ANY`: every socket on the port set SO_REUSEPORT under
    /// this uid (the pairwise check would agree).
    Any { uid: u32 },
    /// `FASTREUSEPORT_STRICT`: set by the last SO_REUSEPORT socket that did
    /// not match; a later one of this uid whose address that socket's
    /// address covers is let in unchecked.
    Strict { uid: u32, by: Box<Binding> },
}

impl Shortcut {
    /// The states a port with these live sockets can be in. Without their
    /// bind order (no socket table has it) every state some order leads to
    /// is possible; sockets that came and went are not known and ignored.
    fn possible_states(on_port: &[&Binding]) -> Vec<Shortcut> {
        if on_port.is_empty() {
            return vec![Shortcut::Fresh];
        }
        let first_uid = on_port[0].uid;
        if first_uid.is_some()
            && on_port
                .iter()
                .all(|b| b.reuseport == Some(true) && b.uid == first_uid)
        {
            return first_uid
                .map(|uid| Shortcut::Any { uid })
                .into_iter()
                .collect();
        }
        let mut states = Vec::new();
        if on_port.iter().any(|b| b.reuseport != Some(true)) {
            states.push(Shortcut::Off);
        }
        for socket in on_port {
            if socket.reuseport != Some(false)
                && !socket.time_wait
                && let Some(uid) = socket.uid
            {
                let state = Shortcut::Strict {
                    uid,
                    by: Box::new((*socket).clone()),
                };
                if !states.contains(&state) {
                    states.push(state);
                }
            }
        }
        if states.is_empty() {
            states.push(Shortcut::Off);
        }
        states
    }

    /// `sk_reuseport_match`: the new socket gets the port unchecked.
    fn admits(&self, new: &Binding) -> bool {
        if new.reuseport != Some(true) {
            return false;
        }
        match self {
            Shortcut::Fresh | Shortcut::Off => false,
            Shortcut::Any { uid } => new.uid == Some(*uid),
            // `fast_*rcv_saddr` covers the new address: the fast socket's
            // wildcard counts, the new socket's does not.
            Shortcut::Strict { uid, by } => {
                new.uid == Some(*uid)
                    && devices_overlap(by, new)
                    && rcv_saddr_equal(&Side::of(by), &Side::of(new), true, false) == Some(true)
            }
        }
    }

    /// `inet_csk_update_fastreuse` once `socket` got the port (bind, or
    /// listen).
    fn update(&mut self, socket: &Binding) {
        let reuseport = socket.reuseport == Some(true);
        *self = match (&*self, socket.uid) {
            (Shortcut::Fresh, Some(uid)) if reuseport => Shortcut::Any { uid },
            (Shortcut::Fresh, _) => Shortcut::Off,
            _ if !reuseport => Shortcut::Off,
            (state, _) if state.admits(socket) => state.clone(),
            (_, Some(uid)) => Shortcut::Strict {
                uid,
                by: Box::new(socket.clone()),
            },
            (_, None) => Shortcut::Off,
        };
    }
}

/// One bind(): the address checks in the kernel's order, then the port.
fn predict_bind(
    host: &Host,
    live: &[Binding],
    planned: &[Binding],
    candidate: &Candidate,
    address_valid: Tri,
    shortcut: &Shortcut,
) -> Verdict {
    if let Some(verdict) = address_checks(host, candidate, address_valid) {
        return verdict;
    }
    if candidate.port == 0 {
        return Verdict::ok("ephemeral_port");
    }
    let new = Binding::from_candidate(candidate, host.euid, false);
    let same_port = |b: &&Binding| b.protocol == new.protocol && b.port == new.port;
    let live_on_port: Vec<&Binding> = live.iter().filter(same_port).collect();
    let planned_on_port: Vec<&Binding> = planned.iter().filter(same_port).collect();
    let on_port: Vec<&Binding> = live_on_port
        .iter()
        .chain(planned_on_port.iter())
        .copied()
        .collect();
    if on_port.is_empty() {
        return Verdict::ok("port_unused");
    }
    let conflicts = conflicts_with(&new, on_port.iter().copied());
    match new.protocol {
        Protocol::Tcp => match conflict_verdict(conflicts, Stage::Bind) {
            Some(_) if shortcut.admits(&new) => Verdict::ok("reuseport_shortcut"),
            Some(verdict) => verdict,
            None => Verdict::ok(sharing_rule(&new, &on_port)),
        },
        Protocol::Udp => {
            let pairwise = conflict_verdict(conflicts, Stage::Bind);
            match (
                udp_first_match(&new, &live_on_port, &planned_on_port),
                pairwise,
            ) {
                // The shortcut is the reason only where the pairwise check
                // would refuse.
                (Some(verdict), Some(_)) | (None, Some(verdict)) => verdict,
                (Some(verdict), None) if verdict.ok != Some(true) => verdict,
                _ => Verdict::ok(sharing_rule(&new, &on_port)),
            }
        }
    }
}

/// Where a UDP socket sits in its port's hash chain: `udp_lib_get_port`
/// adds IPv6 sockets with SO_REUSEPORT at the tail, every other socket at
/// the head.
fn udp_chain_tail(socket: &Binding) -> Tri {
    if socket.address.is_ipv4() {
        Some(false)
    } else {
        socket.reuseport
    }
}

/// `udp_lib_lport_inuse`: the kernel walks the port's hash chain, and the
/// first overlapping socket that does not share through SO_REUSEADDR on
/// both decides, unlike TCP's check of every socket: SO_REUSEPORT on both
/// under one uid lets the new socket in, anything else refuses it, and the
/// sockets after it are not looked at (seen on Linux 6.18: `127.0.0.1:P`
/// with SO_REUSEADDR and SO_REUSEPORT as uid 65534, then the same as root:
/// root's `127.0.0.1:P` with SO_REUSEPORT alone binds; in the other order
/// it fails). The chain holds the head sockets newest first, then the tail
/// sockets oldest first ([`udp_chain_tail`]); the order among live sockets
/// is not known, candidates come after all of them.
///
/// `None` when the first-match walk and the pairwise check cannot differ
/// (at most one socket decides); else the verdict, "depends" when the
/// unknown order decides.
fn udp_first_match(new: &Binding, live: &[&Binding], planned: &[&Binding]) -> Option<Verdict> {
    let contender = |old: &Binding| udp_contender(new, old);
    let shares = |old: &Binding| {
        let same_uid = match (new.uid, old.uid) {
            (Some(a), Some(b)) => Some(a == b),
            _ => None,
        };
        and(and(new.reuseport, old.reuseport), same_uid)
    };
    let contenders = live
        .iter()
        .chain(planned.iter())
        .filter(|old| contender(old) != Some(false))
        .count();
    if contenders <= 1 {
        return None;
    }
    let (firsts, stopped) = udp_possible_firsts(new, live, planned);
    let outcomes: Vec<Tri> = firsts
        .iter()
        .map(|old| shares(old))
        .chain((!stopped).then_some(Some(true)))
        .collect();
    let failing: Vec<Conflict> = firsts
        .iter()
        .filter(|old| shares(old) != Some(true))
        .filter_map(|old| conflict(new, old))
        .collect();
    if outcomes.iter().all(|o| *o == Some(true)) {
        return Some(Verdict::ok("reuseport_shortcut"));
    }
    let facts_unknown = firsts
        .iter()
        .any(|old| contender(old).is_none() || shares(old).is_none());
    let mut verdict = conflict_verdict(failing, Stage::Bind)?;
    if !facts_unknown && outcomes.contains(&Some(true)) && outcomes.contains(&Some(false)) {
        verdict.ok = None;
        verdict.rule = "depends_on_bind_order";
        for conflict in &mut verdict.conflicts {
            conflict.certain = false;
            conflict.unknown.push("bind_order");
        }
    } else if outcomes.contains(&Some(true)) || outcomes.contains(&None) {
        // A fact that could not be read decides which socket is met first,
        // or what it says.
        verdict.ok = None;
        for conflict in &mut verdict.conflicts {
            conflict.certain = false;
        }
        if !verdict.rule.starts_with("depends_on_") {
            let v6only_only = verdict
                .conflicts
                .iter()
                .all(|c| c.unknown.iter().all(|u| *u == "v6only"));
            verdict.rule = if v6only_only {
                "depends_on_unknown_v6only"
            } else {
                "depends_on_unreadable_options"
            };
        }
    }
    Some(verdict)
}

/// Whether the walk of `udp_lib_lport_inuse` stops at `old`: it overlaps
/// the new socket and SO_REUSEADDR is not set on both.
fn udp_contender(new: &Binding, old: &Binding) -> Tri {
    and(
        and(Some(devices_overlap(new, old)), addresses_overlap(new, old)),
        not(and(new.reuseaddr, old.reuseaddr)),
    )
}

/// The sockets the chain walk may meet first among those it stops at, and
/// whether it surely stops at one of them: candidates at the head (newest
/// first), then the live sockets (in an order not known), then candidates
/// at the tail (oldest first).
fn udp_possible_firsts<'a>(
    new: &Binding,
    live: &[&'a Binding],
    planned: &[&'a Binding],
) -> (Vec<&'a Binding>, bool) {
    let contender = |old: &Binding| udp_contender(new, old);
    let mut firsts: Vec<&Binding> = Vec::new();
    let walk = |firsts: &mut Vec<&'a Binding>, ordered: &mut dyn Iterator<Item = &'a Binding>| {
        for old in ordered {
            match contender(old) {
                Some(false) => {}
                certain => {
                    firsts.push(old);
                    if certain == Some(true) {
                        return true;
                    }
                }
            }
        }
        false
    };
    let at_head = |b: &&&'a Binding| udp_chain_tail(b) == Some(false);
    if walk(
        &mut firsts,
        &mut planned.iter().rev().filter(at_head).copied(),
    ) {
        return (firsts, true);
    }
    let maybe: Vec<&Binding> = live
        .iter()
        .copied()
        .filter(|old| contender(old) != Some(false))
        .collect();
    let head_stops = maybe
        .iter()
        .any(|old| contender(old) == Some(true) && udp_chain_tail(old) == Some(false));
    firsts.extend(
        maybe
            .iter()
            .filter(|old| !head_stops || udp_chain_tail(old) != Some(true)),
    );
    if maybe.iter().any(|old| contender(old) == Some(true)) {
        return (firsts, true);
    }
    let at_tail = |b: &&&'a Binding| udp_chain_tail(b) == Some(true);
    let stopped = walk(&mut firsts, &mut planned.iter().filter(at_tail).copied());
    (firsts, stopped)
}

/// EACCES, EINVAL and EADDRNOTAVAIL, in the order `__inet_bind` (IPv4:
/// address first, then port) and `__inet6_bind` (IPv6: port first) check
/// them.
fn address_checks(host: &Host, candidate: &Candidate, address_valid: Tri) -> Option<Verdict> {
    let privileged = candidate.port != 0
        && candidate.port < host.unprivileged_port_start
        && !host.can_bind_privileged;
    let access = || Verdict::fail(Errno::Access, Stage::Bind, "privileged_port");
    let not_local = || Verdict::fail(Errno::AddrNotAvail, Stage::Bind, "address_not_local");
    let freebind = candidate.options.freebind;
    match candidate.address {
        IpAddr::V4(v4) => {
            let may_be_foreign = freebind || host.ipv4_nonlocal_bind || v4.is_unspecified();
            if !may_be_foreign && address_valid == Some(false) {
                return Some(not_local());
            }
            privileged.then(access)
        }
        IpAddr::V6(v6) => {
            if candidate.protocol == Protocol::Tcp && v6.is_multicast() {
                return Some(Verdict::fail(Errno::Inval, Stage::Bind, "tcp_multicast"));
            }
            if privileged {
                return Some(access());
            }
            let may_be_foreign = freebind || host.ipv6_nonlocal_bind;
            if let Some(v4) = v6.to_ipv4_mapped() {
                if candidate.options.v6only {
                    return Some(Verdict::fail(
                        Errno::Inval,
                        Stage::Bind,
                        "mapped_address_on_v6only",
                    ));
                }
                if !may_be_foreign && !v4.is_unspecified() && address_valid == Some(false) {
                    return Some(not_local());
                }
                return None;
            }
            if v6.is_unspecified() {
                return None;
            }
            if v6.is_unicast_link_local() && candidate.device().is_none() {
                return Some(Verdict::fail(
                    Errno::Inval,
                    Stage::Bind,
                    "link_local_needs_scope",
                ));
            }
            if !v6.is_multicast() && !may_be_foreign && address_valid == Some(false) {
                return Some(not_local());
            }
            None
        }
    }
}

fn conflicts_with<'a>(new: &Binding, existing: impl Iterator<Item = &'a Binding>) -> Vec<Conflict> {
    existing
        .filter(|old| old.protocol == new.protocol && old.port == new.port)
        .filter_map(|old| conflict(new, old))
        .collect()
}

/// The pairwise test of `inet_bind_conflict` (TCP) and
/// `udp_lib_lport_inuse` (UDP): `None` when the two surely coexist.
fn conflict(new: &Binding, old: &Binding) -> Option<Conflict> {
    if !devices_overlap(new, old) {
        return None;
    }
    let overlap = addresses_overlap(new, old);
    if overlap == Some(false) {
        return None;
    }
    let same_uid = match (new.uid, old.uid) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    // Whether the two share the port, given the holder's options and
    // whether the owners match (each maybe unknown).
    let shares_with = |reuseaddr: Tri, reuseport: Tri, same_uid: Tri| match new.protocol {
        Protocol::Tcp => {
            let by_reuseaddr = and(and(new.reuseaddr, reuseaddr), Some(!old.listening));
            let by_reuseport = and(
                and(new.reuseport, reuseport),
                or(Some(old.time_wait), same_uid),
            );
            or(by_reuseaddr, by_reuseport)
        }
        Protocol::Udp => {
            let by_reuseaddr = and(new.reuseaddr, reuseaddr);
            let by_reuseport = and(and(new.reuseport, reuseport), same_uid);
            or(by_reuseaddr, by_reuseport)
        }
    };
    let shares = shares_with(old.reuseaddr, old.reuseport, same_uid);
    let conflicts = and(overlap, not(shares));
    if conflicts == Some(false) {
        return None;
    }
    let why = match new.protocol {
        Protocol::Tcp => tcp_why(new, old, same_uid),
        Protocol::Udp => udp_why(new, old, same_uid),
    };
    let mut unknown = Vec::new();
    if overlap.is_none() {
        unknown.push("v6only");
    }
    if shares.is_none() {
        // What it depends on are the unknowns whose value can change the
        // answer, for some value of the other unknowns: with a holder of
        // another uid, for one, its SO_REUSEPORT changes nothing.
        let facts = [old.reuseaddr, old.reuseport, same_uid];
        let names = ["reuseaddr", "reuseport", "uid"];
        let shares_in = |f: [Tri; 3]| shares_with(f[0], f[1], f[2]);
        for (k, name) in names.into_iter().enumerate() {
            if facts[k].is_some() {
                continue;
            }
            let decides = (0u8..8).any(|bits| {
                let mut world = facts;
                for (j, fact) in world.iter_mut().enumerate() {
                    if fact.is_none() {
                        *fact = Some(bits & (1 << j) != 0);
                    }
                }
                let mut flipped = world;
                flipped[k] = Some(!bits & (1 << k) != 0);
                shares_in(world) != shares_in(flipped)
            });
            if decides {
                unknown.push(name);
            }
        }
    }
    Some(Conflict {
        holder: old.holder,
        overlap: overlap_kind(new, old),
        why,
        certain: conflicts == Some(true),
        unknown,
    })
}

fn tcp_why(new: &Binding, old: &Binding, same_uid: Tri) -> NotShared {
    if old.time_wait {
        NotShared::TimeWait
    } else if reuseport_other_uid(new, old, same_uid) {
        NotShared::ReuseportOtherUid
    } else if new.reuseaddr == Some(true) && old.reuseaddr == Some(true) && old.listening {
        NotShared::HolderListens
    } else {
        NotShared::MissingReuse
    }
}

fn udp_why(new: &Binding, old: &Binding, same_uid: Tri) -> NotShared {
    if reuseport_other_uid(new, old, same_uid) {
        NotShared::ReuseportOtherUid
    } else {
        NotShared::MissingReuse
    }
}

/// The new socket asks for SO_REUSEPORT and the holder is another uid's:
/// that refuses it whatever the holder set, so it is the reason even when
/// the holder's SO_REUSEPORT could not be read (uid 65534 cannot read
/// root's socket options); only a holder known to lack it is missing reuse.
fn reuseport_other_uid(new: &Binding, old: &Binding, same_uid: Tri) -> bool {
    new.reuseport == Some(true) && old.reuseport != Some(false) && same_uid == Some(false)
}

/// Whether two bindings overlap in address and device (`None` when an
/// unreported IPV6_V6ONLY decides it).
pub fn overlaps(a: &Binding, b: &Binding) -> Tri {
    if devices_overlap(a, b) {
        addresses_overlap(a, b)
    } else {
        Some(false)
    }
}

/// A socket with no device overlaps every device.
fn devices_overlap(a: &Binding, b: &Binding) -> bool {
    match (&a.device, &b.device) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// The address part of a socket as the kernel compares it: the IPv6
/// address (none for an IPv4 socket) and `inet_rcv_saddr`, the IPv4 address
/// (0.0.0.0 for `[::]`, the embedded address for a mapped bind).
struct Side {
    v6: Option<Ipv6Addr>,
    v4: Ipv4Addr,
    v6only: Tri,
}

impl Side {
    fn of(binding: &Binding) -> Side {
        match binding.address {
            IpAddr::V4(v4) => Side {
                v6: None,
                v4,
                v6only: Some(false),
            },
            IpAddr::V6(v6) => Side {
                v6: Some(v6),
                // LOOPBACK4_IPV6 (127.0.0.6) for other addresses: never
                // compared, since those sockets are v6-only.
                v4: if v6.is_unspecified() {
                    Ipv4Addr::UNSPECIFIED
                } else {
                    v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::new(127, 0, 0, 6))
                },
                v6only: binding.v6only,
            },
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum AddrType {
    Any,
    Mapped,
    Other,
}

fn addr_type(v6: Option<Ipv6Addr>) -> AddrType {
    match v6 {
        None => AddrType::Mapped, // an IPv4 socket compares as mapped
        Some(a) if a.is_unspecified() => AddrType::Any,
        Some(a) if a.to_ipv4_mapped().is_some() => AddrType::Mapped,
        Some(_) => AddrType::Other,
    }
}

/// `inet_rcv_saddr_equal(new, old, match_wildcard = true)`.
fn addresses_overlap(new: &Binding, old: &Binding) -> Tri {
    rcv_saddr_equal(&Side::of(new), &Side::of(old), true, true)
}

/// `ipv6_rcv_saddr_equal` / `ipv4_rcv_saddr_equal`, chosen by sk1's family,
/// with the kernel's separate wildcard switches for each side.
fn rcv_saddr_equal(sk1: &Side, sk2: &Side, wild1: bool, wild2: bool) -> Tri {
    match sk1.v6 {
        None => ipv4_equal(sk1.v4, sk2.v4, sk2.v6only, wild1, wild2),
        Some(_) => ipv6_equal(sk1, sk2, wild1, wild2),
    }
}

fn ipv4_equal(a: Ipv4Addr, b: Ipv4Addr, b_v6only: Tri, wild_a: bool, wild_b: bool) -> Tri {
    let same = a == b || (wild_a && a.is_unspecified()) || (wild_b && b.is_unspecified());
    and(not(b_v6only), Some(same))
}

fn ipv6_equal(sk1: &Side, sk2: &Side, wild1: bool, wild2: bool) -> Tri {
    let type1 = addr_type(sk1.v6);
    let type2 = addr_type(sk2.v6);
    if type1 == AddrType::Mapped && type2 == AddrType::Mapped {
        return ipv4_equal(sk1.v4, sk2.v4, sk2.v6only, wild1, wild2);
    }
    if type1 == AddrType::Any && type2 == AddrType::Any {
        return Some(true);
    }
    let mut result = Some(false);
    if type2 == AddrType::Any && wild2 {
        let blocked = and(sk2.v6only, Some(type1 == AddrType::Mapped));
        result = or(result, not(blocked));
    }
    if type1 == AddrType::Any && wild1 {
        let blocked = and(sk1.v6only, Some(type2 == AddrType::Mapped));
        result = or(result, not(blocked));
    }
    if sk2.v6.is_some() && sk1.v6 == sk2.v6 {
        result = Some(true);
    }
    result
}

fn overlap_kind(new: &Binding, old: &Binding) -> Overlap {
    let is_mapped = |a: IpAddr| matches!(a, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
    let is_v4ish = |a: IpAddr| a.is_ipv4() || is_mapped(a);
    let is_any6 = |a: IpAddr| a == IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    if new.address == old.address {
        Overlap::SameAddress
    } else if is_any6(new.address) && is_v4ish(old.address) {
        Overlap::CandidateDualStack
    } else if is_any6(old.address) && is_v4ish(new.address) {
        Overlap::HolderDualStack
    } else if is_mapped(new.address) || is_mapped(old.address) {
        if crate::model::canonical(new.address) == crate::model::canonical(old.address) {
            Overlap::Mapped
        } else if crate::model::canonical(old.address).is_unspecified() {
            Overlap::HolderWildcard
        } else {
            Overlap::CandidateWildcard
        }
    } else if old.address.is_unspecified() {
        Overlap::HolderWildcard
    } else {
        Overlap::CandidateWildcard
    }
}

/// A failing verdict from the conflicts found, or `None` when there are
/// none. Certain conflicts decide; uncertain ones make it "depends".
fn conflict_verdict(conflicts: Vec<Conflict>, stage: Stage) -> Option<Verdict> {
    if conflicts.is_empty() {
        return None;
    }
    let certain: Vec<Conflict> = conflicts.iter().filter(|c| c.certain).cloned().collect();
    let (ok, decisive) = if certain.is_empty() {
        (None, conflicts)
    } else {
        (Some(false), certain)
    };
    let rule = match ok {
        Some(_) => conflict_rule(&decisive[0]),
        None if decisive.iter().all(|c| c.unknown == ["v6only"]) => "depends_on_unknown_v6only",
        None => "depends_on_unreadable_options",
    };
    Some(Verdict {
        ok,
        error: Some(Errno::AddrInUse),
        stage: Some(stage),
        rule,
        conflicts: decisive,
        breaks_listen_of: Vec::new(),
    })
}

/// The rule named for a conflict: the sharing rule that failed when that is
/// the surprise, else how the addresses overlap.
fn conflict_rule(conflict: &Conflict) -> &'static str {
    let cross_family = matches!(
        conflict.overlap,
        Overlap::CandidateDualStack | Overlap::HolderDualStack | Overlap::Mapped
    );
    match conflict.why {
        NotShared::TimeWait => "time_wait_needs_reuseaddr",
        // An IPv6 socket colliding with IPv4 is the surprise to name first.
        _ if cross_family => overlap_rule(conflict.overlap),
        NotShared::ReuseportOtherUid => "reuseport_needs_same_uid",
        NotShared::HolderListens => "listener_never_shares",
        NotShared::MissingReuse => overlap_rule(conflict.overlap),
    }
}

pub fn overlap_rule(overlap: Overlap) -> &'static str {
    match overlap {
        Overlap::SameAddress => "same_address",
        Overlap::HolderWildcard => "wildcard_covers_address",
        Overlap::CandidateWildcard => "candidate_wildcard_covers_address",
        Overlap::CandidateDualStack | Overlap::HolderDualStack => {
            "dual_stack_wildcard_overlaps_ipv4"
        }
        Overlap::Mapped => "mapped_address_is_ipv4",
    }
}

/// Why a bind with sockets on the port succeeds.
fn sharing_rule(new: &Binding, on_port: &[&Binding]) -> &'static str {
    let overlapping: Vec<&&Binding> = on_port
        .iter()
        .filter(|old| addresses_overlap(new, old) != Some(false))
        .collect();
    if overlapping.is_empty() {
        return "no_overlap";
    }
    if overlapping.iter().all(|old| !devices_overlap(new, old)) {
        return "different_device";
    }
    let by_reuseport = overlapping.iter().any(|old| {
        devices_overlap(new, old) && new.reuseport == Some(true) && old.reuseport == Some(true)
    });
    // SO_REUSEADDR alone shares only with sockets that do not listen, so a
    // listener on the address means the reuseport group did the sharing.
    let by_reuseaddr_alone =
        new.reuseaddr == Some(true) && !overlapping.iter().any(|old| old.listening);
    if by_reuseport && !by_reuseaddr_alone {
        "shared_reuseport"
    } else {
        "shared_reuseaddr"
    }
}

/// Live bound-only sockets sharing the address through SO_REUSEADDR: once
/// this candidate listens, their own listen() fails with EADDRINUSE.
/// Whether `old`'s own listen() fails once `new` listens beside it: a
/// listener shares its port only through SO_REUSEPORT on both under one
/// uid (SO_REUSEADDR never shares with a listener), so the live socket's
/// SO_REUSEPORT alone does not save it. Three-valued: with its options or
/// owner unknown nothing is promised, and only a sure break is reported.
fn listen_breaks(new: &Binding, old: &Binding) -> Tri {
    let same_uid = match (new.uid, old.uid) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    not(and(and(new.reuseport, old.reuseport), same_uid))
}

fn broken_listens(new: &Binding, live: &[Binding]) -> Vec<usize> {
    live.iter()
        .filter(|old| {
            old.protocol == Protocol::Tcp
                && old.port == new.port
                && !old.listening
                && !old.time_wait
                && !old.connected
                && devices_overlap(new, old)
                && addresses_overlap(new, old) == Some(true)
                && listen_breaks(new, old) == Some(true)
        })
        .filter_map(|old| match old.holder {
            Holder::Live(index) => Some(index),
            Holder::Candidate(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Host = Host {
        euid: 0,
        can_bind_privileged: true,
        unprivileged_port_start: 1024,
        ipv4_nonlocal_bind: false,
        ipv6_nonlocal_bind: false,
    };

    /// A live socket: `spec` in candidate syntax, plus its state.
    fn live(spec: &str, index: usize, listening: bool, uid: u32) -> Binding {
        let c = &Candidate::plan(&[spec])[0];
        let mut b = Binding::from_candidate(c, uid, listening);
        b.holder = Holder::Live(index);
        b
    }

    fn verdicts(host: &Host, live: &[Binding], plan: &[&str]) -> Vec<Verdict> {
        let c = Candidate::plan(plan);
        let valid = vec![Some(true); c.len()];
        predict_plan(host, live, &c, &valid)
    }

    fn one(live: &[Binding], candidate: &str) -> Verdict {
        verdicts(&ROOT, live, &[candidate]).remove(0)
    }

    #[test]
    fn address_overlap_follows_the_kernel_table() {
        // (existing, candidate, collides) with neither side sharing.
        let cases = [
            ("0.0.0.0:80/noreuseaddr", "127.0.0.1:80/noreuseaddr", true),
            (
                "127.0.0.1:80/noreuseaddr",
                "127.0.0.2:80/noreuseaddr",
                false,
            ),
            (
                "[::]:80/dualstack,noreuseaddr",
                "0.0.0.0:80/noreuseaddr",
                true,
            ),
            (
                "[::]:80/dualstack,noreuseaddr",
                "127.0.0.1:80/noreuseaddr",
                true,
            ),
            (
                "[::]:80/dualstack,noreuseaddr",
                "[::1]:80/noreuseaddr",
                true,
            ),
            ("[::]:80/v6only,noreuseaddr", "[::1]:80/noreuseaddr", true),
            (
                "[::]:80/v6only,noreuseaddr",
                "0.0.0.0:80/noreuseaddr",
                false,
            ),
            (
                "0.0.0.0:80/noreuseaddr",
                "[::]:80/dualstack,noreuseaddr",
                true,
            ),
            (
                "127.0.0.1:80/noreuseaddr",
                "[::]:80/dualstack,noreuseaddr",
                true,
            ),
            (
                "[::1]:80/dualstack,noreuseaddr",
                "0.0.0.0:80/noreuseaddr",
                false,
            ),
            (
                "[::ffff:127.0.0.1]:80/noreuseaddr",
                "127.0.0.1:80/noreuseaddr",
                true,
            ),
            (
                "[::ffff:127.0.0.1]:80/noreuseaddr",
                "127.0.0.2:80/noreuseaddr",
                false,
            ),
            (
                "[::ffff:127.0.0.1]:80/noreuseaddr",
                "[::1]:80/noreuseaddr",
                false,
            ),
            (
                "127.0.0.1:80/noreuseaddr",
                "[::ffff:127.0.0.1]:80/noreuseaddr",
                true,
            ),
            (
                "0.0.0.0:80/noreuseaddr",
                "[::ffff:127.0.0.1]:80/noreuseaddr",
                true,
            ),
            (
                "[::]:80/v6only,noreuseaddr",
                "[::ffff:127.0.0.1]:80/noreuseaddr",
                false,
            ),
            ("[::1]:80/noreuseaddr", "[::1]:80/noreuseaddr", true),
        ];
        for (existing, candidate, collides) in cases {
            let verdict = one(&[live(existing, 0, true, 0)], candidate);
            assert_eq!(
                verdict.ok,
                Some(!collides),
                "{existing} then {candidate}: {verdict:?}"
            );
        }
    }

    #[test]
    fn seed_scenarios_in_a_plan() {
        let v = verdicts(&ROOT, &[], &["[::]:443", "0.0.0.0:443"]);
        assert_eq!(v[0].ok, Some(true));
        assert_eq!(v[1].ok, Some(false));
        assert_eq!(v[1].rule, "dual_stack_wildcard_overlaps_ipv4");
        assert_eq!(v[1].conflicts[0].holder, Holder::Candidate(0));
        let v = verdicts(&ROOT, &[], &["[::]:443/v6only", "0.0.0.0:443"]);
        assert!(v.iter().all(|v| v.ok == Some(true)), "{v:?}");
    }

    #[test]
    fn dual_stack_against_a_live_ipv4_listener() {
        let v = one(&[live("0.0.0.0:443", 0, true, 0)], "[::]:443");
        assert_eq!(v.ok, Some(false));
        assert_eq!(v.error, Some(Errno::AddrInUse));
        assert_eq!(v.stage, Some(Stage::Bind));
        assert_eq!(v.rule, "dual_stack_wildcard_overlaps_ipv4");
        assert_eq!(v.conflicts[0].overlap, Overlap::CandidateDualStack);
        assert_eq!(v.conflicts[0].why, NotShared::HolderListens);
        let v = one(&[live("127.0.0.1:443", 0, true, 0)], "127.0.0.1:443");
        assert_eq!(v.rule, "listener_never_shares");
    }

    #[test]
    fn reuseaddr_shares_until_someone_listens() {
        let bound_only = live("127.0.0.1:7000/nolisten", 0, false, 0);
        let v = one(std::slice::from_ref(&bound_only), "127.0.0.1:7000/nolisten");
        assert_eq!((v.ok, v.rule), (Some(true), "shared_reuseaddr"));
        // Listening beside it works, and breaks the live socket's listen().
        let v = one(&[bound_only], "127.0.0.1:7000");
        assert_eq!(v.ok, Some(true));
        assert_eq!(v.breaks_listen_of, vec![0]);
        // Two candidates bound first, then both listen: the second listen fails.
        let v = verdicts(&ROOT, &[], &["127.0.0.1:7000", "127.0.0.1:7000"]);
        assert_eq!(v[0].ok, Some(true));
        assert_eq!(
            (v[1].ok, v[1].stage, v[1].rule),
            (Some(false), Some(Stage::Listen), "listener_never_shares")
        );
    }

    #[test]
    fn reuseport_needs_both_sides_and_one_uid() {
        let group = live("0.0.0.0:8080/reuseport", 0, true, 1000);
        let v = verdicts(
            &Host { euid: 1000, ..ROOT },
            std::slice::from_ref(&group),
            &["0.0.0.0:8080/reuseport"],
        );
        assert_eq!((v[0].ok, v[0].rule), (Some(true), "shared_reuseport"));
        let v = one(std::slice::from_ref(&group), "0.0.0.0:8080/reuseport");
        assert_eq!((v.ok, v.rule), (Some(false), "reuseport_needs_same_uid"));
        let v = verdicts(&Host { euid: 1000, ..ROOT }, &[group], &["0.0.0.0:8080"]);
        assert_eq!(v[0].ok, Some(false));
    }

    /// uid 65534 cannot read root's socket options: against root's
    /// listener a `reuseport` bind fails whatever root set, and the uid is
    /// what decides it; a bound-only holder's unread SO_REUSEADDR is all
    /// the answer depends on.
    #[test]
    fn another_uids_unread_options_leave_the_uid_deciding() {
        let nobody = Host {
            euid: 65534,
            ..ROOT
        };
        let unread = |spec: &str, listening: bool| {
            let mut b = live(spec, 0, listening, 0);
            b.reuseaddr = None;
            b.reuseport = None;
            b
        };
        for spec in ["tcp:0.0.0.0:8100", "udp:0.0.0.0:8100"] {
            let holder = unread(spec, spec.starts_with("tcp"));
            let v = verdicts(
                &nobody,
                &[holder],
                &[&format!("{spec}/reuseport,noreuseaddr")],
            );
            assert_eq!(
                (v[0].ok, v[0].rule),
                (Some(false), "reuseport_needs_same_uid"),
                "{spec}"
            );
            assert!(v[0].conflicts[0].unknown.is_empty(), "{v:?}");
        }
        let listener = unread("0.0.0.0:8100", true);
        let v = verdicts(&nobody, &[listener], &["0.0.0.0:8100"]);
        assert_eq!((v[0].ok, v[0].rule), (Some(false), "same_address"));
        let bound = unread("0.0.0.0:8100", false);
        let v = verdicts(&nobody, &[bound], &["0.0.0.0:8100/reuseport,nolisten"]);
        assert_eq!(
            (v[0].ok, v[0].rule),
            (None, "depends_on_unreadable_options")
        );
        assert_eq!(v[0].conflicts[0].unknown, vec!["reuseaddr"]);
        // A holder known to lack SO_REUSEPORT: missing reuse, not the uid.
        let mut plain = live("0.0.0.0:8100", 0, true, 0);
        plain.reuseaddr = None;
        let v = verdicts(&nobody, &[plain], &["0.0.0.0:8100/reuseport"]);
        assert_eq!((v[0].ok, v[0].rule), (Some(false), "same_address"));
    }

    #[test]
    fn time_wait_depends_on_its_hidden_reuseaddr() {
        let mut tw = live("127.0.0.1:7000", 0, false, 0);
        tw.time_wait = true;
        tw.reuseaddr = None;
        tw.reuseport = None;
        tw.uid = None;
        let v = one(std::slice::from_ref(&tw), "127.0.0.1:7000/noreuseaddr");
        assert_eq!((v.ok, v.rule), (Some(false), "time_wait_needs_reuseaddr"));
        let v = one(std::slice::from_ref(&tw), "127.0.0.1:7000");
        assert_eq!((v.ok, v.rule), (None, "depends_on_unreadable_options"));
        // Without SO_REUSEPORT on the candidate, the entry's own does not matter.
        assert_eq!(v.conflicts[0].unknown, vec!["reuseaddr"]);
        let v = one(std::slice::from_ref(&tw), "127.0.0.1:7000/reuseport");
        assert_eq!(v.conflicts[0].unknown, vec!["reuseaddr", "reuseport"]);
        let v = one(&[tw], "127.0.0.2:7000/noreuseaddr");
        assert_eq!(v.ok, Some(true));
    }

    #[test]
    fn unreadable_options_of_a_listener_make_it_depend_only_with_reuseport() {
        let mut other = live("0.0.0.0:9000", 0, true, 1000);
        other.reuseaddr = None;
        other.reuseport = None;
        let host = Host { euid: 1000, ..ROOT };
        let v = verdicts(&host, std::slice::from_ref(&other), &["0.0.0.0:9000"]);
        assert_eq!(
            v[0].ok,
            Some(false),
            "no reuseport on the candidate: a listener always blocks"
        );
        let v = verdicts(&host, &[other], &["0.0.0.0:9000/reuseport"]);
        assert_eq!(v[0].ok, None);
    }

    #[test]
    fn udp_shares_with_reuseaddr_on_both() {
        let held = live("udp:0.0.0.0:5353/reuseaddr", 0, false, 0);
        let v = one(std::slice::from_ref(&held), "udp:127.0.0.1:5353/reuseaddr");
        assert_eq!((v.ok, v.rule), (Some(true), "shared_reuseaddr"));
        let v = one(std::slice::from_ref(&held), "udp:127.0.0.1:5353");
        assert_eq!((v.ok, v.rule), (Some(false), "wildcard_covers_address"));
        let v = one(&[held], "127.0.0.1:5353/noreuseaddr");
        assert_eq!(v.rule, "port_unused", "TCP and UDP ports are separate");
    }

    #[test]
    fn devices_separate_sockets() {
        let on_lo = live("0.0.0.0:80/noreuseaddr,device=lo", 0, true, 0);
        let v = one(
            std::slice::from_ref(&on_lo),
            "0.0.0.0:80/noreuseaddr,device=eth0",
        );
        assert_eq!((v.ok, v.rule), (Some(true), "different_device"));
        let v = one(&[on_lo], "0.0.0.0:80/noreuseaddr");
        assert_eq!(v.ok, Some(false));
    }

    #[test]
    fn address_errors_in_kernel_order() {
        let user = Host {
            euid: 1000,
            can_bind_privileged: false,
            ..ROOT
        };
        let c = Candidate::plan(&["192.0.2.9:80", "[2001:db8::9]:80", "127.0.0.1:80"]);
        let v = predict_plan(&user, &[], &c, &[Some(false), Some(false), Some(true)]);
        assert_eq!(
            (v[0].error, v[0].rule),
            (Some(Errno::AddrNotAvail), "address_not_local")
        );
        assert_eq!(
            (v[1].error, v[1].rule),
            (Some(Errno::Access), "privileged_port")
        );
        assert_eq!(
            (v[2].error, v[2].rule),
            (Some(Errno::Access), "privileged_port")
        );
        let c = Candidate::plan(&[
            "[::ffff:127.0.0.1]:8000/v6only",
            "[fe80::1]:8000",
            "[fe80::1%lo]:8000",
            "192.0.2.9:8000/freebind",
            "[ff02::1]:8000",
        ]);
        let v = predict_plan(
            &ROOT,
            &[],
            &c,
            &[Some(true), Some(false), Some(true), Some(false), Some(true)],
        );
        assert_eq!(v[0].rule, "mapped_address_on_v6only");
        assert_eq!(v[1].rule, "link_local_needs_scope");
        assert_eq!(v[2].ok, Some(true));
        assert_eq!(v[3].ok, Some(true));
        assert_eq!(v[4].rule, "tcp_multicast");
        let v = verdicts(&ROOT, &[], &["0.0.0.0:0", "0.0.0.0:0"]);
        assert!(v.iter().all(|v| v.rule == "ephemeral_port"));
    }

    /// `(ok, stage, rule)` of each verdict, for compact tables.
    fn outcomes(v: &[Verdict]) -> Vec<(Tri, Option<Stage>, &'static str)> {
        v.iter().map(|v| (v.ok, v.stage, v.rule)).collect()
    }

    #[test]
    fn reuseport_shortcut_skips_the_pairwise_check() {
        // Seen on Linux 6.18 (tb->fastreuseport STRICT, set by the second
        // socket, covers the third).
        let v = verdicts(
            &ROOT,
            &[],
            &[
                "127.0.0.1:7000/nolisten",
                "0.0.0.0:7000/reuseport,nolisten",
                "127.0.0.1:7000/noreuseaddr,reuseport,nolisten",
            ],
        );
        assert_eq!(v[2].ok, Some(true), "{v:?}");
        assert_eq!(v[2].rule, "reuseport_shortcut");
        // 127.0.0.1 does not cover 0.0.0.0: the pairwise check runs.
        let v = verdicts(
            &ROOT,
            &[],
            &[
                "127.0.0.1:7000/nolisten",
                "127.0.0.1:7000/reuseport,nolisten",
                "0.0.0.0:7000/noreuseaddr,reuseport,nolisten",
            ],
        );
        assert_eq!(v[2].ok, Some(false), "{v:?}");
        // A socket without SO_REUSEPORT turns the shortcut off again.
        let v = verdicts(
            &ROOT,
            &[],
            &[
                "127.0.0.1:7000/nolisten",
                "0.0.0.0:7000/reuseport,nolisten",
                "[::1]:7000/v6only,noreuseaddr,nolisten",
                "127.0.0.1:7000/noreuseaddr,reuseport,nolisten",
            ],
        );
        assert_eq!(v[3].ok, Some(false), "{v:?}");
        // IPv4 0.0.0.0 vouches for a dual-stack [::] (sk_rcv_saddr 0), which
        // then sits on a v6only [::] that fails its own listen().
        let v = verdicts(
            &ROOT,
            &[],
            &[
                "[::]:7000/v6only,noreuseaddr",
                "0.0.0.0:7000/reuseport,nolisten",
                "[::]:7000/dualstack,noreuseaddr,reuseport,nolisten",
            ],
        );
        assert_eq!(
            outcomes(&v),
            vec![
                (Some(false), Some(Stage::Listen), "same_address"),
                (Some(true), None, "no_overlap"),
                (Some(true), None, "reuseport_shortcut"),
            ]
        );
    }

    #[test]
    fn a_live_ports_shortcut_state_depends_on_its_bind_order() {
        let mut dual = live("[::]:7000/dualstack,nolisten", 0, false, 0);
        dual.reuseport = Some(false);
        let group = live("[::1]:7000/v6only,reuseport", 1, true, 0);
        let v = one(
            &[dual.clone(), group],
            "[::1]:7000/v6only,noreuseaddr,reuseport,nolisten",
        );
        assert_eq!((v.ok, v.rule), (None, "depends_on_bind_order"), "{v:?}");
        assert_eq!(v.conflicts[0].unknown, vec!["bind_order"]);
        assert!(!v.conflicts[0].certain);
        // Without a SO_REUSEPORT socket on the port there is no shortcut.
        let v = one(&[dual], "[::1]:7000/v6only,noreuseaddr,reuseport,nolisten");
        assert_eq!(v.ok, Some(false), "{v:?}");
        // Every live socket with SO_REUSEPORT under one uid: ANY, which the
        // pairwise check agrees with.
        let a = live("0.0.0.0:7000/reuseport", 0, true, 0);
        let b = live("127.0.0.1:7000/reuseport", 1, true, 0);
        let v = one(&[a, b], "127.0.0.1:7000/noreuseaddr,reuseport");
        assert_eq!((v.ok, v.rule), (Some(true), "shared_reuseport"), "{v:?}");
    }

    #[test]
    fn udp_takes_the_first_match_in_the_hash_chain() {
        // IPv4 sockets are added at the chain's head: the newest meets the
        // new socket first, and its SO_REUSEPORT lets it in.
        let v = verdicts(
            &ROOT,
            &[],
            &[
                "udp:0.0.0.0:5000/reuseaddr",
                "udp:0.0.0.0:5000/reuseaddr,reuseport",
                "udp:[::ffff:127.0.0.1]:5000/dualstack,noreuseaddr,reuseport",
            ],
        );
        assert_eq!((v[2].ok, v[2].rule), (Some(true), "reuseport_shortcut"));
        let v = verdicts(
            &ROOT,
            &[],
            &[
                "udp:0.0.0.0:5000/reuseaddr,reuseport",
                "udp:0.0.0.0:5000/reuseaddr",
                "udp:[::ffff:127.0.0.1]:5000/dualstack,noreuseaddr,reuseport",
            ],
        );
        assert_eq!(v[2].ok, Some(false), "{v:?}");
        // Live sockets' order is unknown: root's and nobody's SO_REUSEPORT
        // sockets on one address (seen both ways on Linux 6.18).
        let root = live("udp:127.0.0.1:5000/reuseaddr,reuseport", 0, false, 0);
        let nobody = live("udp:127.0.0.1:5000/reuseaddr,reuseport", 1, false, 65534);
        let v = one(&[root, nobody], "udp:127.0.0.1:5000/noreuseaddr,reuseport");
        assert_eq!((v.ok, v.rule), (None, "depends_on_bind_order"), "{v:?}");
    }

    #[test]
    fn an_undecided_candidate_decides_no_later_one() {
        let mut nobody = live("udp:0.0.0.0:5000/reuseaddr", 0, false, 65534);
        nobody.reuseport = Some(false);
        let root = live("udp:0.0.0.0:5000/reuseaddr,reuseport", 1, false, 0);
        let v = verdicts(
            &ROOT,
            &[nobody, root],
            &[
                "udp:127.0.0.1:5000/noreuseaddr,reuseport",
                "udp:[::ffff:127.0.0.1]:5000/dualstack,reuseaddr",
            ],
        );
        assert_eq!(v[0].ok, None, "{v:?}");
        // Refused by #0 only if #0 bound.
        assert_eq!(v[1].ok, None, "{v:?}");
    }

    /// The live socket's SO_REUSEPORT saves its listen() only when the new
    /// listener has it too, under the same uid (checked on Linux 6.18:
    /// 127.0.0.1:P bound with both options, then 127.0.0.1:P with
    /// SO_REUSEADDR alone listening, and the first one's listen() fails).
    /// Options that could not be read promise nothing either way.
    #[test]
    fn a_live_bound_socket_keeps_its_listen_only_in_a_reuseport_group() {
        let both = live("127.0.0.1:7000/reuseport,nolisten", 0, false, 0);
        let v = one(std::slice::from_ref(&both), "127.0.0.1:7000");
        assert_eq!((v.ok, v.rule), (Some(true), "shared_reuseaddr"), "{v:?}");
        assert_eq!(v.breaks_listen_of, vec![0], "{v:?}");
        let v = one(std::slice::from_ref(&both), "127.0.0.1:7000/reuseport");
        assert_eq!(v.ok, Some(true), "{v:?}");
        assert!(v.breaks_listen_of.is_empty(), "one group: {v:?}");
        let other_uid = live("127.0.0.1:7000/reuseport,nolisten", 0, false, 65534);
        let v = one(&[other_uid], "127.0.0.1:7000/reuseport");
        assert_eq!(v.ok, Some(true), "{v:?}");
        assert_eq!(v.breaks_listen_of, vec![0], "another uid's group: {v:?}");

        // Unreadable options (another user's socket, seen without root):
        // the candidate with SO_REUSEPORT alone may share through it and
        // then listen beside it in one group, so no break is promised.
        let mut unread = live("127.0.0.1:7000/nolisten", 0, false, 65534);
        (unread.reuseaddr, unread.reuseport) = (None, None);
        let nobody = Host {
            euid: 65534,
            can_bind_privileged: false,
            ..ROOT
        };
        let v = verdicts(
            &nobody,
            std::slice::from_ref(&unread),
            &["127.0.0.1:7000/noreuseaddr,reuseport"],
        )
        .remove(0);
        assert_eq!(v.ok, None, "{v:?}");
        assert!(v.breaks_listen_of.is_empty(), "{v:?}");
    }

    #[test]
    fn queued_connections_have_their_listeners_options() {
        let group = live("0.0.0.0:8080/reuseport", 0, true, 0);
        let mut queued = live("127.0.0.1:8080/nolisten", 1, false, 0);
        (queued.reuseaddr, queued.reuseport) = (None, None);
        queued.connected = true;
        queued.queued = true;
        let v = one(&[group.clone(), queued.clone()], "0.0.0.0:8080/reuseport");
        assert_eq!((v.ok, v.rule), (Some(true), "shared_reuseport"), "{v:?}");
        assert!(
            v.breaks_listen_of.is_empty(),
            "a connection never listens: {v:?}"
        );
        // Accepted (a process holds it): options it may have changed.
        queued.queued = false;
        let v = one(&[group, queued], "0.0.0.0:8080/reuseport");
        assert_eq!(v.ok, None, "{v:?}");
    }

    #[test]
    fn every_reported_rule_is_documented() {
        let names: Vec<&str> = RULES.iter().map(|(name, _)| *name).collect();
        for rule in [
            "port_unused",
            "no_overlap",
            "different_device",
            "shared_reuseaddr",
            "shared_reuseport",
            "ephemeral_port",
            "same_address",
            "wildcard_covers_address",
            "candidate_wildcard_covers_address",
            "dual_stack_wildcard_overlaps_ipv4",
            "mapped_address_is_ipv4",
            "listener_never_shares",
            "reuseport_needs_same_uid",
            "time_wait_needs_reuseaddr",
            "depends_on_unreadable_options",
            "depends_on_bind_order",
            "depends_on_unknown_v6only",
            "reuseport_shortcut",
            "privileged_port",
            "address_not_local",
            "mapped_address_on_v6only",
            "link_local_needs_scope",
            "tcp_multicast",
        ] {
            assert!(names.contains(&rule), "{rule} is not in RULES");
        }
        for (name, _) in RULES {
            assert!(
                RULES_HELP.contains(&format!("  {name} ")),
                "{name} is not in RULES_HELP"
            );
        }
    }
}

/// Properties of the model over generated tables and plans (proptest).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::bind::candidate::Options;

    const ADDRESSES: &[&str] = &[
        "0.0.0.0",
        "127.0.0.1",
        "10.0.0.1",
        "224.0.0.1",
        "::",
        "::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:0.0.0.0",
        "fe80::1",
        "ff02::1",
    ];
    const PORTS: &[u16] = &[80, 8000, 8001];

    fn address() -> impl Strategy<Value = IpAddr> {
        prop::sample::select(ADDRESSES).prop_map(|a| a.parse().expect("test address"))
    }

    fn protocol() -> impl Strategy<Value = Protocol> {
        prop::sample::select(&[Protocol::Tcp, Protocol::Udp][..])
    }

    fn tri() -> impl Strategy<Value = Tri> {
        prop::sample::select(&[None, Some(false), Some(true)][..])
    }

    fn device() -> impl Strategy<Value = Option<String>> {
        prop::sample::select(&[None, Some("eth0"), Some("lo")][..])
            .prop_map(|d| d.map(str::to_owned))
    }

    fn host() -> impl Strategy<Value = Host> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(root, v4, v6)| Host {
            euid: if root { 0 } else { 1000 },
            can_bind_privileged: root,
            unprivileged_port_start: 1024,
            ipv4_nonlocal_bind: v4,
            ipv6_nonlocal_bind: v6,
        })
    }

    #[derive(Debug, Clone, Copy)]
    enum LiveState {
        Listen,
        Bound,
        TimeWait,
        Connected,
        Queued,
    }

    /// A live socket as the kernel could report it (index fixed later).
    fn live_binding() -> impl Strategy<Value = Binding> {
        (
            (protocol(), address(), prop::sample::select(PORTS), tri()),
            (device(), tri(), tri()),
            prop::sample::select(
                &[
                    LiveState::Listen,
                    LiveState::Bound,
                    LiveState::TimeWait,
                    LiveState::Connected,
                    LiveState::Queued,
                ][..],
            ),
            prop::sample::select(&[None, Some(0), Some(1000)][..]),
        )
            .prop_map(
                |(
                    (protocol, address, port, v6only),
                    (device, reuseaddr, reuseport),
                    state,
                    uid,
                )| {
                    let tcp = protocol == Protocol::Tcp;
                    let state = if tcp { state } else { LiveState::Bound };
                    Binding {
                        holder: Holder::Live(0),
                        protocol,
                        address,
                        port,
                        v6only: effective_v6only(address, v6only),
                        device,
                        reuseaddr,
                        reuseport,
                        listening: matches!(state, LiveState::Listen),
                        time_wait: matches!(state, LiveState::TimeWait),
                        connected: matches!(state, LiveState::Connected | LiveState::Queued),
                        queued: matches!(state, LiveState::Queued),
                        uid: if matches!(state, LiveState::TimeWait) {
                            None
                        } else {
                            uid
                        },
                    }
                },
            )
    }

    fn candidate(ports: &'static [u16]) -> impl Strategy<Value = Candidate> {
        (
            (protocol(), address(), prop::sample::select(ports)),
            (
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            ),
            device(),
        )
            .prop_map(
                |(
                    (protocol, address, port),
                    (v6only, reuseaddr, reuseport, listen, freebind),
                    device,
                )| {
                    Candidate {
                        index: 0,
                        text: String::new(),
                        protocol,
                        address,
                        port,
                        scope: None,
                        options: Options {
                            v6only,
                            reuseaddr,
                            reuseport,
                            listen: listen && protocol == Protocol::Tcp,
                            freebind,
                            device,
                        },
                    }
                },
            )
    }

    fn numbered_live(mut live: Vec<Binding>) -> Vec<Binding> {
        for (i, b) in live.iter_mut().enumerate() {
            b.holder = Holder::Live(i);
        }
        live
    }

    fn numbered_plan(mut plan: Vec<Candidate>) -> Vec<Candidate> {
        for (i, c) in plan.iter_mut().enumerate() {
            c.index = i;
            c.text = c.endpoint();
        }
        plan
    }

    /// Whether the kernel's address checks can refuse `candidate` with
    /// `errno`, written from the kernel's rules rather than the model's.
    fn address_check_refuses(host: &Host, c: &Candidate, valid: Tri, errno: Errno) -> bool {
        let mapped = match c.address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped(),
            IpAddr::V4(_) => None,
        };
        match errno {
            Errno::Access => {
                c.port != 0 && c.port < host.unprivileged_port_start && !host.can_bind_privileged
            }
            Errno::Inval => match c.address {
                IpAddr::V6(v6) => {
                    (c.protocol == Protocol::Tcp && v6.is_multicast())
                        || (mapped.is_some() && c.options.v6only)
                        || (v6.is_unicast_link_local() && c.device().is_none())
                }
                IpAddr::V4(_) => false,
            },
            Errno::AddrNotAvail => {
                let unspecified = match (c.address, mapped) {
                    (_, Some(v4)) => v4.is_unspecified(),
                    (address, None) => address.is_unspecified(),
                };
                let nonlocal = match c.address {
                    IpAddr::V4(_) => host.ipv4_nonlocal_bind,
                    IpAddr::V6(_) => host.ipv6_nonlocal_bind,
                };
                let v6_multicast = matches!(c.address, IpAddr::V6(v6) if v6.is_multicast());
                valid == Some(false)
                    && !unspecified
                    && !v6_multicast
                    && !c.options.freebind
                    && !nonlocal
            }
            Errno::AddrInUse => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 128,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// A live socket on another port, or of the other protocol, changes
        /// no candidate's verdict.
        #[test]
        fn unrelated_sockets_change_no_verdict(
            host in host(),
            live in prop::collection::vec(live_binding(), 0..4),
            plan in prop::collection::vec(candidate(&[0, 80, 8000, 8001]), 1..4),
            valid in prop::collection::vec(tri(), 4),
            extra in live_binding(),
            other_port in prop::sample::select(&[0u16, 9000, 65535][..]),
        ) {
            let live = numbered_live(live);
            let plan = numbered_plan(plan);
            let before = predict_plan(&host, &live, &plan, &valid);
            let mut extra = extra;
            let taken = |p: Protocol, port: u16| plan.iter().any(|c| (c.protocol, c.port) == (p, port));
            if taken(extra.protocol, extra.port) {
                let flipped = match extra.protocol {
                    Protocol::Tcp => Protocol::Udp,
                    Protocol::Udp => Protocol::Tcp,
                };
                if taken(flipped, extra.port) || other_port != 0 {
                    extra.port = other_port.max(9000);
                } else {
                    extra.protocol = flipped;
                }
            }
            prop_assume!(!taken(extra.protocol, extra.port));
            let mut more = live.clone();
            more.push(extra);
            let more = numbered_live(more);
            let after = predict_plan(&host, &more, &plan, &valid);
            prop_assert_eq!(before, after);
        }

        /// `overlaps` is symmetric for two TCP bindings without a device and
        /// with known IPV6_V6ONLY, as `inet_rcv_saddr_equal` is for every
        /// pair of sockets the kernel lets exist.
        #[test]
        fn overlap_is_symmetric(
            a in live_binding(),
            b in live_binding(),
            v4a in prop::sample::select(&["0.0.0.0", "127.0.0.1", "10.0.0.1"][..]),
            v4b in prop::sample::select(&["0.0.0.0", "127.0.0.1", "10.0.0.1"][..]),
            mapped in any::<(bool, bool)>(),
            flags in any::<(bool, bool)>(),
            only in any::<(bool, bool)>(),
        ) {
            let mut a = a;
            let mut b = b;
            // Besides the fixed pool, plain and mapped forms of a few IPv4
            // addresses, so that equal addresses meet in every form.
            let widen = |binding: &mut Binding, v4: &str, mapped: bool, flag: bool, only: bool| {
                let v4: Ipv4Addr = v4.parse().expect("test address");
                if flag {
                    binding.address = if mapped {
                        IpAddr::V6(v4.to_ipv6_mapped())
                    } else {
                        IpAddr::V4(v4)
                    };
                }
                binding.protocol = Protocol::Tcp;
                binding.device = None;
                binding.v6only = effective_v6only(binding.address, Some(only));
            };
            widen(&mut a, v4a, mapped.0, flags.0, only.0);
            widen(&mut b, v4b, mapped.1, flags.1, only.1);
            prop_assert!(a.v6only.is_some() && b.v6only.is_some());
            prop_assert_eq!(overlaps(&a, &b), overlaps(&b, &a), "{:?} / {:?}", a.address, b.address);
        }

        /// One candidate on an empty table binds (and listens) unless an
        /// address check refuses it: EACCES for a privileged port,
        /// EADDRNOTAVAIL for an address not on this host, EINVAL for the
        /// address forms bind() rejects.
        #[test]
        fn a_lone_candidate_binds_unless_its_address_is_refused(
            host in host(),
            c in candidate(&[0, 80, 8000]),
            valid in tri(),
        ) {
            let plan = numbered_plan(vec![c]);
            let c = &plan[0];
            let verdicts = predict_plan(&host, &[], &plan, &[valid]);
            prop_assert_eq!(verdicts.len(), 1);
            let v = &verdicts[0];
            let refusable = [Errno::Access, Errno::Inval, Errno::AddrNotAvail]
                .into_iter()
                .any(|e| address_check_refuses(&host, c, valid, e));
            match v.ok {
                Some(true) => {
                    prop_assert!(!refusable, "{} bound: {:?}", c, v);
                    let rule = if c.port == 0 { "ephemeral_port" } else { "port_unused" };
                    prop_assert_eq!(v.rule, rule);
                }
                Some(false) => {
                    let errno = v.error.expect("a failing verdict names its error");
                    prop_assert_eq!(v.stage, Some(Stage::Bind));
                    prop_assert!(address_check_refuses(&host, c, valid, errno), "{} refused: {:?}", c, v);
                }
                None => prop_assert!(false, "an empty table left {} undecided: {:?}", c, v),
            }
        }
    }
}
