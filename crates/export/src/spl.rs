//! Splunk SPL. Value tests use `match()` with hex-escaped regular
//! expressions (no quote, pipe, backtick or newline can reach the search);
//! sliding windows use `streamstats time_window=`.

use crate::common::{
    Cx, Dialect, RUN_EVERY_SECS, classify_arms, cond_text, dur, is_list, level_name,
    lowered_fields, pivot_key, print_pred, threshold_measure,
};
use crate::escape::{comment_text, escape, regex_hex};
use crate::{ExportError, Target};
use idrecon_rules::{Baseline, Measure, MeasureFn, Pivot, Predicate};

/// The tumbling bucket index, `floor(_time / length)`.
const BUCKET: &str = "idr_bucket";
/// The bucket of the first event of the rule's kinds in the search range.
const FIRST_BUCKET: &str = "idr_first_bucket";

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
    } else if cx.tumbling() {
        cx.schedule().1
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
    let mut lowered = lowered_fields(rule);
    if let Some(p) = &rule.pivot
        && p.lower
        && !lowered.contains(&p.by)
    {
        lowered.push(p.by);
    }
    for f in lowered {
        evals.push(format!("{0}_norm=lower(trim({0}))", cx.name(f)?));
    }
    if !evals.is_empty() {
        body.push(format!("| eval {}", evals.join(", ")));
    }
    if rule.key_lower && !rule.key.is_empty() {
        let ks: Vec<String> = rule
            .key
            .iter()
            .map(|f| cx.name(*f).map(|n| format!("{n}=lower(trim({n}))")))
            .collect::<Result<_, _>>()?;
        body.push(format!("| eval {}", ks.join(", ")));
    }
    if rule.missing_as_empty && !rule.key.is_empty() {
        let keys: Vec<&str> = rule
            .key
            .iter()
            .map(|f| cx.name(*f))
            .collect::<Result<_, _>>()?;
        body.push(format!("| fillnull value=\"\" {}", keys.join(" ")));
    }
    if cx.tumbling() {
        tumbling_events(cx, &mut body)?;
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
    if let Some(p) = &rule.pivot {
        pivot_sets(cx, p, &mut body)?;
    }
    let keys: Vec<&str> = rule
        .key
        .iter()
        .map(|f| cx.name(*f))
        .collect::<Result<_, _>>()?;
    let tm = threshold_measure(rule).ok_or_else(|| cx.unsupported("threshold measure missing"))?;
    // Group-by fields: the keys, then (tumbling) the bucket and the pivot set.
    let mut group: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    if cx.tumbling() {
        group.push(BUCKET.into());
    }
    let set_key = rule.pivot.as_ref().map(pivot_key);
    group.extend(set_key.clone());
    let by = group.join(" ");
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
    if rule.window.baseline.is_some() {
        aggs.push(format!("max({FIRST_BUCKET}) as {FIRST_BUCKET}"));
    }
    body.push(format!("| stats {} by {by}", aggs.join(" ")));
    if cx.tumbling() {
        post.push(format!("bucket_start={BUCKET}*{secs}"));
    }
    if let Some(bl) = &rule.window.baseline {
        baseline(cx, bl, &keys, &mut body, &mut post);
    } else if !cx.sliding() {
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
    post.push("detection_time=strftime(last_seen, \"%Y-%m-%dT%H:%M:%S%:z\")".into());
    body.push(format!("| eval {}", post.join(", ")));
    let req: Vec<String> = cx.requires().iter().map(|c| mcond(cx, c)).collect();
    if !req.is_empty() {
        body.push(format!("| where {}", req.join(" AND ")));
    }
    let mut cols = vec!["detection_time".to_string()];
    cols.extend(keys.iter().map(|k| k.to_string()));
    cols.extend(set_key);
    if cx.tumbling() {
        cols.push("bucket_start".into());
    }
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
    if let Some(n) = cx.tumbling_note() {
        out.push(comment(&comment_text(&n, &["```"])));
    }
    out.extend(cx.warning_lines(&["```"]).iter().map(|l| comment(l)));
    out.extend(body);
    Ok(out.join("\n") + "\n")
}

/// The field holding a pivot's `by` value (`<field>_norm` when compared
/// lower-cased).
fn pivot_by(cx: &Cx<'_>, p: &Pivot) -> Result<String, ExportError> {
    let n = cx.name(p.by)?;
    Ok(if p.lower {
        format!("{n}_norm")
    } else {
        n.to_string()
    })
}

/// Tumbling rules, before the `where` conditions: the bucket of each event;
/// without a baseline only the last complete bucket is kept; with one, one
/// row per bucket that has events of the rule's kinds but no probe survives
/// until the first bucket of the history (`idr_first_bucket`) is known.
fn tumbling_events(cx: &Cx<'_>, body: &mut Vec<String>) -> Result<(), ExportError> {
    let rule = cx.rule;
    let secs = rule.window.length.as_secs();
    body.push(format!("| eval {BUCKET}=floor(_time/{secs})"));
    if rule.window.baseline.is_none() {
        body.push(format!("| where {BUCKET}=floor(now()/{secs})-1"));
        return Ok(());
    }
    let conds = rule
        .filter
        .iter()
        .map(|p| pred(cx, p))
        .collect::<Result<Vec<_>, _>>()?;
    let probe = match conds.len() {
        0 => "true()".to_string(),
        1 => conds[0].clone(),
        _ => format!("({})", conds.join(") AND (")),
    };
    body.push(format!("| eval idr_other=if({probe}, null(), {BUCKET})"));
    body.push("| dedup keepempty=true idr_other".into());
    body.push(format!("| eventstats min({BUCKET}) as {FIRST_BUCKET}"));
    Ok(())
}

/// A pivot's first stage: each account's sorted set of sources in its
/// bucket (values() sorts), accounts with at least `min` of them, and the
/// set as the group key.
fn pivot_sets(cx: &Cx<'_>, p: &Pivot, body: &mut Vec<String>) -> Result<(), ExportError> {
    let rule = cx.rule;
    let by = pivot_by(cx, p)?;
    let col = cx.name(p.collect)?;
    if rule.missing_as_empty {
        body.push(format!("| fillnull value=\"\" {by} {col}"));
    } else {
        body.push(format!("| where isnotnull({by}) AND isnotnull({col})"));
    }
    let mut per: Vec<String> = rule
        .key
        .iter()
        .map(|f| cx.name(*f).map(str::to_string))
        .collect::<Result<_, _>>()?;
    per.push(BUCKET.into());
    per.push(by);
    body.push(format!(
        "| eventstats dc({col}) as idr_sources values({col}) as idr_source_set by {}",
        per.join(" ")
    ));
    body.push(format!("| where idr_sources>={}", p.min));
    body.push(format!(
        "| eval {}=mvjoin(idr_source_set, \",\")",
        pivot_key(p)
    ));
    Ok(())
}

/// After the per-bucket `stats`: the baseline of the last complete bucket
/// (sum and sum of squares of the threshold measure over the previous
/// `history` buckets; buckets without rows add 0), its mean and population
/// standard deviation `sqrt(SS/n - mean²)` with `n = min(history buckets,
/// bucket - first bucket)`, and the engine's tests.
fn baseline(
    cx: &Cx<'_>,
    bl: &Baseline,
    keys: &[&str],
    body: &mut Vec<String>,
    post: &mut Vec<String>,
) {
    let rule = cx.rule;
    let secs = rule.window.length.as_secs();
    let n = bl.buckets(rule.window.length);
    let thr = &rule.threshold.measure;
    body.push(format!("| eval idr_last=floor(now()/{secs})-1"));
    body.push(format!(
        "| eval idr_hist=if({BUCKET}>=idr_last-{n} AND {BUCKET}<idr_last, {thr}, 0), idr_hist2=idr_hist*idr_hist"
    ));
    let by = if keys.is_empty() {
        String::new()
    } else {
        format!(" by {}", keys.join(" "))
    };
    body.push(format!(
        "| eventstats sum(idr_hist) as idr_sum sum(idr_hist2) as idr_sumsq{by}"
    ));
    body.push(format!("| where {BUCKET}=idr_last"));
    body.push(format!(
        "| eval idr_n=min({n}, {BUCKET}-{FIRST_BUCKET}), idr_mean=if(idr_n=0, 0, idr_sum/idr_n), idr_meansq=if(idr_n=0, 0, idr_sumsq/idr_n), idr_stddev=sqrt(max(idr_meansq-idr_mean*idr_mean, 0)), idr_bar=idr_mean+{}*idr_stddev",
        num(bl.sigmas)
    ));
    body.push(format!(
        "| where {thr} >= {} AND idr_n >= {} AND {thr} > idr_bar",
        rule.threshold.gte,
        bl.min_buckets(rule.window.length)
    ));
    for m in &rule.measures {
        let e = match m.func {
            MeasureFn::BaselineMean => "round(idr_mean, 2)",
            MeasureFn::BaselineStddev => "round(idr_stddev, 2)",
            MeasureFn::BaselineBuckets => "idr_n",
            _ => continue,
        };
        post.push(format!("{}={e}", m.name));
    }
}
