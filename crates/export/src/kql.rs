//! Microsoft Sentinel KQL.
//!
//! - Lookback rules (the seed profile) print the seed's operators: `ago()`,
//!   `iff()`+`sum()`, `dcount()`, `make_set()`, `datetime_diff()`, `case()`.
//! - Sliding rules are evaluated exactly for every window that ends inside
//!   the last run interval: candidate window ends are the probe times, a
//!   self-join counts each window, qualifying windows of a key merge into an
//!   episode, and the measures are computed over the episode's events (the
//!   engine's definition). Distinct counts use the exact `count_distinct`.

use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, pascal, print_pred, threshold_measure,
};
use crate::escape::escape;
use crate::{ExportError, Target};
use idrecon_core::Field;
use idrecon_rules::{Condition, Measure, MeasureFn, Predicate};
use std::fmt::Write;

fn quote(s: &str) -> String {
    escape(Target::Kql, s)
}

const D: Dialect = Dialect {
    and: " and ",
    or: " or ",
    not: |x| format!("not({x})"),
    is_in: |f, v| {
        if v.len() == 1 {
            format!("{f} == {}", v[0])
        } else {
            format!("{f} in ({})", v.join(", "))
        }
    },
    is_in_ci: |f, raw| {
        let v: Vec<String> = raw.iter().map(|x| quote(x)).collect();
        let v = &v;
        if v.len() == 1 {
            format!("{f} =~ {}", v[0])
        } else {
            format!("{f} in~ ({})", v.join(", "))
        }
    },
    contains: |f, s| format!("{f} contains {}", quote(s)),
    not_empty: |f| format!("isnotempty({f})"),
    quote,
};

/// How lets are written (the combined seed file declares them once).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lets {
    /// Declare `lookback` / `enumThreshold` and use them.
    Declare,
    /// Use the already declared names.
    Reuse,
    /// Inline literal values.
    Inline,
}

pub(crate) fn compile(cx: &mut Cx<'_>) -> Result<String, ExportError> {
    cx.check_fields()?;
    let body = if cx.sliding() {
        sliding(cx)?
    } else if cx.rule.window.kind == idrecon_rules::WindowKind::Tumbling {
        tumbling(cx)?
    } else {
        lookback(cx, Lets::Declare)?.join("\n")
    };
    let mut out = String::new();
    for l in cx.header(&[]) {
        let _ = writeln!(out, "// {l}");
    }
    for l in cx.warning_lines(&[]) {
        let _ = writeln!(out, "// {l}");
    }
    out.push_str(&body);
    out.push('\n');
    Ok(out)
}

fn col(cx: &Cx<'_>, f: Field) -> Result<String, ExportError> {
    Ok(cx.name(f)?.to_string())
}

fn norm_col(cx: &Cx<'_>, f: Field) -> Result<String, ExportError> {
    Ok(format!("{}Norm", cx.name(f)?))
}

/// The column a measure aggregates.
fn mref(cx: &Cx<'_>, m: &Measure) -> Result<String, ExportError> {
    let f = m
        .field
        .ok_or_else(|| cx.unsupported(format!("measure `{}` needs a field", m.name)))?;
    if m.lower { norm_col(cx, f) } else { col(cx, f) }
}

fn pred(cx: &Cx<'_>, p: &Predicate) -> Result<String, ExportError> {
    print_pred(cx, &D, p, &|f| col(cx, f))
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Raw columns a source leg must project.
fn columns(cx: &Cx<'_>) -> Result<Vec<String>, ExportError> {
    let mut v = vec!["TimeGenerated".to_string()];
    for f in cx.used_fields() {
        let fm = cx.field(f)?;
        if fm.expr.is_some() {
            v.extend(fm.columns.iter().cloned());
        } else {
            v.push(fm.name.clone());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|c| seen.insert(c.clone()));
    Ok(v)
}

/// The event source: table(s), time range, computed fields and normalized
/// identities. Returns pipeline lines.
fn source(cx: &Cx<'_>, range: &str) -> Result<Vec<String>, ExportError> {
    let tables = cx.tables()?;
    let mut lines = Vec::new();
    if tables.len() == 1 {
        lines.push(tables[0].1.from.clone());
        if let Some(f) = &tables[0].1.filter {
            lines.push(format!("| where {f}"));
        }
        lines.push(format!("| where TimeGenerated > ago({range})"));
    } else {
        let cols = columns(cx)?.join(", ");
        lines.push("union isfuzzy=true".to_string());
        let n = tables.len();
        for (i, (_, t)) in tables.iter().enumerate() {
            let filt = t
                .filter
                .as_deref()
                .map(|f| format!(" | where {f}"))
                .unwrap_or_default();
            let sep = if i + 1 < n { "," } else { "" };
            lines.push(format!(
                "    ({}{filt} | where TimeGenerated > ago({range}) | project {cols}){sep}",
                t.from
            ));
        }
    }
    let mut ext = Vec::new();
    for f in cx.used_fields() {
        let fm = cx.field(f)?;
        if let Some(e) = &fm.expr {
            let s = format!("{} = {e}", fm.name);
            if !ext.contains(&s) {
                ext.push(s);
            }
        }
    }
    if !ext.is_empty() {
        lines.push(format!("| extend {}", ext.join(", ")));
    }
    let mut norms = Vec::new();
    for f in lowered_fields(cx.rule) {
        norms.push(format!(
            "{} = {}",
            norm_col(cx, f)?,
            lower_trim(&col(cx, f)?)
        ));
    }
    if !norms.is_empty() {
        lines.push(format!("| extend {}", norms.join(", ")));
    }
    if cx.rule.key_lower {
        let ks: Vec<String> = cx
            .rule
            .key
            .iter()
            .map(|f| col(cx, *f).map(|c| format!("{c} = {}", lower_trim(&c))))
            .collect::<Result<_, _>>()?;
        lines.push(format!("| extend {}", ks.join(", ")));
    }
    Ok(lines)
}

/// `expr` as the engine compares user-like values: whitespace trimmed
/// (ASCII, `\s`), lower-cased.
fn lower_trim(expr: &str) -> String {
    format!("tolower(trim(@\"\\s\", {expr}))")
}

fn dedup_lines(cx: &Cx<'_>) -> Result<Vec<String>, ExportError> {
    if cx.rule.dedup.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<String> = cx
        .rule
        .dedup
        .iter()
        .map(|f| col(cx, *f))
        .collect::<Result<_, _>>()?;
    let empty = refs
        .iter()
        .map(|r| format!("isempty({r})"))
        .collect::<Vec<_>>()
        .join(" or ");
    let parts = refs
        .iter()
        .map(|r| lower_trim(r))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(vec![
        format!(
            "// rows with equal {} are one sign-in written several times; rows missing one of them are kept",
            cx.rule
                .dedup
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "| extend DedupKey = iff({empty}, tostring(new_guid()), strcat_delim({}, {parts}))",
            quote("\u{1f}")
        ),
        "| summarize arg_min(TimeGenerated, *) by DedupKey".to_string(),
    ])
}

/// Aggregations inside `summarize` (plus `extend` lines needed before it
/// for the seed's `iff()` counters).
fn aggregations(cx: &mut Cx<'_>, exact: bool) -> Result<(Vec<String>, Vec<String>), ExportError> {
    let mae = cx.rule.missing_as_empty;
    let mut pre = Vec::new();
    let mut aggs = Vec::new();
    let rule = cx.rule;
    for m in &rule.measures {
        let name = pascal(&m.name);
        let cond = |cx: &Cx<'_>| -> Result<String, ExportError> {
            m.filter
                .as_ref()
                .map(|p| pred(cx, p))
                .transpose()
                .map(|o| o.unwrap_or_else(|| "true".into()))
        };
        let cap = m.cap.map(|c| format!(", {c}")).unwrap_or_default();
        let a = match m.func {
            MeasureFn::Count => "count()".to_string(),
            MeasureFn::CountIf if !exact => {
                let helper = format!("Is{}", pascal(m.name.trim_end_matches("_count")));
                pre.push(format!("{helper} = iff({}, 1, 0)", cond(cx)?));
                format!("sum({helper})")
            }
            MeasureFn::CountIf => format!("countif({})", cond(cx)?),
            MeasureFn::Dcount if !exact => format!("dcount({})", mref(cx, m)?),
            MeasureFn::Dcount if mae => format!("count_distinct({})", mref(cx, m)?),
            MeasureFn::Dcount => {
                let r = mref(cx, m)?;
                format!("count_distinctif({r}, isnotempty({r}))")
            }
            MeasureFn::DcountIf if !exact => format!("dcountif({}, {})", mref(cx, m)?, cond(cx)?),
            MeasureFn::DcountIf => {
                let r = mref(cx, m)?;
                if mae {
                    format!("count_distinctif({r}, {})", cond(cx)?)
                } else {
                    format!("count_distinctif({r}, ({}) and isnotempty({r}))", cond(cx)?)
                }
            }
            MeasureFn::Set if mae || !exact => format!("make_set({}{cap})", mref(cx, m)?),
            MeasureFn::Set => {
                let r = mref(cx, m)?;
                format!("make_set_if({r}, isnotempty({r}){cap})")
            }
            MeasureFn::SetIf | MeasureFn::Confirmed => {
                if m.func == MeasureFn::Confirmed {
                    if cx.per_window() {
                        continue;
                    }
                    if rule.confirm.is_some() {
                        cx.warn(format!(
                            "{}: only probe rows matching its condition confirm an account here; later confirming events are not joined in a lookback query",
                            m.name
                        ));
                    }
                }
                let r = mref(cx, m)?;
                if mae {
                    format!("make_set_if({r}, {}{cap})", cond(cx)?)
                } else {
                    format!("make_set_if({r}, ({}) and isnotempty({r}){cap})", cond(cx)?)
                }
            }
            MeasureFn::Const
            | MeasureFn::DurationMinutes
            | MeasureFn::Rate
            | MeasureFn::Ratio
            | MeasureFn::Classify
            | MeasureFn::MaxPer
            | MeasureFn::ConfirmedSignins
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => continue,
        };
        aggs.push(format!("{name} = {a}"));
    }
    Ok((pre, aggs))
}

/// A measure as a number in a derived measure (lists: their length).
fn operand(cx: &Cx<'_>, name: &str) -> String {
    let n = pascal(name);
    match cx.rule.measure(name) {
        Some(m) if is_list(m) || m.func == MeasureFn::ConfirmedSignins => {
            format!("array_length({n})")
        }
        _ => n,
    }
}

/// Columns computed after `summarize`, in rule order, then the severity.
fn post_extends(cx: &Cx<'_>) -> Result<Vec<String>, ExportError> {
    let mut v = Vec::new();
    let dd = "datetime_diff('minute', LastSeen, FirstSeen)";
    for m in &cx.rule.measures {
        let name = pascal(&m.name);
        let e = match m.func {
            MeasureFn::DurationMinutes => dd.to_string(),
            MeasureFn::Rate => {
                let of = pascal(m.of.as_deref().unwrap_or_default());
                format!("round(todouble({of}) / iff({dd} == 0, 1, todouble({dd})), 2)")
            }
            MeasureFn::Ratio => {
                let num = operand(cx, m.num.as_deref().unwrap_or_default());
                let den = m
                    .den
                    .iter()
                    .map(|d| operand(cx, d))
                    .collect::<Vec<_>>()
                    .join(" + ");
                format!("iff(({den}) == 0, 0.0, round(todouble({num}) / todouble({den}), 4))")
            }
            MeasureFn::Const => const_kql(cx, m)?,
            MeasureFn::Classify => {
                let of = pascal(m.of.as_deref().unwrap_or_default());
                let arms: Vec<String> = classify_arms(m)
                    .iter()
                    .map(|(l, b, ge)| {
                        format!(
                            "{of} {} {}, {}",
                            if *ge { ">=" } else { "<=" },
                            num(*b),
                            quote(l)
                        )
                    })
                    .collect();
                format!("case({}, \"mixed\")", arms.join(", "))
            }
            _ => continue,
        };
        v.push(format!("{name} = {e}"));
    }
    Ok(v)
}

fn const_kql(cx: &Cx<'_>, m: &Measure) -> Result<String, ExportError> {
    use serde_json::Value;
    Ok(match m.value.as_ref().unwrap_or(&Value::Null) {
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        v @ (Value::Array(_) | Value::Object(_)) => format!("dynamic({v})"),
        Value::Null => return Err(cx.unsupported(format!("constant `{}` has no value", m.name))),
    })
}

fn severity_col(cx: &Cx<'_>) -> &'static str {
    if cx.seed() {
        "SuspicionScore"
    } else {
        "Severity"
    }
}

fn severity_expr(cx: &Cx<'_>) -> String {
    let arms = &cx.rule.severity;
    let mut parts = Vec::new();
    let mut default = "Low";
    for arm in arms {
        if arm.any.is_empty() {
            default = level_name(arm);
            break;
        }
        let conds: Vec<String> = arm
            .any
            .iter()
            .filter(|c| cx.has(&c.measure))
            .map(|c| mcond(cx, c))
            .collect();
        if conds.is_empty() {
            continue;
        }
        parts.push(format!(
            "{}, {}",
            conds.join(" or "),
            quote(level_name(arm))
        ));
    }
    if parts.is_empty() {
        quote(default)
    } else {
        format!("case({}, {})", parts.join(", "), quote(default))
    }
}

fn mcond(cx: &Cx<'_>, c: &Condition) -> String {
    let n = pascal(&c.measure);
    let left = match cx.rule.measure(&c.measure) {
        Some(m) if is_list(m) || m.func == MeasureFn::ConfirmedSignins => {
            format!("array_length({n})")
        }
        _ => n,
    };
    cond_text(c, &left, " and ", num)
}

fn requires(cx: &Cx<'_>) -> Option<String> {
    let r: Vec<String> = cx.requires().iter().map(|c| mcond(cx, c)).collect();
    if r.is_empty() {
        None
    } else {
        Some(format!("| where {}", r.join(" and ")))
    }
}

fn outputs(cx: &Cx<'_>) -> Vec<String> {
    cx.rule
        .output
        .iter()
        .map(|(k, v)| {
            let val = match v {
                serde_json::Value::String(s) => quote(s),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => format!("dynamic({other})"),
            };
            format!("{} = {val}", pascal(k))
        })
        .collect()
}

/// Final projection: detection time, keys, the seed's column order for the
/// columns it has, the other measures, severity, first/last seen, outputs.
fn projection(cx: &Cx<'_>, keys: &[String], extra: &[&str]) -> String {
    const SEED_ORDER: &[&str] = &[
        "unique_usernames",
        "total_failures",
        "username_not_found_count",
        "enum_rate",
        "SEVERITY",
        "user_list",
        "error_codes",
        "duration_minutes",
    ];
    let mut cols = vec!["DetectionTime = LastSeen".to_string()];
    cols.extend(keys.iter().cloned());
    let names: Vec<&str> = cx.rule.measures.iter().map(|m| m.name.as_str()).collect();
    for s in SEED_ORDER {
        if *s == "SEVERITY" {
            cols.push(severity_col(cx).to_string());
        } else if names.contains(s) {
            cols.push(pascal(s));
        }
    }
    for n in &names {
        if !SEED_ORDER.contains(n) {
            cols.push(pascal(n));
        }
    }
    cols.push("FirstSeen".into());
    cols.push("LastSeen".into());
    cols.extend(extra.iter().map(|s| s.to_string()));
    cols.extend(cx.rule.output.keys().map(|k| pascal(k)));
    format!("| project {}", cols.join(", "))
}

fn order(cx: &Cx<'_>) -> String {
    let t = pascal(&cx.rule.threshold.measure);
    if cx.seed() {
        format!("| order by {} asc, {t} desc", severity_col(cx))
    } else {
        format!("| order by {t} desc")
    }
}

fn threshold_value(cx: &Cx<'_>, lets: Lets) -> String {
    match lets {
        Lets::Inline => cx.rule.threshold.gte.to_string(),
        _ => "enumThreshold".to_string(),
    }
}

/// A lookback query as lines. With `Lets::Declare` the first lines are the
/// `let` statements.
pub(crate) fn lookback(cx: &mut Cx<'_>, lets: Lets) -> Result<Vec<String>, ExportError> {
    let mut out = Vec::new();
    let w = dur(cx.rule.window.length.as_secs());
    if lets == Lets::Declare {
        out.push(format!("let lookback = {w};"));
        out.push(format!("let enumThreshold = {};", cx.rule.threshold.gte));
    }
    let range = if lets == Lets::Inline {
        w
    } else {
        "lookback".to_string()
    };
    out.extend(source(cx, &range)?);
    for p in &cx.rule.filter {
        out.push(format!("| where {}", pred(cx, p)?));
    }
    out.extend(dedup_lines(cx)?);
    let exact = !cx.seed();
    let (pre, aggs) = aggregations(cx, exact)?;
    if !pre.is_empty() {
        out.push("| extend".into());
        let n = pre.len();
        for (i, p) in pre.iter().enumerate() {
            out.push(format!("    {p}{}", if i + 1 < n { "," } else { "" }));
        }
    }
    let keys: Vec<String> = cx
        .rule
        .key
        .iter()
        .map(|f| col(cx, *f))
        .collect::<Result<_, _>>()?;
    if !exact {
        cx.warn(
            "dcount() is an estimate on large sets (as in the seed); the engine counts exactly"
                .to_string(),
        );
    } else {
        out.push("| order by TimeGenerated asc".into());
    }
    out.push("| summarize".into());
    for a in &aggs {
        out.push(format!("    {a},"));
    }
    out.push("    FirstSeen = min(TimeGenerated),".into());
    out.push("    LastSeen = max(TimeGenerated)".into());
    out.push(format!("    by {}", keys.join(", ")));
    out.push(format!(
        "| where {} >= {}",
        pascal(&cx.rule.threshold.measure),
        threshold_value(cx, lets)
    ));
    let mut post = post_extends(cx)?;
    post.push(format!("{} = {}", severity_col(cx), severity_expr(cx)));
    // one `extend` per column: a column can use the ones before it
    for p in &post {
        out.push(format!("| extend {p}"));
    }
    out.extend(requires(cx));
    let outs = outputs(cx);
    if !outs.is_empty() {
        out.push(format!("| extend {}", outs.join(", ")));
    }
    out.push(projection(cx, &keys, &[]));
    if lets != Lets::Reuse && lets != Lets::Inline {
        out.push(order(cx));
    }
    Ok(out)
}

/// A sliding-window rule.
fn sliding(cx: &mut Cx<'_>) -> Result<String, ExportError> {
    let rule = cx.rule;
    let w = dur(rule.window.length.as_secs());
    let every = dur(RUN_EVERY_SECS);
    cx.warn(format!(
        "schedule every {every} with a query period of at least {}: each run evaluates the sliding {w} windows that end within the last {every}; a burst spanning several runs is reported by each of them (group alerts by source)",
        dur(rule.window.length.as_secs() + RUN_EVERY_SECS)
    ));
    cx.warn("episodes of one source that do not overlap but fall in the same run are merged into one result".to_string());
    cx.warn("make_set/make_list keep the first values in time order in practice, but KQL does not guarantee which values a capped set keeps".to_string());
    let keys: Vec<String> = rule
        .key
        .iter()
        .map(|f| col(cx, *f))
        .collect::<Result<_, _>>()?;
    let on = keys.join(", ");
    let tm = threshold_measure(rule).ok_or_else(|| cx.unsupported("threshold measure missing"))?;
    let mut s = Vec::new();
    s.push(format!("let windowLength = {w};"));
    s.push(format!("let runEvery = {every};"));
    s.push(format!("let enumThreshold = {};", rule.threshold.gte));
    let src = source(cx, "windowLength + runEvery")?;
    s.push(format!("let Source = {}", src[0]));
    s.extend(src[1..].iter().cloned());
    s.push(";".into());
    if let (Some(c), Some(confirm)) = (&rule.completed, &rule.confirm) {
        // Drop probe rows that belong to a completed sign-in (e.g. an MFA
        // interrupt the same account completes from the same source).
        let ident = if c.lower {
            norm_col(cx, c.field)?
        } else {
            col(cx, c.field)?
        };
        s.push("let ProbeRows = materialize(Source".into());
        for p in &rule.filter {
            s.push(format!("| where {}", pred(cx, p)?));
        }
        s.extend(dedup_lines(cx)?);
        if rule.dedup.is_empty() {
            s.push("| extend DedupKey = tostring(new_guid())".into());
        }
        s.push(");".into());
        s.push(format!(
            "// rows matching the completion condition followed, for the same {} and source, by a completing event within {} are ordinary sign-ins",
            c.field.name(),
            dur(c.within.as_secs())
        ));
        s.push("let Completed = ProbeRows".into());
        s.push(format!("| where {}", pred(cx, &c.filter)?));
        s.push(format!(
            "| join kind=inner (Source | where {} | project {on}, CompletedIdentity = {ident}, CompletedAt = TimeGenerated) on {on}",
            pred(cx, confirm)?
        ));
        s.push(format!(
            "| where CompletedIdentity == {ident} and CompletedAt >= TimeGenerated and CompletedAt <= TimeGenerated + {}",
            dur(c.within.as_secs())
        ));
        s.push("| distinct DedupKey;".into());
        s.push("let Probes = ProbeRows".into());
        s.push("| where DedupKey !in (Completed);".into());
    } else {
        s.push("let Probes = Source".into());
        for p in &rule.filter {
            s.push(format!("| where {}", pred(cx, p)?));
        }
        s.extend(dedup_lines(cx)?);
        s.push(";".into());
    }
    s.push("// every probe time inside the last run interval ends one candidate window".into());
    s.push("let WindowEnds = Probes".into());
    s.push("| where TimeGenerated > ago(runEvery)".into());
    s.push(format!("| summarize by {on}, WindowEnd = TimeGenerated;"));
    let (value, agg) = match tm.func {
        MeasureFn::Dcount => {
            let r = mref(cx, tm)?;
            (
                r.clone(),
                if rule.missing_as_empty {
                    "count_distinct(V)".to_string()
                } else {
                    "count_distinctif(V, isnotempty(V))".to_string()
                },
            )
        }
        _ => ("1".to_string(), "count()".to_string()),
    };
    s.push("let Qualifying = WindowEnds".into());
    s.push(format!(
        "| join kind=inner (Probes | project {on}, ProbeTime = TimeGenerated, V = {value}) on {on}"
    ));
    s.push("| where ProbeTime > WindowEnd - windowLength and ProbeTime <= WindowEnd".into());
    s.push(format!(
        "| summarize WindowValue = {agg} by {on}, WindowEnd"
    ));
    s.push("| where WindowValue >= enumThreshold;".into());
    s.push("// overlapping qualifying windows of one key form one episode".into());
    s.push("let Episodes = Qualifying".into());
    s.push(format!(
        "| summarize EpisodeStart = min(WindowEnd) - windowLength, EpisodeEnd = max(WindowEnd), PeakWindowValue = max(WindowValue) by {on};"
    ));
    s.push("let InEpisode = Episodes".into());
    s.push(format!("| join kind=inner Probes on {on}"));
    s.push("| where TimeGenerated > EpisodeStart and TimeGenerated <= EpisodeEnd;".into());
    let joins = measure_lists(
        cx,
        &mut s,
        &Lists {
            rel: "InEpisode",
            on: &on,
            group: &on,
            window: "windowLength",
            comment: format!(
                "// accounts the source probed and then signed in to, within {w} after the episode"
            ),
            set: None,
        },
    )?;
    s.push("InEpisode".into());
    s.push("| order by TimeGenerated asc".into());
    let (_, aggs) = aggregations(cx, true)?;
    s.push("| summarize".into());
    for a in &aggs {
        s.push(format!("    {a},"));
    }
    s.push("    FirstSeen = min(TimeGenerated),".into());
    s.push("    LastSeen = max(TimeGenerated),".into());
    s.push("    PeakWindowValue = max(PeakWindowValue)".into());
    s.push(format!("    by {on}"));
    join_lists(cx, &mut s, &joins, &on);
    let mut post = post_extends(cx)?;
    post.push(format!("{} = {}", severity_col(cx), severity_expr(cx)));
    for p in &post {
        s.push(format!("| extend {p}"));
    }
    s.extend(requires(cx));
    let outs = outputs(cx);
    if !outs.is_empty() {
        s.push(format!("| extend {}", outs.join(", ")));
    }
    s.push(projection(cx, &keys, &["PeakWindowValue"]));
    s.push(order(cx));
    Ok(s.join("\n"))
}

/// A tumbling-window rule: one result per qualifying bin (and pivot set),
/// with the engine's baseline and pivot, for the bins that completed in the
/// last run interval (one bin).
fn tumbling(cx: &mut Cx<'_>) -> Result<String, ExportError> {
    let rule = cx.rule;
    let len = rule.window.length.as_secs();
    let b = dur(len);
    let tm = threshold_measure(rule).ok_or_else(|| cx.unsupported("threshold measure missing"))?;
    let history = rule
        .window
        .baseline
        .map(|bl| bl.history.as_secs())
        .unwrap_or(0);
    cx.warn(format!(
        "schedule every {b} with a query period of at least {}: each run reports the {b} bins (UTC-aligned, as bin() does) that ended within the last {b}",
        dur(2 * len + history)
    ));
    if rule.window.baseline.is_some() {
        cx.warn(format!(
            "the baseline starts at the first sign-in inside the query period (the engine: the first sign-in of its input), so keep the period at least {} to give every bin its full history",
            dur(2 * len + history)
        ));
    }
    cx.warn("make_set/make_list keep the first values in time order in practice, but KQL does not guarantee which values a capped set keeps".to_string());
    // Key columns (a constant for tenant-wide rules), then the group.
    let mut keys: Vec<String> = rule
        .key
        .iter()
        .map(|f| col(cx, *f))
        .collect::<Result<_, _>>()?;
    let tenant = keys.is_empty();
    if tenant {
        keys.push("Tenant".into());
    }
    let on = keys.join(", ");
    let set_col = match &rule.pivot {
        Some(p) => Some(format!("{}Set", col(cx, p.collect)?)),
        None => None,
    };
    let mut group = keys.clone();
    group.push("Bucket".into());
    group.extend(set_col.clone());
    let g = group.join(", ");
    let mut s = Vec::new();
    s.push(format!("let bucketLength = {b};"));
    s.push(format!("let enumThreshold = {};", rule.threshold.gte));
    if let Some(bl) = &rule.window.baseline {
        s.push(format!(
            "let historyBuckets = {};",
            bl.buckets(rule.window.length)
        ));
        s.push(format!(
            "let minHistoryBuckets = {};",
            bl.min_buckets(rule.window.length)
        ));
        s.push(format!("let sigmas = {};", num(bl.sigmas)));
    }
    let range = if history > 0 {
        format!("2 * bucketLength + {}", dur(history))
    } else {
        "2 * bucketLength".to_string()
    };
    let src = source(cx, &range)?;
    s.push(format!("let Source = {}", src[0]));
    s.extend(src[1..].iter().cloned());
    if tenant {
        s.push("| extend Tenant = \"\"".into());
    }
    s.push(";".into());
    if let (Some(c), Some(confirm)) = (&rule.completed, &rule.confirm) {
        let ident = if c.lower {
            norm_col(cx, c.field)?
        } else {
            col(cx, c.field)?
        };
        s.push("let ProbeRows = materialize(Source".into());
        for p in &rule.filter {
            s.push(format!("| where {}", pred(cx, p)?));
        }
        s.extend(dedup_lines(cx)?);
        if rule.dedup.is_empty() {
            s.push("| extend DedupKey = tostring(new_guid())".into());
        }
        s.push(");".into());
        s.push(format!(
            "// rows matching the completion condition followed, for the same {} and key, by a completing event within {} are ordinary sign-ins",
            c.field.name(),
            dur(c.within.as_secs())
        ));
        s.push("let Completed = ProbeRows".into());
        s.push(format!("| where {}", pred(cx, &c.filter)?));
        s.push(format!(
            "| join kind=inner (Source | where {} | project {on}, {ident}, CompletedAt = TimeGenerated) on {on}, {ident}",
            pred(cx, confirm)?
        ));
        s.push(format!(
            "| where CompletedAt >= TimeGenerated and CompletedAt <= TimeGenerated + {}",
            dur(c.within.as_secs())
        ));
        s.push("| distinct DedupKey;".into());
        s.push("let Probes = ProbeRows".into());
        s.push("| where DedupKey !in (Completed)".into());
    } else {
        s.push("let Probes = Source".into());
        for p in &rule.filter {
            s.push(format!("| where {}", pred(cx, p)?));
        }
        s.extend(dedup_lines(cx)?);
    }
    s.push("| extend Bucket = bin(TimeGenerated, bucketLength);".into());
    match &rule.pivot {
        Some(p) => {
            let by = if p.lower {
                norm_col(cx, p.by)?
            } else {
                col(cx, p.by)?
            };
            let coll = col(cx, p.collect)?;
            let set = set_col.clone().unwrap_or_default();
            s.push(format!(
                "// each {} with its sorted set of distinct {}; the exact set (at least {}) is the group",
                p.by.name(),
                p.collect.name(),
                p.min
            ));
            s.push("let PivotSets = Probes".into());
            s.push(format!("| where isnotempty({by}) and isnotempty({coll})"));
            s.push(format!(
                "| summarize PivotValues = make_set({coll}) by {on}, Bucket, {by}"
            ));
            s.push(format!("| where array_length(PivotValues) >= {}", p.min));
            s.push(format!(
                "| project {on}, Bucket, {by}, {set} = strcat_array(array_sort_asc(PivotValues), \",\");"
            ));
            s.push("let InGroup = Probes".into());
            s.push(format!(
                "| join kind=inner PivotSets on {on}, Bucket, {by};"
            ));
        }
        None => s.push("let InGroup = Probes;".into()),
    }
    let (value, agg) = match tm.func {
        MeasureFn::Dcount => {
            let r = mref(cx, tm)?;
            (
                r,
                if rule.missing_as_empty {
                    "count_distinct(V)".to_string()
                } else {
                    "count_distinctif(V, isnotempty(V))".to_string()
                },
            )
        }
        _ => ("1".to_string(), "count()".to_string()),
    };
    if rule.window.baseline.is_some() {
        s.push("// the threshold measure of every bin; bins without events count as 0".into());
        s.push("let BucketValues = InGroup".into());
        s.push(format!("| extend V = {value}"));
        s.push(format!("| summarize BucketValue = {agg} by {on}, Bucket;"));
        s.push(
            "let FirstBucket = toscalar(Source | summarize min(bin(TimeGenerated, bucketLength)));"
                .into(),
        );
        s.push("// mean and population deviation of the previous min(historyBuckets, bins since the first) bins".into());
        s.push("let Baseline = BucketValues".into());
        s.push(
            "| extend N = min_of(historyBuckets, toint((Bucket - FirstBucket) / bucketLength))"
                .into(),
        );
        s.push(format!(
            "| join kind=inner (BucketValues | project {on}, HistoryBucket = Bucket, HistoryValue = BucketValue) on {on}"
        ));
        s.push(format!(
            "| summarize S = sumif(HistoryValue, HistoryBucket >= Bucket - N * bucketLength and HistoryBucket < Bucket), SS = sumif(HistoryValue * HistoryValue, HistoryBucket >= Bucket - N * bucketLength and HistoryBucket < Bucket) by {on}, Bucket, N"
        ));
        s.push("| extend Mean = iff(N == 0, 0.0, todouble(S) / N), MeanSq = iff(N == 0, 0.0, todouble(SS) / N)".into());
        s.push("| extend Deviation = sqrt(max_of(MeanSq - Mean * Mean, 0.0))".into());
        s.push("| extend Bar = Mean + sigmas * Deviation".into());
        s.push("| where N >= minHistoryBuckets;".into());
    }
    // The crossing time: the first event at which the running threshold
    // value reaches the threshold (and rises above the baseline).
    s.push("let Crossing = InGroup".into());
    s.push(format!("| extend V = {value}"));
    if tm.func == MeasureFn::Dcount {
        if !rule.missing_as_empty {
            s.push("| where isnotempty(V)".into());
        }
        s.push(format!(
            "| summarize StepTime = min(TimeGenerated) by {g}, V"
        ));
    } else {
        s.push(format!("| project {g}, StepTime = TimeGenerated"));
    }
    s.push(format!(
        "| extend GroupKey = strcat_delim(\"\\u001f\", {})",
        group
            .iter()
            .map(|c| format!("tostring({c})"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s.push("| order by GroupKey asc, StepTime asc".into());
    s.push("| extend Running = row_cumsum(1, GroupKey != prev(GroupKey))".into());
    if rule.window.baseline.is_some() {
        s.push(format!(
            "| join kind=inner (Baseline | project {on}, Bucket, Bar) on {on}, Bucket"
        ));
        s.push("| where Running >= enumThreshold and Running > Bar".into());
    } else {
        s.push("| where Running >= enumThreshold".into());
    }
    s.push(format!(
        "| summarize ThresholdCrossedAt = min(StepTime) by {g};"
    ));
    let set = match (&rule.pivot, &set_col) {
        (Some(p), Some(set)) => Some((set.clone(), col(cx, p.collect)?)),
        _ => None,
    };
    let joins = measure_lists(
        cx,
        &mut s,
        &Lists {
            rel: "InGroup",
            on: &on,
            group: &g,
            window: "bucketLength",
            comment: format!(
                "// accounts probed and then signed in to{}, within {b} after the bin's last probe",
                if set.is_some() {
                    " from one of the set's sources"
                } else {
                    ""
                }
            ),
            set,
        },
    )?;
    s.push("InGroup".into());
    s.push("| order by TimeGenerated asc".into());
    let (_, aggs) = aggregations(cx, true)?;
    s.push("| summarize".into());
    for a in &aggs {
        s.push(format!("    {a},"));
    }
    s.push("    RowCount = count(),".into());
    s.push("    FirstSeen = min(TimeGenerated),".into());
    s.push("    LastSeen = max(TimeGenerated)".into());
    s.push(format!("    by {g}"));
    s.push("// the bins that ended within the last run interval".into());
    s.push(
        "| where Bucket + bucketLength <= now() and Bucket + bucketLength > now() - bucketLength"
            .into(),
    );
    s.push(format!(
        "| where {} >= enumThreshold",
        pascal(&rule.threshold.measure)
    ));
    let mut extra_cols: Vec<String> = vec!["Bucket".into()];
    if let Some(bl) = &rule.window.baseline {
        let _ = bl;
        s.push(format!("| join kind=inner (Baseline | project {on}, Bucket, N, Mean, Deviation, Bar) on {on}, Bucket"));
        s.push(format!("| where {} > Bar", pascal(&rule.threshold.measure)));
        for m in &rule.measures {
            let e = match m.func {
                MeasureFn::BaselineMean => "round(Mean, 2)",
                MeasureFn::BaselineStddev => "round(Deviation, 2)",
                MeasureFn::BaselineBuckets => "N",
                _ => continue,
            };
            s.push(format!("| extend {} = {e}", pascal(&m.name)));
        }
        extra_cols.push("Bar".into());
    }
    s.push(format!("| join kind=leftouter Crossing on {g}"));
    join_lists(cx, &mut s, &joins, &g);
    let mut post = post_extends(cx)?;
    post.push(format!("{} = {}", severity_col(cx), severity_expr(cx)));
    for p in &post {
        s.push(format!("| extend {p}"));
    }
    s.extend(requires(cx));
    let outs = outputs(cx);
    if !outs.is_empty() {
        s.push(format!("| extend {}", outs.join(", ")));
    }
    let mut shown: Vec<String> = if tenant { Vec::new() } else { keys.clone() };
    shown.extend(set_col.clone());
    extra_cols.push("ThresholdCrossedAt".into());
    extra_cols.push("RowCount".into());
    let extra: Vec<&str> = extra_cols.iter().map(String::as_str).collect();
    s.push(projection(cx, &shown, &extra));
    s.push(order(cx));
    Ok(s.join("\n"))
}

/// Where the per-group lists of a sliding or tumbling query come from.
struct Lists<'a> {
    /// The relation of the group's probe rows (`InEpisode`, `InGroup`).
    rel: &'a str,
    /// The key columns (joins with the source).
    on: &'a str,
    /// The group columns (the key, plus the bin and set for tumbling rules).
    group: &'a str,
    /// The `let` holding the window length.
    window: &'a str,
    /// The comment over each later-confirmation leg.
    comment: String,
    /// Pivot rules: (set column, collect column): confirmations come from
    /// the set's sources only.
    set: Option<(String, String)>,
}

/// The `let`s of the confirmed and max_per measures of one group relation;
/// returns the measure columns to join in (`<Name>List`).
fn measure_lists(
    cx: &Cx<'_>,
    s: &mut Vec<String>,
    l: &Lists<'_>,
) -> Result<Vec<String>, ExportError> {
    let rule = cx.rule;
    let (rel, on, g, window) = (l.rel, l.on, l.group, l.window);
    let confirmed: Vec<&Measure> = rule
        .measures
        .iter()
        .filter(|m| matches!(m.func, MeasureFn::Confirmed | MeasureFn::ConfirmedSignins))
        .collect();
    let mut joins = Vec::new();
    if !confirmed.is_empty() && rule.confirm.is_some() {
        s.push(format!("let Bounds = {rel}"));
        s.push(format!(
            "| summarize FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated) by {g};"
        ));
    }
    let (in_set, extra) = match &l.set {
        Some((set, coll)) => (
            format!(" and array_index_of(split({set}, \",\"), {coll}) >= 0"),
            format!(", {coll}"),
        ),
        None => (String::new(), String::new()),
    };
    for m in confirmed {
        let name = pascal(&m.name);
        let r = mref(cx, m)?;
        let cond = m
            .filter
            .as_ref()
            .map(|p| pred(cx, p))
            .transpose()?
            .unwrap_or_else(|| "false".into());
        let cap = m.cap.map(|c| format!(", {c}")).unwrap_or_default();
        s.push(format!("let {name}Probe = {rel}"));
        s.push(format!("| where {cond}"));
        s.push(format!(
            "| project {g}, Identity = {r}, ConfirmTime = TimeGenerated;"
        ));
        let mut legs = vec![format!("{name}Probe")];
        if let Some(c) = &rule.confirm {
            s.push(l.comment.clone());
            s.push(format!("let {name}Later = Source"));
            s.push(format!("| where {}", pred(cx, c)?));
            s.push(format!(
                "| project {on}, Identity = {r}, ConfirmTime = TimeGenerated{extra}"
            ));
            if m.any_identity {
                // Any success from the source during the group confirms
                // its account (probed or not), as the engine does.
                s.push(format!("| join kind=inner Bounds on {on}"));
                s.push(format!(
                    "| where ConfirmTime >= FirstSeen and ConfirmTime <= LastSeen + {window}{in_set}"
                ));
            } else {
                // A success confirms an account only at or after that
                // account's own first probe, as the engine does.
                s.push(format!("| join kind=inner ({rel} | summarize FirstProbe = min(TimeGenerated) by {g}, Identity = {r}) on {on}, Identity"));
                s.push(format!("| join kind=inner Bounds on {g}"));
                s.push(format!(
                    "| where ConfirmTime >= FirstProbe and ConfirmTime <= LastSeen + {window}{in_set}"
                ));
            }
            s.push(format!("| project {g}, Identity, ConfirmTime;"));
            legs.push(format!("{name}Later"));
        }
        s.push(format!("let {name}List = union {}", legs.join(", ")));
        s.push("| where isnotempty(Identity)".into());
        s.push(format!(
            "| summarize ConfirmTime = min(ConfirmTime) by {g}, Identity"
        ));
        s.push("| order by ConfirmTime asc".into());
        if m.func == MeasureFn::ConfirmedSignins {
            s.push(format!("| summarize {name} = make_list(bag_pack(\"account\", Identity, \"time\", ConfirmTime){cap}) by {g};"));
        } else {
            s.push(format!(
                "| summarize {name} = make_list(Identity{cap}) by {g};"
            ));
        }
        joins.push(name);
    }
    for m in rule.measures.iter().filter(|m| m.func == MeasureFn::MaxPer) {
        let name = pascal(&m.name);
        let r = mref(cx, m)?;
        let per = m
            .per
            .ok_or_else(|| cx.unsupported(format!("measure `{}` needs `per`", m.name)))?;
        let pr = col(cx, per)?;
        s.push(format!("let {name}List = {rel}"));
        s.push(format!(
            "| summarize PerCount = count_distinctif({r}, isnotempty({r})) by {g}, PerValue = {pr}"
        ));
        s.push(format!("| summarize {name} = max(PerCount) by {g};"));
        joins.push(name);
    }
    Ok(joins)
}

/// Joins the measure lists of [`measure_lists`] to the group rows (absent:
/// an empty list, or 0 for `max_per`).
fn join_lists(cx: &Cx<'_>, s: &mut Vec<String>, joins: &[String], group: &str) {
    for name in joins {
        s.push(format!("| join kind=leftouter {name}List on {group}"));
        let empty = if cx
            .rule
            .measure(&crate::common::snake(name))
            .is_some_and(|m| m.func == MeasureFn::MaxPer)
        {
            "0"
        } else {
            "dynamic([])"
        };
        s.push(format!(
            "| extend {name} = iff(isnull({name}), {empty}, {name})"
        ));
    }
}
