//! The pieces documents share: a socket, its processes, what answered on it
//! (`--probe`), and a socket table streamed one socket at a time.

use serde::Serialize;

use crate::model::{OwnerGap, Process, Socket};
use crate::probe::{Cut, Probe};
use crate::text::Text;

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

/// A socket table written as a JSON array one socket at a time: `who` on a
/// host with a hundred thousand sockets never holds a second copy of them
/// as documents (README: memory).
pub struct SocketsDoc<'a> {
    pub(super) sockets: &'a [Socket],
    /// `--probe` answers by socket index; empty without `--probe`.
    pub(super) probes: &'a [Option<Probe>],
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::{Protocol, State};

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
