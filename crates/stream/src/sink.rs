//! Sinks for finding updates: NDJSON on standard output or in a file, and
//! an HTTP webhook. A sink reports when what it was given is durable (file:
//! fsync'd; webhook: acknowledged with a 2xx); only then are positions
//! committed.

use crate::config::{SinkSpec, redact_url};
use crate::metrics::Metrics;
use crate::{Emitted, StreamError};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Webhook delivery settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// Attempts per update before giving up (the run then stops without
    /// committing, so a restart resends).
    pub attempts: u32,
    /// First retry delay; doubles per attempt.
    pub initial_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Extra request headers (`Authorization`, …).
    pub headers: Vec<(String, String)>,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            attempts: 8,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            headers: Vec::new(),
        }
    }
}

/// One open sink.
pub(crate) enum Sink {
    Stdout(std::io::Stdout),
    File {
        path: PathBuf,
        file: std::io::BufWriter<File>,
        len: u64,
    },
    Webhook {
        url: String,
        agent: ureq::Agent,
        opts: WebhookOptions,
        metrics: Arc<Metrics>,
    },
}

/// The NDJSON line of an update.
pub(crate) fn line_of(u: &Emitted) -> String {
    if let Some(r) = &u.rendered {
        return r.to_string();
    }
    let mut m = serde_json::Map::new();
    m.insert("update".into(), u.kind.as_str().into());
    m.insert("version".into(), u.version.into());
    m.insert("finding".into(), u.finding.clone());
    if let Some(t) = &u.ttd {
        m.insert(
            "ttd".into(),
            serde_json::json!({
                "processing_ms": (t.processing_ms * 1000.0).round() / 1000.0,
                "event_time_lag_s": t.event_lag_s,
            }),
        );
    }
    serde_json::Value::Object(m).to_string()
}

impl Sink {
    pub(crate) fn open(
        spec: &SinkSpec,
        webhook: &WebhookOptions,
        metrics: Arc<Metrics>,
    ) -> Result<Sink, StreamError> {
        Ok(match spec {
            SinkSpec::Stdout => Sink::Stdout(std::io::stdout()),
            SinkSpec::File(p) => {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| StreamError::io(p, "cannot open the sink file", e))?;
                let len = f
                    .metadata()
                    .map_err(|e| StreamError::io(p, "cannot examine the sink file", e))?
                    .len();
                Sink::File {
                    path: p.clone(),
                    file: std::io::BufWriter::new(f),
                    len,
                }
            }
            SinkSpec::Webhook(url) => {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(webhook.timeout))
                    .http_status_as_error(false)
                    .build()
                    .into();
                Sink::Webhook {
                    url: url.clone(),
                    agent,
                    opts: webhook.clone(),
                    metrics,
                }
            }
        })
    }

    fn name(&self) -> String {
        match self {
            Sink::Stdout(_) => "stdout".into(),
            Sink::File { path, .. } => format!("file:{}", path.display()),
            Sink::Webhook { url, .. } => redact_url(url),
        }
    }

    /// Writes updates and makes them durable.
    pub(crate) fn deliver(&mut self, updates: &[Emitted]) -> Result<(), StreamError> {
        if updates.is_empty() {
            return Ok(());
        }
        let name = self.name();
        let err = |e: std::io::Error| StreamError::Sink {
            sink: name.clone(),
            reason: e.to_string(),
        };
        match self {
            Sink::Stdout(out) => {
                let mut lock = out.lock();
                for u in updates {
                    writeln!(lock, "{}", line_of(u)).map_err(err)?;
                }
                lock.flush().map_err(err)?;
            }
            Sink::File { file, len, .. } => {
                for u in updates {
                    let l = line_of(u);
                    file.write_all(l.as_bytes()).map_err(err)?;
                    file.write_all(b"\n").map_err(err)?;
                    *len += l.len() as u64 + 1;
                }
                file.flush().map_err(err)?;
                file.get_ref().sync_data().map_err(err)?;
            }
            Sink::Webhook {
                url,
                agent,
                opts,
                metrics,
            } => {
                for u in updates {
                    post(agent, url, opts, metrics, u).map_err(|reason| StreamError::Sink {
                        sink: name.clone(),
                        reason,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// File sinks: path and length after the last durable write.
    pub(crate) fn file_len(&self) -> Option<(String, u64)> {
        match self {
            Sink::File { path, len, .. } => Some((path.display().to_string(), *len)),
            _ => None,
        }
    }
}

/// POSTs one update, retrying connection errors, 408, 425, 429 and 5xx
/// with exponential backoff (honouring `Retry-After` in seconds).
fn post(
    agent: &ureq::Agent,
    url: &str,
    opts: &WebhookOptions,
    metrics: &Metrics,
    u: &Emitted,
) -> Result<(), String> {
    let body = line_of(u);
    let key = format!(
        "{}-{}",
        u.finding
            .get("id")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(""),
        u.version
    );
    let mut delay = opts.initial_backoff;
    let mut last = String::new();
    for attempt in 1..=opts.attempts.max(1) {
        let mut req = agent
            .post(url)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &key)
            .header("User-Agent", concat!("idrecon/", env!("CARGO_PKG_VERSION")));
        for (k, v) in &opts.headers {
            req = req.header(k, v);
        }
        let mut retry_after = None;
        match req.send(body.as_bytes()) {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok(());
                }
                last = format!("HTTP {status}");
                retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let retryable = matches!(status, 408 | 425 | 429) || status >= 500;
                if !retryable {
                    return Err(format!(
                        "the receiver answered {last}, which is not retried (check the URL and credentials)"
                    ));
                }
            }
            Err(e) => last = e.to_string(),
        }
        if attempt == opts.attempts.max(1) {
            break;
        }
        Metrics::add(&metrics.sink_retries_total, 1);
        let wait = retry_after.unwrap_or(delay).min(opts.max_backoff);
        std::thread::sleep(wait);
        delay = (delay * 2).min(opts.max_backoff);
    }
    Err(format!(
        "gave up after {} attempts (last: {last})",
        opts.attempts.max(1)
    ))
}

/// After a crash: cuts a partial last line off a file sink and reads back
/// the updates written after `from` (the length the last checkpoint saw).
/// Returns `(finding id, update kind, version, finding)` tuples.
pub(crate) fn recover_tail(
    path: &Path,
    from: u64,
) -> Result<Vec<(String, String, u32, serde_json::Value)>, StreamError> {
    let mut f = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StreamError::io(path, "cannot open the sink file", e)),
    };
    let len = f
        .metadata()
        .map_err(|e| StreamError::io(path, "cannot examine the sink file", e))?
        .len();
    let from = from.min(len);
    f.seek(SeekFrom::Start(from))
        .map_err(|e| StreamError::io(path, "cannot read the sink file", e))?;
    let mut r = BufReader::new((&f).take(len - from));
    let mut out = Vec::new();
    let mut good = from;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| StreamError::io(path, "cannot read the sink file", e))?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        good += n as u64;
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&buf) else {
            continue;
        };
        let kind = v.get("update").and_then(|x| x.as_str()).unwrap_or("");
        let version = v.get("version").and_then(|x| x.as_u64()).unwrap_or(0) as u32;
        let Some(finding) = v.get("finding") else {
            continue;
        };
        let Some(id) = finding.get("id").and_then(|x| x.as_str()) else {
            continue;
        };
        out.push((id.to_string(), kind.to_string(), version, finding.clone()));
    }
    drop(r);
    if good < len {
        f.set_len(good)
            .map_err(|e| StreamError::io(path, "cannot cut the partial last line", e))?;
        f.sync_all()
            .map_err(|e| StreamError::io(path, "cannot sync the sink file", e))?;
    }
    Ok(out)
}

/// Sink lengths by path, as a checkpoint stores them.
pub(crate) fn lengths(sinks: &[Sink]) -> BTreeMap<String, u64> {
    sinks.iter().filter_map(Sink::file_len).collect()
}
