//! Splunk SPL. Value tests use `match()` with hex-escaped regular
//! expressions (no quote, pipe, backtick or newline can reach the search);
//! sliding windows use `streamstats time_window=`.

use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, print_pred, threshold_measure,
};
use crate::escape::{escape, regex_hex};
use crate::{ExportError, Target};
use idrecon_rules::{Measure, MeasureFn, Predicate};

/// A regex literal for `match()`: the pattern's backslashes doubled inside
/// an SPL string (SPL turns `\\` into `\`).
fn re_lit(pattern: &str) -> String {
    format!("\"{}\"", pattern.replace('\\', "\\\\"))
}

const D: Dialect = Dialect {
    and: " AND ",
    or: " OR ",
    not: |x| format!("NOT ({x})"),
    is_in: |f, v| format!("match({f}, {})", re_lit(&format!("^(?:{})$", v.join("|")))),
    is_in_ci: |f, v| {
        let v: Vec<String> = v.iter().map(|x| regex_hex(x)).collect();
        format!(
            "match({f}, {})",
            re_lit(&format!("(?i)^(?:{})$", v.join("|")))
        )
    },
    contains: |f, s| format!("match({f}, {})", re_lit(&format!("(?i){}", regex_hex(s)))),
    not_empty: |f| format!("len({f})>0"),
    quote: regex_hex,
};

fn comment(l: &str) -> String {
    format!("``` {l} ```")
}

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
        Some(m) if is_list(m) => format!("mvcount({})", c.measure),
        _ => c.measure.clone(),
    };
    cond_text(c, &left, " AND ", num)
}

pub(crate) fn compile(cx: &mut Cx<'_>) -> Result<String, ExportError> {
    cx.check_fields()?;
    let rule = cx.rule;
    let secs = rule.window.length.as_secs();
    let range = if cx.sliding() {
        secs + RUN_EVERY_SECS
    } else {
        secs
    };
    if cx.sliding() {
        cx.warn(format!(
            "the threshold is tested on true sliding {} windows (streamstats time_window) inside a search over the last {}, scheduled every {}; the reported measures cover all of the source's events in that search range, not only the qualifying episode",
            dur(secs), dur(range), dur(RUN_EVERY_SECS)
        ));
    }
    let mut body = Vec::new();
    let tables = cx.tables()?;
    let from = tables[0].1.from.clone();
    if tables.iter().any(|t| t.1.from != from) {
        return Err(cx.unsupported("tables of one rule must share a base search"));
    }
    let filt: Vec<String> = tables.iter().filter_map(|t| t.1.filter.clone()).collect();
    let sel = if filt.is_empty() {
        String::new()
    } else {
        format!(" ({})", filt.join(" OR "))
    };
    body.push(format!("{from}{sel} earliest=-{} latest=now", dur(range)));
    let mut evals = Vec::new();
    for f in cx.used_fields() {
        let fm = cx.field(f)?;
        let e = fm.expr.clone().unwrap_or_else(|| fm.name.clone());
        let s = format!("{}={e}", fm.name);
        if !evals.contains(&s) {
            evals.push(s);
        }
    }
    for f in lowered_fields(rule) {
        evals.push(format!("{0}_norm=lower(trim({0}))", cx.name(f)?));
    }
    if !evals.is_empty() {
        body.push(format!("| eval {}", evals.join(", ")));
    }
    if rule.key_lower {
        let ks: Vec<String> = rule
            .key
            .iter()
            .map(|f| cx.name(*f).map(|n| format!("{n}=lower({n})")))
            .collect::<Result<_, _>>()?;
        body.push(format!("| eval {}", ks.join(", ")));
    }
    if rule.missing_as_empty {
        let keys: Vec<&str> = rule
            .key
            .iter()
            .map(|f| cx.name(*f))
            .collect::<Result<_, _>>()?;
        body.push(format!("| fillnull value=\"\" {}", keys.join(" ")));
    }
    for p in &rule.filter {
        body.push(format!("| where {}", pred(cx, p)?));
    }
    if !rule.dedup.is_empty() {
        let d: Vec<&str> = rule
            .dedup
            .iter()
            .map(|f| cx.name(*f))
            .collect::<Result<_, _>>()?;
        body.push(format!("| dedup keepempty=true {}", d.join(" ")));
    }
    let keys: Vec<&str> = rule
        .key
        .iter()
        .map(|f| cx.name(*f))
        .collect::<Result<_, _>>()?;
    let tm = threshold_measure(rule).ok_or_else(|| cx.unsupported("threshold measure missing"))?;
    let by = keys.join(" ");
    if cx.sliding() {
        let agg = match tm.func {
            MeasureFn::Dcount => format!("dc({})", mref(cx, tm)?),
            _ => "count".to_string(),
        };
        body.push("| sort 0 _time".into());
        body.push(format!(
            "| streamstats time_window={} {agg} as window_value by {by}",
            dur(secs)
        ));
        body.push(format!(
            "| eventstats max(window_value) as peak_window_value by {by}"
        ));
        body.push(format!(
            "| where peak_window_value >= {}",
            rule.threshold.gte
        ));
    }
    let mut aggs = Vec::new();
    let mut post = Vec::new();
    for m in &rule.measures {
        if !cx.computed(m) {
            continue;
        }
        let cond = || -> Result<String, ExportError> {
            m.filter
                .as_ref()
                .map(|p| pred(cx, p))
                .transpose()
                .map(|o| o.unwrap_or_else(|| "true()".into()))
        };
        let n = &m.name;
        match m.func {
            MeasureFn::Count => aggs.push(format!("count as {n}")),
            MeasureFn::CountIf => aggs.push(format!("count(eval({})) as {n}", cond()?)),
            MeasureFn::Dcount => aggs.push(format!("dc({}) as {n}", mref(cx, m)?)),
            MeasureFn::DcountIf => aggs.push(format!(
                "dc(eval(if({}, {}, null()))) as {n}",
                cond()?,
                mref(cx, m)?
            )),
            MeasureFn::Set => {
                aggs.push(format!("values({}) as {n}", mref(cx, m)?));
            }
            MeasureFn::SetIf | MeasureFn::Confirmed => {
                if m.func == MeasureFn::Confirmed && rule.confirm.is_some() {
                    cx.warn(format!("{n}: only probe rows matching its condition confirm an account; later successful sign-ins are not joined"));
                }
                aggs.push(format!(
                    "values(eval(if({}, {}, null()))) as {n}",
                    cond()?,
                    mref(cx, m)?
                ));
            }
            MeasureFn::Const => {
                let v = match m.value.as_ref() {
                    Some(serde_json::Value::String(s)) => escape(Target::Spl, s),
                    Some(serde_json::Value::Array(a)) => format!(
                        "split({}, \",\")",
                        escape(
                            Target::Spl,
                            &a.iter()
                                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                                .collect::<Vec<_>>()
                                .join(",")
                        )
                    ),
                    Some(v) => v.to_string(),
                    None => "null()".into(),
                };
                post.push(format!("{n}={v}"));
            }
            MeasureFn::DurationMinutes => {
                post.push(format!("{n}=floor(last_seen/60)-floor(first_seen/60)"))
            }
            MeasureFn::Classify => {
                let of = m.of.as_deref().unwrap_or_default();
                let arms: Vec<String> = classify_arms(m)
                    .iter()
                    .map(|(l, b, ge)| {
                        format!(
                            "{of}{}{}, {}",
                            if *ge { ">=" } else { "<=" },
                            num(*b),
                            escape(Target::Spl, l)
                        )
                    })
                    .collect();
                post.push(format!("{n}=case({}, true(), \"mixed\")", arms.join(", ")));
            }
            MeasureFn::MaxPer => {
                let per = m
                    .per
                    .ok_or_else(|| cx.unsupported(format!("measure `{n}` needs `per`")))?;
                body.push(format!(
                    "| eventstats dc({}) as {n}_per by {by} {}",
                    mref(cx, m)?,
                    cx.name(per)?
                ));
                aggs.push(format!("max({n}_per) as {n}"));
            }
            MeasureFn::ConfirmedSignins
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => continue,
            MeasureFn::Rate => {
                let of = m.of.as_deref().unwrap_or_default();
                post.push(format!(
                    "{n}=round({of}/if(floor(last_seen/60)-floor(first_seen/60)==0, 1, floor(last_seen/60)-floor(first_seen/60)), 2)"
                ));
            }
            MeasureFn::Ratio => {
                let num_ = m.num.as_deref().unwrap_or_default();
                let den = m.den.join("+");
                post.push(format!("{n}=if(({den})==0, 0, round({num_}/({den}), 4))"));
            }
        }
        if let (Some(cap), true) = (
            m.cap,
            matches!(
                m.func,
                MeasureFn::Set | MeasureFn::SetIf | MeasureFn::Confirmed
            ),
        ) {
            post.push(format!("{n}=mvindex({n}, 0, {})", cap.saturating_sub(1)));
        }
    }
    if rule.measures.iter().any(|m| m.cap.is_some()) {
        cx.warn("values() lists are sorted lexicographically and then capped; the engine keeps the first values seen".to_string());
    }
    if rule.measures.iter().any(|m| m.lower) {
        cx.warn("identities are lower-cased with lower(trim()) (ASCII and Unicode per Splunk's lower())".to_string());
    }
    aggs.push("min(_time) as first_seen".into());
    aggs.push("max(_time) as last_seen".into());
    if cx.sliding() {
        aggs.push("max(peak_window_value) as peak_window_value".into());
    }
    body.push(format!("| stats {} by {by}", aggs.join(" ")));
    if !cx.sliding() {
        body.push(format!(
            "| where {} >= {}",
            rule.threshold.measure, rule.threshold.gte
        ));
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
    sev.push(format!("true(), \"{default}\""));
    post.push(format!("severity=case({})", sev.join(", ")));
    for (k, v) in &rule.output {
        let val = match v {
            serde_json::Value::String(s) => escape(Target::Spl, s),
            other => other.to_string(),
        };
        post.push(format!("{k}={val}"));
    }
    post.push("detection_time=strftime(last_seen, \"%Y-%m-%dT%H:%M:%SZ\")".into());
    body.push(format!("| eval {}", post.join(", ")));
    let req: Vec<String> = cx.requires().iter().map(|c| mcond(cx, c)).collect();
    if !req.is_empty() {
        body.push(format!("| where {}", req.join(" AND ")));
    }
    let mut cols = vec!["detection_time".to_string()];
    cols.extend(keys.iter().map(|k| k.to_string()));
    cols.extend(rule.measures.iter().map(|m| m.name.clone()));
    cols.push("severity".into());
    cols.push("first_seen".into());
    cols.push("last_seen".into());
    if cx.sliding() {
        cols.push("peak_window_value".into());
    }
    cols.extend(rule.output.keys().cloned());
    body.push(format!("| table {}", cols.join(" ")));
    body.push(format!("| sort 0 - {}", rule.threshold.measure));
    let mut out: Vec<String> = cx.header(&["```"]).iter().map(|l| comment(l)).collect();
    out.extend(cx.warning_lines(&["```"]).iter().map(|l| comment(l)));
    out.extend(body);
    Ok(out.join("\n") + "\n")
}
