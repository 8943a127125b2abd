//! The resource-limit options shared by `hunt` and `eval` (`watch` takes
//! only the record limit): sizes with units, and the engine's state cap.

use clap::Args;
use idrecon_ingest::IngestOptions;

/// What a size option accepts, for usage errors and `--help`.
pub const SIZE_SYNTAX: &str = "a whole number of bytes, optionally followed by a unit: KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 64MiB or 500MB";

/// Parses a size: `65536`, `64MiB`, `1GiB`, `512KiB`, `500MB` (units are
/// case-insensitive; KB / MB / GB / TB are powers of 1000, KiB / MiB / GiB /
/// TiB powers of 1024; `B` may be given). At least one byte.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(format!("`{s}` is not a size: give {SIZE_SYNTAX}"));
    }
    if unit.starts_with(['.', ',']) {
        return Err(format!(
            "`{s}` is not a whole number of bytes; give {SIZE_SYNTAX}"
        ));
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "`{s}`: unknown size unit `{}`; give {SIZE_SYNTAX}",
                unit.trim()
            ));
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is too large a size; give {SIZE_SYNTAX}"))?;
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large a size; give {SIZE_SYNTAX}"))?;
    if v == 0 {
        return Err(format!("`{s}`: the size must be at least 1 byte"));
    }
    Ok(v)
}

/// [`parse_size`] for limits held in a `usize`.
pub fn parse_size_usize(s: &str) -> Result<usize, String> {
    let v = parse_size(s)?;
    usize::try_from(v).map_err(|_| format!("`{s}` is too large a size on this platform"))
}

/// Parses the state cap: a whole number of events, at least 1.
pub fn parse_event_count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err(format!(
            "`{s}`: the cap must be at least 1 event (leave the option out for no cap)"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "`{s}` is not a number of events: give a whole number of at least 1, e.g. 100000"
        )),
    }
}

/// Resource limits of a hunt (`hunt`, `eval`).
#[derive(Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Largest single record accepted (NDJSON line, JSON array element or
    /// table row, CSV row); larger records are rejected with their size and
    /// reading goes on. SIZE: bytes or a unit, e.g. 64MiB (the default),
    /// 512KiB; KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_usize)]
    pub max_record_bytes: Option<usize>,
    /// Most a gzip / zstd file may expand to; reading stops there with a
    /// note and the records before are used. Default 16GiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_decompressed_bytes: Option<u64>,
    /// Largest Windows event XML, EVTX or UTF-16 file read into memory
    /// whole from a compressed file; reading stops there with a note. JSON
    /// documents are read record by record and are not limited by it.
    /// Default 1GiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_document_bytes: Option<u64>,
    /// Engine state cap: the most events (probes and confirmations each)
    /// one key of one rule keeps; past it the oldest are dropped, counted
    /// per rule in the summary and in the JSON report
    /// (`rules.runs[].evicted`), and the counts of that key become lower
    /// bounds. Default: no cap.
    #[arg(long, value_name = "N", value_parser = parse_event_count)]
    pub max_events_per_key: Option<usize>,
}

impl LimitArgs {
    /// The reader options these limits give (the library defaults for the
    /// limits not given).
    pub fn ingest_options(&self, strict: bool) -> IngestOptions {
        let d = IngestOptions::default();
        IngestOptions {
            strict,
            max_record_bytes: self.max_record_bytes.unwrap_or(d.max_record_bytes),
            max_decompressed_bytes: self
                .max_decompressed_bytes
                .unwrap_or(d.max_decompressed_bytes),
            max_document_bytes: self.max_document_bytes.unwrap_or(d.max_document_bytes),
        }
    }
}

/// Lines telling what the engine's state cap dropped, one per rule that
/// lost events (none without evictions).
pub fn eviction_lines(run: &idrecon_engine::RunSummary, cap: Option<usize>) -> Vec<String> {
    let cap = cap
        .map(|n| format!(" (--max-events-per-key {n})"))
        .unwrap_or_default();
    run.rules
        .iter()
        .filter(|r| r.evicted > 0)
        .map(|r| {
            format!(
                "state cap{cap}: rule `{}` dropped {} event(s), the oldest of keys over the cap; the counts of those keys are lower bounds (raise --max-events-per-key or leave it out)",
                r.rule, r.evicted
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Ok(65_536));
        assert_eq!(parse_size("64MiB"), Ok(67_108_864));
        assert_eq!(parse_size("1GiB"), Ok(1_073_741_824));
        assert_eq!(parse_size("512KiB"), Ok(524_288));
        assert_eq!(parse_size("512kib"), Ok(524_288));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("2 GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("3KB"), Ok(3_000));
        assert_eq!(parse_size("1TiB"), Ok(1_099_511_627_776));
        assert_eq!(parse_size("7B"), Ok(7));
        for bad in ["", "MiB", "1.5GiB", "-1", "12 parsecs", "0", "0KiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let e = parse_size("12 parsecs").expect_err("unit");
        assert!(e.contains("unknown size unit `parsecs`"), "{e}");
        assert!(e.contains("KiB, MiB, GiB, TiB (powers of 1024)"), "{e}");
        assert!(
            parse_size("99999999999999999999")
                .expect_err("big")
                .contains("too large")
        );
        assert!(
            parse_size("20000000TiB")
                .expect_err("big")
                .contains("too large")
        );
    }

    #[test]
    fn event_counts() {
        assert_eq!(parse_event_count("10"), Ok(10));
        assert!(
            parse_event_count("0")
                .expect_err("zero")
                .contains("at least 1")
        );
        assert!(
            parse_event_count("1k")
                .expect_err("unit")
                .contains("whole number")
        );
    }
}
