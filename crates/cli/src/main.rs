//! `idrecon` command line.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use idrecon::pipeline::{HuntConfig, HuntOutcome, hunt};
use idrecon_core::Timestamp;
use idrecon_ingest::IngestOptions;
use idrecon_report::{Format, HuntReport, InputSummary, escape::terminal, write_report};
use idrecon_rules::{Override, Profile};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Find identity reconnaissance (MITRE ATT&CK T1589): username enumeration,
/// SSPR probing, password spray and MFA sweeps in Entra ID and Windows logs.
#[derive(Parser, Debug)]
#[command(name = "idrecon", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Hunt log files (Entra ID sign-in/audit exports, Windows Security logs) for identity reconnaissance.
    Hunt(HuntArgs),
    /// List the rule catalogue, or show one rule.
    Rules(RulesArgs),
    /// Write labelled attack and benign telemetry (the seed's tests and false positives) in every input shape.
    Simulate(idrecon::simcmd::SimulateArgs),
    /// Score the detections against labelled telemetry: detected, time to detect, false positives, precision, recall.
    Eval(idrecon::simcmd::EvalArgs),
    /// Run the detections live on a stream (stdin, followed files, Kafka / Event Hubs) with the same results as `hunt`.
    Watch(idrecon::watchcmd::WatchArgs),
}

#[derive(Args, Debug, Clone)]
struct RuleSelection {
    /// Rule profile: `seed` (the seed's queries exactly) or `recommended` (corrected logic).
    #[arg(long, default_value = "recommended", value_parser = parse_profile)]
    profile: Profile,
    /// Override a rule parameter: RULE.PARAM=VALUE, or PARAM=VALUE for every rule that has it
    /// (e.g. `--set auth_username_enumeration.threshold=20 --set window=30m`).
    #[arg(long = "set", value_name = "K=V", value_parser = parse_override)]
    sets: Vec<Override>,
    /// Run only this rule (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
}

#[derive(Args, Debug)]
struct HuntArgs {
    /// Files or directories to read (recursively); `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    selection: RuleSelection,
    /// Evaluation time of lookback (seed) rules, RFC 3339; default: the latest event in the input.
    #[arg(long, value_parser = parse_now)]
    now: Option<Timestamp>,
    /// Output format (default: table on a terminal, ndjson otherwise).
    #[arg(long, value_parser = parse_format)]
    format: Option<Format>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit with status 1 when there are findings.
    #[arg(long)]
    fail_on_findings: bool,
    /// Stop at the first rejected record.
    #[arg(long)]
    strict: bool,
    /// Do not print the input summary on standard error.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Allowlist file (TOML). Default: ./idrecon-allowlist.toml, then
    /// $XDG_CONFIG_HOME/idrecon/allowlist.toml, when present.
    #[arg(long, value_name = "FILE")]
    allowlist: Option<PathBuf>,
    /// Ignore allowlists, including the default locations.
    #[arg(long, conflicts_with = "allowlist")]
    no_allowlist: bool,
    /// Also list the findings an allowlist suppressed (table/ndjson/csv: after
    /// the others, marked; json: always included under `suppressed`).
    #[arg(long)]
    show_suppressed: bool,
}

#[derive(Args, Debug)]
struct RulesArgs {
    #[command(subcommand)]
    action: Option<RulesAction>,
    #[command(flatten)]
    selection: RuleSelection,
}

#[derive(Subcommand, Debug)]
enum RulesAction {
    /// Show one rule as resolved (YAML-like JSON), with its parameters and notes.
    Show {
        /// Rule id.
        id: String,
    },
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

fn parse_override(s: &str) -> Result<Override, String> {
    s.parse()
        .map_err(|e: idrecon_rules::RuleError| e.to_string())
}

fn parse_now(s: &str) -> Result<Timestamp, String> {
    idrecon_core::parse_timestamp(s).ok_or_else(|| {
        format!("`{s}` is not a timestamp (use RFC 3339, e.g. 2024-05-01T10:00:00Z)")
    })
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hunt(a) => cmd_hunt(a),
        Command::Rules(a) => cmd_rules(a),
        Command::Simulate(a) => idrecon::simcmd::simulate(a),
        Command::Eval(a) => idrecon::simcmd::eval(a),
        Command::Watch(a) => idrecon::watchcmd::watch(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("idrecon: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load_allowlist(a: &HuntArgs) -> Result<Option<idrecon_allow::Allowlist>> {
    if a.no_allowlist {
        return Ok(None);
    }
    if let Some(p) = &a.allowlist {
        return Ok(Some(idrecon_allow::Allowlist::from_path(p)?));
    }
    for p in idrecon_allow::default_locations() {
        if p.is_file() {
            return Ok(Some(idrecon_allow::Allowlist::from_path(&p)?));
        }
    }
    Ok(None)
}

fn cmd_hunt(a: HuntArgs) -> Result<ExitCode> {
    let allowlist = load_allowlist(&a)?;
    let cfg = HuntConfig {
        paths: a.paths.clone(),
        profile: a.selection.profile,
        overrides: a.selection.sets.clone(),
        rules: a.selection.rules.clone(),
        now: a.now,
        ingest: IngestOptions {
            strict: a.strict,
            ..IngestOptions::default()
        },
        allowlist,
        today: None,
    };
    let out = hunt(&cfg)?;
    if !a.quiet {
        print_summary(&out);
    }
    let format = a
        .format
        .unwrap_or(if a.output.is_none() && std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Ndjson
        });
    let report = HuntReport {
        tool: "idrecon",
        version: env!("CARGO_PKG_VERSION"),
        profile: cfg.profile.as_str().to_string(),
        now: out.run.now.map(|t| t.to_string()),
        inputs: out
            .ingest
            .files
            .iter()
            .map(|f| InputSummary {
                path: f.path.clone(),
                shape: f.shape.clone(),
                stats: f.stats.clone(),
                error: f.error.clone(),
            })
            .collect(),
        totals: out.totals.clone(),
        rules: serde_json::json!({
            "params": out.catalogue.rules().iter().map(|r| (r.id.clone(), serde_json::json!(r.params))).collect::<serde_json::Map<_, _>>(),
            "runs": out.run.rules,
        }),
        findings: &out.findings,
        suppressed: out
            .suppressed
            .iter()
            .map(|s| idrecon_report::SuppressedRef {
                entry: &s.entry,
                reason: &s.reason,
                finding: &s.finding,
            })
            .collect(),
        show_suppressed: a.show_suppressed,
    };
    match &a.output {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            );
            write_report(&mut f, format, &report)?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            write_report(&mut lock, format, &report)?;
        }
    }
    if out.totals.used == 0 {
        bail!(
            "no usable record in the input ({} read, {} rejected): check that the files are Entra ID sign-in/audit exports or Windows Security logs",
            out.totals.read,
            out.totals.rejected
        );
    }
    Ok(if a.fail_on_findings && !out.findings.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(out: &HuntOutcome) {
    let stderr = std::io::stderr();
    let mut e = stderr.lock();
    for f in &out.ingest.files {
        let _ = writeln!(
            e,
            "{}: {} — read {}, used {}, rejected {}",
            terminal(&f.path),
            f.shape,
            f.stats.read,
            f.stats.used,
            f.stats.rejected
        );
        for r in f.stats.rejects.iter().take(5) {
            let _ = writeln!(e, "  record {}: {}", r.record, terminal(&r.reason));
        }
        if f.stats.rejected > 5 {
            let _ = writeln!(
                e,
                "  … {} more rejected (see --format json for the first {})",
                f.stats.rejected - 5,
                f.stats.rejects.len()
            );
        }
        if let Some(err) = &f.error {
            let _ = writeln!(e, "  warning: {}", terminal(err));
        }
    }
    for w in &out.warnings {
        let _ = writeln!(e, "warning: {}", terminal(w));
    }
    for (name, n) in &out.allow_counts {
        let _ = writeln!(
            e,
            "allowlist entry `{}`: suppressed {n} finding(s)",
            terminal(name)
        );
    }
    let t = &out.totals;
    let _ = writeln!(
        e,
        "total: {} file(s), read {}, used {}, rejected {}; {} finding(s) [{} profile{}]",
        out.ingest.files.len(),
        t.read,
        t.used,
        t.rejected,
        out.findings.len(),
        out.catalogue.profile(),
        out.run
            .now
            .map(|n| format!(", now {n}"))
            .unwrap_or_default()
    );
}

fn cmd_rules(a: RulesArgs) -> Result<ExitCode> {
    let cat = idrecon::pipeline::load_catalogue(
        a.selection.profile,
        &a.selection.sets,
        &a.selection.rules,
    )?;
    match a.action {
        None => {
            for r in cat.rules() {
                println!("{:<34} {:<12} {}", r.id, r.profile, r.title);
            }
        }
        Some(RulesAction::Show { id }) => {
            let r = cat.get(&id).with_context(|| {
                format!(
                    "no rule `{id}` in the {} profile (try `idrecon rules`)",
                    cat.profile()
                )
            })?;
            println!("{}", serde_json::to_string_pretty(r)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
