//! Google SecOps / Chronicle YARA-L 2.0 rules over UDM.

use crate::common::{Cx, Dialect, cond_text, dur, is_list, level_name, print_pred};
use crate::escape::{escape, regex_hex};
use crate::{ExportError, Target};
use idrecon_rules::{Measure, MeasureFn, Predicate};

fn quote(s: &str) -> String {
    escape(Target::Yaral, s)
}

const D: Dialect = Dialect {
    and: " and ",
    or: " or ",
    not: |x| format!("not {x}"),
    is_in: |f, v| {
        let parts: Vec<String> = v.iter().map(|x| format!("{f} = {x}")).collect();
        if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("({})", parts.join(" or "))
        }
    },
    is_in_ci: |f, v| {
        let alts: Vec<String> = v.iter().map(|x| regex_hex(x)).collect();
        format!("re.regex({f}, `(?i)^(?:{})$`)", alts.join("|"))
    },
    contains: |f, s| format!("re.regex({f}, `(?i){}`)", regex_hex(s)),
    not_empty: |f| format!("{f} != \"\""),
    quote,
};

fn fref(cx: &Cx<'_>, f: idrecon_core::Field) -> Result<String, ExportError> {
    Ok(format!("$e.{}", cx.name(f)?))
}

fn pred(cx: &Cx<'_>, p: &Predicate) -> Result<String, ExportError> {
    print_pred(cx, &D, p, &|f| fref(cx, f))
}

fn mref(cx: &Cx<'_>, m: &Measure) -> Result<String, ExportError> {
    let f = m
        .field
        .ok_or_else(|| cx.unsupported(format!("measure `{}` needs a field", m.name)))?;
    let r = fref(cx, f)?;
    Ok(if m.lower {
        format!("strings.to_lower({r})")
    } else {
        r
    })
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A rule name: letters, digits, underscores, starting with a letter.
pub(crate) fn rule_name(id: &str, profile: &str) -> String {
    let s: String = format!("idrecon_{id}_{profile}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    s
}

fn mcond(cx: &Cx<'_>, c: &idrecon_rules::Condition) -> String {
    let left = match cx.rule.measure(&c.measure) {
        Some(m) if is_list(m) && m.func != MeasureFn::Const => {
            format!("arrays.length(${})", c.measure)
        }
        _ => format!("${}", c.measure),
    };
    cond_text(c, &left, " and ", num)
}

pub(crate) fn compile(cx: &mut Cx<'_>) -> Result<String, ExportError> {
    cx.check_fields()?;
    let rule = cx.rule;
    let secs = rule.window.length.as_secs();
    let mins = secs.div_ceil(60).max(1);
    let win = dur(mins * 60);
    if cx.sliding() {
        cx.warn(format!("the {win} match window is a YARA-L hop window (overlapping fixed windows), which approximates the engine's sliding window; a burst can be reported by two overlapping windows"));
    } else if cx.tumbling() {
        cx.warn(format!("the engine's {win} buckets are aligned to the Unix epoch; the {win} match window is a YARA-L hop window (overlapping windows evaluated continuously), so a burst that straddles a bucket boundary can fire here although neither bucket reaches the threshold, and one burst can be reported by two overlapping windows"));
    } else {
        cx.warn(format!("the lookback is expressed as a {win} match window evaluated continuously by the detection engine, not once at a chosen time"));
    }
    if !rule.dedup.is_empty() {
        cx.warn(
            "YARA-L counts every UDM event: rows repeated for one sign-in are counted again"
                .to_string(),
        );
    }
    if let Some(bl) = &rule.window.baseline {
        cx.warn(format!(
            "baseline not computed: a YARA-L rule sees one match window at a time, so the threshold is the floor only ({} >= {}), not also above the mean plus {} standard deviations of the previous {} buckets; expect detections in windows that are busy every day",
            rule.threshold.measure,
            rule.threshold.gte,
            num(bl.sigmas),
            bl.buckets(rule.window.length)
        ));
    }
    if let Some(p) = &rule.pivot {
        cx.warn(format!(
            "pivot not computed: YARA-L has one aggregation per rule, so accounts are not grouped by their exact set of sources; each detection is one account ({}) probed from at least {} distinct {} in the window, with its own outcomes, and the threshold on accounts per set ({} >= {}) is not applied: group the detections by their sources to find the shared lists",
            p.by.name(),
            p.min,
            p.collect.name(),
            rule.threshold.measure,
            rule.threshold.gte
        ));
    }
    let tables = cx.tables()?;
    let mut ev = Vec::new();
    let log_types: Vec<String> = {
        let mut v: Vec<String> = tables.iter().map(|t| t.1.from.clone()).collect();
        v.dedup();
        v
    };
    let lt: Vec<String> = log_types
        .iter()
        .map(|l| format!("$e.metadata.log_type = {}", quote(l)))
        .collect();
    ev.push(if lt.len() == 1 {
        lt[0].clone()
    } else {
        format!("({})", lt.join(" or "))
    });
    let mut filt: Vec<String> = tables
        .iter()
        .filter_map(|t| t.1.filter.clone())
        .map(|f| format!("$e.{f}"))
        .collect();
    filt.dedup();
    if !filt.is_empty() {
        ev.push(if filt.len() == 1 {
            filt[0].clone()
        } else {
            format!("({})", filt.join(" or "))
        });
    }
    for p in &rule.filter {
        ev.push(pred(cx, p)?);
    }
    let mut vars = Vec::new();
    for f in &rule.key {
        let v = format!("${}", f.name());
        if rule.key_lower {
            ev.push(format!("{v} = strings.to_lower({})", fref(cx, *f)?));
        } else {
            ev.push(format!("{} = {v}", fref(cx, *f)?));
        }
        vars.push(v);
    }
    if let Some(p) = &rule.pivot {
        // The nearest form: one detection per account.
        let v = format!("${}", p.by.name());
        if p.lower {
            ev.push(format!("{v} = strings.to_lower({})", fref(cx, p.by)?));
        } else {
            ev.push(format!("{} = {v}", fref(cx, p.by)?));
        }
        vars.push(v);
    }
    if vars.is_empty() {
        // Tenant-wide: a match variable is required; the log type is one
        // value for all of the rule's events.
        if log_types.len() > 1 {
            cx.warn(format!(
                "tenant-wide rule: the match variable is the log type, so the log types {} are counted separately",
                log_types.join(", ")
            ));
        }
        ev.push("$log_type = $e.metadata.log_type".into());
        vars.push("$log_type".into());
    }
    let mut outcome = Vec::new();
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
        let e = match m.func {
            MeasureFn::Count => "count($e.metadata.id)".to_string(),
            MeasureFn::CountIf => format!("sum(if({}, 1, 0))", cond()?),
            MeasureFn::Dcount => format!("count_distinct({})", mref(cx, m)?),
            MeasureFn::DcountIf => {
                cx.warn(format!("{n}: rows outside its condition add one empty value to the distinct count"));
                format!("count_distinct(if({}, {}, \"\"))", cond()?, mref(cx, m)?)
            }
            MeasureFn::Set => format!("array_distinct({})", mref(cx, m)?),
            MeasureFn::SetIf | MeasureFn::Confirmed => {
                if m.func == MeasureFn::Confirmed && rule.confirm.is_some() {
                    cx.warn(format!("{n}: only probe events matching its condition confirm an account; later successful sign-ins are not joined"));
                }
                match &m.filter {
                    Some(_) => format!("array_distinct(if({}, {}, \"\"))", cond()?, mref(cx, m)?),
                    None => format!("array_distinct({})", mref(cx, m)?),
                }
            }
            MeasureFn::Const => crate::common::const_literal(Target::Yaral, m.value.as_ref(), "\"\""),
            MeasureFn::DurationMinutes => "(max($e.metadata.event_timestamp.seconds) - min($e.metadata.event_timestamp.seconds)) / 60".to_string(),
            MeasureFn::Rate | MeasureFn::Ratio | MeasureFn::Classify | MeasureFn::MaxPer | MeasureFn::ConfirmedSignins
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => continue,
        };
        outcome.push(format!("${n} = {e}"));
    }
    if rule.measures.iter().any(|m| m.cap.is_some()) {
        cx.warn(
            "array_distinct() lists are not capped or ordered like the engine's first-seen lists"
                .to_string(),
        );
    }
    outcome.push("$first_seen = min($e.metadata.event_timestamp.seconds)".into());
    outcome.push("$last_seen = max($e.metadata.event_timestamp.seconds)".into());
    let mut sev = quote("Low");
    if let Some(d) = rule.severity.iter().find(|a| a.any.is_empty()) {
        sev = quote(level_name(d));
    }
    let mut risk = 25;
    for arm in rule.severity.iter().rev().filter(|a| !a.any.is_empty()) {
        let c: Vec<String> = arm
            .any
            .iter()
            .filter(|c| cx.has(&c.measure))
            .map(|c| mcond(cx, c))
            .collect();
        if c.is_empty() {
            continue;
        }
        sev = format!("if({}, {}, {sev})", c.join(" or "), quote(level_name(arm)));
        risk += 25;
    }
    outcome.push(format!("$severity = {sev}"));
    if let Some(p) = &rule.pivot {
        outcome.push(format!(
            "$idr_sources = count_distinct({})",
            fref(cx, p.collect)?
        ));
    }
    let _ = risk;
    for (k, v) in &rule.output {
        let val = match v {
            serde_json::Value::String(s) => quote(s),
            other => other.to_string(),
        };
        outcome.push(format!("${k} = {val}"));
    }
    let meta_desc = rule
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut out: Vec<String> = cx
        .header(&["*/"])
        .iter()
        .map(|l| format!("// {l}"))
        .collect();
    out.extend(cx.warning_lines(&["*/"]).iter().map(|l| format!("// {l}")));
    out.push(format!("rule {} {{", rule_name(&rule.id, &rule.profile)));
    out.push("  meta:".into());
    out.push("    author = \"idrecon\"".into());
    out.push(format!("    description = {}", quote(&meta_desc)));
    out.push(format!("    idrecon_rule = {}", quote(&rule.id)));
    out.push(format!("    idrecon_profile = {}", quote(&rule.profile)));
    out.push(format!(
        "    mitre_attack_technique = {}",
        quote(&rule.mitre.join(", "))
    ));
    out.push("    mitre_attack_tactic = \"Reconnaissance\"".into());
    out.push("    type = \"alert\"".into());
    out.push(String::new());
    out.push("  events:".into());
    for e in &ev {
        out.push(format!("    {e}"));
    }
    out.push(String::new());
    out.push("  match:".into());
    out.push(format!("    {} over {win}", vars.join(", ")));
    out.push(String::new());
    out.push("  outcome:".into());
    for o in &outcome {
        out.push(format!("    {o}"));
    }
    out.push(String::new());
    out.push("  condition:".into());
    let mut cond = vec!["$e".to_string()];
    match &rule.pivot {
        Some(p) => cond.push(format!("$idr_sources >= {}", p.min)),
        None => cond.push(format!(
            "${} >= {}",
            rule.threshold.measure, rule.threshold.gte
        )),
    }
    cond.extend(cx.requires().iter().map(|c| mcond(cx, c)));
    out.push(format!("    {}", cond.join(" and ")));
    out.push("}".into());
    Ok(out.join("\n") + "\n")
}
