//! Kafka tests against librdkafka's mock cluster (a Kafka-protocol broker
//! on 127.0.0.1 inside this test process). `watch` runs in child processes
//! (this test binary re-executed) so that it can be killed with SIGKILL.
#![cfg(feature = "kafka")]

mod common;

use common::{batch, check_updates, corpus, rules, shuffle_within};
use idrecon_stream::{KafkaOptions, SinkSpec, SourceSpec, WatchConfig, watch};
use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const CHILD: &str = "IDRECON_KAFKA_CHILD";

/// The child: runs `watch` as the JSON spec in the environment says.
#[test]
#[ignore = "child process of the Kafka tests (runs only when re-executed by them)"]
fn kafka_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let s: Value = serde_json::from_str(&spec).expect("spec");
    let text = |k: &str| s[k].as_str().map(str::to_string);
    let topics: Vec<String> = vec![text("topic").expect("topic")];
    let cfg = WatchConfig {
        source: SourceSpec::Kafka(topics.clone()),
        sinks: vec![SinkSpec::File(text("sink").expect("sink").into())],
        rules: rules(),
        state: text("state").map(Into::into),
        lateness: Duration::from_secs(120),
        idle: Duration::from_secs(2),
        stop_after_idle: Some(Duration::from_secs(s["stop_after"].as_u64().unwrap_or(8))),
        flush_on_stop: s["flush"].as_bool().unwrap_or(false),
        kafka: KafkaOptions {
            brokers: text("brokers"),
            topics,
            group: text("group").expect("group"),
            repartition: text("repartition"),
            // Quick takeover of a killed member's partitions.
            properties: vec![
                ("session.timeout.ms".into(), "6000".into()),
                ("max.poll.interval.ms".into(), "7000".into()),
            ],
            ..KafkaOptions::default()
        },
        ..WatchConfig::default()
    };
    let o = watch(cfg).expect("watch");
    eprintln!("child: {} ({})", o.metrics.summary(), o.stopped);
}

fn spawn(spec: Value) -> Child {
    Command::new(std::env::current_exe().expect("exe"))
        .args(["kafka_child", "--exact", "--ignored", "--nocapture"])
        .env(CHILD, spec.to_string())
        .spawn()
        .expect("spawn child")
}

fn wait(mut c: Child, limit: Duration) {
    let start = Instant::now();
    loop {
        if let Some(st) = c.try_wait().expect("wait") {
            assert!(st.success(), "child failed: {st}");
            return;
        }
        if start.elapsed() > limit {
            let _ = c.kill();
            panic!("child did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn producer(brokers: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer")
}

/// Produces lines round-robin over `partitions` (each partition keeps the
/// corpus order, so its disorder stays within the allowed lateness).
fn produce(p: &BaseProducer, topic: &str, partitions: i32, lines: &[String], from: usize) {
    for (i, l) in lines.iter().enumerate() {
        let part = ((from + i) % partitions as usize) as i32;
        let mut rec = BaseRecord::<(), str>::to(topic)
            .partition(part)
            .payload(l.as_str());
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    rec = back;
                    p.poll(Duration::from_millis(20));
                }
            }
        }
    }
    p.flush(Duration::from_secs(30)).expect("flush");
}

/// Every update line of the sink files, checked as one stream per id
/// (versions 1, 2, … across instances); the last update of every id.
fn merged(sinks: &[&Path]) -> BTreeMap<String, (String, u32, Value)> {
    let mut all: Vec<(String, u32, String)> = Vec::new();
    for s in sinks {
        let text = std::fs::read_to_string(s).unwrap_or_default();
        for l in text.lines().filter(|l| !l.is_empty()) {
            let v: Value = serde_json::from_str(l).expect("json");
            all.push((
                v["finding"]["id"].as_str().expect("id").to_string(),
                v["version"].as_u64().expect("v") as u32,
                l.to_string(),
            ));
        }
    }
    all.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let text: Vec<String> = all.into_iter().map(|(_, _, l)| l).collect();
    check_updates(&text.join("\n"))
}

/// A finding without where its evidence came from (Kafka evidence names
/// partitions and offsets, the batch reference a file and line numbers).
fn unplaced(mut f: Value) -> Value {
    if let Some(ev) = f["evidence"].as_array_mut() {
        for e in ev {
            if let Some(o) = e.as_object_mut() {
                o.remove("file");
                o.remove("record");
            }
        }
    }
    f
}

#[test]
fn kill_9_mid_stream_then_restart_loses_and_repeats_nothing() {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic("signins", 3, 1).expect("topic");
    let brokers = mock.bootstrap_servers();
    assert!(brokers.starts_with("127.0.0.1:"), "{brokers}");
    let dir = tempfile::tempdir().expect("tmp");
    let lines = shuffle_within(&corpus(41), 100, 3);
    let reference = dir.path().join("all.ndjson");
    std::fs::write(&reference, lines.join("\n") + "\n").expect("write");
    let sink = dir.path().join("updates.ndjson");
    let spec = |stop: u64, flush: bool| {
        json!({
            "brokers": brokers, "topic": "signins", "group": "g1",
            "state": dir.path().join("state"), "sink": sink,
            "stop_after": stop, "flush": flush,
        })
    };
    let p = producer(&brokers);
    let half = lines.len() / 2;
    produce(&p, "signins", 3, &lines[..half], 0);
    let a = spawn(spec(60, false));
    // Let it detect something, then kill it while the rest is produced.
    let start = Instant::now();
    while std::fs::read_to_string(&sink)
        .unwrap_or_default()
        .lines()
        .count()
        < 3
    {
        assert!(start.elapsed() < Duration::from_secs(60), "no output");
        std::thread::sleep(Duration::from_millis(20));
    }
    let writer = {
        let brokers = brokers.clone();
        let rest: Vec<String> = lines[half..].to_vec();
        std::thread::spawn(move || {
            let p = producer(&brokers);
            for (i, chunk) in rest.chunks(200).enumerate() {
                produce(&p, "signins", 3, chunk, half + i * 200);
                std::thread::sleep(Duration::from_millis(30));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(150));
    let mut a = a;
    a.kill().expect("kill -9");
    let _ = a.wait();
    let before = std::fs::read_to_string(&sink)
        .unwrap_or_default()
        .lines()
        .count();
    // The killed member's session (10 s) must expire before the group
    // hands its partitions over.
    let b = spawn(spec(20, true));
    writer.join().expect("producer");
    wait(b, Duration::from_secs(120));
    let last = merged(&[&sink]);
    if std::env::var("IDRECON_DEBUG").is_ok() {
        let _ = std::fs::copy(&sink, "/tmp/kafka-kill-sink.ndjson");
        let _ = std::fs::copy(&reference, "/tmp/kafka-kill-all.ndjson");
    }
    let got: BTreeMap<String, Value> = last
        .iter()
        .map(|(id, (k, _, f))| {
            assert_eq!(k, "closed", "{id} not closed after the flush");
            (id.clone(), unplaced(f.clone()))
        })
        .collect();
    let want: BTreeMap<String, Value> = batch(&reference)
        .into_iter()
        .map(|(id, f)| (id, unplaced(f)))
        .collect();
    assert!(before > 0);
    assert_eq!(
        got, want,
        "findings after kill -9 and restart differ from hunt"
    );
}

#[test]
fn two_instances_in_one_group_find_what_one_finds() {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic("raw", 3, 1).expect("topic");
    mock.create_topic("rekey", 4, 1).expect("topic");
    let brokers = mock.bootstrap_servers();
    let dir = tempfile::tempdir().expect("tmp");
    let lines = shuffle_within(&corpus(77), 100, 8);
    produce(&producer(&brokers), "raw", 3, &lines, 0);
    let spec = |group: &str, state: &str, sink: &Path| {
        json!({
            "brokers": brokers, "topic": "raw", "group": group, "repartition": "rekey",
            "state": dir.path().join(state), "sink": sink, "stop_after": 8,
        })
    };
    let solo = dir.path().join("solo.ndjson");
    wait(
        spawn(spec("solo", "solo-state", &solo)),
        Duration::from_secs(120),
    );
    let (d1, d2) = (
        dir.path().join("duo1.ndjson"),
        dir.path().join("duo2.ndjson"),
    );
    let c1 = spawn(spec("duo", "duo-state", &d1));
    std::thread::sleep(Duration::from_millis(300));
    let c2 = spawn(spec("duo", "duo-state", &d2));
    wait(c1, Duration::from_secs(120));
    wait(c2, Duration::from_secs(120));
    let one: BTreeMap<String, Value> = merged(&[&solo])
        .into_iter()
        .map(|(id, (_, _, f))| (id, f))
        .collect();
    let two: BTreeMap<String, Value> = merged(&[&d1, &d2])
        .into_iter()
        .map(|(id, (_, _, f))| (id, f))
        .collect();
    assert!(one.len() >= 4, "{}", one.len());
    assert_eq!(one, two, "two instances differ from one");
    // And both agree with hunt on the findings that closed.
    let reference = dir.path().join("all.ndjson");
    std::fs::write(&reference, lines.join("\n") + "\n").expect("write");
    let want = batch(&reference);
    for (id, f) in &one {
        if let Some(w) = want.get(id)
            && f["last_seen"] == w["last_seen"]
        {
            assert_eq!(unplaced(f.clone()), unplaced(w.clone()), "{id}");
        }
    }
}
