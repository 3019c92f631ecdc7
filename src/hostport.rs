//! Reading `HOST:PORT` as people and programs write it: `[v6]:port`,
//! `[v6%zone]:port`, `[v6]%zone:port` (as `ss` prints it), `v4:port`,
//! `name:port`, `:port` and `*:port` (any address), and the unbracketed
//! IPv6 forms runtimes print (Node's `:::3000`, `::1:3000`). One reader
//! serves `who`, `try`, `resolve`, `wait` and `why`; each caller then reads
//! the host and the port by its own rules (a port range for `who`, port 0
//! for `try`, a name for `resolve`).
//!
//! An unbracketed IPv6 address followed by `:DIGITS` can be read two ways
//! (`::1:80` is the address `::1:80`, or port 80 on `::1`). Where only one
//! reading is an address, that one is taken (`:::3000` can only be port
//! 3000 on `::`). Where both are, who wrote it decides ([`Writer`]): a
//! runtime's message always carries the port, so the port reading is what
//! it means; a person's text is refused, with each reading spelled in
//! brackets.

use std::net::{IpAddr, Ipv6Addr};

/// Who wrote the text, which decides an ambiguous unbracketed IPv6 form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// What a person typed (`who`, `try`, `resolve`, `wait`): an
    /// unbracketed IPv6 address whose last group could be a port is
    /// ambiguous, and refused with both bracketed spellings.
    Person,
    /// What a runtime printed (`why`): Node and others always append the
    /// port, so the last `:DIGITS` of an unbracketed IPv6 address is it.
    Runtime,
}

/// The parts of `HOST:PORT`, as written: the host without brackets (its
/// `%zone` kept, so `fe80::1%eth0`), the port text unchecked (a range or a
/// number, for the caller to read). `host` is `None` for a text with no
/// colon (`8000`, `localhost`): the caller knows whether that is a port or
/// a host, and finds it in `bare`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub host: Option<String>,
    pub port: Option<String>,
    /// The whole text when it has no colon and no brackets.
    pub bare: Option<String>,
}

impl Split {
    fn host_port(host: &str, port: Option<&str>) -> Split {
        Split {
            host: Some(host.to_owned()),
            port: port.map(str::to_owned),
            bare: None,
        }
    }
}

/// Splits `text` (already trimmed by the caller or not) into host and port.
pub fn split(text: &str, writer: Writer) -> Result<Split, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        return bracketed(rest);
    }
    if text.contains(']') {
        return Err("']' without a matching '['".into());
    }
    match text.matches(':').count() {
        0 => Ok(Split {
            host: None,
            port: None,
            bare: Some(text.to_owned()),
        }),
        1 => {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            Ok(Split::host_port(host, Some(port)))
        }
        _ => unbracketed_ipv6(text, writer),
    }
}

/// `[ADDRESS]`, `[ADDRESS]:PORT`, `[ADDRESS%ZONE]:PORT`, `[ADDRESS]%ZONE:PORT`.
fn bracketed(rest: &str) -> Result<Split, String> {
    let Some((inside, after)) = rest.split_once(']') else {
        return Err("missing ']' after the IPv6 address".into());
    };
    let (inside, after) = match after.strip_prefix('%') {
        // As ss prints a device-bound endpoint: the zone after the bracket.
        Some(zone_and_port) => {
            let (zone, port) = match zone_and_port.split_once(':') {
                Some((zone, port)) => (zone, Some(port)),
                None => (zone_and_port, None),
            };
            if inside.contains('%') {
                return Err("two zones: write [ADDRESS%ZONE]:PORT".into());
            }
            return checked_bracket_host(&format!("{inside}%{zone}"), port);
        }
        None => (inside, after),
    };
    match after {
        "" => checked_bracket_host(inside, None),
        _ => match after.strip_prefix(':') {
            Some(port) => checked_bracket_host(inside, Some(port)),
            None => Err(format!("expected ':PORT' after ']', found '{after}'")),
        },
    }
}

fn checked_bracket_host(host: &str, port: Option<&str>) -> Result<Split, String> {
    let (address, zone) = split_zone(host);
    if zone == Some("") {
        return Err(format!("'{host}' has an empty interface after '%'"));
    }
    if address.parse::<Ipv6Addr>().is_err() {
        return Err(format!("'{address}' in brackets is not an IPv6 address"));
    }
    Ok(Split::host_port(host, port))
}

/// Several colons and no brackets: an IPv6 address, perhaps with a port.
fn unbracketed_ipv6(text: &str, writer: Writer) -> Result<Split, String> {
    // A zone ends the address: `fe80::1%eth0:80` can only mean port 80.
    if let Some((address, zone_and_port)) = text.split_once('%') {
        return Ok(match zone_and_port.split_once(':') {
            Some((zone, port)) => Split::host_port(&format!("{address}%{zone}"), Some(port)),
            None => Split::host_port(text, None),
        });
    }
    let whole_is_address = text.parse::<Ipv6Addr>().is_ok();
    let Some((address, port)) = text
        .rsplit_once(':')
        .filter(|(_, port)| looks_like_port(port))
    else {
        return Ok(Split::host_port(text, None));
    };
    let prefix_is_address = address.parse::<IpAddr>().is_ok();
    match (whole_is_address, prefix_is_address) {
        (true, false) => Ok(Split::host_port(text, None)),
        // Neither is an address (Redis's `::*:6379`): the caller judges the host.
        (false, _) => Ok(Split::host_port(address, Some(port))),
        (true, true) => match writer {
            Writer::Runtime => Ok(Split::host_port(address, Some(port))),
            Writer::Person => Err(format!(
                "'{text}' can be read two ways: write [{address}]:{port} for port {port} on {address}, or [{text}] for the address {text} itself"
            )),
        },
    }
}

/// Digits, or a `LOW-HIGH` range of digits.
fn looks_like_port(text: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('-') {
        Some((low, high)) => digits(low) && digits(high),
        None => digits(text),
    }
}

/// `fe80::1%eth0` into the address text and the zone.
pub fn split_zone(host: &str) -> (&str, Option<&str>) {
    match host.split_once('%') {
        Some((address, zone)) => (address, Some(zone)),
        None => (host, None),
    }
}

/// A numeric host as `getaddrinfo` reads it (`inet_aton`'s forms, so
/// `127.1`, `0x7f.1` and `2130706433` too), or an IPv6 literal with an
/// optional `%zone`: a literal, which no resolver source is asked about.
pub fn numeric_host(host: &str) -> Option<IpAddr> {
    let (address, _) = split_zone(host);
    if let Ok(ip) = address.parse::<IpAddr>() {
        return Some(ip);
    }
    inet_aton(address).map(IpAddr::V4)
}

/// glibc's `inet_aton`: one to four parts, each decimal, octal (`0` first)
/// or hex (`0x`); the last part fills the remaining bytes.
fn inet_aton(text: &str) -> Option<std::net::Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) =
            if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (hex, 16)
            } else if part.len() > 1 && part.starts_with('0') {
                (&part[1..], 8)
            } else {
                (*part, 10)
            };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        values.push(u32::from_str_radix(digits, radix).ok()?);
    }
    let (last, leading) = values.split_last()?;
    let mut address: u32 = 0;
    for (index, &value) in leading.iter().enumerate() {
        if value > 0xff {
            return None;
        }
        address |= value << (24 - 8 * index);
    }
    let room_bits = 32 - 8 * leading.len();
    if room_bits < 32 && *last >= (1u32 << room_bits) {
        return None;
    }
    Some(std::net::Ipv4Addr::from(address | last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(text: &str, writer: Writer) -> (Option<String>, Option<String>) {
        let split = split(text, writer).unwrap_or_else(|e| panic!("{text}: {e}"));
        (split.host, split.port)
    }

    fn both(host: &str, port: &str) -> (Option<String>, Option<String>) {
        (Some(host.to_owned()), Some(port.to_owned()))
    }

    #[test]
    fn brackets_and_zones() {
        for writer in [Writer::Person, Writer::Runtime] {
            assert_eq!(hp("[::1]:80", writer), both("::1", "80"));
            assert_eq!(hp("[::1%lo]:80", writer), both("::1%lo", "80"));
            assert_eq!(hp("[::1]%lo:80", writer), both("::1%lo", "80"));
            assert_eq!(
                hp("[fe80::1]%eth0", writer),
                (Some("fe80::1%eth0".into()), None)
            );
            assert_eq!(hp("[::]", writer), (Some("::".into()), None));
            assert_eq!(hp("[::1:80]", writer), (Some("::1:80".into()), None));
            assert_eq!(hp("fe80::1%eth0:22", writer), both("fe80::1%eth0", "22"));
        }
        for (text, needle) in [
            ("[::1:80", "missing ']'"),
            ("::1]:80", "']' without"),
            ("[::1]80", "expected ':PORT'"),
            ("[foo]:80", "not an IPv6 address"),
            ("[127.0.0.1]:80", "not an IPv6 address"),
            ("[::1%]:80", "empty interface"),
        ] {
            let error = split(text, Writer::Person).expect_err(text);
            assert!(error.contains(needle), "{text}: {error}");
        }
    }

    #[test]
    fn one_colon_and_none() {
        let writer = Writer::Person;
        assert_eq!(hp("127.0.0.1:80", writer), both("127.0.0.1", "80"));
        assert_eq!(hp("localhost:8443", writer), both("localhost", "8443"));
        assert_eq!(hp(":8080", writer), both("", "8080"));
        assert_eq!(hp("*:8080", writer), both("*", "8080"));
        assert_eq!(hp("127.0.0.1:", writer), both("127.0.0.1", ""));
        let bare = split("8000", writer).expect("bare");
        assert_eq!((bare.host, bare.bare), (None, Some("8000".into())));
    }

    /// Node writes `:::3000` and `::1:3000`; only the first is one
    /// reading alone.
    #[test]
    fn unbracketed_ipv6_read_as_runtimes_mean_it_where_unambiguous() {
        for writer in [Writer::Person, Writer::Runtime] {
            assert_eq!(hp(":::3000", writer), both("::", "3000"));
            assert_eq!(hp(":::80", writer), both("::", "80"));
            // Nine groups: only the port reading is an address.
            assert_eq!(
                hp("1:2:3:4:5:6:7:8:80", writer),
                both("1:2:3:4:5:6:7:8", "80")
            );
            assert_eq!(
                hp("::ffff:127.0.0.1:80", writer),
                both("::ffff:127.0.0.1", "80")
            );
            // Five digits are no IPv6 group.
            assert_eq!(hp("::1:65000", writer), both("::1", "65000"));
            assert_eq!(hp("::1:8000-8100", writer), both("::1", "8000-8100"));
            // Hex is no port.
            assert_eq!(hp("::1:ab", writer), (Some("::1:ab".into()), None));
            assert_eq!(hp("::", writer), (Some("::".into()), None));
        }
        assert_eq!(hp("::1", Writer::Person), (Some("::1".into()), None));
        assert_eq!(hp("::1:80", Writer::Runtime), both("::1", "80"));
        assert_eq!(hp("fe80::1:3000", Writer::Runtime), both("fe80::1", "3000"));
        let error = split("::1:80", Writer::Person).expect_err("ambiguous");
        assert!(
            error.contains("[::1]:80") && error.contains("[::1:80]"),
            "{error}"
        );
    }

    #[test]
    fn numeric_hosts_as_getaddrinfo_reads_them() {
        let v4 = |t: &str| numeric_host(t).map(|ip| ip.to_string());
        assert_eq!(v4("127.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("127.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("0x7f.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("2130706433").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("010.0.0.1").as_deref(), Some("8.0.0.1"));
        assert_eq!(v4("::1%lo").as_deref(), Some("::1"));
        assert_eq!(v4("1.2.3.256"), None);
        assert_eq!(v4("1.256.3"), None);
        assert_eq!(v4("1.2.768").as_deref(), Some("1.2.3.0"));
        assert_eq!(v4("0x"), None);
        assert_eq!(v4("0x100.1"), None);
        assert_eq!(v4("+1.2.3.4"), None);
        assert_eq!(v4("256.1"), None);
        assert_eq!(v4("1.2.3.4.5"), None);
        assert_eq!(v4("08"), None);
        assert_eq!(v4("localhost"), None);
        assert_eq!(v4(""), None);
        assert_eq!(v4("1..2"), None);
    }
}

/// Properties over generated text (proptest).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn never_panics(text in any::<String>(), hostish in "[\\[\\]0-9a-fx:.%*\\- ]{0,24}") {
            for writer in [Writer::Person, Writer::Runtime] {
                let _ = split(&text, writer);
                let _ = split(&hostish, writer);
            }
            let _ = numeric_host(&text);
            let _ = numeric_host(&hostish);
        }

        /// Every address with a port, written as portcheck prints it,
        /// and unbracketed where only the port reading is an address,
        /// reads back.
        #[test]
        fn endpoints_read_back(address in any::<IpAddr>(), port in 1u16..) {
            let written = crate::model::endpoint(address, port, None);
            let split = split(&written, Writer::Person).expect("endpoint");
            prop_assert_eq!(split.host, Some(address.to_string()));
            prop_assert_eq!(split.port, Some(port.to_string()));
            let unbracketed = format!("{address}:{port}");
            let split = super::split(&unbracketed, Writer::Runtime).expect("runtime form");
            prop_assert_eq!(split.host, Some(address.to_string()));
            prop_assert_eq!(split.port, Some(port.to_string()));
        }
    }
}
