//! EVTX CRC32 checksums: a chunk whose header or records fail their
//! checksum is still read, and the file gets a note naming the chunk and
//! the number of records used from it; a chunk that keeps no checksum
//! (`NO_CRC32`) is not checked. The files are the minimal EVTX file the
//! malformed-input tests of `idrecon` write (shared by path), with one bit
//! flipped. Also: the EventID-first filter on bit-flipped files.

mod common;

#[path = "../../cli/tests/support/minimal_evtx.rs"]
mod minimal_evtx;

use idrecon_core::{Event, FileStats};
use idrecon_winlog::EvtxReport;
use minimal_evtx::{EVTX_HEADER, minimal_evtx};

fn read(bytes: Vec<u8>) -> (Vec<Event>, FileStats, EvtxReport) {
    let mut stats = FileStats::default();
    let mut events = Vec::new();
    let report = idrecon_winlog::read_evtx(bytes, 0, &mut stats, &mut |e| events.push(e));
    assert!(stats.reconciles(), "{stats:?}");
    (events, stats, report)
}

/// Where the UTF-16 text `s` first occurs in `b`.
fn find_utf16(b: &[u8], s: &str) -> usize {
    let needle: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    b.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{s} not in the file"))
}

#[test]
fn the_minimal_file_passes_its_checksums() {
    let (events, stats, report) = read(minimal_evtx(30).0);
    assert_eq!(events.len(), 30);
    assert_eq!(stats.checksum_failed, 0);
    assert_eq!(report, EvtxReport::default());
}

#[test]
fn a_flipped_bit_inside_a_value_fails_the_records_checksum_and_is_still_read() {
    let (mut b, _) = minimal_evtx(30);
    // `ghost5` becomes `ghost4` (0x35 ^ 0x01 = 0x34).
    let at = find_utf16(&b, "ghost5");
    b[at + 10] ^= 0x01;
    let (events, stats, report) = read(b);
    assert_eq!((stats.read, stats.used, stats.rejected), (30, 30, 0));
    assert_eq!(stats.checksum_failed, 30);
    let users: Vec<&str> = events.iter().filter_map(|e| e.user.as_deref()).collect();
    assert_eq!(
        users.iter().filter(|u| **u == "ghost4").count(),
        2,
        "{users:?}"
    );
    assert_eq!(
        report.notes,
        vec![format!(
            "EVTX chunk 0 at offset {EVTX_HEADER:#x} fails its records CRC32 checksum; 30 record(s) were used from it anyway (logs copied from a live system are often dirty)"
        )]
    );
}

#[test]
fn a_flipped_bit_in_a_chunk_header_or_the_file_header_is_noted() {
    let (clean, _) = minimal_evtx(12);
    // An unused byte of the chunk header (inside its checksummed range).
    let mut b = clean.clone();
    b[EVTX_HEADER + 100] ^= 0x40;
    let (events, stats, report) = read(b);
    assert_eq!(events.len(), 12);
    assert_eq!(stats.checksum_failed, 12);
    assert_eq!(report.notes.len(), 1);
    assert!(
        report.notes[0].starts_with("EVTX chunk 0 at offset 0x1000 fails its header CRC32"),
        "{:?}",
        report.notes
    );
    // The file header: noted, the chunks are read and counted as sound.
    let mut b = clean.clone();
    b[60] ^= 0x01;
    let (events, stats, report) = read(b);
    assert_eq!(events.len(), 12);
    assert_eq!(stats.checksum_failed, 0);
    assert_eq!(report.notes.len(), 1);
    assert!(
        report.notes[0].contains("file header fails its CRC32"),
        "{:?}",
        report.notes
    );
}

#[test]
fn a_chunk_that_keeps_no_checksum_is_not_checked() {
    let (mut b, _) = minimal_evtx(12);
    let at = find_utf16(&b, "ghost3");
    b[at + 10] ^= 0x01;
    // Chunk flag NO_CRC32 (bytes 120–128 are outside the header checksum).
    b[EVTX_HEADER + 120] |= 0x04;
    let (events, stats, report) = read(b);
    assert_eq!(events.len(), 12);
    assert_eq!(stats.checksum_failed, 0);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
}

#[test]
fn the_public_samples_pass_their_checksums() {
    let Some(dir) = common::shared_data() else {
        return;
    };
    let mut stack = vec![dir];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "evtx") {
                let (_, stats, report) = read(std::fs::read(&p).expect("sample"));
                assert_eq!(stats.checksum_failed, 0, "{}", p.display());
                assert!(
                    report.notes.is_empty(),
                    "{}: {:?}",
                    p.display(),
                    report.notes
                );
                files += 1;
            }
        }
    }
    assert!(files >= 10);
}

/// The EventID-first filter on damaged files: whatever the bit flips do to
/// the templates and values, nothing panics, every record is accounted
/// for, and a record skipped because no rule reads its EventID is counted
/// as used — the counts equal those of the reading without the filter,
/// except for records the filter skipped without rendering that the
/// rendering would have rejected (none in these files).
/// The files the flipped-bit tests damage: the minimal file and, when the
/// public samples are there, a real one.
fn flip_targets() -> Vec<Vec<u8>> {
    let mut files = vec![minimal_evtx(30).0];
    if let Some(dir) = common::shared_data() {
        files.push(
            std::fs::read(dir.join("hayabusa-sample-evtx/DeepBlueCLI/password-spray.evtx"))
                .expect("sample"),
        );
    }
    files
}

/// `clean` with a few bits flipped (by `seed`) in its first chunk's records
/// and templates.
fn flipped(clean: &[u8], seed: u64) -> Vec<u8> {
    let mut b = clean.to_vec();
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for _ in 0..(1 + seed % 6) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = EVTX_HEADER + 512 + (x as usize % (65536 - 512));
        b[at] ^= 1 << (x % 8);
    }
    b
}

#[test]
fn the_event_id_filter_survives_flipped_bits() {
    use idrecon_winlog::{EvtxOptions, EvtxSink};
    use std::sync::Arc;
    struct Count(u64, u64);
    impl EvtxSink for Count {
        fn event(&mut self, _: Event) {
            self.0 += 1;
        }
        fn skipped(&mut self, _: idrecon_core::Timestamp) {
            self.1 += 1;
        }
    }
    let files = flip_targets();
    let mut skipped = 0;
    for (n, clean) in files.iter().enumerate() {
        for seed in 1..=40u64 {
            let b = flipped(clean, seed);
            for (keep, direct) in [(false, false), (true, false), (true, true)] {
                let opts = EvtxOptions {
                    threads: 1,
                    keep_event_id: Some(Arc::new(move |_: &str| keep)),
                    direct,
                };
                let mut stats = FileStats::default();
                let mut c = Count(0, 0);
                idrecon_winlog::read_evtx_with(b.clone(), 0, &mut stats, &opts, &mut c);
                assert!(stats.reconciles(), "{n} {seed}: {stats:?}");
                assert_eq!(stats.used, c.0 + c.1, "{n} {seed}");
                let (_, plain, _) = read(b.clone());
                assert_eq!(stats.read, plain.read, "{n} {seed}");
                assert_eq!(stats.used, plain.used, "{n} {seed} keep={keep}");
                skipped += c.1;
            }
        }
    }
    assert!(skipped > 1000, "{skipped}");
}

/// Building events straight from the template values gives the events,
/// counts and reject reasons of rendering every record, on damaged files
/// too (a flipped type byte makes the crate read a value past its size, and
/// the values after it from elsewhere).
#[test]
fn the_direct_build_agrees_with_rendering_on_flipped_bits() {
    use idrecon_winlog::{EvtxOptions, EvtxSink};
    use std::sync::Arc;
    struct Keep(Vec<Event>);
    impl EvtxSink for Keep {
        fn event(&mut self, e: Event) {
            self.0.push(e);
        }
        fn skipped(&mut self, _: idrecon_core::Timestamp) {
            panic!("nothing is skipped");
        }
    }
    let files = flip_targets();
    let mut differed = 0;
    for (n, clean) in files.iter().enumerate() {
        for seed in 1..=120u64 {
            let b = flipped(clean, seed);
            let run = |direct| {
                let opts = EvtxOptions {
                    threads: 1,
                    keep_event_id: Some(Arc::new(|_: &str| true)),
                    direct,
                };
                let mut stats = FileStats::default();
                let mut k = Keep(Vec::new());
                idrecon_winlog::read_evtx_with(b.clone(), 0, &mut stats, &opts, &mut k);
                (k.0, stats)
            };
            let (rendered, direct) = (run(false), run(true));
            differed += usize::from(rendered.0 != read(clean.clone()).0);
            assert_eq!(direct, rendered, "file {n}, seed {seed}");
        }
    }
    // Not vacuous: the flips change what is read.
    assert!(differed > 20, "{differed}");
}
