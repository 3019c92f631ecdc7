//! Sentences a person understands, from the model's verdicts.

use std::fmt::Write as _;

use super::candidate::Candidate;
use super::rules::{Conflict, Holder, Host, NotShared, Overlap, Rule, Verdict};
use crate::model::{OwnerGap, Socket, State, endpoint};
use crate::warning::counted;

/// Who holds a live socket, in words: `nginx (pid 812)`, `a TIME_WAIT
/// entry`, `uid 1000 (owner unreadable)`.
pub fn holder_name(socket: &Socket) -> String {
    if socket.state == State::TimeWait {
        return "a TIME_WAIT entry (no process)".into();
    }
    match socket.processes.as_slice() {
        [] => match socket.uid {
            Some(uid) => format!(
                "{} ({})",
                socket.user.clone().unwrap_or_else(|| format!("uid {uid}")),
                // Unreadable (another user's process, without root) is not
                // the same as nowhere to be seen (another PID namespace).
                if socket.owner_gap == Some(OwnerGap::Unreadable) {
                    "owner unreadable"
                } else {
                    "owner not visible"
                }
            ),
            None => "an owner that cannot be seen".into(),
        },
        [one] => format!(
            "{} (pid {})",
            one.shown_name().as_deref().unwrap_or("?"),
            one.pid
        ),
        many => {
            let pids: Vec<String> = many.iter().map(|p| p.pid.to_string()).collect();
            format!(
                "{} (pids {})",
                many[0].shown_name().as_deref().unwrap_or("?"),
                pids.join(", ")
            )
        }
    }
}

fn describe_holder(holder: Holder, live: &[Socket], candidates: &[Candidate]) -> (String, String) {
    match holder {
        Holder::Live(index) => live.get(index).map_or_else(
            || ("?".into(), "?".into()),
            |s| {
                (
                    endpoint(s.local_address, s.local_port, s.device_shown()),
                    format!("held by {}", holder_name(s)),
                )
            },
        ),
        Holder::Candidate(index) => candidates.get(index).map_or_else(
            || ("?".into(), "?".into()),
            |c| {
                (
                    c.endpoint(),
                    format!("taken by candidate #{index} of this plan"),
                )
            },
        ),
    }
}

/// The sentence for one verdict.
pub fn message(
    verdict: &Verdict,
    candidate: &Candidate,
    host: &Host,
    live: &[Socket],
    candidates: &[Candidate],
) -> String {
    let me = candidate.endpoint();
    match verdict.rule() {
        Rule::NoModelForOs => format!(
            "no prediction on {}: the trial bind alone answers",
            std::env::consts::OS
        ),
        Rule::DependsOnUnlistedSockets => format!(
            "no listed socket is in the way of {me}, but this socket source cannot list TCP sockets that are bound without listening, and one may hold port {}",
            candidate.port
        ),
        Rule::PortUnused => format!(
            "nothing holds {} port {}",
            candidate.protocol.name(),
            candidate.port
        ),
        Rule::EphemeralPort => "port 0: the kernel picks a free ephemeral port".into(),
        Rule::NoOverlap => format!(
            "sockets hold port {}, but none overlaps {me}",
            candidate.port
        ),
        Rule::DifferentDevice => format!(
            "the sockets on port {} that overlap {me} are bound to other devices",
            candidate.port
        ),
        Rule::SharedReuseaddr => format!(
            "{me} shares the port: every overlapping socket set SO_REUSEADDR, as does this one, and none listens"
        ),
        Rule::SharedReuseport => format!("{me} joins a SO_REUSEPORT group of uid {}", host.euid),
        Rule::ReuseportShortcut => format!(
            "{me} gets the port through the kernel's SO_REUSEPORT shortcut: an earlier SO_REUSEPORT socket of uid {} vouches for this address, so the other sockets on port {} that would refuse it are not checked",
            host.euid, candidate.port
        ),
        Rule::PrivilegedPort => format!(
            "port {} is below net.ipv4.ip_unprivileged_port_start ({}) and this process (uid {}) lacks CAP_NET_BIND_SERVICE",
            candidate.port, host.unprivileged_port_start, host.euid
        ),
        Rule::AddressNotLocal => format!(
            "{} is not an address of this host; IP_FREEBIND (option freebind) or the ip_nonlocal_bind sysctl would allow it",
            candidate.address
        ),
        Rule::MappedAddressOnV6only => format!(
            "{} is an IPv4-mapped address, which a socket with IPV6_V6ONLY cannot bind",
            candidate.address
        ),
        Rule::LinkLocalNeedsScope => format!(
            "{} is link-local: name the interface ([{}%eth0]) or set device=",
            candidate.address, candidate.address
        ),
        Rule::TcpMulticast => format!(
            "TCP cannot bind the multicast address {}",
            candidate.address
        ),
        // A conflict, or a conflict that hinges on an unread fact: the
        // sentence names the holder and why it does not share.
        Rule::SameAddress
        | Rule::WildcardCoversAddress
        | Rule::CandidateWildcardCoversAddress
        | Rule::DualStackWildcardOverlapsIpv4
        | Rule::MappedAddressIsIpv4
        | Rule::ListenerNeverShares
        | Rule::ReuseportNeedsSameUid
        | Rule::TimeWaitNeedsReuseaddr
        | Rule::DependsOnUnreadableOptions
        | Rule::DependsOnBindOrder
        | Rule::DependsOnUnknownV6only
        | Rule::DependsOnUnknownDevice => conflict_message(verdict, candidate, live, candidates),
    }
}

fn conflict_message(
    verdict: &Verdict,
    candidate: &Candidate,
    live: &[Socket],
    candidates: &[Candidate],
) -> String {
    let Some(first) = verdict.conflicts.first() else {
        return verdict.rule().name().replace('_', " ");
    };
    let me = candidate.endpoint();
    let (them, held) = describe_holder(first.holder, live, candidates);
    let overlap = match first.overlap {
        Overlap::SameAddress => format!("{them} is {held}"),
        Overlap::HolderWildcard => format!("{me} is covered by {them}, {held}"),
        Overlap::CandidateWildcard => format!("{me} covers {them}, {held}"),
        Overlap::CandidateDualStack => {
            format!("{me} without IPV6_V6ONLY also takes IPv4, and {them} is {held}")
        }
        // The flag may be unknown (netstat2 does not report it): then say
        // what it hinges on rather than that it is unset.
        Overlap::HolderDualStack if first.unknown.contains(&"v6only") => {
            format!(
                "{them} ({held}) covers {me} unless it has IPV6_V6ONLY (without it, [::] also takes IPv4)"
            )
        }
        Overlap::HolderDualStack => {
            format!("{them} ({held}) has no IPV6_V6ONLY, so it also takes IPv4 and covers {me}")
        }
        Overlap::Mapped => format!("{me} binds as IPv4, and {them} is {held}"),
    };
    // uid 65534 cannot read root's socket options; the uid decides anyway.
    let holder_reuseport_unread = match first.holder {
        Holder::Live(index) => live.get(index).is_some_and(|s| s.reuseport.is_none()),
        Holder::Candidate(_) => false,
    };
    let why = sharing_reason(first, holder_reuseport_unread);
    let mut sentence = format!("{overlap}; {why}");
    if verdict.rule() == Rule::DependsOnBindOrder {
        let _ = write!(
            sentence,
            "; but the kernel's SO_REUSEPORT shortcut may let it in anyway, depending on the order the sockets on port {} were bound, which no socket table shows",
            candidate.port
        );
    } else if verdict.ok().is_none() {
        let _ = write!(
            sentence,
            "; it depends on the holder's {}, which could not be read",
            first.unknown.join(" and ")
        );
    }
    let more = verdict.conflicts.len() - 1;
    if more > 0 {
        let _ = write!(
            sentence,
            " (and {})",
            counted(more, "more conflicting socket", "more conflicting sockets")
        );
    }
    sentence
}

fn sharing_reason(conflict: &Conflict, holder_reuseport_unread: bool) -> &'static str {
    match conflict.why {
        NotShared::ReuseportOtherUid if holder_reuseport_unread => {
            "a reuseport group needs one effective uid, and the holder is another uid's (whether it set SO_REUSEPORT could not be read, and does not matter)"
        }
        NotShared::MissingReuse => {
            "sharing needs SO_REUSEADDR on both with no listener, or SO_REUSEPORT on both under one uid"
        }
        NotShared::HolderListens => "SO_REUSEADDR never shares a port with a listening socket",
        NotShared::ReuseportOtherUid => {
            "both set SO_REUSEPORT, but a reuseport group needs one effective uid"
        }
        NotShared::TimeWait => {
            "a TIME_WAIT entry yields only when both it and the new socket have SO_REUSEADDR"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    /// Without root another user's owner is unreadable, which is not the
    /// same as an owner in another PID namespace: the words say which.
    #[test]
    fn a_hidden_holder_is_named_by_why_it_is_hidden() {
        let mut socket = Socket::bare(
            Protocol::Tcp,
            "127.0.0.1".parse().expect("address"),
            8000,
            State::Listen,
        );
        socket.uid = Some(0);
        socket.user = Some("root".into());
        socket.owner_gap = Some(OwnerGap::Unreadable);
        assert_eq!(holder_name(&socket), "root (owner unreadable)");
        socket.owner_gap = Some(OwnerGap::NotVisible);
        socket.user = None;
        assert_eq!(holder_name(&socket), "uid 0 (owner not visible)");
    }
}
