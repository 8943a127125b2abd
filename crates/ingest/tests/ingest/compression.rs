//! gzip and zstd: truncation, bombs, and refusing archives.

use crate::util::{data, read_bytes};
use idrecon_ingest::IngestOptions;
use std::io::Write;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// 200 copies of the Log Analytics fixture: 800 NDJSON records.
fn many_lines() -> Vec<u8> {
    std::fs::read(data("la_signins.ndjson"))
        .expect("fixture")
        .repeat(200)
}

#[test]
fn truncated_gzip_uses_the_readable_part() {
    let gz = gzip(&many_lines());
    let cut = &gz[..gz.len() / 2];
    let (r, ev) = read_bytes("signins.ndjson.gz", cut, &IngestOptions::default()).expect("reads");
    assert!(!ev.is_empty() && ev.len() < 800, "{}", ev.len());
    assert_eq!(r.stats.rejected, 0, "{:?}", r.stats.rejects);
    let err = r.error.expect("note");
    assert!(err.contains("gzip data is truncated or corrupt"), "{err}");
    assert!(
        err.contains(&format!(
            "the {} records before that point were read",
            ev.len()
        )),
        "{err}"
    );
}

#[test]
fn truncated_zstd_uses_the_readable_part() {
    let z = zstd::stream::encode_all(&many_lines()[..], 3).expect("zstd");
    let cut = &z[..z.len() / 2];
    let (r, ev) = read_bytes("signins.ndjson.zst", cut, &IngestOptions::default()).expect("reads");
    assert!(ev.len() < 800, "{}", ev.len());
    assert_eq!(r.stats.rejected, 0, "{:?}", r.stats.rejects);
    let err = r.error.expect("note");
    assert!(err.contains("zstd data is truncated or corrupt"), "{err}");
}

#[test]
fn concatenated_gzip_members_are_all_read() {
    let lines = std::fs::read(data("la_signins.ndjson")).expect("fixture");
    let mut gz = gzip(&lines);
    gz.extend(gzip(&lines));
    let (r, _) = read_bytes("two.gz", &gz, &IngestOptions::default()).expect("reads");
    assert_eq!((r.stats.read, r.stats.used, r.error), (8, 8, None));
}

#[test]
fn decompression_bomb_is_stopped_at_the_limit() {
    let opts = IngestOptions {
        max_decompressed_bytes: 1 << 20,
        ..IngestOptions::default()
    };
    // 30 MiB of records: every complete line within the first MiB is used.
    let lines = std::fs::read(data("la_signins.ndjson")).expect("fixture");
    let big = lines.repeat((30 << 20) / lines.len());
    let (r, ev) = read_bytes("bomb.ndjson.gz", &gzip(&big), &opts).expect("reads");
    let line_len = lines.len() as u64 / 4; // the four lines are near 1.4 KiB each
    assert!(
        ev.len() as u64 > (1 << 20) / (line_len + 200),
        "{}",
        ev.len()
    );
    assert!(
        (ev.len() as u64) < (1 << 20) / (line_len - 200) + 1,
        "{}",
        ev.len()
    );
    let err = r.error.expect("note");
    assert!(
        err.contains("beyond the limit of 1048576 bytes (--max-decompressed-bytes)"),
        "{err}"
    );

    // A JSON document of whitespace: read into memory only up to the limit.
    let mut doc = b"[".to_vec();
    doc.resize(64 << 20, b' ');
    let z = zstd::stream::encode_all(&doc[..], 3).expect("zstd");
    assert!(z.len() < 64 << 10);
    let (r, ev) = read_bytes("bomb.json.zst", &z, &opts).expect("reads");
    assert!(ev.is_empty());
    assert!(
        r.error
            .expect("note")
            .contains("zstd data expands beyond the limit")
    );
}

#[test]
fn archives_are_refused_with_advice() {
    let (r, _) =
        read_bytes("logs.zip", b"PK\x03\x04rest", &IngestOptions::default()).expect("reads");
    assert!(
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("zip archive; extract it first")),
        "{:?}",
        r.error
    );
    let (r, _) = read_bytes("logs.bz2", b"BZh91AY&SY", &IngestOptions::default()).expect("reads");
    assert!(
        r.error.as_deref().is_some_and(|e| e.contains("bzip2")),
        "{:?}",
        r.error
    );
}
