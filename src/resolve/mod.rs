//! `portcheck resolve`: which service does `localhost:8000` really reach?
//! Resolve as clients do, order by RFC 6724 with the deciding rules, and map
//! each destination to the socket the kernel would hand it to.

pub mod clients;
pub mod dns;
pub mod input;
pub mod rfc6724;
pub mod route;
pub mod system;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::model::{Family, Protocol, Socket, State, canonical, endpoint};
use crate::platform::{Os, Platform};
use crate::probe::{self, Probe};
use crate::sockets::{self, DumpRequest, SocketSource};
use crate::target::PortRange;
use crate::warning::Warning;
use input::Query;
use rfc6724::{Decision, Destination, Policy, SourceFlags};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveConfig {
    pub query: Query,
    pub protocol: Protocol,
    pub connect: bool,
    /// Ask DNS directly too; `Some(server)` asks that server instead of
    /// the nameservers of /etc/resolv.conf.
    pub dns: bool,
    pub dns_server: Option<SocketAddr>,
    /// `--probe` (TCP with a port): identify the service behind each
    /// destination that accepts, and each address of another host.
    pub probe: bool,
}

/// What happens to a connection to one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Accept,
    Refused,
    /// No route: the kernel has no source address for it.
    Unreachable,
    /// Not an address of this host: its sockets cannot be seen from here.
    NotLocal,
}

impl Reach {
    pub fn name(self) -> &'static str {
        match self {
            Reach::Accept => "accept",
            Reach::Refused => "refused",
            Reach::Unreachable => "unreachable",
            Reach::NotLocal => "not_local",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DestinationReport {
    pub address: IpAddr,
    pub system_rank: usize,
    pub rfc6724_rank: usize,
    pub source: Option<IpAddr>,
    pub origin: &'static str,
    /// Indexes into the live table of the sockets that would receive it
    /// (several: a reuseport group).
    pub receivers: Vec<usize>,
    /// How the kernel picks among `receivers`; `None` when nothing
    /// receives or it cannot be told.
    pub delivery: Option<route::Delivery>,
    /// `None` when no port was given.
    pub outcome: Option<Reach>,
    /// `--probe`: what answered there; `None` when not probed.
    pub probe: Option<Probe>,
}

/// The real outcome of `--connect` for one destination.
#[derive(Debug, Clone)]
pub struct ConnectReport {
    pub address: IpAddr,
    /// `None`: not attempted (not a local address).
    pub outcome: Option<Reach>,
    pub error: Option<String>,
    /// The server side of the connection, found in the socket table.
    pub accepted_by: Option<Socket>,
    /// Whether the accepting process is the predicted listener's.
    pub agrees: Option<bool>,
    pub skipped: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct ResolveResult {
    pub config: ResolveConfig,
    /// In system (getaddrinfo) order.
    pub destinations: Vec<DestinationReport>,
    pub decisions: Vec<Decision>,
    pub order_agrees: bool,
    /// The first destination, in system order, that accepts.
    pub reached: Option<usize>,
    pub live: Vec<Socket>,
    pub connect: Option<Vec<ConnectReport>>,
    pub dns: Option<dns::DnsView>,
    pub warnings: Vec<Warning>,
}

impl ResolveResult {
    /// No destination accepts, and some could not be seen (another host):
    /// whether anything accepts cannot be told from here.
    pub fn cannot_tell(&self) -> bool {
        self.reached.is_none()
            && self
                .destinations
                .iter()
                .any(|d| d.outcome == Some(Reach::NotLocal))
    }
}

impl crate::exit::CommandResult for ResolveResult {
    const NAME: &'static str = "resolve";

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    fn warnings_mut(&mut self) -> &mut Vec<Warning> {
        &mut self.warnings
    }

    /// Ok: a destination accepts (or, with no port, the name resolved);
    /// not met: resolved but nothing accepts. A destination on another
    /// host that could not be checked is "cannot tell", not a failure:
    /// with one, not met only when some destination is known to refuse.
    fn exit_code(&self) -> crate::exit::Exit {
        if self.config.query.port.is_none() || self.reached.is_some() {
            return crate::exit::Exit::Ok;
        }
        let unseen = self
            .destinations
            .iter()
            .any(|d| d.outcome == Some(Reach::NotLocal));
        let refused = self
            .destinations
            .iter()
            .any(|d| d.outcome == Some(Reach::Refused));
        crate::exit::Exit::met(unseen && !refused)
    }
}

/// Resolves, orders and maps to listeners; with `config.probe` (TCP with
/// a port) each destination that accepts is probed for what answers
/// there; so is each address of another host, because the user named that
/// host.
// Gathering, in the order the report needs it; the steps are helpers.
#[allow(clippy::too_many_lines)]
pub fn run(config: &ResolveConfig, source: &dyn SocketSource) -> Result<ResolveResult, Error> {
    let query = &config.query;
    let addresses = system::resolve(lookup_host(&query.host)?, config.protocol)?;
    // Bytes, as glibc reads it: one line that is not UTF-8 (a comment in
    // Latin-1) must not make every hosts answer look like DNS's.
    let hosts = std::fs::read("/etc/hosts")
        .map(|bytes| system::hosts_file(&String::from_utf8_lossy(&bytes)))
        .unwrap_or_default();
    let mut warnings = Vec::new();
    let policy = system_policy(&mut warnings);

    let glibc_addresses = system::AddressList::read();
    let sort_input: Vec<Destination> = addresses
        .iter()
        .map(|&address| {
            let source = system::source_for(address);
            let (source_prefix_len, source_flags) =
                source.map_or((None, SourceFlags::default()), |s| glibc_addresses.of(s));
            Destination {
                address,
                source,
                source_prefix_len,
                source_flags,
            }
        })
        .collect();
    let (order, decisions) = rfc6724::sort(&sort_input, &policy);
    let order_agrees = order.iter().enumerate().all(|(rank, &index)| rank == index);

    let LiveTable {
        sockets: live,
        chain_rank,
        warnings: live_warnings,
    } = match query.port {
        Some(port) => live_table(source, port, config.protocol)?,
        None => LiveTable::default(),
    };
    warnings.extend(live_warnings);

    let mut destinations = destination_reports(
        &sort_input,
        &order,
        query,
        config.protocol,
        &hosts,
        (&live, &chain_rank),
    );
    warnings.extend(delivery_warnings(&destinations));
    if config.probe && config.protocol == Protocol::Tcp {
        probe_destinations(&mut destinations, query, &live);
        settle_by_probe(&mut destinations);
    }
    if !order_agrees {
        warnings.push(Warning::note(
            "order_differs_from_system",
            format!(
                "the system resolver's order differs from RFC 6724's ({}); clients use the system's order",
                disagreement(&destinations, &decisions)
            ),
        ));
    }
    warnings.extend(split_warning(&query.host, &destinations, &live));
    if addresses
        .iter()
        .any(|&a| crate::model::canonical(a).is_ipv6())
        && let Some(why) = crate::bind::facts::ipv6_unavailable()
    {
        warnings.push(Warning::note(
            "ipv6_disabled",
            format!("{why}: IPv6 destinations cannot be reached from here"),
        ));
    }
    let connect = match (config.connect, query.port) {
        (true, Some(port)) => {
            let reports = connect_all(
                &destinations,
                port,
                config.protocol,
                source,
                &live,
                named_remote(&query.host),
            )?;
            settle_by_connect(&mut destinations, &reports);
            Some(reports)
        }
        _ => None,
    };
    let reached = first_accepting(&destinations);
    warnings.extend(remote_warnings(&destinations, reached));
    if let Some(reports) = &connect
        && reports.iter().any(|r| r.agrees == Some(false))
    {
        warnings.push(Warning::note(
            "connect_disagrees",
            "a real connection reached a different process than predicted: the kernel is right; please report it",
        ));
    }
    let dns = (config.dns && crate::hostport::numeric_host(&query.host).is_none())
        .then(|| dns::query(&query.host, config.dns_server));
    if let Some(view) = &dns {
        warnings.extend(dns_warnings(view, &addresses));
    }
    warnings.sort();
    Ok(ResolveResult {
        config: config.clone(),
        destinations,
        decisions,
        order_agrees,
        reached,
        live,
        connect,
        dns,
        warnings,
    })
}

/// The host getaddrinfo is asked for. A literal's `%zone` names the device
/// (as who and try read `[::1]%lo:80`); glibc takes a zone only on a
/// link-local address (inet6_scopeid_pton), so the literal goes without it,
/// once the device is known to exist.
fn lookup_host(host: &str) -> Result<&str, Error> {
    match crate::hostport::split_zone(host) {
        (address, Some(zone)) if crate::hostport::numeric_host(address).is_some() => {
            crate::bind::facts::check_interfaces([zone], "resolve")?;
            Ok(address)
        }
        _ => Ok(host),
    }
}

fn dns_warnings(view: &dns::DnsView, system: &[IpAddr]) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if !view.errors.is_empty() {
        warnings.push(Warning::gap(
            "dns_unanswered",
            format!(
                "DNS was asked directly but did not fully answer: {}",
                view.errors.join("; ")
            ),
        ));
    }
    let (hidden, extra) = dns::differences(view, system);
    let list = |addresses: &[IpAddr]| {
        addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !hidden.is_empty() {
        warnings.push(Warning::note(
            "dns_hidden_by_system",
            format!(
                "DNS has {} that the system answer leaves out (a hosts entry shadows DNS, or the resolver dropped a family)",
                list(&hidden)
            ),
        ));
    }
    if !extra.is_empty() && (!view.a.is_empty() || !view.aaaa.is_empty()) {
        warnings.push(Warning::note(
            "system_not_from_dns",
            format!("the system answer has {} that DNS does not: they come from the hosts file or another source", list(&extra)),
        ));
    }
    warnings
}

/// The RFC 6724 policy: /etc/gai.conf where it exists, else the default.
/// glibc reads the file as bytes and skips the lines it cannot parse; so
/// does this, saying which (a few, escaped: the file may hold anything).
fn system_policy(warnings: &mut Vec<Warning>) -> Policy {
    const SHOWN: usize = 5;
    let bytes = match std::fs::read("/etc/gai.conf") {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Policy::default(),
        Err(error) => {
            warnings.push(Warning::note(
                "gai_conf_unreadable",
                format!("/etc/gai.conf could not be read ({error}): RFC 6724's default policy is assumed"),
            ));
            return Policy::default();
        }
    };
    let (policy, problems) = Policy::from_gai_conf(&String::from_utf8_lossy(&bytes));
    if !problems.is_empty() {
        let mut shown: Vec<String> = problems
            .iter()
            .take(SHOWN)
            .map(|problem| crate::text::untrusted(problem, 100))
            .collect();
        if problems.len() > SHOWN {
            shown.push(format!("and {} more", problems.len() - SHOWN));
        }
        warnings.push(Warning::note(
            "gai_conf_unreadable_lines",
            format!(
                "/etc/gai.conf lines portcheck could not read (glibc skips them too): {}",
                shown.join("; ")
            ),
        ));
    }
    policy
}

/// Each destination, in system order, with its ranks, origin and the
/// socket(s) that would receive it.
fn destination_reports(
    sort_input: &[Destination],
    order: &[usize],
    query: &Query,
    protocol: Protocol,
    hosts: &system::HostsFile,
    (live, chain_rank): (&[Socket], &[Option<usize>]),
) -> Vec<DestinationReport> {
    sort_input
        .iter()
        .enumerate()
        .map(|(index, d)| {
            let rfc6724_rank = order.iter().position(|&i| i == index).map_or(0, |p| p + 1);
            let (receivers, outcome) = match query.port {
                None => (Vec::new(), None),
                Some(port) => {
                    let receivers = route::receivers(d.address, port, protocol, live);
                    let outcome = if d.source.is_none() {
                        Reach::Unreachable
                    } else if crate::bind::facts::local_address(d.address, None) == Some(false) {
                        Reach::NotLocal
                    } else if receivers.is_empty() {
                        Reach::Refused
                    } else {
                        Reach::Accept
                    };
                    let receivers = if outcome == Reach::NotLocal {
                        Vec::new()
                    } else {
                        receivers
                    };
                    (receivers, Some(outcome))
                }
            };
            // Only Linux's lookup is modelled (see reuseport::spread).
            let (receivers, delivery) = if cfg!(target_os = "linux") {
                route::delivery(protocol, live, receivers, chain_rank)
            } else {
                let single = (receivers.len() == 1).then_some(route::Delivery::Single);
                (receivers, single)
            };
            DestinationReport {
                address: d.address,
                system_rank: index + 1,
                rfc6724_rank,
                source: d.source,
                origin: system::origin(&query.host, d.address, hosts),
                receivers,
                delivery,
                outcome,
                probe: None,
            }
        })
        .collect()
}

/// Probes the destinations that accept, and those of another host when
/// the user named it (not `localhost` nor this host's own name).
fn probe_destinations(destinations: &mut [DestinationReport], query: &Query, live: &[Socket]) {
    let Some(port) = query.port else {
        return;
    };
    let remote_named = named_remote(&query.host);
    let chosen: Vec<usize> = destinations
        .iter()
        .enumerate()
        .filter(|(_, d)| match d.outcome {
            Some(Reach::Accept) => true,
            Some(Reach::NotLocal) => remote_named,
            _ => false,
        })
        .map(|(index, _)| index)
        .collect();
    let targets: Vec<probe::Target> = chosen
        .iter()
        .filter_map(|&i| destinations.get(i))
        .map(|d| {
            let listener = d.receivers.first().and_then(|&i| live.get(i));
            probe::Target::new(
                SocketAddr::new(d.address, port),
                Some(query.host.clone()),
                listener,
            )
        })
        .collect();
    for (index, found) in chosen.into_iter().zip(probe::probe_all(&targets)) {
        if let Some(destination) = destinations.get_mut(index) {
            destination.probe = Some(found);
        }
    }
}

/// The first destination, in system order, that accepts.
fn first_accepting(destinations: &[DestinationReport]) -> Option<usize> {
    destinations
        .iter()
        .position(|d| d.outcome == Some(Reach::Accept))
}

/// A probe that connected settles a destination of another host: it
/// accepts (whatever it then said); one refused by the host refuses.
/// Anything else (no route, a timeout) leaves it unseen.
fn settle_by_probe(destinations: &mut [DestinationReport]) {
    for destination in destinations {
        if destination.outcome != Some(Reach::NotLocal) {
            continue;
        }
        let Some(probe) = &destination.probe else {
            continue;
        };
        let connect_failed = probe.kind == probe::Kind::Error
            && probe
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("connect:"));
        if !connect_failed {
            destination.outcome = Some(Reach::Accept);
        } else if probe.error.as_deref() == Some("connect: ECONNREFUSED") {
            destination.outcome = Some(Reach::Refused);
        }
    }
}

/// `--connect` settles a destination of another host the same way.
fn settle_by_connect(destinations: &mut [DestinationReport], reports: &[ConnectReport]) {
    for (destination, report) in destinations.iter_mut().zip(reports) {
        if destination.outcome == Some(Reach::NotLocal)
            && matches!(report.outcome, Some(Reach::Accept | Reach::Refused))
        {
            destination.outcome = report.outcome;
        }
    }
}

/// Destinations on another host: their sockets are not seen (a note), and
/// those a client tries before the one reached leave the answer open (a
/// gap, `not_local_unseen`).
fn remote_warnings(destinations: &[DestinationReport], reached: Option<usize>) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if destinations
        .iter()
        .any(|d| d.outcome == Some(Reach::NotLocal))
    {
        warnings.push(Warning::note(
            "remote_destinations",
            "some addresses are not on this host: which socket answers there cannot be seen from here",
        ));
    }
    if let Some(unseen) = unseen_before(destinations, reached) {
        warnings.push(Warning::gap("not_local_unseen", unseen));
    }
    warnings
}

/// The destinations of another host a client would try before the one
/// reached (all of them when none is reached), which portcheck could not
/// check: what the answer depends on, in words; `None` when there are none.
fn unseen_before(destinations: &[DestinationReport], reached: Option<usize>) -> Option<String> {
    let unseen: Vec<String> = destinations
        .iter()
        .take(reached.unwrap_or(destinations.len()))
        .filter(|d| d.outcome == Some(Reach::NotLocal))
        .map(|d| d.address.to_string())
        .collect();
    if unseen.is_empty() {
        return None;
    }
    let when = if reached.is_some() {
        "which clients try first"
    } else {
        "so whether anything accepts cannot be told from here"
    };
    Some(format!(
        "{} {} on another host, whose sockets cannot be seen from here, {when} (--probe or --connect asks it)",
        unseen.join(", "),
        if unseen.len() == 1 { "is" } else { "are" }
    ))
}

/// Whether `host` names another host explicitly: not `localhost` (nor a
/// `.localhost` name) and not this host's own name.
fn named_remote(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let own = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_ascii_lowercase())
        .unwrap_or_default();
    !(host == "localhost" || host.ends_with(".localhost") || (!own.is_empty() && host == own))
}

/// Every socket on the port (all states, so that `--connect` can find the
/// server side of its connection), with owners and options; and each
/// one's place in the kernel's dump, which lists a port's UDP sockets
/// newest bind first (see [`route::delivery`]). Only the netlink source
/// keeps the kernel's order; elsewhere the places are unknown.
fn live_table(
    source: &dyn SocketSource,
    port: u16,
    protocol: Protocol,
) -> Result<LiveTable, Error> {
    let dumped: Vec<Option<u64>> = if source.name() == "netlink" {
        dump_port_of(source, port, protocol)?
            .iter()
            .map(|s| s.inode)
            .collect()
    } else {
        Vec::new()
    };
    let (live, warnings) =
        sockets::described_table(source, vec![protocol], vec![PortRange::single(port)], |s| {
            s.state == State::Listen || protocol == Protocol::Udp
        })?;
    let chain_rank = live
        .iter()
        .map(|s| {
            let inode = s.inode?;
            dumped.iter().position(|d| *d == Some(inode))
        })
        .collect();
    Ok(LiveTable {
        sockets: live,
        chain_rank,
        warnings,
    })
}

/// The port's sockets, each one's place in the kernel's dump, and what
/// could not be seen.
#[derive(Default)]
struct LiveTable {
    sockets: Vec<Socket>,
    chain_rank: Vec<Option<usize>>,
    warnings: Vec<Warning>,
}

/// One dump of `port`'s sockets of `protocol`, in the kernel's order.
fn dump_port_of(
    source: &dyn SocketSource,
    port: u16,
    protocol: Protocol,
) -> Result<Vec<Socket>, Error> {
    source.dump(&DumpRequest {
        protocols: vec![protocol],
        families: Family::ALL.to_vec(),
        ports: vec![PortRange::single(port)],
    })
}

/// What the tool could not tell about who receives: a UDP tie whose bind
/// order or SO_REUSEPORT could not be read.
fn delivery_warnings(destinations: &[DestinationReport]) -> Vec<Warning> {
    let unknown: Vec<String> = destinations
        .iter()
        .filter(|d| d.delivery.is_none() && d.receivers.len() > 1)
        .map(|d| d.address.to_string())
        .collect();
    if unknown.is_empty() {
        return Vec::new();
    }
    if !cfg!(target_os = "linux") {
        return vec![Warning::note(
            "delivery_unknown",
            format!(
                "for {} several sockets tie: {}",
                unknown.join(", "),
                crate::reuseport::spread(std::env::consts::OS, Protocol::Tcp)
            ),
        )];
    }
    vec![Warning::gap(
        "delivery_unknown",
        format!(
            "for {} several UDP sockets tie; Linux gives each datagram to the most recently bound one unless it is in a SO_REUSEPORT group, and which one that is could not be read here (SO_REUSEPORT unreadable, or a socket source that does not keep the kernel's order)",
            unknown.join(", ")
        ),
    )]
}

fn disagreement(destinations: &[DestinationReport], decisions: &[Decision]) -> String {
    let system: Vec<String> = destinations.iter().map(|d| d.address.to_string()).collect();
    let mut by_rfc: Vec<&DestinationReport> = destinations.iter().collect();
    by_rfc.sort_by_key(|d| d.rfc6724_rank);
    let rfc: Vec<String> = by_rfc.iter().map(|d| d.address.to_string()).collect();
    let first_rule = decisions
        .iter()
        .find(|d| {
            let before = destinations.iter().position(|x| x.address == d.before);
            let after = destinations.iter().position(|x| x.address == d.after);
            before > after
        })
        .map(|d| format!("; RFC 6724 rule {}: {}", d.rule, d.reason))
        .unwrap_or_default();
    format!(
        "system: {}; RFC 6724: {}{first_rule}",
        system.join(", "),
        rfc.join(", ")
    )
}

/// The process names and pids behind a set of receiving sockets.
fn programs(receivers: &[usize], live: &[Socket]) -> BTreeSet<(String, u32)> {
    receivers
        .iter()
        .filter_map(|&i| live.get(i))
        .flat_map(|s| s.processes.iter())
        .map(|p| (p.shown_name().unwrap_or_default(), p.pid))
        .collect()
}

/// One name, two programs: IPv6 clients and IPv4 clients (or two addresses
/// of one family) reach different processes.
fn split_warning(
    host: &str,
    destinations: &[DestinationReport],
    live: &[Socket],
) -> Option<Warning> {
    let accepting: Vec<&DestinationReport> = destinations
        .iter()
        .filter(|d| d.outcome == Some(Reach::Accept))
        .collect();
    let first = accepting.first()?;
    let first_programs = programs(&first.receivers, live);
    let answers_differ = |d: &DestinationReport| match (&first.probe, &d.probe) {
        (Some(a), Some(b)) => a.answer_key() != b.answer_key(),
        _ => false,
    };
    let other = accepting.iter().find(|d| {
        d.receivers != first.receivers
            && (programs(&d.receivers, live) != first_programs || answers_differ(d))
    })?;
    let describe = |d: &DestinationReport| {
        let gist = d.probe.as_ref().map(Probe::gist);
        let names: Vec<String> = programs(&d.receivers, live)
            .iter()
            .map(|(name, pid)| match &gist {
                Some(gist) => format!("{name} (pid {pid}, {gist})"),
                None => format!("{name} (pid {pid})"),
            })
            .collect();
        match (names.is_empty(), gist) {
            (false, _) => names.join(", "),
            (true, Some(gist)) => format!("an owner that cannot be seen ({gist})"),
            (true, None) => "an owner that cannot be seen".to_owned(),
        }
    };
    let same_family = first.address.is_ipv4() == other.address.is_ipv4();
    let (code, message) = if same_family {
        (
            "split_by_address",
            format!(
                "clients of {} get {}; clients of {} get {}",
                first.address,
                describe(first),
                other.address,
                describe(other)
            ),
        )
    } else {
        let family = |a: IpAddr| if a.is_ipv4() { "IPv4" } else { "IPv6" };
        // `first` is what a client trying the system's order reaches;
        // which real clients do is said only as observed (clients.rs).
        (
            "split_by_family",
            format!(
                "{} clients get {}; {}-only clients get {}{}",
                family(first.address),
                describe(first),
                family(other.address),
                describe(other),
                observed_clients(host, destinations)
            ),
        )
    };
    Some(Warning::note(code, message))
}

/// Per client observed by the field tests (clients.rs), the destination
/// it reaches: `. Observed here: curl 7.88.1 reaches 127.0.0.1; wget
/// 1.21.3, ... reach ::1`; empty when no observed client applies.
fn observed_clients(host: &str, destinations: &[DestinationReport]) -> String {
    let order: Vec<IpAddr> = destinations.iter().map(|d| d.address).collect();
    let accepts = |address: IpAddr| {
        destinations
            .iter()
            .any(|d| d.address == address && d.outcome == Some(Reach::Accept))
    };
    let mut groups: Vec<(IpAddr, Vec<String>)> = Vec::new();
    for client in clients::OBSERVED {
        let Some(tries) = clients::tries_first(client, host) else {
            continue;
        };
        let Some(address) = clients::reached(tries, &order, accepts) else {
            continue;
        };
        match groups.iter_mut().find(|(a, _)| *a == address) {
            Some((_, names)) => names.push(clients::label(client)),
            None => groups.push((address, vec![clients::label(client)])),
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(address, names)| {
            let verb = if names.len() == 1 { "reaches" } else { "reach" };
            format!("{} {verb} {address}", names.join(", "))
        })
        .collect();
    format!(
        ". Observed by running them here (portcheck's field tests): {}",
        parts.join("; ")
    )
}

/// `--connect`: connects to every local destination and finds, in the
/// socket table, the socket that accepted.
fn connect_all(
    destinations: &[DestinationReport],
    port: u16,
    protocol: Protocol,
    source: &dyn SocketSource,
    live: &[Socket],
    remote_named: bool,
) -> Result<Vec<ConnectReport>, Error> {
    let mut reports = Vec::new();
    // Another host is connected to only when the user named it, and only
    // where the answer depends on it: before the first local acceptor.
    let needed = first_accepting(destinations).unwrap_or(destinations.len());
    for (index, destination) in destinations.iter().enumerate() {
        let mut report = ConnectReport {
            address: destination.address,
            outcome: None,
            error: None,
            accepted_by: None,
            agrees: None,
            skipped: None,
        };
        if protocol == Protocol::Udp {
            report.skipped = Some("udp_has_no_connection");
        } else if destination.outcome == Some(Reach::NotLocal) {
            if remote_named && index < needed {
                connect_remote(&mut report, SocketAddr::new(destination.address, port));
            } else {
                report.skipped = Some("not_local");
            }
        } else {
            connect_one(&mut report, destination, port, source, live)?;
        }
        reports.push(report);
    }
    Ok(reports)
}

/// A real connection to another host: whether it accepts. Its socket
/// table cannot be read, so who accepted stays unknown (`null`).
fn connect_remote(report: &mut ConnectReport, target: SocketAddr) {
    match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
        Ok(_) => report.outcome = Some(Reach::Accept),
        Err(error) => {
            report.outcome = Some(match error.kind() {
                std::io::ErrorKind::ConnectionRefused => Reach::Refused,
                _ => Reach::Unreachable,
            });
            report.error = Some(crate::bind::trial::errno_name(&error));
        }
    }
}

fn connect_one(
    report: &mut ConnectReport,
    destination: &DestinationReport,
    port: u16,
    source: &dyn SocketSource,
    live: &[Socket],
) -> Result<(), Error> {
    let target = SocketAddr::new(destination.address, port);
    let queues_before = listen_queues(source, port)?;
    let stream = match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
        Ok(stream) => stream,
        Err(error) => {
            report.outcome = Some(match error.kind() {
                std::io::ErrorKind::ConnectionRefused => Reach::Refused,
                _ => Reach::Unreachable,
            });
            report.error = Some(crate::bind::trial::errno_name(&error));
            report.agrees = Some(destination.outcome == report.outcome);
            return Ok(());
        }
    };
    report.outcome = Some(Reach::Accept);
    let ours = stream
        .local_addr()
        .map_err(|e| Error::io("reading the connection's address", e))?;
    // A server that accepts in a loop owns the connection within moments.
    // One that has not called accept() leaves it in a listener's queue:
    // the listener whose queue grew is the one the kernel chose.
    let deadline = Instant::now() + Duration::from_millis(300);
    let accepted_by = loop {
        if let Some(owned) = find_server_side(source, target, ours)? {
            break Some(owned);
        }
        if let Some(listener) = grown_queue(source, port, &queues_before)? {
            break Some(listener);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stream);
    report.agrees = accepted_by
        .as_ref()
        .and_then(|socket| agrees(socket, destination, live));
    report.accepted_by = accepted_by;
    Ok(())
}

/// Whether the socket that took the connection is the predicted one: the
/// same listener (by inode) when it is still queued, else the same process.
fn agrees(socket: &Socket, destination: &DestinationReport, live: &[Socket]) -> Option<bool> {
    if socket.state == State::Listen {
        let predicted: Vec<Option<u64>> = destination
            .receivers
            .iter()
            .filter_map(|&i| live.get(i))
            .map(|s| s.inode)
            .collect();
        return Some(socket.inode.is_some() && predicted.contains(&socket.inode));
    }
    if socket.processes.is_empty() {
        return None;
    }
    let predicted = programs(&destination.receivers, live);
    Some(
        socket
            .processes
            .iter()
            .any(|p| predicted.iter().any(|(_, pid)| *pid == p.pid)),
    )
}

fn dump_port(source: &dyn SocketSource, port: u16) -> Result<Vec<Socket>, Error> {
    dump_port_of(source, port, Protocol::Tcp)
}

/// Accept-queue lengths of the listeners on `port`, by inode.
fn listen_queues(source: &dyn SocketSource, port: u16) -> Result<Vec<(Option<u64>, u32)>, Error> {
    Ok(dump_port(source, port)?
        .into_iter()
        .filter(|s| s.state == State::Listen)
        .map(|s| (s.inode, s.recv_queue))
        .collect())
}

/// The listener whose accept queue grew since `before`, with its owners.
fn grown_queue(
    source: &dyn SocketSource,
    port: u16,
    before: &[(Option<u64>, u32)],
) -> Result<Option<Socket>, Error> {
    let mut grown: Vec<Socket> = dump_port(source, port)?
        .into_iter()
        .filter(|s| s.state == State::Listen)
        .filter(|s| {
            let earlier = before
                .iter()
                .find(|(inode, _)| *inode == s.inode)
                .map_or(0, |(_, q)| *q);
            s.recv_queue > earlier
        })
        .collect();
    if grown.len() != 1 {
        return Ok(None);
    }
    let _ = Os::describe(&mut grown);
    Ok(grown.pop())
}

/// The server side of our connection, when a process owns it.
fn find_server_side(
    source: &dyn SocketSource,
    target: SocketAddr,
    ours: SocketAddr,
) -> Result<Option<Socket>, Error> {
    let mut matching: Vec<Socket> = dump_port(source, target.port())?
        .into_iter()
        .filter(|s| {
            s.inode.is_some()
                && s.local_port == target.port()
                && canonical(s.local_address) == canonical(target.ip())
                && s.remote
                    .is_some_and(|(a, p)| canonical(a) == canonical(ours.ip()) && p == ours.port())
        })
        .collect();
    if matching.is_empty() {
        return Ok(None);
    }
    let _ = Os::describe(&mut matching);
    Ok(matching.into_iter().find(|s| !s.processes.is_empty()))
}

/// `[::1]:8000` for a destination.
pub fn destination_endpoint(address: IpAddr, port: u16) -> String {
    endpoint(address, port, None)
}

#[cfg(test)]
mod probe_tests {
    use super::named_remote;

    #[test]
    fn only_names_of_other_hosts_are_remote() {
        assert!(!named_remote("localhost"));
        assert!(!named_remote("app.localhost."));
        assert!(named_remote("example.com"));
    }
}
