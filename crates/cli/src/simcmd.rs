//! `idrecon simulate` and `idrecon eval`: labelled telemetry for the seed's
//! tests and false positives, and scoring of the detections against it.
//! The generator and the scoring live in `idrecon-sim`; this module parses
//! arguments, runs the hunts through [`crate::pipeline::hunt`] and prints.

use crate::pipeline::{HuntConfig, hunt, load_catalogue};
use anyhow::{Context, Result, bail};
use clap::Args;
use idrecon_allow::Allowlist;
use idrecon_rules::{Override, Profile};
use idrecon_sim::eval::{EvalReport, HuntResult, InputCheck, evaluate, render_table};
use idrecon_sim::labels::Labels;
use idrecon_sim::shape::{Shape, parse_shapes};
use idrecon_sim::simulate::{SimOptions, read_labels, simulate as run_simulate};
use idrecon_sim::{corpus, scenario};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

fn parse_override(s: &str) -> Result<Override, String> {
    s.parse()
        .map_err(|e: idrecon_rules::RuleError| e.to_string())
}

fn parse_start(s: &str) -> Result<i64, String> {
    idrecon_sim::time::parse_ns(s).ok_or_else(|| {
        format!("`{s}` is not a timestamp (use RFC 3339, e.g. 2024-05-01T00:00:00Z)")
    })
}

fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 1000.0 => Ok(x),
        _ => Err(format!(
            "`{s}` is not a scale between 0 and 1000 (1 = 2,000 active users)"
        )),
    }
}

/// Arguments of `idrecon simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Scenario name(s), comma-separated, or `all` (see --list).
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Output directory (created): `labels.json`, `allowlist.toml` and one
    /// directory per scenario and shape.
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// PRNG seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Shape(s), comma-separated, or `all` (every shape that carries a
    /// scenario's logs): la-ndjson, la-json, graph, azmon, portal-csv, xml, ecs, evtx-json.
    #[arg(long, default_value = "la-ndjson")]
    pub shape: String,
    /// Start of the simulated timeline (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_start)]
    pub start: Option<i64>,
    /// Background scale: 1 = 2,000 active users (the directory has at least 2,100).
    #[arg(long, default_value = "1", value_parser = parse_scale)]
    pub scale: f64,
    /// Days of background traffic.
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// Benchmark mode: write a corpus of about this size (e.g. 1GiB, 500MB)
    /// in one shape, background day after day with every other scenario
    /// embedded at a day and time recorded in labels.json.
    #[arg(long, value_name = "SIZE", value_parser = corpus::parse_size)]
    pub size: Option<u64>,
    /// List the scenarios and shapes and exit.
    #[arg(long)]
    pub list: bool,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Arguments of `idrecon eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A labels.json written by `idrecon simulate`.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "scenario",
        required_unless_present = "scenario"
    )]
    pub labels: Option<PathBuf>,
    /// Files or directories to hunt together against the labels (default:
    /// the units listed in the labels, one hunt each).
    #[arg(value_name = "PATH", requires = "labels")]
    pub paths: Vec<PathBuf>,
    /// Simulate these scenarios (comma-separated, or `all`) and evaluate them.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Seed for --scenario.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Shape(s) for --scenario, comma-separated, or `all`.
    #[arg(long, default_value = "la-ndjson")]
    pub shape: String,
    /// Background scale for --scenario.
    #[arg(long, default_value = "1", value_parser = parse_scale)]
    pub scale: f64,
    /// Timeline start for --scenario (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_start)]
    pub start: Option<i64>,
    /// Keep the data simulated for --scenario in DIR (default: a temporary
    /// directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Rule profile: `recommended` or `seed`.
    #[arg(long, default_value = "recommended", value_parser = parse_profile)]
    pub profile: Profile,
    /// Override a rule parameter (as for hunt), e.g. `--set auth_username_enumeration.threshold=20`.
    #[arg(long = "set", value_name = "K=V", value_parser = parse_override)]
    pub sets: Vec<Override>,
    /// Apply an allowlist: a file, or `labels` for the allowlist.toml that
    /// simulate wrote beside the labels. Suppressed benign findings then
    /// count as suppressed; suppressed attack findings as misses.
    #[arg(long, value_name = "FILE|labels")]
    pub allowlist: Option<String>,
    /// Hunt every scenario of one shape together (shows interference)
    /// instead of one hunt per scenario and shape.
    #[arg(long)]
    pub combined: bool,
    /// Output format: table or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 when recall (met / expected detections) is below R.
    #[arg(long, value_name = "R")]
    pub min_recall: Option<f64>,
    /// Exit with status 1 when there are more than N false positives
    /// (benign findings no allowlist class covers, and unattributed findings).
    #[arg(long, value_name = "N")]
    pub max_fp: Option<usize>,
    /// Resource limits of each hunt (as for `idrecon hunt`).
    #[command(flatten)]
    pub limits: crate::limits::LimitArgs,
}

fn shapes_of(spec: &str) -> Result<(Vec<Shape>, bool)> {
    let shapes = parse_shapes(spec).map_err(anyhow::Error::msg)?;
    Ok((shapes, spec.trim() == "all"))
}

fn list() -> ExitCode {
    println!("Scenarios:");
    for d in scenario::catalogue() {
        println!("  {:<22} {:<7} {}", d.name, d.kind.as_str(), d.title);
    }
    println!("\nShapes:");
    for s in Shape::ALL {
        println!("  {:<11} {}", s.name(), s.describe());
    }
    ExitCode::SUCCESS
}

/// Runs `idrecon simulate`.
pub fn simulate(a: SimulateArgs) -> Result<ExitCode> {
    if a.list {
        return Ok(list());
    }
    let Some(out) = a.out.clone() else {
        bail!("--out DIR is required")
    };
    let (shapes, all) = shapes_of(&a.shape)?;
    let mut opts = SimOptions::new(&out);
    opts.scenarios = a
        .scenario
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    opts.seed = a.seed;
    opts.shapes = shapes;
    opts.skip_inapplicable = all;
    if let Some(s) = a.start {
        opts.start = s;
    }
    opts.scale = a.scale;
    opts.days = a.days.max(1);
    if let Some(size) = a.size {
        if opts.shapes.len() != 1 {
            bail!(
                "--size writes one corpus in one shape: pass a single --shape (e.g. --shape la-ndjson)"
            );
        }
        let (labels, st) = corpus::write_corpus(&opts, size)
            .with_context(|| format!("writing the corpus into {}", out.display()))?;
        if !a.quiet {
            let mb = st.bytes as f64 / 1e6;
            eprintln!(
                "wrote {:.1} MB ({} records, {} days, {} embedded scenarios) in {:.2} s: {:.0} MB/s",
                mb,
                st.records,
                st.days,
                labels.scenarios.len() - 1,
                st.seconds,
                mb / st.seconds.max(1e-9)
            );
            eprintln!("labels: {}", out.join("labels.json").display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let labels =
        run_simulate(&opts).with_context(|| format!("simulating into {}", out.display()))?;
    if !a.quiet {
        for s in &labels.scenarios {
            let units: Vec<_> = labels
                .units
                .iter()
                .filter(|u| u.scenarios.contains(&s.name))
                .collect();
            let records: u64 = units
                .iter()
                .flat_map(|u| u.files.iter())
                .map(|f| f.records)
                .sum();
            let files: usize = units.iter().map(|u| u.files.len()).sum();
            eprintln!(
                "{:<22} {:<7} {:>8} rows in {:>3} files  {} → {}",
                s.name, s.kind, records, files, s.span.start, s.span.end
            );
        }
        eprintln!(
            "labels: {}  allowlist: {}",
            out.join("labels.json").display(),
            out.join("allowlist.toml").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let base = std::env::temp_dir();
        for i in 0..1000u32 {
            let p = base.join(format!("idrecon-eval-{}-{i}", std::process::id()));
            if std::fs::create_dir(&p).is_ok() {
                return Ok(TempDir(p));
            }
        }
        bail!("cannot create a temporary directory in {}", base.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One hunt to run: unit name, shape, scenarios, paths.
struct Job {
    unit: String,
    shape: String,
    scenarios: Vec<String>,
    paths: Vec<PathBuf>,
}

fn jobs(labels: &Labels, base: &Path, paths: &[PathBuf], combined: bool) -> Vec<Job> {
    if !paths.is_empty() {
        return vec![Job {
            unit: "input".into(),
            shape: "input".into(),
            scenarios: labels.scenarios.iter().map(|s| s.name.clone()).collect(),
            paths: paths.to_vec(),
        }];
    }
    if combined {
        let mut by: BTreeMap<String, Job> = BTreeMap::new();
        for u in &labels.units {
            let j = by.entry(u.shape.clone()).or_insert_with(|| Job {
                unit: format!("combined/{}", u.shape),
                shape: u.shape.clone(),
                scenarios: Vec::new(),
                paths: Vec::new(),
            });
            j.scenarios.extend(u.scenarios.iter().cloned());
            j.paths.extend(u.files.iter().map(|f| base.join(&f.path)));
        }
        return by.into_values().collect();
    }
    labels
        .units
        .iter()
        .map(|u| Job {
            unit: u.name.clone(),
            shape: u.shape.clone(),
            scenarios: u.scenarios.clone(),
            paths: u.files.iter().map(|f| base.join(&f.path)).collect(),
        })
        .collect()
}

/// Runs `idrecon eval`.
pub fn eval(a: EvalArgs) -> Result<ExitCode> {
    let mut _temp = None;
    let (labels, base) = match (&a.labels, &a.scenario) {
        (Some(file), _) => {
            let labels = read_labels(file)?;
            let base = file
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            (labels, base)
        }
        (None, Some(names)) => {
            let dir = match &a.out {
                Some(d) => d.clone(),
                None => {
                    let t = TempDir::new()?;
                    let p = t.0.clone();
                    _temp = Some(t);
                    p
                }
            };
            let (shapes, all) = shapes_of(&a.shape)?;
            let mut opts = SimOptions::new(&dir);
            opts.scenarios = names
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            opts.seed = a.seed;
            opts.shapes = shapes;
            opts.skip_inapplicable = all;
            opts.scale = a.scale;
            if let Some(s) = a.start {
                opts.start = s;
            }
            let labels = run_simulate(&opts)
                .with_context(|| format!("simulating into {}", dir.display()))?;
            (labels, dir)
        }
        (None, None) => bail!("give --labels FILE [PATH…] or --scenario NAME|all"),
    };
    let allowlist = match a.allowlist.as_deref() {
        None => None,
        Some("labels") => Some(Allowlist::from_path(&base.join("allowlist.toml"))?),
        Some(f) => Some(Allowlist::from_path(Path::new(f))?),
    };
    // Allowlist expiry is checked against the simulated day, not today.
    let today: Option<jiff::civil::Date> = labels.start.get(..10).and_then(|d| d.parse().ok());
    let catalogue = load_catalogue(a.profile, &a.sets, &[])?;
    let ids: Vec<String> = catalogue.rules().iter().map(|r| r.id.clone()).collect();
    let mut hunts = Vec::new();
    let mut inputs = Vec::new();
    for job in jobs(&labels, &base, &a.paths, a.combined) {
        let cfg = HuntConfig {
            paths: job.paths.clone(),
            profile: a.profile,
            overrides: a.sets.clone(),
            rules: Vec::new(),
            now: None,
            ingest: a.limits.ingest_options(false),
            max_events_per_key: a.limits.max_events_per_key,
            allowlist: allowlist.clone(),
            today,
        };
        let out = hunt(&cfg).with_context(|| format!("hunting {}", job.unit))?;
        // A limit that was hit changes what is scored: say so.
        for f in &out.ingest.files {
            if let Some(err) = &f.error {
                eprintln!(
                    "idrecon eval: {}: {}: warning: {}",
                    job.unit,
                    idrecon_report::escape::terminal(&f.path),
                    idrecon_report::escape::terminal(err)
                );
            }
        }
        for l in crate::limits::eviction_lines(&out.run, a.limits.max_events_per_key) {
            eprintln!("idrecon eval: {}: warning: {l}", job.unit);
        }
        let t = out.totals.clone();
        let mut shapes: Vec<String> = out.ingest.files.iter().map(|f| f.shape.clone()).collect();
        shapes.sort();
        shapes.dedup();
        inputs.push(InputCheck {
            unit: job.unit.clone(),
            shapes,
            read: t.read,
            used: t.used,
            rejected: t.rejected,
            first_reject: out
                .ingest
                .files
                .iter()
                .flat_map(|f| f.stats.rejects.iter())
                .next()
                .map(|r| format!("record {}: {}", r.record, r.reason)),
        });
        hunts.push(HuntResult {
            unit: job.unit,
            shape: job.shape,
            scenarios: job.scenarios,
            findings: out.findings,
            suppressed: out
                .suppressed
                .into_iter()
                .map(|s| (s.entry, s.finding))
                .collect(),
        });
    }
    let mut report: EvalReport = evaluate(
        &labels,
        a.profile.as_str(),
        &ids,
        &hunts,
        allowlist.is_some(),
    );
    report.inputs = inputs;
    let text = if a.format == "json" {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        render_table(&report)
    };
    match &a.output {
        Some(p) => {
            std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            lock.write_all(text.as_bytes())?;
        }
    }
    let t = &report.totals;
    let mut failed = false;
    if let Some(r) = a.min_recall
        && t.recall < r
    {
        eprintln!(
            "idrecon eval: recall {:.2} is below --min-recall {r}",
            t.recall
        );
        failed = true;
    }
    if let Some(n) = a.max_fp
        && t.false_positives > n
    {
        eprintln!(
            "idrecon eval: {} false positives, more than --max-fp {n}",
            t.false_positives
        );
        failed = true;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
