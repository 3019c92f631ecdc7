//! Diagnosing a recognised message on this host with the engines that
//! exist: a bind failure is a `try` of the candidate the message implies,
//! with the runtime's options, predicted for the program that failed; a
//! connect failure is a `resolve` of the address the client tried, with
//! every listener on the port beside it (where the service really is).

use std::net::IpAddr;

use super::nearby::{self, Nearby};
use super::patterns::{Failure, HostText};
use super::recognise::Recognised;
use super::runtime::{DefaultHost, Runtime};
use super::{Host, WhyConfig};
use crate::bind::candidate::{CandidateSpec, OptionChoices};
use crate::bind::rules::{self, Holder};
use crate::bind::{self, Outcome, TryConfig, TryResult, facts};
use crate::error::Error;
use crate::model::{Family, Protocol, Socket, State, endpoint};
use crate::resolve::input::Query;
use crate::resolve::{self, Reach, ResolveConfig, ResolveResult};
use crate::sockets::SocketSource;
use crate::target::PortRange;
use crate::warning::Warning;

/// Whether the cause is on this host now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Found: it would fail the same way now.
    Present,
    /// Nothing in the way now: the holder exited, the service accepts.
    Gone,
    /// Out of sight: another host's sockets.
    Unknown,
    /// The program's own earlier socket is in the way: it fails the same
    /// way at every start.
    OwnSocket,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Gone => "gone",
            Status::Unknown => "unknown",
            Status::OwnSocket => "own_socket",
        }
    }
}

/// The `try` behind a bind diagnosis and the candidate it is about.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub result: TryResult,
    /// The outcome shown: the first that fails, else the first.
    pub index: usize,
}

impl Attempt {
    pub fn outcome(&self) -> Option<&Outcome> {
        self.result.outcomes.get(self.index)
    }
}

#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub status: Status,
    /// One sentence.
    pub summary: String,
    /// "What happened": the request as the kernel saw it.
    pub happened: Vec<String>,
    /// "Why": the rule, the holders, where the service really listens.
    pub why: Vec<String>,
    /// Bind: the live sockets in the way. Connect: the sockets that listen
    /// on the port (on whatever address).
    pub holders: Vec<Socket>,
    pub attempt: Option<Attempt>,
    pub resolve: Option<ResolveResult>,
    /// EADDRNOTAVAIL: the addresses this host has.
    pub local_addresses: Vec<IpAddr>,
    /// `net.ipv4.ip_unprivileged_port_start`, for EACCES.
    pub unprivileged_port_start: u16,
    /// The sockets the program announced before the failure, as checked
    /// (first in the plan, before the failed bind).
    pub own_sockets: Vec<OwnSocket>,
    /// A refused connect with nothing on the port: the other ports the
    /// program the client talks to listens on ([`super::nearby`]).
    pub nearby: Vec<Nearby>,
    pub warnings: Vec<Warning>,
}

/// A socket the program's log says it had bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSocket {
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    /// The line that announced it.
    pub line: usize,
}

impl OwnSocket {
    pub fn endpoint(&self) -> String {
        endpoint(self.address, self.port, None)
    }
}

pub fn diagnose(
    recognised: &Recognised,
    config: &WhyConfig,
    source: &dyn SocketSource,
) -> Result<Diagnosis, Error> {
    if recognised.failure.is_bind() {
        bind_failure(recognised, config, source)
    } else {
        connect_failure(recognised, source)
    }
}

fn what_happened(recognised: &Recognised, target: &str) -> Vec<String> {
    let runtime = recognised.runtime.defaults();
    let who = match recognised.runtime {
        Runtime::Unknown => "a program".to_owned(),
        _ => runtime.name.to_owned(),
    };
    let verb = match recognised.operation {
        super::patterns::Operation::Listen => "listen on",
        super::patterns::Operation::Bind => "bind",
        super::patterns::Operation::Connect => "connect to",
    };
    let words = match recognised.failure {
        // curl 7.x prints "Couldn't connect to server" for all three.
        Failure::ConnectFailed if recognised.format.family == "curl" => {
            "could not connect (refused, unreachable or timed out: curl does not say which)"
                .to_owned()
        }
        failure => failure.words().to_owned(),
    };
    let mut lines = vec![match &recognised.unix_socket {
        Some(socket) => format!(
            "{who} could not {verb} the Unix socket {socket}: {} ({words})",
            recognised.failure.name(),
        ),
        None => format!(
            "{who} could not {verb} {} {target}: {} ({words})",
            recognised.protocol.name(),
            recognised.failure.name(),
        ),
    }];
    for assumption in &recognised.assumed {
        lines.push(format!(
            "assumed {} {}: {}",
            assumption.field, assumption.value, assumption.why
        ));
    }
    lines
}

fn bind_failure(
    recognised: &Recognised,
    config: &WhyConfig,
    source: &dyn SocketSource,
) -> Result<Diagnosis, Error> {
    let port = recognised.check_port;
    let defaults = recognised.runtime.defaults();
    let addresses = bind_addresses(recognised)?;
    let spec = |address, port, v6only| bind_spec(recognised, address, port, v6only);
    let failed: Vec<CandidateSpec> = addresses
        .iter()
        .map(|&address| spec(address, port, recognised.v6only.or(defaults.v6only)))
        .collect();
    let own_sockets = own_sockets(recognised, &addresses);
    // The program's privileges, not portcheck's: a program that got
    // EADDRINUSE or EADDRNOTAVAIL was allowed the port; one that got
    // EACCES was not. A trial can only confirm what portcheck's own
    // privileges let it see the same way.
    let real = facts::host();
    let (program, comparable) = as_the_program(&real, recognised.failure, port);
    let trial = config.trial && comparable;
    let own_specs = own_sockets
        .iter()
        .map(|own| spec(own.address, own.port, defaults.v6only))
        .collect();
    let (mut result, mut planned) = run_plan(
        own_specs,
        failed.clone(),
        recognised.protocol,
        trial,
        source,
        &program,
    )?;
    let flipped = other_v6only(recognised, &failed, &result, trial, source, &program)?;
    if let Some((other, _)) = &flipped {
        result.clone_from(other);
        planned = 0;
    }
    let index = result
        .outcomes
        .iter()
        .skip(planned)
        .position(|o| o.binds() != Some(true))
        .map_or(planned, |i| i + planned);
    let mut attempt = Attempt { result, index };
    let start = real.unprivileged_port_start;
    if let Some(outcome) = attempt.result.outcomes.get_mut(index) {
        if outcome.verdict.rule() == rules::Rule::PrivilegedPort {
            // try's sentence names portcheck's own uid; this is about the
            // program that failed.
            outcome.message = format!(
                "port {port} is below net.ipv4.ip_unprivileged_port_start ({start}), and the program that failed had neither root nor CAP_NET_BIND_SERVICE"
            );
        }
    }
    let Some(outcome) = attempt.outcome() else {
        return Err(Error::NoCandidates);
    };
    let own_in_way = own_in_the_way(outcome, &own_sockets[..planned.min(own_sockets.len())]);
    let status = match outcome.binds() {
        Some(false) | None if !own_in_way.is_empty() => Status::OwnSocket,
        Some(true) => Status::Gone,
        Some(false) => Status::Present,
        None if !outcome.verdict.conflicts.is_empty() => Status::Present,
        None => Status::Unknown,
    };
    let holders = conflicting_sockets(outcome, &attempt.result.live);
    let target = outcome.candidate.endpoint();
    let mut happened = what_happened(recognised, &target);
    happened.push(address_meaning(recognised, outcome));
    let local_addresses = if recognised.failure == Failure::AddrNotAvail {
        local_addresses()
    } else {
        Vec::new()
    };
    let withheld = (config.trial && !comparable).then_some(if real.can_bind_privileged {
        "portcheck may bind low ports itself, so its bind would not fail as the program's did"
    } else {
        "portcheck may not bind low ports itself, so its bind would fail for another reason"
    });
    let (summary, why) = if status == Status::OwnSocket {
        own_socket_why(recognised, outcome, &own_in_way, withheld)
    } else {
        bind_why(
            recognised,
            outcome,
            status,
            &local_addresses,
            (start, withheld),
        )
    };
    let (summary, why) = with_flip(flipped.as_ref().map(|(_, w)| w.as_str()), summary, why);
    let warnings = attempt.result.warnings.clone();
    Ok(Diagnosis {
        status,
        summary,
        happened,
        why,
        holders,
        attempt: Some(attempt),
        resolve: None,
        local_addresses,
        unprivileged_port_start: start,
        own_sockets,
        nearby: Vec::new(),
        warnings,
    })
}

/// The host as the program that failed saw it, and whether portcheck's own
/// trial would fail the same way.
fn as_the_program(real: &rules::Host, failure: Failure, port: u16) -> (rules::Host, bool) {
    let program = rules::Host {
        can_bind_privileged: failure != Failure::Access,
        ..real.clone()
    };
    let privileged = port < real.unprivileged_port_start;
    let comparable = match failure {
        Failure::Access => !real.can_bind_privileged,
        _ => real.can_bind_privileged || !privileged,
    };
    (program, comparable)
}

/// The diagnosis under the other IPV6_V6ONLY value, said as such.
fn with_flip(flipped: Option<&str>, summary: String, why: Vec<String>) -> (String, Vec<String>) {
    let Some(words) = flipped else {
        return (summary, why);
    };
    let mut lines = vec![format!(
        "with the assumed IPV6_V6ONLY nothing is in the way; with {words} the bind fails as the message says:"
    )];
    lines.extend(why);
    (format!("if {words}: {summary}"), lines)
}

/// A failed `[::]` bind whose IPV6_V6ONLY the message does not say, and
/// which binds with the value assumed: checked with the other value too.
/// Where that one fails on a live socket, it is the likelier account of
/// the failure (nginx's `listen [::]:80 ipv6only=off` beside a holder of
/// 0.0.0.0:80): the result, and the option in the runtime's words.
fn other_v6only(
    recognised: &Recognised,
    failed: &[CandidateSpec],
    result: &TryResult,
    trial: bool,
    source: &dyn SocketSource,
    program: &rules::Host,
) -> Result<Option<(TryResult, String)>, Error> {
    let [spec] = failed else {
        return Ok(None);
    };
    let Some(outcome) = result.outcomes.last() else {
        return Ok(None);
    };
    let wildcard6 = matches!(spec.address, IpAddr::V6(v6) if v6.is_unspecified());
    if !wildcard6 || recognised.v6only.is_some() || outcome.binds() != Some(true) {
        return Ok(None);
    }
    let other = !outcome.candidate.options.v6only;
    let mut flipped = spec.clone();
    flipped.choices.v6only = Some(other);
    let (again, _) = run_plan(
        Vec::new(),
        vec![flipped],
        recognised.protocol,
        trial,
        source,
        program,
    )?;
    let fails_on_live = again.outcomes.first().is_some_and(|o| {
        o.binds() == Some(false)
            && o.verdict
                .conflicts
                .iter()
                .any(|c| matches!(c.holder, Holder::Live(_)))
    });
    let words = match (recognised.runtime, other) {
        (Runtime::Nginx, false) => "ipv6only=off".to_owned(),
        (Runtime::Nginx, true) => "ipv6only=on".to_owned(),
        (_, false) => "IPV6_V6ONLY off (dual-stack)".to_owned(),
        (_, true) => "IPV6_V6ONLY on".to_owned(),
    };
    Ok(fails_on_live.then_some((again, words)))
}

/// The candidate of one socket the program bound, with its runtime's options.
fn bind_spec(
    recognised: &Recognised,
    address: IpAddr,
    port: u16,
    v6only: Option<bool>,
) -> CandidateSpec {
    CandidateSpec {
        text: endpoint(address, port, None),
        protocol: Some(recognised.protocol),
        address,
        scope: None,
        port,
        choices: OptionChoices {
            v6only: if address.is_ipv6() { v6only } else { None },
            reuseaddr: recognised.runtime.defaults().reuseaddr,
            ..OptionChoices::default()
        },
    }
}

/// The program's own sockets (the first candidates of the plan) that a
/// verdict names.
pub fn own_in_the_way<'a>(outcome: &Outcome, own: &'a [OwnSocket]) -> Vec<&'a OwnSocket> {
    let mut found: Vec<&OwnSocket> = Vec::new();
    for conflict in &outcome.verdict.conflicts {
        if let Holder::Candidate(i) = conflict.holder {
            if let Some(socket) = own.get(i) {
                if !found.contains(&socket) {
                    found.push(socket);
                }
            }
        }
    }
    found
}

/// The plan the program ran: its own sockets first, then the failed
/// one. Where one of its own would not bind now, the plan is not what
/// ran (another program holds that address now), and the failed bind is
/// checked alone. Returns the result and how many own sockets it planned.
fn run_plan(
    own: Vec<CandidateSpec>,
    failed: Vec<CandidateSpec>,
    protocol: Protocol,
    trial: bool,
    source: &dyn SocketSource,
    program: &rules::Host,
) -> Result<(TryResult, usize), Error> {
    let run = |specs: Vec<CandidateSpec>| {
        bind::run_as(
            &TryConfig {
                specs,
                defaults: OptionChoices::default(),
                default_protocol: protocol,
                trial,
            },
            source,
            program.clone(),
        )
    };
    let planned = own.len();
    if planned > 0 {
        let result = run(own.into_iter().chain(failed.iter().cloned()).collect())?;
        if result
            .outcomes
            .iter()
            .take(planned)
            .all(|o| o.binds() == Some(true))
        {
            return Ok((result, planned));
        }
    }
    Ok((run(failed)?, 0))
}

/// The program's announced sockets as addresses (a wildcard read as its
/// runtime binds one), without repeats and without the failed bind itself
/// (announced by an earlier run in the same log, it is not in the way of
/// this one).
fn own_sockets(recognised: &Recognised, failed: &[IpAddr]) -> Vec<OwnSocket> {
    let wildcard = match recognised.runtime.defaults().default_host {
        DefaultHost::Address(ip) if ip.is_unspecified() => ip,
        _ => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    let mut own: Vec<OwnSocket> = Vec::new();
    for announced in &recognised.announced {
        let address = match &announced.host {
            HostText::Ip(ip) => *ip,
            HostText::Wildcard => wildcard,
            HostText::Name(_) => continue,
        };
        let socket = OwnSocket {
            protocol: announced.protocol,
            address,
            port: announced.port,
            line: announced.line,
        };
        let same = |o: &OwnSocket| o.address == address && o.port == socket.port;
        let is_failed = socket.port == recognised.check_port && failed.contains(&address);
        if !is_failed && !own.iter().any(same) {
            own.push(socket);
        }
    }
    own
}

fn own_socket_why(
    recognised: &Recognised,
    outcome: &Outcome,
    own: &[&OwnSocket],
    withheld: Option<&str>,
) -> (String, Vec<String>) {
    let program = match recognised.runtime {
        Runtime::Unknown => "the program",
        runtime => runtime.defaults().name,
    };
    let me = format!(
        "{} {}",
        outcome.candidate.protocol.name(),
        outcome.candidate.endpoint()
    );
    let trial = match withheld {
        Some(reason) => format!("; no trial: {reason}"),
        None => trial_words(outcome),
    };
    let mut why = Vec::new();
    for socket in own {
        why.push(format!(
            "line {} announced {}: a socket of the program's own, bound before the one that failed",
            socket.line,
            socket.endpoint()
        ));
    }
    why.push(format!(
        "{} [{}{trial}]",
        outcome.message,
        outcome.verdict.rule().name()
    ));
    why.push(
        "nothing else is in the way: starting the program again fails the same way, every time"
            .into(),
    );
    let named: Vec<String> = own.iter().map(|s| s.endpoint()).collect();
    let summary = format!(
        "{program}'s own earlier socket {} is in the way of {me}",
        named.join(" and ")
    );
    (summary, why)
}

/// The addresses the program bound: the message's, or a name's addresses
/// (only the first where the runtime binds only that, as Node's
/// `dns.lookup` does).
fn bind_addresses(recognised: &Recognised) -> Result<Vec<IpAddr>, Error> {
    match &recognised.check_host {
        Host::Ip(ip) => Ok(vec![*ip]),
        Host::Name(name) => {
            let mut all = resolve::system::resolve(name, recognised.protocol)?;
            let mut seen = Vec::new();
            all.retain(|a| {
                let fresh = !seen.contains(a);
                seen.push(*a);
                fresh
            });
            if recognised.runtime.defaults().binds_first_address_only {
                all.truncate(1);
            }
            Ok(all)
        }
    }
}

/// The live sockets a verdict names, without repeats.
fn conflicting_sockets(outcome: &Outcome, live: &[Socket]) -> Vec<Socket> {
    let mut sockets: Vec<Socket> = Vec::new();
    for conflict in &outcome.verdict.conflicts {
        if let Holder::Live(index) = conflict.holder {
            if let Some(socket) = live.get(index) {
                if !sockets.contains(socket) {
                    sockets.push(socket.clone());
                }
            }
        }
    }
    sockets
}

/// What the address the program asked for means: Node's `:::3000` is the
/// IPv6 wildcard, dual-stack.
fn address_meaning(recognised: &Recognised, outcome: &Outcome) -> String {
    let candidate = &outcome.candidate;
    let runtime = recognised.runtime.defaults().name;
    let me = candidate.endpoint();
    let written = recognised
        .written
        .as_deref()
        .filter(|w| *w != me)
        .map(|w| format!("'{w}' is {me}; "))
        .unwrap_or_default();
    let meaning = match candidate.address {
        IpAddr::V6(v6) if v6.is_unspecified() => {
            if candidate.options.v6only {
                format!(
                    "[::] is the IPv6 wildcard, here with IPV6_V6ONLY ({}): IPv6 only",
                    if recognised.runtime.defaults().v6only == Some(true) {
                        format!("{runtime} sets it")
                    } else {
                        "net.ipv6.bindv6only = 1".to_owned()
                    }
                )
            } else {
                format!(
                    "[::] is the IPv6 wildcard, which {} binds without IPV6_V6ONLY (dual-stack), so it also takes every IPv4 address",
                    if recognised.runtime.defaults().v6only == Some(false) {
                        runtime
                    } else {
                        "the system (net.ipv6.bindv6only = 0)"
                    }
                )
            }
        }
        IpAddr::V4(v4) if v4.is_unspecified() => {
            "0.0.0.0 is the IPv4 wildcard: every IPv4 address".to_owned()
        }
        address if address.is_loopback() => format!("{address} is a loopback address"),
        address => format!("{address} is one specific address"),
    };
    let reuse = if candidate.options.reuseaddr {
        "with SO_REUSEADDR"
    } else {
        "without SO_REUSEADDR"
    };
    format!("{written}{meaning}; checked {reuse}, as {runtime} binds")
}

fn bind_why(
    recognised: &Recognised,
    outcome: &Outcome,
    status: Status,
    local_addresses: &[IpAddr],
    (start, withheld): (u16, Option<&str>),
) -> (String, Vec<String>) {
    let candidate = &outcome.candidate;
    let me = format!("{} {}", candidate.protocol.name(), candidate.endpoint());
    let mut why = Vec::new();
    let rule = outcome.verdict.rule().name();
    let trial = match withheld {
        Some(reason) => format!("; no trial: {reason}"),
        None => trial_words(outcome),
    };
    let summary = match (status, recognised.failure) {
        (Status::Gone, Failure::Access) => {
            why.push(format!(
                "port {} is not below net.ipv4.ip_unprivileged_port_start ({start}) now, so an unprivileged program may bind it: the sysctl was lowered since, or the program was refused by something else (a security module such as SELinux or AppArmor, a sandbox)",
                candidate.port
            ));
            format!("{me} is not a privileged port here now")
        }
        (Status::Gone, _) => {
            why.push(format!("{} [{rule}{trial}]", outcome.message));
            why.push(format!(
                "so the cause has gone (the holder exited, or the address is there now), or it was the program itself: a socket of its own bound before this one, which no log line here announces; `{}` checks that plan",
                own_plan_check(recognised, candidate)
            ));
            format!(
                "nothing is in the way of {me} now: the cause has gone, or was the program itself"
            )
        }
        (_, Failure::Access) => {
            why.push(format!("rule {rule}{trial}"));
            why.push(
                "ports below ip_unprivileged_port_start are for root and for processes with CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start covers IPv6 too)".into(),
            );
            outcome.message.clone()
        }
        (_, Failure::AddrNotAvail) => {
            why.push(format!("rule {rule}{trial}"));
            let list: Vec<String> = local_addresses.iter().map(ToString::to_string).collect();
            why.push(format!(
                "this host's addresses: {}",
                if list.is_empty() {
                    "none could be listed".to_owned()
                } else {
                    list.join(", ")
                }
            ));
            outcome.message.clone()
        }
        _ => {
            why.push(format!("rule {rule}{trial}"));
            if outcome.verdict.errno().map(rules::Errno::name) != Some(recognised.failure.name())
                && outcome.binds() == Some(false)
            {
                why.push(format!(
                    "now it fails differently from the message ({}): the cause has changed",
                    outcome.verdict.errno().map_or("?", rules::Errno::name)
                ));
            }
            outcome.message.clone()
        }
    };
    (summary, why)
}

/// The `portcheck try` plan that checks whether the program's own earlier
/// socket on the port is the cause: for an IPv4 bind an earlier `[::]`
/// (dual-stack, the classic), for `[::]` an earlier `0.0.0.0`, for a
/// specific IPv6 address an earlier `[::]`.
pub fn own_plan_check(
    recognised: &Recognised,
    candidate: &crate::bind::candidate::Candidate,
) -> String {
    let port = candidate.port;
    let dual = if recognised.runtime.defaults().v6only == Some(false) {
        "/dualstack"
    } else {
        ""
    };
    let udp = if candidate.protocol == Protocol::Udp {
        "udp:"
    } else {
        ""
    };
    let me = endpoint(candidate.address, port, None);
    let me = if candidate.address.is_ipv6() {
        format!("'{udp}{me}'")
    } else {
        format!("{udp}{me}")
    };
    match candidate.address {
        IpAddr::V6(v6) if v6.is_unspecified() => {
            format!("portcheck try {udp}0.0.0.0:{port} {me}")
        }
        _ => format!("portcheck try '{udp}[::]:{port}{dual}' {me}"),
    }
}

fn trial_words(outcome: &Outcome) -> String {
    let trial = &outcome.trial;
    if !trial.performed {
        return trial
            .skipped
            .map(|s| format!("; no trial: {}", s.code()))
            .unwrap_or_default();
    }
    let seen = match trial.ok {
        Some(true) => "binds".to_owned(),
        _ => format!(
            "{} at {}",
            trial.error.as_deref().unwrap_or("error"),
            trial.stage.map_or("bind", rules::Stage::name)
        ),
    };
    let agreement = match outcome.agree {
        Some(true) => ", as predicted",
        Some(false) => ", NOT as predicted: the kernel is right",
        None => "",
    };
    format!("; trial: {seen}{agreement}")
}

/// Every address of this host (the current network namespace).
fn local_addresses() -> Vec<IpAddr> {
    let mut addresses: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|interfaces| interfaces.iter().map(if_addrs::Interface::ip).collect())
        .unwrap_or_default();
    addresses.sort();
    addresses.dedup();
    addresses
}

fn connect_failure(recognised: &Recognised, source: &dyn SocketSource) -> Result<Diagnosis, Error> {
    let port = recognised.check_port;
    let config = ResolveConfig {
        query: Query {
            host: recognised.check_host.to_string(),
            port: Some(port),
        },
        protocol: Protocol::Tcp,
        connect: false,
        dns: false,
        dns_server: None,
        probe: false,
    };
    let result = resolve::run(&config, source)?;
    let status = if result.reached.is_some() {
        Status::Gone
    } else if !result.destinations.is_empty()
        && result
            .destinations
            .iter()
            .all(|d| d.outcome == Some(Reach::NotLocal))
    {
        Status::Unknown
    } else {
        Status::Present
    };
    let target = match &recognised.check_host {
        Host::Ip(ip) => endpoint(*ip, port, None),
        Host::Name(name) => format!("{name}:{port}"),
    };
    let holders: Vec<Socket> = result
        .live
        .iter()
        .filter(|s| s.state == State::Listen)
        .cloned()
        .collect();
    let happened = what_happened(recognised, &target);
    let mut warnings = result.warnings.clone();
    let refused = result
        .destinations
        .iter()
        .any(|d| d.outcome == Some(Reach::Refused));
    let nearby = if status == Status::Present && refused && holders.is_empty() {
        let (table, more) = crate::sockets::described_table(
            source,
            vec![Protocol::Tcp],
            vec![PortRange {
                low: 1,
                high: u16::MAX,
            }],
            |s| s.state == State::Listen,
        )?;
        warnings.extend(more);
        nearby::intended(recognised.format.family, port, &table)
    } else {
        Vec::new()
    };
    let (summary, why) = connect_why(&result, port, status, &holders, &nearby);
    Ok(Diagnosis {
        status,
        summary,
        happened,
        why,
        holders,
        attempt: None,
        resolve: Some(result),
        local_addresses: Vec::new(),
        unprivileged_port_start: facts::host().unprivileged_port_start,
        own_sockets: Vec::new(),
        nearby,
        warnings,
    })
}

/// The one family every listener takes, or `None` when they take both
/// (or there are none).
pub fn listeners_take(listeners: &[Socket]) -> Option<Family> {
    if listeners.is_empty() {
        return None;
    }
    if listeners
        .iter()
        .all(|s| s.local_address.is_ipv4() || s.mapped_ipv4().is_some())
    {
        return Some(Family::Ipv4);
    }
    listeners
        .iter()
        .all(|s| s.local_address.is_ipv6() && s.accepts_ipv4() == Some(false))
        .then_some(Family::Ipv6)
}

/// Why the family the client tried is refused while the port is served
/// on another address.
fn family_why(tried: IpAddr, listeners: &[Socket]) -> String {
    let family = if tried.is_ipv6() { "IPv6" } else { "IPv4" };
    match (tried.is_ipv6(), listeners_take(listeners)) {
        (true, Some(Family::Ipv4)) => format!(
            "the client tried {family} ({tried}) and the service takes IPv4 only: a name such as localhost gives ::1 first (RFC 6724), and a client that tries only the first address (Node before autoSelectFamily) is refused"
        ),
        (false, Some(Family::Ipv6)) if loopback_v6_only(listeners) => format!(
            "the client tried {family} ({tried}) and the service listens on ::1 only: IPv4-only clients fail (one given 127.0.0.1, or a name it looks up for IPv4 only); point the client at ::1, or make the service listen on 127.0.0.1 too"
        ),
        (false, Some(Family::Ipv6)) => format!(
            "the client tried {family} ({tried}) and the service takes IPv6 only (IPV6_V6ONLY or a specific IPv6 address)"
        ),
        _ => format!("the client tried {tried}, an address none of them is bound to"),
    }
}

/// Every listener is bound to ::1 itself (not a wildcard).
fn loopback_v6_only(listeners: &[Socket]) -> bool {
    listeners
        .iter()
        .all(|s| s.local_address == IpAddr::V6(std::net::Ipv6Addr::LOCALHOST))
}

/// A destination with no route: no server refused anything.
fn unreachable_why(
    destination: Option<&crate::resolve::DestinationReport>,
    port: u16,
    why: &mut Vec<String>,
) -> String {
    let Some(d) = destination else {
        return String::new();
    };
    why.push(format!(
        "no server refused it: a connect to {} never leaves this host",
        d.address
    ));
    format!(
        "{} is unreachable from here: this host has no route to {}",
        endpoint(d.address, port, None),
        d.address
    )
}

/// One line per listener the client may have meant.
fn nearby_why(n: &Nearby, asked: u16) -> String {
    let at = endpoint(n.address, n.port, None);
    if n.same_program {
        format!(
            "{} listens on {at}: the program this client talks to, on port {} instead of {asked}; likely the port meant",
            n.who(),
            n.port
        )
    } else {
        format!(
            "{} listens on {at}, {} ports from {asked}: perhaps the port meant (which program the client talks to is not known here)",
            n.who(),
            n.port.abs_diff(asked)
        )
    }
}

fn connect_why(
    result: &ResolveResult,
    port: u16,
    status: Status,
    listeners: &[Socket],
    nearby: &[Nearby],
) -> (String, Vec<String>) {
    let mut why = Vec::new();
    for destination in &result.destinations {
        let at = endpoint(destination.address, port, None);
        let line = match destination.outcome {
            Some(Reach::Accept) => {
                let by = destination
                    .receivers
                    .first()
                    .and_then(|&i| result.live.get(i))
                    .map_or_else(
                        || "a listener".to_owned(),
                        crate::bind::explain::holder_name,
                    );
                format!("{at} accepts now: {by} listens")
            }
            Some(Reach::Refused) => format!(
                "{at} is refused: nothing listens on {} port {port}, nor on a wildcard that covers it",
                destination.address
            ),
            Some(Reach::Unreachable) => {
                format!("{at} is unreachable: this host has no route to it")
            }
            Some(Reach::NotLocal) | None => {
                format!("{at} is not an address of this host: its sockets cannot be seen from here")
            }
        };
        why.push(line);
    }
    let describe = |s: &Socket| {
        format!(
            "{} ({}), by {}",
            endpoint(s.local_address, s.local_port, s.device_shown()),
            crate::report::table::takes(s),
            crate::bind::explain::holder_name(s)
        )
    };
    let refused = result
        .destinations
        .iter()
        .find(|d| matches!(d.outcome, Some(Reach::Refused | Reach::Unreachable)));
    let unreachable = refused.filter(|d| d.outcome == Some(Reach::Unreachable));
    let summary = match status {
        Status::Present if unreachable.is_some() => unreachable_why(unreachable, port, &mut why),
        Status::Gone | Status::OwnSocket => {
            let reached = result.reached.and_then(|i| result.destinations.get(i));
            format!(
                "{} accepts now: the service is up",
                reached.map_or_else(
                    || format!("port {port}"),
                    |d| endpoint(d.address, port, None)
                )
            )
        }
        Status::Unknown => format!(
            "{} is not on this host: run portcheck on that host to see its sockets",
            result.config.query.host
        ),
        Status::Present => match (refused, listeners.is_empty()) {
            (Some(d), false) => {
                why.push(family_why(d.address, listeners));
                format!(
                    "nothing listens on {}; port {port} is served only on {}",
                    endpoint(d.address, port, None),
                    listeners
                        .iter()
                        .map(describe)
                        .collect::<Vec<_>>()
                        .join(" and ")
                )
            }
            (Some(d), true) => {
                if nearby.is_empty() {
                    why.push(
                        "the service is not running, or listens elsewhere: another port, or another network namespace (a container)".into(),
                    );
                }
                why.extend(nearby.iter().map(|n| nearby_why(n, port)));
                format!(
                    "nothing listens on port {port} on any address here, so {} is refused",
                    endpoint(d.address, port, None)
                )
            }
            (None, _) => format!("no destination of {} accepts", result.config.query.host),
        },
    };
    (summary, why)
}
