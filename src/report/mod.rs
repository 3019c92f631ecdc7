//! A command's result ready to render, and the renderers: `table` (the
//! human view, one file per command), `json` (the contract's documents,
//! one file per document), `openmetrics` (who's metrics) and `output`
//! (writing a file atomically).

pub mod json;
mod json_format;
pub mod openmetrics;
pub mod output;
pub mod table;

use crate::bind::TryResult;
use crate::exit::{CommandResult, Exit};
use crate::free::FreeResult;
use crate::resolve::ResolveResult;
use crate::stop::StopResult;
use crate::wait::WaitResult;
use crate::who::WhoResult;
use crate::why::WhyResult;

/// Asks every kind of result the same thing, through [`CommandResult`].
macro_rules! each_result {
    ($report:expr, $result:ident => $ask:expr) => {
        match $report {
            Report::Who($result) => $ask,
            Report::Try($result) => $ask,
            Report::Resolve($result) => $ask,
            Report::Free($result) => $ask,
            Report::Wait($result) => $ask,
            Report::Why($result) => $ask,
            Report::Stop($result) => $ask,
        }
    };
}

/// A command's result, ready to render.
#[derive(Debug)]
pub enum Report {
    Who(WhoResult),
    Try(TryResult),
    Resolve(ResolveResult),
    Free(FreeResult),
    Wait(WaitResult),
    Why(Box<WhyResult>),
    Stop(Box<StopResult>),
}

impl Report {
    pub fn exit_code(&self) -> Exit {
        each_result!(self, result => result.exit_code())
    }

    /// The report's warnings, for what the run adds after the command
    /// (the socket source's gaps).
    pub fn warnings_mut(&mut self) -> &mut Vec<crate::warning::Warning> {
        each_result!(self, result => result.warnings_mut())
    }

    /// Writes the JSON document straight into `out` (a `who` document can
    /// hold every socket of the host: it is never built as one string) and
    /// flushes it.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self {
            Report::Who(result) => json::write(out, &json::WhoDoc::from(result))?,
            Report::Try(result) => json::write(out, &json::TryDoc::from(result))?,
            Report::Resolve(result) => json::write(out, &json::ResolveDoc::from(result))?,
            Report::Free(result) => json::write(out, &json::FreeDoc::from(result))?,
            Report::Wait(result) => json::write(out, &json::WaitDoc::from(result))?,
            Report::Why(result) => json::write(out, &json::WhyDoc::from(&**result))?,
            Report::Stop(result) => json::write(out, &json::StopDoc::from(&**result))?,
        }
        out.flush()
    }

    /// Lines for stderr in the human view: `free` keeps standard output to
    /// the ports alone, for `$(portcheck free)`.
    pub fn notes(&self, style: table::Style) -> String {
        match self {
            Report::Free(result) => table::warnings(&result.warnings, style),
            // Why nothing was done, where a script's log shows it.
            Report::Stop(result) => table::stop_notes(result, style),
            _ => String::new(),
        }
    }

    pub fn to_human(&self, style: table::Style) -> String {
        match self {
            Report::Who(result) => table::who(result, style),
            Report::Try(result) => table::try_plan(result, style),
            Report::Resolve(result) => table::resolve(result, style),
            Report::Free(result) => table::free(result),
            Report::Wait(result) => table::wait(result, style),
            Report::Why(result) => table::why(result, style),
            Report::Stop(result) => table::stop(result, style),
        }
    }
}
