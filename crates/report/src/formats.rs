//! Output formats.

use crate::ReportError;
use crate::escape::{csv_cell, terminal};
use crate::guide;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use idrecon_core::{FileStats, Finding};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::str::FromStr;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable table (terminal).
    Table,
    /// One JSON document: run metadata, inputs and findings.
    Json,
    /// One finding per line.
    Ndjson,
    /// One finding per row; lists joined with `;`.
    Csv,
    /// One self-contained HTML document with charts (no script, no external
    /// assets).
    Html,
    /// OCSF Detection Finding (class 2004) objects, one per line.
    Ocsf,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            "html" => Ok(Format::Html),
            "ocsf" => Ok(Format::Ocsf),
            _ => Err(format!(
                "unknown format `{s}` (expected table, json, ndjson, csv, html or ocsf)"
            )),
        }
    }
}

/// One input file as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    /// Path as given (or `-`).
    pub path: String,
    /// Detected shape.
    pub shape: String,
    /// Read accounting (with the first rejects and their reasons).
    #[serde(flatten)]
    pub stats: FileStats,
    /// A whole-file problem, if any.
    pub error: Option<String>,
}

/// What the report shows about a rule (from the rule catalogue; sinks never
/// see rules themselves).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleMeta {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// MITRE ATT&CK ids (`T1589.002`, …).
    pub mitre: Vec<String>,
    /// The measure the threshold applies to (`unique_usernames`, …).
    pub threshold_measure: String,
    /// The threshold (`gte`).
    pub threshold: Option<u64>,
    /// Window, e.g. `sliding 1h`.
    pub window: String,
}

/// Everything a hunt reports.
#[derive(Debug, Clone, Serialize)]
pub struct HuntReport<'a> {
    /// `idrecon`.
    pub tool: &'static str,
    /// Tool version.
    pub version: &'static str,
    /// Rule profile.
    pub profile: String,
    /// Evaluation time of lookback rules (RFC 3339), when known.
    pub now: Option<String>,
    /// Input files.
    pub inputs: Vec<InputSummary>,
    /// Totals over all inputs.
    pub totals: FileStats,
    /// Rule parameters and per-rule counters.
    pub rules: serde_json::Value,
    /// Findings in output order.
    pub findings: &'a [Finding],
    /// Findings an allowlist suppressed.
    pub suppressed: Vec<SuppressedRef<'a>>,
    /// Also print suppressed findings in the table, NDJSON, CSV, OCSF and
    /// HTML formats.
    #[serde(skip)]
    pub show_suppressed: bool,
    /// Rule titles, MITRE ids and thresholds by rule id.
    #[serde(skip)]
    pub rule_meta: BTreeMap<String, RuleMeta>,
    /// Account names were replaced by keyed pseudonyms.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// Colour the terminal table (severity) and guide headings.
    #[serde(skip)]
    pub color: bool,
}

/// A suppressed finding with the allowlist entry that matched it.
#[derive(Debug, Clone, Serialize)]
pub struct SuppressedRef<'a> {
    /// Entry name.
    pub entry: &'a str,
    /// Entry reason.
    pub reason: &'a str,
    /// The finding.
    pub finding: &'a Finding,
}

/// Writes the report in `format`.
pub fn write_report(
    w: &mut dyn Write,
    format: Format,
    report: &HuntReport<'_>,
) -> Result<(), ReportError> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *w, report)?;
            writeln!(w)?;
        }
        Format::Ndjson => {
            for f in report.findings {
                serde_json::to_writer(&mut *w, f)?;
                writeln!(w)?;
            }
            if report.show_suppressed {
                for s in &report.suppressed {
                    let mut v = serde_json::to_value(s.finding)?;
                    if let Some(o) = v.as_object_mut() {
                        o.insert("suppressed_by".into(), serde_json::Value::from(s.entry));
                        o.insert(
                            "suppressed_reason".into(),
                            serde_json::Value::from(s.reason),
                        );
                    }
                    serde_json::to_writer(&mut *w, &v)?;
                    writeln!(w)?;
                }
            }
        }
        Format::Csv => {
            let sup: Vec<(&Finding, &str)> = if report.show_suppressed {
                report
                    .suppressed
                    .iter()
                    .map(|s| (s.finding, s.entry))
                    .collect()
            } else {
                Vec::new()
            };
            write_csv(w, report.findings, &sup)?
        }
        Format::Ocsf => crate::ocsf::write(w, report)?,
        Format::Html => {
            let page = crate::html::render(report).map_err(|e| ReportError::Html(e.to_string()))?;
            w.write_all(page.as_bytes())?;
        }
        Format::Table => {
            write_table(w, report.findings, report.color)?;
            if report.show_suppressed && !report.suppressed.is_empty() {
                writeln!(w, "\nSuppressed by the allowlist:")?;
                for s in &report.suppressed {
                    writeln!(
                        w,
                        "  {} {} from {} ({} accounts) — entry `{}`: {}",
                        s.finding.severity,
                        s.finding.detection,
                        terminal(s.finding.source_ip.as_deref().unwrap_or("-")),
                        s.finding.unique_usernames,
                        terminal(s.entry),
                        terminal(s.reason)
                    )?;
                }
            }
        }
    }
    w.flush()?;
    Ok(())
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "detection",
    "profile",
    "severity",
    "source_ip",
    "app",
    "first_seen",
    "last_seen",
    "detection_time",
    "unique_usernames",
    "total_failures",
    "username_not_found_count",
    "enum_rate",
    "duration_minutes",
    "user_list",
    "error_codes",
    "details",
    "suppressed_by",
    "next_steps",
    "pivots",
];

fn write_csv(
    w: &mut dyn Write,
    findings: &[Finding],
    suppressed: &[(&Finding, &str)],
) -> Result<(), ReportError> {
    let mut c = csv::Writer::from_writer(w);
    c.write_record(CSV_COLUMNS)?;
    let rows = findings
        .iter()
        .map(|f| (f, ""))
        .chain(suppressed.iter().copied());
    for (f, by) in rows {
        let details_map: BTreeMap<&String, &serde_json::Value> =
            f.extra.iter().filter(|(k, _)| *k != guide::KEY).collect();
        let details = serde_json::to_string(&details_map)?;
        let g = guide::of(f).unwrap_or_default();
        let steps = g
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}", i + 1))
            .collect::<Vec<_>>()
            .join("\n");
        let pivots = g
            .pivots
            .iter()
            .map(|p| format!("[{}] {}\n{}", p.dialect, p.title, p.query))
            .collect::<Vec<_>>()
            .join("\n\n");
        let row = [
            f.id.clone(),
            f.detection.clone(),
            f.profile.clone(),
            f.severity.to_string(),
            f.source_ip.clone().unwrap_or_default(),
            f.app.clone().unwrap_or_default(),
            f.first_seen.to_string(),
            f.last_seen.to_string(),
            f.detection_time.to_string(),
            f.unique_usernames.to_string(),
            f.total_failures.to_string(),
            f.username_not_found_count.to_string(),
            f.enum_rate.to_string(),
            f.duration_minutes.to_string(),
            f.user_list.join(";"),
            f.error_codes.join(";"),
            details,
            by.to_string(),
            steps,
            pivots,
        ];
        c.write_record(row.iter().map(|s| csv_cell(s)))?;
    }
    c.flush()?;
    Ok(())
}

/// `2024-05-01 10:00:22` (UTC, whole seconds) for the table.
fn short_time(t: idrecon_core::Timestamp) -> String {
    let s = t.to_string();
    s.get(..19).map_or(s.clone(), |x| x.replace('T', " "))
}

fn list_preview(items: &[String], max: usize) -> String {
    let mut s: Vec<String> = items.iter().take(max).map(|u| terminal(u)).collect();
    if items.len() > max {
        s.push(format!("… +{}", items.len() - max));
    }
    s.join(", ")
}

/// ANSI colour of a severity word.
fn sev_color(s: &str) -> Option<&'static str> {
    match s {
        "critical" => Some("\x1b[1;31m"),
        "high" => Some("\x1b[31m"),
        "medium" => Some("\x1b[33m"),
        "low" => Some("\x1b[36m"),
        _ => None,
    }
}

/// Colours the severity word at the start of each table row (after the
/// border), leaving widths intact: the escapes are added after layout.
fn colorize_rows(table: &str) -> String {
    let mut out = String::with_capacity(table.len() + 64);
    for line in table.lines() {
        let mut done = false;
        if let Some(rest) = line.strip_prefix("│ ") {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase())
                .collect();
            if let Some(code) = sev_color(&word) {
                out.push_str("│ ");
                out.push_str(code);
                out.push_str(&word);
                out.push_str("\x1b[0m");
                out.push_str(&rest[word.len()..]);
                done = true;
            }
        }
        if !done {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn write_table(w: &mut dyn Write, findings: &[Finding], color: bool) -> Result<(), ReportError> {
    if findings.is_empty() {
        writeln!(w, "No findings.")?;
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "severity",
            "detection",
            "source",
            "app",
            "users",
            "events",
            "not found",
            "first seen",
            "last seen",
            "accounts",
        ]);
    for f in findings {
        let exposed = match (
            f.extra.get("valid_accounts"),
            f.extra.get("credential_confirmed_accounts"),
        ) {
            (Some(v), Some(c)) => {
                let n = |x: &serde_json::Value| x.as_array().map_or(0, Vec::len);
                format!("\nexists: {}, password ok: {}", n(v), n(c))
            }
            _ => String::new(),
        };
        t.add_row([
            f.severity.to_string(),
            f.detection.clone(),
            terminal(f.source_ip.as_deref().unwrap_or("-")),
            terminal(f.app.as_deref().unwrap_or("-")),
            f.unique_usernames.to_string(),
            f.total_failures.to_string(),
            f.username_not_found_count.to_string(),
            short_time(f.first_seen),
            short_time(f.last_seen),
            format!("{}{exposed}", list_preview(&f.user_list, 3)),
        ]);
    }
    let rendered = t.to_string();
    if color {
        write!(w, "{}", colorize_rows(&rendered))?;
    } else {
        writeln!(w, "{rendered}")?;
    }
    writeln!(w, "{} finding(s).", findings.len())?;
    let (bold, reset) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    for f in findings {
        let Some(g) = guide::of(f) else { continue };
        let sev = match (color, sev_color(f.severity.as_str())) {
            (true, Some(c)) => format!("{c}{}{reset}", f.severity),
            _ => f.severity.to_string(),
        };
        writeln!(
            w,
            "\n{bold}Next steps{reset} — {sev} {} from {} [{}]",
            f.detection,
            terminal(f.source_ip.as_deref().unwrap_or("-")),
            f.id
        )?;
        for (i, s) in g.steps.iter().enumerate() {
            writeln!(w, "  {}. {}", i + 1, terminal(s))?;
        }
        for p in &g.pivots {
            writeln!(
                w,
                "  {bold}[{}]{reset} {}",
                terminal(&p.dialect),
                terminal(&p.title)
            )?;
            for l in p.query.lines() {
                writeln!(w, "    {}", terminal(l))?;
            }
        }
    }
    Ok(())
}
