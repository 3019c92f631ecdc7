//! What `resolve` was asked: a name, an address, `host:port`, `[v6]:port`,
//! or a URL (the port from the scheme when absent), and an optional port as
//! a second argument.

use crate::error::Error;
use crate::hostport;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub host: String,
    pub port: Option<u16>,
}

impl Query {
    /// The query as portcheck prints an endpoint: an IPv6 literal in
    /// brackets (`[::1]:6400`, `[::1]%lo:80`), a name as `name:port`.
    pub fn shown(&self) -> String {
        let (address, zone) = hostport::split_zone(&self.host);
        match (self.port, address.parse::<std::net::IpAddr>()) {
            (Some(port), Ok(ip)) => crate::model::endpoint(ip, port, zone),
            (Some(port), Err(_)) => format!("{}:{port}", self.host),
            (None, _) => self.host.clone(),
        }
    }
}

pub fn parse_query(text: &str, extra_port: Option<&str>) -> Result<Query, Error> {
    let bad = |why: String| Error::BadHost {
        input: text.to_owned(),
        why,
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("it is empty".into()));
    }
    let (host, port) = if text.contains("://") {
        from_url(text).map_err(bad)?
    } else {
        split_host_port(text).map_err(bad)?
    };
    let extra = extra_port
        .map(|p| parse_port(p).map_err(&bad))
        .transpose()?;
    let port = match (port, extra) {
        (Some(a), Some(b)) if a != b => {
            return Err(bad(format!("two different ports were given: {a} and {b}")));
        }
        (a, b) => a.or(b),
    };
    if host.is_empty() {
        return Err(bad("the host is missing".into()));
    }
    Ok(Query { host, port })
}

fn from_url(text: &str) -> Result<(String, Option<u16>), String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a valid URL: {e}"))?;
    let host = match url.host() {
        Some(url::Host::Ipv6(v6)) => v6.to_string(),
        Some(host) => host.to_string(),
        None => return Err("the URL has no host".into()),
    };
    let port = url.port_or_known_default().or_else(|| match url.scheme() {
        // Schemes the url crate does not know, with their usual ports.
        "ssh" => Some(22),
        "postgres" | "postgresql" => Some(5432),
        "redis" => Some(6379),
        "mysql" => Some(3306),
        _ => None,
    });
    Ok((host, port))
}

fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let split = hostport::split(text, hostport::Writer::Person)?;
    match (split.bare, split.host, split.port) {
        (Some(bare), _, _) => Ok((bare, None)),
        (None, Some(host), Some(port)) => Ok((host, Some(parse_port(&port)?))),
        (None, Some(host), None) => Ok((host, None)),
        (None, None, _) => Err("the host is missing".into()),
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match crate::target::port_number(text)? {
        0 => Err("port 0 cannot be connected to".into()),
        port => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str, port: Option<&str>) -> Query {
        parse_query(text, port).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn accepts_names_addresses_urls_and_two_arguments() {
        assert_eq!(
            q("localhost:8000", None),
            Query {
                host: "localhost".into(),
                port: Some(8000)
            }
        );
        assert_eq!(q("localhost", Some("8000")).port, Some(8000));
        assert_eq!(q("localhost", None).port, None);
        assert_eq!(
            q("[::1]:8080", None),
            Query {
                host: "::1".into(),
                port: Some(8080)
            }
        );
        assert_eq!(q("::1", None).host, "::1");
        assert_eq!(q("http://localhost:8000/", None).port, Some(8000));
        assert_eq!(
            q("https://example.test/path", None),
            Query {
                host: "example.test".into(),
                port: Some(443)
            }
        );
        assert_eq!(
            q("http://[::1]/", None),
            Query {
                host: "::1".into(),
                port: Some(80)
            }
        );
        assert_eq!(q("postgres://db.local/app", None).port, Some(5432));
        assert_eq!(q("127.0.0.1:5432", Some("5432")).port, Some(5432));
        // As ss prints a device-bound endpoint, and as who and try read it.
        assert_eq!(
            q("[::1]%lo:80", None),
            Query {
                host: "::1%lo".into(),
                port: Some(80)
            }
        );
        assert_eq!(q(":::3000", None).host, "::");
    }

    #[test]
    fn shown_as_endpoints_are_printed() {
        assert_eq!(q("::1", Some("6400")).shown(), "[::1]:6400");
        assert_eq!(q("[::1]%lo:80", None).shown(), "[::1]%lo:80");
        assert_eq!(q("127.0.0.1:80", None).shown(), "127.0.0.1:80");
        assert_eq!(q("localhost:80", None).shown(), "localhost:80");
        assert_eq!(q("::1", None).shown(), "::1");
    }

    #[test]
    fn rejects_malformed_input() {
        for (text, port, needle) in [
            ("localhost:99999", None, "out of range"),
            ("localhost:abc", None, "not a port"),
            ("localhost:80", Some("81"), "two different ports"),
            ("[::1:80", None, "missing ']'"),
            ("[foo]:80", None, "not an IPv6 address"),
            ("http://", None, "not a valid URL"),
            ("", None, "empty"),
            (":80", None, "host is missing"),
            ("localhost", Some("0"), "port 0"),
            ("::1:80", None, "write [::1]:80 for port 80 on ::1"),
        ] {
            let error = parse_query(text, port).expect_err(text).to_string();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}

/// Properties of the parser over generated text (proptest).
#[cfg(test)]
mod properties {
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn parse_query_never_panics(
            text in any::<String>(),
            hostish in "([a-z+]{1,8}://)?[\\[\\]0-9a-z:.%@/?#]{0,24}",
            extra in prop::option::of("[0-9a-z]{0,6}"),
        ) {
            let _ = parse_query(&text, extra.as_deref());
            let _ = parse_query(&hostish, extra.as_deref());
            let _ = parse_query(&hostish, Some(&text));
        }

        /// `HOST:PORT` and `[IPV6]:PORT` give back the host and the port.
        #[test]
        fn host_and_port_parse_back(
            name in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
            address in any::<IpAddr>(),
            port in 1u16..,
        ) {
            prop_assert_eq!(
                parse_query(&format!("{name}:{port}"), None).expect("host:port"),
                Query { host: name.clone(), port: Some(port) }
            );
            prop_assert_eq!(
                parse_query(&name, Some(&port.to_string())).expect("host port"),
                Query { host: name, port: Some(port) }
            );
            let written = crate::model::endpoint(address, port, None);
            prop_assert_eq!(
                parse_query(&written, None).expect("address:port"),
                Query { host: address.to_string(), port: Some(port) }
            );
        }
    }
}
