//! Damaged EVTX files, made from a public sample in a temporary directory:
//! nothing panics, what is readable is used, the rest is rejected with a
//! reason, and `read == used + rejected`.

mod common;

use common::{read_evtx, shared_data};
use idrecon_core::{Event, FileStats};
use std::io::Write;

const SMB: &str = "hayabusa-sample-evtx/DeepBlueCLI/smb-password-guessing-security.evtx";
const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;

fn sample() -> Option<Vec<u8>> {
    let dir = shared_data()?;
    Some(std::fs::read(dir.join(SMB)).unwrap_or_else(|e| panic!("{SMB}: {e}")))
}

/// Writes `bytes` to a temporary file and reads them back from there.
fn via_tempfile(bytes: &[u8]) -> (Vec<Event>, FileStats) {
    let mut f = tempfile::NamedTempFile::new().expect("tempfile");
    f.write_all(bytes).expect("write");
    let back = std::fs::read(f.path()).expect("read back");
    read_evtx(back)
}

/// Records the chunk headers of `bytes` announce, per chunk, up to the first
/// unused chunk (read here directly from the headers, independently of the
/// reader).
fn header_counts(bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut at = FILE_HEADER;
    while at + 40 <= bytes.len() {
        let u =
            |o: usize| u64::from_le_bytes(bytes[at + o..at + o + 8].try_into().expect("8 bytes"));
        if bytes[at..at + 8] != *b"ElfChnk\0" {
            break; // the sample ends in unused (zeroed) chunks
        }
        out.push(u(32) - u(24) + 1);
        at += CHUNK;
    }
    out
}

fn key(e: &Event) -> (Option<String>, String) {
    (e.request_id.clone(), format!("{e:?}"))
}

#[test]
fn truncated_inside_a_chunk_keeps_the_readable_part() {
    let Some(full) = sample() else { return };
    let (all, _) = read_evtx(full.clone());
    let per_chunk = header_counts(&full);
    assert_eq!(per_chunk.iter().sum::<u64>(), 3561);

    // Ten whole chunks and 30,000 bytes of the eleventh.
    let cut = FILE_HEADER + 10 * CHUNK + 30_000;
    let (events, stats) = via_tempfile(&full[..cut]);
    let whole: u64 = per_chunk[..10].iter().sum();
    let announced = whole + per_chunk[10];
    // Every record the present chunk headers announce is counted, plus one
    // reject saying that whole chunks are missing (the file header lists 34).
    assert_eq!(stats.read, announced + 1, "{:?}", stats.rejects.first());
    assert!(
        stats.used > whole,
        "records of the cut chunk before the cut are used ({} <= {whole})",
        stats.used
    );
    assert!(stats.rejected > 1 && stats.rejected < per_chunk[10]);
    let last = &stats.rejects[stats.rejects.len() - 1].reason;
    assert!(
        last.contains("lists 34 chunks but the file holds 11"),
        "{last}"
    );
    // What was used is exactly what the whole file gives for those records.
    for (e, full_e) in events.iter().zip(&all) {
        assert_eq!(key(e), key(full_e));
    }
    // The record the cut runs through, then the records after it.
    let first = &stats.rejects[0].reason;
    assert!(
        first.contains("is cut short") && first.contains("chunk 10"),
        "{first}"
    );
    let reason = &stats.rejects[1].reason;
    assert!(
        reason.contains("EVTX chunk 10") && reason.contains("could not be found"),
        "{reason}"
    );
    assert!(
        reason.contains("file ends 30000 bytes into this chunk"),
        "{reason}"
    );
    eprintln!(
        "cut at {cut}: used {}, rejected {}: {reason}",
        stats.used, stats.rejected
    );
}

#[test]
fn truncated_at_a_chunk_boundary_or_inside_a_header() {
    let Some(full) = sample() else { return };
    let per_chunk = header_counts(&full);
    let whole: u64 = per_chunk[..5].iter().sum();

    // Exactly five chunks: the file header still lists all of them.
    let (_, stats) = via_tempfile(&full[..FILE_HEADER + 5 * CHUNK]);
    assert_eq!(stats.used, whole);
    assert_eq!(stats.rejected, 1, "{:?}", stats.rejects);
    assert!(
        stats.rejects[0].reason.contains("looks cut short"),
        "{:?}",
        stats.rejects
    );

    // Five chunks and 100 bytes of the sixth's header.
    let (_, stats) = via_tempfile(&full[..FILE_HEADER + 5 * CHUNK + 100]);
    assert_eq!(stats.used, whole);
    assert_eq!(stats.rejected, 1, "{:?}", stats.rejects);
    assert!(
        stats.rejects[0].reason.contains("inside its header"),
        "{:?}",
        stats.rejects
    );

    // Only part of the file header: not readable at all.
    let (events, stats) = via_tempfile(&full[..1000]);
    assert!(events.is_empty());
    assert_eq!((stats.read, stats.rejected), (1, 1), "{:?}", stats.rejects);
}

#[test]
fn damaged_record_area_rejects_its_records_only() {
    let Some(mut bytes) = sample() else { return };
    let per_chunk = header_counts(&bytes);
    // Overwrite 2 KiB in the middle of chunk 3's records.
    let at = FILE_HEADER + 3 * CHUNK + 20_000;
    for b in &mut bytes[at..at + 2048] {
        *b ^= 0xa5;
    }
    let (events, stats) = via_tempfile(&bytes);
    assert_eq!(stats.read, 3561, "{:?}", stats.rejects);
    assert!(stats.rejected > 0);
    assert!(
        stats.rejected <= per_chunk[3],
        "only chunk 3 is damaged: {:?}",
        stats.rejects
    );
    assert!(events.len() as u64 >= 3561 - per_chunk[3]);
    for r in &stats.rejects {
        assert!(r.record > 0 && r.record <= 3561, "{r:?}");
        assert!(!r.reason.is_empty());
    }
    eprintln!(
        "xor 2 KiB: {:?}",
        &stats.rejects[..stats.rejects.len().min(3)]
    );
}

#[test]
fn damaged_chunk_header_rejects_that_chunk() {
    let Some(mut bytes) = sample() else { return };
    let per_chunk = header_counts(&bytes);
    // Break chunk 7's signature: the crate cannot read that chunk at all.
    bytes[FILE_HEADER + 7 * CHUNK] = b'X';
    let (events, stats) = via_tempfile(&bytes);
    assert_eq!(stats.read, 3561, "{:?}", stats.rejects);
    assert_eq!(stats.rejected, per_chunk[7], "{:?}", stats.rejects.first());
    assert_eq!(events.len() as u64, 3561 - per_chunk[7]);
    assert!(
        stats.rejects[0].reason.contains("corrupt EVTX chunk 7"),
        "{:?}",
        stats.rejects[0]
    );
}

#[test]
fn random_bit_flips_never_panic_and_reconcile() {
    let Some(full) = sample() else { return };
    // Only the first 8 chunks, to keep the test quick.
    let base = &full[..FILE_HEADER + 8 * CHUNK];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..24 {
        let mut bytes = base.to_vec();
        let flips = 1 + (round * 37) % 400;
        for _ in 0..flips {
            let r = next();
            // Keep the file signature so the reader gets past it.
            let pos = 8 + (r as usize) % (bytes.len() - 8);
            bytes[pos] ^= 1 << (r >> 60 & 7);
        }
        let (_, stats) = read_evtx(bytes);
        assert!(stats.reconciles());
        assert!(stats.read > 0, "round {round}");
    }
}

#[test]
fn not_evtx_is_one_reject() {
    let (events, stats) = read_evtx(b"this is not an evtx file".to_vec());
    assert!(events.is_empty());
    assert_eq!((stats.read, stats.rejected), (1, 1));
    assert!(!idrecon_winlog::is_evtx(b"ElfChnk\0"));
    assert!(idrecon_winlog::is_evtx(b"ElfFile\0\0\0"));
    // A bare file header with no chunks: nothing to read, nothing lost.
    let mut header = b"ElfFile\0".to_vec();
    header.resize(4096, 0);
    let (events, stats) = read_evtx(header);
    assert!(events.is_empty());
    assert!(stats.reconciles());
}
