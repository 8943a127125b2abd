//! Sigma v2: one base rule (the `where` conditions) and a `value_count` /
//! `event_count` correlation (group-by, timespan, threshold), as a
//! multi-document YAML file.

use crate::common::{Cx, dur, level_name};
use crate::escape::{sigma_plain, yaml_double};
use crate::mapping::FieldType;
use crate::{ExportError, package::uuid_for};
use idrecon_rules::{MeasureFn, Predicate};
use std::fmt::Write;

/// Builds named selections and a condition expression from predicates.
struct Sel {
    items: Vec<(String, String)>,
}

impl Sel {
    fn leaf(&mut self, cx: &Cx<'_>, p: &Predicate) -> Result<String, ExportError> {
        let name = format!("selection_{}", self.items.len() + 1);
        let body = match p {
            Predicate::In(f, v) | Predicate::InCi(f, v) => {
                let fm = cx.field(*f)?;
                let ci = matches!(p, Predicate::InCi(..)) || fm.case_insensitive;
                let numeric = v
                    .iter()
                    .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()));
                let key = if ci || numeric || fm.ty == FieldType::Int {
                    fm.name.clone()
                } else {
                    format!("{}|cased", fm.name)
                };
                format!("{}: {}", yaml_key(&key), list(v, fm.ty))
            }
            Predicate::Contains(f, v) => format!(
                "{}: {}",
                yaml_key(&format!("{}|contains", cx.name(*f)?)),
                list(v, FieldType::String)
            ),
            Predicate::NotEmpty(f) => {
                // `field|exists: true` and not `field: ''`, expressed as a
                // selection and a filter.
                let n = cx.name(*f)?;
                let empty = format!("filter_empty_{}", self.items.len() + 1);
                self.items.push((
                    name.clone(),
                    format!("{}: true", yaml_key(&format!("{n}|exists"))),
                ));
                self.items
                    .push((empty.clone(), format!("{}: ''", yaml_key(n))));
                return Ok(format!("({name} and not {empty})"));
            }
            _ => unreachable_leaf(cx)?,
        };
        self.items.push((name.clone(), body));
        Ok(name)
    }

    fn expr(&mut self, cx: &Cx<'_>, p: &Predicate) -> Result<String, ExportError> {
        Ok(match p {
            Predicate::Any(ps) => {
                let v = ps
                    .iter()
                    .map(|q| self.expr(cx, q))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("({})", v.join(" or "))
            }
            Predicate::All(ps) => {
                let v = ps
                    .iter()
                    .map(|q| self.expr(cx, q))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("({})", v.join(" and "))
            }
            Predicate::Not(q) => format!("not {}", self.expr(cx, q)?),
            leaf => self.leaf(cx, leaf)?,
        })
    }
}

fn unreachable_leaf(cx: &Cx<'_>) -> Result<String, ExportError> {
    Err(cx.unsupported("internal: composite predicate treated as a leaf"))
}

fn yaml_key(k: &str) -> String {
    if k.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._|-".contains(c))
    {
        k.to_string()
    } else {
        yaml_double(k)
    }
}

fn list(v: &[String], ty: FieldType) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|x| match ty {
            FieldType::Int => x
                .trim()
                .parse::<i64>()
                .map_or_else(|_| yaml_double(&sigma_plain(x)), |n| n.to_string()),
            // Codes written as digits are numbers in Sigma (pySigma flags
            // numbers written as strings); both match the same values.
            FieldType::String
                if !x.is_empty()
                    && x.len() < 16
                    && x.bytes().all(|b| b.is_ascii_digit())
                    && (x == "0" || !x.starts_with('0')) =>
            {
                x.clone()
            }
            FieldType::String => yaml_double(&sigma_plain(x)),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn level(l: &str) -> &'static str {
    match l {
        "Critical" => "critical",
        "High" => "high",
        "Medium" => "medium",
        _ => "low",
    }
}

pub(crate) fn compile(cx: &mut Cx<'_>) -> Result<String, ExportError> {
    cx.check_fields()?;
    let rule = cx.rule;
    let tables = cx.tables()?;
    let logsource = &tables[0].1.from;
    let (product, service) = logsource
        .split_once('/')
        .ok_or_else(|| cx.unsupported("logsource must be product/service"))?;
    let base_name = format!("idrecon_{}_{}_base", rule.id, rule.profile);
    let mut sel = Sel { items: Vec::new() };
    let mut conds = Vec::new();
    for p in &rule.filter {
        conds.push(sel.expr(cx, p)?);
    }
    let condition = if conds.is_empty() {
        "all of selection_*".to_string()
    } else {
        conds.join(" and ")
    };
    let tm = rule
        .measure(&rule.threshold.measure)
        .ok_or_else(|| cx.unsupported("threshold measure"))?;
    let (ctype, field) = match (&rule.pivot, tm.func) {
        // The nearest form of a pivot: accounts probed from at least `min`
        // sources.
        (Some(p), _) => ("value_count", Some(cx.name(p.collect)?)),
        (None, MeasureFn::Dcount) => (
            "value_count",
            Some(
                cx.name(
                    tm.field
                        .ok_or_else(|| cx.unsupported("dcount without field"))?,
                )?,
            ),
        ),
        (None, _) => ("event_count", None),
    };
    if cx.tumbling() {
        let w = dur(rule.window.length.as_secs());
        cx.warn(format!("the engine's {w} buckets aligned to the Unix epoch become a {w} correlation timespan: by the specification any span of that length (sliding); the Splunk and ES|QL backends convert it to fixed buckets (bin, date_trunc), as the engine counts"));
    } else if cx.sliding() {
        cx.warn("Sigma's timespan is a sliding window by the specification, but the Splunk and ES|QL backends convert it to fixed buckets".to_string());
    } else {
        cx.warn("the seed's one-shot lookback at `now` becomes a correlation timespan (any span of that length)".to_string());
    }
    if let Some(bl) = &rule.window.baseline {
        cx.warn(format!(
            "baseline not expressible: a Sigma correlation has a fixed threshold, so only the floor ({} >= {}) is tested, not also above the mean plus {} standard deviations of the previous {} buckets",
            rule.threshold.measure,
            rule.threshold.gte,
            bl.sigmas,
            bl.buckets(rule.window.length)
        ));
    }
    if let Some(p) = &rule.pivot {
        cx.warn(format!(
            "pivot not expressible: the correlation counts distinct {} per {} ({} >= {}), one alert per account; grouping the accounts by their exact set of sources and the threshold on accounts per set ({} >= {}) need a second aggregation that Sigma correlations do not have",
            p.collect.name(),
            p.by.name(),
            p.collect.name(),
            p.min,
            rule.threshold.measure,
            rule.threshold.gte
        ));
    } else if tm.lower {
        cx.warn(format!("{}: the distinct count is case-insensitive in the engine; Sigma leaves case handling to the backend", tm.name));
    }
    let other: Vec<&str> = rule
        .measures
        .iter()
        .filter(|m| {
            m.name != tm.name && !matches!(m.func, MeasureFn::Const | MeasureFn::DurationMinutes)
        })
        .map(|m| m.name.as_str())
        .collect();
    if !other.is_empty() {
        cx.warn(format!(
            "Sigma cannot express the other measures ({}), ratios or the severity ladder; the correlation fires at the threshold with the lowest reporting level, and higher levels are separate correlations where they depend only on the threshold count",
            other.join(", ")
        ));
    }
    if !rule.dedup.is_empty() {
        cx.warn("Sigma has no de-duplication of repeated rows".to_string());
    }
    if tables.len() > 1 {
        cx.warn(format!("one Sigma logsource ({logsource}) stands for the tables {}; map it to all of them in your pipeline", tables.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")));
    }
    let mut group: Vec<String> = rule
        .key
        .iter()
        .map(|f| cx.name(*f).map(str::to_string))
        .collect::<Result<_, _>>()?;
    if let Some(p) = &rule.pivot {
        group.push(cx.name(p.by)?.to_string());
        if p.lower {
            cx.warn(format!("{}: accounts are compared case-insensitively in the engine; Sigma leaves case handling to the backend", p.by.name()));
        }
    }
    let mut y = String::new();
    for l in cx.header(&[]) {
        let _ = writeln!(y, "# {l}");
    }
    for l in cx.warning_lines(&[]) {
        let _ = writeln!(y, "# {l}");
    }
    // Correlations: the threshold, plus one per severity arm that only
    // tests the threshold measure.
    let mut tiers: Vec<(String, u64)> = Vec::new();
    // The level of a finding that just meets the threshold: the first arm
    // that holds with the threshold measure at its bound (conditions on
    // other measures cannot be tested here and are taken as not holding),
    // else the default arm.
    let lowest = rule
        .severity
        .iter()
        .find(|a| {
            a.any.is_empty()
                || a.any.iter().any(|c| {
                    c.measure == rule.threshold.measure
                        && c.gte <= rule.threshold.gte as f64
                        && c.lte.is_none_or(|l| l >= rule.threshold.gte as f64)
                })
        })
        .map(level_name)
        .unwrap_or("Low");
    tiers.push((
        level(lowest).to_string(),
        rule.pivot.as_ref().map_or(rule.threshold.gte, |p| p.min),
    ));
    for arm in rule.severity.iter().filter(|_| rule.pivot.is_none()) {
        if arm.any.len() == 1
            && arm.any[0].measure == rule.threshold.measure
            && arm.any[0].gte as u64 > rule.threshold.gte
        {
            tiers.push((level(level_name(arm)).to_string(), arm.any[0].gte as u64));
        }
    }
    let span = dur(rule.window.length.as_secs());
    let desc = rule
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for (i, (lvl, gte)) in tiers.iter().enumerate() {
        let _ = writeln!(
            y,
            "title: {}",
            yaml_double(&format!(
                "{} ({lvl}, {} >= {gte})",
                rule.title,
                rule.pivot
                    .as_ref()
                    .map_or(rule.threshold.measure.clone(), |p| format!(
                        "distinct {} per {}",
                        p.collect.name(),
                        p.by.name()
                    ))
            ))
        );
        let _ = writeln!(
            y,
            "id: {}",
            uuid_for(&format!("{}/{}/corr/{i}", rule.id, rule.profile))
        );
        let _ = writeln!(y, "status: experimental");
        let _ = writeln!(y, "description: {}", yaml_double(&desc));
        let _ = writeln!(y, "author: idrecon");
        let _ = writeln!(y, "correlation:");
        let _ = writeln!(y, "  type: {ctype}");
        let _ = writeln!(y, "  rules:");
        let _ = writeln!(y, "    - {base_name}");
        if group.is_empty() {
            // Tenant-wide: one scope (the schema requires the key).
            let _ = writeln!(y, "  group-by: []");
        } else {
            let _ = writeln!(y, "  group-by:");
            for g in &group {
                let _ = writeln!(y, "    - {}", yaml_key(g));
            }
        }
        let _ = writeln!(y, "  timespan: {span}");
        let _ = writeln!(y, "  condition:");
        if let Some(f) = field {
            let _ = writeln!(y, "    field: {}", yaml_key(f));
        }
        let _ = writeln!(y, "    gte: {gte}");
        let _ = writeln!(y, "level: {lvl}");
        let _ = writeln!(y, "tags:");
        for t in &rule.mitre {
            let _ = writeln!(y, "  - attack.{}", t.to_lowercase());
        }
        let _ = writeln!(y, "  - attack.reconnaissance");
        y.push_str("---\n");
    }
    let _ = writeln!(
        y,
        "title: {}",
        yaml_double(&format!("{} (base events)", rule.title))
    );
    let _ = writeln!(
        y,
        "id: {}",
        uuid_for(&format!("{}/{}/base", rule.id, rule.profile))
    );
    let _ = writeln!(y, "name: {base_name}");
    let _ = writeln!(y, "status: experimental");
    let _ = writeln!(
        y,
        "description: {}",
        yaml_double("Events counted by the idrecon correlation; not an alert on their own.")
    );
    let _ = writeln!(y, "author: idrecon");
    let _ = writeln!(y, "logsource:");
    let _ = writeln!(y, "  product: {product}");
    let _ = writeln!(y, "  service: {service}");
    let _ = writeln!(y, "detection:");
    for (n, b) in &sel.items {
        let _ = writeln!(y, "  {n}:");
        let _ = writeln!(y, "    {b}");
    }
    let _ = writeln!(y, "  condition: {condition}");
    let _ = writeln!(y, "level: informational");
    Ok(y)
}
