//! The `try` document, mirrored field by field.

use serde::Deserialize;

use crate::harness::{Run, SocketDoc, WarningDoc, portcheck, present};

// ---------------------------------------------------------------------------
// The `try` document, mirrored field by field (deny_unknown_fields and
// `present` lock the schema as the harness does for `who`).

// Fields not read by a test are still part of the locked schema.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TryDoc {
    pub(super) schema_version: u32,
    pub(super) command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21).
    #[serde(deserialize_with = "present")]
    pub(super) hostname: Option<String>,
    #[serde(deserialize_with = "present")]
    pub(super) kernel: Option<String>,
    pub(super) complete: bool,
    pub(super) warnings: Vec<WarningDoc>,
    pub(super) ok: bool,
    pub(super) assumed: AssumedDoc,
    pub(super) candidates: Vec<CandidateDoc>,
    #[serde(deserialize_with = "present")]
    pub(super) port_map: Option<PortMapDoc>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PortMapDoc {
    pub(super) port: u16,
    pub(super) protocols: Vec<ProtocolMapDoc>,
    pub(super) free: Vec<SlotDoc>,
    pub(super) taken: Vec<SlotDoc>,
    pub(super) undecided: Vec<SlotDoc>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProtocolMapDoc {
    pub(super) protocol: String,
    pub(super) slots: usize,
    pub(super) binding: usize,
    pub(super) more: usize,
}

#[allow(dead_code)]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SlotDoc {
    pub(super) protocol: String,
    pub(super) address: String,
    #[serde(deserialize_with = "present")]
    pub(super) v6only: Option<bool>,
    #[serde(deserialize_with = "present")]
    pub(super) device: Option<String>,
    pub(super) candidate: usize,
}

impl TryDoc {
    pub(super) fn warning_codes(&self) -> Vec<&str> {
        self.warnings.iter().map(|w| w.code.as_str()).collect()
    }
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AssumedDoc {
    pub(super) euid: u32,
    pub(super) can_bind_privileged: bool,
    pub(super) unprivileged_port_start: u16,
    pub(super) bindv6only: bool,
    pub(super) ipv4_nonlocal_bind: bool,
    pub(super) ipv6_nonlocal_bind: bool,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CandidateDoc {
    pub(super) index: usize,
    pub(super) text: String,
    pub(super) protocol: String,
    pub(super) family: String,
    pub(super) address: String,
    pub(super) port: u16,
    pub(super) options: OptionsDoc,
    pub(super) prediction: PredictionDoc,
    pub(super) trial: TrialDoc,
    #[serde(deserialize_with = "present")]
    pub(super) agree: Option<bool>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OptionsDoc {
    pub(super) v6only: bool,
    pub(super) reuseaddr: bool,
    pub(super) reuseport: bool,
    pub(super) listen: bool,
    pub(super) freebind: bool,
    #[serde(deserialize_with = "present")]
    pub(super) device: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PredictionDoc {
    #[serde(deserialize_with = "present")]
    pub(super) ok: Option<bool>,
    #[serde(deserialize_with = "present")]
    pub(super) error: Option<String>,
    #[serde(deserialize_with = "present")]
    pub(super) stage: Option<String>,
    pub(super) rule: String,
    pub(super) message: String,
    pub(super) conflicts: Vec<ConflictDoc>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConflictDoc {
    #[serde(deserialize_with = "present")]
    pub(super) candidate: Option<usize>,
    #[serde(deserialize_with = "present")]
    pub(super) socket: Option<SocketDoc>,
    pub(super) certain: bool,
    pub(super) depends_on: Vec<String>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrialDoc {
    pub(super) performed: bool,
    #[serde(deserialize_with = "present")]
    pub(super) ok: Option<bool>,
    #[serde(deserialize_with = "present")]
    pub(super) error: Option<String>,
    #[serde(deserialize_with = "present")]
    pub(super) stage: Option<String>,
    #[serde(deserialize_with = "present")]
    pub(super) skipped: Option<String>,
    pub(super) listen_tried: bool,
}

/// The `try` document of a run that did not fail with an error (exit 0 or
/// 1, matching the document's `ok`).
pub(super) fn parse_try(run: &Run) -> TryDoc {
    let doc: TryDoc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one `try` document ({e}): {run:#?}"));
    assert_eq!(doc.schema_version, 1, "{run:#?}");
    assert_eq!(doc.command, "try", "{run:#?}");
    assert_eq!(
        run.code,
        i32::from(!doc.ok),
        "exit code against ok: {run:#?}"
    );
    doc
}

/// `portcheck try ARGS --json`, parsed.
pub(super) fn try_json(args: &[&str]) -> (Run, TryDoc) {
    let mut full = vec!["try"];
    full.extend_from_slice(args);
    full.push("--json");
    let run = portcheck(&full);
    let doc = parse_try(&run);
    (run, doc)
}

pub(super) fn candidate(doc: &TryDoc, index: usize) -> &CandidateDoc {
    doc.candidates
        .get(index)
        .unwrap_or_else(|| panic!("no candidate #{index} in {doc:#?}"))
}
