//! Shared helpers: a deterministic sign-in corpus, the batch (`hunt`)
//! reference, and checks on an update stream.
#![allow(dead_code)]

use idrecon_engine::EngineBuilder;
use idrecon_ingest::{IngestOptions, InputFile};
use idrecon_rules::{Catalogue, Profile, Rule};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub fn rules() -> Vec<Rule> {
    Catalogue::load(Profile::Recommended, &[])
        .expect("catalogue")
        .rules()
        .to_vec()
}

fn ts(secs: i64) -> String {
    let t: jiff::Timestamp = "2024-05-01T00:00:00Z".parse().expect("ts");
    t.checked_add(jiff::SignedDuration::from_millis(
        secs * 1000 + (secs % 7) * 13,
    ))
    .expect("range")
    .to_string()
}

fn row(secs: i64, user: &str, ip: &str, code: &str) -> (i64, String) {
    let v = serde_json::json!({
        "TimeGenerated": ts(secs),
        "Type": "SigninLogs",
        "UserPrincipalName": user,
        "IPAddress": ip,
        "ResultType": code,
        "AppDisplayName": "Office 365 Exchange Online",
        "UserAgent": "Mozilla/5.0",
    });
    (secs, v.to_string())
}

/// (event second, NDJSON line) of a day: background sign-ins, username
/// enumeration bursts, a password spray followed by a success, and a slow
/// enumeration; in time order.
pub fn corpus(seed: u64) -> Vec<(i64, String)> {
    let mut v = Vec::new();
    let mut x = seed | 1;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..2500 {
        let r = rnd();
        v.push(row(
            (r % 86_400) as i64,
            &format!("emp{}@contoso.com", r % 300),
            &format!("198.51.100.{}", r % 20),
            if i % 7 == 0 { "50126" } else { "0" },
        ));
    }
    for (b, start) in [(0i64, 3_600i64), (1, 30_000), (2, 30_500), (3, 61_000)] {
        for i in 0..(16 + b * 9) {
            v.push(row(
                start + i * 7,
                &format!("ghost{b}-{i}@contoso.com"),
                "203.0.113.5",
                "50034",
            ));
        }
    }
    for i in 0..14 {
        v.push(row(
            50_000 + i * 30,
            &format!("emp{i}@contoso.com"),
            "192.0.2.9",
            "50126",
        ));
    }
    v.push(row(52_000, "emp3@contoso.com", "192.0.2.9", "0"));
    for i in 0..30 {
        v.push(row(
            10_000 + i * 1_700,
            &format!("slow{i}@contoso.com"),
            "203.0.113.99",
            "50034",
        ));
    }
    v.sort_by_key(|(t, _)| *t);
    v
}

/// Shuffles events so that none arrives more than `max_secs` after a later
/// one (disorder within the allowed lateness).
pub fn shuffle_within(lines: &[(i64, String)], max_secs: i64, seed: u64) -> Vec<String> {
    let mut x = seed | 1;
    let mut keyed: Vec<(i64, usize, &String)> = lines
        .iter()
        .enumerate()
        .map(|(i, (t, l))| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (t + (x % max_secs.max(1) as u64) as i64, i, l)
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, _, l)| l.clone()).collect()
}

/// What `hunt` finds in `path`: findings serialized, by id.
pub fn batch(path: &Path) -> BTreeMap<String, Value> {
    let engine = EngineBuilder::new()
        .rules(rules())
        .profile("recommended")
        .build();
    let f = InputFile::from_path(path);
    let mut run = engine.run(vec![f.display.clone()]);
    idrecon_ingest::read_file(&f, 0, &IngestOptions::default(), &mut |e| run.push(e))
        .expect("read");
    run.finish()
        .0
        .into_iter()
        .map(|f| (f.id.clone(), serde_json::to_value(&f).expect("json")))
        .collect()
}

/// Parses an update stream, checks that every finding's versions run
/// 1, 2, … without gaps or repeats, start with `opened` and that nothing
/// follows `closed`; returns the last update of every id.
pub fn check_updates(text: &str) -> BTreeMap<String, (String, u32, Value)> {
    let mut last: BTreeMap<String, (String, u32, Value)> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("update JSON");
        let kind = v["update"].as_str().expect("update").to_string();
        let version = v["version"].as_u64().expect("version") as u32;
        let f = v["finding"].clone();
        let id = f["id"].as_str().expect("id").to_string();
        match last.get(&id) {
            None => assert_eq!((kind.as_str(), version), ("opened", 1), "{id} starts badly"),
            Some((k, prev, _)) => {
                assert_ne!(k, "closed", "{id}: update after closed");
                assert_eq!(version, prev + 1, "{id}: version {version} after {prev}");
                assert_ne!(kind, "opened", "{id} opened twice");
            }
        }
        last.insert(id, (kind, version, f));
    }
    last
}

/// The closed findings of an update stream, by id.
pub fn closed(last: &BTreeMap<String, (String, u32, Value)>) -> BTreeMap<String, Value> {
    last.iter()
        .filter(|(_, (k, _, _))| k == "closed")
        .map(|(id, (_, _, f))| (id.clone(), f.clone()))
        .collect()
}
