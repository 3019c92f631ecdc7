//! `portcheck wait`: poll until a socket listens on the target, or until the
//! port is free, then show the final `who` view. Polling uses sock_diag
//! alone (no /proc scan) until the end.

use std::thread;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::who::WhoConfig;
use std::net::IpAddr;

use crate::hostport;
use crate::model::Family;
use crate::model::{Protocol, State};
use crate::sockets::{DumpRequest, SocketSource};
use crate::target::{Target, families_to_dump, takes_any_family};
use crate::who::{self, WhoResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// A TCP socket listens (or a UDP socket is bound) on the target.
    Listening,
    /// Nothing holds the port for binding: no listener, no bound socket.
    /// Connections and TIME_WAIT entries do not count (see `who --all`).
    Free,
}

impl Until {
    pub fn name(self) -> &'static str {
        match self {
            Until::Listening => "listening",
            Until::Free => "free",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitConfig {
    pub who: WhoConfig,
    /// The host name of a `NAME:PORT` target, whose addresses are looked
    /// up when the wait starts; `who.targets` then holds its ports.
    pub name: Option<String>,
    pub until: Until,
    pub timeout: Duration,
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub struct WaitResult {
    pub config: WaitConfig,
    pub met: bool,
    pub waited: Duration,
    pub polls: u32,
    /// The addresses a `NAME:PORT` target resolved to, in system order.
    pub destinations: Vec<std::net::IpAddr>,
    /// The `who` view at the end.
    pub final_view: WhoResult,
}

impl crate::exit::CommandResult for WaitResult {
    const NAME: &'static str = "wait";

    fn warnings(&self) -> &[crate::warning::Warning] {
        &self.final_view.warnings
    }

    fn warnings_mut(&mut self) -> &mut Vec<crate::warning::Warning> {
        &mut self.final_view.warnings
    }

    /// Not met: timed out.
    fn exit_code(&self) -> crate::exit::Exit {
        crate::exit::Exit::met(self.met)
    }
}

/// Whether a poll's sockets meet the condition for these targets, among
/// the sockets that take traffic of `families` (`-4` meets a dual-stack
/// `[::]`).
pub fn condition_met(
    sockets: &[crate::model::Socket],
    targets: &[Target],
    families: &[Family],
    until: Until,
) -> bool {
    let holding = sockets.iter().any(|socket| {
        takes_any_family(socket, families)
            && targets.iter().any(|t| t.matches(socket))
            && match socket.protocol {
                Protocol::Tcp => match until {
                    Until::Listening => socket.state == State::Listen,
                    Until::Free => matches!(socket.state, State::Listen | State::Unconn),
                },
                Protocol::Udp => true,
            }
    });
    match until {
        Until::Listening => holding,
        Until::Free => !holding,
    }
}

/// `NAME:PORT` (a host name, not an address) as a target of its ports,
/// with the name; `None` when the text is not one.
pub fn name_target(text: &str) -> Option<(Target, String)> {
    let split = hostport::split(text, hostport::Writer::Person).ok()?;
    let (host, port) = (split.host?, split.port?);
    let is_name = hostport::numeric_host(&host).is_none()
        && host.bytes().any(|b| b.is_ascii_alphabetic())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    let ports = crate::target::parse_port_range(&port).ok()?;
    is_name.then(|| {
        (
            Target {
                text: text.to_owned(),
                address: None,
                interface: None,
                ports: Some(ports),
            },
            host,
        )
    })
}

/// The targets a name stands for: one per address of this host it
/// resolves to. Another host's sockets cannot be seen from here, so a name
/// of only other hosts' addresses is refused rather than waited on forever.
fn name_targets(name: &str, config: &WaitConfig) -> Result<(Vec<IpAddr>, Vec<Target>), Error> {
    let protocol = config
        .who
        .protocols
        .first()
        .copied()
        .unwrap_or(Protocol::Tcp);
    let addresses = crate::resolve::system::resolve(name, protocol)?;
    let ports = config.who.targets.first().and_then(|t| t.ports);
    let targets: Vec<Target> = addresses
        .iter()
        .filter(|&&address| crate::bind::facts::local_address(address, None) != Some(false))
        .map(|&address| Target {
            text: match (address, ports) {
                (IpAddr::V6(v6), Some(ports)) => format!("[{v6}]:{ports}"),
                (IpAddr::V4(v4), Some(ports)) => format!("{v4}:{ports}"),
                (_, None) => address.to_string(),
            },
            address: Some(address),
            interface: None,
            ports,
        })
        .collect();
    if targets.is_empty() {
        let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        return Err(Error::BadTarget {
            target: name.to_owned(),
            why: format!(
                "it resolves only to addresses of other hosts ({}): wait sees this host's sockets",
                list.join(", ")
            ),
        });
    }
    Ok((addresses, targets))
}

pub fn run(config: &WaitConfig, source: &dyn SocketSource) -> Result<WaitResult, Error> {
    let resolved;
    let (destinations, who) = match &config.name {
        Some(name) => {
            let (addresses, targets) = name_targets(name, config)?;
            resolved = WhoConfig {
                targets,
                ..config.who.clone()
            };
            (addresses, &resolved)
        }
        None => (Vec::new(), &config.who),
    };
    crate::bind::facts::check_interfaces(
        who.targets.iter().filter_map(|t| t.interface.as_deref()),
        "wait",
    )?;
    let (met, waited, polls) = poll(config, who, source)?;
    let final_view = who::run(who, source)?;
    Ok(WaitResult {
        config: config.clone(),
        met,
        waited,
        polls,
        destinations,
        final_view,
    })
}

/// Polls `who`'s sockets until `config`'s condition holds or its timeout
/// passes: whether it was met, how long it took, and how many polls (`stop`
/// waits with it too).
pub fn poll(
    config: &WaitConfig,
    who: &WhoConfig,
    source: &dyn SocketSource,
) -> Result<(bool, Duration, u32), Error> {
    let request = DumpRequest {
        protocols: who.protocols.clone(),
        families: families_to_dump(&who.families),
        ports: who.targets.iter().filter_map(|t| t.ports).collect(),
    };
    let start = Instant::now();
    // A timeout too long for the clock to add (`--timeout 500000000000y`)
    // is no deadline at all, which is what it means.
    let deadline = start.checked_add(config.timeout);
    let mut polls: u32 = 0;
    let met = loop {
        polls = polls.saturating_add(1);
        let sockets = source.dump(&request)?;
        if condition_met(&sockets, &who.targets, &who.families, config.until) {
            break true;
        }
        let now = Instant::now();
        let left = deadline.map(|deadline| deadline.saturating_duration_since(now));
        if left == Some(Duration::ZERO) {
            break false;
        }
        thread::sleep(left.map_or(config.interval, |left| config.interval.min(left)));
    };
    Ok((met, start.elapsed(), polls))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Socket;
    use crate::target::parse_target;

    fn sock(protocol: Protocol, port: u16, state: State) -> Socket {
        Socket::bare(protocol, "127.0.0.1".parse().expect("addr"), port, state)
    }

    #[test]
    fn listening_and_free_read_the_same_sockets() {
        let targets = vec![parse_target("8000").expect("target")];
        let condition_met = |sockets: &[Socket], targets: &[Target], until| {
            condition_met(sockets, targets, &Family::ALL, until)
        };
        let listening = [sock(Protocol::Tcp, 8000, State::Listen)];
        let time_wait = [sock(Protocol::Tcp, 8000, State::TimeWait)];
        let other_port = [sock(Protocol::Tcp, 8001, State::Listen)];
        assert!(condition_met(&listening, &targets, Until::Listening));
        assert!(!condition_met(&listening, &targets, Until::Free));
        assert!(!condition_met(&time_wait, &targets, Until::Listening));
        assert!(condition_met(&time_wait, &targets, Until::Free));
        assert!(condition_met(&other_port, &targets, Until::Free));
        let bound = [sock(Protocol::Tcp, 8000, State::Unconn)];
        assert!(!condition_met(&bound, &targets, Until::Listening));
        assert!(!condition_met(&bound, &targets, Until::Free));
        let udp = [sock(Protocol::Udp, 8000, State::Unconn)];
        assert!(condition_met(&udp, &targets, Until::Listening));
    }

    #[test]
    fn ipv4_meets_a_dual_stack_wildcard_but_not_a_v6only_one() {
        let targets = vec![parse_target("3000").expect("target")];
        let mut dual = Socket::bare(
            Protocol::Tcp,
            "::".parse().expect("addr"),
            3000,
            State::Listen,
        );
        dual.v6only = Some(false);
        let mut v6only = dual.clone();
        v6only.v6only = Some(true);
        let v4 = [Family::Ipv4];
        assert!(!condition_met(&[dual.clone()], &targets, &v4, Until::Free));
        assert!(condition_met(&[dual], &targets, &v4, Until::Listening));
        assert!(condition_met(&[v6only.clone()], &targets, &v4, Until::Free));
        assert!(!condition_met(
            &[v6only],
            &targets,
            &[Family::Ipv6],
            Until::Free
        ));
    }
}
