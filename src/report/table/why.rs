//! `why` in three short blocks: what happened, why, what to do.

use std::fmt::Write as _;

use super::{Style, warnings, who::socket_table};
use crate::why::WhyResult;
use crate::why::diagnose::Status;

pub fn why(result: &WhyResult, style: Style) -> String {
    let recognised = &result.recognised;
    let diagnosis = &result.diagnosis;
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
    for fix in &result.fixes {
        let _ = writeln!(out, "  - {}", fix.description);
        if let Some(command) = &fix.command {
            let _ = writeln!(out, "      $ {command}");
        }
        if let Some(setting) = &fix.setting {
            let _ = writeln!(out, "      {setting}");
        }
    }
    let _ = writeln!(
        out,
        "  (suggestions only: portcheck changes nothing itself)"
    );
    out.push_str(&warnings(&result.warnings, style));
    out
}
