//! Which listener real clients reach when a name's addresses are split
//! between two programs: only what was observed by running the client
//! here. Each row is checked by the field test
//! `field_clients::clients_reach_the_listeners_the_table_says` (tests/cli/
//! field_clients.rs), which runs the client against an IPv4 server on
//! 127.0.0.1 and a v6only IPv6 server on ::1 (the same port, each
//! answering its own identity) and fails when a client reaches another
//! one than this table says. A client not in the table is never named.

use std::net::IpAddr;

/// The order a client tries a name's addresses in, as observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriesFirst {
    /// The system resolver's (getaddrinfo's) order.
    SystemOrder,
    /// IPv4 addresses before the others, whatever the system says.
    Ipv4,
}

/// One client, the version observed, and how it tried `localhost` and
/// another name (a hosts entry with both families).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservedClient {
    /// As people call it: `curl`, `python3 urllib`.
    pub client: &'static str,
    /// The version the field test ran when the row was written.
    pub version: &'static str,
    pub localhost: TriesFirst,
    pub other_names: TriesFirst,
}

/// Observed with the field test on Debian 12: curl resolves the name
/// `localhost` itself (not through getaddrinfo) and reached the IPv4
/// server; for another name it follows the system's order. The others
/// follow the system's order for both.
pub const OBSERVED: &[ObservedClient] = &[
    ObservedClient {
        client: "curl",
        version: "7.88.1",
        localhost: TriesFirst::Ipv4,
        other_names: TriesFirst::SystemOrder,
    },
    ObservedClient {
        client: "wget",
        version: "1.21.3",
        localhost: TriesFirst::SystemOrder,
        other_names: TriesFirst::SystemOrder,
    },
    ObservedClient {
        client: "python3 urllib",
        version: "3.11",
        localhost: TriesFirst::SystemOrder,
        other_names: TriesFirst::SystemOrder,
    },
    ObservedClient {
        client: "node fetch",
        version: "20",
        localhost: TriesFirst::SystemOrder,
        other_names: TriesFirst::SystemOrder,
    },
    ObservedClient {
        client: "node http",
        version: "20",
        localhost: TriesFirst::SystemOrder,
        other_names: TriesFirst::SystemOrder,
    },
];

/// How `client` tries `host`, when that was observed: a `.localhost`
/// name was not tried, so a client is named there only when its
/// behaviour does not depend on the kind of name.
pub fn tries_first(client: &ObservedClient, host: &str) -> Option<TriesFirst> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" {
        Some(client.localhost)
    } else if host.ends_with(".localhost") {
        (client.localhost == client.other_names).then_some(client.localhost)
    } else {
        Some(client.other_names)
    }
}

/// The address, of `system_order`, that a client trying in `order` tries
/// first among those `accepts`.
pub fn reached(
    order: TriesFirst,
    system_order: &[IpAddr],
    accepts: impl Fn(IpAddr) -> bool,
) -> Option<IpAddr> {
    let ipv4_first = system_order
        .iter()
        .filter(|a| a.is_ipv4())
        .chain(system_order.iter().filter(|a| !a.is_ipv4()));
    match order {
        TriesFirst::SystemOrder => system_order.iter().copied().find(|a| accepts(*a)),
        TriesFirst::Ipv4 => ipv4_first.copied().find(|a| accepts(*a)),
    }
}

/// `curl 7.88.1`.
pub fn label(client: &ObservedClient) -> String {
    format!("{} {}", client.client, client.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_named_only_for_names_they_were_tried_with() {
        let curl = OBSERVED[0];
        assert_eq!(tries_first(&curl, "localhost"), Some(TriesFirst::Ipv4));
        assert_eq!(tries_first(&curl, "LOCALHOST."), Some(TriesFirst::Ipv4));
        assert_eq!(
            tries_first(&curl, "dual.test"),
            Some(TriesFirst::SystemOrder)
        );
        assert_eq!(tries_first(&curl, "app.localhost"), None);
        assert_eq!(
            tries_first(&OBSERVED[1], "app.localhost"),
            Some(TriesFirst::SystemOrder)
        );
    }

    #[test]
    fn the_first_accepting_address_in_the_clients_order_is_reached() {
        let order: Vec<IpAddr> = vec![
            "::1".parse().expect("addr"),
            "127.0.0.1".parse().expect("addr"),
        ];
        assert_eq!(
            reached(TriesFirst::SystemOrder, &order, |_| true),
            Some(order[0])
        );
        assert_eq!(reached(TriesFirst::Ipv4, &order, |_| true), Some(order[1]));
        assert_eq!(
            reached(TriesFirst::Ipv4, &order, |a| a.is_ipv6()),
            Some(order[0])
        );
        assert_eq!(reached(TriesFirst::SystemOrder, &order, |_| false), None);
    }
}
