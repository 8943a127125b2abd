//! Property tests of the tumbling-window rules against naive reference
//! implementations written here, plainly, from docs/DETECTIONS.md and
//! docs/ARCHITECTURE.md:
//!
//! - `distributed_enumeration_surge`: for every clock bucket with a
//!   not-found answer, the distinct not-found accounts `v`; the previous
//!   `n = min(history, b − b₀)` buckets (b₀: the bucket of the first sign-in
//!   of any result; buckets without answers are 0) give a mean and a
//!   population deviation; a finding when `n ≥ min_history`, `v ≥
//!   threshold` and `v > mean + sigmas × deviation`;
//! - `distributed_enumeration_shared_targets`: per bucket, every account's
//!   exact set of probing sources; accounts with the same set of at least
//!   `min_sources` form a group; a finding when the group has `threshold`
//!   accounts and at most `max_signed_in_share` of them signed in from one
//!   of the set's sources afterwards;
//! - both stream like a batch, whatever the chunking.

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Finding, Origin, Timestamp};
use idrecon_engine::EngineBuilder;
use idrecon_rules::{Catalogue, Override, Profile, Rule};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const BASE: i64 = 1_714_521_600; // 2024-05-01T00:00:00Z
const SURGE: &str = "distributed_enumeration_surge";
const SHARED: &str = "distributed_enumeration_shared_targets";

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(BASE + secs).expect("in range")
}

const NOT_FOUND: &[&str] = &["50034", "51004"];
const PROBE: &[&str] = &[
    "50034", "51004", "50126", "50053", "50055", "50056", "50057", "50144", "80014", "50072",
    "50074", "50076", "50079", "50105", "50131", "50158", "53003", "530031", "530032", "530035",
    "500121", "90072",
];
const PASSWORD_OK: &[&str] = &[
    "50072", "50074", "50076", "50079", "50105", "50131", "50158", "53003", "530031", "530032",
    "530035", "500121", "90072",
];
const MFA_INTERRUPT: &[&str] = &["50072", "50074", "50076", "50079", "50158"];
const COMPLETION: i64 = 300;

/// Sign-ins over 5 hours on a 30-second grid, few users and sources.
fn event() -> impl Strategy<Value = Event> {
    let users: &'static [&'static str] = &[
        "ann@c.com",
        "Ann@c.com",
        "bob@c.com",
        "cy@c.com",
        "dee@c.com",
        "eve@c.com",
        "fay@c.com",
    ];
    let codes: &'static [&'static str] = &[
        "50034", "50034", "50034", "51004", "50126", "50126", "50076", "0", "0", "50058",
    ];
    let ips: &'static [&'static str] = &["203.0.113.5", "198.51.100.7", "192.0.2.9", "2001:db8::9"];
    (
        0i64..(5 * 120),
        proptest::sample::select(users),
        proptest::sample::select(codes),
        proptest::sample::select(ips),
        0u8..12,
    )
        .prop_map(|(t, user, code, ip, other)| {
            let (kind, tbl) = match other {
                0 => (EventKind::EntraAudit, table::AUDIT_LOGS),
                1 => (EventKind::EntraSignIn, table::NON_INTERACTIVE),
                _ => (EventKind::EntraSignIn, table::SIGNIN_LOGS),
            };
            let mut e = Event::new(at(t * 30), kind, tbl, Origin::default());
            e.user = Some(user.to_string());
            e.result_code = Some(code.to_string());
            e.source_ip = Some(ip.to_string());
            e.source_ip_raw = e.source_ip.clone();
            e
        })
}

fn events(max: usize) -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec(event(), 0..max).prop_map(|mut v| {
        for (i, e) in v.iter_mut().enumerate() {
            e.request_id = Some(format!("req-{i}"));
            e.origin = Origin {
                file: 0,
                record: i as u64 + 1,
            };
        }
        v
    })
}

fn rule(id: &str, sets: &[String]) -> Rule {
    let o: Vec<Override> = sets.iter().map(|s| s.parse().expect("override")).collect();
    Catalogue::load(Profile::Recommended, &o)
        .expect("catalogue")
        .select(&[id.to_string()])
        .expect("rule")
        .rules()[0]
        .clone()
}

fn batch(r: &Rule, evs: &[Event]) -> Vec<Finding> {
    let e = EngineBuilder::new()
        .rules([r.clone()])
        .profile("recommended")
        .build();
    let mut run = e.run(vec![]);
    evs.iter().cloned().for_each(|x| run.push(x));
    run.finish().0
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

fn reads(e: &Event) -> bool {
    e.kind == EventKind::EntraSignIn
}

fn code_in(e: &Event, set: &[&str]) -> bool {
    e.result_code.as_deref().is_some_and(|c| set.contains(&c))
}

// ---------------------------------------------------------------------
// Surge.
// ---------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct SurgeRow {
    bucket: i64,
    unique: u64,
    total: u64,
    mean: f64,
    stddev: f64,
    buckets: u64,
    crossed: Timestamp,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn reference_surge(
    evs: &[Event],
    len: i64,
    history: i64,
    min_history: i64,
    sigmas: f64,
    threshold: u64,
) -> Vec<SurgeRow> {
    let bucket = |t: Timestamp| t.as_second().div_euclid(len);
    let Some(b0) = evs
        .iter()
        .filter(|e| reads(e))
        .map(|e| bucket(e.time))
        .min()
    else {
        return Vec::new();
    };
    // Probes, duplicate rows (same request, account, code) once.
    let mut seen = BTreeSet::new();
    let mut probes: Vec<&Event> = evs
        .iter()
        .filter(|e| reads(e) && code_in(e, NOT_FOUND))
        .collect();
    probes.sort_by_key(|e| (e.time, e.user.clone(), e.result_code.clone()));
    probes.retain(|e| {
        seen.insert((
            e.request_id.as_deref().map(norm),
            e.user.as_deref().map(norm),
            e.result_code.clone(),
        ))
    });
    let mut per: BTreeMap<i64, Vec<&Event>> = BTreeMap::new();
    for e in probes {
        per.entry(bucket(e.time)).or_default().push(e);
    }
    let value = |b: i64| -> u64 {
        per.get(&b).map_or(0, |v| {
            v.iter()
                .filter_map(|e| e.user.as_deref().map(norm))
                .collect::<BTreeSet<_>>()
                .len() as u64
        })
    };
    let mut out = Vec::new();
    for (b, v) in &per {
        let n = (history / len).min(b - b0);
        if n < min_history / len {
            continue;
        }
        let hist: Vec<u64> = (b - n..*b).map(value).collect();
        let (s, ss) = hist.iter().fold((0u128, 0u128), |(s, ss), x| {
            (s + *x as u128, ss + (*x as u128) * (*x as u128))
        });
        let (mean, sd) = if n == 0 {
            (0.0, 0.0)
        } else {
            let m = s as f64 / n as f64;
            (m, (ss as f64 / n as f64 - m * m).max(0.0).sqrt())
        };
        let bar = mean + sigmas * sd;
        let unique = value(*b);
        if unique < threshold || unique as f64 <= bar {
            continue;
        }
        let mut users = BTreeSet::new();
        let crossed = v
            .iter()
            .find(|e| {
                if let Some(u) = e.user.as_deref() {
                    users.insert(norm(u));
                }
                users.len() as u64 >= threshold && users.len() as f64 > bar
            })
            .map(|e| e.time)
            .expect("crosses");
        out.push(SurgeRow {
            bucket: *b,
            unique,
            total: v.len() as u64,
            mean: round2(mean),
            stddev: round2(sd),
            buckets: n as u64,
            crossed,
        });
    }
    out
}

fn engine_surge(f: &Finding, len: i64) -> SurgeRow {
    SurgeRow {
        bucket: f.first_seen.as_second().div_euclid(len),
        unique: f.unique_usernames,
        total: f.total_failures,
        mean: f.extra["baseline_mean"].as_f64().expect("mean"),
        stddev: f.extra["baseline_stddev"].as_f64().expect("stddev"),
        buckets: f.extra["baseline_buckets"].as_u64().expect("buckets"),
        crossed: f.threshold_crossed_at.expect("crossed"),
    }
}

// ---------------------------------------------------------------------
// Shared targets.
// ---------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct SharedRow {
    bucket: i64,
    set: String,
    users: BTreeSet<String>,
    total: u64,
    signed_in: BTreeSet<String>,
    critical: bool,
}

/// An account's sources and rows in one bucket.
type Sources<'a> = (BTreeSet<String>, Vec<&'a Event>);
/// An account of a group and its rows.
type Member<'a> = (String, Vec<&'a Event>);

fn reference_shared(
    evs: &[Event],
    len: i64,
    min_sources: usize,
    threshold: usize,
    max_share: f64,
) -> Vec<SharedRow> {
    let bucket = |t: Timestamp| t.as_second().div_euclid(len);
    let successes: Vec<&Event> = evs
        .iter()
        .filter(|e| reads(e) && e.result_code.as_deref() == Some("0"))
        .collect();
    let completed = |e: &Event| {
        code_in(e, MFA_INTERRUPT)
            && successes.iter().any(|s| {
                s.user.as_deref().map(norm) == e.user.as_deref().map(norm)
                    && s.time >= e.time
                    && s.time.as_second() <= e.time.as_second() + COMPLETION
            })
    };
    let mut seen = BTreeSet::new();
    let mut probes: Vec<&Event> = evs
        .iter()
        .filter(|e| {
            reads(e) && code_in(e, PROBE) && e.source_ip.as_deref().is_some_and(|s| !s.is_empty())
        })
        .filter(|e| !completed(e))
        .collect();
    probes.sort_by_key(|e| (e.time, e.user.clone(), e.result_code.clone()));
    probes.retain(|e| {
        seen.insert((
            e.request_id.as_deref().map(norm),
            e.user.as_deref().map(norm),
            e.result_code.clone(),
        ))
    });
    // Per bucket and account: its sources and rows.
    let mut per: BTreeMap<(i64, String), Sources<'_>> = BTreeMap::new();
    for e in &probes {
        let (Some(u), Some(ip)) = (e.user.as_deref(), e.source_ip.as_deref()) else {
            continue;
        };
        let slot = per.entry((bucket(e.time), norm(u))).or_default();
        slot.0.insert(ip.to_string());
        slot.1.push(e);
    }
    let mut groups: BTreeMap<(i64, Vec<String>), Vec<Member<'_>>> = BTreeMap::new();
    for ((b, u), (set, rows)) in per {
        if set.len() < min_sources {
            continue;
        }
        groups
            .entry((b, set.into_iter().collect()))
            .or_default()
            .push((u, rows));
    }
    let mut out = Vec::new();
    for ((b, set), members) in groups {
        if members.len() < threshold {
            continue;
        }
        let first = members
            .iter()
            .flat_map(|(_, r)| r.iter().map(|e| e.time))
            .min()
            .expect("rows");
        let last = members
            .iter()
            .flat_map(|(_, r)| r.iter().map(|e| e.time))
            .max()
            .expect("rows");
        let end = last.as_second() + len;
        let mut signed_in = BTreeSet::new();
        for (u, rows) in &members {
            let first_probe = rows.iter().map(|e| e.time).min().expect("rows");
            if successes.iter().any(|s| {
                s.user.as_deref().map(norm).as_deref() == Some(u.as_str())
                    && s.source_ip
                        .as_deref()
                        .is_some_and(|ip| set.iter().any(|x| x == ip))
                    && s.time >= first_probe
                    && s.time >= first
                    && s.time.as_second() <= end
            }) {
                signed_in.insert(u.clone());
            }
        }
        let share = ((signed_in.len() as f64 / members.len() as f64) * 10_000.0).round() / 10_000.0;
        if share > max_share {
            continue;
        }
        let password_ok = members
            .iter()
            .any(|(_, rows)| rows.iter().any(|e| code_in(e, PASSWORD_OK)));
        out.push(SharedRow {
            bucket: b,
            set: set.join(","),
            users: members.iter().map(|(u, _)| u.clone()).collect(),
            total: members.iter().map(|(_, r)| r.len() as u64).sum(),
            critical: password_ok || !signed_in.is_empty(),
            signed_in,
        });
    }
    out
}

fn engine_shared(f: &Finding, len: i64) -> SharedRow {
    let list = |k: &str| -> BTreeSet<String> {
        f.extra[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    SharedRow {
        bucket: f.first_seen.as_second().div_euclid(len),
        set: f.source_ip.clone().unwrap_or_default(),
        users: f.user_list.iter().cloned().collect(),
        total: f.total_failures,
        signed_in: list("signed_in_accounts"),
        critical: f.severity == idrecon_core::Severity::Critical,
    }
}

/// Time-ordered events pushed in chunks, with the watermark at each
/// chunk's last event (chunks end where the time changes).
fn stream(r: &Rule, sorted: &[Event], cuts: &[usize]) -> Vec<Finding> {
    let e = EngineBuilder::new()
        .rules([r.clone()])
        .profile("recommended")
        .build();
    let mut run = e.run(vec![]);
    let mut bounds: BTreeSet<usize> = cuts.iter().map(|c| c % (sorted.len() + 1)).collect();
    bounds.insert(sorted.len());
    let mut pushed = 0;
    for b in bounds {
        while pushed < b
            || (pushed < sorted.len()
                && pushed > 0
                && sorted[pushed].time == sorted[pushed - 1].time)
        {
            run.push(sorted[pushed].clone());
            pushed += 1;
        }
        if let Some(last) = pushed.checked_sub(1).map(|i| sorted[i].time) {
            let _ = run.advance(last);
        }
    }
    run.finish().0
}

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
    fn surge_equals_the_reference(
        evs in events(160),
        threshold in 1u64..4,
        sigmas in proptest::sample::select(&[0.0, 0.5, 1.0, 3.0][..]),
        history in proptest::sample::select(&[1800i64, 3600, 7200][..]),
        min_history in proptest::sample::select(&[600i64, 1200, 1800][..]),
    ) {
        let len = 600;
        let r = rule(SURGE, &[
            format!("{SURGE}.bucket=10m"),
            format!("{SURGE}.history={history}s"),
            format!("{SURGE}.min_history={min_history}s"),
            format!("{SURGE}.sigmas={sigmas}"),
            format!("{SURGE}.threshold={threshold}"),
        ]);
        let got: Vec<SurgeRow> = batch(&r, &evs).iter().map(|f| engine_surge(f, len)).collect();
        let mut got = got;
        got.sort_by_key(|x| x.bucket);
        let want = reference_surge(&evs, len, history, min_history, sigmas, threshold);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn shared_targets_equal_the_reference(
        evs in events(120),
        threshold in 1usize..4,
        min_sources in 2usize..4,
        max_share in proptest::sample::select(&[0.0, 0.5, 1.0][..]),
    ) {
        let len = 1800;
        let r = rule(SHARED, &[
            format!("{SHARED}.bucket=30m"),
            format!("{SHARED}.threshold={threshold}"),
            format!("{SHARED}.min_sources={min_sources}"),
            format!("{SHARED}.max_signed_in_share={max_share}"),
        ]);
        let mut got: Vec<SharedRow> = batch(&r, &evs).iter().map(|f| engine_shared(f, len)).collect();
        got.sort_by(|a, b| (a.bucket, &a.set).cmp(&(b.bucket, &b.set)));
        let want = reference_shared(&evs, len, min_sources, threshold, max_share);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn tumbling_streams_like_a_batch(
        evs in events(140),
        cuts in proptest::collection::vec(0usize..200, 0..10),
        threshold in 1u64..3,
    ) {
        let mut sorted = evs.clone();
        sorted.sort_by_key(|e| e.time);
        for r in [
            rule(SURGE, &[
                format!("{SURGE}.bucket=10m"),
                format!("{SURGE}.history=1h"),
                format!("{SURGE}.min_history=20m"),
                format!("{SURGE}.sigmas=0.5"),
                format!("{SURGE}.threshold={threshold}"),
            ]),
            rule(SHARED, &[
                format!("{SHARED}.bucket=20m"),
                format!("{SHARED}.threshold={threshold}"),
                format!("{SHARED}.min_sources=2"),
                format!("{SHARED}.max_signed_in_share=1"),
            ]),
        ] {
            prop_assert_eq!(stream(&r, &sorted, &cuts), batch(&r, &sorted), "{}", r.id);
        }
    }
}

#[test]
fn the_references_see_findings() {
    // Guard against vacuous properties: a fixed input where both rules fire.
    let mut v = Vec::new();
    let mut push = |t: i64, u: &str, ip: &str, code: &str| {
        let mut e = Event::new(
            at(t),
            EventKind::EntraSignIn,
            table::SIGNIN_LOGS,
            Origin::default(),
        );
        e.user = Some(u.into());
        e.source_ip = Some(ip.into());
        e.result_code = Some(code.into());
        e.request_id = Some(format!("r{t}{u}{ip}"));
        v.push(e);
    };
    push(0, "someone@c.com", "192.0.2.1", "0");
    for i in 0..5 {
        push(
            4000 + i * 10,
            &format!("ghost{i}@c.com"),
            "203.0.113.5",
            "50034",
        );
    }
    for ip in ["203.0.113.5", "198.51.100.7"] {
        for u in ["a@c.com", "b@c.com"] {
            push(5000, u, ip, "50126");
        }
    }
    let surge = rule(
        SURGE,
        &[
            format!("{SURGE}.bucket=10m"),
            format!("{SURGE}.history=1h"),
            format!("{SURGE}.min_history=20m"),
            format!("{SURGE}.threshold=3"),
        ],
    );
    let want = reference_surge(&v, 600, 3600, 1200, 3.0, 3);
    assert_eq!(want.len(), 1);
    assert_eq!(
        batch(&surge, &v)
            .iter()
            .map(|f| engine_surge(f, 600))
            .collect::<Vec<_>>(),
        want
    );
    let shared = rule(
        SHARED,
        &[
            format!("{SHARED}.bucket=30m"),
            format!("{SHARED}.threshold=2"),
            format!("{SHARED}.min_sources=2"),
        ],
    );
    let want = reference_shared(&v, 1800, 2, 2, 0.5);
    assert_eq!(want.len(), 1);
    assert_eq!(
        batch(&shared, &v)
            .iter()
            .map(|f| engine_shared(f, 1800))
            .collect::<Vec<_>>(),
        want
    );
}
