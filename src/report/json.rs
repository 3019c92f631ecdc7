//! The JSON documents of the contract (schema version 1). These types are
//! the contract's shape, kept apart from the engine's types so the schema
//! changes only when this file does.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{OwnerGap, Process, Socket};
use crate::warning::Warning;
use crate::who::WhoResult;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct WarningDoc {
    pub code: &'static str,
    pub message: String,
}

impl From<&Warning> for WarningDoc {
    fn from(warning: &Warning) -> Self {
        WarningDoc {
            code: warning.code,
            message: warning.message.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct ProcessDoc {
    pub pid: u32,
    pub name: Option<String>,
    pub cmdline: Vec<String>,
    /// The lowest descriptor; `fds` has them all.
    pub fd: Option<u32>,
    pub fds: Vec<u32>,
    pub uid: Option<u32>,
    pub user: Option<String>,
}

impl From<&Process> for ProcessDoc {
    fn from(process: &Process) -> Self {
        ProcessDoc {
            pid: process.pid,
            name: process.name.clone(),
            cmdline: process.cmdline.clone(),
            fd: process.fds.first().copied(),
            fds: process.fds.clone(),
            uid: process.uid,
            user: process.user.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct SocketDoc {
    pub protocol: &'static str,
    pub family: &'static str,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: Option<String>,
    pub remote_port: Option<u16>,
    pub state: &'static str,
    pub v6only: Option<bool>,
    pub accepts_ipv4: Option<bool>,
    pub interface: Option<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    pub inode: Option<u64>,
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub netns: Option<String>,
    pub processes: Vec<ProcessDoc>,
    /// Why `processes` is empty: `kernel_owned`, `owner_unreadable`,
    /// `owner_not_visible`; null when owners are listed.
    pub owner_gap: Option<&'static str>,
}

impl From<&Socket> for SocketDoc {
    fn from(socket: &Socket) -> Self {
        SocketDoc {
            protocol: socket.protocol.name(),
            family: socket.family.name(),
            local_address: socket.local_address.to_string(),
            local_port: socket.local_port,
            remote_address: socket.remote.map(|(address, _)| address.to_string()),
            remote_port: socket.remote.map(|(_, port)| port),
            state: socket.state.name(),
            v6only: socket.v6only,
            accepts_ipv4: socket.accepts_ipv4(),
            interface: socket.interface.clone(),
            uid: socket.uid,
            user: socket.user.clone(),
            inode: socket.inode,
            reuseaddr: socket.reuseaddr,
            reuseport: socket.reuseport,
            netns: socket.netns.clone(),
            processes: socket.processes.iter().map(ProcessDoc::from).collect(),
            owner_gap: socket.owner_gap.map(OwnerGap::code),
        }
    }
}

#[derive(Serialize)]
pub struct WhoQueryDoc {
    pub targets: Vec<String>,
    pub protocols: Vec<&'static str>,
    pub families: Vec<&'static str>,
    pub all: bool,
}

#[derive(Serialize)]
pub struct WhoSummaryDoc {
    /// Matching sockets that were not listed, per state.
    pub by_state: BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
pub struct WhoDoc {
    pub schema_version: u32,
    pub command: &'static str,
    pub complete: bool,
    pub warnings: Vec<WarningDoc>,
    pub query: WhoQueryDoc,
    pub sockets: Vec<SocketDoc>,
    pub summary: WhoSummaryDoc,
}

impl From<&WhoResult> for WhoDoc {
    fn from(result: &WhoResult) -> Self {
        let config = &result.config;
        WhoDoc {
            schema_version: SCHEMA_VERSION,
            command: "who",
            complete: result.complete(),
            warnings: result.warnings.iter().map(WarningDoc::from).collect(),
            query: WhoQueryDoc {
                targets: config.targets.iter().map(|t| t.text.clone()).collect(),
                protocols: config.protocols.iter().map(|p| p.name()).collect(),
                families: config.families.iter().map(|f| f.name()).collect(),
                all: config.all,
            },
            sockets: result.sockets.iter().map(SocketDoc::from).collect(),
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

#[derive(Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
pub struct ErrorDoc {
    pub schema_version: u32,
    pub command: &'static str,
    pub error: ErrorBody,
}

/// Serializes a document with a trailing newline.
pub fn to_string<T: Serialize>(document: &T) -> String {
    // Serializing these plain structs cannot fail (no maps with non-string
    // keys, no failing Serialize impls); fall back to an error document
    // rather than panicking all the same.
    match serde_json::to_string_pretty(document) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        Err(error) => format!(
            "{{\"schema_version\":1,\"command\":\"internal\",\"error\":{{\"code\":\"serialize_failed\",\"message\":\"{error}\"}}}}\n"
        ),
    }
}
