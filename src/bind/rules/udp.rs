//! UDP's first match: the port's hash chain decides, not every socket.

use super::catalogue::Rule;
use super::conflict::{conflict, conflict_verdict};
use super::overlap::{addresses_overlap, devices_overlap};
use super::types::{Binding, Conflict, Prediction, Stage, Tri, Verdict, and, not};

/// Where a UDP socket sits in its port's hash chain: `udp_lib_get_port`
/// adds IPv6 sockets with SO_REUSEPORT at the tail, every other socket at
/// the head.
pub(super) fn udp_chain_tail(socket: &Binding) -> Tri {
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
pub(super) fn udp_first_match(
    new: &Binding,
    live: &[&Binding],
    planned: &[&Binding],
) -> Option<Verdict> {
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
        return Some(Verdict::binds(Rule::ReuseportShortcut));
    }
    let facts_unknown = firsts
        .iter()
        .any(|old| contender(old).is_none() || shares(old).is_none());
    let mut verdict = conflict_verdict(failing, Stage::Bind)?;
    if !facts_unknown && outcomes.contains(&Some(true)) && outcomes.contains(&Some(false)) {
        verdict.prediction = verdict.prediction.depending_on(Rule::DependsOnBindOrder);
        for conflict in &mut verdict.conflicts {
            conflict.certain = false;
            conflict.unknown.push("bind_order");
        }
    } else if outcomes.contains(&Some(true)) || outcomes.contains(&None) {
        // A fact that could not be read decides which socket is met first,
        // or what it says.
        for conflict in &mut verdict.conflicts {
            conflict.certain = false;
        }
        if let Prediction::Fails { .. } = verdict.prediction {
            let v6only_only = verdict
                .conflicts
                .iter()
                .all(|c| c.unknown.iter().all(|u| *u == "v6only"));
            verdict.prediction = verdict.prediction.depending_on(if v6only_only {
                Rule::DependsOnUnknownV6only
            } else {
                Rule::DependsOnUnreadableOptions
            });
        }
    }
    Some(verdict)
}

/// Whether the walk of `udp_lib_lport_inuse` stops at `old`: it overlaps
/// the new socket and SO_REUSEADDR is not set on both.
pub(super) fn udp_contender(new: &Binding, old: &Binding) -> Tri {
    and(
        and(Some(devices_overlap(new, old)), addresses_overlap(new, old)),
        not(and(new.reuseaddr, old.reuseaddr)),
    )
}

/// The sockets the chain walk may meet first among those it stops at, and
/// whether it surely stops at one of them: candidates at the head (newest
/// first), then the live sockets (in an order not known), then candidates
/// at the tail (oldest first).
pub(super) fn udp_possible_firsts<'a>(
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
