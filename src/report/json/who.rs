//! `who`'s document.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::who::WhoResult;

use super::SocketsDoc;

#[derive(Serialize)]
pub struct WhoQueryDoc {
    pub targets: Vec<String>,
    pub protocols: Vec<&'static str>,
    pub families: Vec<&'static str>,
    pub all: bool,
    pub all_netns: bool,
}

#[derive(Serialize)]
pub struct WhoSummaryDoc {
    /// Matching sockets that were not listed, per state.
    pub by_state: BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
pub struct WhoBody<'a> {
    pub query: WhoQueryDoc,
    pub sockets: SocketsDoc<'a>,
    pub summary: WhoSummaryDoc,
}

impl<'a> From<&'a WhoResult> for WhoBody<'a> {
    fn from(result: &'a WhoResult) -> Self {
        let config = &result.config;
        WhoBody {
            query: WhoQueryDoc {
                targets: config.targets.iter().map(|t| t.text.clone()).collect(),
                protocols: config.protocols.iter().map(|p| p.name()).collect(),
                families: config.families.iter().map(|f| f.name()).collect(),
                all: config.all,
                all_netns: config.all_netns,
            },
            sockets: SocketsDoc {
                sockets: &result.sockets,
                probes: &result.probes,
            },
            summary: WhoSummaryDoc {
                by_state: result
                    .unlisted
                    .iter()
                    .map(|(state, count)| (state.name(), *count))
                    .collect(),
            },
        }
    }
}
