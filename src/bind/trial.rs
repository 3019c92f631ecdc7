//! The real trial: the same binds, with the same options and in the same
//! order, made with socket2 and closed at the end; never where it could
//! take traffic meant for a live service.
//!
//! Safety:
//! - a TCP socket that is bound but not listening receives nothing, so the
//!   bind stage is always tried;
//! - listen() is tried only when no live listening or bound socket overlaps
//!   the candidate: otherwise the trial could join a reuseport group (and be
//!   handed real connections), catch connections for a more specific
//!   address, or make a live bound socket's own listen() fail meanwhile;
//! - a UDP bind is tried only where no live UDP socket overlaps it, unless
//!   the kernel is sure to refuse it; a UDP socket receives from the moment
//!   it is bound;
//! - a TCP port that live sockets hold is not touched at all when SO_REUSEPORT
//!   is (or may be) in play there: the kernel caches the port's reuseport
//!   state, and a trial bind could change what a live service's next bind
//!   gets;
//! - on Linux every trial socket carries a filter that drops every packet,
//!   so even a mistaken trial would not consume a connection request or a
//!   datagram. Other systems have no SO_ATTACH_FILTER; there the rules
//!   above carry the safety alone, and since netstat2 reports no socket's
//!   options, SO_REUSEPORT counts as "may be in play" on every held port,
//!   so a port a live TCP socket holds is not touched at all.
//!
//! Every socket is closed when the trial returns, on success or error; if
//! the process is killed the kernel closes them with it.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};

#[cfg(target_os = "linux")]
use socket2::SockFilter;
use socket2::{Domain, Protocol as RawProtocol, SockAddr, Socket as RawSocket, Type};

use super::candidate::Candidate;
use super::rules::{Binding, Stage, Tri, Verdict, overlaps};
use crate::model::{Protocol, Socket, State};

/// Why a trial (or its listen stage) was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NoTrialFlag,
    WouldJoinReuseportGroup,
    OverlapsLiveSocket,
    WouldShareLiveUdpPort,
    WouldChangeReuseportState,
    /// The kernel refused the drop-everything filter to this process (some
    /// kernels keep SO_ATTACH_FILTER on TCP sockets from unprivileged
    /// users): a trial socket is made only with it.
    FilterNotPermitted,
}

impl Skip {
    pub fn code(self) -> &'static str {
        match self {
            Skip::NoTrialFlag => "no_trial_flag",
            Skip::WouldJoinReuseportGroup => "would_join_reuseport_group",
            Skip::OverlapsLiveSocket => "overlaps_live_socket",
            Skip::WouldShareLiveUdpPort => "would_share_live_udp_port",
            Skip::WouldChangeReuseportState => "would_change_reuseport_state",
            Skip::FilterNotPermitted => "filter_not_permitted",
        }
    }
}

/// What the trial may do for one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// `Some` when no socket is made at all.
    pub skip: Option<Skip>,
    /// `Some` when the socket is bound but listen() is not tried.
    pub skip_listen: Option<Skip>,
}

/// Decides, from the live table and the prediction, what is safe to try.
pub fn permission(
    candidate: &Candidate,
    verdict: &Verdict,
    live: &[Socket],
    euid: u32,
) -> Permission {
    let me = Binding::from_candidate(candidate, euid, candidate.options.listen);
    let overlapping: Vec<&Socket> = live
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.protocol == candidate.protocol
                && s.local_port == candidate.port
                && candidate.port != 0
        })
        .filter(|(_, s)| {
            matches!(s.state, State::Listen | State::Unconn) || s.protocol == Protocol::Udp
        })
        .filter(|(i, s)| {
            Binding::from_socket(*i, s).is_some_and(|b| overlaps(&me, &b) != Some(false))
        })
        .map(|(_, s)| s)
        .collect();
    match candidate.protocol {
        Protocol::Udp => {
            let surely_refused = verdict.ok() == Some(false);
            Permission {
                skip: (!overlapping.is_empty() && !surely_refused)
                    .then_some(Skip::WouldShareLiveUdpPort),
                skip_listen: None,
            }
        }
        Protocol::Tcp => {
            // The kernel caches a port's SO_REUSEPORT state (fastreuseport)
            // while any socket holds the port; a trial bind can change it
            // and so change what a live service's next bind gets. Only a
            // port no live socket holds, or one where nobody uses (or may
            // use) SO_REUSEPORT, is safe to touch.
            let on_port = live.iter().any(|s| {
                s.protocol == Protocol::Tcp && s.local_port == candidate.port && candidate.port != 0
            });
            // TIME_WAIT entries are left out: their options are never known,
            // and a reuseport bind beside them passes the pairwise check
            // anyway (the TIME_WAIT exception), shortcut or not.
            let reuseport_in_play = candidate.options.reuseport
                || live.iter().any(|s| {
                    s.protocol == Protocol::Tcp
                        && s.local_port == candidate.port
                        && s.state != State::TimeWait
                        && s.reuseport != Some(false)
                });
            if on_port && reuseport_in_play {
                return Permission {
                    skip: Some(Skip::WouldChangeReuseportState),
                    skip_listen: None,
                };
            }
            let joins_group = candidate.options.reuseport
                && overlapping
                    .iter()
                    .any(|s| s.state == State::Listen && s.reuseport != Some(false));
            let skip_listen = if !candidate.options.listen {
                None
            } else if joins_group {
                Some(Skip::WouldJoinReuseportGroup)
            } else if !overlapping.is_empty() {
                Some(Skip::OverlapsLiveSocket)
            } else {
                None
            };
            Permission {
                skip: None,
                skip_listen,
            }
        }
    }
}

/// The observed result for one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub performed: bool,
    pub ok: Tri,
    /// The errno name (`EADDRINUSE`, ...) when a step failed.
    pub error: Option<String>,
    pub stage: Option<Stage>,
    /// Why nothing, or only the bind, was tried.
    pub skipped: Option<Skip>,
    pub listen_tried: bool,
    /// A setup step (a socket option) failed before bind.
    pub setup_error: Option<String>,
}

impl Observed {
    fn skipped(skip: Skip) -> Observed {
        Observed {
            performed: false,
            ok: None,
            error: None,
            stage: None,
            skipped: Some(skip),
            listen_tried: false,
            setup_error: None,
        }
    }

    /// A trial that bound and listened: what tests of the layers above need.
    #[cfg(test)]
    pub fn succeeded() -> Observed {
        Observed {
            performed: true,
            ok: Some(true),
            error: None,
            stage: None,
            skipped: None,
            listen_tried: true,
            setup_error: None,
        }
    }
}

/// Runs the plan for real: binds in order, then listens in order, then
/// closes everything.
pub fn run(candidates: &[Candidate], permissions: &[Permission]) -> Vec<Observed> {
    let mut held: Vec<Option<RawSocket>> = Vec::with_capacity(candidates.len());
    let mut observed: Vec<Observed> = Vec::with_capacity(candidates.len());
    for (candidate, permission) in candidates.iter().zip(permissions) {
        if let Some(skip) = permission.skip {
            held.push(None);
            observed.push(Observed::skipped(skip));
            continue;
        }
        let (socket, result) = bind_one(candidate);
        observed.push(result);
        held.push(socket);
    }
    for ((candidate, permission), (socket, result)) in candidates
        .iter()
        .zip(permissions)
        .zip(held.iter().zip(observed.iter_mut()))
    {
        let Some(socket) = socket else { continue };
        if !candidate.options.listen || candidate.protocol != Protocol::Tcp {
            continue;
        }
        if let Some(skip) = permission.skip_listen {
            result.skipped = Some(skip);
            continue;
        }
        result.listen_tried = true;
        if let Err(error) = socket.listen(1) {
            result.ok = Some(false);
            result.error = Some(errno_name(&error));
            result.stage = Some(Stage::Listen);
        }
    }
    drop(held);
    observed
}

/// Creates, configures and binds one socket. The socket is returned only
/// when bound.
fn bind_one(candidate: &Candidate) -> (Option<RawSocket>, Observed) {
    let mut result = Observed {
        performed: true,
        ok: Some(true),
        error: None,
        stage: None,
        skipped: None,
        listen_tried: false,
        setup_error: None,
    };
    let socket = match configured_socket(candidate) {
        Ok(socket) => socket,
        Err(Setup::FilterNotPermitted) => {
            return (None, Observed::skipped(Skip::FilterNotPermitted));
        }
        Err(Setup::Failed(error)) => {
            result.performed = false;
            result.ok = None;
            result.setup_error = Some(error);
            return (None, result);
        }
    };
    match socket.bind(&target(candidate, &socket)) {
        Ok(()) => (Some(socket), result),
        Err(error) => {
            result.ok = Some(false);
            result.error = Some(errno_name(&error));
            result.stage = Some(Stage::Bind);
            (None, result)
        }
    }
}

/// Why a trial socket could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Setup {
    /// The filter that keeps the trial from taking traffic was refused for
    /// lack of privileges: no trial, for a reason `skipped` can name. (No
    /// such filter exists off Linux: see the trial's safety rules there.)
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    FilterNotPermitted,
    /// Any other step failed, with what it said.
    Failed(String),
}

fn configured_socket(candidate: &Candidate) -> Result<RawSocket, Setup> {
    let domain = if candidate.address.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let (kind, protocol) = match candidate.protocol {
        Protocol::Tcp => (Type::STREAM, RawProtocol::TCP),
        Protocol::Udp => (Type::DGRAM, RawProtocol::UDP),
    };
    let step =
        |what: &str, r: std::io::Result<()>| r.map_err(|e| Setup::Failed(format!("{what}: {e}")));
    let socket = RawSocket::new(domain, kind, Some(protocol))
        .map_err(|e| Setup::Failed(format!("socket(): {e}")))?;
    // `ret #0`: accept nothing. The trial must never consume traffic.
    #[cfg(target_os = "linux")]
    attach_drop_filter(&socket)?;
    if candidate.address.is_ipv6() {
        step("IPV6_V6ONLY", socket.set_only_v6(candidate.options.v6only))?;
    }
    step(
        "SO_REUSEADDR",
        socket.set_reuse_address(candidate.options.reuseaddr),
    )?;
    if candidate.options.reuseport {
        step("SO_REUSEPORT", set_reuse_port(&socket))?;
    }
    if candidate.options.freebind {
        step(
            "IP_FREEBIND",
            set_freebind(&socket, candidate.address.is_ipv4()),
        )?;
    }
    if let Some(device) = candidate.options.device.as_deref() {
        step("SO_BINDTODEVICE", bind_device(&socket, device))?;
    }
    Ok(socket)
}

#[cfg(unix)]
fn set_reuse_port(socket: &RawSocket) -> std::io::Result<()> {
    socket.set_reuse_port(true)
}

/// Windows has no SO_REUSEPORT (SO_REUSEADDR there does what it does
/// elsewhere and more).
#[cfg(not(unix))]
fn set_reuse_port(_socket: &RawSocket) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "Windows has no SO_REUSEPORT",
    ))
}

#[cfg(target_os = "linux")]
fn set_freebind(socket: &RawSocket, ipv4: bool) -> std::io::Result<()> {
    if ipv4 {
        socket.set_freebind_v4(true)
    } else {
        socket.set_freebind_v6(true)
    }
}

/// IP_FREEBIND and SO_BINDTODEVICE are Linux's: elsewhere the trial says
/// it could not set them up rather than bind without them.
#[cfg(not(target_os = "linux"))]
fn set_freebind(_socket: &RawSocket, _ipv4: bool) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "only Linux has IP_FREEBIND",
    ))
}

#[cfg(target_os = "linux")]
fn bind_device(socket: &RawSocket, device: &str) -> std::io::Result<()> {
    socket.bind_device(Some(device.as_bytes()))
}

#[cfg(not(target_os = "linux"))]
fn bind_device(_socket: &RawSocket, _device: &str) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "only Linux has SO_BINDTODEVICE",
    ))
}

/// An interface's index for a link-local scope (`fe80::1%eth0`); 0 when
/// unknown, which the kernel refuses for a link-local address.
#[cfg(target_os = "linux")]
pub fn interface_index(socket: &RawSocket, name: &str) -> u32 {
    rustix::net::netdevice::name_to_index(socket, name).unwrap_or(0)
}

#[cfg(not(target_os = "linux"))]
pub fn interface_index(_socket: &RawSocket, _name: &str) -> u32 {
    0
}

/// The filter that drops every packet (`ret #0`). A refusal for want of
/// privileges (EPERM, EACCES) is told apart from other failures: it is what
/// an unprivileged user meets on kernels that keep socket filters on TCP to
/// privileged processes, and it means "no trial", not an error.
#[cfg(target_os = "linux")]
fn attach_drop_filter(socket: &RawSocket) -> Result<(), Setup> {
    socket
        .attach_filter(&[SockFilter::new(0x06, 0, 0, 0)])
        .map_err(|error| filter_refusal(&error))
}

#[cfg(target_os = "linux")]
fn filter_refusal(error: &std::io::Error) -> Setup {
    let errno = error
        .raw_os_error()
        .map(rustix::io::Errno::from_raw_os_error);
    if matches!(
        errno,
        Some(rustix::io::Errno::PERM | rustix::io::Errno::ACCESS)
    ) {
        Setup::FilterNotPermitted
    } else {
        Setup::Failed(format!("SO_ATTACH_FILTER: {error}"))
    }
}

fn target(candidate: &Candidate, socket: &RawSocket) -> SockAddr {
    match candidate.address {
        IpAddr::V6(v6) => {
            let scope_id = candidate
                .scope
                .as_deref()
                .map_or(0, |name| interface_index(socket, name));
            SocketAddr::V6(SocketAddrV6::new(v6, candidate.port, 0, scope_id)).into()
        }
        IpAddr::V4(_) => SocketAddr::new(candidate.address, candidate.port).into(),
    }
}

/// The errno's symbolic name, as the contract spells errors.
pub fn errno_name(error: &std::io::Error) -> String {
    let Some(code) = error.raw_os_error() else {
        return error.to_string();
    };
    let name = match rustix::io::Errno::from_raw_os_error(code) {
        rustix::io::Errno::ADDRINUSE => "EADDRINUSE",
        rustix::io::Errno::ACCESS => "EACCES",
        rustix::io::Errno::ADDRNOTAVAIL => "EADDRNOTAVAIL",
        rustix::io::Errno::INVAL => "EINVAL",
        rustix::io::Errno::PERM => "EPERM",
        rustix::io::Errno::NODEV => "ENODEV",
        // connect(2), for `resolve --connect`.
        rustix::io::Errno::CONNREFUSED => "ECONNREFUSED",
        rustix::io::Errno::TIMEDOUT => "ETIMEDOUT",
        rustix::io::Errno::HOSTUNREACH => "EHOSTUNREACH",
        rustix::io::Errno::NETUNREACH => "ENETUNREACH",
        _ => return format!("errno {code}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A filter refused for want of privileges means "no trial, skipped
    /// for this reason", never a setup error with the errno's words in it.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_refused_filter_skips_the_trial_and_other_failures_stay_errors() {
        for errno in [libc::EPERM, libc::EACCES] {
            let refused = std::io::Error::from_raw_os_error(errno);
            assert_eq!(filter_refusal(&refused), Setup::FilterNotPermitted);
        }
        let other = std::io::Error::from_raw_os_error(libc::ENOMEM);
        assert!(
            matches!(filter_refusal(&other), Setup::Failed(text) if text.starts_with("SO_ATTACH_FILTER"))
        );
        assert_eq!(Skip::FilterNotPermitted.code(), "filter_not_permitted");
    }
}
