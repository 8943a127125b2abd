//! Readers for Entra ID log exports (and the Windows formats handed to
//! `idrecon-winlog`): path expansion, decompression, container detection and
//! normalization of every record into an [`idrecon_core::Event`].
//!
//! Everything is decided from the bytes, never from the file extension:
//!
//! 1. **Compression** by magic bytes: gzip (also multi-member) and zstd,
//!    bounded by [`IngestOptions::max_decompressed_bytes`].
//! 2. **Encoding**: a UTF-8 byte-order mark is dropped; UTF-16 text (with a
//!    BOM, as Windows PowerShell 5 writes it) is converted to UTF-8.
//! 3. **Container**: EVTX (`ElfFile\0`), Windows event XML (text starting with
//!    `<`), a JSON document (array; `{"records":[…]}` Azure Monitor envelope;
//!    `{"value":[…]}` Graph page; `{"tables":[…]}` Log Analytics query API;
//!    a single object; several of these one after another; read record by
//!    record, memory bounded by the largest record), NDJSON (one object per
//!    line) or CSV (Entra portal / Log Analytics download).
//! 4. **Dialect**, per record: Windows JSON shapes first (asked of
//!    `idrecon_winlog::json_shape`), then Azure Monitor diagnostic records,
//!    Log Analytics rows (PascalCase), Microsoft Graph objects (camelCase).
//!
//! Bad records never stop a file: each one is counted as rejected with its
//! line or record number and a reason, and `read == used + rejected` holds
//! for every file. With [`IngestOptions::strict`] the first rejected record
//! (or unreadable file) ends the run with an [`IngestError`] instead.
//!
//! ```no_run
//! use idrecon_ingest::{IngestOptions, expand_paths, read_all};
//! # fn main() -> Result<(), idrecon_ingest::IngestError> {
//! let files = expand_paths(&["logs/".into()])?;
//! let mut events = Vec::new();
//! let report = read_all(&files, &IngestOptions::default(), &mut |e| events.push(e))?;
//! let totals = report.totals();
//! assert_eq!(totals.read, totals.used + totals.rejected);
//! # Ok(())
//! # }
//! ```

mod csvin;
mod ctx;
mod doc;
mod entra;
mod fast;
mod json;
mod paths;
mod source;
pub mod stream;

use idrecon_core::{Event, EventKind, FileStats, Timestamp};
use std::path::PathBuf;
use std::sync::Arc;

pub use paths::expand_paths;

/// How input files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// Stop at the first rejected record or unreadable file with an error,
    /// instead of counting it and going on.
    pub strict: bool,
    /// Largest single record (NDJSON line, array element, CSV row) accepted,
    /// in bytes; larger records are rejected without being buffered whole.
    /// Default 64 MiB (`idrecon hunt --max-record-bytes`; reject reasons
    /// name the option).
    pub max_record_bytes: usize,
    /// Most bytes a compressed file may expand to; reading stops there and
    /// the file gets an error note. Default 16 GiB
    /// (`idrecon hunt --max-decompressed-bytes`).
    pub max_decompressed_bytes: u64,
    /// Largest part of a compressed file read into memory whole: Windows
    /// event XML, an EVTX file or UTF-16 text (converted whole), after
    /// decompression. Reading stops there with an error note, so a
    /// decompression bomb never exhausts memory; a plain (uncompressed)
    /// file of these kinds is read whole, whatever its size. JSON documents
    /// (arrays, envelopes, single objects), NDJSON and CSV are read record by
    /// record, compressed or not, and are not limited by it. Default 1 GiB
    /// (`idrecon hunt --max-document-bytes`).
    pub max_document_bytes: u64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            strict: false,
            max_record_bytes: 64 << 20,
            max_decompressed_bytes: 16 << 30,
            max_document_bytes: 1 << 30,
        }
    }
}

/// One input to read: a file, or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The file to open; `None` reads standard input.
    pub path: Option<PathBuf>,
    /// How the input is named in reports and messages.
    pub display: String,
}

impl InputFile {
    /// Standard input, displayed as `<stdin>`.
    pub fn stdin() -> Self {
        InputFile {
            path: None,
            display: "<stdin>".to_string(),
        }
    }

    /// A file, displayed as its path.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        InputFile {
            display: path.display().to_string(),
            path: Some(path),
        }
    }
}

/// What was read from one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The input's display name.
    pub path: String,
    /// Human name of the detected shape, e.g. `Log Analytics rows (NDJSON)`,
    /// `Graph signIns page`, `Azure Monitor records envelope`,
    /// `Entra portal CSV`, `EVTX`, `Windows event XML`, `ECS NDJSON`;
    /// `empty file` and `unrecognised` when nothing could be read.
    pub shape: String,
    /// Records read, used and rejected, with the first reject reasons.
    pub stats: FileStats,
    /// A problem with the file as a whole (unreadable, truncated or
    /// oversized compressed data, unknown format), phrased for the user.
    /// Records read before the problem are still counted and used.
    pub error: Option<String>,
}

/// What was read from all input files, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// One report per input file.
    pub files: Vec<FileReport>,
}

impl IngestReport {
    /// The counts of all files added up (reject reasons stay per file).
    pub fn totals(&self) -> FileStats {
        let mut t = FileStats::default();
        for f in &self.files {
            t.merge(&f.stats);
        }
        t
    }
}

/// Why reading stopped. Every message names the input and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// A path given on the command line does not exist.
    #[error("{path}: no such file or directory; check the path (use `-` to read standard input)")]
    NotFound {
        /// The path as given.
        path: String,
    },
    /// A path given on the command line exists but cannot be examined.
    #[error("{path}: cannot access it ({source}); check its permissions")]
    Unreadable {
        /// The path as given.
        path: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// Strict mode: a record was rejected.
    #[error(
        "{file}: record {record} rejected: {reason} (strict mode stops at the first bad record; run without --strict to skip such records and continue)"
    )]
    Rejected {
        /// The input's display name.
        file: String,
        /// 1-based line or record number.
        record: u64,
        /// Why the record was rejected.
        reason: String,
    },
    /// Strict mode: the file as a whole could not be read completely.
    #[error(
        "{file}: {reason} (strict mode stops on an unreadable file; run without --strict to read what can be read and continue)"
    )]
    File {
        /// The input's display name.
        file: String,
        /// What is wrong with the file.
        reason: String,
    },
}

/// Reads one input, calling `sink` for every normalized event in file order.
/// `index` becomes [`idrecon_core::Origin::file`] of its events.
///
/// Problems are reported in the returned [`FileReport`] (per-record rejects
/// in its stats, whole-file problems in `error`). `Err` is returned only when
/// `opts.strict` is set and a record was rejected or the file could not be
/// read completely.
pub fn read_file(
    file: &InputFile,
    index: u32,
    opts: &IngestOptions,
    sink: &mut dyn FnMut(Event),
) -> Result<FileReport, IngestError> {
    let fast = FastPath::from_env();
    read_file_into(file, index, opts, &fast, &mut Plain(sink))
}

/// [`read_file`] with explicit fast-path settings and a sink that is also
/// told about the events the prefilter skipped.
pub fn read_file_into(
    file: &InputFile,
    index: u32,
    opts: &IngestOptions,
    fast: &FastPath,
    sink: &mut dyn EventSink,
) -> Result<FileReport, IngestError> {
    let mut ctx = ctx::Ctx::new(file, index, opts, fast, sink);
    #[cfg(unix)]
    let done = fast::par::try_read(&mut ctx, file, fast);
    #[cfg(not(unix))]
    let done = false;
    if !done {
        source::read_input(&mut ctx, file);
    }
    ctx.finish()
}

/// Reads every input in order (file index = position in `files`), calling
/// `sink` for each event. In strict mode the first failure ends the run.
pub fn read_all(
    files: &[InputFile],
    opts: &IngestOptions,
    sink: &mut dyn FnMut(Event),
) -> Result<IngestReport, IngestError> {
    let fast = FastPath::from_env();
    read_all_into(files, opts, &fast, &mut Plain(sink))
}

/// [`read_all`] with explicit fast-path settings (prefilter, threads) and a
/// sink that is also told about skipped events.
///
/// Events reach `sink` in file order within a file; with several threads,
/// events of different files (and of different parts of one large NDJSON
/// file) may interleave, but file indexes, record numbers, reports and
/// reject lists are exactly those of a sequential read.
pub fn read_all_into(
    files: &[InputFile],
    opts: &IngestOptions,
    fast: &FastPath,
    sink: &mut dyn EventSink,
) -> Result<IngestReport, IngestError> {
    if let Some(r) = fast::files::read_all(files, opts, fast, sink) {
        return r.map(|files| IngestReport { files });
    }
    let mut report = IngestReport::default();
    for (i, f) in files.iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        sink.file_start(i, f);
        let r = read_file_into(f, index, opts, fast, sink)?;
        sink.file_done(i, f, &r);
        report.files.push(r);
    }
    Ok(report)
}

/// Receives what the readers produce.
pub trait EventSink {
    /// A normalized event.
    fn event(&mut self, ev: Event);
    /// A record that was read and counted as used, but that the
    /// [`FastPath::prefilter`] said no rule can use; only its time and kind
    /// are given (a batch engine still needs the latest event time).
    fn skipped(&mut self, time: Timestamp, kind: EventKind) {
        let _ = (time, kind);
    }
    /// [`read_all_into`] starts reading file `index` (for progress).
    fn file_start(&mut self, index: usize, file: &InputFile) {
        let _ = (index, file);
    }
    /// [`read_all_into`] finished file `index` (for progress).
    fn file_done(&mut self, index: usize, file: &InputFile, report: &FileReport) {
        let _ = (index, file, report);
    }
}

/// Adapts a closure that only takes events.
struct Plain<'f>(&'f mut dyn FnMut(Event));

impl EventSink for Plain<'_> {
    fn event(&mut self, ev: Event) {
        (self.0)(ev)
    }
}

/// Decides from a record's kind, table and result code whether any active
/// rule could use it (`true` when unsure). Built by the caller from its
/// rules; records it answers `false` for are counted but not normalized.
///
/// Built with [`Prefilter::with_fields`], it also answers for records of
/// which other fields are known (the EVTX reader asks with the EventID).
#[derive(Clone)]
pub struct Prefilter(Inner);

#[derive(Clone)]
enum Inner {
    Code(Arc<PrefilterFn>),
    Fields(Arc<FieldsFn>),
}

type PrefilterFn = dyn Fn(EventKind, &str, Option<&str>) -> bool + Send + Sync;

/// What is known of a record's fields: `None` unknown, `Some(None)` absent.
pub type Known<'k, 'v> = &'k dyn Fn(idrecon_core::Field) -> Option<Option<&'v str>>;

type FieldsFn = dyn for<'k, 'v> Fn(EventKind, &str, Known<'k, 'v>) -> bool + Send + Sync;

impl Prefilter {
    /// A prefilter from `may_use(kind, table, result_code)`.
    pub fn new(
        may_use: impl Fn(EventKind, &str, Option<&str>) -> bool + Send + Sync + 'static,
    ) -> Self {
        Prefilter(Inner::Code(Arc::new(may_use)))
    }

    /// A prefilter from `may_use(kind, table, known)`, where `known` gives
    /// the fields known so far (three-valued, as `Rule::may_use` takes
    /// them).
    pub fn with_fields(
        may_use: impl for<'k, 'v> Fn(EventKind, &str, Known<'k, 'v>) -> bool + Send + Sync + 'static,
    ) -> Self {
        Prefilter(Inner::Fields(Arc::new(may_use)))
    }

    /// Whether an event of this kind, table and result code may be used.
    pub fn may_use(&self, kind: EventKind, table: &str, result_code: Option<&str>) -> bool {
        match &self.0 {
            Inner::Code(f) => f(kind, table, result_code),
            Inner::Fields(f) => f(kind, table, &|field| {
                (field == idrecon_core::Field::ResultCode).then_some(result_code)
            }),
        }
    }

    /// Whether an event of this kind and table, of which `known` gives
    /// some fields, may be used (`true` when a prefilter built with
    /// [`Prefilter::new`] is asked without the result code).
    pub fn may_use_known(&self, kind: EventKind, table: &str, known: Known<'_, '_>) -> bool {
        match &self.0 {
            Inner::Code(f) => match known(idrecon_core::Field::ResultCode) {
                Some(code) => f(kind, table, code),
                None => true,
            },
            Inner::Fields(f) => f(kind, table, known),
        }
    }
}

impl std::fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prefilter(..)")
    }
}

/// Settings of the fast reading paths. Every fast path gives exactly the
/// events, counts and reject reasons of the plain reading (it falls back
/// to the plain reading for anything unusual); only the prefilter changes
/// what reaches the sink, by design.
#[derive(Debug, Clone)]
pub struct FastPath {
    /// Read flat sign-in records (Log Analytics rows, Graph objects) with
    /// the scanning reader instead of a full JSON parse.
    pub enabled: bool,
    /// Build EVTX records' events straight from their template values
    /// instead of rendering them to XML (where the template says for
    /// certain what the rendering would give; see `idrecon_winlog`).
    pub evtx_direct: bool,
    /// Skip records no rule can use (see [`EventSink::skipped`]).
    pub prefilter: Option<Prefilter>,
    /// Threads for reading (1: everything on the calling thread).
    pub threads: usize,
    /// Size of the blocks a large NDJSON file is cut into for reading on
    /// several threads (files of at least two blocks are).
    pub block_bytes: usize,
}

/// Default [`FastPath::block_bytes`]: 8 MiB.
pub const DEFAULT_BLOCK_BYTES: usize = 8 << 20;

impl FastPath {
    /// Everything off: the plain, sequential reading.
    pub fn off() -> Self {
        FastPath {
            enabled: false,
            evtx_direct: false,
            prefilter: None,
            threads: 1,
            block_bytes: DEFAULT_BLOCK_BYTES,
        }
    }

    /// The scanning reader on, no prefilter, one thread — unless the
    /// environment variable `IDRECON_FAST_PATH` is `0`, `off` or `false`.
    pub fn from_env() -> Self {
        FastPath {
            enabled: env_allows_fast_path(),
            evtx_direct: env_allows_fast_path(),
            prefilter: None,
            threads: 1,
            block_bytes: DEFAULT_BLOCK_BYTES,
        }
    }
}

/// False when `IDRECON_FAST_PATH` is set to `0`, `off`, `no` or `false`.
pub fn env_allows_fast_path() -> bool {
    !std::env::var("IDRECON_FAST_PATH").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "off" | "no" | "false"
        )
    })
}
