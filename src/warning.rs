//! Warnings: what could not be seen, each with a stable code.

/// One warning of a report. `code` is stable (scripts branch on it);
/// `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
    /// Whether this gap means something that exists was not seen, which
    /// makes a report's `complete` false.
    pub incomplete: bool,
}

impl Warning {
    /// A gap in what was seen: the report is not complete.
    pub fn gap(code: &'static str, message: impl Into<String>) -> Warning {
        Warning {
            code,
            message: message.into(),
            incomplete: true,
        }
    }

    /// A fact worth saying that hides nothing that exists.
    pub fn note(code: &'static str, message: impl Into<String>) -> Warning {
        Warning {
            code,
            message: message.into(),
            incomplete: false,
        }
    }
}

/// "1 socket", "3 sockets": `one` and `many` are the noun's two forms.
pub fn counted(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// A report is complete when no warning says something was not seen.
pub fn complete(warnings: &[Warning]) -> bool {
    !warnings.iter().any(|w| w.incomplete)
}
