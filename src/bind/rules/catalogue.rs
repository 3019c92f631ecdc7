//! The rules `try` can report: each one's stable name (JSON's
//! `prediction.rule`, part of the contract), what it means, and the man
//! page's list generated from them.

use std::fmt::Write as _;

/// Declares [`Rule`] with, for each rule, its name, its description (the
/// long form) and its line in the man page, so that no list of rules is
/// kept by hand anywhere else.
macro_rules! rules {
    ($($variant:ident => $name:literal, $summary:literal, $description:literal;)+) => {
        /// A rule of the model: the one that decided a verdict.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($variant,)+
        }

        impl Rule {
            /// Every rule, in the order the man page lists them.
            pub const ALL: &[Rule] = &[$(Rule::$variant,)+];

            /// The stable snake_case name (JSON `prediction.rule`, the
            /// table's rule column).
            pub fn name(self) -> &'static str {
                match self {
                    $(Rule::$variant => $name,)+
                }
            }

            /// What the rule means, in full.
            pub fn description(self) -> &'static str {
                match self {
                    $(Rule::$variant => $description,)+
                }
            }

            /// The rule's line in the man page (short).
            pub fn summary(self) -> &'static str {
                match self {
                    $(Rule::$variant => $summary,)+
                }
            }
        }
    };
}

rules! {
    PortUnused => "port_unused",
        "no socket of this protocol holds the port",
        "no socket of this protocol holds the port";
    NoOverlap => "no_overlap",
        "sockets hold the port, but none overlaps this address",
        "sockets hold the port, but none overlaps this address (a v6only [::] beside 0.0.0.0, two different specific addresses)";
    DifferentDevice => "different_device",
        "the overlapping sockets are bound to other devices",
        "the overlapping sockets are bound to other devices (SO_BINDTODEVICE)";
    SharedReuseaddr => "shared_reuseaddr",
        "SO_REUSEADDR on both sides, and the holder does not listen",
        "both sockets set SO_REUSEADDR and the holder does not listen, so the port is shared";
    SharedReuseport => "shared_reuseport",
        "SO_REUSEPORT on both sides under one uid (or a TIME_WAIT holder)",
        "both sockets set SO_REUSEPORT under one uid (or the holder is TIME_WAIT): they form a reuseport group";
    ReuseportShortcut => "reuseport_shortcut",
        "the kernel's SO_REUSEPORT shortcut let it in without checking every socket",
        "the kernel's SO_REUSEPORT shortcut let it in without checking every socket on the port: on TCP an earlier SO_REUSEPORT socket of the same uid covering this address set the port's fastreuseport state; on UDP the first socket met in the port's hash chain shares through SO_REUSEPORT";
    EphemeralPort => "ephemeral_port",
        "port 0: the kernel picks a free port",
        "port 0: the kernel picks a free ephemeral port";
    SameAddress => "same_address",
        "the holder has the same address and port (EADDRINUSE)",
        "the holder is bound to the same address and port";
    WildcardCoversAddress => "wildcard_covers_address",
        "the holder's 0.0.0.0 or [::] covers this address (EADDRINUSE)",
        "the holder is bound to the wildcard (0.0.0.0 or [::]) that covers this address";
    CandidateWildcardCoversAddress => "candidate_wildcard_covers_address",
        "this wildcard covers the holder's address (EADDRINUSE)",
        "this wildcard covers an address the holder is bound to";
    DualStackWildcardOverlapsIpv4 => "dual_stack_wildcard_overlaps_ipv4",
        "[::] without IPV6_V6ONLY also takes IPv4 (EADDRINUSE)",
        "a [::] socket without IPV6_V6ONLY also takes IPv4, so it collides with IPv4 binds on the port";
    MappedAddressIsIpv4 => "mapped_address_is_ipv4",
        "[::ffff:a.b.c.d] binds as IPv4 (EADDRINUSE)",
        "an IPv4-mapped IPv6 address ([::ffff:a.b.c.d]) binds as IPv4 and collides with the IPv4 socket";
    ListenerNeverShares => "listener_never_shares",
        "SO_REUSEADDR never shares with a listening socket (EADDRINUSE)",
        "SO_REUSEADDR on both sides does not share a port with a socket that listens";
    ReuseportNeedsSameUid => "reuseport_needs_same_uid",
        "SO_REUSEPORT shares only within one effective uid (EADDRINUSE)",
        "SO_REUSEPORT on both sides shares only between sockets of the same effective uid";
    TimeWaitNeedsReuseaddr => "time_wait_needs_reuseaddr",
        "a TIME_WAIT entry yields only to SO_REUSEADDR on both (EADDRINUSE)",
        "a TIME_WAIT entry blocks the address unless both it and the new socket had SO_REUSEADDR";
    DependsOnUnreadableOptions => "depends_on_unreadable_options",
        "depends on another socket's SO_REUSEADDR/SO_REUSEPORT, unreadable",
        "the verdict depends on SO_REUSEADDR/SO_REUSEPORT of a socket that could not be read (another user's, or a TIME_WAIT entry's)";
    DependsOnBindOrder => "depends_on_bind_order",
        "depends on the order the port's sockets were bound, not reported",
        "the verdict depends on the order in which the sockets on the port were bound (the kernel's SO_REUSEPORT shortcut), which no socket table shows";
    DependsOnUnknownV6only => "depends_on_unknown_v6only",
        "depends on a [::] socket's IPV6_V6ONLY, not reported",
        "the verdict depends on IPV6_V6ONLY of a [::] socket the kernel did not report";
    DependsOnUnlistedSockets => "depends_on_unlisted_sockets",
        "nothing listed is in the way, but bound-only TCP sockets are not listed (netstat2)",
        "nothing listed is in the way, but the socket source cannot list TCP sockets that are bound without listening (netstat2), and one may hold the port";
    DependsOnUnknownDevice => "depends_on_unknown_device",
        "depends on a socket's bound device, not reported (netstat2)",
        "the conflict depends on a socket's bound device (SO_BINDTODEVICE), which the socket source does not report (netstat2)";
    NoModelForOs => "no_model_for_os",
        "no prediction off Linux: the trial bind alone answers",
        "no prediction: the model is Linux's, and this OS's bind rules differ; the trial bind alone answers";
    PrivilegedPort => "privileged_port",
        "below ip_unprivileged_port_start without CAP_NET_BIND_SERVICE (EACCES)",
        "ports below net.ipv4.ip_unprivileged_port_start need root or CAP_NET_BIND_SERVICE (EACCES)";
    AddressNotLocal => "address_not_local",
        "not an address of this host, no freebind/ip_nonlocal_bind (EADDRNOTAVAIL)",
        "the address is not assigned to this host and neither freebind nor ip_nonlocal_bind is set (EADDRNOTAVAIL)";
    MappedAddressOnV6only => "mapped_address_on_v6only",
        "an IPv4-mapped address with IPV6_V6ONLY (EINVAL)",
        "an IPv4-mapped address cannot be bound with IPV6_V6ONLY set (EINVAL)";
    LinkLocalNeedsScope => "link_local_needs_scope",
        "a link-local IPv6 address without an interface (EINVAL)",
        "a link-local IPv6 address needs an interface: [fe80::1%eth0] or device= (EINVAL)";
    TcpMulticast => "tcp_multicast",
        "TCP cannot bind a multicast address (EINVAL)",
        "TCP cannot bind a multicast address (EINVAL)";
}

impl Rule {
    /// The rules that answer "depends": a fact the verdict needs could not
    /// be read.
    pub fn is_depends(self) -> bool {
        match self {
            Rule::DependsOnUnreadableOptions
            | Rule::DependsOnBindOrder
            | Rule::DependsOnUnknownV6only
            | Rule::DependsOnUnlistedSockets
            | Rule::DependsOnUnknownDevice => true,
            Rule::PortUnused
            | Rule::NoOverlap
            | Rule::DifferentDevice
            | Rule::SharedReuseaddr
            | Rule::SharedReuseport
            | Rule::ReuseportShortcut
            | Rule::EphemeralPort
            | Rule::SameAddress
            | Rule::WildcardCoversAddress
            | Rule::CandidateWildcardCoversAddress
            | Rule::DualStackWildcardOverlapsIpv4
            | Rule::MappedAddressIsIpv4
            | Rule::ListenerNeverShares
            | Rule::ReuseportNeedsSameUid
            | Rule::TimeWaitNeedsReuseaddr
            | Rule::NoModelForOs
            | Rule::PrivilegedPort
            | Rule::AddressNotLocal
            | Rule::MappedAddressOnV6only
            | Rule::LinkLocalNeedsScope
            | Rule::TcpMulticast => false,
        }
    }
}

/// The rules as the man page and `try --help` list them, generated from
/// [`Rule`].
pub fn rules_help() -> String {
    let width = Rule::ALL.iter().map(|r| r.name().len()).max().unwrap_or(0) + 2;
    let mut out = String::from("Rules (prediction.rule in JSON):");
    for rule in Rule::ALL {
        let _ = write!(out, "\n  {:<width$}{}", rule.name(), rule.summary());
    }
    out
}
