//! Shared helpers.

use idrecon_core::{Event, Origin};
use idrecon_ingest::{FileReport, IngestError, IngestOptions, InputFile, read_file};
use std::path::{Path, PathBuf};

/// A fixture under `tests/data`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Reads one file with `opts`.
pub fn read_with(
    path: &Path,
    opts: &IngestOptions,
) -> Result<(FileReport, Vec<Event>), IngestError> {
    let mut events = Vec::new();
    let report = read_file(&InputFile::from_path(path), 7, opts, &mut |e| {
        events.push(e)
    })?;
    assert!(
        report.stats.reconciles(),
        "{}: {:?}",
        report.path,
        report.stats
    );
    assert_eq!(report.stats.used, events.len() as u64);
    for e in &events {
        assert_eq!(e.origin.file, 7);
    }
    Ok((report, events))
}

/// Reads one file with default options.
pub fn read(path: &Path) -> (FileReport, Vec<Event>) {
    match read_with(path, &IngestOptions::default()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// Writes `bytes` as `name` in a new temporary directory and reads it.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    opts: &IngestOptions,
) -> Result<(FileReport, Vec<Event>), IngestError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    read_with(&path, opts)
}

/// The `(record, reason)` pairs of a report's rejects.
pub fn rejects(r: &FileReport) -> Vec<(u64, String)> {
    r.stats
        .rejects
        .iter()
        .map(|x| (x.record, x.reason.clone()))
        .collect()
}

/// Origin record numbers of events.
pub fn records(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.origin.record).collect()
}

/// An event with the origin cleared, for comparisons across shapes.
pub fn without_origin(mut e: Event) -> Event {
    e.origin = Origin::default();
    e
}
