//! Plain data about sockets and the processes that hold them.
//!
//! These are the engine's types: they carry `IpAddr`s and enums, not the
//! strings of the JSON contract (that shape lives in `report::json`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use crate::sockets::containers::Container;
use crate::text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    pub fn of(address: IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// Socket states with the names `ss` prints.
///
/// The kernel reports TCP states for UDP too: an unconnected UDP socket is
/// `TCP_CLOSE` and a connected one `TCP_ESTABLISHED`, which `ss` (and we)
/// print as `UNCONN` and `ESTAB`/`ESTABLISHED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Listen,
    Unconn,
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    CloseWait,
    LastAck,
    Closing,
    Unknown,
}

impl State {
    /// Maps the kernel's `enum tcp_state` value.
    pub fn from_kernel(value: u8) -> State {
        match value {
            1 => State::Established,
            2 => State::SynSent,
            3 | 12 => State::SynRecv, // 12: TCP_NEW_SYN_RECV, a request socket
            4 => State::FinWait1,
            5 => State::FinWait2,
            6 => State::TimeWait,
            // 7: TCP_CLOSE; 13: TCP_BOUND_INACTIVE, a bound TCP socket not
            // yet listening as newer kernels report it.
            7 | 13 => State::Unconn,
            8 => State::CloseWait,
            9 => State::LastAck,
            10 => State::Listen,
            11 => State::Closing,
            _ => State::Unknown,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Listen => "LISTEN",
            State::Unconn => "UNCONN",
            State::Established => "ESTABLISHED",
            State::SynSent => "SYN_SENT",
            State::SynRecv => "SYN_RECV",
            State::FinWait1 => "FIN_WAIT1",
            State::FinWait2 => "FIN_WAIT2",
            State::TimeWait => "TIME_WAIT",
            State::CloseWait => "CLOSE_WAIT",
            State::LastAck => "LAST_ACK",
            State::Closing => "CLOSING",
            State::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a socket lists no owning process. A socket is never dropped for
/// lacking an owner: this says what could not be seen instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnerGap {
    /// TIME_WAIT and request sockets belong to the kernel (inode 0).
    KernelOwned,
    /// Some processes' descriptors could not be read (other users); the
    /// owner may be one of them.
    Unreadable,
    /// Every readable process was searched: the owner lives outside our
    /// view (another PID namespace) or the socket is held by the kernel.
    NotVisible,
    /// There is no /proc to search (missing, or not the proc file system):
    /// `owner_unreadable` in JSON, but root would not see more.
    NoProc,
}

impl OwnerGap {
    pub fn code(self) -> &'static str {
        match self {
            OwnerGap::KernelOwned => "kernel_owned",
            OwnerGap::Unreadable | OwnerGap::NoProc => "owner_unreadable",
            OwnerGap::NotVisible => "owner_not_visible",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// The name (comm) and command line exactly as the process set them:
    /// any bytes, UTF-8 or not, escape sequences included (`crate::text`).
    pub name: Option<Text>,
    /// Shared: a process holding many sockets lists its command line once
    /// in memory.
    pub cmdline: std::sync::Arc<[Text]>,
    /// Every descriptor of this process that refers to the socket, sorted.
    pub fds: Vec<u32>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// The container the process runs in, from its cgroup.
    pub container: Option<Container>,
}

impl Process {
    /// The name as prose and tables show it, escaped: a process chooses
    /// its own name. (comm is at most 15 bytes; other sources may give
    /// longer names.)
    pub fn shown_name(&self) -> Option<String> {
        self.name.as_ref().map(|name| name.escaped(64))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub protocol: Protocol,
    pub family: Family,
    pub local_address: IpAddr,
    pub local_port: u16,
    /// `None` unless connected.
    pub remote: Option<(IpAddr, u16)>,
    pub state: State,
    /// IPV6_V6ONLY; `None` for IPv4 and where the kernel does not report it.
    pub v6only: Option<bool>,
    /// SO_BINDTODEVICE index; 0 when unbound.
    pub interface_index: u32,
    pub interface: Option<String>,
    /// False when the source cannot say whether a device is bound
    /// (netstat2): `interface` is then `None` without meaning "unbound".
    pub interface_known: bool,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// `None` for kernel-owned entries (TIME_WAIT, request sockets).
    pub inode: Option<u64>,
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub netns: Option<String>,
    /// The `ip netns` name of `netns`, when it has one.
    pub netns_name: Option<String>,
    /// Where a known forwarder (docker-proxy) sends this port's traffic.
    pub forwards_to: Option<String>,
    /// A known protocol demultiplexer (sslh) owning the socket, by name.
    pub demultiplexer: Option<&'static str>,
    /// Where it sends each protocol, from its command line: (protocol,
    /// target as written).
    pub forwards_by_protocol: Vec<(String, String)>,
    /// The receive queue; for a listener, the connections waiting for
    /// accept().
    pub recv_queue: u32,
    pub processes: Vec<Process>,
    /// Set when `processes` is empty, saying why.
    pub owner_gap: Option<OwnerGap>,
}

impl Socket {
    /// A new socket as a socket table reports it, before owners and options
    /// are filled in.
    pub fn bare(
        protocol: Protocol,
        local_address: IpAddr,
        local_port: u16,
        state: State,
    ) -> Socket {
        Socket {
            protocol,
            family: Family::of(local_address),
            local_address,
            local_port,
            remote: None,
            state,
            v6only: None,
            interface_index: 0,
            interface: None,
            interface_known: true,
            uid: None,
            user: None,
            inode: None,
            reuseaddr: None,
            reuseport: None,
            netns: None,
            netns_name: None,
            forwards_to: None,
            demultiplexer: None,
            forwards_by_protocol: Vec::new(),
            recv_queue: 0,
            processes: Vec::new(),
            owner_gap: None,
        }
    }

    /// The device as people read it after the address (`%eth0`): `?` when
    /// the source cannot say whether one is bound.
    pub fn device_shown(&self) -> Option<&str> {
        if self.interface_known {
            self.interface.as_deref()
        } else {
            Some("?")
        }
    }

    /// The IPv4 address this socket is bound to when it is an IPv4-mapped
    /// IPv6 address (`::ffff:127.0.0.1`), which the kernel treats as an
    /// IPv4 bind.
    pub fn mapped_ipv4(&self) -> Option<Ipv4Addr> {
        match self.local_address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped(),
            IpAddr::V4(_) => None,
        }
    }

    /// Whether the socket takes IPv4 traffic: an IPv4 socket, an IPv4-mapped
    /// bind, or the IPv6 wildcard without IPV6_V6ONLY. `None` when that
    /// depends on a flag the kernel did not report.
    pub fn accepts_ipv4(&self) -> Option<bool> {
        match self.local_address {
            IpAddr::V4(_) => Some(true),
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => Some(true),
            // A specific IPv6 address is implicitly v6-only in the kernel.
            IpAddr::V6(v6) if v6 != Ipv6Addr::UNSPECIFIED => Some(false),
            IpAddr::V6(_) => self.v6only.map(|only| !only),
        }
    }

    /// Whether the socket is a dual-stack IPv6 wildcard (`[::]` without
    /// IPV6_V6ONLY).
    pub fn is_dual_stack_wildcard(&self) -> bool {
        self.local_address == IpAddr::V6(Ipv6Addr::UNSPECIFIED) && self.v6only == Some(false)
    }

    /// Sockets that hold the port for binding: a listener, a bound but idle
    /// TCP socket, and every UDP socket.
    pub fn holds_port_for_binding(&self) -> bool {
        self.protocol == Protocol::Udp || matches!(self.state, State::Listen | State::Unconn)
    }

    /// Whether this socket's bound address covers `address`: the exact
    /// address, the wildcard of its family, or, for IPv4, a dual-stack
    /// `[::]` and the IPv4-mapped form. These are the sockets a bind to
    /// `address` would meet.
    pub fn covers(&self, address: IpAddr) -> bool {
        let wanted = canonical(address);
        let bound = canonical(self.local_address);
        if bound == wanted {
            return true;
        }
        match (bound, wanted) {
            (IpAddr::V4(b), IpAddr::V4(_)) => b.is_unspecified(),
            (IpAddr::V6(b), IpAddr::V6(_)) => b.is_unspecified(),
            (IpAddr::V6(b), IpAddr::V4(_)) => {
                b.is_unspecified() && self.accepts_ipv4() != Some(false)
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

/// Port, then protocol, family, address (mapped addresses beside the IPv4
/// address they stand for), device, state, peer, inode, namespace.
pub fn display_order(a: &Socket, b: &Socket) -> std::cmp::Ordering {
    a.local_port
        .cmp(&b.local_port)
        .then(a.protocol.cmp(&b.protocol))
        .then(a.family.cmp(&b.family))
        .then(canonical(a.local_address).cmp(&canonical(b.local_address)))
        .then(a.local_address.cmp(&b.local_address))
        .then(a.interface.cmp(&b.interface))
        .then(a.state.cmp(&b.state))
        .then(a.remote.cmp(&b.remote))
        .then(a.inode.cmp(&b.inode))
        .then(a.netns.cmp(&b.netns))
}

/// IPv4-mapped IPv6 addresses compared as the IPv4 address they stand for.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// How an address and port are written: `127.0.0.1:80`, `[::1]:80`, and
/// `%dev` after the address when bound to a device, as `ss` does.
pub fn endpoint(address: IpAddr, port: u16, interface: Option<&str>) -> String {
    // A device name may hold an escape character: the kernel forbids only
    // '/', ':' and white space, and a container's root names its own.
    let device = interface
        .map(|name| format!("%{}", crate::text::untrusted(name, 16)))
        .unwrap_or_default();
    match address {
        IpAddr::V4(v4) => format!("{v4}{device}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]{device}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(address: &str, v6only: Option<bool>) -> Socket {
        let mut s = Socket::bare(
            Protocol::Tcp,
            address.parse().expect("test address"),
            8000,
            State::Listen,
        );
        s.v6only = v6only;
        s
    }

    #[test]
    fn accepts_ipv4_follows_the_kernel() {
        assert_eq!(socket("0.0.0.0", None).accepts_ipv4(), Some(true));
        assert_eq!(socket("::", Some(false)).accepts_ipv4(), Some(true));
        assert_eq!(socket("::", Some(true)).accepts_ipv4(), Some(false));
        assert_eq!(socket("::", None).accepts_ipv4(), None);
        assert_eq!(socket("::1", Some(false)).accepts_ipv4(), Some(false));
        assert_eq!(
            socket("::ffff:127.0.0.1", Some(false)).accepts_ipv4(),
            Some(true)
        );
    }

    #[test]
    fn covers_matches_bind_overlap() {
        let v4: IpAddr = "127.0.0.1".parse().expect("addr");
        let v6: IpAddr = "::1".parse().expect("addr");
        assert!(socket("0.0.0.0", None).covers(v4));
        assert!(!socket("0.0.0.0", None).covers(v6));
        assert!(socket("::", Some(false)).covers(v4));
        assert!(!socket("::", Some(true)).covers(v4));
        assert!(socket("::", Some(true)).covers(v6));
        assert!(socket("::ffff:127.0.0.1", Some(false)).covers(v4));
        assert!(!socket("127.0.0.2", None).covers(v4));
        assert!(!socket("::1", Some(true)).covers(v4));
    }

    #[test]
    fn states_map_kernel_values() {
        assert_eq!(State::from_kernel(10), State::Listen);
        assert_eq!(State::from_kernel(7), State::Unconn);
        assert_eq!(State::from_kernel(12), State::SynRecv);
        assert_eq!(State::from_kernel(200), State::Unknown);
    }

    #[test]
    fn endpoints_are_written_as_ss_does() {
        let v6: IpAddr = "::".parse().expect("addr");
        assert_eq!(endpoint(v6, 80, None), "[::]:80");
        assert_eq!(
            endpoint("127.0.0.1".parse().expect("addr"), 80, Some("lo")),
            "127.0.0.1%lo:80"
        );
    }
}
