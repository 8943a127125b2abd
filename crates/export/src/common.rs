//! Shared lowering: the compile context (rule + mapping + warnings), the
//! token table (`Dialect`) that prints predicates, and helpers used by every
//! target printer.

use crate::escape::comment_text;
use crate::mapping::{FieldMap, FieldType, KindMap, TableMap, mapping};
use crate::{ExportError, Profile, Target};
use idrecon_core::{EventKind, Field};
use idrecon_rules::{
    Condition, Measure, MeasureFn, Pivot, Predicate, Rule, SeverityArm, WindowKind,
};
use std::collections::BTreeSet;

/// Scheduling used to approximate a sliding window by repeated lookback
/// searches (seconds).
pub(crate) const RUN_EVERY_SECS: u64 = 600;

/// Compile context.
pub(crate) struct Cx<'a> {
    pub rule: &'a Rule,
    pub target: Target,
    pub profile: Profile,
    pub kind: &'a KindMap,
    pub warnings: std::cell::RefCell<Vec<String>>,
}

impl<'a> Cx<'a> {
    pub fn new(rule: &'a Rule, target: Target, profile: Profile) -> Result<Self, ExportError> {
        let map = mapping(target)?;
        let kinds: BTreeSet<EventKind> = rule.kinds.iter().copied().collect();
        if kinds.len() != 1 {
            return Err(ExportError::Unsupported {
                rule: rule.id.clone(),
                target,
                message: "a rule must read exactly one event kind to be exported".into(),
            });
        }
        let k = rule.kinds[0].as_str();
        let kind = map.kinds.get(k).ok_or_else(|| ExportError::Unmapped {
            rule: rule.id.clone(),
            target,
            what: format!("event kind `{k}`"),
        })?;
        let cx = Cx {
            rule,
            target,
            profile,
            kind,
            warnings: Default::default(),
        };
        if let Some(c) = &rule.completed
            && target != Target::Kql
        {
            cx.warn(format!(
                "rows that a completing event follows within {}s for the same {} and source (completed MFA interrupts) are not excluded here as the engine excludes them: expect extra results on addresses where many users complete MFA",
                c.within.as_secs(),
                c.field.name()
            ));
        }
        Ok(cx)
    }

    pub fn seed(&self) -> bool {
        self.profile == Profile::Seed
    }

    pub fn sliding(&self) -> bool {
        self.rule.window.kind == WindowKind::Sliding
    }

    /// True for rules evaluated window by window (sliding episodes or
    /// tumbling buckets) rather than once at `now`.
    pub fn per_window(&self) -> bool {
        self.rule.window.kind != WindowKind::Lookback
    }

    /// Epoch-aligned tumbling buckets (with an optional baseline or pivot).
    pub fn tumbling(&self) -> bool {
        self.rule.window.kind == WindowKind::Tumbling
    }

    /// `(every, period)` in seconds: how often a scheduled search runs and
    /// how far back it reads (the same numbers as the deployment packages).
    pub fn schedule(&self) -> (u64, u64) {
        crate::package::schedule_for(self.rule, self.target)
    }

    /// Tumbling rules: the comment line that says which bucket a run
    /// evaluates and how to schedule it (not a limitation).
    pub fn tumbling_note(&self) -> Option<String> {
        if !self.tumbling() {
            return None;
        }
        let w = dur(self.rule.window.length.as_secs());
        let (every, period) = self.schedule();
        let base = self
            .rule
            .window
            .baseline
            .filter(|_| baseline_computed(self.target))
            .map(|b| {
                format!(
                    ", with the {} buckets before it as its baseline",
                    b.buckets(self.rule.window.length)
                )
            })
            .unwrap_or_default();
        Some(format!(
            "Tumbling {w} buckets aligned to the Unix epoch (UTC). Run every {} over the last {}: each run evaluates the last complete bucket{base}; start runs a few minutes after the bucket boundary so that late events are indexed",
            dur(every),
            dur(period)
        ))
    }

    pub fn unsupported(&self, message: impl Into<String>) -> ExportError {
        ExportError::Unsupported {
            rule: self.rule.id.clone(),
            target: self.target,
            message: message.into(),
        }
    }

    /// The platform field of a canonical field.
    pub fn field(&self, f: Field) -> Result<&'a FieldMap, ExportError> {
        self.kind
            .fields
            .get(f.name())
            .ok_or_else(|| ExportError::Unmapped {
                rule: self.rule.id.clone(),
                target: self.target,
                what: format!(
                    "field `{}` of kind `{}`",
                    f.name(),
                    self.rule.kinds[0].as_str()
                ),
            })
    }

    /// The platform name of a canonical field.
    pub fn name(&self, f: Field) -> Result<&'a str, ExportError> {
        Ok(self.field(f)?.name.as_str())
    }

    /// The tables the rule reads (its `tables`, or every mapped table of
    /// its kind), in rule order.
    pub fn tables(&self) -> Result<Vec<(&'a str, &'a TableMap)>, ExportError> {
        if self.rule.tables.is_empty() {
            return Ok(self
                .kind
                .tables
                .iter()
                .map(|(k, v)| (k.as_str(), v))
                .collect());
        }
        self.rule
            .tables
            .iter()
            .map(|t| {
                self.kind
                    .tables
                    .get_key_value(t.as_str())
                    .map(|(k, v)| (k.as_str(), v))
                    .ok_or_else(|| ExportError::Unmapped {
                        rule: self.rule.id.clone(),
                        target: self.target,
                        what: format!("table `{t}`"),
                    })
            })
            .collect()
    }

    /// Every canonical field the rule reads (filter, confirm, key, dedup,
    /// measures), deduplicated, in first-use order.
    pub fn used_fields(&self) -> Vec<Field> {
        let mut v = Vec::new();
        for p in &self.rule.filter {
            p.fields(&mut v);
        }
        if let Some(c) = &self.rule.confirm {
            c.fields(&mut v);
        }
        v.extend(self.rule.key.iter().copied());
        if let Some(p) = &self.rule.pivot {
            v.push(p.by);
            v.push(p.collect);
        }
        v.extend(self.rule.dedup.iter().copied());
        for m in &self.rule.measures {
            if let Some(p) = &m.filter {
                p.fields(&mut v);
            }
            v.extend(m.field);
        }
        let mut seen = BTreeSet::new();
        v.retain(|f| seen.insert(*f));
        v
    }

    /// Checks that every used field is mapped (so errors name the field)
    /// and records the mapping's approximation warnings.
    pub fn check_fields(&mut self) -> Result<(), ExportError> {
        for f in self.used_fields() {
            if let Some(w) = &self.field(f)?.warn {
                let w = format!("{}: {w}", f.name());
                self.warn(w);
            }
        }
        for m in &self.rule.measures {
            if let Some(w) = self.not_computed(m) {
                self.warn(w);
            }
        }
        if self.rule.key_lower
            && !matches!(
                self.target,
                Target::Kql
                    | Target::Spl
                    | Target::Esql
                    | Target::Sumo
                    | Target::Logscale
                    | Target::Yaral
            )
        {
            self.warn("group-by values are compared as written, not lower-cased".to_string());
        }
        Ok(())
    }

    /// True when the measure is computed by this target.
    pub fn has(&self, name: &str) -> bool {
        self.rule.measure(name).is_some_and(|m| self.computed(m))
    }

    /// True when this target computes the measure (see [`Cx::not_computed`]).
    pub fn computed(&self, m: &Measure) -> bool {
        self.not_computed(m).is_none()
    }

    /// Why this target does not compute a measure (`None`: it does).
    pub fn not_computed(&self, m: &Measure) -> Option<String> {
        let generic = || {
            format!(
                "measure `{}` ({}) is not computed in {}; conditions on it are left out",
                m.name,
                fn_name(m.func),
                self.target
            )
        };
        if self.target == Target::Kql {
            // KQL computes every measure of a sliding or tumbling rule.
            return (!supported(self.target, m.func, self.per_window())).then(generic);
        }
        if self.target == Target::Sigma {
            return (!supported(self.target, m.func, self.sliding())).then(generic);
        }
        let pivot_carry = self.rule.pivot.as_ref().map(|_| carry(self.rule, m));
        let two_stage = matches!(self.target, Target::Esql | Target::Sumo | Target::Logscale);
        if m.func == MeasureFn::MaxPer && two_stage && pivot_carry == Some(Carry::Accounts) {
            // Every account of a pivot group was probed from every source
            // of its set: the most accounts per source is the group's size.
            return None;
        }
        if !supported(self.target, m.func, self.sliding()) {
            return Some(generic());
        }
        match m.func {
            MeasureFn::BaselineMean | MeasureFn::BaselineStddev | MeasureFn::BaselineBuckets
                if !baseline_computed(self.target) =>
            {
                return Some(generic());
            }
            MeasureFn::Confirmed if m.filter.is_none() => {
                return Some(format!(
                    "measure `{}` ({}) is not computed in {}: without `where` only later confirming events (successful sign-ins) confirm an account, and they are not joined here; conditions on it are left out",
                    m.name,
                    fn_name(m.func),
                    self.target
                ));
            }
            MeasureFn::Rate | MeasureFn::Ratio | MeasureFn::Classify => {
                let deps = m.of.iter().chain(m.num.iter()).chain(m.den.iter());
                for d in deps {
                    if let Some(dm) = self.rule.measure(d)
                        && !self.computed(dm)
                    {
                        return Some(format!(
                            "measure `{}` ({}) is not computed in {} (it depends on `{d}`, which is not); conditions on it are left out",
                            m.name,
                            fn_name(m.func),
                            self.target
                        ));
                    }
                }
            }
            _ => {}
        }
        if two_stage
            && let Some(c) = pivot_carry
            && (c == Carry::None || (c == Carry::Merge && self.target != Target::Esql))
        {
            return Some(format!(
                "measure `{}` ({}) is not carried through the pivot's second aggregation in {}; conditions on it are left out",
                m.name,
                fn_name(m.func),
                self.target
            ));
        }
        None
    }

    /// Conditions of `require` that this target can test.
    pub fn requires(&self) -> Vec<&'a Condition> {
        self.rule
            .require
            .iter()
            .filter(|c| self.has(&c.measure))
            .collect()
    }

    pub fn warn(&self, w: impl Into<String>) {
        let w = w.into();
        let mut ws = self.warnings.borrow_mut();
        if !ws.contains(&w) {
            ws.push(w);
        }
    }

    /// Adds the standard sliding-window warning for targets that evaluate a
    /// scheduled lookback (`range` = window + run interval).
    pub fn warn_sliding_by_schedule(&self) {
        if self.sliding() {
            let w = dur(self.rule.window.length.as_secs());
            let every = dur(RUN_EVERY_SECS);
            let range = dur(self.rule.window.length.as_secs() + RUN_EVERY_SECS);
            self.warn(format!(
                "sliding {w} window approximated: schedule this search every {every} over the last {range}; \
                 every {w} span the engine flags lies inside one run, but a run may also count up to {every} more \
                 and the same source is reported by consecutive runs (suppress repeats per source for {w})"
            ));
        }
    }

    /// Comment lines (without the comment marker) for the query header.
    pub fn header(&self, forbidden: &[&str]) -> Vec<String> {
        let r = self.rule;
        let mut out = vec![
            format!("idrecon rule {} ({} profile): {}", r.id, r.profile, r.title),
            format!("MITRE ATT&CK: {}", r.mitre.join(", ")),
        ];
        for n in &r.notes {
            out.push(format!("Note: {n}"));
        }
        out.into_iter()
            .map(|l| comment_text(&l, forbidden))
            .collect()
    }

    /// Warning lines as comments (without the marker), sanitized.
    pub fn warning_lines(&self, forbidden: &[&str]) -> Vec<String> {
        self.warnings
            .borrow()
            .iter()
            .map(|w| comment_text(&format!("LIMITATION: {w}"), forbidden))
            .collect()
    }
}

/// Duration as `<n><unit>` with the largest exact unit (d, h, m, s).
pub(crate) fn dur(secs: u64) -> String {
    if secs > 0 && secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// `snake_case` → `PascalCase`.
pub(crate) fn pascal(s: &str) -> String {
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The measure that the threshold applies to.
pub(crate) fn threshold_measure(rule: &Rule) -> Option<&Measure> {
    rule.measure(&rule.threshold.measure)
}

/// True when a measure is a list (severity compares its length).
pub(crate) fn is_list(m: &Measure) -> bool {
    matches!(
        m.func,
        MeasureFn::Set | MeasureFn::SetIf | MeasureFn::Confirmed
    ) || (m.func == MeasureFn::Const && m.value.as_ref().is_some_and(|v| v.is_array()))
}

/// Severity name as the seed writes it (`Critical`, …).
pub(crate) fn level_name(arm: &SeverityArm) -> &'static str {
    arm.level.seed_name()
}

/// A token table for printing predicates in one language.
pub(crate) struct Dialect {
    /// Conjunction keyword (with spaces).
    pub and: &'static str,
    /// Disjunction keyword (with spaces).
    pub or: &'static str,
    /// Negation of a parenthesized expression.
    pub not: fn(&str) -> String,
    /// Exact, case-sensitive membership: field, literals (already escaped).
    pub is_in: fn(&str, &[String]) -> String,
    /// Case-insensitive membership: field, lower-cased raw values (the
    /// dialect quotes them).
    pub is_in_ci: fn(&str, &[String]) -> String,
    /// Case-insensitive substring: field, raw (unescaped) value.
    pub contains: fn(&str, &str) -> String,
    /// Present and non-empty.
    pub not_empty: fn(&str) -> String,
    /// String literal.
    pub quote: fn(&str) -> String,
}

/// Prints a predicate with a dialect; `field_ref` gives the expression that
/// reads a canonical field.
pub(crate) fn print_pred(
    cx: &Cx<'_>,
    d: &Dialect,
    p: &Predicate,
    field_ref: &dyn Fn(Field) -> Result<String, ExportError>,
) -> Result<String, ExportError> {
    let lits = |f: Field, vals: &[String], lower: bool| -> Result<Vec<String>, ExportError> {
        let fm = cx.field(f)?;
        vals.iter()
            .map(|v| match fm.ty {
                FieldType::Int => v.trim().parse::<i64>().map(|n| n.to_string()).map_err(|_| {
                    cx.unsupported(format!(
                        "`{v}` is not an integer but {} is an integer field",
                        f.name()
                    ))
                }),
                FieldType::String => Ok((d.quote)(
                    if lower { v.to_lowercase() } else { v.clone() }.as_str(),
                )),
            })
            .collect()
    };
    Ok(match p {
        Predicate::In(f, vals) | Predicate::InCi(f, vals) => {
            let fm = cx.field(*f)?;
            let ci = matches!(p, Predicate::InCi(..))
                || (fm.case_insensitive && fm.ty == FieldType::String);
            let r = field_ref(*f)?;
            if vals.is_empty() {
                return Err(cx.unsupported(format!("empty value list for {}", f.name())));
            }
            if ci && fm.ty == FieldType::String {
                let raw: Vec<String> = vals.iter().map(|v| v.to_lowercase()).collect();
                (d.is_in_ci)(&r, &raw)
            } else {
                (d.is_in)(&r, &lits(*f, vals, false)?)
            }
        }
        Predicate::Contains(f, subs) => {
            let r = field_ref(*f)?;
            let parts: Vec<String> = subs.iter().map(|s| (d.contains)(&r, s)).collect();
            join_or(d, parts)
        }
        Predicate::NotEmpty(f) => (d.not_empty)(&field_ref(*f)?),
        Predicate::Any(ps) => {
            let parts = ps
                .iter()
                .map(|q| print_pred(cx, d, q, field_ref))
                .collect::<Result<Vec<_>, _>>()?;
            join_or(d, parts)
        }
        Predicate::All(ps) => {
            let parts = ps
                .iter()
                .map(|q| print_pred(cx, d, q, field_ref))
                .collect::<Result<Vec<_>, _>>()?;
            match parts.len() {
                0 => return Err(cx.unsupported("empty `all`")),
                1 => parts.into_iter().next().unwrap_or_default(),
                _ => format!("({})", parts.join(d.and)),
            }
        }
        Predicate::Not(q) => (d.not)(&print_pred(cx, d, q, field_ref)?),
    })
}

fn join_or(d: &Dialect, parts: Vec<String>) -> String {
    match parts.len() {
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(d.or)),
    }
}

/// Fields that are aggregated case-insensitively (`lower: true`) somewhere.
pub(crate) fn lowered_fields(rule: &Rule) -> Vec<Field> {
    let mut v: Vec<Field> = rule
        .measures
        .iter()
        .filter(|m| m.lower)
        .filter_map(|m| m.field)
        .collect();
    let mut seen = BTreeSet::new();
    v.retain(|f| seen.insert(*f));
    v
}

/// Measure functions a target computes.
pub(crate) fn supported(t: Target, f: MeasureFn, sliding: bool) -> bool {
    use MeasureFn::*;
    match t {
        Target::Kql => sliding || !matches!(f, MaxPer | ConfirmedSignins),
        Target::Spl => !matches!(f, ConfirmedSignins),
        Target::Esql | Target::Sumo | Target::Logscale => !matches!(f, MaxPer | ConfirmedSignins),
        Target::Aql | Target::Yaral => {
            !matches!(f, Rate | Ratio | Classify | MaxPer | ConfirmedSignins)
        }
        Target::Sigma => matches!(f, Count | Dcount),
    }
}

/// The rule-file name of a measure function.
pub(crate) fn fn_name(f: MeasureFn) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `(label, bound, at_least)` arms of a `classify` measure, then the default
/// label: the first label at or above its bound, the second at or below.
pub(crate) fn classify_arms(m: &Measure) -> Vec<(String, f64, bool)> {
    let mut v = Vec::new();
    if let Some(serde_json::Value::Object(b)) = &m.value {
        for (i, (label, bound)) in b.iter().take(2).enumerate() {
            v.push((label.clone(), bound.as_f64().unwrap_or(0.0), i == 0));
        }
    }
    v
}

/// Prints `measure >= gte [and measure <= lte]` with a target's operators.
pub(crate) fn cond_text(c: &Condition, left: &str, and: &str, num: fn(f64) -> String) -> String {
    let mut s = format!("{left} >= {}", num(c.gte));
    if let Some(l) = c.lte {
        if c.gte <= 0.0 {
            s = format!("{left} <= {}", num(l));
        } else {
            s = format!("{s}{and}{left} <= {}", num(l));
        }
    }
    s
}

/// `PascalCase` → `snake_case`.
pub(crate) fn snake(s: &str) -> String {
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                o.push('_');
            }
            o.push(c.to_ascii_lowercase());
        } else {
            o.push(c);
        }
    }
    o
}

/// A constant measure value as a literal of `target`: strings quoted,
/// lists joined with `,` and quoted, numbers as written, `null` when absent.
pub(crate) fn const_literal(
    target: Target,
    value: Option<&serde_json::Value>,
    null: &str,
) -> String {
    match value {
        Some(serde_json::Value::String(s)) => crate::escape(target, s),
        Some(serde_json::Value::Array(a)) => crate::escape(
            target,
            &a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
        ),
        Some(v) => v.to_string(),
        None => null.to_string(),
    }
}

/// Targets whose tumbling queries compute the baseline (mean and population
/// standard deviation of the earlier buckets); the others apply the floor
/// threshold only.
pub(crate) fn baseline_computed(t: Target) -> bool {
    matches!(
        t,
        Target::Kql | Target::Spl | Target::Esql | Target::Sumo | Target::Logscale
    )
}

/// How a measure survives a pivot's two aggregations (per bucket and `by`
/// value, then per bucket and set; every account of a set was probed from
/// every source of the set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carry {
    /// Additive (`count`, `count_if`): per-account partials are summed.
    Sum,
    /// Distinct `by` values (the accounts), and `max_per(by, per: collect)`:
    /// one row per account.
    Accounts,
    /// Distinct `by` values among rows matching `where`: a per-account flag,
    /// summed.
    AccountsIf,
    /// The set of `by` values.
    AccountList,
    /// The `by` values with a row matching `where` (`set_if`, `confirmed`).
    AccountListIf,
    /// Distinct `collect` values: the size of the set.
    Sources,
    /// The `collect` values: the set itself.
    SourceList,
    /// Distinct values or lists of another field: per-account lists merged
    /// (only where lists can be merged, e.g. ES|QL multivalues).
    Merge,
    /// Computed after the second aggregation (duration, rate, ratio,
    /// classification, constants).
    Post,
    /// Not computable from per-account partials.
    None,
}

/// How `m` is carried through `rule`'s pivot (see [`Carry`]).
pub(crate) fn carry(rule: &Rule, m: &Measure) -> Carry {
    let Some(p) = &rule.pivot else {
        return Carry::None;
    };
    let is_by = |m: &Measure| m.field == Some(p.by) && m.lower == p.lower;
    let is_collect = |m: &Measure| m.field == Some(p.collect) && !m.lower;
    match m.func {
        MeasureFn::Count | MeasureFn::CountIf => Carry::Sum,
        MeasureFn::Dcount if is_by(m) => Carry::Accounts,
        MeasureFn::Dcount if is_collect(m) => Carry::Sources,
        MeasureFn::DcountIf if is_by(m) => Carry::AccountsIf,
        MeasureFn::Set if is_by(m) => Carry::AccountList,
        MeasureFn::Set if is_collect(m) => Carry::SourceList,
        MeasureFn::SetIf if is_by(m) => Carry::AccountListIf,
        MeasureFn::Confirmed if is_by(m) && m.filter.is_some() => Carry::AccountListIf,
        MeasureFn::Dcount | MeasureFn::DcountIf | MeasureFn::Set | MeasureFn::SetIf => Carry::Merge,
        MeasureFn::MaxPer if is_by(m) && m.per == Some(p.collect) => Carry::Accounts,
        MeasureFn::DurationMinutes
        | MeasureFn::Rate
        | MeasureFn::Ratio
        | MeasureFn::Classify
        | MeasureFn::Const => Carry::Post,
        MeasureFn::MaxPer
        | MeasureFn::Confirmed
        | MeasureFn::ConfirmedSignins
        | MeasureFn::BaselineMean
        | MeasureFn::BaselineStddev
        | MeasureFn::BaselineBuckets => Carry::None,
    }
}

/// The name of a pivot's group key column: `<collect>_set` (the engine's
/// finding key).
pub(crate) fn pivot_key(p: &Pivot) -> String {
    format!("{}_set", p.collect.name())
}
