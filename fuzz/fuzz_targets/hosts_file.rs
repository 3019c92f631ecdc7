//! The hosts-file reader (/etc/hosts).
#![no_main]
use libfuzzer_sys::fuzz_target;
use portcheck::resolve::system::{hosts_file, origin};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let hosts = hosts_file(&text);
    for name in ["localhost", "LOCALHOST", "", "ip6-localhost"] {
        for &address in hosts.addresses(name) {
            let _ = origin(name, address, &hosts);
        }
    }
    // Every name the file mentions, looked up as it was written.
    for word in text.split_whitespace().take(64) {
        let _ = hosts.addresses(word);
    }
});
