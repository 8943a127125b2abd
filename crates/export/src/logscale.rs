//! CrowdStrike Falcon LogScale (CQL). No public parser: golden files and a
//! manual checklist.

use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, print_pred,
};
use crate::escape::{escape, regex_hex};
use crate::{ExportError, Target};
use idrecon_rules::{Measure, MeasureFn, Predicate};

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
    } else {
        secs
    };
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
    for f in lowered_fields(rule) {
        let n = cx.name(f)?;
        b.push(format!("| {} := lower({n})", norm(n)));
    }
    if rule.missing_as_empty {
        for f in &rule.key {
            b.push(format!("| default(field=\"{}\", value=\"\")", cx.name(*f)?));
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
                b.push(format!(
                    "| case {{ {} | {n}_value := {} ; * }}",
                    cond()?,
                    mref(cx, m)?
                ));
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
                b.push(format!(
                    "| case {{ {} | {n} := {} ; * }}",
                    cond()?,
                    mref(cx, m)?
                ));
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
    b.push(format!(
        "| groupBy([{}], function=[{}], limit=max)",
        keys.join(", "),
        fns.join(", ")
    ));
    b.push(format!(
        "| test({} >= {})",
        rule.threshold.measure, rule.threshold.gte
    ));
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
    out.extend(cx.warning_lines(&["*/"]).iter().map(|l| format!("// {l}")));
    out.extend(b);
    Ok(out.join("\n") + "\n")
}
