//! `--redact`: no original account name survives in any format, and the
//! pseudonyms are stable for a key (so reports of one run correlate).

mod report_common;

use report_common::*;
use serde_json::Value;
use std::collections::BTreeSet;

const FORMATS: &[&str] = &["table", "json", "ndjson", "csv", "html", "ocsf"];

fn run(format: &str, key: Option<&str>, extra: &[&str]) -> (String, String) {
    let mut c = idrecon();
    c.args(["hunt", "examples/", "--no-allowlist", "--format", format])
        .args(extra);
    if let Some(k) = key {
        c.env("IDRECON_REDACT_KEY", k);
    }
    let o = c.output().expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every account name the unredacted findings carry.
fn account_names() -> BTreeSet<String> {
    let (json, _) = run("json", None, &["-q"]);
    let doc: Value = serde_json::from_str(&json).expect("json");
    let mut names = BTreeSet::new();
    let mut add = |v: &Value| {
        if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
            names.insert(s.to_lowercase());
        }
    };
    for f in doc["findings"].as_array().expect("findings") {
        for k in [
            "user_list",
            "valid_accounts",
            "credential_confirmed_accounts",
        ] {
            f[k].as_array().into_iter().flatten().for_each(&mut add);
        }
        for e in f["evidence"].as_array().into_iter().flatten() {
            add(&e["user"]);
        }
        for s in f["credential_confirmed_signins"]
            .as_array()
            .into_iter()
            .flatten()
        {
            add(&s["account"]);
        }
    }
    names
}

#[test]
fn no_account_name_survives_in_any_format() {
    let names = account_names();
    assert!(names.len() > 40, "{names:?}");
    assert!(names.contains("megan.bowen@contoso.com"));
    for format in FORMATS {
        let (out, err) = run(format, Some("test-key"), &["--redact"]);
        let text = format!("{out}\n{err}").to_lowercase();
        for n in &names {
            // UPNs: the whole name and its local part; bare names (Windows)
            // as a word.
            let local = n.split('@').next().unwrap_or(n);
            let leaked = text.contains(n.as_str())
                || (n.contains('@') && text.contains(&format!("{local}@")))
                || (!n.contains('@') && contains_word(&text, local));
            assert!(!leaked, "{format}: `{n}` is still in the output");
        }
        assert!(text.contains("u-"), "{format}: no pseudonym in the output");
    }
}

fn contains_word(text: &str, word: &str) -> bool {
    let boundary =
        |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '.' || c == '_'));
    text.match_indices(word).any(|(i, _)| {
        boundary(text[..i].chars().next_back()) && boundary(text[i + word.len()..].chars().next())
    })
}

#[test]
fn pseudonyms_are_stable_per_key_and_differ_between_keys() {
    let (a, _) = run("ndjson", Some("k1"), &["--redact", "-q"]);
    let (b, _) = run("ndjson", Some("k1"), &["--redact", "-q"]);
    let (c, _) = run("ndjson", Some("k2"), &["--redact", "-q"]);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // The same pseudonym appears in the CSV of the same run.
    let first: Value = serde_json::from_str(a.lines().next().expect("line")).expect("json");
    let p = first["credential_confirmed_accounts"][0]
        .as_str()
        .expect("pseudonym");
    assert!(p.starts_with("u-") && p.ends_with("@contoso.com"), "{p}");
    let (csv, _) = run("csv", Some("k1"), &["--redact", "-q"]);
    assert!(csv.contains(p));
}

#[test]
fn a_generated_key_is_printed() {
    let (_, err) = run("ndjson", None, &["--redact", "-q"]);
    assert!(err.contains("generated key"), "{err}");
    assert!(err.contains("IDRECON_REDACT_KEY="));
}
