//! `stop`'s document.

use serde::Serialize;

use crate::stop::StopResult;
use crate::stop::plan::Step;
use crate::text::Text;

use super::SocketsDoc;

/// `stop`: the plan, what was refused, what was done, and whether the
/// targets are free.
#[derive(Serialize)]
pub struct StopBody<'a> {
    pub query: StopQueryDoc,
    /// `acted`, `dry_run`, `refused`, `not_confirmed`, `declined`,
    /// `nothing_held`.
    pub outcome: &'static str,
    pub plan: Vec<StopStepDoc>,
    pub refused: Vec<RefusedDoc>,
    pub actions: Vec<ActionDoc>,
    pub respawns: Vec<RespawnDoc>,
    pub freed: bool,
    /// What holds the targets at the end (`who`'s sockets).
    pub remaining: SocketsDoc<'a>,
}

#[derive(Serialize)]
pub struct StopQueryDoc {
    pub targets: Vec<String>,
    pub protocols: Vec<&'static str>,
    pub families: Vec<&'static str>,
    pub signal: &'static str,
    pub grace_ms: u64,
    pub escalate: bool,
    pub parent: bool,
    pub respawn_window_ms: u64,
    pub dry_run: bool,
    pub yes: bool,
}

#[derive(Serialize)]
pub struct StopStepDoc {
    pub pid: u32,
    pub name: Option<Text>,
    pub cmdline: std::sync::Arc<[Text]>,
    /// `signal` | `systemctl` | `docker` | `podman`.
    pub method: &'static str,
    /// The first signal for `signal`, else null.
    pub signal: Option<&'static str>,
    /// The command run for systemctl/docker/podman, else null.
    pub command: Option<Vec<String>>,
    pub unit: Option<String>,
    pub container: Option<String>,
    /// `tcp 127.0.0.1:8000 LISTEN`, each socket it holds.
    pub sockets: Vec<String>,
    /// Holders that go with it and are not signalled (workers).
    pub covers: Vec<u32>,
    pub reason: String,
}

#[derive(Serialize)]
pub struct RefusedDoc {
    pub pid: Option<u32>,
    pub name: Option<Text>,
    /// `pid_1`, `kernel_owned`, `not_permitted`, `portcheck_ancestor`,
    /// `owner_unseen`, `socket_activation`, `other_users_unit`,
    /// `kubernetes_pod`, `unmanaged_container`, `pidfd_unavailable`,
    /// `no_pidfd`.
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
pub struct ActionDoc {
    pub pid: u32,
    pub name: Option<Text>,
    /// `signal` | `systemctl` | `docker` | `podman` | `none`.
    pub method: &'static str,
    pub signal: Option<&'static str>,
    pub command: Option<Vec<String>>,
    /// `stop` | `escalate` | `parent` | `respawned`.
    pub stage: &'static str,
    pub ok: bool,
    pub error: Option<String>,
    pub waited_ms: u64,
    /// Whether the targets were free when that wait ended.
    pub freed: bool,
    pub note: Option<String>,
}

#[derive(Serialize)]
pub struct RespawnDoc {
    pub pid: u32,
    pub name: Option<Text>,
    pub parent_pid: Option<u32>,
    pub parent_name: Option<Text>,
    pub parent_cmdline: std::sync::Arc<[Text]>,
    /// The parent is the stopped holder's parent too: it restarts it.
    pub same_parent: bool,
}

fn millis_of(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl From<&Step> for StopStepDoc {
    fn from(step: &Step) -> Self {
        use crate::stop::method::Method;
        StopStepDoc {
            pid: step.pid,
            name: step.name.clone(),
            cmdline: std::sync::Arc::clone(&step.cmdline),
            method: step.method.name(),
            signal: None,
            command: step.method.command(step.port()),
            unit: match &step.method {
                Method::Systemctl { unit, .. } => Some(unit.clone()),
                _ => None,
            },
            container: match &step.method {
                Method::Container { id, .. } => id.clone(),
                _ => None,
            },
            sockets: step.sockets.iter().map(|s| s.shown.clone()).collect(),
            covers: step.covers.clone(),
            reason: step.why.clone(),
        }
    }
}

impl<'a> From<&'a StopResult> for StopBody<'a> {
    fn from(result: &'a StopResult) -> Self {
        let config = &result.config;
        StopBody {
            query: StopQueryDoc {
                targets: config.who.targets.iter().map(|t| t.text.clone()).collect(),
                protocols: config.who.protocols.iter().map(|p| p.name()).collect(),
                families: config.who.families.iter().map(|f| f.name()).collect(),
                signal: config.signal.name(),
                grace_ms: millis_of(config.grace),
                escalate: config.escalate,
                parent: config.parent,
                respawn_window_ms: millis_of(config.respawn_window),
                dry_run: config.dry_run,
                yes: config.yes,
            },
            outcome: result.outcome.name(),
            plan: result
                .plan
                .steps
                .iter()
                .map(|step| {
                    let mut doc = StopStepDoc::from(step);
                    if doc.method == "signal" {
                        doc.signal = Some(config.signal.name());
                    }
                    doc
                })
                .collect(),
            refused: result
                .plan
                .refused
                .iter()
                .map(|r| RefusedDoc {
                    pid: r.pid,
                    name: r.name.clone(),
                    code: r.code,
                    message: r.message.clone(),
                })
                .collect(),
            actions: result
                .actions
                .iter()
                .map(|a| ActionDoc {
                    pid: a.pid,
                    name: a.name.clone(),
                    method: a.method.as_ref().map_or("none", |m| m.name()),
                    signal: a.signal.map(crate::stop::StopSignal::name),
                    command: a.command.clone(),
                    stage: a.stage.name(),
                    ok: a.ok,
                    error: a.error.clone(),
                    waited_ms: millis_of(a.waited),
                    freed: a.freed,
                    note: a.note.clone(),
                })
                .collect(),
            respawns: result
                .respawns
                .iter()
                .map(|r| RespawnDoc {
                    pid: r.pid,
                    name: r.name.clone(),
                    parent_pid: r.parent_pid,
                    parent_name: r.parent_name.clone(),
                    parent_cmdline: std::sync::Arc::clone(&r.parent_cmdline),
                    same_parent: r.same_parent,
                })
                .collect(),
            freed: result.freed,
            remaining: SocketsDoc {
                sockets: &result.remaining,
                probes: &[],
            },
        }
    }
}
