//! EVTX CRC32 checksums: a chunk whose header or records fail their
//! checksum is still read, and the file gets a note naming the chunk and
//! the number of records used from it; a chunk that keeps no checksum
//! (`NO_CRC32`) is not checked. The files are the minimal EVTX file the
//! malformed-input tests of `idrecon` write (shared by path), with one bit
//! flipped.

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
