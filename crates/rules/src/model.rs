//! The rule model: what a rule file says once its parameters are resolved.

use idrecon_core::{Event, EventKind, Field, Severity};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A resolved detection rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Rule id, e.g. `auth_username_enumeration` (shared across profiles).
    pub id: String,
    /// Profile this definition belongs to (`seed` or `recommended`).
    pub profile: String,
    /// One-line title.
    pub title: String,
    /// What the rule detects and why.
    pub description: String,
    /// MITRE ATT&CK technique ids.
    #[serde(default)]
    pub mitre: Vec<String>,
    /// Event kinds the rule reads.
    pub kinds: Vec<EventKind>,
    /// Canonical tables the rule reads (empty = every table of those kinds).
    #[serde(default)]
    pub tables: Vec<String>,
    /// Window semantics.
    pub window: Window,
    /// Conditions an event must meet (all of them) to be counted.
    #[serde(rename = "where")]
    pub filter: Vec<Predicate>,
    /// Events that confirm a probed account (e.g. a later success from the
    /// same key); they are not counted as probes.
    #[serde(default)]
    pub confirm: Option<Predicate>,
    /// Probe rows to drop because the sign-in completed (see [`Completion`]).
    #[serde(default)]
    pub completed: Option<Completion>,
    /// Group-by fields; the first one is reported as the finding's source.
    /// Tumbling rules may have none (tenant-wide: the whole input is one
    /// group).
    #[serde(default)]
    pub key: Vec<Field>,
    /// Tumbling rules only: regroup each bucket by the *set* of `collect`
    /// values each `by` value was seen with (see [`Pivot`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pivot: Option<Pivot>,
    /// Compare key values case-insensitively (lower-cased).
    #[serde(default)]
    pub key_lower: bool,
    /// Fields whose equal values mark duplicate rows of one event (compared
    /// case-insensitively; rows missing any of them are never collapsed).
    #[serde(default)]
    pub dedup: Vec<Field>,
    /// KQL string semantics: a missing string field is the empty string
    /// (it groups, counts and lists as `""`).
    #[serde(default)]
    pub missing_as_empty: bool,
    /// Aggregates computed per key (and per episode).
    pub measures: Vec<Measure>,
    /// When a group becomes a finding.
    pub threshold: Threshold,
    /// Further conditions a finding must meet (all of them), checked on the
    /// episode's measures after the threshold (e.g. at least one not-found
    /// name).
    #[serde(default)]
    pub require: Vec<Condition>,
    /// Severity ladder: the first arm whose condition holds wins.
    pub severity: Vec<SeverityArm>,
    /// Constant output columns (e.g. the seed's `DetectionType`).
    #[serde(default)]
    pub output: BTreeMap<String, serde_json::Value>,
    /// Known limitations, false positives and tuning notes (documentation
    /// and exported-query comments).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Parameter values in force (after overrides), for reports and docs.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

impl Rule {
    /// True when the event is of a kind and table this rule reads.
    pub fn reads(&self, ev: &Event) -> bool {
        self.kinds.contains(&ev.kind)
            && (self.tables.is_empty() || self.tables.iter().any(|t| t == ev.table))
    }

    /// True when the event passes every `where` condition.
    pub fn matches(&self, ev: &Event) -> bool {
        self.filter
            .iter()
            .all(|p| p.eval(ev, self.missing_as_empty))
    }

    /// True when the event is a confirming event.
    pub fn confirms(&self, ev: &Event) -> bool {
        self.confirm
            .as_ref()
            .is_some_and(|p| p.eval(ev, self.missing_as_empty))
    }

    /// Whether this rule could use (match or be confirmed by) an event of
    /// which only some fields are known: `known(field)` is `Some(value)`
    /// for a known field (`Some(None)`: known to be absent) and `None` for
    /// one not looked at. `false` only when no event with those values can
    /// pass `where` or `confirm`; readers use this to skip records before
    /// normalizing them fully.
    pub fn may_use<'v>(
        &self,
        kind: EventKind,
        table: &str,
        known: &dyn Fn(Field) -> Option<Option<&'v str>>,
    ) -> bool {
        if !self.kinds.contains(&kind)
            || !(self.tables.is_empty() || self.tables.iter().any(|t| t == table))
        {
            return false;
        }
        let mae = self.missing_as_empty;
        // `where` can pass unless one of its conditions is known false.
        let filter_may = self
            .filter
            .iter()
            .all(|p| p.eval_partial(known, mae) != Some(false));
        let confirm_may = self
            .confirm
            .as_ref()
            .is_some_and(|p| p.eval_partial(known, mae) != Some(false));
        filter_may || confirm_may
    }

    /// A measure by name.
    pub fn measure(&self, name: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.name == name)
    }

    /// Checks internal consistency (measure references, threshold measure).
    pub fn validate(&self) -> Result<(), String> {
        let tumbling = self.window.kind == WindowKind::Tumbling;
        if self.key.is_empty() && !tumbling {
            return Err(
                "`key` needs at least one field (only tumbling windows may be tenant-wide)".into(),
            );
        }
        if let Some(b) = &self.window.baseline {
            if !tumbling {
                return Err("`window.baseline` needs `kind: tumbling`".into());
            }
            b.validate(self.window.length)?;
        }
        if self.pivot.is_some() {
            if !tumbling {
                return Err("`pivot` needs `kind: tumbling`".into());
            }
            if self.window.baseline.is_some() {
                return Err("a rule cannot have both `pivot` and `window.baseline`".into());
            }
        }
        if tumbling && self.window.length.as_secs() == 0 {
            return Err("a tumbling window needs a length of at least 1s".into());
        }
        for m in &self.measures {
            let is_baseline = matches!(
                m.func,
                MeasureFn::BaselineMean | MeasureFn::BaselineStddev | MeasureFn::BaselineBuckets
            );
            if is_baseline && self.window.baseline.is_none() {
                return Err(format!(
                    "measure `{}` needs a `window.baseline` to compare with",
                    m.name
                ));
            }
        }
        if self.completed.is_some() && self.confirm.is_none() {
            return Err("`completed` needs a `confirm` condition (the completing events)".into());
        }
        if self.kinds.is_empty() {
            return Err("`kinds` needs at least one event kind".into());
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.measures {
            if !seen.insert(m.name.as_str()) {
                return Err(format!("measure `{}` is defined twice", m.name));
            }
            m.validate()?;
        }
        let t = self.measure(&self.threshold.measure).ok_or_else(|| {
            format!(
                "threshold measure `{}` is not defined",
                self.threshold.measure
            )
        })?;
        if !matches!(t.func, MeasureFn::Dcount | MeasureFn::Count) {
            return Err(format!(
                "threshold measure `{}` must be a count or dcount",
                t.name
            ));
        }
        for c in &self.require {
            if self.measure(&c.measure).is_none() {
                return Err(format!("`require` uses undefined measure `{}`", c.measure));
            }
        }
        for arm in &self.severity {
            for c in &arm.any {
                if self.measure(&c.measure).is_none() {
                    return Err(format!(
                        "severity condition uses undefined measure `{}`",
                        c.measure
                    ));
                }
            }
        }
        if self.severity.last().is_none_or(|a| !a.any.is_empty()) {
            return Err("the last severity arm must have no condition (the default)".into());
        }
        for m in &self.measures {
            for r in [&m.of, &m.num].into_iter().flatten().chain(m.den.iter()) {
                if self.measure(r).is_none() {
                    return Err(format!("measure `{}` refers to undefined `{r}`", m.name));
                }
            }
        }
        Ok(())
    }
}

/// Drops probe rows that belong to a completed sign-in: a row matching
/// `where` (e.g. an MFA interrupt) followed, for the same `field` value and
/// key, by a confirm event (e.g. a success) within `within`. Interactive
/// users hit MFA interrupts all day; an attacker's probes are not completed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// Rows that may be completed.
    #[serde(rename = "where")]
    pub filter: Predicate,
    /// Identity field matched between the row and the confirm event.
    pub field: Field,
    /// Compare the identity case-insensitively.
    #[serde(default)]
    pub lower: bool,
    /// How long after the row the completion may come.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub within: Duration,
}

/// Window kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// One evaluation at `now`: events with `time > now - length` (KQL
    /// `TimeGenerated > ago(length)`, events after `now` included).
    Lookback,
    /// Every span of `length` over the whole input; overlapping qualifying
    /// windows of one key merge into one episode.
    Sliding,
    /// Fixed buckets of `length` aligned to the Unix epoch (KQL
    /// `bin(TimeGenerated, length)`): each bucket of a key is evaluated on
    /// its own and gives at most one finding; with a `baseline`, a bucket
    /// must also stand out from the key's earlier buckets.
    Tumbling,
}

/// A rule's window.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Lookback, sliding or tumbling.
    pub kind: WindowKind,
    /// Window (bucket) length.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub length: Duration,
    /// Tumbling windows only: compare each bucket with the key's own
    /// earlier buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

/// A tumbling rule's baseline: bucket `b` of a key qualifies only when its
/// threshold measure `v` is above `mean + sigmas × stddev` of the same
/// measure over the key's previous `history / length` buckets (population
/// standard deviation; buckets without events count as 0). The history
/// starts at the bucket of the first event of the rule's kinds in the input
/// (any result, whether or not it matches `where`), so a quiet input still
/// has a baseline of zeros; a bucket with fewer than `min_history / length`
/// buckets of history is not evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// How far back the baseline reaches.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub history: Duration,
    /// The least history a bucket needs to be evaluated.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub min_history: Duration,
    /// Standard deviations above the mean.
    pub sigmas: f64,
}

impl Baseline {
    /// History buckets (`history / length`).
    pub fn buckets(&self, length: Duration) -> u64 {
        self.history.as_secs() / length.as_secs().max(1)
    }

    /// Least history buckets (`min_history / length`).
    pub fn min_buckets(&self, length: Duration) -> u64 {
        self.min_history.as_secs() / length.as_secs().max(1)
    }

    fn validate(&self, length: Duration) -> Result<(), String> {
        let l = length.as_secs().max(1);
        if !self.history.as_secs().is_multiple_of(l)
            || !self.min_history.as_secs().is_multiple_of(l)
        {
            return Err(
                "`baseline.history` and `min_history` must be whole multiples of the bucket length"
                    .into(),
            );
        }
        if self.history.as_secs() < l {
            return Err("`baseline.history` must be at least one bucket".into());
        }
        if self.min_history > self.history {
            return Err("`baseline.min_history` cannot exceed `history`".into());
        }
        if self.buckets(length) > 100_000 {
            return Err("`baseline.history` spans more than 100,000 buckets".into());
        }
        if !(self.sigmas.is_finite() && self.sigmas >= 0.0) {
            return Err("`baseline.sigmas` must be a number of at least 0".into());
        }
        Ok(())
    }
}

/// Regrouping of a tumbling bucket by shared values: within each bucket of
/// a key, every `by` value (e.g. an account) gets the set of distinct
/// `collect` values (e.g. source addresses) it was seen with; `by` values
/// with at least `min` of them are grouped by that exact set, and each set
/// is one group (its events: those of its `by` values). This links sources
/// that probed the same target list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pivot {
    /// The field whose values are regrouped (compared lower-cased when
    /// `lower`).
    pub by: Field,
    /// Compare `by` values case-insensitively.
    #[serde(default)]
    pub lower: bool,
    /// The field whose set of values forms the new group key.
    pub collect: Field,
    /// Least number of distinct `collect` values a `by` value needs.
    pub min: u64,
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    crate::parse_duration(&s).map_err(serde::de::Error::custom)
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::format_duration(*d))
}

/// A condition on one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    /// Exact, case-sensitive membership (KQL `in`).
    In(Field, Vec<String>),
    /// Case-insensitive membership (KQL `in~`).
    InCi(Field, Vec<String>),
    /// Case-insensitive (ASCII letters) substring, any of (KQL `contains`).
    Contains(Field, Vec<String>),
    /// Present and not empty (KQL `isnotempty`).
    NotEmpty(Field),
    /// At least one holds.
    Any(Vec<Predicate>),
    /// All hold.
    All(Vec<Predicate>),
    /// Negation.
    Not(Box<Predicate>),
}

impl Predicate {
    /// Evaluates the predicate. With `missing_as_empty`, an absent field is
    /// the empty string (KQL semantics); otherwise an absent field fails
    /// every positive test.
    pub fn eval(&self, ev: &Event, missing_as_empty: bool) -> bool {
        let get = |f: &Field| match ev.get(*f) {
            Some(v) => Some(v),
            None if missing_as_empty => Some(""),
            None => None,
        };
        match self {
            Predicate::In(f, vals) => get(f).is_some_and(|v| vals.iter().any(|x| x == v)),
            Predicate::InCi(f, vals) => get(f).is_some_and(|v| vals.iter().any(|x| eq_ci(x, v))),
            Predicate::Contains(f, subs) => get(f).is_some_and(|v| {
                let lv = v.to_ascii_lowercase();
                subs.iter().any(|s| lv.contains(&s.to_ascii_lowercase()))
            }),
            Predicate::NotEmpty(f) => ev.get(*f).is_some_and(|v| !v.is_empty()),
            Predicate::Any(ps) => ps.iter().any(|p| p.eval(ev, missing_as_empty)),
            Predicate::All(ps) => ps.iter().all(|p| p.eval(ev, missing_as_empty)),
            Predicate::Not(p) => !p.eval(ev, missing_as_empty),
        }
    }

    /// Three-valued evaluation over partly known fields (see
    /// [`Rule::may_use`]): `Some(result)` when the known fields decide it,
    /// `None` when it depends on a field not looked at.
    pub fn eval_partial<'v>(
        &self,
        known: &dyn Fn(Field) -> Option<Option<&'v str>>,
        missing_as_empty: bool,
    ) -> Option<bool> {
        let get = |f: &Field| -> Option<Option<&'v str>> {
            known(*f).map(|v| match v {
                Some(v) => Some(v),
                None if missing_as_empty => Some(""),
                None => None,
            })
        };
        match self {
            Predicate::In(f, vals) => {
                get(f).map(|v| v.is_some_and(|v| vals.iter().any(|x| x == v)))
            }
            Predicate::InCi(f, vals) => {
                get(f).map(|v| v.is_some_and(|v| vals.iter().any(|x| eq_ci(x, v))))
            }
            Predicate::Contains(f, subs) => get(f).map(|v| {
                v.is_some_and(|v| {
                    let lv = v.to_ascii_lowercase();
                    subs.iter().any(|s| lv.contains(&s.to_ascii_lowercase()))
                })
            }),
            Predicate::NotEmpty(f) => known(*f).map(|v| v.is_some_and(|v| !v.is_empty())),
            Predicate::Any(ps) => {
                let mut unknown = false;
                for p in ps {
                    match p.eval_partial(known, missing_as_empty) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Predicate::All(ps) => {
                let mut unknown = false;
                for p in ps {
                    match p.eval_partial(known, missing_as_empty) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            Predicate::Not(p) => p.eval_partial(known, missing_as_empty).map(|b| !b),
        }
    }

    /// Every field the predicate reads.
    pub fn fields(&self, out: &mut Vec<Field>) {
        match self {
            Predicate::In(f, _)
            | Predicate::InCi(f, _)
            | Predicate::Contains(f, _)
            | Predicate::NotEmpty(f) => out.push(*f),
            Predicate::Any(ps) | Predicate::All(ps) => ps.iter().for_each(|p| p.fields(out)),
            Predicate::Not(p) => p.fields(out),
        }
    }
}

/// KQL `in~` / `=~`: case-insensitive for ASCII letters only ("case-insensitive
/// operators are currently supported only for ASCII-text").
fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The flat YAML form of a predicate.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPredicate {
    field: Option<Field>,
    #[serde(rename = "in", default, deserialize_with = "de_strings_opt")]
    in_: Option<Vec<String>>,
    #[serde(default, deserialize_with = "de_strings_opt")]
    in_ci: Option<Vec<String>>,
    #[serde(default, deserialize_with = "de_strings_opt")]
    contains: Option<Vec<String>>,
    not_empty: Option<bool>,
    any: Option<Vec<Predicate>>,
    all: Option<Vec<Predicate>>,
    not: Option<Box<Predicate>>,
}

impl<'de> Deserialize<'de> for Predicate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = RawPredicate::deserialize(d)?;
        let ops = [
            r.in_.is_some(),
            r.in_ci.is_some(),
            r.contains.is_some(),
            r.not_empty.is_some(),
            r.any.is_some(),
            r.all.is_some(),
            r.not.is_some(),
        ];
        if ops.iter().filter(|x| **x).count() != 1 {
            return Err(D::Error::custom(
                "a condition needs exactly one of in, in_ci, contains, not_empty, any, all, not",
            ));
        }
        let need_field = || {
            r.field
                .ok_or_else(|| D::Error::custom("this condition needs `field`"))
        };
        Ok(if let Some(v) = r.in_ {
            Predicate::In(need_field()?, v)
        } else if let Some(v) = r.in_ci {
            Predicate::InCi(need_field()?, v)
        } else if let Some(v) = r.contains {
            Predicate::Contains(need_field()?, v)
        } else if let Some(b) = r.not_empty {
            if !b {
                return Err(D::Error::custom(
                    "write `not: {field: …, not_empty: true}` instead of not_empty: false",
                ));
            }
            Predicate::NotEmpty(need_field()?)
        } else if let Some(v) = r.any {
            Predicate::Any(v)
        } else if let Some(v) = r.all {
            Predicate::All(v)
        } else if let Some(p) = r.not {
            Predicate::Not(p)
        } else {
            return Err(D::Error::custom("empty condition"));
        })
    }
}

/// Accepts a list of strings or numbers (numbers become their decimal text).
fn de_strings_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let v = Vec::<serde_json::Value>::deserialize(d)?;
    v.into_iter()
        .map(|x| match x {
            serde_json::Value::String(s) => Ok(s),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            other => Err(serde::de::Error::custom(format!(
                "expected a string or number in the list, found {other}"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureFn {
    /// Rows (after dedup).
    Count,
    /// Distinct values of `field`.
    Dcount,
    /// Rows matching `where`.
    CountIf,
    /// Distinct values of `field` among rows matching `where`.
    DcountIf,
    /// Distinct values of `field`, first seen first, at most `cap`.
    Set,
    /// `set` over rows matching `where`.
    SetIf,
    /// Values of `field` (identities) that are confirmed: probe rows
    /// matching `where`, or confirm events of the same key for an identity
    /// that was probed (at or after the episode start, within one window
    /// after its end).
    Confirmed,
    /// A constant.
    Const,
    /// KQL `datetime_diff('minute', last, first)`: minute boundaries crossed.
    DurationMinutes,
    /// `round(of / iff(duration_minutes == 0, 1, duration_minutes), 2)`.
    Rate,
    /// `num / sum(den)`, rounded to 4 digits; 0 when the denominator is 0.
    Ratio,
    /// Labels a ratio measure `of`: `value` maps labels to bounds, e.g.
    /// `{enumeration: 0.8, spray: 0.2}` → `enumeration` when the ratio is at
    /// least 0.8, `spray` when at most 0.2, otherwise `mixed`.
    Classify,
    /// The largest number of distinct `field` values for any one value of
    /// `per` (e.g. the most accounts any single member IP probed).
    MaxPer,
    /// Details of the sign-ins that confirmed `confirmed` identities:
    /// account, time, source, code, app (at most `cap`).
    ConfirmedSignins,
    /// Tumbling rules with a baseline: the mean of the threshold measure
    /// over the history buckets (rounded to 2 digits).
    BaselineMean,
    /// Tumbling rules with a baseline: the population standard deviation
    /// of the threshold measure over the history buckets (2 digits).
    BaselineStddev,
    /// Tumbling rules with a baseline: how many history buckets the
    /// baseline had.
    BaselineBuckets,
}

/// One named aggregate.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// Output name (a finding field).
    pub name: String,
    /// Function.
    #[serde(rename = "fn")]
    pub func: MeasureFn,
    /// Field aggregated.
    #[serde(default)]
    pub field: Option<Field>,
    /// Row condition for the `*_if` functions and `confirmed`.
    #[serde(rename = "where", default)]
    pub filter: Option<Predicate>,
    /// Maximum list size for sets.
    #[serde(default)]
    pub cap: Option<usize>,
    /// Compare and report values lower-cased (case-insensitive identities).
    #[serde(default)]
    pub lower: bool,
    /// Constant value.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// Measure a rate is computed of.
    #[serde(default)]
    pub of: Option<String>,
    /// Ratio numerator measure.
    #[serde(default)]
    pub num: Option<String>,
    /// Ratio denominator measures (summed).
    #[serde(default)]
    pub den: Vec<String>,
    /// Grouping field of `max_per`.
    #[serde(default)]
    pub per: Option<Field>,
    /// `confirmed`: a confirm event counts for any identity during the
    /// episode, not only for identities that were probed (kerbrute's spray
    /// leaves only a TGT success for the account whose password worked).
    #[serde(default)]
    pub any_identity: bool,
}

impl Measure {
    fn validate(&self) -> Result<(), String> {
        use MeasureFn::*;
        let needs_field = matches!(
            self.func,
            Dcount | DcountIf | Set | SetIf | Confirmed | ConfirmedSignins | MaxPer
        );
        if self.func == MaxPer && self.per.is_none() {
            return Err(format!("measure `{}` needs `per`", self.name));
        }
        if self.func == Classify
            && (self.of.is_none() || !matches!(self.value, Some(serde_json::Value::Object(_))))
        {
            return Err(format!(
                "measure `{}` needs `of` and a `value` map of label bounds",
                self.name
            ));
        }
        let needs_where = matches!(self.func, CountIf | DcountIf | SetIf);
        if needs_field && self.field.is_none() {
            return Err(format!("measure `{}` needs `field`", self.name));
        }
        if needs_where && self.filter.is_none() {
            return Err(format!("measure `{}` needs `where`", self.name));
        }
        if self.func == Const && self.value.is_none() {
            return Err(format!("measure `{}` needs `value`", self.name));
        }
        if self.func == Rate && self.of.is_none() {
            return Err(format!("measure `{}` needs `of`", self.name));
        }
        if self.func == Ratio && (self.num.is_none() || self.den.is_empty()) {
            return Err(format!("measure `{}` needs `num` and `den`", self.name));
        }
        Ok(())
    }
}

/// A group fires when `measure >= gte`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// A count or dcount measure.
    pub measure: String,
    /// Minimum value.
    pub gte: u64,
}

/// `measure >= gte` and, when given, `measure <= lte` (sets compare their
/// size).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Measure name.
    pub measure: String,
    /// Minimum value (default 0: every measure is non-negative).
    #[serde(default)]
    pub gte: f64,
    /// Maximum value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
}

impl Condition {
    /// True when `v` satisfies the condition.
    pub fn holds(&self, v: f64) -> bool {
        v >= self.gte && self.lte.is_none_or(|l| v <= l)
    }
}

/// One rung of the severity ladder: `level` when any condition holds (an
/// arm without conditions always holds).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityArm {
    /// Severity.
    pub level: Severity,
    /// Conditions, OR-ed.
    #[serde(default)]
    pub any: Vec<Condition>,
}
