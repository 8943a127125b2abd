//! Per-destination escaping of the new outputs, the investigation guide in
//! every format, pivots, colours (NO_COLOR), progress silence and the
//! `rules` documentation.

mod report_common;

use report_common::*;
use serde_json::Value;

fn hunt(args: &[&str], input: &std::path::Path) -> (String, String) {
    let o = idrecon()
        .args(["hunt", "--no-allowlist"])
        .args(args)
        .arg(input)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn csv_and_table_neutralise_hostile_strings_including_the_guide() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = hostile_input(dir.path());
    let (csv, _) = hunt(&["--format", "csv", "-q"], &p);
    let mut rdr = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let headers = rdr.headers().expect("headers").clone();
    assert!(headers.iter().any(|h| h == "next_steps"));
    let mut rows = 0;
    for rec in rdr.records() {
        let rec = rec.expect("row");
        rows += 1;
        for cell in rec.iter() {
            assert!(
                !matches!(
                    cell.chars().next(),
                    Some('=' | '+' | '-' | '@' | '\t' | '\r')
                ),
                "formula cell {cell:?}"
            );
            assert!(!cell.contains('\u{1b}'), "ESC in CSV");
        }
    }
    assert!(rows >= 1);
    for color in ["never", "always"] {
        let (table, _) = hunt(&["--format", "table", "-q", "--color", color], &p);
        assert!(table.contains("Next steps"));
        // Only our own SGR colour codes may appear, never the attacker's.
        let stripped = table
            .replace("\u{1b}[1;31m", "")
            .replace("\u{1b}[31m", "")
            .replace("\u{1b}[33m", "")
            .replace("\u{1b}[36m", "")
            .replace("\u{1b}[1m", "")
            .replace("\u{1b}[0m", "");
        assert!(
            !stripped.contains('\u{1b}'),
            "raw attacker escape on the terminal"
        );
        // The hostile user agent is named in the guide's "block" step.
        assert!(
            stripped.contains("\\u{1b}]0;pwned\\u{7}"),
            "shown as text:\n{stripped}"
        );
    }
}

#[test]
fn colours_follow_color_and_no_color() {
    let ex = root().join("examples");
    let (never, _) = hunt(&["--format", "table", "-q", "--color", "never"], &ex);
    assert!(!never.contains('\u{1b}'));
    let (auto, _) = hunt(&["--format", "table", "-q"], &ex);
    assert!(!auto.contains('\u{1b}'), "auto: stdout is not a terminal");
    let (always, _) = hunt(&["--format", "table", "-q", "--color", "always"], &ex);
    assert!(always.contains("\u{1b}[1;31mcritical\u{1b}[0m"));
    // NO_COLOR wins over a terminal in auto mode (checked through the
    // decision function's inputs: piped + NO_COLOR gives no colour either).
    let o = idrecon()
        .env("NO_COLOR", "1")
        .args(["hunt", "--no-allowlist", "--format", "table", "-q"])
        .arg(&ex)
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&o.stdout).contains('\u{1b}'));
}

#[test]
fn progress_is_silent_when_piped() {
    let (_, err) = hunt(&["--format", "ndjson"], &root().join("examples"));
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("total: 5 file(s)"));
    let (_, err) = hunt(&["--format", "ndjson", "-q"], &root().join("examples"));
    assert!(err.is_empty(), "{err:?}");
}

#[test]
fn every_format_carries_the_investigation_guide() {
    let ex = root().join("examples");
    let (nd, _) = hunt(&["--format", "ndjson", "-q"], &ex);
    for line in nd.lines() {
        let f: Value = serde_json::from_str(line).expect("json");
        let steps = f["investigation"]["steps"].as_array().expect("steps");
        assert!(steps.len() >= 3, "{f}");
        if f["severity"] == "critical" {
            let first = steps[0].as_str().unwrap_or("");
            assert!(first.contains("megan.bowen@contoso.com"), "{first}");
            assert!(first.starts_with("Reset the passwords"));
        }
    }
    let (json, _) = hunt(&["--format", "json", "-q"], &ex);
    let doc: Value = serde_json::from_str(&json).expect("json");
    assert!(doc["findings"][0]["investigation"]["steps"].is_array());
    let (ocsf, _) = hunt(&["--format", "ocsf", "-q"], &ex);
    assert!(ocsf.contains("\"remediation\":{\"desc\":\"1. "));
    let (html, _) = hunt(&["--format", "html", "-q"], &ex);
    assert!(html.contains("<ol class=\"steps\">"));
}

#[test]
fn pivots_come_from_the_export_tables() {
    let ex = root().join("examples");
    let (nd, _) = hunt(
        &[
            "--format", "ndjson", "-q", "--pivot", "kql,spl", "--pivot", "esql",
        ],
        &ex,
    );
    let f: Value = serde_json::from_str(nd.lines().next().expect("line")).expect("json");
    let pivots = f["investigation"]["pivots"].as_array().expect("pivots");
    let dialects: Vec<&str> = pivots
        .iter()
        .filter_map(|p| p["dialect"].as_str())
        .collect();
    assert_eq!(dialects, ["kql", "kql", "spl", "spl", "esql", "esql"]);
    let kql = pivots[0]["query"].as_str().expect("query");
    assert!(
        kql.contains("| where IPAddress == \"203.0.113.50\""),
        "{kql}"
    );
    let users = pivots[1]["query"].as_str().expect("query");
    assert!(users.contains("\"megan.bowen@contoso.com\""), "{users}");
    let o = idrecon()
        .args(["hunt", "examples/", "--pivot", "nosuch"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rules_show_documents_a_rule() {
    let o = idrecon()
        .args([
            "rules",
            "--set",
            "password_spray.threshold=12",
            "show",
            "password_spray",
            "--format",
            "text",
        ])
        .output()
        .expect("runs");
    let s = String::from_utf8_lossy(&o.stdout);
    for part in [
        "password_spray (recommended profile)",
        "MITRE ATT&CK:",
        "T1110.003 Password Spraying",
        "Threshold:",
        "Parameters (override with --set password_spray.PARAM=VALUE):",
        "threshold",
        "(default: 10)",
        "Notes:",
    ] {
        assert!(s.contains(part), "missing {part:?} in\n{s}");
    }
    let o = idrecon()
        .args(["rules", "show", "password_spray", "--format", "json"])
        .output()
        .expect("runs");
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["params"]["threshold"], 10);
    let o = idrecon()
        .args(["rules", "--format", "json"])
        .output()
        .expect("runs");
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        v.as_array()
            .is_some_and(|a| a.iter().any(|r| r["id"] == "mfa_sweep"))
    );
}
