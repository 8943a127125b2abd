//! Run state: events pushed in, findings out.

use crate::Engine;
use crate::measure::{MVal, compute, value_of};
use idrecon_core::finding::Evidence;
use idrecon_core::text::normalize_user;
use idrecon_core::{Event, Finding, PeakWindow, Severity, Timestamp};
use idrecon_rules::{MeasureFn, Rule, WindowKind};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// Per-rule counters of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RuleRunStats {
    /// Rule id.
    pub rule: String,
    /// Events that passed the rule's `where`.
    pub matched: u64,
    /// Of those, duplicate rows collapsed by `dedup`.
    pub duplicates: u64,
    /// Events inside the lookback window (lookback rules).
    pub in_window: u64,
    /// Distinct keys.
    pub groups: u64,
    /// Findings produced.
    pub findings: u64,
}

/// What a run did, besides its findings.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunSummary {
    /// Evaluation time used by lookback rules.
    #[serde(serialize_with = "ser_ts_opt")]
    pub now: Option<Timestamp>,
    /// Events pushed.
    pub events: u64,
    /// Per-rule counters.
    pub rules: Vec<RuleRunStats>,
}

fn ser_ts_opt<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_string()),
        None => s.serialize_none(),
    }
}

/// Mutable state of one evaluation. Push events in any order, then finish.
#[derive(Debug)]
pub struct Run<'e> {
    engine: &'e Engine,
    files: Vec<String>,
    events: Vec<Event>,
    probes: Vec<Vec<u32>>,
    confirms: Vec<Vec<u32>>,
    max_time: Option<Timestamp>,
    pushed: u64,
}

type Key = Vec<Option<String>>;

impl<'e> Run<'e> {
    pub(crate) fn new(engine: &'e Engine, files: Vec<String>) -> Self {
        let n = engine.rules.len();
        Run {
            engine,
            files,
            events: Vec::new(),
            probes: vec![Vec::new(); n],
            confirms: vec![Vec::new(); n],
            max_time: None,
            pushed: 0,
        }
    }

    /// Adds one event. Events no rule reads are counted and dropped.
    pub fn push(&mut self, mut ev: Event) {
        self.pushed += 1;
        ev.derive();
        if self.max_time.is_none_or(|m| ev.time > m) {
            self.max_time = Some(ev.time);
        }
        let idx = self.events.len() as u32;
        let mut keep = false;
        for (i, rule) in self.engine.rules.iter().enumerate() {
            if !rule.reads(&ev) {
                continue;
            }
            if rule.matches(&ev) {
                self.probes[i].push(idx);
                keep = true;
            } else if rule.confirms(&ev) {
                self.confirms[i].push(idx);
                keep = true;
            }
        }
        if keep {
            self.events.push(ev);
        }
    }

    /// Evaluates every rule and returns the findings in output order, with
    /// the run summary.
    pub fn finish(self) -> (Vec<Finding>, RunSummary) {
        let now = self.engine.now.or(self.max_time);
        let mut findings = Vec::new();
        let mut stats = Vec::new();
        for (i, rule) in self.engine.rules.iter().enumerate() {
            let mut st = RuleRunStats {
                rule: rule.id.clone(),
                ..Default::default()
            };
            let f = self.eval_rule(rule, &self.probes[i], &self.confirms[i], now, &mut st);
            st.findings = f.len() as u64;
            findings.extend(f);
            stats.push(st);
        }
        sort_findings(&mut findings, self.engine.is_seed());
        (
            findings,
            RunSummary {
                now,
                events: self.pushed,
                rules: stats,
            },
        )
    }

    fn key_of(&self, rule: &Rule, ev: &Event) -> Key {
        rule.key
            .iter()
            .map(|f| value_of(ev, *f, rule.key_lower, rule.missing_as_empty))
            .collect()
    }

    fn eval_rule(
        &self,
        rule: &Rule,
        probes: &[u32],
        confirms: &[u32],
        now: Option<Timestamp>,
        st: &mut RuleRunStats,
    ) -> Vec<Finding> {
        st.matched = probes.len() as u64;
        // Dedup (order-independent: the kept row of a duplicate set is the
        // earliest by canonical order).
        let mut evs: Vec<&Event> = probes.iter().map(|&i| &self.events[i as usize]).collect();
        evs.sort_by(|a, b| canonical_cmp(a, b));
        if !rule.dedup.is_empty() {
            let mut seen: HashSet<Vec<String>> = HashSet::new();
            let before = evs.len();
            evs.retain(|e| {
                let k: Option<Vec<String>> = rule
                    .dedup
                    .iter()
                    .map(|f| e.get(*f).map(normalize_user))
                    .collect();
                match k {
                    Some(k) => seen.insert(k),
                    None => true,
                }
            });
            st.duplicates = (before - evs.len()) as u64;
        }
        let window = rule.window.length;
        if rule.window.kind == WindowKind::Lookback {
            let Some(now) = now else { return Vec::new() };
            let cutoff = sub(now, window);
            evs.retain(|e| e.time > cutoff);
            st.in_window = evs.len() as u64;
        }
        // Group, keeping canonical (time) order inside each group.
        let mut groups: BTreeMap<Key, Vec<&Event>> = BTreeMap::new();
        for e in evs {
            groups.entry(self.key_of(rule, e)).or_default().push(e);
        }
        let mut conf: HashMap<Key, Vec<&Event>> = HashMap::new();
        for &i in confirms {
            let e = &self.events[i as usize];
            conf.entry(self.key_of(rule, e)).or_default().push(e);
        }
        st.groups = groups.len() as u64;
        let mut out = Vec::new();
        for (key, g) in &groups {
            let c: &[&Event] = conf.get(key).map_or(&[], Vec::as_slice);
            match rule.window.kind {
                WindowKind::Lookback => {
                    let last = g.last().map_or(Timestamp::UNIX_EPOCH, |e| e.time);
                    let m = compute(rule, g, c, add(last, window));
                    if threshold_met(rule, &m) {
                        out.push(self.finding(rule, key, g, m, None, None));
                    }
                }
                WindowKind::Sliding => {
                    for ep in episodes(rule, g, window) {
                        let evs = &g[ep.start..=ep.end];
                        let last = evs.last().map_or(Timestamp::UNIX_EPOCH, |e| e.time);
                        let m = compute(rule, evs, c, add(last, window));
                        if !requirements_met(rule, &m) {
                            continue;
                        }
                        let peak = PeakWindow {
                            start: g[ep.peak_start].time,
                            end: g[ep.peak_end].time,
                            unique_usernames: ep.peak_value,
                            total_failures: (ep.peak_end - ep.peak_start + 1) as u64,
                        };
                        out.push(self.finding(rule, key, evs, m, Some(peak), Some(ep.crossed_at)));
                    }
                }
            }
        }
        out
    }

    fn finding(
        &self,
        rule: &Rule,
        key: &Key,
        evs: &[&Event],
        m: BTreeMap<String, MVal>,
        peak: Option<PeakWindow>,
        crossed: Option<Timestamp>,
    ) -> Finding {
        let first = evs.first().map_or(Timestamp::UNIX_EPOCH, |e| e.time);
        let last = evs.last().map_or(Timestamp::UNIX_EPOCH, |e| e.time);
        let severity = severity_of(rule, &m);
        let int = |n: &str| m.get(n).map_or(0, |v| v.number().max(0.0) as u64);
        let list = |n: &str| match m.get(n) {
            Some(MVal::List(l)) => l.clone(),
            Some(MVal::Json(Value::Array(a))) => a
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let mut key_map = BTreeMap::new();
        let mut extra: BTreeMap<String, Value> = BTreeMap::new();
        let mut app = None;
        for (i, f) in rule.key.iter().enumerate() {
            let v = key[i].clone();
            key_map.insert(f.name().to_string(), v.clone());
            if i == 0 {
                continue;
            }
            if f.name() == "app" {
                app = v;
            } else {
                extra.insert(f.name().to_string(), v.map_or(Value::Null, Value::String));
            }
        }
        if !rule.key.iter().any(|f| f.name() == "app") {
            if let Some(MVal::List(apps)) = m.get("apps") {
                if apps.len() == 1 {
                    app = apps.first().cloned();
                }
            }
        }
        const FIXED: &[&str] = &[
            "unique_usernames",
            "total_failures",
            "username_not_found_count",
            "enum_rate",
            "duration_minutes",
            "user_list",
            "error_codes",
        ];
        for (name, v) in &m {
            if !FIXED.contains(&name.as_str()) {
                extra.insert(name.clone(), v.to_json());
            }
        }
        for (k, v) in &rule.output {
            extra.insert(k.clone(), v.clone());
        }
        if self.engine.is_seed() {
            extra.insert("suspicion_score".into(), Value::from(severity.seed_name()));
        }
        let enum_rate = m.get("enum_rate").map_or(0.0, MVal::number);
        let duration_minutes = m.get("duration_minutes").map_or(0, |v| v.number() as i64);
        let source_ip = key.first().cloned().flatten();
        let id = finding_id(rule, key, first);
        let evidence = evs
            .iter()
            .take(self.engine.evidence)
            .map(|e| Evidence {
                time: e.time,
                user: e.user.clone().or_else(|| e.target_user.clone()),
                result_code: e.result_code.clone().or_else(|| e.activity.clone()),
                app: e.app.clone(),
                user_agent: e.user_agent.clone(),
                file: self
                    .files
                    .get(e.origin.file as usize)
                    .cloned()
                    .unwrap_or_default(),
                record: e.origin.record,
            })
            .collect();
        Finding {
            id,
            detection: rule.id.clone(),
            profile: rule.profile.clone(),
            severity,
            source_ip,
            app,
            first_seen: first,
            last_seen: last,
            detection_time: last,
            unique_usernames: int("unique_usernames"),
            total_failures: int("total_failures"),
            username_not_found_count: int("username_not_found_count"),
            enum_rate,
            duration_minutes,
            user_list: list("user_list"),
            error_codes: list("error_codes"),
            key: key_map,
            extra,
            peak_window: peak,
            threshold_crossed_at: crossed,
            evidence,
        }
    }
}

fn sub(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_sub(jiff::SignedDuration::from_secs(d.as_secs() as i64))
        .unwrap_or(Timestamp::MIN)
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(jiff::SignedDuration::from_secs(d.as_secs() as i64))
        .unwrap_or(Timestamp::MAX)
}

/// Canonical order: time, then content, so that input order never matters.
fn canonical_cmp(a: &Event, b: &Event) -> std::cmp::Ordering {
    a.time
        .cmp(&b.time)
        .then_with(|| a.user.cmp(&b.user))
        .then_with(|| a.target_user.cmp(&b.target_user))
        .then_with(|| a.result_code.cmp(&b.result_code))
        .then_with(|| a.source_ip.cmp(&b.source_ip))
        .then_with(|| a.app.cmp(&b.app))
        .then_with(|| a.result_description.cmp(&b.result_description))
        .then_with(|| a.request_id.cmp(&b.request_id))
        .then_with(|| a.user_agent.cmp(&b.user_agent))
        .then_with(|| a.activity.cmp(&b.activity))
        .then_with(|| a.result_reason.cmp(&b.result_reason))
        .then_with(|| a.table.cmp(b.table))
        .then_with(|| a.origin.cmp(&b.origin))
}

fn threshold_met(rule: &Rule, m: &BTreeMap<String, MVal>) -> bool {
    m.get(&rule.threshold.measure)
        .is_some_and(|v| v.number() >= rule.threshold.gte as f64)
        && requirements_met(rule, m)
}

fn requirements_met(rule: &Rule, m: &BTreeMap<String, MVal>) -> bool {
    rule.require
        .iter()
        .all(|c| m.get(&c.measure).is_some_and(|v| c.holds(v.number())))
}

fn severity_of(rule: &Rule, m: &BTreeMap<String, MVal>) -> Severity {
    for arm in &rule.severity {
        if arm.any.is_empty()
            || arm
                .any
                .iter()
                .any(|c| m.get(&c.measure).is_some_and(|v| c.holds(v.number())))
        {
            return arm.level;
        }
    }
    Severity::Low
}

fn finding_id(rule: &Rule, key: &Key, first: Timestamp) -> String {
    let mut s = format!("{}\u{1f}{}\u{1f}{}", rule.id, rule.profile, first);
    for k in key {
        s.push('\u{1f}');
        s.push_str(k.as_deref().unwrap_or("\u{0}"));
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(s.as_bytes()))
}

/// Output order. Seed: the seed's `order by SuspicionScore asc,
/// UniqueUsernames desc` — a string sort, so Critical, High, Low, Medium.
/// Recommended: severity, then distinct accounts, then time.
fn sort_findings(f: &mut [Finding], seed: bool) {
    f.sort_by(|a, b| {
        let primary = if seed {
            a.severity.seed_name().cmp(b.severity.seed_name())
        } else {
            b.severity.cmp(&a.severity)
        };
        primary
            .then_with(|| b.unique_usernames.cmp(&a.unique_usernames))
            .then_with(|| a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.detection.cmp(&b.detection))
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// One sliding-window episode: index range into the group's events.
struct Episode {
    start: usize,
    end: usize,
    peak_start: usize,
    peak_end: usize,
    peak_value: u64,
    crossed_at: Timestamp,
}

/// Finds the episodes of one key's time-ordered events.
fn episodes(rule: &Rule, g: &[&Event], window: Duration) -> Vec<Episode> {
    let Some(tm) = rule.measure(&rule.threshold.measure) else {
        return Vec::new();
    };
    let dcount_field = (tm.func == MeasureFn::Dcount).then_some(tm.field).flatten();
    let threshold = rule.threshold.gte;
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut left = 0usize;
    let mut i = 0usize;
    let mut eps: Vec<Episode> = Vec::new();
    let val =
        |e: &Event| dcount_field.and_then(|f| value_of(e, f, tm.lower, rule.missing_as_empty));
    while i < g.len() {
        let t = g[i].time;
        let mut j = i;
        while j < g.len() && g[j].time == t {
            if let Some(v) = val(g[j]) {
                *counts.entry(v).or_default() += 1;
            }
            j += 1;
        }
        let right = j - 1;
        let cutoff = sub(t, window);
        while left <= right && g[left].time <= cutoff {
            if let Some(v) = val(g[left]) {
                if let Some(c) = counts.get_mut(&v) {
                    *c -= 1;
                    if *c == 0 {
                        counts.remove(&v);
                    }
                }
            }
            left += 1;
        }
        let value = if dcount_field.is_some() {
            counts.len() as u64
        } else {
            (right + 1 - left) as u64
        };
        if value >= threshold {
            match eps.last_mut() {
                Some(ep) if left <= ep.end => {
                    ep.end = right;
                    if value > ep.peak_value {
                        ep.peak_start = left;
                        ep.peak_end = right;
                        ep.peak_value = value;
                    }
                }
                _ => eps.push(Episode {
                    start: left,
                    end: right,
                    peak_start: left,
                    peak_end: right,
                    peak_value: value,
                    crossed_at: t,
                }),
            }
        }
        i = j;
    }
    eps
}
