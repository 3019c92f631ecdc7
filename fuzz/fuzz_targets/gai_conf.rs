//! /etc/gai.conf: label, precedence and scopev4 lines, then an RFC 6724
//! sort under the policy read.
#![no_main]
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use portcheck::resolve::rfc6724::{Destination, Policy, sort};

const ADDRESSES: [&str; 8] = [
    "::1",
    "127.0.0.1",
    "2001:db8::1",
    "fe80::1",
    "10.0.0.1",
    "::ffff:192.0.2.1",
    "fc00::1",
    "169.254.1.1",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (policy, _warnings) = Policy::from_gai_conf(&text);
    let destinations: Vec<Destination> = ADDRESSES
        .iter()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .map(|address| Destination {
            address,
            source: Some(address),
            source_prefix_len: Some(64),
        })
        .collect();
    for d in &destinations {
        let _ = (
            policy.precedence(d.address),
            policy.label(d.address),
            policy.scope(d.address),
        );
    }
    let _ = sort(&destinations, &policy);
});
