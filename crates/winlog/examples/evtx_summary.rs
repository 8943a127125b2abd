//! Prints, for each EVTX file given, the records read/used/rejected, the
//! events by ID and status, and the best-of-five parse time (a measurement
//! aid: `cargo run --release -p idrecon-winlog --example evtx_summary -- FILE…`).

use idrecon_core::FileStats;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

type Tally = BTreeMap<(String, Option<String>, Option<String>), u64>;

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let mut best = Duration::MAX;
        let mut result: Option<(FileStats, Tally)> = None;
        for _ in 0..5 {
            let mut stats = FileStats::default();
            let mut by_id = Tally::new();
            let copy = bytes.clone();
            let t = Instant::now();
            idrecon_winlog::read_evtx(copy, 0, &mut stats, &mut |e| {
                *by_id
                    .entry((e.event_id.unwrap_or_default(), e.result_code, e.sub_status))
                    .or_default() += 1;
            });
            best = best.min(t.elapsed());
            result = Some((stats, by_id));
        }
        let Some((stats, by_id)) = result else {
            continue;
        };
        let secs = best.as_secs_f64();
        println!(
            "{path}: {} bytes, read {} used {} rejected {} in {:.2} ms ({:.0} records/s, {:.0} MB/s)",
            bytes.len(),
            stats.read,
            stats.used,
            stats.rejected,
            secs * 1e3,
            stats.read as f64 / secs,
            bytes.len() as f64 / secs / 1e6,
        );
        for ((id, st, sub), n) in &by_id {
            println!("  {id} {st:?} {sub:?} x{n}");
        }
        for r in stats.rejects.iter().take(5) {
            println!("  reject {}: {}", r.record, r.reason);
        }
    }
}
