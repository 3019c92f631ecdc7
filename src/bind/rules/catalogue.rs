//! The rules `try` can report, with what each means.

/// Every rule name `try` can report, with what it means (the man page and
/// the tests list them from here).
pub const RULES: &[(&str, &str)] = &[
    ("port_unused", "no socket of this protocol holds the port"),
    (
        "no_overlap",
        "sockets hold the port, but none overlaps this address (a v6only [::] beside 0.0.0.0, two different specific addresses)",
    ),
    (
        "different_device",
        "the overlapping sockets are bound to other devices (SO_BINDTODEVICE)",
    ),
    (
        "shared_reuseaddr",
        "both sockets set SO_REUSEADDR and the holder does not listen, so the port is shared",
    ),
    (
        "shared_reuseport",
        "both sockets set SO_REUSEPORT under one uid (or the holder is TIME_WAIT): they form a reuseport group",
    ),
    (
        "reuseport_shortcut",
        "the kernel's SO_REUSEPORT shortcut let it in without checking every socket on the port: on TCP an earlier SO_REUSEPORT socket of the same uid covering this address set the port's fastreuseport state; on UDP the first socket met in the port's hash chain shares through SO_REUSEPORT",
    ),
    (
        "ephemeral_port",
        "port 0: the kernel picks a free ephemeral port",
    ),
    (
        "same_address",
        "the holder is bound to the same address and port",
    ),
    (
        "wildcard_covers_address",
        "the holder is bound to the wildcard (0.0.0.0 or [::]) that covers this address",
    ),
    (
        "candidate_wildcard_covers_address",
        "this wildcard covers an address the holder is bound to",
    ),
    (
        "dual_stack_wildcard_overlaps_ipv4",
        "a [::] socket without IPV6_V6ONLY also takes IPv4, so it collides with IPv4 binds on the port",
    ),
    (
        "mapped_address_is_ipv4",
        "an IPv4-mapped IPv6 address ([::ffff:a.b.c.d]) binds as IPv4 and collides with the IPv4 socket",
    ),
    (
        "listener_never_shares",
        "SO_REUSEADDR on both sides does not share a port with a socket that listens",
    ),
    (
        "reuseport_needs_same_uid",
        "SO_REUSEPORT on both sides shares only between sockets of the same effective uid",
    ),
    (
        "time_wait_needs_reuseaddr",
        "a TIME_WAIT entry blocks the address unless both it and the new socket had SO_REUSEADDR",
    ),
    (
        "depends_on_unreadable_options",
        "the verdict depends on SO_REUSEADDR/SO_REUSEPORT of a socket that could not be read (another user's, or a TIME_WAIT entry's)",
    ),
    (
        "depends_on_bind_order",
        "the verdict depends on the order in which the sockets on the port were bound (the kernel's SO_REUSEPORT shortcut), which no socket table shows",
    ),
    (
        "depends_on_unknown_v6only",
        "the verdict depends on IPV6_V6ONLY of a [::] socket the kernel did not report",
    ),
    (
        "depends_on_unlisted_sockets",
        "nothing listed is in the way, but the socket source cannot list TCP sockets that are bound without listening (netstat2), and one may hold the port",
    ),
    (
        "depends_on_unknown_device",
        "the conflict depends on a socket's bound device (SO_BINDTODEVICE), which the socket source does not report (netstat2)",
    ),
    (
        "no_model_for_os",
        "no prediction: the model is Linux's, and this OS's bind rules differ; the trial bind alone answers",
    ),
    (
        "privileged_port",
        "ports below net.ipv4.ip_unprivileged_port_start need root or CAP_NET_BIND_SERVICE (EACCES)",
    ),
    (
        "address_not_local",
        "the address is not assigned to this host and neither freebind nor ip_nonlocal_bind is set (EADDRNOTAVAIL)",
    ),
    (
        "mapped_address_on_v6only",
        "an IPv4-mapped address cannot be bound with IPV6_V6ONLY set (EINVAL)",
    ),
    (
        "link_local_needs_scope",
        "a link-local IPv6 address needs an interface: [fe80::1%eth0] or device= (EINVAL)",
    ),
    (
        "tcp_multicast",
        "TCP cannot bind a multicast address (EINVAL)",
    ),
];

/// The rules as the man page lists them (kept in step with `RULES` by a
/// test).
pub const RULES_HELP: &str = "\
Rules (prediction.rule in JSON):
  port_unused                        no socket of this protocol holds the port
  no_overlap                         sockets hold the port, but none overlaps this address
  different_device                   the overlapping sockets are bound to other devices
  shared_reuseaddr                   SO_REUSEADDR on both sides, and the holder does not listen
  shared_reuseport                   SO_REUSEPORT on both sides under one uid (or a TIME_WAIT holder)
  reuseport_shortcut                 the kernel's SO_REUSEPORT shortcut let it in without checking every socket
  ephemeral_port                     port 0: the kernel picks a free port
  same_address                       the holder has the same address and port (EADDRINUSE)
  wildcard_covers_address            the holder's 0.0.0.0 or [::] covers this address (EADDRINUSE)
  candidate_wildcard_covers_address  this wildcard covers the holder's address (EADDRINUSE)
  dual_stack_wildcard_overlaps_ipv4  [::] without IPV6_V6ONLY also takes IPv4 (EADDRINUSE)
  mapped_address_is_ipv4             [::ffff:a.b.c.d] binds as IPv4 (EADDRINUSE)
  listener_never_shares              SO_REUSEADDR never shares with a listening socket (EADDRINUSE)
  reuseport_needs_same_uid           SO_REUSEPORT shares only within one effective uid (EADDRINUSE)
  time_wait_needs_reuseaddr          a TIME_WAIT entry yields only to SO_REUSEADDR on both (EADDRINUSE)
  depends_on_unreadable_options      depends on another socket's SO_REUSEADDR/SO_REUSEPORT, unreadable
  depends_on_bind_order              depends on the order the port's sockets were bound, not reported
  depends_on_unknown_v6only          depends on a [::] socket's IPV6_V6ONLY, not reported
  depends_on_unlisted_sockets        nothing listed is in the way, but bound-only TCP sockets are not listed (netstat2)
  depends_on_unknown_device          depends on a socket's bound device, not reported (netstat2)
  no_model_for_os                    no prediction off Linux: the trial bind alone answers
  privileged_port                    below ip_unprivileged_port_start without CAP_NET_BIND_SERVICE (EACCES)
  address_not_local                  not an address of this host, no freebind/ip_nonlocal_bind (EADDRNOTAVAIL)
  mapped_address_on_v6only           an IPv4-mapped address with IPV6_V6ONLY (EINVAL)
  link_local_needs_scope             a link-local IPv6 address without an interface (EINVAL)
  tcp_multicast                      TCP cannot bind a multicast address (EINVAL)";
