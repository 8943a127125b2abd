//! `idrecon watch`: the detection engine on streams.
//!
//! Records come from a [source](SourceSpec) (standard input, followed files,
//! Kafka / Azure Event Hubs with the `kafka` feature), are normalized by the
//! same readers as `hunt` (`idrecon_ingest::stream`), wait in a reorder
//! buffer until the watermark (latest event time minus the allowed
//! lateness) passes them, and are pushed in event-time order into the same
//! engine run state as `hunt` ([`idrecon_engine::Run`]). After each batch
//! the run is advanced to the watermark and its finding updates
//! (`opened` / `updated` / `closed`, stable ids) go to the [sinks](SinkSpec).
//!
//! Delivery: positions are committed (Kafka offsets, the checkpoint in the
//! state directory) only after the sinks made the updates durable; the
//! committed positions lag by the retention horizon, and a restart re-reads
//! from there while a ledger of emitted `(id, version)` pairs keeps updates
//! from being emitted twice. See `docs/STREAMING.md`.

mod config;
mod error;
#[cfg(feature = "kafka")]
mod kafka;
pub mod ledger;
pub mod metrics;
mod routing;
mod shard;
mod sink;
mod source;

pub use config::{
    KafkaOptions, SinkSpec, SourceSpec, parse_duration, parse_metrics_addr, parse_property,
};
pub use error::StreamError;
pub use ledger::Kind;
pub use metrics::{Metrics, TtdSummary};
pub use routing::{KeyGroup, key_groups, partition_of, route_key};
pub use sink::WebhookOptions;

use idrecon_allow::Allowlist;
use idrecon_core::Origin;
use idrecon_engine::{Engine, EngineBuilder};
use idrecon_rules::Rule;
use ledger::{Checkpoint, Ledger, checkpoint_path};
use shard::{Late, RecMeta, Shard, ShardConfig};
use source::Source;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One finding update as emitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    /// opened / updated / closed.
    pub kind: Kind,
    /// 1 for `opened`, +1 per emission of the same finding id.
    pub version: u32,
    /// The finding, serialized exactly as `hunt` writes it.
    pub finding: serde_json::Value,
    /// Time to detect (opened updates of sliding-window findings).
    pub ttd: Option<Ttd>,
    /// A rendered line (see [`Renderer`]) that replaces the envelope.
    pub rendered: Option<serde_json::Value>,
}

/// Time to detect of one opened finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ttd {
    /// Processing time from the arrival of the threshold-crossing event to
    /// the emission (ms).
    pub processing_ms: f64,
    /// Event time between the crossing event and the latest event seen at
    /// emission (s): the allowed lateness the watermark waited for.
    pub event_lag_s: i64,
}

/// Everything `watch` needs.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Where records come from.
    pub source: SourceSpec,
    /// Where updates go (all of them; durable when every sink is).
    pub sinks: Vec<SinkSpec>,
    /// Rules to run (resolved catalogue).
    pub rules: Vec<Rule>,
    /// Profile name (`seed` changes output conventions).
    pub profile: String,
    /// Allowlist applied to every update.
    pub allowlist: Option<Allowlist>,
    /// Checkpoint directory; without it a restart starts over.
    pub state: Option<PathBuf>,
    /// How far behind the latest event an event may arrive and still be
    /// evaluated.
    pub lateness: Duration,
    /// Processing time without input after which the watermark moves to the
    /// latest event seen (and a silent source stops holding it back).
    pub idle: Duration,
    /// Stop after this long without input (followed files, Kafka).
    pub stop_after_idle: Option<Duration>,
    /// When stopping (signal, idle), close every window as if the stream
    /// ended, instead of checkpointing open windows for a restart.
    pub flush_on_stop: bool,
    /// Reorder buffer cap (events); older events are released early beyond.
    pub max_buffered: usize,
    /// Engine state cap (events); the watermark is forced forward beyond.
    pub max_retained: u64,
    /// Largest record accepted (bytes).
    pub max_record_bytes: usize,
    /// Records per poll.
    pub batch: usize,
    /// Checkpoint at least this often while records flow.
    pub checkpoint_interval: Duration,
    /// Where late events are written (default: `STATE/late-events.ndjson`).
    pub late_file: Option<PathBuf>,
    /// Serve metrics on this loopback address.
    pub metrics_addr: Option<SocketAddr>,
    /// Webhook delivery.
    pub webhook: WebhookOptions,
    /// Kafka / Event Hubs settings (source `kafka:`).
    pub kafka: KafkaOptions,
    /// Applied to every finding before it is emitted (e.g. the CLI's
    /// investigation guide); must be deterministic.
    pub decorate: Option<Decorator>,
    /// Renders each update as a whole output line's JSON instead of the
    /// `{"update", "version", "finding"}` envelope (e.g. OCSF Detection
    /// Findings whose activity says create / update / close).
    pub render: Option<Renderer>,
}

/// A deterministic change applied to every emitted finding.
#[derive(Clone)]
pub struct Decorator(pub Arc<dyn Fn(&mut idrecon_core::Finding) + Send + Sync>);

/// Renders one update (finding, what happened, version) as the JSON object
/// a sink writes on its own line; must be deterministic.
#[derive(Clone)]
#[allow(clippy::type_complexity)]
pub struct Renderer(
    pub Arc<dyn Fn(&idrecon_core::Finding, Kind, u32) -> serde_json::Value + Send + Sync>,
);

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Renderer")
    }
}

impl std::fmt::Debug for Decorator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decorator")
    }
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            source: SourceSpec::Stdin,
            sinks: vec![SinkSpec::Stdout],
            rules: Vec::new(),
            profile: "recommended".into(),
            allowlist: None,
            state: None,
            lateness: Duration::from_secs(120),
            idle: Duration::from_secs(30),
            stop_after_idle: None,
            flush_on_stop: false,
            max_buffered: 1_000_000,
            max_retained: 5_000_000,
            max_record_bytes: 64 << 20,
            batch: 2000,
            checkpoint_interval: Duration::from_secs(2),
            late_file: None,
            metrics_addr: None,
            webhook: WebhookOptions::default(),
            kafka: KafkaOptions::default(),
            decorate: None,
            render: None,
        }
    }
}

/// What a `watch` run did.
#[derive(Debug)]
pub struct WatchOutcome {
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The first reject reasons (`source:record: reason`).
    pub rejects: Vec<String>,
    /// The first late events (`source:record: time < watermark`).
    pub late: Vec<String>,
    /// Why the run stopped: `end of input`, `idle`, `signal`.
    pub stopped: &'static str,
    /// The metrics listener, when one was asked for.
    pub metrics_addr: Option<SocketAddr>,
}

/// Runs `watch` until a finite source ends, a stop signal (SIGINT,
/// SIGTERM) arrives, or the idle stop elapses.
pub fn watch(cfg: WatchConfig) -> Result<WatchOutcome, StreamError> {
    let metrics = Arc::new(Metrics::default());
    let metrics_addr = match cfg.metrics_addr {
        Some(a) => {
            let bound = metrics::serve(a, metrics.clone())
                .map_err(|e| StreamError::Config(format!("cannot listen on {a}: {e}")))?;
            eprintln!("watch: metrics on http://{bound}/metrics");
            Some(bound)
        }
        None => None,
    };
    let usr1 = Arc::new(AtomicBool::new(false));
    let term = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGUSR1, usr1.clone());
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone());
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, term.clone());

    let repartitioned =
        matches!(cfg.source, SourceSpec::Kafka(_)) && cfg.kafka.repartition.is_some();
    let groups: Vec<KeyGroup> = if repartitioned {
        key_groups(&cfg.rules)
    } else {
        vec![KeyGroup {
            name: "all".into(),
            rules: cfg.rules.clone(),
        }]
    };
    let engines: Vec<Engine> = groups
        .iter()
        .map(|g| {
            EngineBuilder::new()
                .rules(g.rules.iter().cloned())
                .profile(&cfg.profile)
                .build()
        })
        .collect();

    if let Some(dir) = &cfg.state {
        std::fs::create_dir_all(dir)
            .map_err(|e| StreamError::io(dir, "cannot create the state directory", e))?;
    }
    let recovered = recover_sinks(&cfg)?;
    let mut sinks = cfg
        .sinks
        .iter()
        .map(|s| sink::Sink::open(s, &cfg.webhook, metrics.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let late_path = cfg
        .late_file
        .clone()
        .or_else(|| cfg.state.as_ref().map(|d| d.join("late-events.ndjson")));
    let mut late_out = match &late_path {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| StreamError::io(p, "cannot open the late-events file", e))?,
        )),
        None => None,
    };

    let mut src: Box<dyn Source> = match &cfg.source {
        SourceSpec::Stdin => Box::new(source::Stdin::new(cfg.max_record_bytes)),
        SourceSpec::Follow(paths) => {
            Box::new(source::Follow::new(paths.clone(), cfg.max_record_bytes))
        }
        #[cfg(feature = "kafka")]
        SourceSpec::Kafka(_) => Box::new(kafka::KafkaSource::new(&cfg, &groups, metrics.clone())?),
        #[cfg(not(feature = "kafka"))]
        SourceSpec::Kafka(_) => {
            return Err(StreamError::Config(
                "this idrecon was built without Kafka support: rebuild with `--features kafka` (needs librdkafka-dev and pkg-config)".into(),
            ));
        }
    };
    let scfg = ShardConfig {
        engines: &engines,
        lateness: cfg.lateness,
        idle: cfg.idle,
        max_buffered: cfg.max_buffered,
        max_retained: cfg.max_retained,
        allow: cfg.allowlist.as_ref(),
        decorate: cfg.decorate.clone(),
        render: cfg.render.clone(),
        metrics: &metrics,
    };
    let mut shards: HashMap<usize, Shard<'_>> = HashMap::new();
    if !matches!(cfg.source, SourceSpec::Kafka(_)) {
        let sh = open_shard(&cfg, &scfg, 0, "main".into(), &recovered, src.as_mut())?;
        shards.insert(0, sh);
    }

    let mut rejects: Vec<String> = Vec::new();
    let mut lates: Vec<String> = Vec::new();
    let mut last_input = Instant::now();
    let mut last_ckpt = Instant::now();
    let poll_timeout = Duration::from_millis(200).min(cfg.idle.max(Duration::from_millis(10)));
    let stopped;
    loop {
        if term.load(Ordering::Relaxed) {
            stopped = "signal";
            break;
        }
        let polled = src.poll(poll_timeout, cfg.batch)?;
        for (assign, id, name) in polled.rebalance {
            // A revoked shard is dropped: its owner resumes from the last
            // checkpoint (written after every batch that emitted).
            shards.remove(&id);
            if assign {
                let sh = open_shard(&cfg, &scfg, id, name, &recovered, src.as_mut())?;
                shards.insert(id, sh);
            }
        }
        if !polled.records.is_empty() {
            last_input = Instant::now();
        }
        let mut late: Vec<Late> = Vec::new();
        for r in polled.records {
            let Some(sh) = shards.get_mut(&r.shard) else {
                continue;
            };
            let origin = Origin {
                file: r.clock_src,
                record: r.rec,
            };
            let mut events = Vec::new();
            let records = match r.cut_from {
                // A line over the limit: only its start was kept; the reject
                // gives its real size.
                Some(n) => vec![Err(idrecon_ingest::stream::too_large_reason(
                    n,
                    cfg.max_record_bytes,
                ))],
                _ => idrecon_ingest::stream::split_records(&r.payload, cfg.max_record_bytes),
            };
            for rec in records {
                Metrics::add(&metrics.records_total, 1);
                match rec.and_then(|v| {
                    idrecon_ingest::stream::normalize_json_record(&v, origin).map(|e| (e, v))
                }) {
                    Ok(ev) => {
                        Metrics::add(&metrics.events_total, 1);
                        events.push(ev);
                    }
                    Err(reason) => {
                        Metrics::add(&metrics.rejected_total, 1);
                        if rejects.len() < 20 {
                            rejects.push(format!("{}:{}: {reason}", src.name(r.clock_src), r.rec));
                        }
                    }
                }
            }
            let key = src.pos_key(r.pos_src);
            let meta = RecMeta {
                pos_src: r.pos_src,
                pos_key: &key,
                pos: r.pos,
                next: r.next,
                clock_src: r.clock_src,
                rec: r.rec,
                dedup: r.dedup,
                arrival: r.arrival,
            };
            sh.offer(&meta, events, r.group, &metrics, &mut late);
        }
        write_late(&mut late_out, &late, &mut lates, src.as_ref())?;
        let now = Instant::now();
        let names = |i: u32| src.name(i);
        let mut out = Vec::new();
        let mut ids: Vec<usize> = shards.keys().copied().collect();
        ids.sort_unstable();
        for id in &ids {
            if let Some(sh) = shards.get_mut(id) {
                out.extend(sh.step(&scfg, now, polled.end, &names));
            }
        }
        for s in &mut sinks {
            s.deliver(&out)?;
        }
        let due = !out.is_empty() || polled.end || last_ckpt.elapsed() >= cfg.checkpoint_interval;
        if due {
            checkpoint_all(
                &cfg,
                &metrics,
                &mut shards,
                &sinks,
                src.as_mut(),
                &mut late_out,
            )?;
            last_ckpt = Instant::now();
        }
        if usr1.swap(false, Ordering::Relaxed) {
            eprint!("{}", metrics.render());
        }
        if polled.end {
            stopped = "end of input";
            break;
        }
        if cfg
            .stop_after_idle
            .is_some_and(|d| last_input.elapsed() >= d)
        {
            stopped = "idle";
            break;
        }
    }
    if stopped != "end of input" && cfg.flush_on_stop {
        let names = |i: u32| src.name(i);
        let mut out = Vec::new();
        let mut ids: Vec<usize> = shards.keys().copied().collect();
        ids.sort_unstable();
        for id in &ids {
            if let Some(sh) = shards.get_mut(id) {
                out.extend(sh.step(&scfg, Instant::now(), true, &names));
            }
        }
        for s in &mut sinks {
            s.deliver(&out)?;
        }
    }
    checkpoint_all(
        &cfg,
        &metrics,
        &mut shards,
        &sinks,
        src.as_mut(),
        &mut late_out,
    )?;
    Ok(WatchOutcome {
        metrics,
        rejects,
        late: lates,
        stopped,
        metrics_addr,
    })
}

fn open_shard<'e>(
    cfg: &WatchConfig,
    scfg: &ShardConfig<'e>,
    id: usize,
    name: String,
    recovered: &Ledger,
    src: &mut dyn Source,
) -> Result<Shard<'e>, StreamError> {
    let ckpt = match &cfg.state {
        Some(dir) => Checkpoint::load(&checkpoint_path(dir, &name))?,
        None => None,
    };
    if let Some(c) = &ckpt {
        src.restore(id, &c.resume)?;
    }
    let clocks = src.clocks(id);
    Ok(Shard::new(name, scfg, ckpt, recovered, &clocks))
}

fn checkpoint_all(
    cfg: &WatchConfig,
    metrics: &Metrics,
    shards: &mut HashMap<usize, Shard<'_>>,
    sinks: &[sink::Sink],
    src: &mut dyn Source,
    late_out: &mut Option<std::io::BufWriter<std::fs::File>>,
) -> Result<(), StreamError> {
    if let Some(w) = late_out {
        w.flush()
            .and_then(|()| w.get_ref().sync_data())
            .map_err(|e| StreamError::io("late-events file", "cannot write", e))?;
    }
    let lens = sink::lengths(sinks);
    for (id, sh) in shards.iter_mut() {
        if !sh.is_dirty() {
            continue;
        }
        let c = sh.checkpoint(lens.clone());
        if let Some(dir) = &cfg.state {
            c.store(&checkpoint_path(dir, &sh.name))?;
            Metrics::add(&metrics.checkpoints_total, 1);
        }
        src.commit(*id, &c.resume)?;
    }
    Ok(())
}

/// Reads back updates that file sinks received after the last checkpoint
/// (a crash between the fsync of the sink and the checkpoint) and cuts a
/// partial last line.
fn recover_sinks(cfg: &WatchConfig) -> Result<Ledger, StreamError> {
    let mut ledger = Ledger::default();
    let Some(dir) = &cfg.state else {
        return Ok(ledger);
    };
    let mut from: BTreeMap<String, u64> = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            let is_ckpt = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("shard-") && n.ends_with(".json"));
            if !is_ckpt {
                continue;
            }
            if let Some(c) = Checkpoint::load(&p)? {
                for (path, len) in c.sink_len {
                    let e = from.entry(path).or_insert(len);
                    *e = (*e).min(len);
                }
            }
        }
    }
    for s in &cfg.sinks {
        if let SinkSpec::File(p) = s {
            let start = from.get(&p.display().to_string()).copied().unwrap_or(0);
            for (id, kind, v, f) in sink::recover_tail(p, start)? {
                ledger.observe(&id, &kind, v, &f);
            }
        }
    }
    Ok(ledger)
}

fn write_late(
    out: &mut Option<std::io::BufWriter<std::fs::File>>,
    late: &[Late],
    first: &mut Vec<String>,
    src: &dyn Source,
) -> Result<(), StreamError> {
    for l in late {
        let name = src.name(l.clock_src);
        if first.len() < 20 {
            first.push(format!(
                "{name}:{}: event time {} is before the watermark {}",
                l.rec, l.time, l.watermark
            ));
        }
        if let Some(w) = out {
            let line = serde_json::json!({
                "source": name,
                "record_number": l.rec,
                "time": l.time.to_string(),
                "watermark": l.watermark.to_string(),
                "record": l.record,
            });
            writeln!(w, "{line}")
                .map_err(|e| StreamError::io("late-events file", "cannot write", e))?;
        }
    }
    Ok(())
}
