//! Which socket the kernel hands a connection (or datagram) for a local
//! destination, by its lookup rules (`__inet_lookup_listener`,
//! `inet6_lookup_listener`, `compute_score`, and the UDP equivalents):
//!
//! - sockets bound to the exact destination address are searched first,
//!   and only when none matches the wildcard ones (`0.0.0.0`, `[::]`);
//! - for an IPv4 destination an IPv4 socket scores above an IPv6 one (a
//!   mapped bind, or a dual-stack `[::]`), and a v6only socket never
//!   matches; an IPv6 destination never reaches an IPv4 socket;
//! - a socket bound to a device only receives from that device (local
//!   traffic arrives on `lo`), and scores above an unbound one;
//! - sockets tied at the best score form a reuseport group: the kernel
//!   picks one per connection by hash.
//!
//! - who among tied sockets gets it ([`delivery`]): a TCP tie is a
//!   reuseport group (hash); a UDP tie goes to the first socket of the
//!   lookup chain, which is the most recently bound one unless that socket
//!   is in a reuseport group (then the group's hash picks).
//!
//! Pure: the destination and the socket table in, indexes out.

use std::net::IpAddr;

use crate::model::{Protocol, Socket, State, canonical};

/// The device local traffic arrives on.
const LOOPBACK_DEVICE: &str = "lo";

/// Indexes into `sockets` of the socket(s) that would receive a
/// connection to `destination`:`port` from this host; empty when refused.
pub fn receivers(
    destination: IpAddr,
    port: u16,
    protocol: Protocol,
    sockets: &[Socket],
) -> Vec<usize> {
    let destination = canonical(destination);
    let eligible = |s: &Socket| {
        s.protocol == protocol
            && s.local_port == port
            && match protocol {
                Protocol::Tcp => s.state == State::Listen,
                // A connected UDP socket only takes datagrams from its peer.
                Protocol::Udp => s.remote.is_none(),
            }
            && s.interface
                .as_deref()
                .is_none_or(|device| device == LOOPBACK_DEVICE)
    };
    let exact: Vec<(usize, u32)> = sockets
        .iter()
        .enumerate()
        .filter(|(_, s)| eligible(s) && bound_exactly_to(s, destination))
        .map(|(i, s)| (i, score(s, destination)))
        .collect();
    let pool = if exact.is_empty() {
        sockets
            .iter()
            .enumerate()
            .filter(|(_, s)| eligible(s) && wildcard_for(s, destination))
            .map(|(i, s)| (i, score(s, destination)))
            .collect()
    } else {
        exact
    };
    let Some(best) = pool.iter().map(|(_, score)| *score).max() else {
        return Vec::new();
    };
    pool.into_iter()
        .filter(|(_, s)| *s == best)
        .map(|(i, _)| i)
        .collect()
}

/// How the kernel picks among the sockets that tie for a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// One socket takes it.
    Single,
    /// A reuseport group: one member per connection (per datagram flow),
    /// chosen by a hash of the client's address and port.
    Hash,
    /// Several UDP sockets share the address by SO_REUSEADDR without
    /// SO_REUSEPORT: every unicast datagram goes to the most recently bound.
    Newest,
}

impl Delivery {
    pub fn name(self) -> &'static str {
        match self {
            Delivery::Single => "single",
            Delivery::Hash => "hash",
            Delivery::Newest => "newest",
        }
    }
}

/// Which of the `tied` sockets (from [`receivers`]) really receive, and how
/// the kernel picks: `None` when it cannot be told (a UDP tie whose bind
/// order or SO_REUSEPORT could not be read).
///
/// `chain_rank[i]` is socket i's place in the kernel's dump (sock_diag
/// walks a port's hash chain, `sk_for_each(sk, &hslot->head)` in
/// net/ipv4/udp_diag.c), `None` where unknown. UDP lookup
/// (`udp4_lib_lookup2`/`udp6_lib_lookup2`, net/ipv4/udp.c and
/// net/ipv6/udp.c) walks the (address, port) chain and keeps a socket only
/// when its score is strictly higher (`if (score > badness)`), so among
/// equal scores the first in the chain wins; `udp_lib_get_port` adds each
/// socket at the head of both chains (`sk_add_node_rcu`,
/// `hlist_add_head_rcu`) except an IPv6 SO_REUSEPORT one, which goes to the
/// tail of the (address, port) chain (`hlist_add_tail_rcu`). So the dump
/// lists a port's sockets newest first, and the lookup meets the newest
/// first but IPv6 reuseport members last. When the first is in a reuseport
/// group, `inet_lookup_reuseport` picks a member by `udp_ehashfn` (client
/// address and port) instead. `compute_score` also adds 1 for a socket
/// whose `sk_incoming_cpu` is the current CPU; an older socket that had
/// received datagrams on both CPUs of this machine still lost every later
/// datagram to a newer one when measured (tests/cli/stories.rs), so the
/// bonus is not modelled.
pub fn delivery(
    protocol: Protocol,
    sockets: &[Socket],
    tied: Vec<usize>,
    chain_rank: &[Option<usize>],
) -> (Vec<usize>, Option<Delivery>) {
    match (tied.len(), protocol) {
        (0, _) => (tied, None),
        (1, _) => (tied, Some(Delivery::Single)),
        // Two TCP listeners can only share an address as a reuseport group.
        (_, Protocol::Tcp) => (tied, Some(Delivery::Hash)),
        (_, Protocol::Udp) => {
            let chain_key = |i: usize| -> Option<(bool, isize)> {
                let rank = isize::try_from(chain_rank.get(i).copied().flatten()?).ok()?;
                let socket = sockets.get(i)?;
                let at_tail = socket.local_address.is_ipv6() && socket.reuseport == Some(true);
                // The tail holds them oldest first: the dump's reverse.
                Some((at_tail, if at_tail { -rank } else { rank }))
            };
            let keys: Option<Vec<(bool, isize)>> = tied.iter().map(|&i| chain_key(i)).collect();
            let Some(keys) = keys else {
                return (tied, None);
            };
            // The tied sockets in the order the lookup meets them.
            let mut ordered: Vec<(usize, (bool, isize))> = tied.into_iter().zip(keys).collect();
            ordered.sort_by_key(|(_, key)| *key);
            let ordered: Vec<usize> = ordered.into_iter().map(|(i, _)| i).collect();
            let Some(&first) = ordered.first() else {
                return (ordered, None);
            };
            match sockets.get(first).and_then(|s| s.reuseport) {
                Some(true) => {
                    let group: Vec<usize> = ordered
                        .iter()
                        .copied()
                        .filter(|&i| sockets.get(i).and_then(|s| s.reuseport) == Some(true))
                        .collect();
                    let how = if group.len() > 1 {
                        Delivery::Hash
                    } else {
                        Delivery::Single
                    };
                    (group, Some(how))
                }
                Some(false) => (vec![first], Some(Delivery::Newest)),
                // The newest first: it receives unless it is in a group.
                None => (ordered, None),
            }
        }
    }
}

fn bound_exactly_to(socket: &Socket, destination: IpAddr) -> bool {
    let bound = canonical(socket.local_address);
    bound == destination && !bound.is_unspecified()
}

fn wildcard_for(socket: &Socket, destination: IpAddr) -> bool {
    match (socket.local_address, destination) {
        (IpAddr::V4(bound), IpAddr::V4(_)) => bound.is_unspecified(),
        (IpAddr::V6(bound), IpAddr::V4(_)) => {
            bound.is_unspecified() && socket.v6only == Some(false)
        }
        (IpAddr::V6(bound), IpAddr::V6(_)) => bound.is_unspecified(),
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

fn score(socket: &Socket, destination: IpAddr) -> u32 {
    let device = if socket.interface.is_some() { 2 } else { 1 };
    let same_family = u32::from(destination.is_ipv4() && socket.local_address.is_ipv4());
    device + same_family
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(address: &str, v6only: Option<bool>) -> Socket {
        let mut s = Socket::bare(
            Protocol::Tcp,
            address.parse().expect("addr"),
            8000,
            State::Listen,
        );
        s.v6only = v6only;
        s
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("addr")
    }

    #[test]
    fn seed_scenario_ipv4_wildcard_beside_v6only_wildcard() {
        let table = [listener("0.0.0.0", None), listener("::", Some(true))];
        assert_eq!(
            receivers(ip("127.0.0.1"), 8000, Protocol::Tcp, &table),
            vec![0]
        );
        assert_eq!(receivers(ip("::1"), 8000, Protocol::Tcp, &table), vec![1]);
    }

    #[test]
    fn node_scenario_ipv4_loopback_only() {
        let table = [listener("127.0.0.1", None)];
        assert!(receivers(ip("::1"), 8000, Protocol::Tcp, &table).is_empty());
        assert_eq!(
            receivers(ip("127.0.0.1"), 8000, Protocol::Tcp, &table),
            vec![0]
        );
        assert!(receivers(ip("127.0.0.1"), 8001, Protocol::Tcp, &table).is_empty());
    }

    #[test]
    fn exact_beats_wildcard_and_ipv4_beats_mapped() {
        let table = [
            listener("::", Some(false)),
            listener("127.0.0.1", None),
            listener("::ffff:127.0.0.1", Some(false)),
        ];
        assert_eq!(
            receivers(ip("127.0.0.1"), 8000, Protocol::Tcp, &table),
            vec![1]
        );
        assert_eq!(
            receivers(ip("127.0.0.2"), 8000, Protocol::Tcp, &table),
            vec![0],
            "dual-stack takes the rest"
        );
        assert_eq!(receivers(ip("::1"), 8000, Protocol::Tcp, &table), vec![0]);
        let only_mapped = [listener("::ffff:127.0.0.1", Some(false))];
        assert_eq!(
            receivers(ip("127.0.0.1"), 8000, Protocol::Tcp, &only_mapped),
            vec![0]
        );
    }

    #[test]
    fn devices_and_reuseport_groups() {
        let mut on_eth = listener("0.0.0.0", None);
        on_eth.interface = Some("eth0".into());
        let mut on_lo = listener("0.0.0.0", None);
        on_lo.interface = Some("lo".into());
        assert!(
            receivers(
                ip("127.0.0.1"),
                8000,
                Protocol::Tcp,
                std::slice::from_ref(&on_eth)
            )
            .is_empty()
        );
        assert_eq!(
            receivers(
                ip("127.0.0.1"),
                8000,
                Protocol::Tcp,
                &[listener("0.0.0.0", None), on_lo]
            ),
            vec![1]
        );
        let group = [listener("0.0.0.0", None), listener("0.0.0.0", None)];
        assert_eq!(
            receivers(ip("127.0.0.1"), 8000, Protocol::Tcp, &group),
            vec![0, 1]
        );
    }

    fn udp(address: &str, reuseport: Option<bool>) -> Socket {
        let mut s = Socket::bare(
            Protocol::Udp,
            address.parse().expect("addr"),
            5454,
            State::Unconn,
        );
        s.v6only = address.contains(':').then_some(false);
        (s.reuseaddr, s.reuseport) = (Some(true), reuseport);
        s
    }

    #[test]
    fn udp_ties_go_to_the_newest_unless_it_is_in_a_reuseport_group() {
        let table = [
            udp("0.0.0.0", Some(false)),
            udp("0.0.0.0", Some(false)),
            udp("0.0.0.0", Some(false)),
        ];
        let tied = receivers(ip("127.0.0.1"), 5454, Protocol::Udp, &table);
        assert_eq!(tied, [0, 1, 2]);
        // The dump listed #2 first: it was bound last.
        let ranks = [Some(2), Some(1), Some(0)];
        assert_eq!(
            delivery(Protocol::Udp, &table, tied.clone(), &ranks),
            (vec![2], Some(Delivery::Newest))
        );
        assert_eq!(
            delivery(Protocol::Udp, &table, tied.clone(), &[None, None, None]),
            (tied, None),
            "no bind order, no answer"
        );
        let group = [udp("0.0.0.0", Some(true)), udp("0.0.0.0", Some(true))];
        assert_eq!(
            delivery(Protocol::Udp, &group, vec![0, 1], &[Some(0), Some(1)]),
            (vec![0, 1], Some(Delivery::Hash))
        );
        assert_eq!(
            delivery(Protocol::Udp, &group, vec![0, 1], &[Some(1), Some(0)]),
            (vec![1, 0], Some(Delivery::Hash)),
            "members in lookup order"
        );
        // A plain socket bound after a group is met first.
        let mixed = [
            udp("0.0.0.0", Some(true)),
            udp("0.0.0.0", Some(true)),
            udp("0.0.0.0", Some(false)),
        ];
        assert_eq!(
            delivery(
                Protocol::Udp,
                &mixed,
                vec![0, 1, 2],
                &[Some(1), Some(2), Some(0)]
            ),
            (vec![2], Some(Delivery::Newest))
        );
        // IPv6 reuseport members sit at the chain's tail: a plain IPv6
        // socket bound before them is still met first.
        let v6 = [udp("::", Some(false)), udp("::", Some(true))];
        assert_eq!(
            delivery(Protocol::Udp, &v6, vec![0, 1], &[Some(1), Some(0)]),
            (vec![0], Some(Delivery::Newest))
        );
        let unknown = [udp("0.0.0.0", None), udp("0.0.0.0", None)];
        assert_eq!(
            delivery(Protocol::Udp, &unknown, vec![0, 1], &[Some(1), Some(0)]),
            (vec![1, 0], None),
            "unknown options: every tied socket, the newest first"
        );
        let tcp = [listener("0.0.0.0", None), listener("0.0.0.0", None)];
        assert_eq!(
            delivery(Protocol::Tcp, &tcp, vec![0, 1], &[None, None]).1,
            Some(Delivery::Hash)
        );
        assert_eq!(
            delivery(Protocol::Tcp, &tcp, vec![1], &[None, None]).1,
            Some(Delivery::Single)
        );
    }

    #[test]
    fn only_listeners_take_connections() {
        let mut bound = listener("127.0.0.1", None);
        bound.state = State::Unconn;
        assert!(receivers(ip("127.0.0.1"), 8000, Protocol::Tcp, &[bound]).is_empty());
    }
}
