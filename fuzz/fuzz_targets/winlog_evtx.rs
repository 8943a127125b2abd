//! Binary EVTX through `idrecon_winlog::read_evtx` (the wrapper around the
//! `evtx` crate: chunk survey, padding of cut chunks, record accounting).
//!
//! The wrapper catches a panic of the `evtx` crate and counts the records
//! not read as lost. libfuzzer-sys would abort on any panic, even a caught
//! one, so this target installs its own hook: a caught panic is checked to
//! have been reported as a reject and logged once per location (an upstream
//! finding); a panic that escapes the wrapper still aborts (libfuzzer-sys
//! treats a panicking run as a crash).
#![no_main]

use idrecon_core::FileStats;
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

static PANICS: AtomicU64 = AtomicU64::new(0);
static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            let loc = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
            if seen.get_or_insert_with(HashSet::new).insert(loc.clone()) {
                eprintln!("idrecon-fuzz: caught evtx panic at {loc}: {info}");
            }
        }));
    });
}

/// The same bytes read with the EventID-first filter of the rules. A record
/// whose EventID no rule reads is decided from its template and
/// substitutions, without rendering it: a defect that only its rendering
/// shows (e.g. an attribute name that is not XML) is then not seen, so such
/// a record counts as used where the plain reading rejects it
/// (docs/RELIABILITY.md, known limitations). Everything else must agree:
/// the same records read, no record rejected that the plain reading uses,
/// and every event the plain reading delivers with a wanted EventID is
/// delivered.
fn check_filtered(data: &[u8], plain: &FileStats, plain_events: &[(u64, Option<String>)]) {
    struct Sink {
        events: Vec<u64>,
        skipped: u64,
    }
    impl idrecon_winlog::EvtxSink for Sink {
        fn event(&mut self, ev: idrecon_core::Event) {
            self.events.push(ev.origin.record);
        }
        fn skipped(&mut self, _time: idrecon_core::Timestamp) {
            self.skipped += 1;
        }
    }
    let rules = idrecon_fuzz::all_rules();
    let wanted = move |id: &str| {
        rules.iter().any(|r| {
            r.may_use(
                idrecon_core::EventKind::WindowsSecurity,
                idrecon_core::event::table::SECURITY_EVENT,
                &|f| (f == idrecon_core::Field::EventId).then_some(Some(id)),
            )
        })
    };
    let keep: idrecon_winlog::KeepEventId = std::sync::Arc::new(wanted);
    let opts = idrecon_winlog::EvtxOptions {
        threads: 0,
        keep_event_id: Some(keep),
        direct: false,
    };
    let mut stats = FileStats::default();
    let mut sink = Sink {
        events: Vec::new(),
        skipped: 0,
    };
    idrecon_winlog::read_evtx_with(data.to_vec(), 0, &mut stats, &opts, &mut sink);
    assert!(stats.reconciles(), "filtered counts do not reconcile");
    assert_eq!(
        stats.used,
        sink.events.len() as u64 + sink.skipped,
        "used != events + skipped"
    );
    assert_eq!(stats.read, plain.read, "the filter changed what was read");
    assert!(
        stats.rejected <= plain.rejected,
        "the filter rejected a record the plain reading uses ({} > {})",
        stats.rejected,
        plain.rejected
    );
    let delivered: HashSet<u64> = sink.events.iter().copied().collect();
    for (record, id) in plain_events {
        if id.as_deref().is_some_and(wanted) {
            assert!(
                delivered.contains(record),
                "record {record} (EventID {id:?}) was skipped or lost by the filter"
            );
        }
    }
}

/// The same bytes read with every record built straight from its template
/// values where the template allows it (`EvtxOptions::direct`) and with
/// every record rendered: the same records read, every event of the
/// rendering delivered and equal. As for the filter, a defect only the
/// rendering shows would make a record used that the rendering rejects
/// (docs/RELIABILITY.md, known limitations), so the direct reading may
/// reject fewer.
fn check_direct(data: &[u8]) {
    struct Sink(Vec<idrecon_core::Event>);
    impl idrecon_winlog::EvtxSink for Sink {
        fn event(&mut self, ev: idrecon_core::Event) {
            self.0.push(ev);
        }
        fn skipped(&mut self, _time: idrecon_core::Timestamp) {
            panic!("no EventID is filtered here");
        }
    }
    let read = |direct| {
        let opts = idrecon_winlog::EvtxOptions {
            threads: 0,
            keep_event_id: Some(std::sync::Arc::new(|_: &str| true)),
            direct,
        };
        let mut stats = FileStats::default();
        let mut sink = Sink(Vec::new());
        idrecon_winlog::read_evtx_with(data.to_vec(), 0, &mut stats, &opts, &mut sink);
        (stats, sink.0)
    };
    let (rendered, rendered_events) = read(false);
    let (direct, direct_events) = read(true);
    assert!(direct.reconciles(), "direct counts do not reconcile");
    assert_eq!(
        direct.read, rendered.read,
        "the direct build changed what was read"
    );
    assert!(
        direct.rejected <= rendered.rejected,
        "the direct build rejected a record the rendering uses"
    );
    let by_record: std::collections::HashMap<u64, &idrecon_core::Event> =
        direct_events.iter().map(|e| (e.origin.record, e)).collect();
    for e in &rendered_events {
        assert_eq!(
            by_record.get(&e.origin.record).copied(),
            Some(e),
            "the direct build changed or lost record {}",
            e.origin.record
        );
    }
}

fuzz_target!(|data: &[u8]| {
    install_hook();
    let before = PANICS.load(Ordering::SeqCst);
    let mut stats = FileStats::default();
    let mut n = 0u64;
    let mut seen = Vec::new();
    idrecon_winlog::read_evtx(data.to_vec(), 0, &mut stats, &mut |e| {
        idrecon_fuzz::check_event(&e);
        seen.push((e.origin.record, e.event_id.clone()));
        n += 1;
    });
    idrecon_fuzz::check_stats(&stats, n);
    check_filtered(data, &stats, &seen);
    check_direct(data);
    if PANICS.load(Ordering::SeqCst) != before
        && stats.rejects.len() < idrecon_core::stats::MAX_KEPT_REJECTS
    {
        assert!(
            stats
                .rejects
                .iter()
                .any(|r| r.reason.contains("EVTX parser failed")),
            "a caught panic was not reported: {:?}",
            stats.rejects.last()
        );
    }
});
