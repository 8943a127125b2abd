//! Sources: standard input and followed files. (Kafka lives in `kafka.rs`
//! behind the `kafka` feature.)

use crate::StreamError;
use crate::ledger::Pos;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

/// One input record: an NDJSON line or a queue message.
pub(crate) struct SrcRecord {
    pub shard: usize,
    pub group: usize,
    pub pos_src: u32,
    pub pos: Pos,
    pub next: Pos,
    pub clock_src: u32,
    pub rec: u64,
    pub dedup: Option<(u64, u32)>,
    pub payload: Vec<u8>,
    /// The record's size in the source when the reader kept only the first
    /// part of it (a line longer than the record limit): what a reject
    /// reports, rather than the size kept.
    pub cut_from: Option<u64>,
    pub arrival: Instant,
}

/// What one poll returned.
#[derive(Default)]
pub(crate) struct Polled {
    pub records: Vec<SrcRecord>,
    /// A finite source has no more records.
    pub end: bool,
    /// Shards newly owned (`true`, Kafka partitions assigned) or no longer
    /// owned (`false`), in order: id and name.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub rebalance: Vec<(bool, usize, String)>,
}

pub(crate) trait Source {
    /// Waits up to `timeout` for records (at most `max`).
    fn poll(&mut self, timeout: Duration, max: usize) -> Result<Polled, StreamError>;
    /// The name evidence shows for a clock source.
    fn name(&self, clock_src: u32) -> String;
    /// The checkpoint key of a position space.
    fn pos_key(&self, pos_src: u32) -> String;
    /// Positions a restarted shard re-reads from.
    fn restore(&mut self, shard: usize, resume: &BTreeMap<String, Pos>) -> Result<(), StreamError>;
    /// Positions that are safe to resume from (findings are durable).
    fn commit(&mut self, shard: usize, resume: &BTreeMap<String, Pos>) -> Result<(), StreamError>;
    /// Clock sources a shard must hear from (or see go idle) before its
    /// watermark moves: Kafka partitions that have not delivered yet.
    fn clocks(&self, _shard: usize) -> Vec<u32> {
        Vec::new()
    }
}

/// Reads a line of at most `max` bytes (+ line ending) into `buf`; a longer
/// line is consumed and returned truncated to `max + 1` bytes so that it is
/// rejected as too large. Returns the bytes consumed (0 at end of input) and
/// whether the line ended with a line break.
fn read_line_capped(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    buf.clear();
    let mut total = 0usize;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok((total, false));
        }
        let (n, done) = match avail.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let room = (max + 3).saturating_sub(buf.len());
        buf.extend_from_slice(&avail[..n.min(room)]);
        total += n;
        r.consume(n);
        if done {
            return Ok((total, true));
        }
    }
}

/// Standard input, read by a thread so that polls can time out.
pub(crate) struct Stdin {
    rx: Receiver<Option<Line>>,
    skip_below: u64,
    ended: bool,
}

/// A line read: bytes, start offset, length, 1-based line number, and its
/// size without the line break when only its start was kept.
type Line = (Vec<u8>, u64, u64, u64, Option<u64>);

impl Stdin {
    pub(crate) fn new(max_record: usize) -> Stdin {
        let (tx, rx) = std::sync::mpsc::sync_channel(8192);
        std::thread::Builder::new()
            .name("idrecon-stdin".into())
            .spawn(move || stdin_reader(tx, max_record))
            .ok();
        Stdin {
            rx,
            skip_below: 0,
            ended: false,
        }
    }
}

fn stdin_reader(tx: SyncSender<Option<Line>>, max: usize) {
    let stdin = std::io::stdin();
    let mut r = std::io::BufReader::with_capacity(1 << 16, stdin.lock());
    let mut off = 0u64;
    let mut line = 0u64;
    loop {
        let mut buf = Vec::new();
        match read_line_capped(&mut r, &mut buf, max) {
            Ok((0, _)) | Err(_) => break,
            Ok((n, newline)) => {
                line += 1;
                // The size without the line break, as `hunt` reports it.
                let content = n as u64 - u64::from(newline);
                let cut = (n > buf.len()).then_some(content);
                if tx.send(Some((buf, off, n as u64, line, cut))).is_err() {
                    return;
                }
                off += n as u64;
            }
        }
    }
    let _ = tx.send(None);
}

impl Source for Stdin {
    fn poll(&mut self, timeout: Duration, max: usize) -> Result<Polled, StreamError> {
        let mut p = Polled::default();
        if self.ended {
            p.end = true;
            return Ok(p);
        }
        let mut next = match self.rx.recv_timeout(timeout) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => return Ok(p),
            Err(RecvTimeoutError::Disconnected) => Some(None),
        };
        while let Some(msg) = next.take() {
            let Some((payload, off, n, line, cut_from)) = msg else {
                self.ended = true;
                p.end = true;
                break;
            };
            if off >= self.skip_below {
                p.records.push(SrcRecord {
                    shard: 0,
                    group: 0,
                    pos_src: 0,
                    pos: Pos {
                        pos: off,
                        rec: line,
                    },
                    next: Pos {
                        pos: off + n,
                        rec: line + 1,
                    },
                    clock_src: 0,
                    rec: line,
                    dedup: None,
                    cut_from,
                    payload,
                    arrival: Instant::now(),
                });
            }
            if p.records.len() >= max {
                break;
            }
            next = match self.rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some(None),
            };
        }
        Ok(p)
    }

    fn name(&self, _clock_src: u32) -> String {
        STDIN_KEY.to_string()
    }

    fn pos_key(&self, _pos_src: u32) -> String {
        STDIN_KEY.to_string()
    }

    fn restore(
        &mut self,
        _shard: usize,
        resume: &BTreeMap<String, Pos>,
    ) -> Result<(), StreamError> {
        if let Some(p) = resume.get(STDIN_KEY) {
            self.skip_below = p.pos;
        }
        Ok(())
    }

    fn commit(&mut self, _: usize, _: &BTreeMap<String, Pos>) -> Result<(), StreamError> {
        Ok(())
    }
}

/// Checkpoint key of standard input.
pub(crate) const STDIN_KEY: &str = "<stdin>";

/// One followed file.
struct Tracked {
    display: String,
    key: String,
    file: Option<File>,
    /// Offset of the first byte not yet read into `partial`.
    read_off: u64,
    /// Bytes of an incomplete last line, starting at `line_off`.
    partial: Vec<u8>,
    /// Length of the incomplete line (it may exceed what `partial` keeps).
    partial_total: u64,
    line_off: u64,
    /// Number of the next line.
    line: u64,
    /// The path no longer names this file (rotated or deleted).
    detached: bool,
}

/// Files and directories followed like `tail -F`: new lines are read as
/// they are appended; a file renamed away (rotation) is read to its end
/// and the new file at the path is read from its start; a file that
/// shrinks (truncation) is read again from its start; new files in a
/// followed directory are picked up.
pub(crate) struct Follow {
    targets: Vec<PathBuf>,
    files: Vec<Tracked>,
    by_id: HashMap<(u64, u64), usize>,
    resume: BTreeMap<String, Pos>,
    last_scan: Option<Instant>,
    max: usize,
    /// Truncations seen (files read again from the start).
    pub truncations: u64,
}

impl Follow {
    pub(crate) fn new(targets: Vec<PathBuf>, max_record: usize) -> Follow {
        Follow {
            targets,
            files: Vec::new(),
            by_id: HashMap::new(),
            resume: BTreeMap::new(),
            last_scan: None,
            max: max_record,
            truncations: 0,
        }
    }

    fn candidates(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for t in &self.targets {
            if t.is_dir() {
                let Ok(rd) = std::fs::read_dir(t) else {
                    continue;
                };
                let mut v: Vec<PathBuf> = rd
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|ft| ft.is_file()))
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| e.path())
                    .collect();
                v.sort();
                out.extend(v);
            } else {
                out.push(t.clone());
            }
        }
        out
    }

    fn scan(&mut self) {
        use std::os::unix::fs::MetadataExt;
        let mut seen: Vec<usize> = Vec::new();
        for path in self.candidates() {
            let Ok(md) = std::fs::metadata(&path) else {
                continue;
            };
            let id = (md.dev(), md.ino());
            if let Some(&i) = self.by_id.get(&id) {
                seen.push(i);
                continue;
            }
            let Ok(file) = File::open(&path) else {
                continue;
            };
            let key = format!("{}:{}", id.0, id.1);
            let mut t = Tracked {
                display: path.display().to_string(),
                key: key.clone(),
                file: Some(file),
                read_off: 0,
                partial: Vec::new(),
                partial_total: 0,
                line_off: 0,
                line: 1,
                detached: false,
            };
            if let Some(p) = self.resume.get(&key)
                && p.pos <= md.len()
            {
                t.read_off = p.pos;
                t.line_off = p.pos;
                t.line = p.rec.max(1);
            }
            let i = self.files.len();
            self.files.push(t);
            self.by_id.insert(id, i);
            seen.push(i);
        }
        for (i, t) in self.files.iter_mut().enumerate() {
            if !seen.contains(&i) {
                t.detached = true;
            }
        }
    }

    fn read_file(&mut self, i: usize, out: &mut Vec<SrcRecord>, budget: usize) {
        let max = self.max;
        let t = &mut self.files[i];
        let Some(file) = t.file.as_mut() else {
            return;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len < t.read_off {
            // Truncated: start again.
            self.truncations += 1;
            t.read_off = 0;
            t.line_off = 0;
            t.line = 1;
            t.partial.clear();
            t.partial_total = 0;
        }
        if len == t.read_off {
            if t.detached {
                t.file = None;
            }
            return;
        }
        if file.seek(SeekFrom::Start(t.read_off)).is_err() {
            return;
        }
        let want = (len - t.read_off).min(budget as u64);
        let mut chunk = Vec::with_capacity(want as usize);
        if file.take(want).read_to_end(&mut chunk).is_err() {
            return;
        }
        t.read_off += chunk.len() as u64;
        let now = Instant::now();
        let mut rest: &[u8] = &chunk;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(nl + 1);
            rest = tail;
            let mut line = std::mem::take(&mut t.partial);
            let room = (max + 3).saturating_sub(line.len());
            line.extend_from_slice(&head[..head.len().min(room)]);
            let full = t.partial_total + head.len() as u64;
            t.partial_total = 0;
            let start = t.line_off;
            t.line_off += full;
            let no = t.line;
            t.line += 1;
            out.push(SrcRecord {
                shard: 0,
                group: 0,
                pos_src: i as u32,
                pos: Pos {
                    pos: start,
                    rec: no,
                },
                next: Pos {
                    pos: t.line_off,
                    rec: t.line,
                },
                clock_src: i as u32,
                rec: no,
                dedup: None,
                // The size without the line break, as `hunt` reports it.
                cut_from: (full > line.len() as u64).then_some(full - 1),
                payload: line,
                arrival: now,
            });
        }
        if !rest.is_empty() {
            t.partial_total += rest.len() as u64;
            let room = (max + 3).saturating_sub(t.partial.len());
            t.partial.extend_from_slice(&rest[..rest.len().min(room)]);
        }
    }
}

impl Source for Follow {
    fn poll(&mut self, timeout: Duration, max: usize) -> Result<Polled, StreamError> {
        let deadline = Instant::now() + timeout;
        let mut p = Polled::default();
        loop {
            if self
                .last_scan
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(500))
            {
                self.scan();
                self.last_scan = Some(Instant::now());
            }
            for i in 0..self.files.len() {
                let budget = (max.saturating_sub(p.records.len())).max(1) * 512;
                self.read_file(i, &mut p.records, budget.max(1 << 16));
            }
            if !p.records.is_empty() || Instant::now() >= deadline {
                return Ok(p);
            }
            std::thread::sleep(Duration::from_millis(25).min(timeout));
        }
    }

    fn name(&self, clock_src: u32) -> String {
        self.files
            .get(clock_src as usize)
            .map(|t| t.display.clone())
            .unwrap_or_default()
    }

    fn pos_key(&self, pos_src: u32) -> String {
        self.files
            .get(pos_src as usize)
            .map(|t| t.key.clone())
            .unwrap_or_default()
    }

    fn restore(
        &mut self,
        _shard: usize,
        resume: &BTreeMap<String, Pos>,
    ) -> Result<(), StreamError> {
        self.resume = resume.clone();
        Ok(())
    }

    fn commit(&mut self, _: usize, _: &BTreeMap<String, Pos>) -> Result<(), StreamError> {
        Ok(())
    }
}
