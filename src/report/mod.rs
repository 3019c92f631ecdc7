//! Rendering results: one file per output format.

pub mod json;
pub mod table;

use crate::bind::TryResult;
use crate::resolve::ResolveResult;
use crate::who::WhoResult;

/// A command's result, ready to render.
#[derive(Debug)]
pub enum Report {
    Who(WhoResult),
    Try(TryResult),
    Resolve(ResolveResult),
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        match self {
            Report::Who(result) => result.exit_code(),
            Report::Try(result) => result.exit_code(),
            Report::Resolve(result) => result.exit_code(),
        }
    }

    pub fn to_json(&self) -> String {
        match self {
            Report::Who(result) => json::to_string(&json::WhoDoc::from(result)),
            Report::Try(result) => json::to_string(&json::TryDoc::from(result)),
            Report::Resolve(result) => json::to_string(&json::ResolveDoc::from(result)),
        }
    }

    pub fn to_human(&self, style: table::Style) -> String {
        match self {
            Report::Who(result) => table::who(result, style),
            Report::Try(result) => table::try_plan(result, style),
            Report::Resolve(result) => table::resolve(result, style),
        }
    }
}
