//! Fixes: suggestions with the exact command where there is one.
//! portcheck itself never kills, stops or changes anything.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::diagnose::{Diagnosis, Status, listeners_take};
use super::patterns::Failure;
use super::recognise::Recognised;
use super::runtime::Runtime;
use crate::bind::Outcome;
use crate::bind::explain::holder_name;
use crate::bind::rules::{Holder, Overlap};
use crate::free::{self, FreeConfig};
use crate::model::{Family, OwnerGap, Process, Socket, State, endpoint};
use crate::sockets::SocketSource;
use crate::target::PortRange;

/// One suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// Stable: `stop_process`, `stop_unit`, `stop_container`, `other_port`,
    /// `set_v6only`, `holder_v6only`, `set_reuseaddr`, `wait_time_wait`,
    /// `see_owner`, `retry`, `unprivileged_port`, `grant_capability`,
    /// `lower_unprivileged_port_start`, `bind_local_address`, `freebind`,
    /// `connect_to_listener`, `prefer_ipv4`, `listen_on_family`,
    /// `start_service`, `remote_host`.
    pub kind: &'static str,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    /// The systemd unit (`stop_unit`).
    pub unit: Option<String>,
    /// A shell command to run.
    pub command: Option<String>,
    /// A setting to change in the program or its configuration.
    pub setting: Option<String>,
    pub description: String,
}

impl Fix {
    fn new(kind: &'static str, description: impl Into<String>) -> Fix {
        Fix {
            kind,
            pid: None,
            port: None,
            unit: None,
            command: None,
            setting: None,
            description: description.into(),
        }
    }

    fn command(mut self, command: impl Into<String>) -> Fix {
        self.command = Some(command.into());
        self
    }

    fn setting(mut self, setting: impl Into<String>) -> Fix {
        self.setting = Some(setting.into());
        self
    }

    fn pid(mut self, pid: u32) -> Fix {
        self.pid = Some(pid);
        self
    }
}

pub fn suggest(
    recognised: &Recognised,
    diagnosis: &Diagnosis,
    source: &dyn SocketSource,
) -> Vec<Fix> {
    let port = recognised.check_port;
    match (diagnosis.status, recognised.failure) {
        (Status::OwnSocket, _) => own_socket(recognised, diagnosis, source),
        (Status::Gone, failure) if failure.is_bind() => {
            let mut fixes = Vec::new();
            if let Some(outcome) = diagnosis.attempt.as_ref().and_then(|a| a.outcome()) {
                fixes.push(
                    Fix::new(
                        "check_own_sockets",
                        format!(
                            "if the program binds another socket on port {port} before {} (no line here says so), check that plan: a failure there is the program in its own way, and restarting fails the same way",
                            outcome.candidate.endpoint()
                        ),
                    )
                    .command(super::diagnose::own_plan_check(recognised, &outcome.candidate)),
                );
            }
            fixes.push(Fix::new(
                "retry",
                "if another program was in the way and has exited since: start the program again",
            ));
            fixes
        }
        // The server listens on TCP, but the client tried a Unix socket
        // (psql without -h): over TCP it gets in.
        (Status::Gone, _) if recognised.unix_socket.is_some() => {
            let mut fix = Fix::new(
                "connect_to_listener",
                format!(
                    "the server accepts on TCP port {port}, not on the Unix socket the client tried: connect over TCP"
                ),
            )
            .command(format!("psql -h 127.0.0.1 -p {port}"));
            fix.port = Some(port);
            vec![fix]
        }
        (Status::Gone, _) => vec![Fix::new(
            "retry",
            "the service accepts now: try the client again",
        )],
        // A host that refused answered, so it can be asked; one that did
        // not answer (no route, no reply) cannot be reached by ssh either.
        (Status::Unknown, Failure::ConnRefused) => vec![
            Fix::new(
                "remote_host",
                format!(
                    "{} is another host: look there for what listens on port {port}",
                    recognised.check_host
                ),
            )
            .command(format!(
                "ssh {} portcheck who {port}",
                recognised.check_host
            )),
        ],
        (Status::Unknown, failure) if !failure.is_bind() => vec![
            Fix::new(
                "remote_host",
                format!(
                    "{} is another host, and the message does not say that it answered: check the address and the path to it first; once it answers, look there for what listens on port {port}",
                    recognised.check_host
                ),
            ),
            Fix::new(
                "check_route",
                "which route (if any) this host would take to it",
            )
            .command(format!("ip route get {}", recognised.check_host)),
        ],
        (_, Failure::AddrInUse) => address_in_use(recognised, diagnosis, source),
        (_, Failure::Access) => privileged(recognised, diagnosis, source),
        (_, Failure::AddrNotAvail) => not_available(recognised, diagnosis),
        _ => refused(recognised, diagnosis),
    }
}

fn address_in_use(
    recognised: &Recognised,
    diagnosis: &Diagnosis,
    source: &dyn SocketSource,
) -> Vec<Fix> {
    let port = recognised.check_port;
    let runtime = recognised.runtime.defaults();
    let mut fixes = Vec::new();
    let mut seen = BTreeSet::new();
    let mut time_wait = false;
    let own_unit = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|text| systemd_unit(&text));
    for socket in &diagnosis.holders {
        if socket.state == State::TimeWait {
            time_wait = true;
            continue;
        }
        if socket.processes.is_empty() {
            if seen.insert(0) {
                fixes.push(see_owner(socket, port));
            }
            continue;
        }
        if let Some(target) = &socket.forwards_to {
            fixes.push(
                Fix::new(
                    "stop_container",
                    format!(
                        "docker-proxy publishes port {port} for a container (it forwards to {target}): stop or re-map that container"
                    ),
                )
                .command(format!("docker ps --filter publish={port}")),
            );
            continue;
        }
        // Master and workers (nginx, Apache) share the socket: the master
        // respawns a killed worker, so only it is named, once.
        let parents: Vec<(u32, Option<u32>)> = socket
            .processes
            .iter()
            .map(|p| (p.pid, parent_pid(p.pid)))
            .collect();
        let owner = group_owner(&parents);
        for process in &socket.processes {
            if owner.is_some_and(|o| o != process.pid) {
                seen.insert(process.pid);
                continue;
            }
            if seen.insert(process.pid) {
                let workers = parents.len() - 1;
                fixes.extend(stop_holder(
                    process,
                    own_unit.as_ref(),
                    port,
                    owner.map(|_| workers),
                ));
            }
        }
    }
    if let Some(outcome) = diagnosis.attempt.as_ref().and_then(|a| a.outcome()) {
        fixes.extend(dual_stack_fixes(
            outcome,
            diagnosis,
            runtime.v6only_setting,
            port,
        ));
        if time_wait && !outcome.candidate.options.reuseaddr {
            fixes.push(
                Fix::new(
                    "set_reuseaddr",
                    "a TIME_WAIT entry holds the port and the program binds without SO_REUSEADDR: set it before bind()",
                )
                .setting(runtime.reuseaddr_setting),
            );
            fixes.push(Fix::new(
                "wait_time_wait",
                "or wait: TIME_WAIT entries expire within 60 seconds",
            ));
        }
    }
    if let Some(low) = port.checked_add(1) {
        fixes.push(other_port(recognised, source, low));
    }
    fixes
}

/// The program's own earlier socket is in the way: change the program (in
/// its runtime's terms), never retry.
fn own_socket(
    recognised: &Recognised,
    diagnosis: &Diagnosis,
    source: &dyn SocketSource,
) -> Vec<Fix> {
    let port = recognised.check_port;
    let runtime = recognised.runtime.defaults();
    let Some(outcome) = diagnosis.attempt.as_ref().and_then(|a| a.outcome()) else {
        return Vec::new();
    };
    let failed = outcome.candidate.endpoint();
    let in_way: Vec<&super::diagnose::OwnSocket> = outcome
        .verdict
        .conflicts
        .iter()
        .filter_map(|c| match c.holder {
            Holder::Candidate(i) => diagnosis.own_sockets.get(i),
            Holder::Live(_) => None,
        })
        .collect();
    let dual_stack_own: Vec<String> = outcome
        .verdict
        .conflicts
        .iter()
        .filter(|c| {
            c.overlap == Overlap::HolderDualStack && matches!(c.holder, Holder::Candidate(_))
        })
        .filter_map(|c| match c.holder {
            Holder::Candidate(i) => diagnosis
                .own_sockets
                .get(i)
                .map(super::diagnose::OwnSocket::endpoint),
            Holder::Live(_) => None,
        })
        .collect();
    let mut fixes = Vec::new();
    if !dual_stack_own.is_empty() {
        let own = dual_stack_own.join(", ");
        let mut fix = Fix::new(
            "set_v6only",
            format!(
                "set IPV6_V6ONLY on the program's own {own} before bind, so that it is IPv6 only and leaves IPv4 to {failed}: both then bind"
            ),
        )
        .setting(runtime.v6only_setting.replace("PORT", &port.to_string()));
        fix.port = Some(port);
        fixes.push(fix);
        if recognised.runtime == Runtime::Rust {
            // tokio 1.x's TcpSocket has set_reuseaddr, set_reuseport,
            // set_nodelay, ... but no IPV6_V6ONLY setter (tokio
            // src/net/tcp/socket.rs); axum-server's from_tcp_rustls takes a
            // std::net::TcpListener (and returns a Result from 0.8 on).
            fixes.push(
                Fix::new(
                    "set_v6only",
                    "with tokio or axum-server: tokio's TcpSocket has no set_only_v6, so build the socket with socket2 (set_only_v6(true), bind, listen, set_nonblocking(true)) and hand it over",
                )
                .setting("let std_listener: std::net::TcpListener = socket.into(); tokio::net::TcpListener::from_std(std_listener)? (or axum_server::from_tcp_rustls(std_listener, rustls_config))"),
            );
        }
        if outcome.candidate.address.is_ipv4() && outcome.candidate.address.is_unspecified() {
            fixes.push(Fix::new(
                "one_socket",
                format!(
                    "or drop the bind of {failed}: the program's own {own} without IPV6_V6ONLY already takes IPv4 clients (as ::ffff:a.b.c.d), so one socket serves both"
                ),
            ));
        }
    } else if !in_way.is_empty() {
        let own: Vec<String> = in_way.iter().map(|s| s.endpoint()).collect();
        fixes.push(Fix::new(
            "one_socket",
            format!(
                "bind {failed} only once: the program's own {} already covers it, so one socket serves both (or bind distinct addresses)",
                own.join(", ")
            ),
        ));
    }
    if port == 443 {
        fixes.push(Fix::new(
            "other_port",
            "or serve the HTTP redirect where HTTP clients come: port 80 (0.0.0.0:80 and [::]:80), not 443",
        ));
    } else if let Some(low) = port.checked_add(1) {
        let mut other = other_port(recognised, source, low);
        other.description = format!(
            "or bind the second socket on another port ({})",
            free_now(other.port)
        );
        fixes.push(other);
    }
    fixes
}

/// The parent pid of `pid`, from /proc/PID/stat (the field after the
/// parenthesised name, which may itself hold spaces and parentheses).
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after) = stat.rsplit_once(')')?;
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The process that owns a group sharing one socket: the one every other
/// holder is a child of (nginx's master, Apache's parent).
pub fn group_owner(holders: &[(u32, Option<u32>)]) -> Option<u32> {
    if holders.len() < 2 {
        return None;
    }
    holders.iter().map(|(pid, _)| *pid).find(|&owner| {
        holders
            .iter()
            .all(|(pid, parent)| *pid == owner || *parent == Some(owner))
    })
}

/// How to stop a holder: its unit or container first, then `portcheck
/// stop PORT` (which stops what holds the port; `kill PID` by hand). For
/// the owner of a group, `workers` is how many children share the socket.
fn stop_holder(
    process: &Process,
    own_unit: Option<&(String, bool)>,
    port: u16,
    workers: Option<usize>,
) -> Vec<Fix> {
    let name = process
        .shown_name()
        .unwrap_or_else(|| "the holder".to_owned());
    let mut fixes = Vec::new();
    if let Some(container) = &process.container {
        let short: String = container.id.chars().take(12).collect();
        let tool = match container.runtime {
            "docker" => Some("docker"),
            "podman" => Some("podman"),
            _ => None,
        };
        let fix = Fix::new(
            "stop_container",
            format!(
                "{name} (pid {}) runs in {} container {short}: stop the container",
                process.pid, container.runtime
            ),
        )
        .pid(process.pid);
        fixes.push(match tool {
            Some(tool) => fix.command(format!("{tool} stop {short}")),
            None => fix,
        });
    }
    let unit = std::fs::read_to_string(format!("/proc/{}/cgroup", process.pid))
        .ok()
        .and_then(|text| systemd_unit(&text))
        .filter(|unit| Some(unit) != own_unit);
    if let Some((unit, user)) = unit {
        let short = unit.strip_suffix(".service").unwrap_or(&unit);
        let systemctl = if user {
            "systemctl --user"
        } else {
            "systemctl"
        };
        let mut fix = Fix::new(
            "stop_unit",
            format!(
                "{name} (pid {}) belongs to the systemd unit {unit}, which may restart it when killed: stop the unit",
                process.pid
            ),
        )
        .pid(process.pid)
        .command(format!("{systemctl} stop {short}"));
        fix.unit = Some(unit.clone());
        fixes.push(fix);
    }
    let sudo = match (process.uid, crate::bind::facts::euid()) {
        (Some(owner), me) if me != 0 && owner != me => "sudo ",
        _ => "",
    };
    let what = match workers {
        Some(n) => format!(
            "stop {name} (pid {}), which holds the port with {} it started (it would start a killed one again): stop it, not them",
            process.pid,
            crate::warning::counted(n, "worker", "workers")
        ),
        None => format!("stop {name} (pid {}), which holds the port", process.pid),
    };
    fixes.push(
        Fix::new(
            "stop_process",
            format!("{what} (by hand: {sudo}kill {})", process.pid),
        )
        .pid(process.pid)
        .command(format!("{sudo}portcheck stop {port}")),
    );
    // nginx's own way: `-s quit` signals the master named by the pid file
    // of its configuration (the default one, unless -c says otherwise).
    if workers.is_some()
        && process
            .name
            .as_ref()
            .is_some_and(|n| n.escaped(64) == "nginx")
    {
        fixes.push(
            Fix::new(
                "stop_master",
                format!(
                    "or let nginx stop gracefully (with the -c of the configuration it runs, if not the default one): the master (pid {}) closes its workers",
                    process.pid
                ),
            )
            .pid(process.pid)
            .command(format!("{sudo}nginx -s quit")),
        );
    }
    fixes
}

/// IPV6_V6ONLY where dual-stack is the cause: on the program's `[::]`, or
/// on the holder's.
fn dual_stack_fixes(
    outcome: &Outcome,
    diagnosis: &Diagnosis,
    v6only_setting: &str,
    port: u16,
) -> Vec<Fix> {
    let live = diagnosis
        .attempt
        .as_ref()
        .map(|a| a.result.live.as_slice())
        .unwrap_or_default();
    let conflicts = &outcome.verdict.conflicts;
    let mut fixes = Vec::new();
    if !conflicts.is_empty()
        && conflicts
            .iter()
            .all(|c| c.overlap == Overlap::CandidateDualStack)
    {
        let holders: Vec<String> = diagnosis.holders.iter().map(holder_name).collect();
        fixes.push(
            Fix::new(
                "set_v6only",
                format!(
                    "set IPV6_V6ONLY on {}, so that it is IPv6 only and leaves IPv4 to {}: both then bind (or bind 127.0.0.1/::1 rather than the wildcard)",
                    outcome.candidate.endpoint(),
                    holders.join(", ")
                ),
            )
            .setting(v6only_setting.replace("PORT", &port.to_string())),
        );
    }
    for conflict in conflicts {
        let Holder::Live(index) = conflict.holder else {
            continue;
        };
        if conflict.overlap != Overlap::HolderDualStack {
            continue;
        }
        if let Some(socket) = live.get(index) {
            let mut fix = Fix::new(
                "holder_v6only",
                format!(
                    "{} binds [::]:{port} without IPV6_V6ONLY, which takes IPv4 too: with IPV6_V6ONLY there, {} can bind beside it",
                    holder_name(socket),
                    outcome.candidate.endpoint()
                ),
            )
            .setting("IPV6_V6ONLY on the holder's [::] socket (Node: ipv6Only: true; Go: \"tcp6\"; nginx: ipv6only=on)");
            fix.pid = socket.processes.first().map(|p| p.pid);
            fixes.push(fix);
        }
    }
    fixes
}

/// A free port from `low`, found now by `portcheck free`'s rules.
fn other_port(recognised: &Recognised, source: &dyn SocketSource, low: u16) -> Fix {
    let high = low.saturating_add(99);
    let range = PortRange { low, high };
    let found = free::run(
        &FreeConfig {
            range: Some(range),
            protocols: vec![recognised.protocol],
            count: 1,
        },
        source,
    )
    .ok()
    .and_then(|result| result.ports.first().copied());
    let description = match found {
        Some(port) => format!("use another port: {port} is free now"),
        None => format!("use another port (none is free in {low}-{high} now)"),
    };
    let mut fix = Fix::new("other_port", description).command(format!(
        "portcheck free --range {low}-{high}{}",
        if recognised.protocol == crate::model::Protocol::Udp {
            " -u"
        } else {
            ""
        }
    ));
    fix.port = found;
    fix
}

/// What `other_port` found: "8443 is free now", or that none is.
fn free_now(port: Option<u16>) -> String {
    port.map_or_else(
        || "none free nearby now".to_owned(),
        |p| format!("{p} is free now"),
    )
}

fn privileged(
    recognised: &Recognised,
    diagnosis: &Diagnosis,
    source: &dyn SocketSource,
) -> Vec<Fix> {
    let port = recognised.check_port;
    let start = diagnosis.unprivileged_port_start;
    let program = recognised.runtime.defaults().binary.map_or_else(
        || "/path/to/program".to_owned(),
        |binary| format!("\"$(readlink -f \"$(command -v {binary})\")\""),
    );
    let conventional = port.checked_add(8000).filter(|p| *p >= start);
    let low = conventional.unwrap_or(start.max(1));
    let mut fixes = Vec::new();
    let mut unprivileged = other_port(recognised, source, low);
    unprivileged.kind = "unprivileged_port";
    unprivileged.description = format!(
        "use a port from {start} up, which needs no privilege ({})",
        free_now(unprivileged.port)
    );
    fixes.push(unprivileged);
    fixes.push(
        Fix::new(
            "grant_capability",
            "or let the program bind low ports: grant CAP_NET_BIND_SERVICE to its binary (every user of that binary gets it), or AmbientCapabilities=CAP_NET_BIND_SERVICE in its systemd unit",
        )
        .command(format!("sudo setcap 'cap_net_bind_service=+ep' {program}"))
        .setting("AmbientCapabilities=CAP_NET_BIND_SERVICE"),
    );
    fixes.push(
        Fix::new(
            "lower_unprivileged_port_start",
            format!("or let every program on this host bind ports from {port} up"),
        )
        .command(format!(
            "sudo sysctl -w net.ipv4.ip_unprivileged_port_start={port}"
        )),
    );
    fixes
}

fn not_available(recognised: &Recognised, diagnosis: &Diagnosis) -> Vec<Fix> {
    let ipv6 = matches!(recognised.check_host, super::Host::Ip(IpAddr::V6(_)));
    let wildcard = if ipv6 { "::" } else { "0.0.0.0" };
    let listed: Vec<String> = diagnosis
        .local_addresses
        .iter()
        .filter(|a| a.is_ipv6() == ipv6)
        .map(ToString::to_string)
        .collect();
    vec![
        Fix::new(
            "bind_local_address",
            format!(
                "bind an address this host has: {wildcard} (every address) or one of {}",
                if listed.is_empty() {
                    "its addresses".to_owned()
                } else {
                    listed.join(", ")
                }
            ),
        )
        .setting(server_address_setting(
            recognised.runtime.defaults().binary,
            recognised.runtime,
            wildcard,
        )),
        Fix::new(
            "freebind",
            "or, if the address arrives later (a floating or keepalived address), allow binding it before it exists: IP_FREEBIND on the socket, or for every program the sysctl",
        )
        .command(if ipv6 {
            "sudo sysctl -w net.ipv6.ip_nonlocal_bind=1"
        } else {
            "sudo sysctl -w net.ipv4.ip_nonlocal_bind=1"
        })
        .setting("setsockopt(fd, IPPROTO_IP, IP_FREEBIND, 1)"),
    ]
}

/// The tried destination has no route from here: the route is the fix.
fn no_route(resolved: &crate::resolve::ResolveResult, tried: Option<IpAddr>) -> Option<Fix> {
    let d = resolved
        .destinations
        .iter()
        .find(|d| d.outcome == Some(crate::resolve::Reach::Unreachable))?;
    (Some(d.address) == tried).then(|| {
        Fix::new(
            "check_route",
            format!(
                "this host has no route to {}: check the address, or add the route or interface it needs",
                d.address
            ),
        )
        .command(format!("ip route get {}", d.address))
    })
}

/// Refused with nothing on the port: the other ports the program the
/// client talks to listens on, each as a fix in the client's own flag.
fn connect_to_port(recognised: &Recognised, diagnosis: &Diagnosis) -> Vec<Fix> {
    let port = recognised.check_port;
    diagnosis
        .nearby
        .iter()
        .filter(|n| n.same_program)
        .map(|n| {
            let mut fix = Fix::new(
                "connect_to_port",
                format!(
                    "point the client at port {} (where {} listens) instead of {port}",
                    n.port,
                    n.who()
                ),
            );
            fix.setting = client_port_setting(recognised.format.family, n.port);
            fix.port = Some(n.port);
            fix.pid = n.pid;
            fix
        })
        .collect()
}

fn refused(recognised: &Recognised, diagnosis: &Diagnosis) -> Vec<Fix> {
    let port = recognised.check_port;
    let listeners = &diagnosis.holders;
    let Some(resolved) = &diagnosis.resolve else {
        return Vec::new();
    };
    let tried = resolved
        .destinations
        .iter()
        .find(|d| d.outcome != Some(crate::resolve::Reach::Accept))
        .map(|d| d.address);
    if let Some(fix) = no_route(resolved, tried) {
        return vec![fix];
    }
    if listeners.is_empty() {
        let mut fixes = connect_to_port(recognised, diagnosis);
        fixes.push(
            Fix::new(
                "start_service",
                format!(
                    "start the service on port {port} (or point the client at the port it really uses); this waits until something listens"
                ),
            )
            .command(format!("portcheck wait {port} --until listening")),
        );
        return fixes;
    }
    let Some(tried) = tried else {
        return Vec::new();
    };
    let mut fixes = Vec::new();
    let family = listeners_take(listeners);
    let server_side: Vec<&Socket> = listeners.iter().collect();
    let first = server_side.first();
    let served_at = first.map_or_else(String::new, |s| {
        if s.local_address.is_unspecified() {
            if s.local_address.is_ipv4() {
                "127.0.0.1".to_owned()
            } else {
                "::1".to_owned()
            }
        } else {
            s.local_address.to_string()
        }
    });
    let mut connect = Fix::new(
        "connect_to_listener",
        format!(
            "point the client at {} (where the service listens) instead of {}",
            endpoint(served_at.parse().unwrap_or(tried), port, None),
            endpoint(tried, port, None)
        ),
    )
    .setting(client_address_setting(recognised.format.family, &served_at));
    connect.port = Some(port);
    fixes.push(connect);
    if recognised.format.family == "node" && family == Some(Family::Ipv4) && tried.is_ipv6() {
        fixes.push(
            Fix::new(
                "prefer_ipv4",
                "if the client asked for localhost: Node 17+ takes the resolver's first answer (::1); make it prefer IPv4",
            )
            .setting("NODE_OPTIONS=--dns-result-order=ipv4first"),
        );
    }
    let (listen_on, why) = match (tried, family) {
        (IpAddr::V6(_), Some(Family::Ipv4)) => (
            "::",
            "[::] without IPV6_V6ONLY takes IPv4 and IPv6 alike (or bind ::1 beside 127.0.0.1)",
        ),
        (IpAddr::V4(_), Some(Family::Ipv6)) => (
            "0.0.0.0",
            "or bind [::] without IPV6_V6ONLY, which takes both families",
        ),
        _ => (
            if tried.is_ipv6() { "::" } else { "0.0.0.0" },
            "the wildcard takes every address of the family",
        ),
    };
    let mut listen = Fix::new(
        "listen_on_family",
        format!("or make the server listen on {tried} too: {why}"),
    )
    .setting(listen_setting(
        first.copied(),
        recognised.runtime,
        &served_at,
        tried,
        listen_on,
    ));
    listen.pid = first.and_then(|s| s.processes.first()).map(|p| p.pid);
    listen.port = Some(port);
    fixes.push(listen);
    if recognised.runtime == Runtime::Unknown && recognised.address.is_none() {
        fixes.push(Fix::new(
            "connect_to_listener",
            "the message does not say which address the client tried: pass it with --address to check that one",
        ));
    }
    fixes
}

/// The flags fix lines give a program an address with, each checked
/// against that program run here (tests/cli/field_why.rs): `--help` lists
/// it, or (redis-server, which takes any configuration directive as
/// `--NAME`) a run with it binds that address. (program as typed, flag).
pub const ADDRESS_FLAGS: &[(&str, &str)] = &[
    ("redis-cli", "-h"),
    ("psql", "-h"),
    ("mariadb", "-h"),
    ("redis-server", "--bind"),
    ("python3 -m http.server", "--bind"),
];

/// The flags fix lines give a client a port with, each checked against
/// that program's `--help` here (tests/cli/field_why.rs).
pub const PORT_FLAGS: &[(&str, &str)] = &[("redis-cli", "-p"), ("psql", "-p"), ("mariadb", "-P")];

/// How to point the client of a format family at `port`; `None`: the
/// client's flag is not known.
fn client_port_setting(family: &str, port: u16) -> Option<String> {
    let program = client_of(family)?;
    PORT_FLAGS
        .iter()
        .find(|(p, _)| *p == program)
        .map(|(_, flag)| format!("{program} {flag} {port}"))
}

/// The client program of a format family.
fn client_of(family: &str) -> Option<&'static str> {
    match family {
        "redis" => Some("redis-cli"),
        "postgres" => Some("psql"),
        "mysql" => Some("mariadb"),
        _ => None,
    }
}

fn flag_of(program: &str) -> Option<&'static str> {
    ADDRESS_FLAGS
        .iter()
        .find(|(p, _)| *p == program)
        .map(|(_, flag)| *flag)
}

/// How to point the client of a format family at `address`.
fn client_address_setting(family: &str, address: &str) -> String {
    let Some(program) = client_of(family) else {
        return format!("--host {address}");
    };
    match flag_of(program) {
        Some(flag) => format!("{program} {flag} {address}"),
        None => format!("--host {address}"),
    }
}

/// The setting that makes the listener take `tried` too. Redis binds
/// each address of --bind apart, IPv6 ones with IPV6_V6ONLY (src/anet.c):
/// both addresses, not a wildcard.
fn listen_setting(
    listener: Option<&Socket>,
    runtime: Runtime,
    served_at: &str,
    tried: IpAddr,
    wildcard: &str,
) -> String {
    let process = listener
        .and_then(|s| s.processes.first())
        .and_then(|p| p.name.as_ref())
        .map(|n| n.escaped(64));
    let both = format!("{served_at} {tried}");
    let address = if process.as_deref() == Some("redis-server") {
        both.as_str()
    } else {
        wildcard
    };
    server_address_setting(process.as_deref(), runtime, address)
}

/// How to make a server listen on `address`: by the listener's process
/// name, else the runtime that failed.
fn server_address_setting(process: Option<&str>, runtime: Runtime, address: &str) -> String {
    let program = match (process, runtime) {
        (Some("redis-server"), _) | (_, Runtime::Redis) => "redis-server",
        (_, Runtime::PythonHttpServer) => "python3 -m http.server",
        _ => return format!("--host {address}"),
    };
    match flag_of(program) {
        Some(flag) => format!("{program} {flag} {address}"),
        None => format!("--host {address}"),
    }
}

/// The systemd service a process runs in, from /proc/PID/cgroup: the
/// innermost `*.service` of its path other than a user manager
/// (`user@1000.service`), and whether it is a user unit.
pub fn systemd_unit(cgroup: &str) -> Option<(String, bool)> {
    // cgroup v2 ("0::/path") first; v1 lists a path per controller.
    let mut lines: Vec<&str> = cgroup.lines().collect();
    lines.sort_by_key(|line| !line.starts_with("0::"));
    for line in lines {
        let Some(path) = line.splitn(3, ':').nth(2) else {
            continue;
        };
        let unit = path
            .split('/')
            .rev()
            .find(|segment| segment.ends_with(".service") && !segment.starts_with("user@"));
        if let Some(unit) = unit {
            return Some((unit.to_owned(), path.contains("/user@")));
        }
    }
    None
}

/// How to see the owner of a socket that lists none: root helps only when
/// the owner was unreadable; an owner outside this PID namespace, or a
/// missing /proc, needs a look from elsewhere.
fn see_owner(socket: &Socket, port: u16) -> Fix {
    let what = format!(
        "{} holds {}",
        holder_name(socket),
        endpoint(socket.local_address, socket.local_port, None)
    );
    match socket.owner_gap {
        Some(OwnerGap::NotVisible) => Fix::new(
            "see_owner",
            format!(
                "{what}: its process is outside this PID namespace (in a container, or outside the container portcheck runs in): look from there"
            ),
        ),
        Some(OwnerGap::NoProc) => Fix::new(
            "see_owner",
            format!(
                "{what}: there is no /proc here to find its process: look from a system that has one"
            ),
        ),
        _ => Fix::new(
            "see_owner",
            format!("{what}: run as root to see which process"),
        )
        .command(format!("sudo portcheck who {port}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_owned_by_the_parent_of_every_other_holder() {
        assert_eq!(
            group_owner(&[(10, Some(1)), (11, Some(10)), (12, Some(10))]),
            Some(10)
        );
        assert_eq!(group_owner(&[(11, Some(10)), (10, Some(1))]), Some(10));
        // Siblings (two workers, the master not holding it) and strangers.
        assert_eq!(group_owner(&[(11, Some(10)), (12, Some(10))]), None);
        assert_eq!(group_owner(&[(20, Some(1)), (30, Some(1))]), None);
        assert_eq!(group_owner(&[(10, Some(1))]), None);
    }

    #[test]
    fn root_is_suggested_only_where_root_would_see_the_owner() {
        let mut socket = Socket::bare(
            crate::model::Protocol::Tcp,
            "0.0.0.0".parse().expect("address"),
            3000,
            State::Listen,
        );
        socket.owner_gap = Some(OwnerGap::Unreadable);
        let fix = see_owner(&socket, 3000);
        assert!(fix.description.contains("run as root"), "{fix:?}");
        assert_eq!(fix.command.as_deref(), Some("sudo portcheck who 3000"));
        for gap in [OwnerGap::NotVisible, OwnerGap::NoProc] {
            socket.owner_gap = Some(gap);
            let fix = see_owner(&socket, 3000);
            assert!(!fix.description.contains("root"), "{gap:?}: {fix:?}");
            assert_eq!(fix.command, None, "{gap:?}");
        }
    }

    #[test]
    fn system_and_user_units_are_read_from_the_cgroup() {
        assert_eq!(
            systemd_unit("0::/system.slice/nginx.service\n"),
            Some(("nginx.service".into(), false))
        );
        assert_eq!(
            systemd_unit(
                "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vite.service\n"
            ),
            Some(("vite.service".into(), true))
        );
        assert_eq!(
            systemd_unit(
                "12:pids:/system.slice/redis-server.service\n1:name=systemd:/system.slice/redis-server.service\n"
            ),
            Some(("redis-server.service".into(), false))
        );
    }

    #[test]
    fn sessions_scopes_and_containers_are_not_units() {
        for cgroup in [
            "0::/user.slice/user-1000.slice/session-2.scope\n",
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-terminal.slice/vte-spawn-1.scope\n",
            "0::/system.slice/docker-4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c.scope\n",
            "0::/\n",
            "",
        ] {
            assert_eq!(systemd_unit(cgroup), None, "{cgroup}");
        }
    }
}
