//! `stop` for people: the plan, what is refused, each step with its
//! duration, and the verdict.

use std::fmt::Write as _;

use comfy_table::Cell;

use super::grid::render;
use super::who::socket_table;
use super::{Style, warnings};
use crate::stop::method::Method;
use crate::stop::{Outcome, StopResult, respawn_words};

/// The plan and the refusals (also what the confirmation prompt shows).
pub fn stop_plan(result: &StopResult, style: Style) -> String {
    let mut out = String::new();
    let config = &result.config;
    if !result.plan.steps.is_empty() {
        let escalation = if config.escalate {
            format!(
                ", then SIGKILL to what still runs after {}",
                seconds(config.grace)
            )
        } else {
            ", never SIGKILL (--no-escalate)".to_owned()
        };
        let _ = writeln!(
            out,
            "Plan ({} through a pidfd{escalation}):",
            config.signal.name()
        );
        out.push_str(&render(
            &["PID", "NAME", "ACTION", "SOCKETS", "WHY"],
            style,
            || {
                result.plan.steps.iter().map(|step| {
                    let action = match &step.method {
                        Method::Signal => format!("{} pid {}", config.signal.name(), step.pid),
                        method => method
                            .command(step.port())
                            .map(|c| c.join(" "))
                            .unwrap_or_default(),
                    };
                    let sockets: Vec<&str> =
                        step.sockets.iter().map(|s| s.shown.as_str()).collect();
                    vec![
                        Cell::new(step.pid),
                        Cell::new(
                            step.name
                                .as_ref()
                                .map_or_else(|| "?".into(), |n| n.escaped(32)),
                        ),
                        Cell::new(action),
                        Cell::new(sockets.join("\n")),
                        Cell::new(&step.why),
                    ]
                })
            },
        ));
    }
    for refused in &result.plan.refused {
        let _ = writeln!(
            out,
            "{} {} [{}]",
            style.warning("refused:"),
            refused.message,
            refused.code
        );
    }
    out
}

pub fn stop(result: &StopResult, style: Style) -> String {
    let mut out = if result.plan_shown {
        String::new()
    } else {
        stop_plan(result, style)
    };
    let targets: Vec<&str> = result
        .config
        .who
        .targets
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    let targets = targets.join(", ");
    match result.outcome {
        Outcome::NothingHeld if result.freed => {
            let _ = writeln!(
                out,
                "Nothing listens on or is bound to {targets}: nothing to stop."
            );
        }
        Outcome::NothingHeld => {
            // The holders exited before they were signalled, and another
            // process holds the port now: not stopped unasked.
            let _ = writeln!(
                out,
                "{}",
                style.warning(&format!(
                    "{targets} is held by a process that was not looked up; run stop again to stop it:"
                ))
            );
            out.push_str(&socket_table(&result.remaining, false, style));
        }
        Outcome::DryRun => {
            let _ = writeln!(out, "Dry run: nothing was stopped.");
        }
        Outcome::Refused | Outcome::Declined => {
            let _ = writeln!(out, "Nothing was stopped.");
        }
        Outcome::NotConfirmed => {
            let _ = writeln!(
                out,
                "Nothing was stopped: not a terminal, and --yes was not given."
            );
        }
        Outcome::Acted => {
            for action in &result.actions {
                let what = match (&action.method, action.signal) {
                    (Some(Method::Signal), Some(signal)) => signal.name().to_owned(),
                    (_, _) => action
                        .command
                        .as_ref()
                        .map_or_else(|| "nothing".into(), |c| c.join(" ")),
                };
                let name = action
                    .name
                    .as_ref()
                    .map_or_else(|| "?".into(), |n| n.escaped(32));
                let result_words = match (&action.error, &action.note) {
                    (Some(error), _) => style.warning(&format!("failed: {error}")),
                    (None, Some(note)) => note.clone(),
                    (None, None) if action.freed => {
                        format!("port free after {}", seconds(action.waited))
                    }
                    (None, None) => format!("still held after {}", seconds(action.waited)),
                };
                let _ = writeln!(
                    out,
                    "{:<10} {what} -> {name} (pid {}): {result_words}",
                    format!("{}:", action.stage.name()),
                    action.pid
                );
            }
            // Without --parent the `respawned` note says it.
            if result.config.parent && !result.respawns.is_empty() {
                let _ = writeln!(out, "Restarted: {}", respawn_words(&result.respawns));
            }
            if result.freed {
                let _ = writeln!(out, "{targets} is free.");
            } else {
                let _ = writeln!(
                    out,
                    "{}",
                    style.warning(&format!("{targets} is still held:"))
                );
                out.push_str(&socket_table(&result.remaining, false, style));
            }
        }
    }
    out.push_str(&warnings(&result.warnings, style));
    out
}

/// For stderr: why nothing was done, when a confirmation was needed.
pub fn stop_notes(result: &StopResult, style: Style) -> String {
    if result.outcome == Outcome::NotConfirmed {
        super::error(
            "standard input is not a terminal: nothing was stopped; pass --yes to act on this plan",
            style,
        )
    } else {
        String::new()
    }
}

/// `12 ms` below a second, `5.0 s` from there.
fn seconds(duration: std::time::Duration) -> String {
    if duration < std::time::Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}
