//! The model's data: three-valued facts, the bind table's entries, and
//! the verdict.

use std::net::{IpAddr, Ipv6Addr};

use super::catalogue::Rule;
use crate::bind::candidate::Candidate;
use crate::model::{Protocol, Socket, State};

/// A three-valued fact: `None` when it could not be read.
pub type Tri = Option<bool>;

pub(super) fn and(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

pub(super) fn or(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

pub(super) fn not(a: Tri) -> Tri {
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
pub(super) fn effective_v6only(address: IpAddr, flag: Tri) -> Tri {
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

/// What the model predicts for one candidate. Each case carries exactly
/// what it needs: a failure its errno and stage, a "depends" the rule that
/// names the unread fact and what would fail if that fact goes badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    /// It binds (and listens): `rule` says why.
    Binds { rule: Rule },
    /// It fails with `errno` at `stage`: `rule` says why.
    Fails {
        errno: Errno,
        stage: Stage,
        rule: Rule,
    },
    /// It depends on a fact that could not be read (`on`, a `depends_on_`
    /// rule): it binds, or fails with `errno` at `stage`.
    Depends {
        on: Rule,
        errno: Errno,
        stage: Stage,
    },
    /// No prediction: the OS is not one whose bind rules the model knows.
    NoModel,
}

impl Prediction {
    /// `Some(true)` binds, `Some(false)` fails, `None` depends (or no
    /// model).
    pub fn ok(self) -> Tri {
        match self {
            Prediction::Binds { .. } => Some(true),
            Prediction::Fails { .. } => Some(false),
            Prediction::Depends { .. } | Prediction::NoModel => None,
        }
    }

    /// The error when it fails, or would fail if the unknown goes badly.
    pub fn errno(self) -> Option<Errno> {
        match self {
            Prediction::Fails { errno, .. } | Prediction::Depends { errno, .. } => Some(errno),
            Prediction::Binds { .. } | Prediction::NoModel => None,
        }
    }

    pub fn stage(self) -> Option<Stage> {
        match self {
            Prediction::Fails { stage, .. } | Prediction::Depends { stage, .. } => Some(stage),
            Prediction::Binds { .. } | Prediction::NoModel => None,
        }
    }

    /// The rule that decided (JSON `prediction.rule`).
    pub fn rule(self) -> Rule {
        match self {
            Prediction::Binds { rule } | Prediction::Fails { rule, .. } => rule,
            Prediction::Depends { on, .. } => on,
            Prediction::NoModel => Rule::NoModelForOs,
        }
    }

    /// The same failure, now depending on `on`; a prediction that fails
    /// nothing stays as it is.
    pub(crate) fn depending_on(self, on: Rule) -> Prediction {
        debug_assert!(on.is_depends(), "{on:?}");
        match self {
            Prediction::Fails { errno, stage, .. } | Prediction::Depends { errno, stage, .. } => {
                Prediction::Depends { on, errno, stage }
            }
            Prediction::Binds { .. } | Prediction::NoModel => self,
        }
    }
}

/// The model's answer for one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub prediction: Prediction,
    pub conflicts: Vec<Conflict>,
    /// Live sockets whose future listen() this candidate would break
    /// (both bound with SO_REUSEADDR, the live one not yet listening).
    pub breaks_listen_of: Vec<usize>,
}

impl Verdict {
    /// No prediction: the model is Linux's, and these are not Linux's rules.
    pub fn no_model() -> Verdict {
        Verdict::of(Prediction::NoModel)
    }

    fn of(prediction: Prediction) -> Verdict {
        Verdict {
            prediction,
            conflicts: Vec::new(),
            breaks_listen_of: Vec::new(),
        }
    }

    /// Whether the model predicted anything.
    pub fn predicted(&self) -> bool {
        self.prediction != Prediction::NoModel
    }

    /// See [`Prediction::ok`].
    pub fn ok(&self) -> Tri {
        self.prediction.ok()
    }

    pub fn errno(&self) -> Option<Errno> {
        self.prediction.errno()
    }

    pub fn stage(&self) -> Option<Stage> {
        self.prediction.stage()
    }

    pub fn rule(&self) -> Rule {
        self.prediction.rule()
    }

    pub(super) fn binds(rule: Rule) -> Verdict {
        Verdict::of(Prediction::Binds { rule })
    }

    pub(super) fn fails(errno: Errno, stage: Stage, rule: Rule) -> Verdict {
        Verdict::of(Prediction::Fails { errno, stage, rule })
    }

    /// Whether later candidates should see this one in the bind table. A
    /// "depends" candidate is assumed bound, as the trial will show.
    pub(super) fn bound(&self) -> bool {
        self.ok() != Some(false) || self.stage() == Some(Stage::Listen)
    }
}
