//! The floor of a non-validating prefilter on an NDJSON file: split lines
//! and find the `"ResultType"` value by byte search only (no JSON check),
//! counting the rows a rule could use. This is the probe the issue's peer
//! figures mention; idrecon's reader also validates every row (exact
//! record accounting), see docs/PERFORMANCE.md.
//!
//! ```text
//! ndjson-probe FILE [THREADS]
//! ```

use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;

const CODES: [&[u8]; 6] = [b"50034", b"50053", b"50055", b"50057", b"50072", b"50076"];

fn probe(buf: &[u8]) -> (u64, u64) {
    let finder = memchr::memmem::Finder::new(b"\"ResultType\"");
    let (mut rows, mut hits) = (0u64, 0u64);
    for line in buf.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        rows += 1;
        if let Some(at) = finder.find(line) {
            let rest = &line[at + 12..];
            let v = rest
                .iter()
                .position(|b| !matches!(b, b' ' | b':' | b'"'))
                .map_or(&rest[..0], |s| &rest[s..]);
            let end = v
                .iter()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(v.len());
            if CODES.contains(&&v[..end]) {
                hits += 1;
            }
        }
    }
    (rows, hits)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: ndjson-probe FILE [THREADS]");
        return ExitCode::from(2);
    };
    let threads: usize = args.get(1).and_then(|t| t.parse().ok()).unwrap_or(1).max(1);
    let start = Instant::now();
    let Ok(mut f) = std::fs::File::open(path) else {
        eprintln!("{path}: cannot open");
        return ExitCode::FAILURE;
    };
    // Blocks of 8 MiB cut at line ends, probed by `threads` threads.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(threads * 2);
    let rx = std::sync::Mutex::new(rx);
    let (rows, hits) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut acc = (0, 0);
                    loop {
                        let Ok(block) = rx.lock().map(|r| r.recv()) else {
                            return acc;
                        };
                        let Ok(block) = block else { return acc };
                        let (r, h) = probe(&block);
                        acc = (acc.0 + r, acc.1 + h);
                    }
                })
            })
            .collect();
        let mut carry = Vec::new();
        loop {
            let mut block = std::mem::take(&mut carry);
            let have = block.len();
            block.resize(have + (8 << 20), 0);
            let n = f.read(&mut block[have..]).unwrap_or(0);
            block.truncate(have + n);
            if n == 0 {
                if !block.is_empty() && tx.send(block).is_err() {
                    break;
                }
                break;
            }
            if let Some(cut) = memchr::memrchr(b'\n', &block) {
                carry = block.split_off(cut + 1);
            }
            if tx.send(block).is_err() {
                break;
            }
        }
        drop(tx);
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or((0, 0)))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    println!(
        "rows={rows} candidate_rows={hits} threads={threads} seconds={:.3}",
        start.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
