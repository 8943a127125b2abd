//! Per-file reading state: record accounting, strict-mode stop, the sink,
//! and what the file turned out to contain (for its shape name).

use crate::entra::{self, Dialect, Family};
use crate::{EventSink, FastPath, FileReport, IngestError, IngestOptions, InputFile, Prefilter};
use idrecon_core::event::table;
use idrecon_core::{Event, FileStats, Origin};
use serde_json::{Map, Value};
use std::ops::ControlFlow;

/// Whether to go on reading after a record.
pub(crate) type Flow = ControlFlow<()>;

/// The outer structure of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// Nothing recognised yet.
    Unknown,
    /// No records at all (empty or whitespace only).
    Empty,
    /// One JSON object per line.
    Ndjson,
    /// A JSON array of records.
    Array,
    /// `{"records":[…]}` (one or several).
    Records,
    /// `{"value":[…]}` Graph page (one or several).
    GraphPage,
    /// `{"tables":[…]}` Log Analytics query API response.
    Tables,
    /// A single JSON object that is a record.
    SingleObject,
    /// Comma (or semicolon / tab) separated values.
    Csv,
    /// Binary Windows event log.
    Evtx,
    /// Windows event XML.
    EventXml,
}

/// What a part of a file read on another thread found.
pub(crate) struct Parts {
    stats: FileStats,
    dialects: Vec<(Dialect, Option<Family>)>,
    error: Option<String>,
}

/// Reading state of one file.
pub(crate) struct Ctx<'a> {
    pub index: u32,
    pub display: &'a str,
    pub opts: &'a IngestOptions,
    /// Sign-in table suggested by the file name (portal downloads).
    pub hint: Option<&'static str>,
    pub stats: FileStats,
    pub sink: &'a mut dyn EventSink,
    /// Read flat sign-ins with the scanning reader.
    pub fast: bool,
    /// Build EVTX events from template values (see [`crate::FastPath`]).
    pub evtx_direct: bool,
    /// Skip records no rule can use.
    pub prefilter: Option<Prefilter>,
    /// Threads this file may be read with (1 when it is read on a worker).
    pub threads: usize,
    /// Buffers of the scanning reader.
    pub scratch: crate::fast::flat::Scratch,
    /// The compression of the input (`gzip`, `zstd`), `None` when plain.
    pub compressed: Option<&'static str>,
    /// Size of the input file, when known (to size whole-file buffers).
    pub size_hint: Option<u64>,
    container: Container,
    dialects: Vec<(Dialect, Option<Family>)>,
    error: Option<String>,
    stopped: Option<IngestError>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        file: &'a InputFile,
        index: u32,
        opts: &'a IngestOptions,
        fast: &FastPath,
        sink: &'a mut dyn EventSink,
    ) -> Self {
        let hint = file.path.as_deref().and_then(table_hint_from_name);
        Ctx {
            index,
            display: &file.display,
            opts,
            hint,
            stats: FileStats::default(),
            sink,
            fast: fast.enabled,
            evtx_direct: fast.evtx_direct,
            prefilter: fast.prefilter.clone(),
            threads: fast.threads,
            scratch: Default::default(),
            compressed: None,
            size_hint: None,
            container: Container::Unknown,
            dialects: Vec::new(),
            error: None,
            stopped: None,
        }
    }

    /// True once strict mode has stopped reading.
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_some()
    }

    /// True once a whole-file problem was noted.
    pub fn has_error(&self) -> bool {
        self.error.is_some()
    }

    /// Records the outer structure (the first one seen wins).
    pub fn set_container(&mut self, c: Container) {
        if self.container == Container::Unknown {
            self.container = c;
        }
    }

    /// Notes a whole-file problem (several are joined).
    pub fn file_error(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        match &mut self.error {
            Some(e) => {
                if !e.contains(&msg) {
                    e.push_str("; ");
                    e.push_str(&msg);
                }
            }
            None => self.error = Some(msg),
        }
    }

    /// Counts a rejected record; in strict mode this stops the file.
    pub fn reject(&mut self, record: u64, reason: impl Into<String>) -> Flow {
        let reason = reason.into();
        if self.opts.strict && self.stopped.is_none() {
            self.stopped = Some(IngestError::Rejected {
                file: self.display.to_string(),
                record,
                reason: reason.clone(),
            });
        }
        self.stats.reject(record, reason);
        if self.stopped.is_some() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    pub(crate) fn origin(&self, record: u64) -> Origin {
        Origin {
            file: self.index,
            record,
        }
    }

    pub(crate) fn emit(&mut self, ev: Event, dialect: Dialect, family: Option<Family>) -> Flow {
        self.note_used(ev.kind, dialect, family);
        self.sink.event(ev);
        ControlFlow::Continue(())
    }

    /// Counts a used record (emitted or skipped by the prefilter).
    pub(crate) fn note_used(
        &mut self,
        kind: idrecon_core::EventKind,
        dialect: Dialect,
        family: Option<Family>,
    ) {
        self.stats.used(kind);
        if !self.dialects.contains(&(dialect, family)) {
            self.dialects.push((dialect, family));
        }
    }

    /// Normalizes one parsed JSON record of any dialect.
    pub fn value(&mut self, v: &Value, record: u64) -> Flow {
        match entra::normalize_json(v, self.origin(record), self.hint) {
            Ok((ev, dialect, family)) => self.emit(ev, dialect, family),
            Err(reason) => self.reject(record, reason),
        }
    }

    /// Normalizes one flat record built from a CSV row.
    pub fn flat(&mut self, m: &Map<String, Value>, record: u64, dialect: Dialect) -> Flow {
        match entra::normalize_flat(m, self.origin(record), self.hint) {
            Ok((ev, family)) => self.emit(ev, dialect, Some(family)),
            Err(reason) => self.reject(record, reason),
        }
    }

    /// Size-checks, parses and normalizes one raw JSON record.
    pub fn raw(&mut self, raw: &str, record: u64) -> Flow {
        if raw.len() > self.opts.max_record_bytes {
            return self.reject(record, too_large(raw.len(), self.opts.max_record_bytes));
        }
        match serde_json::from_str::<Value>(raw) {
            Ok(v) => self.value(&v, record),
            Err(e) => self.reject(record, format!("invalid JSON: {}", json_error(&e))),
        }
    }

    /// What a part of a file read on another thread found (see
    /// [`Ctx::absorb`]).
    pub(crate) fn into_parts(self) -> Parts {
        Parts {
            stats: self.stats,
            dialects: self.dialects,
            error: self.error,
        }
    }

    /// Adds what a part of this file read elsewhere found, its record
    /// numbers shifted by `base`, as if this context had read it.
    pub(crate) fn absorb(&mut self, parts: Parts, base: u64) {
        crate::fast::merge_stats(&mut self.stats, parts.stats, base);
        for d in parts.dialects {
            if !self.dialects.contains(&d) {
                self.dialects.push(d);
            }
        }
        if let Some(e) = parts.error {
            self.file_error(e);
        }
    }

    /// Ends the file: the report, or the strict-mode error.
    pub fn finish(mut self) -> Result<FileReport, IngestError> {
        if let Some(e) = self.stopped.take() {
            return Err(e);
        }
        if self.opts.strict {
            if let Some(reason) = self.error.take() {
                return Err(IngestError::File {
                    file: self.display.to_string(),
                    reason,
                });
            }
            // Readers of other crates (EVTX, XML) fill the stats directly.
            if let Some(r) = self.stats.rejects.first() {
                return Err(IngestError::Rejected {
                    file: self.display.to_string(),
                    record: r.record,
                    reason: r.reason.clone(),
                });
            }
        }
        Ok(FileReport {
            path: self.display.to_string(),
            shape: self.shape_name(),
            stats: self.stats,
            error: self.error,
        })
    }

    fn shape_name(&self) -> String {
        let names: Vec<&str> = {
            let mut v: Vec<&str> = Vec::new();
            for (d, f) in &self.dialects {
                let n = dialect_name(*d, *f);
                if !v.contains(&n) {
                    v.push(n);
                }
            }
            v
        };
        let joined = names.join(" + ");
        let only_audit = !self.dialects.is_empty()
            && self.dialects.iter().all(|(_, f)| *f == Some(Family::Audit));
        let only_signin = !self.dialects.is_empty()
            && self
                .dialects
                .iter()
                .all(|(_, f)| matches!(f, Some(Family::SignIn(_))));
        let with = |container: &str| {
            if joined.is_empty() {
                container.to_string()
            } else {
                format!("{joined} ({container})")
            }
        };
        match self.container {
            Container::Unknown => "unrecognised".to_string(),
            Container::Empty => "empty file".to_string(),
            Container::Evtx => "EVTX".to_string(),
            Container::EventXml => "Windows event XML".to_string(),
            Container::Ndjson if joined == "ECS" => "ECS NDJSON".to_string(),
            Container::Ndjson => with("NDJSON"),
            Container::Array => with("JSON array"),
            Container::SingleObject => with("single JSON object"),
            Container::Records => "Azure Monitor records envelope".to_string(),
            Container::GraphPage if only_signin => "Graph signIns page".to_string(),
            Container::GraphPage if only_audit => "Graph directoryAudits page".to_string(),
            Container::GraphPage => "Graph page".to_string(),
            Container::Tables => "Log Analytics query API tables".to_string(),
            Container::Csv => {
                if self
                    .dialects
                    .iter()
                    .any(|(d, _)| *d == Dialect::LogAnalyticsCsv)
                {
                    "Log Analytics CSV".to_string()
                } else {
                    "Entra portal CSV".to_string()
                }
            }
        }
    }
}

fn dialect_name(d: Dialect, f: Option<Family>) -> &'static str {
    use idrecon_winlog::JsonShape;
    match (d, f) {
        (Dialect::LogAnalytics, _) => "Log Analytics rows",
        (Dialect::Graph, Some(Family::Audit)) => "Graph directoryAudit objects",
        (Dialect::Graph, _) => "Graph signIn objects",
        (Dialect::AzureMonitor, _) => "Azure Monitor records",
        (Dialect::PortalCsv, _) => "Entra portal rows",
        (Dialect::LogAnalyticsCsv, _) => "Log Analytics rows",
        (Dialect::Windows(JsonShape::Ecs), _) => "ECS",
        (Dialect::Windows(JsonShape::SecurityEvent), _) => "Sentinel SecurityEvent rows",
        (Dialect::Windows(JsonShape::EvtxDump), _) => "evtx_dump JSON",
    }
}

/// Sign-in table suggested by a portal download's file name
/// (`NonInteractiveSignIns_….csv` and friends).
fn table_hint_from_name(path: &std::path::Path) -> Option<&'static str> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '.'))
        .collect();
    if name.contains("noninteractive") {
        Some(table::NON_INTERACTIVE)
    } else if name.contains("serviceprincipal") {
        Some(table::SERVICE_PRINCIPAL)
    } else if name.contains("managedidentit") || name.contains("msisignin") {
        Some(table::MANAGED_IDENTITY)
    } else {
        None
    }
}

/// Reject reason for an oversized record.
pub(crate) fn too_large(len: usize, max: usize) -> String {
    format!(
        "record too large: {len} bytes, over the limit of {max} bytes (raise --max-record-bytes if it is genuine)"
    )
}

/// A serde_json error phrased for users (serde_json's own text already
/// carries line and column).
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    let s = e.to_string();
    if s.starts_with("recursion limit exceeded") {
        format!("{s} (JSON nested more than 128 levels deep)")
    } else {
        s
    }
}
