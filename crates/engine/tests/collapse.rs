//! Duplicate probes collapsed as they arrive (rules with a dedup key and no
//! completion filter, no state cap) give exactly what keeping every row and
//! deduplicating at evaluation gives: the same findings, the same
//! `duplicates` count, in batch, in any input order and streaming.
//!
//! The reference is the same engine with a state cap far above any key's
//! size, which turns collapsing off and changes nothing else. Inputs are
//! dense in duplicates: repeated rows (same time, same dedup key), rows
//! whose dedup key differs only in case, whitespace or non-ASCII case, rows
//! with the same key at another time, rows without a request id, and copies
//! that differ in fields outside the dedup key (so which copy is kept
//! shows in the findings). Keys hold well over eight probes, so both the
//! list search and the hash index are used.

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Finding, Origin, Timestamp};
use idrecon_engine::{EngineBuilder, RunSummary};
use idrecon_rules::{Catalogue, Profile, Rule};
use proptest::prelude::*;
use std::collections::BTreeSet;

const BASE: i64 = 1_714_521_600; // 2024-05-01T00:00:00Z

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(BASE + secs).expect("in range")
}

const USERS: &[&str] = &[
    "ann@c.com",
    "Ann@c.com",
    " ann@c.com ",
    "bob@c.com",
    "Ünal@c.com",
    "ünal@c.com",
    "cy@c.com",
    "",
];
const IPS: &[&str] = &["203.0.113.5", "198.51.100.7"];
/// Not found, MFA, CA block, success: the surge and MFA-sweep rules.
const ENTRA_CODES: &[&str] = &["50034", "51004", "50076", "53003", "0", "50126"];
const APPS: &[&str] = &["Office 365", "Azure Portal", "Exchange", "Teams"];
const AGENTS: &[&str] = &["curl/8", "python-requests/2", "Mozilla/5.0", "Go-http"];
const CLIENTS: &[&str] = &["Browser", "Exchange ActiveSync", "IMAP4"];
/// (EventID, status) pairs of the Kerberos and NTLM rules.
const WIN: &[(&str, &str)] = &[
    ("4768", "0x6"),
    ("4768", "0x12"),
    ("4771", "0x18"),
    ("4776", "0xc0000064"),
    ("4776", "0xc000006a"),
    ("4625", "0xc0000064"),
];
const HOSTS: &[&str] = &["DC01.contoso.local", "dc01.CONTOSO.local"];

/// One row: Entra or Windows, with few distinct values.
fn row() -> impl Strategy<Value = Event> {
    (
        0i64..40,
        any::<bool>(),
        0usize..USERS.len(),
        0usize..IPS.len(),
        0usize..ENTRA_CODES.len(),
        0usize..WIN.len(),
        0usize..HOSTS.len(),
        (
            0usize..APPS.len(),
            0usize..AGENTS.len(),
            0usize..CLIENTS.len(),
        ),
        prop_oneof![1 => Just(None), 5 => (0u8..6).prop_map(Some)],
    )
        .prop_map(
            |(t, entra, u, ip, code, win, host, (app, agent, client), req)| {
                let time = at(t * 60);
                let mut e = if entra {
                    let mut e = Event::new(
                        time,
                        EventKind::EntraSignIn,
                        table::SIGNIN_LOGS,
                        Origin::default(),
                    );
                    e.result_code = Some(ENTRA_CODES[code].into());
                    e.app = Some(APPS[app].into());
                    e.app_id = Some(format!("app-{app}"));
                    e.user_agent = Some(AGENTS[agent].into());
                    e.client_app = Some(CLIENTS[client].into());
                    e
                } else {
                    let mut e = Event::new(
                        time,
                        EventKind::WindowsSecurity,
                        table::SECURITY_EVENT,
                        Origin::default(),
                    );
                    let (id, status) = WIN[win];
                    e.event_id = Some(id.into());
                    if id == "4625" {
                        e.result_code = Some("0xc000006d".into());
                        e.sub_status = Some(status.into());
                    } else {
                        e.result_code = Some(status.into());
                    }
                    e.host = Some(HOSTS[host].into());
                    e
                };
                e.user = Some(USERS[u].into());
                e.source_ip = Some(IPS[ip].into());
                // Request ids repeat only within one minute, as Azure
                // Monitor's duplicate rows do (streaming recognises a
                // duplicate while its first copy is held, docs/STREAMING.md).
                e.request_id = req.map(|r| format!("req-{t}-{r}"));
                e
            },
        )
}

/// How a copy of a row differs from it.
#[derive(Debug, Clone)]
enum Copy {
    /// The same row again.
    Exact,
    /// The user in another case (the dedup key still matches).
    UserCase,
    /// Another user agent and app (outside the dedup key).
    OtherFields(usize),
    /// The same dedup key a minute later (collapsed only at evaluation).
    Later,
}

fn copy() -> impl Strategy<Value = Copy> {
    prop_oneof![
        3 => Just(Copy::Exact),
        1 => Just(Copy::UserCase),
        2 => (0usize..AGENTS.len()).prop_map(Copy::OtherFields),
        1 => Just(Copy::Later),
    ]
}

/// Rows with many copies, each with its own origin.
fn rows() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(row(), 1..50),
        proptest::collection::vec((any::<proptest::sample::Index>(), copy()), 0..120),
    )
        .prop_map(|(mut v, copies)| {
            let n = v.len();
            for (i, c) in copies {
                let mut e = v[i.index(n)].clone();
                match c {
                    Copy::Exact => {}
                    Copy::UserCase => e.user = e.user.map(|u| u.to_uppercase()),
                    Copy::OtherFields(a) => {
                        e.user_agent = Some(AGENTS[a].into());
                        if e.kind == EventKind::EntraSignIn {
                            e.app = Some(APPS[a].into());
                        }
                    }
                    Copy::Later => {
                        e.time = e
                            .time
                            .checked_add(jiff::SignedDuration::from_secs(60))
                            .expect("range");
                    }
                }
                v.push(e);
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

/// The recommended catalogue with thresholds low enough that the small
/// inputs give findings.
fn rules() -> Vec<Rule> {
    let specs = [
        "threshold=2",
        "mfa_sweep.min_user_agents=2",
        "mfa_sweep.min_mfa_or_ca_events=1",
        "distributed_enumeration_surge.min_history=1h",
    ];
    let ov: Vec<_> = specs.iter().map(|s| s.parse().expect("override")).collect();
    Catalogue::load(Profile::Recommended, &ov)
        .expect("catalogue loads")
        .rules()
        .to_vec()
}

/// One line per finding: what a difference shows first.
fn brief(f: &[Finding]) -> Vec<String> {
    f.iter()
        .map(|f| {
            format!(
                "{} {:?} {}..{} u={} t={} nf={} ev={:?}",
                f.detection,
                f.key,
                f.first_seen,
                f.last_seen,
                f.unique_usernames,
                f.total_failures,
                f.username_not_found_count,
                f.evidence.iter().map(|e| e.record).collect::<Vec<_>>()
            )
        })
        .collect()
}

/// Where two finding lists first differ: 200 characters before and 300
/// after, from each.
fn first_diff(a: &[Finding], b: &[Finding]) -> String {
    for (x, y) in a.iter().zip(b) {
        let x: Vec<char> = format!("{x:?}").chars().collect();
        let y: Vec<char> = format!("{y:?}").chars().collect();
        if x != y {
            let i = x.iter().zip(&y).take_while(|(p, q)| p == q).count();
            let part = |v: &[char]| -> String {
                v[i.saturating_sub(200)..(i + 300).min(v.len())]
                    .iter()
                    .collect()
            };
            return format!("{}\n---\n{}", part(&x), part(&y));
        }
    }
    String::new()
}

/// A state cap no key reaches: collapsing is off, nothing else changes.
const NO_COLLAPSE: Option<usize> = Some(1 << 40);

fn batch(rules: &[Rule], cap: Option<usize>, events: &[Event]) -> (Vec<Finding>, RunSummary) {
    let engine = EngineBuilder::new()
        .rules(rules.iter().cloned())
        .profile("recommended")
        .max_events_per_key(cap)
        .build();
    let mut run = engine.run(vec!["input".into()]);
    for e in events {
        run.push(e.clone());
    }
    run.finish()
}

/// Per rule: (id, matched, duplicates, groups, findings, evicted).
fn counts(s: &RunSummary) -> Vec<(String, u64, u64, u64, u64, u64)> {
    s.rules
        .iter()
        .map(|r| {
            (
                r.rule.clone(),
                r.matched,
                r.duplicates,
                r.groups,
                r.findings,
                r.evicted,
            )
        })
        .collect()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn collapsing_at_push_changes_nothing(
        (evs, shuffled) in rows().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
    ) {
        let rules = rules();
        let (want, want_sum) = batch(&rules, NO_COLLAPSE, &evs);
        let (got, got_sum) = batch(&rules, None, &evs);
        prop_assert_eq!(brief(&got), brief(&want));
        prop_assert!(got == want, "{}", first_diff(&got, &want));
        prop_assert_eq!(counts(&got_sum), counts(&want_sum));
        let (got, got_sum) = batch(&rules, None, &shuffled);
        prop_assert_eq!(brief(&got), brief(&want));
        prop_assert!(got == want, "{}", first_diff(&got, &want));
        prop_assert_eq!(counts(&got_sum), counts(&want_sum));
    }

    #[test]
    fn collapsing_while_streaming_equals_batch(
        evs in rows(),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..6),
    ) {
        let rules = rules();
        let mut sorted = evs;
        sorted.sort_by_key(|e| e.time);
        let (want, _) = batch(&rules, NO_COLLAPSE, &sorted);

        let engine = EngineBuilder::new()
            .rules(rules.iter().cloned())
            .profile("recommended")
            .build();
        let mut stream = engine.run(vec!["input".into()]);
        let mut bounds: BTreeSet<usize> =
            cuts.iter().map(|c| c.index(sorted.len() + 1)).collect();
        bounds.insert(sorted.len());
        let mut pushed = 0;
        let mut last_wm: Option<Timestamp> = None;
        for b in bounds {
            while pushed < b
                || (pushed > 0 && pushed < sorted.len() && sorted[pushed].time == sorted[pushed - 1].time)
            {
                stream.push(sorted[pushed].clone());
                pushed += 1;
            }
            // Every event at or before the watermark has been pushed.
            let Some(wm) = pushed.checked_sub(1).map(|i| sorted[i].time) else {
                continue;
            };
            if last_wm.is_none_or(|w| wm > w) {
                let _ = stream.advance(wm);
                last_wm = Some(wm);
            }
        }
        let got = stream.finish().0;
        prop_assert_eq!(brief(&got), brief(&want));
        prop_assert!(got == want, "{}", first_diff(&got, &want));
    }
}

/// Hand-computed: 30 copies of one Kerberos probe and one more at another
/// time are one probe at evaluation; `duplicates` counts all 30 others.
#[test]
fn thirty_copies_of_a_probe_are_one_probe() {
    let rules = rules();
    let mut evs = Vec::new();
    for (i, user) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let mut e = Event::new(
            at(i as i64),
            EventKind::WindowsSecurity,
            table::SECURITY_EVENT,
            Origin::default(),
        );
        e.event_id = Some("4768".into());
        e.result_code = Some("0x6".into());
        e.user = Some((*user).into());
        e.source_ip = Some("10.0.0.66".into());
        e.host = Some("DC01".into());
        e.request_id = Some(format!("{}", 100 + i));
        evs.push(e);
    }
    let first = evs[0].clone();
    for k in 0..29 {
        let mut e = first.clone();
        // Copies of one EVTX file collected from two places: the host's
        // case differs, the record is the same.
        if k % 2 == 1 {
            e.host = Some("dc01".into());
        }
        evs.push(e);
    }
    let mut later = first.clone();
    later.time = at(3000);
    evs.push(later);
    for (i, e) in evs.iter_mut().enumerate() {
        e.origin = Origin {
            file: 0,
            record: i as u64 + 1,
        };
    }
    let (f, s) = batch(&rules, None, &evs);
    let k: Vec<&Finding> = f
        .iter()
        .filter(|f| f.detection == "kerberos_user_enumeration")
        .collect();
    assert_eq!(k.len(), 1, "{f:#?}");
    assert_eq!(k[0].unique_usernames, 5);
    assert_eq!(k[0].total_failures, 5);
    let stats = s
        .rules
        .iter()
        .find(|r| r.rule == "kerberos_user_enumeration")
        .expect("stats");
    assert_eq!(stats.matched, 35);
    assert_eq!(stats.duplicates, 30);
    assert_eq!(batch(&rules, NO_COLLAPSE, &evs).0, f);
}

/// Hand-computed (found by the streaming proptest): a copy of a probe one
/// minute later is a duplicate for good. Batch: the probes at 00:24 and
/// 00:39 are a full window (15 min) apart, so no window holds two apps. A
/// stream advanced to 00:39 evicts the 00:24 probe; its copy must go with
/// it, or the copy (00:25) and 00:39 make a two-app window at the end.
#[test]
fn a_copy_is_evicted_with_the_probe_it_duplicates() {
    let probe = |secs: i64, app: &str, client: &str, agent: &str, req: Option<&str>, rec: u64| {
        let mut e = Event::new(
            at(secs),
            EventKind::EntraSignIn,
            table::SIGNIN_LOGS,
            Origin {
                file: 0,
                record: rec,
            },
        );
        e.user = Some("ann@c.com".into());
        e.source_ip = Some("198.51.100.7".into());
        e.result_code = Some("50076".into());
        e.app_id = Some(app.into());
        e.client_app = Some(client.into());
        e.user_agent = Some(agent.into());
        e.request_id = req.map(str::to_string);
        e
    };
    let evs = [
        probe(24 * 60, "app-2", "Browser", "curl/8", Some("req-a"), 1),
        probe(25 * 60, "app-2", "Browser", "curl/8", Some("req-a"), 2),
        probe(
            39 * 60,
            "app-1",
            "Exchange ActiveSync",
            "python-requests/2",
            None,
            3,
        ),
    ];
    let rules: Vec<Rule> = rules()
        .into_iter()
        .filter(|r| r.id == "mfa_sweep")
        .collect();
    for cap in [None, NO_COLLAPSE] {
        let (f, sum) = batch(&rules, cap, &evs);
        assert!(f.is_empty(), "{}", brief(&f).join("\n"));
        assert_eq!(sum.rules[0].duplicates, 1);
    }
    let engine = EngineBuilder::new()
        .rules(rules)
        .profile("recommended")
        .build();
    let mut stream = engine.run(vec!["input".into()]);
    evs.iter().cloned().for_each(|e| stream.push(e));
    let updates = stream.advance(at(39 * 60));
    assert!(updates.is_empty());
    let (f, sum) = stream.finish();
    assert!(f.is_empty(), "{}", brief(&f).join("\n"));
    assert_eq!(sum.rules[0].duplicates, 1);
}
