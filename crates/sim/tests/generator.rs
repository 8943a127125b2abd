//! Generator tests: determinism, per-scenario codes and counts, and the
//! well-formedness of every shape.

use idrecon_sim::labels::Labels;
use idrecon_sim::record::Record;
use idrecon_sim::scenario;
use idrecon_sim::shape::Shape;
use idrecon_sim::simulate::{self, SimOptions};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

fn opts(dir: &Path, seed: u64) -> SimOptions {
    SimOptions {
        seed,
        scale: 0.05,
        shapes: Shape::ALL.to_vec(),
        skip_inapplicable: true,
        ..SimOptions::new(dir)
    }
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("prefix")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).expect("readable file"));
            }
        }
    }
    out
}

#[test]
fn same_seed_is_byte_identical_and_seeds_differ() {
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    let c = tempfile::tempdir().expect("tmp");
    simulate::simulate(&opts(a.path(), 7)).expect("sim a");
    simulate::simulate(&opts(b.path(), 7)).expect("sim b");
    simulate::simulate(&opts(c.path(), 8)).expect("sim c");
    let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(
            v == &tb[k],
            "{k} differs between two runs with the same seed"
        );
    }
    let differing = ta
        .iter()
        .filter(|(k, v)| tc.get(*k).is_none_or(|w| w != *v))
        .count();
    assert!(
        differing > ta.len() / 2,
        "seed 8 should change most files ({differing} of {})",
        ta.len()
    );
}

fn records(name: &str) -> Vec<Record> {
    let o = SimOptions {
        scale: 0.05,
        ..SimOptions::new("/nonexistent")
    };
    let dir = simulate::directory_for(o.seed, o.scale);
    let (i, def) = scenario::catalogue()
        .iter()
        .enumerate()
        .find(|(_, d)| d.name == name)
        .expect("scenario");
    simulate::generate(&dir, def, i, o.seed, o.start + def.offset, o.scale, 1).0
}

fn signin_codes(recs: &[Record]) -> BTreeMap<u32, usize> {
    let mut m = BTreeMap::new();
    for r in recs {
        if let Record::SignIn(s) = r {
            *m.entry(s.code).or_default() += 1;
        }
    }
    m
}

#[test]
fn seed_test_1_is_ropc_with_rotating_clients() {
    let recs = records("seed1-ropc-enum");
    let codes = signin_codes(&recs);
    assert_eq!(codes.get(&50034), Some(&32));
    assert_eq!(codes.values().sum::<usize>(), 48);
    let apps: HashSet<&str> = recs
        .iter()
        .filter_map(|r| {
            if let Record::SignIn(s) = r {
                Some(s.app.id)
            } else {
                None
            }
        })
        .collect();
    assert!(
        apps.len() >= 8,
        "o365spray rotates its 13 client ids: {apps:?}"
    );
    for r in &recs {
        let Record::SignIn(s) = r else {
            panic!("only sign-ins")
        };
        assert_eq!(s.protocol, "ropc");
        assert!(s.user_agent.contains("Chrome/104"));
        assert_eq!(s.ip.to_string(), "203.0.113.10");
    }
}

#[test]
fn seed_test_2_kerbrute_and_ntlm() {
    let recs = records("seed2-onprem-enum");
    let mut by: HashMap<(u16, u32, Option<u32>), usize> = HashMap::new();
    for r in &recs {
        let Record::Win(w) = r else {
            panic!("only Windows events")
        };
        *by.entry((w.event_id, w.status, w.sub_status)).or_default() += 1;
    }
    assert_eq!(
        by.get(&(4768, 0x6, None)),
        Some(&28),
        "kerbrute: one 4768 0x6 per invented name"
    );
    assert!(by.keys().all(|k| k.0 != 4771), "4771 never carries 0x6");
    assert_eq!(by.get(&(4625, 0xC000_006D, Some(0xC000_0064))), Some(&20));
    let n4625: usize = by.iter().filter(|(k, _)| k.0 == 4625).map(|(_, v)| v).sum();
    let n4776: usize = by.iter().filter(|(k, _)| k.0 == 4776).map(|(_, v)| v).sum();
    assert_eq!(n4625, 35);
    assert_eq!(n4776, 35);
}

#[test]
fn seed_test_3_uses_real_sspr_activities() {
    let recs = records("seed3-sspr-probe");
    let mut acts = HashSet::new();
    let mut targets = HashSet::new();
    for r in &recs {
        let Record::Audit(a) = r else {
            panic!("only audits")
        };
        acts.insert(a.activity);
        targets.insert(a.target.0.to_string());
        assert_eq!(a.service, "Self-service Password Management");
    }
    assert_eq!(targets.len(), 30);
    assert!(acts.contains(scenario::sspr::FLOW));
    assert!(acts.contains(scenario::sspr::BLOCKED));
    assert!(!acts.iter().any(|a| a.contains("Verify email address")));
}

#[test]
fn sprays_mfa_sweep_distributed_and_slow() {
    let spray = records("spray-entra");
    assert!(spray.iter().all(|r| matches!(r, Record::SignIn(s) if &*s.user_agent == "Windows-AzureAD-Authentication-Provider/1.0" && s.app.id == "38aa3b87-a06d-4817-b275-7a316988d93b")));
    assert!(signin_codes(&spray)[&50126] > 50);

    let kspray = records("spray-kerberos");
    let n4771 = kspray
        .iter()
        .filter(|r| matches!(r, Record::Win(w) if w.event_id == 4771 && w.status == 0x18))
        .count();
    assert!(n4771 >= 55, "{n4771}");
    assert_eq!(
        kspray
            .iter()
            .filter(|r| matches!(r, Record::Win(w) if w.event_id == 4768 && w.status == 0))
            .count(),
        1
    );

    let sweep = records("mfa-sweep");
    assert_eq!(sweep.len(), 11, "MFASweep's 11 legs");
    let uas: HashSet<&str> = sweep
        .iter()
        .filter_map(|r| {
            if let Record::SignIn(s) = r {
                Some(&*s.user_agent)
            } else {
                None
            }
        })
        .collect();
    assert!(uas.len() >= 9);
    assert!(uas.iter().any(|u| u.contains("Nintendo Switch")));
    let users: HashSet<String> = sweep
        .iter()
        .filter_map(|r| {
            if let Record::SignIn(s) = r {
                Some(s.upn.to_string())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(users.len(), 1);

    let dist = records("distributed-enum");
    let mut per_ip: HashMap<String, HashSet<String>> = HashMap::new();
    for r in &dist {
        if let Record::SignIn(s) = r {
            per_ip
                .entry(s.ip.to_string())
                .or_default()
                .insert(s.upn.to_string());
        }
    }
    assert_eq!(per_ip.len(), 64);
    assert!(per_ip.values().all(|u| u.len() <= 5));

    let slow = records("low-and-slow");
    let mut per_hour: HashMap<i64, usize> = HashMap::new();
    for r in &slow {
        *per_hour
            .entry(r.time().div_euclid(idrecon_sim::time::HOUR))
            .or_default() += 1;
    }
    assert!(per_hour.values().all(|n| *n < 15), "{per_hour:?}");
    assert!(per_hour.len() >= 10);
}

#[test]
fn background_failures_stay_low_per_source() {
    let recs = records("background");
    assert!(recs.len() > 1000, "{}", recs.len());
    let mut fails: HashMap<(String, i64), HashSet<String>> = HashMap::new();
    let (mut total, mut failed) = (0usize, 0usize);
    for r in &recs {
        if let Record::SignIn(s) = r {
            total += 1;
            if s.code != 0 {
                failed += 1;
                fails
                    .entry((s.ip.to_string(), s.time.div_euclid(idrecon_sim::time::HOUR)))
                    .or_default()
                    .insert(s.upn.to_string());
            }
        }
    }
    let rate = failed as f64 / total as f64;
    assert!((0.005..0.15).contains(&rate), "failure rate {rate}");
    assert!(fails.values().all(|u| u.len() < 10));
}

fn check_json_file(path: &Path, text: &str) -> usize {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
        for (i, line) in text.lines().enumerate() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        }
        return text.lines().count();
    }
    let v: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match &v {
        serde_json::Value::Array(a) => a.len(),
        serde_json::Value::Object(o) if o.contains_key("records") => {
            o["records"].as_array().map_or(0, Vec::len)
        }
        serde_json::Value::Object(o) if o.contains_key("value") => {
            let rows = o["value"].as_array().expect("value array");
            // Graph pages are newest first.
            let times: Vec<&str> = rows
                .iter()
                .filter_map(|r| {
                    r.get("createdDateTime")
                        .or_else(|| r.get("activityDateTime"))
                        .and_then(|t| t.as_str())
                })
                .collect();
            assert!(
                times.windows(2).all(|w| w[0] >= w[1]),
                "{}: not newest first",
                path.display()
            );
            rows.len()
        }
        _ => panic!("{}: unexpected JSON document", path.display()),
    }
}

#[test]
fn every_shape_is_well_formed_and_counts_match_labels() {
    let d = tempfile::tempdir().expect("tmp");
    let labels: Labels = simulate::simulate(&opts(d.path(), 3)).expect("simulate");
    let reread = simulate::read_labels(&d.path().join("labels.json")).expect("labels parse");
    assert_eq!(reread, labels);
    let mut shapes_seen = HashSet::new();
    for u in &labels.units {
        for f in &u.files {
            let p = d.path().join(&f.path);
            let text = std::fs::read_to_string(&p).expect("utf-8 file");
            assert_eq!(text.len() as u64, f.bytes, "{}", f.path);
            let rows = if f.path.ends_with(".csv") {
                let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
                let header = lines.next().expect("header");
                assert_eq!(header.split(',').count(), 57);
                let rows: Vec<&str> = lines.collect();
                for r in &rows {
                    let mut n = 1;
                    let mut q = false;
                    for c in r.chars() {
                        match c {
                            '"' => q = !q,
                            ',' if !q => n += 1,
                            _ => {}
                        }
                    }
                    assert_eq!(n, 57, "{}: {r}", f.path);
                }
                rows.len()
            } else if f.path.ends_with(".xml") {
                for l in text.lines() {
                    assert!(
                        l.starts_with("<Event xmlns=") && l.ends_with("</Event>"),
                        "{l}"
                    );
                }
                text.lines().count()
            } else {
                check_json_file(&p, &text)
            };
            assert_eq!(rows as u64, f.records, "{}", f.path);
            shapes_seen.insert(f.shape.clone());
        }
    }
    assert_eq!(shapes_seen.len(), Shape::ALL.len(), "{shapes_seen:?}");
    // Entra-only scenarios are not written in Windows-only shapes.
    assert!(!labels.units.iter().any(|u| u.name == "seed1-ropc-enum/xml"));
    assert!(
        labels
            .units
            .iter()
            .any(|u| u.name == "seed2-onprem-enum/ecs")
    );
    // The allowlist parses and names the five classes.
    let allow = idrecon_allow::Allowlist::from_path(&d.path().join("allowlist.toml"))
        .expect("allowlist parses");
    let names: HashSet<&str> = allow.entries.iter().map(|e| e.name.as_str()).collect();
    for c in [
        "authorised-pentest",
        "misconfigured-app",
        "helpdesk-sspr-tool",
        "password-expiry-notifier",
        "onboarding-script",
    ] {
        assert!(names.contains(c), "{c}");
    }
    // Scenario 1 documents GetCredentialType.
    let s1 = labels
        .scenarios
        .iter()
        .find(|s| s.name == "seed1-ropc-enum")
        .expect("seed1");
    assert!(s1.notes.iter().any(|n| n.contains("GetCredentialType")));
    assert_eq!(s1.events.get("SigninLogs:50034"), Some(&32));
}

#[test]
fn corpus_embeds_every_scenario() {
    let d = tempfile::tempdir().expect("tmp");
    let o = SimOptions {
        scale: 0.05,
        ..SimOptions::new(d.path())
    };
    let (labels, st) = idrecon_sim::corpus::write_corpus(&o, 3_000_000).expect("corpus");
    assert!(st.bytes >= 3_000_000, "{}", st.bytes);
    assert_eq!(labels.mode, "corpus");
    assert_eq!(labels.units.len(), 1);
    assert_eq!(labels.scenarios.len(), scenario::catalogue().len());
    let starts: HashSet<&str> = labels
        .scenarios
        .iter()
        .map(|s| &s.span.start[..10])
        .collect();
    assert!(
        starts.len() > 1,
        "scenarios spread over several days: {starts:?}"
    );
    assert_eq!(idrecon_sim::corpus::parse_size("1GiB"), Ok(1 << 30));
    assert_eq!(idrecon_sim::corpus::parse_size("500MB"), Ok(500_000_000));
    assert!(idrecon_sim::corpus::parse_size("lots").is_err());
}
