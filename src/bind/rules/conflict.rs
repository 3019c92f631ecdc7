//! Pairwise conflicts, the rule named for them, and why a bind shares.

use super::catalogue::Rule;
use super::overlap::{addresses_overlap, devices_overlap, overlap_kind};
use super::types::{
    Binding, Conflict, Errno, Holder, NotShared, Overlap, Prediction, Stage, Tri, Verdict, and,
    not, or,
};
use crate::model::Protocol;

pub(super) fn conflicts_with<'a>(
    new: &Binding,
    existing: impl Iterator<Item = &'a Binding>,
) -> Vec<Conflict> {
    existing
        .filter(|old| old.protocol == new.protocol && old.port == new.port)
        .filter_map(|old| conflict(new, old))
        .collect()
}

/// The pairwise test of `inet_bind_conflict` (TCP) and
/// `udp_lib_lport_inuse` (UDP): `None` when the two surely coexist.
pub(super) fn conflict(new: &Binding, old: &Binding) -> Option<Conflict> {
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

pub(super) fn tcp_why(new: &Binding, old: &Binding, same_uid: Tri) -> NotShared {
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

pub(super) fn udp_why(new: &Binding, old: &Binding, same_uid: Tri) -> NotShared {
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
pub(super) fn reuseport_other_uid(new: &Binding, old: &Binding, same_uid: Tri) -> bool {
    new.reuseport == Some(true) && old.reuseport != Some(false) && same_uid == Some(false)
}

/// A failing verdict from the conflicts found, or `None` when there are
/// none. Certain conflicts decide; uncertain ones make it "depends".
pub(super) fn conflict_verdict(conflicts: Vec<Conflict>, stage: Stage) -> Option<Verdict> {
    if conflicts.is_empty() {
        return None;
    }
    let certain: Vec<Conflict> = conflicts.iter().filter(|c| c.certain).cloned().collect();
    let errno = Errno::AddrInUse;
    let (prediction, decisive) = if certain.is_empty() {
        let on = if conflicts.iter().all(|c| c.unknown == ["v6only"]) {
            Rule::DependsOnUnknownV6only
        } else {
            Rule::DependsOnUnreadableOptions
        };
        (Prediction::Depends { on, errno, stage }, conflicts)
    } else {
        let rule = conflict_rule(&certain[0]);
        (Prediction::Fails { errno, stage, rule }, certain)
    };
    Some(Verdict {
        prediction,
        conflicts: decisive,
        breaks_listen_of: Vec::new(),
    })
}

/// The rule named for a conflict: the sharing rule that failed when that is
/// the surprise, else how the addresses overlap.
pub(super) fn conflict_rule(conflict: &Conflict) -> Rule {
    let cross_family = matches!(
        conflict.overlap,
        Overlap::CandidateDualStack | Overlap::HolderDualStack | Overlap::Mapped
    );
    match conflict.why {
        NotShared::TimeWait => Rule::TimeWaitNeedsReuseaddr,
        // An IPv6 socket colliding with IPv4 is the surprise to name first.
        _ if cross_family => overlap_rule(conflict.overlap),
        NotShared::ReuseportOtherUid => Rule::ReuseportNeedsSameUid,
        NotShared::HolderListens => Rule::ListenerNeverShares,
        NotShared::MissingReuse => overlap_rule(conflict.overlap),
    }
}

pub fn overlap_rule(overlap: Overlap) -> Rule {
    match overlap {
        Overlap::SameAddress => Rule::SameAddress,
        Overlap::HolderWildcard => Rule::WildcardCoversAddress,
        Overlap::CandidateWildcard => Rule::CandidateWildcardCoversAddress,
        Overlap::CandidateDualStack | Overlap::HolderDualStack => {
            Rule::DualStackWildcardOverlapsIpv4
        }
        Overlap::Mapped => Rule::MappedAddressIsIpv4,
    }
}

/// Why a bind with sockets on the port succeeds.
pub(super) fn sharing_rule(new: &Binding, on_port: &[&Binding]) -> Rule {
    let overlapping: Vec<&&Binding> = on_port
        .iter()
        .filter(|old| addresses_overlap(new, old) != Some(false))
        .collect();
    if overlapping.is_empty() {
        return Rule::NoOverlap;
    }
    if overlapping.iter().all(|old| !devices_overlap(new, old)) {
        return Rule::DifferentDevice;
    }
    let by_reuseport = overlapping.iter().any(|old| {
        devices_overlap(new, old) && new.reuseport == Some(true) && old.reuseport == Some(true)
    });
    // SO_REUSEADDR alone shares only with sockets that do not listen, so a
    // listener on the address means the reuseport group did the sharing.
    let by_reuseaddr_alone =
        new.reuseaddr == Some(true) && !overlapping.iter().any(|old| old.listening);
    if by_reuseport && !by_reuseaddr_alone {
        Rule::SharedReuseport
    } else {
        Rule::SharedReuseaddr
    }
}

/// Live bound-only sockets sharing the address through SO_REUSEADDR: once
/// this candidate listens, their own listen() fails with EADDRINUSE.
/// Whether `old`'s own listen() fails once `new` listens beside it: a
/// listener shares its port only through SO_REUSEPORT on both under one
/// uid (SO_REUSEADDR never shares with a listener), so the live socket's
/// SO_REUSEPORT alone does not save it. Three-valued: with its options or
/// owner unknown nothing is promised, and only a sure break is reported.
pub(super) fn listen_breaks(new: &Binding, old: &Binding) -> Tri {
    let same_uid = match (new.uid, old.uid) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    not(and(and(new.reuseport, old.reuseport), same_uid))
}

pub(super) fn broken_listens(new: &Binding, live: &[Binding]) -> Vec<usize> {
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
