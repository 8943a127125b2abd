//! The resource-limit options (`--max-record-bytes`,
//! `--max-decompressed-bytes`, `--max-document-bytes`,
//! `--max-events-per-key`): each is hit on a generated input through the
//! binary, and what the user sees (reject reasons, notes, the eviction
//! lines, the JSON report) is pinned down; invalid values are usage errors.

use assert_cmd::Command;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write input");
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// A Log Analytics sign-in row (`code` from 203.0.113.5 for `user` at
/// 10:00 + `second`), padded with a `Pad` column to exactly `len` bytes.
fn row(second: u32, user: &str, code: &str, len: usize) -> String {
    let head = format!(
        r#"{{"TimeGenerated":"2024-05-01T10:{:02}:{:02}Z","UserPrincipalName":"{user}","ResultType":"{code}","IPAddress":"203.0.113.5","OriginalRequestId":"req-{second}","Pad":""#,
        second / 60,
        second % 60
    );
    let pad = len.checked_sub(head.len() + 2).expect("row length");
    let r = format!("{head}{}\"}}", "p".repeat(pad));
    assert_eq!(r.len(), len);
    r
}

/// `idrecon hunt --format json --no-allowlist ARGS…`: exit code, report, stderr.
fn hunt(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("idrecon")
        .expect("binary")
        .args(["hunt", "--format", "json", "--no-allowlist"])
        .args(args)
        .output()
        .expect("idrecon runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON report ({e}); stderr: {stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn counts(report: &Value, i: usize) -> (u64, u64, u64) {
    let f = &report["inputs"][i];
    let n = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k} in {f}"));
    (n("read"), n("used"), n("rejected"))
}

fn rejects(report: &Value, i: usize) -> Vec<(u64, String)> {
    report["inputs"][i]["rejects"]
        .as_array()
        .expect("rejects")
        .iter()
        .map(|r| {
            (
                r["record"].as_u64().unwrap_or(0),
                r["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn max_record_bytes_rejects_longer_records_and_reads_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = [
        row(0, "a@contoso.com", "50126", 200),
        row(1, "b@contoso.com", "50126", 400),
        row(2, "c@contoso.com", "50126", 300),
        row(3, "d@contoso.com", "50126", 200),
    ]
    .join("\n")
        + "\n";
    let p = write(dir.path(), "rows.ndjson", text.as_bytes());

    // 300 bytes: the 400-byte line is rejected, the 300-byte one is not.
    let (code, r, stderr) = hunt(&["--max-record-bytes", "300", path(&p)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&r, 0), (4, 3, 1));
    let want = "record too large: 400 bytes, over the limit of 300 bytes (raise --max-record-bytes if it is genuine)";
    assert_eq!(rejects(&r, 0), vec![(2, want.to_string())]);
    assert!(stderr.contains(&format!("  record 2: {want}")), "{stderr}");

    // Units: 1KiB = 1024 bytes holds every line; 0.3 kB (300 B) as `300B`.
    let (_, r, _) = hunt(&["--max-record-bytes", "1KiB", path(&p)]);
    assert_eq!(counts(&r, 0), (4, 4, 0));
    let (_, r, _) = hunt(&["--max-record-bytes", "299B", path(&p)]);
    assert_eq!(counts(&r, 0), (4, 2, 2));
    assert_eq!(
        rejects(&r, 0).iter().map(|x| x.0).collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(
        rejects(&r, 0)[1]
            .1
            .starts_with("record too large: 300 bytes, over the limit of 299 bytes")
    );
}

#[test]
fn max_decompressed_bytes_stops_a_compressed_file_with_a_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 2,000 lines of exactly 200 bytes (199 + newline): 400,000 bytes.
    let text: String = (0..2000)
        .map(|i| row(i % 3600, &format!("u{i}@contoso.com"), "50126", 199) + "\n")
        .collect();
    assert_eq!(text.len(), 400_000);
    let p = write(dir.path(), "rows.ndjson.gz", &gzip(text.as_bytes()));
    // 20 kB = 20,000 bytes: exactly the first 100 lines (the cap is met
    // while the reader looks at the first 64 KiB to choose the format, so
    // the note counts no record read yet).
    let (code, r, stderr) = hunt(&["--max-decompressed-bytes", "20KB", path(&p)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&r, 0), (100, 100, 0));
    let note = "gzip data expands beyond the limit of 20000 bytes (--max-decompressed-bytes); reading stopped there — raise the limit if the file is genuine";
    assert_eq!(r["inputs"][0]["error"], note);
    assert!(stderr.contains(&format!("  warning: {note}")), "{stderr}");
    // Without the option the whole file is read.
    let (_, r, _) = hunt(&[path(&p)]);
    assert_eq!(counts(&r, 0), (2000, 2000, 0));
    assert_eq!(r["inputs"][0]["error"], Value::Null);
}

#[test]
fn max_document_bytes_caps_compressed_event_xml() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 64 events of exactly 256 bytes each (padded in a `Pad` data field).
    let text: String = (0..64)
        .map(|i| {
            let head = format!(
                "<Event><System><EventID>4625</EventID><TimeCreated SystemTime=\"2024-05-01T10:{:02}:{:02}Z\"/></System><EventData><Data Name=\"TargetUserName\">user{i:02}</Data><Data Name=\"IpAddress\">10.0.0.99</Data><Data Name=\"Pad\">",
                i / 60,
                i % 60
            );
            let tail = "</Data></EventData></Event>\n";
            let e = format!("{head}{}{tail}", "p".repeat(256 - head.len() - tail.len()));
            assert_eq!(e.len(), 256);
            e
        })
        .collect();
    let p = write(dir.path(), "events.xml.gz", &gzip(text.as_bytes()));
    // 4,000 bytes: 15 whole events (3,840 bytes) and the start of the 16th.
    let (code, r, stderr) = hunt(&["--max-document-bytes", "4000", path(&p)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(counts(&r, 0), (16, 15, 1));
    // The cut falls inside a tag of the 16th event.
    assert_eq!(
        rejects(&r, 0),
        vec![(
            16,
            "malformed event XML at byte 147: syntax error: tag not closed: `>` not found before end of input".to_string()
        )]
    );
    let note = r["inputs"][0]["error"].as_str().expect("note");
    assert!(
        note.starts_with(
            "gzip data holds an event XML, EVTX or UTF-16 file larger than 4000 bytes, which would be read into memory whole (--max-document-bytes); reading stopped there — raise the limit if the file is genuine"
        ),
        "{note}"
    );
    assert!(stderr.contains("--max-document-bytes"), "{stderr}");
    // 16KiB holds the whole file.
    let (_, r, _) = hunt(&["--max-document-bytes", "16KiB", path(&p)]);
    assert_eq!(counts(&r, 0), (64, 64, 0));
    // A compressed JSON document is read record by record: not limited.
    let rows: Vec<String> = (0..64)
        .map(|i| row(i, &format!("u{i}@contoso.com"), "50126", 200))
        .collect();
    let json = write(
        dir.path(),
        "rows.json.gz",
        &gzip(format!("[\n{}\n]\n", rows.join(",\n")).as_bytes()),
    );
    let (_, r, _) = hunt(&["--max-document-bytes", "4000", path(&json)]);
    assert_eq!(counts(&r, 0), (64, 64, 0));
    assert_eq!(r["inputs"][0]["error"], Value::Null);
}

#[test]
fn max_events_per_key_drops_the_oldest_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 50 unknown accounts from one source, 10 s apart (10:00:00–10:08:10).
    let text: String = (0..50)
        .map(|i| row(i * 10, &format!("u{i}@c.com"), "50034", 220) + "\n")
        .collect();
    let p = write(dir.path(), "enum.ndjson", text.as_bytes());
    let args = [
        "--rule",
        "auth_username_enumeration",
        "--set",
        "auth_username_enumeration.threshold=3",
    ];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend_from_slice(extra);
        a.push(path(&p));
        hunt(&a)
    };

    let (code, r, stderr) = run(&["--max-events-per-key", "10"]);
    assert_eq!(code, 0, "{stderr}");
    let runs = r["rules"]["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["rule"], "auth_username_enumeration");
    assert_eq!(runs[0]["evicted"], 40);
    let f = &r["findings"].as_array().expect("findings")[0];
    // The latest ten (u40…u49, from 10:06:40) are kept.
    assert_eq!(f["unique_usernames"], 10);
    assert_eq!(f["first_seen"], "2024-05-01T10:06:40Z");
    assert!(
        stderr.contains(
            "warning: state cap (--max-events-per-key 10): rule `auth_username_enumeration` dropped 40 event(s), the oldest of keys over the cap; the counts of those keys are lower bounds"
        ),
        "{stderr}"
    );

    // Without the cap nothing is dropped and nothing is said.
    let (_, r, stderr) = run(&[]);
    assert_eq!(r["rules"]["runs"][0]["evicted"], 0);
    assert_eq!(r["findings"][0]["unique_usernames"], 50);
    assert!(!stderr.contains("state cap"), "{stderr}");
}

#[test]
fn invalid_limit_values_are_usage_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "--max-record-bytes",
            "64 parsecs",
            "unknown size unit `parsecs`",
        ),
        (
            "--max-record-bytes",
            "1.5MiB",
            "`1.5MiB` is not a whole number of bytes",
        ),
        ("--max-decompressed-bytes", "lots", "`lots` is not a size"),
        (
            "--max-document-bytes",
            "0",
            "the size must be at least 1 byte",
        ),
        (
            "--max-decompressed-bytes",
            "99999999999999999999",
            "is too large a size",
        ),
        (
            "--max-events-per-key",
            "0",
            "the cap must be at least 1 event",
        ),
        (
            "--max-events-per-key",
            "ten",
            "`ten` is not a number of events",
        ),
    ];
    for (flag, value, want) in cases {
        let out = Command::cargo_bin("idrecon")
            .expect("binary")
            .args(["hunt", flag, value, "examples/"])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag}")),
            "{stderr}"
        );
        assert!(stderr.contains(want), "{flag} {value}: {stderr}");
        if flag.ends_with("-bytes") && !want.contains("at least") {
            assert!(
                stderr.contains(
                    "KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"
                ),
                "{stderr}"
            );
        }
    }
    // `eval` and `watch` take the same values.
    for sub in [
        &[
            "eval",
            "--scenario",
            "all",
            "--max-record-bytes",
            "5 apples",
        ][..],
        &["watch", "--max-record-bytes", "5 apples"][..],
    ] {
        let out = Command::cargo_bin("idrecon")
            .expect("binary")
            .args(sub)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sub:?}: {stderr}");
        assert!(stderr.contains("unknown size unit `apples`"), "{stderr}");
    }
}

#[test]
fn eval_passes_the_limits_to_its_hunts_and_reports_evictions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::cargo_bin("idrecon")
        .expect("binary")
        .args([
            "eval",
            "--scenario",
            "seed1-ropc-enum",
            "--scale",
            "0.05",
            "--format",
            "json",
            "--max-events-per-key",
            "2",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: state cap (--max-events-per-key 2): rule `auth_username_enumeration` dropped"
        ),
        "{stderr}"
    );
    // A record limit below every record: each hunt reads nothing usable,
    // and eval says which records were rejected and why.
    let out = Command::cargo_bin("idrecon")
        .expect("binary")
        .args([
            "eval",
            "--labels",
            path(&dir.path().join("labels.json")),
            "--format",
            "json",
            "--max-record-bytes",
            "64",
        ])
        .output()
        .expect("runs");
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let inputs = r["inputs"].as_array().expect("inputs");
    assert!(!inputs.is_empty());
    for i in inputs {
        assert_eq!(i["used"], 0, "{i}");
        assert_eq!(i["read"], i["rejected"], "{i}");
        assert!(
            i["first_reject"]
                .as_str()
                .is_some_and(|s| s.contains("over the limit of 64 bytes (raise --max-record-bytes")),
            "{i}"
        );
    }
}

/// Three sign-in rows, the second `long_len` bytes, one per line.
fn rows_with_a_long_one(long_len: usize) -> String {
    [
        row(0, "a@contoso.com", "50126", 200),
        row(1, "b@contoso.com", "50126", long_len),
        row(2, "c@contoso.com", "50126", 200),
    ]
    .join("\n")
        + "\n"
}

/// `idrecon watch --no-allowlist --max-record-bytes 300 ARGS…` on `stdin`:
/// its stderr, after checking that it succeeded and rejected one record.
fn watch_one_reject(args: &[&std::ffi::OsStr], stdin: &str) -> String {
    let out = Command::cargo_bin("idrecon")
        .expect("binary")
        .args(["watch", "--no-allowlist", "--max-record-bytes", "300"])
        .args(args)
        .write_stdin(stdin)
        .output()
        .expect("watch runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("record too large").count(), 1, "{stderr}");
    stderr
}

#[test]
fn watch_rejects_lines_over_max_record_bytes() {
    let stderr = watch_one_reject(&[], &rows_with_a_long_one(400));
    // Line 2 is rejected with its real size (watch keeps only the first
    // bytes of a long line, but counts them all), as `hunt` gives it.
    assert!(
        stderr.contains("<stdin>:2: record too large: 400 bytes, over the limit of 300 bytes (raise --max-record-bytes if it is genuine)"),
        "{stderr}"
    );
}

#[test]
fn watch_following_a_file_gives_the_real_size_of_a_long_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("signins.ndjson");
    // The long line is read in several chunks (64 KiB reads): the size is
    // counted across them, not the bytes kept.
    std::fs::write(&input, rows_with_a_long_one(200_000)).expect("write input");
    let source = format!("file:{}", input.display());
    let state = dir.path().join("state");
    let args: Vec<&std::ffi::OsStr> = vec![
        "--source".as_ref(),
        source.as_ref(),
        "--stop-after-idle".as_ref(),
        "1s".as_ref(),
        "--state".as_ref(),
        state.as_os_str(),
    ];
    let stderr = watch_one_reject(&args, "");
    assert!(
        stderr.contains(":2: record too large: 200000 bytes, over the limit of 300 bytes"),
        "{stderr}"
    );
}
