//! Helpers shared by the fuzz targets: feeding bytes through the public
//! reader API and checking the accounting invariants every reader promises.

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, FileStats, Origin, Timestamp};
use idrecon_ingest::{EventSink, FastPath, IngestOptions, InputFile, Prefilter, read_file};
use idrecon_rules::{Catalogue, Profile, Rule};
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A per-process scratch file (fuzzing with `-fork`/`-jobs` runs several
/// processes), in `/dev/shm` when it exists so no disk I/O is involved.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = PathBuf::from("/dev/shm");
        let dir = if dir.is_dir() {
            dir
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("idrecon-fuzz-{}.input", std::process::id()))
    })
}

/// Checks what every reader promises for one file: each record is used or
/// rejected (`read == used + rejected`), the kinds add up to `used`, and the
/// sink saw exactly the used records.
pub fn check_stats(stats: &FileStats, events: u64) {
    assert!(
        stats.reconciles(),
        "read {} != used {} + rejected {}",
        stats.read,
        stats.used,
        stats.rejected
    );
    assert_eq!(stats.used, events, "sink calls != used");
    assert_eq!(stats.kinds.values().sum::<u64>(), stats.used, "kinds");
    assert!(stats.rejects.len() as u64 <= stats.rejected);
}

/// Reads `bytes` as a file through [`idrecon_ingest::read_file`] and checks
/// the invariants. Returns the events. In strict mode an `Err` is fine; a
/// non-strict read never fails.
pub fn ingest(bytes: &[u8], opts: &IngestOptions) -> Vec<Event> {
    let path = scratch();
    {
        let mut f = std::fs::File::create(path).expect("scratch file");
        f.write_all(bytes).expect("write scratch file");
    }
    let file = InputFile::from_path(path.clone());
    let mut events = Vec::new();
    let res = read_file(&file, 0, opts, &mut |e| events.push(e));
    let ok = res.is_ok();
    match res {
        Ok(report) => check_stats(&report.stats, events.len() as u64),
        Err(e) => {
            assert!(opts.strict, "non-strict read failed: {e}");
        }
    }
    for e in &events {
        check_event(e);
    }
    if ok {
        check_prefilter(&file, opts, &events);
    }
    events
}

/// Both profiles' rules (the prefilter's and the EVTX filter's source).
pub fn all_rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut v = Vec::new();
        for p in [Profile::Seed, Profile::Recommended] {
            if let Ok(c) = Catalogue::load(p, &[]) {
                v.extend(c.rules().iter().cloned());
            }
        }
        v
    })
}

/// True when some rule keeps the event (as a probe or a confirmation):
/// what the prefilter must never skip.
pub fn some_rule_uses(e: &Event) -> bool {
    let mut d = e.clone();
    d.derive();
    all_rules()
        .iter()
        .any(|r| r.reads(&d) && (r.matches(&d) || r.confirms(&d)))
}

struct Counting {
    events: Vec<Event>,
    skipped: u64,
}

impl EventSink for Counting {
    fn event(&mut self, ev: Event) {
        self.events.push(ev);
    }
    fn skipped(&mut self, _time: Timestamp, _kind: EventKind) {
        self.skipped += 1;
    }
}

/// The same file read again through the fast path with the rules'
/// prefilter: the counts are the plain reading's, every event is one of
/// the plain reading's (same record), and every event of the plain reading
/// that a rule keeps is delivered (a skipped record is one no rule uses).
fn check_prefilter(file: &InputFile, opts: &IngestOptions, plain: &[Event]) {
    let rules = all_rules();
    let fast = FastPath {
        enabled: true,
        evtx_direct: true,
        prefilter: Some(Prefilter::with_fields(move |kind, table, known| {
            rules.iter().any(|r| r.may_use(kind, table, known))
        })),
        threads: 1,
        block_bytes: idrecon_ingest::DEFAULT_BLOCK_BYTES,
    };
    let mut sink = Counting {
        events: Vec::new(),
        skipped: 0,
    };
    let Ok(report) = idrecon_ingest::read_file_into(file, 0, opts, &fast, &mut sink) else {
        panic!("the prefiltered reading failed where the plain one did not");
    };
    let stats = &report.stats;
    assert!(stats.reconciles(), "prefiltered counts do not reconcile");
    assert_eq!(
        stats.used,
        sink.events.len() as u64 + sink.skipped,
        "used != events + skipped"
    );
    assert_eq!(
        stats.used,
        plain.len() as u64,
        "used differs from the plain reading"
    );
    let delivered: std::collections::HashSet<u64> =
        sink.events.iter().map(|e| e.origin.record).collect();
    for e in plain {
        if some_rule_uses(e) {
            assert!(
                delivered.contains(&e.origin.record),
                "the prefilter skipped record {} that a rule uses",
                e.origin.record
            );
        }
    }
}

/// Per-event invariants: Entra events carry a plausible time (readers reject
/// the rest), and the derived fields compute without panicking.
pub fn check_event(e: &Event) {
    if e.kind != EventKind::WindowsSecurity {
        let s = e.time.as_second();
        assert!(
            (631_152_000..4_102_444_800).contains(&s),
            "Entra event time out of range: {}",
            e.time
        );
    }
    let mut d = e.clone();
    d.derive();
}

/// Options chosen from the input's length (so that seeds stay plain files):
/// strict mode now and then, and a small record limit now and then.
pub fn options_for(len: usize) -> IngestOptions {
    IngestOptions {
        strict: len % 7 == 3,
        max_record_bytes: if len % 5 == 1 { 96 } else { 1 << 20 },
        max_decompressed_bytes: 1 << 20,
        max_document_bytes: 1 << 20,
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_714_521_600 + secs).expect("in range")
}

/// A small fixed set of events touching every rule family (Entra sign-ins,
/// audit SSPR records, Windows 4625/4771/4776), used to run fuzzed rules and
/// overrides through the engine.
pub fn sample_events() -> Vec<Event> {
    let mut v = Vec::new();
    for i in 0..20i64 {
        let mut e = Event::new(
            at(i * 37),
            EventKind::EntraSignIn,
            if i % 3 == 0 {
                table::NON_INTERACTIVE
            } else {
                table::SIGNIN_LOGS
            },
            Origin {
                file: 0,
                record: i as u64 + 1,
            },
        );
        e.user = Some(format!("User{}@contoso.com", i % 17));
        e.source_ip = Some(
            if i % 4 == 0 {
                "2001:db8::7"
            } else {
                "203.0.113.5"
            }
            .into(),
        );
        e.result_code = Some(["50034", "50126", "50076", "0", "50053"][i as usize % 5].into());
        e.result_description = Some("Invalid username or password.".into());
        e.app = Some(["Azure Portal", "Office 365"][i as usize % 2].into());
        e.app_id = Some("1b730954-1685-4b74-9bfd-dac224a7b894".into());
        e.user_agent = Some("python-requests/2.31".into());
        e.request_id = Some(format!("req-{}", i / 2));
        e.asn = Some("64500".into());
        v.push(e);
    }
    for i in 0..6i64 {
        let mut e = Event::new(
            at(i * 11),
            EventKind::EntraAudit,
            table::AUDIT_LOGS,
            Origin {
                file: 0,
                record: 100 + i as u64,
            },
        );
        e.operation = Some("Reset password (self-service)".into());
        e.activity = Some("Reset password (self-service)".into());
        e.result = Some("failure".into());
        e.result_reason = Some("User is blocked".into());
        e.logged_by_service = Some("Self-service Password Management".into());
        e.target_user = Some(format!("t{i}@contoso.com"));
        e.source_ip = Some("198.51.100.66".into());
        v.push(e);
    }
    for i in 0..8i64 {
        let mut e = Event::new(
            at(i * 5),
            EventKind::WindowsSecurity,
            table::SECURITY_EVENT,
            Origin {
                file: 1,
                record: i as u64 + 1,
            },
        );
        e.event_id = Some(["4625", "4771", "4776", "4768"][i as usize % 4].into());
        e.user = Some(format!("user{i}"));
        e.source_ip = Some("10.0.0.66".into());
        e.workstation = Some("KALI".into());
        e.result_code = Some(["0xc000006d", "0x18", "0xc0000064", "0x6"][i as usize % 4].into());
        e.sub_status = Some("0xc0000064".into());
        e.host = Some("DC01".into());
        v.push(e);
    }
    v
}

/// Runs `rules` over [`sample_events`] and checks the findings are sane.
pub fn run_engine(rules: &[idrecon_rules::Rule], profile: &str) {
    let engine = idrecon_engine::EngineBuilder::new()
        .rules(rules.iter().cloned())
        .profile(profile)
        .build();
    let mut run = engine.run(vec!["a".into(), "b".into()]);
    for e in sample_events() {
        run.push(e);
    }
    let wm = at(10_000);
    let _ = run.advance(wm);
    let (findings, summary) = run.finish();
    assert_eq!(summary.events, sample_events().len() as u64);
    for f in &findings {
        assert!(f.first_seen <= f.last_seen, "{f:?}");
        serde_json::to_string(f).expect("finding serializes");
    }
}
