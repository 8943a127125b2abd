//! Every reject class, with exact record numbers, and strict mode.

use crate::util::{read_bytes, records, rejects};
use idrecon_ingest::{IngestError, IngestOptions};

fn opts(max_record_bytes: usize) -> IngestOptions {
    IngestOptions {
        max_record_bytes,
        ..IngestOptions::default()
    }
}

/// An NDJSON file with one line per reject class; returns the bytes.
fn bad_ndjson() -> Vec<u8> {
    let deep = format!(
        "{{\"TimeGenerated\":\"2024-05-01T10:00:00Z\",\"X\":{}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let long = format!(
        "{{\"TimeGenerated\":\"2024-05-01T10:00:00Z\",\"UserAgent\":\"{}\"}}",
        "A".repeat(600)
    );
    let mut lines: Vec<Vec<u8>> = vec![
        br#"{"TimeGenerated":"2024-05-01T10:00:00Z","UserPrincipalName":"a@contoso.com","ResultType":"50126"}"#.to_vec(), // 1 used
        br#"{"TimeGenerated": "2024-05-01T10:00:00Z", "UserPrincipalName": "#.to_vec(), // 2 invalid JSON
        b"".to_vec(), // 3 blank: not a record
        br#"{"UserPrincipalName":"b@contoso.com","ResultType":"50126"}"#.to_vec(), // 4 missing timestamp
        br#"{"TimeGenerated":"yesterday","ResultType":"0"}"#.to_vec(), // 5 unparsable
        br#"{"TimeGenerated":"1601-01-01T00:00:00Z","ResultType":"0"}"#.to_vec(), // 6 out of range
        br#"{"foo":1,"bar":{"baz":2}}"#.to_vec(), // 7 unknown dialect
        br#"{"TimeGenerated":"2024-05-01T10:00:00Z","ResultType":{"code":1}}"#.to_vec(), // 8 wrong type
        b"{\"TimeGenerated\":\"2024-05-01T10:00:00Z\",\"UserPrincipalName\":\"\xff\"}".to_vec(), // 9 not UTF-8
        deep.into_bytes(),                                                           // 10 nested too deep
        long.into_bytes(),                                                           // 11 too large
        b"{\"createdDateTime\":\"2024-05-01T10:00:11Z\",\"userPrincipalName\":\"c@contoso.com\"}\r".to_vec(), // 12 used (CRLF)
        b"42".to_vec(),                                                              // 13 not an object
        br#"{"createdDateTime":"2024-05-01T10:00:14Z","status":{"errorCode":50034}}"#.to_vec(), // 14 used
    ];
    lines.push(Vec::new());
    lines.join(&b'\n')
}

#[test]
fn ndjson_reject_classes() {
    let (r, ev) = read_bytes("bad.ndjson", &bad_ndjson(), &opts(512)).expect("not strict");
    assert_eq!(
        r.shape,
        "Log Analytics rows + Graph signIn objects (NDJSON)"
    );
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (13, 3, 10));
    assert_eq!(r.error, None);
    assert_eq!(records(&ev), [1, 12, 14]);
    assert_eq!(ev[2].result_code.as_deref(), Some("50034"));
    let got = rejects(&r);
    let expect: &[(u64, &str)] = &[
        (2, "invalid JSON: EOF while parsing a value (column 62)"),
        (4, "missing timestamp"),
        (5, "unparsable timestamp in `TimeGenerated`: \"yesterday\""),
        (
            6,
            "timestamp out of range in `TimeGenerated`: \"1601-01-01T00:00:00Z\"",
        ),
        (7, "not a recognised record (keys: foo, bar; 2 in all)"),
        (
            8,
            "field `ResultType` has the wrong type: expected text or a number, found an object",
        ),
        (9, "line is not valid UTF-8 (bad byte at column 62)"),
        (10, "recursion limit exceeded"),
        (
            11,
            "record too large: 655 bytes, over the limit of 512 bytes",
        ),
        (13, "expected a JSON object, found a number"),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((rec, reason), (want_rec, want)) in got.iter().zip(expect) {
        assert_eq!(rec, want_rec, "{reason}");
        assert!(
            reason.contains(want),
            "record {rec}: {reason:?} lacks {want:?}"
        );
    }
}

#[test]
fn strict_mode_names_file_record_and_reason() {
    let err = read_bytes(
        "bad.ndjson",
        &bad_ndjson(),
        &IngestOptions {
            strict: true,
            ..opts(512)
        },
    )
    .expect_err("strict stops");
    let IngestError::Rejected {
        file,
        record,
        reason,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(file.ends_with("bad.ndjson"));
    assert_eq!(*record, 2);
    assert!(reason.starts_with("invalid JSON"), "{reason}");
    let msg = err.to_string();
    assert!(
        msg.contains("bad.ndjson: record 2 rejected: invalid JSON"),
        "{msg}"
    );
    assert!(msg.contains("--strict"), "{msg}");

    // A clean file passes strict mode.
    let good = br#"{"TimeGenerated":"2024-05-01T10:00:00Z","ResultType":"0"}"#;
    let (r, _) = read_bytes(
        "good.ndjson",
        good,
        &IngestOptions {
            strict: true,
            ..opts(512)
        },
    )
    .expect("clean");
    assert_eq!(r.stats.used, 1);
}

#[test]
fn array_reject_classes() {
    let big = format!(
        r#"{{"createdDateTime":"2024-05-01T10:00:00Z","userAgent":"{}"}}"#,
        "x".repeat(600)
    );
    let deep = format!(
        r#"{{"createdDateTime":"2024-05-01T10:00:00Z","x":{}{}}}"#,
        "[".repeat(150),
        "]".repeat(150)
    );
    let elements = [
        r#"{"createdDateTime":"2024-05-01T10:00:00Z","userPrincipalName":"a@contoso.com"}"#, // 1 used
        r#"{"foo":1}"#,   // 2 unknown
        big.as_str(),     // 3 too large
        deep.as_str(),    // 4 too deep
        r#""just text""#, // 5 not an object
        r#"{"createdDateTime":"2024-05-01T10:00:05Z","status":{"errorCode":"50126"}}"#, // 6 used
    ];
    let text = format!("[\n {}\n]\n", elements.join(",\n "));
    let (r, ev) = read_bytes("arr.json", text.as_bytes(), &opts(512)).expect("reads");
    assert_eq!(r.shape, "Graph signIn objects (JSON array)");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (6, 2, 4));
    assert_eq!(records(&ev), [1, 6]);
    let got: Vec<u64> = rejects(&r).iter().map(|x| x.0).collect();
    assert_eq!(got, [2, 3, 4, 5]);
    assert!(rejects(&r)[1].1.contains("record too large"));
    assert!(rejects(&r)[2].1.contains("recursion limit"));
    assert!(
        rejects(&r)[3]
            .1
            .contains("expected a JSON object, found text")
    );
}

#[test]
fn malformed_document_keeps_what_precedes_and_resumes_at_next_value() {
    let ok = |t: &str| {
        format!(
            r#"{{"createdDateTime":"2024-05-01T10:00:{t}Z","userPrincipalName":"a@contoso.com"}}"#
        )
    };
    // Line-delimited envelopes (Event Hubs capture), the second one broken
    // after its first record.
    let text = format!(
        "{{\"records\":[{},{}]}}\n{{\"records\":[{}, {{\"x\": tru}}, {}]}}\n{{\"records\":[{}]}}\n",
        ok("01"),
        ok("02"),
        ok("03"),
        ok("04"),
        ok("05")
    );
    let (r, ev) =
        read_bytes("capture.json", text.as_bytes(), &IngestOptions::default()).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (5, 4, 1));
    assert_eq!(records(&ev), [1, 2, 3, 5]);
    let (rec, reason) = &rejects(&r)[0];
    assert_eq!(*rec, 4);
    assert!(
        reason.contains("invalid JSON at line 2, column"),
        "{reason}"
    );
    assert!(reason.contains("reading went on at line 3"), "{reason}");
    assert_eq!(ev[3].time.to_string(), "2024-05-01T10:00:05Z");

    // A pretty-printed array broken in the middle: the rest is skipped.
    let text = format!("[\n  {},\n  {{\"x\": nul}},\n  {}\n]\n", ok("01"), ok("02"));
    let (r, ev) =
        read_bytes("broken.json", text.as_bytes(), &IngestOptions::default()).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (2, 1, 1));
    assert_eq!(ev.len(), 1);
    assert!(
        rejects(&r)[0]
            .1
            .contains("the rest of the file was skipped"),
        "{:?}",
        rejects(&r)
    );
}

#[test]
fn truncated_document_uses_readable_records() {
    let full = std::fs::read_to_string(crate::util::data("la_signins.json")).expect("fixture");
    // Cut inside the third record.
    let cut = full
        .match_indices("\"TimeGenerated\"")
        .nth(2)
        .map(|(i, _)| i)
        .expect("third");
    let (r, ev) = read_bytes(
        "cut.json",
        &full.as_bytes()[..cut + 40],
        &IngestOptions::default(),
    )
    .expect("reads");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (2, 2, 0));
    assert_eq!(records(&ev), [1, 2]);
    let err = r.error.expect("note");
    assert!(err.contains("ends early"), "{err}");
    assert!(err.contains("the 2 records before"), "{err}");
}

#[test]
fn strict_mode_fails_on_whole_file_problems() {
    let err = read_bytes(
        "x.bin",
        b"\x00\x01\x02 binary",
        &IngestOptions {
            strict: true,
            ..IngestOptions::default()
        },
    )
    .expect_err("strict");
    assert!(matches!(err, IngestError::File { .. }), "{err:?}");
    assert!(err.to_string().contains("unrecognised content"), "{err}");
    let (r, _) =
        read_bytes("x.bin", b"\x00\x01\x02 binary", &IngestOptions::default()).expect("lenient");
    assert_eq!(r.shape, "unrecognised");
    assert_eq!(r.stats.read, 0);
}

#[test]
fn csv_rejects() {
    let text = b"Date (UTC),Username,Sign-in error code\n\
                 2024-05-01T10:00:00Z,a@contoso.com,50126\n\
                 not a date,b@contoso.com,50126\n\
                 2024-05-01T10:00:02Z,\xff@contoso.com,50126\n\
                 \n\
                 2024-05-01T10:00:03Z,c@contoso.com,0\n";
    let (r, ev) =
        read_bytes("InteractiveSignIns.csv", text, &IngestOptions::default()).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (4, 2, 2));
    assert_eq!(records(&ev), [2, 6]);
    let got = rejects(&r);
    assert_eq!(got[0].0, 3);
    assert!(
        got[0]
            .1
            .contains("unparsable timestamp in `CreatedDateTime`: \"not a date\""),
        "{}",
        got[0].1
    );
    assert_eq!(got[1].0, 4);
    assert!(
        got[1].1.contains("not valid UTF-8 in column `Username`"),
        "{}",
        got[1].1
    );
}

#[test]
fn ndjson_cut_mid_line_rejects_only_the_partial_line() {
    let full = std::fs::read(crate::util::data("la_signins.ndjson")).expect("fixture");
    let (r, ev) = read_bytes("tail.ndjson", &full[50..], &IngestOptions::default()).expect("reads");
    assert_eq!(r.shape, "Log Analytics rows (NDJSON)");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (4, 3, 1));
    assert_eq!(records(&ev), [2, 3, 4]);
    assert_eq!(rejects(&r)[0].0, 1);
    assert!(
        rejects(&r)[0].1.starts_with("invalid JSON"),
        "{:?}",
        rejects(&r)
    );
}

#[test]
fn csv_rows_over_the_record_limit_are_skipped_and_reading_goes_on() {
    // Line 3 starts a row whose quoted user agent (with a doubled quote
    // and three line breaks, one of them CRLF) runs to line 6; it is
    // over the 120-byte limit. The rows after it keep their physical
    // line numbers.
    let long = format!("{}\n\"\"x\r\nmore\nend", "A".repeat(100));
    let text = format!(
        "TimeGenerated,UserPrincipalName,ResultType,UserAgent\n\
         2024-05-01T10:00:00Z,a@contoso.com,50126,curl\n\
         2024-05-01T10:00:01Z,b@contoso.com,50126,\"{long}\"\n\
         \n\
         2024-05-01T10:00:02Z,c@contoso.com,50126,\"quoted, short\"\r\n\
         2024-05-01T10:00:03Z,d@contoso.com,50126,\"{long}\"\n\
         2024-05-01T10:00:04Z,e@contoso.com,50126,wget"
    );
    let (r, ev) = read_bytes("la.csv", text.as_bytes(), &opts(120)).expect("reads");
    assert_eq!(r.shape, "Log Analytics CSV");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (5, 3, 2));
    assert_eq!(r.error, None);
    assert_eq!(records(&ev), [2, 8, 13]);
    assert_eq!(ev[1].user_agent.as_deref(), Some("quoted, short"));
    assert_eq!(ev[2].user_agent.as_deref(), Some("wget"));
    // Field bytes: 20 (time) + 13 (user) + 5 (code) + 113 (agent, the
    // doubled quote read as one).
    let reason = "record too large: 151 bytes, over the limit of 120 bytes (raise --max-record-bytes if it is genuine)";
    assert_eq!(
        rejects(&r),
        vec![(3, reason.to_string()), (9, reason.to_string())]
    );
    // With room for it the long row is used, its field intact.
    let (r, ev) = read_bytes("la.csv", text.as_bytes(), &opts(1024)).expect("reads");
    assert_eq!((r.stats.read, r.stats.used), (5, 5));
    assert_eq!(records(&ev), [2, 3, 8, 9, 13]);
    assert_eq!(
        ev[1].user_agent.as_deref(),
        Some(format!("{}\n\"x\r\nmore\nend", "A".repeat(100)).as_str())
    );
}

/// A Log Analytics query response whose table is larger than the window
/// (the record limit, here 300 bytes, or 1 MiB) is streamed: its rows are
/// used as they are read, and a defect later in the table rejects one
/// record after them. A table within the window is read whole, as before:
/// the defect rejects the table as one record and none of its rows is used.
#[test]
fn a_streamed_table_uses_its_rows_before_a_defect() {
    let row = |s: u32| format!(r#"["2024-05-01T10:00:0{s}Z","u{s}@contoso.com","50126"]"#);
    let columns = r#""columns":[{"name":"TimeGenerated"},{"name":"UserPrincipalName"},{"name":"ResultType"}]"#;
    // Line 1 `{"tables": [`, line 2 the table's name and columns, line 3
    // `"rows": [`, rows on lines 4–11.
    let table = |rows: &[String], after: &str| {
        format!(
            "{{\"tables\": [\n {{\"name\": \"PrimaryResult\", {columns},\n  \"rows\": [\n   {}\n  ]{after}\n }}\n]}}\n",
            rows.join(",\n   ")
        )
    };
    let eight: Vec<String> = (1..=8).map(row).collect();
    let mut broken = eight.clone();
    broken[6] = "[tru]".to_string();
    let whole = table(&eight, "");
    let syntax = table(&broken, "");
    let duplicate = table(&eight, &format!(", {columns}"));
    let cut = &whole[..whole.find(&row(7)).expect("row 7") + 20];
    let streamed = opts(300);
    let whole_read = IngestOptions::default();

    let (r, ev) = read_bytes("la.json", whole.as_bytes(), &streamed).expect("reads");
    assert_eq!(r.shape, "Log Analytics query API tables");
    assert_eq!((r.stats.read, r.stats.used, r.error), (8, 8, None));
    assert_eq!(records(&ev), [1, 2, 3, 4, 5, 6, 7, 8]);

    // A syntax error in row 7 (line 10: `   [tru]`, the `]` at column 8).
    let reason = "invalid JSON at line 10, column 8: expected ident; the rest of this JSON value was skipped and the rest of the file was skipped";
    let (r, ev) = read_bytes("la.json", syntax.as_bytes(), &streamed).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (7, 6, 1));
    assert_eq!(records(&ev), [1, 2, 3, 4, 5, 6]);
    assert_eq!(rejects(&r), vec![(7, reason.to_string())]);
    let (r, ev) = read_bytes("la.json", syntax.as_bytes(), &whole_read).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, ev.len()), (1, 0, 0));
    assert_eq!(rejects(&r), vec![(1, reason.to_string())]);

    // `columns` again after the rows.
    let (r, ev) = read_bytes("la.json", duplicate.as_bytes(), &streamed).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (9, 8, 1));
    assert_eq!(records(&ev), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(rejects(&r)[0].0, 9);
    assert!(
        rejects(&r)[0]
            .1
            .starts_with("not a Log Analytics query table (duplicate field `columns` at line "),
        "{:?}",
        rejects(&r)
    );
    let (r, ev) = read_bytes("la.json", duplicate.as_bytes(), &whole_read).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, ev.len()), (1, 0, 0));
    assert!(
        rejects(&r)[0]
            .1
            .starts_with("not a Log Analytics query table (duplicate field `columns`"),
        "{:?}",
        rejects(&r)
    );

    // Cut inside row 7.
    let (r, ev) = read_bytes("la.json", cut.as_bytes(), &streamed).expect("reads");
    assert_eq!((r.stats.read, r.stats.used), (6, 6));
    assert_eq!(records(&ev), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        r.error.as_deref(),
        Some(
            "the JSON ends early at line 10 (truncated?); the 6 records before that point were read"
        )
    );
    let (r, _) = read_bytes("la.json", cut.as_bytes(), &whole_read).expect("reads");
    assert_eq!((r.stats.read, r.stats.used), (0, 0));
    assert_eq!(
        r.error.as_deref(),
        Some(
            "the JSON ends early at line 10 (truncated?); the 0 records before that point were read"
        )
    );
}

/// An array of Azure Monitor envelopes (blobs joined with `jq -s`) is not
/// read as records; each envelope is rejected with how to read it, whether
/// the document is read in memory or streamed (larger than the record
/// limit).
#[test]
fn an_array_of_envelopes_says_how_to_read_it() {
    let rec = r#"{"time":"2024-05-01T10:00:00Z","category":"SignInLogs","properties":{"userPrincipalName":"a@contoso.com","status":{"errorCode":50034},"ipAddress":"203.0.113.5","createdDateTime":"2024-05-01T10:00:00Z","id":"1"}}"#;
    let doc = format!(r#"[{{"records":[{rec},{rec}]}},{{"value":[{rec}]}}]"#);
    for max in [1 << 20, 512] {
        let (r, ev) = read_bytes("blobs.json", doc.as_bytes(), &opts(max)).expect("not strict");
        assert!(ev.is_empty());
        assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (2, 0, 2));
        let got = rejects(&r);
        assert_eq!(got.len(), 2, "{got:#?}");
        for ((rec, reason), (want_rec, key)) in got.iter().zip([(1, "records"), (2, "value")]) {
            assert_eq!(*rec, want_rec);
            assert!(
                reason.starts_with(&format!("a `{key}` envelope where a record was expected"))
                    && reason.contains("jq -c '.[]' FILE > FILE.ndjson"),
                "max {max}: {reason}"
            );
        }
    }
    // Written one per line, the same envelopes are read.
    let lines = format!("{{\"records\":[{rec},{rec}]}}\n{{\"value\":[{rec}]}}\n");
    let (r, ev) = read_bytes("blobs.ndjson", lines.as_bytes(), &opts(1 << 20)).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (3, 3, 0));
    assert_eq!(ev.len(), 3);
}
