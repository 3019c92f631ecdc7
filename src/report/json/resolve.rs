//! `resolve`'s document.

use serde::Serialize;

use crate::model::Family;
use crate::resolve::{Reach, ResolveResult};

use super::{ProbeDoc, SocketDoc};

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
