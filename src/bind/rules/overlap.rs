//! When two bound addresses (and devices) overlap, as the kernel compares
//! them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::types::{Binding, Overlap, Tri, and, not, or};

/// Whether two bindings overlap in address and device (`None` when an
/// unreported IPV6_V6ONLY decides it).
pub fn overlaps(a: &Binding, b: &Binding) -> Tri {
    if devices_overlap(a, b) {
        addresses_overlap(a, b)
    } else {
        Some(false)
    }
}

/// A socket with no device overlaps every device.
pub(super) fn devices_overlap(a: &Binding, b: &Binding) -> bool {
    match (&a.device, &b.device) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// The address part of a socket as the kernel compares it: the IPv6
/// address (none for an IPv4 socket) and `inet_rcv_saddr`, the IPv4 address
/// (0.0.0.0 for `[::]`, the embedded address for a mapped bind).
pub(super) struct Side {
    v6: Option<Ipv6Addr>,
    v4: Ipv4Addr,
    v6only: Tri,
}

impl Side {
    pub(super) fn of(binding: &Binding) -> Side {
        match binding.address {
            IpAddr::V4(v4) => Side {
                v6: None,
                v4,
                v6only: Some(false),
            },
            IpAddr::V6(v6) => Side {
                v6: Some(v6),
                // LOOPBACK4_IPV6 (127.0.0.6) for other addresses: never
                // compared, since those sockets are v6-only.
                v4: if v6.is_unspecified() {
                    Ipv4Addr::UNSPECIFIED
                } else {
                    v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::new(127, 0, 0, 6))
                },
                v6only: binding.v6only,
            },
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
pub(super) enum AddrType {
    Any,
    Mapped,
    Other,
}

pub(super) fn addr_type(v6: Option<Ipv6Addr>) -> AddrType {
    match v6 {
        None => AddrType::Mapped, // an IPv4 socket compares as mapped
        Some(a) if a.is_unspecified() => AddrType::Any,
        Some(a) if a.to_ipv4_mapped().is_some() => AddrType::Mapped,
        Some(_) => AddrType::Other,
    }
}

/// `inet_rcv_saddr_equal(new, old, match_wildcard = true)`.
pub(super) fn addresses_overlap(new: &Binding, old: &Binding) -> Tri {
    rcv_saddr_equal(&Side::of(new), &Side::of(old), true, true)
}

/// `ipv6_rcv_saddr_equal` / `ipv4_rcv_saddr_equal`, chosen by sk1's family,
/// with the kernel's separate wildcard switches for each side.
pub(super) fn rcv_saddr_equal(sk1: &Side, sk2: &Side, wild1: bool, wild2: bool) -> Tri {
    match sk1.v6 {
        None => ipv4_equal(sk1.v4, sk2.v4, sk2.v6only, wild1, wild2),
        Some(_) => ipv6_equal(sk1, sk2, wild1, wild2),
    }
}

pub(super) fn ipv4_equal(
    a: Ipv4Addr,
    b: Ipv4Addr,
    b_v6only: Tri,
    wild_a: bool,
    wild_b: bool,
) -> Tri {
    let same = a == b || (wild_a && a.is_unspecified()) || (wild_b && b.is_unspecified());
    and(not(b_v6only), Some(same))
}

pub(super) fn ipv6_equal(sk1: &Side, sk2: &Side, wild1: bool, wild2: bool) -> Tri {
    let type1 = addr_type(sk1.v6);
    let type2 = addr_type(sk2.v6);
    if type1 == AddrType::Mapped && type2 == AddrType::Mapped {
        return ipv4_equal(sk1.v4, sk2.v4, sk2.v6only, wild1, wild2);
    }
    if type1 == AddrType::Any && type2 == AddrType::Any {
        return Some(true);
    }
    let mut result = Some(false);
    if type2 == AddrType::Any && wild2 {
        let blocked = and(sk2.v6only, Some(type1 == AddrType::Mapped));
        result = or(result, not(blocked));
    }
    if type1 == AddrType::Any && wild1 {
        let blocked = and(sk1.v6only, Some(type2 == AddrType::Mapped));
        result = or(result, not(blocked));
    }
    if sk2.v6.is_some() && sk1.v6 == sk2.v6 {
        result = Some(true);
    }
    result
}

pub(super) fn overlap_kind(new: &Binding, old: &Binding) -> Overlap {
    let is_mapped = |a: IpAddr| matches!(a, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
    let is_v4ish = |a: IpAddr| a.is_ipv4() || is_mapped(a);
    let is_any6 = |a: IpAddr| a == IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    if new.address == old.address {
        Overlap::SameAddress
    } else if is_any6(new.address) && is_v4ish(old.address) {
        Overlap::CandidateDualStack
    } else if is_any6(old.address) && is_v4ish(new.address) {
        Overlap::HolderDualStack
    } else if is_mapped(new.address) || is_mapped(old.address) {
        if crate::model::canonical(new.address) == crate::model::canonical(old.address) {
            Overlap::Mapped
        } else if crate::model::canonical(old.address).is_unspecified() {
            Overlap::HolderWildcard
        } else {
            Overlap::CandidateWildcard
        }
    } else if old.address.is_unspecified() {
        Overlap::HolderWildcard
    } else {
        Overlap::CandidateWildcard
    }
}
