//! The fast paths read exactly what the plain reading reads: the scanning
//! reader gives the same events, counts and reject reasons, and the
//! rule-derived prefilter only skips records that no rule could use.

use idrecon_core::{Event, EventKind, Timestamp};
use idrecon_ingest::{
    EventSink, FastPath, FileReport, IngestOptions, InputFile, Prefilter, read_all_into,
    read_file_into,
};
use idrecon_rules::{Catalogue, Profile, Rule};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
enum Item {
    Event(Event),
    Skipped(Timestamp, EventKind),
}

#[derive(Default)]
struct Collect(Vec<Item>);

impl EventSink for Collect {
    fn event(&mut self, ev: Event) {
        self.0.push(Item::Event(ev));
    }
    fn skipped(&mut self, time: Timestamp, kind: EventKind) {
        self.0.push(Item::Skipped(time, kind));
    }
}

fn read(path: &Path, fast: &FastPath) -> (FileReport, Vec<Item>) {
    let mut c = Collect::default();
    let r = read_file_into(
        &InputFile::from_path(path),
        3,
        &IngestOptions::default(),
        fast,
        &mut c,
    )
    .expect("lenient read");
    (r, c.0)
}

fn rules(p: Profile) -> Vec<Rule> {
    Catalogue::load(p, &[]).expect("rules").rules().to_vec()
}

fn prefilter(rules: Vec<Rule>) -> Prefilter {
    Prefilter::with_fields(move |kind, table, known| {
        rules.iter().any(|r| r.may_use(kind, table, known))
    })
}

/// The prefilter built the older way, from the result code alone.
fn code_prefilter(rules: Vec<Rule>) -> Prefilter {
    Prefilter::new(move |kind, table, code| {
        let known = |f: idrecon_core::Field| (f == idrecon_core::Field::ResultCode).then_some(code);
        rules.iter().any(|r| r.may_use(kind, table, &known))
    })
}

/// What the engine does with an event: some rule keeps it.
fn used(rules: &[Rule], ev: &Event) -> bool {
    let mut e = ev.clone();
    e.derive();
    rules
        .iter()
        .any(|r| r.reads(&e) && (r.matches(&e) || r.confirms(&e)))
}

/// Reads `path` plainly and with every fast path, and checks they agree.
fn check_file(path: &Path) {
    let (plain_report, plain) = read(path, &FastPath::off());
    let scan_only = FastPath {
        enabled: true,
        evtx_direct: true,
        prefilter: None,
        threads: 1,
        block_bytes: 1 << 20,
    };
    let (r, items) = read(path, &scan_only);
    assert_eq!(r, plain_report, "{}", path.display());
    assert_eq!(items, plain, "{}", path.display());
    for profile in [Profile::Seed, Profile::Recommended] {
        let rs = rules(profile);
        for threads in [1, 2] {
            // Tiny blocks: even small files are read on two threads.
            let fast = FastPath {
                enabled: true,
                evtx_direct: true,
                prefilter: Some(prefilter(rs.clone())),
                threads,
                block_bytes: 97,
            };
            let (r, items) = read(path, &fast);
            assert_eq!(r, plain_report, "{} {profile}", path.display());
            assert_eq!(items.len(), plain.len(), "{} {profile}", path.display());
            for (got, want) in items.iter().zip(&plain) {
                let Item::Event(want) = want else {
                    unreachable!("the plain reading skips nothing")
                };
                match got {
                    Item::Event(e) => assert_eq!(e, want),
                    Item::Skipped(t, k) => {
                        assert_eq!((*t, *k), (want.time, want.kind));
                        assert!(
                            !used(&rs, want),
                            "{profile}: skipped an event a rule uses: {want:?}"
                        );
                    }
                }
            }
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn fast_paths_read_fixtures_and_examples_alike() {
    let mut files = Vec::new();
    for dir in [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
        repo_root().join("examples/entra"),
    ] {
        for e in std::fs::read_dir(&dir).expect("dir") {
            files.push(e.expect("entry").path());
        }
    }
    files.sort();
    assert!(files.len() > 10);
    for f in files.iter().filter(|f| f.is_file()) {
        check_file(f);
    }
}

/// Several files read at once (small files on worker threads) give the
/// sink the same sequence and the same reports as reading them one after
/// another; the public EVTX samples join in when present.
#[test]
fn several_files_at_once_read_like_one_after_another() {
    #[derive(Default)]
    struct Log(Vec<String>, Vec<Item>);
    impl EventSink for Log {
        fn event(&mut self, ev: Event) {
            self.1.push(Item::Event(ev));
        }
        fn skipped(&mut self, time: Timestamp, kind: EventKind) {
            self.1.push(Item::Skipped(time, kind));
        }
        fn file_start(&mut self, index: usize, file: &InputFile) {
            self.0.push(format!("start {index} {}", file.display));
        }
        fn file_done(&mut self, index: usize, _: &InputFile, report: &FileReport) {
            self.0.push(format!("done {index} {}", report.stats.read));
        }
    }
    let mut paths = vec![
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
        repo_root().join("examples"),
    ];
    let samples = repo_root().join("../shared/data");
    if samples.is_dir() {
        paths.push(samples);
    }
    let files = idrecon_ingest::expand_paths(&paths).expect("paths");
    assert!(files.len() > 10);
    let read = |fast: &FastPath| {
        let mut log = Log::default();
        let r = read_all_into(&files, &IngestOptions::default(), fast, &mut log).expect("read");
        (r, log.0, log.1)
    };
    let plain = read(&FastPath::off());
    for profile in [Profile::Seed, Profile::Recommended] {
        let one = read(&FastPath {
            enabled: true,
            evtx_direct: true,
            prefilter: Some(prefilter(rules(profile))),
            threads: 1,
            block_bytes: 1 << 20,
        });
        let two = read(&FastPath {
            enabled: true,
            evtx_direct: true,
            prefilter: Some(prefilter(rules(profile))),
            threads: 2,
            block_bytes: 512,
        });
        assert_eq!(one.0, plain.0);
        assert_eq!(one.1, plain.1);
        assert_eq!(two.0, plain.0);
        assert_eq!(two.1, plain.1);
        assert_eq!(two.2, one.2, "{profile}");
    }
}

// --- random records -------------------------------------------------------

/// A JSON value of a generated record.
#[derive(Debug, Clone)]
enum V {
    Str(String),
    Num(String),
    Bool(bool),
    Null,
    Obj(Vec<(String, V)>),
    Arr(Vec<V>),
    /// The inner value as JSON text (a string).
    Text(Box<V>),
    /// Raw text, possibly not JSON at all.
    Raw(String),
}

/// How a record is written: whitespace and escapes.
#[derive(Debug, Clone, Copy)]
struct Style {
    space: u8,
    escape: u8,
}

fn write_str(out: &mut String, s: &str, st: Style, salt: usize) {
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        let pick = (i + salt + st.escape as usize) % 7;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '/' if st.escape > 0 && pick == 0 => out.push_str("\\/"),
            c if st.escape > 1 && pick < 2 && (c as u32) < 0xd800 => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn ws(out: &mut String, st: Style, salt: usize) {
    match (st.space as usize + salt) % 5 {
        0 | 1 => {}
        2 => out.push(' '),
        3 => out.push_str(" \t"),
        _ => out.push_str("  "),
    }
}

fn write(out: &mut String, v: &V, st: Style, salt: usize) {
    match v {
        V::Str(s) => write_str(out, s, st, salt),
        V::Num(n) | V::Raw(n) => out.push_str(n),
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Null => out.push_str("null"),
        V::Text(inner) => {
            let mut t = String::new();
            write(&mut t, inner, st, salt + 1);
            write_str(out, &t, st, salt);
        }
        V::Arr(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(out, st, salt + i);
                write(out, it, st, salt + i);
            }
            out.push(']');
        }
        V::Obj(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(out, st, salt + i);
                write_str(out, k, st, salt + i);
                ws(out, st, salt + i + 1);
                out.push(':');
                ws(out, st, salt + i + 2);
                write(out, v, st, salt + i);
            }
            ws(out, st, salt);
            out.push('}');
        }
    }
}

fn case_variant(name: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(name.to_string()),
        1 => Just(name.to_ascii_lowercase()),
        1 => Just(name.to_ascii_uppercase()),
        1 => Just({
            let mut c = name.chars();
            c.next()
                .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
                .unwrap_or_default()
        }),
    ]
}

fn text() -> impl Strategy<Value = V> {
    prop_oneof![
        Just(V::Str(String::new())),
        Just(V::Str("jdoe@contoso.com".into())),
        Just(V::Str("Ünïcødé \"quoted\" / back\\slash".into())),
        Just(V::Str(" 203.0.113.5 ".into())),
        Just(V::Str("::ffff:198.51.100.7".into())),
        Just(V::Str(
            "Mozilla/5.0 (compatible; MSAL 1.0) PKeyAuth/1.0".into()
        )),
        Just(V::Null),
        Just(V::Num("5".into())),
    ]
}

fn code() -> impl Strategy<Value = V> {
    prop_oneof![
        4 => Just(V::Str("0".into())),
        2 => Just(V::Num("0".into())),
        2 => Just(V::Str("50034".into())),
        2 => Just(V::Num("50126".into())),
        1 => Just(V::Str("50076".into())),
        1 => Just(V::Str("50140".into())),
        1 => Just(V::Num("50034.0".into())),
        1 => Just(V::Num("5.0e4".into())),
        1 => Just(V::Str(String::new())),
        1 => Just(V::Null),
        1 => Just(V::Bool(true)),
        1 => Just(V::Str("0x18".into())),
    ]
}

fn time() -> impl Strategy<Value = V> {
    prop_oneof![
        6 => (0u32..86_400).prop_map(|s| V::Str(format!(
            "2024-05-01T{:02}:{:02}:{:02}.1234567Z",
            s / 3600,
            (s / 60) % 60,
            s % 60
        ))),
        1 => Just(V::Str("5/1/2024, 10:15:41 AM".into())),
        1 => Just(V::Str("/Date(1714558541000)/".into())),
        1 => Just(V::Str("0001-01-01T00:00:00Z".into())),
        1 => Just(V::Str("soon".into())),
        1 => Just(V::Str("  ".into())),
        1 => Just(V::Num("1714558541".into())),
        1 => Just(V::Null),
    ]
}

fn status() -> impl Strategy<Value = V> {
    let obj = || {
        (code(), text()).prop_map(|(c, r)| {
            V::Obj(vec![
                ("errorCode".into(), c),
                ("failureReason".into(), r),
                ("additionalDetails".into(), V::Null),
            ])
        })
    };
    prop_oneof![
        3 => obj(),
        3 => obj().prop_map(|o| V::Text(Box::new(o))),
        1 => Just(V::Str("not json".into())),
        1 => Just(V::Str(String::new())),
        1 => Just(V::Str("null".into())),
        1 => Just(V::Arr(vec![V::Num("1".into())])),
        1 => Just(V::Null),
    ]
}

fn table() -> impl Strategy<Value = V> {
    prop_oneof![
        6 => Just(V::Str("SigninLogs".into())),
        2 => Just(V::Str("AADNonInteractiveUserSignInLogs".into())),
        1 => Just(V::Str("signinlogs".into())),
        1 => Just(V::Str("AADServicePrincipalSignInLogs".into())),
        1 => Just(V::Str("AuditLogs".into())),
        1 => Just(V::Str("Application".into())),
        1 => Just(V::Num("3".into())),
    ]
}

fn noise() -> impl Strategy<Value = V> {
    prop_oneof![
        Just(V::Obj(vec![
            ("city".into(), V::Str("Amsterdam".into())),
            (
                "geo".into(),
                V::Obj(vec![("lat".into(), V::Num("52.37".into()))]),
            ),
        ])),
        Just(V::Arr(vec![V::Str("a".into()), V::Bool(false), V::Null])),
        Just(V::Text(Box::new(V::Arr(vec![V::Obj(vec![(
            "key".into(),
            V::Str("Oauth \"scope\"".into())
        )])])))),
        Just(V::Num("-12.5".into())),
        Just(V::Raw("[1,]".into())),
        Just(V::Raw("01".into())),
        Just(V::Raw("1e400".into())),
        Just(V::Str("\u{1}control".into())),
    ]
}

/// One member of a record.
fn member() -> impl Strategy<Value = (String, V)> {
    prop_oneof![
        4 => (case_variant("ResultType"), code()),
        3 => (case_variant("TimeGenerated"), time()),
        1 => (case_variant("CreatedDateTime"), time()),
        2 => (case_variant("UserPrincipalName"), text()),
        2 => (case_variant("IPAddress"), text()),
        1 => (case_variant("callerIpAddress"), text()),
        2 => (case_variant("Status"), status()),
        2 => (Just("Type".to_string()), table()),
        1 => (case_variant("ResultDescription"), text()),
        1 => (case_variant("AppDisplayName"), text()),
        1 => (case_variant("UserAgent"), text()),
        1 => (case_variant("AutonomousSystemNumber"), code()),
        1 => (case_variant("IsInteractive"), prop_oneof![
            Just(V::Bool(true)),
            Just(V::Bool(false)),
            Just(V::Str("False".into())),
            Just(V::Str("maybe".into())),
            Just(V::Num("1".into())),
        ]),
        1 => (case_variant("ServicePrincipalId"), text()),
        1 => (case_variant("SignInEventTypes"), Just(V::Arr(vec![V::Str("nonInteractiveUser".into())]))),
        1 => (case_variant("ActivityDisplayName"), text()),
        1 => (case_variant("ProcessingTimeInMs"), text()),
        1 => (prop_oneof![
            Just("time".to_string()),
            Just("Time".to_string()),
            Just("category".to_string()),
            Just("Category".to_string()),
            Just("operationName".to_string()),
            Just("properties".to_string()),
            Just("value".to_string()),
            Just("EventID".to_string()),
            Just("Result\\Type".to_string()),
        ], prop_oneof![time(), text(), Just(V::Arr(vec![]))]),
        6 => ("[A-Z][a-zA-Z]{2,12}", noise()),
    ]
}

fn record() -> impl Strategy<Value = (Vec<(String, V)>, Style)> {
    (
        prop::collection::vec(member(), 0..14),
        (0u8..5, 0u8..3).prop_map(|(space, escape)| Style { space, escape }),
    )
}

/// For random valid and invalid records (whitespace, key order, key case,
/// escapes, `ResultType` as number or string, `Status` as object or JSON
/// text), the fast reading equals the plain one and the prefilter never
/// skips a record some rule would use.
#[test]
fn prefilter_never_skips_what_a_rule_uses() {
    use proptest::test_runner::{Config, TestRunner};
    use std::sync::atomic::{AtomicU64, Ordering};
    static SKIPPED: AtomicU64 = AtomicU64::new(0);
    static USED: AtomicU64 = AtomicU64::new(0);
    static REJECTED: AtomicU64 = AtomicU64::new(0);
    let strategy = (
        prop::collection::vec(record(), 1..48),
        prop::collection::vec((case_variant("ResultType"), code(), 0u32..86_400), 1..48),
    );
    let mut runner = TestRunner::new(Config {
        cases: 96,
        ..Config::default()
    });
    runner
        .run(&strategy, |(records, base)| {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("random.ndjson");
            let mut text = String::new();
            for (i, (members, st)) in records.iter().enumerate() {
                let mut members = members.clone();
                // Most records get a usable time, address and result code
                // so that the prefilter has something to decide.
                if let Some((k, c, s)) = base.get(i % base.len())
                    && i % 4 != 3
                {
                    let t = format!(
                        "2024-05-01T{:02}:{:02}:{:02}Z",
                        s / 3600,
                        (s / 60) % 60,
                        s % 60
                    );
                    members.insert(0, ("TimeGenerated".into(), V::Str(t)));
                    members.push((k.clone(), c.clone()));
                    members.push(("IPAddress".into(), V::Str("203.0.113.9".into())));
                }
                write(&mut text, &V::Obj(members), *st, i);
                text.push('\n');
            }
            std::fs::write(&path, text).expect("write");
            check_file(&path);
            let fast = FastPath {
                enabled: true,
                evtx_direct: true,
                prefilter: Some(prefilter(rules(Profile::Seed))),
                threads: 1,
                block_bytes: 1 << 20,
            };
            let (r, items) = read(&path, &fast);
            let skipped = items
                .iter()
                .filter(|i| matches!(i, Item::Skipped(..)))
                .count();
            SKIPPED.fetch_add(skipped as u64, Ordering::Relaxed);
            USED.fetch_add(r.stats.used, Ordering::Relaxed);
            REJECTED.fetch_add(r.stats.rejected, Ordering::Relaxed);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // The generated records exercise all three outcomes.
    let (s, u, r) = (
        SKIPPED.load(Ordering::Relaxed),
        USED.load(Ordering::Relaxed),
        REJECTED.load(Ordering::Relaxed),
    );
    assert!(
        s > 20 && u > s && r > 50,
        "skipped {s}, used {u}, rejected {r}"
    );
}

/// The EventID-first EVTX filter: on every public EVTX sample the reading
/// with the rules' prefilter equals the plain one (reports, record numbers,
/// times), every skipped record is one no rule uses, and records of event
/// ids no rule reads are skipped indeed; a result-code-only prefilter skips
/// no EVTX record.
#[test]
fn evtx_records_skipped_by_event_id_are_those_no_rule_reads() {
    let samples = repo_root().join("../shared/data");
    if !samples.join("SOURCES.md").is_file() {
        eprintln!(
            "SKIPPED: public sample folder {} is absent",
            samples.display()
        );
        return;
    }
    let files: Vec<PathBuf> = idrecon_ingest::expand_paths(&[samples])
        .expect("paths")
        .into_iter()
        .filter_map(|f| f.path)
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    assert!(files.len() >= 10, "{files:?}");
    let mut skipped = [0u64; 2];
    for f in &files {
        check_file(f);
        let (_, plain) = read(f, &FastPath::off());
        for (n, profile) in [Profile::Seed, Profile::Recommended]
            .into_iter()
            .enumerate()
        {
            let fast = FastPath {
                enabled: true,
                evtx_direct: true,
                prefilter: Some(prefilter(rules(profile))),
                threads: 1,
                block_bytes: 1 << 20,
            };
            let (_, items) = read(f, &fast);
            for (got, want) in items.iter().zip(&plain) {
                let (Item::Skipped(..), Item::Event(want)) = (got, want) else {
                    continue;
                };
                skipped[n] += 1;
                let id = want.event_id.as_deref().unwrap_or_default();
                assert!(
                    !["4624", "4625", "4768", "4771", "4776"].contains(&id)
                        || profile == Profile::Seed,
                    "{profile}: skipped {id}"
                );
            }
            let code_only = FastPath {
                prefilter: Some(code_prefilter(rules(profile))),
                ..fast
            };
            let (_, items) = read(f, &code_only);
            assert!(items.iter().all(|i| matches!(i, Item::Event(_))));
        }
    }
    // The samples hold hundreds of records of other event ids (4688,
    // 4672, 4634, …); the seed profile reads 4625 and 4771 only.
    assert!(skipped[1] > 300, "{skipped:?}");
    assert!(skipped[0] > skipped[1], "{skipped:?}");
}
