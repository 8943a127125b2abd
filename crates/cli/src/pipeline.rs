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
    /// Engine state cap per rule and key
    /// ([`EngineBuilder::max_events_per_key`]); `None`: no cap.
    pub max_events_per_key: Option<usize>,
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
        .max_events_per_key(cfg.max_events_per_key)
        .build();
    let mut run = engine.run(files.iter().map(|f| f.display.clone()).collect());
    obs.start(&files);
    let fast = fast_path(&catalogue);
    let read = {
        let mut feed = Feed {
            run: &mut run,
            obs: &mut *obs,
        };
        idrecon_ingest::read_all_into(&files, &cfg.ingest, &fast, &mut feed)
    };
    let ingest = match read {
        Ok(r) => r,
        Err(e) => {
            obs.finish();
            return Err(e).context("reading the input failed");
        }
    };
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

/// Feeds what the readers produce into an engine run, with progress.
struct Feed<'a, 'e> {
    run: &'a mut idrecon_engine::Run<'e>,
    obs: &'a mut dyn crate::progress::Observer,
}

impl idrecon_ingest::EventSink for Feed<'_, '_> {
    fn event(&mut self, ev: idrecon_core::Event) {
        self.obs.record();
        self.run.push(ev);
    }
    fn skipped(&mut self, time: Timestamp, kind: idrecon_core::EventKind) {
        self.obs.record();
        self.run.push_unused(time, kind);
    }
    fn file_start(&mut self, index: usize, file: &InputFile) {
        self.obs.file_start(index, file);
    }
    fn file_done(&mut self, index: usize, file: &InputFile, report: &idrecon_ingest::FileReport) {
        self.obs.file_done(index, file, report);
    }
}

/// The readers' fast paths for these rules: the scanning reader, a
/// prefilter that skips records no rule can use (derived from the rules'
/// `where` and `confirm` conditions on the result code, and on the EventID
/// for EVTX records) and every core.
/// `IDRECON_FAST_PATH=0` turns all of it off (the plain, sequential
/// reading; findings and counts are the same).
pub fn fast_path(catalogue: &Catalogue) -> idrecon_ingest::FastPath {
    if !idrecon_ingest::env_allows_fast_path() {
        return idrecon_ingest::FastPath::off();
    }
    let rules: Vec<idrecon_rules::Rule> = catalogue.rules().to_vec();
    let prefilter = idrecon_ingest::Prefilter::with_fields(move |kind, table, known| {
        rules.iter().any(|r| r.may_use(kind, table, known))
    });
    idrecon_ingest::FastPath {
        enabled: true,
        evtx_direct: true,
        prefilter: Some(prefilter),
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        block_bytes: idrecon_ingest::DEFAULT_BLOCK_BYTES,
    }
}

/// What reports and sinks show of each rule (title, description, MITRE
/// ids, threshold, window), by rule id.
pub fn rule_meta(
    cat: &idrecon_rules::Catalogue,
) -> std::collections::BTreeMap<String, idrecon_report::RuleMeta> {
    cat.rules()
        .iter()
        .map(|r| {
            let window = serde_json::to_value(r.window)
                .ok()
                .map(|w| {
                    format!(
                        "{} {}",
                        w.get("kind").and_then(|v| v.as_str()).unwrap_or(""),
                        w.get("length").and_then(|v| v.as_str()).unwrap_or("")
                    )
                    .trim()
                    .to_string()
                })
                .unwrap_or_default();
            (
                r.id.clone(),
                idrecon_report::RuleMeta {
                    title: r.title.clone(),
                    description: r.description.clone(),
                    mitre: r.mitre.clone(),
                    threshold_measure: r.threshold.measure.clone(),
                    threshold: Some(r.threshold.gte),
                    window,
                },
            )
        })
        .collect()
}
