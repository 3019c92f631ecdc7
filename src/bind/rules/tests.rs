//! The model against hand-written tables and plans.

use super::catalogue::{Rule, rules_help};
use super::plan::*;
use super::types::*;
use crate::bind::candidate::Candidate;

const ROOT: Host = Host {
    euid: 0,
    can_bind_privileged: true,
    unprivileged_port_start: 1024,
    ipv4_nonlocal_bind: false,
    ipv6_nonlocal_bind: false,
};

/// A live socket: `spec` in candidate syntax, plus its state.
fn live(spec: &str, index: usize, listening: bool, uid: u32) -> Binding {
    let c = &Candidate::plan(&[spec])[0];
    let mut b = Binding::from_candidate(c, uid, listening);
    b.holder = Holder::Live(index);
    b
}

fn verdicts(host: &Host, live: &[Binding], plan: &[&str]) -> Vec<Verdict> {
    let c = Candidate::plan(plan);
    let valid = vec![Some(true); c.len()];
    predict_plan(host, live, &c, &valid)
}

fn one(live: &[Binding], candidate: &str) -> Verdict {
    verdicts(&ROOT, live, &[candidate]).remove(0)
}

#[test]
fn address_overlap_follows_the_kernel_table() {
    // (existing, candidate, collides) with neither side sharing.
    let cases = [
        ("0.0.0.0:80/noreuseaddr", "127.0.0.1:80/noreuseaddr", true),
        (
            "127.0.0.1:80/noreuseaddr",
            "127.0.0.2:80/noreuseaddr",
            false,
        ),
        (
            "[::]:80/dualstack,noreuseaddr",
            "0.0.0.0:80/noreuseaddr",
            true,
        ),
        (
            "[::]:80/dualstack,noreuseaddr",
            "127.0.0.1:80/noreuseaddr",
            true,
        ),
        (
            "[::]:80/dualstack,noreuseaddr",
            "[::1]:80/noreuseaddr",
            true,
        ),
        ("[::]:80/v6only,noreuseaddr", "[::1]:80/noreuseaddr", true),
        (
            "[::]:80/v6only,noreuseaddr",
            "0.0.0.0:80/noreuseaddr",
            false,
        ),
        (
            "0.0.0.0:80/noreuseaddr",
            "[::]:80/dualstack,noreuseaddr",
            true,
        ),
        (
            "127.0.0.1:80/noreuseaddr",
            "[::]:80/dualstack,noreuseaddr",
            true,
        ),
        (
            "[::1]:80/dualstack,noreuseaddr",
            "0.0.0.0:80/noreuseaddr",
            false,
        ),
        (
            "[::ffff:127.0.0.1]:80/noreuseaddr",
            "127.0.0.1:80/noreuseaddr",
            true,
        ),
        (
            "[::ffff:127.0.0.1]:80/noreuseaddr",
            "127.0.0.2:80/noreuseaddr",
            false,
        ),
        (
            "[::ffff:127.0.0.1]:80/noreuseaddr",
            "[::1]:80/noreuseaddr",
            false,
        ),
        (
            "127.0.0.1:80/noreuseaddr",
            "[::ffff:127.0.0.1]:80/noreuseaddr",
            true,
        ),
        (
            "0.0.0.0:80/noreuseaddr",
            "[::ffff:127.0.0.1]:80/noreuseaddr",
            true,
        ),
        (
            "[::]:80/v6only,noreuseaddr",
            "[::ffff:127.0.0.1]:80/noreuseaddr",
            false,
        ),
        ("[::1]:80/noreuseaddr", "[::1]:80/noreuseaddr", true),
    ];
    for (existing, candidate, collides) in cases {
        let verdict = one(&[live(existing, 0, true, 0)], candidate);
        assert_eq!(
            verdict.ok(),
            Some(!collides),
            "{existing} then {candidate}: {verdict:?}"
        );
    }
}

#[test]
fn seed_scenarios_in_a_plan() {
    let v = verdicts(&ROOT, &[], &["[::]:443", "0.0.0.0:443"]);
    assert_eq!(v[0].ok(), Some(true));
    assert_eq!(v[1].ok(), Some(false));
    assert_eq!(v[1].rule(), Rule::DualStackWildcardOverlapsIpv4);
    assert_eq!(v[1].conflicts[0].holder, Holder::Candidate(0));
    let v = verdicts(&ROOT, &[], &["[::]:443/v6only", "0.0.0.0:443"]);
    assert!(v.iter().all(|v| v.ok() == Some(true)), "{v:?}");
}

#[test]
fn dual_stack_against_a_live_ipv4_listener() {
    let v = one(&[live("0.0.0.0:443", 0, true, 0)], "[::]:443");
    assert_eq!(v.ok(), Some(false));
    assert_eq!(v.errno(), Some(Errno::AddrInUse));
    assert_eq!(v.stage(), Some(Stage::Bind));
    assert_eq!(v.rule(), Rule::DualStackWildcardOverlapsIpv4);
    assert_eq!(v.conflicts[0].overlap, Overlap::CandidateDualStack);
    assert_eq!(v.conflicts[0].why, NotShared::HolderListens);
    let v = one(&[live("127.0.0.1:443", 0, true, 0)], "127.0.0.1:443");
    assert_eq!(v.rule(), Rule::ListenerNeverShares);
}

#[test]
fn reuseaddr_shares_until_someone_listens() {
    let bound_only = live("127.0.0.1:7000/nolisten", 0, false, 0);
    let v = one(std::slice::from_ref(&bound_only), "127.0.0.1:7000/nolisten");
    assert_eq!((v.ok(), v.rule()), (Some(true), Rule::SharedReuseaddr));
    // Listening beside it works, and breaks the live socket's listen().
    let v = one(&[bound_only], "127.0.0.1:7000");
    assert_eq!(v.ok(), Some(true));
    assert_eq!(v.breaks_listen_of, vec![0]);
    // Two candidates bound first, then both listen: the second listen fails.
    let v = verdicts(&ROOT, &[], &["127.0.0.1:7000", "127.0.0.1:7000"]);
    assert_eq!(v[0].ok(), Some(true));
    assert_eq!(
        (v[1].ok(), v[1].stage(), v[1].rule()),
        (Some(false), Some(Stage::Listen), Rule::ListenerNeverShares)
    );
}

#[test]
fn reuseport_needs_both_sides_and_one_uid() {
    let group = live("0.0.0.0:8080/reuseport", 0, true, 1000);
    let v = verdicts(
        &Host { euid: 1000, ..ROOT },
        std::slice::from_ref(&group),
        &["0.0.0.0:8080/reuseport"],
    );
    assert_eq!(
        (v[0].ok(), v[0].rule()),
        (Some(true), Rule::SharedReuseport)
    );
    let v = one(std::slice::from_ref(&group), "0.0.0.0:8080/reuseport");
    assert_eq!(
        (v.ok(), v.rule()),
        (Some(false), Rule::ReuseportNeedsSameUid)
    );
    let v = verdicts(&Host { euid: 1000, ..ROOT }, &[group], &["0.0.0.0:8080"]);
    assert_eq!(v[0].ok(), Some(false));
}

/// uid 65534 cannot read root's socket options: against root's
/// listener a `reuseport` bind fails whatever root set, and the uid is
/// what decides it; a bound-only holder's unread SO_REUSEADDR is all
/// the answer depends on.
#[test]
fn another_uids_unread_options_leave_the_uid_deciding() {
    let nobody = Host {
        euid: 65534,
        ..ROOT
    };
    let unread = |spec: &str, listening: bool| {
        let mut b = live(spec, 0, listening, 0);
        b.reuseaddr = None;
        b.reuseport = None;
        b
    };
    for spec in ["tcp:0.0.0.0:8100", "udp:0.0.0.0:8100"] {
        let holder = unread(spec, spec.starts_with("tcp"));
        let v = verdicts(
            &nobody,
            &[holder],
            &[&format!("{spec}/reuseport,noreuseaddr")],
        );
        assert_eq!(
            (v[0].ok(), v[0].rule()),
            (Some(false), Rule::ReuseportNeedsSameUid),
            "{spec}"
        );
        assert!(v[0].conflicts[0].unknown.is_empty(), "{v:?}");
    }
    let listener = unread("0.0.0.0:8100", true);
    let v = verdicts(&nobody, &[listener], &["0.0.0.0:8100"]);
    assert_eq!((v[0].ok(), v[0].rule()), (Some(false), Rule::SameAddress));
    let bound = unread("0.0.0.0:8100", false);
    let v = verdicts(&nobody, &[bound], &["0.0.0.0:8100/reuseport,nolisten"]);
    assert_eq!(
        (v[0].ok(), v[0].rule()),
        (None, Rule::DependsOnUnreadableOptions)
    );
    assert_eq!(v[0].conflicts[0].unknown, vec!["reuseaddr"]);
    // A holder known to lack SO_REUSEPORT: missing reuse, not the uid.
    let mut plain = live("0.0.0.0:8100", 0, true, 0);
    plain.reuseaddr = None;
    let v = verdicts(&nobody, &[plain], &["0.0.0.0:8100/reuseport"]);
    assert_eq!((v[0].ok(), v[0].rule()), (Some(false), Rule::SameAddress));
}

#[test]
fn time_wait_depends_on_its_hidden_reuseaddr() {
    let mut tw = live("127.0.0.1:7000", 0, false, 0);
    tw.time_wait = true;
    tw.reuseaddr = None;
    tw.reuseport = None;
    tw.uid = None;
    let v = one(std::slice::from_ref(&tw), "127.0.0.1:7000/noreuseaddr");
    assert_eq!(
        (v.ok(), v.rule()),
        (Some(false), Rule::TimeWaitNeedsReuseaddr)
    );
    let v = one(std::slice::from_ref(&tw), "127.0.0.1:7000");
    assert_eq!((v.ok(), v.rule()), (None, Rule::DependsOnUnreadableOptions));
    // Without SO_REUSEPORT on the candidate, the entry's own does not matter.
    assert_eq!(v.conflicts[0].unknown, vec!["reuseaddr"]);
    let v = one(std::slice::from_ref(&tw), "127.0.0.1:7000/reuseport");
    assert_eq!(v.conflicts[0].unknown, vec!["reuseaddr", "reuseport"]);
    let v = one(&[tw], "127.0.0.2:7000/noreuseaddr");
    assert_eq!(v.ok(), Some(true));
}

#[test]
fn unreadable_options_of_a_listener_make_it_depend_only_with_reuseport() {
    let mut other = live("0.0.0.0:9000", 0, true, 1000);
    other.reuseaddr = None;
    other.reuseport = None;
    let host = Host { euid: 1000, ..ROOT };
    let v = verdicts(&host, std::slice::from_ref(&other), &["0.0.0.0:9000"]);
    assert_eq!(
        v[0].ok(),
        Some(false),
        "no reuseport on the candidate: a listener always blocks"
    );
    let v = verdicts(&host, &[other], &["0.0.0.0:9000/reuseport"]);
    assert_eq!(v[0].ok(), None);
}

#[test]
fn udp_shares_with_reuseaddr_on_both() {
    let held = live("udp:0.0.0.0:5353/reuseaddr", 0, false, 0);
    let v = one(std::slice::from_ref(&held), "udp:127.0.0.1:5353/reuseaddr");
    assert_eq!((v.ok(), v.rule()), (Some(true), Rule::SharedReuseaddr));
    let v = one(std::slice::from_ref(&held), "udp:127.0.0.1:5353");
    assert_eq!(
        (v.ok(), v.rule()),
        (Some(false), Rule::WildcardCoversAddress)
    );
    let v = one(&[held], "127.0.0.1:5353/noreuseaddr");
    assert_eq!(v.rule(), Rule::PortUnused, "TCP and UDP ports are separate");
}

#[test]
fn devices_separate_sockets() {
    let on_lo = live("0.0.0.0:80/noreuseaddr,device=lo", 0, true, 0);
    let v = one(
        std::slice::from_ref(&on_lo),
        "0.0.0.0:80/noreuseaddr,device=eth0",
    );
    assert_eq!((v.ok(), v.rule()), (Some(true), Rule::DifferentDevice));
    let v = one(&[on_lo], "0.0.0.0:80/noreuseaddr");
    assert_eq!(v.ok(), Some(false));
}

#[test]
fn address_errors_in_kernel_order() {
    let user = Host {
        euid: 1000,
        can_bind_privileged: false,
        ..ROOT
    };
    let c = Candidate::plan(&["192.0.2.9:80", "[2001:db8::9]:80", "127.0.0.1:80"]);
    let v = predict_plan(&user, &[], &c, &[Some(false), Some(false), Some(true)]);
    assert_eq!(
        (v[0].errno(), v[0].rule()),
        (Some(Errno::AddrNotAvail), Rule::AddressNotLocal)
    );
    assert_eq!(
        (v[1].errno(), v[1].rule()),
        (Some(Errno::Access), Rule::PrivilegedPort)
    );
    assert_eq!(
        (v[2].errno(), v[2].rule()),
        (Some(Errno::Access), Rule::PrivilegedPort)
    );
    let c = Candidate::plan(&[
        "[::ffff:127.0.0.1]:8000/v6only",
        "[fe80::1]:8000",
        "[fe80::1%lo]:8000",
        "192.0.2.9:8000/freebind",
        "[ff02::1]:8000",
    ]);
    let v = predict_plan(
        &ROOT,
        &[],
        &c,
        &[Some(true), Some(false), Some(true), Some(false), Some(true)],
    );
    assert_eq!(v[0].rule(), Rule::MappedAddressOnV6only);
    assert_eq!(v[1].rule(), Rule::LinkLocalNeedsScope);
    assert_eq!(v[2].ok(), Some(true));
    assert_eq!(v[3].ok(), Some(true));
    assert_eq!(v[4].rule(), Rule::TcpMulticast);
    let v = verdicts(&ROOT, &[], &["0.0.0.0:0", "0.0.0.0:0"]);
    assert!(v.iter().all(|v| v.rule() == Rule::EphemeralPort));
}

/// `(ok, stage, rule)` of each verdict, for compact tables.
fn outcomes(v: &[Verdict]) -> Vec<(Tri, Option<Stage>, Rule)> {
    v.iter().map(|v| (v.ok(), v.stage(), v.rule())).collect()
}

#[test]
fn reuseport_shortcut_skips_the_pairwise_check() {
    // Seen on Linux 6.18 (tb->fastreuseport STRICT, set by the second
    // socket, covers the third).
    let v = verdicts(
        &ROOT,
        &[],
        &[
            "127.0.0.1:7000/nolisten",
            "0.0.0.0:7000/reuseport,nolisten",
            "127.0.0.1:7000/noreuseaddr,reuseport,nolisten",
        ],
    );
    assert_eq!(v[2].ok(), Some(true), "{v:?}");
    assert_eq!(v[2].rule(), Rule::ReuseportShortcut);
    // 127.0.0.1 does not cover 0.0.0.0: the pairwise check runs.
    let v = verdicts(
        &ROOT,
        &[],
        &[
            "127.0.0.1:7000/nolisten",
            "127.0.0.1:7000/reuseport,nolisten",
            "0.0.0.0:7000/noreuseaddr,reuseport,nolisten",
        ],
    );
    assert_eq!(v[2].ok(), Some(false), "{v:?}");
    // A socket without SO_REUSEPORT turns the shortcut off again.
    let v = verdicts(
        &ROOT,
        &[],
        &[
            "127.0.0.1:7000/nolisten",
            "0.0.0.0:7000/reuseport,nolisten",
            "[::1]:7000/v6only,noreuseaddr,nolisten",
            "127.0.0.1:7000/noreuseaddr,reuseport,nolisten",
        ],
    );
    assert_eq!(v[3].ok(), Some(false), "{v:?}");
    // IPv4 0.0.0.0 vouches for a dual-stack [::] (sk_rcv_saddr 0), which
    // then sits on a v6only [::] that fails its own listen().
    let v = verdicts(
        &ROOT,
        &[],
        &[
            "[::]:7000/v6only,noreuseaddr",
            "0.0.0.0:7000/reuseport,nolisten",
            "[::]:7000/dualstack,noreuseaddr,reuseport,nolisten",
        ],
    );
    assert_eq!(
        outcomes(&v),
        vec![
            (Some(false), Some(Stage::Listen), Rule::SameAddress),
            (Some(true), None, Rule::NoOverlap),
            (Some(true), None, Rule::ReuseportShortcut),
        ]
    );
}

#[test]
fn a_live_ports_shortcut_state_depends_on_its_bind_order() {
    let mut dual = live("[::]:7000/dualstack,nolisten", 0, false, 0);
    dual.reuseport = Some(false);
    let group = live("[::1]:7000/v6only,reuseport", 1, true, 0);
    let v = one(
        &[dual.clone(), group],
        "[::1]:7000/v6only,noreuseaddr,reuseport,nolisten",
    );
    assert_eq!(
        (v.ok(), v.rule()),
        (None, Rule::DependsOnBindOrder),
        "{v:?}"
    );
    assert_eq!(v.conflicts[0].unknown, vec!["bind_order"]);
    assert!(!v.conflicts[0].certain);
    // Without a SO_REUSEPORT socket on the port there is no shortcut.
    let v = one(&[dual], "[::1]:7000/v6only,noreuseaddr,reuseport,nolisten");
    assert_eq!(v.ok(), Some(false), "{v:?}");
    // Every live socket with SO_REUSEPORT under one uid: ANY, which the
    // pairwise check agrees with.
    let a = live("0.0.0.0:7000/reuseport", 0, true, 0);
    let b = live("127.0.0.1:7000/reuseport", 1, true, 0);
    let v = one(&[a, b], "127.0.0.1:7000/noreuseaddr,reuseport");
    assert_eq!(
        (v.ok(), v.rule()),
        (Some(true), Rule::SharedReuseport),
        "{v:?}"
    );
}

#[test]
fn udp_takes_the_first_match_in_the_hash_chain() {
    // IPv4 sockets are added at the chain's head: the newest meets the
    // new socket first, and its SO_REUSEPORT lets it in.
    let v = verdicts(
        &ROOT,
        &[],
        &[
            "udp:0.0.0.0:5000/reuseaddr",
            "udp:0.0.0.0:5000/reuseaddr,reuseport",
            "udp:[::ffff:127.0.0.1]:5000/dualstack,noreuseaddr,reuseport",
        ],
    );
    assert_eq!(
        (v[2].ok(), v[2].rule()),
        (Some(true), Rule::ReuseportShortcut)
    );
    let v = verdicts(
        &ROOT,
        &[],
        &[
            "udp:0.0.0.0:5000/reuseaddr,reuseport",
            "udp:0.0.0.0:5000/reuseaddr",
            "udp:[::ffff:127.0.0.1]:5000/dualstack,noreuseaddr,reuseport",
        ],
    );
    assert_eq!(v[2].ok(), Some(false), "{v:?}");
    // Live sockets' order is unknown: root's and nobody's SO_REUSEPORT
    // sockets on one address (seen both ways on Linux 6.18).
    let root = live("udp:127.0.0.1:5000/reuseaddr,reuseport", 0, false, 0);
    let nobody = live("udp:127.0.0.1:5000/reuseaddr,reuseport", 1, false, 65534);
    let v = one(&[root, nobody], "udp:127.0.0.1:5000/noreuseaddr,reuseport");
    assert_eq!(
        (v.ok(), v.rule()),
        (None, Rule::DependsOnBindOrder),
        "{v:?}"
    );
}

#[test]
fn an_undecided_candidate_decides_no_later_one() {
    let mut nobody = live("udp:0.0.0.0:5000/reuseaddr", 0, false, 65534);
    nobody.reuseport = Some(false);
    let root = live("udp:0.0.0.0:5000/reuseaddr,reuseport", 1, false, 0);
    let v = verdicts(
        &ROOT,
        &[nobody, root],
        &[
            "udp:127.0.0.1:5000/noreuseaddr,reuseport",
            "udp:[::ffff:127.0.0.1]:5000/dualstack,reuseaddr",
        ],
    );
    assert_eq!(v[0].ok(), None, "{v:?}");
    // Refused by #0 only if #0 bound.
    assert_eq!(v[1].ok(), None, "{v:?}");
}

/// The live socket's SO_REUSEPORT saves its listen() only when the new
/// listener has it too, under the same uid (checked on Linux 6.18:
/// 127.0.0.1:P bound with both options, then 127.0.0.1:P with
/// SO_REUSEADDR alone listening, and the first one's listen() fails).
/// Options that could not be read promise nothing either way.
#[test]
fn a_live_bound_socket_keeps_its_listen_only_in_a_reuseport_group() {
    let both = live("127.0.0.1:7000/reuseport,nolisten", 0, false, 0);
    let v = one(std::slice::from_ref(&both), "127.0.0.1:7000");
    assert_eq!(
        (v.ok(), v.rule()),
        (Some(true), Rule::SharedReuseaddr),
        "{v:?}"
    );
    assert_eq!(v.breaks_listen_of, vec![0], "{v:?}");
    let v = one(std::slice::from_ref(&both), "127.0.0.1:7000/reuseport");
    assert_eq!(v.ok(), Some(true), "{v:?}");
    assert!(v.breaks_listen_of.is_empty(), "one group: {v:?}");
    let other_uid = live("127.0.0.1:7000/reuseport,nolisten", 0, false, 65534);
    let v = one(&[other_uid], "127.0.0.1:7000/reuseport");
    assert_eq!(v.ok(), Some(true), "{v:?}");
    assert_eq!(v.breaks_listen_of, vec![0], "another uid's group: {v:?}");

    // Unreadable options (another user's socket, seen without root):
    // the candidate with SO_REUSEPORT alone may share through it and
    // then listen beside it in one group, so no break is promised.
    let mut unread = live("127.0.0.1:7000/nolisten", 0, false, 65534);
    (unread.reuseaddr, unread.reuseport) = (None, None);
    let nobody = Host {
        euid: 65534,
        can_bind_privileged: false,
        ..ROOT
    };
    let v = verdicts(
        &nobody,
        std::slice::from_ref(&unread),
        &["127.0.0.1:7000/noreuseaddr,reuseport"],
    )
    .remove(0);
    assert_eq!(v.ok(), None, "{v:?}");
    assert!(v.breaks_listen_of.is_empty(), "{v:?}");
}

#[test]
fn queued_connections_have_their_listeners_options() {
    let group = live("0.0.0.0:8080/reuseport", 0, true, 0);
    let mut queued = live("127.0.0.1:8080/nolisten", 1, false, 0);
    (queued.reuseaddr, queued.reuseport) = (None, None);
    queued.connected = true;
    queued.queued = true;
    let v = one(&[group.clone(), queued.clone()], "0.0.0.0:8080/reuseport");
    assert_eq!(
        (v.ok(), v.rule()),
        (Some(true), Rule::SharedReuseport),
        "{v:?}"
    );
    assert!(
        v.breaks_listen_of.is_empty(),
        "a connection never listens: {v:?}"
    );
    // Accepted (a process holds it): options it may have changed.
    queued.queued = false;
    let v = one(&[group, queued], "0.0.0.0:8080/reuseport");
    assert_eq!(v.ok(), None, "{v:?}");
}

/// The names on main before `Rule` was a type, in the order the man page
/// listed them: JSON's `prediction.rule()` is part of the contract, so no
/// name may change or go.
const CONTRACT_NAMES: [&str; 26] = [
    "port_unused",
    "no_overlap",
    "different_device",
    "shared_reuseaddr",
    "shared_reuseport",
    "reuseport_shortcut",
    "ephemeral_port",
    "same_address",
    "wildcard_covers_address",
    "candidate_wildcard_covers_address",
    "dual_stack_wildcard_overlaps_ipv4",
    "mapped_address_is_ipv4",
    "listener_never_shares",
    "reuseport_needs_same_uid",
    "time_wait_needs_reuseaddr",
    "depends_on_unreadable_options",
    "depends_on_bind_order",
    "depends_on_unknown_v6only",
    "depends_on_unlisted_sockets",
    "depends_on_unknown_device",
    "no_model_for_os",
    "privileged_port",
    "address_not_local",
    "mapped_address_on_v6only",
    "link_local_needs_scope",
    "tcp_multicast",
];

#[test]
fn rule_names_are_the_contracts() {
    let names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(names, CONTRACT_NAMES);
}

#[test]
fn every_rule_is_documented_once() {
    let help = rules_help();
    let mut names = std::collections::BTreeSet::new();
    for rule in Rule::ALL {
        let name = rule.name();
        assert!(names.insert(name), "{name} is named twice");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name} is not snake_case"
        );
        assert!(!rule.description().is_empty(), "{name} has no description");
        assert!(!rule.summary().is_empty(), "{name} has no summary");
        let lines: Vec<&str> = help
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(name))
            .collect();
        assert_eq!(lines.len(), 1, "{name} in the help: {lines:?}");
        assert!(lines[0].ends_with(rule.summary()), "{name}: {}", lines[0]);
    }
    assert_eq!(help.lines().count(), Rule::ALL.len() + 1, "{help}");
}

/// "depends" is said by the depends_on_ rules, and only by them: a verdict
/// that depends names what it depends on.
#[test]
fn depends_rules_are_the_depends_on_names() {
    for rule in Rule::ALL {
        assert_eq!(
            rule.is_depends(),
            rule.name().starts_with("depends_on_"),
            "{}",
            rule.name()
        );
    }
}
