//! Run state: events pushed in, findings out.

use crate::Engine;
use crate::bucket::{self, bucket_of, bucket_start};
use crate::confirm::{self, Compact, Confirm, Interner};
use crate::measure::{MVal, compute, round_to, value_of};
use idrecon_core::finding::Evidence;
use idrecon_core::text::normalize_user;
use idrecon_core::{Event, EventKind, Finding, PeakWindow, Severity, Timestamp};
use idrecon_rules::{MeasureFn, Rule, WindowKind};
use serde_json::Value;
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
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
    /// Events dropped by the state cap
    /// ([`EngineBuilder::max_events_per_key`](crate::EngineBuilder::max_events_per_key)).
    pub evicted: u64,
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
    /// Events dropped by the state cap, over all rules (0 without a cap).
    pub evicted: u64,
}

fn ser_ts_opt<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_string()),
        None => s.serialize_none(),
    }
}

/// What changed about a finding during streaming evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateKind {
    /// The threshold was crossed: a new finding.
    Opened,
    /// An open finding changed (severity, counts or exposed accounts).
    Updated,
    /// The episode can no longer grow: final values.
    Closed,
}

/// A finding emitted by [`Run::advance`]. Updates of one episode share the
/// finding's stable `id`; `version` increases with each emission.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingUpdate {
    /// What happened.
    pub update: UpdateKind,
    /// 1 for `opened`, then +1 per emission.
    pub version: u32,
    /// The finding as of this update.
    pub finding: Finding,
}

/// Key values, interned (one copy per distinct value across rules).
type Key = Box<[Option<Arc<str>>]>;

/// A key's events: most keys of a large input hold one (a source with one
/// success), kept without a heap allocation.
type List<T> = SmallVec<[Arc<T>; 1]>;

/// No history (the default of keys that have none).
static NO_HISTORY: BTreeMap<i64, u64> = BTreeMap::new();

/// Pushes between two sweeps of stale lookback probes.
const PRUNE_EVERY: u64 = 1 << 16;

/// Held events from which [`Run::finish`] frees the state on another thread.
const BACKGROUND_DROP: u64 = 100_000;

/// Probes of one key from which duplicates are found by a hash index
/// rather than by searching the list.
const SEEN_FROM: usize = 8;

#[derive(Debug, Default)]
struct KeyState {
    events: List<Event>,
    confirms: List<Confirm>,
    dirty: bool,
    /// What few keys need. Boxed: one pointer in each of the (many) keys
    /// that have none.
    extra: Option<Box<Extra>>,
}

impl KeyState {
    /// The key's baseline history (empty for most).
    fn history(&self) -> &BTreeMap<i64, u64> {
        self.extra.as_ref().map_or(&NO_HISTORY, |x| &x.history)
    }

    /// Evicts the final events (`evicted`) and the held duplicates of the
    /// counted ones among them (`gone`, their dedup keys: [`dedup_keys`]),
    /// which can never count again and must not once the row they
    /// duplicate is gone. Returns (events dropped, duplicates among them).
    fn evict(
        &mut self,
        rule: &Rule,
        evicted: impl Fn(&Event) -> bool,
        gone: &HashSet<Vec<String>>,
    ) -> (usize, u64) {
        let mut dups = 0;
        let dropped = self.retain_events(|e| {
            if evicted(e) {
                return false;
            }
            let dup = !gone.is_empty() && dedup_key(rule, e).is_some_and(|k| gone.contains(&k));
            dups += u64::from(dup);
            !dup
        });
        (dropped, dups)
    }

    /// Keeps the events `keep` accepts and returns how many were dropped.
    /// The duplicate index is forgotten when any was (positions moved), and
    /// `extra` once it holds nothing.
    fn retain_events(&mut self, mut keep: impl FnMut(&Event) -> bool) -> usize {
        let before = self.events.len();
        self.events.retain(|e| keep(e));
        let dropped = before - self.events.len();
        if let Some(x) = &mut self.extra {
            if dropped > 0 {
                x.seen = None;
            }
            if x.history.is_empty() && x.seen.is_none() {
                self.extra = None;
            }
        }
        dropped
    }
}

/// The state of a key beyond its events.
#[derive(Debug, Default)]
struct Extra {
    /// Tumbling rules with a baseline (streaming): the threshold measure of
    /// buckets whose events were evicted, by bucket index.
    history: BTreeMap<i64, u64>,
    /// Rules that collapse duplicate probes as they arrive
    /// ([`collapses`]): the index in `events` of each probe by the hash of
    /// its dedup key and time, once the key holds [`SEEN_FROM`] probes
    /// (smaller lists are searched). Dropped when events are removed ([`KeyState::retain_events`]).
    seen: Option<HashMap<u64, u32, foldhash::fast::FixedState>>,
}

#[derive(Debug, Default)]
struct RuleState {
    groups: HashMap<Key, KeyState, foldhash::fast::RandomState>,
    matched: u64,
    /// Findings of episodes that closed and whose events were evicted.
    closed: Vec<Finding>,
    /// Events dropped by the state cap.
    evicted: u64,
    /// Duplicate probes collapsed as they arrived ([`collapses`]).
    collapsed: u64,
    /// Last emitted digest and version per finding id (streaming).
    emitted: HashMap<String, (String, u32)>,
    /// Tumbling rules with a pivot (streaming): the bucket of the
    /// completion-delayed watermark at the last evaluation. Their findings
    /// change only when a bucket completes, so they are evaluated only
    /// when it moves.
    evaluated_at: Option<i64>,
}

/// Mutable state of one evaluation. Push events in any order, then finish;
/// a streaming caller also calls [`Run::advance`] as its watermark moves.
#[derive(Debug)]
pub struct Run<'e> {
    engine: &'e Engine,
    files: Vec<String>,
    rules: Vec<RuleState>,
    max_time: Option<Timestamp>,
    /// The earliest event time of each kind (tumbling baselines start there).
    first_time: HashMap<EventKind, Timestamp>,
    pushed: u64,
    retained: u64,
    /// Reused buffer of [`Run::push`].
    hits: Vec<(usize, bool, Key)>,
    /// Shared strings of keys and confirmations.
    interner: Interner,
    /// Per rule: whether duplicate probes are collapsed as they arrive
    /// ([`collapses`]).
    collapse: Vec<bool>,
}

impl<'e> Run<'e> {
    pub(crate) fn new(engine: &'e Engine, files: Vec<String>) -> Self {
        Run {
            engine,
            files,
            rules: engine.rules.iter().map(|_| RuleState::default()).collect(),
            max_time: None,
            first_time: HashMap::new(),
            pushed: 0,
            retained: 0,
            hits: Vec::new(),
            interner: Interner::default(),
            collapse: engine
                .rules
                .iter()
                .map(|r| collapses(r) && engine.max_events_per_key.is_none())
                .collect(),
        }
    }

    /// Adds one event. Events no rule reads are counted and dropped.
    pub fn push(&mut self, mut ev: Event) {
        self.pushed += 1;
        self.saw(ev.time, ev.kind);
        // Which rules keep the event, decided before it is shared so that
        // it is moved, not copied, into the rules' state.
        let mut hits = std::mem::take(&mut self.hits);
        let mut derived = false;
        for (i, rule) in self.engine.rules.iter().enumerate() {
            if !rule.reads(&ev) {
                continue;
            }
            if !derived {
                ev.derive();
                derived = true;
            }
            let probe = rule.matches(&ev);
            if !probe && !rule.confirms(&ev) {
                continue;
            }
            let key = key_of(rule, &ev, &mut self.interner);
            hits.push((i, probe, key));
        }
        if !hits.is_empty() {
            let time = ev.time;
            // The event itself is kept only when some rule counts it as a
            // probe; confirmations share it then, else keep a compact copy.
            let (arc, conf) = match (hits.iter().any(|h| h.1), hits.iter().any(|h| !h.1)) {
                (true, c) => {
                    let a = Arc::new(ev);
                    let c = c.then(|| Arc::new(Confirm::Shared(a.clone())));
                    (Some(a), c)
                }
                (false, _) => (
                    None,
                    Some(Arc::new(Confirm::Compact(Compact::new(
                        &ev,
                        &self.engine.confirm_fields,
                        &mut self.interner,
                    )))),
                ),
            };
            for (i, probe, key) in hits.drain(..) {
                // A probe already outside every lookback window the run can
                // still be evaluated at is counted, not kept.
                let stale = probe
                    && self
                        .lookback_cutoff(&self.engine.rules[i])
                        .is_some_and(|c| time <= c);
                let rs = &mut self.rules[i];
                if probe {
                    rs.matched += 1;
                }
                let st = rs.groups.entry(key).or_default();
                st.dirty = true;
                if stale {
                    continue;
                }
                self.retained += 1;
                // Trimmed when twice the cap: amortised, and what is kept
                // is the latest `cap` events whatever the input order.
                let cap = self.engine.max_events_per_key;
                let n = match (probe, &arc, &conf) {
                    (true, Some(a), _) => {
                        if self.collapse[i] && collapse_duplicate(&self.engine.rules[i], st, a) {
                            rs.collapsed += 1;
                            self.retained -= 1;
                            continue;
                        }
                        st.events.push(a.clone());
                        cap.filter(|c| st.events.len() > c.saturating_mul(2))
                            .map_or(0, |c| keep_latest(&mut st.events, c, canonical_cmp))
                    }
                    (false, _, Some(c)) => {
                        st.confirms.push(c.clone());
                        cap.filter(|k| st.confirms.len() > k.saturating_mul(2))
                            .map_or(0, |k| {
                                keep_latest(&mut st.confirms, k, confirm::canonical_cmp)
                            })
                    }
                    _ => 0,
                };
                rs.evicted += n;
                self.retained -= n;
            }
        }
        self.hits = hits;
        if self.pushed.is_multiple_of(PRUNE_EVERY) {
            self.interner.maybe_sweep();
            self.prune_lookback();
        }
    }

    /// For a lookback rule whose probes matter only inside the final
    /// window (no dedup, no completion, no per-key cap), the time at or
    /// before which a probe can no longer be inside it: evaluation is at
    /// `now`, or at the latest event time, which only grows.
    fn lookback_cutoff(&self, rule: &Rule) -> Option<Timestamp> {
        if rule.window.kind != WindowKind::Lookback
            || !rule.dedup.is_empty()
            || rule.completed.is_some()
            || self.engine.max_events_per_key.is_some()
        {
            return None;
        }
        let at = self.engine.now.or(self.max_time)?;
        Some(sub(at, rule.window.length))
    }

    /// Drops the lookback probes that fell out of every window they could
    /// still be evaluated in (keys stay: their number is reported).
    fn prune_lookback(&mut self) {
        for i in 0..self.engine.rules.len() {
            let Some(cut) = self.lookback_cutoff(&self.engine.rules[i]) else {
                continue;
            };
            for g in self.rules[i].groups.values_mut() {
                self.retained -= g.retain_events(|e| e.time > cut) as u64;
            }
        }
    }

    /// Counts an event that no rule can use (a reader's prefilter skipped
    /// it) exactly as [`Run::push`] would count it: it moves the latest
    /// event time, which lookback rules evaluate at by default.
    /// The event's kind matters too: a tumbling baseline starts at the
    /// first event of its kinds, used or not.
    pub fn push_unused(&mut self, time: Timestamp, kind: EventKind) {
        self.pushed += 1;
        self.saw(time, kind);
    }

    fn saw(&mut self, time: Timestamp, kind: EventKind) {
        if self.max_time.is_none_or(|m| time > m) {
            self.max_time = Some(time);
        }
        let first = self.first_time.entry(kind).or_insert(time);
        if time < *first {
            *first = time;
        }
    }

    /// The first instant a tumbling baseline of `rule` covers: the earliest
    /// event of the rule's kinds.
    fn baseline_start(&self, rule: &Rule) -> Option<Timestamp> {
        rule.kinds
            .iter()
            .filter_map(|k| self.first_time.get(k))
            .min()
            .copied()
    }

    /// Events currently held (across rules; one event held by several
    /// rules counts once per rule).
    pub fn retained_events(&self) -> u64 {
        self.retained
    }

    /// Streaming evaluation: every event with `time <= watermark` has been
    /// pushed. Re-evaluates the sliding-window rules for the keys that
    /// changed, returns opened/updated/closed findings, and evicts state that
    /// no future event can affect (bounded memory). Lookback (seed) rules
    /// are evaluated by [`Run::finish`] only.
    pub fn advance(&mut self, watermark: Timestamp) -> Vec<FindingUpdate> {
        let mut out = Vec::new();
        for i in 0..self.engine.rules.len() {
            let rule = &self.engine.rules[i];
            if rule.window.kind == WindowKind::Tumbling {
                self.advance_tumbling(i, watermark, &mut out);
                continue;
            }
            if rule.window.kind != WindowKind::Sliding {
                continue;
            }
            let window = rule.window.length;
            // A rule that drops completed sign-ins cannot tell a row that
            // matches the completion condition (an MFA interrupt) from part
            // of a completed sign-in until `within` has passed: such recent
            // rows are *pending*. Everything else is evaluated up to the
            // watermark; only finality (closing, eviction) waits `within`.
            let pending_after = pending_after(rule, watermark);
            let final_wm = pending_after.unwrap_or(watermark);
            let horizon = sub(final_wm, window);
            // An event no future window can reach (time <= horizon) and
            // that belongs to no open episode is final.
            let final_ = |e: &Event, open_start: Option<Timestamp>| {
                e.time <= horizon && open_start.is_none_or(|s| e.time < s)
            };
            let keys: Vec<Key> = self.rules[i]
                .groups
                .iter()
                .filter(|(_, g)| g.dirty || g.events.first().is_some_and(|e| e.time <= horizon))
                .map(|(k, _)| k.clone())
                .collect();
            for key in keys {
                self.cap_key(i, &key);
                let (found, evict_before, first_pending, gone) = {
                    let g = &self.rules[i].groups[&key];
                    let (evs, conf, first_pending) =
                        streaming_view(rule, g, watermark, pending_after);
                    let found = self.episode_findings(rule, &key, &evs, &conf);
                    // Everything before the first still-open episode (or
                    // older than the horizon when none is open) is final.
                    // Episodes that fail `require` count too: one may pass
                    // once it grows, and evicting its start would change
                    // what it holds (streaming would differ from batch).
                    let open_start = episodes(rule, &evs, window)
                        .iter()
                        .filter(|ep| add(evs[ep.end].time, window) >= final_wm)
                        .map(|ep| evs[ep.start].time)
                        .min();
                    let gone = dedup_keys(rule, &evs, |e| final_(e, open_start));
                    (found, open_start, first_pending, gone)
                };
                let st = &mut self.rules[i];
                for (f, _) in found {
                    let closed = add(f.last_seen, window) < final_wm;
                    emit(st, f, closed, first_pending, &mut out);
                }
                let Some(g) = st.groups.get_mut(&key) else {
                    continue;
                };
                // Keys with pending rows are looked at again next time.
                g.dirty = first_pending.is_some();
                let (dropped, dups) = g.evict(rule, |e| final_(e, evict_before), &gone);
                st.collapsed += dups;
                // Confirmations matter up to one window after an episode.
                let conf_cut = sub(evict_before.map_or(horizon, |s| s.min(horizon)), window);
                let before = g.confirms.len();
                g.confirms.retain(|e| e.time() > conf_cut);
                self.retained -= (dropped + before - g.confirms.len()) as u64;
                if g.events.is_empty() && g.confirms.is_empty() {
                    st.groups.remove(&key);
                }
            }
        }
        out
    }

    /// [`Run::advance`] for a tumbling rule. A bucket is *complete* once the
    /// (completion-delayed) watermark reaches its end, and *done* one bucket
    /// later (its findings can gain no more confirmations): done buckets
    /// close their findings, leave their threshold value in the key's
    /// history (for later baselines) and are evicted. Without a pivot a
    /// bucket's finding opens as soon as it qualifies; with one, only once
    /// the bucket is complete (its groups may still change before).
    fn advance_tumbling(&mut self, i: usize, watermark: Timestamp, out: &mut Vec<FindingUpdate>) {
        let rule = &self.engine.rules[i];
        let len = rule.window.length;
        let pending_after = pending_after(rule, watermark);
        let final_wm = pending_after.unwrap_or(watermark);
        let fb = bucket_of(final_wm, len);
        if rule.pivot.is_some() {
            // Nothing is emitted, closed or evicted before a bucket
            // completes: a whole day's bucket is not re-evaluated at every
            // batch.
            if self.rules[i].evaluated_at == Some(fb) {
                return;
            }
            self.rules[i].evaluated_at = Some(fb);
        }
        let complete = |b: i64| bucket_start(b.saturating_add(1), len) <= final_wm;
        let done = |b: i64| b <= fb.saturating_sub(2);
        let keys: Vec<Key> = self.rules[i]
            .groups
            .iter()
            .filter(|(_, g)| {
                g.dirty
                    || g.events
                        .first()
                        .is_some_and(|e| complete(bucket_of(e.time, len)))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.cap_key(i, &key);
            let (found, first_pending, done_values, gone) = {
                let g = &self.rules[i].groups[&key];
                let (evs, conf, first_pending) = streaming_view(rule, g, watermark, pending_after);
                let history = g.history();
                let found = self.tumbling_findings(rule, &key, &evs, &conf, history);
                // Threshold values of the buckets about to be evicted.
                let mut done_values: BTreeMap<i64, u64> = BTreeMap::new();
                if rule.window.baseline.is_some() {
                    let olds: Vec<&Event> = evs
                        .iter()
                        .copied()
                        .filter(|e| done(bucket_of(e.time, len)))
                        .collect();
                    for g in bucket::groups(rule, &olds) {
                        done_values.insert(g.bucket, bucket::threshold_value(rule, &g.events));
                    }
                }
                let gone = dedup_keys(rule, &evs, |e| done(bucket_of(e.time, len)));
                (found, first_pending, done_values, gone)
            };
            let st = &mut self.rules[i];
            for (f, b) in found {
                if rule.pivot.is_some() && !complete(b) {
                    continue;
                }
                emit(st, f, done(b), first_pending, out);
            }
            let Some(g) = st.groups.get_mut(&key) else {
                continue;
            };
            g.dirty = first_pending.is_some();
            if !done_values.is_empty() {
                g.extra.get_or_insert_default().history.extend(done_values);
            }
            if let Some(bl) = &rule.window.baseline {
                // Buckets from fb - 1 on may still be evaluated; they need
                // `history` buckets before them.
                let keep_from = fb.saturating_sub(1).saturating_sub(bl.buckets(len) as i64);
                if let Some(x) = &mut g.extra {
                    x.history = x.history.split_off(&keep_from);
                }
            }
            // (Also drops `extra` if the history split left it empty.)
            let (dropped, dups) = g.evict(rule, |e| done(bucket_of(e.time, len)), &gone);
            st.collapsed += dups;
            // Confirmations matter from the first bucket not done.
            let conf_cut = bucket_start(fb.saturating_sub(1), len);
            let before = g.confirms.len();
            g.confirms.retain(|e| e.time() >= conf_cut);
            self.retained -= (dropped + before - g.confirms.len()) as u64;
            if g.events.is_empty() && g.confirms.is_empty() && g.history().is_empty() {
                st.groups.remove(&key);
            }
        }
    }

    /// Applies the state cap to one key of rule `i` (streaming).
    fn cap_key(&mut self, i: usize, key: &Key) {
        if let Some(cap) = self.engine.max_events_per_key
            && let Some(g) = self.rules[i].groups.get_mut(key)
        {
            let n = keep_latest(&mut g.events, cap, canonical_cmp)
                + keep_latest(&mut g.confirms, cap, confirm::canonical_cmp);
            self.rules[i].evicted += n;
            self.retained -= n;
        }
    }

    /// Evaluates every rule and returns the findings in output order, with
    /// the run summary.
    pub fn finish(mut self) -> (Vec<Finding>, RunSummary) {
        let now = self.engine.now.or(self.max_time);
        if let Some(cap) = self.engine.max_events_per_key {
            for rs in &mut self.rules {
                for g in rs.groups.values_mut() {
                    rs.evicted += keep_latest(&mut g.events, cap, canonical_cmp)
                        + keep_latest(&mut g.confirms, cap, confirm::canonical_cmp);
                }
            }
        }
        let mut findings = Vec::new();
        let mut stats = Vec::new();
        for (i, rule) in self.engine.rules.iter().enumerate() {
            let rs = &self.rules[i];
            let mut st = RuleRunStats {
                rule: rule.id.clone(),
                matched: rs.matched,
                groups: rs.groups.len() as u64,
                evicted: rs.evicted,
                duplicates: rs.collapsed,
                ..Default::default()
            };
            let mut f = rs.closed.clone();
            // Keys with confirmations only (most keys of a large input:
            // every source of a success) can give no finding.
            let mut keys: Vec<(&Key, &KeyState)> = rs
                .groups
                .iter()
                .filter(|(_, g)| !g.events.is_empty())
                .collect();
            keys.sort_by(|a, b| a.0.cmp(b.0));
            for (key, g) in keys {
                let mut dups = 0;
                let mut evs = prepared(rule, &g.events, &g.confirms, &mut dups);
                st.duplicates += dups;
                let mut conf: Vec<&Confirm> = g.confirms.iter().map(|e| e.as_ref()).collect();
                conf.sort_by(|a, b| confirm::canonical_cmp(a, b));
                match rule.window.kind {
                    WindowKind::Lookback => {
                        let Some(now) = now else { continue };
                        let cutoff = sub(now, rule.window.length);
                        evs.retain(|e| e.time > cutoff);
                        st.in_window += evs.len() as u64;
                        if evs.is_empty() {
                            continue;
                        }
                        let last = evs.last().map_or(Timestamp::UNIX_EPOCH, |e| e.time);
                        let m = compute(rule, &evs, &conf, add(last, rule.window.length));
                        if threshold_met(rule, &m) {
                            f.push(self.finding(rule, key, &evs, m, None, None, None));
                        }
                    }
                    WindowKind::Sliding => {
                        f.extend(
                            self.episode_findings(rule, key, &evs, &conf)
                                .into_iter()
                                .map(|(f, _)| f),
                        );
                    }
                    WindowKind::Tumbling => {
                        f.extend(
                            self.tumbling_findings(rule, key, &evs, &conf, g.history())
                                .into_iter()
                                .map(|(f, _)| f),
                        );
                    }
                }
            }
            st.findings = f.len() as u64;
            findings.extend(f);
            stats.push(st);
        }
        sort_findings(&mut findings, self.engine.is_seed());
        // Freeing millions of small allocations takes as long as a good
        // part of the evaluation: a large state is freed on another thread
        // (or not at all when the process exits first).
        if self.retained >= BACKGROUND_DROP {
            let state = std::mem::take(&mut self.rules);
            let _ = std::thread::Builder::new()
                .name("idrecon-drop".into())
                .spawn(move || drop(state));
        }
        (
            findings,
            RunSummary {
                now,
                events: self.pushed,
                evicted: stats.iter().map(|s| s.evicted).sum(),
                rules: stats,
            },
        )
    }

    /// Findings of every episode of one key (events in canonical order).
    fn episode_findings(
        &self,
        rule: &Rule,
        key: &Key,
        g: &[&Event],
        conf: &[&Confirm],
    ) -> Vec<(Finding, usize)> {
        let window = rule.window.length;
        let mut out = Vec::new();
        for ep in episodes(rule, g, window) {
            let evs = &g[ep.start..=ep.end];
            let last = evs.last().map_or(Timestamp::UNIX_EPOCH, |e| e.time);
            let m = compute(rule, evs, conf, add(last, window));
            if !requirements_met(rule, &m) {
                continue;
            }
            let peak = PeakWindow {
                start: g[ep.peak_start].time,
                end: g[ep.peak_end].time,
                unique_usernames: ep.peak_value,
                total_failures: (ep.peak_end - ep.peak_start + 1) as u64,
            };
            out.push((
                self.finding(rule, key, evs, m, Some(peak), Some(ep.crossed_at), None),
                ep.start,
            ));
        }
        out
    }

    /// Findings of every qualifying bucket (and pivot group) of one key
    /// (events in canonical order), with their bucket index. `stored` holds
    /// the threshold values of buckets whose events were evicted
    /// (streaming), for the baseline.
    fn tumbling_findings(
        &self,
        rule: &Rule,
        key: &Key,
        evs: &[&Event],
        conf: &[&Confirm],
        stored: &BTreeMap<i64, u64>,
    ) -> Vec<(Finding, i64)> {
        let len = rule.window.length;
        let groups = bucket::groups(rule, evs);
        let mut values = stored.clone();
        if rule.window.baseline.is_some() {
            for g in &groups {
                values.insert(g.bucket, bucket::threshold_value(rule, &g.events));
            }
        }
        let start = self.baseline_start(rule).map(|t| bucket_of(t, len));
        // Pivot groups take the confirmations from their set's sources:
        // index them by source once (each list stays in time order).
        let mut by_source: HashMap<String, Vec<&Confirm>> = HashMap::new();
        if let Some(p) = &rule.pivot {
            for c in conf {
                if let Some(v) = value_of(*c, p.collect, false, rule.missing_as_empty) {
                    by_source.entry(v).or_default().push(c);
                }
            }
        }
        let mut out = Vec::new();
        for g in groups {
            // Most groups (most buckets, most pivot sets) are far below the
            // threshold: decide that before computing any measure.
            let value = bucket::threshold_value(rule, &g.events);
            if value < rule.threshold.gte {
                continue;
            }
            let set_conf: Vec<&Confirm>;
            let conf = match &g.set {
                Some(set) if rule.pivot.is_some() => {
                    let mut v: Vec<&Confirm> = set
                        .iter()
                        .filter_map(|s| by_source.get(s))
                        .flatten()
                        .copied()
                        .collect();
                    v.sort_by(|a, b| confirm::canonical_cmp(a, b));
                    set_conf = v;
                    &set_conf[..]
                }
                _ => conf,
            };
            let (Some(first), Some(last)) = (g.events.first(), g.events.last()) else {
                continue;
            };
            let mut m = compute(rule, &g.events, conf, add(last.time, len));
            let bar = if rule.window.baseline.is_some() {
                let Some(st) = bucket::baseline(rule, g.bucket, start, &values) else {
                    continue;
                };
                for meas in &rule.measures {
                    let v = match meas.func {
                        MeasureFn::BaselineMean => MVal::Float(round_to(st.mean, 2)),
                        MeasureFn::BaselineStddev => MVal::Float(round_to(st.stddev, 2)),
                        MeasureFn::BaselineBuckets => MVal::Int(st.buckets),
                        _ => continue,
                    };
                    m.insert(meas.name.clone(), v);
                }
                Some(st.bar)
            } else {
                None
            };
            if !threshold_met(rule, &m) {
                continue;
            }
            if bar.is_some_and(|bar| value as f64 <= bar) {
                continue;
            }
            let crossed = bucket::crossed_at(rule, &g.events, bar);
            let peak = PeakWindow {
                start: first.time,
                end: last.time,
                unique_usernames: value,
                total_failures: g.events.len() as u64,
            };
            let mut k = key.to_vec();
            if let Some(set) = &g.set {
                k.push(Some(Arc::from(set.join(","))));
            }
            let k: Key = k.into_boxed_slice();
            let f = self.finding(
                rule,
                &k,
                &g.events,
                m,
                Some(peak),
                crossed,
                Some(bucket_start(g.bucket, len)),
            );
            out.push((f, g.bucket));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        rule: &Rule,
        key: &Key,
        evs: &[&Event],
        m: BTreeMap<String, MVal>,
        peak: Option<PeakWindow>,
        crossed: Option<Timestamp>,
        id_time: Option<Timestamp>,
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
        if let Some(p) = &rule.pivot
            && let Some(v) = key.get(rule.key.len())
        {
            key_map.insert(
                format!("{}_set", p.collect.name()),
                v.as_deref().map(str::to_string),
            );
        }
        for (i, f) in rule.key.iter().enumerate() {
            let v = key[i].as_deref().map(str::to_string);
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
        if !rule.key.iter().any(|f| f.name() == "app")
            && let Some(MVal::List(apps)) = m.get("apps")
            && apps.len() == 1
        {
            app = apps.first().cloned();
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
        extra.insert("title".into(), Value::from(rule.title.clone()));
        extra.insert("mitre".into(), Value::from(rule.mitre.clone()));
        extra.insert("timeline".into(), timeline(rule, evs));
        if self.engine.is_seed() {
            extra.insert("suspicion_score".into(), Value::from(severity.seed_name()));
        }
        let enum_rate = m.get("enum_rate").map_or(0.0, MVal::number);
        let duration_minutes = m.get("duration_minutes").map_or(0, |v| v.number() as i64);
        let source_ip = key.first().cloned().flatten().map(|s| s.to_string());
        let id = finding_id(rule, key, id_time.unwrap_or(first));
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

/// Activity over a finding's episode, for charts: `{bucket_seconds,
/// points: [{t, failures, accounts, new_accounts}]}` with one point per
/// bucket that has events. `accounts` counts distinct values of the
/// threshold measure's field in the bucket; `new_accounts` those seen for
/// the first time in the episode (their running sum is the cumulative
/// distinct count the threshold applies to). Buckets are one minute, wider
/// for long episodes so that at most 1,440 points are listed.
fn timeline(rule: &Rule, evs: &[&Event]) -> Value {
    const MAX_POINTS: i64 = 1440;
    let field = rule.measure(&rule.threshold.measure).and_then(|m| m.field);
    let lower = rule
        .measure(&rule.threshold.measure)
        .is_some_and(|m| m.lower);
    let (Some(first), Some(last)) = (evs.first(), evs.last()) else {
        return serde_json::json!({ "bucket_seconds": 60, "points": [] });
    };
    let span_minutes = (last.time.as_second() - first.time.as_second()) / 60 + 1;
    let bucket = 60 * ((span_minutes + MAX_POINTS - 1) / MAX_POINTS).max(1);
    let mut buckets: BTreeMap<i64, (u64, HashSet<String>, u64)> = BTreeMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    for e in evs {
        let b = buckets
            .entry(e.time.as_second().div_euclid(bucket))
            .or_default();
        b.0 += 1;
        if let Some(v) = field.and_then(|f| value_of(e, f, lower, rule.missing_as_empty)) {
            if seen.insert(v.clone()) {
                b.2 += 1;
            }
            b.1.insert(v);
        }
    }
    let points: Vec<Value> = buckets
        .into_iter()
        .map(|(k, (n, set, new))| {
            let t = Timestamp::from_second(k * bucket)
                .map(|t| t.to_string())
                .unwrap_or_default();
            serde_json::json!({ "t": t, "failures": n, "accounts": set.len(), "new_accounts": new })
        })
        .collect();
    serde_json::json!({ "bucket_seconds": bucket, "points": points })
}

fn key_of(rule: &Rule, ev: &Event, interner: &mut Interner) -> Key {
    rule.key
        .iter()
        .map(|f| value_of(ev, *f, rule.key_lower, rule.missing_as_empty).map(|v| interner.get(&v)))
        .collect()
}

/// Whether `rule` can collapse duplicate probes as they arrive instead of
/// only at evaluation: it has a dedup key and no completion filter (which
/// runs before dedup and depends on the probe's own time and value). Only
/// duplicates of the same time are collapsed, and the one kept is the first
/// in canonical order, which is the row [`prepared`] keeps: evaluation,
/// eviction (by time) and the `duplicates` count are unchanged, and a key
/// holds one probe per repeated row (the same log collected twice, copies
/// of one EVTX file) instead of every copy. Not with a state cap, which
/// counts the raw rows.
fn collapses(rule: &Rule) -> bool {
    !rule.dedup.is_empty() && rule.completed.is_none()
}

/// Collapses `ev` into an equal probe of `st` (same dedup key, same time)
/// if there is one, keeping the first of the two in canonical order;
/// `false` when `ev` is to be kept as a new probe. Rows with a missing
/// dedup field are never collapsed ([`prepared`] keeps them all).
fn collapse_duplicate(rule: &Rule, st: &mut KeyState, ev: &Arc<Event>) -> bool {
    let Some(h) = dedup_hash(rule, ev) else {
        return false;
    };
    let found = if st.events.len() < SEEN_FROM {
        st.events.iter().position(|e| same_row(rule, e, ev))
    } else {
        let events = &st.events;
        let seen = st
            .extra
            .get_or_insert_default()
            .seen
            .get_or_insert_with(|| {
                let mut m = HashMap::with_hasher(foldhash::fast::FixedState::default());
                for (j, e) in events.iter().enumerate() {
                    if let (Some(h), Ok(j)) = (dedup_hash(rule, e), u32::try_from(j)) {
                        m.entry(h).or_insert(j);
                    }
                }
                m
            });
        match seen.get(&h) {
            Some(&j)
                if st
                    .events
                    .get(j as usize)
                    .is_some_and(|e| same_row(rule, e, ev)) =>
            {
                Some(j as usize)
            }
            _ => {
                // A new row (or, once in 2^64, another row of the same
                // hash: it is kept, and `prepared` still dedups it).
                if let Ok(j) = u32::try_from(st.events.len()) {
                    seen.insert(h, j);
                }
                None
            }
        }
    };
    let Some(j) = found else {
        return false;
    };
    if canonical_cmp(ev, &st.events[j]).is_lt() {
        st.events[j] = ev.clone();
    }
    true
}

/// Hash of a probe's time and normalized dedup key ([`normalize_user`] of
/// each field, as [`prepared`] compares them); `None` when a field is
/// missing.
fn dedup_hash(rule: &Rule, ev: &Event) -> Option<u64> {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    h.write_i128(ev.time.as_nanosecond());
    for f in &rule.dedup {
        let v = ev.get(*f)?.trim();
        if v.is_ascii() {
            for b in v.bytes() {
                h.write_u8(b.to_ascii_lowercase());
            }
        } else {
            h.write(normalize_user(v).as_bytes());
        }
        h.write_u8(0xff);
    }
    Some(h.finish())
}

/// Whether two probes are rows [`prepared`] would collapse and have the
/// same time.
fn same_row(rule: &Rule, a: &Event, b: &Event) -> bool {
    a.time == b.time
        && rule.dedup.iter().all(|f| match (a.get(*f), b.get(*f)) {
            (Some(x), Some(y)) => {
                let (x, y) = (x.trim(), y.trim());
                if x.is_ascii() && y.is_ascii() {
                    x.eq_ignore_ascii_case(y)
                } else {
                    normalize_user(x) == normalize_user(y)
                }
            }
            _ => false,
        })
}

/// The dedup keys of the counted probes `evs` (what [`prepared`] kept)
/// that `evicted` selects.
fn dedup_keys(
    rule: &Rule,
    evs: &[&Event],
    evicted: impl Fn(&Event) -> bool,
) -> HashSet<Vec<String>> {
    if rule.dedup.is_empty() {
        return HashSet::new();
    }
    evs.iter()
        .filter(|e| evicted(e))
        .filter_map(|e| dedup_key(rule, e))
        .collect()
}

/// A probe's normalized dedup key ([`normalize_user`] of each field);
/// `None` when the rule has none or a field is missing (such rows are never
/// duplicates).
fn dedup_key(rule: &Rule, e: &Event) -> Option<Vec<String>> {
    if rule.dedup.is_empty() {
        return None;
    }
    rule.dedup
        .iter()
        .map(|f| e.get(*f).map(normalize_user))
        .collect()
}

/// One key's probe events in canonical order with duplicate rows removed
/// (the kept row of a duplicate set is the first in canonical order) and
/// completed sign-ins dropped.
fn prepared<'a>(
    rule: &Rule,
    events: &'a [Arc<Event>],
    confirms: &[Arc<Confirm>],
    dups: &mut u64,
) -> Vec<&'a Event> {
    let mut evs: Vec<&Event> = events.iter().map(|e| e.as_ref()).collect();
    evs.sort_by(|a, b| canonical_cmp(a, b));
    if let Some(c) = &rule.completed {
        let within = jiff::SignedDuration::from_secs(c.within.as_secs() as i64);
        let mut done: HashMap<String, Vec<Timestamp>> = HashMap::new();
        for e in confirms {
            if let Some(v) = value_of(e.as_ref(), c.field, c.lower, rule.missing_as_empty) {
                done.entry(v).or_default().push(e.time());
            }
        }
        evs.retain(|e| {
            if !c.filter.eval(e, rule.missing_as_empty) {
                return true;
            }
            let Some(v) = value_of(e, c.field, c.lower, rule.missing_as_empty) else {
                return true;
            };
            let until = e.time.checked_add(within).unwrap_or(Timestamp::MAX);
            !done
                .get(&v)
                .is_some_and(|ts| ts.iter().any(|t| *t >= e.time && *t <= until))
        });
    }
    if !rule.dedup.is_empty() {
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        let before = evs.len();
        evs.retain(|e| dedup_key(rule, e).is_none_or(|k| seen.insert(k)));
        *dups += (before - evs.len()) as u64;
    }
    evs
}

/// Streaming: a rule that drops completed sign-ins cannot tell a row that
/// matches the completion condition (an MFA interrupt) from part of a
/// completed sign-in until `within` has passed: rows after this instant are
/// *pending*.
fn pending_after(rule: &Rule, watermark: Timestamp) -> Option<Timestamp> {
    rule.completed.as_ref().map(|c| sub(watermark, c.within))
}

fn is_pending(rule: &Rule, after: Option<Timestamp>, e: &Event) -> bool {
    rule.completed.as_ref().is_some_and(|c| {
        after.is_some_and(|p| e.time > p) && c.filter.eval(e, rule.missing_as_empty)
    })
}

/// A key as a streaming evaluation sees it: the prepared probes up to the
/// watermark without pending rows, the confirmations in time order, and
/// the time of the first pending row.
fn streaming_view<'a>(
    rule: &Rule,
    g: &'a KeyState,
    watermark: Timestamp,
    pending_after: Option<Timestamp>,
) -> (Vec<&'a Event>, Vec<&'a Confirm>, Option<Timestamp>) {
    let first_pending = g
        .events
        .iter()
        .filter(|e| e.time <= watermark && is_pending(rule, pending_after, e))
        .map(|e| e.time)
        .min();
    let mut evs = prepared(rule, &g.events, &g.confirms, &mut 0);
    evs.retain(|e| e.time <= watermark && !is_pending(rule, pending_after, e));
    let mut conf: Vec<&Confirm> = g.confirms.iter().map(|e| e.as_ref()).collect();
    conf.sort_by(|a, b| confirm::canonical_cmp(a, b));
    (evs, conf, first_pending)
}

/// Keeps the latest `cap` events (canonical order) and returns how many
/// were dropped.
fn keep_latest<T>(list: &mut List<T>, cap: usize, cmp: fn(&T, &T) -> std::cmp::Ordering) -> u64 {
    if list.len() <= cap {
        return 0;
    }
    list.sort_by(|a, b| cmp(a, b));
    let drop = list.len() - cap;
    list.drain(..drop);
    drop as u64
}

/// Records and emits one streaming evaluation of a finding: `opened` the
/// first time (unless a pending row at or before its threshold crossing
/// could still change it), `updated` when its digest changed, `closed`
/// (after `opened` if it was never emitted) once it is final; a closed
/// finding moves to the rule's `closed` list.
fn emit(
    st: &mut RuleState,
    f: Finding,
    closed: bool,
    first_pending: Option<Timestamp>,
    out: &mut Vec<FindingUpdate>,
) {
    let digest = digest(&f);
    let prev = st.emitted.get(&f.id).cloned();
    // A pending row at or before the threshold crossing could still move
    // the episode's start (and so its id): open it once that row is decided.
    if prev.is_none()
        && first_pending.is_some_and(|p| f.threshold_crossed_at.is_none_or(|c| p <= c))
    {
        return;
    }
    let kind = match (&prev, closed) {
        (None, _) => Some(UpdateKind::Opened),
        (Some((d, _)), false) if *d != digest => Some(UpdateKind::Updated),
        (Some(_), true) => Some(UpdateKind::Closed),
        _ => None,
    };
    if let Some(kind) = kind {
        let version = prev.map_or(1, |(_, v)| v + 1);
        st.emitted.insert(f.id.clone(), (digest, version));
        if kind == UpdateKind::Opened && closed {
            out.push(FindingUpdate {
                update: UpdateKind::Opened,
                version,
                finding: f.clone(),
            });
            st.emitted
                .insert(f.id.clone(), (String::new(), version + 1));
            out.push(FindingUpdate {
                update: UpdateKind::Closed,
                version: version + 1,
                finding: f.clone(),
            });
        } else {
            out.push(FindingUpdate {
                update: kind,
                version,
                finding: f.clone(),
            });
        }
    }
    if closed {
        st.emitted.remove(&f.id);
        st.closed.push(f);
    }
}

/// What a consumer of updates cares about: severity, counts, exposed accounts.
fn digest(f: &Finding) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        f.severity,
        f.unique_usernames,
        f.total_failures,
        f.last_seen,
        f.extra
            .get("valid_accounts")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        f.extra
            .get("credential_confirmed_accounts")
            .map(|v| v.to_string())
            .unwrap_or_default()
    )
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
            if let Some(v) = val(g[left])
                && let Some(c) = counts.get_mut(&v)
            {
                *c -= 1;
                if *c == 0 {
                    counts.remove(&v);
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
