//! Elastic ES|QL (Elasticsearch 9.1 grammar).

use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, print_pred,
};
use crate::escape::escape;
use crate::{ExportError, Target};
use idrecon_rules::{Measure, MeasureFn, Predicate};

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
    if !cx.sliding() {
        cx.warn(format!(
            "lookback: run the rule every {w} over the last {w} (Elastic rule interval and look-back)",
            w = dur(secs)
        ));
    }
    let range = if cx.sliding() {
        secs + RUN_EVERY_SECS
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
            evals.push(format!("{n} = TO_LOWER({n})"));
        }
    }
    if !evals.is_empty() {
        b.push(format!("| EVAL {}", evals.join(", ")));
    }
    for p in &rule.filter {
        b.push(format!("| WHERE {}", pred(cx, p)?));
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
            MeasureFn::MaxPer | MeasureFn::ConfirmedSignins
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => continue,
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
    b.push(format!(
        "| STATS {} BY {}",
        aggs.join(", "),
        keys.join(", ")
    ));
    b.push(format!(
        "| WHERE {} >= {}",
        rule.threshold.measure, rule.threshold.gte
    ));
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
    out.extend(cx.warning_lines(&[]).iter().map(|l| format!("// {l}")));
    out.extend(b);
    Ok(out.join("\n") + "\n")
}
