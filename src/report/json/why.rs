//! `why`'s document.

use serde::Serialize;

use crate::why::WhyResult;
use crate::why::diagnose::Diagnosis;
use crate::why::fixes::Fix;
use crate::why::recognise::{Origin, Recognised};

use super::{
    CandidateDoc, DecisionDoc, DestinationDoc, ReachedDoc, ResolveBody, SocketDoc, candidate_doc,
};

#[derive(Serialize)]
pub struct AssumptionDoc {
    /// `address` or `port`.
    pub field: &'static str,
    pub value: String,
    pub why: String,
}

#[derive(Serialize)]
pub struct RecognisedDoc {
    /// EADDRINUSE | EACCES | EADDRNOTAVAIL | ECONNREFUSED | ETIMEDOUT | EHOSTUNREACH
    pub error: &'static str,
    /// listen | bind | connect
    pub operation: &'static str,
    pub protocol: &'static str,
    /// As the message (or `--address`) gives it; null when neither does.
    pub address: Option<String>,
    pub port: Option<u16>,
    /// The family of formats: node, go, python, java, nginx, ...
    pub format: &'static str,
    /// The named format within it: node_listen, go_dial, ...
    pub pattern: &'static str,
    /// Whose defaults were assumed: "Node.js", "Go", ...
    pub runtime: &'static str,
    /// message | context | flag; null when absent.
    pub address_from: Option<&'static str>,
    pub port_from: Option<&'static str>,
    /// The recognised line's number in the input (from 1).
    pub line: usize,
    /// Defaults used where the message says nothing.
    pub assumed: Vec<AssumptionDoc>,
}

#[derive(Serialize)]
pub struct WhyResolveDoc {
    pub host: String,
    pub port: Option<u16>,
    pub protocol: &'static str,
    pub destinations: Vec<DestinationDoc>,
    pub order_agrees: bool,
    pub decisions: Vec<DecisionDoc>,
    pub reached: Option<ReachedDoc>,
}

#[derive(Serialize)]
pub struct DiagnosisDoc {
    /// present (exit 0) | gone | unknown (another host's sockets)
    pub status: &'static str,
    pub summary: String,
    /// Bind: the sockets in the way. Connect: the sockets listening on the port.
    pub holders: Vec<SocketDoc>,
    /// The candidate checked, as in `try` (bind failures).
    #[serde(rename = "try")]
    pub try_candidate: Option<CandidateDoc>,
    /// What `resolve` says of the address the client tried (connect failures).
    pub resolve: Option<WhyResolveDoc>,
    /// EADDRNOTAVAIL: this host's addresses.
    pub local_addresses: Vec<String>,
    /// The sockets the program announced before the failure, checked first
    /// (status `own_socket` when one of them is in the way).
    pub own_sockets: Vec<OwnSocketDoc>,
    /// A refused connect with nothing on the port: listeners on other
    /// ports the client may have meant (the program it talks to, by name,
    /// first; then near ports); [] otherwise.
    pub nearby: Vec<NearbyDoc>,
}

#[derive(Serialize)]
pub struct NearbyDoc {
    pub address: String,
    pub port: u16,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// The program the client talks to, by name; false: only a near port.
    pub same_program: bool,
}

#[derive(Serialize)]
pub struct OwnSocketDoc {
    pub protocol: &'static str,
    pub address: String,
    pub port: u16,
    /// The line that announced it (from 1).
    pub line: usize,
}

/// Another failure line of the input, diagnosed as the first is.
#[derive(Serialize)]
pub struct AlsoDoc {
    pub recognised: RecognisedDoc,
    pub diagnosis: DiagnosisDoc,
    pub fixes: Vec<FixDoc>,
}

#[derive(Serialize)]
pub struct FixDoc {
    pub kind: &'static str,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    pub unit: Option<String>,
    pub command: Option<String>,
    pub setting: Option<String>,
    pub description: String,
}

#[derive(Serialize)]
pub struct WhyBody {
    /// The recognised line.
    pub input: String,
    pub recognised: RecognisedDoc,
    pub diagnosis: DiagnosisDoc,
    pub fixes: Vec<FixDoc>,
    /// The other failure lines, in input order; [] when there are none.
    pub also: Vec<AlsoDoc>,
}

impl From<&WhyResult> for WhyBody {
    fn from(result: &WhyResult) -> Self {
        let first = why_parts(&result.recognised, &result.diagnosis, &result.fixes);
        WhyBody {
            input: result.recognised.input.clone(),
            recognised: first.recognised,
            diagnosis: first.diagnosis,
            fixes: first.fixes,
            also: result
                .also
                .iter()
                .map(|d| why_parts(&d.recognised, &d.diagnosis, &d.fixes))
                .collect(),
        }
    }
}

fn why_parts(r: &Recognised, d: &Diagnosis, fixes: &[Fix]) -> AlsoDoc {
    AlsoDoc {
        recognised: RecognisedDoc {
            error: r.failure.name(),
            operation: r.operation.name(),
            protocol: r.protocol.name(),
            address: r.address.as_ref().map(ToString::to_string),
            port: r.port,
            format: r.format.family,
            pattern: r.format.name,
            runtime: r.runtime.defaults().name,
            address_from: r.address_from.map(Origin::name),
            port_from: r.port_from.map(Origin::name),
            line: r.line,
            assumed: r
                .assumed
                .iter()
                .map(|a| AssumptionDoc {
                    field: a.field,
                    value: a.value.clone(),
                    why: a.why.clone(),
                })
                .collect(),
        },
        diagnosis: DiagnosisDoc {
            status: d.status.name(),
            summary: d.summary.clone(),
            holders: d.holders.iter().map(SocketDoc::from).collect(),
            try_candidate: d.attempt.as_ref().and_then(|attempt| {
                attempt
                    .outcome()
                    .map(|outcome| candidate_doc(outcome, &attempt.result.live))
            }),
            resolve: d.resolve.as_ref().map(|resolved| {
                let doc = ResolveBody::from(resolved);
                WhyResolveDoc {
                    host: doc.host,
                    port: doc.port,
                    protocol: doc.protocol,
                    destinations: doc.destinations,
                    order_agrees: doc.order_agrees,
                    decisions: doc.decisions,
                    reached: doc.reached,
                }
            }),
            local_addresses: d.local_addresses.iter().map(ToString::to_string).collect(),
            own_sockets: d
                .own_sockets
                .iter()
                .map(|o| OwnSocketDoc {
                    protocol: o.protocol.name(),
                    address: o.address.to_string(),
                    port: o.port,
                    line: o.line,
                })
                .collect(),
            nearby: d
                .nearby
                .iter()
                .map(|n| NearbyDoc {
                    address: n.address.to_string(),
                    port: n.port,
                    pid: n.pid,
                    process: n.process.clone(),
                    same_program: n.same_program,
                })
                .collect(),
        },
        fixes: fixes
            .iter()
            .map(|f| FixDoc {
                kind: f.kind,
                pid: f.pid,
                port: f.port,
                unit: f.unit.clone(),
                command: f.command.clone(),
                setting: f.setting.clone(),
                description: f.description.clone(),
            })
            .collect(),
    }
}
