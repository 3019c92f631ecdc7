//! The address checks of bind(): EACCES, EINVAL, EADDRNOTAVAIL.

use std::net::IpAddr;

use super::catalogue::Rule;
use super::types::{Errno, Host, Stage, Tri, Verdict};
use crate::bind::candidate::Candidate;
use crate::model::Protocol;

/// EACCES, EINVAL and EADDRNOTAVAIL, in the order `__inet_bind` (IPv4:
/// address first, then port) and `__inet6_bind` (IPv6: port first) check
/// them.
pub(super) fn address_checks(
    host: &Host,
    candidate: &Candidate,
    address_valid: Tri,
) -> Option<Verdict> {
    let privileged = candidate.port != 0
        && candidate.port < host.unprivileged_port_start
        && !host.can_bind_privileged;
    let access = || Verdict::fails(Errno::Access, Stage::Bind, Rule::PrivilegedPort);
    let not_local = || Verdict::fails(Errno::AddrNotAvail, Stage::Bind, Rule::AddressNotLocal);
    let freebind = candidate.options.freebind;
    match candidate.address {
        IpAddr::V4(v4) => {
            let may_be_foreign = freebind || host.ipv4_nonlocal_bind || v4.is_unspecified();
            if !may_be_foreign && address_valid == Some(false) {
                return Some(not_local());
            }
            privileged.then(access)
        }
        IpAddr::V6(v6) => {
            if candidate.protocol == Protocol::Tcp && v6.is_multicast() {
                return Some(Verdict::fails(
                    Errno::Inval,
                    Stage::Bind,
                    Rule::TcpMulticast,
                ));
            }
            if privileged {
                return Some(access());
            }
            let may_be_foreign = freebind || host.ipv6_nonlocal_bind;
            if let Some(v4) = v6.to_ipv4_mapped() {
                if candidate.options.v6only {
                    return Some(Verdict::fails(
                        Errno::Inval,
                        Stage::Bind,
                        Rule::MappedAddressOnV6only,
                    ));
                }
                if !may_be_foreign && !v4.is_unspecified() && address_valid == Some(false) {
                    return Some(not_local());
                }
                return None;
            }
            if v6.is_unspecified() {
                return None;
            }
            if v6.is_unicast_link_local() && candidate.device().is_none() {
                return Some(Verdict::fails(
                    Errno::Inval,
                    Stage::Bind,
                    Rule::LinkLocalNeedsScope,
                ));
            }
            if !v6.is_multicast() && !may_be_foreign && address_valid == Some(false) {
                return Some(not_local());
            }
            None
        }
    }
}
