//! What the `evtx` crate alone costs on a corpus, to compare idrecon's EVTX
//! reading with its parse ceiling, and what an EventID-first filter could
//! save.
//!
//! ```text
//! evtx-ceiling xml|templates|filter THREADS DIR...
//! ```
//!
//! - `xml`: render every record to XML (what idrecon's reader does first);
//! - `templates`: only the crate's lightweight scan of each record's
//!   substitution values (`EvtxRecord::template_instances`), the least an
//!   EventID-first filter must do;
//! - `filter`: that scan, then XML only for records with a 16-bit
//!   substitution value among the event ids the rules read (4624, 4625,
//!   4768, 4771, 4776).
//!
//! Files are spread over THREADS threads (one file per thread at a time).
//! Prints records seen, records rendered and seconds.

use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxParser, ParserSettings};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

const WANTED: [u16; 5] = [4624, 4625, 4768, 4771, 4776];

fn files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                files(&e.path(), out);
            }
        }
    } else if p
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
    {
        out.push(p.to_path_buf());
    }
}

fn one(path: &Path, mode: &str, seen: &AtomicU64, rendered: &AtomicU64) {
    let settings = ParserSettings::new().num_threads(1).indent(false);
    let Ok(mut parser) = EvtxParser::from_path(path) else {
        return;
    };
    parser = parser.with_configuration(settings.clone());
    let settings = Arc::new(settings);
    for chunk in parser.chunks() {
        let Ok(mut data) = chunk else { continue };
        let Ok(mut chunk) = data.parse(settings.clone()) else {
            continue;
        };
        for rec in chunk.iter().flatten() {
            seen.fetch_add(1, Ordering::Relaxed);
            let render = match mode {
                "xml" => true,
                "templates" => {
                    let _ = rec.template_instances();
                    false
                }
                _ => rec.template_instances().is_ok_and(|ts| {
                    ts.iter().any(|t| {
                        t.values
                            .iter()
                            .any(|v| matches!(v, BinXmlValue::UInt16Type(n) if WANTED.contains(n)))
                    })
                }),
            };
            if render && rec.into_xml_bytes().is_ok() {
                rendered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: evtx-ceiling xml|templates|filter THREADS DIR...");
        return ExitCode::from(2);
    }
    let mode = args[0].clone();
    let threads: usize = args[1].parse().unwrap_or(1);
    let mut list = Vec::new();
    for d in &args[2..] {
        files(Path::new(d), &mut list);
    }
    let (seen, rendered, next) = (AtomicU64::new(0), AtomicU64::new(0), AtomicUsize::new(0));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                while let Some(p) = list.get(next.fetch_add(1, Ordering::Relaxed)) {
                    one(p, &mode, &seen, &rendered);
                }
            });
        }
    });
    println!(
        "mode={mode} threads={threads} files={} records={} rendered={} seconds={:.3}",
        list.len(),
        seen.load(Ordering::Relaxed),
        rendered.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
