//! Gathering what the bind model needs: who we are, the sysctls that
//! change bind(), which addresses are local, and the live bind table of the
//! candidates' ports.

use std::fs;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use socket2::{Domain, Socket as RawSocket, Type};

use super::candidate::Candidate;
use super::rules::{Host, Tri};
use crate::error::Error;
use crate::model::{Protocol, Socket, State};
use crate::sockets::{self, SocketSource};
use crate::target::PortRange;
use crate::warning::Warning;

/// CAP_NET_BIND_SERVICE, bit 10 of the capability sets.
const CAP_NET_BIND_SERVICE: u32 = 10;

fn sysctl(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn sysctl_flag(path: &str) -> bool {
    sysctl(path).is_some_and(|v| v != "0")
}

/// Why IPv6 cannot be used in this network namespace, if it cannot: the
/// kernel has none (booted with ipv6.disable=1, or built without), or
/// `net.ipv6.conf.all.disable_ipv6` took every IPv6 address away. Nothing
/// is claimed when /proc/sys/net cannot be read.
pub fn ipv6_unavailable() -> Option<&'static str> {
    if !std::path::Path::new("/proc/sys/net/ipv4").exists() {
        return None;
    }
    if !std::path::Path::new("/proc/sys/net/ipv6").exists() {
        return Some("this kernel has no IPv6 (booted with ipv6.disable=1, or built without it)");
    }
    sysctl_flag("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        .then_some("IPv6 is disabled in this network namespace (net.ipv6.conf.all.disable_ipv6=1)")
}

/// The sysctls `try` reads; the kernel's defaults stand in for them.
pub const BIND_SYSCTLS: [&str; 4] = [
    "/proc/sys/net/ipv6/bindv6only",
    "/proc/sys/net/ipv4/ip_unprivileged_port_start",
    "/proc/sys/net/ipv4/ip_nonlocal_bind",
    "/proc/sys/net/ipv6/ip_nonlocal_bind",
];

/// A warning naming the sysctls in `paths` that could not be read (/proc
/// missing in a container, /proc/sys not mounted), whose kernel defaults
/// were assumed instead. IPv6's are not missed on a kernel without IPv6.
/// Off Linux there are no such files to miss: these are Linux's sysctls,
/// read for Linux's bind model, which is not applied there.
pub fn unreadable_sysctls(paths: &[&str]) -> Option<Warning> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let no_ipv6 = std::path::Path::new("/proc/sys/net/ipv4").exists()
        && !std::path::Path::new("/proc/sys/net/ipv6").exists();
    let unread: Vec<String> = paths
        .iter()
        .filter(|path| !(no_ipv6 && path.starts_with("/proc/sys/net/ipv6/")))
        .filter(|path| sysctl(path).is_none())
        .map(|path| path.trim_start_matches("/proc/sys/").replace('/', "."))
        .collect();
    (!unread.is_empty()).then(|| {
        Warning::gap(
            "sysctl_unreadable",
            format!(
                "{} could not be read (is /proc/sys mounted?): the kernel's defaults were assumed",
                unread.join(", ")
            ),
        )
    })
}

/// `net.ipv6.bindv6only`: the IPV6_V6ONLY a new IPv6 socket starts with.
pub fn bindv6only() -> bool {
    sysctl_flag("/proc/sys/net/ipv6/bindv6only")
}

/// The effective uid. Windows has none: there it is 0, and nothing in
/// the (Linux-only) bind model reads it.
pub fn euid() -> u32 {
    #[cfg(unix)]
    return rustix::process::geteuid().as_raw();
    #[cfg(not(unix))]
    0
}

pub fn host() -> Host {
    let euid = euid();
    let can_bind_privileged = euid == 0 || has_effective_capability(CAP_NET_BIND_SERVICE);
    Host {
        euid,
        can_bind_privileged,
        unprivileged_port_start: sysctl("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1024),
        ipv4_nonlocal_bind: sysctl_flag("/proc/sys/net/ipv4/ip_nonlocal_bind"),
        ipv6_nonlocal_bind: sysctl_flag("/proc/sys/net/ipv6/ip_nonlocal_bind"),
    }
}

fn has_effective_capability(bit: u32) -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << bit) != 0)
}

/// Whether `name` is no network interface of this namespace. Measured with
/// real binds in a private namespace (Linux 6.x): SO_BINDTODEVICE to an
/// unknown name fails with ENODEV, and so does bind() with a scope id no
/// device has; a device that exists but is down takes SO_BINDTODEVICE and
/// bind() and listen() (it receives nothing until it is up), so a down
/// device changes no prediction. `false` where it cannot be told.
pub fn interface_missing(name: &str) -> bool {
    // IFNAMSIZ is 16 with the NUL: no device has a longer name.
    if name.len() > 15 || name.contains(['/', ' ', '\0']) {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        let Ok(probe) = RawSocket::new(Domain::IPV4, Type::DGRAM, None) else {
            return false;
        };
        matches!(
            rustix::net::netdevice::name_to_index(&probe, name),
            Err(rustix::io::Errno::NODEV)
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// The first of `names` that is no interface here, as an error naming it.
pub fn check_interfaces<'a>(
    names: impl IntoIterator<Item = &'a str>,
    context: &str,
) -> Result<(), crate::error::Error> {
    match names.into_iter().find(|name| interface_missing(name)) {
        Some(name) => Err(crate::error::Error::NoSuchInterface {
            name: crate::text::untrusted(name, 40),
            context: context.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Whether the kernel takes the candidate's address as local (assigned,
/// broadcast or multicast), on its device when it names one.
pub fn address_valid(candidate: &Candidate) -> Tri {
    local_address(candidate.address, candidate.device())
}

/// Whether `address` is local to this host (in the current network
/// namespace), asked of the kernel itself: a UDP socket bound to it with
/// port 0 holds no port anyone asked for and receives nothing before it is
/// closed. EADDRNOTAVAIL says "not local".
pub fn local_address(address: IpAddr, device: Option<&str>) -> Tri {
    let address = match address {
        // A mapped address is checked as the IPv4 address it carries.
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    if address.is_unspecified() {
        return Some(true);
    }
    let probe = RawSocket::new(
        Domain::for_address(SocketAddr::new(address, 0)),
        Type::DGRAM,
        None,
    )
    .ok()?;
    let scope_id = device.map_or(0, |name| super::trial::interface_index(&probe, name));
    #[cfg(target_os = "linux")]
    if let Some(device) = device {
        // Without the right to bind a device the probe asks about every
        // device, which can only say "local" more often.
        let _ = probe.bind_device(Some(device.as_bytes()));
    }
    let target = match address {
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, 0, 0, scope_id)),
        IpAddr::V4(_) => SocketAddr::new(address, 0),
    };
    match probe.bind(&target.into()) {
        Ok(()) => Some(true),
        Err(error)
            if error.raw_os_error() == Some(rustix::io::Errno::ADDRNOTAVAIL.raw_os_error()) =>
        {
            Some(false)
        }
        Err(_) => None,
    }
}

/// The live sockets on the candidates' ports, every state, with owners and
/// options: the bind table the candidates will meet.
pub fn live_table(
    source: &dyn SocketSource,
    candidates: &[Candidate],
) -> Result<(Vec<Socket>, Vec<Warning>), Error> {
    let mut ports: Vec<PortRange> = candidates
        .iter()
        .filter(|c| c.port != 0)
        .map(|c| PortRange::single(c.port))
        .collect();
    ports.sort();
    ports.dedup();
    let mut protocols: Vec<Protocol> = candidates.iter().map(|c| c.protocol).collect();
    protocols.sort();
    protocols.dedup();
    // Request sockets are not in the bind table.
    sockets::described_table(source, protocols, ports, |s| s.state != State::SynRecv)
}
