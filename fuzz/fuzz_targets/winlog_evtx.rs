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

fuzz_target!(|data: &[u8]| {
    install_hook();
    let before = PANICS.load(Ordering::SeqCst);
    let mut stats = FileStats::default();
    let mut n = 0u64;
    idrecon_winlog::read_evtx(data.to_vec(), 0, &mut stats, &mut |e| {
        idrecon_fuzz::check_event(&e);
        n += 1;
    });
    idrecon_fuzz::check_stats(&stats, n);
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
