//! Record-level decoding for streaming sources (`idrecon watch`): one NDJSON
//! line, or one message of a queue (a Kafka / Event Hubs record), becomes
//! events exactly as the batch readers turn an NDJSON line into events.
//!
//! A payload may hold a single record, an array of records, an envelope
//! (`{"records":[…]}` as Azure Monitor diagnostic settings send it to Event
//! Hubs, `{"value":[…]}` Graph pages), or several such values one per line.
//! Every record is normalized by the same dialect detection as
//! [`crate::read_file`] (Windows JSON shapes, Azure Monitor, Log Analytics,
//! Graph); all records of one payload share its [`Origin`].

use crate::entra;
use idrecon_core::{Event, Origin};
use serde_json::Value;

/// What one payload held.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Normalized events, in payload order.
    pub events: Vec<Event>,
    /// Why records were rejected (one entry per rejected record).
    pub rejects: Vec<String>,
}

impl Decoded {
    /// Records read: used plus rejected.
    pub fn records(&self) -> u64 {
        (self.events.len() + self.rejects.len()) as u64
    }
}

/// Normalizes one JSON record of any dialect the batch readers know.
pub fn normalize_json_record(v: &Value, origin: Origin) -> Result<Event, String> {
    entra::normalize_json(v, origin, None).map(|(ev, _, _)| ev)
}

/// The reject reason for a record of `len` bytes over the limit, worded as
/// the file readers word it (for a source that kept only part of a record).
pub fn too_large_reason(len: u64, max_record_bytes: usize) -> String {
    crate::ctx::too_large(usize::try_from(len).unwrap_or(usize::MAX), max_record_bytes)
}

/// Splits a payload into its JSON records (envelopes and arrays are opened;
/// a payload that is not one JSON value is read as NDJSON, line by line).
/// Records larger than `max_record_bytes` are rejected.
pub fn split_records(payload: &[u8], max_record_bytes: usize) -> Vec<Result<Value, String>> {
    let whole = trim(payload);
    if whole.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    match parse(whole, max_record_bytes) {
        Ok(v) => open(v, &mut out),
        Err(_) if memchr::memchr(b'\n', whole).is_some() => {
            for line in whole.split(|b| *b == b'\n') {
                let line = trim(line);
                if line.is_empty() {
                    continue;
                }
                match parse(line, max_record_bytes) {
                    Ok(v) => open(v, &mut out),
                    Err(e) => out.push(Err(e)),
                }
            }
        }
        Err(e) => out.push(Err(e)),
    }
    out
}

/// Decodes one payload (an NDJSON line or a queue message) into events, as
/// the NDJSON reader of `hunt` does for a line: every record gets `origin`.
pub fn decode_payload(payload: &[u8], origin: Origin, max_record_bytes: usize) -> Decoded {
    let mut d = Decoded::default();
    for r in split_records(payload, max_record_bytes) {
        match r.and_then(|v| normalize_json_record(&v, origin)) {
            Ok(ev) => d.events.push(ev),
            Err(e) => d.rejects.push(e),
        }
    }
    d
}

fn trim(b: &[u8]) -> &[u8] {
    let b = b.trim_ascii();
    b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b).trim_ascii()
}

fn parse(b: &[u8], max: usize) -> Result<Value, String> {
    if b.len() > max {
        return Err(crate::ctx::too_large(b.len(), max));
    }
    let text = std::str::from_utf8(b).map_err(|e| {
        format!(
            "line is not valid UTF-8 (bad byte at column {}); convert the input to UTF-8",
            e.valid_up_to() + 1
        )
    })?;
    serde_json::from_str::<Value>(text)
        .map_err(|e| format!("invalid JSON: {}", crate::ctx::json_error(&e)))
}

/// The records of one top-level value: envelope items, array items, or the
/// value itself (the NDJSON reader's rule for a line).
fn open(v: Value, out: &mut Vec<Result<Value, String>>) {
    const ENVELOPES: [&str; 4] = ["records", "value", "tables", "Tables"];
    match v {
        Value::Object(mut m) => {
            if let Some(key) = ENVELOPES
                .iter()
                .find(|k| m.get(**k).is_some_and(Value::is_array))
            {
                if let Some(Value::Array(items)) = m.remove(*key) {
                    out.extend(items.into_iter().map(Ok));
                }
            } else {
                out.push(Ok(Value::Object(m)));
            }
        }
        Value::Array(items) => out.extend(items.into_iter().map(Ok)),
        other => out.push(Ok(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REC: &str = r#"{"TimeGenerated":"2024-05-01T10:00:00Z","UserPrincipalName":"a@c.com","IPAddress":"203.0.113.5","ResultType":"50034","AppDisplayName":"x"}"#;

    #[test]
    fn line_envelope_array_and_ndjson_payloads() {
        let o = Origin { file: 0, record: 3 };
        assert_eq!(decode_payload(REC.as_bytes(), o, 1 << 20).events.len(), 1);
        let env = format!(r#"{{"records":[{REC},{REC}]}}"#);
        assert_eq!(decode_payload(env.as_bytes(), o, 1 << 20).events.len(), 2);
        let arr = format!("[{REC},{REC},{REC}]");
        assert_eq!(decode_payload(arr.as_bytes(), o, 1 << 20).events.len(), 3);
        let nd = format!("{REC}\n\n{REC}\nnot json\n");
        let d = decode_payload(nd.as_bytes(), o, 1 << 20);
        assert_eq!((d.events.len(), d.rejects.len()), (2, 1));
        assert!(d.events.iter().all(|e| e.origin == o));
        assert!(decode_payload(b"  \r\n", o, 1 << 20).records() == 0);
        let d = decode_payload(REC.as_bytes(), o, 10);
        assert!(d.rejects[0].contains("too large"), "{:?}", d.rejects);
        let d = decode_payload(b"\xff{}", o, 1 << 20);
        assert!(d.rejects[0].contains("UTF-8"));
    }
}
