//! JSON documents are read record by record: a 300 MB JSON array (and the
//! same records in an Azure Monitor `records` envelope) is read by the
//! `idrecon` binary with a peak resident set far below the file's size. Read
//! whole, as before, the array alone took more than its size.
//!
//! The records are padded with a 100 KB field no reader keeps, so the file
//! is large while the run stays short in a debug build. Peak RSS comes from
//! GNU time (`/usr/bin/time -f %M`); without it the test says so and skips.

use assert_cmd::cargo::CommandCargoExt;
use std::io::Write;
use std::path::Path;
use std::process::Command;

const RECORDS: usize = 3000;
const PAD: usize = 100_000;

/// Writes `open`, 3,000 padded sign-in rows separated by commas, and
/// `close`, without holding the file in memory; returns its size.
fn write_document(path: &Path, open: &str, close: &str) -> u64 {
    let f = std::fs::File::create(path).expect("create");
    let mut w = std::io::BufWriter::new(f);
    w.write_all(open.as_bytes()).expect("write");
    let pad = "A".repeat(PAD);
    for i in 0..RECORDS {
        if i > 0 {
            w.write_all(b",\n").expect("write");
        }
        write!(
            w,
            r#"{{"TimeGenerated":"2024-05-01T{:02}:{:02}:{:02}Z","UserPrincipalName":"u{i}@contoso.com","ResultType":"50126","IPAddress":"203.0.113.5","Pad":"{pad}"}}"#,
            10 + i / 3600,
            i / 60 % 60,
            i % 60
        )
        .expect("write");
    }
    w.write_all(close.as_bytes()).expect("write");
    w.flush().expect("flush");
    std::fs::metadata(path).expect("size").len()
}

/// Runs `idrecon hunt` on `path` under GNU time: (report, peak RSS in bytes).
fn hunt_measured(path: &Path) -> Option<(serde_json::Value, u64)> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let bin = Command::cargo_bin("idrecon").expect("binary");
    let dir = path.parent().expect("dir");
    let rss_file = dir.join("rss.txt");
    let out = Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(bin.get_program())
        .args(["hunt", "--format", "json", "--no-allowlist", "-q"])
        .arg(path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&out.stdout).expect("JSON report");
    let kib: u64 = std::fs::read_to_string(&rss_file)
        .expect("time's output")
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("peak RSS in KiB");
    Some((report, kib * 1024))
}

#[test]
fn a_300_mb_document_is_read_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, open, close, shape) in [
        ("array.json", "[", "]", "Log Analytics rows (JSON array)"),
        (
            "envelope.json",
            "{\"records\": [\n",
            "\n]}\n",
            "Azure Monitor records envelope",
        ),
    ] {
        let path = dir.path().join(name);
        let size = write_document(&path, open, close);
        assert!(size > 300_000_000, "{size}");
        let Some((report, rss)) = hunt_measured(&path) else {
            eprintln!("SKIPPED: /usr/bin/time (GNU time) is not installed");
            return;
        };
        let input = &report["inputs"][0];
        assert_eq!(input["shape"], shape, "{input}");
        assert_eq!(input["read"], RECORDS as u64, "{input}");
        assert_eq!(input["used"], RECORDS as u64, "{input}");
        assert_eq!(input["error"], serde_json::Value::Null, "{input}");
        // Well below the file: a few records, buffers and the engine's
        // state (read whole, the document alone took more than 300 MB).
        assert!(
            rss < 100 << 20,
            "{name}: peak RSS {rss} bytes for a {size}-byte document"
        );
        eprintln!("{name}: {size} bytes, peak RSS {} MiB", rss >> 20);
        std::fs::remove_file(&path).expect("remove");
    }
}
