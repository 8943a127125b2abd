//! A fuzzed allowlist through `Allowlist::parse` (TOML, entry validation,
//! CIDR and date parsing); a list that parses is applied to findings the
//! engine produces on a fixed event set (glob matching of accounts and user
//! agents, CIDR containment, expiry).
#![no_main]

use idrecon_allow::Allowlist;
use idrecon_rules::{Catalogue, Profile};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn findings() -> &'static Vec<idrecon_core::Finding> {
    static F: OnceLock<Vec<idrecon_core::Finding>> = OnceLock::new();
    F.get_or_init(|| {
        let mut out = Vec::new();
        for (p, sets) in [
            (
                Profile::Recommended,
                vec!["threshold=3".parse().expect("override")],
            ),
            (
                Profile::Seed,
                vec!["threshold=2".parse().expect("override")],
            ),
        ] {
            let c = Catalogue::load(p, &sets).expect("shipped rules load");
            let engine = idrecon_engine::EngineBuilder::new()
                .rules(c.rules().iter().cloned())
                .profile(p.as_str())
                .build();
            let mut run = engine.run(vec!["a".into(), "b".into()]);
            for e in idrecon_fuzz::sample_events() {
                run.push(e);
            }
            out.extend(run.finish().0);
        }
        assert!(!out.is_empty(), "the fixed events give findings");
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Allowlist::parse(text, "fuzz.toml") {
        Ok(list) => {
            let all = findings();
            let today = jiff::civil::date(2024, 5, 1);
            let applied = list.apply(all.clone(), today);
            assert_eq!(applied.findings.len() + applied.suppressed.len(), all.len());
            assert_eq!(applied.counts.len(), list.entries.len());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
