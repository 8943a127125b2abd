//! `watch` end to end in-process: followed files give exactly the batch
//! findings, a stop and restart loses and repeats nothing, late events are
//! counted and kept, and the webhook sink retries a failing receiver.

mod common;

use common::{batch, check_updates, closed, corpus, rules, shuffle_within};
use idrecon_stream::{SinkSpec, SourceSpec, WatchConfig, WebhookOptions, watch};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn cfg(input: &Path, sinks: Vec<SinkSpec>, state: Option<&Path>, flush: bool) -> WatchConfig {
    WatchConfig {
        source: SourceSpec::Follow(vec![input.to_path_buf()]),
        sinks,
        rules: rules(),
        state: state.map(Path::to_path_buf),
        lateness: Duration::from_secs(120),
        stop_after_idle: Some(Duration::from_millis(800)),
        flush_on_stop: flush,
        ..WatchConfig::default()
    }
}

fn write_lines(path: &Path, lines: &[String], append: bool) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(path)
        .expect("open");
    for l in lines {
        writeln!(f, "{l}").expect("write");
    }
}

#[test]
fn followed_file_equals_batch() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("signins.ndjson");
    let lines = shuffle_within(&corpus(11), 100, 5);
    write_lines(&input, &lines, false);
    let out = dir.path().join("updates.ndjson");
    let o = watch(cfg(&input, vec![SinkSpec::File(out.clone())], None, true)).expect("watch");
    let text = std::fs::read_to_string(&out).expect("read");
    let last = check_updates(&text);
    let expected = batch(&input);
    assert!(expected.len() >= 4, "corpus too weak: {}", expected.len());
    assert_eq!(closed(&last), expected);
    assert_eq!(
        last.len(),
        expected.len(),
        "no finding beyond the batch ones"
    );
    let m = &o.metrics;
    assert_eq!(m.late_total.load(Ordering::Relaxed), 0);
    assert_eq!(m.events_total.load(Ordering::Relaxed), lines.len() as u64);
    assert!(m.ttd().count > 0);
}

#[test]
fn stop_and_restart_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("signins.ndjson");
    let state = dir.path().join("state");
    let out = dir.path().join("updates.ndjson");
    let lines = shuffle_within(&corpus(23), 100, 9);
    // Three runs over a growing file; the first two stop with windows open.
    let cuts = [lines.len() * 2 / 5, lines.len() * 3 / 4, lines.len()];
    let mut from = 0;
    for (i, cut) in cuts.iter().enumerate() {
        write_lines(&input, &lines[from..*cut], from > 0);
        from = *cut;
        let flush = i == cuts.len() - 1;
        watch(cfg(
            &input,
            vec![SinkSpec::File(out.clone())],
            Some(&state),
            flush,
        ))
        .expect("watch");
    }
    let text = std::fs::read_to_string(&out).expect("read");
    let last = check_updates(&text);
    assert_eq!(closed(&last), batch(&input));
    // A rerun over the same input emits nothing new.
    watch(cfg(
        &input,
        vec![SinkSpec::File(out.clone())],
        Some(&state),
        true,
    ))
    .expect("rerun");
    assert_eq!(std::fs::read_to_string(&out).expect("read"), text);
}

#[test]
fn late_events_are_counted_and_kept() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("signins.ndjson");
    let late_file = dir.path().join("late.ndjson");
    let mut lines: Vec<String> = corpus(5).into_iter().map(|(_, l)| l).collect();
    // An event from the small hours arriving at the end of the day.
    let stale = lines[3].clone();
    write_lines(&input, &lines, false);
    lines.push(stale.clone());
    let (path, append) = (input.clone(), vec![stale.clone()]);
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        write_lines(&path, &append, true);
    });
    let mut c = cfg(
        &input,
        vec![SinkSpec::File(dir.path().join("u.ndjson"))],
        None,
        true,
    );
    c.late_file = Some(late_file.clone());
    let o = watch(c).expect("watch");
    writer.join().expect("writer");
    assert_eq!(o.metrics.late_total.load(Ordering::Relaxed), 1);
    assert_eq!(o.late.len(), 1);
    let kept = std::fs::read_to_string(&late_file).expect("late file");
    let v: serde_json::Value = serde_json::from_str(kept.trim()).expect("json");
    let orig: serde_json::Value = serde_json::from_str(&stale).expect("json");
    assert_eq!(v["record"], orig);
    assert_eq!(v["record_number"], lines.len());
}

/// Requests a receiver saw: status answered, idempotency key, body.
type Seen = Arc<Mutex<Vec<(u16, String, String)>>>;

/// A receiver that answers 503 to the first `fail` requests.
fn receiver(fail: usize) -> (String, Seen) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook?token=secret", l.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for (n, conn) in l.incoming().enumerate() {
            let Ok(mut c) = conn else { continue };
            let mut r = BufReader::new(c.try_clone().expect("clone"));
            let mut len = 0usize;
            let mut key = String::new();
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("idempotency-key:") {
                    key = line["idempotency-key:".len()..].trim().to_string();
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let status = if n < fail { 503 } else { 200 };
            s2.lock().expect("lock").push((
                status,
                key,
                String::from_utf8_lossy(&body).into_owned(),
            ));
            let _ = write!(
                c,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

#[test]
fn webhook_retries_a_failing_receiver() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("signins.ndjson");
    let lines: Vec<String> = corpus(3).into_iter().map(|(_, l)| l).collect();
    write_lines(&input, &lines, false);
    let (url, seen) = receiver(2);
    let file = dir.path().join("u.ndjson");
    let mut c = cfg(
        &input,
        vec![SinkSpec::File(file.clone()), SinkSpec::Webhook(url)],
        None,
        true,
    );
    c.webhook = WebhookOptions {
        initial_backoff: Duration::from_millis(20),
        ..WebhookOptions::default()
    };
    let o = watch(c).expect("watch");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.iter().filter(|(s, _, _)| *s == 503).count(), 2);
    assert_eq!(o.metrics.sink_retries_total.load(Ordering::Relaxed), 2);
    let delivered: Vec<serde_json::Value> = seen
        .iter()
        .filter(|(s, _, _)| *s == 200)
        .map(|(_, _, b)| serde_json::from_str(b).expect("body"))
        .collect();
    let written: Vec<serde_json::Value> = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    assert!(!written.is_empty());
    assert_eq!(delivered, written, "each update delivered once, in order");
    let keys: Vec<&String> = seen
        .iter()
        .filter(|(s, _, _)| *s == 200)
        .map(|(_, k, _)| k)
        .collect();
    let first = &written[0];
    assert_eq!(
        keys[0],
        &format!(
            "{}-{}",
            first["finding"]["id"].as_str().expect("id"),
            first["version"]
        )
    );
}
