//! Binary `.evtx` files, through the `evtx` crate.
//!
//! Records are rendered to XML on the crate's worker threads and reduced to
//! an [`Event`] there too (a single-pass scan of the renderer's regular
//! output, falling back to the XML parser of [`crate::read_event_xml`] for
//! anything unusual); this thread only numbers and counts them, in file
//! order.
//!
//! Accounting: every record the file's chunk headers announce is counted
//! once. Each chunk header names the range of record IDs it holds; records
//! the crate could not read are reported with its error, a chunk it could
//! not read at all counts all its records as rejected, and records a header
//! announces that never showed up (a file cut short, a damaged record area)
//! are rejected as missing. A file cut inside a chunk is padded with zeros
//! so that the part of that chunk before the cut is still read.
//!
//! Checksums: the file header's CRC32 and each chunk's header and record
//! CRC32s are verified. A chunk that fails is still read (logs copied from
//! live systems are often dirty), but the file gets a note naming the chunk
//! and how many records were used from it, and those records are counted
//! in [`FileStats::checksum_failed`].
//!
//! EventID-first filter ([`crate::EvtxOptions::keep_event_id`]): a record
//! is rendered and checked like any other (so one the full reading would
//! reject is still rejected), but when no rule reads its EventID no event
//! is built; it is counted as used and only its time is handed on.

use crate::evtx_ids::Templates;
use crate::raw::{MAX_SECOND, MIN_SECOND, Raw};
use crate::{EvtxOptions, EvtxReport, EvtxSink};
use evtx::err::EvtxError;
use evtx::{EvtxParser, EvtxRecord, ParserSettings};
use idrecon_core::{Event, EventKind, FileStats, Origin, Timestamp};

const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;
const CHUNK_HEADER: usize = 512;
/// The smallest record (header, size copy and a little BinXML): bounds how
/// many records a chunk header may plausibly announce.
const MIN_RECORD: u64 = 32;

/// A chunk as its header describes it.
#[derive(Debug, Clone)]
struct ChunkInfo {
    first_id: u64,
    last_id: u64,
    /// Records the header announces, when the range is plausible.
    expected: Option<u64>,
    /// Records accounted for so far (used or rejected).
    seen: u64,
    /// The whole chunk was rejected.
    failed: bool,
    /// Bytes of it present in the file (less than a chunk when cut).
    present: usize,
    /// Which of its CRC32 checksums failed (`None`: both hold, or the
    /// chunk says it has none, or it is cut short).
    bad_checksum: Option<&'static str>,
    /// Records used from it.
    used: u64,
}

/// What a worker made of a record that passed every check (the event is
/// moved, not boxed: boxing would add an allocation per record).
#[allow(clippy::large_enum_variant)]
enum Item {
    Event(Event),
    /// No rule reads its EventID: only its time matters.
    Skipped(Timestamp),
}

/// What a worker thread made of one record.
struct Outcome {
    record_id: u64,
    /// First and last record ID in the record's chunk header.
    chunk_ids: (u64, u64),
    /// Where the record ends in its chunk.
    end: u64,
    result: Result<Item, String>,
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// The chunk flag (and file header flag) saying no CRC32 is kept.
const NO_CRC32: u32 = 0x4;

/// Which CRC32 of a whole chunk fails: its header (bytes 0–120 and
/// 128–512, stored at 124) or its records (512 to the free-space offset,
/// stored at 52). `None` when both hold or the chunk keeps none.
fn chunk_checksum(chunk: &[u8]) -> Option<&'static str> {
    let flags = read_u32(chunk, 120)?;
    if flags & NO_CRC32 != 0 {
        return None;
    }
    let mut h = crc32fast::Hasher::new();
    h.update(chunk.get(..120)?);
    h.update(chunk.get(128..CHUNK_HEADER)?);
    if Some(h.finalize()) != read_u32(chunk, 124) {
        return Some("header");
    }
    let free = usize::try_from(read_u32(chunk, 48)?).ok()?;
    let ok = chunk
        .get(CHUNK_HEADER..free)
        .is_some_and(|records| Some(crc32fast::hash(records)) == read_u32(chunk, 52));
    (!ok).then_some("records")
}

/// Whether the file header's CRC32 (of its first 120 bytes, stored at 124)
/// fails.
fn header_checksum_fails(bytes: &[u8]) -> bool {
    match (read_u32(bytes, 120), bytes.get(..120), read_u32(bytes, 124)) {
        (Some(flags), _, _) if flags & NO_CRC32 != 0 => false,
        (Some(_), Some(head), Some(stored)) => crc32fast::hash(head) != stored,
        _ => false,
    }
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// Reads the chunk headers (the crate reads them again; this is 512 bytes a
/// chunk) and pads a chunk cut by the end of the file to full size. Returns
/// the chunks and, when the file ends inside a chunk header, how many bytes
/// of it there are.
fn survey(bytes: &mut Vec<u8>) -> (Vec<Option<ChunkInfo>>, Option<usize>) {
    let body = bytes.len().saturating_sub(FILE_HEADER);
    let slots = body.div_ceil(CHUNK);
    let mut chunks = Vec::with_capacity(slots);
    let mut cut_header = None;
    for n in 0..slots {
        let start = FILE_HEADER + n * CHUNK;
        let present = (bytes.len() - start).min(CHUNK);
        let head = &bytes[start..start + present.min(CHUNK_HEADER)];
        if head.iter().all(|&b| b == 0) {
            // An unused chunk: the crate skips it too.
            chunks.push(None);
            continue;
        }
        if present < CHUNK_HEADER {
            cut_header = Some(present);
            chunks.push(None);
            continue;
        }
        // Even with a damaged signature the record range may still be right;
        // it is only used when it is plausible.
        let first_id = read_u64(head, 24).unwrap_or(0);
        let last_id = read_u64(head, 32).unwrap_or(0);
        let count = last_id.checked_sub(first_id).and_then(|d| d.checked_add(1));
        let expected = count.filter(|&c| c <= (CHUNK - CHUNK_HEADER) as u64 / MIN_RECORD);
        let bad_checksum = if present == CHUNK {
            chunk_checksum(&bytes[start..start + CHUNK])
        } else {
            None
        };
        chunks.push(Some(ChunkInfo {
            first_id,
            last_id,
            expected,
            seen: 0,
            failed: false,
            present,
            bad_checksum,
            used: 0,
        }));
    }
    // A cut last chunk: pad it so the crate reads what is there.
    if let Some(Some(last)) = chunks.last()
        && last.present < CHUNK
    {
        bytes.resize(FILE_HEADER + slots * CHUNK, 0);
    }
    (chunks, cut_header)
}

/// Which records to normalize, by canonical EventID.
type Keep = Option<crate::KeepEventId>;

/// Renders and normalizes one record (runs on the parser's worker threads).
/// With an EventID filter, a record whose EventID and time its template
/// gives (see [`crate::evtx_ids`]) and that no rule reads is not rendered;
/// with `direct`, a record whose fields its template gives is not rendered
/// either.
fn outcome(
    record: EvtxRecord<'_>,
    keep: &Keep,
    direct: bool,
    templates: &mut Templates,
) -> Outcome {
    let record_id = record.event_record_id;
    let header = record.chunk.header;
    let chunk_ids = (header.first_event_record_id, header.last_event_record_id);
    let offset = record.binxml_offset.saturating_sub(24);
    // BinXML, then the 4-byte copy of the record size.
    let end = record.binxml_offset + u64::from(record.binxml_size) + 4;
    let done = |result| Outcome {
        record_id,
        chunk_ids,
        end,
        result,
    };
    let mut wanted = true;
    if let Some(keep) = keep {
        // A record whose EventID a rule reads is built at once (the hint
        // reads that one value); any other is skipped only when its template
        // gives its EventID and time for certain.
        wanted = crate::evtx_ids::event_id_hint(&record, templates)
            .is_some_and(|id| templates.keep(id, keep.as_ref()));
        if !wanted
            && let Some((id, time)) = crate::evtx_ids::event_id_and_time(&record, templates)
            // Out of range: rendered, so that the reject is the usual one.
            && (MIN_SECOND..MAX_SECOND).contains(&time.as_second())
            && !templates.keep(id, keep.as_ref())
        {
            return done(Ok(Item::Skipped(time)));
        }
    }
    let fallback = Timestamp::from_nanosecond(record.timestamp.as_nanosecond()).ok();
    let prefixed = |e: String| format!("EVTX record (EventRecordID {record_id}): {e}");
    let finish = |raw: Raw<'_>| normalize(raw, keep, fallback).map_err(prefixed);
    if direct
        && wanted
        && let Some(raw) = crate::evtx_ids::direct_raw(&record, templates)
    {
        return done(finish(raw));
    }
    let result = match record.into_xml_bytes() {
        Err(e) => Err(format!(
            "corrupt EVTX record (EventRecordID {record_id}) at offset {offset:#x} of its chunk: {}",
            chain(&e)
        )),
        Ok(rendered) => match std::str::from_utf8(&rendered.data) {
            Err(e) => Err(format!(
                "EVTX record (EventRecordID {record_id}) renders as invalid UTF-8: {e}"
            )),
            Ok(xml) => crate::xml::parse_rendered(xml)
                .map_err(prefixed)
                .and_then(finish),
        },
    };
    done(result)
}

/// A record's fields checked and, when a rule reads its EventID (or no
/// filter is set), normalized into an event.
fn normalize(raw: Raw<'_>, keep: &Keep, fallback: Option<Timestamp>) -> Result<Item, String> {
    match keep {
        Some(keep) => {
            let (event_id, time) = raw.checked(fallback)?;
            Ok(if keep(&event_id) {
                Item::Event(raw.build(event_id, time, Origin::default()))
            } else {
                Item::Skipped(time)
            })
        }
        None => raw.into_event(Origin::default(), fallback).map(Item::Event),
    }
}

/// An error with its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Counting state in file order.
struct Tally<'s> {
    stats: &'s mut FileStats,
    chunks: Vec<Option<ChunkInfo>>,
    /// The chunk the last item belonged to.
    current: Option<usize>,
    /// 1-based record number in the order read.
    next: u64,
}

impl Tally<'_> {
    fn number(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn reject(&mut self, reason: String) {
        let n = self.number();
        self.stats.reject(n, reason);
    }

    /// The chunk whose header names exactly this ID range, searching from
    /// the current one on (chunks arrive in order, but a wrapped log starts
    /// in the middle of the file).
    fn chunk_by_ids(&self, ids: (u64, u64)) -> Option<usize> {
        let start = self.current.unwrap_or(0);
        let n = self.chunks.len();
        (0..n).map(|i| (start + i) % n.max(1)).find(|&i| {
            self.chunks[i]
                .as_ref()
                .is_some_and(|c| (c.first_id, c.last_id) == ids)
        })
    }

    /// The chunk whose header range holds `id`.
    fn chunk_by_record(&self, id: u64) -> Option<usize> {
        let holds = |i: usize| {
            self.chunks[i]
                .as_ref()
                .is_some_and(|c| c.first_id <= id && id <= c.last_id)
        };
        match self.current {
            Some(c) if holds(c) => Some(c),
            _ => (0..self.chunks.len()).find(|&i| holds(i)),
        }
    }

    /// Moves to chunk `to`, first settling the one being left.
    fn enter(&mut self, to: Option<usize>) {
        if to.is_some() && to != self.current {
            if let Some(prev) = self.current {
                self.settle(prev);
            }
            self.current = to;
        }
    }

    fn seen(&mut self, chunk: Option<usize>) {
        if let Some(c) = chunk
            .and_then(|i| self.chunks.get_mut(i))
            .and_then(Option::as_mut)
        {
            c.seen += 1;
        }
    }

    /// Rejects what chunk `i`'s header announces and nothing accounted for.
    fn settle(&mut self, i: usize) {
        let Some(Some(c)) = self.chunks.get(i) else {
            return;
        };
        if c.failed {
            return;
        }
        let (Some(expected), seen) = (c.expected, c.seen) else {
            return;
        };
        if expected <= seen {
            return;
        }
        let missing = expected - seen;
        let cut = if c.present < CHUNK {
            format!(" (the file ends {} bytes into this chunk)", c.present)
        } else {
            String::new()
        };
        let reason = format!(
            "EVTX chunk {i} at offset {:#x} lists records {}–{} but {missing} of them could not be found{cut}",
            FILE_HEADER + i * CHUNK,
            c.first_id,
            c.last_id,
        );
        for _ in 0..missing {
            self.reject(reason.clone());
        }
        if let Some(Some(c)) = self.chunks.get_mut(i) {
            c.seen = expected;
        }
    }

    fn item(&mut self, item: evtx::err::Result<Outcome>, file: u32, sink: &mut dyn EvtxSink) {
        match item {
            Ok(out) => {
                let chunk = self
                    .chunk_by_ids(out.chunk_ids)
                    .or_else(|| self.chunk_by_record(out.record_id));
                self.enter(chunk);
                self.seen(chunk);
                // In a chunk cut by the end of the file (and padded with
                // zeros), a record that runs past the cut is not real data.
                let cut = chunk
                    .and_then(|i| self.chunks.get(i))
                    .and_then(Option::as_ref)
                    .map(|c| c.present)
                    .filter(|&present| out.end > present as u64);
                let result = match cut {
                    Some(present) => Err(format!(
                        "EVTX record (EventRecordID {}) is cut short: the file ends {present} bytes into its chunk",
                        out.record_id
                    )),
                    None => out.result,
                };
                if result.is_ok()
                    && let Some(Some(c)) = chunk.and_then(|i| self.chunks.get_mut(i))
                {
                    c.used += 1;
                }
                match result {
                    Ok(Item::Event(mut event)) => {
                        event.origin = Origin {
                            file,
                            record: self.number(),
                        };
                        self.stats.used(event.kind);
                        sink.event(event);
                    }
                    Ok(Item::Skipped(time)) => {
                        self.number();
                        self.stats.used(EventKind::WindowsSecurity);
                        sink.skipped(time);
                    }
                    Err(reason) => {
                        let reason = match chunk {
                            Some(i) => format!(
                                "{reason} (chunk {i} at offset {:#x})",
                                FILE_HEADER + i * CHUNK
                            ),
                            None => reason,
                        };
                        self.reject(reason);
                    }
                }
            }
            Err(EvtxError::FailedToParseChunk { chunk_id, source }) => {
                let i = usize::try_from(chunk_id).ok();
                self.enter(i);
                let info = i
                    .and_then(|i| self.chunks.get_mut(i))
                    .and_then(Option::as_mut);
                let count = match info {
                    Some(c) => {
                        c.failed = true;
                        c.expected.unwrap_or(1).saturating_sub(c.seen).max(1)
                    }
                    None => 1,
                };
                let reason = format!(
                    "corrupt EVTX chunk {chunk_id} at offset {:#x}: {}; {count} record(s) in it lost",
                    (FILE_HEADER as u64).saturating_add(chunk_id.saturating_mul(CHUNK as u64)),
                    chain(source.as_ref()),
                );
                for _ in 0..count {
                    self.reject(reason.clone());
                }
            }
            Err(e) => {
                let chunk = match &e {
                    EvtxError::FailedToReadRecordAt { chunk: Some(c), .. } => {
                        usize::try_from(*c).ok()
                    }
                    EvtxError::FailedToParseRecord { record_id, .. } => {
                        self.chunk_by_record(*record_id)
                    }
                    _ => self.current,
                };
                self.enter(chunk);
                self.seen(chunk);
                self.reject(format!("corrupt EVTX record: {}", chain(&e)));
            }
        }
    }

    fn finish(&mut self) {
        if let Some(c) = self.current {
            self.settle(c);
        }
        // Chunks never reached (the crate found no record in them).
        for i in 0..self.chunks.len() {
            if self.chunks[i].as_ref().is_some_and(|c| c.seen == 0) {
                self.settle(i);
            }
        }
    }
}

/// See [`crate::read_evtx_with`].
pub(crate) fn read(
    mut bytes: Vec<u8>,
    file: u32,
    stats: &mut FileStats,
    opts: &EvtxOptions,
    sink: &mut dyn EvtxSink,
) -> EvtxReport {
    let mut report = EvtxReport::default();
    if !crate::is_evtx(&bytes) {
        stats.reject(0, "not an EVTX file (no `ElfFile` signature)");
        return report;
    }
    if header_checksum_fails(&bytes) {
        report.notes.push(
            "the EVTX file header fails its CRC32 checksum (the file was probably copied from a live system); its chunks are read anyway".to_string(),
        );
    }
    let (chunks, cut_header) = survey(&mut bytes);
    let slots = chunks.len();
    let settings = ParserSettings::new()
        .num_threads(opts.threads.max(1))
        .indent(false);
    let mut parser = match EvtxParser::from_buffer(bytes) {
        Ok(p) => p.with_configuration(settings),
        Err(e) => {
            stats.reject(0, format!("unreadable EVTX file header: {}", chain(&e)));
            return report;
        }
    };
    let listed = usize::from(parser.header().chunk_count);
    let mut tally = Tally {
        stats,
        chunks,
        current: None,
        next: 0,
    };
    let keep = opts.keep_event_id.clone();
    let direct = opts.direct;
    // The crate re-raises a worker's panic here; a damaged file must not
    // take the run down, so what was not read yet is counted as lost.
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Templates are walked once per chunk: the closure is cloned for
        // each chunk, its cache with it (empty).
        let mut templates = Templates::new();
        for item in
            parser.serialized_records(move |r| r.map(|r| outcome(r, &keep, direct, &mut templates)))
        {
            tally.item(item, file, sink);
        }
    }))
    .is_err();
    if crashed {
        tally.reject(
            "the EVTX parser failed on this file; records not read by then are counted as lost"
                .into(),
        );
    }
    tally.finish();
    if let Some(present) = cut_header {
        tally.reject(format!(
            "the file ends {present} bytes into EVTX chunk {} (inside its header): records there are lost",
            slots - 1
        ));
    } else if listed > slots {
        tally.reject(format!(
            "the EVTX file header lists {listed} chunks but the file holds {slots}: the file looks cut short, records of the missing chunks are lost"
        ));
    }
    for (i, c) in tally.chunks.iter().enumerate() {
        let Some(c) = c else { continue };
        let Some(which) = c.bad_checksum else {
            continue;
        };
        tally.stats.checksum_failed += c.used;
        report.notes.push(format!(
            "EVTX chunk {i} at offset {:#x} fails its {which} CRC32 checksum; {} record(s) were used from it anyway (logs copied from a live system are often dirty)",
            FILE_HEADER + i * CHUNK,
            c.used
        ));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Every `.evtx` file under the public sample folder; `None` (and a
    /// note) when it is absent.
    fn sample_files() -> Option<Vec<PathBuf>> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        if !dir.join("SOURCES.md").is_file() {
            eprintln!("SKIPPED: public sample folder {} is absent", dir.display());
            return None;
        }
        let mut files = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "evtx") {
                    files.push(p);
                }
            }
        }
        Some(files)
    }

    /// Every record of every public EVTX sample gives the same fields
    /// through the fast scan as through the full XML parser.
    #[test]
    fn fast_scan_agrees_with_the_parser_on_the_samples() {
        let Some(files) = sample_files() else {
            return;
        };
        assert!(files.len() >= 10, "{files:?}");
        let mut records = 0;
        for f in files {
            let mut parser = EvtxParser::from_path(&f)
                .expect("sample opens")
                .with_configuration(ParserSettings::new().indent(false));
            for r in parser.records() {
                let xml = r.expect("sample record renders").data;
                let fast = crate::xml::scan_rendered(&xml).expect("fast path taken");
                assert_eq!(
                    Ok(fast),
                    crate::xml::parse_event(&xml),
                    "{}: {xml}",
                    f.display()
                );
                records += 1;
            }
        }
        // 3,989 in the ten files SOURCES.md lists.
        assert!(records >= 3989, "{records}");
    }

    /// For every record of every public sample whose EventID and time its
    /// template gives without rendering, they are those of the rendered
    /// record after normalization; and the template gives them for nearly
    /// every record.
    #[test]
    fn template_event_id_and_time_agree_with_the_rendering() {
        let Some(files) = sample_files() else {
            return;
        };
        let (mut records, mut known, mut hinted) = (0, 0, 0);
        let settings = std::sync::Arc::new(ParserSettings::new().indent(false));
        for f in files {
            let mut parser = EvtxParser::from_path(&f).expect("sample opens");
            for chunk in parser.chunks() {
                let mut data = chunk.expect("sample chunk");
                let mut chunk = data.parse(settings.clone()).expect("sample chunk parses");
                let mut templates = Templates::new();
                for r in chunk.iter() {
                    let r = r.expect("sample record");
                    records += 1;
                    let quick = crate::evtx_ids::event_id_and_time(&r, &mut templates);
                    let hint = crate::evtx_ids::event_id_hint(&r, &mut templates);
                    if let Some(h) = hint {
                        hinted += 1;
                        assert_eq!(Some(h), quick.map(|q| q.0), "{}", f.display());
                    }
                    let fallback = Timestamp::from_nanosecond(r.timestamp.as_nanosecond()).ok();
                    let xml = r.into_xml().expect("renders").data;
                    let raw = crate::xml::parse_rendered(&xml).expect("scans");
                    let (id, time) = raw.checked(fallback).expect("checks");
                    if let Some((qid, qtime)) = quick {
                        known += 1;
                        assert_eq!(
                            (qid.to_string(), qtime),
                            (id, time),
                            "{}: {xml}",
                            f.display()
                        );
                    }
                }
            }
        }
        assert!(records >= 3989, "{records}");
        eprintln!(
            "template gives EventID and time for {known} of {records} records, the hint {hinted}"
        );
        assert!(known * 100 >= records * 95, "{known} of {records}");
        assert!(hinted * 100 >= records * 95, "{hinted} of {records}");
    }

    /// For every record of every public sample whose fields its template
    /// gives without rendering, the event is the one its rendering gives;
    /// and the template gives them for nearly every record.
    #[test]
    fn direct_build_agrees_with_the_rendering() {
        let Some(files) = sample_files() else {
            return;
        };
        let (mut records, mut direct) = (0, 0);
        let mut fields = 0;
        let settings = std::sync::Arc::new(ParserSettings::new().indent(false));
        for f in files {
            let mut parser = EvtxParser::from_path(&f).expect("sample opens");
            for chunk in parser.chunks() {
                let mut data = chunk.expect("sample chunk");
                let mut chunk = data.parse(settings.clone()).expect("sample chunk parses");
                let mut templates = Templates::new();
                for r in chunk.iter() {
                    let r = r.expect("sample record");
                    records += 1;
                    let fallback = Timestamp::from_nanosecond(r.timestamp.as_nanosecond()).ok();
                    let quick = crate::evtx_ids::direct_raw(&r, &mut templates)
                        .map(|raw| raw.into_event(Origin::default(), fallback));
                    let xml = r.into_xml().expect("renders").data;
                    let raw = crate::xml::parse_rendered(&xml).expect("scans");
                    let event = raw.into_event(Origin::default(), fallback);
                    if let Some(quick) = quick {
                        direct += 1;
                        if let Ok(e) = &quick {
                            fields += [&e.user, &e.source_ip, &e.result_code, &e.host]
                                .iter()
                                .filter(|v| v.is_some())
                                .count();
                        }
                        assert_eq!(quick, event, "{}: {xml}", f.display());
                    }
                }
            }
        }
        assert!(records >= 3989, "{records}");
        eprintln!("the template gives the fields of {direct} of {records} records");
        assert!(direct * 100 >= records * 95, "{direct} of {records}");
        // Not vacuous: most records have a user, an address, a code, a host.
        assert!(fields >= direct * 2, "{fields} fields in {direct} records");
    }
}
