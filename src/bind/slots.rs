//! `try PORT`: every place ("slot") a new service could bind on one port of
//! this host, each checked on its own, and how many more services the port
//! can still take.
//!
//! A slot is an address a server binds to: `0.0.0.0`, `[::]` dual-stack,
//! `[::]` with IPV6_V6ONLY, and every address of every interface of the
//! network namespace (link-local ones on their device). Slots overlap: on
//! Linux a bind conflicts with a socket on the same port whose address is
//! the same or a wildcard covering it (`inet_bind_conflict`,
//! net/ipv4/inet_connection_sock.c; `udp_lib_lport_inuse`, net/ipv4/udp.c),
//! so a service on `0.0.0.0` rules out every other IPv4 slot and one on
//! `[::]` dual-stack rules out every slot. "N more services" is the size of
//! the largest set of slots that can all be bound at once, each by its own
//! service with the runtime defaults `try` uses (no SO_REUSEPORT, which
//! would let one uid put any number of sockets on one slot).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::candidate::{Candidate, CandidateSpec, OptionChoices};
use super::{Outcome, Plan, TryResult, evaluate, facts};
use crate::error::Error;
use crate::model::{Protocol, endpoint};
use crate::sockets::SocketSource;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapConfig {
    pub port: u16,
    pub protocols: Vec<Protocol>,
    /// Options set by flags for every slot (the wildcards' IPV6_V6ONLY is
    /// the slot's own).
    pub defaults: OptionChoices,
    pub trial: bool,
}

/// Where on a port a service binds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    AnyIpv4,
    AnyDualStack,
    AnyIpv6Only,
    Ipv4(Ipv4Addr),
    /// An IPv6 address; a link-local one with the device it is scoped to.
    Ipv6(Ipv6Addr, Option<String>),
}

impl Place {
    pub fn address(&self) -> IpAddr {
        match self {
            Place::AnyIpv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Place::AnyDualStack | Place::AnyIpv6Only => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            Place::Ipv4(address) => IpAddr::V4(*address),
            Place::Ipv6(address, _) => IpAddr::V6(*address),
        }
    }

    pub fn device(&self) -> Option<&str> {
        match self {
            Place::Ipv6(_, device) => device.as_deref(),
            _ => None,
        }
    }

    /// The IPV6_V6ONLY the slot itself fixes: the wildcards' meaning.
    pub fn v6only(&self) -> Option<bool> {
        match self {
            Place::AnyDualStack => Some(false),
            Place::AnyIpv6Only => Some(true),
            _ => None,
        }
    }

    /// How the slot is written as a place: `0.0.0.0`, `[::] (v6only)`.
    pub fn shown(&self) -> String {
        let address = endpoint_address(self.address(), self.device());
        match self.v6only() {
            Some(true) => format!("{address} (v6only)"),
            Some(false) => format!("{address} (dual-stack)"),
            None => address,
        }
    }
}

fn endpoint_address(address: IpAddr, device: Option<&str>) -> String {
    let full = endpoint(address, 0, device);
    full.strip_suffix(":0").map_or(full.clone(), str::to_owned)
}

/// Whether two services, one on each slot, cannot both bind (Linux, both
/// listening or both UDP without SO_REUSEADDR/SO_REUSEPORT): the same
/// address, or a wildcard that covers the other. Sockets bound to two
/// different devices do not conflict (`inet_bind_conflict` compares
/// `sk_bound_dev_if`).
pub fn conflict(a: &Place, b: &Place) -> bool {
    use Place::{AnyDualStack, AnyIpv4, AnyIpv6Only, Ipv4, Ipv6};
    match (a, b) {
        (AnyDualStack, _)
        | (_, AnyDualStack)
        | (AnyIpv4, AnyIpv4 | Ipv4(_))
        | (Ipv4(_), AnyIpv4)
        | (AnyIpv6Only, AnyIpv6Only | Ipv6(..))
        | (Ipv6(..), AnyIpv6Only) => true,
        (Ipv4(x), Ipv4(y)) => x == y,
        (Ipv6(x, dx), Ipv6(y, dy)) => x == y && (dx.is_none() || dy.is_none() || dx == dy),
        _ => false,
    }
}

/// One largest set of `slots` (indices) that new services could hold at
/// once, given which slots bind now on their own (`binds[i]`; `None`
/// counts as not free). Wildcards lose ties to nothing: on a tie between a
/// wildcard and the specific addresses it covers, the wildcard is chosen,
/// as servers usually bind it.
///
/// The overlap graph is two independent families joined by the dual-stack
/// wildcard: IPv4 (one wildcard over the specific addresses) and IPv6 (the
/// v6only wildcard over its addresses). Specific addresses that bind on
/// their own never conflict with one another except when equal, and the
/// slots hold no duplicates, so per family the best is the free specific
/// addresses or the free wildcard; the dual-stack wildcard alone can only
/// win when nothing else is free.
pub fn most_services(slots: &[Place], binds: &[Option<bool>]) -> Vec<usize> {
    let free = |i: usize| binds.get(i).copied().flatten() == Some(true);
    let family = |wildcard: &Place, specific: fn(&Place) -> bool| -> Vec<usize> {
        let specifics: Vec<usize> = (0..slots.len())
            .filter(|&i| specific(&slots[i]) && free(i))
            .collect();
        let wildcard = (0..slots.len()).find(|&i| &slots[i] == wildcard && free(i));
        match wildcard {
            Some(w) if specifics.len() <= 1 => vec![w],
            _ => specifics,
        }
    };
    let mut best = family(&Place::AnyIpv4, |p| matches!(p, Place::Ipv4(_)));
    best.extend(family(&Place::AnyIpv6Only, |p| {
        matches!(p, Place::Ipv6(..))
    }));
    if best.is_empty()
        && let Some(dual) = (0..slots.len()).find(|&i| slots[i] == Place::AnyDualStack && free(i))
    {
        best.push(dual);
    }
    best.sort_unstable();
    best
}

/// Every slot of this network namespace: the wildcards, then each
/// interface address once (a link-local one once per device).
pub fn places(interfaces: &[(String, IpAddr)]) -> Vec<Place> {
    let mut specific: Vec<Place> = interfaces
        .iter()
        .map(|(name, address)| match address {
            IpAddr::V4(v4) => Place::Ipv4(*v4),
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Place::Ipv6(*v6, Some(name.clone())),
            IpAddr::V6(v6) => Place::Ipv6(*v6, None),
        })
        .collect();
    specific.sort();
    specific.dedup();
    let mut all = vec![Place::AnyIpv4, Place::AnyDualStack, Place::AnyIpv6Only];
    all.extend(specific);
    all
}

/// Every address of every interface of this network namespace, with the
/// interface's name. On Linux IPv6 comes from `/proc/net/if_inet6`, which
/// lists link-local addresses too (the if-addrs crate leaves them out
/// unless built with a feature that would change them for every caller).
fn interface_addresses() -> Vec<(String, IpAddr)> {
    let listed: Vec<(String, IpAddr)> = if_addrs::get_if_addrs()
        .map(|interfaces| {
            interfaces
                .into_iter()
                .map(|interface| {
                    let address = interface.ip();
                    (interface.name, address)
                })
                .collect()
        })
        .unwrap_or_default();
    match std::fs::read_to_string("/proc/self/net/if_inet6") {
        Ok(table) => listed
            .into_iter()
            .filter(|(_, address)| address.is_ipv4())
            .chain(parse_if_inet6(&table))
            .collect(),
        Err(_) => listed,
    }
}

/// `/proc/net/if_inet6`: "fe800000000000000000000000000009 01 40 20 80 lo"
/// (address in hex, index, prefix length, scope, flags, name).
pub fn parse_if_inet6(table: &str) -> Vec<(String, IpAddr)> {
    table
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (hex, name) = (fields.first()?, fields.get(5)?);
            let bits = u128::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)?;
            Some(((*name).to_owned(), IpAddr::V6(Ipv6Addr::from(bits))))
        })
        .collect()
}

/// A slot of the port map as reported: which candidate checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRef {
    pub protocol: Protocol,
    pub place: Place,
    pub candidate: usize,
}

/// How one protocol's slots add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolMap {
    pub protocol: Protocol,
    pub slots: usize,
    /// Slots that bind on their own now.
    pub binding: usize,
    /// How many more services the port can take: `free`'s length.
    pub more: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMap {
    pub port: u16,
    pub protocols: Vec<ProtocolMap>,
    /// One largest set of slots that new services could hold at once.
    pub free: Vec<SlotRef>,
    /// Slots where a bind fails now.
    pub taken: Vec<SlotRef>,
    /// Slots whose bind depends on what could not be seen.
    pub undecided: Vec<SlotRef>,
}

impl PortMap {
    /// The answer to "how many services can still run on this port", one
    /// line: "port 8000 could still take 2 more TCP services: on 127.0.0.1
    /// and [::] (v6only); UDP: all free (2 services: on 0.0.0.0 and [::]
    /// (v6only))".
    pub fn summary(&self) -> String {
        let on = |protocol: Protocol| -> String {
            let places: Vec<String> = self
                .free
                .iter()
                .filter(|s| s.protocol == protocol)
                .map(|s| s.place.shown())
                .collect();
            and_list(&places)
        };
        let parts: Vec<String> = self
            .protocols
            .iter()
            .map(|map| {
                let name = map.protocol.name().to_uppercase();
                let services = if map.more == 1 { "service" } else { "services" };
                if map.binding == map.slots {
                    format!(
                        "{name}: all free ({} {services}: on {})",
                        map.more,
                        on(map.protocol)
                    )
                } else if map.more == 0 {
                    format!("no more {name} services")
                } else {
                    format!(
                        "{} more {name} {services}: on {}",
                        map.more,
                        on(map.protocol)
                    )
                }
            })
            .collect();
        let opening = match self.protocols.first() {
            Some(first) if first.binding != first.slots && first.more > 0 => " could still take",
            _ => ":",
        };
        format!("port {}{opening} {}", self.port, parts.join("; "))
    }
}

/// How `more` counts, for the human view.
pub const COUNTING: &str = "(each service on its own slot, without SO_REUSEPORT: one on 0.0.0.0 takes every IPv4 slot, one on [::] v6only every IPv6 slot, one on [::] dual-stack all of them)";

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => "none".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The port map of `outcomes` (one per slot, in `slots` order).
pub fn port_map(port: u16, slots: &[(Protocol, Place)], outcomes: &[Outcome]) -> PortMap {
    let binds: Vec<Option<bool>> = outcomes.iter().map(Outcome::binds).collect();
    let slot_ref = |i: usize| SlotRef {
        protocol: slots[i].0,
        place: slots[i].1.clone(),
        candidate: i,
    };
    let mut protocols = Vec::new();
    let mut free = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let members: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].0 == protocol)
            .collect();
        if members.is_empty() {
            continue;
        }
        let places: Vec<Place> = members.iter().map(|&i| slots[i].1.clone()).collect();
        let member_binds: Vec<Option<bool>> = members.iter().map(|&i| binds[i]).collect();
        let chosen = most_services(&places, &member_binds);
        protocols.push(ProtocolMap {
            protocol,
            slots: members.len(),
            binding: member_binds.iter().filter(|b| **b == Some(true)).count(),
            more: chosen.len(),
        });
        free.extend(chosen.into_iter().map(|j| slot_ref(members[j])));
    }
    let with = |wanted: Option<bool>| -> Vec<SlotRef> {
        (0..slots.len())
            .filter(|&i| binds[i] == wanted)
            .map(slot_ref)
            .collect()
    };
    PortMap {
        port,
        protocols,
        free,
        taken: with(Some(false)),
        undecided: with(None),
    }
}

/// Runs `try PORT`.
pub fn run(config: &PortMapConfig, source: &dyn SocketSource) -> Result<TryResult, Error> {
    let places = places(&interface_addresses());
    let slots: Vec<(Protocol, Place)> = config
        .protocols
        .iter()
        .flat_map(|&protocol| places.iter().map(move |place| (protocol, place.clone())))
        .collect();
    let bindv6only = facts::bindv6only();
    let candidates: Vec<Candidate> = slots
        .iter()
        .enumerate()
        .map(|(index, (protocol, place))| {
            let choices = OptionChoices {
                v6only: place.v6only(),
                ..OptionChoices::default()
            };
            let spec = CandidateSpec {
                text: format!(
                    "{}:{}",
                    protocol.name(),
                    endpoint(place.address(), config.port, place.device())
                ),
                protocol: Some(*protocol),
                address: place.address(),
                scope: place.device().map(str::to_owned),
                port: config.port,
                choices,
            };
            Candidate::from_spec(index, &spec, &config.defaults, *protocol, bindv6only)
        })
        .collect();
    let mut result = evaluate(
        &candidates,
        config.trial,
        source,
        facts::host(),
        bindv6only,
        Plan::EachAlone,
    )?;
    result.port_map = Some(port_map(config.port, &slots, &result.outcomes));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> Place {
        Place::Ipv4(text.parse().expect("v4"))
    }

    fn v6(text: &str, device: Option<&str>) -> Place {
        Place::Ipv6(text.parse().expect("v6"), device.map(str::to_owned))
    }

    fn sample() -> Vec<Place> {
        vec![
            Place::AnyIpv4,
            Place::AnyDualStack,
            Place::AnyIpv6Only,
            v4("127.0.0.1"),
            v4("10.0.0.1"),
            v6("::1", None),
            v6("fe80::1", Some("eth0")),
            v6("fe80::1", Some("eth1")),
        ]
    }

    /// The largest set of free, pairwise compatible slots, by trying every
    /// subset: what `most_services` must match in size.
    fn brute_force(slots: &[Place], binds: &[Option<bool>]) -> usize {
        let n = slots.len();
        (0u32..1 << n)
            .filter(|mask| {
                let chosen: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
                chosen.iter().all(|&i| binds[i] == Some(true))
                    && chosen.iter().all(|&i| {
                        chosen
                            .iter()
                            .all(|&j| i == j || !conflict(&slots[i], &slots[j]))
                    })
            })
            .map(u32::count_ones)
            .max()
            .map_or(0, |m| m as usize)
    }

    fn compatible(slots: &[Place], chosen: &[usize]) -> bool {
        chosen.iter().all(|&i| {
            chosen
                .iter()
                .all(|&j| i == j || !conflict(&slots[i], &slots[j]))
        })
    }

    #[test]
    fn most_services_is_a_largest_compatible_free_set() {
        let slots = sample();
        let n = slots.len();
        let states = [Some(true), Some(false), None];
        // Every assignment of free/taken/undecided to the 8 slots.
        for code in 0..3usize.pow(u32::try_from(n).expect("small")) {
            let binds: Vec<Option<bool>> = (0..n)
                .map(|i| states[(code / 3usize.pow(u32::try_from(i).expect("small"))) % 3])
                .collect();
            let chosen = most_services(&slots, &binds);
            assert!(compatible(&slots, &chosen), "{binds:?} -> {chosen:?}");
            assert!(chosen.iter().all(|&i| binds[i] == Some(true)));
            assert_eq!(
                chosen.len(),
                brute_force(&slots, &binds),
                "{binds:?} -> {chosen:?}"
            );
        }
    }

    #[test]
    fn wildcards_cover_their_family() {
        let slots = sample();
        assert!(conflict(&Place::AnyIpv4, &v4("127.0.0.1")));
        assert!(!conflict(&Place::AnyIpv4, &v6("::1", None)));
        assert!(!conflict(&Place::AnyIpv4, &Place::AnyIpv6Only));
        assert!(conflict(&Place::AnyIpv6Only, &v6("fe80::1", Some("eth0"))));
        assert!(!conflict(&Place::AnyIpv6Only, &v4("10.0.0.1")));
        for slot in &slots {
            assert!(conflict(&Place::AnyDualStack, slot), "{slot:?}");
            assert!(conflict(slot, slot), "one service per slot: {slot:?}");
        }
        assert!(!conflict(
            &v6("fe80::1", Some("eth0")),
            &v6("fe80::1", Some("eth1"))
        ));
        // Everything free: every specific address, no wildcard.
        let all = vec![Some(true); slots.len()];
        assert_eq!(most_services(&slots, &all), vec![3, 4, 5, 6, 7]);
        // A service on 0.0.0.0 holds it: the IPv4 slots are all taken, so
        // only the IPv6 ones remain.
        let binds = [
            Some(false),
            Some(false),
            Some(true),
            Some(false),
            Some(false),
            Some(true),
            Some(true),
            Some(true),
        ];
        assert_eq!(most_services(&slots, &binds), vec![5, 6, 7]);
    }

    #[test]
    fn a_lone_loopback_counts_its_wildcard() {
        let slots = vec![
            Place::AnyIpv4,
            Place::AnyDualStack,
            Place::AnyIpv6Only,
            v4("127.0.0.1"),
            v6("::1", None),
        ];
        let all = vec![Some(true); slots.len()];
        assert_eq!(most_services(&slots, &all), vec![0, 2]);
    }

    #[test]
    fn if_inet6_lines_parse() {
        let table = "00000000000000000000000000000001 01 80 10 80       lo\nfe800000000000000000000000000009 01 40 20 80 lo\nbogus\n";
        assert_eq!(
            parse_if_inet6(table),
            [
                ("lo".to_owned(), "::1".parse().expect("v6")),
                ("lo".to_owned(), "fe80::9".parse().expect("v6")),
            ]
        );
    }

    #[test]
    fn places_list_wildcards_then_addresses_once() {
        let interfaces = vec![
            ("lo".to_owned(), "127.0.0.1".parse().expect("v4")),
            ("lo".to_owned(), "::1".parse().expect("v6")),
            ("eth0".to_owned(), "fe80::1".parse().expect("v6")),
            ("eth1".to_owned(), "fe80::1".parse().expect("v6")),
            ("eth1".to_owned(), "10.0.0.1".parse().expect("v4")),
            ("eth2".to_owned(), "10.0.0.1".parse().expect("v4")),
        ];
        let places = places(&interfaces);
        assert_eq!(places.len(), 3 + 5, "{places:?}");
        assert_eq!(
            places[..3],
            [Place::AnyIpv4, Place::AnyDualStack, Place::AnyIpv6Only]
        );
        assert!(places.contains(&v6("fe80::1", Some("eth1"))));
        assert_eq!(v6("fe80::1", Some("eth1")).shown(), "[fe80::1]%eth1");
        assert_eq!(Place::AnyIpv6Only.shown(), "[::] (v6only)");
        assert_eq!(v4("10.0.0.1").shown(), "10.0.0.1");
    }
}
