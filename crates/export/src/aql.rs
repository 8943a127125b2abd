//! IBM QRadar AQL (no public parser: golden files and a manual checklist).

use crate::common::{Cx, Dialect, RUN_EVERY_SECS, cond_text, is_list, level_name, print_pred};
use crate::escape::{comment_text, escape};
use crate::{ExportError, Target};
use idrecon_rules::{Measure, MeasureFn, Predicate};

fn quote(s: &str) -> String {
    escape(Target::Aql, s)
}

const D: Dialect = Dialect {
    and: " AND ",
    or: " OR ",
    not: |x| format!("NOT ({x})"),
    is_in: |f, v| {
        if v.len() == 1 {
            format!("{f} = {}", v[0])
        } else {
            format!("{f} IN ({})", v.join(", "))
        }
    },
    is_in_ci: |f, raw| {
        let v: Vec<String> = raw.iter().map(|x| quote(x)).collect();
        let v = &v;
        if v.len() == 1 {
            format!("LOWER({f}) = {}", v[0])
        } else {
            format!("LOWER({f}) IN ({})", v.join(", "))
        }
    },
    contains: |f, s| format!("{f} ILIKE {}", quote(&format!("%{s}%"))),
    not_empty: |f| format!("({f} IS NOT NULL AND {f} <> '')"),
    quote,
};

fn pred(cx: &Cx<'_>, p: &Predicate) -> Result<String, ExportError> {
    print_pred(cx, &D, p, &|f| Ok(cx.name(f)?.to_string()))
}

fn mref(cx: &Cx<'_>, m: &Measure) -> Result<String, ExportError> {
    let f = m
        .field
        .ok_or_else(|| cx.unsupported(format!("measure `{}` needs a field", m.name)))?;
    let n = cx.name(f)?;
    Ok(if m.lower {
        format!("LOWER({n})")
    } else {
        n.to_string()
    })
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// AQL time clause.
fn last(secs: u64) -> String {
    if secs.is_multiple_of(3600) {
        format!("LAST {} HOURS", secs / 3600)
    } else {
        format!("LAST {} MINUTES", secs.div_ceil(60))
    }
}

fn contains_wildcards(p: &Predicate) -> bool {
    match p {
        Predicate::Contains(_, v) => v.iter().any(|s| s.contains('%') || s.contains('_')),
        Predicate::Any(ps) | Predicate::All(ps) => ps.iter().any(contains_wildcards),
        Predicate::Not(q) => contains_wildcards(q),
        _ => false,
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
        // The last complete bucket and the current one.
        cx.schedule().1
    } else {
        secs
    };
    let ms = secs * 1000;
    if let Some(bl) = &rule.window.baseline {
        cx.warn(format!(
            "baseline not computed: AQL cannot aggregate the per-bucket rows a second time (no subqueries or window functions), so the last complete bucket is tested against the floor threshold only ({} >= {}), not against the mean plus {} standard deviations of the previous {} buckets; expect results in buckets that are busy every day",
            rule.threshold.measure,
            rule.threshold.gte,
            num(bl.sigmas),
            bl.buckets(rule.window.length)
        ));
    }
    if let Some(p) = &rule.pivot {
        cx.warn(format!(
            "pivot not computed: AQL cannot aggregate a second time, so accounts are not grouped by their exact set of sources; each result is one account ({}, compared as written) probed from at least {} distinct {} in the bucket, with its own measures, and the threshold on accounts per set ({} >= {}) is not applied: group the results by their sources to find the shared lists",
            p.by.name(),
            p.min,
            p.collect.name(),
            rule.threshold.measure,
            rule.threshold.gte
        ));
    }
    if rule.filter.iter().any(contains_wildcards) {
        cx.warn("a `contains` value has % or _, which ILIKE treats as wildcards".to_string());
    }
    if !rule.dedup.is_empty() {
        cx.warn(
            "AQL aggregates every event: duplicate rows of one sign-in are counted again"
                .to_string(),
        );
    }
    let keys: Vec<&str> = rule
        .key
        .iter()
        .map(|f| cx.name(*f))
        .collect::<Result<_, _>>()?;
    let mut sel: Vec<String> = rule
        .key
        .iter()
        .map(|f| Ok(format!("{} AS \"{}\"", cx.name(*f)?, f.name())))
        .collect::<Result<_, ExportError>>()?;
    let mut group: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    if cx.tumbling() {
        sel.push(format!("(starttime / {ms}) * {ms} AS \"bucket_start\""));
        group.push(format!("starttime / {ms}"));
    }
    if let Some(p) = &rule.pivot {
        let by = cx.name(p.by)?;
        sel.push(format!("{by} AS \"{}\"", p.by.name()));
        sel.push(format!(
            "UNIQUECOUNT({}) AS \"{}_count\"",
            cx.name(p.collect)?,
            p.collect.name()
        ));
        group.push(by.to_string());
    }
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
                .map(|o| o.unwrap_or_else(|| "1 = 1".into()))
        };
        let e = match m.func {
            MeasureFn::Count => "COUNT(*)".to_string(),
            MeasureFn::CountIf => format!("SUM(CASE WHEN {} THEN 1 ELSE 0 END)", cond()?),
            MeasureFn::Dcount => format!("UNIQUECOUNT({})", mref(cx, m)?),
            MeasureFn::DcountIf => format!(
                "UNIQUECOUNT(CASE WHEN {} THEN {} ELSE NULL END)",
                cond()?,
                mref(cx, m)?
            ),
            MeasureFn::Set | MeasureFn::SetIf | MeasureFn::Confirmed => {
                cx.warn(format!("{n}: AQL has no distinct-list aggregate; the list is left to the offense's event view (only its size can be tested)"));
                match m.func {
                    MeasureFn::Set => format!("UNIQUECOUNT({})", mref(cx, m)?),
                    _ => format!(
                        "UNIQUECOUNT(CASE WHEN {} THEN {} ELSE NULL END)",
                        cond()?,
                        mref(cx, m)?
                    ),
                }
            }
            MeasureFn::Const => crate::common::const_literal(Target::Aql, m.value.as_ref(), "NULL"),
            MeasureFn::DurationMinutes => {
                "(MAX(starttime) / 60000) - (MIN(starttime) / 60000)".to_string()
            }
            MeasureFn::Rate
            | MeasureFn::Ratio
            | MeasureFn::Classify
            | MeasureFn::MaxPer
            | MeasureFn::ConfirmedSignins
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => continue,
        };
        let label = if is_list(m) && m.func != MeasureFn::Const {
            format!("{n}_count")
        } else {
            n.clone()
        };
        sel.push(format!("{e} AS \"{label}\""));
    }
    let mut sev = Vec::new();
    let mut default = "Low";
    let agg_of = |name: &str| -> Option<String> {
        let m = rule.measure(name)?;
        if !cx.computed(m) {
            return None;
        }
        let cond = m
            .filter
            .as_ref()
            .and_then(|p| pred(cx, p).ok())
            .unwrap_or_else(|| "1 = 1".into());
        let r = mref(cx, m).ok();
        Some(match m.func {
            MeasureFn::Count => "COUNT(*)".to_string(),
            MeasureFn::CountIf => format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"),
            MeasureFn::Dcount | MeasureFn::Set => format!("UNIQUECOUNT({})", r?),
            MeasureFn::DcountIf | MeasureFn::SetIf | MeasureFn::Confirmed => {
                format!("UNIQUECOUNT(CASE WHEN {cond} THEN {} ELSE NULL END)", r?)
            }
            _ => return None,
        })
    };
    for arm in &rule.severity {
        if arm.any.is_empty() {
            default = level_name(arm);
            break;
        }
        let c: Vec<String> = arm
            .any
            .iter()
            .filter_map(|c| agg_of(&c.measure).map(|a| cond_text(c, &a, " AND ", num)))
            .collect();
        if c.is_empty() {
            continue;
        }
        sev.push(format!(
            "WHEN {} THEN '{}'",
            c.join(" OR "),
            level_name(arm)
        ));
    }
    sel.push(format!(
        "CASE {} ELSE '{default}' END AS \"severity\"",
        sev.join(" ")
    ));
    sel.push("MIN(starttime) AS \"first_seen\"".into());
    sel.push("MAX(starttime) AS \"last_seen\"".into());
    for (k, v) in &rule.output {
        let val = match v {
            serde_json::Value::String(s) => quote(s),
            other => other.to_string(),
        };
        sel.push(format!("{val} AS \"{k}\""));
    }
    let tables = cx.tables()?;
    let from = tables[0].1.from.clone();
    let mut wh = Vec::new();
    let filt: Vec<String> = tables.iter().filter_map(|t| t.1.filter.clone()).collect();
    if !filt.is_empty() {
        wh.push(if filt.len() == 1 {
            format!("({})", filt[0])
        } else {
            format!(
                "({})",
                filt.iter()
                    .map(|f| format!("({f})"))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            )
        });
    }
    if cx.tumbling() {
        wh.push(format!(
            "starttime >= (NOW() / {ms} - 1) * {ms} AND starttime < (NOW() / {ms}) * {ms}"
        ));
    }
    for p in &rule.filter {
        wh.push(pred(cx, p)?);
    }
    if rule.missing_as_empty {
        cx.warn(
            "rows with an empty group-by value are grouped under NULL rather than \"\"".to_string(),
        );
    }
    let tm = agg_of(&rule.threshold.measure).ok_or_else(|| cx.unsupported("threshold measure"))?;
    let mut q = vec![format!("SELECT {}", sel.join(",\n  "))];
    q.push(format!("FROM {from}"));
    if !wh.is_empty() {
        q.push(format!("WHERE {}", wh.join("\n  AND ")));
    }
    q.push(format!("GROUP BY {}", group.join(", ")));
    let mut having = vec![match &rule.pivot {
        Some(p) => format!("UNIQUECOUNT({}) >= {}", cx.name(p.collect)?, p.min),
        None => format!("{tm} >= {}", rule.threshold.gte),
    }];
    for c in &rule.require {
        if let Some(a) = agg_of(&c.measure) {
            having.push(cond_text(c, &a, " AND ", num));
        }
    }
    q.push(format!("HAVING {}", having.join("\n  AND ")));
    q.push(format!("ORDER BY \"{}\" DESC", rule.threshold.measure));
    q.push(last(range));
    let mut out: Vec<String> = cx
        .header(&["*/"])
        .iter()
        .map(|l| format!("/* {l} */"))
        .collect();
    if let Some(n) = cx.tumbling_note() {
        out.push(format!("/* {} */", comment_text(&n, &["*/"])));
    }
    out.extend(
        cx.warning_lines(&["*/"])
            .iter()
            .map(|l| format!("/* {l} */")),
    );
    out.extend(q);
    Ok(out.join("\n") + "\n")
}
