//! Properties of the model over generated tables and plans (proptest).

use proptest::prelude::*;

use super::catalogue::Rule;
use super::overlap::*;
use super::plan::*;
use super::types::*;
use crate::bind::candidate::Candidate;
use crate::bind::candidate::Options;
use crate::model::Protocol;
use std::net::{IpAddr, Ipv4Addr};

const ADDRESSES: &[&str] = &[
    "0.0.0.0",
    "127.0.0.1",
    "10.0.0.1",
    "224.0.0.1",
    "::",
    "::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:0.0.0.0",
    "fe80::1",
    "ff02::1",
];
const PORTS: &[u16] = &[80, 8000, 8001];

fn address() -> impl Strategy<Value = IpAddr> {
    prop::sample::select(ADDRESSES).prop_map(|a| a.parse().expect("test address"))
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop::sample::select(&[Protocol::Tcp, Protocol::Udp][..])
}

fn tri() -> impl Strategy<Value = Tri> {
    prop::sample::select(&[None, Some(false), Some(true)][..])
}

fn device() -> impl Strategy<Value = Option<String>> {
    prop::sample::select(&[None, Some("eth0"), Some("lo")][..]).prop_map(|d| d.map(str::to_owned))
}

fn host() -> impl Strategy<Value = Host> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(root, v4, v6)| Host {
        euid: if root { 0 } else { 1000 },
        can_bind_privileged: root,
        unprivileged_port_start: 1024,
        ipv4_nonlocal_bind: v4,
        ipv6_nonlocal_bind: v6,
    })
}

#[derive(Debug, Clone, Copy)]
enum LiveState {
    Listen,
    Bound,
    TimeWait,
    Connected,
    Queued,
}

/// A live socket as the kernel could report it (index fixed later).
fn live_binding() -> impl Strategy<Value = Binding> {
    (
        (protocol(), address(), prop::sample::select(PORTS), tri()),
        (device(), tri(), tri()),
        prop::sample::select(
            &[
                LiveState::Listen,
                LiveState::Bound,
                LiveState::TimeWait,
                LiveState::Connected,
                LiveState::Queued,
            ][..],
        ),
        prop::sample::select(&[None, Some(0), Some(1000)][..]),
    )
        .prop_map(
            |((protocol, address, port, v6only), (device, reuseaddr, reuseport), state, uid)| {
                let tcp = protocol == Protocol::Tcp;
                let state = if tcp { state } else { LiveState::Bound };
                Binding {
                    holder: Holder::Live(0),
                    protocol,
                    address,
                    port,
                    v6only: effective_v6only(address, v6only),
                    device,
                    reuseaddr,
                    reuseport,
                    listening: matches!(state, LiveState::Listen),
                    time_wait: matches!(state, LiveState::TimeWait),
                    connected: matches!(state, LiveState::Connected | LiveState::Queued),
                    queued: matches!(state, LiveState::Queued),
                    uid: if matches!(state, LiveState::TimeWait) {
                        None
                    } else {
                        uid
                    },
                }
            },
        )
}

fn candidate(ports: &'static [u16]) -> impl Strategy<Value = Candidate> {
    (
        (protocol(), address(), prop::sample::select(ports)),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        device(),
    )
        .prop_map(
            |(
                (protocol, address, port),
                (v6only, reuseaddr, reuseport, listen, freebind),
                device,
            )| {
                Candidate {
                    index: 0,
                    text: String::new(),
                    protocol,
                    address,
                    port,
                    scope: None,
                    options: Options {
                        v6only,
                        reuseaddr,
                        reuseport,
                        listen: listen && protocol == Protocol::Tcp,
                        freebind,
                        device,
                    },
                }
            },
        )
}

fn numbered_live(mut live: Vec<Binding>) -> Vec<Binding> {
    for (i, b) in live.iter_mut().enumerate() {
        b.holder = Holder::Live(i);
    }
    live
}

fn numbered_plan(mut plan: Vec<Candidate>) -> Vec<Candidate> {
    for (i, c) in plan.iter_mut().enumerate() {
        c.index = i;
        c.text = c.endpoint();
    }
    plan
}

/// Whether the kernel's address checks can refuse `candidate` with
/// `errno`, written from the kernel's rules rather than the model's.
fn address_check_refuses(host: &Host, c: &Candidate, valid: Tri, errno: Errno) -> bool {
    let mapped = match c.address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    };
    match errno {
        Errno::Access => {
            c.port != 0 && c.port < host.unprivileged_port_start && !host.can_bind_privileged
        }
        Errno::Inval => match c.address {
            IpAddr::V6(v6) => {
                (c.protocol == Protocol::Tcp && v6.is_multicast())
                    || (mapped.is_some() && c.options.v6only)
                    || (v6.is_unicast_link_local() && c.device().is_none())
            }
            IpAddr::V4(_) => false,
        },
        Errno::AddrNotAvail => {
            let unspecified = match (c.address, mapped) {
                (_, Some(v4)) => v4.is_unspecified(),
                (address, None) => address.is_unspecified(),
            };
            let nonlocal = match c.address {
                IpAddr::V4(_) => host.ipv4_nonlocal_bind,
                IpAddr::V6(_) => host.ipv6_nonlocal_bind,
            };
            let v6_multicast = matches!(c.address, IpAddr::V6(v6) if v6.is_multicast());
            valid == Some(false)
                && !unspecified
                && !v6_multicast
                && !c.options.freebind
                && !nonlocal
        }
        Errno::AddrInUse => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A live socket on another port, or of the other protocol, changes
    /// no candidate's verdict.
    #[test]
    fn unrelated_sockets_change_no_verdict(
        host in host(),
        live in prop::collection::vec(live_binding(), 0..4),
        plan in prop::collection::vec(candidate(&[0, 80, 8000, 8001]), 1..4),
        valid in prop::collection::vec(tri(), 4),
        extra in live_binding(),
        other_port in prop::sample::select(&[0u16, 9000, 65535][..]),
    ) {
        let live = numbered_live(live);
        let plan = numbered_plan(plan);
        let before = predict_plan(&host, &live, &plan, &valid);
        let mut extra = extra;
        let taken = |p: Protocol, port: u16| plan.iter().any(|c| (c.protocol, c.port) == (p, port));
        if taken(extra.protocol, extra.port) {
            let flipped = match extra.protocol {
                Protocol::Tcp => Protocol::Udp,
                Protocol::Udp => Protocol::Tcp,
            };
            if taken(flipped, extra.port) || other_port != 0 {
                extra.port = other_port.max(9000);
            } else {
                extra.protocol = flipped;
            }
        }
        prop_assume!(!taken(extra.protocol, extra.port));
        let mut more = live.clone();
        more.push(extra);
        let more = numbered_live(more);
        let after = predict_plan(&host, &more, &plan, &valid);
        prop_assert_eq!(before, after);
    }

    /// A verdict's rule fits its case: a "depends" names a `depends_on_`
    /// rule, a decided verdict never does, and the model (on Linux) always
    /// predicts.
    #[test]
    fn a_rule_fits_its_prediction(
        host in host(),
        live in prop::collection::vec(live_binding(), 0..4),
        plan in prop::collection::vec(candidate(&[0, 80, 8000]), 1..4),
        valid in prop::collection::vec(tri(), 4),
    ) {
        let live = numbered_live(live);
        let plan = numbered_plan(plan);
        for v in predict_plan(&host, &live, &plan, &valid) {
            match v.prediction {
                Prediction::Depends { on, .. } => prop_assert!(on.is_depends(), "{:?}", v),
                Prediction::Binds { rule } | Prediction::Fails { rule, .. } => {
                    prop_assert!(!rule.is_depends(), "{:?}", v);
                    prop_assert_ne!(rule, Rule::NoModelForOs);
                }
                Prediction::NoModel => prop_assert!(false, "no model on Linux: {:?}", v),
            }
        }
    }

    /// `overlaps` is symmetric for two TCP bindings without a device and
    /// with known IPV6_V6ONLY, as `inet_rcv_saddr_equal` is for every
    /// pair of sockets the kernel lets exist.
    #[test]
    fn overlap_is_symmetric(
        a in live_binding(),
        b in live_binding(),
        v4a in prop::sample::select(&["0.0.0.0", "127.0.0.1", "10.0.0.1"][..]),
        v4b in prop::sample::select(&["0.0.0.0", "127.0.0.1", "10.0.0.1"][..]),
        mapped in any::<(bool, bool)>(),
        flags in any::<(bool, bool)>(),
        only in any::<(bool, bool)>(),
    ) {
        let mut a = a;
        let mut b = b;
        // Besides the fixed pool, plain and mapped forms of a few IPv4
        // addresses, so that equal addresses meet in every form.
        let widen = |binding: &mut Binding, v4: &str, mapped: bool, flag: bool, only: bool| {
            let v4: Ipv4Addr = v4.parse().expect("test address");
            if flag {
                binding.address = if mapped {
                    IpAddr::V6(v4.to_ipv6_mapped())
                } else {
                    IpAddr::V4(v4)
                };
            }
            binding.protocol = Protocol::Tcp;
            binding.device = None;
            binding.v6only = effective_v6only(binding.address, Some(only));
        };
        widen(&mut a, v4a, mapped.0, flags.0, only.0);
        widen(&mut b, v4b, mapped.1, flags.1, only.1);
        prop_assert!(a.v6only.is_some() && b.v6only.is_some());
        prop_assert_eq!(overlaps(&a, &b), overlaps(&b, &a), "{:?} / {:?}", a.address, b.address);
    }

    /// One candidate on an empty table binds (and listens) unless an
    /// address check refuses it: EACCES for a privileged port,
    /// EADDRNOTAVAIL for an address not on this host, EINVAL for the
    /// address forms bind() rejects.
    #[test]
    fn a_lone_candidate_binds_unless_its_address_is_refused(
        host in host(),
        c in candidate(&[0, 80, 8000]),
        valid in tri(),
    ) {
        let plan = numbered_plan(vec![c]);
        let c = &plan[0];
        let verdicts = predict_plan(&host, &[], &plan, &[valid]);
        prop_assert_eq!(verdicts.len(), 1);
        let v = &verdicts[0];
        let refusable = [Errno::Access, Errno::Inval, Errno::AddrNotAvail]
            .into_iter()
            .any(|e| address_check_refuses(&host, c, valid, e));
        match v.ok() {
            Some(true) => {
                prop_assert!(!refusable, "{} bound: {:?}", c, v);
                let rule = if c.port == 0 { Rule::EphemeralPort } else { Rule::PortUnused };
                prop_assert_eq!(v.rule(), rule);
            }
            Some(false) => {
                let errno = v.errno().expect("a failing verdict names its error");
                prop_assert_eq!(v.stage(), Some(Stage::Bind));
                prop_assert!(address_check_refuses(&host, c, valid, errno), "{} refused: {:?}", c, v);
            }
            None => prop_assert!(false, "an empty table left {} undecided: {:?}", c, v),
        }
    }
}
