//! `idrecon watch`: live detection on a stream with the rules, profiles,
//! allowlists and finding schema of `hunt` (see docs/STREAMING.md).

use anyhow::{Context, Result, bail};
use clap::Args;
use idrecon_rules::{Override, Profile};
use idrecon_stream::{
    KafkaOptions, SinkSpec, SourceSpec, WatchConfig, WebhookOptions, parse_duration,
    parse_metrics_addr, parse_property,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `idrecon watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Source: `stdin` (NDJSON or one envelope per line; ends with the input),
    /// `file:PATH[,PATH…]` (files or directories followed like `tail -F`), or
    /// `kafka:TOPIC[,TOPIC…]` (a consumer group; Event Hubs: the event hub names).
    #[arg(long, default_value = "stdin", value_parser = parse_source)]
    pub source: SourceSpec,
    /// Sink (repeatable): `stdout`, `file:PATH` (NDJSON, fsync'd), or an
    /// `http(s)://` webhook URL (JSON POST per update, retried with backoff).
    #[arg(long = "sink", value_name = "SINK", value_parser = parse_sink)]
    pub sinks: Vec<SinkSpec>,
    /// Output format of the sinks: `ndjson` (`{"update":…,"version":…,"finding":{…}}`) or
    /// `ocsf` (one OCSF Detection Finding per update: activity Create / Update / Close).
    #[arg(long, default_value = "ndjson")]
    pub format: String,
    /// State directory: checkpoints and the emission ledger, so a restart
    /// (even after `kill -9`) loses and repeats no finding update.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// How late (in event time, behind the latest event) an event may arrive
    /// and still be evaluated; later events are counted and written to the
    /// late-events file.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub allowed_lateness: Duration,
    /// Without input for this long (processing time), the watermark moves to
    /// the latest event seen and silent sources stop holding it back.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Stop after this long without input (followed files, Kafka).
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub stop_after_idle: Option<Duration>,
    /// When stopping on a signal or --stop-after-idle, close every window as
    /// if the stream had ended (default: keep them open in the checkpoint).
    #[arg(long)]
    pub flush_on_stop: bool,
    /// Reorder-buffer cap in events (older events are released early beyond it).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_buffered: usize,
    /// Window-state cap in events (the watermark is forced forward beyond it).
    #[arg(long, default_value_t = 5_000_000)]
    pub max_retained: u64,
    /// Largest single record (line or queue message) accepted; larger ones
    /// are rejected with their size and reading goes on. SIZE: bytes or a
    /// unit, e.g. 64MiB (the default), 512KiB; KB/MB/GB are powers of 1000,
    /// KiB/MiB/GiB powers of 1024.
    #[arg(long, value_name = "SIZE", value_parser = crate::limits::parse_size_usize)]
    pub max_record_bytes: Option<usize>,
    /// Checkpoint at least this often while records flow.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub checkpoint_interval: Duration,
    /// Where events older than the watermark are written (NDJSON); default
    /// STATE/late-events.ndjson when --state is given.
    #[arg(long, value_name = "FILE")]
    pub late_file: Option<PathBuf>,
    /// Serve Prometheus-style counters on this loopback address (e.g.
    /// 127.0.0.1:9464). SIGUSR1 prints them on standard error.
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_addr)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Extra webhook header, `Name: value` (repeatable), e.g. an Authorization header.
    #[arg(long = "webhook-header", value_name = "HEADER")]
    pub webhook_headers: Vec<String>,
    /// Webhook attempts per update before the run stops (uncommitted).
    #[arg(long, default_value_t = 8)]
    pub webhook_attempts: u32,
    /// First webhook retry delay (doubles per attempt, at most 30 s).
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    pub webhook_backoff: Duration,
    /// Kafka bootstrap servers (`host:port,…`).
    #[arg(long, value_name = "HOSTS")]
    pub kafka_brokers: Option<String>,
    /// Kafka consumer group.
    #[arg(long, default_value = "idrecon")]
    pub kafka_group: String,
    /// Repartition topic: re-key records by detection key so that several
    /// instances in one group find exactly what one finds.
    #[arg(long, value_name = "TOPIC")]
    pub kafka_repartition: Option<String>,
    /// Extra librdkafka property `key=value` (repeatable).
    #[arg(long = "kafka-set", value_name = "K=V", value_parser = parse_property)]
    pub kafka_set: Vec<(String, String)>,
    /// Name of an environment variable holding an Azure Event Hubs
    /// connection string (SASL PLAIN over TLS on port 9093).
    #[arg(long, value_name = "VAR")]
    pub eventhubs_connection_string_env: Option<String>,
    /// Rule profile: `seed` or `recommended`.
    #[arg(long, default_value = "recommended", value_parser = parse_profile)]
    pub profile: Profile,
    /// Override a rule parameter: RULE.PARAM=VALUE or PARAM=VALUE.
    #[arg(long = "set", value_name = "K=V", value_parser = parse_override)]
    pub sets: Vec<Override>,
    /// Run only this rule (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Allowlist file (TOML); default locations as for `hunt`.
    #[arg(long, value_name = "FILE")]
    pub allowlist: Option<PathBuf>,
    /// Ignore allowlists, including the default locations.
    #[arg(long, conflicts_with = "allowlist")]
    pub no_allowlist: bool,
    /// Do not print the summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_source(s: &str) -> Result<SourceSpec, String> {
    s.parse()
}

fn parse_sink(s: &str) -> Result<SinkSpec, String> {
    s.parse()
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

fn parse_override(s: &str) -> Result<Override, String> {
    s.parse()
        .map_err(|e: idrecon_rules::RuleError| e.to_string())
}

fn load_allowlist(a: &WatchArgs) -> Result<Option<idrecon_allow::Allowlist>> {
    if a.no_allowlist {
        return Ok(None);
    }
    let path = match &a.allowlist {
        Some(p) => Some(p.clone()),
        None => idrecon_allow::default_locations()
            .into_iter()
            .find(|p| p.is_file()),
    };
    let Some(path) = path else { return Ok(None) };
    let mut list = idrecon_allow::Allowlist::from_path(&path)?;
    let today = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    for w in list.apply(Vec::new(), today).warnings {
        eprintln!("warning: {w}");
    }
    list.entries.retain(|e| {
        e.expires
            .as_deref()
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            .is_none_or(|d| d >= today)
    });
    Ok(Some(list))
}

/// Runs `idrecon watch`.
pub fn watch(a: WatchArgs) -> Result<ExitCode> {
    if a.format != "ndjson" && a.format != "ocsf" {
        bail!(
            "unknown --format `{}` for watch (available: ndjson, ocsf)",
            a.format
        );
    }
    let catalogue = crate::pipeline::load_catalogue(a.profile, &a.sets, &a.rules)?;
    // OCSF: every update is a Detection Finding whose activity is the
    // update (1 Create = opened, 2 Update = updated, 3 Close = closed).
    let render = (a.format == "ocsf").then(|| {
        let meta = crate::pipeline::rule_meta(&catalogue);
        idrecon_stream::Renderer(std::sync::Arc::new(
            move |f: &idrecon_core::Finding, kind: idrecon_stream::Kind, _version: u32| {
                let mut v = idrecon_report::ocsf::detection_finding(
                    f,
                    meta.get(&f.detection),
                    env!("CARGO_PKG_VERSION"),
                );
                let (id, name) = match kind {
                    idrecon_stream::Kind::Opened => (1, "Create"),
                    idrecon_stream::Kind::Updated => (2, "Update"),
                    idrecon_stream::Kind::Closed => (3, "Close"),
                };
                if let Some(o) = v.as_object_mut() {
                    o.insert("activity_id".into(), id.into());
                    o.insert("activity_name".into(), name.into());
                    o.insert("type_uid".into(), (200_400 + id).into());
                    o.insert(
                        "type_name".into(),
                        format!("Detection Finding: {name}").into(),
                    );
                }
                v
            },
        ))
    });
    let allowlist = load_allowlist(&a)?;
    let mut headers = Vec::new();
    for h in &a.webhook_headers {
        let (k, v) = h
            .split_once(':')
            .with_context(|| format!("--webhook-header `{h}` is not `Name: value`"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let eventhubs_connection_string = match &a.eventhubs_connection_string_env {
        Some(var) => Some(std::env::var(var).with_context(|| {
            format!("environment variable {var} (the Event Hubs connection string) is not set")
        })?),
        None => None,
    };
    let topics = match &a.source {
        SourceSpec::Kafka(t) => t.clone(),
        _ => Vec::new(),
    };
    let cfg = WatchConfig {
        source: a.source.clone(),
        sinks: if a.sinks.is_empty() {
            vec![SinkSpec::Stdout]
        } else {
            a.sinks.clone()
        },
        rules: catalogue.rules().to_vec(),
        profile: a.profile.as_str().to_string(),
        allowlist,
        state: a.state.clone(),
        lateness: a.allowed_lateness,
        idle: a.idle_timeout,
        stop_after_idle: a.stop_after_idle,
        flush_on_stop: a.flush_on_stop,
        max_buffered: a.max_buffered.max(1),
        max_retained: a.max_retained,
        max_record_bytes: a
            .max_record_bytes
            .unwrap_or(WatchConfig::default().max_record_bytes),
        checkpoint_interval: a.checkpoint_interval,
        late_file: a.late_file.clone(),
        metrics_addr: a.metrics,
        webhook: WebhookOptions {
            attempts: a.webhook_attempts.max(1),
            initial_backoff: a.webhook_backoff,
            headers,
            ..WebhookOptions::default()
        },
        kafka: KafkaOptions {
            brokers: a.kafka_brokers.clone(),
            topics,
            group: a.kafka_group.clone(),
            repartition: a.kafka_repartition.clone(),
            properties: a.kafka_set.clone(),
            eventhubs_connection_string,
        },
        render,
        ..WatchConfig::default()
    };
    if !a.quiet
        && catalogue
            .rules()
            .iter()
            .any(|r| r.window.kind == idrecon_rules::WindowKind::Lookback)
        && !matches!(cfg.source, SourceSpec::Stdin)
    {
        eprintln!(
            "note: the {} profile has lookback rules; they are evaluated only when the stream is flushed (--flush-on-stop) and keep their events until then",
            a.profile.as_str()
        );
    }
    let out = idrecon_stream::watch(cfg)?;
    if !a.quiet {
        for r in out.rejects.iter().take(5) {
            eprintln!("rejected {r}");
        }
        for l in out.late.iter().take(5) {
            eprintln!("late {l}");
        }
        let late = out
            .metrics
            .late_total
            .load(std::sync::atomic::Ordering::Relaxed);
        if late > 0 {
            let to = a
                .late_file
                .clone()
                .or_else(|| a.state.as_ref().map(|d| d.join("late-events.ndjson")));
            match to {
                Some(p) => eprintln!(
                    "{late} late event(s) were not evaluated; they are in {}",
                    p.display()
                ),
                None => eprintln!(
                    "{late} late event(s) were not evaluated (give --late-file or --state to keep them, or raise --allowed-lateness)"
                ),
            }
        }
        eprintln!("{} ({})", out.metrics.summary(), out.stopped);
    }
    Ok(ExitCode::SUCCESS)
}
