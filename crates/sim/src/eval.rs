//! Scoring findings against labels: per scenario and detection — detected
//! or not, time to detect, false positives — and precision and recall.
//!
//! Findings are attributed to scenarios by their source key (the finding's
//! `source_ip`: an address, or a 4776 workstation name) and time: a finding
//! belongs to a scenario of the same hunt unit whose `source_keys` contain
//! its source and whose span (widened by an hour on each side) overlaps the
//! finding. Findings matching no scenario are attributed to the background
//! when the unit has it, else reported as unattributed; both are false
//! positives.

use crate::labels::{Expectation, Labels, ScenarioLabel};
use crate::time::{HOUR, from_timestamp, parse_ns};
use idrecon_core::{Finding, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The findings of one hunt.
#[derive(Debug, Clone)]
pub struct HuntResult {
    /// Unit name.
    pub unit: String,
    /// Shape name.
    pub shape: String,
    /// Scenarios in the unit.
    pub scenarios: Vec<String>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Findings an allowlist suppressed, with the entry's name.
    pub suppressed: Vec<(String, Finding)>,
}

/// One line of the evaluation: a scenario × detection in one unit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    /// Scenario.
    pub scenario: String,
    /// `attack` / `benign`.
    pub kind: String,
    /// Hunt unit.
    pub unit: String,
    /// Shape.
    pub shape: String,
    /// Detection id.
    pub detection: String,
    /// `fire`, `silent`, `fire (planned)` or `—` (not in the labels).
    pub expected: String,
    /// Outcome (see the crate docs): `detected`, `missed`, `severity too
    /// low`, `no detection yet`, `silent`, `also detected`, `fired (label
    /// expected silent)`, `suppressible`, `false positive`.
    pub result: String,
    /// Highest severity among the matched findings.
    pub severity: Option<String>,
    /// Findings matched.
    pub findings: usize,
    /// Seconds from the first event a finding covers (not before the
    /// scenario's activity start) to its threshold crossing
    /// (`threshold_crossed_at`; lookback rules: `detection_time`), the
    /// smallest over the matched findings.
    pub time_to_detect_s: Option<f64>,
    /// The allowlist class that would suppress these findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowlist_class: Option<String>,
    /// Why (from the labels).
    pub note: String,
}

/// Verdict for one scenario in one unit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    /// Scenario.
    pub scenario: String,
    /// Kind.
    pub kind: String,
    /// Unit.
    pub unit: String,
    /// `detected`, `missed`, `no detection yet`, `silent`,
    /// `suppressible by allowlist (<class>)`, `false positive`.
    pub verdict: String,
}

/// A finding no scenario explains.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stray {
    /// Unit.
    pub unit: String,
    /// Detection.
    pub detection: String,
    /// Source key.
    pub source: Option<String>,
    /// Severity.
    pub severity: String,
    /// First event.
    pub first_seen: String,
    /// Distinct accounts.
    pub unique_usernames: u64,
}

/// Whether a scenario gives the same findings in every shape.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Consistency {
    /// Scenario.
    pub scenario: String,
    /// Units compared.
    pub units: Vec<String>,
    /// True when every unit produced the same findings.
    pub consistent: bool,
    /// Differences, when not.
    pub differences: Vec<String>,
}

/// Totals.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Totals {
    /// Fire expectations on attack scenarios that a loaded detection can meet.
    pub expected_detections: usize,
    /// Of those, met.
    pub detected: usize,
    /// `detected / expected_detections` (1 when nothing is expected).
    pub recall: f64,
    /// All findings.
    pub findings: usize,
    /// Findings attributed to attack scenarios.
    pub true_positives: usize,
    /// Findings on benign scenarios that a labelled allowlist class would suppress.
    pub suppressible: usize,
    /// Findings an applied allowlist suppressed.
    pub suppressed: usize,
    /// Findings on benign scenarios not covered by an allowlist class, and
    /// unattributed findings.
    pub false_positives: usize,
    /// `true_positives / findings` (1 when there are none).
    pub precision: f64,
    /// `true_positives / (findings − suppressible)`.
    pub precision_after_allowlist: f64,
    /// Attack scenarios (units) with no current detection.
    pub no_detection_yet: Vec<String>,
    /// Attack scenarios (units) whose detections need fields the unit's
    /// shape does not carry (e.g. user agents in Graph v1.0).
    pub not_detectable_in_shape: Vec<String>,
    /// Attack scenarios (units) the labels say the evaluated profile misses
    /// by design (the seed query's documented gaps).
    pub known_gaps: Vec<String>,
    /// Attack scenarios (units) a detection should have caught and did not.
    pub missed: Vec<String>,
    /// Attack scenarios detected in every unit.
    pub attack_scenarios_detected: usize,
    /// Attack scenarios.
    pub attack_scenarios: usize,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvalReport {
    /// Profile evaluated.
    pub profile: String,
    /// Labels generator and seed.
    pub generator: String,
    /// Seed.
    pub seed: u64,
    /// Rows.
    pub rows: Vec<Row>,
    /// Per-scenario verdicts.
    pub verdicts: Vec<Verdict>,
    /// Findings no scenario explains.
    pub unattributed: Vec<Stray>,
    /// Cross-shape consistency.
    pub consistency: Vec<Consistency>,
    /// Totals.
    pub totals: Totals,
    /// What the readers made of each unit's files (filled by the caller).
    pub inputs: Vec<InputCheck>,
}

/// Reader accounting of one hunt unit.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct InputCheck {
    /// Unit.
    pub unit: String,
    /// Shapes the readers recognised.
    pub shapes: Vec<String>,
    /// Records read.
    pub read: u64,
    /// Records used.
    pub used: u64,
    /// Records rejected.
    pub rejected: u64,
    /// First reject reason.
    pub first_reject: Option<String>,
}

fn sev(s: &str) -> Option<Severity> {
    s.parse().ok()
}

fn ts_ns(t: idrecon_core::Timestamp) -> i64 {
    from_timestamp(t)
}

/// Attributes each finding of a unit to a scenario name (or `None`).
/// A finding's source keys: its `source_ip` key and, for cluster findings
/// (keyed by network, ASN or user agent), its `members`.
fn finding_sources(f: &Finding) -> Vec<String> {
    let mut v: Vec<String> = f.source_ip.iter().map(|s| s.to_ascii_lowercase()).collect();
    if let Some(serde_json::Value::Array(m)) = f.extra.get("members") {
        v.extend(
            m.iter()
                .filter_map(|x| x.as_str())
                .map(str::to_ascii_lowercase),
        );
    }
    v
}

fn attribute<'a>(
    labels: &'a Labels,
    scenarios: &[String],
    f: &Finding,
) -> Option<&'a ScenarioLabel> {
    let srcs = finding_sources(f);
    let first = ts_ns(f.first_seen);
    let last = ts_ns(f.last_seen);
    let in_unit = |s: &&ScenarioLabel| scenarios.contains(&s.name);
    let hit = labels.scenarios.iter().filter(in_unit).find(|s| {
        let (Some(a), Some(b)) = (parse_ns(&s.span.start), parse_ns(&s.span.end)) else {
            return false;
        };
        let key_ok = srcs
            .iter()
            .any(|k| s.source_keys.iter().any(|x| x.eq_ignore_ascii_case(k)));
        key_ok && first <= b + HOUR && last >= a - HOUR
    });
    hit.or_else(|| {
        labels
            .scenarios
            .iter()
            .filter(in_unit)
            .find(|s| s.name == "background")
    })
}

fn signature(f: &Finding) -> String {
    format!(
        "{} {} {} users={} first={} crossed={}",
        f.detection,
        f.severity,
        f.source_ip.as_deref().unwrap_or("-"),
        f.unique_usernames,
        ts_ns(f.first_seen).div_euclid(1_000_000_000),
        f.threshold_crossed_at
            .map_or(-1, |t| ts_ns(t).div_euclid(1_000_000_000)),
    )
}

/// Evaluates hunt results against labels for `profile`; `catalogue` lists
/// the rule ids loaded (planned detections not among them are "no
/// detection yet"). `allowlist_applied` says whether the hunts applied an
/// allowlist: then a benign finding that remains is a false positive, and a
/// suppressed attack finding is a miss.
pub fn evaluate(
    labels: &Labels,
    profile: &str,
    catalogue: &[String],
    hunts: &[HuntResult],
    allowlist_applied: bool,
) -> EvalReport {
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    let mut unattributed = Vec::new();
    let mut t = Totals::default();
    let mut per_scenario_units: BTreeMap<String, Vec<(String, String, Vec<String>)>> =
        BTreeMap::new();
    let mut attack_ok: BTreeMap<String, bool> = BTreeMap::new();

    for h in hunts {
        t.findings += h.findings.len();
        let mut by_scn: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
        let mut supp_by: BTreeMap<String, Vec<(&str, &Finding)>> = BTreeMap::new();
        for (entry, f) in &h.suppressed {
            let name = attribute(labels, &h.scenarios, f)
                .map_or_else(|| "?".to_string(), |s| s.name.clone());
            supp_by.entry(name).or_default().push((entry.as_str(), f));
        }
        t.suppressed += h.suppressed.len();
        for f in &h.findings {
            match attribute(labels, &h.scenarios, f) {
                Some(s) => by_scn.entry(s.name.clone()).or_default().push(f),
                None => {
                    t.false_positives += 1;
                    unattributed.push(Stray {
                        unit: h.unit.clone(),
                        detection: f.detection.clone(),
                        source: f.source_ip.clone(),
                        severity: f.severity.to_string(),
                        first_seen: idrecon_core::time::format_rfc3339(f.first_seen),
                        unique_usernames: f.unique_usernames,
                    });
                }
            }
        }
        for s in labels
            .scenarios
            .iter()
            .filter(|s| h.scenarios.contains(&s.name))
        {
            let found: Vec<&Finding> = by_scn.remove(&s.name).unwrap_or_default();
            let supp: Vec<(&str, &Finding)> = supp_by.remove(&s.name).unwrap_or_default();
            let mut sigs: Vec<String> = found.iter().map(|f| signature(f)).collect();
            sigs.sort();
            per_scenario_units.entry(s.name.clone()).or_default().push((
                h.unit.clone(),
                h.shape.clone(),
                sigs,
            ));
            let attack = s.kind == "attack";
            if attack {
                t.true_positives += found.len();
            }
            let start = parse_ns(&s.activity_start).unwrap_or(0);
            let exps: Vec<&Expectation> =
                s.expect.iter().filter(|e| e.profile == profile).collect();
            let mut covered_dets: BTreeSet<&str> = BTreeSet::new();
            let mut unit_missed = false;
            let mut unit_evaluable = false;
            let mut suppress_classes: BTreeSet<String> = BTreeSet::new();
            let mut fp_here = false;
            let mut suppressed_attack: Vec<String> = Vec::new();
            let mut na_here: Vec<String> = Vec::new();
            for e in &exps {
                covered_dets.insert(&e.detection);
                let mine: Vec<&&Finding> = found
                    .iter()
                    .filter(|f| f.detection == e.detection)
                    .collect();
                let top = mine.iter().map(|f| f.severity).max();
                // From the first event the finding covers (not before the
                // scenario's activity start) to the threshold crossing.
                let ttd = mine
                    .iter()
                    .map(|f| {
                        let from = ts_ns(f.first_seen).max(start);
                        ts_ns(f.threshold_crossed_at.unwrap_or(f.detection_time)) - from
                    })
                    .min()
                    .map(|x| x.max(0) as f64 / 1e9);
                let loaded = catalogue.contains(&e.detection);
                let lacking: Vec<&str> = h
                    .shape
                    .parse::<crate::shape::Shape>()
                    .map(|sh| {
                        sh.lacks()
                            .iter()
                            .copied()
                            .filter(|f| e.needs.iter().any(|n| n == f))
                            .collect()
                    })
                    .unwrap_or_default();
                let (expected, result) = if !lacking.is_empty() && mine.is_empty() {
                    na_here.push(format!(
                        "{} ({} has no {})",
                        e.detection,
                        h.shape,
                        lacking.join(", ")
                    ));
                    (
                        "fire",
                        format!("n/a: {} has no {}", h.shape, lacking.join(", ")),
                    )
                } else if e.outcome == "fire" && attack {
                    if !loaded && e.planned {
                        ("fire (planned)", "no detection yet".to_string())
                    } else {
                        unit_evaluable = true;
                        t.expected_detections += 1;
                        let min = e.min_severity.as_deref().and_then(sev);
                        let hidden = supp
                            .iter()
                            .find(|(_, f)| f.detection == e.detection)
                            .map(|(n, _)| *n);
                        let r = match (top, hidden) {
                            (None, Some(entry)) => {
                                unit_missed = true;
                                suppressed_attack.push(entry.to_string());
                                "suppressed by allowlist"
                            }
                            (None, None) => {
                                unit_missed = true;
                                "missed"
                            }
                            (Some(sv), _) if min.is_some_and(|m| sv < m) => {
                                unit_missed = true;
                                "severity too low"
                            }
                            (Some(_), _) => {
                                t.detected += 1;
                                "detected"
                            }
                        };
                        (
                            if e.planned { "fire (planned)" } else { "fire" },
                            r.to_string(),
                        )
                    }
                } else if e.outcome == "fire" {
                    // Benign look-alike a detection reports.
                    let hidden: Vec<&str> = supp
                        .iter()
                        .filter(|(_, f)| f.detection == e.detection)
                        .map(|(n, _)| *n)
                        .collect();
                    match (&e.allowlist_class, mine.is_empty()) {
                        (_, true) if !hidden.is_empty() => {
                            suppress_classes.insert(hidden[0].to_string());
                            (
                                "fire (allowlist)",
                                format!("suppressed by allowlist {}", hidden[0]),
                            )
                        }
                        (_, true) => ("fire (allowlist)", "silent".to_string()),
                        (Some(c), false) if allowlist_applied => {
                            t.false_positives += mine.len();
                            fp_here = true;
                            (
                                "fire (allowlist)",
                                format!("false positive (allowlist {c} did not suppress it)"),
                            )
                        }
                        (Some(c), false) => {
                            t.suppressible += mine.len();
                            suppress_classes.insert(c.clone());
                            ("fire (allowlist)", "suppressible".to_string())
                        }
                        (None, false) => {
                            t.false_positives += mine.len();
                            fp_here = true;
                            ("fire", "false positive".to_string())
                        }
                    }
                } else if mine.is_empty() {
                    ("silent", "silent".to_string())
                } else if attack {
                    ("silent", "fired (label expected silent)".to_string())
                } else {
                    t.false_positives += mine.len();
                    fp_here = true;
                    ("silent", "false positive".to_string())
                };
                if !loaded && !e.planned && mine.is_empty() {
                    // A detection of another catalogue version: say so.
                    rows.push(Row {
                        scenario: s.name.clone(),
                        kind: s.kind.clone(),
                        unit: h.unit.clone(),
                        shape: h.shape.clone(),
                        detection: e.detection.clone(),
                        expected: expected.to_string(),
                        result: "not in catalogue".into(),
                        severity: None,
                        findings: 0,
                        time_to_detect_s: None,
                        allowlist_class: e.allowlist_class.clone(),
                        note: e.why.clone(),
                    });
                    continue;
                }
                rows.push(Row {
                    scenario: s.name.clone(),
                    kind: s.kind.clone(),
                    unit: h.unit.clone(),
                    shape: h.shape.clone(),
                    detection: e.detection.clone(),
                    expected: expected.to_string(),
                    result,
                    severity: top.map(|x| x.to_string()),
                    findings: mine.len(),
                    time_to_detect_s: if attack { ttd } else { None },
                    allowlist_class: e.allowlist_class.clone(),
                    note: e.why.clone(),
                });
            }
            // Findings of detections the labels say nothing about.
            let mut others: BTreeMap<&str, Vec<&&Finding>> = BTreeMap::new();
            for f in &found {
                if !covered_dets.contains(f.detection.as_str()) {
                    others.entry(&f.detection).or_default().push(f);
                }
            }
            for (d, fs) in others {
                if !attack {
                    t.false_positives += fs.len();
                    fp_here = true;
                }
                rows.push(Row {
                    scenario: s.name.clone(),
                    kind: s.kind.clone(),
                    unit: h.unit.clone(),
                    shape: h.shape.clone(),
                    detection: d.to_string(),
                    expected: "—".into(),
                    result: if attack {
                        "also detected".into()
                    } else {
                        "false positive".into()
                    },
                    severity: fs.iter().map(|f| f.severity).max().map(|x| x.to_string()),
                    findings: fs.len(),
                    time_to_detect_s: None,
                    allowlist_class: None,
                    note: "no expectation in the labels for this detection".into(),
                });
            }
            let verdict = if attack {
                let ok =
                    (unit_evaluable && !unit_missed) || (!unit_evaluable && !na_here.is_empty());
                let e = attack_ok.entry(s.name.clone()).or_insert(true);
                *e &= ok;
                if !unit_evaluable && !na_here.is_empty() && found.is_empty() {
                    t.not_detectable_in_shape.push(h.unit.clone());
                    format!("not detectable in this shape: {}", na_here.join("; "))
                } else if !unit_evaluable {
                    if found.is_empty() && profile == "seed" {
                        t.known_gaps.push(h.unit.clone());
                        "not detected (known gap of the seed query)".to_string()
                    } else if found.is_empty() {
                        t.no_detection_yet.push(h.unit.clone());
                        "no detection yet".to_string()
                    } else {
                        "detected (no expectation)".to_string()
                    }
                } else if unit_missed && !suppressed_attack.is_empty() {
                    t.missed.push(h.unit.clone());
                    format!(
                        "missed: suppressed by allowlist {}",
                        suppressed_attack.join(", ")
                    )
                } else if unit_missed {
                    t.missed.push(h.unit.clone());
                    "missed".to_string()
                } else {
                    "detected".to_string()
                }
            } else if fp_here {
                "false positive".to_string()
            } else if !suppress_classes.is_empty() && allowlist_applied {
                format!(
                    "suppressed by allowlist ({})",
                    suppress_classes.into_iter().collect::<Vec<_>>().join(", ")
                )
            } else if !suppress_classes.is_empty() {
                format!(
                    "suppressible by allowlist ({})",
                    suppress_classes.into_iter().collect::<Vec<_>>().join(", ")
                )
            } else {
                "silent".to_string()
            };
            verdicts.push(Verdict {
                scenario: s.name.clone(),
                kind: s.kind.clone(),
                unit: h.unit.clone(),
                verdict,
            });
        }
    }
    t.attack_scenarios = attack_ok.len();
    t.attack_scenarios_detected = attack_ok.values().filter(|v| **v).count();
    t.recall = if t.expected_detections == 0 {
        1.0
    } else {
        t.detected as f64 / t.expected_detections as f64
    };
    t.precision = if t.findings == 0 {
        1.0
    } else {
        t.true_positives as f64 / t.findings as f64
    };
    let denom = t.findings.saturating_sub(t.suppressible);
    t.precision_after_allowlist = if denom == 0 {
        1.0
    } else {
        t.true_positives as f64 / denom as f64
    };
    let consistency = per_scenario_units
        .into_iter()
        .filter(|(_, u)| u.len() > 1)
        .map(|(name, units)| {
            // Detections needing a field a shape lacks are compared only
            // between shapes that carry it.
            let needy: Vec<(&str, &[String])> = labels
                .scenarios
                .iter()
                .filter(|s| s.name == name)
                .flat_map(|s| s.expect.iter())
                .filter(|e| !e.needs.is_empty())
                .map(|e| (e.detection.as_str(), e.needs.as_slice()))
                .collect();
            let lacks = |shape: &str, needs: &[String]| {
                shape
                    .parse::<crate::shape::Shape>()
                    .is_ok_and(|sh| needs.iter().any(|n| sh.lacks().contains(&n.as_str())))
            };
            let keep = |sigs: &[String], a: &str, b: &str| -> Vec<String> {
                sigs.iter()
                    .filter(|sig| {
                        !needy.iter().any(|(d, needs)| {
                            sig.starts_with(&format!("{d} "))
                                && (lacks(a, needs) || lacks(b, needs))
                        })
                    })
                    .cloned()
                    .collect()
            };
            let (first_unit, first_shape, first) = &units[0];
            let mut differences = Vec::new();
            for (u, shape, sigs) in &units[1..] {
                let (x, y) = (
                    keep(sigs, shape, first_shape),
                    keep(first, shape, first_shape),
                );
                if x != y {
                    differences.push(format!("{u} differs from {first_unit}: {x:?} vs {y:?}"));
                }
            }
            Consistency {
                scenario: name,
                units: units.iter().map(|u| u.0.clone()).collect(),
                consistent: differences.is_empty(),
                differences,
            }
        })
        .collect();
    EvalReport {
        profile: profile.to_string(),
        generator: labels.generator.clone(),
        seed: labels.seed,
        rows,
        verdicts,
        unattributed,
        consistency,
        totals: t,
        inputs: Vec::new(),
    }
}

fn fmt_ttd(s: Option<f64>) -> String {
    match s {
        None => "—".into(),
        Some(x) if x < 120.0 => format!("{x:.0}s"),
        Some(x) if x < 7200.0 => format!("{:.1}m", x / 60.0),
        Some(x) => format!("{:.1}h", x / 3600.0),
    }
}

/// Renders the report as an aligned text table with a summary.
pub fn render_table(r: &EvalReport) -> String {
    let head = [
        "SCENARIO",
        "SHAPE",
        "KIND",
        "DETECTION",
        "EXPECTED",
        "RESULT",
        "SEV",
        "TTD",
    ];
    let mut cells: Vec<[String; 8]> = Vec::new();
    for row in &r.rows {
        let result = match &row.allowlist_class {
            Some(c) if row.result == "suppressible" => format!("suppressible by allowlist {c}"),
            _ => row.result.clone(),
        };
        cells.push([
            row.scenario.clone(),
            row.shape.clone(),
            row.kind.clone(),
            row.detection.clone(),
            row.expected.clone(),
            result,
            row.severity.clone().unwrap_or_else(|| "—".into()),
            fmt_ttd(row.time_to_detect_s),
        ]);
    }
    let mut w = [0usize; 8];
    for (i, h) in head.iter().enumerate() {
        w[i] = h.chars().count();
    }
    for c in &cells {
        for i in 0..8 {
            w[i] = w[i].max(c[i].chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, c: &[String]| {
        for (i, v) in c.iter().enumerate() {
            let pad = w[i] - v.chars().count();
            out.push_str(v);
            if i + 1 < c.len() {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
    };
    line(&mut out, &head.map(String::from));
    for c in &cells {
        line(&mut out, c);
    }
    out.push('\n');
    let _ = writeln!(out, "Scenarios ({} profile):", r.profile);
    for v in &r.verdicts {
        let _ = writeln!(
            out,
            "  {:<24} {:<7} {:<34} {}",
            v.scenario, v.kind, v.unit, v.verdict
        );
    }
    if !r.unattributed.is_empty() {
        let _ = writeln!(out, "\nUnattributed findings (false positives):");
        for s in &r.unattributed {
            let _ = writeln!(
                out,
                "  {} {} source={} {} users={} first={}",
                s.unit,
                s.detection,
                s.source.as_deref().unwrap_or("-"),
                s.severity,
                s.unique_usernames,
                s.first_seen
            );
        }
    }
    let inconsistent: Vec<&Consistency> = r.consistency.iter().filter(|c| !c.consistent).collect();
    if !r.consistency.is_empty() {
        let _ = writeln!(
            out,
            "\nShape consistency: {} of {} scenarios give the same findings in every shape",
            r.consistency.len() - inconsistent.len(),
            r.consistency.len()
        );
        for c in inconsistent {
            for d in &c.differences {
                let _ = writeln!(out, "  {}: {d}", c.scenario);
            }
        }
    }
    let t = &r.totals;
    let _ = writeln!(
        out,
        "\nrecall {:.2} ({}/{} expected detections)   precision {:.2} ({} of {} findings on attacks; {:.2} after allowlists)   false positives {}   suppressible by allowlist {}   suppressed {}",
        t.recall,
        t.detected,
        t.expected_detections,
        t.precision,
        t.true_positives,
        t.findings,
        t.precision_after_allowlist,
        t.false_positives,
        t.suppressible,
        t.suppressed
    );
    let _ = writeln!(
        out,
        "attack scenarios detected: {} of {}",
        t.attack_scenarios_detected, t.attack_scenarios
    );
    if !t.no_detection_yet.is_empty() {
        let _ = writeln!(out, "no detection yet: {}", t.no_detection_yet.join(", "));
    }
    if !t.not_detectable_in_shape.is_empty() {
        let _ = writeln!(
            out,
            "not detectable in their shape: {}",
            t.not_detectable_in_shape.join(", ")
        );
    }
    if !t.known_gaps.is_empty() {
        let _ = writeln!(
            out,
            "known gaps of the {} profile: {}",
            r.profile,
            t.known_gaps.join(", ")
        );
    }
    if !t.missed.is_empty() {
        let _ = writeln!(out, "MISSED: {}", t.missed.join(", "));
    }
    for i in &r.inputs {
        if i.rejected > 0 {
            let _ = writeln!(
                out,
                "WARNING: {}: {} of {} records rejected by the readers (first: {})",
                i.unit,
                i.rejected,
                i.read,
                i.first_reject.as_deref().unwrap_or("?")
            );
        }
    }
    out
}
