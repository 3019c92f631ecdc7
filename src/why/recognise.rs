//! Filling in what the recognised line leaves out, honestly: from the
//! lines around it, from `--port`/`--address`, and from the runtime's
//! defaults, each default written down as an assumption.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::announce::Announced;
use super::input::Found;
use super::patterns::{Failure, Format, HostText, Matcher, Operation};
use super::runtime::{DefaultHost, Runtime};
use super::{Host, WhyConfig};
use crate::error::Error;
use crate::model::{Family, Protocol};
use crate::warning::Warning;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The recognised line.
    Message,
    /// Another line of the input (its number).
    Context(usize),
    /// `--port` or `--address`.
    Flag,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Message => "message",
            Origin::Context(_) => "context",
            Origin::Flag => "flag",
        }
    }
}

/// A value the message did not give, and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumption {
    /// `address`, `port` or `options`.
    pub field: &'static str,
    pub value: String,
    pub why: String,
}

/// The recognised message, with what is checked on this host.
#[derive(Debug, Clone)]
pub struct Recognised {
    /// The recognised line, as read.
    pub input: String,
    pub line: usize,
    pub format: &'static Format,
    pub runtime: Runtime,
    pub failure: Failure,
    pub operation: Operation,
    pub protocol: Protocol,
    /// The address as written (`:::3000`, `http://[::]:5000`).
    pub written: Option<String>,
    /// The address the message (or `--address`) gives; `None` when neither does.
    pub address: Option<Host>,
    pub address_from: Option<Origin>,
    /// The port the message (or `--port`) gives.
    pub port: Option<u16>,
    pub port_from: Option<Origin>,
    /// What is checked: the address with defaults applied, and the port.
    pub check_host: Host,
    pub check_port: u16,
    /// IPV6_V6ONLY the program asked for itself (Go's `tcp6`).
    pub v6only: Option<bool>,
    pub assumed: Vec<Assumption>,
    /// The sockets the program announced before the failure (its own),
    /// of the failure's protocol.
    pub announced: Vec<Announced>,
    /// The Unix socket a client tried (psql), where it was not TCP.
    pub unix_socket: Option<String>,
}

const V6_ANY: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
const V4_ANY: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// What the message and the lines around it say, before flags and defaults.
struct Said {
    runtime: Runtime,
    host: Option<(HostText, Origin)>,
    port: Option<(String, Origin)>,
}

/// The recognised line's own values, then what neighbouring lines add:
/// a port or an address it lacks, the runtime a traceback reveals.
fn read_context(found: &Found, matcher: &Matcher) -> Said {
    let extract = &found.extract;
    let format = extract.format;
    let mut said = Said {
        runtime: format.runtime,
        host: extract.host.clone().map(|h| (h, Origin::Message)),
        port: extract
            .port
            .clone()
            .or_else(|| matcher.port_on_line(&found.line.text))
            .map(|p| (p, Origin::Message)),
    };
    let mut runtime_hinted = false;
    for line in found.after.iter().chain(&found.before) {
        let Some(hint) = matcher.hint(&line.text, format.family, extract.failure) else {
            continue;
        };
        if let (Some(hinted), false) = (hint.runtime, runtime_hinted) {
            said.runtime = hinted;
            runtime_hinted = true;
        }
        if said.port.is_none() {
            said.port = hint.port.map(|p| (p, Origin::Context(line.number)));
        }
        if said.host.is_none() {
            said.host = hint.host.map(|h| (h, Origin::Context(line.number)));
        }
    }
    said
}

/// The port to check: `--port`, else the message's, else the format's
/// default (an assumption), else an error naming `--port`.
fn choose_port(
    found: &Found,
    config: &WhyConfig,
    said: &Said,
    assumed: &mut Vec<Assumption>,
    warnings: &mut Vec<Warning>,
) -> Result<(Option<u16>, Option<Origin>, u16), Error> {
    let extract = &found.extract;
    let format = extract.format;
    let message_port = said
        .port
        .as_ref()
        .map(|(text, origin)| parse_port(text, &found.line.text).map(|p| (p, *origin)))
        .transpose()?;
    let (port, port_from) = match (config.port, message_port) {
        (Some(flag), Some((said, _))) if flag != said => {
            warnings.push(Warning::note(
                "flag_overrides_message",
                format!("--port {flag} is checked, not the message's port {said}"),
            ));
            (Some(flag), Some(Origin::Flag))
        }
        (Some(flag), None) => (Some(flag), Some(Origin::Flag)),
        (_, Some((said, origin))) => (Some(said), Some(origin)),
        (None, None) => (None, None),
    };
    let nearest_own = found.announced.last();
    let check_port = match (port, format.default_port) {
        (Some(port), _) => port,
        (None, _) if nearest_own.is_some() && extract.failure.is_bind() => {
            let own = nearest_own.map_or(0, |a| a.port);
            let line = nearest_own.map_or(0, |a| a.line);
            let mut others: Vec<u16> = found
                .announced
                .iter()
                .map(|a| a.port)
                .filter(|p| *p != own)
                .collect();
            others.sort_unstable();
            others.dedup();
            let also = if others.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = others.iter().map(ToString::to_string).collect();
                format!(" (earlier lines announce port {} too)", list.join(", "))
            };
            assumed.push(Assumption {
                field: "port",
                value: own.to_string(),
                why: format!(
                    "the message names no port; the program's own socket announced on line {line} is on port {own}{also}, and a bind that fails right after is most often another address of the same port (pass --port otherwise)"
                ),
            });
            own
        }
        (None, Some(default)) => {
            assumed.push(Assumption {
                field: "port",
                value: default.to_string(),
                why: format!(
                    "the message names no port; {default} is {}'s default (pass --port otherwise)",
                    said.runtime.defaults().name
                ),
            });
            default
        }
        (None, None) => {
            return Err(Error::MissingInMessage {
                missing: "port",
                message: format!(
                    "line {} is {} ({} {}), but it names no port and neither do the lines around it: pass it with --port, e.g. portcheck why --port 8080 '{}'",
                    found.line.number,
                    format.name,
                    extract.operation.name(),
                    extract.failure.name(),
                    shorten(&found.line.text)
                ),
            });
        }
    };
    Ok((port, port_from, check_port))
}

/// The gaps of `found` filled in, with notes on what a flag overrode.
pub fn recognise(
    found: &Found,
    config: &WhyConfig,
    matcher: &Matcher,
) -> Result<(Recognised, Vec<Warning>), Error> {
    let extract = &found.extract;
    let format = extract.format;
    let said = read_context(found, matcher);
    let runtime = said.runtime;
    let mut warnings = Vec::new();
    let mut assumed = Vec::new();
    let (port, port_from, check_port) =
        choose_port(found, config, &said, &mut assumed, &mut warnings)?;
    let protocol = choose_protocol(extract, config, &mut assumed, &mut warnings);

    if let (Some(flag), Some((text, _))) = (&config.address, &said.host) {
        if text.to_string() != flag.to_string() {
            warnings.push(Warning::note(
                "flag_overrides_message",
                format!("--address {flag} is checked, not the message's address {text}"),
            ));
        }
    }
    let host = match &config.address {
        Some(flag) => Some((host_text(flag), Origin::Flag)),
        None => said.host,
    };

    let beside_own = (host.is_none() && extract.failure.is_bind() && extract.family.is_none())
        .then(|| second_bind_beside_own(found, check_port, protocol))
        .flatten();
    let (address, address_from, check_host) = if let Some((checked, assumption)) = beside_own {
        assumed.push(assumption);
        (None, None, checked)
    } else if extract.failure.is_bind() {
        let (address, check_host) =
            bind_address(host.as_ref().map(|(h, _)| h), runtime, extract, &mut assumed)
                .ok_or_else(|| Error::MissingInMessage {
                    missing: "address",
                    message: format!(
                        "line {} is {} ({}), which is about an address this host does not have, but it names none: pass it with --address, e.g. portcheck why --address 10.0.0.5 --port {check_port} '{}'",
                        found.line.number,
                        format.name,
                        extract.failure.name(),
                        shorten(&found.line.text)
                    ),
                })?;
        (address, host.map(|(_, o)| o), check_host)
    } else if let Some((text, origin)) = host {
        let checked = match text {
            HostText::Ip(ip) => Host::Ip(ip),
            HostText::Name(name) => Host::Name(name),
            // A client that connects to a wildcard reaches this host.
            HostText::Wildcard => Host::Name("localhost".into()),
        };
        (Some(checked.clone()), Some(origin), checked)
    } else if let Some(socket) = &extract.unix_socket {
        // A Unix socket is not TCP: what can be said is whether the same
        // server listens on TCP here (and on which port).
        assumed.push(Assumption {
            field: "address",
            value: "localhost".into(),
            why: format!(
                "the client tried the Unix socket {socket}, not TCP: checked TCP port {check_port} on this host, where the same server listens if its listen_addresses allows (psql -h 127.0.0.1 -p {check_port} would use it)"
            ),
        });
        (None, None, Host::Name("localhost".into()))
    } else {
        assumed.push(Assumption {
            field: "address",
            value: "localhost".into(),
            why: "the message does not say which host the client tried; pass --address otherwise"
                .into(),
        });
        (None, None, Host::Name("localhost".into()))
    };
    let v6only = (extract.family == Some(Family::Ipv6)).then_some(true);
    if extract.failure.is_bind() && check_host == Host::Ip(V6_ANY) && v6only.is_none() {
        assumed.push(v6only_assumption(runtime));
    }
    Ok((
        Recognised {
            input: found.line.text.clone(),
            line: found.line.number,
            format,
            runtime,
            failure: extract.failure,
            operation: extract.operation,
            protocol,
            written: extract.written.clone(),
            address,
            address_from,
            port,
            port_from,
            check_host,
            check_port,
            v6only,
            assumed,
            announced: found
                .announced
                .iter()
                .filter(|a| a.protocol == protocol)
                .cloned()
                .collect(),
            unix_socket: extract.unix_socket.clone(),
        },
        warnings,
    ))
}

/// The address a bind failure is checked at: the message's (a wildcard
/// read as the runtime binds it), else the runtime's default. `None` when
/// nothing can stand in (EADDRNOTAVAIL is about one specific address).
/// Returns the address to report (`None`: the message gave none) and the
/// one to check.
fn bind_address(
    given: Option<&HostText>,
    runtime: Runtime,
    extract: &super::patterns::Extract,
    assumed: &mut Vec<Assumption>,
) -> Option<(Option<Host>, Host)> {
    let defaults = runtime.defaults();
    let wildcard = || match (extract.family, defaults.default_host) {
        (Some(Family::Ipv4), _) => V4_ANY,
        (None, DefaultHost::Address(ip)) if ip.is_unspecified() => ip,
        // IPv6 asked for, or a runtime whose own default is a specific
        // address or unknown: the widest bind.
        _ => V6_ANY,
    };
    match given {
        Some(HostText::Ip(ip)) => Some((Some(Host::Ip(*ip)), Host::Ip(*ip))),
        Some(HostText::Name(name)) => {
            Some((Some(Host::Name(name.clone())), Host::Name(name.clone())))
        }
        Some(HostText::Wildcard) => {
            let ip = wildcard();
            assumed.push(Assumption {
                field: "address",
                value: ip.to_string(),
                why: format!(
                    "'{}' is every address; {} binds it as {}",
                    extract.written.as_deref().unwrap_or("*"),
                    defaults.name,
                    crate::model::endpoint(ip, 0, None).trim_end_matches(":0")
                ),
            });
            Some((Some(Host::Ip(ip)), Host::Ip(ip)))
        }
        None if extract.failure == Failure::AddrNotAvail => None,
        None => {
            let (checked, why) = match defaults.default_host {
                DefaultHost::Address(ip) => (Host::Ip(ip), defaults.default_note.to_owned()),
                DefaultHost::Name(name) => {
                    (Host::Name(name.to_owned()), defaults.default_note.to_owned())
                }
                DefaultHost::Unknown => (
                    Host::Ip(V6_ANY),
                    "the message names no address and not the program: checked the widest bind, [::] dual-stack, which meets every socket on the port (pass --address otherwise)".to_owned(),
                ),
            };
            assumed.push(Assumption {
                field: "address",
                value: checked.to_string(),
                why,
            });
            Some((None, checked))
        }
    }
}

/// IPV6_V6ONLY on a `[::]` bind, which no message says: the runtime's
/// default (its configuration may say otherwise: nginx's `ipv6only=off`).
fn v6only_assumption(runtime: Runtime) -> Assumption {
    let defaults = runtime.defaults();
    let (value, why) = match (runtime, defaults.v6only) {
        (Runtime::Nginx, _) => (
            "ipv6only=on",
            "nginx's default for listen [::]:PORT since 1.3.4; the configuration may say ipv6only=off".to_owned(),
        ),
        (_, Some(true)) => (
            "IPV6_V6ONLY on",
            format!("{} sets it on IPv6 sockets unless configured otherwise", defaults.name),
        ),
        (_, Some(false)) => (
            "IPV6_V6ONLY off",
            format!("{} clears it (dual-stack) unless asked for IPv6 only", defaults.name),
        ),
        (_, None) => (
            "IPV6_V6ONLY as net.ipv6.bindv6only",
            format!("{} leaves it to the system unless the program sets it", defaults.name),
        ),
    };
    Assumption {
        field: "options",
        value: value.to_owned(),
        why,
    }
}

/// Formats whose line is the same for a TCP and a UDP bind: socat's
/// `bind(5, {AF=2 0.0.0.0:7000}, 16)` (seen here for TCP-LISTEN and
/// UDP-LISTEN alike), nginx's `bind() to` (its stream module's `listen 53
/// udp` too), the bare errno words of Python and Rust.
const PROTOCOL_UNSAID: &[&str] = &[
    "socat_bind",
    "nginx_bind",
    "python_errno",
    "rust_io",
    "rust_debug",
    "errno_name",
    "strerror",
];

/// The protocol checked: `-t`/`-u`, else the message's; where the message
/// cannot tell, TCP, written down as an assumption.
fn choose_protocol(
    extract: &super::patterns::Extract,
    config: &WhyConfig,
    assumed: &mut Vec<Assumption>,
    warnings: &mut Vec<Warning>,
) -> Protocol {
    let unsaid = PROTOCOL_UNSAID.contains(&extract.format.name) && extract.failure.is_bind();
    if let Some(flag) = config.protocol {
        if flag != extract.protocol && !unsaid {
            warnings.push(Warning::note(
                "flag_overrides_message",
                format!(
                    "{} is checked, not the message's {}",
                    flag.name(),
                    extract.protocol.name()
                ),
            ));
        }
        return flag;
    }
    if unsaid {
        assumed.push(Assumption {
            field: "protocol",
            value: extract.protocol.name().to_owned(),
            why: format!(
                "{}'s message is the same for TCP and UDP: checked {} (pass -u for UDP, -t for TCP)",
                extract.format.runtime.defaults().name,
                extract.protocol.name().to_uppercase()
            ),
        });
    }
    extract.protocol
}

/// The address a bind that names none is checked at when the program
/// announced a wildcard of its own on the same port: the other family's
/// wildcard, its classic second bind (`[::]:443`, then `0.0.0.0:443` for
/// the redirect). Any address of the port meets a dual-stack `[::]`, so
/// the diagnosis does not hang on the choice.
fn second_bind_beside_own(
    found: &Found,
    port: u16,
    protocol: Protocol,
) -> Option<(Host, Assumption)> {
    let own = found
        .announced
        .iter()
        .rev()
        .find(|a| a.port == port && a.protocol == protocol)?;
    let (own_address, other) = match own.host {
        HostText::Ip(ip) if ip == V6_ANY => ("[::]", V4_ANY),
        HostText::Ip(ip) if ip == V4_ANY => ("0.0.0.0", V6_ANY),
        _ => return None,
    };
    Some((
        Host::Ip(other),
        Assumption {
            field: "address",
            value: other.to_string(),
            why: format!(
                "the message names no address; the program's own {own_address}:{port} (line {}) was bound before, so the failed bind was another address of port {port}: checked {}, the usual second bind (pass --address otherwise)",
                own.line,
                crate::model::endpoint(other, port, None)
            ),
        },
    ))
}

fn host_text(host: &Host) -> HostText {
    match host {
        Host::Ip(ip) => HostText::Ip(*ip),
        Host::Name(name) => HostText::Name(name.clone()),
    }
}

fn parse_port(text: &str, line: &str) -> Result<u16, Error> {
    let bad = |why: String| Error::BadMessage {
        line: shorten(line),
        why,
    };
    match crate::target::port_number(text) {
        Ok(0) => Err(bad("it names port 0, which no program fails to bind".into())),
        Ok(port) => Ok(port),
        Err(_) if text.bytes().all(|b| b.is_ascii_digit()) => Err(bad(format!(
            "it names port {text}, which is out of range (1-65535): no program got that far; pass the real port with --port"
        ))),
        Err(why) => Err(bad(why)),
    }
}

/// The line for an error message: at most 200 characters.
fn shorten(line: &str) -> String {
    if line.chars().count() <= 200 {
        line.to_owned()
    } else {
        let mut short: String = line.chars().take(199).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::why::input::scan_text;
    use crate::why::patterns::matcher;

    fn config() -> WhyConfig {
        WhyConfig {
            message: None,
            port: None,
            address: None,
            protocol: None,
            trial: false,
        }
    }

    fn recognise_text(text: &str, config: &WhyConfig) -> Result<Recognised, Error> {
        let scan = scan_text(text, matcher()).expect("in memory");
        let found = scan.found.first().expect("recognised");
        recognise(found, config, matcher()).map(|(r, _)| r)
    }

    #[test]
    fn node_wildcard_is_dual_stack_v6() {
        let r = recognise_text(
            "Error: listen EADDRINUSE: address already in use :::3000",
            &config(),
        )
        .expect("ok");
        assert_eq!(r.check_host, Host::Ip(V6_ANY));
        assert_eq!(r.address, Some(Host::Ip(V6_ANY)));
        assert_eq!(r.check_port, 3000);
        assert_eq!(r.port_from, Some(Origin::Message));
        let fields: Vec<&str> = r.assumed.iter().map(|a| a.field).collect();
        assert_eq!(
            fields,
            ["options"],
            "only IPV6_V6ONLY, which no message says"
        );
    }

    #[test]
    fn go_empty_host_is_the_runtime_wildcard() {
        let r = recognise_text("listen tcp :8080: bind: address already in use", &config())
            .expect("ok");
        assert_eq!(r.check_host, Host::Ip(V6_ANY));
        assert_eq!(r.assumed.first().map(|a| a.field), Some("address"));
        let r = recognise_text("listen tcp6 :8080: bind: address already in use", &config())
            .expect("ok");
        assert_eq!(r.v6only, Some(true));
        let r = recognise_text(
            "Could not create server TCP listening socket *:6379: bind: Address already in use",
            &config(),
        )
        .expect("ok");
        assert_eq!(r.check_host, Host::Ip(V4_ANY));
    }

    #[test]
    fn python_without_address_assumes_ipv4_and_needs_a_port() {
        let error = recognise_text("OSError: [Errno 98] Address already in use", &config())
            .expect_err("no port");
        assert_eq!(error.code(), "missing_port");
        assert!(error.to_string().contains("--port"), "{error}");
        let with_port = WhyConfig {
            port: Some(8000),
            ..config()
        };
        let r =
            recognise_text("OSError: [Errno 98] Address already in use", &with_port).expect("ok");
        assert_eq!(r.check_host, Host::Ip(V4_ANY));
        assert_eq!(r.address, None);
        assert_eq!(r.port_from, Some(Origin::Flag));
        assert_eq!(r.runtime, Runtime::PythonSocket);
    }

    #[test]
    fn a_traceback_through_http_server_changes_the_runtime() {
        let text = "Traceback (most recent call last):\n  File \"/usr/lib/python3.11/http/server.py\", line 136, in server_bind\nOSError: [Errno 98] Address already in use\n";
        let with_port = WhyConfig {
            port: Some(8000),
            ..config()
        };
        let r = recognise_text(text, &with_port).expect("ok");
        assert_eq!(r.runtime, Runtime::PythonHttpServer);
    }

    #[test]
    fn ports_come_from_hints_and_defaults() {
        let text = "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\nHINT:  Is another postmaster already running on port 5433? If not, wait a few seconds and retry.\n";
        let r = recognise_text(text, &config()).expect("ok");
        assert_eq!(r.check_port, 5433);
        assert_eq!(r.port_from, Some(Origin::Context(2)));
        let r = recognise_text(
            "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use",
            &config(),
        )
        .expect("ok");
        assert_eq!(r.check_port, 5432);
        assert_eq!(r.port, None);
        assert_eq!(r.assumed.first().map(|a| a.field), Some("port"));
        let text = "Caused by: java.net.BindException: Address already in use\n\nWeb server failed to start. Port 8081 was already in use.\n";
        assert_eq!(
            recognise_text(text, &config()).expect("ok").check_port,
            8081
        );
    }

    #[test]
    fn out_of_range_ports_and_missing_addresses_are_errors() {
        let error = recognise_text(
            "Error: listen EADDRINUSE: address already in use :::70000",
            &config(),
        )
        .expect_err("bad port");
        assert_eq!(error.code(), "bad_message");
        assert!(error.to_string().contains("70000"), "{error}");
        let with_port = WhyConfig {
            port: Some(8000),
            ..config()
        };
        let error = recognise_text(
            "OSError: [Errno 99] Cannot assign requested address",
            &with_port,
        )
        .expect_err("no address");
        assert_eq!(error.code(), "missing_address");
    }

    #[test]
    fn connect_without_address_assumes_localhost() {
        let with_port = WhyConfig {
            port: Some(5432),
            ..config()
        };
        let r = recognise_text(
            "ConnectionRefusedError: [Errno 111] Connection refused",
            &with_port,
        )
        .expect("ok");
        assert_eq!(r.check_host, Host::Name("localhost".into()));
        assert_eq!(r.operation, Operation::Connect);
    }

    #[test]
    fn flags_override_and_say_so() {
        let flags = WhyConfig {
            port: Some(4000),
            address: Some(Host::Ip("127.0.0.1".parse().expect("addr"))),
            ..config()
        };
        let scan = scan_text(
            "Error: listen EADDRINUSE: address already in use :::3000",
            matcher(),
        )
        .expect("in memory");
        let found = scan.found.first().expect("recognised");
        let (r, warnings) = recognise(found, &flags, matcher()).expect("ok");
        assert_eq!(r.check_port, 4000);
        assert_eq!(r.check_host, flags.address.clone().expect("set"));
        assert_eq!(warnings.len(), 2);
    }
}
