//! Fuzzed `--set` overrides (one per line) applied to the shipped catalogue
//! (seed profile for inputs of even length, recommended for odd), then
//! every rule compiled to every query language with
//! `idrecon_export::compile`: hostile parameter values (quotes, escapes,
//! line breaks, comment markers, huge numbers) must give a query or an
//! error, never a panic.
#![no_main]

use idrecon_export::{Target, compile};
use idrecon_rules::{Catalogue, Override, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ovs: Vec<Override> = text.lines().filter_map(|l| l.parse().ok()).collect();
    let profile = if data.len().is_multiple_of(2) {
        Profile::Seed
    } else {
        Profile::Recommended
    };
    let Ok(c) = Catalogue::load(profile, &ovs) else {
        return;
    };
    for rule in c.rules() {
        for target in Target::ALL {
            if let Ok(q) = compile(rule, target, profile) {
                assert!(!q.text.is_empty(), "{target} {}", rule.id);
            }
        }
    }
});
