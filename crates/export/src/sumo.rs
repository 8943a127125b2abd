//! Sumo Logic search language (scheduled search). No public parser: golden
//! files and a manual checklist.

use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, print_pred,
};
use crate::escape::escape;
use crate::{ExportError, Target};
use idrecon_rules::{Measure, MeasureFn, Predicate};

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
    } else {
        secs
    };
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
    for f in lowered_fields(rule) {
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
            b.push(format!("| toLowerCase({n}) as {n}"));
        }
    }
    for p in &rule.filter {
        b.push(format!("| where {}", pred(cx, p)?));
    }
    if !rule.dedup.is_empty() {
        cx.warn("no de-duplication of repeated rows before counting (Sumo Logic aggregates every message)".to_string());
    }
    let mut aggs = Vec::new();
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
                if m.func != MeasureFn::Set {
                    b.push(format!("| if({}, {r}, \"\") as {n}_value", cond()?));
                }
                let v = if m.func == MeasureFn::Set {
                    r
                } else {
                    format!("{n}_value")
                };
                if m.func == MeasureFn::DcountIf {
                    aggs.push(format!("count_distinct({v}) as {n}"));
                    cx.warn(format!(
                        "{n}: rows outside its condition add one empty value to the distinct count"
                    ));
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
    b.push(format!("| {} by {}", aggs.join(", "), keys.join(", ")));
    b.push(format!(
        "| where {} >= {}",
        rule.threshold.measure, rule.threshold.gte
    ));
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
    out.extend(cx.warning_lines(&[]).iter().map(|l| format!("// {l}")));
    out.extend(b);
    Ok(out.join("\n") + "\n")
}
