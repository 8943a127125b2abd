//! Elastic ES|QL (Elasticsearch 9.1 grammar).

use crate::common::{Carry, carry, pivot_key};
use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, print_pred,
};
use crate::escape::{comment_text, escape};
use crate::{ExportError, Target};
use idrecon_rules::{Baseline, Measure, MeasureFn, Pivot, Predicate};

/// The tumbling bucket (its start, `DATE_TRUNC`).
const BUCKET: &str = "idr_bucket";
/// A pivot's `collect` value as a string (sorted as text, like the engine).
const COLLECT: &str = "idr_collect";
/// An account's sorted set of sources, and its size.
const SOURCE_SET: &str = "idr_source_set";
const SOURCES: &str = "idr_sources";

fn quote(s: &str) -> String {
    escape(Target::Esql, s)
}

const D: Dialect = Dialect {
    and: " AND ",
    or: " OR ",
    not: |x| format!("NOT ({x})"),
    is_in: |f, v| {
        if v.len() == 1 {
            format!("{f} == {}", v[0])
        } else {
            format!("{f} IN ({})", v.join(", "))
        }
    },
    is_in_ci: |f, raw| {
        let v: Vec<String> = raw.iter().map(|x| quote(x)).collect();
        let v = &v;
        if v.len() == 1 {
            format!("TO_LOWER({f}) == {}", v[0])
        } else {
            format!("TO_LOWER({f}) IN ({})", v.join(", "))
        }
    },
    contains: |f, s| format!("LOCATE(TO_LOWER({f}), {}) > 0", quote(&s.to_lowercase())),
    not_empty: |f| format!("({f} IS NOT NULL AND TO_STRING({f}) != \"\")"),
    quote,
};

fn pred(cx: &Cx<'_>, p: &Predicate) -> Result<String, ExportError> {
    print_pred(cx, &D, p, &|f| Ok(cx.name(f)?.to_string()))
}

fn norm(name: &str) -> String {
    format!("{}_norm", name.replace(['.', '`'], "_").trim_matches('_'))
}

fn mref(cx: &Cx<'_>, m: &Measure) -> Result<String, ExportError> {
    let f = m
        .field
        .ok_or_else(|| cx.unsupported(format!("measure `{}` needs a field", m.name)))?;
    Ok(if m.lower {
        norm(cx.name(f)?)
    } else {
        cx.name(f)?.to_string()
    })
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Duration as an ES|QL time span literal.
pub(crate) fn span(secs: u64) -> String {
    if secs.is_multiple_of(3600) {
        format!("{} hours", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

fn mcond(cx: &Cx<'_>, c: &idrecon_rules::Condition) -> String {
    let left = match cx.rule.measure(&c.measure) {
        Some(m) if is_list(m) => format!("COALESCE(MV_COUNT({}), 0)", c.measure),
        _ => c.measure.clone(),
    };
    cond_text(c, &left, " AND ", num)
}

pub(crate) fn compile(cx: &mut Cx<'_>) -> Result<String, ExportError> {
    cx.check_fields()?;
    let rule = cx.rule;
    let secs = rule.window.length.as_secs();
    cx.warn_sliding_by_schedule();
    if !cx.sliding() && !cx.tumbling() {
        cx.warn(format!(
            "lookback: run the rule every {w} over the last {w} (Elastic rule interval and look-back)",
            w = dur(secs)
        ));
    }
    if let Some(bl) = &rule.window.baseline {
        warn_full_history(cx, bl);
    }
    let range = if cx.sliding() {
        secs + RUN_EVERY_SECS
    } else if cx.tumbling() {
        cx.schedule().1
    } else {
        secs
    };
    let tables = cx.tables()?;
    let mut froms: Vec<String> = Vec::new();
    for (_, t) in &tables {
        for f in t.from.split(',') {
            let f = f.trim().to_string();
            if !froms.contains(&f) {
                froms.push(f);
            }
        }
    }
    let mut b = vec![format!("FROM {}", froms.join(", "))];
    b.push(format!("| WHERE @timestamp > NOW() - {}", span(range)));
    let filt: Vec<String> = tables.iter().filter_map(|t| t.1.filter.clone()).collect();
    if !filt.is_empty() {
        b.push(format!(
            "| WHERE {}",
            if filt.len() == 1 {
                filt[0].clone()
            } else {
                format!("({})", filt.join(" OR "))
            }
        ));
    }
    let mut evals = Vec::new();
    for f in cx.used_fields() {
        let fm = cx.field(f)?;
        if let Some(e) = &fm.expr {
            let s = format!("{} = {e}", fm.name);
            if !evals.contains(&s) {
                evals.push(s);
            }
        }
    }
    for f in lowered_fields(rule) {
        let n = cx.name(f)?;
        evals.push(format!("{} = TO_LOWER(TRIM({n}))", norm(n)));
    }
    if rule.missing_as_empty {
        for f in &rule.key {
            let n = cx.name(*f)?;
            evals.push(format!("{n} = COALESCE({n}, \"\")"));
        }
    }
    if rule.key_lower {
        for f in &rule.key {
            let n = cx.name(*f)?;
            evals.push(format!("{n} = TO_LOWER(TRIM({n}))"));
        }
    }
    if let Some(p) = &rule.pivot {
        let by = pivot_by(cx, p)?;
        if p.lower && !lowered_fields(rule).contains(&p.by) {
            evals.push(format!("{by} = TO_LOWER(TRIM({}))", cx.name(p.by)?));
        }
        let c = cx.name(p.collect)?;
        evals.push(format!("{COLLECT} = TO_STRING({c})"));
        if rule.missing_as_empty {
            evals.push(format!(
                "{by} = COALESCE({by}, \"\"), {COLLECT} = COALESCE({COLLECT}, \"\")"
            ));
        }
    }
    if cx.tumbling() {
        evals.push(format!("{BUCKET} = DATE_TRUNC({}, @timestamp)", span(secs)));
    }
    if !evals.is_empty() {
        b.push(format!("| EVAL {}", evals.join(", ")));
    }
    if cx.tumbling() && rule.window.baseline.is_none() {
        b.push(format!(
            "| WHERE {BUCKET} == DATE_TRUNC({w}, NOW()) - {w}",
            w = span(secs)
        ));
    }
    for p in &rule.filter {
        b.push(format!("| WHERE {}", pred(cx, p)?));
    }
    if let Some(p) = &rule.pivot
        && !rule.missing_as_empty
    {
        b.push(format!(
            "| WHERE {} IS NOT NULL AND {COLLECT} IS NOT NULL",
            pivot_by(cx, p)?
        ));
    }
    if !rule.dedup.is_empty() {
        cx.warn(format!(
            "ES|QL has no row de-duplication before STATS: rows repeated with the same {} are counted again",
            rule.dedup.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
        ));
    }
    let mut helpers = Vec::new();
    let mut aggs = Vec::new();
    let mut post = Vec::new();
    // Pivot: per-account (stage A) and per-set (stage B) aggregations.
    let mut stage_a: Vec<String> = Vec::new();
    let mut stage_b: Vec<String> = Vec::new();
    for m in &rule.measures {
        if !cx.computed(m) {
            continue;
        }
        if let Some(p) = &rule.pivot {
            pivot_aggs(cx, p, m, &mut stage_a, &mut stage_b)?;
        }
        let n = &m.name;
        let cond = || -> Result<String, ExportError> {
            m.filter
                .as_ref()
                .map(|p| pred(cx, p))
                .transpose()
                .map(|o| o.unwrap_or_else(|| "true".into()))
        };
        match m.func {
            MeasureFn::Count => aggs.push(format!("{n} = COUNT(*)")),
            MeasureFn::CountIf => {
                helpers.push(format!("{n}_hit = CASE({}, 1, 0)", cond()?));
                aggs.push(format!("{n} = SUM({n}_hit)"));
            }
            MeasureFn::Dcount => aggs.push(format!("{n} = COUNT_DISTINCT({})", mref(cx, m)?)),
            MeasureFn::DcountIf => {
                helpers.push(format!("{n}_value = CASE({}, {}, null)", cond()?, mref(cx, m)?));
                aggs.push(format!("{n} = COUNT_DISTINCT({n}_value)"));
            }
            MeasureFn::Set => aggs.push(format!("{n} = VALUES({})", mref(cx, m)?)),
            MeasureFn::SetIf | MeasureFn::Confirmed => {
                if m.func == MeasureFn::Confirmed && rule.confirm.is_some() {
                    cx.warn(format!("{n}: only probe rows matching its condition confirm an account; later successful sign-ins are not joined"));
                }
                helpers.push(format!("{n}_value = CASE({}, {}, null)", cond()?, mref(cx, m)?));
                aggs.push(format!("{n} = VALUES({n}_value)"));
            }
            MeasureFn::Const => {
                let v = match m.value.as_ref() {
                    Some(serde_json::Value::String(s)) => quote(s),
                    Some(serde_json::Value::Array(a)) => {
                        let items: Vec<String> = a.iter().map(|x| quote(&x.as_str().map_or_else(|| x.to_string(), str::to_string))).collect();
                        items.iter().rev().cloned().reduce(|acc, x| format!("MV_APPEND({x}, {acc})")).unwrap_or_else(|| "null".into())
                    }
                    Some(serde_json::Value::Number(x)) if x.is_f64() => format!("{:?}", x.as_f64().unwrap_or(0.0)),
                    Some(v) => v.to_string(),
                    None => "null".into(),
                };
                post.push(format!("{n} = {v}"));
            }
            MeasureFn::DurationMinutes => post.push(format!(
                "{n} = DATE_DIFF(\"minutes\", DATE_TRUNC(1 minute, first_seen), DATE_TRUNC(1 minute, last_seen))"
            )),
            MeasureFn::Rate => {
                let of = m.of.as_deref().unwrap_or_default();
                post.push(format!(
                    "{n} = ROUND(TO_DOUBLE({of}) / CASE(DATE_DIFF(\"minutes\", DATE_TRUNC(1 minute, first_seen), DATE_TRUNC(1 minute, last_seen)) == 0, 1, DATE_DIFF(\"minutes\", DATE_TRUNC(1 minute, first_seen), DATE_TRUNC(1 minute, last_seen))), 2)"
                ));
            }
            MeasureFn::Ratio => {
                let num_ = m.num.as_deref().unwrap_or_default();
                let den = m.den.join(" + ");
                post.push(format!("{n} = CASE(({den}) == 0, 0.0, ROUND(TO_DOUBLE({num_}) / TO_DOUBLE({den}), 4))"));
            }
            MeasureFn::Classify => {
                let of = m.of.as_deref().unwrap_or_default();
                let arms: Vec<String> = classify_arms(m)
                    .iter()
                    .map(|(l, b, ge)| format!("{of} {} {}, {}", if *ge { ">=" } else { "<=" }, num(*b), quote(l)))
                    .collect();
                post.push(format!("{n} = CASE({}, \"mixed\")", arms.join(", ")));
            }
            MeasureFn::MaxPer
            | MeasureFn::ConfirmedSignins
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => {}
        }
        if let (Some(cap), true) = (
            m.cap,
            matches!(
                m.func,
                MeasureFn::Set | MeasureFn::SetIf | MeasureFn::Confirmed
            ),
        ) {
            post.push(format!("{n} = MV_SLICE({n}, 0, {})", cap.saturating_sub(1)));
        }
    }
    if rule.measures.iter().any(|m| m.cap.is_some()) {
        cx.warn(
            "VALUES() does not keep first-seen order; capped lists keep an arbitrary subset"
                .to_string(),
        );
    }
    if !helpers.is_empty() {
        b.push(format!("| EVAL {}", helpers.join(", ")));
    }
    aggs.push("first_seen = MIN(@timestamp)".into());
    aggs.push("last_seen = MAX(@timestamp)".into());
    let keys: Vec<&str> = rule
        .key
        .iter()
        .map(|f| cx.name(*f))
        .collect::<Result<_, _>>()?;
    let mut group: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    if cx.tumbling() {
        group.push(BUCKET.into());
    }
    let set_key = rule.pivot.as_ref().map(pivot_key);
    if let Some(p) = &rule.pivot {
        let sk = pivot_key(p);
        let mut per_account = group.clone();
        per_account.push(pivot_by(cx, p)?);
        stage_a.push(format!("{SOURCE_SET} = VALUES({COLLECT})"));
        stage_a.push("first_seen = MIN(@timestamp)".into());
        stage_a.push("last_seen = MAX(@timestamp)".into());
        b.push(format!(
            "| STATS {} BY {}",
            stage_a.join(", "),
            per_account.join(", ")
        ));
        b.push(format!(
            "| EVAL {SOURCE_SET} = MV_SORT({SOURCE_SET}), {SOURCES} = MV_COUNT({SOURCE_SET})"
        ));
        b.push(format!("| WHERE {SOURCES} >= {}", p.min));
        b.push(format!("| EVAL {sk} = MV_CONCAT({SOURCE_SET}, \",\")"));
        stage_b.push("first_seen = MIN(first_seen)".into());
        stage_b.push("last_seen = MAX(last_seen)".into());
        group.push(sk);
        b.push(format!(
            "| STATS {} BY {}",
            stage_b.join(", "),
            group.join(", ")
        ));
    } else {
        b.push(format!(
            "| STATS {} BY {}",
            aggs.join(", "),
            group.join(", ")
        ));
    }
    if let Some(bl) = &rule.window.baseline {
        baseline(cx, bl, &keys, &mut b, &mut post);
    } else {
        b.push(format!(
            "| WHERE {} >= {}",
            rule.threshold.measure, rule.threshold.gte
        ));
    }
    if cx.tumbling() {
        post.push(format!("bucket_start = {BUCKET}"));
    }
    let mut sev = Vec::new();
    let mut default = "Low";
    for arm in &rule.severity {
        if arm.any.is_empty() {
            default = level_name(arm);
            break;
        }
        let c: Vec<String> = arm
            .any
            .iter()
            .filter(|c| cx.has(&c.measure))
            .map(|c| mcond(cx, c))
            .collect();
        if c.is_empty() {
            continue;
        }
        sev.push(format!("{}, \"{}\"", c.join(" OR "), level_name(arm)));
    }
    sev.push(format!("\"{default}\""));
    post.push(format!("severity = CASE({})", sev.join(", ")));
    for (k, v) in &rule.output {
        let val = match v {
            serde_json::Value::String(s) => quote(s),
            other => other.to_string(),
        };
        post.push(format!("{k} = {val}"));
    }
    post.push("detection_time = last_seen".into());
    b.push(format!("| EVAL {}", post.join(", ")));
    let req: Vec<String> = cx.requires().iter().map(|c| mcond(cx, c)).collect();
    if !req.is_empty() {
        b.push(format!("| WHERE {}", req.join(" AND ")));
    }
    let mut keep = vec!["detection_time".to_string()];
    keep.extend(keys.iter().map(|k| k.to_string()));
    keep.extend(set_key);
    if cx.tumbling() {
        keep.push("bucket_start".into());
    }
    keep.extend(
        rule.measures
            .iter()
            .filter(|m| cx.has(&m.name))
            .map(|m| m.name.clone()),
    );
    keep.extend([
        "severity".to_string(),
        "first_seen".into(),
        "last_seen".into(),
    ]);
    keep.extend(rule.output.keys().cloned());
    b.push(format!("| KEEP {}", keep.join(", ")));
    b.push(format!("| SORT {} DESC", rule.threshold.measure));
    let mut out: Vec<String> = cx.header(&[]).iter().map(|l| format!("// {l}")).collect();
    if let Some(n) = cx.tumbling_note() {
        out.push(format!("// {}", comment_text(&n, &[])));
    }
    out.extend(cx.warning_lines(&[]).iter().map(|l| format!("// {l}")));
    out.extend(b);
    Ok(out.join("\n") + "\n")
}

/// The column holding a pivot's `by` value.
fn pivot_by(cx: &Cx<'_>, p: &Pivot) -> Result<String, ExportError> {
    let n = cx.name(p.by)?;
    Ok(if p.lower { norm(n) } else { n.to_string() })
}

/// A measure's pivot aggregations: per account and bucket (stage A, when
/// it needs one) and per set and bucket (stage B). Distinct values and
/// lists are kept as per-account multivalues (`VALUES`) and merged, which
/// `COUNT_DISTINCT` and `VALUES` do over multivalued input.
fn pivot_aggs(
    cx: &Cx<'_>,
    p: &Pivot,
    m: &Measure,
    a: &mut Vec<String>,
    b: &mut Vec<String>,
) -> Result<(), ExportError> {
    let n = &m.name;
    let value = || -> Result<String, ExportError> {
        Ok(if m.filter.is_some() {
            format!("{n}_value")
        } else {
            mref(cx, m)?
        })
    };
    match carry(cx.rule, m) {
        Carry::Sum => {
            a.push(match m.func {
                MeasureFn::CountIf => format!("{n} = SUM({n}_hit)"),
                _ => format!("{n} = COUNT(*)"),
            });
            b.push(format!("{n} = SUM({n})"));
        }
        Carry::Accounts => b.push(format!("{n} = COUNT(*)")),
        Carry::Sources => b.push(format!("{n} = MAX({SOURCES})")),
        Carry::SourceList => b.push(format!("{n} = VALUES({SOURCE_SET})")),
        Carry::AccountList => b.push(format!("{n} = VALUES({})", pivot_by(cx, p)?)),
        Carry::AccountsIf | Carry::AccountListIf | Carry::Merge => {
            a.push(format!("{n} = VALUES({})", value()?));
            b.push(match m.func {
                MeasureFn::Dcount | MeasureFn::DcountIf => format!("{n} = COUNT_DISTINCT({n})"),
                _ => format!("{n} = VALUES({n})"),
            });
        }
        Carry::Post | Carry::None => {}
    }
    Ok(())
}

/// The engine's history is the key's previous buckets from the first event
/// of its input on; a scheduled ES|QL search (no window functions) takes
/// the full history, zero-filled.
fn warn_full_history(cx: &Cx<'_>, bl: &Baseline) {
    let n = bl.buckets(cx.rule.window.length);
    cx.warn(format!(
        "baseline: the history is always the full {n} buckets before the evaluated bucket (buckets without rows count as 0, as in the engine), and `min_history` always holds; the engine starts the history at the first sign-in of its input, so the two agree once the index holds {} of data before the bucket",
        dur(bl.history.as_secs())
    ));
}

/// After the per-bucket `STATS`: the last complete bucket's measures, the
/// sum and sum of squares of the threshold measure over the previous
/// `history` buckets (a second `STATS` with per-aggregation `WHERE`), the
/// mean and population standard deviation `SQRT(SS/n - mean²)`, and the
/// engine's tests.
fn baseline(
    cx: &Cx<'_>,
    bl: &Baseline,
    keys: &[&str],
    b: &mut Vec<String>,
    post: &mut Vec<String>,
) {
    let rule = cx.rule;
    let secs = rule.window.length.as_secs();
    let n = bl.buckets(rule.window.length);
    let thr = &rule.threshold.measure;
    let w = span(secs);
    b.push(format!("| EVAL idr_last = DATE_TRUNC({w}, NOW()) - {w}"));
    b.push(format!(
        "| EVAL idr_hist = CASE({BUCKET} >= idr_last - {} AND {BUCKET} < idr_last, TO_DOUBLE({thr}), 0.0)",
        span(bl.history.as_secs())
    ));
    b.push("| EVAL idr_hist2 = idr_hist * idr_hist".into());
    let mut carried = vec![
        "idr_sum = SUM(idr_hist)".to_string(),
        "idr_sumsq = SUM(idr_hist2)".to_string(),
    ];
    let last = format!("WHERE {BUCKET} == idr_last");
    for m in &rule.measures {
        if !cx.computed(m) {
            continue;
        }
        let n = &m.name;
        match m.func {
            MeasureFn::Count | MeasureFn::CountIf | MeasureFn::Dcount | MeasureFn::DcountIf => {
                carried.push(format!("{n} = MAX({n}) {last}"))
            }
            MeasureFn::Set | MeasureFn::SetIf | MeasureFn::Confirmed => {
                carried.push(format!("{n} = VALUES({n}) {last}"))
            }
            _ => {}
        }
    }
    carried.push(format!("first_seen = MIN(first_seen) {last}"));
    carried.push(format!("last_seen = MAX(last_seen) {last}"));
    carried.push(format!("{BUCKET} = MAX({BUCKET}) {last}"));
    let by = if keys.is_empty() {
        String::new()
    } else {
        format!(" BY {}", keys.join(", "))
    };
    b.push(format!("| STATS {}{by}", carried.join(", ")));
    b.push(format!(
        "| EVAL idr_n = {n}, idr_mean = idr_sum / {n}, idr_meansq = idr_sumsq / {n}"
    ));
    b.push(format!(
        "| EVAL idr_stddev = SQRT(GREATEST(idr_meansq - idr_mean * idr_mean, 0.0)), idr_bar = idr_mean + {:?} * idr_stddev",
        bl.sigmas
    ));
    b.push(format!(
        "| WHERE {thr} >= {} AND {thr} > idr_bar",
        rule.threshold.gte
    ));
    for m in &rule.measures {
        let e = match m.func {
            MeasureFn::BaselineMean => "ROUND(idr_mean, 2)",
            MeasureFn::BaselineStddev => "ROUND(idr_stddev, 2)",
            MeasureFn::BaselineBuckets => "idr_n",
            _ => continue,
        };
        post.push(format!("{} = {e}", m.name));
    }
}
