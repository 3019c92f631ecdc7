//! What clients really get: getaddrinfo (hosts file, nsswitch, gai.conf all
//! apply), where each address came from, and the source address the kernel
//! would use for it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use dns_lookup::{AddrInfoHints, LookupErrorKind};

use crate::error::Error;
use crate::model::Protocol;

/// A resolver that does not answer by then is reported, never waited on.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// getaddrinfo(host, NULL, {socktype}) with no flags, as Python's
/// `socket.create_connection` and most C clients call it: addresses in the
/// order the system returns them, duplicates dropped.
pub fn resolve(host: &str, protocol: Protocol) -> Result<Vec<IpAddr>, Error> {
    let socktype = match protocol {
        Protocol::Tcp => libc_sock_stream(),
        Protocol::Udp => libc_sock_dgram(),
    };
    let name = host.to_owned();
    let (sender, receiver) = mpsc::channel();
    // getaddrinfo cannot be cancelled; a thread lets us stop waiting.
    thread::spawn(move || {
        let hints = AddrInfoHints {
            flags: 0,
            address: 0,
            socktype,
            protocol: 0,
        };
        let result = dns_lookup::getaddrinfo(Some(&name), None, Some(hints)).map(|iter| {
            iter.filter_map(Result::ok)
                .map(|info| info.sockaddr.ip())
                .collect::<Vec<_>>()
        });
        let _ = sender.send(result);
    });
    let result = receiver
        .recv_timeout(RESOLVE_TIMEOUT)
        .map_err(|_| Error::ResolverFailed {
            host: host.to_owned(),
            why: format!(
                "the system resolver did not answer within {} s",
                RESOLVE_TIMEOUT.as_secs()
            ),
        })?;
    match result {
        Ok(addresses) => {
            let mut seen = Vec::new();
            for address in addresses {
                if !seen.contains(&address) {
                    seen.push(address);
                }
            }
            if seen.is_empty() {
                return Err(Error::HostNotFound {
                    host: host.to_owned(),
                    why: "no address".into(),
                });
            }
            Ok(seen)
        }
        Err(error) => Err(match error.kind() {
            LookupErrorKind::NoName | LookupErrorKind::NoData => Error::HostNotFound {
                host: host.to_owned(),
                why: if std::path::Path::new("/etc/hosts").exists() {
                    "name not found (hosts file and DNS have no address for it)".into()
                } else {
                    "name not found (DNS has no address for it, and there is no /etc/hosts here)"
                        .into()
                },
            },
            LookupErrorKind::Again => Error::ResolverFailed {
                host: host.to_owned(),
                why: "temporary failure in name resolution (is a DNS server reachable?)".into(),
            },
            other => Error::ResolverFailed {
                host: host.to_owned(),
                why: format!("getaddrinfo failed: {other:?}"),
            },
        }),
    }
}

fn libc_sock_stream() -> i32 {
    // SOCK_STREAM and SOCK_DGRAM are 1 and 2 on Linux, the BSDs, macOS and
    // Windows alike.
    1
}

fn libc_sock_dgram() -> i32 {
    2
}

/// Names in the hosts file, mapped to their addresses, to tell `hosts`
/// answers from `dns` ones.
#[derive(Debug, Default, Clone)]
pub struct HostsFile(HashMap<String, Vec<IpAddr>>);

impl HostsFile {
    pub fn addresses(&self, name: &str) -> &[IpAddr] {
        self.0
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }
}

pub fn hosts_file(text: &str) -> HostsFile {
    let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(address) = fields
            .next()
            .and_then(|a| a.split('%').next()?.parse::<IpAddr>().ok())
        else {
            continue;
        };
        for name in fields {
            map.entry(name.to_ascii_lowercase())
                .or_default()
                .push(address);
        }
    }
    HostsFile(map)
}

/// Where an address of `host` came from: `literal` when the host is an
/// address as getaddrinfo reads one (`127.1` and `::1%lo` too), `hosts` when the hosts file lists it for the name, else `dns`
/// (any other nsswitch source).
pub fn origin(host: &str, address: IpAddr, hosts: &HostsFile) -> &'static str {
    if crate::hostport::numeric_host(host).is_some() {
        "literal"
    } else if hosts.addresses(host).contains(&address) {
        "hosts"
    } else {
        "dns"
    }
}

/// The source address the kernel would use for `destination`: connect a
/// UDP socket (which sends nothing) and read its local address, as glibc
/// does. `None` means no route.
pub fn source_for(destination: IpAddr) -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind(match destination {
        IpAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        IpAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    })
    .ok()?;
    socket.connect(SocketAddr::new(destination, 9)).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// The prefix length of a local address on its interface.
pub fn prefix_len(address: IpAddr) -> Option<u8> {
    let interfaces = if_addrs::get_if_addrs().ok()?;
    interfaces
        .iter()
        .find(|i| i.ip() == address)
        .map(|i| match &i.addr {
            if_addrs::IfAddr::V4(v4) => {
                u8::try_from(v4.netmask.to_bits().leading_ones()).unwrap_or(32)
            }
            if_addrs::IfAddr::V6(v6) => {
                u8::try_from(v6.netmask.to_bits().leading_ones()).unwrap_or(128)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_maps_every_alias() {
        let hosts = hosts_file(
            "127.0.0.1 localhost\n::1 localhost ip6-localhost # v6\n# 10.0.0.1 gone\nfe80::1%lo ll\n",
        );
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(hosts.addresses("localhost"), [ip("127.0.0.1"), ip("::1")]);
        assert_eq!(hosts.addresses("ip6-localhost"), [ip("::1")]);
        assert!(hosts.addresses("gone").is_empty());
        assert_eq!(origin("LOCALHOST", ip("::1"), &hosts), "hosts");
        assert_eq!(origin("localhost", ip("10.0.0.1"), &hosts), "dns");
        assert_eq!(origin("::1", ip("::1"), &hosts), "literal");
    }
}
