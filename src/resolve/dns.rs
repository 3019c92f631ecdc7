//! `--dns`: what the configured nameservers say, asked directly, to show
//! what the system answer hides (a hosts entry shadowing DNS, a family the
//! system dropped).
//!
//! The questions go out on a UDP socket of our own, connected to each
//! nameserver in turn, so every address shown came in a reply from the
//! server named beside it. A resolver library is not used here: it
//! answers some names itself (hickory-resolver answers `localhost` per
//! RFC 6761 without asking anyone), and a view that claims to be "what DNS
//! says" must not contain answers nobody sent. The connected socket also
//! hears the ICMP "port unreachable" of a closed port at once (the kernel
//! turns it into ECONNREFUSED), so a refused server is said to refuse
//! instead of costing a timeout.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use hickory_resolver::proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};

/// Each server gets this long to answer; the whole view is bounded too.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(6);
/// The classic DNS-over-UDP message limit without EDNS (RFC 1035 4.2.1),
/// with room: a larger reply is truncated by the server, not by us.
const REPLY_BUFFER: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsView {
    /// The nameservers asked, as `address:port`.
    pub servers: Vec<String>,
    pub a: Vec<IpAddr>,
    pub aaaa: Vec<IpAddr>,
    /// Why an answer is missing (refused, timeout, no nameserver,
    /// SERVFAIL...), each starting with the record type (`A: ...`).
    pub errors: Vec<String>,
}

/// What one server said to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    /// An answer: the addresses (none for NXDOMAIN or no such record).
    Answered(Vec<IpAddr>),
    /// No usable answer from this server, and why.
    Failed(String),
}

/// Asks `server` (or the nameservers of /etc/resolv.conf, in order, the
/// next only when one gives no answer) for A and AAAA records of `host`,
/// never the hosts file.
pub fn query(host: &str, server: Option<SocketAddr>) -> DnsView {
    let mut view = DnsView::default();
    let servers = match server {
        Some(address) => vec![address],
        None => match system_servers() {
            Ok(servers) => servers,
            Err(error) => {
                view.errors.push(error);
                return view;
            }
        },
    };
    view.servers = servers.iter().map(ToString::to_string).collect();
    if servers.is_empty() {
        view.errors.push("no nameserver is configured".into());
        return view;
    }
    // A fully qualified name: no search domains, exactly what was asked.
    let fqdn = if host.ends_with('.') {
        host.to_owned()
    } else {
        format!("{host}.")
    };
    let name = match Name::from_ascii(&fqdn) {
        Ok(name) => name,
        Err(error) => {
            view.errors
                .push(format!("'{host}' is not a DNS name: {error}"));
            return view;
        }
    };
    let deadline = Instant::now() + TOTAL_TIMEOUT;
    let mut pending = vec![RecordType::A, RecordType::AAAA];
    let mut failures: Vec<(RecordType, String)> = Vec::new();
    for &server in &servers {
        if pending.is_empty() {
            break;
        }
        let replies = exchange(server, &name, &pending, deadline);
        pending.clear();
        for (record_type, reply) in replies {
            match reply {
                Reply::Answered(addresses) => {
                    failures.retain(|(t, _)| *t != record_type);
                    for address in addresses {
                        match address {
                            IpAddr::V4(_) => view.a.push(address),
                            IpAddr::V6(_) => view.aaaa.push(address),
                        }
                    }
                }
                Reply::Failed(why) => {
                    failures.push((record_type, format!("{server} {why}")));
                    pending.push(record_type);
                }
            }
        }
    }
    for record_type in [RecordType::A, RecordType::AAAA] {
        let why: Vec<&str> = failures
            .iter()
            .filter(|(t, _)| *t == record_type)
            .map(|(_, why)| why.as_str())
            .collect();
        if !why.is_empty() {
            view.errors
                .push(format!("{record_type}: {}", why.join(", ")));
        }
    }
    view.a.sort();
    view.a.dedup();
    view.aaaa.sort();
    view.aaaa.dedup();
    view
}

/// The nameservers of /etc/resolv.conf (UDP, in the file's order).
fn system_servers() -> Result<Vec<SocketAddr>, String> {
    let (config, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|error| format!("reading /etc/resolv.conf: {error}"))?;
    let mut servers: Vec<SocketAddr> = Vec::new();
    for server in config.name_servers() {
        for connection in &server.connections {
            let address = SocketAddr::new(server.ip, connection.port);
            if !servers.contains(&address) {
                servers.push(address);
            }
        }
    }
    Ok(servers)
}

/// Sends one question per record type to `server` and reads the replies
/// that come from it, until each is answered, the server refuses, or this
/// server's time is up.
fn exchange(
    server: SocketAddr,
    name: &Name,
    types: &[RecordType],
    deadline: Instant,
) -> Vec<(RecordType, Reply)> {
    let fail_all = |why: String| {
        types
            .iter()
            .map(|t| (*t, Reply::Failed(why.clone())))
            .collect::<Vec<_>>()
    };
    let local: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = match UdpSocket::bind(SocketAddr::new(local, 0)).and_then(|socket| {
        socket.connect(server)?;
        Ok(socket)
    }) {
        Ok(socket) => socket,
        Err(error) => return fail_all(format!("could not be asked: {error}")),
    };
    let mut waiting: Vec<(u16, RecordType)> = Vec::new();
    for &record_type in types {
        let mut message = Message::query();
        message.metadata.recursion_desired = true;
        message.add_query(Query::query(name.clone(), record_type));
        let id = message.metadata.id;
        let sent = message
            .to_vec()
            .map_err(|error| error.to_string())
            .and_then(|bytes| socket.send(&bytes).map_err(|error| describe(&error)));
        if let Err(why) = sent {
            return fail_all(why);
        }
        waiting.push((id, record_type));
    }
    let until = deadline.min(Instant::now() + QUERY_TIMEOUT);
    let mut replies = Vec::new();
    let mut buffer = vec![0u8; REPLY_BUFFER];
    while !waiting.is_empty() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if let Err(error) = socket.set_read_timeout(Some(left)) {
            return fail_all(format!("could not be asked: {error}"));
        }
        let size = match socket.recv(&mut buffer) {
            Ok(size) => size,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break;
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => {
                let why = describe(&error);
                replies.extend(
                    waiting
                        .drain(..)
                        .map(|(_, t)| (t, Reply::Failed(why.clone()))),
                );
                return replies;
            }
        };
        let Some(bytes) = buffer.get(..size) else {
            continue;
        };
        // Anything that is not a reply to one of our questions is ignored,
        // as a resolver does.
        let Ok(message) = Message::from_vec(bytes) else {
            continue;
        };
        let Some(position) = waiting.iter().position(|(id, record_type)| {
            *id == message.metadata.id
                && message.metadata.message_type == MessageType::Response
                && message
                    .queries
                    .iter()
                    .any(|q| q.query_type() == *record_type && q.name() == name)
        }) else {
            continue;
        };
        let (_, record_type) = waiting.remove(position);
        replies.push((record_type, read_reply(&message, record_type)));
    }
    let waited = until.saturating_duration_since(Instant::now()).is_zero();
    replies.extend(waiting.into_iter().map(|(_, t)| {
        (
            t,
            Reply::Failed(if waited {
                format!("gave no answer within {} s", QUERY_TIMEOUT.as_secs())
            } else {
                "gave no answer in the time left".to_owned()
            }),
        )
    }));
    replies
}

/// The addresses of a reply, or why it holds none that can be trusted.
fn read_reply(message: &Message, record_type: RecordType) -> Reply {
    match message.metadata.response_code {
        // "No such name" and "no record of this type" are answers.
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        code => return Reply::Failed(format!("answered {code}")),
    }
    let addresses: Vec<IpAddr> = message
        .answers
        .iter()
        .filter_map(|record| match (&record.data, record_type) {
            (RData::A(a), RecordType::A) => Some(IpAddr::V4(a.0)),
            (RData::AAAA(aaaa), RecordType::AAAA) => Some(IpAddr::V6(aaaa.0)),
            _ => None,
        })
        .collect();
    if message.metadata.truncation && addresses.is_empty() {
        return Reply::Failed("sent a truncated answer (TCP was not tried)".into());
    }
    Reply::Answered(addresses)
}

/// A socket error as the reason a server gave no answer.
fn describe(error: &std::io::Error) -> String {
    if error.kind() == ErrorKind::ConnectionRefused {
        "refused (ICMP port unreachable: nothing listens there, or a firewall rejects)".to_owned()
    } else {
        format!("could not be asked: {error}")
    }
}

/// Addresses DNS has that the system answer lacks, and system addresses DNS
/// does not have (which came from the hosts file or another source).
pub fn differences(view: &DnsView, system: &[IpAddr]) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let dns: Vec<IpAddr> = view.a.iter().chain(view.aaaa.iter()).copied().collect();
    let hidden = dns
        .iter()
        .filter(|a| !system.contains(a))
        .copied()
        .collect();
    let extra = system
        .iter()
        .filter(|a| !dns.contains(a))
        .copied()
        .collect();
    (hidden, extra)
}
