//! The self-contained HTML report: one file, no script, no external asset,
//! inline SVG charts, a strict Content-Security-Policy and print styles.
//!
//! The page is an askama template (`templates/report.html`, HTML
//! auto-escaping on). Every value handed to it is plain text with control
//! characters made visible ([`crate::escape::visible`]); the template escapes
//! it. The only pre-rendered markup is the SVG of the charts ([`svg`]), which
//! escapes its own text with [`crate::escape::html`].

pub mod svg;

use crate::escape::visible;
use crate::formats::{HuntReport, RuleMeta};
use crate::{guide, mitre, ocsf};
use askama::Template;
use idrecon_core::{Finding, Severity, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use svg::{Bar, Marks, Point, Series, Split};

/// The page's style sheet; its SHA-256 is allowed by the CSP.
pub const STYLE: &str = include_str!("../../templates/report.css");

/// The Content-Security-Policy of the page: nothing may load or run except
/// the one inline style sheet (by hash).
pub fn csp() -> String {
    format!(
        "default-src 'none'; style-src '{}'; img-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'",
        style_hash()
    )
}

fn style_hash() -> String {
    format!("sha256-{}", base64(&Sha256::digest(STYLE.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

struct SevCount {
    name: &'static str,
    class: &'static str,
    count: usize,
    detections: String,
}

struct SourceRow {
    sev: Severity,
    source: String,
    severity: &'static str,
    class: &'static str,
    detections: String,
    accounts: u64,
    events: u64,
    first: String,
    last: String,
}

struct ConfirmedRow {
    account: String,
    source: String,
    signin: String,
    detection: String,
}

struct AccountTag {
    account: String,
    class: &'static str,
    sources: String,
}

struct Figure {
    svg: String,
    caption: String,
}

struct MitreRef {
    id: String,
    name: String,
    url: String,
}

struct EvidenceRow {
    time: String,
    user: String,
    code: String,
    app: String,
    user_agent: String,
    location: String,
}

struct PivotRow {
    dialect: String,
    title: String,
    query: String,
}

struct Card {
    anchor: String,
    severity: &'static str,
    title: String,
    source: String,
    facts: Vec<(String, String)>,
    mitre: Vec<MitreRef>,
    confirmed: Vec<String>,
    exposed: Vec<String>,
    accounts: Vec<String>,
    unique: u64,
    more: u64,
    context: Vec<(String, String)>,
    evidence: Vec<EvidenceRow>,
    steps: Vec<String>,
    pivots: Vec<PivotRow>,
}

struct InputRow {
    path: String,
    shape: String,
    read: u64,
    used: u64,
    rejected: u64,
    kinds: String,
    problems: String,
}

struct RuleRow {
    id: String,
    title: String,
    runs: String,
    params: Vec<(String, String)>,
}

struct SuppressedRow {
    severity: &'static str,
    detection: String,
    source: String,
    accounts: u64,
    entry: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "report.html", escape = "html")]
struct Page {
    title: String,
    csp: String,
    style: &'static str,
    tool: String,
    version: String,
    profile: String,
    now: String,
    redacted: bool,
    n_accounts: usize,
    severities: Vec<SevCount>,
    sources: Vec<SourceRow>,
    confirmed: Vec<ConfirmedRow>,
    exposed: Vec<AccountTag>,
    timelines: Vec<Figure>,
    accounts_chart: String,
    diff_chart: String,
    top_chart: String,
    cards: Vec<Card>,
    suppressed: Vec<SuppressedRow>,
    inputs: Vec<InputRow>,
    totals: InputRow,
    rules: Vec<RuleRow>,
}

fn sev_class(s: Severity) -> &'static str {
    s.as_str()
}

fn strings(f: &Finding, key: &str) -> Vec<String> {
    match f.extra.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn short(t: Timestamp) -> String {
    let s = t.to_string();
    s.get(..19).map_or(s.clone(), |x| x.replace('T', " "))
}

fn src(f: &Finding) -> String {
    f.source_ip.clone().unwrap_or_else(|| "-".to_string())
}

/// A compact rendering of a JSON detail value.
fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            a.iter().map(compact).collect::<Vec<_>>().join(", ")
        }
        Value::Null => "—".to_string(),
        other => other.to_string(),
    }
}

/// The activity series of a finding: the engine's per-bucket `timeline`
/// when present, else an estimate from the finding's totals.
pub fn series(f: &Finding, threshold: Option<u64>) -> Series {
    timeline_field(f).unwrap_or_else(|| estimate(f, threshold))
}

/// Reads `timeline: {bucket_seconds, points: [{t, failures, accounts,
/// new_accounts}]}` from the finding's details.
fn timeline_field(f: &Finding) -> Option<Series> {
    let t = f.extra.get("timeline")?;
    let bucket = t
        .get("bucket_seconds")
        .and_then(Value::as_i64)
        .unwrap_or(60);
    let pts = t.get("points")?.as_array()?;
    let mut cum: Option<u64> = Some(0);
    let mut points = Vec::with_capacity(pts.len());
    for p in pts {
        let ts = match p.get("t") {
            Some(Value::String(s)) => idrecon_core::parse_timestamp(s)?.as_second(),
            Some(Value::Number(n)) => n.as_i64()?,
            _ => return None,
        };
        let new = p.get("new_accounts").and_then(Value::as_u64);
        cum = match (cum, new) {
            (Some(c), Some(n)) => Some(c + n),
            _ => None,
        };
        points.push(Point {
            t: ts,
            failures: p.get("failures").and_then(Value::as_u64).unwrap_or(0),
            accounts: p.get("accounts").and_then(Value::as_u64).unwrap_or(0),
            cumulative: cum,
        });
    }
    if points.is_empty() {
        return None;
    }
    if cum.is_none() {
        points.iter_mut().for_each(|p| p.cumulative = None);
    }
    Some(Series {
        bucket: bucket.max(1),
        points,
        estimated: false,
    })
}

/// Spreads `total` over `n` slots as evenly as integers allow, the
/// remainder spaced out over the slots (not piled at the start).
fn spread(total: u64, n: usize) -> Vec<u64> {
    let n = n as u64;
    (0..n)
        .map(|i| (i + 1) * total / n - i * total / n)
        .collect()
}

/// Per-minute estimate from what a finding carries: events spread evenly
/// over the episode (the peak window's events over its minutes), distinct
/// accounts interpolated through the known points (first event: 1, the
/// threshold at `threshold_crossed_at`, `unique_usernames` at the end).
fn estimate(f: &Finding, threshold: Option<u64>) -> Series {
    let first = f.first_seen.as_second();
    let last = f.last_seen.as_second().max(first);
    // Per minute, or finer for short episodes (at least ~12 buckets), or
    // coarser for very long ones (at most 10,080 buckets).
    let span = last - first;
    let bucket = [5i64, 10, 15, 30, 60]
        .into_iter()
        .find(|b| span / b <= 48)
        .unwrap_or(60)
        .max(span / 10_079);
    let t0 = first.div_euclid(bucket) * bucket;
    let t1 = last.div_euclid(bucket) * bucket;
    let n = ((t1 - t0) / bucket + 1).max(1) as usize;
    let slot = |t: i64| (((t - t0) / bucket).clamp(0, n as i64 - 1)) as usize;

    let mut failures = vec![0u64; n];
    match &f.peak_window {
        Some(p) if p.total_failures <= f.total_failures => {
            let (a, b) = (slot(p.start.as_second()), slot(p.end.as_second()));
            let in_peak: Vec<usize> = (a..=b).collect();
            let outside: Vec<usize> = (0..n).filter(|i| *i < a || *i > b).collect();
            let rest = f.total_failures - p.total_failures;
            let (peak_total, rest) = if outside.is_empty() {
                (f.total_failures, 0)
            } else {
                (p.total_failures, rest)
            };
            for (i, v) in in_peak.iter().zip(spread(peak_total, in_peak.len())) {
                failures[*i] += v;
            }
            for (i, v) in outside.iter().zip(spread(rest, outside.len())) {
                failures[*i] += v;
            }
        }
        _ => {
            for (i, v) in spread(f.total_failures, n).into_iter().enumerate() {
                failures[i] = v;
            }
        }
    }

    // Known (time, cumulative accounts) points.
    let unique = f.unique_usernames;
    let mut anchors: Vec<(i64, f64)> = vec![(first, unique.min(1) as f64)];
    if let (Some(c), Some(th)) = (f.threshold_crossed_at, threshold)
        && th <= unique
        && c.as_second() > first
        && c.as_second() < last
    {
        anchors.push((c.as_second(), th as f64));
    }
    anchors.push((last, unique as f64));
    let at = |t: i64| -> f64 {
        if t <= anchors[0].0 {
            return anchors[0].1;
        }
        for w in anchors.windows(2) {
            let ((ta, va), (tb, vb)) = (w[0], w[1]);
            if t <= tb {
                let span = (tb - ta).max(1) as f64;
                return va + (vb - va) * (t - ta) as f64 / span;
            }
        }
        unique as f64
    };
    let mut points = Vec::with_capacity(n);
    let mut prev = 0u64;
    for (i, fails) in failures.into_iter().enumerate() {
        let t = t0 + i as i64 * bucket;
        let end = (t + bucket).min(last);
        let cum = (at(end).round() as u64).clamp(prev, unique);
        points.push(Point {
            t,
            failures: fails,
            accounts: cum - prev,
            cumulative: Some(cum),
        });
        prev = cum;
    }
    Series {
        bucket,
        points,
        estimated: true,
    }
}

fn threshold_of(meta: Option<&RuleMeta>) -> Option<u64> {
    meta.filter(|m| m.threshold_measure == "unique_usernames")
        .and_then(|m| m.threshold)
}

fn label(f: &Finding) -> String {
    format!("{} · {}", src(f), f.detection)
}

/// Renders the report as one HTML document.
pub fn render(report: &HuntReport<'_>) -> Result<String, askama::Error> {
    let findings = report.findings;
    let meta = |f: &Finding| report.rule_meta.get(&f.detection);

    // Summary.
    let severities = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ]
    .into_iter()
    .map(|s| {
        let of: Vec<&Finding> = findings.iter().filter(|f| f.severity == s).collect();
        let mut dets: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &of {
            *dets.entry(f.detection.as_str()).or_default() += 1;
        }
        SevCount {
            name: s.as_str(),
            class: sev_class(s),
            count: of.len(),
            detections: dets
                .iter()
                .map(|(d, n)| format!("{d} ×{n}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    })
    .collect();

    let mut by_source: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by_source.entry(src(f)).or_default().push(f);
    }
    let mut sources: Vec<SourceRow> = by_source
        .iter()
        .map(|(s, fs)| {
            let sev = fs.iter().map(|f| f.severity).max().unwrap_or(Severity::Low);
            let mut dets: Vec<&str> = fs.iter().map(|f| f.detection.as_str()).collect();
            dets.dedup();
            SourceRow {
                sev,
                source: visible(s),
                severity: sev.as_str(),
                class: sev_class(sev),
                detections: dets.join(", "),
                accounts: fs.iter().map(|f| f.unique_usernames).max().unwrap_or(0),
                events: fs.iter().map(|f| f.total_failures).max().unwrap_or(0),
                first: fs
                    .iter()
                    .map(|f| f.first_seen)
                    .min()
                    .map(short)
                    .unwrap_or_default(),
                last: fs
                    .iter()
                    .map(|f| f.last_seen)
                    .max()
                    .map(short)
                    .unwrap_or_default(),
            }
        })
        .collect();
    sources.sort_by(|a, b| b.sev.cmp(&a.sev).then(b.accounts.cmp(&a.accounts)));

    // Accounts: status and which sources probed them.
    #[derive(Default)]
    struct Acct {
        status: u8, // 0 probed, 1 exists, 2 confirmed
        sources: BTreeSet<String>,
        display: String,
    }
    let mut accounts: BTreeMap<String, Acct> = BTreeMap::new();
    let mut confirmed_rows = Vec::new();
    for f in findings {
        let s = src(f);
        let mut touch = |name: &str, status: u8| {
            if name.is_empty() {
                return;
            }
            let a = accounts.entry(name.to_lowercase()).or_default();
            if a.display.is_empty() {
                a.display = name.to_string();
            }
            a.status = a.status.max(status);
            a.sources.insert(s.clone());
        };
        f.user_list.iter().for_each(|u| touch(u, 0));
        strings(f, "valid_accounts")
            .iter()
            .for_each(|u| touch(u, 1));
        let conf = strings(f, "credential_confirmed_accounts");
        conf.iter().for_each(|u| touch(u, 2));
        let signins = f
            .extra
            .get("credential_confirmed_signins")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for c in &conf {
            let si = signins.iter().find(|x| {
                x.get("account")
                    .and_then(Value::as_str)
                    .is_some_and(|a| a.eq_ignore_ascii_case(c))
            });
            let signin = match si {
                Some(x) => {
                    let g = |k: &str| x.get(k).and_then(Value::as_str).unwrap_or("");
                    let mut parts = vec![format!("code {}", g("result_code"))];
                    for (k, label) in [
                        ("time", "at"),
                        ("app", "to"),
                        ("client_app", "via"),
                        ("auth_requirement", "requirement"),
                    ] {
                        if !g(k).is_empty() {
                            parts.push(format!("{label} {}", g(k)));
                        }
                    }
                    parts.join(" ")
                }
                None => "password-accepted response during the probing".to_string(),
            };
            confirmed_rows.push(ConfirmedRow {
                account: visible(c),
                source: visible(&s),
                signin: visible(&signin),
                detection: f.detection.clone(),
            });
        }
    }
    let n_accounts = accounts.len();
    let mut exposed: Vec<(&String, &Acct)> =
        accounts.iter().filter(|(_, a)| a.status >= 1).collect();
    exposed.sort_by(|a, b| b.1.status.cmp(&a.1.status).then(a.0.cmp(b.0)));
    let exposed: Vec<AccountTag> = exposed
        .into_iter()
        .map(|(_, a)| AccountTag {
            account: visible(&a.display),
            class: if a.status == 2 { "confirmed" } else { "exists" },
            sources: visible(&format!(
                "probed by {}",
                a.sources.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
        })
        .collect();

    // Charts.
    let timelines = findings
        .iter()
        .map(|f| {
            let th = threshold_of(meta(f));
            let s = series(f, th);
            let marks = Marks {
                threshold: th,
                crossed_at: f.threshold_crossed_at.map(|t| t.as_second()),
                peak: f
                    .peak_window
                    .as_ref()
                    .map(|p| (p.start.as_second(), p.end.as_second())),
            };
            let est = if s.estimated {
                " Counts per time bucket are estimated from the finding's totals (events spread over the episode and its busiest window; accounts interpolated through the threshold crossing)."
            } else {
                ""
            };
            Figure {
                svg: svg::timeline(&s, &marks, &label(f)),
                caption: visible(&format!(
                    "{} — {} ({}): {} events, {} distinct accounts, {} to {} UTC.{est}",
                    src(f),
                    f.detection,
                    f.severity,
                    f.total_failures,
                    f.unique_usernames,
                    short(f.first_seen),
                    short(f.last_seen)
                )),
            }
        })
        .collect();
    let accounts_chart = svg::hbars(
        &findings
            .iter()
            .map(|f| Bar {
                label: label(f),
                value: f.unique_usernames as f64,
                class: format!("sev-{}", f.severity),
                tick: meta(f).and_then(|m| m.threshold).map(|t| t as f64),
                title: format!(
                    "{}: {} distinct accounts ({} severity)",
                    label(f),
                    f.unique_usernames,
                    f.severity
                ),
            })
            .collect::<Vec<_>>(),
        "Distinct accounts per source",
        "accounts",
    );
    let diff_rows: Vec<Split> = findings
        .iter()
        .filter_map(|f| {
            let nf = f.extra.get("not_found_count").and_then(Value::as_u64);
            let ex = f.extra.get("exists_count").and_then(Value::as_u64);
            let valid = strings(f, "valid_accounts").len() as u64;
            let conf = strings(f, "credential_confirmed_accounts").len() as u64;
            if nf.is_none() && ex.is_none() && valid == 0 {
                return None;
            }
            Some(Split {
                label: label(f),
                not_found: nf.unwrap_or(0),
                exists: ex.unwrap_or(valid).max(conf),
                confirmed: conf,
            })
        })
        .collect();
    let diff_chart = svg::differential(&diff_rows, "Not-found / exists differential per source");
    let mut top: Vec<&Acct> = accounts.values().collect();
    top.sort_by(|a, b| {
        b.sources
            .len()
            .cmp(&a.sources.len())
            .then(b.status.cmp(&a.status))
            .then(a.display.cmp(&b.display))
    });
    let top_chart = svg::hbars(
        &top.iter()
            .take(15)
            .map(|a| Bar {
                label: a.display.clone(),
                value: a.sources.len() as f64,
                class: match a.status {
                    2 => "acct-confirmed",
                    1 => "acct-exists",
                    _ => "acct-probed",
                }
                .to_string(),
                tick: None,
                title: format!(
                    "{}: probed by {}",
                    a.display,
                    a.sources.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            })
            .collect::<Vec<_>>(),
        "Top targeted accounts",
        "source(s)",
    );

    let cards = findings.iter().map(|f| card(f, meta(f))).collect();
    let suppressed = report
        .suppressed
        .iter()
        .map(|s| SuppressedRow {
            severity: s.finding.severity.as_str(),
            detection: s.finding.detection.clone(),
            source: visible(&src(s.finding)),
            accounts: s.finding.unique_usernames,
            entry: visible(s.entry),
            reason: visible(s.reason),
        })
        .collect();

    let kinds = |k: &BTreeMap<String, u64>| {
        k.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let inputs = report
        .inputs
        .iter()
        .map(|i| {
            let mut problems: Vec<String> = Vec::new();
            if let Some(e) = &i.error {
                problems.push(e.clone());
            }
            for r in i.stats.rejects.iter().take(5) {
                problems.push(format!("record {}: {}", r.record, r.reason));
            }
            if i.stats.rejected > 5 {
                problems.push(format!("… {} more rejected", i.stats.rejected - 5));
            }
            InputRow {
                path: visible(&i.path),
                shape: visible(&i.shape),
                read: i.stats.read,
                used: i.stats.used,
                rejected: i.stats.rejected,
                kinds: kinds(&i.stats.kinds),
                problems: visible(&problems.join("; ")),
            }
        })
        .collect();
    let totals = InputRow {
        path: "total".into(),
        shape: String::new(),
        read: report.totals.read,
        used: report.totals.used,
        rejected: report.totals.rejected,
        kinds: kinds(&report.totals.kinds),
        problems: String::new(),
    };
    let runs = report.rules.get("runs");
    let rules = report
        .rules
        .get("params")
        .and_then(Value::as_object)
        .map(|params| {
            params
                .iter()
                .map(|(id, p)| {
                    let m = report.rule_meta.get(id);
                    let run = runs.and_then(|r| match r {
                        Value::Object(o) => o.get(id).cloned(),
                        Value::Array(a) => a
                            .iter()
                            .find(|x| {
                                x.get("rule")
                                    .or_else(|| x.get("id"))
                                    .and_then(Value::as_str)
                                    == Some(id)
                            })
                            .cloned(),
                        _ => None,
                    });
                    RuleRow {
                        id: id.clone(),
                        title: m.map(|m| m.title.clone()).unwrap_or_default(),
                        runs: run
                            .and_then(|r| r.as_object().cloned())
                            .map(|o| {
                                o.iter()
                                    .filter(|(k, v)| {
                                        v.is_number() && !matches!(k.as_str(), "rule" | "id")
                                    })
                                    .map(|(k, v)| format!("{k} {v}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            })
                            .unwrap_or_default(),
                        params: p
                            .as_object()
                            .map(|o| {
                                o.iter()
                                    .map(|(k, v)| (k.clone(), visible(&compact(v))))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    let page = Page {
        title: format!(
            "idrecon report — {} finding(s){}",
            findings.len(),
            report
                .now
                .as_deref()
                .map(|n| format!(", {n}"))
                .unwrap_or_default()
        ),
        csp: csp(),
        style: STYLE,
        tool: report.tool.to_string(),
        version: report.version.to_string(),
        profile: report.profile.clone(),
        now: report.now.clone().unwrap_or_else(|| "—".into()),
        redacted: report.redacted,
        n_accounts,
        severities,
        sources,
        confirmed: confirmed_rows,
        exposed,
        timelines,
        accounts_chart,
        diff_chart,
        top_chart,
        cards,
        suppressed,
        inputs,
        totals,
        rules,
    };
    page.render()
}

/// Detail fields shown as context lines in a card (the rest are in the
/// facts grid, the account lists or JSON output).
const CONTEXT: &[(&str, &str)] = &[
    ("apps", "Applications"),
    ("client_apps", "Client apps"),
    ("user_agents", "User agents"),
    ("members", "Member addresses"),
    ("hosts", "Logged by"),
    ("event_ids", "Event ids"),
    ("logon_types", "Logon types"),
    ("single_factor_success_apps", "Single-factor success apps"),
    (
        "single_factor_success_client_apps",
        "Single-factor success client apps",
    ),
    ("mfa_required_apps", "MFA-required apps"),
    ("ca_blocked_apps", "Conditional Access blocked apps"),
    ("activities", "SSPR activities"),
    ("reasons", "SSPR results"),
    ("tables", "Tables"),
];

fn card(f: &Finding, meta: Option<&RuleMeta>) -> Card {
    let title = meta
        .map(|m| m.title.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| f.detection.clone());
    let mut facts: Vec<(String, String)> = vec![
        ("Detection".into(), f.detection.clone()),
        ("Finding id".into(), f.id.clone()),
        ("First seen".into(), short(f.first_seen)),
        ("Last seen".into(), short(f.last_seen)),
        ("Duration".into(), format!("{} min", f.duration_minutes)),
        ("Distinct accounts".into(), f.unique_usernames.to_string()),
        ("Events".into(), f.total_failures.to_string()),
        ("Rate".into(), format!("{} accounts/min", f.enum_rate)),
    ];
    if let Some(a) = &f.app {
        facts.push(("Application".into(), visible(a)));
    }
    for (k, l) in [
        ("classification", "Classification"),
        ("not_found_count", "Not found (accounts)"),
        ("exists_count", "Exist (accounts)"),
        ("not_found_ratio", "Not-found ratio"),
        ("member_count", "Member addresses"),
        ("max_users_per_source", "Most accounts per member"),
        ("max_users_per_hour", "Most accounts per hour"),
        ("active_hours", "Active hours"),
        ("blocked_count", "SSPR blocks"),
        ("suspicion_score", "Seed SuspicionScore"),
    ] {
        if let Some(v) = f.extra.get(k) {
            facts.push((l.into(), visible(&compact(v))));
        }
    }
    if let Some(t) = f.threshold_crossed_at {
        facts.push(("Threshold crossed".into(), short(t)));
    }
    if let Some(p) = &f.peak_window {
        facts.push((
            "Busiest window".into(),
            format!(
                "{} – {}: {} accounts, {} events",
                short(p.start),
                short(p.end),
                p.unique_usernames,
                p.total_failures
            ),
        ));
    }
    facts.push(("Result codes".into(), visible(&f.error_codes.join(", "))));
    let mitre = ocsf::mitre_ids(f, meta)
        .into_iter()
        .map(|id| MitreRef {
            name: mitre::technique(&id)
                .map(|t| match t.parent {
                    Some((_, p)) => format!("{p}: {}", t.name),
                    None => t.name.to_string(),
                })
                .unwrap_or_default(),
            url: mitre::url(&id),
            id: visible(&id),
        })
        .collect();
    let confirmed = strings(f, "credential_confirmed_accounts");
    let exposed: Vec<String> = strings(f, "valid_accounts")
        .into_iter()
        .filter(|v| !confirmed.iter().any(|c| c.eq_ignore_ascii_case(v)))
        .map(|v| visible(&v))
        .collect();
    let context = CONTEXT
        .iter()
        .filter_map(|(k, l)| {
            let v = f.extra.get(*k)?;
            let s = compact(v);
            (!s.is_empty() && s != "—").then(|| (l.to_string(), visible(&s)))
        })
        .collect();
    let g = guide::of(f).unwrap_or_else(|| guide::Guide {
        steps: guide::steps(f, meta, false),
        pivots: Vec::new(),
    });
    Card {
        anchor: format!("f-{}", visible(&f.id)),
        severity: f.severity.as_str(),
        title: visible(&title),
        source: visible(&src(f)),
        facts: facts.into_iter().map(|(k, v)| (k, visible(&v))).collect(),
        mitre,
        confirmed: confirmed.iter().map(|c| visible(c)).collect(),
        exposed,
        accounts: f.user_list.iter().map(|u| visible(u)).collect(),
        unique: f.unique_usernames,
        more: f.unique_usernames.saturating_sub(f.user_list.len() as u64),
        context,
        evidence: f
            .evidence
            .iter()
            .map(|e| EvidenceRow {
                time: short(e.time),
                user: visible(e.user.as_deref().unwrap_or("")),
                code: visible(e.result_code.as_deref().unwrap_or("")),
                app: visible(e.app.as_deref().unwrap_or("")),
                user_agent: visible(e.user_agent.as_deref().unwrap_or("")),
                location: visible(&format!("{}:{}", e.file, e.record)),
            })
            .collect(),
        steps: g.steps.iter().map(|s| visible(s)).collect(),
        pivots: g
            .pivots
            .iter()
            .map(|p| PivotRow {
                dialect: visible(&p.dialect),
                title: visible(&p.title),
                // Queries keep their newlines; other controls become visible.
                query: p
                    .query
                    .split('\n')
                    .map(visible)
                    .collect::<Vec<_>>()
                    .join("\n"),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn csp_allows_only_the_style_hash() {
        let c = csp();
        assert!(c.contains("default-src 'none'"));
        assert!(c.contains("script-src 'none'"));
        assert!(c.contains("style-src 'sha256-"));
        assert!(!c.contains("unsafe"));
    }

    #[test]
    fn spread_is_even_and_complete() {
        assert_eq!(spread(7, 3), vec![2, 2, 3]);
        assert_eq!(spread(2, 4), vec![0, 1, 0, 1]);
        assert_eq!(spread(0, 2), vec![0, 0]);
        assert!(spread(5, 0).is_empty());
    }
}
