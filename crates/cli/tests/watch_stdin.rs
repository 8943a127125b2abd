//! `idrecon watch` on standard input: a corpus replayed out of order
//! (within the allowed lateness) gives exactly the findings `idrecon hunt`
//! gives on the same input.

#[path = "../../stream/tests/common/mod.rs"]
mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;

fn hunt(input: &[u8]) -> BTreeMap<String, Value> {
    let out = Command::cargo_bin("idrecon")
        .expect("bin")
        .args(["hunt", "-", "--format", "ndjson", "--no-allowlist", "-q"])
        .write_stdin(input.to_vec())
        .output()
        .expect("hunt");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f: Value = serde_json::from_str(l).expect("finding");
            // The investigation guide is a report decoration of `hunt`.
            if let Some(o) = f.as_object_mut() {
                o.remove("investigation");
            }
            (f["id"].as_str().expect("id").to_string(), f)
        })
        .collect()
}

fn watch(input: &[u8], extra: &[&str]) -> (BTreeMap<String, (String, u32, Value)>, String) {
    let out = Command::cargo_bin("idrecon")
        .expect("bin")
        .args(["watch", "--no-allowlist", "--allowed-lateness", "2m"])
        .args(extra)
        .write_stdin(input.to_vec())
        .output()
        .expect("watch");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (
        common::check_updates(&String::from_utf8_lossy(&out.stdout)),
        stderr,
    )
}

#[test]
fn shuffled_simulated_corpus_equals_hunt() {
    let lines = common::shuffle_within(&common::corpus(99), 110, 4);
    let input = (lines.join("\n") + "\n").into_bytes();
    let want = hunt(&input);
    assert!(want.len() >= 4, "{}", want.len());
    let (last, stderr) = watch(&input, &[]);
    assert_eq!(common::closed(&last), want);
    assert_eq!(last.len(), want.len());
    assert!(stderr.contains("late 0"), "{stderr}");
    assert!(stderr.contains("time to detect"), "{stderr}");
}

#[test]
fn shuffled_example_log_equals_hunt() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/entra/SigninLogs-2024-05-01.ndjson"
    );
    let text = std::fs::read_to_string(path).expect("example");
    let timed: Vec<(i64, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            let t: jiff::Timestamp = v["TimeGenerated"]
                .as_str()
                .expect("time")
                .parse()
                .expect("ts");
            (t.as_second(), l.to_string())
        })
        .collect();
    let mut timed = timed;
    timed.sort_by_key(|(t, _)| *t);
    let lines = common::shuffle_within(&timed, 90, 17);
    let input = (lines.join("\n") + "\n").into_bytes();
    let want = hunt(&input);
    assert!(!want.is_empty());
    let (last, _) = watch(&input, &[]);
    assert_eq!(common::closed(&last), want);
}

#[test]
fn events_later_than_the_lateness_are_reported() {
    let mut lines: Vec<String> = common::corpus(5).into_iter().map(|(_, l)| l).collect();
    // Events from the start of the day replayed at its end.
    let stale: Vec<String> = lines[..3].to_vec();
    lines.extend(stale);
    let input = (lines.join("\n") + "\n").into_bytes();
    let dir = tempfile::tempdir().expect("tmp");
    let late = dir.path().join("late.ndjson");
    let (_, stderr) = watch(
        &input,
        &[
            "--late-file",
            late.to_str().expect("utf-8"),
            "--idle-timeout",
            "30s",
        ],
    );
    // Stdin arrives in batches; the stale rows reach the engine after the
    // watermark passed them only if they came in a later batch.
    let n = std::fs::read_to_string(&late)
        .unwrap_or_default()
        .lines()
        .count();
    if n > 0 {
        assert!(
            stderr.contains("late event(s) were not evaluated"),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("late {n}")), "{stderr}");
    }
}
