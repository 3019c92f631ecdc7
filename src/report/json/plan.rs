//! `try`'s document: the plan's candidates, and `try PORT`'s port map.

use serde::Serialize;

use crate::bind::rules::{Errno, Holder, Stage};
use crate::bind::trial::Skip;
use crate::bind::{Outcome, TryResult};
use crate::model::{Family, Socket};

use super::SocketDoc;

#[derive(Serialize)]
pub struct OptionsDoc {
    pub v6only: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub listen: bool,
    pub freebind: bool,
    pub device: Option<String>,
}

#[derive(Serialize)]
pub struct ConflictDoc {
    /// The index of an earlier candidate, or null for a live socket.
    pub candidate: Option<usize>,
    pub socket: Option<SocketDoc>,
    /// False when the conflict depends on a fact that could not be read.
    pub certain: bool,
    /// The holder's facts it depends on: `reuseaddr`, `reuseport`, `uid`, `v6only`.
    pub depends_on: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct PredictionDoc {
    pub ok: Option<bool>,
    pub error: Option<&'static str>,
    pub stage: Option<&'static str>,
    pub rule: &'static str,
    pub message: String,
    pub conflicts: Vec<ConflictDoc>,
}

#[derive(Serialize)]
pub struct TrialDoc {
    pub performed: bool,
    pub ok: Option<bool>,
    pub error: Option<String>,
    pub stage: Option<&'static str>,
    pub skipped: Option<&'static str>,
    /// Whether listen() was tried (a bound-only trial when false).
    pub listen_tried: bool,
}

#[derive(Serialize)]
pub struct CandidateDoc {
    pub index: usize,
    pub text: String,
    pub protocol: &'static str,
    pub family: &'static str,
    pub address: String,
    pub port: u16,
    pub options: OptionsDoc,
    /// null when `try` makes no prediction on this OS (`no_model_for_os`).
    pub prediction: Option<PredictionDoc>,
    pub trial: TrialDoc,
    pub agree: Option<bool>,
}

#[derive(Serialize)]
pub struct AssumedDoc {
    pub euid: u32,
    pub can_bind_privileged: bool,
    pub unprivileged_port_start: u16,
    pub bindv6only: bool,
    pub ipv4_nonlocal_bind: bool,
    pub ipv6_nonlocal_bind: bool,
}

#[derive(Serialize)]
pub struct TryBody {
    pub ok: bool,
    /// What the prediction assumed about this process and host.
    pub assumed: AssumedDoc,
    pub candidates: Vec<CandidateDoc>,
    /// `try PORT`: how the port's slots add up; null for a plan.
    pub port_map: Option<PortMapDoc>,
}

/// `try PORT`'s answer to "how many more services fit on this port".
#[derive(Serialize)]
pub struct PortMapDoc {
    pub port: u16,
    pub protocols: Vec<ProtocolMapDoc>,
    /// One largest set of slots new services could hold at once (per
    /// protocol, `more` of them).
    pub free: Vec<SlotDoc>,
    /// Slots whose bind fails now.
    pub taken: Vec<SlotDoc>,
    /// Slots whose bind depends on what could not be seen.
    pub undecided: Vec<SlotDoc>,
}

#[derive(Serialize)]
pub struct ProtocolMapDoc {
    pub protocol: &'static str,
    pub slots: usize,
    pub binding: usize,
    pub more: usize,
}

#[derive(Serialize)]
pub struct SlotDoc {
    pub protocol: &'static str,
    pub address: String,
    /// The wildcards' IPV6_V6ONLY (`[::]` is two slots); null otherwise.
    pub v6only: Option<bool>,
    pub device: Option<String>,
    /// The index of the candidate that checked it.
    pub candidate: usize,
}

impl From<&crate::bind::slots::PortMap> for PortMapDoc {
    fn from(map: &crate::bind::slots::PortMap) -> Self {
        let slots = |list: &[crate::bind::slots::SlotRef]| -> Vec<SlotDoc> {
            list.iter()
                .map(|slot| SlotDoc {
                    protocol: slot.protocol.name(),
                    address: slot.place.address().to_string(),
                    v6only: slot.place.v6only(),
                    device: slot.place.device().map(str::to_owned),
                    candidate: slot.candidate,
                })
                .collect()
        };
        PortMapDoc {
            port: map.port,
            protocols: map
                .protocols
                .iter()
                .map(|p| ProtocolMapDoc {
                    protocol: p.protocol.name(),
                    slots: p.slots,
                    binding: p.binding,
                    more: p.more,
                })
                .collect(),
            free: slots(&map.free),
            taken: slots(&map.taken),
            undecided: slots(&map.undecided),
        }
    }
}

impl From<&TryResult> for TryBody {
    fn from(result: &TryResult) -> Self {
        let host = &result.host;
        TryBody {
            ok: result.ok(),
            assumed: AssumedDoc {
                euid: host.euid,
                can_bind_privileged: host.can_bind_privileged,
                unprivileged_port_start: host.unprivileged_port_start,
                bindv6only: result.bindv6only,
                ipv4_nonlocal_bind: host.ipv4_nonlocal_bind,
                ipv6_nonlocal_bind: host.ipv6_nonlocal_bind,
            },
            candidates: result
                .outcomes
                .iter()
                .map(|outcome| candidate_doc(outcome, &result.live))
                .collect(),
            port_map: result.port_map.as_ref().map(PortMapDoc::from),
        }
    }
}

pub(super) fn candidate_doc(outcome: &Outcome, live: &[Socket]) -> CandidateDoc {
    let candidate = &outcome.candidate;
    let verdict = &outcome.verdict;
    let options = &candidate.options;
    CandidateDoc {
        index: candidate.index,
        text: candidate.text.clone(),
        protocol: candidate.protocol.name(),
        family: Family::of(candidate.address).name(),
        address: candidate.address.to_string(),
        port: candidate.port,
        options: OptionsDoc {
            v6only: options.v6only,
            reuseaddr: options.reuseaddr,
            reuseport: options.reuseport,
            listen: options.listen,
            freebind: options.freebind,
            device: candidate.device().map(str::to_owned),
        },
        // null where no model applies (another OS): never Linux's verdict
        // presented as that OS's.
        prediction: verdict.predicted().then(|| PredictionDoc {
            ok: verdict.ok(),
            error: verdict.errno().map(Errno::name),
            stage: verdict.stage().map(Stage::name),
            rule: verdict.rule().name(),
            message: outcome.message.clone(),
            conflicts: verdict
                .conflicts
                .iter()
                .map(|conflict| {
                    let (candidate, socket) = match conflict.holder {
                        Holder::Candidate(index) => (Some(index), None),
                        Holder::Live(index) => (None, live.get(index).map(SocketDoc::from)),
                    };
                    ConflictDoc {
                        candidate,
                        socket,
                        certain: conflict.certain,
                        depends_on: conflict.unknown.clone(),
                    }
                })
                .collect(),
        }),
        trial: TrialDoc {
            performed: outcome.trial.performed,
            ok: outcome.trial.ok,
            error: outcome.trial.error.clone(),
            stage: outcome.trial.stage.map(Stage::name),
            skipped: outcome.trial.skipped.map(Skip::code),
            listen_tried: outcome.trial.listen_tried,
        },
        agree: outcome.agree,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bind::candidate::{Candidate, OptionChoices, parse_candidate};
    use crate::bind::rules::Verdict;
    use crate::bind::trial::Observed;
    use crate::model::Protocol;
    #[test]
    fn no_model_is_a_null_prediction() {
        let spec = parse_candidate("127.0.0.1:8000", "candidate").expect("candidate");
        let outcome = Outcome {
            candidate: Candidate::from_spec(
                0,
                &spec,
                &OptionChoices::default(),
                Protocol::Tcp,
                false,
            ),
            verdict: Verdict::no_model(),
            message: String::new(),
            trial: Observed::succeeded(),
            agree: None,
        };
        let doc = serde_json::to_value(candidate_doc(&outcome, &[])).expect("json");
        assert!(doc["prediction"].is_null(), "{doc}");
        assert_eq!(doc["trial"]["ok"], serde_json::Value::Bool(true));
        assert!(doc["agree"].is_null());
    }
}
