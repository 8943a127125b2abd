//! The hunt pipeline (rules → readers → engine) without report output, for
//! timing the readers' fast paths against the plain reading.
//!
//! ```text
//! idrecon-hunt-bench [--profile seed|recommended] [--plain] [--no-prefilter] [--no-direct] [--threads N] [--block-bytes N] [--dump FILE] PATH...
//! ```
//!
//! Prints one line: files, records read/used/rejected, events pushed,
//! findings, and a digest of the findings (equal digests: equal findings).

use idrecon_bench::hunt;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = hunt::Config::default();
    let mut paths = Vec::new();
    let mut dump: Option<String> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--profile" => cfg.profile = it.next().unwrap_or_default(),
            "--plain" => cfg.fast = false,
            "--no-prefilter" => cfg.prefilter = false,
            "--no-direct" => cfg.direct = false,
            "--threads" => cfg.threads = it.next().and_then(|t| t.parse().ok()).unwrap_or(1),
            "--block-bytes" => {
                cfg.block_bytes = it
                    .next()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(idrecon_ingest::DEFAULT_BLOCK_BYTES)
            }
            "--dump" => dump = it.next(),
            _ => paths.push(std::path::PathBuf::from(a)),
        }
    }
    match hunt::run(&cfg, &paths) {
        Ok(o) => {
            if let Some(d) = &dump
                && let Err(e) = std::fs::write(d, o.json.join("\n"))
            {
                eprintln!("{d}: {e}");
            }
            println!(
                "files={} read={} used={} rejected={} pushed={} findings={} digest={:016x}",
                o.files, o.read, o.used, o.rejected, o.pushed, o.findings, o.digest
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
