//! `try` as a table.

use std::fmt::Write as _;

use comfy_table::Cell;

use super::grid::render;
use super::{Style, warnings};
use crate::bind::candidate::Candidate;
use crate::bind::rules::{Errno, Prediction, Stage};
use crate::bind::{Outcome, TryResult};
use crate::model::Protocol;

pub fn try_plan(result: &TryResult, style: Style) -> String {
    if result.port_map.is_some() {
        return port_map(result, style);
    }
    let mut out = outcome_table(&result.outcomes.iter().collect::<Vec<_>>(), false, style);
    out.push_str(&warnings(&result.warnings, style));
    out
}

/// `try PORT`: one table per protocol, then the count of services the
/// port can still take.
fn port_map(result: &TryResult, style: Style) -> String {
    let mut out = String::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let outcomes: Vec<&Outcome> = result
            .outcomes
            .iter()
            .filter(|o| o.candidate.protocol == protocol)
            .collect();
        if outcomes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}:", protocol.name().to_uppercase());
        out.push_str(&outcome_table(&outcomes, true, style));
        out.push('\n');
    }
    if let Some(map) = &result.port_map {
        let _ = writeln!(out, "{}", map.summary());
        out.push_str(crate::bind::slots::COUNTING);
        out.push('\n');
    }
    out.push_str(&warnings(&result.warnings, style));
    out
}

/// The outcomes' table and what each means; `quiet_ok` leaves out the
/// lines of those that bind (a port's slots are mostly free).
fn outcome_table(outcomes: &[&Outcome], quiet_ok: bool, style: Style) -> String {
    let rows = || {
        outcomes.iter().map(|outcome| {
            let candidate = &outcome.candidate;
            vec![
                Cell::new(candidate.index),
                Cell::new(candidate),
                Cell::new(options_summary(candidate)),
                Cell::new(predicted(outcome)),
                Cell::new(trial_summary(outcome)),
                Cell::new(outcome.verdict.rule().name()),
            ]
        })
    };
    let mut out = render(
        &["#", "CANDIDATE", "OPTIONS", "PREDICTED", "TRIAL", "RULE"],
        style,
        rows,
    );
    out.push('\n');
    for outcome in outcomes {
        if quiet_ok && outcome.binds() == Some(true) && outcome.agree != Some(false) {
            continue;
        }
        let mark = match outcome.binds() {
            Some(true) => "ok",
            Some(false) => "FAILS",
            None => "DEPENDS",
        };
        let _ = writeln!(
            out,
            "#{} {mark}: {}",
            outcome.candidate.index, outcome.message
        );
        if outcome.verdict.ok().is_none() && outcome.binds().is_some() {
            let _ = writeln!(out, "   the trial settled it: {}", trial_summary(outcome));
        }
        if outcome.agree == Some(false) {
            let loud = style.warning(&format!(
                "#{} DISAGREEMENT: the model predicted {}, the kernel said {}. The kernel is right; this is a rule the model does not know.",
                outcome.candidate.index,
                predicted(outcome),
                trial_summary(outcome)
            ));
            let _ = writeln!(out, "{loud}");
        }
    }
    out
}

fn options_summary(candidate: &Candidate) -> String {
    let options = &candidate.options;
    let mut parts = Vec::new();
    if candidate.address.is_ipv6() {
        parts.push(
            if options.v6only {
                "v6only"
            } else {
                "dualstack"
            }
            .to_owned(),
        );
    }
    for (on, name) in [
        (options.reuseaddr, "reuseaddr"),
        (options.reuseport, "reuseport"),
        (options.listen, "listen"),
        (options.freebind, "freebind"),
    ] {
        if on {
            parts.push(name.to_owned());
        }
    }
    if let Some(device) = candidate.device() {
        parts.push(format!("device={device}"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(",")
    }
}

fn predicted(outcome: &Outcome) -> String {
    let at = |errno: Errno, stage: Stage| format!("{} at {}", errno.name(), stage.name());
    match outcome.verdict.prediction {
        Prediction::NoModel => "no prediction".into(),
        Prediction::Binds { .. } => "ok".into(),
        Prediction::Fails { errno, stage, .. } => at(errno, stage),
        Prediction::Depends { errno, stage, .. } => format!("ok or {}", at(errno, stage)),
    }
}

fn trial_summary(outcome: &Outcome) -> String {
    let trial = &outcome.trial;
    if let Some(setup) = &trial.setup_error {
        return format!("not made ({setup})");
    }
    if !trial.performed {
        return trial
            .skipped
            .map_or("not made".into(), |s| format!("skipped: {}", s.code()));
    }
    let result = match trial.ok {
        Some(true) => "ok".to_owned(),
        _ => format!(
            "{} at {}",
            trial.error.as_deref().unwrap_or("error"),
            trial.stage.map_or("bind", Stage::name)
        ),
    };
    match (trial.ok, trial.skipped) {
        (Some(true), Some(skip)) => format!("bind ok (listen skipped: {})", skip.code()),
        _ => result,
    }
}
