//! Parsing `who` targets: `PORT`, `LOW-HIGH`, `ADDRESS:PORT`, `[IPV6]:PORT`,
//! and an address alone (every port on it).

use std::fmt;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use crate::error::Error;
use crate::hostport;
use crate::model::{Family, Socket};

/// An inclusive range of ports, never reversed, never including port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
}

impl PortRange {
    pub fn single(port: u16) -> PortRange {
        PortRange {
            low: port,
            high: port,
        }
    }

    pub fn contains(self, port: u16) -> bool {
        (self.low..=self.high).contains(&port)
    }

    pub fn as_range(self) -> RangeInclusive<u16> {
        self.low..=self.high
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == self.high {
            write!(f, "{}", self.low)
        } else {
            write!(f, "{}-{}", self.low, self.high)
        }
    }
}

/// One thing the user asked about. `address: None` means any address;
/// `ports: None` means every port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub text: String,
    pub address: Option<IpAddr>,
    pub interface: Option<String>,
    pub ports: Option<PortRange>,
}

impl Target {
    /// Whether `socket` is one this target asks about: its local port is in
    /// range and its bound address covers the address asked for (so
    /// `127.0.0.1:8000` also finds `0.0.0.0:8000` and a dual-stack `[::]:8000`,
    /// the sockets a bind there would meet).
    pub fn matches(&self, socket: &Socket) -> bool {
        if let Some(ports) = self.ports
            && !ports.contains(socket.local_port)
        {
            return false;
        }
        if let Some(interface) = &self.interface
            && socket
                .interface
                .as_deref()
                .is_some_and(|bound| bound != interface)
        {
            return false;
        }
        match self.address {
            None => true,
            Some(address) => socket.covers(address),
        }
    }
}

/// Whether `socket` takes traffic of `family`: what `-4` and `-6` select.
/// An IPv6 socket can take IPv4 (a dual-stack `[::]`, an IPv4-mapped
/// `[::ffff:a.b.c.d]` bind), so `-4` is not the socket's address family as
/// `ss -4` reads it: a CI gate asking "is IPv4 port 3000 free?" must meet
/// node's dual-stack `[::]:3000`, which a bind of `0.0.0.0:3000` meets. A
/// `[::]` whose IPV6_V6ONLY the source could not read may take IPv4, so it
/// is kept (its TAKES cell says `IPv6 (+IPv4?)`).
pub fn takes_family(socket: &Socket, family: Family) -> bool {
    match family {
        Family::Ipv4 => socket.accepts_ipv4() != Some(false),
        Family::Ipv6 => socket.family == Family::Ipv6 && socket.mapped_ipv4().is_none(),
    }
}

/// Whether `socket` takes traffic of any of `families`.
pub fn takes_any_family(socket: &Socket, families: &[Family]) -> bool {
    families.iter().any(|family| takes_family(socket, *family))
}

/// The address families to ask the kernel for so that every socket taking
/// `families` is seen: IPv4 traffic also reaches IPv6 sockets.
pub fn families_to_dump(families: &[Family]) -> Vec<Family> {
    if families.contains(&Family::Ipv4) {
        Family::ALL.to_vec()
    } else {
        families.to_vec()
    }
}

/// Parses one target as typed on the command line.
pub fn parse_target(text: &str) -> Result<Target, Error> {
    let bad = |why: String| Error::BadTarget {
        target: text.to_owned(),
        why,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("it is empty".into()));
    }
    let split = hostport::split(trimmed, hostport::Writer::Person).map_err(bad)?;
    let (address_part, port_part) = match (&split.bare, &split.host) {
        // `8000`, `8000-8100`, or a bare IPv4 address.
        (Some(bare), _) if bare.contains('.') => (Some(bare.as_str()), None),
        (Some(bare), _) => (None, Some(bare.as_str())),
        // `:PORT` (Go's form) and `*:PORT` (lsof's) mean any address.
        (None, Some(host)) if host.is_empty() || host == "*" => (None, split.port.as_deref()),
        (None, host) => (host.as_deref(), split.port.as_deref()),
    };
    let (address, interface) = match address_part {
        None => (None, None),
        Some(part) => parse_address(part).map_err(bad)?,
    };
    let ports = match port_part {
        None => None,
        Some(part) => Some(parse_port_range(part).map_err(bad)?),
    };
    Ok(Target {
        text: text.to_owned(),
        address,
        interface,
        ports,
    })
}

fn parse_address(text: &str) -> Result<(Option<IpAddr>, Option<String>), String> {
    let (address, interface) = match text.split_once('%') {
        Some((address, interface)) if !interface.is_empty() => {
            (address, Some(interface.to_owned()))
        }
        Some(_) => return Err(format!("'{text}' has an empty interface after '%'")),
        None => (text, None),
    };
    if address == "*" {
        return Ok((None, interface));
    }
    match address.parse::<IpAddr>() {
        Ok(parsed) => Ok((Some(parsed), interface)),
        Err(_) => Err(format!(
            "'{address}' is not an IP address (names are resolved by `portcheck resolve`)"
        )),
    }
}

/// Parses `PORT` or `LOW-HIGH`.
pub fn parse_port_range(text: &str) -> Result<PortRange, String> {
    match text.split_once('-') {
        Some((low, high)) => {
            let low = parse_port(low)?;
            let high = parse_port(high)?;
            if low > high {
                return Err(format!(
                    "the range {low}-{high} is reversed; write {high}-{low}"
                ));
            }
            Ok(PortRange { low, high })
        }
        None => parse_port(text).map(PortRange::single),
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match port_number(text)? {
        0 => Err("port 0 is never held: the kernel picks a port for it".into()),
        port => Ok(port),
    }
}

/// A port number as typed: digits only, 0-65535. Callers that cannot use
/// port 0 say why in their own words.
pub fn port_number(text: &str) -> Result<u16, String> {
    if text.is_empty() {
        return Err("the port is missing".into());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{text}' is not a port number"));
    }
    text.parse::<u16>()
        .map_err(|_| format!("port {text} is out of range (1-65535)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Target {
        match parse_target(text) {
            Ok(target) => target,
            Err(error) => panic!("{text}: {error}"),
        }
    }

    fn err(text: &str) -> String {
        match parse_target(text) {
            Ok(target) => panic!("{text} parsed as {target:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(ok("8000").ports, Some(PortRange::single(8000)));
        assert_eq!(ok("8000").address, None);
        assert_eq!(
            ok("8000-8100").ports,
            Some(PortRange {
                low: 8000,
                high: 8100
            })
        );
        let t = ok("127.0.0.1:8000");
        assert_eq!(t.address, Some("127.0.0.1".parse().expect("addr")));
        assert_eq!(t.ports, Some(PortRange::single(8000)));
        let t = ok("[::1]:8000");
        assert_eq!(t.address, Some("::1".parse().expect("addr")));
        let t = ok("127.0.0.1");
        assert_eq!(t.ports, None);
        let t = ok("::1");
        assert_eq!(t.address, Some("::1".parse().expect("addr")));
        assert_eq!(t.ports, None);
        assert_eq!(ok("[::]").ports, None);
        assert_eq!(ok(":8080").address, None);
        assert_eq!(ok("*:8080").ports, Some(PortRange::single(8080)));
        let t = ok("[fe80::1%eth0]:22");
        assert_eq!(t.interface.as_deref(), Some("eth0"));
        // As ss and portcheck print it.
        let t = ok("[fe80::1]%eth0:22");
        assert_eq!(t.interface.as_deref(), Some("eth0"));
        assert_eq!(t.ports, Some(PortRange::single(22)));
        assert_eq!(
            ok("[::ffff:127.0.0.1]:80").address,
            Some("::ffff:127.0.0.1".parse().expect("addr"))
        );
    }

    #[test]
    fn rejects_bad_input_naming_the_bad_part() {
        assert!(err("70000").contains("70000 is out of range"));
        assert!(err("99999999999999999999").contains("out of range"));
        assert!(err("abc").contains("'abc' is not a port"));
        assert!(err("80-20").contains("reversed"));
        assert!(err("1.2.3.4.5:80").contains("'1.2.3.4.5' is not an IP address"));
        assert!(err("[::1:80").contains("missing ']'"));
        assert!(err("::1]:80").contains("']'"));
        assert!(err("0").contains("port 0"));
        assert!(err("").contains("empty"));
        assert!(err("127.0.0.1:").contains("missing"));
        assert!(err("[::1]80").contains("expected ':PORT'"));
        assert!(err("-5").contains("missing"));
        assert!(err("localhost:80").contains("not an IP address"));
        // Both readings are addresses: the user says which, in brackets.
        assert!(err("::1:80").contains("write [::1]:80 for port 80 on ::1, or [::1:80]"));
    }

    /// Node's `:::3000` has one reading: port 3000 on `::`.
    #[test]
    fn node_forms_read_as_node_means_them() {
        let t = ok(":::80");
        assert_eq!(t.address, Some("::".parse().expect("addr")));
        assert_eq!(t.ports, Some(PortRange::single(80)));
        let t = ok("::ffff:127.0.0.1:8000");
        assert_eq!(t.address, Some("::ffff:127.0.0.1".parse().expect("addr")));
        assert_eq!(t.ports, Some(PortRange::single(8000)));
        let t = ok("[::1:80]");
        assert_eq!(t.address, Some("::1:80".parse().expect("addr")));
        assert_eq!(t.ports, None);
    }

    #[test]
    fn families_select_the_sockets_that_take_them() {
        use crate::model::{Protocol, State};
        let socket = |address: &str, v6only: Option<bool>| {
            let mut socket = Socket::bare(
                Protocol::Tcp,
                address.parse().expect("addr"),
                3000,
                State::Listen,
            );
            socket.v6only = v6only;
            socket
        };
        let takes = |s: &Socket| (takes_family(s, Family::Ipv4), takes_family(s, Family::Ipv6));
        assert_eq!(takes(&socket("0.0.0.0", None)), (true, false));
        assert_eq!(takes(&socket("127.0.0.1", None)), (true, false));
        assert_eq!(takes(&socket("::", Some(false))), (true, true));
        assert_eq!(takes(&socket("::", Some(true))), (false, true));
        // Unknown IPV6_V6ONLY: it may take IPv4, so -4 keeps it.
        assert_eq!(takes(&socket("::", None)), (true, true));
        assert_eq!(takes(&socket("::1", Some(false))), (false, true));
        assert_eq!(
            takes(&socket("::ffff:127.0.0.1", Some(false))),
            (true, false)
        );
        assert_eq!(families_to_dump(&[Family::Ipv4]), Family::ALL.to_vec());
        assert_eq!(families_to_dump(&[Family::Ipv6]), vec![Family::Ipv6]);
    }
}

/// Properties of the parsers over generated text (proptest).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Text made mostly of the characters targets are written with.
    const TARGETISH: &str = "[\\[\\]0-9a-fA-F:.%*\\- ]{0,24}";

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn parse_target_never_panics(text in any::<String>(), targetish in TARGETISH) {
            let _ = parse_target(&text);
            let _ = parse_target(&targetish);
            let _ = parse_port_range(&targetish);
        }

        /// A parsed `PORT` or `LOW-HIGH` prints back as it was written.
        #[test]
        fn port_ranges_print_back(low in 1u16.., span in 0u16..200) {
            let range = PortRange { low, high: low.saturating_add(span) };
            let text = range.to_string();
            prop_assert_eq!(parse_port_range(&text), Ok(range));
            let target = parse_target(&text).expect("a port range is a target");
            prop_assert_eq!(target.ports, Some(range));
            prop_assert_eq!(target.address, None);
            prop_assert_eq!(parse_port_range(&text).map(|r| r.to_string()), Ok(text));
        }

        /// `ADDRESS:PORT` as portcheck prints it (`[v6]:port`) parses back.
        #[test]
        fn endpoints_parse_back(address in any::<IpAddr>(), port in 1u16..) {
            let text = crate::model::endpoint(address, port, None);
            let target = parse_target(&text).expect("an endpoint is a target");
            prop_assert_eq!(target.address, Some(address));
            prop_assert_eq!(target.ports, Some(PortRange::single(port)));
            prop_assert_eq!(target.interface, None);
        }
    }
}
