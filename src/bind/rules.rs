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
    pub uid: Option<u32>,
}

impl Binding {
    /// A live socket as the bind table holds it; `None` for request
    /// sockets (SYN_RECV), which are not in the bind table.
    pub fn from_socket(index: usize, socket: &Socket) -> Option<Binding> {
        if socket.state == State::SynRecv {
            return None;
        }
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
    /// Both have SO_REUSEPORT but different owners.
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

impl Verdict {
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
        "depends_on_unknown_v6only",
        "the verdict depends on IPV6_V6ONLY of a [::] socket the kernel did not report",
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
  depends_on_unknown_v6only          depends on a [::] socket's IPV6_V6ONLY, not reported
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
pub fn predict_plan(
    host: &Host,
    live: &[Binding],
    candidates: &[Candidate],
    address_valid: &[Tri],
) -> Vec<Verdict> {
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(candidates.len());
    let mut bound: Vec<Binding> = Vec::new();
    for (i, candidate) in candidates.iter().enumerate() {
        let valid = address_valid.get(i).copied().flatten();
        let verdict = predict_bind(host, live, &bound, candidate, valid);
        // A port-0 candidate gets a port of its own: it meets no one.
        if verdict.bound() && candidate.port != 0 {
            bound.push(Binding::from_candidate(candidate, host.euid, false));
        }
        verdicts.push(verdict);
    }

    // listen(): the same pairwise check, re-run now that the socket listens,
    // against everything bound by then; earlier listeners now LISTEN.
    for (i, candidate) in candidates.iter().enumerate() {
        if !candidate.options.listen
            || candidate.protocol != Protocol::Tcp
            || candidate.port == 0
            || !verdicts[i].bound()
        {
            continue;
        }
        let others: Vec<Binding> = bound
            .iter()
            .filter(|b| b.holder != Holder::Candidate(i))
            .cloned()
            .collect();
        let new = Binding::from_candidate(candidate, host.euid, true);
        let conflicts = conflicts_with(&new, live.iter().chain(others.iter()));
        if let Some(listen_verdict) = conflict_verdict(conflicts, Stage::Listen)
            && (verdicts[i].ok == Some(true) || listen_verdict.ok == Some(false))
        {
            // A bind that "depends" and a listen that surely fails still fail.
            verdicts[i] = listen_verdict;
        }
        if verdicts[i].ok != Some(false) {
            if let Some(entry) = bound.iter_mut().find(|b| b.holder == Holder::Candidate(i)) {
                entry.listening = true;
            }
            verdicts[i].breaks_listen_of = broken_listens(&new, live);
        }
    }
    verdicts
}

/// One bind(): the address checks in the kernel's order, then the port.
fn predict_bind(
    host: &Host,
    live: &[Binding],
    planned: &[Binding],
    candidate: &Candidate,
    address_valid: Tri,
) -> Verdict {
    if let Some(verdict) = address_checks(host, candidate, address_valid) {
        return verdict;
    }
    if candidate.port == 0 {
        return Verdict::ok("ephemeral_port");
    }
    let new = Binding::from_candidate(candidate, host.euid, false);
    let on_port: Vec<&Binding> = live
        .iter()
        .chain(planned.iter())
        .filter(|b| b.protocol == new.protocol && b.port == new.port)
        .collect();
    if on_port.is_empty() {
        return Verdict::ok("port_unused");
    }
    let conflicts = conflicts_with(&new, on_port.iter().copied());
    if let Some(verdict) = conflict_verdict(conflicts, Stage::Bind) {
        return verdict;
    }
    Verdict::ok(sharing_rule(&new, &on_port))
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
    let (shares, why) = match new.protocol {
        Protocol::Tcp => {
            let by_reuseaddr = and(and(new.reuseaddr, old.reuseaddr), Some(!old.listening));
            let by_reuseport = and(
                and(new.reuseport, old.reuseport),
                or(Some(old.time_wait), same_uid),
            );
            (or(by_reuseaddr, by_reuseport), tcp_why(new, old, same_uid))
        }
        Protocol::Udp => {
            let by_reuseaddr = and(new.reuseaddr, old.reuseaddr);
            let by_reuseport = and(and(new.reuseport, old.reuseport), same_uid);
            (or(by_reuseaddr, by_reuseport), udp_why(new, old, same_uid))
        }
    };
    let conflicts = and(overlap, not(shares));
    if conflicts == Some(false) {
        return None;
    }
    let mut unknown = Vec::new();
    if overlap.is_none() {
        unknown.push("v6only");
    }
    if shares.is_none() {
        if old.reuseaddr.is_none() {
            unknown.push("reuseaddr");
        }
        if old.reuseport.is_none() {
            unknown.push("reuseport");
        }
        if same_uid.is_none() && !old.time_wait && new.reuseport == Some(true) {
            unknown.push("uid");
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
    } else if new.reuseport == Some(true) && old.reuseport == Some(true) && same_uid == Some(false)
    {
        NotShared::ReuseportOtherUid
    } else if new.reuseaddr == Some(true) && old.reuseaddr == Some(true) && old.listening {
        NotShared::HolderListens
    } else {
        NotShared::MissingReuse
    }
}

fn udp_why(new: &Binding, old: &Binding, same_uid: Tri) -> NotShared {
    if new.reuseport == Some(true) && old.reuseport == Some(true) && same_uid == Some(false) {
        NotShared::ReuseportOtherUid
    } else {
        NotShared::MissingReuse
    }
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
    let sk1 = Side::of(new);
    let sk2 = Side::of(old);
    match sk1.v6 {
        None => ipv4_equal(sk1.v4, sk2.v4, sk2.v6only),
        Some(_) => ipv6_equal(&sk1, &sk2),
    }
}

fn ipv4_equal(a: Ipv4Addr, b: Ipv4Addr, b_v6only: Tri) -> Tri {
    let same = a == b || a.is_unspecified() || b.is_unspecified();
    and(not(b_v6only), Some(same))
}

fn ipv6_equal(sk1: &Side, sk2: &Side) -> Tri {
    let type1 = addr_type(sk1.v6);
    let type2 = addr_type(sk2.v6);
    if type1 == AddrType::Mapped && type2 == AddrType::Mapped {
        return ipv4_equal(sk1.v4, sk2.v4, sk2.v6only);
    }
    if type1 == AddrType::Any && type2 == AddrType::Any {
        return Some(true);
    }
    let mut result = Some(false);
    if type2 == AddrType::Any {
        let blocked = and(sk2.v6only, Some(type1 == AddrType::Mapped));
        result = or(result, not(blocked));
    }
    if type1 == AddrType::Any {
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
fn broken_listens(new: &Binding, live: &[Binding]) -> Vec<usize> {
    live.iter()
        .filter(|old| {
            old.protocol == Protocol::Tcp
                && old.port == new.port
                && !old.listening
                && !old.time_wait
                && devices_overlap(new, old)
                && addresses_overlap(new, old) == Some(true)
                && old.reuseport != Some(true)
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
    use crate::bind::candidate::{OptionChoices, parse_candidate};

    const ROOT: Host = Host {
        euid: 0,
        can_bind_privileged: true,
        unprivileged_port_start: 1024,
        ipv4_nonlocal_bind: false,
        ipv6_nonlocal_bind: false,
    };

    fn candidates(texts: &[&str]) -> Vec<Candidate> {
        texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let spec = parse_candidate(text, "test").expect("candidate");
                let protocol = spec.protocol.unwrap_or(Protocol::Tcp);
                Candidate {
                    index,
                    text: spec.text.clone(),
                    protocol,
                    address: spec.address,
                    port: spec.port,
                    scope: spec.scope.clone(),
                    options: spec
                        .choices
                        .or(&OptionChoices::default())
                        .resolve(protocol, false),
                }
            })
            .collect()
    }

    /// A live socket: `spec` in candidate syntax, plus its state.
    fn live(spec: &str, index: usize, listening: bool, uid: u32) -> Binding {
        let c = &candidates(&[spec])[0];
        let mut b = Binding::from_candidate(c, uid, listening);
        b.holder = Holder::Live(index);
        b
    }

    fn verdicts(host: &Host, live: &[Binding], plan: &[&str]) -> Vec<Verdict> {
        let c = candidates(plan);
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
        let c = candidates(&["192.0.2.9:80", "[2001:db8::9]:80", "127.0.0.1:80"]);
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
        let c = candidates(&[
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
            "depends_on_unknown_v6only",
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
