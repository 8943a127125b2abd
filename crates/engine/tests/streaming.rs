//! Streaming evaluation (`Run::advance`) gives the same findings as a batch
//! run, with stable ids, and keeps memory bounded.

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Finding, Origin, Timestamp};
use idrecon_engine::{EngineBuilder, UpdateKind};
use idrecon_rules::{Catalogue, Profile};
use std::collections::{BTreeMap, HashMap};

fn at(secs: i64) -> Timestamp {
    "2024-05-01T00:00:00Z"
        .parse::<Timestamp>()
        .expect("ts")
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .expect("range")
}

fn ev(secs: i64, user: &str, ip: &str, code: &str) -> Event {
    let mut e = Event::new(
        at(secs),
        EventKind::EntraSignIn,
        table::SIGNIN_LOGS,
        Origin::default(),
    );
    e.user = Some(user.into());
    e.source_ip = Some(ip.into());
    e.source_ip_raw = Some(ip.into());
    e.result_code = Some(code.into());
    e.app = Some("Office".into());
    e
}

/// A day of traffic: background failures, three enumeration bursts, a spray
/// with a later success, and a slow enumeration.
fn corpus() -> Vec<Event> {
    let mut v = Vec::new();
    let mut x: u64 = 7;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..3000 {
        let r = rnd();
        v.push(ev(
            (r % 86_400) as i64,
            &format!("emp{}@c.com", r % 300),
            &format!("198.51.100.{}", r % 20),
            if i % 7 == 0 { "50126" } else { "0" },
        ));
    }
    for (b, start) in [(0, 3_600), (1, 30_000), (2, 30_500)] {
        for i in 0..(15 + b * 10) {
            v.push(ev(
                start + i * 7,
                &format!("ghost{b}-{i}@c.com"),
                "203.0.113.5",
                "50034",
            ));
        }
    }
    for i in 0..12 {
        v.push(ev(
            50_000 + i * 30,
            &format!("emp{i}@c.com"),
            "192.0.2.9",
            "50126",
        ));
    }
    v.push(ev(52_000, "emp3@c.com", "192.0.2.9", "0"));
    for i in 0..30 {
        v.push(ev(
            10_000 + i * 1_700,
            &format!("slow{i}@c.com"),
            "203.0.113.99",
            "50034",
        ));
    }
    v
}

fn batch(events: &[Event]) -> Vec<Finding> {
    let cat = Catalogue::load(Profile::Recommended, &[]).expect("catalogue");
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile("recommended")
        .build();
    let mut run = engine.run(vec![]);
    events.iter().cloned().for_each(|e| run.push(e));
    run.finish().0
}

#[test]
fn streaming_equals_batch_with_stable_ids_and_bounded_state() {
    let mut events = corpus();
    events.sort_by_key(|e| e.time);
    let expected = batch(&events);
    assert!(expected.len() >= 4, "{}", expected.len());

    let cat = Catalogue::load(Profile::Recommended, &[]).expect("catalogue");
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile("recommended")
        .build();
    let mut run = engine.run(vec![]);
    let mut updates = Vec::new();
    let mut max_retained = 0;
    for chunk in events.chunks(50) {
        for e in chunk {
            run.push(e.clone());
        }
        let wm = chunk.last().map(|e| e.time).expect("non-empty");
        updates.extend(run.advance(wm));
        max_retained = max_retained.max(run.retained_events());
    }
    let (streamed, _) = run.finish();
    assert_eq!(streamed, expected, "streaming and batch findings differ");

    // Every finding was announced; versions increase; ids are the final ids.
    let mut versions: HashMap<String, Vec<(UpdateKind, u32)>> = HashMap::new();
    for u in &updates {
        versions
            .entry(u.finding.id.clone())
            .or_default()
            .push((u.update, u.version));
    }
    for f in &expected {
        // Episodes still open at the end of the stream have no `closed` yet.
        let v = versions
            .get(&f.id)
            .unwrap_or_else(|| panic!("{} never emitted", f.detection));
        assert_eq!(v[0], (UpdateKind::Opened, 1));
        assert!(v.windows(2).all(|w| w[1].1 == w[0].1 + 1));
    }
    let ids: BTreeMap<&str, usize> = updates.iter().map(|u| (u.finding.id.as_str(), 0)).collect();
    assert_eq!(ids.len(), expected.len(), "no orphan ids");
    assert!(max_retained > 0);
}

#[test]
fn state_is_bounded_by_the_window() {
    // One hour-window rule over a day: state holds about one to two hours.
    let mut events = corpus();
    events.sort_by_key(|e| e.time);
    let cat = Catalogue::load(Profile::Recommended, &[])
        .expect("catalogue")
        .select(&["auth_username_enumeration".to_string()])
        .expect("rule");
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile("recommended")
        .build();
    let mut run = engine.run(vec![]);
    let mut max_retained = 0;
    for chunk in events.chunks(50) {
        chunk.iter().cloned().for_each(|e| run.push(e));
        run.advance(chunk.last().map(|e| e.time).expect("non-empty"));
        max_retained = max_retained.max(run.retained_events());
    }
    // ~3,100 matching events spread over 24 h: two hours hold ~260.
    assert!(max_retained < 600, "retained {max_retained}");
    // Bursts at 3,600 s and at 30,000/30,500 s (overlapping: one episode).
    let f = run.finish().0;
    assert_eq!(f.len(), 2);
    assert_eq!(f.iter().map(|f| f.unique_usernames).max(), Some(60));
}

/// Pushes events one by one with the watermark at each event's time and
/// returns, per rule, the time of the event after which it opened.
fn opened_at(rule: &str, events: &[Event]) -> Option<Timestamp> {
    let cat = Catalogue::load(Profile::Recommended, &[])
        .expect("catalogue")
        .select(&[rule.to_string()])
        .expect("rule");
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile("recommended")
        .build();
    let mut run = engine.run(vec![]);
    for e in events {
        run.push(e.clone());
        if run
            .advance(e.time)
            .iter()
            .any(|u| u.update == UpdateKind::Opened)
        {
            return Some(e.time);
        }
    }
    None
}

#[test]
fn alerts_fire_at_the_crossing_event_unless_an_interrupt_is_pending() {
    // 15 not-found probes, 10 s apart: the 15th crosses the threshold and
    // the alert opens right then, although the rule waits 5 minutes to tell
    // MFA interrupts from completed sign-ins.
    let probes: Vec<Event> = (0..15)
        .map(|i| ev(i * 10, &format!("ghost{i}@c.com"), "203.0.113.5", "50034"))
        .collect();
    assert_eq!(
        opened_at("auth_username_enumeration", &probes),
        Some(at(140))
    );
    // With an MFA interrupt among the probes (not completed), the alert waits
    // until the interrupt is decided (5 minutes after it), then opens.
    let mut mixed = probes.clone();
    mixed[3] = ev(30, "victim@c.com", "203.0.113.5", "50076");
    let mut later = mixed.clone();
    later.push(ev(30 + 301, "other@c.com", "198.51.100.77", "0"));
    assert_eq!(
        opened_at("auth_username_enumeration", &mixed),
        None,
        "still pending at the last probe"
    );
    assert_eq!(
        opened_at("auth_username_enumeration", &later),
        Some(at(331))
    );
}
