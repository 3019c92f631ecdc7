//! macOS, Windows (and Linux behind the `netstat2` feature): the socket
//! table from the netstat2 crate.
//!
//! netstat2 reports protocol, addresses, TCP state and owning pids, and
//! nothing else: no IPV6_V6ONLY, no UDP state or peer, no bound device, no
//! socket options. Those stay `None` here and the run says so once
//! ([`Netstat2Source::warnings`]); nothing is filled in by a guess. On
//! Linux its sock_diag request also lacks `TCP_BOUND_INACTIVE`, so TCP
//! sockets that are bound but do not listen are never listed (kernel 6.5
//! and later dump them only on request), and its dump ends quietly, not
//! with an error, when the kernel answers with one; both are why the
//! source's documents are never `complete` on Linux.
//!
//! On macOS netstat2 walks every descriptor of every process it may
//! inspect: an entry is one (process, descriptor), so a socket shared by
//! two processes is listed once for each, TIME_WAIT entries (which no
//! process holds) are never listed, and without root other users'
//! processes are passed over. An entry that cannot be read is skipped and
//! counted rather than failing the whole table.
//!
//! The conversion from netstat2's entries to [`Socket`] is pure and
//! compiled on every OS, so it is unit-tested on Linux; only the call into
//! the OS and the owners' names differ per OS.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use netstat2::{
    AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, SocketInfo, TcpState as NsTcpState,
};

use super::{DumpRequest, SocketSource};
use crate::error::Error;
use crate::model::{Family, OwnerGap, Process, Protocol, Socket, State};
use crate::warning::Warning;

/// The fields of the contract's socket object this source leaves `null`
/// on this OS (the names as JSON spells them).
#[cfg(target_os = "linux")]
pub const UNAVAILABLE: &[&str] = &["v6only", "interface", "udp state and peer"];
/// Off Linux, SO_REUSEADDR/SO_REUSEPORT cannot be read from another
/// process either, and there are no network namespaces to name.
#[cfg(not(target_os = "linux"))]
pub const UNAVAILABLE: &[&str] = &[
    "v6only",
    "reuseaddr",
    "reuseport",
    "interface",
    "netns",
    "uid",
    "inode",
    "udp state and peer",
];

#[derive(Default)]
pub struct Netstat2Source {
    /// Whether a dump was made: the gap warnings belong to runs that read
    /// sockets.
    used: AtomicBool,
    /// Entries netstat2 could not read (a descriptor closed while it
    /// looked): sockets that may exist but are not listed.
    unreadable: AtomicUsize,
}

impl SocketSource for Netstat2Source {
    fn name(&self) -> &'static str {
        "netstat2"
    }

    fn dump(&self, request: &DumpRequest) -> Result<Vec<Socket>, Error> {
        self.used.store(true, Ordering::Relaxed);
        let (entries, unreadable) = read(
            family_flags(&request.families),
            protocol_flags(&request.protocols),
        )?;
        self.unreadable.fetch_add(unreadable, Ordering::Relaxed);
        Ok(entries
            .into_iter()
            .map(|entry| to_socket(&entry))
            .filter(|s| {
                request.ports.is_empty() || request.ports.iter().any(|r| r.contains(s.local_port))
            })
            .collect())
    }

    fn lists_bound_only_tcp(&self) -> bool {
        // macOS reads every descriptor of every process it may inspect;
        // Linux's request and Windows' tables leave bound-only TCP out.
        std::env::consts::OS == "macos"
    }

    fn warnings(&self) -> Vec<Warning> {
        if self.used.load(Ordering::Relaxed) {
            gap_warnings(
                std::env::consts::OS,
                is_superuser(),
                self.unreadable.load(Ordering::Relaxed),
            )
        } else {
            Vec::new()
        }
    }
}

/// What this source could not supply, for an OS: `field_unavailable` names
/// the fields that are `null` (a note: they are unknown, but no socket or
/// owner that exists was left out, so `complete` keeps its meaning), and
/// the sockets it cannot list at all are a gap that makes `complete` false.
pub fn gap_warnings(os: &str, superuser: bool, unreadable: usize) -> Vec<Warning> {
    let mut warnings = vec![Warning::note(
        "field_unavailable",
        format!(
            "the netstat2 socket source cannot supply {}: they are null (? in the table), not defaults",
            UNAVAILABLE.join(", ")
        ),
    )];
    match os {
        "linux" => warnings.push(Warning::gap(
            "sockets_unlisted",
            "the netstat2 source does not ask the kernel for TCP sockets that are bound but not listening (TCP_BOUND_INACTIVE), so those are not listed; the netlink source lists them",
        )),
        "windows" => warnings.push(Warning::gap(
            "sockets_unlisted",
            "Windows' TCP tables leave out sockets that are bound but not listening, so those are not listed",
        )),
        "macos" => warnings.push(Warning::gap(
            "sockets_unlisted",
            if superuser {
                "macOS lists sockets per process, so TIME_WAIT entries (held by no process) are not listed"
            } else {
                "macOS lists sockets per process and only for processes this user may inspect, so TIME_WAIT entries and other users' sockets are not listed: run as root to see the latter"
            },
        )),
        _ => {}
    }
    if unreadable > 0 {
        warnings.push(Warning::gap(
            "sockets_unlisted",
            format!(
                "netstat2 could not read {}, which may be sockets; they are not listed",
                crate::warning::counted(unreadable, "table entry", "table entries")
            ),
        ));
    }
    warnings
}

#[cfg(unix)]
fn is_superuser() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(not(unix))]
fn is_superuser() -> bool {
    false
}

fn family_flags(families: &[Family]) -> AddressFamilyFlags {
    families
        .iter()
        .fold(AddressFamilyFlags::empty(), |flags, family| {
            flags
                | match family {
                    Family::Ipv4 => AddressFamilyFlags::IPV4,
                    Family::Ipv6 => AddressFamilyFlags::IPV6,
                }
        })
}

fn protocol_flags(protocols: &[Protocol]) -> ProtocolFlags {
    protocols
        .iter()
        .fold(ProtocolFlags::empty(), |flags, protocol| {
            flags
                | match protocol {
                    Protocol::Tcp => ProtocolFlags::TCP,
                    Protocol::Udp => ProtocolFlags::UDP,
                }
        })
}

fn failed(error: &netstat2::error::Error) -> Error {
    Error::Unsupported(format!("netstat2 could not read the socket table: {error}"))
}

/// On Linux without netstat2's pids: owners come from portcheck's own
/// /proc reader (by inode), as for the netlink source, and netstat2's pass
/// over /proc would only be a second, slower one.
/// (An error in the dump is an error here, as in the netlink source.)
#[cfg(target_os = "linux")]
fn read(
    families: AddressFamilyFlags,
    protocols: ProtocolFlags,
) -> Result<(Vec<Entry>, usize), Error> {
    netstat2::iterate_sockets_info_without_pids(families, protocols)
        .map_err(|e| failed(&e))?
        .map(|info| info.map(|info| Entry::from_info(&info, Some(info.inode), Some(info.uid))))
        .collect::<Result<_, _>>()
        .map(|entries| (entries, 0))
        .map_err(|e| failed(&e))
}

/// The entries read, and how many could not be: on macOS one descriptor
/// closing during the walk must not fail the whole table
/// (`get_sockets_info` would stop at it).
#[cfg(not(target_os = "linux"))]
fn read(
    families: AddressFamilyFlags,
    protocols: ProtocolFlags,
) -> Result<(Vec<Entry>, usize), Error> {
    let mut entries = Vec::new();
    let mut unreadable = 0;
    for info in netstat2::iterate_sockets_info(families, protocols).map_err(|e| failed(&e))? {
        match info {
            Ok(info) => entries.push(Entry::from_info(&info, None, None)),
            Err(_) => unreadable += 1,
        }
    }
    Ok((entries, unreadable))
}

/// One netstat2 entry in plain data: what [`to_socket`] converts.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub protocol: Protocol,
    pub local: (IpAddr, u16),
    /// TCP only: netstat2 keeps no UDP peer.
    pub remote: Option<(IpAddr, u16)>,
    /// TCP only: netstat2 keeps no UDP state.
    pub tcp_state: Option<NsTcpState>,
    pub pids: Vec<u32>,
    /// Linux only.
    pub inode: Option<u32>,
    pub uid: Option<u32>,
}

impl Entry {
    fn from_info(info: &SocketInfo, inode: Option<u32>, uid: Option<u32>) -> Entry {
        let (protocol, local, remote, tcp_state) = match &info.protocol_socket_info {
            ProtocolSocketInfo::Tcp(tcp) => (
                Protocol::Tcp,
                (tcp.local_addr, tcp.local_port),
                Some((tcp.remote_addr, tcp.remote_port)),
                Some(tcp.state),
            ),
            ProtocolSocketInfo::Udp(udp) => {
                (Protocol::Udp, (udp.local_addr, udp.local_port), None, None)
            }
        };
        Entry {
            protocol,
            local,
            remote,
            tcp_state,
            pids: info.associated_pids.clone(),
            inode,
            uid,
        }
    }
}

/// netstat2's TCP states in `ss`'s names. A UDP entry's state is not
/// reported, so it is `UNKNOWN` rather than a guessed `UNCONN`.
pub fn state(tcp_state: Option<NsTcpState>) -> State {
    match tcp_state {
        // A TCP socket bound but not listening is CLOSED in every OS's table.
        Some(NsTcpState::Closed) => State::Unconn,
        Some(NsTcpState::Listen) => State::Listen,
        Some(NsTcpState::SynSent) => State::SynSent,
        Some(NsTcpState::SynReceived) => State::SynRecv,
        Some(NsTcpState::Established) => State::Established,
        Some(NsTcpState::FinWait1) => State::FinWait1,
        Some(NsTcpState::FinWait2) => State::FinWait2,
        Some(NsTcpState::CloseWait) => State::CloseWait,
        Some(NsTcpState::Closing) => State::Closing,
        Some(NsTcpState::LastAck) => State::LastAck,
        Some(NsTcpState::TimeWait) => State::TimeWait,
        // Windows' DELETE_TCB, Linux's request sockets (12) and anything new.
        Some(NsTcpState::DeleteTcb | NsTcpState::Unknown) | None => State::Unknown,
    }
}

/// One entry as a socket without owner details: owners are pids only
/// (off Linux) or found by inode later (Linux), and every fact netstat2
/// lacks is `None`.
pub fn to_socket(entry: &Entry) -> Socket {
    let (address, port) = entry.local;
    let state = state(entry.tcp_state);
    let mut socket = Socket::bare(entry.protocol, address, port, state);
    socket.remote = entry
        .remote
        .filter(|&(address, port)| port != 0 || !address.is_unspecified());
    socket.interface_known = false;
    // As in the netlink source: inode 0 is a kernel-owned entry (TIME_WAIT,
    // a request socket), whose uid 0 is not root's.
    let owned = entry.pids.iter().any(|&pid| pid != 0);
    let kernel_owned = entry.inode == Some(0) || state == State::TimeWait && !owned;
    socket.inode = entry.inode.filter(|&inode| inode != 0).map(u64::from);
    socket.uid = entry.uid.filter(|_| !kernel_owned);
    // Windows files TIME_WAIT entries under pid 0, the idle process.
    socket.processes = entry
        .pids
        .iter()
        .copied()
        .filter(|&pid| pid != 0)
        .map(|pid| Process {
            pid,
            name: None,
            cmdline: Vec::new().into(),
            fds: Vec::new(),
            uid: None,
            user: None,
            container: None,
        })
        .collect();
    socket.processes.sort_by_key(|p| p.pid);
    socket.processes.dedup_by_key(|p| p.pid);
    if entry.inode.is_none() && socket.processes.is_empty() {
        socket.owner_gap = Some(if kernel_owned {
            OwnerGap::KernelOwned
        } else {
            OwnerGap::NotVisible
        });
    }
    socket
}

/// Off Linux: the owners' names, command lines and users from sysinfo, for
/// the pids netstat2 gave. A process that exited since is left with its pid.
#[cfg(not(target_os = "linux"))]
pub fn attach_owner_details(sockets: &mut [Socket]) {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users};

    use crate::text::Text;

    let mut pids: Vec<Pid> = sockets
        .iter()
        .flat_map(|s| s.processes.iter().map(|p| Pid::from_u32(p.pid)))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    if pids.is_empty() {
        return;
    }
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&pids),
        true,
        ProcessRefreshKind::nothing()
            .with_cmd(UpdateKind::Always)
            .with_user(UpdateKind::Always),
    );
    let users = Users::new_with_refreshed_list();
    for process in sockets.iter_mut().flat_map(|s| s.processes.iter_mut()) {
        let Some(found) = system.process(Pid::from_u32(process.pid)) else {
            continue;
        };
        // The exact bytes (raw on Unix, WTF-8 on Windows), as the /proc
        // reader keeps them: escaped in tables, base64 in JSON when not UTF-8.
        process.name = Some(Text::from_bytes(found.name().as_encoded_bytes()));
        process.cmdline = found
            .cmd()
            .iter()
            .map(|arg| Text::from_bytes(arg.as_encoded_bytes()))
            .collect::<Vec<_>>()
            .into();
        process.user = found
            .user_id()
            .and_then(|uid| users.get_user_by_id(uid))
            .map(|user| user.name().to_owned());
        // A Windows user id is a SID, not a number.
        #[cfg(unix)]
        {
            process.uid = found.user_id().map(|uid| **uid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(protocol: Protocol, local: &str, state: Option<NsTcpState>) -> Entry {
        let local: std::net::SocketAddr = local.parse().expect("test address");
        Entry {
            protocol,
            local: (local.ip(), local.port()),
            remote: state.map(|_| ("0.0.0.0".parse().expect("addr"), 0)),
            tcp_state: state,
            pids: vec![42],
            inode: None,
            uid: None,
        }
    }

    #[test]
    fn a_listener_keeps_what_netstat2_gives_and_nothing_more() {
        let socket = to_socket(&entry(Protocol::Tcp, "[::]:8000", Some(NsTcpState::Listen)));
        assert_eq!(socket.family, Family::Ipv6);
        assert_eq!(socket.state, State::Listen);
        assert_eq!(socket.remote, None);
        assert_eq!(socket.v6only, None);
        assert_eq!(socket.accepts_ipv4(), None);
        assert_eq!((socket.reuseaddr, socket.reuseport), (None, None));
        assert!(!socket.interface_known);
        assert_eq!(socket.processes.len(), 1);
        assert_eq!(socket.processes[0].pid, 42);
        assert_eq!(socket.owner_gap, None);
    }

    #[test]
    fn udp_state_is_unknown_not_guessed() {
        let socket = to_socket(&entry(Protocol::Udp, "127.0.0.1:53", None));
        assert_eq!(socket.state, State::Unknown);
        assert_eq!(socket.remote, None);
        assert!(socket.holds_port_for_binding());
    }

    #[test]
    fn connections_keep_their_peer() {
        let mut e = entry(
            Protocol::Tcp,
            "127.0.0.1:40000",
            Some(NsTcpState::Established),
        );
        e.remote = Some(("127.0.0.1".parse().expect("addr"), 8000));
        let socket = to_socket(&e);
        assert_eq!(
            socket.remote,
            Some(("127.0.0.1".parse().expect("addr"), 8000))
        );
    }

    #[test]
    fn kernel_owned_entries_have_no_owner_or_uid() {
        // Windows: TIME_WAIT under pid 0.
        let mut e = entry(Protocol::Tcp, "127.0.0.1:8000", Some(NsTcpState::TimeWait));
        e.pids = vec![0];
        let socket = to_socket(&e);
        assert!(socket.processes.is_empty());
        assert_eq!(socket.owner_gap, Some(OwnerGap::KernelOwned));
        // Linux: inode 0 and uid 0 mean "the kernel's", not root's.
        let mut e = entry(Protocol::Tcp, "127.0.0.1:8000", Some(NsTcpState::TimeWait));
        (e.pids, e.inode, e.uid) = (Vec::new(), Some(0), Some(0));
        let socket = to_socket(&e);
        assert_eq!((socket.inode, socket.uid), (None, None));
        // Linux: owners are found later by inode, so no gap is set here.
        let mut e = entry(Protocol::Tcp, "127.0.0.1:8000", Some(NsTcpState::Listen));
        (e.pids, e.inode, e.uid) = (Vec::new(), Some(77), Some(1000));
        let socket = to_socket(&e);
        assert_eq!((socket.inode, socket.uid), (Some(77), Some(1000)));
        assert_eq!(socket.owner_gap, None);
    }

    #[test]
    fn every_tcp_state_maps_to_a_contract_name() {
        use NsTcpState as T;
        let cases = [
            (T::Closed, "UNCONN"),
            (T::Listen, "LISTEN"),
            (T::SynSent, "SYN_SENT"),
            (T::SynReceived, "SYN_RECV"),
            (T::Established, "ESTABLISHED"),
            (T::FinWait1, "FIN_WAIT1"),
            (T::FinWait2, "FIN_WAIT2"),
            (T::CloseWait, "CLOSE_WAIT"),
            (T::Closing, "CLOSING"),
            (T::LastAck, "LAST_ACK"),
            (T::TimeWait, "TIME_WAIT"),
            (T::DeleteTcb, "UNKNOWN"),
            (T::Unknown, "UNKNOWN"),
        ];
        for (netstat2, ours) in cases {
            assert_eq!(state(Some(netstat2)).name(), ours, "{netstat2:?}");
        }
    }

    #[test]
    fn gaps_are_named_once_and_only_unlisted_sockets_make_a_report_incomplete() {
        let warnings = gap_warnings("linux", true, 0);
        let field = warnings
            .iter()
            .find(|w| w.code == "field_unavailable")
            .expect("field_unavailable");
        assert!(!field.incomplete);
        assert!(field.message.contains("v6only"));
        assert!(
            warnings
                .iter()
                .any(|w| w.code == "sockets_unlisted" && w.incomplete)
        );
        let freebsd = gap_warnings("freebsd", true, 0);
        assert_eq!(freebsd.len(), 1);
        assert!(crate::warning::complete(&freebsd));
        // macOS never lists TIME_WAIT; without root, others' sockets either.
        let root = gap_warnings("macos", true, 0);
        let user = gap_warnings("macos", false, 0);
        assert!(!crate::warning::complete(&root));
        assert!(user[1].message.contains("run as root"));
        assert!(!root[1].message.contains("run as root"));
        // Entries that could not be read are counted, never dropped quietly.
        let skipped = gap_warnings("windows", true, 3);
        assert!(
            skipped
                .iter()
                .any(|w| w.message.contains("3 table entries"))
        );
    }

    #[test]
    fn flags_follow_the_request() {
        assert_eq!(family_flags(&Family::ALL), AddressFamilyFlags::all());
        assert_eq!(protocol_flags(&[Protocol::Udp]), ProtocolFlags::UDP);
        assert_eq!(protocol_flags(&[]), ProtocolFlags::empty());
    }
}
