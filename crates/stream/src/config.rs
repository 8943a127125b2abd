//! Validated configuration of `watch`: sources, sinks, durations, and the
//! librdkafka properties for Kafka and Azure Event Hubs.

use crate::StreamError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// NDJSON (or one envelope per line) on standard input; finite.
    Stdin,
    /// Files and directories followed like `tail -F` (rotation, truncation,
    /// new files in a directory); never ends unless stopped.
    Follow(Vec<PathBuf>),
    /// A Kafka / Event Hubs consumer group on these topics.
    Kafka(Vec<String>),
}

impl FromStr for SourceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "stdin" || s == "-" {
            return Ok(SourceSpec::Stdin);
        }
        if let Some(p) = s.strip_prefix("file:") {
            let paths: Vec<PathBuf> = p
                .split(',')
                .filter(|x| !x.is_empty())
                .map(PathBuf::from)
                .collect();
            if paths.is_empty() {
                return Err(
                    "`file:` needs a path: file:PATH[,PATH…] (files or directories)".into(),
                );
            }
            return Ok(SourceSpec::Follow(paths));
        }
        if let Some(t) = s.strip_prefix("kafka:") {
            let topics: Vec<String> = t
                .split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect();
            return Ok(SourceSpec::Kafka(topics));
        }
        Err(format!(
            "unknown source `{s}` (expected stdin, file:PATH[,PATH…] or kafka:TOPIC[,TOPIC…])"
        ))
    }
}

/// Where finding updates go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// NDJSON on standard output.
    Stdout,
    /// NDJSON appended to a file, fsync'd before positions are committed.
    File(PathBuf),
    /// JSON POST of each update to an HTTP(S) endpoint, retried with
    /// exponential backoff.
    Webhook(String),
}

impl FromStr for SinkSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "stdout" || s == "-" {
            return Ok(SinkSpec::Stdout);
        }
        if let Some(p) = s.strip_prefix("file:") {
            if p.is_empty() {
                return Err("`file:` needs a path: file:PATH".into());
            }
            return Ok(SinkSpec::File(PathBuf::from(p)));
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            return Ok(SinkSpec::Webhook(s.to_string()));
        }
        if let Some(u) = s.strip_prefix("webhook:") {
            return Ok(SinkSpec::Webhook(u.to_string()));
        }
        Err(format!(
            "unknown sink `{s}` (expected stdout, file:PATH or an http(s):// webhook URL)"
        ))
    }
}

impl std::fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkSpec::Stdout => f.write_str("stdout"),
            SinkSpec::File(p) => write!(f, "file:{}", p.display()),
            SinkSpec::Webhook(u) => f.write_str(&redact_url(u)),
        }
    }
}

/// A URL without its query string (webhook URLs often carry a secret).
pub(crate) fn redact_url(u: &str) -> String {
    match u.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => u.to_string(),
    }
}

/// Parses `90s`, `2m`, `1h`, `500ms` or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 30s, 2m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}` (use ms, s, m, h or d)"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{s}` is not a non-negative duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A metrics listener address; only loopback addresses are accepted (the
/// counters are not meant for the network).
pub fn parse_metrics_addr(s: &str) -> Result<SocketAddr, String> {
    let a: SocketAddr = s
        .parse()
        .map_err(|_| format!("`{s}` is not an address:port (e.g. 127.0.0.1:9464)"))?;
    if !a.ip().is_loopback() {
        return Err(format!(
            "`{s}`: the metrics listener binds to loopback only (127.0.0.1 or [::1])"
        ));
    }
    Ok(a)
}

/// Kafka consumer settings (also used for Azure Event Hubs' Kafka endpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaOptions {
    /// Bootstrap servers (`host:port,…`); taken from the Event Hubs
    /// connection string when one is given.
    pub brokers: Option<String>,
    /// Topics (Event Hubs: event hub names).
    pub topics: Vec<String>,
    /// Consumer group id.
    pub group: String,
    /// Repartition topic: when set, raw records are re-keyed by detection
    /// key through this topic so that N instances find what one finds.
    pub repartition: Option<String>,
    /// Extra librdkafka properties (`key=value`), applied last.
    pub properties: Vec<(String, String)>,
    /// An Event Hubs connection string (`Endpoint=sb://…;SharedAccessKeyName=…;
    /// SharedAccessKey=…[;EntityPath=…]`).
    pub eventhubs_connection_string: Option<String>,
}

impl KafkaOptions {
    /// The topics to consume: the given ones, else the connection string's
    /// `EntityPath`.
    pub fn effective_topics(&self) -> Vec<String> {
        if !self.topics.is_empty() {
            return self.topics.clone();
        }
        self.eventhubs_connection_string
            .as_deref()
            .and_then(|cs| cs_field(cs, "EntityPath"))
            .map(|t| vec![t.to_string()])
            .unwrap_or_default()
    }

    /// The librdkafka properties common to consumers and producers:
    /// bootstrap servers and, for Event Hubs, SASL PLAIN over TLS with the
    /// user name `$ConnectionString` and the connection string as password.
    pub fn client_properties(&self) -> Result<Vec<(String, String)>, StreamError> {
        let mut p: Vec<(String, String)> = Vec::new();
        let mut brokers = self.brokers.clone();
        if let Some(cs) = &self.eventhubs_connection_string {
            let endpoint = cs_field(cs, "Endpoint").ok_or_else(|| {
                StreamError::Config(
                    "the Event Hubs connection string has no `Endpoint=sb://NAMESPACE.servicebus.windows.net/`; copy it from the portal (Shared access policies)".into(),
                )
            })?;
            let host = endpoint
                .trim_start_matches("sb://")
                .trim_end_matches('/')
                .to_string();
            if host.is_empty() {
                return Err(StreamError::Config(
                    "the Event Hubs connection string's Endpoint has no host".into(),
                ));
            }
            if brokers.is_none() {
                brokers = Some(format!("{host}:9093"));
            }
            p.push(("security.protocol".into(), "SASL_SSL".into()));
            p.push(("sasl.mechanisms".into(), "PLAIN".into()));
            p.push(("sasl.username".into(), "$ConnectionString".into()));
            p.push(("sasl.password".into(), cs.clone()));
            // Event Hubs closes idle connections after 240 s.
            p.push(("socket.keepalive.enable".into(), "true".into()));
            p.push(("metadata.max.age.ms".into(), "180000".into()));
            p.push(("connections.max.idle.ms".into(), "180000".into()));
        }
        let brokers = brokers.ok_or_else(|| {
            StreamError::Config(
                "Kafka needs --kafka-brokers HOST:PORT (or an Event Hubs connection string)".into(),
            )
        })?;
        p.insert(0, ("bootstrap.servers".into(), brokers));
        p.push(("client.id".into(), "idrecon-watch".into()));
        for (k, v) in &self.properties {
            p.retain(|(x, _)| x != k);
            p.push((k.clone(), v.clone()));
        }
        Ok(p)
    }

    /// Consumer properties for group `group`: manual commits (positions are
    /// committed only after findings are durable), start at the beginning
    /// of a partition the group has never committed.
    pub fn consumer_properties(&self, group: &str) -> Result<Vec<(String, String)>, StreamError> {
        let mut p = self.client_properties()?;
        let user: Vec<String> = self.properties.iter().map(|(k, _)| k.clone()).collect();
        for (k, v) in [
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "true"),
            ("session.timeout.ms", "10000"),
            ("heartbeat.interval.ms", "1000"),
            ("isolation.level", "read_committed"),
        ] {
            if !user.iter().any(|u| u == k) {
                p.push((k.into(), v.into()));
            }
        }
        Ok(p)
    }
}

/// One `Key=Value` field of a connection string (case-insensitive key).
fn cs_field<'a>(cs: &'a str, key: &str) -> Option<&'a str> {
    cs.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then_some(v.trim())
    })
}

/// Parses a `key=value` librdkafka property.
pub fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_durations() {
        assert_eq!("stdin".parse::<SourceSpec>(), Ok(SourceSpec::Stdin));
        assert_eq!(
            "file:/a,/b".parse::<SourceSpec>(),
            Ok(SourceSpec::Follow(vec!["/a".into(), "/b".into()]))
        );
        assert_eq!(
            "kafka:t1,t2".parse::<SourceSpec>(),
            Ok(SourceSpec::Kafka(vec!["t1".into(), "t2".into()]))
        );
        assert!("nope".parse::<SourceSpec>().is_err());
        assert_eq!(
            "https://h/x?k=secret"
                .parse::<SinkSpec>()
                .map(|s| s.to_string()),
            Ok("https://h/x?…".to_string())
        );
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_metrics_addr("0.0.0.0:9000").is_err());
        assert!(parse_metrics_addr("127.0.0.1:9000").is_ok());
    }

    #[test]
    fn event_hubs_properties() {
        let cs = "Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=abc=;EntityPath=signins";
        let o = KafkaOptions {
            group: "idrecon".into(),
            eventhubs_connection_string: Some(cs.into()),
            properties: vec![("session.timeout.ms".into(), "30000".into())],
            ..Default::default()
        };
        assert_eq!(o.effective_topics(), vec!["signins".to_string()]);
        let p = o.consumer_properties("idrecon").expect("props");
        let get = |k: &str| p.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("bootstrap.servers"),
            Some("contoso-ns.servicebus.windows.net:9093")
        );
        assert_eq!(get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(get("sasl.mechanisms"), Some("PLAIN"));
        assert_eq!(get("sasl.username"), Some("$ConnectionString"));
        assert_eq!(get("sasl.password"), Some(cs));
        assert_eq!(get("group.id"), Some("idrecon"));
        assert_eq!(get("enable.auto.commit"), Some("false"));
        assert_eq!(get("session.timeout.ms"), Some("30000"));
        assert_eq!(
            p.iter().filter(|(k, _)| k == "session.timeout.ms").count(),
            1
        );
        let bad = KafkaOptions {
            eventhubs_connection_string: Some("SharedAccessKey=x".into()),
            ..Default::default()
        };
        assert!(bad.client_properties().is_err());
        assert!(KafkaOptions::default().client_properties().is_err());
    }
}
