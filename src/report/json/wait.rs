//! `wait`'s document.

use serde::Serialize;

use crate::wait::WaitResult;

use super::{SocketsDoc, WhoBody, WhoSummaryDoc};

#[derive(Serialize)]
pub struct WaitBody<'a> {
    pub target: String,
    pub until: &'static str,
    pub met: bool,
    pub waited_ms: u64,
    pub polls: u32,
    pub timeout_ms: u64,
    /// The addresses a `NAME:PORT` target resolved to (system order); []
    /// for an address or a port.
    pub destinations: Vec<String>,
    /// The `who` view at the end.
    pub sockets: SocketsDoc<'a>,
    pub summary: WhoSummaryDoc,
}

impl<'a> From<&'a WaitResult> for WaitBody<'a> {
    fn from(result: &'a WaitResult) -> Self {
        let view = WhoBody::from(&result.final_view);
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        WaitBody {
            target: result
                .config
                .who
                .targets
                .first()
                .map(|t| t.text.clone())
                .unwrap_or_default(),
            until: result.config.until.name(),
            met: result.met,
            waited_ms: millis(result.waited),
            polls: result.polls,
            timeout_ms: millis(result.config.timeout),
            destinations: result
                .destinations
                .iter()
                .map(ToString::to_string)
                .collect(),
            sockets: view.sockets,
            summary: view.summary,
        }
    }
}
