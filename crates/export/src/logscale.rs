//! CrowdStrike Falcon LogScale (CQL). No public parser: golden files and a
//! manual checklist.

use crate::common::{Carry, carry, pivot_key};
use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, print_pred,
};
use crate::escape::{comment_text, escape, regex_hex};
use crate::{ExportError, Target};
use idrecon_rules::{Baseline, Measure, MeasureFn, Pivot, Predicate};

/// The tumbling bucket index, `math:floor(@timestamp / length)`.
const BUCKET: &str = "idr_bucket";

fn quote(s: &str) -> String {
    escape(Target::Logscale, s)
}

const D: Dialect = Dialect {
    and: " and ",
    or: " or ",
    not: |x| format!("not ({x})"),
    is_in: |f, v| format!("in(field=\"{f}\", values=[{}])", v.join(", ")),
    is_in_ci: |f, raw| {
        let v: Vec<String> = raw.iter().map(|x| quote(x)).collect();
        let v = &v;
        format!(
            "in(field=\"{f}\", values=[{}], ignoreCase=true)",
            v.join(", ")
        )
    },
    contains: |f, s| format!("{f}=/{}/i", regex_hex(s)),
    not_empty: |f| format!("({f}=* and {f}!=\"\")"),
    quote,
};

fn pred(cx: &Cx<'_>, p: &Predicate) -> Result<String, ExportError> {
    print_pred(cx, &D, p, &|f| Ok(cx.name(f)?.to_string()))
}

fn norm(n: &str) -> String {
    format!("{}_norm", n.replace(['.', '[', ']'], "_"))
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

fn mcond(cx: &Cx<'_>, c: &idrecon_rules::Condition) -> String {
    match cx.rule.measure(&c.measure) {
        Some(m) if is_list(m) && m.func != MeasureFn::Const => {
            format!("test(length({}) > 0)", c.measure)
        }
        _ => format!("test({})", cond_text(c, &c.measure, " and ", num)),
    }
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
            "baseline: the history is always the full {} buckets before the evaluated bucket (buckets without rows count as 0, as in the engine), and `min_history` always holds; the engine starts the history at the first sign-in of its input, so the two agree once the repository holds {} of data before the bucket",
            bl.buckets(rule.window.length),
            dur(bl.history.as_secs())
        ));
    }
    if rule.pivot.is_some() {
        cx.warn("pivot: collect() returns an account's sources in an undefined order and CQL has no array sort, so accounts are grouped by a fingerprint of their source set (its size and two seeded 32-bit hash() sums over its distinct members): identical sets always group together, two different sets merge only on a double hash collision; the reported set lists its sources in collect() order".to_string());
    }
    let tables = cx.tables()?;
    let from = tables[0].1.from.clone();
    if tables.iter().any(|t| t.1.from != from) {
        return Err(cx.unsupported("tables of one rule must share an event set"));
    }
    let mut b = vec![from];
    let filt: Vec<String> = tables.iter().filter_map(|t| t.1.filter.clone()).collect();
    if !filt.is_empty() {
        b.push(format!("| {}", filt.join(" or ")));
    }
    let mut frags = Vec::new();
    for f in cx.used_fields() {
        if let Some(e) = &cx.field(f)?.expr
            && !frags.contains(e)
        {
            frags.push(e.clone());
        }
    }
    for e in frags {
        b.push(format!("| {e}"));
    }
    if rule.key_lower {
        for f in &rule.key {
            let n = cx.name(*f)?;
            b.push(format!("| {n} := lower({n})"));
        }
    }
    for p in &rule.filter {
        b.push(format!("| {}", pred(cx, p)?));
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
        b.push(format!("| {} := lower({n})", norm(n)));
    }
    if rule.missing_as_empty {
        for f in &rule.key {
            b.push(format!("| default(field=\"{}\", value=\"\")", cx.name(*f)?));
        }
    }
    let ms = secs * 1000;
    if cx.tumbling() {
        b.push(format!("| {BUCKET} := math:floor(@timestamp / {ms})"));
        if rule.window.baseline.is_none() {
            b.push(format!("| idr_last := math:floor(end() / {ms}) - 1"));
            b.push(format!("| test({BUCKET} == idr_last)"));
        }
    }
    if let Some(p) = &rule.pivot {
        let (by, col) = (pivot_by(cx, p)?, cx.name(p.collect)?);
        if rule.missing_as_empty {
            b.push(format!("| default(field=\"{by}\", value=\"\")"));
            b.push(format!("| default(field=\"{col}\", value=\"\")"));
        } else {
            b.push(format!("| {by}=*"));
            b.push(format!("| {col}=*"));
        }
    }
    if !rule.dedup.is_empty() {
        cx.warn("no de-duplication of repeated rows before counting".to_string());
    }
    let mut fns = Vec::new();
    let mut post = Vec::new();
    for m in &rule.measures {
        if !cx.computed(m) {
            continue;
        }
        let n = &m.name;
        let cond = || -> Result<String, ExportError> {
            m.filter
                .as_ref()
                .map(|p| pred(cx, p))
                .transpose()
                .map(|o| o.unwrap_or_else(|| "*".into()))
        };
        match m.func {
            MeasureFn::Count => fns.push(format!("count(as={n})")),
            MeasureFn::CountIf => {
                b.push(format!(
                    "| case {{ {} | {n}_hit := 1 ; * | {n}_hit := 0 }}",
                    cond()?
                ));
                fns.push(format!("sum({n}_hit, as={n})"));
            }
            MeasureFn::Dcount => fns.push(format!(
                "count(\"{}\", distinct=true, as={n})",
                mref(cx, m)?
            )),
            MeasureFn::DcountIf => {
                // A pivot counts per-account flags instead (see `pivot`).
                if rule.pivot.is_none() {
                    b.push(format!(
                        "| case {{ {} | {n}_value := {} ; * }}",
                        cond()?,
                        mref(cx, m)?
                    ));
                }
                fns.push(format!("count({n}_value, distinct=true, as={n})"));
            }
            MeasureFn::Set => {
                let cap = m.cap.map(|c| format!(", limit={c}")).unwrap_or_default();
                fns.push(format!("collect([\"{}\"]{cap})", mref(cx, m)?));
                post.push(format!("| rename(field=\"{}\", as={n})", mref(cx, m)?));
            }
            MeasureFn::SetIf | MeasureFn::Confirmed => {
                if m.func == MeasureFn::Confirmed && rule.confirm.is_some() {
                    cx.warn(format!("{n}: only probe rows matching its condition confirm an account; later successful sign-ins are not joined"));
                }
                if rule.pivot.is_none() {
                    b.push(format!(
                        "| case {{ {} | {n} := {} ; * }}",
                        cond()?,
                        mref(cx, m)?
                    ));
                }
                let cap = m.cap.map(|c| format!(", limit={c}")).unwrap_or_default();
                fns.push(format!("collect([{n}]{cap})"));
            }
            MeasureFn::Const => {
                let v = crate::common::const_literal(Target::Logscale, m.value.as_ref(), "\"\"");
                post.push(format!("| {n} := {v}"));
            }
            MeasureFn::DurationMinutes => post.push(format!(
                "| {n} := math:floor(last_seen / 60000) - math:floor(first_seen / 60000)"
            )),
            MeasureFn::Rate => {
                let of = m.of.as_deref().unwrap_or_default();
                post.push(format!(
                    "| {n}_div := math:floor(last_seen / 60000) - math:floor(first_seen / 60000)"
                ));
                post.push(format!(
                    "| case {{ test({n}_div == 0) | {n}_div := 1 ; * }}"
                ));
                post.push(format!("| {n} := {of} / {n}_div"));
                post.push(format!("| format(\"%.2f\", field={n}, as={n})"));
            }
            MeasureFn::Classify => {
                let of = m.of.as_deref().unwrap_or_default();
                let mut arms: Vec<String> = classify_arms(m)
                    .iter()
                    .map(|(l, b, ge)| {
                        format!(
                            "test({of} {} {}) | {n} := {}",
                            if *ge { ">=" } else { "<=" },
                            num(*b),
                            quote(l)
                        )
                    })
                    .collect();
                arms.push(format!("* | {n} := \"mixed\""));
                post.push(format!("| case {{ {} }}", arms.join(" ; ")));
            }
            MeasureFn::MaxPer
            | MeasureFn::ConfirmedSignins
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => continue,
            MeasureFn::Ratio => {
                let num_ = m.num.as_deref().unwrap_or_default();
                let den = m.den.join(" + ");
                post.push(format!("| {n}_den := {den}"));
                post.push(format!(
                    "| case {{ test({n}_den == 0) | {n} := 0 ; * | {n} := {num_} / {n}_den }}"
                ));
                post.push(format!("| format(\"%.4f\", field={n}, as={n})"));
            }
        }
    }
    if rule.measures.iter().any(|m| m.cap.is_some()) {
        cx.warn("collect() keeps up to `limit` values in its own order, not the engine's first-seen order".to_string());
    }
    fns.push("min(@timestamp, as=first_seen)".into());
    fns.push("max(@timestamp, as=last_seen)".into());
    let keys: Vec<String> = rule
        .key
        .iter()
        .map(|f| Ok(format!("\"{}\"", cx.name(*f)?)))
        .collect::<Result<_, ExportError>>()?;
    let mut group = keys.clone();
    if cx.tumbling() {
        group.push(BUCKET.into());
    }
    if let Some(p) = &rule.pivot {
        pivot(cx, p, &group, &mut b)?;
    } else {
        b.push(format!(
            "| groupBy([{}], function=[{}], limit=max)",
            group.join(", "),
            fns.join(", ")
        ));
    }
    if let Some(bl) = &rule.window.baseline {
        baseline(cx, bl, &keys, &mut b, &mut post)?;
    } else {
        b.push(format!(
            "| test({} >= {})",
            rule.threshold.measure, rule.threshold.gte
        ));
    }
    if cx.tumbling() {
        post.push(format!("| bucket_start := {BUCKET} * {ms}"));
    }
    b.extend(post);
    let req: Vec<String> = cx.requires().iter().map(|c| mcond(cx, c)).collect();
    for r in req {
        b.push(format!("| {r}"));
    }
    let mut arms = Vec::new();
    for arm in rule.severity.iter() {
        if arm.any.is_empty() {
            arms.push(format!("* | severity := \"{}\"", level_name(arm)));
            break;
        }
        let c: Vec<String> = arm
            .any
            .iter()
            .filter(|c| cx.has(&c.measure))
            .map(|c| mcond(cx, c))
            .collect();
        for one in c {
            arms.push(format!("{one} | severity := \"{}\"", level_name(arm)));
        }
    }
    if rule.severity.iter().all(|a| !a.any.is_empty()) {
        arms.push("* | severity := \"Low\"".into());
    }
    b.push(format!("| case {{ {} }}", arms.join(" ; ")));
    for (k, v) in &rule.output {
        let val = match v {
            serde_json::Value::String(s) => quote(s),
            other => other.to_string(),
        };
        b.push(format!("| {k} := {val}"));
    }
    b.push(format!(
        "| sort({}, order=desc, limit=1000)",
        rule.threshold.measure
    ));
    let mut out: Vec<String> = cx
        .header(&["*/"])
        .iter()
        .map(|l| format!("// {l}"))
        .collect();
    out.push(format!(
        "// Search interval: last {} (scheduled search)",
        dur(range)
    ));
    if let Some(n) = cx.tumbling_note() {
        out.push(format!("// {}", comment_text(&n, &["*/"])));
    }
    out.extend(cx.warning_lines(&["*/"]).iter().map(|l| format!("// {l}")));
    out.extend(b);
    Ok(out.join("\n") + "\n")
}

/// The field holding a pivot's `by` value.
fn pivot_by(cx: &Cx<'_>, p: &Pivot) -> Result<String, ExportError> {
    let n = cx.name(p.by)?;
    Ok(if p.lower { norm(n) } else { n.to_string() })
}

/// A measure's stage-1 output field (what `collect()` names its output).
fn stage_field(cx: &Cx<'_>, m: &Measure) -> Result<Option<String>, ExportError> {
    Ok(match m.func {
        MeasureFn::Count | MeasureFn::CountIf | MeasureFn::Dcount | MeasureFn::DcountIf => {
            Some(m.name.clone())
        }
        MeasureFn::SetIf | MeasureFn::Confirmed => Some(m.name.clone()),
        MeasureFn::Set => Some(mref(cx, m)?),
        _ => None,
    })
}

/// A pivot in three aggregations: distinct (account, source) rows with a
/// seeded hash of the source; per account its source count, the two hash
/// sums (the set's fingerprint) and the collected set; accounts with at
/// least `min` sources grouped by the fingerprint. Additive measures and
/// per-account flags (`max` of a 0/1 hit) are carried through all three.
fn pivot(cx: &Cx<'_>, p: &Pivot, group: &[String], b: &mut Vec<String>) -> Result<(), ExportError> {
    let rule = cx.rule;
    let by = pivot_by(cx, p)?;
    let col = cx.name(p.collect)?;
    let (mut s0, mut s1, mut s2, mut between) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for m in &rule.measures {
        if !cx.computed(m) {
            continue;
        }
        let n = &m.name;
        let cond = || -> Result<String, ExportError> {
            m.filter
                .as_ref()
                .map(|q| pred(cx, q))
                .transpose()
                .map(|o| o.unwrap_or_else(|| "*".into()))
        };
        match carry(rule, m) {
            Carry::Sum => {
                s0.push(match m.func {
                    MeasureFn::CountIf => format!("sum({n}_hit, as={n})"),
                    _ => format!("count(as={n})"),
                });
                s1.push(format!("sum({n}, as={n})"));
                s2.push(format!("sum({n}, as={n})"));
            }
            Carry::Accounts => s2.push(format!("count(as={n})")),
            Carry::Sources => s2.push(format!("max(idr_sources, as={n})")),
            Carry::AccountList => {
                let cap = m.cap.map(|c| format!(", limit={c}")).unwrap_or_default();
                s2.push(format!("collect([\"{by}\"]{cap})"));
            }
            Carry::SourceList => {}
            Carry::AccountsIf | Carry::AccountListIf => {
                b.push(format!(
                    "| case {{ {} | {n}_flag := 1 ; * | {n}_flag := 0 }}",
                    cond()?
                ));
                s0.push(format!("max({n}_flag, as={n}_flag)"));
                s1.push(format!("max({n}_flag, as={n}_flag)"));
                if carry(rule, m) == Carry::AccountsIf {
                    s2.push(format!("sum({n}_flag, as={n})"));
                } else {
                    between.push(format!(
                        "| case {{ test({n}_flag == 1) | {n} := {by} ; * }}"
                    ));
                    let cap = m.cap.map(|c| format!(", limit={c}")).unwrap_or_default();
                    s2.push(format!("collect([{n}]{cap})"));
                }
            }
            Carry::Merge | Carry::Post | Carry::None => {}
        }
    }
    s0.push("min(@timestamp, as=first_seen)".into());
    s0.push("max(@timestamp, as=last_seen)".into());
    for s in [&mut s1, &mut s2] {
        s.push("min(first_seen, as=first_seen)".into());
        s.push("max(last_seen, as=last_seen)".into());
    }
    let q = |v: &[String]| v.join(", ");
    let mut g0 = group.to_vec();
    g0.push(format!("\"{by}\""));
    let g1 = g0.clone();
    g0.push(format!("\"{col}\""));
    b.push(format!(
        "| groupBy([{}], function=[{}], limit=max)",
        q(&g0),
        q(&s0)
    ));
    b.push(format!("| hash(field=[\"{col}\"], as=idr_h1, seed=\"1\")"));
    b.push(format!("| hash(field=[\"{col}\"], as=idr_h2, seed=\"2\")"));
    s1.push("count(as=idr_sources)".into());
    s1.push("sum(idr_h1, as=idr_f1)".into());
    s1.push("sum(idr_h2, as=idr_f2)".into());
    s1.push(format!("collect([\"{col}\"], separator=\",\")"));
    b.push(format!(
        "| groupBy([{}], function=[{}], limit=max)",
        q(&g1),
        q(&s1)
    ));
    b.push(format!("| test(idr_sources >= {})", p.min));
    b.extend(between);
    let mut g2 = group.to_vec();
    g2.extend(["idr_sources".into(), "idr_f1".into(), "idr_f2".into()]);
    s2.push(format!("selectLast([\"{col}\"])"));
    b.push(format!(
        "| groupBy([{}], function=[{}], limit=max)",
        q(&g2),
        q(&s2)
    ));
    b.push(format!(
        "| format(\"%s\", field=[\"{col}\"], as={})",
        pivot_key(p)
    ));
    Ok(())
}

/// After the per-bucket `groupBy()`: the sum and sum of squares of the
/// threshold measure over the previous `history` buckets and the last
/// complete bucket's row (`selectFromMax()` on a 0/1 marker), in one more
/// aggregation; the mean and population standard deviation
/// `sqrt(SS/n - mean²)`; the engine's tests.
fn baseline(
    cx: &Cx<'_>,
    bl: &Baseline,
    keys: &[String],
    b: &mut Vec<String>,
    post: &mut Vec<String>,
) -> Result<(), ExportError> {
    let rule = cx.rule;
    let ms = rule.window.length.as_secs() * 1000;
    let n = bl.buckets(rule.window.length);
    let thr = &rule.threshold.measure;
    b.push(format!("| idr_last := math:floor(end() / {ms}) - 1"));
    b.push(format!(
        "| case {{ test({BUCKET} >= idr_last - {n} and {BUCKET} < idr_last) | idr_hist := {thr} ; * | idr_hist := 0 }}"
    ));
    b.push("| idr_hist2 := idr_hist * idr_hist".into());
    b.push(format!(
        "| case {{ test({BUCKET} == idr_last) | idr_current := 1 ; * | idr_current := 0 }}"
    ));
    let mut include = vec!["idr_current".to_string(), BUCKET.to_string()];
    for m in &rule.measures {
        if cx.computed(m)
            && let Some(f) = stage_field(cx, m)?
            && !include.contains(&f)
        {
            include.push(f);
        }
    }
    include.extend(["first_seen".to_string(), "last_seen".to_string()]);
    let include: Vec<String> = include.iter().map(|f| format!("\"{f}\"")).collect();
    let fns = format!(
        "sum(idr_hist, as=idr_sum), sum(idr_hist2, as=idr_sumsq), selectFromMax(idr_current, include=[{}])",
        include.join(", ")
    );
    if keys.is_empty() {
        b.push(format!("| [{fns}]"));
    } else {
        b.push(format!(
            "| groupBy([{}], function=[{fns}], limit=max)",
            keys.join(", ")
        ));
    }
    b.push("| test(idr_current == 1)".into());
    b.push(format!("| idr_n := {n}"));
    b.push("| idr_mean := idr_sum / idr_n".into());
    b.push("| idr_var := idr_sumsq / idr_n - idr_mean * idr_mean".into());
    b.push(
        "| case { test(idr_var > 0) | idr_stddev := math:sqrt(idr_var) ; * | idr_stddev := 0 }"
            .into(),
    );
    b.push(format!(
        "| idr_bar := idr_mean + {} * idr_stddev",
        num(bl.sigmas)
    ));
    b.push(format!("| test({thr} >= {})", rule.threshold.gte));
    b.push(format!("| test({thr} > idr_bar)"));
    for m in &rule.measures {
        match m.func {
            MeasureFn::BaselineMean => {
                post.push(format!("| format(\"%.2f\", field=idr_mean, as={})", m.name))
            }
            MeasureFn::BaselineStddev => post.push(format!(
                "| format(\"%.2f\", field=idr_stddev, as={})",
                m.name
            )),
            MeasureFn::BaselineBuckets => post.push(format!("| {} := idr_n", m.name)),
            _ => {}
        }
    }
    Ok(())
}
