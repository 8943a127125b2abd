//! Property tests of the engine against naive reference implementations
//! written here, plainly, from docs/SEED-PARITY.md and docs/ARCHITECTURE.md
//! ("Semantics worth knowing"):
//!
//! - the recommended `auth_username_enumeration` (sliding windows: for each
//!   event time `t` the window is `(t − length, t]`; qualifying windows of
//!   one source that share an event form one episode; completed MFA
//!   interrupts and duplicate rows are not probes, docs/DETECTIONS.md)
//!   equals a brute force over every window end point;
//! - the seed `auth_username_enumeration` (one lookback evaluation at `now`:
//!   `time > now − length`, KQL string semantics) equals a direct
//!   group-and-count;
//! - findings of every recommended rule do not depend on input order;
//! - splitting the input into several files (read back through
//!   `idrecon_ingest::read_all`) gives the same findings;
//! - streaming (`Run::advance` with increasing watermarks on time-ordered
//!   input) gives the same findings as batch.
//!
//! Case counts are modest so that the suite stays fast.

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Finding, Origin, Timestamp};
use idrecon_engine::EngineBuilder;
use idrecon_rules::{Catalogue, Override, Profile, Rule};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const BASE: i64 = 1_714_521_600; // 2024-05-01T00:00:00Z

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(BASE + secs).expect("in range")
}

// ---------------------------------------------------------------------
// Random events.
// ---------------------------------------------------------------------

/// The recommended rule's result codes (rules/recommended/auth_username_enumeration.yml).
const NOT_FOUND: &[&str] = &["50034", "51004"];
const EXISTS: &[&str] = &[
    "50126", "50053", "50055", "50056", "50057", "50144", "80014",
];
const PASSWORD_OK: &[&str] = &[
    "50072", "50074", "50076", "50079", "50105", "50131", "50158", "53003", "530031", "530032",
    "530035", "500121", "90072",
];
const SUCCESS: &str = "0";
/// MFA interrupts that a success of the same account from the same source
/// within `COMPLETION` seconds completes: ordinary sign-ins, not probes.
const MFA_INTERRUPT: &[&str] = &["50072", "50074", "50076", "50079", "50158"];
const COMPLETION: i64 = 300;
/// The seed rule's codes (rules/seed/auth_username_enumeration.yml).
const SEED_CODES: &[&str] = &["50034", "50053", "50055", "50057", "50072", "50076"];

fn opt<T: Clone + std::fmt::Debug + 'static>(
    items: &'static [T],
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![
        1 => Just(None),
        6 => proptest::sample::select(items).prop_map(Some),
    ]
}

/// One sign-in (or, rarely, an event of another kind or table), with few
/// distinct values so that keys, users and times collide often.
fn event() -> impl Strategy<Value = Event> {
    let times = 0i64..(3 * 3600 / 20);
    let tables = proptest::sample::select(
        &[
            table::SIGNIN_LOGS,
            table::SIGNIN_LOGS,
            table::NON_INTERACTIVE,
            table::SERVICE_PRINCIPAL,
        ][..],
    );
    let users: &'static [&'static str] = &[
        "ann@c.com",
        "Ann@c.com",
        " ann@c.com",
        "bob@c.com",
        "cy@c.com",
        "dee@c.com",
        "EVE@c.com",
        "fay@c.com",
        "gus@c.com",
        "hal@c.com",
        "ivy@c.com",
        "",
    ];
    let codes: &'static [&'static str] = &[
        "50034", "50034", "51004", "50126", "50126", "50053", "50055", "50057", "50076", "50074",
        "0", "0", "50058", "",
    ];
    let ips: &'static [&'static str] = &[
        "203.0.113.5",
        "203.0.113.5",
        "198.51.100.7",
        "2001:db8::9",
        "",
    ];
    let apps: &'static [&'static str] = &["Office 365", "Azure Portal"];
    let descs: &'static [&'static str] =
        &["Invalid username or password.", "User account is disabled."];
    (
        times,
        tables,
        opt(users),
        opt(codes),
        opt(ips),
        opt(apps),
        opt(descs),
        0u8..20,
    )
        .prop_map(|(t, table, user, code, ip, app, desc, other)| {
            let kind = match (other, table) {
                (0, _) => EventKind::EntraAudit,
                (_, table::SERVICE_PRINCIPAL) => EventKind::EntraServicePrincipalSignIn,
                _ => EventKind::EntraSignIn,
            };
            let mut e = Event::new(at(t * 20), kind, table, Origin::default());
            e.user = user.map(str::to_string);
            e.result_code = code.map(str::to_string);
            e.source_ip = ip.map(str::to_string);
            e.source_ip_raw = e.source_ip.clone();
            e.app = app.map(str::to_string);
            e.result_description = desc.map(str::to_string);
            e
        })
}

/// Events with distinct request ids and origins; some are repeated as
/// exact duplicate rows (as Azure Monitor writes them: same time, same
/// request id).
fn events(max: usize) -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(event(), 0..max),
        proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
    )
        .prop_map(|(mut v, dups)| {
            for (i, e) in v.iter_mut().enumerate() {
                e.request_id = Some(format!("req-{i}"));
            }
            if !v.is_empty() {
                for d in dups {
                    let copy = v[d.index(v.len())].clone();
                    v.push(copy);
                }
            }
            for (i, e) in v.iter_mut().enumerate() {
                e.origin = Origin {
                    file: 0,
                    record: i as u64 + 1,
                };
            }
            v
        })
}

// ---------------------------------------------------------------------
// The engine.
// ---------------------------------------------------------------------

fn overrides(specs: &[String]) -> Vec<Override> {
    specs.iter().map(|s| s.parse().expect("override")).collect()
}

fn rules(profile: Profile, specs: &[String], only: Option<&str>) -> Vec<Rule> {
    let c = Catalogue::load(profile, &overrides(specs)).expect("catalogue loads");
    let c = match only {
        Some(id) => c.select(&[id.to_string()]).expect("rule"),
        None => c,
    };
    c.rules().to_vec()
}

fn run(rules: &[Rule], profile: Profile, now: Option<Timestamp>, events: &[Event]) -> Vec<Finding> {
    run_capped(rules, profile, now, None, events)
}

fn run_capped(
    rules: &[Rule],
    profile: Profile,
    now: Option<Timestamp>,
    cap: Option<usize>,
    events: &[Event],
) -> Vec<Finding> {
    let engine = EngineBuilder::new()
        .rules(rules.iter().cloned())
        .profile(profile.as_str())
        .now(now)
        .max_events_per_key(cap)
        .build();
    let mut run = engine.run(vec!["input".into()]);
    for e in events {
        run.push(e.clone());
    }
    run.finish().0
}

// ---------------------------------------------------------------------
// Reference: recommended auth_username_enumeration (sliding window).
// ---------------------------------------------------------------------

/// `normalize_user`: trimmed, lower-cased.
fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

fn is_in(v: &Option<String>, set: &[&str]) -> bool {
    v.as_deref().is_some_and(|x| set.contains(&x))
}

/// What the comparison looks at in a recommended finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RecFinding {
    source: String,
    first_seen: Timestamp,
    last_seen: Timestamp,
    unique_usernames: u64,
    total_failures: u64,
    crossed_at: Timestamp,
    peak: (Timestamp, Timestamp, u64, u64),
    severity: String,
    users: BTreeSet<String>,
    confirmed: BTreeSet<String>,
}

/// A window as `(first event second, end second, distinct accounts, rows)`.
type Peak = (i64, i64, u64, u64);

fn reference_recommended(events: &[Event], threshold: u64, window: i64) -> Vec<RecFinding> {
    let reads = |e: &Event| {
        e.kind == EventKind::EntraSignIn
            && (e.table == table::SIGNIN_LOGS || e.table == table::NON_INTERACTIVE)
    };
    let all_codes: Vec<&str> = [NOT_FOUND, EXISTS, PASSWORD_OK].concat();
    let mut out = Vec::new();
    let sources: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e.source_ip.clone())
        .filter(|s| !s.is_empty())
        .collect();
    for src in sources {
        let confirms: Vec<&Event> = events
            .iter()
            .filter(|e| reads(e) && e.source_ip.as_deref() == Some(src.as_str()))
            .filter(|e| e.result_code.as_deref() == Some(SUCCESS))
            .collect();
        // Probe rows of this source, without completed MFA interrupts, and
        // duplicate rows (same request id, account and code, compared
        // case-insensitively) counted once.
        let mut seen = BTreeSet::new();
        let mut probes: Vec<&Event> = Vec::new();
        for e in events {
            if !reads(e) || e.source_ip.as_deref() != Some(src.as_str()) {
                continue;
            }
            if !is_in(&e.result_code, &all_codes) {
                continue;
            }
            let completed = is_in(&e.result_code, MFA_INTERRUPT)
                && e.user.as_deref().is_some_and(|u| {
                    confirms.iter().any(|c| {
                        c.user.as_deref().map(norm) == Some(norm(u))
                            && c.time >= e.time
                            && c.time.as_second() <= e.time.as_second() + COMPLETION
                    })
                });
            if completed {
                continue;
            }
            if let (Some(r), Some(u), Some(c)) = (&e.request_id, &e.user, &e.result_code)
                && !seen.insert((norm(r), norm(u), norm(c)))
            {
                continue;
            }
            probes.push(e);
        }
        let in_window = |end: i64, e: &&Event| {
            let t = e.time.as_second();
            end - window < t && t <= end
        };
        let distinct = |evs: &[&Event]| -> BTreeSet<String> {
            evs.iter()
                .filter_map(|e| e.user.as_deref())
                .map(norm)
                .collect()
        };
        // Every window end point, in time order.
        let ends: BTreeSet<i64> = probes.iter().map(|e| e.time.as_second()).collect();
        // (first end, last end, peak)
        let mut episodes: Vec<(i64, i64, Peak)> = Vec::new();
        for &end in &ends {
            let w: Vec<&Event> = probes
                .iter()
                .copied()
                .filter(|e| in_window(end, e))
                .collect();
            let value = distinct(&w).len() as u64;
            if value < threshold {
                continue;
            }
            let start = w.iter().map(|e| e.time.as_second()).min().unwrap_or(end);
            let peak = (start, end, value, w.len() as u64);
            match episodes.last_mut() {
                // The previous qualifying window shares an event with this
                // one: the same episode.
                Some(ep) if w.iter().any(|e| e.time.as_second() <= ep.1) => {
                    ep.1 = end;
                    if value > ep.2.2 {
                        ep.2 = peak;
                    }
                }
                _ => episodes.push((end, end, peak)),
            }
        }
        for (first_end, last_end, peak) in episodes {
            let evs: Vec<&Event> = probes
                .iter()
                .copied()
                .filter(|e| {
                    let t = e.time.as_second();
                    first_end - window < t && t <= last_end
                })
                .collect();
            let first = evs
                .iter()
                .map(|e| e.time)
                .min()
                .expect("episode has events");
            let last = evs
                .iter()
                .map(|e| e.time)
                .max()
                .expect("episode has events");
            let users = distinct(&evs);
            let not_found: BTreeSet<String> = evs
                .iter()
                .filter(|e| is_in(&e.result_code, NOT_FOUND))
                .filter_map(|e| e.user.as_deref())
                .map(norm)
                .collect();
            // Confirmed: a password-accepted probe, or a success for a
            // probed account no earlier than its first probe and at most
            // one window after the episode.
            let mut confirmed: BTreeSet<String> = evs
                .iter()
                .filter(|e| is_in(&e.result_code, PASSWORD_OK))
                .filter_map(|e| e.user.as_deref())
                .map(norm)
                .collect();
            for c in &confirms {
                let Some(u) = c.user.as_deref().map(norm) else {
                    continue;
                };
                let first_probe = evs
                    .iter()
                    .filter(|e| e.user.as_deref().map(norm).as_deref() == Some(u.as_str()))
                    .map(|e| e.time)
                    .min();
                if c.time >= first
                    && c.time.as_second() <= last.as_second() + window
                    && first_probe.is_some_and(|p| c.time >= p)
                {
                    confirmed.insert(u);
                }
            }
            let unique = users.len() as u64;
            let severity = if !confirmed.is_empty() || unique >= 100 {
                "critical"
            } else if unique >= 50 || not_found.len() >= 30 {
                "high"
            } else if unique >= 15 {
                "medium"
            } else {
                "low"
            };
            out.push(RecFinding {
                source: src.clone(),
                first_seen: first,
                last_seen: last,
                unique_usernames: unique,
                total_failures: evs.len() as u64,
                crossed_at: at(first_end - BASE),
                peak: (at(peak.0 - BASE), at(peak.1 - BASE), peak.2, peak.3),
                severity: severity.to_string(),
                users,
                confirmed,
            });
        }
    }
    out.sort();
    out
}

fn strings(v: Option<&serde_json::Value>) -> BTreeSet<String> {
    v.and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn engine_recommended(f: &Finding) -> RecFinding {
    let peak = f
        .peak_window
        .as_ref()
        .expect("sliding findings have a peak");
    RecFinding {
        source: f.source_ip.clone().unwrap_or_default(),
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        unique_usernames: f.unique_usernames,
        total_failures: f.total_failures,
        crossed_at: f.threshold_crossed_at.expect("crossed"),
        peak: (
            peak.start,
            peak.end,
            peak.unique_usernames,
            peak.total_failures,
        ),
        severity: f.severity.to_string(),
        users: f.user_list.iter().cloned().collect(),
        confirmed: strings(f.extra.get("credential_confirmed_accounts")),
    }
}

// ---------------------------------------------------------------------
// Reference: seed auth_username_enumeration (lookback at `now`).
// ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, PartialOrd)]
struct SeedFinding {
    key: (String, String, String),
    first_seen: Timestamp,
    last_seen: Timestamp,
    unique_usernames: u64,
    total_failures: u64,
    not_found_rows: u64,
    duration_minutes: i64,
    enum_rate: f64,
    severity: String,
}

fn reference_seed(
    events: &[Event],
    threshold: u64,
    lookback: i64,
    now: Option<Timestamp>,
) -> Vec<SeedFinding> {
    // `now`: given, else the latest event of the whole input (any table).
    let Some(now) = now.or_else(|| events.iter().map(|e| e.time).max()) else {
        return Vec::new();
    };
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut groups: BTreeMap<(String, String, String), Vec<&Event>> = BTreeMap::new();
    for e in events {
        let read = e.kind == EventKind::EntraSignIn && e.table == table::SIGNIN_LOGS;
        // `ResultType in (…)`: exact strings; a missing string is "".
        if read
            && SEED_CODES.contains(&s(&e.result_code).as_str())
            && e.time.as_second() > now.as_second() - lookback
        {
            groups
                .entry((s(&e.source_ip), s(&e.app), s(&e.result_description)))
                .or_default()
                .push(e);
        }
    }
    let mut out = Vec::new();
    for (key, evs) in groups {
        // dcount is case-sensitive; a missing user counts as "".
        let users: BTreeSet<String> = evs.iter().map(|e| s(&e.user)).collect();
        let unique = users.len() as u64;
        if unique < threshold {
            continue;
        }
        let first = evs.iter().map(|e| e.time).min().expect("events");
        let last = evs.iter().map(|e| e.time).max().expect("events");
        let not_found = evs.iter().filter(|e| s(&e.result_code) == "50034").count() as u64;
        let d = last.as_second().div_euclid(60) - first.as_second().div_euclid(60);
        let rate = unique as f64 / if d == 0 { 1.0 } else { d as f64 };
        let severity = if unique >= 100 {
            "critical"
        } else if unique >= 50 || not_found >= 30 {
            "high"
        } else if unique >= 15 {
            "medium"
        } else {
            "low"
        };
        out.push(SeedFinding {
            key,
            first_seen: first,
            last_seen: last,
            unique_usernames: unique,
            total_failures: evs.len() as u64,
            not_found_rows: not_found,
            duration_minutes: d,
            enum_rate: (rate * 100.0).round() / 100.0,
            severity: severity.to_string(),
        });
    }
    out.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    out
}

fn engine_seed(f: &Finding) -> SeedFinding {
    let k = |n: &str| f.key.get(n).cloned().flatten().unwrap_or_default();
    SeedFinding {
        key: (k("source_ip_raw"), k("app"), k("result_description")),
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        unique_usernames: f.unique_usernames,
        total_failures: f.total_failures,
        not_found_rows: f.username_not_found_count,
        duration_minutes: f.duration_minutes,
        enum_rate: f.enum_rate,
        severity: f.severity.to_string(),
    }
}

// ---------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn recommended_sliding_window_equals_the_reference(
        evs in events(70),
        threshold in 1u64..6,
        window_min in prop_oneof![Just(1i64), Just(5), Just(10), Just(30)],
    ) {
        let specs = vec![
            format!("auth_username_enumeration.threshold={threshold}"),
            format!("auth_username_enumeration.window={window_min}m"),
        ];
        let rules = rules(Profile::Recommended, &specs, Some("auth_username_enumeration"));
        let mut got: Vec<RecFinding> =
            run(&rules, Profile::Recommended, None, &evs).iter().map(engine_recommended).collect();
        got.sort();
        prop_assert_eq!(got, reference_recommended(&evs, threshold, window_min * 60));
    }

    #[test]
    fn seed_lookback_equals_the_reference(
        evs in events(70),
        threshold in 1u64..5,
        lookback_min in prop_oneof![Just(10i64), Just(30), Just(60)],
        now in prop_oneof![Just(None), (0i64..4 * 3600).prop_map(|s| Some(at(s)))],
    ) {
        let specs = vec![
            format!("auth_username_enumeration.threshold={threshold}"),
            format!("auth_username_enumeration.lookback={lookback_min}m"),
        ];
        let rules = rules(Profile::Seed, &specs, Some("auth_username_enumeration"));
        let mut got: Vec<SeedFinding> =
            run(&rules, Profile::Seed, now, &evs).iter().map(engine_seed).collect();
        got.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        prop_assert_eq!(got, reference_seed(&evs, threshold, lookback_min * 60, now));
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..config() })]

    #[test]
    fn findings_do_not_depend_on_input_order(
        (evs, shuffled) in events(60).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        threshold in 2u64..5,
    ) {
        for profile in [Profile::Recommended, Profile::Seed] {
            let rules = rules(profile, &[format!("threshold={threshold}")], None);
            prop_assert_eq!(
                run(&rules, profile, None, &evs),
                run(&rules, profile, None, &shuffled)
            );
        }
    }

    #[test]
    fn findings_with_a_state_cap_do_not_depend_on_input_order(
        (evs, shuffled) in events(60).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        cap in 1usize..8,
    ) {
        for profile in [Profile::Recommended, Profile::Seed] {
            let rules = rules(profile, &["threshold=2".to_string()], None);
            prop_assert_eq!(
                run_capped(&rules, profile, None, Some(cap), &evs),
                run_capped(&rules, profile, None, Some(cap), &shuffled)
            );
        }
    }

    #[test]
    fn streaming_equals_batch(
        evs in events(70),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
        lag in proptest::collection::vec(0i64..40, 8),
        threshold in 2u64..5,
    ) {
        let rules = rules(Profile::Recommended, &[format!("threshold={threshold}")], None);
        let mut sorted = evs.clone();
        sorted.sort_by_key(|e| e.time);
        let batch = run(&rules, Profile::Recommended, None, &sorted);

        // Chunks end where the time changes, so that every event at or
        // before a watermark has been pushed when it is announced.
        let mut bounds: BTreeSet<usize> = cuts.iter().map(|c| c.index(sorted.len() + 1)).collect();
        bounds.insert(sorted.len());
        let engine = EngineBuilder::new()
            .rules(rules.iter().cloned())
            .profile("recommended")
            .build();
        let mut stream = engine.run(vec!["input".into()]);
        let mut pushed = 0;
        let mut last_wm: Option<Timestamp> = None;
        for (i, b) in bounds.into_iter().enumerate() {
            while pushed < b {
                stream.push(sorted[pushed].clone());
                pushed += 1;
            }
            while pushed < sorted.len() && pushed > 0 && sorted[pushed].time == sorted[pushed - 1].time {
                stream.push(sorted[pushed].clone());
                pushed += 1;
            }
            let Some(last) = pushed.checked_sub(1).map(|i| sorted[i].time) else {
                continue;
            };
            // The watermark may run ahead of the data, up to the next event.
            let ahead = last.as_second() + lag[i % lag.len()] * 20;
            let wm_secs = match sorted.get(pushed) {
                Some(next) => ahead.min(next.time.as_second() - 1),
                None => ahead,
            };
            let wm = at(wm_secs.max(last.as_second()) - BASE);
            if last_wm.is_none_or(|w| wm > w) {
                let _ = stream.advance(wm);
                last_wm = Some(wm);
            }
        }
        prop_assert_eq!(stream.finish().0, batch);
    }
}

// ---------------------------------------------------------------------
// Splitting into files, through the readers.
// ---------------------------------------------------------------------

/// A Log Analytics sign-in row for `e`.
fn la_row(e: &Event) -> String {
    let mut m = serde_json::Map::new();
    m.insert("TimeGenerated".into(), e.time.to_string().into());
    m.insert("Type".into(), e.table.into());
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.into(), v.clone().into());
        }
    };
    put("UserPrincipalName", &e.user);
    put("ResultType", &e.result_code);
    put("IPAddress", &e.source_ip);
    put("AppDisplayName", &e.app);
    put("ResultDescription", &e.result_description);
    put("OriginalRequestId", &e.request_id);
    serde_json::Value::Object(m).to_string()
}

/// Findings of the files' events, without the evidence's file and record
/// (which name where each row was read).
fn via_files(rules: &[Rule], parts: &[Vec<&Event>]) -> Vec<Finding> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let p = dir.path().join(format!("part{i}.ndjson"));
        let text: String = part.iter().map(|e| la_row(e) + "\n").collect();
        std::fs::write(&p, text).expect("write part");
        files.push(idrecon_ingest::InputFile::from_path(p));
    }
    let engine = EngineBuilder::new()
        .rules(rules.iter().cloned())
        .profile("recommended")
        .build();
    let mut run = engine.run(vec![]);
    let report = idrecon_ingest::read_all(&files, &Default::default(), &mut |e| run.push(e))
        .expect("non-strict read");
    let totals = report.totals();
    assert_eq!(totals.read, totals.used + totals.rejected);
    assert_eq!(totals.rejected, 0, "{:?}", report.files);
    let mut findings = run.finish().0;
    for f in &mut findings {
        for ev in &mut f.evidence {
            ev.file.clear();
            ev.record = 0;
        }
    }
    findings
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..config() })]

    #[test]
    fn splitting_the_input_into_files_gives_the_same_findings(
        evs in events(50),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 1..5),
        threshold in 2u64..5,
    ) {
        // Sign-ins only: the rows are written as Log Analytics sign-in rows.
        let evs: Vec<&Event> = evs
            .iter()
            .filter(|e| e.kind == EventKind::EntraSignIn && e.table != table::SERVICE_PRINCIPAL)
            .collect();
        let rules = rules(Profile::Recommended, &[format!("threshold={threshold}")], None);
        let whole = via_files(&rules, std::slice::from_ref(&evs));
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(evs.len() + 1)).collect();
        bounds.push(0);
        bounds.push(evs.len());
        bounds.sort_unstable();
        bounds.dedup();
        let parts: Vec<Vec<&Event>> = bounds.windows(2).map(|w| evs[w[0]..w[1]].to_vec()).collect();
        prop_assert_eq!(via_files(&rules, &parts), whole);
    }
}

/// The case `streaming_equals_batch` found: an episode that fails
/// `password_spray`'s `require` (not-found ratio at most 0.2) while still
/// open must keep its start. Evicting the old not-found probe at the
/// watermark made the rest of the episode pass, and `watch` reported a
/// spray that `hunt` does not.
#[test]
fn streaming_keeps_the_start_of_an_open_episode_that_fails_require() {
    let ev = |secs: i64, user: &str, code: &str, n: u64| {
        let mut e = Event::new(
            at(secs),
            EventKind::EntraSignIn,
            table::SIGNIN_LOGS,
            Origin { file: 0, record: n },
        );
        e.user = Some(user.into());
        e.result_code = Some(code.into());
        e.source_ip = Some("198.51.100.7".into());
        e.request_id = Some(format!("req-{n}"));
        e
    };
    let evs = vec![
        ev(0, "ann@c.com", "50034", 1),
        ev(48 * 60, "ann@c.com", "50126", 2),
        ev(48 * 60, "cy@c.com", "50126", 3),
        ev(52 * 60 + 20, "bob@c.com", "50126", 4),
    ];
    let rules = rules(
        Profile::Recommended,
        &["password_spray.threshold=3".to_string()],
        Some("password_spray"),
    );
    let batch = run(&rules, Profile::Recommended, None, &evs);
    assert!(batch.is_empty(), "{batch:?}");
    let engine = EngineBuilder::new()
        .rules(rules.iter().cloned())
        .profile("recommended")
        .build();
    let mut stream = engine.run(vec!["input".into()]);
    evs.iter().cloned().for_each(|e| stream.push(e));
    // Past one window after the not-found probe, before the episode ends.
    assert!(stream.advance(at(70 * 60)).is_empty());
    assert_eq!(stream.finish().0, batch);
}

/// The state cap keeps the latest events of a key, counts what it drops,
/// and holds at most twice the cap while events arrive.
#[test]
fn the_state_cap_keeps_the_latest_events_and_counts_evictions() {
    let evs: Vec<Event> = (0..50)
        .rev()
        .map(|i| {
            let mut e = Event::new(
                at(i * 10),
                EventKind::EntraSignIn,
                table::SIGNIN_LOGS,
                Origin {
                    file: 0,
                    record: i as u64 + 1,
                },
            );
            e.user = Some(format!("u{i}@c.com"));
            e.result_code = Some("50034".into());
            e.source_ip = Some("203.0.113.5".into());
            e.request_id = Some(format!("req-{i}"));
            e
        })
        .collect();
    let rules = rules(
        Profile::Recommended,
        &["auth_username_enumeration.threshold=3".to_string()],
        Some("auth_username_enumeration"),
    );
    for (cap, evicted, first) in [(None, 0, 0), (Some(10), 40, 400)] {
        let engine = EngineBuilder::new()
            .rules(rules.iter().cloned())
            .profile("recommended")
            .max_events_per_key(cap)
            .build();
        let mut run = engine.run(vec!["input".into()]);
        for e in &evs {
            run.push(e.clone());
            if let Some(c) = cap {
                assert!(run.retained_events() <= 2 * c as u64);
            }
        }
        let (findings, summary) = run.finish();
        assert_eq!(summary.evicted, evicted);
        assert_eq!(summary.rules[0].evicted, evicted);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].first_seen, at(first));
        assert_eq!(findings[0].last_seen, at(490));
        assert_eq!(findings[0].unique_usernames, 50 - evicted);
    }
}
