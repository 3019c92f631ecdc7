//! SO_REUSEPORT groups: sockets on one protocol, address and port that
//! share it by SO_REUSEPORT, and what the kernel does with them.
//!
//! Linux (net/core/sock_reuseport.c, `reuseport_select_sock`): a new
//! connection, or a datagram, goes to one member chosen by a hash of the
//! client's address and port (`inet_ehashfn`/`udp_ehashfn` over both ends'
//! addresses and ports, scaled to the group's size by
//! `reciprocal_scale`), not round robin and not the newest, unless a
//! program attached a steering BPF program to the group
//! (SO_ATTACH_REUSEPORT_CBPF/EBPF, `run_bpf_filter`), which sock_diag does
//! not show. When a TCP member closes, the connections still in its accept
//! queue (and its handshakes) are reset unless `net.ipv4.tcp_migrate_req`
//! is 1 (Linux 5.14+, `reuseport_migrate_sock`), which moves them to
//! another member.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::model::{Protocol, Socket, State, endpoint};
use crate::warning::{Warning, counted};

/// One group: indexes into the socket list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    pub device: Option<String>,
    pub members: Vec<usize>,
}

/// The groups among `sockets`: two or more listening TCP sockets on one
/// address, port and device (Linux lets them share only by SO_REUSEPORT,
/// so even an unreadable option is known; so do FreeBSD's
/// `in_pcbbind_setup` and XNU's `in_pcbbind`, netinet/in_pcb.c, which
/// refuse a socket on a taken address and port unless
/// `reuseport & so_options` of the holder, SO_REUSEPORT or on FreeBSD
/// SO_REUSEPORT_LB), or two or more UDP sockets there whose SO_REUSEPORT
/// was read as set. Sorted by first member.
pub fn groups(sockets: &[Socket]) -> Vec<Group> {
    // Keyed by what makes one group, to its index in `found`: one lookup
    // per socket (a host's every listener is thousands of sockets).
    let mut by_key: HashMap<GroupKey<'_>, usize> = HashMap::new();
    let mut found: Vec<Group> = Vec::new();
    for (index, socket) in sockets.iter().enumerate() {
        let member = match socket.protocol {
            Protocol::Tcp => socket.state == State::Listen,
            Protocol::Udp => socket.remote.is_none() && socket.reuseport == Some(true),
        };
        if !member {
            continue;
        }
        let key = (
            socket.protocol,
            socket.local_address,
            socket.local_port,
            socket.interface.as_deref(),
            socket.netns.as_deref(),
        );
        if let Some(&at) = by_key.get(&key) {
            found[at].members.push(index);
        } else {
            by_key.insert(key, found.len());
            found.push(Group {
                protocol: socket.protocol,
                address: socket.local_address,
                port: socket.local_port,
                device: socket.interface.clone(),
                members: vec![index],
            });
        }
    }
    found.retain(|g| g.members.len() > 1);
    found
}

/// Protocol, address, port, device and network namespace: the sockets
/// one group can hold.
type GroupKey<'a> = (Protocol, IpAddr, u16, Option<&'a str>, Option<&'a str>);

/// `net.ipv4.tcp_migrate_req` of this network namespace: `None` where it
/// cannot be read (before Linux 5.14 it does not exist).
pub fn tcp_migrate_req() -> Option<bool> {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req")
        .ok()
        .and_then(|text| match text.trim() {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        })
}

/// How the OS `os` spreads new connections over a group.
pub fn spread(os: &str, protocol: Protocol) -> &'static str {
    match (os, protocol) {
        ("linux", Protocol::Tcp) => {
            "Linux gives each new connection to one member by a hash of the client's address and port (not round robin, not the newest), unless a program attached a steering BPF program to the group, which the socket table does not show: it depends on that"
        }
        ("linux", Protocol::Udp) => {
            "Linux gives each datagram to one member by a hash of the client's address and port (one client stays with one member; not round robin, not the newest), unless a program attached a steering BPF program to the group, which the socket table does not show: it depends on that"
        }
        // XNU bsd/netinet/in_pcb.c (xnu-7195.121.3), in_pcblookup_hash:
        // an exact-address match returns the first socket of the hash
        // chain, and in_pcbinshash puts each new socket at its head
        // (LIST_INSERT_HEAD); a wildcard match keeps the last one met
        // (`local_wild = inp` for every match), the earliest bound. No
        // hash over a group anywhere.
        ("macos" | "ios", _) => {
            "on macOS plain SO_REUSEPORT does not balance: in_pcblookup_hash (XNU bsd/netinet/in_pcb.c) returns one socket by the hash chain's order, for a specific address the most recently bound and for a wildcard the earliest bound still there, so one member gets every new connection"
        }
        // FreeBSD sys/netinet/in_pcb.c: in_pcblookup_hash_wild_smr returns
        // the first match of the wildcard chain, where _in_pcbinshash_wild
        // puts a new socket ahead of the older ones of its kind; only a
        // SO_REUSEPORT_LB group is spread, by in_pcblookup_lbgroup's
        // INP_PCBLBGROUP_PKTHASH of the client's address and ports.
        ("freebsd", _) => {
            "on FreeBSD plain SO_REUSEPORT does not balance: the lookup (sys/netinet/in_pcb.c, in_pcblookup_hash_wild_smr) returns the first match, the most recently bound socket; only sockets that set SO_REUSEPORT_LB are spread, by a hash of the client's address and port (in_pcblookup_lbgroup)"
        }
        _ => "how this OS spreads connections over the group is not known to portcheck",
    }
}

/// The `reuseport_group` warning for `group`: its size, owners, uids, how
/// new connections are spread, and for TCP on Linux what
/// `net.ipv4.tcp_migrate_req` (`migrate`, `None` unreadable or another
/// namespace's) does to queued connections when a member closes.
pub fn warning(group: &Group, sockets: &[Socket], os: &str, migrate: Option<bool>) -> Warning {
    let members: Vec<&Socket> = group
        .members
        .iter()
        .filter_map(|&i| sockets.get(i))
        .collect();
    let mut owners: Vec<String> = members
        .iter()
        .map(|s| crate::bind::explain::holder_name(s))
        .collect();
    owners.dedup();
    let mut uids: Vec<String> = members
        .iter()
        .map(|s| s.uid.map_or("unknown".to_owned(), |u| u.to_string()))
        .collect();
    uids.sort();
    uids.dedup();
    let place = endpoint(group.address, group.port, group.device.as_deref());
    let mut message = format!(
        "{} {place} is a SO_REUSEPORT group of {}: {}; uid {}. {}",
        group.protocol.name(),
        counted(members.len(), "socket", "sockets"),
        owners.join(", "),
        uids.join(", "),
        spread(os, group.protocol)
    );
    if group.protocol == Protocol::Tcp && os == "linux" {
        message.push_str(match migrate {
            Some(true) => {
                ". net.ipv4.tcp_migrate_req=1: when a member closes, the connections queued on it move to another member"
            }
            Some(false) => {
                ". net.ipv4.tcp_migrate_req=0: when a member closes (the group shrinks, as in a restart), the connections still queued on it are reset; set net.ipv4.tcp_migrate_req=1 (Linux 5.14+) to move them to another member"
            }
            None => {
                ". net.ipv4.tcp_migrate_req could not be read (it exists from Linux 5.14): without it, the connections still queued on a member that closes are reset"
            }
        });
    }
    Warning::note("reuseport_group", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(protocol: Protocol, address: &str, state: State, reuseport: Option<bool>) -> Socket {
        let mut s = Socket::bare(protocol, address.parse().expect("addr"), 8000, state);
        s.reuseport = reuseport;
        s.uid = Some(0);
        s
    }

    #[test]
    fn groups_are_shared_addresses() {
        let table = [
            socket(Protocol::Tcp, "0.0.0.0", State::Listen, None),
            socket(Protocol::Tcp, "0.0.0.0", State::Listen, Some(true)),
            socket(Protocol::Tcp, "127.0.0.1", State::Listen, Some(true)),
            socket(Protocol::Tcp, "0.0.0.0", State::Established, Some(true)),
            socket(Protocol::Udp, "0.0.0.0", State::Unconn, Some(true)),
            socket(Protocol::Udp, "0.0.0.0", State::Unconn, Some(true)),
            socket(Protocol::Udp, "::", State::Unconn, Some(false)),
            socket(Protocol::Udp, "::", State::Unconn, Some(false)),
        ];
        let found = groups(&table);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            found[0].members,
            [0, 1],
            "two TCP listeners share only by SO_REUSEPORT"
        );
        assert_eq!(found[1].members, [4, 5]);
        assert_eq!(found[1].protocol, Protocol::Udp);
    }

    #[test]
    fn the_warning_names_the_sysctl_and_what_to_set() {
        let table = [
            socket(Protocol::Tcp, "0.0.0.0", State::Listen, Some(true)),
            socket(Protocol::Tcp, "0.0.0.0", State::Listen, Some(true)),
        ];
        let group = &groups(&table)[0];
        let off = warning(group, &table, "linux", Some(false)).message;
        assert!(off.contains("group of 2 sockets"), "{off}");
        assert!(
            off.contains("hash of the client's address and port"),
            "{off}"
        );
        assert!(off.contains("net.ipv4.tcp_migrate_req=0"), "{off}");
        assert!(off.contains("set net.ipv4.tcp_migrate_req=1"), "{off}");
        let on = warning(group, &table, "linux", Some(true)).message;
        assert!(
            on.contains("net.ipv4.tcp_migrate_req=1: when a member closes"),
            "{on}"
        );
        let mac = warning(group, &table, "macos", None).message;
        assert!(
            mac.contains("does not balance") && !mac.contains("tcp_migrate_req"),
            "{mac}"
        );
    }
}
