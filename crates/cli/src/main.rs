//! `idrecon` command line.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use idrecon::pipeline::{HuntConfig, HuntOutcome, hunt_observed};
use idrecon_core::Timestamp;
use idrecon_report::{
    Format, HuntReport, InputSummary, escape::terminal, guide, redact::Redactor, write_report,
};
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
    /// Export every rule as native queries: Sentinel KQL, Splunk SPL, Elastic ES|QL, QRadar AQL,
    /// Sumo Logic, Chronicle YARA-L, CrowdStrike LogScale and Sigma.
    Export(idrecon::exportcmd::ExportArgs),
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
    #[command(flatten)]
    limits: idrecon::limits::LimitArgs,
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
    /// Replace every account name with a stable keyed pseudonym
    /// (HMAC-SHA256) in every format. Key: $IDRECON_REDACT_KEY, else a random
    /// key printed on standard error.
    #[arg(long)]
    redact: bool,
    /// Add ready-to-run pivot queries for each finding's source and accounts
    /// to its investigation guide, in these SIEM dialects (comma-separated or
    /// repeated): kql, spl, esql.
    #[arg(long, value_name = "DIALECT", value_delimiter = ',')]
    pivot: Vec<String>,
    /// Colour the terminal table: auto (a terminal and NO_COLOR unset),
    /// always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    color: String,
}

#[derive(Args, Debug)]
struct RulesArgs {
    #[command(subcommand)]
    action: Option<RulesAction>,
    #[command(flatten)]
    selection: RuleSelection,
    /// Output: `text` (readable documentation) or `json` (the resolved
    /// rules); default: text on a terminal, JSON otherwise.
    #[arg(long, value_parser = ["text", "json"], global = true)]
    format: Option<String>,
}

#[derive(Subcommand, Debug)]
enum RulesAction {
    /// Show one rule's documentation: title, description, sources, window,
    /// threshold, parameters with defaults, severity ladder, notes
    /// (`--format json`: the resolved rule).
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
        Command::Export(a) => idrecon::exportcmd::export(a),
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
        ingest: a.limits.ingest_options(a.strict),
        max_events_per_key: a.limits.max_events_per_key,
        allowlist,
        today: None,
    };
    let pivot_targets = parse_pivots(&a.pivot)?;
    let redactor = if a.redact {
        let r = Redactor::from_env().context("--redact")?;
        if let Some(k) = r.generated_key() {
            eprintln!(
                "idrecon: --redact: generated key {k} (set {}={k} to reproduce these pseudonyms)",
                idrecon_report::redact::KEY_ENV
            );
        }
        Some(r)
    } else {
        None
    };
    let mut out = match idrecon::progress::Bar::stderr(a.quiet) {
        Some(mut bar) => hunt_observed(&cfg, &mut bar)?,
        None => hunt_observed(&cfg, &mut idrecon::progress::Silent)?,
    };
    let mut inputs: Vec<InputSummary> = out
        .ingest
        .files
        .iter()
        .map(|f| InputSummary {
            path: f.path.clone(),
            shape: f.shape.clone(),
            stats: f.stats.clone(),
            error: f.error.clone(),
        })
        .collect();
    let mut totals = out.totals.clone();
    if let Some(r) = &redactor {
        let mut texts: Vec<&mut String> = Vec::new();
        for i in &mut inputs {
            for rej in &mut i.stats.rejects {
                texts.push(&mut rej.reason);
            }
            if let Some(e) = &mut i.error {
                texts.push(e);
            }
        }
        for rej in &mut totals.rejects {
            texts.push(&mut rej.reason);
        }
        r.findings(
            out.findings
                .iter_mut()
                .chain(out.suppressed.iter_mut().map(|s| &mut s.finding)),
            &mut texts,
        );
    }
    let rule_meta = idrecon::pipeline::rule_meta(&out.catalogue);
    for f in out
        .findings
        .iter_mut()
        .chain(out.suppressed.iter_mut().map(|s| &mut s.finding))
    {
        let pivots = pivots_for(&out.catalogue, f, &pivot_targets);
        guide::attach(f, rule_meta.get(&f.detection), pivots);
    }
    if !a.quiet {
        print_summary(&out, a.limits.max_events_per_key);
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
        inputs,
        totals,
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
        rule_meta,
        redacted: redactor.is_some(),
        color: use_color(
            &a.color,
            a.output.is_none() && std::io::stdout().is_terminal(),
        ),
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

/// Colour decision: `always`, `never`, or `auto` = a terminal and
/// `NO_COLOR` unset or empty (no-color.org).
fn use_color(when: &str, terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match when {
        "always" => true,
        "never" => false,
        _ => terminal && !no_color,
    }
}

/// The dialects of `--pivot`, checked.
fn parse_pivots(names: &[String]) -> Result<Vec<idrecon_export::Target>> {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            let t: idrecon_export::Target =
                n.parse().map_err(|e| anyhow::anyhow!("--pivot: {e}"))?;
            if !idrecon_export::pivot::supported(t) {
                bail!(
                    "--pivot: no pivot queries for {t} yet (supported: {})",
                    idrecon_export::pivot::SUPPORTED
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(t)
        })
        .collect()
}

/// Pivot queries for one finding, from the export compilers' tables.
fn pivots_for(
    cat: &idrecon_rules::Catalogue,
    f: &idrecon_core::Finding,
    targets: &[idrecon_export::Target],
) -> Vec<guide::Pivot> {
    let Some(rule) = cat.get(&f.detection) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in targets {
        match idrecon_export::pivot::pivots(rule, f, *t) {
            Ok(qs) => out.extend(qs.into_iter().map(|q| guide::Pivot {
                dialect: t.as_str().to_string(),
                title: q.title,
                query: q.query,
            })),
            Err(e) => eprintln!("idrecon: warning: no {t} pivot for finding {}: {e}", f.id),
        }
    }
    out
}

fn print_summary(out: &HuntOutcome, max_events_per_key: Option<usize>) {
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
    for l in idrecon::limits::eviction_lines(&out.run, max_events_per_key) {
        let _ = writeln!(e, "warning: {l}");
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
    // Readable text on a terminal, JSON when piped (as `hunt` picks table or
    // NDJSON), unless --format says.
    let json = match a.format.as_deref() {
        Some("json") => true,
        Some(_) => false,
        None => !std::io::stdout().is_terminal(),
    };
    match a.action {
        None if json => {
            let list: Vec<serde_json::Value> = cat
                .rules()
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "profile": r.profile, "title": r.title,
                        "description": r.description, "mitre": r.mitre,
                        "kinds": r.kinds, "tables": r.tables, "params": r.params,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        None => {
            println!("{:<34} {:<12} {:<40} TITLE", "ID", "PROFILE", "SOURCES");
            for r in cat.rules() {
                println!(
                    "{:<34} {:<12} {:<40} {}",
                    r.id,
                    r.profile,
                    rule_sources(r),
                    r.title
                );
            }
            println!(
                "\n`idrecon rules show ID` documents a rule (parameters, defaults, notes); --profile seed lists the seed's rules."
            );
        }
        Some(RulesAction::Show { id }) => {
            let r = cat.get(&id).with_context(|| {
                format!(
                    "no rule `{id}` in the {} profile (try `idrecon rules`)",
                    cat.profile()
                )
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(r)?);
            } else {
                let defaults = idrecon::pipeline::load_catalogue(a.selection.profile, &[], &[])?;
                let other = match a.selection.profile {
                    Profile::Seed => Profile::Recommended,
                    _ => Profile::Seed,
                };
                let in_other = idrecon::pipeline::load_catalogue(other, &[], &[])
                    .ok()
                    .is_some_and(|c| c.get(&id).is_some());
                print!(
                    "{}",
                    rule_doc(r, defaults.get(&id), in_other.then_some(other))
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `entra_signin (SigninLogs, AADNonInteractiveUserSignInLogs)`.
fn rule_sources(r: &idrecon_rules::Rule) -> String {
    let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
    if r.tables.is_empty() {
        kinds.join(", ")
    } else {
        format!("{} ({})", kinds.join(", "), r.tables.join(", "))
    }
}

/// Wraps `text` at `width` columns, each line starting with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + w.chars().count() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn cond_text(c: &idrecon_rules::Condition) -> String {
    match c.lte {
        Some(hi) => format!("{} between {} and {hi}", c.measure, c.gte),
        None => format!("{} >= {}", c.measure, c.gte),
    }
}

/// A rule's documentation as text.
fn rule_doc(
    r: &idrecon_rules::Rule,
    defaults: Option<&idrecon_rules::Rule>,
    other_profile: Option<Profile>,
) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "{} ({} profile)", r.id, r.profile);
    let _ = writeln!(o, "{}\n", r.title);
    o.push_str(&wrap(&r.description, 80, "  "));
    o.push('\n');
    let mitre: Vec<String> = r
        .mitre
        .iter()
        .map(|m| match idrecon_report::mitre::technique(m) {
            Some(t) => format!("{m} {}", t.name),
            None => m.clone(),
        })
        .collect();
    let window = serde_json::to_value(r.window)
        .map(|w| format!("{} {}", value_text(&w["kind"]), value_text(&w["length"])))
        .unwrap_or_default();
    let rows = [
        ("MITRE ATT&CK", mitre.join(", ")),
        ("Reads", rule_sources(r)),
        (
            "Groups by",
            r.key
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("Window", window),
        (
            "Threshold",
            format!("{} >= {}", r.threshold.measure, r.threshold.gte),
        ),
        (
            "Requires",
            r.require
                .iter()
                .map(cond_text)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (
            "Severity",
            r.severity
                .iter()
                .map(|arm| {
                    if arm.any.is_empty() {
                        format!("{} otherwise", arm.level)
                    } else {
                        format!(
                            "{} if {}",
                            arm.level,
                            arm.any
                                .iter()
                                .map(cond_text)
                                .collect::<Vec<_>>()
                                .join(" or ")
                        )
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (
            "Other profile",
            other_profile
                .map(|p| format!("also defined in the {p} profile (--profile {p})"))
                .unwrap_or_default(),
        ),
    ];
    for (k, v) in rows {
        if !v.is_empty() {
            let _ = writeln!(o, "{:<14} {}", format!("{k}:"), v);
        }
    }
    let _ = writeln!(
        o,
        "\nParameters (override with --set {}.PARAM=VALUE):",
        r.id
    );
    let width = r.params.keys().map(|k| k.len()).max().unwrap_or(8);
    for (k, v) in &r.params {
        let d = defaults.and_then(|d| d.params.get(k));
        let mark = match d {
            Some(d) if d != v => format!("   (default: {})", value_text(d)),
            _ => String::new(),
        };
        let _ = writeln!(o, "  {k:<width$}  {}{mark}", value_text(v));
    }
    if !r.notes.is_empty() {
        let _ = writeln!(o, "\nNotes:");
        for n in &r.notes {
            let w = wrap(n, 80, "    ");
            let _ = write!(o, "  - {}", w.trim_start());
        }
    }
    o
}
