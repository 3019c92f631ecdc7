//! A plan's courses: every candidate bound, then listening, in order,
//! forked where an outcome is undecided, merged per candidate.

use super::address::address_checks;
use super::catalogue::Rule;
use super::conflict::{broken_listens, conflict_verdict, conflicts_with, sharing_rule};
use super::overlap::{Side, devices_overlap, rcv_saddr_equal};
use super::tcp::Shortcut;
use super::types::{Binding, Holder, Host, Stage, Tri, Verdict};
use super::udp::udp_first_match;
use crate::bind::candidate::Candidate;
use crate::model::Protocol;

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
            let variants: Vec<(&Verdict, Option<Rule>)> = courses
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
pub(super) fn with_queued_options(live: &[Binding]) -> Vec<Binding> {
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
pub(super) struct Branch {
    shortcut: Shortcut,
    bound: Vec<Binding>,
    verdicts: Vec<Verdict>,
    assumed: Option<Rule>,
}

/// How many courses a port may have before undecided outcomes stop
/// forking: once a step starts with this many, each course follows only
/// the outcome going well (bound, listening). A step that starts below it
/// may still fork every course, so a port can end with up to twice this
/// many.
pub(super) const MAX_BRANCHES: usize = 64;

/// One port's candidates, bound in order and then listening in order, from
/// one state of the port's SO_REUSEPORT shortcut. Where an outcome is
/// undecided ("depends"), both courses are followed, so later candidates
/// are never decided on an assumption.
pub(super) fn simulate(
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

pub(super) fn fork_all(branches: Vec<Branch>, step: impl Fn(Branch) -> Vec<Branch>) -> Vec<Branch> {
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
pub(super) fn bind_step(
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
    if verdict.ok().is_none() {
        branch.assumed.get_or_insert(verdict.rule());
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
pub(super) fn listen_step(
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
        let undecided = listen_verdict.ok().is_none();
        // A bind that "depends" and a listen that surely fails still fail.
        if branch.verdicts[k].ok() == Some(true) || listen_verdict.ok() == Some(false) {
            branch.verdicts[k] = listen_verdict;
        }
        if undecided {
            branch.assumed.get_or_insert(branch.verdicts[k].rule());
            // The course where this listen() fails: bound, not listening.
            refused = Some(branch.clone());
        }
    }
    if branch.verdicts[k].ok() == Some(false) {
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
pub(super) fn merge(variants: &[(&Verdict, Option<Rule>)]) -> Option<Verdict> {
    let (first, _) = *variants.first()?;
    let outcome = |v: &Verdict| (v.ok(), v.errno(), v.stage());
    if variants.iter().all(|(v, _)| outcome(v) == outcome(first)) {
        // Prefer an explanation that does not need the shortcut.
        let plain = variants
            .iter()
            .map(|(v, _)| *v)
            .find(|v| v.rule() != Rule::ReuseportShortcut)
            .unwrap_or(first);
        return Some(plain.clone());
    }
    let undecided = variants.iter().find(|(v, _)| v.ok().is_none());
    let failing = variants.iter().find(|(v, _)| v.ok() == Some(false));
    let mut verdict = match (undecided, failing) {
        // Unreadable facts already make it "depends": that explains it.
        (Some((v, _)), _) => (*v).clone(),
        (None, Some((v, _))) => {
            let mut verdict = (*v).clone();
            // Courses part on an earlier candidate's undecided outcome, or
            // else on the port's shortcut state: its bind order.
            let on = variants
                .iter()
                .find_map(|(_, assumed)| *assumed)
                .unwrap_or(Rule::DependsOnBindOrder);
            verdict.prediction = verdict.prediction.depending_on(on);
            for conflict in &mut verdict.conflicts {
                conflict.certain = false;
                if on == Rule::DependsOnBindOrder {
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

/// One bind(): the address checks in the kernel's order, then the port.
pub(super) fn predict_bind(
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
        return Verdict::binds(Rule::EphemeralPort);
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
        return Verdict::binds(Rule::PortUnused);
    }
    let conflicts = conflicts_with(&new, on_port.iter().copied());
    match new.protocol {
        Protocol::Tcp => match conflict_verdict(conflicts, Stage::Bind) {
            Some(_) if shortcut.admits(&new) => Verdict::binds(Rule::ReuseportShortcut),
            Some(verdict) => verdict,
            None => Verdict::binds(sharing_rule(&new, &on_port)),
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
                (Some(verdict), None) if verdict.ok() != Some(true) => verdict,
                _ => Verdict::binds(sharing_rule(&new, &on_port)),
            }
        }
    }
}
