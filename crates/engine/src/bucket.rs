//! Tumbling windows: fixed buckets aligned to the Unix epoch, the baseline a
//! bucket is compared with, and the pivot regrouping of a bucket.
//!
//! Semantics (docs/DETECTIONS.md, `idrecon_rules::Baseline`,
//! `idrecon_rules::Pivot`):
//! - bucket `b` of an instant `t` is `floor(t / length)`, the bucket spans
//!   `[b × length, (b + 1) × length)`;
//! - without a pivot, the events of a bucket are one group; with one, each
//!   `by` value gets the sorted set of its distinct `collect` values, and
//!   the `by` values whose set has at least `min` members are grouped by
//!   that set;
//! - the baseline of bucket `b` is the threshold measure over the key's
//!   buckets `b − n … b − 1`, `n = min(history buckets, b − b₀)` where `b₀`
//!   is the bucket of the first event of the rule's kinds; buckets without
//!   events count as 0; `mean` and the population standard deviation; a
//!   bucket with `n < min_history buckets` is not evaluated; a bucket
//!   qualifies when its value is above `mean + sigmas × stddev`.

use crate::measure::value_of;
use idrecon_core::{Event, Timestamp};
use idrecon_rules::{MeasureFn, Rule};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

const NS: i128 = 1_000_000_000;

/// The bucket of an instant.
pub(crate) fn bucket_of(t: Timestamp, len: Duration) -> i64 {
    let l = i128::from(len.as_secs().max(1)) * NS;
    t.as_nanosecond().div_euclid(l) as i64
}

/// The first instant of a bucket (saturating at the representable range).
pub(crate) fn bucket_start(b: i64, len: Duration) -> Timestamp {
    let l = i128::from(len.as_secs().max(1)) * NS;
    let ns = i128::from(b).saturating_mul(l);
    Timestamp::from_nanosecond(ns).unwrap_or(if ns < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// One group of one bucket.
pub(crate) struct Group<'a> {
    /// Bucket index.
    pub bucket: i64,
    /// The group's events, in canonical order.
    pub events: Vec<&'a Event>,
    /// The pivot set (sorted, distinct), when the rule pivots.
    pub set: Option<Vec<String>>,
}

/// Splits one key's events (canonical order) into buckets, and each bucket
/// into groups (one, or the pivot's). Groups are in bucket order, then set
/// order.
pub(crate) fn groups<'a>(rule: &Rule, evs: &[&'a Event]) -> Vec<Group<'a>> {
    let len = rule.window.length;
    let mut out = Vec::new();
    let mut i = 0;
    while i < evs.len() {
        let b = bucket_of(evs[i].time, len);
        let mut j = i;
        while j < evs.len() && bucket_of(evs[j].time, len) == b {
            j += 1;
        }
        let chunk = &evs[i..j];
        match &rule.pivot {
            None => out.push(Group {
                bucket: b,
                events: chunk.to_vec(),
                set: None,
            }),
            Some(p) => {
                let mae = rule.missing_as_empty;
                // Per `by` value: its `collect` set and its events.
                let mut per: HashMap<String, (HashSet<String>, Vec<usize>)> = HashMap::new();
                for (k, e) in chunk.iter().enumerate() {
                    if let (Some(by), Some(c)) = (
                        value_of(e, p.by, p.lower, mae),
                        value_of(e, p.collect, false, mae),
                    ) {
                        let slot = per.entry(by).or_default();
                        slot.0.insert(c);
                        slot.1.push(k);
                    }
                }
                let mut sets: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
                for (set, idx) in per.into_values() {
                    if (set.len() as u64) < p.min {
                        continue;
                    }
                    let mut set: Vec<String> = set.into_iter().collect();
                    set.sort();
                    sets.entry(set).or_default().extend(idx);
                }
                for (set, mut idx) in sets {
                    // Back to canonical order: the chunk's order.
                    idx.sort_unstable();
                    out.push(Group {
                        bucket: b,
                        events: idx.into_iter().map(|k| chunk[k]).collect(),
                        set: Some(set),
                    });
                }
            }
        }
        i = j;
    }
    out
}

/// The threshold measure (a count or distinct count) over `evs`.
pub(crate) fn threshold_value(rule: &Rule, evs: &[&Event]) -> u64 {
    let Some(m) = rule.measure(&rule.threshold.measure) else {
        return 0;
    };
    match (m.func, m.field) {
        (MeasureFn::Dcount, Some(f)) => evs
            .iter()
            .filter_map(|e| value_of(e, f, m.lower, rule.missing_as_empty))
            .collect::<HashSet<_>>()
            .len() as u64,
        _ => evs.len() as u64,
    }
}

/// A bucket's baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stats {
    /// Mean of the history buckets' values.
    pub mean: f64,
    /// Population standard deviation.
    pub stddev: f64,
    /// History buckets.
    pub buckets: u64,
    /// `mean + sigmas × stddev`: the value must be above it.
    pub bar: f64,
}

/// The baseline of bucket `b` from the values of earlier buckets (absent:
/// 0), with the history starting at bucket `start`; `None` when the rule
/// has no baseline or the bucket has too little history.
pub(crate) fn baseline(
    rule: &Rule,
    b: i64,
    start: Option<i64>,
    values: &BTreeMap<i64, u64>,
) -> Option<Stats> {
    let bl = rule.window.baseline.as_ref()?;
    let len = rule.window.length;
    let start = start?.min(b);
    let n = (bl.buckets(len) as i64).min(b - start).max(0);
    if (n as u64) < bl.min_buckets(len) {
        return None;
    }
    // Sums as integers, then `mean = S / n`, `var = SS / n - mean²`: the
    // same floating-point steps as the exported queries.
    let (mut sum, mut sumsq) = (0u128, 0u128);
    for j in b - n..b {
        let v = u128::from(values.get(&j).copied().unwrap_or(0));
        sum += v;
        sumsq += v * v;
    }
    let (mean, stddev) = if n == 0 {
        (0.0, 0.0)
    } else {
        let k = n as f64;
        let mean = sum as f64 / k;
        let meansq = sumsq as f64 / k;
        (mean, (meansq - mean * mean).max(0.0).sqrt())
    };
    Some(Stats {
        mean,
        stddev,
        buckets: n as u64,
        bar: mean + bl.sigmas * stddev,
    })
}

/// The time a group's running threshold value first reached the threshold
/// (and, with a baseline, rose above `bar`).
pub(crate) fn crossed_at(rule: &Rule, evs: &[&Event], bar: Option<f64>) -> Option<Timestamp> {
    let m = rule.measure(&rule.threshold.measure)?;
    let gte = rule.threshold.gte;
    let mut seen: HashSet<String> = HashSet::new();
    for (k, e) in evs.iter().enumerate() {
        let n = match (m.func, m.field) {
            (MeasureFn::Dcount, Some(f)) => {
                if let Some(v) = value_of(e, f, m.lower, rule.missing_as_empty) {
                    seen.insert(v);
                }
                seen.len() as u64
            }
            _ => k as u64 + 1,
        };
        if n >= gte && bar.is_none_or(|bar| n as f64 > bar) {
            return Some(e.time);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn buckets_align_to_the_epoch() {
        let h = Duration::from_secs(3600);
        assert_eq!(bucket_of(ts("1970-01-01T00:59:59.999Z"), h), 0);
        assert_eq!(bucket_of(ts("1970-01-01T01:00:00Z"), h), 1);
        // Before the epoch the floor still holds.
        assert_eq!(bucket_of(ts("1969-12-31T23:59:59.5Z"), h), -1);
        assert_eq!(bucket_start(-1, h), ts("1969-12-31T23:00:00Z"));
        let d = Duration::from_secs(86_400);
        assert_eq!(
            bucket_start(bucket_of(ts("2024-05-01T17:30:00Z"), d), d),
            ts("2024-05-01T00:00:00Z")
        );
    }
}
