//! Sumo Logic search language (scheduled search). No public parser: golden
//! files and a manual checklist.

use crate::common::{Carry, carry, pivot_key};
use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, print_pred,
};
use crate::escape::{comment_text, escape};
use crate::{ExportError, Target};
use idrecon_rules::{Baseline, Measure, MeasureFn, Pivot, Predicate};

/// The tumbling bucket index, `floor(_messagetime / length)`.
const BUCKET: &str = "idr_bucket";

fn quote(s: &str) -> String {
    escape(Target::Sumo, s)
}

const D: Dialect = Dialect {
    and: " and ",
    or: " or ",
    not: |x| format!("!({x})"),
    is_in: |f, v| {
        if v.len() == 1 {
            format!("{f} = {}", v[0])
        } else {
            format!("{f} in ({})", v.join(", "))
        }
    },
    is_in_ci: |f, raw| {
        let v: Vec<String> = raw.iter().map(|x| quote(x)).collect();
        let v = &v;
        if v.len() == 1 {
            format!("toLowerCase({f}) = {}", v[0])
        } else {
            format!("toLowerCase({f}) in ({})", v.join(", "))
        }
    },
    contains: |f, s| format!("contains(toLowerCase({f}), {})", quote(&s.to_lowercase())),
    not_empty: |f| format!("!isEmpty({f})"),
    quote,
};

fn pred(cx: &Cx<'_>, p: &Predicate) -> Result<String, ExportError> {
    print_pred(cx, &D, p, &|f| Ok(cx.name(f)?.to_string()))
}

fn mref(cx: &Cx<'_>, m: &Measure) -> Result<String, ExportError> {
    let f = m
        .field
        .ok_or_else(|| cx.unsupported(format!("measure `{}` needs a field", m.name)))?;
    Ok(if m.lower {
        format!("{}_norm", cx.name(f)?)
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

fn mcond(cx: &Cx<'_>, c: &idrecon_rules::Condition) -> String {
    let left = match cx.rule.measure(&c.measure) {
        Some(m) if is_list(m) && m.func != MeasureFn::Const => format!("{}_count", c.measure),
        _ => c.measure.clone(),
    };
    cond_text(c, &left, " and ", num)
}

pub(crate) fn compile(cx: &mut Cx<'_>) -> Result<String, ExportError> {
    cx.check_fields()?;
    let rule = cx.rule;
    let secs = rule.window.length.as_secs();
    cx.warn_sliding_by_schedule();
    let range = if cx.sliding() {
        secs + RUN_EVERY_SECS
    } else if cx.tumbling() {
        cx.schedule().1
    } else {
        secs
    };
    if let Some(bl) = &rule.window.baseline {
        cx.warn(format!(
            "baseline: the history is always the full {} buckets before the evaluated bucket (buckets without rows count as 0, as in the engine), and `min_history` always holds; the engine starts the history at the first sign-in of its input, so the two agree once the index holds {} of data before the bucket; Sumo Logic's outlier operator is not used: its trailing window counts result rows, not clock buckets, and it does not document which standard deviation it takes",
            bl.buckets(rule.window.length),
            dur(bl.history.as_secs())
        ));
    }
    if let Some(p) = &rule.pivot {
        cx.warn(format!(
            "pivot: an account's set of sources is read from values(), which returns at most 100 values: accounts probed from more than 100 sources in one bucket are grouped by their first 100 ({}s in values() order)",
            p.collect.name()
        ));
    }
    let tables = cx.tables()?;
    let from = tables[0].1.from.clone();
    if tables.iter().any(|t| t.1.from != from) {
        return Err(cx.unsupported("tables of one rule must share a source expression"));
    }
    let mut b = vec![from];
    let mut seen = Vec::new();
    let mut parse = |name: &str, path: &str, b: &mut Vec<String>| {
        if !seen.contains(&name.to_string()) {
            seen.push(name.to_string());
            b.push(format!(
                "| json field=_raw {} as {name} nodrop",
                quote(path)
            ));
        }
    };
    let filt: Vec<String> = tables.iter().filter_map(|t| t.1.filter.clone()).collect();
    if let Some(tf) = cx.kind.fields.get("table")
        && let Some(p) = &tf.json
    {
        parse(&tf.name, p, &mut b);
    }
    let mut frags = Vec::new();
    for f in cx.used_fields() {
        let fm = cx.field(f)?;
        let path = fm.json.clone().unwrap_or_else(|| fm.name.clone());
        parse(&fm.name, &path, &mut b);
        if let Some(e) = &fm.expr
            && !frags.contains(e)
        {
            frags.push(e.clone());
        }
    }
    for e in frags {
        b.push(format!("| {e}"));
    }
    if !filt.is_empty() {
        b.push(format!("| where {}", filt.join(" or ")));
    }
    let mut lowered = lowered_fields(rule);
    if let Some(p) = &rule.pivot
        && p.lower
        && !lowered.contains(&p.by)
    {
        lowered.push(p.by);
    }
    for f in lowered {
        let n = cx.name(f)?;
        b.push(format!("| toLowerCase(trim({n})) as {n}_norm"));
    }
    if rule.missing_as_empty {
        for f in &rule.key {
            let n = cx.name(*f)?;
            b.push(format!("| if(isNull({n}), \"\", {n}) as {n}"));
        }
    }
    if rule.key_lower {
        for f in &rule.key {
            let n = cx.name(*f)?;
            b.push(format!("| toLowerCase(trim({n})) as {n}"));
        }
    }
    let ms = secs * 1000;
    if cx.tumbling() {
        b.push(format!("| floor(_messagetime / {ms}) as {BUCKET}"));
        if rule.window.baseline.is_none() {
            b.push(format!("| floor(queryEndTime() / {ms}) - 1 as idr_last"));
            b.push(format!("| where {BUCKET} = idr_last"));
        }
    }
    for p in &rule.filter {
        b.push(format!("| where {}", pred(cx, p)?));
    }
    if let Some(p) = &rule.pivot {
        let (by, col) = (pivot_by(cx, p)?, cx.name(p.collect)?);
        if rule.missing_as_empty {
            b.push(format!("| if(isNull({by}), \"\", {by}) as {by}"));
            b.push(format!("| if(isNull({col}), \"\", {col}) as {col}"));
        } else {
            b.push(format!("| where !isNull({by}) and !isNull({col})"));
        }
    }
    if !rule.dedup.is_empty() {
        cx.warn("no de-duplication of repeated rows before counting (Sumo Logic aggregates every message)".to_string());
    }
    let mut aggs = Vec::new();
    let mut post = Vec::new();
    let (mut stage_a, mut stage_b) = (Vec::new(), Vec::new());
    for m in &rule.measures {
        if !cx.computed(m) {
            continue;
        }
        if let Some(p) = &rule.pivot {
            pivot_aggs(cx, p, m, &mut b, &mut stage_a, &mut stage_b)?;
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
            MeasureFn::Count => aggs.push(format!("count as {n}")),
            MeasureFn::CountIf => {
                b.push(format!("| if({}, 1, 0) as {n}_hit", cond()?));
                aggs.push(format!("sum({n}_hit) as {n}"));
            }
            MeasureFn::Dcount => aggs.push(format!("count_distinct({}) as {n}", mref(cx, m)?)),
            MeasureFn::DcountIf | MeasureFn::SetIf | MeasureFn::Confirmed | MeasureFn::Set => {
                let r = mref(cx, m)?;
                // A pivot counts per-account flags instead (pivot_aggs).
                if m.func != MeasureFn::Set && rule.pivot.is_none() {
                    b.push(format!("| if({}, {r}, \"\") as {n}_value", cond()?));
                }
                let v = if m.func == MeasureFn::Set {
                    r
                } else {
                    format!("{n}_value")
                };
                if m.func == MeasureFn::DcountIf {
                    aggs.push(format!("count_distinct({v}) as {n}"));
                    if rule.pivot.is_none() {
                        cx.warn(format!(
                        "{n}: rows outside its condition add one empty value to the distinct count"
                    ));
                    }
                } else {
                    cx.warn(format!("{n}: Sumo Logic has no distinct-list aggregate in this form; the query reports its size ({n}_count); list the values with a follow-up search by source"));
                    aggs.push(format!("count_distinct({v}) as {n}_count"));
                }
            }
            MeasureFn::Const => {
                let v = crate::common::const_literal(Target::Sumo, m.value.as_ref(), "\"\"");
                post.push(format!("| {v} as {n}"));
            }
            MeasureFn::DurationMinutes => post.push(format!(
                "| floor(last_seen / 60000) - floor(first_seen / 60000) as {n}"
            )),
            MeasureFn::Rate => {
                let of = m.of.as_deref().unwrap_or_default();
                post.push(format!(
                    "| round({of} / if(floor(last_seen / 60000) - floor(first_seen / 60000) == 0, 1, floor(last_seen / 60000) - floor(first_seen / 60000)) * 100) / 100 as {n}"
                ));
            }
            MeasureFn::Ratio => {
                let num_ = m.num.as_deref().unwrap_or_default();
                let den = m.den.join(" + ");
                post.push(format!(
                    "| if(({den}) == 0, 0, round({num_} / ({den}) * 10000) / 10000) as {n}"
                ));
            }
            MeasureFn::Classify => {
                let of = m.of.as_deref().unwrap_or_default();
                let mut e = "\"mixed\"".to_string();
                for (l, b, ge) in classify_arms(m).iter().rev() {
                    e = format!(
                        "if({of} {} {}, {}, {e})",
                        if *ge { ">=" } else { "<=" },
                        num(*b),
                        quote(l)
                    );
                }
                post.push(format!("| {e} as {n}"));
            }
            MeasureFn::MaxPer
            | MeasureFn::ConfirmedSignins
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => continue,
        }
    }
    aggs.push("min(_messagetime) as first_seen".into());
    aggs.push("max(_messagetime) as last_seen".into());
    let keys: Vec<&str> = rule
        .key
        .iter()
        .map(|f| cx.name(*f))
        .collect::<Result<_, _>>()?;
    let mut group: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    if cx.tumbling() {
        group.push(BUCKET.into());
    }
    if let Some(p) = &rule.pivot {
        let col = cx.name(p.collect)?;
        let mut per_account = group.clone();
        per_account.push(pivot_by(cx, p)?);
        stage_a.push(format!("count_distinct({col}) as idr_sources"));
        stage_a.push(format!("values({col}) as idr_source_set"));
        stage_a.push("min(_messagetime) as first_seen".into());
        stage_a.push("max(_messagetime) as last_seen".into());
        b.push(format!(
            "| {} by {}",
            stage_a.join(", "),
            per_account.join(", ")
        ));
        b.push(format!("| where idr_sources >= {}", p.min));
        let sk = pivot_key(p);
        b.push(format!("| replace(idr_source_set, /\\n/, \",\") as {sk}"));
        stage_b.push("min(first_seen) as first_seen".into());
        stage_b.push("max(last_seen) as last_seen".into());
        group.push(sk);
        b.push(format!("| {} by {}", stage_b.join(", "), group.join(", ")));
    } else {
        b.push(format!("| {} by {}", aggs.join(", "), group.join(", ")));
    }
    if let Some(bl) = &rule.window.baseline {
        baseline(cx, bl, &keys, &mut b, &mut post);
    } else {
        b.push(format!(
            "| where {} >= {}",
            rule.threshold.measure, rule.threshold.gte
        ));
    }
    if cx.tumbling() {
        post.push(format!("| {BUCKET} * {ms} as bucket_start"));
    }
    b.extend(post);
    let mut sev = format!("\"{}\"", "Low");
    let arms: Vec<_> = rule.severity.iter().collect();
    if let Some(d) = arms.iter().find(|a| a.any.is_empty()) {
        sev = format!("\"{}\"", level_name(d));
    }
    for arm in arms.iter().rev().filter(|a| !a.any.is_empty()) {
        let c: Vec<String> = arm
            .any
            .iter()
            .filter(|c| cx.has(&c.measure))
            .map(|c| mcond(cx, c))
            .collect();
        if c.is_empty() {
            continue;
        }
        sev = format!("if({}, \"{}\", {sev})", c.join(" or "), level_name(arm));
    }
    let req: Vec<String> = cx.requires().iter().map(|c| mcond(cx, c)).collect();
    if !req.is_empty() {
        b.push(format!("| where {}", req.join(" and ")));
    }
    b.push(format!("| {sev} as severity"));
    for (k, v) in &rule.output {
        let val = match v {
            serde_json::Value::String(s) => quote(s),
            other => other.to_string(),
        };
        b.push(format!("| {val} as {k}"));
    }
    b.push(format!("| sort by {} desc", rule.threshold.measure));
    let mut out: Vec<String> = cx.header(&[]).iter().map(|l| format!("// {l}")).collect();
    out.push(format!(
        "// Time range: last {} (scheduled search)",
        dur(range)
    ));
    if let Some(n) = cx.tumbling_note() {
        out.push(format!("// {}", comment_text(&n, &[])));
    }
    out.extend(cx.warning_lines(&[]).iter().map(|l| format!("// {l}")));
    out.extend(b);
    Ok(out.join("\n") + "\n")
}

/// The field holding a pivot's `by` value.
fn pivot_by(cx: &Cx<'_>, p: &Pivot) -> Result<String, ExportError> {
    let n = cx.name(p.by)?;
    Ok(if p.lower {
        format!("{n}_norm")
    } else {
        n.to_string()
    })
}

/// A measure's pivot aggregations, per account and bucket (stage A) and
/// per set and bucket (stage B); lists are reported by size, as in the
/// other Sumo Logic queries. Per-account flags (`max` of a 0/1 hit) count
/// accounts with a row matching a condition exactly.
fn pivot_aggs(
    cx: &Cx<'_>,
    p: &Pivot,
    m: &Measure,
    pre: &mut Vec<String>,
    a: &mut Vec<String>,
    b: &mut Vec<String>,
) -> Result<(), ExportError> {
    let n = &m.name;
    let cond = || -> Result<String, ExportError> {
        m.filter
            .as_ref()
            .map(|q| pred(cx, q))
            .transpose()
            .map(|o| o.unwrap_or_else(|| "true".into()))
    };
    match carry(cx.rule, m) {
        Carry::Sum => {
            a.push(match m.func {
                MeasureFn::CountIf => format!("sum({n}_hit) as {n}"),
                _ => format!("count as {n}"),
            });
            b.push(format!("sum({n}) as {n}"));
        }
        Carry::Accounts => b.push(format!("count as {n}")),
        Carry::AccountList => b.push(format!("count as {n}_count")),
        Carry::Sources => b.push(format!("max(idr_sources) as {n}")),
        Carry::SourceList => b.push(format!("max(idr_sources) as {n}_count")),
        Carry::AccountsIf | Carry::AccountListIf => {
            pre.push(format!("| if({}, 1, 0) as {n}_flag", cond()?));
            a.push(format!("max({n}_flag) as {n}_flag"));
            b.push(if carry(cx.rule, m) == Carry::AccountsIf {
                format!("sum({n}_flag) as {n}")
            } else {
                format!("sum({n}_flag) as {n}_count")
            });
        }
        Carry::Merge | Carry::Post | Carry::None => {
            let _ = p;
        }
    }
    Ok(())
}

/// After the per-bucket aggregation: the sum and sum of squares of the
/// threshold measure over the previous `history` buckets (`total`, which
/// adds a column without aggregating), the last complete bucket's row, its
/// mean and population standard deviation `sqrt(SS/n - mean²)`, and the
/// engine's tests.
fn baseline(
    cx: &Cx<'_>,
    bl: &Baseline,
    keys: &[&str],
    b: &mut Vec<String>,
    post: &mut Vec<String>,
) {
    let rule = cx.rule;
    let ms = rule.window.length.as_secs() * 1000;
    let n = bl.buckets(rule.window.length);
    let thr = &rule.threshold.measure;
    b.push(format!("| floor(queryEndTime() / {ms}) - 1 as idr_last"));
    b.push(format!(
        "| if({BUCKET} >= idr_last - {n} and {BUCKET} < idr_last, {thr}, 0) as idr_hist"
    ));
    b.push("| idr_hist * idr_hist as idr_hist2".into());
    let by = if keys.is_empty() {
        String::new()
    } else {
        format!(" by {}", keys.join(", "))
    };
    b.push(format!("| total idr_hist as idr_sum{by}"));
    b.push(format!("| total idr_hist2 as idr_sumsq{by}"));
    b.push(format!("| where {BUCKET} = idr_last"));
    b.push(format!("| {n} as idr_n"));
    b.push("| idr_sum / idr_n as idr_mean".into());
    b.push("| idr_sumsq / idr_n as idr_meansq".into());
    b.push("| if(idr_meansq - idr_mean * idr_mean > 0, sqrt(idr_meansq - idr_mean * idr_mean), 0) as idr_stddev".into());
    b.push(format!(
        "| idr_mean + {} * idr_stddev as idr_bar",
        num(bl.sigmas)
    ));
    b.push(format!(
        "| where {thr} >= {} and {thr} > idr_bar",
        rule.threshold.gte
    ));
    for m in &rule.measures {
        let e = match m.func {
            MeasureFn::BaselineMean => "round(idr_mean * 100) / 100",
            MeasureFn::BaselineStddev => "round(idr_stddev * 100) / 100",
            MeasureFn::BaselineBuckets => "idr_n",
            _ => continue,
        };
        post.push(format!("| {e} as {}", m.name));
    }
}
