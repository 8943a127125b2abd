//! The hunt pipeline shared by `hunt`, `eval` and tests.

use anyhow::{Context, Result};
use idrecon_allow::{Allowlist, Suppressed};
use idrecon_core::{FileStats, Finding, Timestamp};
use idrecon_engine::{EngineBuilder, RunSummary};
use idrecon_ingest::{IngestOptions, IngestReport, InputFile};
use idrecon_rules::{Catalogue, Override, Profile};
use std::path::PathBuf;

/// What to hunt and how.
#[derive(Debug, Clone)]
pub struct HuntConfig {
    /// Input paths (`-` = stdin).
    pub paths: Vec<PathBuf>,
    /// Rule profile.
    pub profile: Profile,
    /// Parameter overrides.
    pub overrides: Vec<Override>,
    /// Rule ids to run (all when empty).
    pub rules: Vec<String>,
    /// Evaluation time for lookback rules.
    pub now: Option<Timestamp>,
    /// Reader options.
    pub ingest: IngestOptions,
    /// Allowlist applied to the findings.
    pub allowlist: Option<Allowlist>,
    /// The day allowlist expiry is checked against (UTC today by default).
    pub today: Option<jiff::civil::Date>,
}

/// The result of a hunt.
#[derive(Debug)]
pub struct HuntOutcome {
    /// Findings in output order.
    pub findings: Vec<Finding>,
    /// Per-file read accounting.
    pub ingest: IngestReport,
    /// Totals over all files.
    pub totals: FileStats,
    /// Engine counters.
    pub run: RunSummary,
    /// The resolved catalogue.
    pub catalogue: Catalogue,
    /// Findings an allowlist entry suppressed.
    pub suppressed: Vec<Suppressed>,
    /// Suppressions per allowlist entry.
    pub allow_counts: Vec<(String, u64)>,
    /// Allowlist warnings (expired entries).
    pub warnings: Vec<String>,
}

/// Loads the rules of a configuration (profile, selection, overrides).
pub fn load_catalogue(
    profile: Profile,
    overrides: &[Override],
    rules: &[String],
) -> Result<Catalogue> {
    Ok(Catalogue::load(profile, overrides)?.select(rules)?)
}

/// Runs a hunt end to end.
pub fn hunt(cfg: &HuntConfig) -> Result<HuntOutcome> {
    hunt_observed(cfg, &mut crate::progress::Silent)
}

/// Runs a hunt end to end, reporting progress (files, records) to `obs`.
pub fn hunt_observed(
    cfg: &HuntConfig,
    obs: &mut dyn crate::progress::Observer,
) -> Result<HuntOutcome> {
    let catalogue = load_catalogue(cfg.profile, &cfg.overrides, &cfg.rules)?;
    let files: Vec<InputFile> = idrecon_ingest::expand_paths(&cfg.paths)?;
    let engine = EngineBuilder::new()
        .rules(catalogue.rules().iter().cloned())
        .profile(cfg.profile.as_str())
        .now(cfg.now)
        .build();
    let mut run = engine.run(files.iter().map(|f| f.display.clone()).collect());
    // One file at a time (as `read_all` does) so progress can follow.
    obs.start(&files);
    let mut ingest = IngestReport::default();
    for (i, f) in files.iter().enumerate() {
        obs.file_start(i, f);
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        let read = idrecon_ingest::read_file(f, index, &cfg.ingest, &mut |ev| {
            obs.record();
            run.push(ev)
        });
        let report = match read {
            Ok(r) => r,
            Err(e) => {
                obs.finish();
                return Err(e).context("reading the input failed");
            }
        };
        obs.file_done(i, f, &report);
        ingest.files.push(report);
    }
    obs.finish();
    let (findings, summary) = run.finish();
    let totals = ingest.totals();
    let (findings, suppressed, allow_counts, warnings) = match &cfg.allowlist {
        Some(a) => {
            let today = cfg.today.unwrap_or_else(|| {
                jiff::tz::Offset::UTC
                    .to_datetime(jiff::Timestamp::now())
                    .date()
            });
            let r = a.apply(findings, today);
            (r.findings, r.suppressed, r.counts, r.warnings)
        }
        None => (findings, Vec::new(), Vec::new(), Vec::new()),
    };
    Ok(HuntOutcome {
        findings,
        ingest,
        totals,
        run: summary,
        catalogue,
        suppressed,
        allow_counts,
        warnings,
    })
}
