//! JSON documents — arrays, `records` / `value` / `tables` envelopes, single
//! objects, several of these one after another — read from a stream,
//! record by record.
//!
//! A top-level value no larger than a record (`max_record_bytes`, and at
//! most [`WINDOW`]) is framed in memory and read as one piece. A larger one
//! is parsed from the stream by `serde_json`'s reader-based deserializer,
//! and each of its records (array element, table row) is framed on its own:
//! [`Input`] holds only the record being read and hands the deserializer a
//! two-byte stand-in (`{}`) in its place. Memory is bounded by the largest
//! record (and `max_record_bytes`: a longer record is skipped byte by byte
//! and rejected by size), not by the document.
//!
//! The outcomes are those of reading the document whole (which is how it
//! was read before): the same record numbers, shapes, events, reject
//! reasons with their line and column, notes, and the same recovery after a
//! malformed top-level value (reading goes on at the next line that starts
//! a value). What the in-memory reading learned before emitting anything —
//! that the value is well-formed UTF-8, that no field is nested too deeply
//! or holds an out-of-range number — is found here as the value is read;
//! the records before such a defect are used and the defect is reported
//! when the value ends, as it was. The one difference: a Log Analytics
//! `tables` entry larger than the window is streamed too, so the rows
//! before a defect found later in that entry (a cut, a syntax error, a
//! repeated `columns` or `rows`) are used, and the defect rejects one
//! record after them, instead of the entry being rejected whole.

use crate::ctx::{Container, Ctx, Flow, json_error, too_large};
use crate::json::{self, Column, Top};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;
use std::io::{self, BufRead, Read};

/// Largest top-level value (and `tables` entry) read in memory as one
/// piece; larger ones are streamed.
pub(crate) const WINDOW: usize = 1 << 20;

/// How much is read from the source at a time.
const CHUNK: usize = 64 << 10;

/// Marker error: strict mode stopped inside the deserializer.
const STOP: &str = "\u{0}idrecon:stop";

fn stop<E: de::Error>() -> E {
    E::custom(STOP)
}

/// Reads a JSON document: the bytes `head` already read, then `src`;
/// `line_base` lines precede it in the file. Records are numbered 1, 2, …
/// across the whole document.
pub(crate) fn read_document(
    ctx: &mut Ctx<'_>,
    head: Vec<u8>,
    src: Box<dyn BufRead>,
    line_base: u64,
) {
    let window = ctx.opts.max_record_bytes.min(WINDOW);
    read_document_with(ctx, head, src, line_base, window);
}

/// [`read_document`] with the largest container read in memory as one
/// piece (tests stream everything with 0).
pub(crate) fn read_document_with(
    ctx: &mut Ctx<'_>,
    head: Vec<u8>,
    src: Box<dyn BufRead>,
    line_base: u64,
    window: usize,
) {
    let max = ctx.opts.max_record_bytes;
    let mut input = Input::new(src, max, window);
    // Read on from there (not copied: the first line of a single-line
    // document may be as long as the record limit).
    input.buf = head;
    let input = RefCell::new(input);
    let mut next = 0u64;
    loop {
        let first = {
            let mut i = input.borrow_mut();
            i.skip_ws();
            i.peek_byte()
        };
        note_io(ctx, &input);
        let Some(first) = first else { break };
        let container = matches!(first, b'{' | b'[');
        let cap = if container { window } else { WINDOW.max(max) };
        let framed = input
            .borrow_mut()
            .frame_top(cap, container || first == b'"');
        note_io(ctx, &input);
        let end = match framed {
            TopFrame::Whole(len) => whole(ctx, &input, len, &mut next),
            TopFrame::Broken(len, e) => broken(ctx, &input, len, &e, &mut next, line_base),
            TopFrame::Stream => stream(ctx, &input, first, &mut next, line_base),
        };
        if end == End::Stop {
            return;
        }
    }
    note_io(ctx, &input);
    if ctx.stats.read == 0 && !ctx.has_error() {
        ctx.set_container(Container::Empty);
    }
}

/// Passes a read error of the source to the file's notes.
fn note_io(ctx: &mut Ctx<'_>, input: &RefCell<Input>) {
    let msg = input.borrow_mut().io_error.take();
    if let Some(msg) = msg {
        ctx.file_error(msg);
    }
}

/// Whether to go on after a top-level value.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Next,
    Stop,
}

/// A top-level value that fits the window: read in memory.
fn whole(ctx: &mut Ctx<'_>, input: &RefCell<Input>, len: usize, next: &mut u64) -> End {
    let bytes = input.borrow_mut().take(len);
    // Framed as a `RawValue`, so valid UTF-8.
    let text = String::from_utf8_lossy(&bytes);
    let mut de = serde_json::Deserializer::from_str(&text);
    let seed = Top {
        ctx: &mut *ctx,
        next: &mut *next,
        raw_len: text.len(),
    };
    if let Err(e) = seed.deserialize(&mut de) {
        if ctx.is_stopped() {
            return End::Stop;
        }
        // Only deep nesting and the like get here (the syntax was checked).
        let reason = format!("invalid JSON: {}", json_error(&e));
        if ctx.reject(*next + 1, reason).is_break() {
            return End::Stop;
        }
        *next += 1;
    }
    End::Next
}

/// A top-level value with a defect inside the window (or cut by the end
/// of the input): its records before the defect are used, then the defect
/// is reported.
fn broken(
    ctx: &mut Ctx<'_>,
    input: &RefCell<Input>,
    len: usize,
    e: &serde_json::Error,
    next: &mut u64,
    line_base: u64,
) -> End {
    let start = input.borrow().pos();
    {
        let i = input.borrow();
        let slice = i.ahead(len);
        let mut de = serde_json::Deserializer::from_slice(slice);
        let seed = Top {
            ctx: &mut *ctx,
            next: &mut *next,
            raw_len: slice.len(),
        };
        let _ = seed.deserialize(&mut de);
    }
    if ctx.is_stopped() {
        return End::Stop;
    }
    let (line, column) = start.then(e.line() as u64, e.column() as u64);
    if e.is_eof() {
        input.borrow_mut().skip_to_end();
        note_io(ctx, input);
        ctx.file_error(format!(
            "the JSON ends early at line {} (truncated?); the {next} records before that point were read",
            line_base + line
        ));
        return End::Stop;
    }
    let msg = match json_error(e).split_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => json_error(e),
    };
    resume(ctx, input, line, column, &msg, next, line_base)
}

/// Rejects a malformed top-level value and moves to the next line that
/// starts (in column 1) with `{` or `[`: where the next top-level value of
/// line-delimited JSON begins (nested lines of pretty-printed JSON are
/// indented).
fn resume(
    ctx: &mut Ctx<'_>,
    input: &RefCell<Input>,
    line: u64,
    column: u64,
    msg: &str,
    next: &mut u64,
    line_base: u64,
) -> End {
    let resumed = input.borrow_mut().skip_to_value_line(line);
    note_io(ctx, input);
    let skipped = match resumed {
        Some(l) => format!("reading went on at line {}", line_base + l),
        None => "the rest of the file was skipped".to_string(),
    };
    let reason = format!(
        "invalid JSON at line {}, column {column}: {msg}; the rest of this JSON value was skipped and {skipped}",
        line_base + line
    );
    if ctx.reject(*next + 1, reason).is_break() {
        return End::Stop;
    }
    *next += 1;
    match resumed {
        Some(_) => End::Next,
        None => End::Stop,
    }
}

/// A top-level value larger than the window: parsed from the stream.
fn stream(
    ctx: &mut Ctx<'_>,
    input: &RefCell<Input>,
    first: u8,
    next: &mut u64,
    line_base: u64,
) -> End {
    let top = input.borrow_mut().begin_value();
    let max = ctx.opts.max_record_bytes;
    let mut st = St {
        ctx: &mut *ctx,
        next: &mut *next,
        failed: None,
        top,
        max,
    };
    let mut out_of_range = false;
    let res = {
        let mut de = serde_json::Deserializer::from_reader(Adapter(input));
        match first {
            b'{' | b'[' => StreamTop { st: &mut st, input }.deserialize(&mut de),
            // A long string is checked and skipped by the input.
            b'"' => match skip_top_string(input) {
                SkipStr::Done => Ok(()),
                // The end of the input, or a defect (noted as forced).
                SkipStr::End | SkipStr::Error => de.deserialize_ignored_any(IgnoredAny).map(|_| ()),
            },
            // A long number: read as the in-memory reading reads it (an
            // out-of-range one is rejected below).
            _ => match de.deserialize_any(AnyNumber) {
                Err(e) if e.to_string().starts_with("number out of range") => {
                    out_of_range = true;
                    Ok(())
                }
                other => other,
            },
        }
    };
    let failed = st.failed.take();
    input.borrow_mut().end_value();
    note_io(ctx, input);
    if ctx.is_stopped() {
        return End::Stop;
    }
    let (bad, give_up) = {
        let i = input.borrow();
        (i.bad_pos, i.give_up)
    };
    let forced = input.borrow_mut().forced.take();
    if let Some((at, msg)) = forced {
        input.borrow_mut().pin = None;
        return resume(ctx, input, at.line, at.col, msg, next, line_base);
    }
    if let Err(e) = res
        && !give_up
    {
        input.borrow_mut().pin = None;
        let (pos, last, prev_line_start) = {
            let i = input.borrow();
            i.err.unwrap_or((i.pos(), i.last_byte, i.prev_line_start))
        };
        if e.is_eof() {
            ctx.file_error(format!(
                "the JSON ends early at line {} (truncated?); the {next} records before that point were read",
                line_base + pos.line
            ));
            return End::Stop;
        }
        let msg = match json_error(&e).split_once(" at line ") {
            Some((m, _)) => m.to_string(),
            None => json_error(&e),
        };
        // The in-memory reading checks a value's syntax as a whole first,
        // and words a trailing comma as the value or key it lacks.
        let msg = match (msg.as_str(), last) {
            ("trailing comma", b']') => "expected value".to_string(),
            ("trailing comma", _) => "key must be a string".to_string(),
            _ => msg,
        };
        // A control character in a string is placed before it, not after.
        let pos = if msg.starts_with("control character") {
            let offset = pos.offset.saturating_sub(1);
            match last {
                b'\n' => Pos {
                    offset,
                    line: pos.line.saturating_sub(1),
                    col: offset.saturating_sub(prev_line_start),
                },
                _ => Pos {
                    offset,
                    line: pos.line,
                    col: pos.col.saturating_sub(1),
                },
            }
        } else {
            pos
        };
        return resume(ctx, input, pos.line, pos.col, &msg, next, line_base);
    }
    if let Some(p) = bad {
        // Well-formed but not UTF-8: reported at the first invalid byte,
        // and reading goes on at the line after it (as it did).
        input.borrow_mut().rewind();
        return resume(
            ctx,
            input,
            p.line,
            p.col,
            "invalid unicode code point",
            next,
            line_base,
        );
    }
    if !matches!(first, b'{' | b'[') {
        return stream_scalar(ctx, input, first, top, out_of_range, next, line_base);
    }
    if let Some(reason) = failed {
        if ctx
            .reject(*next + 1, format!("invalid JSON: {reason}"))
            .is_break()
        {
            return End::Stop;
        }
        *next += 1;
    }
    End::Next
}

/// Skips a long top-level string (the borrow ends before the deserializer
/// may read on).
fn skip_top_string(input: &RefCell<Input>) -> SkipStr {
    input.borrow_mut().skip_string()
}

/// A top-level scalar too long to frame (a string or number longer than
/// the window and the record limit): rejected as the in-memory reading
/// rejects it, and a number must end where a value may end.
fn stream_scalar(
    ctx: &mut Ctx<'_>,
    input: &RefCell<Input>,
    first: u8,
    top: Pos,
    out_of_range: bool,
    next: &mut u64,
    line_base: u64,
) -> End {
    let number = first == b'-' || first.is_ascii_digit();
    let scalar = |ctx: &mut Ctx<'_>, next: &mut u64| {
        *next += 1;
        let what = if number { "a number" } else { "text" };
        let reason = format!("expected a JSON object or array, found {what}");
        ctx.reject(*next, reason)
    };
    if !number {
        return match scalar(ctx, next) {
            Flow::Break(()) => End::Stop,
            Flow::Continue(()) => End::Next,
        };
    }
    // The deserializer looked at the byte after the number.
    let peeked = input.borrow_mut().unserve();
    let pos = input.borrow().pos();
    let trailing = peeked.is_some_and(|b| {
        !matches!(
            b,
            b' ' | b'\n' | b'\t' | b'\r' | b'"' | b'[' | b']' | b'{' | b'}' | b',' | b':'
        )
    });
    if trailing {
        if !out_of_range && scalar(ctx, next).is_break() {
            return End::Stop;
        }
        // At the position after the offending byte, as it is reported.
        return resume(
            ctx,
            input,
            pos.line,
            pos.col + 1,
            "trailing characters",
            next,
            line_base,
        );
    }
    let flow = if out_of_range {
        *next += 1;
        let column = pos.offset - top.offset;
        let reason = format!("invalid JSON: number out of range at line 1 column {column}");
        ctx.reject(*next, reason)
    } else {
        scalar(ctx, next)
    };
    match flow {
        Flow::Break(()) => End::Stop,
        Flow::Continue(()) => End::Next,
    }
}

/// Accepts any number (a long top-level one, read to check its range).
struct AnyNumber;

impl<'de> Visitor<'de> for AnyNumber {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
}

// ---------------------------------------------------------------------
// The input.
// ---------------------------------------------------------------------

/// A position in the document: bytes before it, its 1-based line, and how
/// many bytes precede it on that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    offset: u64,
    line: u64,
    col: u64,
}

impl Pos {
    /// The document position of `(line, column)` as `serde_json` reports
    /// it for a text that starts here.
    fn then(self, line: u64, column: u64) -> (u64, u64) {
        if line <= 1 {
            (self.line, self.col.saturating_add(column))
        } else {
            (self.line.saturating_add(line - 1), column)
        }
    }

    /// Where `(line, column)` of a text that starts here lies in a text
    /// that starts at `outer`.
    fn within(self, outer: Pos, line: u64, column: u64) -> (u64, u64) {
        let (l, c) = self.then(line, column);
        let l = l.saturating_sub(outer.line) + 1;
        if l == 1 {
            (1, c.saturating_sub(outer.col))
        } else {
            (l, c)
        }
    }
}

/// How a top-level value was framed.
enum TopFrame {
    /// Complete and well-formed, `len` bytes.
    Whole(usize),
    /// A defect (or the end of the input) within the first `len` bytes.
    Broken(usize, serde_json::Error),
    /// Larger than the window.
    Stream,
}

/// How a value inside a streamed document was framed.
enum Framing {
    /// Complete, `len` bytes (not yet checked to be UTF-8).
    Value(usize),
    /// Longer than the cap.
    TooBig,
    /// Malformed or cut by the end of the input (the deserializer will
    /// report it).
    Invalid,
}

/// How a skipped string ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SkipStr {
    /// At its closing quote.
    Done,
    /// At the end of the input.
    End,
    /// At a defect (noted as the error).
    Error,
}

/// What the input holds for the deserializer at each nesting level of a
/// streamed value.
enum Frame {
    /// An object: keys and values pass through (values are framed by
    /// their seeds).
    Object,
    /// An array whose elements are framed as they start.
    Elements { kind: Kind, state: ElemState },
}

/// What the elements of an array are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Records (array elements, envelope records, table rows).
    Record,
    /// Log Analytics query tables.
    Table,
    /// Values inside a value too large to keep (checked and skipped).
    Skip,
}

/// Where the input is in the current element.
enum ElemState {
    /// Between elements (whitespace, commas, the closing bracket);
    /// `ready`: an element may start here (first, or after a comma).
    Between { ready: bool },
    /// The element was framed and taken out; the deserializer reads `{}`.
    Framed(Piece),
    /// The element is passed through byte by byte (too big, malformed,
    /// a scalar), from offset `start`; `number`: the deserializer reads one
    /// byte past it.
    Raw { begin: Pos, number: bool },
    /// A table too big to frame, read by its seed key by key.
    Structured,
    /// An array or object too big to frame, from `begin`: skipped by its
    /// seed value by value.
    Deep { begin: Pos },
    /// A string too big to frame, from `begin`: skipped by the input; the
    /// deserializer reads `{}`.
    Skipped { begin: Pos },
}

/// A framed value taken out of the input.
struct Piece {
    bytes: Vec<u8>,
    /// Offset just after it.
    end: u64,
}

/// An element as its seed gets it.
enum Elem {
    /// Framed: its text.
    Text(Piece),
    /// Passed through: its length, and its text when it was kept (a
    /// scalar within the record limit).
    Raw {
        len: u64,
        text: Option<Vec<u8>>,
        end: u64,
    },
    /// Read by its seed.
    Done,
}

/// Bytes kept while they pass through.
struct Capture {
    bytes: Vec<u8>,
    cap: usize,
    overflow: bool,
}

/// The document as a stream: a buffer over the source, the position of the
/// next byte, and what the deserializer is reading.
struct Input {
    src: Box<dyn BufRead>,
    buf: Vec<u8>,
    /// Next byte to hand out or consume.
    at: usize,
    /// The source ended (or failed).
    eof: bool,
    /// A read error not yet noted.
    io_error: Option<String>,
    /// Position of `buf[at]`.
    offset: u64,
    line: u64,
    line_start: u64,
    /// The previous line start, to step back over one newline.
    prev_line_start: u64,
    max: usize,
    window: usize,
    /// Nesting of the value being streamed.
    stack: Vec<Frame>,
    /// Bytes of the `{}` stand-in still to hand out.
    stand_in: u8,
    capture: Option<Capture>,
    /// The last byte handed to the deserializer, and whether the last
    /// request found the end of the input.
    last_byte: u8,
    last_eof: bool,
    /// UTF-8 check of the value being streamed: offset of the first
    /// invalid byte and the position just after it, and an incomplete
    /// character carried over (with its position).
    track_utf8: bool,
    first_bad: Option<u64>,
    bad_pos: Option<Pos>,
    carry: [u8; 4],
    carry_len: usize,
    carry_pos: Pos,
    /// After an invalid byte, the bytes from just after it are kept (up to
    /// [`WINDOW`]) so that reading can go back there, as the in-memory
    /// reading goes on at the line after the invalid byte; `give_up`: more
    /// than that passed (the value is ended there).
    pin: Option<Pos>,
    give_up: bool,
    /// Where the first error of the value was seen, with the last byte
    /// handed out then; no more bytes are handed out after it.
    err: Option<(Pos, u8, u64)>,
    /// A syntax error found outside the deserializer (a control character
    /// in a key, which it reads as bytes): where and what.
    forced: Option<(Pos, &'static str)>,
    /// A key is being read (as bytes: a control character in it is
    /// refused here), and where it is in an escape: 1 after a backslash,
    /// 2 + n with n hex digits of `\uXXXX` still to come.
    key: bool,
    key_escape: u8,
}

impl Input {
    fn new(src: Box<dyn BufRead>, max: usize, window: usize) -> Self {
        Input {
            src,
            buf: Vec::with_capacity(CHUNK),
            at: 0,
            eof: false,
            io_error: None,
            offset: 0,
            line: 1,
            line_start: 0,
            prev_line_start: 0,
            max,
            window,
            stack: Vec::new(),
            stand_in: 0,
            capture: None,
            last_byte: 0,
            last_eof: false,
            track_utf8: false,
            first_bad: None,
            bad_pos: None,
            carry: [0; 4],
            carry_len: 0,
            carry_pos: Pos {
                offset: 0,
                line: 1,
                col: 0,
            },
            pin: None,
            give_up: false,
            err: None,
            forced: None,
            key: false,
            key_escape: 0,
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            offset: self.offset,
            line: self.line,
            col: self.offset - self.line_start,
        }
    }

    /// The buffered bytes from the next one on.
    fn rest(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    /// Up to `n` bytes from the next one on (fewer at the end).
    fn ahead(&self, n: usize) -> &[u8] {
        let r = self.rest();
        &r[..n.min(r.len())]
    }

    /// Makes at least `n` bytes from the next one on available, unless the
    /// source ends first. Keeps the byte before the next one (to step back).
    fn fill(&mut self, n: usize) {
        if self.rest().len() >= n || self.eof {
            return;
        }
        if self.at > 1 {
            let mut cut = self.at - 1;
            if let Some(p) = self.pin {
                let back = usize::try_from(self.offset - p.offset).unwrap_or(usize::MAX);
                cut = cut.min(self.at.saturating_sub(back));
            }
            self.buf.drain(..cut);
            self.at -= cut;
        }
        if self.buf.capacity() > 4 * CHUNK && self.rest().len() < CHUNK && n <= CHUNK {
            self.buf.shrink_to(2 * CHUNK);
        }
        while self.rest().len() < n && !self.eof {
            match self.src.fill_buf() {
                Ok([]) => self.eof = true,
                Ok(b) => {
                    let len = b.len();
                    self.buf.extend_from_slice(b);
                    self.src.consume(len);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // As a whole-file read does: what was read is kept and
                    // the error noted.
                    self.io_error = Some(e.to_string());
                    self.eof = true;
                }
            }
        }
    }

    fn peek_byte(&mut self) -> Option<u8> {
        self.fill(1);
        self.rest().first().copied()
    }

    /// Consumes `n` buffered bytes: position, UTF-8 check, capture.
    fn advance(&mut self, n: usize) {
        let n = n.min(self.rest().len());
        let start = self.at;
        if self.track_utf8 && self.first_bad.is_none() {
            self.check_utf8(start, n);
        }
        let bytes = &self.buf[start..start + n];
        let mut lines = memchr::memrchr_iter(b'\n', bytes);
        if let Some(last) = lines.next() {
            let before = lines.next();
            let count = match before {
                Some(_) => 2 + lines.count() as u64,
                None => 1,
            };
            // The start of the line the last newline ends (to step back).
            self.prev_line_start = match before {
                Some(b) => self.offset + b as u64 + 1,
                None => self.line_start,
            };
            self.line += count;
            self.line_start = self.offset + last as u64 + 1;
        }
        if let Some(c) = &mut self.capture {
            let room = c.cap.saturating_sub(c.bytes.len());
            if n > room {
                c.overflow = true;
            }
            c.bytes
                .extend_from_slice(&self.buf[start..start + n.min(room)]);
        }
        self.offset += n as u64;
        self.at += n;
    }

    /// The position of the byte at `offset` in the `n` bytes about to be
    /// consumed from `buf[start]` (`offset` at or after the next byte).
    fn pos_in(&self, start: usize, offset: u64) -> Pos {
        let k = usize::try_from(offset - self.offset).unwrap_or(0);
        let before = &self.buf[start..start + k];
        let nl = memchr::memchr_iter(b'\n', before).count() as u64;
        let line_start = match memchr::memrchr(b'\n', before) {
            Some(i) => self.offset + i as u64 + 1,
            None => self.line_start,
        };
        Pos {
            offset,
            line: self.line + nl,
            col: offset - line_start,
        }
    }

    /// Checks the `n` bytes at `buf[start]` as UTF-8 (continuing an
    /// incomplete character); at an invalid byte, notes where it is and
    /// keeps the bytes after it.
    fn check_utf8(&mut self, start: usize, n: usize) {
        let bytes = &self.buf[start..start + n];
        let mut i = 0;
        let mut bad: Option<Pos> = None;
        while self.carry_len > 0 && i < n {
            self.carry[self.carry_len] = bytes[i];
            self.carry_len += 1;
            i += 1;
            match std::str::from_utf8(&self.carry[..self.carry_len]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_some() || self.carry_len == 4 => {
                    bad = Some(self.carry_pos);
                    break;
                }
                Err(_) => {}
            }
        }
        if bad.is_none() && self.carry_len == 0 && !bytes[i..].is_ascii() {
            match std::str::from_utf8(&bytes[i..]) {
                Ok(_) => {}
                Err(e) => {
                    let at = self.offset + (i + e.valid_up_to()) as u64;
                    let p = self.pos_in(start, at);
                    if e.error_len().is_some() {
                        bad = Some(p);
                    } else {
                        let tail = &self.buf[start + i + e.valid_up_to()..start + n];
                        self.carry[..tail.len()].copy_from_slice(tail);
                        self.carry_len = tail.len();
                        self.carry_pos = p;
                    }
                }
            }
        }
        if let Some(p) = bad {
            self.set_bad(p);
        }
    }

    /// Notes an invalid byte at `p`.
    fn set_bad(&mut self, p: Pos) {
        let after = Pos {
            offset: p.offset + 1,
            line: p.line,
            col: p.col + 1,
        };
        self.first_bad = Some(p.offset);
        self.bad_pos = Some(after);
        self.pin = Some(after);
        self.carry_len = 0;
    }

    /// Goes back to just after the invalid byte (when the bytes since are
    /// still held).
    fn rewind(&mut self) {
        let Some(p) = self.pin.take() else { return };
        let back = usize::try_from(self.offset - p.offset).unwrap_or(usize::MAX);
        if back > self.at {
            return;
        }
        self.at -= back;
        self.offset = p.offset;
        self.line = p.line;
        self.line_start = p.offset - p.col;
        self.prev_line_start = self.line_start;
    }

    /// Consumes and returns `n` bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        self.fill(n);
        let v = self.ahead(n).to_vec();
        self.advance(n);
        v
    }

    fn skip_ws(&mut self) {
        loop {
            self.fill(1);
            let n = self
                .rest()
                .iter()
                .position(|b| !matches!(b, b' ' | b'\n' | b'\t' | b'\r'))
                .unwrap_or(self.rest().len());
            let all = n == self.rest().len();
            self.advance(n);
            if !all || self.eof && self.rest().is_empty() {
                return;
            }
        }
    }

    /// Consumes everything left.
    fn skip_to_end(&mut self) {
        loop {
            self.fill(1);
            if self.rest().is_empty() {
                return;
            }
            let n = self.rest().len();
            self.advance(n);
        }
    }

    /// Moves past line `line`, then to the next line that starts with `{`
    /// or `[`; returns its number, `None` at the end of the input.
    fn skip_to_value_line(&mut self, line: u64) -> Option<u64> {
        if self.line > line && self.offset != self.line_start {
            self.skip_line()?;
        }
        while self.line <= line {
            self.skip_line()?;
        }
        loop {
            match self.peek_byte()? {
                b'{' | b'[' => return Some(self.line),
                _ => self.skip_line()?,
            }
        }
    }

    /// Consumes the rest of the current line with its newline; `None` when
    /// the input ends first.
    fn skip_line(&mut self) -> Option<()> {
        loop {
            self.fill(1);
            if self.rest().is_empty() {
                return None;
            }
            match memchr::memchr(b'\n', self.rest()) {
                Some(i) => {
                    self.advance(i + 1);
                    return Some(());
                }
                None => {
                    let n = self.rest().len();
                    self.advance(n);
                }
            }
        }
    }

    /// Frames the top-level value at the next byte within `cap` bytes,
    /// without consuming it.
    fn frame_top(&mut self, cap: usize, self_delimited: bool) -> TopFrame {
        if cap == 0 {
            return TopFrame::Stream;
        }
        let mut want = 1;
        loop {
            self.fill(want);
            let avail = self.rest().len();
            let window = &self.rest()[..avail.min(cap)];
            let mut it = serde_json::Deserializer::from_slice(window).into_iter::<&RawValue>();
            let res = it.next();
            let end = it.byte_offset();
            let complete = avail <= cap && self.eof;
            match res {
                // A number running to the end of what is buffered may go on.
                Some(Ok(_)) if end < window.len() || complete || self_delimited => {
                    return TopFrame::Whole(end);
                }
                Some(Err(e)) if complete || !e.is_eof() && !at_end(window, &e) => {
                    return TopFrame::Broken(window.len(), e);
                }
                None => return TopFrame::Whole(0),
                _ => {}
            }
            if window.len() >= cap {
                return TopFrame::Stream;
            }
            want = (2 * avail).max(avail + CHUNK).min(cap);
        }
    }

    /// Frames the value at the next byte (which is `{`, `[` or `"`) within
    /// `cap` bytes, without consuming it.
    fn frame(&mut self, cap: usize) -> Framing {
        if cap == 0 {
            return Framing::TooBig;
        }
        let mut want = 1;
        loop {
            self.fill(want);
            let avail = self.rest().len();
            let window = &self.rest()[..avail.min(cap)];
            let mut it = serde_json::Deserializer::from_slice(window).into_iter::<IgnoredAny>();
            match it.next() {
                Some(Ok(_)) => return Framing::Value(it.byte_offset()),
                // At the end of what is buffered (a number cut after `-`
                // reads as malformed): more is needed.
                Some(Err(e)) if e.is_eof() || at_end(window, &e) => {
                    if window.len() >= cap {
                        return Framing::TooBig;
                    }
                    if self.eof {
                        return Framing::Invalid;
                    }
                }
                _ => return Framing::Invalid,
            }
            want = (2 * avail).max(avail + CHUNK).min(cap);
        }
    }

    /// Starts streaming a top-level value: returns where it starts.
    fn begin_value(&mut self) -> Pos {
        self.stack.clear();
        self.stand_in = 0;
        self.capture = None;
        self.track_utf8 = true;
        self.first_bad = None;
        self.bad_pos = None;
        self.carry_len = 0;
        self.pin = None;
        self.give_up = false;
        self.err = None;
        self.forced = None;
        self.pos()
    }

    /// The deserializer reported an error here.
    fn note_error(&mut self) {
        if self.err.is_none() {
            self.err = Some((self.pos(), self.last_byte, self.prev_line_start));
        }
    }

    /// Ends streaming a top-level value.
    fn end_value(&mut self) {
        if self.carry_len > 0 && self.first_bad.is_none() {
            // A character cut by the end of the value.
            let p = self.carry_pos;
            self.set_bad(p);
        }
        self.track_utf8 = false;
        self.stack.clear();
        self.capture = None;
    }

    /// True when a byte before `end` is not UTF-8.
    fn bad_before(&self, end: u64) -> bool {
        self.first_bad.is_some_and(|b| b < end)
    }

    /// Steps back over the last byte handed out (the deserializer looked
    /// at it but did not use it); returns it.
    fn unserve(&mut self) -> Option<u8> {
        if self.last_eof || self.at == 0 {
            return None;
        }
        self.at -= 1;
        self.offset -= 1;
        let b = self.buf[self.at];
        if b == b'\n' {
            self.line -= 1;
            self.line_start = self.prev_line_start;
        }
        Some(b)
    }

    /// The next byte for the deserializer.
    fn serve(&mut self) -> Option<u8> {
        if let Some(p) = self.pin
            && self.offset - p.offset > WINDOW as u64
        {
            self.give_up = true;
        }
        if self.give_up || self.err.is_some() {
            self.last_eof = true;
            return None;
        }
        if self.stand_in > 0 {
            self.stand_in -= 1;
            let b = if self.stand_in == 1 { b'{' } else { b'}' };
            self.last_byte = b;
            self.last_eof = false;
            return Some(b);
        }
        let Some(b) = self.peek_byte() else {
            self.last_eof = true;
            return None;
        };
        self.last_eof = false;
        let escaped = self.key_escape != 0;
        if self.key {
            self.key_escape = match (self.key_escape, b) {
                (0, b'\\') => 1,
                (1, b'u') => 5,
                (0..=2, _) => 0,
                (n, _) => n - 1,
            };
        }
        if self.key && !escaped && b < 0x20 {
            // As the in-memory reading reports it: at the character.
            let at = self.pos();
            self.forced = Some((
                at,
                "control character (\\u0000-\\u001F) found while parsing a string",
            ));
            self.note_error();
            return None;
        }
        if let Some(Frame::Elements {
            kind,
            state: ElemState::Between { ready },
        }) = self.stack.last_mut()
        {
            match b {
                b',' => *ready = true,
                // A run of whitespace between elements is handed out as one
                // space (positions are the input's own).
                b' ' | b'\n' | b'\t' | b'\r' => {
                    self.skip_ws();
                    self.last_byte = b' ';
                    return Some(b' ');
                }
                b']' => {}
                // Where the deserializer accepts an element: frame it.
                _ if *ready => {
                    let kind = *kind;
                    let r = self.start_element(kind, b);
                    self.last_eof = r.is_none();
                    return r;
                }
                // Not after a comma: the deserializer reports it.
                _ => {}
            }
        }
        self.advance(1);
        self.last_byte = b;
        Some(b)
    }

    /// The first byte `b` of an element: frames it, skips it, or passes it
    /// through; `None` at a defect found here (or the end of the input).
    fn start_element(&mut self, kind: Kind, b: u8) -> Option<u8> {
        let begin = self.pos();
        let cap = match kind {
            Kind::Record | Kind::Skip => self.max,
            Kind::Table => self.window,
        };
        let framing = if matches!(b, b'{' | b'[' | b'"') {
            self.frame(cap)
        } else {
            Framing::Invalid
        };
        let state = match framing {
            Framing::Value(len) => {
                let state = if kind == Kind::Skip {
                    self.advance(len);
                    ElemState::Skipped { begin }
                } else {
                    let bytes = self.ahead(len).to_vec();
                    self.advance(len);
                    ElemState::Framed(Piece {
                        bytes,
                        end: self.offset,
                    })
                };
                self.set_state(state);
                // `{` now, `}` next.
                self.stand_in = 1;
                self.last_byte = b'{';
                return Some(b'{');
            }
            Framing::TooBig if kind == Kind::Table && b == b'{' => ElemState::Structured,
            Framing::TooBig if b == b'"' => {
                if self.skip_string() != SkipStr::Done {
                    return None;
                }
                self.set_state(ElemState::Skipped { begin });
                self.stand_in = 1;
                self.last_byte = b'{';
                return Some(b'{');
            }
            Framing::TooBig => ElemState::Deep { begin },
            Framing::Invalid => {
                let scalar = !matches!(b, b'{' | b'[' | b'"');
                if scalar {
                    self.capture = Some(Capture {
                        bytes: Vec::new(),
                        cap: self.max.saturating_add(1),
                        overflow: false,
                    });
                }
                ElemState::Raw {
                    begin,
                    number: b == b'-' || b.is_ascii_digit(),
                }
            }
        };
        self.set_state(state);
        self.advance(1);
        self.last_byte = b;
        Some(b)
    }

    /// Consumes the string starting at the next byte (a quote), checking it
    /// as the deserializer would: control characters, escapes. A defect is
    /// noted as a syntax error where the in-memory reading places it.
    fn skip_string(&mut self) -> SkipStr {
        const CONTROL: &str = "control character (\\u0000-\\u001F) found while parsing a string";
        self.advance(1);
        loop {
            self.fill(1);
            if self.rest().is_empty() {
                return SkipStr::End;
            }
            let Some(i) = self
                .rest()
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            else {
                let n = self.rest().len();
                self.advance(n);
                continue;
            };
            self.advance(i);
            match self.rest()[0] {
                b'"' => {
                    self.advance(1);
                    return SkipStr::Done;
                }
                b'\\' => {
                    self.fill(2);
                    let Some(&e) = self.rest().get(1) else {
                        let n = self.rest().len();
                        self.advance(n);
                        return SkipStr::End;
                    };
                    self.advance(2);
                    let ok = match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => true,
                        b'u' => {
                            self.fill(4);
                            if self.rest().len() < 4 {
                                let n = self.rest().len();
                                self.advance(n);
                                return SkipStr::End;
                            }
                            let hex = self.rest()[..4].iter().all(u8::is_ascii_hexdigit);
                            self.advance(4);
                            hex
                        }
                        _ => false,
                    };
                    if !ok {
                        let at = self.pos();
                        self.forced = Some((at, "invalid escape"));
                        self.note_error();
                        return SkipStr::Error;
                    }
                }
                _ => {
                    let at = self.pos();
                    self.forced = Some((at, CONTROL));
                    self.note_error();
                    return SkipStr::Error;
                }
            }
        }
    }

    fn set_state(&mut self, s: ElemState) {
        if let Some(Frame::Elements { state, .. }) = self.stack.last_mut() {
            *state = s;
        }
    }

    /// True when the current element is a table read key by key.
    fn structured(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Elements {
                state: ElemState::Structured,
                ..
            })
        )
    }

    /// True when the current element is an array or object too big to
    /// frame, to be skipped value by value.
    fn deep(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Elements {
                state: ElemState::Deep { .. },
                ..
            })
        )
    }

    /// The element the deserializer just went past.
    fn finish_element(&mut self) -> Elem {
        let Some(Frame::Elements { state, .. }) = self.stack.last_mut() else {
            return Elem::Done;
        };
        match std::mem::replace(state, ElemState::Between { ready: false }) {
            ElemState::Framed(p) => Elem::Text(p),
            ElemState::Raw { begin, number } => {
                // The byte the deserializer read past a number may be the
                // comma before the next element.
                if number && !self.last_eof && self.last_byte == b',' {
                    *state = ElemState::Between { ready: true };
                }
                let mut len = self.offset - begin.offset;
                let mut text = self.capture.take().filter(|c| !c.overflow).map(|c| c.bytes);
                // A number ends where the deserializer saw a byte that is
                // not part of it.
                if number && !self.last_eof {
                    len = len.saturating_sub(1);
                    if let Some(t) = &mut text {
                        t.pop();
                    }
                }
                Elem::Raw {
                    len,
                    text,
                    end: begin.offset + len,
                }
            }
            ElemState::Deep { begin } | ElemState::Skipped { begin } => Elem::Raw {
                len: self.offset - begin.offset,
                text: None,
                end: self.offset,
            },
            ElemState::Structured | ElemState::Between { .. } => Elem::Done,
        }
    }

    /// Starts keeping the bytes that pass (up to `cap`), after `prefix`.
    fn start_capture(&mut self, prefix: &[u8], cap: usize) {
        self.capture = Some(Capture {
            bytes: prefix.to_vec(),
            cap,
            overflow: false,
        });
    }

    /// Stops keeping bytes; `None` when more than the cap passed.
    fn stop_capture(&mut self, number: bool) -> Option<Vec<u8>> {
        let c = self.capture.take()?;
        if c.overflow {
            return None;
        }
        let mut b = c.bytes;
        if number && !self.last_eof {
            b.pop();
        }
        Some(b)
    }
}

/// True when `e` (from parsing `window`) lies at its very end, where a cut
/// of the input can make a well-formed value look malformed.
fn at_end(window: &[u8], e: &serde_json::Error) -> bool {
    let line_start = match e.line() {
        0 | 1 => Some(0),
        l => memchr::memchr_iter(b'\n', window).nth(l - 2).map(|i| i + 1),
    };
    line_start.is_some_and(|s| s + e.column() >= window.len())
}

/// The input as a byte source for `serde_json` (which reads one byte at a
/// time).
struct Adapter<'i>(&'i RefCell<Input>);

impl Read for Adapter<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(slot) = out.first_mut() else {
            return Ok(0);
        };
        let mut i = self.0.borrow_mut();
        let got = i.serve();
        if i.forced.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a syntax error found by the input",
            ));
        }
        match got {
            Some(b) => {
                *slot = b;
                Ok(1)
            }
            None => Ok(0),
        }
    }
}

// ---------------------------------------------------------------------
// Seeds for a streamed top-level value.
// ---------------------------------------------------------------------

/// Reading state of a streamed top-level value.
struct St<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    next: &'c mut u64,
    /// The first defect the in-memory reading would have stopped at (deep
    /// nesting, an out-of-range number, a lone surrogate), as its reason.
    failed: Option<String>,
    /// Where the value starts.
    top: Pos,
    max: usize,
}

impl St<'_, '_> {
    fn fail(&mut self, reason: String) {
        if self.failed.is_none() {
            self.failed = Some(reason);
        }
    }

    /// True when the records of the value ending at `end` are no longer
    /// used (a defect came first).
    fn halted(&self, input: &RefCell<Input>, end: u64) -> bool {
        self.failed.is_some() || input.borrow().bad_before(end)
    }

    /// A record's text: used when it is UTF-8 and nothing stopped the value.
    fn record<'t>(&self, input: &RefCell<Input>, bytes: &'t [u8], end: u64) -> Option<&'t str> {
        if self.halted(input, end) {
            return None;
        }
        std::str::from_utf8(bytes).ok()
    }
}

/// Notes where the input is when the deserializer reports an error (it
/// reads a little further while it unwinds, which the input then refuses).
fn chk<T, E>(input: &RefCell<Input>, r: Result<T, E>) -> Result<T, E> {
    if r.is_err() {
        input.borrow_mut().note_error();
    }
    r
}

/// A serde_json error in a text that starts at `begin`, as the in-memory
/// reading words it for the text of the value starting at `outer`
/// (`depth` brackets were put before the text to nest it as deep as it is).
fn relocated(e: &serde_json::Error, depth: u64, begin: Pos, outer: Pos) -> String {
    let msg = e.to_string();
    let msg = msg.split_once(" at line ").map_or(msg.as_str(), |(m, _)| m);
    let (l, c) = (e.line() as u64, e.column() as u64);
    let c = if l == 1 { c.saturating_sub(depth) } else { c };
    let (l, c) = begin.within(outer, l, c);
    let s = format!("{msg} at line {l} column {c}");
    if s.starts_with("recursion limit exceeded") {
        format!("{s} (JSON nested more than 128 levels deep)")
    } else {
        s
    }
}

/// A top-level array or object, streamed.
struct StreamTop<'s, 'c, 'a, 'i> {
    st: &'s mut St<'c, 'a>,
    input: &'i RefCell<Input>,
}

impl<'de> DeserializeSeed<'de> for StreamTop<'_, '_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StreamTop<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array or object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.st.ctx.set_container(Container::Array);
        records(self.st, self.input, seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (st, input) = (self.st, self.input);
        input.borrow_mut().stack.push(Frame::Object);
        let start = st.top;
        let mut fields = Map::new();
        let mut envelope = false;
        let mut over = false;
        while let Some(key) = chk(
            input,
            map.next_key_seed(KeySeed {
                st: &mut *st,
                input,
            }),
        )? {
            if envelope || st.failed.is_some() {
                chk(input, map.next_value::<IgnoredAny>())?;
                continue;
            }
            let Some(key) = key else {
                chk(input, map.next_value::<IgnoredAny>())?;
                continue;
            };
            let field = match json::envelope_key(&key) {
                Some(kind) => chk(
                    input,
                    map.next_value_seed(EnvelopeSeed {
                        st: &mut *st,
                        input,
                        kind,
                    }),
                )?,
                None => chk(
                    input,
                    map.next_value_seed(FieldSeed {
                        st: &mut *st,
                        input,
                        depth: 1,
                    }),
                )?,
            };
            match field {
                Field::Streamed => envelope = true,
                Field::Value(v) if !over => {
                    fields.insert(key, v);
                }
                Field::Value(_) => {}
                Field::Failed(reason) => st.fail(reason),
                Field::TooBig => over = true,
            }
            if input.borrow().offset - start.offset > st.max as u64 {
                over = true;
                fields.clear();
            }
        }
        let end = {
            let mut i = input.borrow_mut();
            i.stack.pop();
            // The closing brace (looked at, not yet taken).
            i.offset
        };
        if !envelope && !st.halted(input, end) {
            st.ctx.set_container(Container::SingleObject);
            *st.next += 1;
            let n = *st.next;
            let raw_len = usize::try_from(end - start.offset).unwrap_or(usize::MAX);
            let flow = if over || raw_len > st.max {
                st.ctx.reject(n, too_large(raw_len, st.max))
            } else {
                st.ctx.value(&Value::Object(fields), n)
            };
            if flow.is_break() {
                return Err(stop());
            }
        }
        Ok(())
    }
}

/// Streams the records of an array.
fn records<'de, A: SeqAccess<'de>>(
    st: &mut St<'_, '_>,
    input: &RefCell<Input>,
    mut seq: A,
) -> Result<(), A::Error> {
    input.borrow_mut().stack.push(Frame::Elements {
        kind: Kind::Record,
        state: ElemState::Between { ready: true },
    });
    while let Some(elem) = chk(
        input,
        seq.next_element_seed(ElementSeed {
            st: &mut *st,
            input,
        }),
    )? {
        if record(st, input, elem).is_break() {
            return Err(stop());
        }
    }
    input.borrow_mut().stack.pop();
    Ok(())
}

/// One record of an array: size-checked, parsed and normalized.
fn record(st: &mut St<'_, '_>, input: &RefCell<Input>, elem: Elem) -> Flow {
    match elem {
        Elem::Text(p) => match st.record(input, &p.bytes, p.end) {
            Some(text) => {
                *st.next += 1;
                st.ctx.raw(text, *st.next)
            }
            None => Flow::Continue(()),
        },
        Elem::Raw { len, text, end, .. } => {
            if st.halted(input, end) {
                return Flow::Continue(());
            }
            *st.next += 1;
            let n = *st.next;
            match text {
                Some(t) if t.len() as u64 <= st.max as u64 => match std::str::from_utf8(&t) {
                    Ok(text) => st.ctx.raw(text, n),
                    // Not reached: the UTF-8 check stopped the value.
                    Err(_) => st.ctx.reject(n, "record is not valid UTF-8"),
                },
                _ => {
                    let len = usize::try_from(len).unwrap_or(usize::MAX);
                    st.ctx.reject(n, too_large(len, st.max))
                }
            }
        }
        Elem::Done => Flow::Continue(()),
    }
}

/// An array element: the input frames it as it starts; this consumes the
/// stand-in (or the element passed through) and takes what was framed.
struct ElementSeed<'s, 'c, 'a, 'i> {
    st: &'s mut St<'c, 'a>,
    input: &'i RefCell<Input>,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, '_, '_, '_> {
    type Value = Elem;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elem, D::Error> {
        let (structured, deep) = {
            let i = self.input.borrow();
            (i.structured(), i.deep())
        };
        if deep {
            chk(self.input, skip_container(self.input, d))?;
        } else if structured {
            chk(
                self.input,
                d.deserialize_map(StreamTable {
                    st: self.st,
                    input: self.input,
                }),
            )?;
        } else {
            chk(self.input, d.deserialize_ignored_any(IgnoredAny))?;
        }
        Ok(self.input.borrow_mut().finish_element())
    }
}

/// An object key, kept as written to report a defect where the in-memory
/// reading reports it; `None` when it is not UTF-8 (the value's UTF-8
/// check reports that).
struct KeySeed<'s, 'c, 'a, 'i> {
    st: &'s mut St<'c, 'a>,
    input: &'i RefCell<Input>,
}

struct Bytes;

impl<'de> Visitor<'de> for Bytes {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_, '_, '_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        let begin = {
            let mut i = self.input.borrow_mut();
            // The opening quote was handed out already.
            let mut p = i.pos();
            p.offset = p.offset.saturating_sub(1);
            p.col = p.col.saturating_sub(1);
            let cap = i.max.saturating_add(2);
            i.start_capture(b"\"", cap);
            p
        };
        // As bytes: a lone surrogate or a byte that is not UTF-8 is found
        // below, without stopping the deserializer.
        {
            let mut i = self.input.borrow_mut();
            i.key = true;
            i.key_escape = 0;
        }
        let bytes = d.deserialize_bytes(Bytes);
        self.input.borrow_mut().key = false;
        let bytes = chk(self.input, bytes)?;
        let raw = self.input.borrow_mut().stop_capture(false);
        if let Ok(key) = String::from_utf8(bytes) {
            return Ok(Some(key));
        }
        if self.input.borrow().bad_before(self.input.borrow().offset) {
            return Ok(None);
        }
        if let Some(raw) = raw
            && let Err(e) = serde_json::from_slice::<String>(&raw)
        {
            let reason = relocated(&e, 0, begin, self.st.top);
            self.st.fail(reason);
        }
        Ok(None)
    }
}

/// What a field value gave.
enum Field {
    /// An envelope array, streamed.
    Streamed,
    /// A value.
    Value(Value),
    /// A defect the in-memory reading stops at (its reason).
    Failed(String),
    /// Larger than the window and the record limit (skipped).
    TooBig,
}

/// Frames (or keeps while it passes) the value at the next byte within
/// `max` bytes; `None` when it is larger.
fn field_bytes<'de, D: Deserializer<'de>>(
    input: &RefCell<Input>,
    d: D,
    max: usize,
) -> Result<Option<(Vec<u8>, Pos)>, D::Error> {
    let (first, begin) = {
        let mut i = input.borrow_mut();
        i.skip_ws();
        (i.peek_byte(), i.pos())
    };
    match first {
        Some(b'{' | b'[' | b'"') => {
            let framing = input.borrow_mut().frame(max);
            match framing {
                Framing::Value(len) => {
                    let bytes = {
                        let mut i = input.borrow_mut();
                        let b = i.take(len);
                        i.stand_in = 2;
                        b
                    };
                    chk(input, d.deserialize_ignored_any(IgnoredAny))?;
                    Ok(Some((bytes, begin)))
                }
                Framing::TooBig => {
                    skip_value(input, d)?;
                    Ok(None)
                }
                Framing::Invalid => {
                    chk(input, d.deserialize_ignored_any(IgnoredAny))?;
                    Ok(None)
                }
            }
        }
        first => {
            let number = first.is_some_and(|b| b == b'-' || b.is_ascii_digit());
            input.borrow_mut().start_capture(b"", max.saturating_add(1));
            chk(input, d.deserialize_ignored_any(IgnoredAny))?;
            let bytes = input.borrow_mut().stop_capture(number);
            Ok(bytes.map(|b| (b, begin)))
        }
    }
}

/// Nesting the deserializer allows (its recursion limit is 128); deeper
/// values are passed through byte by byte.
const SKIP_DEPTH: usize = 120;

/// Skips a value too big to frame (the deserializer has not read its first
/// byte): a string is checked and consumed by the input, an array or
/// object value by value, the rest passed through.
fn skip_value<'de, D: Deserializer<'de>>(input: &RefCell<Input>, d: D) -> Result<(), D::Error> {
    let (first, shallow) = {
        let mut i = input.borrow_mut();
        i.skip_ws();
        (i.peek_byte(), i.stack.len() + 1 < SKIP_DEPTH)
    };
    match first {
        Some(b'"') => {
            let end = input.borrow_mut().skip_string();
            match end {
                SkipStr::Done => {
                    input.borrow_mut().stand_in = 2;
                    chk(input, d.deserialize_ignored_any(IgnoredAny)).map(|_| ())
                }
                SkipStr::End => chk(input, d.deserialize_ignored_any(IgnoredAny)).map(|_| ()),
                SkipStr::Error => Err(de::Error::custom("a defect in a skipped string")),
            }
        }
        Some(b'{' | b'[') if shallow => chk(input, d.deserialize_any(Skip { input })),
        _ => chk(input, d.deserialize_ignored_any(IgnoredAny)).map(|_| ()),
    }
}

/// Skips an array or object whose opening bracket the deserializer has
/// read (a too-big element).
fn skip_container<'de, D: Deserializer<'de>>(input: &RefCell<Input>, d: D) -> Result<(), D::Error> {
    let shallow = input.borrow().stack.len() + 1 < SKIP_DEPTH;
    if shallow {
        d.deserialize_any(Skip { input })
    } else {
        d.deserialize_ignored_any(IgnoredAny).map(|_| ())
    }
}

/// An array or object too big to frame: its values are framed (or skipped
/// in turn) and dropped.
struct Skip<'i> {
    input: &'i RefCell<Input>,
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let input = self.input;
        input.borrow_mut().stack.push(Frame::Elements {
            kind: Kind::Skip,
            state: ElemState::Between { ready: true },
        });
        while chk(input, seq.next_element_seed(SkipElement { input }))?.is_some() {}
        input.borrow_mut().stack.pop();
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let input = self.input;
        input.borrow_mut().stack.push(Frame::Object);
        while chk(input, map.next_key_seed(SkipKey { input }))?.is_some() {
            chk(input, map.next_value_seed(SkipField { input }))?;
        }
        input.borrow_mut().stack.pop();
        Ok(())
    }

    // Scalars cannot get here (the bracket was read), but are fine.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// An element of a skipped array (framed or skipped by the input as it
/// starts).
struct SkipElement<'i> {
    input: &'i RefCell<Input>,
}

impl<'de> DeserializeSeed<'de> for SkipElement<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let deep = self.input.borrow().deep();
        if deep {
            chk(self.input, skip_container(self.input, d))?;
        } else {
            chk(self.input, d.deserialize_ignored_any(IgnoredAny))?;
        }
        self.input.borrow_mut().finish_element();
        Ok(())
    }
}

/// A key of a skipped object: read as bytes (the value's UTF-8 check and
/// the input's control-character check apply, as for [`KeySeed`]).
struct SkipKey<'i> {
    input: &'i RefCell<Input>,
}

struct NoBytes;

impl<'de> Visitor<'de> for NoBytes {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for SkipKey<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        {
            let mut i = self.input.borrow_mut();
            i.key = true;
            i.key_escape = 0;
        }
        let r = d.deserialize_bytes(NoBytes);
        self.input.borrow_mut().key = false;
        chk(self.input, r)
    }
}

/// A value of a skipped object.
struct SkipField<'i> {
    input: &'i RefCell<Input>,
}

impl<'de> DeserializeSeed<'de> for SkipField<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let input = self.input;
        let (first, max) = {
            let mut i = input.borrow_mut();
            i.skip_ws();
            (i.peek_byte(), i.max)
        };
        if !matches!(first, Some(b'{' | b'[' | b'"')) {
            return chk(input, d.deserialize_ignored_any(IgnoredAny)).map(|_| ());
        }
        let framing = input.borrow_mut().frame(max);
        match framing {
            Framing::Value(len) => {
                {
                    let mut i = input.borrow_mut();
                    i.advance(len);
                    i.stand_in = 2;
                }
                chk(input, d.deserialize_ignored_any(IgnoredAny)).map(|_| ())
            }
            Framing::TooBig => skip_value(input, d),
            Framing::Invalid => chk(input, d.deserialize_ignored_any(IgnoredAny)).map(|_| ()),
        }
    }
}

/// A field value as a `Value`, nested `depth` deep in the top-level value.
struct FieldSeed<'s, 'c, 'a, 'i> {
    st: &'s mut St<'c, 'a>,
    input: &'i RefCell<Input>,
    depth: u64,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_, '_, '_> {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        // Parsed when it fits a window (for the defects the in-memory
        // reading finds in it), kept only while the object fits the record
        // limit.
        let max = WINDOW.max(self.st.max);
        let Some((bytes, begin)) = field_bytes(self.input, d, max)? else {
            return Ok(Field::TooBig);
        };
        Ok(parse_field(&bytes, self.depth, begin, self.st.top))
    }
}

/// Parses a field's text as the in-memory reading parses it inside its
/// top-level value: nested `depth` deep (for the nesting limit), errors
/// placed in the top-level value's text.
fn parse_field(bytes: &[u8], depth: u64, begin: Pos, top: Pos) -> Field {
    let d = usize::try_from(depth).unwrap_or(0);
    let mut text = Vec::with_capacity(bytes.len() + 2 * d);
    text.resize(d, b'[');
    text.extend_from_slice(bytes);
    text.resize(text.len() + d, b']');
    match serde_json::from_slice::<Value>(&text) {
        Ok(mut v) => {
            for _ in 0..d {
                v = match v {
                    Value::Array(mut a) => a.pop().unwrap_or(Value::Null),
                    other => other,
                };
            }
            Field::Value(v)
        }
        Err(e) => Field::Failed(relocated(&e, depth, begin, top)),
    }
}

/// The value under an envelope key: streamed when it is an array, an
/// ordinary field otherwise.
struct EnvelopeSeed<'s, 'c, 'a, 'i> {
    st: &'s mut St<'c, 'a>,
    input: &'i RefCell<Input>,
    kind: Container,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_, '_, '_, '_> {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        let first = {
            let mut i = self.input.borrow_mut();
            i.skip_ws();
            i.peek_byte()
        };
        if first == Some(b'[') {
            chk(
                self.input,
                d.deserialize_seq(EnvelopeArray {
                    st: self.st,
                    input: self.input,
                    kind: self.kind,
                }),
            )?;
            return Ok(Field::Streamed);
        }
        FieldSeed {
            st: self.st,
            input: self.input,
            depth: 1,
        }
        .deserialize(d)
    }
}

struct EnvelopeArray<'s, 'c, 'a, 'i> {
    st: &'s mut St<'c, 'a>,
    input: &'i RefCell<Input>,
    kind: Container,
}

impl<'de> Visitor<'de> for EnvelopeArray<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        if !self.st.halted(self.input, self.input.borrow().offset) {
            self.st.ctx.set_container(self.kind);
        }
        if self.kind == Container::Tables {
            tables(self.st, self.input, seq)
        } else {
            records(self.st, self.input, seq)
        }
    }
}

/// Streams the tables of a Log Analytics query response.
fn tables<'de, A: SeqAccess<'de>>(
    st: &mut St<'_, '_>,
    input: &RefCell<Input>,
    mut seq: A,
) -> Result<(), A::Error> {
    input.borrow_mut().stack.push(Frame::Elements {
        kind: Kind::Table,
        state: ElemState::Between { ready: true },
    });
    while let Some(elem) = chk(
        input,
        seq.next_element_seed(ElementSeed {
            st: &mut *st,
            input,
        }),
    )? {
        let flow = match elem {
            Elem::Text(p) => match st.record(input, &p.bytes, p.end) {
                Some(text) => json::table(st.ctx, st.next, text),
                None => Flow::Continue(()),
            },
            Elem::Raw { text, end, .. } => {
                if st.halted(input, end) {
                    Flow::Continue(())
                } else {
                    match text.as_deref().map(std::str::from_utf8) {
                        Some(Ok(t)) => json::table(st.ctx, st.next, t),
                        _ => {
                            *st.next += 1;
                            st.ctx.reject(
                                *st.next,
                                "not a Log Analytics query table (a JSON value that is not an object)",
                            )
                        }
                    }
                }
            }
            Elem::Done => Flow::Continue(()),
        };
        if flow.is_break() {
            return Err(stop());
        }
    }
    input.borrow_mut().stack.pop();
    Ok(())
}

/// A table too big to frame, read key by key: its rows are used as they
/// are read once its columns are known (rows before the columns are kept
/// until the table ends).
struct StreamTable<'s, 'c, 'a, 'i> {
    st: &'s mut St<'c, 'a>,
    input: &'i RefCell<Input>,
}

/// A row kept until the columns are known.
enum Pending {
    Text(String),
    TooBig(usize),
}

impl<'de> Visitor<'de> for StreamTable<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Log Analytics query table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (st, input) = (self.st, self.input);
        let table_start = {
            let mut i = input.borrow_mut();
            i.stack.push(Frame::Object);
            let mut p = i.pos();
            p.offset = p.offset.saturating_sub(1);
            p.col = p.col.saturating_sub(1);
            p
        };
        let mut t = TableState {
            start: table_start,
            columns: None,
            seen_rows: false,
            pending: Vec::new(),
            failed: false,
        };
        while let Some(key) = chk(
            input,
            map.next_key_seed(KeySeed {
                st: &mut *st,
                input,
            }),
        )? {
            let skip = t.failed || st.failed.is_some();
            match key.as_deref() {
                Some("columns" | "Columns") if !skip => {
                    if t.columns.is_some() {
                        let at = input.borrow().pos();
                        t.fail(st, "duplicate field `columns`", at)?;
                        chk(input, map.next_value::<IgnoredAny>())?;
                        continue;
                    }
                    let v = chk(input, map.next_value_seed(Raw { input }))?;
                    match v {
                        Some((bytes, begin)) => match serde_json::from_slice::<Vec<Column>>(&bytes)
                        {
                            Ok(c) => t.columns = Some(c),
                            Err(e) => {
                                let reason = relocated(&e, 0, begin, t.start);
                                t.fail_with(st, reason)?;
                            }
                        },
                        None => t.fail_with(
                            st,
                            format!("`columns` is larger than {} bytes", WINDOW.max(st.max)),
                        )?,
                    }
                }
                Some("rows" | "Rows") if !skip => {
                    if t.seen_rows {
                        let at = input.borrow().pos();
                        t.fail(st, "duplicate field `rows`", at)?;
                        chk(input, map.next_value::<IgnoredAny>())?;
                        continue;
                    }
                    t.seen_rows = true;
                    chk(
                        input,
                        map.next_value_seed(RowsSeed {
                            st: &mut *st,
                            input,
                            t: &mut t,
                        }),
                    )?;
                }
                _ => {
                    chk(input, map.next_value::<IgnoredAny>())?;
                }
            }
        }
        input.borrow_mut().stack.pop();
        let end = input.borrow().offset;
        if !t.failed && !st.halted(input, end) {
            let columns = t.columns.take().unwrap_or_default();
            for p in std::mem::take(&mut t.pending) {
                *st.next += 1;
                let flow = match p {
                    Pending::Text(text) => json::table_row(st.ctx, &columns, &text, *st.next),
                    Pending::TooBig(len) => st.ctx.reject(*st.next, too_large(len, st.max)),
                };
                if flow.is_break() {
                    return Err(stop());
                }
            }
        }
        Ok(())
    }
}

/// What a streamed table has read so far.
struct TableState {
    start: Pos,
    columns: Option<Vec<Column>>,
    seen_rows: bool,
    pending: Vec<Pending>,
    failed: bool,
}

impl TableState {
    /// Rejects the table (one record) with `msg` at document position `at`.
    fn fail<E: de::Error>(&mut self, st: &mut St<'_, '_>, msg: &str, at: Pos) -> Result<(), E> {
        let (l, c) = at.within(self.start, 1, 0);
        self.fail_with(st, format!("{msg} at line {l} column {c}"))
    }

    fn fail_with<E: de::Error>(&mut self, st: &mut St<'_, '_>, reason: String) -> Result<(), E> {
        self.failed = true;
        self.pending.clear();
        *st.next += 1;
        let reason = format!("not a Log Analytics query table ({reason})");
        if st.ctx.reject(*st.next, reason).is_break() {
            return Err(stop());
        }
        Ok(())
    }
}

/// A value's text, framed or kept while it passes (within the record
/// limit; `None` when larger).
struct Raw<'i> {
    input: &'i RefCell<Input>,
}

impl<'de> DeserializeSeed<'de> for Raw<'_> {
    type Value = Option<(Vec<u8>, Pos)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let max = self.input.borrow().max;
        field_bytes(self.input, d, WINDOW.max(max))
    }
}

/// The `rows` of a streamed table.
struct RowsSeed<'s, 'c, 'a, 'i, 't> {
    st: &'s mut St<'c, 'a>,
    input: &'i RefCell<Input>,
    t: &'t mut TableState,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_, '_, '_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let first = {
            let mut i = self.input.borrow_mut();
            i.skip_ws();
            i.peek_byte()
        };
        if first == Some(b'[') {
            let input = self.input;
            return chk(input, d.deserialize_seq(self));
        }
        // Not an array: the error the in-memory reading gives for it.
        let max = self.st.max;
        match field_bytes(self.input, d, WINDOW.max(max))? {
            Some((bytes, begin)) => match serde_json::from_slice::<Vec<&RawValue>>(&bytes) {
                Ok(_) => Ok(()),
                Err(e) => {
                    let reason = relocated(&e, 0, begin, self.t.start);
                    self.t.fail_with(self.st, reason)
                }
            },
            None => self.t.fail_with(
                self.st,
                format!("`rows` is larger than {} bytes", WINDOW.max(max)),
            ),
        }
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_, '_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (st, input, t) = (self.st, self.input, self.t);
        input.borrow_mut().stack.push(Frame::Elements {
            kind: Kind::Record,
            state: ElemState::Between { ready: true },
        });
        while let Some(elem) = chk(
            input,
            seq.next_element_seed(ElementSeed {
                st: &mut *st,
                input,
            }),
        )? {
            if t.failed {
                continue;
            }
            let row = match elem {
                Elem::Text(p) => st
                    .record(input, &p.bytes, p.end)
                    .map(|s| Pending::Text(s.to_string())),
                Elem::Raw { len, text, end, .. } => {
                    if st.halted(input, end) {
                        None
                    } else {
                        match text.map(String::from_utf8) {
                            Some(Ok(s)) if s.len() <= st.max => Some(Pending::Text(s)),
                            _ => Some(Pending::TooBig(usize::try_from(len).unwrap_or(usize::MAX))),
                        }
                    }
                }
                Elem::Done => None,
            };
            let Some(row) = row else { continue };
            match &t.columns {
                Some(columns) => {
                    *st.next += 1;
                    let flow = match row {
                        Pending::Text(text) => json::table_row(st.ctx, columns, &text, *st.next),
                        Pending::TooBig(len) => st.ctx.reject(*st.next, too_large(len, st.max)),
                    };
                    if flow.is_break() {
                        return Err(stop());
                    }
                }
                None => t.pending.push(row),
            }
        }
        input.borrow_mut().stack.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
