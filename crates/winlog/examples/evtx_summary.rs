//! Prints per-file record counts, events by ID and status, and parse time
//! for EVTX files given as arguments (a measurement aid).

use idrecon_core::FileStats;
use std::collections::BTreeMap;
use std::time::Instant;

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let size = bytes.len();
        let mut stats = FileStats::default();
        let mut by_id: BTreeMap<(String, Option<String>, Option<String>), u64> = BTreeMap::new();
        let t = Instant::now();
        idrecon_winlog::read_evtx(bytes, 0, &mut stats, &mut |e| {
            *by_id
                .entry((e.event_id.unwrap_or_default(), e.result_code, e.sub_status))
                .or_default() += 1;
        });
        let dt = t.elapsed();
        println!(
            "{path}: {} bytes, read {} used {} rejected {} in {:.1} ms ({:.0} records/s)",
            size,
            stats.read,
            stats.used,
            stats.rejected,
            dt.as_secs_f64() * 1e3,
            stats.read as f64 / dt.as_secs_f64()
        );
        for ((id, st, sub), n) in &by_id {
            println!("  {id} {st:?} {sub:?} x{n}");
        }
        for r in stats.rejects.iter().take(5) {
            println!("  reject {}: {}", r.record, r.reason);
        }
    }
}
