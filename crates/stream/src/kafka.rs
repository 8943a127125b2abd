//! Kafka / Azure Event Hubs source (feature `kafka`, librdkafka).
//!
//! Direct mode (no repartition topic): one consumer in group `G` reads the
//! raw topics into one shard; meant for a single instance (keys of one
//! source address are spread over partitions).
//!
//! Repartition mode (`--kafka-repartition TOPIC`), the Kafka Streams
//! pattern: every instance runs
//! 1. a *router* in group `G` that reads raw records, normalizes them, and
//!    for every rule key group that reads the event produces the raw record
//!    to `TOPIC`, partitioned by the group's key value; raw offsets are
//!    committed after the producer has the records acknowledged;
//! 2. a *detector* in group `G-detect` that reads `TOPIC`; each assigned
//!    partition is one shard with its own engine runs, watermark, ledger and
//!    checkpoint file (`STATE/shard-TOPIC-P.json`, on storage every instance
//!    reaches). A partition moving to another instance moves its state with
//!    it: the new owner loads the checkpoint and re-reads from the committed
//!    offset.
//!
//! Records carry their origin (`idr-src` raw topic/partition, `idr-off` raw
//! offset, `idr-idx` record index in the message, `idr-grp` key group):
//! evidence names the raw partition and offset whatever the instance count,
//! and records a router produced twice (a router crash between producing and
//! committing) are dropped by the detector.

use crate::config::KafkaOptions;
use crate::ledger::Pos;
use crate::metrics::Metrics;
use crate::routing::{KeyGroup, partition_of, route_key};
use crate::source::{Polled, Source, SrcRecord};
use crate::{StreamError, WatchConfig};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type RebalanceLog = Arc<Mutex<Vec<(bool, Vec<(String, i32)>)>>>;

/// Records assignments and revocations for the poll loop.
struct GroupCtx {
    log: RebalanceLog,
}

impl ClientContext for GroupCtx {}

impl ConsumerContext for GroupCtx {
    fn post_rebalance(&self, r: &Rebalance<'_>) {
        let (assign, tpl) = match r {
            Rebalance::Assign(t) => (true, *t),
            Rebalance::Revoke(t) => (false, *t),
            Rebalance::Error(_) => return,
        };
        let parts = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        if let Ok(mut l) = self.log.lock() {
            l.push((assign, parts));
        }
    }
}

/// Counts failed deliveries of the router.
struct RouterCtx {
    failed: Arc<AtomicU64>,
}

impl ClientContext for RouterCtx {}

impl ProducerContext for RouterCtx {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        if r.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn kerr(what: &str, e: impl std::fmt::Display) -> StreamError {
    StreamError::Kafka(format!("{what}: {e}"))
}

fn config(props: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in props {
        c.set(k, v);
    }
    c
}

struct Router {
    consumer: BaseConsumer<GroupCtx>,
    producer: BaseProducer<RouterCtx>,
    failed: Arc<AtomicU64>,
    topic: String,
    partitions: u32,
    groups: Vec<KeyGroup>,
    /// Next raw offset per partition, to commit once produced.
    pending: HashMap<(String, i32), i64>,
}

pub(crate) struct KafkaSource {
    topics: Vec<String>,
    /// Direct mode: the raw consumer. Repartition mode: the detector.
    consumer: BaseConsumer<GroupCtx>,
    log: RebalanceLog,
    router: Option<Router>,
    repartition: Option<String>,
    /// Direct mode: shard 0 is owned.
    direct_owned: std::sync::atomic::AtomicBool,
    group: String,
    max_record: usize,
    metrics: Arc<Metrics>,
    /// Raw partitions: assigned ones (direct mode) or all (repartition).
    upstream: Mutex<Vec<u32>>,
}

impl KafkaSource {
    pub(crate) fn new(
        cfg: &WatchConfig,
        groups: &[KeyGroup],
        metrics: Arc<Metrics>,
    ) -> Result<KafkaSource, StreamError> {
        let k: &KafkaOptions = &cfg.kafka;
        let topics = k.effective_topics();
        if topics.is_empty() {
            return Err(StreamError::Config(
                "kafka: name the topics (kafka:TOPIC[,TOPIC…]) or give a connection string with EntityPath".into(),
            ));
        }
        if topics.len() > 255 {
            return Err(StreamError::Config("kafka: at most 255 topics".into()));
        }
        let log: RebalanceLog = Arc::default();
        let (consumer, router) = match &k.repartition {
            None => {
                let c: BaseConsumer<GroupCtx> = config(&k.consumer_properties(&k.group)?)
                    .create_with_context(GroupCtx { log: log.clone() })
                    .map_err(|e| kerr("cannot create the consumer", e))?;
                let t: Vec<&str> = topics.iter().map(String::as_str).collect();
                c.subscribe(&t).map_err(|e| kerr("cannot subscribe", e))?;
                (c, None)
            }
            Some(rt) => {
                let raw: BaseConsumer<GroupCtx> = config(&k.consumer_properties(&k.group)?)
                    .create_with_context(GroupCtx {
                        log: Arc::default(),
                    })
                    .map_err(|e| kerr("cannot create the router consumer", e))?;
                let t: Vec<&str> = topics.iter().map(String::as_str).collect();
                raw.subscribe(&t).map_err(|e| kerr("cannot subscribe", e))?;
                let failed = Arc::new(AtomicU64::new(0));
                let mut pc = config(&k.client_properties()?);
                pc.set("linger.ms", "5");
                pc.set("acks", "all");
                for (pk, pv) in &k.properties {
                    pc.set(pk, pv);
                }
                let producer: BaseProducer<RouterCtx> = pc
                    .create_with_context(RouterCtx {
                        failed: failed.clone(),
                    })
                    .map_err(|e| kerr("cannot create the router producer", e))?;
                let md = producer
                    .client()
                    .fetch_metadata(Some(rt), Duration::from_secs(10))
                    .map_err(|e| kerr("cannot read the repartition topic's metadata", e))?;
                let partitions = md
                    .topics()
                    .iter()
                    .find(|t| t.name() == rt)
                    .map_or(0, |t| t.partitions().len() as u32);
                if partitions == 0 {
                    return Err(StreamError::Kafka(format!(
                        "the repartition topic `{rt}` does not exist; create it with as many partitions as instances you may run"
                    )));
                }
                let detect_group = format!("{}-detect", k.group);
                let det: BaseConsumer<GroupCtx> = config(&k.consumer_properties(&detect_group)?)
                    .create_with_context(GroupCtx { log: log.clone() })
                    .map_err(|e| kerr("cannot create the detector consumer", e))?;
                det.subscribe(&[rt.as_str()])
                    .map_err(|e| kerr("cannot subscribe to the repartition topic", e))?;
                (
                    det,
                    Some(Router {
                        consumer: raw,
                        producer,
                        failed,
                        topic: rt.clone(),
                        partitions,
                        groups: groups.to_vec(),
                        pending: HashMap::new(),
                    }),
                )
            }
        };
        let mut upstream = Vec::new();
        if k.repartition.is_some() {
            for (ti, t) in topics.iter().enumerate() {
                let md = consumer
                    .client()
                    .fetch_metadata(Some(t), Duration::from_secs(10))
                    .map_err(|e| kerr("cannot read the topic metadata", e))?;
                for mt in md.topics().iter().filter(|x| x.name() == t) {
                    for p in mt.partitions() {
                        upstream.push(((ti as u32) << 16) | (p.id() as u32 & 0xffff));
                    }
                }
            }
        }
        Ok(KafkaSource {
            upstream: Mutex::new(upstream),
            topics,
            consumer,
            log,
            router,
            repartition: k.repartition.clone(),
            direct_owned: std::sync::atomic::AtomicBool::new(false),
            group: k.group.clone(),
            max_record: cfg.max_record_bytes,
            metrics,
        })
    }

    fn src_id(&self, topic: &str, partition: i32) -> u32 {
        let t = self.topics.iter().position(|x| x == topic).unwrap_or(0) as u32;
        (t << 16) | (partition as u32 & 0xffff)
    }

    /// Routes what the raw consumer has; returns true when records moved.
    fn route(&mut self, budget: usize) -> Result<bool, StreamError> {
        let max_record = self.max_record;
        let Some(r) = self.router.as_mut() else {
            return Ok(false);
        };
        let mut moved = 0usize;
        while moved < budget {
            let Some(res) = r.consumer.poll(Duration::ZERO) else {
                break;
            };
            let m = match res {
                Ok(m) => m,
                Err(rdkafka::error::KafkaError::PartitionEOF(_)) => continue,
                Err(e) => return Err(kerr("router consume", e)),
            };
            moved += 1;
            let src = format!("{}/{}", m.topic(), m.partition());
            let off = m.offset();
            let payload = m.payload().unwrap_or_default();
            let records = idrecon_ingest::stream::split_records(payload, max_record);
            for (idx, rec) in records.into_iter().enumerate() {
                let Ok(v) = rec else {
                    Metrics::add(&self.metrics.rejected_total, 1);
                    continue;
                };
                let origin = idrecon_core::Origin::default();
                let Ok(mut ev) = idrecon_ingest::stream::normalize_json_record(&v, origin) else {
                    Metrics::add(&self.metrics.rejected_total, 1);
                    continue;
                };
                ev.derive();
                let body = v.to_string();
                for (gi, g) in r.groups.iter().enumerate() {
                    let Some(key) = route_key(g, &ev) else {
                        continue;
                    };
                    let route = format!("{}\u{1e}{key}", g.name);
                    let part = partition_of(&route, r.partitions) as i32;
                    let (offs, idxs, gis) = (off.to_string(), idx.to_string(), gi.to_string());
                    let headers = OwnedHeaders::new()
                        .insert(Header {
                            key: "idr-src",
                            value: Some(src.as_str()),
                        })
                        .insert(Header {
                            key: "idr-off",
                            value: Some(offs.as_str()),
                        })
                        .insert(Header {
                            key: "idr-idx",
                            value: Some(idxs.as_str()),
                        })
                        .insert(Header {
                            key: "idr-grp",
                            value: Some(gis.as_str()),
                        });
                    let mut rec = BaseRecord::to(&r.topic)
                        .partition(part)
                        .key(route.as_str())
                        .payload(body.as_str())
                        .headers(headers);
                    loop {
                        match r.producer.send(rec) {
                            Ok(()) => break,
                            Err((
                                rdkafka::error::KafkaError::MessageProduction(
                                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                                ),
                                back,
                            )) => {
                                rec = back;
                                r.producer.poll(Duration::from_millis(50));
                            }
                            Err((e, _)) => return Err(kerr("router produce", e)),
                        }
                    }
                }
            }
            r.pending
                .insert((m.topic().to_string(), m.partition()), off + 1);
        }
        if r.pending.is_empty() {
            return Ok(moved > 0);
        }
        r.producer
            .flush(Duration::from_secs(30))
            .map_err(|e| kerr("router flush", e))?;
        if r.failed.swap(0, Ordering::Relaxed) > 0 {
            return Err(StreamError::Kafka(
                "the router could not deliver records to the repartition topic; raw offsets were not committed (a restart re-routes them)".into(),
            ));
        }
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in r.pending.drain() {
            tpl.add_partition_offset(&t, p, Offset::Offset(o))
                .map_err(|e| kerr("offsets", e))?;
        }
        // A failed commit (a rebalance in between) only means re-routing,
        // which the detector de-duplicates.
        let _ = r.consumer.commit(&tpl, CommitMode::Sync);
        Ok(true)
    }

    fn drain_rebalances(&self, p: &mut Polled) {
        let events: Vec<(bool, Vec<(String, i32)>)> = match self.log.lock() {
            Ok(mut l) => std::mem::take(&mut *l),
            Err(_) => return,
        };
        for (assign, parts) in events {
            match &self.repartition {
                None => {
                    let owned = self.direct_owned.load(Ordering::Relaxed);
                    if assign && !parts.is_empty() && !owned {
                        self.direct_owned.store(true, Ordering::Relaxed);
                        if let Ok(mut u) = self.upstream.lock() {
                            *u = parts.iter().map(|(t, p)| self.src_id(t, *p)).collect();
                        }
                        p.rebalance.push((true, 0, format!("kafka-{}", self.group)));
                    } else if !assign && owned {
                        self.direct_owned.store(false, Ordering::Relaxed);
                        p.rebalance.push((false, 0, String::new()));
                    }
                }
                Some(rt) => {
                    for (t, part) in parts {
                        if &t == rt {
                            p.rebalance
                                .push((assign, part as usize, format!("{rt}-{part}")));
                        }
                    }
                }
            }
        }
    }

    fn record(&self, m: &rdkafka::message::BorrowedMessage<'_>) -> Option<SrcRecord> {
        let off = m.offset().max(0) as u64;
        let arrival = Instant::now();
        let payload = m.payload().unwrap_or_default().to_vec();
        if self.repartition.is_none() {
            let id = self.src_id(m.topic(), m.partition());
            return Some(SrcRecord {
                shard: 0,
                group: 0,
                pos_src: id,
                pos: Pos { pos: off, rec: off },
                next: Pos {
                    pos: off + 1,
                    rec: off + 1,
                },
                clock_src: id,
                rec: off,
                dedup: None,
                payload,
                cut_from: None,
                arrival,
            });
        }
        let h = m.headers()?;
        let get = |k: &str| -> Option<String> {
            (0..h.count())
                .map(|i| h.get(i))
                .find(|x| x.key == k)
                .and_then(|x| x.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let src = get("idr-src")?;
        let (t, part) = src.rsplit_once('/')?;
        let part: i32 = part.parse().ok()?;
        let raw_off: u64 = get("idr-off")?.parse().ok()?;
        let idx: u32 = get("idr-idx")?.parse().ok()?;
        let group: usize = get("idr-grp")?.parse().ok()?;
        Some(SrcRecord {
            shard: m.partition() as usize,
            group,
            pos_src: m.partition() as u32,
            pos: Pos { pos: off, rec: off },
            next: Pos {
                pos: off + 1,
                rec: off + 1,
            },
            clock_src: self.src_id(t, part),
            rec: raw_off,
            dedup: Some((raw_off, idx)),
            payload,
            cut_from: None,
            arrival,
        })
    }
}

impl Source for KafkaSource {
    fn poll(&mut self, timeout: Duration, max: usize) -> Result<Polled, StreamError> {
        let deadline = Instant::now() + timeout;
        let mut p = Polled::default();
        loop {
            let routed = self.route(max)?;
            let wait = if routed || self.router.is_none() {
                Duration::from_millis(10)
            } else {
                Duration::from_millis(20)
            };
            let mut first = true;
            while p.records.len() < max {
                let t = if first { wait } else { Duration::ZERO };
                first = false;
                let Some(res) = self.consumer.poll(t) else {
                    break;
                };
                match res {
                    Ok(m) => {
                        self.drain_rebalances(&mut p);
                        match self.record(&m) {
                            Some(r) => p.records.push(r),
                            None => Metrics::add(&self.metrics.rejected_total, 1),
                        }
                    }
                    Err(rdkafka::error::KafkaError::PartitionEOF(_)) => {}
                    Err(e) => return Err(kerr("consume", e)),
                }
            }
            self.drain_rebalances(&mut p);
            if !p.records.is_empty() || !p.rebalance.is_empty() || Instant::now() >= deadline {
                return Ok(p);
            }
        }
    }

    fn name(&self, clock_src: u32) -> String {
        let t = (clock_src >> 16) as usize;
        format!(
            "{}/{}",
            self.topics.get(t).map_or("?", String::as_str),
            clock_src & 0xffff
        )
    }

    fn pos_key(&self, pos_src: u32) -> String {
        match &self.repartition {
            Some(rt) => format!("{rt}/{pos_src}"),
            None => self.name(pos_src),
        }
    }

    fn clocks(&self, _shard: usize) -> Vec<u32> {
        self.upstream.lock().map(|u| u.clone()).unwrap_or_default()
    }

    fn restore(&mut self, _: usize, _: &BTreeMap<String, Pos>) -> Result<(), StreamError> {
        // The group's committed offsets are the checkpoint's resume
        // positions (committed right after each checkpoint); an older
        // committed offset only re-reads records the checkpoint skips.
        Ok(())
    }

    fn commit(&mut self, _: usize, resume: &BTreeMap<String, Pos>) -> Result<(), StreamError> {
        let mut tpl = TopicPartitionList::new();
        for (key, pos) in resume {
            let Some((t, part)) = key.rsplit_once('/') else {
                continue;
            };
            let Ok(part) = part.parse::<i32>() else {
                continue;
            };
            tpl.add_partition_offset(t, part, Offset::Offset(pos.pos as i64))
                .map_err(|e| kerr("offsets", e))?;
        }
        if tpl.count() > 0 {
            // Fails harmlessly for partitions revoked meanwhile.
            let _ = self.consumer.commit(&tpl, CommitMode::Sync);
        }
        Ok(())
    }
}
