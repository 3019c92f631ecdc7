//! `try` candidate specs: `[tcp:|udp:]ADDRESS:PORT[/OPTION,...]`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portcheck::bind::candidate::{Candidate, OptionChoices, parse_candidate};
use portcheck::model::Protocol;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(spec) = parse_candidate(&text, "fuzz") {
        for bindv6only in [false, true] {
            let candidate = Candidate::from_spec(
                0,
                &spec,
                &OptionChoices::default(),
                Protocol::Tcp,
                bindv6only,
            );
            let _ = candidate.to_string();
            let _ = candidate.endpoint();
        }
    }
});
