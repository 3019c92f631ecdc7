//! `portcheck try`: predict bind() and listen() by the kernel's rules, then
//! confirm with a safe real trial.

pub mod candidate;
pub mod explain;
pub mod facts;
pub mod rules;
pub mod trial;

use candidate::{Candidate, CandidateSpec, OptionChoices};
use rules::{Binding, Host, Stage, Verdict};
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
            self.verdict.ok
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
}

impl TryResult {
    pub fn ok(&self) -> bool {
        self.outcomes.iter().all(|o| o.binds() == Some(true))
    }

    pub fn complete(&self) -> bool {
        crate::warning::complete(&self.warnings)
    }

    /// 0 every candidate binds, 1 some would fail (or cannot be promised).
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.ok())
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
    let (live, mut warnings) = facts::live_table(source, &candidates)?;
    let address_valid: Vec<rules::Tri> = candidates.iter().map(facts::address_valid).collect();
    let bindings: Vec<Binding> = live
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Binding::from_socket(i, s))
        .collect();
    let verdicts = rules::predict_plan(&host, &bindings, &candidates, &address_valid);

    let permissions: Vec<trial::Permission> = candidates
        .iter()
        .zip(&verdicts)
        .map(|(c, v)| {
            if config.trial {
                trial::permission(c, v, &live, host.euid)
            } else {
                trial::Permission {
                    skip: Some(Skip::NoTrialFlag),
                    skip_listen: None,
                }
            }
        })
        .collect();
    let observed = trial::run(&candidates, &permissions);

    let outcomes: Vec<Outcome> = candidates
        .iter()
        .zip(verdicts)
        .zip(observed)
        .map(|((candidate, verdict), trial)| {
            let message = explain::message(&verdict, candidate, &host, &live, &candidates);
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
    warnings.sort();
    Ok(TryResult {
        outcomes,
        live,
        host,
        bindv6only,
        warnings,
    })
}

/// Whether the trial saw what the model predicted, on the stages it tried.
fn agreement(verdict: &Verdict, trial: &Observed, listens: bool) -> Option<bool> {
    if !trial.performed {
        return None;
    }
    let predicted = verdict.ok?;
    match trial.ok? {
        false if predicted => Some(false),
        false => Some(
            verdict.error.map(rules::Errno::name) == trial.error.as_deref()
                && verdict.stage == trial.stage,
        ),
        // Everything the plan asked for was tried and worked.
        true if trial.listen_tried || !listens => Some(predicted),
        // Only the bind was tried: it speaks to a bind-stage prediction.
        true if predicted || verdict.stage == Some(Stage::Bind) => Some(predicted),
        true => None,
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
    let unknown = outcomes.iter().filter(|o| o.verdict.ok.is_none()).count();
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
                let shares = if outcome.verdict.ok.is_none() {
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
                        crate::model::endpoint(socket.local_address, socket.local_port, socket.interface.as_deref()),
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
