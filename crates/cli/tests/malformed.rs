//! The malformed-input corpus (`tests/data/malformed/`, listed with its
//! outcomes in `docs/RELIABILITY.md`): every case runs through the `idrecon`
//! binary and its outcome is pinned down — which records are used, which
//! are rejected with which reason, the whole-file note, the exit code — and
//! `read == used + rejected` is checked in every summary.
//!
//! Cases too big or too machine-specific to commit are generated here at
//! run time: a 100 MB single line, gzip bombs, cut and bit-flipped EVTX
//! files (from the public samples in `../shared/data` when present, else
//! from a minimal EVTX file written by [`minimal_evtx`]) and a directory
//! loop made of symbolic links.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus(name: &str) -> PathBuf {
    root().join("tests/data/malformed").join(name)
}

/// What one `idrecon hunt --format json` run gave.
struct Outcome {
    code: i32,
    report: Value,
    stderr: String,
}

impl Outcome {
    /// The summary of input `i`.
    fn input(&self, i: usize) -> &Value {
        &self.report["inputs"][i]
    }

    /// `(read, used, rejected)` of input `i`.
    fn counts(&self, i: usize) -> (u64, u64, u64) {
        let f = self.input(i);
        let n = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k} in {f}"));
        (n("read"), n("used"), n("rejected"))
    }

    /// The kept rejects of input `i` as `(record, reason)`.
    fn rejects(&self, i: usize) -> Vec<(u64, String)> {
        self.input(i)["rejects"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        (
                            r["record"].as_u64().unwrap_or(u64::MAX),
                            r["reason"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn error(&self, i: usize) -> Option<&str> {
        self.input(i)["error"].as_str()
    }

    fn shape(&self, i: usize) -> &str {
        self.input(i)["shape"].as_str().unwrap_or("")
    }
}

/// Runs `idrecon hunt --format json --no-allowlist ARGS…` and checks the
/// accounting of every summary (each input and the totals).
fn hunt<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::cargo_bin("idrecon")
        .expect("binary")
        .current_dir(root())
        .args(["hunt", "--format", "json", "--no-allowlist"])
        .args(args)
        .output()
        .expect("idrecon runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1 || code == 2,
        "exit {code} (killed or crashed?): {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the JSON report ({e}); stderr: {stderr}"));
    let inputs = report["inputs"].as_array().expect("inputs").clone();
    for f in inputs.iter().chain(std::iter::once(&report["totals"])) {
        let n = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k} in {f}"));
        assert_eq!(
            n("read"),
            n("used") + n("rejected"),
            "read = used + rejected: {f}"
        );
        let kinds: u64 = f["kinds"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
        assert_eq!(kinds, n("used"), "kinds add up to used: {f}");
    }
    let t = &report["totals"];
    let sum = |k: &str| inputs.iter().filter_map(|f| f[k].as_u64()).sum::<u64>();
    for k in ["read", "used", "rejected"] {
        assert_eq!(t[k].as_u64(), Some(sum(k)), "totals.{k}");
    }
    // Exit status 2 exactly when nothing was usable (no option here asks
    // for another failure).
    let used = t["used"].as_u64().unwrap_or(0);
    assert_eq!(
        code == 2,
        used == 0,
        "exit {code} with {used} used: {stderr}"
    );
    Outcome {
        code,
        report,
        stderr,
    }
}

/// One committed case: its file, the expected shape, counts, rejects
/// (record number and a piece of the reason; every kept reject is listed),
/// whole-file note and exit code.
struct Case {
    file: &'static str,
    shape: &'static str,
    read: u64,
    used: u64,
    rejects: &'static [(u64, &'static str)],
    error: Option<&'static str>,
    code: i32,
}

fn check(case: &Case) {
    let o = hunt([corpus(case.file)]);
    let ctx = format!("{}: {}", case.file, o.input(0));
    assert_eq!(o.shape(0), case.shape, "{ctx}");
    assert_eq!(
        o.counts(0),
        (case.read, case.used, case.read - case.used),
        "{ctx}"
    );
    let got = o.rejects(0);
    assert_eq!(got.len(), case.rejects.len(), "{ctx}");
    for ((rec, reason), (want_rec, want)) in got.iter().zip(case.rejects) {
        assert_eq!(rec, want_rec, "{ctx}");
        assert!(reason.contains(want), "{ctx}: `{reason}` lacks `{want}`");
    }
    match case.error {
        None => assert_eq!(o.error(0), None, "{ctx}"),
        Some(want) => assert!(
            o.error(0).is_some_and(|e| e.contains(want)),
            "{ctx}: note lacks `{want}`"
        ),
    }
    assert_eq!(o.code, case.code, "{ctx}: {}", o.stderr);
}

const CASES: &[Case] = &[
    Case {
        file: "invalid_json.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 4,
        used: 2,
        rejects: &[
            (2, "invalid JSON: expected value (column 54)"),
            (3, "invalid JSON: expected ident (column 2)"),
        ],
        error: None,
        code: 0,
    },
    Case {
        file: "truncated_last_line.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 3,
        used: 2,
        rejects: &[(3, "invalid JSON: EOF while parsing a string (column 50)")],
        error: None,
        code: 0,
    },
    Case {
        file: "invalid_utf8.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 3,
        used: 2,
        rejects: &[(2, "line is not valid UTF-8 (bad byte at column 63)")],
        error: None,
        code: 0,
    },
    Case {
        file: "invalid_utf8.csv",
        shape: "Log Analytics CSV",
        read: 3,
        used: 2,
        rejects: &[(3, "row is not valid UTF-8 in column `UserPrincipalName`")],
        error: None,
        code: 0,
    },
    Case {
        file: "bom_utf8.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 2,
        used: 2,
        rejects: &[],
        error: None,
        code: 0,
    },
    Case {
        file: "bom_utf8.csv",
        shape: "Log Analytics CSV",
        read: 1,
        used: 1,
        rejects: &[],
        error: None,
        code: 0,
    },
    Case {
        file: "bom_utf16le.json",
        shape: "Log Analytics rows (JSON array)",
        read: 2,
        used: 2,
        rejects: &[],
        error: None,
        code: 0,
    },
    Case {
        file: "crlf.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 3,
        used: 2,
        rejects: &[(4, "invalid JSON: EOF while parsing a value (column 40)")],
        error: None,
        code: 0,
    },
    Case {
        // A quoted field spanning a CRLF, a blank line; line numbers count
        // physical lines.
        file: "crlf.csv",
        shape: "Entra portal CSV",
        read: 3,
        used: 2,
        rejects: &[(
            6,
            "unparsable timestamp in `CreatedDateTime`: \"not-a-time\"",
        )],
        error: None,
        code: 0,
    },
    Case {
        file: "deeply_nested.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 3,
        used: 2,
        rejects: &[(2, "invalid JSON: recursion limit exceeded")],
        error: None,
        code: 0,
    },
    Case {
        file: "deeply_nested_document.json",
        shape: "Log Analytics rows (JSON array)",
        read: 3,
        used: 2,
        rejects: &[(
            2,
            "recursion limit exceeded at line 1 column 128 (JSON nested more than 128 levels deep)",
        )],
        error: None,
        code: 0,
    },
    Case {
        file: "deeply_nested_status.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 2,
        used: 1,
        rejects: &[(
            2,
            "field `Status` is text that is not valid JSON: recursion limit exceeded",
        )],
        error: None,
        code: 0,
    },
    Case {
        // 1,000 nested elements inside EventData: skipped, the event is used.
        file: "deeply_nested.xml",
        shape: "Windows event XML",
        read: 1,
        used: 1,
        rejects: &[],
        error: None,
        code: 0,
    },
    Case {
        file: "wrong_types_signin.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 26,
        used: 4,
        rejects: &[
            (
                2,
                "field `TimeGenerated` has the wrong type: expected a timestamp, found a boolean",
            ),
            (
                3,
                "field `UserPrincipalName` has the wrong type: expected text, found a number",
            ),
            (
                4,
                "field `ResultType` has the wrong type: expected text or a number, found an object",
            ),
            (5, "field `ResultType` is not an integer code: 1.5"),
            (
                6,
                "field `IPAddress` has the wrong type: expected text, found an array",
            ),
            (7, "field `ResultDescription` has the wrong type"),
            (8, "field `AppDisplayName` has the wrong type"),
            (9, "field `AppId` has the wrong type"),
            (10, "field `ResourceDisplayName` has the wrong type"),
            (11, "field `ClientAppUsed` has the wrong type"),
            (12, "field `UserAgent` has the wrong type"),
            (13, "field `AuthenticationProtocol` has the wrong type"),
            (14, "field `AuthenticationRequirement` has the wrong type"),
            // 15: an ASN written as text is kept as text.
            (
                16,
                "field `AutonomousSystemNumber` has the wrong type: expected text or a number, found an array",
            ),
            (17, "field `OriginalRequestId` has the wrong type"),
            (18, "field `CorrelationId` has the wrong type"),
            (19, "field `Status` is text that is not valid JSON"),
            (
                20,
                "field `Status` has the wrong type: expected an object, found an array",
            ),
            (
                21,
                "field `IsInteractive` has the wrong type: expected true or false, found a number",
            ),
            (22, "field `IsInteractive` is not true or false: \"maybe\""),
            (
                23,
                "field `SignInEventTypes` has the wrong type: expected a list of text, found a number",
            ),
            (
                24,
                "field `SignInEventTypes` has the wrong type: expected a list of text, found a number",
            ),
            // 25: a non-text `Type` beside Entra columns: the content decides.
            // 26: `ServicePrincipalId` is only read without a user.
        ],
        error: None,
        code: 0,
    },
    Case {
        file: "wrong_types_audit_and_azure_monitor.ndjson",
        shape: "Graph directoryAudit objects + Azure Monitor records (NDJSON)",
        read: 23,
        used: 2,
        rejects: &[
            (
                2,
                "field `activityDisplayName` has the wrong type: expected text, found a number",
            ),
            (3, "field `result` has the wrong type"),
            (4, "field `resultReason` has the wrong type"),
            (5, "field `loggedByService` has the wrong type"),
            (
                6,
                "field `initiatedBy` has the wrong type: expected an object, found a number",
            ),
            (
                7,
                "field `initiatedBy.user` has the wrong type: expected an object, found text",
            ),
            (8, "field `ipAddress` has the wrong type"),
            (
                9,
                "field `targetResources` has the wrong type: expected an array, found an object",
            ),
            (
                10,
                "field `targetResources[0]` has the wrong type: expected an object, found a number",
            ),
            (11, "field `userPrincipalName` has the wrong type"),
            (
                12,
                "field `activityDateTime` has the wrong type: expected a timestamp, found an object",
            ),
            (13, "field `operationName` has the wrong type"),
            (14, "field `correlationId` has the wrong type"),
            (15, "field `id` has the wrong type"),
            (
                17,
                "field `category` has the wrong type: expected text, found a number",
            ),
            (
                18,
                "Azure Monitor category \"ProvisioningLogs\" is not read by idrecon",
            ),
            (19, "field `properties` is text that is not a JSON object"),
            (
                20,
                "field `time` has the wrong type: expected a timestamp, found an array",
            ),
            (21, "field `userPrincipalName` has the wrong type"),
            (22, "field `failureReason` has the wrong type"),
            (23, "field `errorCode` is not an integer code: 1e+20"),
        ],
        error: None,
        code: 0,
    },
    Case {
        // Windows JSON readers take scalars as text and treat a field of
        // another type as absent: the record is kept unless it is the event
        // id or time.
        file: "wrong_types_windows.ndjson",
        shape: "ECS + Sentinel SecurityEvent rows (NDJSON)",
        read: 16,
        used: 7,
        rejects: &[
            (2, "EventID `x4625` is not a number"),
            (3, "@timestamp `yesterday` is not a timestamp"),
            (8, "EventID `abc` is not a number"),
            (9, "EventID `-1` is not a number"),
            (10, "EventID `99999999999` is not a number"),
            (11, "TimeGenerated `5` is not a timestamp"),
            (12, "missing event time (TimeCreated SystemTime)"),
            (15, "missing EventID"),
            (16, "TimeCreated SystemTime `7` is not a timestamp"),
        ],
        error: None,
        code: 0,
    },
    Case {
        file: "missing_fields.ndjson",
        shape: "Log Analytics rows + ECS (NDJSON)",
        read: 11,
        used: 4,
        rejects: &[
            (
                2,
                "missing timestamp: none of TimeGenerated, createdDateTime, time or activityDateTime is present",
            ),
            (5, "not a recognised record (keys: foo; 1 in all)"),
            (6, "not a recognised record (keys: none; 0 in all)"),
            (7, "missing timestamp"),
            (8, "missing event time (TimeCreated SystemTime)"),
            (9, "missing event time (TimeCreated SystemTime)"),
            (10, "missing EventID"),
        ],
        error: None,
        code: 0,
    },
    Case {
        file: "timestamps.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 37,
        used: 17,
        rejects: &[
            (
                17,
                "timestamp out of range in `TimeGenerated`: \"0001-01-01T00:00:00Z\" (accepted: 1990 to 2099)",
            ),
            (
                18,
                "timestamp out of range in `TimeGenerated`: \"1601-01-01T00:00:00Z\"",
            ),
            (
                19,
                "timestamp out of range in `TimeGenerated`: \"1970-01-01T00:00:00Z\"",
            ),
            (
                20,
                "timestamp out of range in `TimeGenerated`: \"1989-12-31T23:59:59Z\"",
            ),
            (
                21,
                "timestamp out of range in `TimeGenerated`: \"2100-01-01T00:00:00Z\"",
            ),
            (
                22,
                "unparsable timestamp in `TimeGenerated`: \"9999-12-31T23:59:59Z\"",
            ),
            (
                23,
                "unparsable timestamp in `TimeGenerated`: \"+10000-01-01T00:00:00Z\"",
            ),
            (
                24,
                "unparsable timestamp in `TimeGenerated`: \"2024-13-01T00:00:00Z\"",
            ),
            (
                25,
                "unparsable timestamp in `TimeGenerated`: \"2024-02-30T00:00:00Z\"",
            ),
            (
                26,
                "unparsable timestamp in `TimeGenerated`: \"2024-05-01T25:00:00Z\"",
            ),
            (
                27,
                "unparsable timestamp in `TimeGenerated`: \"2024-05-01T10:15:41.1234567891Z\"",
            ),
            (28, "unparsable timestamp in `TimeGenerated`: \"yesterday\""),
            (29, "missing timestamp"),
            (30, "missing timestamp"),
            (31, "unparsable timestamp in `TimeGenerated`: \"0\""),
            (32, "unparsable timestamp in `TimeGenerated`: \"-1\""),
            (33, "unparsable timestamp in `TimeGenerated`: \"1e+300\""),
            (
                34,
                "unparsable timestamp in `TimeGenerated`: \"17145585410000000000\"",
            ),
            (
                35,
                "unparsable timestamp in `TimeGenerated`: \"2024-05-01T10:15:41Z0000",
            ),
            (
                36,
                "unparsable timestamp in `TimeGenerated`: \"13/13/2024 10:00:00\"",
            ),
        ],
        error: None,
        code: 0,
    },
    Case {
        file: "timestamps_windows.xml",
        shape: "Windows event XML",
        read: 7,
        used: 2,
        rejects: &[
            (
                2,
                "timestamp out of range in TimeCreated SystemTime: `0001-01-01T00:00:00Z` (accepted: 1990 to 2099)",
            ),
            (
                3,
                "timestamp out of range in TimeCreated SystemTime: `1601-01-01T00:00:00Z`",
            ),
            (
                4,
                "TimeCreated SystemTime `9999-12-31T23:59:59Z` is not a timestamp",
            ),
            (6, "TimeCreated SystemTime `not a time` is not a timestamp"),
            (7, "missing event time (TimeCreated SystemTime)"),
        ],
        error: None,
        code: 0,
    },
    Case {
        file: "empty.json",
        shape: "empty file",
        read: 0,
        used: 0,
        rejects: &[],
        error: None,
        code: 2,
    },
    Case {
        file: "whitespace_only.ndjson",
        shape: "empty file",
        read: 0,
        used: 0,
        rejects: &[],
        error: None,
        code: 2,
    },
    Case {
        file: "nul_bytes.ndjson",
        shape: "Log Analytics rows (NDJSON)",
        read: 3,
        used: 2,
        rejects: &[(2, "invalid JSON: expected value (column 1)")],
        error: None,
        code: 0,
    },
    Case {
        // A DOCTYPE with nested entities: nothing is expanded, an unknown
        // entity stays as written.
        file: "entity_expansion.xml",
        shape: "Windows event XML",
        read: 2,
        used: 2,
        rejects: &[],
        error: None,
        code: 0,
    },
    Case {
        file: "truncated.xml",
        shape: "Windows event XML",
        read: 2,
        used: 1,
        rejects: &[(2, "event XML ends before its closing tag (input cut?)")],
        error: None,
        code: 0,
    },
    Case {
        // Cut in the middle of the compressed stream: the complete lines
        // before the cut are used, the cut line is rejected and the file
        // carries a note.
        file: "truncated.ndjson.gz",
        shape: "Log Analytics rows (NDJSON)",
        read: 14,
        used: 13,
        rejects: &[(14, "invalid JSON: EOF while parsing a string")],
        error: Some("gzip data is truncated or corrupt after 18572 decompressed bytes"),
        code: 0,
    },
];

#[test]
fn committed_cases_have_their_documented_outcomes() {
    for case in CASES {
        check(case);
    }
}

#[test]
fn every_committed_case_is_checked() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("tests/data/malformed"))
        .expect("corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    files.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.file.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}

/// The reasons of wrong-typed and odd-timestamp records name the field and
/// the value, and the timestamps that are used land on the right instant.
#[test]
fn odd_timestamps_that_are_used_are_read_right() {
    let out = Command::cargo_bin("idrecon")
        .expect("binary")
        .current_dir(root())
        .args([
            "hunt",
            "--format",
            "json",
            "--no-allowlist",
            "--profile",
            "recommended",
            "--rule",
            "auth_username_enumeration",
            "--set",
            "threshold=1",
            "--set",
            "window=1d",
        ])
        .arg(corpus("timestamps.ndjson"))
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut episodes: Vec<(String, String, u64)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["first_seen"].as_str().unwrap_or("").to_string(),
                f["last_seen"].as_str().unwrap_or("").to_string(),
                f["unique_usernames"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    episodes.sort();
    // Fourteen spellings of 2024-05-01T10:15:41Z (offsets, fractions,
    // offset-less, US dates, /Date()/, epoch seconds and milliseconds as
    // text and numbers, padding), one at 13:00 (`13:00:00 PM` is read as
    // 13:00) and one at 22:15:41 (`10:15:41 PM`); the leap second is read
    // as 23:59:59 of 2016-12-31.
    assert_eq!(
        episodes,
        vec![
            (
                "2016-12-31T23:59:59Z".to_string(),
                "2016-12-31T23:59:59Z".to_string(),
                1
            ),
            (
                "2024-05-01T10:15:41Z".to_string(),
                "2024-05-01T22:15:41Z".to_string(),
                16
            ),
        ]
    );
    let f = report["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["unique_usernames"] == 16))
        .expect("2024 episode");
    assert_eq!(f["total_failures"], 16, "{f}");
}

// ---------------------------------------------------------------------
// Generated cases.
// ---------------------------------------------------------------------

/// One Log Analytics sign-in row (a 50126 failure from 203.0.113.5).
fn row(second: u32, user: &str) -> String {
    format!(
        r#"{{"TimeGenerated":"2024-05-01T10:{:02}:{:02}Z","UserPrincipalName":"{user}","ResultType":"50126","IPAddress":"203.0.113.5"}}"#,
        second / 60,
        second % 60
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write case");
    p
}

#[test]
fn a_100_mb_line_is_rejected_without_stopping_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    const HUGE: usize = 100 << 20;
    let mut huge = String::with_capacity(HUGE);
    huge.push_str(r#"{"TimeGenerated":"2024-05-01T10:00:01Z","UserPrincipalName":"big@contoso.com","ResultType":"50126","UserAgent":""#);
    huge.extend(std::iter::repeat_n('A', HUGE - huge.len() - 2));
    huge.push_str("\"}");
    assert_eq!(huge.len(), HUGE);

    // In the middle of NDJSON: the line is skipped without being buffered.
    let mut text = String::with_capacity(HUGE + 1024);
    for (i, part) in [
        row(0, "a@contoso.com"),
        huge.clone(),
        row(2, "b@contoso.com"),
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(part);
    }
    text.push('\n');
    let middle = write(dir.path(), "huge_middle.ndjson", text.as_bytes());
    drop(text);
    // Alone on its single line: read as a (single-line) JSON document.
    let alone = write(dir.path(), "huge_alone.ndjson", huge.as_bytes());
    drop(huge);

    let o = hunt([&middle, &alone]);
    assert_eq!(o.counts(0), (3, 2, 1));
    assert_eq!(
        o.rejects(0),
        vec![(
            2,
            "record too large: 104857600 bytes, over the limit of 67108864 bytes (raise --max-record-bytes if it is genuine)".to_string()
        )]
    );
    assert_eq!(o.counts(1), (1, 0, 1));
    assert_eq!(o.rejects(1)[0].0, 1);
    assert!(
        o.rejects(1)[0]
            .1
            .starts_with("record too large: 104857600 bytes")
    );
    assert_eq!(o.code, 0);
}

/// CRC-32 (IEEE), for the gzip trailer.
fn crc32(crc: u32, bytes: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !bytes.iter().fold(!crc, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// Writes deflate bits least-significant first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, v: u32, len: u32) {
        self.acc |= u64::from(v) << self.n;
        self.n += len;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code (written most-significant bit first).
    fn code(&mut self, code: u32, len: u32) {
        let rev = (0..len).fold(0, |r, i| (r << 1) | ((code >> i) & 1));
        self.put(rev, len);
    }

    /// A literal byte with the fixed Huffman code.
    fn literal(&mut self, b: u8) {
        match b {
            0..=143 => self.code(0x30 + u32::from(b), 8),
            _ => self.code(0x190 + u32::from(b) - 144, 9),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A gzip member holding `prefix`, then the pattern `fill` (1 to 4 bytes)
/// repeated to `fill.len() + 258 * runs` bytes, then `suffix`: the
/// repetition costs 13 bits per 258 bytes (fixed Huffman, length 258 at
/// distance `fill.len()`), so a few hundred KiB expand to tens of MiB. The
/// test writes it; nothing this size is committed.
fn gzip_bomb(prefix: &[u8], fill: &[u8], runs: usize, suffix: &[u8]) -> Vec<u8> {
    assert!((1..=4).contains(&fill.len()));
    let mut bits = Bits::default();
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // fixed Huffman codes
    for &b in prefix {
        bits.literal(b);
    }
    for &b in fill {
        bits.literal(b);
    }
    for _ in 0..runs {
        bits.code(0xc5, 8); // length code 285 = 258
        // Distance codes 0–3 are distances 1–4 (no extra bits).
        bits.code(fill.len() as u32 - 1, 5);
    }
    for &b in suffix {
        bits.literal(b);
    }
    bits.code(0, 7); // end of block
    let deflate = bits.finish();

    let fill_len = fill.len() + 258 * runs;
    let mut crc = crc32(0, prefix);
    // The fill's CRC block by block: one block's effect on the CRC is an
    // affine map (computed once), so 80 MiB cost 1,280 small steps.
    const BLOCK: usize = 1 << 16;
    assert_eq!(BLOCK % fill.len(), 0, "the pattern must tile the block");
    let block: Vec<u8> = fill.iter().copied().cycle().take(BLOCK).collect();
    let f0 = crc32(0, &block);
    let cols: Vec<u32> = (0..32).map(|i| crc32(1 << i, &block) ^ f0).collect();
    for _ in 0..fill_len / BLOCK {
        crc = (0..32)
            .filter(|i| crc >> i & 1 == 1)
            .fold(f0, |acc, i| acc ^ cols[i]);
    }
    crc = crc32(crc, &block[..fill_len % BLOCK]);
    crc = crc32(crc, suffix);
    let size = prefix.len() + fill_len + suffix.len();

    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend_from_slice(&deflate);
    gz.extend_from_slice(&crc.to_le_bytes());
    gz.extend_from_slice(&(size as u32).to_le_bytes());
    gz
}

/// The record numbers of the events read from `p` (through the library
/// reader the binary uses), checking the accounting.
fn hunt_records(p: &Path) -> Vec<u64> {
    use idrecon_ingest::{IngestOptions, InputFile, read_file};
    let mut records = Vec::new();
    let r = read_file(
        &InputFile::from_path(p),
        0,
        &IngestOptions::default(),
        &mut |e| records.push(e.origin.record),
    )
    .expect("non-strict");
    assert!(r.stats.reconciles());
    assert_eq!(r.stats.used, records.len() as u64);
    records
}

fn lines(rows: &[String]) -> Vec<u8> {
    let mut v = rows.join("\n").into_bytes();
    v.push(b'\n');
    v
}

#[test]
fn generated_gzip_bombs_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let head = lines(&[row(0, "a@contoso.com"), row(1, "b@contoso.com")]);
    let tail = lines(&[row(3, "c@contoso.com")]);
    // 80 MiB of newlines between records: streamed line by line.
    let runs = (80 << 20) / 258;
    let blank = write(
        dir.path(),
        "blank_lines_bomb.ndjson.gz",
        &gzip_bomb(&head, b"\n", runs, &tail),
    );
    // 80 MiB without a newline: one line over the 64 MiB record limit,
    // skipped without being buffered.
    let mut tail_line = b"\n".to_vec();
    tail_line.extend_from_slice(&tail);
    let long = write(
        dir.path(),
        "long_line_bomb.ndjson.gz",
        &gzip_bomb(&head, b"A", runs, &tail_line),
    );
    assert!(std::fs::metadata(&long).expect("size").len() < 1 << 20);

    // A CSV row with a quoted field of 80 MiB spanning 20 Mi lines (`AAA`
    // and a line break, repeated): rejected by size without being
    // buffered; the rows before and after it are used, and the row after
    // it keeps its physical line number.
    let csv_runs = 2 * ((40 << 20) / 258); // even: the fill is whole patterns
    let csv_fill = 4 + 258 * csv_runs;
    let csv_head = b"TimeGenerated,UserPrincipalName,ResultType,IPAddress\n2024-05-01T10:00:00Z,a@contoso.com,50126,203.0.113.5\n2024-05-01T10:00:01Z,\"";
    let csv = write(
        dir.path(),
        "long_row_bomb.csv.gz",
        &gzip_bomb(
            csv_head,
            b"AAA\n",
            csv_runs,
            b"\",50126,203.0.113.5\n2024-05-01T10:00:02Z,c@contoso.com,50126,203.0.113.5\n",
        ),
    );
    assert!(std::fs::metadata(&csv).expect("size").len() < 1 << 20);

    let o = hunt([&blank, &long, &csv]);
    assert_eq!(o.counts(0), (3, 3, 0), "{}", o.input(0));
    assert_eq!(o.error(0), None);
    assert_eq!(o.counts(1), (4, 3, 1), "{}", o.input(1));
    let (rec, reason) = &o.rejects(1)[0];
    assert_eq!(*rec, 3);
    let want = format!(
        "record too large: {} bytes, over the limit of 67108864 bytes",
        1 + 258 * runs
    );
    assert!(reason.starts_with(&want), "{reason}");
    assert_eq!(o.counts(2), (3, 2, 1), "{}", o.input(2));
    // Field bytes: the time (20), the 80 MiB field, the code (5), the
    // address (11).
    assert_eq!(
        o.rejects(2),
        vec![(
            3,
            format!(
                "record too large: {} bytes, over the limit of 67108864 bytes (raise --max-record-bytes if it is genuine)",
                20 + csv_fill + 5 + 11
            )
        )]
    );
    assert_eq!(o.error(2), None, "{}", o.input(2));
    // The row after it: line 3 plus the field's line breaks.
    let r = hunt_records(&csv);
    assert_eq!(r, vec![2, 3 + csv_fill as u64 / 4 + 1]);
    assert_eq!(o.code, 0);
}

/// The decompression cap itself (`IngestOptions::max_decompressed_bytes`;
/// the CLI keeps the library default of 16 GiB), on the reader the binary
/// uses: the records before the cap are used, the file gets a note, and a
/// single-line document is cut at the cap rather than buffered whole.
#[test]
fn the_decompression_cap_stops_a_bomb() {
    use idrecon_ingest::{IngestOptions, InputFile, read_file};
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = IngestOptions {
        max_decompressed_bytes: 1 << 20,
        ..IngestOptions::default()
    };
    let read = |p: &Path| {
        let mut n = 0u64;
        let r = read_file(&InputFile::from_path(p), 0, &opts, &mut |_| n += 1).expect("non-strict");
        assert!(r.stats.reconciles());
        assert_eq!(r.stats.used, n);
        r
    };
    let head = lines(&[row(0, "a@contoso.com"), row(1, "b@contoso.com")]);
    let runs = (64 << 20) / 258;
    let ndjson = write(
        dir.path(),
        "bomb.ndjson.gz",
        &gzip_bomb(&head, b"\n", runs, &lines(&[row(3, "c@contoso.com")])),
    );
    let r = read(&ndjson);
    assert_eq!((r.stats.read, r.stats.used), (2, 2));
    let note = r.error.expect("note");
    assert!(
        note.contains(
            "gzip data expands beyond the limit of 1048576 bytes (--max-decompressed-bytes)"
        ),
        "{note}"
    );
    // `[` and 64 MiB of spaces: a JSON document, read into memory only up
    // to the cap.
    let doc = write(
        dir.path(),
        "bomb.json.gz",
        &gzip_bomb(b"[", b" ", runs, b"]"),
    );
    let r = read(&doc);
    assert_eq!(r.stats.read, 0);
    let note = r.error.expect("note");
    assert!(
        note.contains("expands beyond the limit of 1048576 bytes"),
        "{note}"
    );
}

#[path = "support/minimal_evtx.rs"]
mod minimal_evtx;
use minimal_evtx::{EVTX_CHUNK, EVTX_HEADER, minimal_evtx};

/// `scripts/fuzz-seed` runs this to get an EVTX seed on machines without
/// the public samples: writes [`minimal_evtx`] to `$IDRECON_MINIMAL_EVTX_OUT`.
#[test]
#[ignore = "writes the fuzz seed; run by scripts/fuzz-seed"]
fn write_minimal_evtx_seed() {
    let out = std::env::var_os("IDRECON_MINIMAL_EVTX_OUT").expect("IDRECON_MINIMAL_EVTX_OUT");
    std::fs::write(out, minimal_evtx(20).0).expect("write seed");
}

#[test]
fn the_minimal_evtx_file_reads_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bytes, _) = minimal_evtx(30);
    let p = write(dir.path(), "minimal.evtx", &bytes);
    let o = hunt([&p]);
    assert_eq!(o.shape(0), "EVTX");
    assert_eq!(o.counts(0), (30, 30, 0), "{}", o.input(0));
    assert_eq!(o.code, 0);
}

/// The public sample the EVTX cases start from, when `../shared/data` is
/// there (never copied into the repository).
fn shared_sample() -> Option<Vec<u8>> {
    let p = root().join(
        "../shared/data/hayabusa-sample-evtx/DeepBlueCLI/smb-password-guessing-security.evtx",
    );
    std::fs::read(p).ok()
}

#[test]
fn a_cut_evtx_file_keeps_what_precedes_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The minimal file cut in the middle of record 12 of 30.
    let (bytes, ends) = minimal_evtx(30);
    let cut = (ends[10] + ends[11]) / 2;
    let p = write(dir.path(), "cut.evtx", &bytes[..cut]);
    let o = hunt([&p]);
    assert_eq!(o.counts(0), (30, 11, 19), "{}", o.input(0));
    let rejects = o.rejects(0);
    // The record the cut runs through: reported cut short, or (when its
    // zero-padded rest does not parse) as a corrupt record.
    assert_eq!(rejects[0].0, 12, "{rejects:?}");
    assert!(
        rejects[0].1.contains("EventRecordID 12) is cut short")
            || rejects[0].1.contains("Failed to parse record number 12"),
        "{rejects:?}"
    );
    assert!(
        rejects[1..]
            .iter()
            .all(|(_, r)| r.contains("lists records 1–30 but 18 of them could not be found")),
        "{rejects:?}"
    );
    // Cut inside the chunk header: nothing readable, exit 2.
    let p = write(dir.path(), "cut_header.evtx", &bytes[..EVTX_HEADER + 100]);
    let o = hunt([&p]);
    assert_eq!(o.counts(0), (1, 0, 1), "{}", o.input(0));
    assert!(
        o.rejects(0)[0]
            .1
            .contains("the file ends 100 bytes into EVTX chunk 0 (inside its header)")
    );
    assert_eq!(o.code, 2);

    // A public sample cut inside its eleventh chunk, when present.
    if let Some(full) = shared_sample() {
        let p = write(
            dir.path(),
            "cut_sample.evtx",
            &full[..EVTX_HEADER + 10 * EVTX_CHUNK + 30_000],
        );
        let o = hunt([&p]);
        let (read, used, rejected) = o.counts(0);
        assert!(
            used > 0 && rejected > 0 && read == used + rejected,
            "{}",
            o.input(0)
        );
        assert!(
            o.stderr.contains("lists 34 chunks but the file holds 11") || {
                // The last kept reject, when fewer than the kept maximum.
                o.rejects(0)
                    .iter()
                    .any(|(_, r)| r.contains("lists 34 chunks but the file holds 11"))
            }
        );
        assert_eq!(o.code, 0);
    } else {
        eprintln!("SKIPPED (public sample): ../shared/data is absent");
    }
}

/// Deterministic bit flips (xorshift) in the record area.
fn flip_bits(bytes: &mut [u8], from: usize, to: usize, flips: usize, seed: u64) {
    let mut x = seed | 1;
    for _ in 0..flips {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = from + (x as usize % (to - from));
        bytes[at] ^= 1 << ((x >> 32) % 8);
    }
}

#[test]
fn bit_flipped_evtx_files_never_crash_and_reconcile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (clean, ends) = minimal_evtx(30);
    let records_end = *ends.last().expect("records");
    let mut paths = Vec::new();
    for seed in 1..=12u64 {
        let mut b = clean.clone();
        flip_bits(
            &mut b,
            EVTX_HEADER + 512,
            records_end,
            4 * seed as usize,
            seed,
        );
        paths.push(write(dir.path(), &format!("flipped-{seed}.evtx"), &b));
    }
    let shared = shared_sample();
    if let Some(full) = &shared {
        for seed in 1..=4u64 {
            let mut b = full.clone();
            let len = b.len();
            flip_bits(&mut b, EVTX_HEADER, len, 500, seed);
            paths.push(write(
                dir.path(),
                &format!("flipped-sample-{seed}.evtx"),
                &b,
            ));
        }
    } else {
        eprintln!("SKIPPED (public sample): ../shared/data is absent");
    }
    let o = hunt(&paths);
    for i in 0..paths.len() {
        let (read, used, _) = o.counts(i);
        // Every record a chunk header announces is accounted for.
        if i < 12 {
            assert!(read >= 30, "{}", o.input(i));
        }
        assert!(used <= read);
    }
    assert_eq!(o.code, 0);
}

#[test]
fn a_directory_loop_through_symlinks_reads_each_file_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("sub")).expect("mkdir");
    write(&logs, "a.ndjson", &lines(&[row(0, "a@contoso.com")]));
    write(
        &logs.join("sub"),
        "b.ndjson",
        &lines(&[row(1, "b@contoso.com")]),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink("..", logs.join("sub/up")).expect("symlink");
        symlink(".", logs.join("self")).expect("symlink");
        symlink(&logs, logs.join("sub/absolute")).expect("symlink");
        symlink("missing.ndjson", logs.join("dangling.ndjson")).expect("symlink");
    }
    let o = hunt([&logs, &logs.join("sub/up")]);
    let inputs = o.report["inputs"].as_array().expect("inputs");
    let names: Vec<&str> = inputs
        .iter()
        .map(|f| f["path"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].ends_with("logs/a.ndjson") && names[1].ends_with("logs/sub/b.ndjson"),
        "{names:?}"
    );
    assert_eq!(o.report["totals"]["used"], 2);
    assert_eq!(o.code, 0);
}

/// JSON documents are read record by record, compressed or not, so
/// `max_document_bytes` (what is read into memory whole from a compressed
/// file: event XML, EVTX) does not cut them any more: a gzip of two records,
/// 64 MiB of spaces and a third record, read with a 1 MiB cap, gives all
/// three records (the cap stopped it after two before); a trailing comma
/// found after the spaces is reported where it is; and the cap still stops
/// event XML.
#[test]
fn a_compressed_document_larger_than_max_document_bytes_is_read_fully() {
    use idrecon_ingest::{IngestOptions, InputFile, read_file};
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = IngestOptions {
        max_document_bytes: 1 << 20,
        ..IngestOptions::default()
    };
    let read = |p: &Path| {
        let mut records = Vec::new();
        let r = read_file(&InputFile::from_path(p), 0, &opts, &mut |e| {
            records.push(e.origin.record)
        })
        .expect("non-strict");
        assert!(r.stats.reconciles());
        assert_eq!(r.stats.used, records.len() as u64);
        (r, records)
    };
    let prefix = format!("[{},{},", row(0, "a@contoso.com"), row(1, "b@contoso.com"));
    let runs = (64 << 20) / 258;
    let doc = write(
        dir.path(),
        "big.json.gz",
        &gzip_bomb(
            prefix.as_bytes(),
            b" ",
            runs,
            format!("{}]", row(2, "c@contoso.com")).as_bytes(),
        ),
    );
    let (r, records) = read(&doc);
    assert_eq!(r.shape, "Log Analytics rows (JSON array)");
    assert_eq!((r.stats.read, r.stats.rejected, r.error), (3, 0, None));
    assert_eq!(records, [1, 2, 3]);

    // `,]` after the spaces: the two records are used, the defect is placed
    // after the spaces (one line: column = the bytes up to the `]`).
    let doc = write(
        dir.path(),
        "comma.json.gz",
        &gzip_bomb(prefix.as_bytes(), b" ", runs, b"]"),
    );
    let (r, records) = read(&doc);
    assert_eq!(records, [1, 2]);
    assert_eq!(
        r.stats.rejects[0].reason,
        format!(
            "invalid JSON at line 1, column {}: expected value; the rest of this JSON value was skipped and the rest of the file was skipped",
            prefix.len() + 1 + 258 * runs + 1
        )
    );
    assert_eq!((r.stats.read, r.stats.rejects[0].record), (3, 3));

    // Event XML is still read whole, up to the cap.
    let event = "<Event><System><EventID>4625</EventID><TimeCreated SystemTime=\"2024-05-01T10:00:00Z\"/></System><EventData><Data Name=\"TargetUserName\">u</Data></EventData></Event>\n";
    let xml = write(
        dir.path(),
        "events.xml.gz",
        &gzip_bomb(event.as_bytes(), b" ", runs, event.as_bytes()),
    );
    let (r, records) = read(&xml);
    assert_eq!(records, [1]);
    let note = r.error.expect("note");
    assert!(
        note.starts_with(
            "gzip data holds an event XML, EVTX or UTF-16 file larger than 1048576 bytes, which would be read into memory whole (--max-document-bytes)"
        ),
        "{note}"
    );
}

/// Log injection through key and element names: a reject reason quotes a
/// name at most clipped, so a megabyte name cannot flood the summary.
#[test]
fn oversized_names_do_not_make_oversized_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "K".repeat(1 << 20);
    let ndjson = write(
        dir.path(),
        "huge_key.ndjson",
        format!("{{\"{long}\":1}}\n{}\n", row(0, "a@contoso.com")).as_bytes(),
    );
    let xml = write(
        dir.path(),
        "huge_names.xml",
        format!(
            "<Event><System><EventID>4625</EventID><{long}></B></System></Event>\n\
             <Event><System><EventID>4625</EventID><TimeCreated SystemTime=\"&{long};\"/></System></Event>\n"
        )
        .as_bytes(),
    );
    let o = hunt([&ndjson, &xml]);
    assert_eq!(o.counts(0), (2, 1, 1));
    assert_eq!(o.counts(1), (2, 0, 2));
    for i in 0..2 {
        for (_, reason) in o.rejects(i) {
            assert!(
                reason.len() < 500,
                "{} bytes: {}",
                reason.len(),
                &reason[..120]
            );
        }
    }
    assert!(
        o.stderr.len() < 10_000,
        "{} bytes of summary",
        o.stderr.len()
    );
}

/// `--strict` stops at the first bad record of any case with exit status 2
/// and a message naming the file, the record and the reason.
#[test]
fn strict_mode_stops_at_the_first_bad_record() {
    for (file, want) in [
        (
            "invalid_json.ndjson",
            "invalid_json.ndjson: record 2 rejected: invalid JSON: expected value (column 54)",
        ),
        (
            "wrong_types_signin.ndjson",
            "wrong_types_signin.ndjson: record 2 rejected: field `TimeGenerated` has the wrong type",
        ),
        (
            "timestamps_windows.xml",
            "timestamps_windows.xml: record 2 rejected: timestamp out of range",
        ),
        (
            "truncated.ndjson.gz",
            "truncated.ndjson.gz: record 14 rejected: invalid JSON: EOF while parsing a string",
        ),
    ] {
        let out = Command::cargo_bin("idrecon")
            .expect("binary")
            .current_dir(root())
            .args(["hunt", "--strict", "--format", "json", "--no-allowlist"])
            .arg(corpus(file))
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(stderr.contains(want), "{file}: {stderr}");
        assert!(
            stderr.contains("strict mode stops at the first bad record"),
            "{stderr}"
        );
    }
}
