//! `idrecon watch` following a growing file: killed with SIGKILL in the
//! middle of the stream and restarted with the same state directory, it
//! loses no finding update and repeats none; the final findings equal
//! `idrecon hunt` on the whole file. Also: SIGUSR1 prints the counters and
//! `--metrics` serves them.

#[path = "../../stream/tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_idrecon");

fn start(input: &Path, sink: &Path, state: &Path, extra: &[&str]) -> Child {
    Command::new(BIN)
        .args(["watch", "--no-allowlist", "--source"])
        .arg(format!("file:{}", input.display()))
        .arg("--sink")
        .arg(format!("file:{}", sink.display()))
        .arg("--state")
        .arg(state)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn idrecon watch")
}

fn lines_in(p: &Path) -> usize {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .count()
}

fn append(p: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .expect("open");
    for l in lines {
        writeln!(f, "{l}").expect("write");
    }
}

fn hunt(p: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    let out = Command::new(BIN)
        .args(["hunt", "--format", "ndjson", "--no-allowlist", "-q"])
        .arg(p)
        .output()
        .expect("hunt");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f: serde_json::Value = serde_json::from_str(l).expect("json");
            if let Some(o) = f.as_object_mut() {
                o.remove("investigation");
            }
            (f["id"].as_str().expect("id").to_string(), f)
        })
        .collect()
}

fn metrics_addr(stderr: &mut dyn Read) -> String {
    let mut seen = String::new();
    let mut b = [0u8; 1];
    while !seen.contains("/metrics\n") {
        if stderr.read(&mut b).unwrap_or(0) == 0 {
            break;
        }
        seen.push(b[0] as char);
    }
    let start = seen.find("http://").expect("metrics address") + 7;
    let end = seen[start..].find('/').expect("path") + start;
    seen[start..end].to_string()
}

fn get(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    body
}

#[test]
fn kill_9_and_restart_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("signins.ndjson");
    let sink = dir.path().join("updates.ndjson");
    let state = dir.path().join("state");
    let lines = common::shuffle_within(&common::corpus(7), 100, 2);
    let chunks: Vec<&[String]> = lines.chunks(150).collect();
    let mut a = start(
        &input,
        &sink,
        &state,
        &["--stop-after-idle", "60s", "--metrics", "127.0.0.1:0"],
    );
    let mut err = a.stderr.take().expect("stderr");
    let addr = metrics_addr(&mut err);
    let mut next = 0;
    let t0 = Instant::now();
    // Feed until the first findings are out, then kill mid-stream.
    while lines_in(&sink) < 2 || next < chunks.len() / 3 {
        assert!(next < chunks.len(), "no finding before the input ran out");
        append(&input, chunks[next]);
        next += 1;
        std::thread::sleep(Duration::from_millis(40));
        assert!(t0.elapsed() < Duration::from_secs(60));
    }
    let body = get(&addr);
    assert!(body.contains("idrecon_watch_records_total"), "{body}");
    assert!(body.contains("idrecon_watch_ttd_ms"), "{body}");
    let usr1 = Command::new("kill")
        .args(["-USR1", &a.id().to_string()])
        .status()
        .expect("kill -USR1");
    assert!(usr1.success());
    std::thread::sleep(Duration::from_millis(400));
    // One more chunk in flight when it is killed (on a slow machine the
    // first findings may only come out once every chunk is in).
    if let Some(c) = chunks.get(next) {
        append(&input, c);
        next += 1;
    }
    a.kill().expect("kill -9");
    let _ = a.wait();
    let mut printed = String::new();
    let _ = err.read_to_string(&mut printed);
    assert!(
        printed.contains("idrecon_watch_late_total"),
        "SIGUSR1 printed: {printed}"
    );
    let before = lines_in(&sink);
    assert!(before >= 2);
    // Restart while the file keeps growing; flush when it goes quiet.
    let b = start(
        &input,
        &sink,
        &state,
        &["--stop-after-idle", "2s", "--flush-on-stop"],
    );
    for c in &chunks[next..] {
        append(&input, c);
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = b.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = std::fs::read_to_string(&sink).expect("sink");
    let last = common::check_updates(&text);
    let want = hunt(&input);
    assert!(want.len() >= 4);
    assert_eq!(common::closed(&last), want, "{stderr}");
    assert_eq!(last.len(), want.len());
}
