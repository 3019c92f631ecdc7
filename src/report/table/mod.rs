//! The human view: a table and a few lines of prose, one module per
//! command, sharing the table style and the warning lines.

mod grid;
mod plan;
mod resolve;
mod stop;
mod wait;
mod who;
mod why;

use std::fmt::Write as _;

use crate::warning::Warning;

pub use plan::try_plan;
pub use resolve::resolve;
pub use stop::{stop, stop_notes, stop_plan};
pub use wait::{free, wait};
pub use who::{answers, takes, who};
pub use why::why;

/// Colours on or off, decided once from `--color`, NO_COLOR and the
/// terminal; the width tables are fitted to (`None`: never cut).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: Option<usize>,
    /// `--wide`: command lines whole, never cut.
    pub wide: bool,
}

impl Style {
    /// No colour, no width: for text that goes to stderr.
    pub const PLAIN: Style = Style {
        color: false,
        width: None,
        wide: false,
    };

    fn paint(self, text: &str, style: anstyle::Style) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    fn warning(self, text: &str) -> String {
        let yellow = anstyle::Style::new()
            .fg_color(Some(anstyle::AnsiColor::Yellow.into()))
            .bold();
        self.paint(text, yellow)
    }
}

pub fn warnings(warnings: &[Warning], style: Style) -> String {
    let mut out = String::new();
    for warning in warnings {
        let label = if warning.incomplete {
            "incomplete"
        } else {
            "note"
        };
        let _ = writeln!(
            out,
            "{} {} [{}]",
            style.warning(&format!("{label}:")),
            warning.message,
            warning.code
        );
    }
    out
}

pub fn error(message: &str, style: Style) -> String {
    let red = anstyle::Style::new()
        .fg_color(Some(anstyle::AnsiColor::Red.into()))
        .bold();
    // A message may quote what was typed or pasted (a target, a log line):
    // escaped, as all text from outside is (crate::text).
    format!(
        "{} {}\n",
        style.paint("portcheck: error:", red),
        crate::text::untrusted(message, 2000)
    )
}
