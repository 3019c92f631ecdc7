//! `who` targets: `8000`, `8000-8100`, `127.0.0.1:8000`, `[::1]:8000`, an address.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(target) = portcheck::target::parse_target(&text) {
        let _ = format!("{target:?}");
    }
    let _ = portcheck::target::parse_port_range(&text).map(|r| r.to_string());
    let _ = portcheck::target::port_number(&text);
});
