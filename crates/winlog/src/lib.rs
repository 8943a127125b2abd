//! Readers for Windows Security logs into normalized idrecon events.
//!
//! CONTRACT (used by `idrecon-ingest`, which owns shape detection for JSON
//! containers, decompression and path handling):
//! - [`is_evtx`] / [`read_evtx`]: binary `.evtx` files.
//! - [`read_event_xml`]: `wevtutil qe /f:xml` and Event Viewer XML exports.
//! - [`json_shape`] / [`normalize_json`]: one JSON record (ECS/Winlogbeat,
//!   Sentinel `SecurityEvent` row, `evtx_dump` JSON).

use idrecon_core::{Event, FileStats, Origin, Timestamp};
use std::sync::Arc;

mod evtx_ids;
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
/// is not an EVTX file is one rejected record (number 0). The notes on the
/// file as a whole (checksums that fail) are returned.
pub fn read_evtx(
    bytes: Vec<u8>,
    file: u32,
    stats: &mut FileStats,
    sink: &mut dyn FnMut(Event),
) -> EvtxReport {
    struct Events<'s>(&'s mut dyn FnMut(Event));
    impl EvtxSink for Events<'_> {
        fn event(&mut self, ev: Event) {
            (self.0)(ev)
        }
    }
    let opts = EvtxOptions {
        threads: 0,
        keep_event_id: None,
        direct: false,
    };
    evtx_reader::read(bytes, file, stats, &opts, &mut Events(sink))
}

/// [`read_evtx`] with options: the threads rendering the file's chunks, and
/// an EventID filter whose skipped records reach `sink` as
/// [`EvtxSink::skipped`].
pub fn read_evtx_with(
    bytes: Vec<u8>,
    file: u32,
    stats: &mut FileStats,
    opts: &EvtxOptions,
    sink: &mut dyn EvtxSink,
) -> EvtxReport {
    evtx_reader::read(bytes, file, stats, opts, sink)
}

/// How [`read_evtx_with`] reads a file.
#[derive(Clone, Default)]
pub struct EvtxOptions {
    /// Threads rendering the file's chunks (the `evtx` crate's pool); 0 or
    /// 1: the calling thread only, as when several files are read at once.
    pub threads: usize,
    /// The EventID-first filter: `keep(event_id)` (canonical decimal text)
    /// says whether any rule may use a record with that EventID. A record
    /// it answers `false` for is still rendered and checked like any other
    /// (so a record the full reading would reject is still rejected), then
    /// counted as used and handed to [`EvtxSink::skipped`] with its time;
    /// no event is built.
    pub keep_event_id: Option<KeepEventId>,
    /// Build a record's event straight from its template's substitution
    /// values, without rendering it to XML, whenever the template says for
    /// certain where each field the reading uses comes from (and what its
    /// rendering would be); any other record is rendered. The events are
    /// the same either way.
    pub direct: bool,
}

/// See [`EvtxOptions::keep_event_id`].
pub type KeepEventId = Arc<dyn Fn(&str) -> bool + Send + Sync>;

impl std::fmt::Debug for EvtxOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvtxOptions")
            .field("threads", &self.threads)
            .field("keep_event_id", &self.keep_event_id.is_some())
            .field("direct", &self.direct)
            .finish()
    }
}

/// Receives what [`read_evtx_with`] produces, in file order.
pub trait EvtxSink {
    /// A normalized event.
    fn event(&mut self, ev: Event);
    /// A record counted as used that the EventID filter skipped: its event
    /// time (what a batch engine still needs).
    fn skipped(&mut self, time: Timestamp) {
        let _ = time;
    }
}

/// What an EVTX reading found about the file as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvtxReport {
    /// Problems that did not stop the reading, phrased for the user: a
    /// file header or chunk whose CRC32 checksum fails (the records of such
    /// a chunk are still read and counted in
    /// [`FileStats::checksum_failed`]).
    pub notes: Vec<String>,
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
