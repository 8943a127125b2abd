//! Counters of a `watch` run: printed on SIGUSR1, at the end, and served as
//! Prometheus text on a loopback port (`--metrics 127.0.0.1:PORT`).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

macro_rules! counters {
    ($($name:ident : $help:literal),* $(,)?) => {
        /// Counters and gauges of one process.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $(
                #[doc = $help]
                pub $name: AtomicU64,
            )*
            /// Watermark (Unix seconds; 0 before the first).
            pub watermark: AtomicI64,
            /// Latest event time seen (Unix seconds).
            pub max_event_time: AtomicI64,
            /// Time-to-detect samples (most recent 4096).
            ttd: Mutex<TtdSamples>,
        }

        impl Metrics {
            fn counter_lines(&self, out: &mut String) {
                $(
                    out.push_str(&format!(
                        "# HELP idrecon_watch_{0} {1}\n# TYPE idrecon_watch_{0} {2}\nidrecon_watch_{0} {3}\n",
                        stringify!($name),
                        $help,
                        if stringify!($name).ends_with("_total") { "counter" } else { "gauge" },
                        self.$name.load(Ordering::Relaxed)
                    ));
                )*
            }
        }
    };
}

counters! {
    records_total: "Input records (lines, messages, envelope items) read.",
    events_total: "Records normalized into events.",
    rejected_total: "Records that could not be read (bad JSON, unknown dialect).",
    late_total: "Events older than the watermark when they arrived (not evaluated; written to the late file).",
    duplicates_total: "Repartitioned records received twice (dropped).",
    replay_skipped_total: "Events re-read after a restart that were already fully evaluated.",
    replay_suppressed_total: "Finding updates recomputed after a restart and already emitted.",
    allowlisted_total: "Finding updates suppressed by the allowlist.",
    opened_total: "Findings opened.",
    updated_total: "Finding updates (severity, counts or exposed accounts changed).",
    closed_total: "Findings closed (final values).",
    forced_releases_total: "Events released early because the reorder buffer was full.",
    forced_advances_total: "Watermark advances forced by the retained-state cap.",
    checkpoints_total: "Checkpoints written.",
    sink_retries_total: "Webhook attempts that failed and were retried.",
    buffered_events: "Events waiting in the reorder buffer.",
    retained_events: "Events held by the engine's window state.",
    open_findings: "Findings opened and not yet closed.",
    watermark_delay_seconds: "Event time between the latest event and the watermark.",
}

#[derive(Debug, Default)]
struct TtdSamples {
    processing_ms: Vec<f64>,
    event_lag_s: Vec<f64>,
    next: usize,
    count: u64,
}

const TTD_KEEP: usize = 4096;

/// Time-to-detect summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TtdSummary {
    /// Findings measured.
    pub count: u64,
    /// Median arrival-to-emission delay of the threshold-crossing event (ms).
    pub p50_ms: f64,
    /// 95th percentile of that delay (ms).
    pub p95_ms: f64,
    /// Largest delay (ms).
    pub max_ms: f64,
    /// Median event-time lag: latest event time seen at emission minus the
    /// crossing event's time (s) — about the allowed lateness.
    pub p50_event_lag_s: f64,
    /// Largest event-time lag (s).
    pub max_event_lag_s: f64,
}

impl Metrics {
    /// Records one opened finding's time to detect.
    pub fn record_ttd(&self, processing_ms: f64, event_lag_s: f64) {
        let Ok(mut t) = self.ttd.lock() else { return };
        t.count += 1;
        if t.processing_ms.len() < TTD_KEEP {
            t.processing_ms.push(processing_ms);
            t.event_lag_s.push(event_lag_s);
        } else {
            let i = t.next;
            t.processing_ms[i] = processing_ms;
            t.event_lag_s[i] = event_lag_s;
            t.next = (i + 1) % TTD_KEEP;
        }
    }

    /// Time-to-detect percentiles over the most recent samples.
    pub fn ttd(&self) -> TtdSummary {
        let Ok(t) = self.ttd.lock() else {
            return TtdSummary::default();
        };
        let mut p = t.processing_ms.clone();
        let mut l = t.event_lag_s.clone();
        p.sort_by(f64::total_cmp);
        l.sort_by(f64::total_cmp);
        let q = |v: &[f64], f: f64| {
            if v.is_empty() {
                0.0
            } else {
                v[((v.len() - 1) as f64 * f).round() as usize]
            }
        };
        TtdSummary {
            count: t.count,
            p50_ms: q(&p, 0.5),
            p95_ms: q(&p, 0.95),
            max_ms: p.last().copied().unwrap_or(0.0),
            p50_event_lag_s: q(&l, 0.5),
            max_event_lag_s: l.last().copied().unwrap_or(0.0),
        }
    }

    /// Adds to a counter.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.counter_lines(&mut out);
        let wm = self.watermark.load(Ordering::Relaxed);
        let max = self.max_event_time.load(Ordering::Relaxed);
        out.push_str(&format!(
            "# HELP idrecon_watch_watermark_seconds Watermark (Unix time).\n# TYPE idrecon_watch_watermark_seconds gauge\nidrecon_watch_watermark_seconds {wm}\n"
        ));
        let now = jiff::Timestamp::now().as_second();
        let lag = if max > 0 { now - max } else { 0 };
        out.push_str(&format!(
            "# HELP idrecon_watch_lag_seconds Wall clock minus the latest event time seen.\n# TYPE idrecon_watch_lag_seconds gauge\nidrecon_watch_lag_seconds {lag}\n"
        ));
        let t = self.ttd();
        out.push_str("# HELP idrecon_watch_ttd_ms Time to detect: arrival of the threshold-crossing event to emission.\n# TYPE idrecon_watch_ttd_ms summary\n");
        out.push_str(&format!(
            "idrecon_watch_ttd_ms{{quantile=\"0.5\"}} {:.3}\nidrecon_watch_ttd_ms{{quantile=\"0.95\"}} {:.3}\nidrecon_watch_ttd_ms{{quantile=\"1\"}} {:.3}\nidrecon_watch_ttd_ms_count {}\n",
            t.p50_ms, t.p95_ms, t.max_ms, t.count
        ));
        out.push_str("# HELP idrecon_watch_ttd_event_lag_seconds Event time between the crossing event and the latest event at emission.\n# TYPE idrecon_watch_ttd_event_lag_seconds summary\n");
        out.push_str(&format!(
            "idrecon_watch_ttd_event_lag_seconds{{quantile=\"0.5\"}} {:.3}\nidrecon_watch_ttd_event_lag_seconds{{quantile=\"1\"}} {:.3}\n",
            t.p50_event_lag_s, t.max_event_lag_s
        ));
        out
    }

    /// A one-paragraph summary for standard error.
    pub fn summary(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let t = self.ttd();
        format!(
            "watch: records {}, events {}, rejected {}, late {}, duplicates {}; findings opened {}, updated {}, closed {} (allowlisted {}, replay-suppressed {}); retained {} events, buffered {}; time to detect: {} finding(s), p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, event-time lag p50 {:.0} s",
            g(&self.records_total),
            g(&self.events_total),
            g(&self.rejected_total),
            g(&self.late_total),
            g(&self.duplicates_total),
            g(&self.opened_total),
            g(&self.updated_total),
            g(&self.closed_total),
            g(&self.allowlisted_total),
            g(&self.replay_suppressed_total),
            g(&self.retained_events),
            g(&self.buffered_events),
            t.count,
            t.p50_ms,
            t.p95_ms,
            t.max_ms,
            t.p50_event_lag_s,
        )
    }
}

/// Serves `GET /metrics` (any path) on a loopback address from a background
/// thread. Returns the bound address (port 0 picks a free one).
pub fn serve(addr: SocketAddr, m: Arc<Metrics>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("idrecon-metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut s) = conn else { continue };
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut r = BufReader::new(match s.try_clone() {
                    Ok(c) => c,
                    Err(_) => continue,
                });
                let mut line = String::new();
                // Request line and headers up to the blank line.
                loop {
                    line.clear();
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if line.trim().is_empty() => break,
                        Ok(_) => {}
                    }
                }
                let body = m.render();
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        })?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn renders_and_serves() {
        let m = Arc::new(Metrics::default());
        Metrics::add(&m.late_total, 3);
        m.record_ttd(2.0, 120.0);
        m.record_ttd(4.0, 121.0);
        let t = m.ttd();
        assert_eq!(t.count, 2);
        assert!(t.max_ms >= 4.0);
        let addr = serve("127.0.0.1:0".parse().expect("addr"), m.clone()).expect("bind");
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("read");
        assert!(body.contains("idrecon_watch_late_total 3"), "{body}");
        assert!(body.contains("# TYPE idrecon_watch_late_total counter"));
        assert!(body.contains("idrecon_watch_ttd_ms_count 2"));
    }
}
