//! `try --file PLAN`: one candidate per line, comments and blank lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = portcheck::bind::candidate::parse_plan(&text, "fuzz.plan");
});
