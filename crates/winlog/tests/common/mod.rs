//! Helpers shared by the integration tests.
#![allow(dead_code)]

use idrecon_core::{Event, FileStats};
use std::path::PathBuf;

/// The public sample folder, `../shared/data` beside the repository root
/// (never copied into the repository). `None`, with a message, when absent.
pub fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("SOURCES.md").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: public sample folder {} is absent (see shared/data/SOURCES.md); sample tests not run",
            dir.display()
        );
        None
    }
}

/// A fixture under `tests/data/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Reads EVTX bytes into events and stats, checking that the counts reconcile.
pub fn read_evtx(bytes: Vec<u8>) -> (Vec<Event>, FileStats) {
    let mut stats = FileStats::default();
    let mut events = Vec::new();
    idrecon_winlog::read_evtx(bytes, 7, &mut stats, &mut |e| events.push(e));
    assert!(stats.reconciles(), "read != used + rejected: {stats:?}");
    assert_eq!(stats.used as usize, events.len());
    (events, stats)
}
