//! `portcheck who`: gather the socket table, select what was asked, describe
//! the owners, and hand a result to a renderer.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use crate::elsewhere;
use crate::error::Error;
use crate::model::{Family, Protocol, Socket, State, display_order, endpoint};
use crate::platform::{Os, Platform};
use crate::probe::{self, Probe};
use crate::resolve::route;
use crate::sockets::{DumpRequest, SocketSource};
use crate::target::{PortRange, Target, families_to_dump, takes_any_family};
use crate::warning::Warning;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoConfig {
    pub targets: Vec<Target>,
    pub protocols: Vec<Protocol>,
    pub families: Vec<Family>,
    pub all: bool,
    pub all_netns: bool,
    /// `--probe`: identify the service behind each listening TCP socket.
    pub probe: bool,
}

#[derive(Debug, Clone)]
pub struct WhoResult {
    pub config: WhoConfig,
    /// The sockets listed, in the contract's deterministic order.
    pub sockets: Vec<Socket>,
    /// Matching sockets not listed (connections, TIME_WAIT without `--all`),
    /// counted per state.
    pub unlisted: BTreeMap<State, usize>,
    pub warnings: Vec<Warning>,
    /// `--probe`: what answered on each listed socket (by index into
    /// `sockets`); empty without `--probe`.
    pub probes: Vec<Option<Probe>>,
}

impl WhoResult {
    /// Something holds the port: a listed socket or a counted one (a
    /// TIME_WAIT still blocks a bind without SO_REUSEADDR).
    pub fn matched(&self) -> bool {
        !self.sockets.is_empty() || !self.unlisted.is_empty()
    }

    pub fn complete(&self) -> bool {
        crate::warning::complete(&self.warnings)
    }
}

impl crate::exit::CommandResult for WhoResult {
    const NAME: &'static str = "who";

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    fn warnings_mut(&mut self) -> &mut Vec<Warning> {
        &mut self.warnings
    }

    /// Not met: "nothing matched, the port is free".
    fn exit_code(&self) -> crate::exit::Exit {
        crate::exit::Exit::met(self.matched())
    }
}

pub fn run(config: &WhoConfig, source: &dyn SocketSource) -> Result<WhoResult, Error> {
    // An interface named in a target must exist, or nothing found there
    // would read as "free". Across namespaces it may exist in another.
    if !config.all_netns {
        crate::bind::facts::check_interfaces(
            config.targets.iter().filter_map(|t| t.interface.as_deref()),
            "who",
        )?;
    }
    let request = DumpRequest {
        protocols: config.protocols.clone(),
        families: families_to_dump(&config.families),
        ports: kernel_port_filter(&config.targets),
    };
    let (mut listed, unlisted, mut warnings) = if config.all_netns {
        every_netns(source, &request, config)?
    } else {
        let (mut listed, unlisted) = select(source.dump(&request)?, config);
        let warnings = Os::describe(&mut listed);
        Os::name_netns(&mut listed);
        (listed, unlisted, warnings)
    };
    let nothing_here = listed.is_empty() && unlisted.is_empty();
    if nothing_here && !config.all_netns && !request.ports.is_empty() {
        warnings.extend(held_elsewhere(source, &request, config));
    }
    listed.sort_by(display_order);
    warnings.extend(reuseport_warnings(&listed));
    warnings.sort();
    let mut result = WhoResult {
        config: config.clone(),
        sockets: listed,
        unlisted,
        warnings,
        probes: Vec::new(),
    };
    if config.probe {
        probe(&mut result);
    }
    Ok(result)
}

/// One `reuseport_group` warning per group. `net.ipv4.tcp_migrate_req`
/// is per network namespace: it is read for groups of this one only.
fn reuseport_warnings(listed: &[Socket]) -> Vec<Warning> {
    let here = Os::current_netns();
    let migrate = crate::reuseport::tcp_migrate_req();
    crate::reuseport::groups(listed)
        .iter()
        .map(|group| {
            let netns = listed.get(group.members[0]).and_then(|s| s.netns.clone());
            let ours = netns.is_none() || here.is_none() || netns == here;
            crate::reuseport::warning(
                group,
                listed,
                std::env::consts::OS,
                migrate.filter(|_| ours),
            )
        })
        .collect()
}

/// What `who` lists and counts, and its warnings.
type Listing = (Vec<Socket>, BTreeMap<State, usize>, Vec<Warning>);

/// `--all-netns`: every network namespace's sockets, owners found in one
/// pass. (A `Result` because off Linux it is an error.)
fn every_netns(
    source: &dyn SocketSource,
    request: &DumpRequest,
    config: &WhoConfig,
) -> Result<Listing, Error> {
    let (dumped, netns_warnings) = Os::every_netns(source, request)?;
    let (mut listed, unlisted) = select(dumped, config);
    let mut warnings = Os::describe_owners(&mut listed);
    warnings.extend(netns_warnings);
    Ok((listed, unlisted, warnings))
}

/// `--probe`: probes every listed TCP listener this host can reach (a
/// wildcard through an address of its family that reaches it, the
/// loopback first), concurrently. A socket of another network namespace
/// or bound to a device other than lo is skipped, with the reason.
pub fn probe(result: &mut WhoResult) {
    let here = Os::current_netns();
    let local = local_addresses();
    let mut targets = Vec::new();
    let mut slots = Vec::new();
    let mut skipped = Vec::new();
    for (index, socket) in result.sockets.iter().enumerate() {
        if socket.protocol != Protocol::Tcp || socket.state != State::Listen {
            continue;
        }
        let place = endpoint(
            socket.local_address,
            socket.local_port,
            socket.interface.as_deref(),
        );
        if socket.netns.is_some() && here.is_some() && socket.netns != here {
            skipped.push(format!("{place} (in another network namespace)"));
            continue;
        }
        if let Some(device) = socket.interface.as_deref().filter(|d| *d != "lo") {
            skipped.push(format!(
                "{place} (bound to device {device}; connections from this host arrive on lo)"
            ));
            continue;
        }
        let reaches = |address: &IpAddr| {
            route::receivers(*address, socket.local_port, Protocol::Tcp, &result.sockets)
                .contains(&index)
        };
        let first = probe::reachable_address(socket.local_address);
        let address = std::iter::once(first)
            .chain(local.iter().copied().filter(|a| {
                a.is_ipv4() == first.is_ipv4() && socket.local_address.is_unspecified()
            }))
            .find(reaches);
        let Some(address) = address else {
            skipped.push(format!(
                "{place} (every local address it covers reaches another socket first)"
            ));
            continue;
        };
        targets.push(probe::Target::new(
            SocketAddr::new(address, socket.local_port),
            None,
            Some(socket),
        ));
        slots.push(index);
    }
    let mut probes = vec![None; result.sockets.len()];
    for (index, found) in slots.into_iter().zip(probe::probe_all(&targets)) {
        if let Some(slot) = probes.get_mut(index) {
            *slot = Some(found);
        }
    }
    result.probes = probes;
    if !skipped.is_empty() {
        result.warnings.push(Warning::note(
            "probe_skipped",
            format!("not probed: {}", skipped.join("; ")),
        ));
        result.warnings.sort();
    }
}

/// The addresses of this host (network namespace), sorted; the spare
/// loopback 127.0.0.2 too, for a wildcard whose 127.0.0.1 is taken.
fn local_addresses() -> Vec<IpAddr> {
    let mut addresses: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|interfaces| interfaces.iter().map(if_addrs::Interface::ip).collect())
        .unwrap_or_default();
    addresses.push(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2)));
    addresses.sort();
    addresses.dedup();
    addresses
}

/// Nothing holds the port here: say whether another network namespace
/// (a container) holds it, and which NAT rules forward it (neither exists
/// off Linux).
fn held_elsewhere(
    source: &dyn SocketSource,
    request: &DumpRequest,
    config: &WhoConfig,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let rules = Os::nat_rules(&request.ports);
    if !rules.is_empty() {
        warnings.push(Warning::note(
            "nat_rules",
            format!("NAT rules forward this port: {}", rules.join(" | ")),
        ));
    }
    // Entering other namespaces needs root; without it there is nothing
    // more to say than the warnings `who` already gives.
    if !Os::may_read_other_netns() {
        return warnings;
    }
    let here = Os::current_netns();
    let Ok((elsewhere, _)) = Os::every_netns(source, request) else {
        return warnings;
    };
    let (mut foreign, _) = select(
        elsewhere,
        &WhoConfig {
            all: false,
            ..config.clone()
        },
    );
    foreign.retain(|s| s.netns != here);
    if !foreign.is_empty() {
        let _ = Os::describe_owners(&mut foreign);
        foreign.sort_by(display_order);
        let places: Vec<String> = foreign.iter().map(elsewhere::describe_foreign).collect();
        warnings.push(Warning::note(
            "held_in_other_netns",
            format!(
                "nothing holds it in this network namespace, but {} (--all-netns lists them)",
                places.join("; ")
            ),
        ));
    }
    warnings
}

/// The port ranges the kernel may filter on: none (every port) when any
/// target asks for every port on an address.
fn kernel_port_filter(targets: &[Target]) -> Vec<PortRange> {
    targets
        .iter()
        .map(|target| target.ports)
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

/// Splits the dump into the sockets to list and per-state counts of the
/// rest. Pure: the table is whatever the source returned.
pub fn select(dumped: Vec<Socket>, config: &WhoConfig) -> (Vec<Socket>, BTreeMap<State, usize>) {
    let mut listed = Vec::new();
    let mut unlisted = BTreeMap::new();
    for socket in dumped {
        let wanted_kind = config.protocols.contains(&socket.protocol)
            && takes_any_family(&socket, &config.families);
        let asked = config.targets.is_empty() || config.targets.iter().any(|t| t.matches(&socket));
        if !(wanted_kind && asked) {
            continue;
        }
        if config.all || socket.holds_port_for_binding() {
            listed.push(socket);
        } else {
            *unlisted.entry(socket.state).or_insert(0) += 1;
        }
    }
    (listed, unlisted)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::Family;
    use crate::target::parse_target;

    fn sock(protocol: Protocol, address: &str, port: u16, state: State) -> Socket {
        Socket::bare(protocol, address.parse().expect("addr"), port, state)
    }

    fn config(targets: &[&str], all: bool) -> WhoConfig {
        WhoConfig {
            targets: targets
                .iter()
                .map(|t| parse_target(t).expect("target"))
                .collect(),
            protocols: Protocol::ALL.to_vec(),
            families: Family::ALL.to_vec(),
            all,
            all_netns: false,
            probe: false,
        }
    }

    fn table() -> Vec<Socket> {
        let mut dual = sock(Protocol::Tcp, "::", 8000, State::Listen);
        dual.v6only = Some(false);
        vec![
            sock(Protocol::Tcp, "127.0.0.1", 8000, State::Listen),
            dual,
            sock(Protocol::Tcp, "127.0.0.1", 8000, State::Established),
            sock(Protocol::Tcp, "127.0.0.1", 8000, State::TimeWait),
            sock(Protocol::Tcp, "127.0.0.1", 8000, State::TimeWait),
            sock(Protocol::Udp, "0.0.0.0", 8000, State::Unconn),
            sock(Protocol::Udp, "127.0.0.1", 9000, State::Established),
            sock(Protocol::Tcp, "::1", 9000, State::Unconn),
        ]
    }

    #[test]
    fn default_lists_binding_holders_and_counts_the_rest() {
        let (listed, unlisted) = select(table(), &config(&["8000"], false));
        assert_eq!(listed.len(), 3);
        assert_eq!(unlisted.get(&State::TimeWait), Some(&2));
        assert_eq!(unlisted.get(&State::Established), Some(&1));
    }

    #[test]
    fn all_lists_everything_matching() {
        let (listed, unlisted) = select(table(), &config(&["8000"], true));
        assert_eq!(listed.len(), 6);
        assert!(unlisted.is_empty());
    }

    #[test]
    fn an_address_target_finds_the_wildcards_that_cover_it() {
        let (listed, _) = select(table(), &config(&["127.0.0.1:8000"], false));
        let addresses: Vec<String> = listed.iter().map(|s| s.local_address.to_string()).collect();
        assert_eq!(addresses, vec!["127.0.0.1", "::", "0.0.0.0"]);
        let (listed, _) = select(table(), &config(&["[::1]:8000"], false));
        assert_eq!(listed.len(), 1, "only the IPv6 wildcard covers ::1");
    }

    #[test]
    fn udp_is_always_listed_and_address_alone_means_every_port() {
        let (listed, _) = select(table(), &config(&["127.0.0.1"], false));
        assert!(
            listed
                .iter()
                .any(|s| s.protocol == Protocol::Udp && s.local_port == 9000)
        );
    }

    #[test]
    fn no_port_anywhere_disables_the_kernel_filter() {
        let c = config(&["8000", "127.0.0.1"], false);
        assert!(kernel_port_filter(&c.targets).is_empty());
        let c = config(&["8000", "9000-9001"], false);
        assert_eq!(kernel_port_filter(&c.targets).len(), 2);
    }

    #[test]
    fn order_is_deterministic() {
        let mut a = table();
        let mut b = table();
        b.reverse();
        a.sort_by(display_order);
        b.sort_by(display_order);
        assert_eq!(a, b);
    }
}
