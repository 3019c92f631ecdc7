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

    #[test]
    fn only_listeners_take_connections() {
        let mut bound = listener("127.0.0.1", None);
        bound.state = State::Unconn;
        assert!(receivers(ip("127.0.0.1"), 8000, Protocol::Tcp, &[bound]).is_empty());
    }
}
