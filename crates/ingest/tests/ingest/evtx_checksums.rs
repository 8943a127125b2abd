//! A chunk whose CRC32 fails: read, noted and counted; an error in strict
//! mode.

#[path = "../../../cli/tests/support/minimal_evtx.rs"]
mod minimal_evtx;

use idrecon_ingest::{IngestError, IngestOptions, InputFile, read_file};

fn flipped() -> (tempfile::TempDir, InputFile) {
    let (mut b, _) = minimal_evtx::minimal_evtx(30);
    let needle: Vec<u8> = "ghost7".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let at = b
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("ghost7");
    b[at] ^= 0x20; // `Ghost7`
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("flipped.evtx");
    std::fs::write(&path, b).expect("write");
    (dir, InputFile::from_path(path))
}

#[test]
fn a_chunk_failing_its_checksum_is_read_and_noted() {
    let (_dir, file) = flipped();
    let mut users = Vec::new();
    let r = read_file(&file, 0, &IngestOptions::default(), &mut |e| {
        users.push(e.user.unwrap_or_default())
    })
    .expect("lenient read");
    assert_eq!((r.stats.read, r.stats.used, r.stats.rejected), (30, 30, 0));
    assert_eq!(r.stats.checksum_failed, 30);
    assert!(users.contains(&"Ghost7".to_string()), "{users:?}");
    assert_eq!(
        r.error.as_deref(),
        Some(
            "EVTX chunk 0 at offset 0x1000 fails its records CRC32 checksum; 30 record(s) were used from it anyway (logs copied from a live system are often dirty)"
        )
    );
    let json = serde_json::to_value(&r.stats).expect("json");
    assert_eq!(json["checksum_failed"], 30);
}

#[test]
fn strict_mode_stops_at_a_chunk_failing_its_checksum() {
    let (_dir, file) = flipped();
    let opts = IngestOptions {
        strict: true,
        ..IngestOptions::default()
    };
    match read_file(&file, 0, &opts, &mut |_| {}) {
        Err(IngestError::File { reason, .. }) => {
            assert!(
                reason.contains("fails its records CRC32 checksum"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    // A sound file is fine in strict mode, and its stats say nothing of
    // checksums.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sound.evtx");
    std::fs::write(&path, minimal_evtx::minimal_evtx(5).0).expect("write");
    let r = read_file(&InputFile::from_path(path), 0, &opts, &mut |_| {}).expect("strict read");
    assert_eq!((r.stats.used, r.stats.checksum_failed), (5, 0));
    let json = serde_json::to_value(&r.stats).expect("json");
    assert!(json.get("checksum_failed").is_none(), "{json}");
}
