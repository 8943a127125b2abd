//! A fuzzed rule file through `Catalogue::load_from` (YAML parsing with
//! serde-saphyr, `$param` substitution, the rule model, validation); a rule
//! that loads is then run through the engine on a fixed event set, so
//! hostile rule values (zero thresholds, huge windows, odd caps and bounds)
//! must not break evaluation either.
#![no_main]

use idrecon_rules::{Catalogue, Profile, RuleSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // SAFETY: `RuleSource` holds `&'static str` because shipped rules are
    // embedded; `load_from` only reads the text during the call and returns
    // owned values (`Catalogue` of owned `Rule`s, `RuleError` with owned
    // strings), so nothing borrowed from `data` outlives this call.
    let text: &'static str = unsafe { std::mem::transmute::<&str, &'static str>(text) };
    let sources = [RuleSource {
        file: "rules/fuzz.yml",
        text,
    }];
    // A rule of another profile is skipped after parsing: ask for the
    // profile the text most likely names.
    let profile = if text.contains("seed") {
        Profile::Seed
    } else {
        Profile::Recommended
    };
    match Catalogue::load_from(&sources, profile, &[]) {
        Ok(c) => idrecon_fuzz::run_engine(c.rules(), profile.as_str()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
