//! `resolve` input: a name, an address, HOST:PORT, [IPV6]:PORT or a URL,
//! with an optional separate port argument (after the first NUL byte).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (query, port) = match text.split_once('\0') {
        Some((query, port)) => (query, Some(port)),
        None => (&*text, None),
    };
    let _ = portcheck::resolve::input::parse_query(query, port);
});
