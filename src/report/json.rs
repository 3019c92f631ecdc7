//! The JSON documents of the contract (schema version 1). These types are
//! the contract's shape, kept apart from the engine's types so the schema
//! changes only when this file does.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bind::rules::{Errno, Holder, Stage};
use crate::bind::trial::Skip;
use crate::bind::{Outcome, TryResult};
use crate::free::FreeResult;
use crate::model::{Family, OwnerGap, Process, Socket};
use crate::probe::{Cut, Probe};
use crate::resolve::{Reach, ResolveResult};
use crate::stop::StopResult;
use crate::stop::plan::Step;
use crate::target::PortRange;
use crate::text::Text;
use crate::wait::WaitResult;
use crate::warning::Warning;
use crate::who::WhoResult;
use crate::why::WhyResult;
use crate::why::diagnose::Diagnosis;
use crate::why::fixes::Fix;
use crate::why::recognise::{Origin, Recognised};

pub const SCHEMA_VERSION: u32 = 1;

/// Every command's document: the contract's four header fields, then the
/// command's own body (flattened into the same object).
#[derive(Serialize)]
pub struct Document<B> {
    pub schema_version: u32,
    pub command: &'static str,
    #[serde(flatten)]
    pub origin: MadeOn,
    pub complete: bool,
    pub warnings: Vec<WarningDoc>,
    #[serde(flatten)]
    pub body: B,
}

/// A command's result, as far as its document's header is concerned.
pub trait Reported {
    const COMMAND: &'static str;
    fn warnings(&self) -> &[Warning];
}

impl<'a, R, B> From<&'a R> for Document<B>
where
    R: Reported,
    B: From<&'a R>,
{
    fn from(result: &'a R) -> Self {
        let warnings = result.warnings();
        Document {
            schema_version: SCHEMA_VERSION,
            command: R::COMMAND,
            origin: MadeOn::here(),
            complete: crate::warning::complete(warnings),
            warnings: warnings.iter().map(WarningDoc::from).collect(),
            body: B::from(result),
        }
    }
}

/// Where a document was made, so that documents from many hosts can be
/// merged (Ansible, contrib/ansible): `hostname` (the node name, as
/// `uname -n`; the key is not `host`, which `resolve` already uses for the
/// name it resolved) and `kernel` (the release, as `uname -r`). In every
/// document, error documents included; null where unknown.
#[derive(Serialize, Clone)]
pub struct MadeOn {
    pub hostname: Option<String>,
    pub kernel: Option<String>,
}

impl MadeOn {
    pub fn here() -> MadeOn {
        #[cfg(unix)]
        {
            let name = rustix::system::uname();
            let text = |bytes: &std::ffi::CStr| {
                Some(bytes.to_string_lossy().into_owned()).filter(|t| !t.is_empty())
            };
            MadeOn {
                hostname: text(name.nodename()),
                kernel: text(name.release()),
            }
        }
        #[cfg(not(unix))]
        MadeOn {
            hostname: None,
            kernel: None,
        }
    }
}

pub type WhoDoc<'a> = Document<WhoBody<'a>>;
pub type TryDoc = Document<TryBody>;
pub type ResolveDoc = Document<ResolveBody>;
pub type FreeDoc = Document<FreeBody>;
pub type WaitDoc<'a> = Document<WaitBody<'a>>;
pub type WhyDoc = Document<WhyBody>;
pub type StopDoc<'a> = Document<StopBody<'a>>;

macro_rules! reported {
    ($($result:ty => $command:literal, |$r:ident| $warnings:expr;)*) => {
        $(impl Reported for $result {
            const COMMAND: &'static str = $command;
            fn warnings(&self) -> &[Warning] {
                let $r = self;
                $warnings
            }
        })*
    };
}

reported! {
    WhoResult => "who", |r| &r.warnings;
    TryResult => "try", |r| &r.warnings;
    ResolveResult => "resolve", |r| &r.warnings;
    FreeResult => "free", |r| &r.warnings;
    WaitResult => "wait", |r| &r.final_view.warnings;
    WhyResult => "why", |r| &r.warnings;
    StopResult => "stop", |r| &r.warnings;
}

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

/// A process's name and command line are any bytes it chose. `name` and
/// `cmdline` are UTF-8 strings every JSON reader can take (a byte that is
/// not UTF-8 becomes U+FFFD; control characters are escaped by JSON, and
/// exact); only when some bytes were not UTF-8, `name_bytes` and
/// `cmdline_bytes` (every argument, in order) give the exact bytes in
/// base64. Otherwise they are null.
#[derive(Serialize)]
pub struct ProcessDoc {
    pub pid: u32,
    pub name: Option<Text>,
    pub name_bytes: Option<String>,
    pub cmdline: std::sync::Arc<[Text]>,
    pub cmdline_bytes: CmdlineBytes,
    /// The lowest descriptor; `fds` has them all.
    pub fd: Option<u32>,
    pub fds: Vec<u32>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// `{"runtime","id"}` when the process runs in a container.
    pub container: Option<ContainerDoc>,
}

/// `cmdline_bytes`: null when every argument is UTF-8, else each
/// argument's exact bytes in base64. Shares the command line (encoded only
/// while the document is written) rather than copying it per socket.
pub struct CmdlineBytes(pub std::sync::Arc<[Text]>);

impl Serialize for CmdlineBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.iter().all(Text::is_utf8) {
            return serializer.serialize_none();
        }
        serializer.collect_seq(self.0.iter().map(Text::base64))
    }
}

#[derive(Serialize)]
pub struct ContainerDoc {
    pub runtime: &'static str,
    pub id: String,
}

impl From<&Process> for ProcessDoc {
    fn from(process: &Process) -> Self {
        ProcessDoc {
            pid: process.pid,
            name: process.name.clone(),
            name_bytes: process
                .name
                .as_ref()
                .filter(|name| !name.is_utf8())
                .map(Text::base64),
            cmdline: std::sync::Arc::clone(&process.cmdline),
            cmdline_bytes: CmdlineBytes(std::sync::Arc::clone(&process.cmdline)),
            fd: process.fds.first().copied(),
            fds: process.fds.clone(),
            uid: process.uid,
            user: process.user.clone(),
            container: process.container.as_ref().map(|c| ContainerDoc {
                runtime: c.runtime,
                id: c.id.clone(),
            }),
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
    /// The `ip netns` name of `netns`, when it has one.
    pub netns_name: Option<String>,
    /// Where a known forwarder (docker-proxy) sends the traffic.
    pub forwards_to: Option<String>,
    /// A known protocol demultiplexer (sslh) that owns the socket.
    pub demultiplexer: Option<&'static str>,
    /// Where it sends each protocol, from its command line.
    pub forwards_by_protocol: Vec<RouteDoc>,
    pub processes: Vec<ProcessDoc>,
    /// Why `processes` is empty: `kernel_owned`, `owner_unreadable`,
    /// `owner_not_visible`; null when owners are listed.
    pub owner_gap: Option<&'static str>,
    /// `--probe` on `who`: what answered; null where no probe was made.
    pub probe: Option<ProbeDoc>,
}

/// One protocol a demultiplexer routes, and where.
#[derive(Serialize)]
pub struct RouteDoc {
    pub protocol: String,
    pub to: String,
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
            netns_name: socket.netns_name.clone(),
            forwards_to: socket.forwards_to.clone(),
            demultiplexer: socket.demultiplexer,
            forwards_by_protocol: socket
                .forwards_by_protocol
                .iter()
                .map(|(protocol, to)| RouteDoc {
                    protocol: protocol.clone(),
                    to: to.clone(),
                })
                .collect(),
            processes: socket.processes.iter().map(ProcessDoc::from).collect(),
            owner_gap: socket.owner_gap.map(OwnerGap::code),
            probe: None,
        }
    }
}

/// What answered on a socket (`--probe`).
#[derive(Serialize)]
pub struct ProbeDoc {
    /// http | https | tls | ssh | smtp | ftp | banner | silent | closed | error
    pub protocol: &'static str,
    /// `["http","tls"]` when one socket speaks both.
    pub multiplexed: Vec<&'static str>,
    pub summary: String,
    pub banner: Option<String>,
    pub tls: Option<TlsDoc>,
    pub http: Option<HttpDoc>,
    pub elapsed_ms: u64,
    /// The address and port probed (a wildcard through its loopback).
    pub address: String,
    pub port: u16,
    /// What went wrong (`error`), or the reset of a `closed` one.
    pub error: Option<String>,
    /// null, or the bound that cut the probe short: `bytes` (64 KiB) or
    /// `time` (3 s).
    pub cut: Option<&'static str>,
    pub bytes_read: usize,
}

#[derive(Serialize)]
pub struct TlsDoc {
    pub version: String,
    pub alpn: Option<String>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub dns_names: Vec<String>,
    pub not_after: Option<String>,
}

#[derive(Serialize)]
pub struct HttpDoc {
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub server: Option<String>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub title: Option<String>,
    pub body_excerpt: Option<String>,
    /// `HTTP/1.1`.
    pub version: Option<String>,
    /// False when the head never ended within the bounds.
    pub head_complete: bool,
}

impl From<&Probe> for ProbeDoc {
    fn from(probe: &Probe) -> Self {
        ProbeDoc {
            protocol: probe.kind.name(),
            multiplexed: probe.multiplexed.clone(),
            summary: probe.summary.clone(),
            banner: probe.banner.clone(),
            tls: probe.tls.as_ref().map(|tls| TlsDoc {
                version: tls.version.clone(),
                alpn: tls.alpn.clone(),
                subject: tls.subject.clone(),
                issuer: tls.issuer.clone(),
                dns_names: tls.dns_names.clone(),
                not_after: tls.not_after.clone(),
            }),
            http: probe.http.as_ref().map(|http| HttpDoc {
                status: http.status,
                reason: http.reason.clone(),
                server: http.server.clone(),
                location: http.location.clone(),
                content_type: http.content_type.clone(),
                title: http.title.clone(),
                body_excerpt: http.body_excerpt.clone(),
                version: http.version.clone(),
                head_complete: http.head_complete,
            }),
            elapsed_ms: u64::try_from(probe.elapsed.as_millis()).unwrap_or(u64::MAX),
            address: probe.target.address.ip().to_string(),
            port: probe.target.address.port(),
            error: probe.error.clone(),
            cut: probe.cut.map(Cut::name),
            bytes_read: probe.bytes_read,
        }
    }
}

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

/// A socket table written as a JSON array one socket at a time: `who` on a
/// host with a hundred thousand sockets never holds a second copy of them
/// as documents (README: memory).
pub struct SocketsDoc<'a> {
    sockets: &'a [Socket],
    /// `--probe` answers by socket index; empty without `--probe`.
    probes: &'a [Option<Probe>],
}

impl Serialize for SocketsDoc<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.sockets.len()))?;
        for (index, socket) in self.sockets.iter().enumerate() {
            seq.serialize_element(&SocketDoc {
                probe: self
                    .probes
                    .get(index)
                    .and_then(Option::as_ref)
                    .map(ProbeDoc::from),
                ..SocketDoc::from(socket)
            })?;
        }
        seq.end()
    }
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

/// Serializes a document into `out`, pretty, with a trailing newline, and
/// with nothing a terminal would act on left raw in a string
/// (`json_format`).
pub fn write<T: Serialize>(out: &mut dyn std::io::Write, document: &T) -> std::io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut *out,
        super::json_format::TerminalSafe::default(),
    );
    document
        .serialize(&mut serializer)
        .map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

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

fn candidate_doc(outcome: &Outcome, live: &[Socket]) -> CandidateDoc {
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

#[derive(Serialize)]
pub struct DestinationDoc {
    pub address: String,
    pub family: &'static str,
    pub system_rank: usize,
    pub rfc6724_rank: usize,
    pub source_address: Option<String>,
    pub origin: &'static str,
    /// The socket the kernel hands the connection to; the first of
    /// `listeners` when a reuseport group shares it.
    pub listener: Option<SocketDoc>,
    pub listeners: Vec<SocketDoc>,
    /// How the kernel picks among `listeners`: "single"; "hash" (a
    /// reuseport group: one of N per connection, by a hash of the client's
    /// address and port); "newest" (UDP sockets sharing by SO_REUSEADDR:
    /// the most recently bound gets every unicast datagram, and is the only
    /// one listed). Null when nothing receives or it cannot be told.
    pub delivery: Option<&'static str>,
    /// accept | refused | unreachable | not_local; null without a port.
    pub outcome: Option<&'static str>,
    /// `--probe`: what answered there; null where no probe was made.
    pub probe: Option<ProbeDoc>,
}

#[derive(Serialize)]
pub struct DecisionDoc {
    pub before: String,
    pub after: String,
    pub rule: u8,
    pub reason: String,
}

#[derive(Serialize)]
pub struct ReachedDoc {
    pub address: String,
    pub port: u16,
    pub socket: Option<SocketDoc>,
}

#[derive(Serialize)]
pub struct ConnectDoc {
    pub address: String,
    pub outcome: Option<&'static str>,
    pub error: Option<String>,
    /// The server side of the real connection, from the socket table.
    pub socket: Option<SocketDoc>,
    /// The accepting process is the predicted listener's.
    pub agrees: Option<bool>,
    pub skipped: Option<&'static str>,
}

#[derive(Serialize)]
pub struct ResolveBody {
    pub host: String,
    pub port: Option<u16>,
    pub protocol: &'static str,
    pub destinations: Vec<DestinationDoc>,
    pub order_agrees: bool,
    pub decisions: Vec<DecisionDoc>,
    pub reached: Option<ReachedDoc>,
    pub connect: Option<Vec<ConnectDoc>>,
    /// With `--dns`: what the nameservers answered; null otherwise.
    pub dns: Option<DnsDoc>,
}

#[derive(Serialize)]
pub struct DnsDoc {
    pub servers: Vec<String>,
    pub a: Vec<String>,
    pub aaaa: Vec<String>,
    pub errors: Vec<String>,
}

impl From<&ResolveResult> for ResolveBody {
    fn from(result: &ResolveResult) -> Self {
        let live = &result.live;
        let socket_doc = |index: &usize| live.get(*index).map(SocketDoc::from);
        let port = result.config.query.port;
        ResolveBody {
            host: result.config.query.host.clone(),
            port,
            protocol: result.config.protocol.name(),
            destinations: result
                .destinations
                .iter()
                .map(|d| DestinationDoc {
                    address: d.address.to_string(),
                    family: Family::of(d.address).name(),
                    system_rank: d.system_rank,
                    rfc6724_rank: d.rfc6724_rank,
                    source_address: d.source.map(|s| s.to_string()),
                    origin: d.origin,
                    listener: d.receivers.first().and_then(socket_doc),
                    listeners: d.receivers.iter().filter_map(socket_doc).collect(),
                    delivery: d.delivery.map(crate::resolve::route::Delivery::name),
                    outcome: d.outcome.map(Reach::name),
                    probe: d.probe.as_ref().map(ProbeDoc::from),
                })
                .collect(),
            order_agrees: result.order_agrees,
            decisions: result
                .decisions
                .iter()
                .map(|d| DecisionDoc {
                    before: d.before.to_string(),
                    after: d.after.to_string(),
                    rule: d.rule,
                    reason: d.reason.clone(),
                })
                .collect(),
            reached: result
                .reached
                .and_then(|i| result.destinations.get(i))
                .map(|d| ReachedDoc {
                    address: d.address.to_string(),
                    port: port.unwrap_or(0),
                    socket: d.receivers.first().and_then(socket_doc),
                }),
            connect: result.connect.as_ref().map(|reports| {
                reports
                    .iter()
                    .map(|r| ConnectDoc {
                        address: r.address.to_string(),
                        outcome: r.outcome.map(Reach::name),
                        error: r.error.clone(),
                        socket: r.accepted_by.as_ref().map(SocketDoc::from),
                        agrees: r.agrees,
                        skipped: r.skipped,
                    })
                    .collect()
            }),
            dns: result.dns.as_ref().map(|view| DnsDoc {
                servers: view.servers.clone(),
                a: view.a.iter().map(ToString::to_string).collect(),
                aaaa: view.aaaa.iter().map(ToString::to_string).collect(),
                errors: view.errors.clone(),
            }),
        }
    }
}

#[derive(Serialize)]
pub struct RangeDoc {
    pub low: u16,
    pub high: u16,
}

impl From<PortRange> for RangeDoc {
    fn from(range: PortRange) -> Self {
        RangeDoc {
            low: range.low,
            high: range.high,
        }
    }
}

#[derive(Serialize)]
pub struct ExcludedDoc {
    /// `net.ipv4.ip_local_port_range`.
    pub ephemeral: RangeDoc,
    /// `net.ipv4.ip_local_reserved_ports`.
    pub reserved: Vec<RangeDoc>,
}

#[derive(Serialize)]
pub struct FreeBody {
    pub ports: Vec<u16>,
    pub protocols: Vec<&'static str>,
    pub count: usize,
    pub range: RangeDoc,
    pub excluded: ExcludedDoc,
}

impl From<&FreeResult> for FreeBody {
    fn from(result: &FreeResult) -> Self {
        FreeBody {
            ports: result.ports.clone(),
            protocols: result.config.protocols.iter().map(|p| p.name()).collect(),
            count: result.config.count,
            range: result.range.into(),
            excluded: ExcludedDoc {
                ephemeral: result.ephemeral.into(),
                reserved: result.reserved.iter().map(|r| (*r).into()).collect(),
            },
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bind::candidate::{Candidate, OptionChoices, parse_candidate};
    use crate::bind::rules::Verdict;
    use crate::bind::trial::Observed;
    use crate::model::{Protocol, State};

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

    #[test]
    fn what_a_source_cannot_supply_is_null_never_a_default() {
        let mut socket = Socket::bare(
            Protocol::Tcp,
            "::".parse().expect("address"),
            8000,
            State::Listen,
        );
        socket.interface_known = false;
        let doc = serde_json::to_value(SocketDoc::from(&socket)).expect("json");
        for key in [
            "v6only",
            "accepts_ipv4",
            "interface",
            "reuseaddr",
            "reuseport",
            "netns",
        ] {
            assert!(doc[key].is_null(), "{key}: {doc}");
        }
    }
}

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
