//! A shard: one unit of window state (all input for `stdin` and followed
//! files, one repartition partition for Kafka). It owns the engine runs,
//! the reorder buffer and watermark, the record positions still needed, and
//! the emission ledger.

use crate::ledger::{Checkpoint, Kind, Ledger, Pos, Progress, content_hash};
use crate::metrics::Metrics;
use crate::{Emitted, Ttd};
use idrecon_allow::Allowlist;
use idrecon_core::{Event, Finding, Timestamp};
use idrecon_engine::{Engine, FindingUpdate, Run, UpdateKind};
use idrecon_rules::WindowKind;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Bits of `Origin::record` that hold the record number; the bits above
/// hold the source index (evidence names are filled in after evaluation).
pub(crate) const REC_BITS: u32 = 40;
const REC_MASK: u64 = (1 << REC_BITS) - 1;

/// Settings shared by all shards.
pub(crate) struct ShardConfig<'a> {
    pub engines: &'a [Engine],
    pub lateness: Duration,
    pub idle: Duration,
    pub max_buffered: usize,
    pub max_retained: u64,
    pub allow: Option<&'a Allowlist>,
    pub decorate: Option<crate::Decorator>,
    pub render: Option<crate::Renderer>,
    pub metrics: &'a Metrics,
}

/// Where a record came from.
pub(crate) struct RecMeta<'a> {
    /// Position space (file, partition) for resuming.
    pub pos_src: u32,
    /// Its checkpoint key.
    pub pos_key: &'a str,
    /// Position of the record and just after it.
    pub pos: Pos,
    pub next: Pos,
    /// Event-time clock source (and evidence file index).
    pub clock_src: u32,
    /// Record number shown in evidence.
    pub rec: u64,
    /// Upstream identity of a repartitioned record (for de-duplication).
    pub dedup: Option<(u64, u32)>,
    pub arrival: Instant,
}

/// An event too old for the watermark.
pub(crate) struct Late {
    pub clock_src: u32,
    pub rec: u64,
    pub time: Timestamp,
    pub watermark: Timestamp,
    pub record: Value,
}

struct Pending {
    ev: Event,
    group: usize,
    arrival: Instant,
}

#[derive(Default)]
struct Track {
    key: String,
    /// Records with buffered events: position and latest event time.
    needed: VecDeque<(Pos, Timestamp)>,
    next: Pos,
}

pub(crate) struct Shard<'e> {
    pub name: String,
    runs: Vec<Run<'e>>,
    buffer: BTreeMap<(Timestamp, u64), Pending>,
    seq: u64,
    clocks: HashMap<u32, (Option<Timestamp>, Instant)>,
    wm: Option<Timestamp>,
    max_seen: Option<Timestamp>,
    tracks: HashMap<u32, Track>,
    dedup: HashMap<(u32, u32), (u64, u32)>,
    pub ledger: Ledger,
    engine_open: HashMap<String, (Timestamp, bool)>,
    floor: Option<Timestamp>,
    skip_until: Option<Timestamp>,
    replay_until: HashMap<String, u64>,
    restored_wm: Option<Timestamp>,
    arrivals: BTreeMap<Timestamp, Instant>,
    wmax: Duration,
    has_lookback: bool,
    dirty: bool,
}

fn sub(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_sub(jiff::SignedDuration::from_secs(d.as_secs() as i64))
        .unwrap_or(Timestamp::MIN)
}

impl<'e> Shard<'e> {
    pub(crate) fn new(
        name: String,
        cfg: &ShardConfig<'e>,
        restored: Option<Checkpoint>,
        recovered: &Ledger,
        expected_clocks: &[u32],
    ) -> Shard<'e> {
        let rules = cfg.engines.iter().flat_map(|e| e.rules());
        // Longest reach back in event time: the window, plus the wait for
        // completions of rules that drop completed sign-ins.
        // Tumbling rules hold up to two buckets, and a baseline its history.
        let wmax = rules
            .clone()
            .filter_map(|r| {
                let wait = r.completed.as_ref().map_or(Duration::ZERO, |c| c.within);
                match r.window.kind {
                    WindowKind::Sliding => Some(r.window.length + wait),
                    WindowKind::Tumbling => Some(
                        r.window.length * 2
                            + wait
                            + r.window.baseline.map_or(Duration::ZERO, |b| b.history),
                    ),
                    WindowKind::Lookback => None,
                }
            })
            .max()
            .unwrap_or_default();
        let has_lookback = rules.clone().any(|r| r.window.kind == WindowKind::Lookback);
        let mut s = Shard {
            name,
            runs: cfg.engines.iter().map(|e| e.run(Vec::new())).collect(),
            buffer: BTreeMap::new(),
            seq: 0,
            clocks: HashMap::new(),
            wm: None,
            max_seen: None,
            tracks: HashMap::new(),
            dedup: HashMap::new(),
            ledger: Ledger::default(),
            engine_open: HashMap::new(),
            floor: None,
            skip_until: None,
            replay_until: HashMap::new(),
            restored_wm: None,
            arrivals: BTreeMap::new(),
            wmax,
            has_lookback,
            dirty: false,
        };
        if let Some(c) = restored {
            s.ledger = c.ledger;
            s.floor = c.floor;
            s.skip_until = c.skip_until;
            s.restored_wm = c.watermark;
            s.replay_until = c
                .read_through
                .iter()
                .map(|(k, p)| (k.clone(), p.pos))
                .collect();
            s.engine_open = c
                .engine_open
                .into_iter()
                .map(|(id, t)| (id, (t, true)))
                .collect();
        }
        s.ledger.merge(recovered);
        let now = Instant::now();
        for c in expected_clocks {
            s.clocks.insert(*c, (None, now));
        }
        s
    }

    /// Takes the events of one record.
    pub(crate) fn offer(
        &mut self,
        m: &RecMeta<'_>,
        events: Vec<(Event, Value)>,
        group: usize,
        metrics: &Metrics,
        late: &mut Vec<Late>,
    ) {
        self.dirty = true;
        let track = self.tracks.entry(m.pos_src).or_insert_with(|| Track {
            key: m.pos_key.to_string(),
            ..Default::default()
        });
        track.next = m.next;
        let clock = self.clocks.entry(m.clock_src).or_insert((None, m.arrival));
        clock.1 = m.arrival;
        if let Some(d) = m.dedup {
            let k = (m.pos_src, m.clock_src);
            if self.dedup.get(&k).is_some_and(|seen| d <= *seen) {
                Metrics::add(&metrics.duplicates_total, 1);
                return;
            }
            self.dedup.insert(k, d);
        }
        let replaying = self
            .replay_until
            .get(m.pos_key)
            .is_some_and(|until| m.pos.pos < *until);
        let mut newest: Option<Timestamp> = None;
        for (mut ev, record) in events {
            ev.origin.file = m.clock_src;
            ev.origin.record = (u64::from(m.clock_src) << REC_BITS) | (m.rec & REC_MASK);
            if replaying && self.skip_until.is_some_and(|s| ev.time <= s) {
                Metrics::add(&metrics.replay_skipped_total, 1);
                continue;
            }
            if let Some(w) = self.wm
                && ev.time < w
            {
                Metrics::add(&metrics.late_total, 1);
                late.push(Late {
                    clock_src: m.clock_src,
                    rec: m.rec,
                    time: ev.time,
                    watermark: w,
                    record,
                });
                continue;
            }
            if clock.0.is_none_or(|t| ev.time > t) {
                clock.0 = Some(ev.time);
            }
            if self.max_seen.is_none_or(|t| ev.time > t) {
                self.max_seen = Some(ev.time);
            }
            newest = Some(newest.map_or(ev.time, |n: Timestamp| n.max(ev.time)));
            self.seq += 1;
            self.buffer.insert(
                (ev.time, self.seq),
                Pending {
                    ev,
                    group,
                    arrival: m.arrival,
                },
            );
        }
        if let Some(t) = newest {
            track.needed.push_back((m.pos, t));
        }
    }

    /// Moves the watermark (allowed lateness, idle timeout, caps), releases
    /// buffered events in event-time order into the engine and returns the
    /// updates to emit. `end` flushes everything (finite source ended).
    pub(crate) fn step(
        &mut self,
        cfg: &ShardConfig<'e>,
        now: Instant,
        end: bool,
        names: &dyn Fn(u32) -> String,
    ) -> Vec<Emitted> {
        let mut target = self.candidate(cfg, now);
        if self.buffer.len() > cfg.max_buffered {
            let excess = self.buffer.len() - cfg.max_buffered;
            if let Some(((t, _), _)) = self.buffer.iter().nth(excess - 1) {
                target = max_opt(target, Some(*t));
                Metrics::add(&cfg.metrics.forced_releases_total, excess as u64);
            }
        }
        let retained: u64 = self.runs.iter().map(Run::retained_events).sum();
        if retained > cfg.max_retained && self.max_seen > target {
            target = self.max_seen;
            Metrics::add(&cfg.metrics.forced_advances_total, 1);
        }
        if end {
            target = Some(Timestamp::MAX);
        }
        let mut out = Vec::new();
        if let Some(t) = target
            && self.wm.is_none_or(|w| t > w)
        {
            self.wm = Some(t);
            self.dirty = true;
            let rest = self.buffer.split_off(&(t, u64::MAX));
            let ready = std::mem::replace(&mut self.buffer, rest);
            let batch_arrival = ready.values().map(|p| p.arrival).min();
            for (_, p) in ready {
                self.arrivals
                    .entry(p.ev.time)
                    .and_modify(|a| *a = (*a).min(p.arrival))
                    .or_insert(p.arrival);
                if let Some(run) = self.runs.get_mut(p.group) {
                    run.push(p.ev);
                }
            }
            let mut updates = Vec::new();
            for run in &mut self.runs {
                updates.extend(run.advance(t));
            }
            for u in updates {
                self.handle(cfg, u, batch_arrival, names, &mut out);
            }
            if self
                .restored_wm
                .is_some_and(|r| self.wm.is_some_and(|w| w >= r))
            {
                self.engine_open.retain(|_, (_, stale)| !*stale);
                self.restored_wm = None;
            }
            let keep = sub(t, self.wmax);
            self.arrivals = self.arrivals.split_off(&keep);
            if self.arrivals.len() > 1_000_000 {
                self.arrivals.clear();
            }
        }
        if end {
            for run in std::mem::take(&mut self.runs) {
                let (findings, _) = run.finish();
                for f in findings {
                    let u = FindingUpdate {
                        update: UpdateKind::Closed,
                        version: 0,
                        finding: f,
                    };
                    self.handle(cfg, u, None, names, &mut out);
                }
            }
        }
        let m = cfg.metrics;
        m.retained_events.store(
            self.runs.iter().map(Run::retained_events).sum(),
            Ordering::Relaxed,
        );
        m.buffered_events
            .store(self.buffer.len() as u64, Ordering::Relaxed);
        m.open_findings
            .store(self.ledger.open() as u64, Ordering::Relaxed);
        if let Some(w) = self.wm.filter(|w| *w != Timestamp::MAX) {
            m.watermark.store(w.as_second(), Ordering::Relaxed);
            if let Some(mx) = self.max_seen {
                m.watermark_delay_seconds.store(
                    (mx.as_second() - w.as_second()).max(0) as u64,
                    Ordering::Relaxed,
                );
            }
        }
        if let Some(mx) = self.max_seen {
            m.max_event_time
                .fetch_max(mx.as_second(), Ordering::Relaxed);
        }
        out
    }

    /// The watermark the clocks allow: the slowest active source's latest
    /// event minus the allowed lateness; sources silent for the idle
    /// timeout do not hold it back, and when all are silent it moves to
    /// the latest event seen.
    fn candidate(&self, cfg: &ShardConfig<'_>, now: Instant) -> Option<Timestamp> {
        let lateness = jiff::SignedDuration::try_from(cfg.lateness).unwrap_or_default();
        let mut active: Option<Timestamp> = None;
        let mut any_active = false;
        for (max, last) in self.clocks.values() {
            if now.duration_since(*last) < cfg.idle {
                any_active = true;
                // An active source that has delivered nothing yet holds
                // the watermark back.
                let Some(m) = max else {
                    return None;
                };
                let c = m.checked_sub(lateness).unwrap_or(Timestamp::MIN);
                active = Some(active.map_or(c, |a| a.min(c)));
            }
        }
        if any_active { active } else { self.max_seen }
    }

    fn handle(
        &mut self,
        cfg: &ShardConfig<'_>,
        u: FindingUpdate,
        batch_arrival: Option<Instant>,
        names: &dyn Fn(u32) -> String,
        out: &mut Vec<Emitted>,
    ) {
        let m = cfg.metrics;
        let mut f = u.finding;
        match u.update {
            UpdateKind::Opened | UpdateKind::Updated => {
                self.engine_open.insert(f.id.clone(), (f.first_seen, false));
            }
            UpdateKind::Closed => {
                self.engine_open.remove(&f.id);
            }
        }
        if self.floor.is_some_and(|fl| f.first_seen < fl) {
            Metrics::add(&m.replay_suppressed_total, 1);
            return;
        }
        if let Some(a) = cfg.allow
            && a.entries.iter().any(|e| e.covers(&f))
        {
            Metrics::add(&m.allowlisted_total, 1);
            return;
        }
        fix_evidence(&mut f, names);
        if let Some(d) = &cfg.decorate {
            (d.0)(&mut f);
        }
        let crossed = f.threshold_crossed_at;
        let value = match serde_json::to_value(&f) {
            Ok(v) => v,
            Err(_) => return,
        };
        let h = content_hash(&value);
        let p = Progress::of(&value);
        let emits = self.ledger.reconcile(
            &f.id,
            u.update == UpdateKind::Closed,
            &h,
            p,
            f.first_seen.as_second(),
        );
        if emits.is_empty() {
            Metrics::add(&m.replay_suppressed_total, 1);
        }
        for (kind, version) in emits {
            let ttd = match (kind, crossed) {
                (Kind::Opened, Some(c)) => {
                    let arrival = self.arrivals.get(&c).copied().or(batch_arrival);
                    arrival.map(|a| {
                        let t = Ttd {
                            processing_ms: a.elapsed().as_secs_f64() * 1000.0,
                            event_lag_s: self
                                .max_seen
                                .map_or(0, |mx| (mx.as_second() - c.as_second()).max(0)),
                        };
                        m.record_ttd(t.processing_ms, t.event_lag_s as f64);
                        t
                    })
                }
                _ => None,
            };
            match kind {
                Kind::Opened => Metrics::add(&m.opened_total, 1),
                Kind::Updated => Metrics::add(&m.updated_total, 1),
                Kind::Closed => Metrics::add(&m.closed_total, 1),
            }
            out.push(Emitted {
                kind,
                version,
                finding: value.clone(),
                ttd,
                rendered: cfg.render.as_ref().map(|r| (r.0)(&f, kind, version)),
            });
        }
    }

    /// True when something changed since the last checkpoint.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The state to persist. Positions lag by the retention horizon: a
    /// restart re-reads every record an open or future window may need.
    pub(crate) fn checkpoint(&mut self, sink_len: BTreeMap<String, u64>) -> Checkpoint {
        self.dirty = false;
        let mut skip = None;
        if !self.has_lookback
            && let Some(wm) = self.wm.filter(|w| *w != Timestamp::MAX)
        {
            let open_min = self.engine_open.values().map(|(t, _)| *t).min();
            let f = match open_min {
                Some(o) => o.min(sub(wm, self.wmax)),
                None => sub(wm, self.wmax),
            };
            let floor = max_opt(self.floor, Some(f));
            self.floor = floor;
            skip = floor.map(|fl| sub(fl, self.wmax));
            if let Some(fl) = floor {
                self.ledger.prune(fl.as_second());
            }
        } else if self.wm == Some(Timestamp::MAX) {
            // Flushed at the end of a finite source: everything was emitted.
            skip = self.max_seen;
            self.floor = self.max_seen.map(|m| {
                m.checked_add(jiff::SignedDuration::from_secs(1))
                    .unwrap_or(m)
            });
        }
        if let Some(s) = skip {
            self.skip_until = Some(s);
        }
        let mut resume = BTreeMap::new();
        let mut read_through = BTreeMap::new();
        for t in self.tracks.values_mut() {
            if let Some(s) = skip {
                while t.needed.front().is_some_and(|(_, time)| *time <= s) {
                    t.needed.pop_front();
                }
            }
            let p = t.needed.front().map_or(t.next, |(p, _)| *p);
            resume.insert(t.key.clone(), p);
            read_through.insert(t.key.clone(), t.next);
        }
        // Position spaces restored but not read again yet keep their
        // replay bounds.
        for (k, until) in &self.replay_until {
            read_through.entry(k.clone()).or_insert(Pos {
                pos: *until,
                rec: 0,
            });
        }
        Checkpoint {
            format: 1,
            shard: self.name.clone(),
            resume,
            read_through,
            floor: self.floor,
            skip_until: self.skip_until,
            watermark: self.wm,
            engine_open: self
                .engine_open
                .iter()
                .map(|(k, (t, _))| (k.clone(), *t))
                .collect(),
            ledger: self.ledger.clone(),
            sink_len,
        }
    }
}

fn max_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Evidence records carry the source index in their high bits; replace it
/// by the source's name (the engine run has no file table).
fn fix_evidence(f: &mut Finding, names: &dyn Fn(u32) -> String) {
    for e in &mut f.evidence {
        if e.file.is_empty() {
            let idx = (e.record >> REC_BITS) as u32;
            e.record &= REC_MASK;
            e.file = names(idx);
        }
    }
}
