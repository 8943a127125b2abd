//! Fuzzed `--set` overrides (one per line) parsed with `Override::from_str`
//! and applied to the shipped catalogue (seed profile for inputs of even
//! length, recommended for odd); a catalogue that
//! loads runs through the engine on a fixed event set.
#![no_main]

use idrecon_rules::{Catalogue, Override, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut ovs = Vec::new();
    for line in text.lines() {
        match line.parse::<Override>() {
            Ok(o) => ovs.push(o),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    // One profile per input: loading parses every shipped rule file, which
    // dominates the cost of a run.
    let profile = if data.len().is_multiple_of(2) {
        Profile::Seed
    } else {
        Profile::Recommended
    };
    match Catalogue::load(profile, &ovs) {
        Ok(c) => idrecon_fuzz::run_engine(c.rules(), profile.as_str()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
