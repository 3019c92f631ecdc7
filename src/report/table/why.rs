//! `why` in three short blocks: what happened, why, what to do; once for
//! each failure line of the input.

use std::fmt::Write as _;

use super::{Style, warnings, who::socket_table};
use crate::why::WhyResult;
use crate::why::diagnose::{Diagnosis, Status};
use crate::why::fixes::Fix;
use crate::why::recognise::Recognised;

pub fn why(result: &WhyResult, style: Style) -> String {
    let mut out = failure(&result.recognised, &result.diagnosis, &result.fixes, style);
    for other in &result.also {
        let _ = writeln!(
            out,
            "\n{}",
            style.paint(
                &format!("also, line {}", other.recognised.line),
                anstyle::Style::new().bold()
            )
        );
        out.push_str(&failure(
            &other.recognised,
            &other.diagnosis,
            &other.fixes,
            style,
        ));
    }
    let _ = writeln!(
        out,
        "  (suggestions only: portcheck changes nothing itself)"
    );
    out.push_str(&warnings(&result.warnings, style));
    out
}

fn failure(recognised: &Recognised, diagnosis: &Diagnosis, fixes: &[Fix], style: Style) -> String {
    let heading = |text: &str| style.paint(text, anstyle::Style::new().bold());
    let mut out = String::new();

    let _ = writeln!(out, "{}", heading("what happened"));
    // A pasted log line: colours are gone, other controls are escaped.
    let _ = writeln!(
        out,
        "  line {}: {}",
        recognised.line,
        crate::text::untrusted(&recognised.input, 500)
    );
    for line in &diagnosis.happened {
        let _ = writeln!(out, "  {line}");
    }

    let _ = writeln!(out, "\n{}", heading("why"));
    let status = match diagnosis.status {
        Status::Present => style.warning("found on this host:"),
        Status::OwnSocket => style.warning("the program's own socket:"),
        Status::Gone => "gone now:".to_owned(),
        Status::Unknown => "not visible from here:".to_owned(),
    };
    let _ = writeln!(out, "  {status} {}", diagnosis.summary);
    for line in &diagnosis.why {
        let _ = writeln!(out, "  {line}");
    }
    if !diagnosis.holders.is_empty() {
        for line in socket_table(&diagnosis.holders, false, style).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }

    let _ = writeln!(out, "\n{}", heading("what to do"));
    for fix in fixes {
        let _ = writeln!(out, "  - {}", fix.description);
        if let Some(command) = &fix.command {
            let _ = writeln!(out, "      $ {command}");
        }
        if let Some(setting) = &fix.setting {
            let _ = writeln!(out, "      {setting}");
        }
    }
    out
}
