//! `free` and `wait` in a few lines.

use std::fmt::Write as _;

use super::{Style, who};
use crate::free::FreeResult;
use crate::wait::WaitResult;

pub fn free(result: &FreeResult) -> String {
    let mut out = String::new();
    let protocols: Vec<&str> = result.config.protocols.iter().map(|p| p.name()).collect();
    let ports: Vec<String> = result.ports.iter().map(u16::to_string).collect();
    if ports.is_empty() {
        let _ = writeln!(
            out,
            "No free port ({}) in {}-{}.",
            protocols.join("+"),
            result.range.low,
            result.range.high
        );
    } else {
        // The ports alone on the first line, for `$(portcheck free | head -1)`.
        let _ = writeln!(out, "{}", ports.join(" "));
    }
    if result.ports.len() < result.config.count && !ports.is_empty() {
        let _ = writeln!(
            out,
            "only {} of the {} asked for",
            result.ports.len(),
            result.config.count
        );
    }
    // The race note goes to stderr (see `Report::notes`), so that standard
    // output is only the ports.
    out
}

pub fn wait(result: &WaitResult, style: Style) -> String {
    let mut out = String::new();
    let target = result
        .config
        .who
        .targets
        .first()
        .map_or("?", |t| t.text.as_str());
    let seconds = result.waited.as_secs_f64();
    let verdict = if result.met {
        format!(
            "{target} is {} (after {seconds:.1} s)",
            result.config.until.name()
        )
    } else {
        style.warning(&format!(
            "timed out after {seconds:.1} s: {target} is not {}",
            result.config.until.name()
        ))
    };
    let _ = writeln!(out, "{verdict}");
    out.push_str(&who(&result.final_view, style));
    out
}
