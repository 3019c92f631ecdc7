//! `portcheck why MESSAGE`: the scan of the text for a recognised error
//! line, the byte cleaning of each line, and the recogniser that fills in
//! what the line leaves out (pure: no sockets, no resolver).
#![no_main]
use libfuzzer_sys::fuzz_target;
use portcheck::why::{WhyConfig, input, patterns, recognise};

fuzz_target!(|data: &[u8]| {
    let _ = input::clean(data);
    let text = String::from_utf8_lossy(data);
    let matcher = patterns::matcher();
    for line in text.lines().take(16) {
        let _ = matcher.recognise(line);
    }
    let Ok(scan) = input::scan_text(&text, matcher) else {
        return;
    };
    if let Some(found) = &scan.found {
        for port in [None, Some(8080)] {
            let config = WhyConfig {
                message: Some(text.to_string()),
                port,
                address: None,
                trial: false,
            };
            let _ = recognise::recognise(found, &config, matcher);
        }
    }
});
