//! Readers for Windows Security logs into normalized idrecon events.
//!
//! CONTRACT (used by `idrecon-ingest`, which owns shape detection for JSON
//! containers, decompression and path handling):
//! - [`is_evtx`] / [`read_evtx`]: binary `.evtx` files.
//! - [`read_event_xml`]: `wevtutil qe /f:xml` and Event Viewer XML exports.
//! - [`json_shape`] / [`normalize_json`]: one JSON record (ECS/Winlogbeat,
//!   Sentinel `SecurityEvent` row, `evtx_dump` JSON).

use idrecon_core::{Event, FileStats, Origin};

mod evtx_reader;
mod json;
mod raw;
mod xml;

/// Which Windows JSON dialect a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonShape {
    /// Winlogbeat / Elastic Agent ECS (`winlog.event_id`, `winlog.event_data`).
    Ecs,
    /// Sentinel / Log Analytics `SecurityEvent` row (`EventID`, typed columns, `EventData` XML).
    SecurityEvent,
    /// `evtx_dump` / evtx crate JSON (`Event.System`, `Event.EventData`).
    EvtxDump,
}

/// True when `head` starts with the EVTX file magic (`ElfFile\0`).
pub fn is_evtx(head: &[u8]) -> bool {
    head.starts_with(b"ElfFile\0")
}

/// Reads a whole EVTX file from memory; every record is counted in `stats`
/// as used or rejected (corrupt chunks/records reported, the rest still read).
///
/// Records are numbered 1, 2, … in the order read (chunk order, the oldest
/// chunk first); `request_id` is the record's `EventRecordID`. A buffer that
/// is not an EVTX file is one rejected record (number 0).
pub fn read_evtx(bytes: Vec<u8>, file: u32, stats: &mut FileStats, sink: &mut dyn FnMut(Event)) {
    evtx_reader::read(bytes, file, stats, sink);
}

/// Reads Windows event XML (one `<Event>` or many, optionally wrapped in
/// `<Events>`), counting each `<Event>` as a record.
///
/// Records are numbered by the position of their `<Event>` (1-based). Each
/// event is parsed on its own, so a malformed one is rejected and the next
/// one is still read. Text with no `<Event>` element at all (other than an
/// empty `<Events/>` wrapper) is one rejected record (number 0).
pub fn read_event_xml(text: &str, file: u32, stats: &mut FileStats, sink: &mut dyn FnMut(Event)) {
    let starts = xml::event_starts(text);
    if starts.is_empty() {
        if !text.contains("<Events") {
            stats.reject(
                0,
                format!(
                    "no Windows <Event> element found (text starts `{}`)",
                    xml::describe_start(text)
                ),
            );
        }
        return;
    }
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let record = i as u64 + 1;
        let origin = Origin { file, record };
        match xml::parse_event(&text[start..end]).and_then(|raw| raw.into_event(origin, None)) {
            Ok(event) => {
                stats.used(event.kind);
                sink(event);
            }
            Err(reason) => stats.reject(record, reason),
        }
    }
}

/// Recognises a Windows JSON record, `None` when it is not one:
/// - [`JsonShape::EvtxDump`]: an `Event` object holding a `System` object;
/// - [`JsonShape::Ecs`]: a `winlog` object with `winlog.event_id` (number or
///   string) or a string `event.code`;
/// - [`JsonShape::SecurityEvent`]: a top-level `EventID` (number or string)
///   with `Computer`, `EventData` or `Channel` beside it (Sentinel rows, and
///   NXLog-style flat rows).
pub fn json_shape(v: &serde_json::Value) -> Option<JsonShape> {
    json::shape(v)
}

/// Normalizes one Windows JSON record of the given shape; `Err` carries the
/// reject reason.
pub fn normalize_json(
    v: &serde_json::Value,
    shape: JsonShape,
    origin: Origin,
) -> Result<Event, String> {
    json::extract(v, shape)?.into_event(origin, None)
}
