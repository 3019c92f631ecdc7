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
use crate::resolve::rfc6724::SourceFlags;

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

/// glibc's address list for RFC 6724 sorting (`__check_pf` in
/// sysdeps/unix/sysv/linux/check_pf.c): every address of the host with its
/// prefix length and flags, kept only when the host has an IPv6 address
/// other than `::1`; without one glibc sorts with no entries at all.
#[derive(Debug, Default, Clone)]
pub struct AddressList {
    entries: Vec<(IpAddr, u8, SourceFlags)>,
}

/// rtnetlink `ifa_flags` bits (linux/if_addr.h) glibc reads.
const IFA_F_OPTIMISTIC: u8 = 0x04;
const IFA_F_HOMEADDRESS: u8 = 0x10;
const IFA_F_DEPRECATED: u8 = 0x20;

impl AddressList {
    /// IPv6 from /proc/net/if_inet6, which carries what the rtnetlink
    /// dump does (the address, prefix length and the 8-bit `ifa_flags`);
    /// IPv4 prefixes from getifaddrs. IPv4 flags are not read (no /proc
    /// file has them): an IPv4 source is taken as neither deprecated nor
    /// a home address.
    pub fn read() -> AddressList {
        let v6 = std::fs::read_to_string("/proc/net/if_inet6")
            .map(|text| parse_if_inet6(&text))
            .unwrap_or_default();
        let v4: Vec<(IpAddr, u8, SourceFlags)> = if_addrs::get_if_addrs()
            .map(|interfaces| {
                interfaces
                    .iter()
                    .filter_map(|i| match &i.addr {
                        if_addrs::IfAddr::V4(v4) => Some((
                            IpAddr::V4(v4.ip),
                            u8::try_from(v4.netmask.to_bits().leading_ones()).unwrap_or(32),
                            SourceFlags::default(),
                        )),
                        if_addrs::IfAddr::V6(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        AddressList::from_entries(v4.into_iter().chain(v6).collect())
    }

    /// The list as glibc keeps it: empty unless some IPv6 address is not
    /// the loopback one.
    pub fn from_entries(entries: Vec<(IpAddr, u8, SourceFlags)>) -> AddressList {
        let seen_ipv6 = entries
            .iter()
            .any(|(a, _, _)| matches!(a, IpAddr::V6(v6) if !v6.is_loopback()));
        AddressList {
            entries: if seen_ipv6 { entries } else { Vec::new() },
        }
    }

    /// What glibc finds for a source: its prefix length (`None`: no entry)
    /// and flags. glibc looks an IPv4 source in 127/8 up as 127.0.0.1 (the
    /// loopback interface's address), as getaddrinfo.c does.
    pub fn of(&self, source: IpAddr) -> (Option<u8>, SourceFlags) {
        let key = match source {
            IpAddr::V4(v4) if v4.octets()[0] == 127 => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            other => other,
        };
        self.entries
            .iter()
            .find(|(a, _, _)| *a == key)
            .map_or((None, SourceFlags::default()), |&(_, len, flags)| {
                (Some(len), flags)
            })
    }
}

/// /proc/net/if_inet6 lines: address (32 hex digits), interface index,
/// prefix length, scope, flags (all hex), interface name.
fn parse_if_inet6(text: &str) -> Vec<(IpAddr, u8, SourceFlags)> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [address, _, prefix, _, flags, ..] = fields.as_slice() else {
                return None;
            };
            let address = u128::from_str_radix(address, 16).ok()?;
            let prefix = u8::from_str_radix(prefix, 16).ok()?;
            let flags = u8::from_str_radix(flags, 16).ok()?;
            Some((
                IpAddr::V6(std::net::Ipv6Addr::from_bits(address)),
                prefix,
                SourceFlags {
                    deprecated: flags & (IFA_F_DEPRECATED | IFA_F_OPTIMISTIC) != 0,
                    home: flags & IFA_F_HOMEADDRESS != 0,
                },
            ))
        })
        .collect()
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

    /// Lines as Linux 6.18 printed them for `ip addr add 2001:db8:1::2/64
    /// dev v0 preferred_lft 0 nodad` (flags a2: permanent, deprecated,
    /// nodad) and a preferred address beside it (82).
    #[test]
    fn if_inet6_gives_glibcs_flags_and_prefixes() {
        let text = "fe80000000000000fcbe65fffe59dad8 03 40 20 c0       v0\n\
                    00000000000000000000000000000001 01 80 10 80       lo\n\
                    20010db8000100000000000000000002 03 40 00 a2       v0\n\
                    20010db8000200000000000000000002 03 40 00 82       v0\n";
        let list = AddressList::from_entries(parse_if_inet6(text));
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let deprecated = SourceFlags {
            deprecated: true,
            home: false,
        };
        assert_eq!(list.of(ip("2001:db8:1::2")), (Some(64), deprecated));
        assert_eq!(
            list.of(ip("2001:db8:2::2")),
            (Some(64), SourceFlags::default())
        );
        assert_eq!(list.of(ip("::1")), (Some(128), SourceFlags::default()));
        assert_eq!(list.of(ip("2001:db8:9::2")), (None, SourceFlags::default()));
        // Only ::1 (and IPv4): glibc keeps no list, so nothing is known.
        let v4 = (ip("10.0.0.1"), 24, SourceFlags::default());
        let lone = AddressList::from_entries(
            parse_if_inet6("00000000000000000000000000000001 01 80 10 80 lo\n")
                .into_iter()
                .chain([v4])
                .collect(),
        );
        assert_eq!(lone.of(ip("10.0.0.1")), (None, SourceFlags::default()));
        // With IPv6 the IPv4 prefix is known; 127/8 is looked up as 127.0.0.1.
        let both = AddressList::from_entries(vec![
            v4,
            (ip("127.0.0.1"), 8, SourceFlags::default()),
            (ip("2001:db8::1"), 64, SourceFlags::default()),
        ]);
        assert_eq!(both.of(ip("10.0.0.1")).0, Some(24));
        assert_eq!(both.of(ip("127.0.0.5")).0, Some(8));
    }
}
