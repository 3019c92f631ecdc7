//! `portcheck try`: predict bind() and listen() by the kernel's rules, then
//! confirm with a safe real trial.

pub mod candidate;
pub mod explain;
pub mod facts;
pub mod rules;
pub mod slots;
pub mod trial;

use candidate::{Candidate, CandidateSpec, OptionChoices};
use rules::{Binding, Host, Prediction, Rule, Stage, Verdict};
use trial::{Observed, Skip};

use crate::error::Error;
use crate::model::{Protocol, Socket};
use crate::sockets::SocketSource;
use crate::warning::{Warning, counted};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryConfig {
    pub specs: Vec<CandidateSpec>,
    /// Options set by flags for every candidate.
    pub defaults: OptionChoices,
    pub default_protocol: Protocol,
    pub trial: bool,
}

/// One candidate's prediction, trial and their agreement.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub candidate: Candidate,
    pub verdict: Verdict,
    pub message: String,
    pub trial: Observed,
    /// `None` when there is nothing to compare.
    pub agree: Option<bool>,
}

impl Outcome {
    /// Whether the candidate binds: the trial where it answered for the
    /// stage that decides, else the prediction.
    pub fn binds(&self) -> Option<bool> {
        let trial_covers = self.trial.performed
            && (self.trial.ok == Some(false)
                || self.trial.listen_tried
                || !self.candidate.options.listen);
        if trial_covers {
            self.trial.ok
        } else {
            self.verdict.ok()
        }
    }
}

#[derive(Debug, Clone)]
pub struct TryResult {
    pub outcomes: Vec<Outcome>,
    pub live: Vec<Socket>,
    pub host: Host,
    pub bindv6only: bool,
    pub warnings: Vec<Warning>,
    /// `try PORT`: how the port's slots add up; `None` for a plan.
    pub port_map: Option<slots::PortMap>,
}

impl TryResult {
    pub fn ok(&self) -> bool {
        self.outcomes.iter().all(|o| o.binds() == Some(true))
    }
}

impl crate::exit::CommandResult for TryResult {
    const NAME: &'static str = "try";

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    fn warnings_mut(&mut self) -> &mut Vec<Warning> {
        &mut self.warnings
    }

    /// Met: every candidate binds; not: some would fail (or cannot be
    /// promised).
    fn exit_code(&self) -> crate::exit::Exit {
        crate::exit::Exit::met(self.ok())
    }
}

pub fn run(config: &TryConfig, source: &dyn SocketSource) -> Result<TryResult, Error> {
    run_as(config, source, facts::host())
}

/// As [`run`], predicting for the process `host` describes rather than this
/// one: `why` asks as the program that failed, whose privileges are not
/// portcheck's.
pub fn run_as(
    config: &TryConfig,
    source: &dyn SocketSource,
    host: Host,
) -> Result<TryResult, Error> {
    if config.specs.is_empty() {
        return Err(Error::NoCandidates);
    }
    let bindv6only = facts::bindv6only();
    let candidates: Vec<Candidate> = config
        .specs
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            Candidate::from_spec(
                index,
                spec,
                &config.defaults,
                config.default_protocol,
                bindv6only,
            )
        })
        .collect();
    evaluate(
        &candidates,
        config.trial,
        source,
        host,
        bindv6only,
        Plan::Together,
    )
}

/// How candidates meet each other: as one program's plan (each sees the
/// earlier ones), or each on its own against the live sockets only (`try
/// PORT`'s slots, each a different service's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Together,
    EachAlone,
}

/// Predicts, tries and explains `candidates` against the live table.
pub fn evaluate(
    candidates: &[Candidate],
    trial: bool,
    source: &dyn SocketSource,
    host: Host,
    bindv6only: bool,
    plan: Plan,
) -> Result<TryResult, Error> {
    // SO_BINDTODEVICE or a `%zone` naming no device fails with ENODEV
    // before any conflict rule applies: an error in the input, not a verdict.
    facts::check_interfaces(candidates.iter().filter_map(Candidate::device), "try")?;
    let (live, mut warnings) = facts::live_table(source, candidates)?;
    let address_valid: Vec<rules::Tri> = candidates.iter().map(facts::address_valid).collect();
    let bindings: Vec<Binding> = live
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Binding::from_socket(i, s))
        .collect();
    let os = std::env::consts::OS;
    let predicted = match plan {
        Plan::Together => predict(os, &host, &bindings, candidates, &address_valid),
        Plan::EachAlone => candidates
            .iter()
            .zip(&address_valid)
            .flat_map(|(candidate, valid)| {
                predict(
                    os,
                    &host,
                    &bindings,
                    std::slice::from_ref(candidate),
                    std::slice::from_ref(valid),
                )
            })
            .collect(),
    };
    let verdicts: Vec<Verdict> = predicted
        .into_iter()
        .zip(candidates)
        .map(|(verdict, candidate)| {
            within_what_was_seen(verdict, candidate, &live, source.lists_bound_only_tcp())
        })
        .collect();

    let permissions: Vec<trial::Permission> = candidates
        .iter()
        .zip(&verdicts)
        .map(|(c, v)| {
            if trial {
                trial::permission(c, v, &live, host.euid)
            } else {
                trial::Permission {
                    skip: Some(Skip::NoTrialFlag),
                    skip_listen: None,
                }
            }
        })
        .collect();
    let observed = match plan {
        Plan::Together => trial::run(candidates, &permissions),
        // Each trial socket is closed before the next is made.
        Plan::EachAlone => candidates
            .iter()
            .zip(&permissions)
            .flat_map(|(c, p)| trial::run(std::slice::from_ref(c), std::slice::from_ref(p)))
            .collect(),
    };

    let outcomes: Vec<Outcome> = candidates
        .iter()
        .zip(verdicts)
        .zip(observed)
        .map(|((candidate, verdict), trial)| {
            let message = explain::message(&verdict, candidate, &host, &live, candidates);
            let agree = agreement(&verdict, &trial, candidate.options.listen);
            Outcome {
                candidate: candidate.clone(),
                verdict,
                message,
                trial,
                agree,
            }
        })
        .collect();
    warnings.extend(outcome_warnings(&outcomes, &live));
    warnings.extend(facts::unreadable_sysctls(&facts::BIND_SYSCTLS));
    if outcomes
        .iter()
        .any(|o| crate::model::canonical(o.candidate.address).is_ipv6())
        && let Some(why) = facts::ipv6_unavailable()
    {
        warnings.push(Warning::note(
            "ipv6_disabled",
            format!("{why}: no IPv6 address but [::] can be bound"),
        ));
    }
    warnings.sort();
    Ok(TryResult {
        outcomes,
        live,
        host,
        bindv6only,
        warnings,
        port_map: None,
    })
}

/// The OS whose bind() rules `rules.rs` models, when it is `os`.
///
/// The model is Linux's (read in the kernel's source, held to the kernel by
/// a differential test); other systems differ where it matters: on BSD and
/// macOS SO_REUSEADDR lets a specific address bind beside a wildcard on the
/// same port (FreeBSD's `in_pcbbind_setup`, netinet/in_pcb.c), and Windows
/// has SO_EXCLUSIVEADDRUSE and lets a second SO_REUSEADDR socket take a
/// port outright ("Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE", Microsoft
/// Learn). Rather than print Linux's verdict as theirs, `try` makes no
/// prediction there and the trial bind alone answers. The choice follows
/// the OS, not the socket source: Linux read through netstat2 is still
/// Linux, and what netstat2 cannot say makes verdicts "depends".
pub fn bind_model_for(os: &str) -> Option<&'static str> {
    (os == "linux").then_some("linux")
}

/// The model's verdicts on `os`, or "no prediction" for every candidate.
pub fn predict(
    os: &str,
    host: &Host,
    bindings: &[Binding],
    candidates: &[Candidate],
    address_valid: &[rules::Tri],
) -> Vec<Verdict> {
    if bind_model_for(os).is_some() {
        rules::predict_plan(host, bindings, candidates, address_valid)
    } else {
        candidates.iter().map(|_| Verdict::no_model()).collect()
    }
}

/// A verdict limited to what the socket source could see: where it cannot
/// list bound-only TCP sockets, "binds" becomes "depends" (one may hold the
/// port); where it cannot read a socket's device, a conflict with it is not
/// certain for a candidate bound to a device. Only verdicts that an unseen
/// fact could overturn change.
pub fn within_what_was_seen(
    mut verdict: Verdict,
    candidate: &Candidate,
    live: &[Socket],
    lists_bound_only_tcp: bool,
) -> Verdict {
    if !verdict.predicted() {
        return verdict;
    }
    let decided_by_sockets = verdict.rule() != Rule::EphemeralPort;
    if let Prediction::Binds { .. } = verdict.prediction
        && candidate.protocol == Protocol::Tcp
        && !lists_bound_only_tcp
        && decided_by_sockets
    {
        verdict.prediction = Prediction::Depends {
            on: Rule::DependsOnUnlistedSockets,
            errno: rules::Errno::AddrInUse,
            stage: Stage::Bind,
        };
    }
    let device_unknown = |conflict: &rules::Conflict| match conflict.holder {
        rules::Holder::Live(index) => live.get(index).is_some_and(|s| !s.interface_known),
        rules::Holder::Candidate(_) => false,
    };
    // A conflict with a socket whose device is known still stands.
    if let Prediction::Fails { .. } = verdict.prediction
        && candidate.device().is_some()
        && !verdict.conflicts.is_empty()
        && verdict.conflicts.iter().all(device_unknown)
    {
        for conflict in &mut verdict.conflicts {
            conflict.certain = false;
            conflict.unknown.push("device");
        }
        verdict.prediction = verdict
            .prediction
            .depending_on(Rule::DependsOnUnknownDevice);
    }
    verdict
}

/// Whether the trial saw what the model predicted, on the stages it tried.
fn agreement(verdict: &Verdict, trial: &Observed, listens: bool) -> Option<bool> {
    if !trial.performed {
        return None;
    }
    let trial_ok = trial.ok?;
    match verdict.prediction {
        Prediction::Depends { .. } | Prediction::NoModel => None,
        Prediction::Binds { .. } => Some(trial_ok),
        Prediction::Fails { errno, stage, .. } => match trial_ok {
            false => {
                Some(Some(errno.name()) == trial.error.as_deref() && Some(stage) == trial.stage)
            }
            // Everything the plan asked for was tried and worked.
            true if trial.listen_tried || !listens => Some(false),
            // Only the bind was tried: it speaks to a bind-stage prediction.
            true if stage == Stage::Bind => Some(false),
            true => None,
        },
    }
}

fn outcome_warnings(outcomes: &[Outcome], live: &[Socket]) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let disagreements: Vec<String> = outcomes
        .iter()
        .filter(|o| o.agree == Some(false))
        .map(|o| format!("#{} {}", o.candidate.index, o.candidate))
        .collect();
    if !disagreements.is_empty() {
        warnings.push(Warning::note(
            "model_disagrees_with_kernel",
            format!(
                "the trial contradicts the prediction for {}: the kernel is right, so this is a rule the model does not know; please report it",
                disagreements.join(", ")
            ),
        ));
    }
    if outcomes.iter().any(|o| !o.verdict.predicted()) {
        warnings.push(Warning::note(
            "no_model_for_os",
            format!(
                "no prediction on {}: portcheck models Linux's bind rules only, and this OS's differ (SO_REUSEADDR, SO_EXCLUSIVEADDRUSE), so the trial bind alone answers",
                std::env::consts::OS
            ),
        ));
    }
    let unknown = outcomes
        .iter()
        .filter(|o| matches!(o.verdict.prediction, Prediction::Depends { .. }))
        .count();
    if unknown > 0 {
        warnings.push(Warning::gap(
            "prediction_depends_on_unreadable_facts",
            format!(
                "{} on socket options that could not be read; the trial settles it where it runs",
                counted(unknown, "prediction depends", "predictions depend")
            ),
        ));
    }
    let unfiltered: Vec<String> = outcomes
        .iter()
        .filter(|o| o.trial.skipped == Some(Skip::FilterNotPermitted))
        .map(|o| format!("#{}", o.candidate.index))
        .collect();
    if !unfiltered.is_empty() {
        // One note for the run, not one per candidate: the cause is the
        // same for all of them.
        warnings.push(Warning::note(
            "trial_not_permitted",
            format!(
                "no trial for {}: this kernel does not let this process attach the filter that keeps a trial socket from taking any traffic (SO_ATTACH_FILTER), and no trial is made without it; run as root to have the predictions confirmed",
                unfiltered.join(", ")
            ),
        ));
    }
    for outcome in outcomes {
        for &index in &outcome.verdict.breaks_listen_of {
            if let Some(socket) = live.get(index) {
                // A candidate whose bind "depends" may not share the port
                // at all: say so rather than state the sharing as a fact.
                let shares = if outcome.verdict.ok().is_none() {
                    "may share"
                } else {
                    "shares"
                };
                // Without SO_REUSEADDR a candidate can only have come in
                // through the kernel's SO_REUSEPORT shortcut.
                let through = if outcome.candidate.options.reuseaddr {
                    "SO_REUSEADDR"
                } else {
                    "the kernel's SO_REUSEPORT shortcut"
                };
                warnings.push(Warning::note(
                    "breaks_live_listen",
                    format!(
                        "#{} {shares} {} through {through} with a bound socket of {} that does not listen yet: once #{} listens, that socket's listen() will fail",
                        outcome.candidate.index,
                        crate::model::endpoint(socket.local_address, socket.local_port, socket.device_shown()),
                        explain::holder_name(socket),
                        outcome.candidate.index
                    ),
                ));
            }
        }
        if let Some(setup) = &outcome.trial.setup_error {
            warnings.push(Warning::note(
                "trial_setup_failed",
                format!(
                    "#{}: the trial could not set up its socket ({setup})",
                    outcome.candidate.index
                ),
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            euid: 0,
            can_bind_privileged: true,
            unprivileged_port_start: 1024,
            ipv4_nonlocal_bind: false,
            ipv6_nonlocal_bind: false,
        }
    }

    #[test]
    fn only_linux_gets_the_linux_model() {
        assert_eq!(bind_model_for("linux"), Some("linux"));
        for os in ["macos", "windows", "freebsd", "openbsd", "android"] {
            assert_eq!(bind_model_for(os), None, "{os}");
        }
    }

    #[test]
    fn other_oses_get_no_prediction_rather_than_linuxs() {
        let candidates = Candidate::plan(&["[::]:8000", "0.0.0.0:8000"]);
        let valid = vec![Some(true); candidates.len()];
        // On Linux the second candidate fails on the dual-stack first one.
        let linux = predict("linux", &host(), &[], &candidates, &valid);
        assert_eq!(linux[1].ok(), Some(false));
        for os in ["macos", "windows", "freebsd"] {
            let verdicts = predict(os, &host(), &[], &candidates, &valid);
            assert_eq!(verdicts.len(), 2);
            for verdict in verdicts {
                assert_eq!(verdict.ok(), None, "{os}");
                assert_eq!(verdict.rule(), Rule::NoModelForOs);
                assert!(!verdict.predicted());
                assert!(verdict.conflicts.is_empty());
            }
        }
    }

    fn live_listener(interface_known: bool) -> Socket {
        let mut socket = Socket::bare(
            Protocol::Tcp,
            "127.0.0.1".parse().expect("address"),
            8000,
            crate::model::State::Listen,
        );
        socket.interface_known = interface_known;
        (socket.reuseaddr, socket.reuseport, socket.uid) = (Some(true), Some(false), Some(0));
        socket
    }

    fn verdict_with(live: &[Socket], candidate: &str, lists_bound_only_tcp: bool) -> Verdict {
        let candidates = Candidate::plan(&[candidate]);
        let bindings: Vec<Binding> = live
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Binding::from_socket(i, s))
            .collect();
        let verdict = predict("linux", &host(), &bindings, &candidates, &[Some(true)]).remove(0);
        within_what_was_seen(verdict, &candidates[0], live, lists_bound_only_tcp)
    }

    #[test]
    fn a_source_blind_to_bound_only_tcp_cannot_promise_a_free_port() {
        let seen = verdict_with(&[], "127.0.0.1:8000", true);
        assert_eq!((seen.ok(), seen.rule()), (Some(true), Rule::PortUnused));
        let blind = verdict_with(&[], "127.0.0.1:8000", false);
        assert_eq!(blind.ok(), None);
        assert_eq!(blind.rule(), Rule::DependsOnUnlistedSockets);
        assert_eq!(blind.errno(), Some(rules::Errno::AddrInUse));
        // UDP has no bound-only state to miss; port 0 always binds.
        assert_eq!(
            verdict_with(&[], "udp:127.0.0.1:8000", false).ok(),
            Some(true)
        );
        assert_eq!(verdict_with(&[], "127.0.0.1:0", false).ok(), Some(true));
        // A conflict it does see still fails.
        let held = verdict_with(&[live_listener(false)], "127.0.0.1:8000", false);
        assert_eq!(held.ok(), Some(false));
    }

    #[test]
    fn an_unknown_device_makes_a_device_bound_candidates_conflict_depend() {
        let unknown = verdict_with(&[live_listener(false)], "127.0.0.1:8000/device=lo", true);
        assert_eq!(unknown.ok(), None);
        assert_eq!(unknown.rule(), Rule::DependsOnUnknownDevice);
        assert!(unknown.conflicts.iter().all(|c| !c.certain));
        assert!(
            unknown
                .conflicts
                .iter()
                .all(|c| c.unknown.contains(&"device"))
        );
        let known = verdict_with(&[live_listener(true)], "127.0.0.1:8000/device=lo", true);
        assert_eq!(known.ok(), Some(false));
        // Without a device of its own the candidate overlaps any device.
        let plain = verdict_with(&[live_listener(false)], "127.0.0.1:8000", true);
        assert_eq!(plain.ok(), Some(false));
    }

    #[test]
    fn without_a_prediction_the_trial_answers_and_agreement_is_null() {
        let verdict = Verdict::no_model();
        let trial = Observed::succeeded();
        assert_eq!(agreement(&verdict, &trial, true), None);
        let outcome = Outcome {
            candidate: Candidate::plan(&["127.0.0.1:8000"]).remove(0),
            verdict,
            message: String::new(),
            trial,
            agree: None,
        };
        assert_eq!(outcome.binds(), Some(true));
        let warnings = outcome_warnings(std::slice::from_ref(&outcome), &[]);
        let codes: Vec<&str> = warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, ["no_model_for_os"]);
        assert!(crate::warning::complete(&warnings));
    }
}
