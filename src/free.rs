//! `portcheck free`: ports any program could bind right now, on every
//! address and both families, for every protocol asked; outside the
//! ephemeral range and the reserved ports. Judged by the `try` model and
//! confirmed by a bind-only trial.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol as RawProtocol, Socket as RawSocket, Type};

use crate::bind::candidate::{Candidate, Options};
use crate::bind::facts;
use crate::bind::rules::{self, Binding};
use crate::error::Error;
use crate::model::{Family, Protocol, Socket};
use crate::sockets::{DumpRequest, SocketSource};
use crate::target::PortRange;
use crate::warning::Warning;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeConfig {
    /// `None`: from `ip_unprivileged_port_start` to 65535.
    pub range: Option<PortRange>,
    pub protocols: Vec<Protocol>,
    pub count: usize,
}

#[derive(Debug, Clone)]
pub struct FreeResult {
    pub config: FreeConfig,
    pub range: PortRange,
    pub ephemeral: PortRange,
    pub reserved: Vec<PortRange>,
    pub ports: Vec<u16>,
    pub warnings: Vec<Warning>,
}

impl crate::exit::CommandResult for FreeResult {
    const NAME: &'static str = "free";

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    fn warnings_mut(&mut self) -> &mut Vec<Warning> {
        &mut self.warnings
    }

    /// Met when `count` ports were found.
    fn exit_code(&self) -> crate::exit::Exit {
        crate::exit::Exit::met(self.ports.len() >= self.config.count)
    }
}

fn sysctl(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// `net.ipv4.ip_local_port_range`: "32768\t60999".
pub fn parse_port_range_sysctl(text: &str) -> Option<PortRange> {
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(low)), Some(Ok(high))) if low <= high => Some(PortRange { low, high }),
        _ => None,
    }
}

/// `net.ipv4.ip_local_reserved_ports`: "8000-8010,9000" (empty: none).
pub fn parse_reserved(text: &str) -> Vec<PortRange> {
    text.split(',')
        .filter_map(|part| {
            let part = part.trim();
            match part.split_once('-') {
                Some((low, high)) => Some(PortRange {
                    low: low.parse().ok()?,
                    high: high.parse().ok()?,
                }),
                None => part.parse().ok().map(PortRange::single),
            }
        })
        .filter(|r| r.low <= r.high)
        .collect()
}

/// When too few ports were found, how many of the range were never tried
/// because the kernel keeps them (ephemeral or reserved), and how to widen
/// the search; `None` when none was skipped or enough were found.
pub fn skipped_note(
    range: PortRange,
    ephemeral: PortRange,
    reserved: &[PortRange],
    too_few: bool,
) -> Option<Warning> {
    let in_range = range.as_range().count();
    let ephemeral_skipped = range.as_range().filter(|&p| ephemeral.contains(p)).count();
    let reserved_skipped = range
        .as_range()
        .filter(|&p| !ephemeral.contains(p) && reserved.iter().any(|r| r.contains(p)))
        .count();
    if !too_few || ephemeral_skipped + reserved_skipped == 0 {
        return None;
    }
    let every = if ephemeral_skipped + reserved_skipped == in_range {
        "every port"
    } else {
        "some ports"
    };
    let mut why = Vec::new();
    if ephemeral_skipped > 0 {
        why.push(format!(
            "{ephemeral_skipped} in the ephemeral range {ephemeral} (net.ipv4.ip_local_port_range), which the kernel hands to outgoing connections"
        ));
    }
    if reserved_skipped > 0 {
        why.push(format!(
            "{reserved_skipped} reserved (net.ipv4.ip_local_reserved_ports)"
        ));
    }
    let outside = if ephemeral.high < u16::MAX {
        format!(
            "e.g. --range {}-{}",
            ephemeral.high + 1,
            ephemeral.high.saturating_add(100)
        )
    } else {
        format!("e.g. --range 1024-{}", ephemeral.low.saturating_sub(1))
    };
    Some(Warning::note(
        "ports_skipped",
        format!(
            "{every} of {range} was skipped, not tried: {}; widen the search with a --range outside them ({outside})",
            why.join(", ")
        ),
    ))
}

pub fn run(config: &FreeConfig, source: &dyn SocketSource) -> Result<FreeResult, Error> {
    let host = facts::host();
    let ephemeral = sysctl("/proc/sys/net/ipv4/ip_local_port_range")
        .and_then(|t| parse_port_range_sysctl(&t))
        .unwrap_or(PortRange {
            low: 32768,
            high: 60999,
        });
    let reserved = sysctl("/proc/sys/net/ipv4/ip_local_reserved_ports")
        .map(|t| parse_reserved(&t))
        .unwrap_or_default();
    let range = config.range.unwrap_or(PortRange {
        low: host.unprivileged_port_start.max(1),
        high: u16::MAX,
    });
    let live = source.dump(&DumpRequest {
        protocols: config.protocols.clone(),
        families: Family::ALL.to_vec(),
        ports: vec![range],
    })?;
    let candidates_for = |port: u16| -> Vec<Candidate> {
        config
            .protocols
            .iter()
            .flat_map(|&protocol| {
                [
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                ]
                .map(|address| strict_candidate(protocol, address, port))
            })
            .collect()
    };
    let mut ports = Vec::new();
    for port in range.as_range() {
        if ports.len() >= config.count {
            break;
        }
        if ephemeral.contains(port) || reserved.iter().any(|r| r.contains(port)) {
            continue;
        }
        let on_port: Vec<(usize, &Socket)> = live
            .iter()
            .enumerate()
            .filter(|(_, s)| s.local_port == port)
            .collect();
        let model_says_free = on_port.is_empty() || {
            let bindings: Vec<Binding> = on_port
                .iter()
                .filter_map(|(i, s)| Binding::from_socket(*i, s))
                .collect();
            // Each candidate alone: a program binds one of them.
            candidates_for(port).iter().all(|candidate| {
                let verdicts = rules::predict_plan(
                    &host,
                    &bindings,
                    std::slice::from_ref(candidate),
                    &[Some(true)],
                );
                verdicts.first().is_some_and(|v| v.ok() == Some(true))
            })
        };
        if model_says_free && trial_binds(port, &config.protocols) {
            ports.push(port);
        }
    }
    let mut warnings: Vec<Warning> =
        skipped_note(range, ephemeral, &reserved, ports.len() < config.count)
            .into_iter()
            .collect();
    warnings.push(Warning::note(
        "pick_then_bind_race",
        "a port free now can be taken before your program binds it; where the program can, bind port 0 and read the port back instead",
    ));
    warnings.extend(facts::unreadable_sysctls(&[
        "/proc/sys/net/ipv4/ip_local_port_range",
        "/proc/sys/net/ipv4/ip_local_reserved_ports",
        "/proc/sys/net/ipv4/ip_unprivileged_port_start",
    ]));
    Ok(FreeResult {
        config: config.clone(),
        range,
        ephemeral,
        reserved,
        ports,
        warnings,
    })
}

/// The strictest program: no SO_REUSEADDR (a TIME_WAIT entry blocks it),
/// dual-stack `[::]`, bind only.
fn strict_candidate(protocol: Protocol, address: IpAddr, port: u16) -> Candidate {
    Candidate {
        index: 0,
        text: String::new(),
        protocol,
        address,
        port,
        scope: None,
        options: Options {
            v6only: false,
            reuseaddr: false,
            reuseport: false,
            listen: false,
            freebind: false,
            device: None,
        },
    }
}

/// Confirms with real binds of a dual-stack `[::]` socket per protocol
/// (which covers 0.0.0.0 too), without listening: a bound socket takes no
/// connection, and on a port no socket holds no datagram is meant for
/// anyone else. Closed at once.
fn trial_binds(port: u16, protocols: &[Protocol]) -> bool {
    protocols.iter().all(|&protocol| {
        let (kind, raw) = match protocol {
            Protocol::Tcp => (Type::STREAM, RawProtocol::TCP),
            Protocol::Udp => (Type::DGRAM, RawProtocol::UDP),
        };
        match RawSocket::new(Domain::IPV6, kind, Some(raw)) {
            Ok(socket) => {
                socket.set_only_v6(false).is_ok()
                    && socket
                        .bind(&SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port).into())
                        .is_ok()
            }
            // A host without IPv6: the IPv4 wildcard is every address.
            Err(_) => RawSocket::new(Domain::IPV4, kind, Some(raw)).is_ok_and(|socket| {
                socket
                    .bind(&SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port).into())
                    .is_ok()
            }),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_ports_are_named_with_a_way_to_widen() {
        let ephemeral = PortRange {
            low: 32768,
            high: 60999,
        };
        let range = PortRange {
            low: 60000,
            high: 60010,
        };
        let note = skipped_note(range, ephemeral, &[], true).expect("a note");
        assert_eq!(note.code, "ports_skipped");
        assert!(
            note.message.contains("every port of 60000-60010"),
            "{}",
            note.message
        );
        assert!(
            note.message
                .contains("11 in the ephemeral range 32768-60999"),
            "{}",
            note.message
        );
        assert!(
            note.message.contains("--range 61000-61099"),
            "{}",
            note.message
        );
        let straddling = PortRange {
            low: 60990,
            high: 61010,
        };
        let reserved = [PortRange::single(61005)];
        let note = skipped_note(straddling, ephemeral, &reserved, true).expect("a note");
        assert!(note.message.contains("some ports"), "{}", note.message);
        assert!(note.message.contains("1 reserved"), "{}", note.message);
        assert_eq!(skipped_note(range, ephemeral, &[], false), None);
        let outside = PortRange {
            low: 20000,
            high: 20010,
        };
        assert_eq!(skipped_note(outside, ephemeral, &[], true), None);
    }

    #[test]
    fn sysctl_formats_parse() {
        assert_eq!(
            parse_port_range_sysctl("32768\t60999\n"),
            Some(PortRange {
                low: 32768,
                high: 60999
            })
        );
        assert_eq!(parse_port_range_sysctl("nonsense"), None);
        assert_eq!(parse_reserved(""), Vec::<PortRange>::new());
        assert_eq!(
            parse_reserved("8000-8010,9000\n"),
            vec![
                PortRange {
                    low: 8000,
                    high: 8010
                },
                PortRange::single(9000)
            ]
        );
    }
}
