//! Writes benchmark corpora.
//!
//! ```text
//! idrecon-corpus signin --rows 270000 --out signins.ndjson [--seed 1589]
//! idrecon-corpus evtx --from ../shared/data --copies 90 --out evtx-corpus/
//! ```

use idrecon_bench::{SigninSpec, replicate_evtx, write_signin_ndjson};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  idrecon-corpus signin --rows N --out FILE [--seed S] [--days D]\n  idrecon-corpus evtx --from DIR --copies N --out DIR"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage();
    };
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    match cmd.as_str() {
        "signin" => {
            let (Some(rows), Some(out)) = (opt("--rows"), opt("--out")) else {
                return usage();
            };
            let mut spec = SigninSpec {
                rows: rows.parse().unwrap_or(270_000),
                ..Default::default()
            };
            if let Some(s) = opt("--seed") {
                spec.seed = s.parse().unwrap_or(spec.seed);
            }
            if let Some(d) = opt("--days") {
                spec.span = d.parse::<i64>().unwrap_or(7) * 86_400;
            }
            let file = match std::fs::File::create(&out) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("{out}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let mut w = BufWriter::with_capacity(1 << 20, file);
            match write_signin_ndjson(&mut w, &spec).and_then(|c| w.flush().map(|()| c)) {
                Ok(c) => {
                    println!(
                        "{out}: {} rows, {} bytes, {} successes ({:.1}%), {} rows with seed codes ({:.1}%)",
                        c.rows,
                        c.bytes,
                        c.successes,
                        100.0 * c.successes as f64 / c.rows.max(1) as f64,
                        c.seed_codes,
                        100.0 * c.seed_codes as f64 / c.rows.max(1) as f64
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{out}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        "evtx" => {
            let (Some(from), Some(copies), Some(out)) =
                (opt("--from"), opt("--copies"), opt("--out"))
            else {
                return usage();
            };
            match replicate_evtx(
                &PathBuf::from(from),
                &PathBuf::from(&out),
                copies.parse().unwrap_or(1),
            ) {
                Ok(files) => {
                    let bytes: u64 = files
                        .iter()
                        .filter_map(|f| std::fs::metadata(f).ok())
                        .map(|m| m.len())
                        .sum();
                    println!("{out}: {} files, {bytes} bytes", files.len());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{out}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => usage(),
    }
}
