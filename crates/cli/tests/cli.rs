//! End-to-end tests of the `idrecon` binary: exit codes, formats, input
//! accounting, escaping, the bundled examples and the public samples.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn idrecon() -> Command {
    let mut c = Command::cargo_bin("idrecon").expect("binary");
    c.current_dir(root());
    c
}

fn ndjson(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("finding line is JSON"))
        .collect()
}

fn detections(f: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = f
        .iter()
        .map(|x| {
            (
                x["detection"].as_str().unwrap_or("").to_string(),
                x["source_ip"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn examples_give_the_documented_findings() {
    let out = idrecon()
        .args(["hunt", "examples/", "--format", "ndjson", "--no-allowlist"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = ndjson(&out.stdout);
    assert_eq!(
        detections(&f),
        vec![
            ("auth_username_enumeration".into(), "192.0.2.77".into()),
            ("auth_username_enumeration".into(), "203.0.113.50".into()),
            ("kerberos_user_enumeration".into(), "10.0.0.66".into()),
            ("ntlm_logon_enumeration".into(), "10.0.0.99".into()),
            ("sspr_enumeration".into(), "198.51.100.66".into()),
        ]
    );
    let top = &f[0];
    assert_eq!(top["severity"], "critical");
    assert_eq!(top["source_ip"], "203.0.113.50");
    assert_eq!(top["unique_usernames"], 24);
    assert_eq!(top["not_found_count"], 18);
    assert_eq!(
        top["credential_confirmed_accounts"],
        serde_json::json!(["megan.bowen@contoso.com", "adele.vance@contoso.com"])
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("total: 5 file(s), read 117, used 117, rejected 0; 5 finding(s)"),
        "{stderr}"
    );
}

#[test]
fn seed_profile_is_split_by_app_rotation_on_the_examples() {
    let out = idrecon()
        .args([
            "hunt",
            "examples/",
            "--profile",
            "seed",
            "--format",
            "ndjson",
            "-q",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(
        ndjson(&out.stdout).is_empty(),
        "the seed groups by app and description"
    );
}

#[test]
fn exit_codes() {
    idrecon()
        .args([
            "hunt",
            "examples/",
            "-q",
            "--fail-on-findings",
            "--format",
            "ndjson",
        ])
        .assert()
        .code(1);
    let out = idrecon()
        .args(["hunt", "does/not/exist"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does/not/exist"));
    let out = idrecon()
        .args([
            "hunt",
            "examples/",
            "--set",
            "auth_username_enumeration.treshold=3",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no parameter `treshold`"));
    idrecon()
        .args(["hunt", "examples/", "--profile", "nope"])
        .assert()
        .code(2);
    idrecon()
        .args(["hunt", "examples/", "--now", "yesterday"])
        .assert()
        .code(2);
    // No usable record: exit 2 with advice.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("junk.ndjson"), "{\"hello\": 1}\nnot json\n").expect("write");
    let out = idrecon()
        .args(["hunt"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no usable record"), "{stderr}");
    assert!(stderr.contains("read 2, used 0, rejected 2"), "{stderr}");
}

#[test]
fn json_report_reconciles_and_stdin_works() {
    let out = idrecon()
        .args(["hunt", "examples/", "--format", "json", "-q"])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let t = &doc["totals"];
    assert_eq!(
        t["read"].as_u64(),
        Some(t["used"].as_u64().unwrap_or(0) + t["rejected"].as_u64().unwrap_or(0))
    );
    assert_eq!(doc["inputs"].as_array().map(Vec::len), Some(5));
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        doc["rules"]["params"]["auth_username_enumeration"]["threshold"],
        15
    );
    let data =
        std::fs::read(root().join("examples/entra/SigninLogs-2024-05-01.ndjson")).expect("read");
    let out = idrecon()
        .args(["hunt", "-", "--format", "ndjson", "-q"])
        .write_stdin(data)
        .output()
        .expect("runs");
    assert_eq!(
        detections(&ndjson(&out.stdout)),
        vec![("auth_username_enumeration".into(), "203.0.113.50".into())]
    );
}

fn hostile_input(dir: &Path) -> PathBuf {
    let mut s = String::new();
    let names = [
        "<script>alert(1)</script>@x.com",
        "=cmd|' /C calc'!A0",
        "\u{1b}[31mred\u{1b}[0m@x.com",
        "\"><img src=x onerror=alert(1)>",
    ];
    for i in 0..16 {
        let user = if i < names.len() {
            names[i].to_string()
        } else {
            format!("u{i}@x.com")
        };
        let row = serde_json::json!({
            "TimeGenerated": format!("2024-05-01T10:00:{i:02}Z"), "Type": "SigninLogs", "ResultType": "50034",
            "UserPrincipalName": user, "IPAddress": "203.0.113.9", "AppDisplayName": "=HYPERLINK(\"http://x\")",
            "UserAgent": "\u{1b}]0;pwned\u{7}", "ResultDescription": "x"
        });
        s.push_str(&row.to_string());
        s.push('\n');
    }
    let p = dir.join("hostile.ndjson");
    std::fs::write(&p, s).expect("write");
    p
}

#[test]
fn attacker_strings_are_escaped_per_destination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = hostile_input(dir.path());
    let out = idrecon()
        .args(["hunt", "--format", "table", "-q"])
        .arg(&p)
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("auth_username_enumeration"), "{table}");
    assert!(
        !table.contains('\u{1b}'),
        "no raw escape reaches the terminal"
    );
    let out = idrecon()
        .args(["hunt", "--format", "csv", "-q", "--profile", "seed"])
        .arg(&p)
        .output()
        .expect("runs");
    let csv = String::from_utf8_lossy(&out.stdout);
    let mut rdr = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let headers = rdr.headers().expect("headers").clone();
    let app_col = headers.iter().position(|h| h == "app").expect("app column");
    let mut rows = 0;
    for rec in rdr.records() {
        rows += 1;
        let rec = rec.expect("row");
        for cell in rec.iter() {
            assert!(
                !matches!(cell.chars().next(), Some('=' | '+' | '-' | '@')),
                "formula cell {cell:?}"
            );
        }
        assert_eq!(&rec[app_col], "'=HYPERLINK(\"http://x\")");
    }
    assert_eq!(rows, 1, "the seed finding must be there to be checked");
}

#[test]
fn public_samples_yield_the_expected_findings() {
    let data = root().join("../shared/data");
    if !data.is_dir() {
        eprintln!(
            "skipping: {} is absent (public sample logs are not bundled)",
            data.display()
        );
        return;
    }
    let out = idrecon()
        .args(["hunt", "--format", "ndjson"])
        .arg(&data)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let f = ndjson(&out.stdout);
    // Only kerberos_pwd_spray_4771.evtx holds enumeration: 7 unknown names
    // (4768 0x6) and 2 wrong passwords (4771 0x18) from 172.16.66.1.
    assert_eq!(
        detections(&f),
        vec![("kerberos_user_enumeration".into(), "172.16.66.1".into())]
    );
    assert_eq!(f[0]["not_found_count"], 7);
    assert_eq!(f[0]["exists_count"], 2);
    assert_eq!(
        f[0]["valid_accounts"],
        serde_json::json!(["administrator", "backdoor"])
    );
    // The seed profile's on-prem statement (4771 0x6) cannot see it.
    let out = idrecon()
        .args(["hunt", "--format", "ndjson", "--profile", "seed", "-q"])
        .arg(&data)
        .output()
        .expect("runs");
    assert!(ndjson(&out.stdout).is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty() || !stderr.contains("panicked"));
}

#[test]
fn rules_command_lists_and_shows() {
    let out = idrecon().args(["rules"]).output().expect("runs");
    let s = String::from_utf8_lossy(&out.stdout);
    for id in [
        "auth_username_enumeration",
        "sspr_enumeration",
        "kerberos_user_enumeration",
        "password_spray",
        "mfa_sweep",
    ] {
        assert!(s.contains(id), "{id} missing: {s}");
    }
    let out = idrecon()
        .args([
            "rules",
            "--profile",
            "seed",
            "show",
            "auth_username_enumeration",
        ])
        .output()
        .expect("runs");
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["params"]["threshold"], 15);
    idrecon().args(["rules", "show", "nope"]).assert().code(2);
}

#[test]
fn allowlist_suppresses_and_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let allow = dir.path().join("allow.toml");
    std::fs::write(
        &allow,
        "[[allow]]\nname = \"scanner\"\nreason = \"authorised test\"\ncidrs = [\"192.0.2.0/24\"]\n",
    )
    .expect("write");
    let out = idrecon()
        .args([
            "hunt",
            "examples/",
            "--format",
            "ndjson",
            "--show-suppressed",
            "--allowlist",
        ])
        .arg(&allow)
        .output()
        .expect("runs");
    let f = ndjson(&out.stdout);
    let suppressed: Vec<&Value> = f
        .iter()
        .filter(|x| x.get("suppressed_by").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["source_ip"], "192.0.2.77");
    assert_eq!(f.len(), 5);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("allowlist entry `scanner`: suppressed 1 finding(s)")
    );
}

#[test]
fn export_writes_every_rule_and_dialect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = idrecon()
        .args(["export", "--target", "all", "--package", "--out"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (t, ext) in [
        ("kql", "kql"),
        ("spl", "spl"),
        ("esql", "esql"),
        ("aql", "aql"),
        ("sumo", "sumo"),
        ("yaral", "yaral"),
        ("logscale", "logscale"),
        ("sigma", "sigma.yml"),
    ] {
        let p = dir
            .path()
            .join(t)
            .join(format!("auth_username_enumeration.{ext}"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            text.contains("50034"),
            "{t}: the not-found code must be in the query"
        );
    }
    // The seed profile's KQL is the seed query on SigninLogs.
    let out = idrecon()
        .args([
            "export",
            "--target",
            "kql",
            "--profile",
            "seed",
            "--rule",
            "auth_username_enumeration",
        ])
        .output()
        .expect("runs");
    let kql = String::from_utf8_lossy(&out.stdout);
    assert!(
        kql.contains("SigninLogs") && !kql.contains("AADSignInLogs\n|"),
        "{kql}"
    );
    assert!(
        kql.contains("by IPAddress, AppDisplayName, ResultDescription"),
        "{kql}"
    );
    idrecon()
        .args(["export", "--target", "nope"])
        .assert()
        .code(2);
    idrecon()
        .args(["export", "--target", "kql", "--package"])
        .assert()
        .code(2);
}
