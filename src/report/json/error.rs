//! The error document: a usage error or a command's error, under `--json`.

use serde::Serialize;

use super::MadeOn;

#[derive(Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
pub struct ErrorDoc {
    pub schema_version: u32,
    pub command: &'static str,
    #[serde(flatten)]
    pub origin: MadeOn,
    pub error: ErrorBody,
}
