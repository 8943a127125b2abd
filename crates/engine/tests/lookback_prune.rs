//! Lookback rules drop probes that can no longer fall inside the final
//! window while events are pushed (memory stays bounded on long inputs);
//! findings and counts are those of keeping everything. A per-key cap turns
//! the dropping off, so a cap larger than any key is the reference.

use idrecon_core::{Event, EventKind, Origin, Timestamp};
use idrecon_engine::EngineBuilder;
use idrecon_rules::{Catalogue, Profile};

fn event(i: u64, secs: i64, code: &str, ip: &str) -> Event {
    let t = Timestamp::from_second(1_714_521_600 + secs).expect("time");
    let mut e = Event::new(
        t,
        EventKind::EntraSignIn,
        "SigninLogs",
        Origin { file: 0, record: i },
    );
    e.user = Some(format!("user{}@contoso.com", i % 977));
    e.source_ip = Some(ip.to_string());
    e.source_ip_raw = Some(ip.to_string());
    e.result_code = Some(code.to_string());
    e.result_description = Some(format!("description {code}"));
    e.app = Some("Azure Portal".into());
    e
}

#[test]
fn stale_lookback_probes_are_dropped_without_changing_results() {
    // Three days of probes from a few sources in a scrambled order (more
    // than one prune interval), and a burst in the last hour.
    let mut events = Vec::new();
    for i in 0..140_000u64 {
        let secs = ((i * 7_919) % 259_200) as i64;
        let code = ["50034", "50053", "50126", "50076"][(i % 4) as usize];
        events.push(event(i, secs, code, &format!("203.0.113.{}", i % 5)));
    }
    for i in 0..40u64 {
        events.push(event(
            200_000 + i,
            259_100 + i as i64,
            "50034",
            "198.51.100.9",
        ));
    }
    // Late arrivals: older events after the newest ones.
    events.rotate_left(70_001);

    let rules = Catalogue::load(Profile::Seed, &[]).expect("rules");
    let run = |cap: Option<usize>| {
        let engine = EngineBuilder::new()
            .rules(rules.rules().iter().cloned())
            .profile("seed")
            .max_events_per_key(cap)
            .build();
        let mut r = engine.run(vec!["x".into()]);
        for e in &events {
            r.push(e.clone());
        }
        let held = r.retained_events();
        let (findings, summary) = r.finish();
        let f: Vec<String> = findings
            .iter()
            .map(|f| serde_json::to_string(f).expect("json"))
            .collect();
        (f, serde_json::to_string(&summary).expect("json"), held)
    };
    let (f, summary, held) = run(None);
    let (f_ref, summary_ref, held_ref) = run(Some(usize::MAX / 4));
    assert!(!f.is_empty());
    assert_eq!(f, f_ref);
    assert_eq!(summary, summary_ref);
    assert!(held * 4 < held_ref, "kept {held} of {held_ref}");
}
