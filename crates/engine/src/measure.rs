//! Measure evaluation over one group's events.

use crate::confirm::{Confirm, Fields};
use idrecon_core::text::normalize_user;
use idrecon_core::{Event, Field, Timestamp};
use idrecon_rules::{Measure, MeasureFn, Rule};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// A computed measure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MVal {
    Int(u64),
    Signed(i64),
    Float(f64),
    List(Vec<String>),
    Json(Value),
}

impl MVal {
    /// Numeric view for thresholds and severity (lists: their length).
    pub(crate) fn number(&self) -> f64 {
        match self {
            MVal::Int(n) => *n as f64,
            MVal::Signed(n) => *n as f64,
            MVal::Float(f) => *f,
            MVal::List(l) => l.len() as f64,
            MVal::Json(Value::Array(a)) => a.len() as f64,
            MVal::Json(v) => v.as_f64().unwrap_or(0.0),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        match self {
            MVal::Int(n) => Value::from(*n),
            MVal::Signed(n) => Value::from(*n),
            MVal::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            MVal::List(l) => Value::from(l.clone()),
            MVal::Json(v) => v.clone(),
        }
    }
}

/// The value of `field` as the measure sees it (lower-cased when asked;
/// missing becomes `""` under KQL string semantics).
pub(crate) fn value_of<E: Fields + ?Sized>(
    ev: &E,
    field: Field,
    lower: bool,
    missing_as_empty: bool,
) -> Option<String> {
    match ev.field(field) {
        Some(v) if lower => Some(normalize_user(v)),
        Some(v) => Some(v.to_string()),
        None if missing_as_empty => Some(String::new()),
        None => None,
    }
}

/// KQL `datetime_diff('minute', last, first)`: the number of minute
/// boundaries between the two instants (not elapsed whole minutes).
pub(crate) fn datetime_diff_minutes(last: Timestamp, first: Timestamp) -> i64 {
    last.as_second().div_euclid(60) - first.as_second().div_euclid(60)
}

/// KQL `round(x, digits)`: half away from zero.
pub(crate) fn round_to(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// Computes every measure of `rule` over `events` (sorted by time), with
/// `confirm` events of the same key (sorted by time, stably) for
/// `confirmed` measures. `window_end`
/// is the last instant a confirm event may have.
pub(crate) fn compute(
    rule: &Rule,
    events: &[&Event],
    confirm: &[&Confirm],
    window_end: Timestamp,
) -> BTreeMap<String, MVal> {
    let mut out: BTreeMap<String, MVal> = BTreeMap::new();
    let first = events
        .first()
        .map(|e| e.time)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let last = events
        .last()
        .map(|e| e.time)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mae = rule.missing_as_empty;
    // Two passes: plain aggregates first, then derived ones that refer to them.
    for m in &rule.measures {
        let v = match m.func {
            MeasureFn::Count => MVal::Int(events.len() as u64),
            MeasureFn::CountIf => {
                MVal::Int(events.iter().filter(|e| pred(m, e, mae)).count() as u64)
            }
            MeasureFn::Dcount => MVal::Int(distinct(m, events.iter().copied(), mae).len() as u64),
            MeasureFn::DcountIf => MVal::Int(
                distinct(m, events.iter().copied().filter(|e| pred(m, e, mae)), mae).len() as u64,
            ),
            MeasureFn::Set => MVal::List(capped(distinct(m, events.iter().copied(), mae), m.cap)),
            MeasureFn::SetIf => MVal::List(capped(
                distinct(m, events.iter().copied().filter(|e| pred(m, e, mae)), mae),
                m.cap,
            )),
            MeasureFn::Confirmed => MVal::List(capped(
                confirmed(m, events, confirm, first, window_end, mae),
                m.cap,
            )),
            MeasureFn::ConfirmedSignins => MVal::Json(Value::Array(confirmed_signins(
                m, events, confirm, first, window_end, mae,
            ))),
            MeasureFn::MaxPer => MVal::Int(max_per(m, events, mae)),
            MeasureFn::Const => MVal::Json(m.value.clone().unwrap_or(Value::Null)),
            MeasureFn::DurationMinutes => MVal::Signed(datetime_diff_minutes(last, first)),
            MeasureFn::Rate | MeasureFn::Ratio | MeasureFn::Classify => continue,
            // Set by the tumbling evaluation, which knows the history.
            MeasureFn::BaselineMean | MeasureFn::BaselineStddev | MeasureFn::BaselineBuckets => {
                continue;
            }
        };
        out.insert(m.name.clone(), v);
    }
    for m in &rule.measures {
        let v = match m.func {
            MeasureFn::Rate => {
                let of =
                    m.of.as_deref()
                        .and_then(|n| out.get(n))
                        .map_or(0.0, MVal::number);
                let d = datetime_diff_minutes(last, first);
                let d = if d == 0 { 1.0 } else { d as f64 };
                MVal::Float(round_to(of / d, 2))
            }
            MeasureFn::Ratio => {
                let num = m
                    .num
                    .as_deref()
                    .and_then(|n| out.get(n))
                    .map_or(0.0, MVal::number);
                let den: f64 = m
                    .den
                    .iter()
                    .filter_map(|n| out.get(n))
                    .map(MVal::number)
                    .sum();
                MVal::Float(if den == 0.0 {
                    0.0
                } else {
                    round_to(num / den, 4)
                })
            }
            _ => continue,
        };
        out.insert(m.name.clone(), v);
    }
    for m in &rule.measures {
        if m.func == MeasureFn::Classify {
            let r =
                m.of.as_deref()
                    .and_then(|n| out.get(n))
                    .map_or(0.0, MVal::number);
            out.insert(m.name.clone(), MVal::Json(Value::from(classify(m, r))));
        }
    }
    out
}

/// `enumeration` / `spray` / `mixed` (or the labels the rule gives) from a
/// ratio: the first label is chosen at or above its bound, the second at or
/// below its bound.
fn classify(m: &Measure, ratio: f64) -> String {
    let Some(Value::Object(bounds)) = &m.value else {
        return "mixed".into();
    };
    let mut it = bounds.iter();
    if let Some((label, b)) = it.next()
        && ratio >= b.as_f64().unwrap_or(f64::INFINITY)
    {
        return label.clone();
    }
    if let Some((label, b)) = it.next()
        && ratio <= b.as_f64().unwrap_or(f64::NEG_INFINITY)
    {
        return label.clone();
    }
    "mixed".into()
}

fn max_per(m: &Measure, events: &[&Event], mae: bool) -> u64 {
    let (Some(field), Some(per)) = (m.field, m.per) else {
        return 0;
    };
    let mut sets: std::collections::HashMap<String, HashSet<String>> =
        std::collections::HashMap::new();
    for e in events {
        if let (Some(p), Some(v)) = (
            value_of(e, per, false, mae),
            value_of(e, field, m.lower, mae),
        ) {
            sets.entry(p).or_default().insert(v);
        }
    }
    sets.values().map(|s| s.len() as u64).max().unwrap_or(0)
}

fn pred(m: &Measure, e: &Event, mae: bool) -> bool {
    m.filter.as_ref().is_none_or(|p| p.eval(e, mae))
}

/// Distinct values of the measure's field in first-seen order.
fn distinct<'a>(m: &Measure, events: impl Iterator<Item = &'a Event>, mae: bool) -> Vec<String> {
    let Some(field) = m.field else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for e in events {
        if let Some(v) = value_of(e, field, m.lower, mae)
            && seen.insert(v.clone())
        {
            out.push(v);
        }
    }
    out
}

fn capped(mut v: Vec<String>, cap: Option<usize>) -> Vec<String> {
    if let Some(c) = cap {
        v.truncate(c);
    }
    v
}

/// The first confirming event per identity, ordered by time: probe rows
/// matching `where`, or confirm events for an identity at or after its first
/// probe and no later than `window_end` (one window after the episode).
fn confirming<'a>(
    m: &Measure,
    events: &[&'a Event],
    confirm: &[&'a Confirm],
    first: Timestamp,
    window_end: Timestamp,
    mae: bool,
) -> Vec<(String, &'a dyn Fields)> {
    let Some(field) = m.field else {
        return Vec::new();
    };
    // First probe time per identity: a confirm event counts only after it.
    let mut probed: std::collections::HashMap<String, Timestamp> = std::collections::HashMap::new();
    for e in events {
        if let Some(v) = value_of(*e, field, m.lower, mae) {
            let t = probed.entry(v).or_insert(e.time);
            if e.time < *t {
                *t = e.time;
            }
        }
    }
    // Without `where`, only confirm events confirm (no probe row does).
    let mut hits: Vec<(Timestamp, String, &dyn Fields)> = events
        .iter()
        .filter(|e| m.filter.as_ref().is_some_and(|p| p.eval(e, mae)))
        .filter_map(|e| value_of(*e, field, m.lower, mae).map(|v| (e.time, v, *e as &dyn Fields)))
        .collect();
    // `confirm` is in time order: only the events in [first, window_end].
    let lo = confirm.partition_point(|c| c.time() < first);
    let hi = confirm.partition_point(|c| c.time() <= window_end).max(lo);
    for c in &confirm[lo..hi] {
        if let Some(v) = value_of(*c, field, m.lower, mae)
            && (m.any_identity || probed.get(&v).is_some_and(|t| c.time() >= *t))
        {
            hits.push((c.time(), v, *c as &dyn Fields));
        }
    }
    hits.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut seen = HashSet::new();
    hits.into_iter()
        .filter(|(_, v, _)| seen.insert(v.clone()))
        .map(|(_, v, e)| (v, e))
        .collect()
}

fn confirmed(
    m: &Measure,
    events: &[&Event],
    confirm: &[&Confirm],
    first: Timestamp,
    window_end: Timestamp,
    mae: bool,
) -> Vec<String> {
    confirming(m, events, confirm, first, window_end, mae)
        .into_iter()
        .map(|(v, _)| v)
        .collect()
}

fn confirmed_signins(
    m: &Measure,
    events: &[&Event],
    confirm: &[&Confirm],
    first: Timestamp,
    window_end: Timestamp,
    mae: bool,
) -> Vec<Value> {
    let mut out: Vec<Value> = confirming(m, events, confirm, first, window_end, mae)
        .into_iter()
        .map(|(v, e)| {
            serde_json::json!({
                "account": v,
                "time": e.at().to_string(),
                "source_ip": e.field(Field::Source),
                "result_code": e.field(Field::ResultCode),
                "event_id": e.field(Field::EventId),
                "app": e.field(Field::App),
                "client_app": e.field(Field::ClientApp),
                "auth_requirement": e.field(Field::AuthRequirement),
            })
        })
        .collect();
    if let Some(c) = m.cap {
        out.truncate(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn datetime_diff_counts_boundaries() {
        // 59 seconds apart but across a minute boundary: 1.
        assert_eq!(
            datetime_diff_minutes(ts("2024-05-01T10:01:00Z"), ts("2024-05-01T10:00:59Z")),
            1
        );
        // 119 seconds within... 10:00:00 → 10:01:59: 1 boundary.
        assert_eq!(
            datetime_diff_minutes(ts("2024-05-01T10:01:59Z"), ts("2024-05-01T10:00:00Z")),
            1
        );
        assert_eq!(
            datetime_diff_minutes(ts("2024-05-01T10:00:59.999Z"), ts("2024-05-01T10:00:00Z")),
            0
        );
        assert_eq!(
            datetime_diff_minutes(ts("2024-05-01T11:00:00Z"), ts("2024-05-01T10:00:00Z")),
            60
        );
        // Before the epoch the floor still counts boundaries.
        assert_eq!(
            datetime_diff_minutes(ts("1969-12-31T23:59:59Z"), ts("1969-12-31T23:59:01Z")),
            0
        );
    }

    #[test]
    fn round_half_away_from_zero() {
        assert_eq!(round_to(2.15, 1), 2.2);
        assert_eq!(round_to(2.98765, 3), 2.988);
        assert_eq!(round_to(16.0 / 3.0, 2), 5.33);
        assert_eq!(round_to(0.125, 2), 0.13);
        assert_eq!(round_to(-50.55, -2), -100.0);
    }
}
