//! JSON containers: NDJSON read line by line; JSON documents (arrays,
//! `records` / `value` / `tables` envelopes, single objects, several such
//! values one after another) are handed to [`crate::doc`], which streams
//! them, and read here record by record when a top-level value is small
//! enough to be held in memory.

use crate::ctx::{Container, Ctx, Flow, json_error, too_large};
use crate::doc::read_document;
use crate::source::io_msg;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::fmt;
use std::io::{self, BufRead, Read};

type Src = Box<dyn BufRead>;

/// Reads content that starts with `{`: NDJSON when the first line is a
/// complete record, otherwise (a pretty-printed object, an envelope, a line
/// longer than the record limit) a JSON document.
pub(crate) fn read_object_stream(ctx: &mut Ctx<'_>, mut src: Src) {
    let max = ctx.opts.max_record_bytes;
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
        let res = (&mut src).take(limit).read_until(b'\n', &mut buf);
        if let Err(e) = res {
            let msg = io_msg(ctx, &e);
            ctx.file_error(msg);
            return;
        }
        if buf.is_empty() {
            if ctx.stats.read == 0 {
                ctx.set_container(Container::Empty);
            }
            return;
        }
        let complete = buf.last() == Some(&b'\n');
        if !complete && buf.len() > max {
            // One huge line: a single-line document such as a big envelope.
            read_document(ctx, buf, src, line_no);
            return;
        }
        let line = trim_line(&buf);
        if line.is_empty() {
            line_no += 1;
            continue;
        }
        let parsed = serde_json::from_slice::<Value>(line);
        let document = match &parsed {
            Ok(v) => envelope_kind(v).is_some() || v.is_array(),
            Err(e) => e.is_eof(),
        };
        if document {
            drop(parsed);
            read_document(ctx, buf, src, line_no);
            return;
        }
        line_no += 1;
        ctx.set_container(Container::Ndjson);
        let flow = match parsed {
            Ok(v) => line_value(ctx, v, line_no),
            Err(_) => ndjson_line(ctx, line, line_no),
        };
        if flow.is_continue() {
            read_ndjson(ctx, src, line_no);
        }
        return;
    }
}

/// Reads the remaining NDJSON lines; `line_no` lines were read already.
fn read_ndjson(ctx: &mut Ctx<'_>, mut src: Src, mut line_no: u64) {
    let max = ctx.opts.max_record_bytes;
    let mut buf = Vec::new();
    loop {
        match read_line_limited(&mut src, &mut buf, max) {
            Ok(Line::Eof) => return,
            Ok(Line::TooLong(n)) => {
                line_no += 1;
                if ctx.reject(line_no, too_large(n, max)).is_break() {
                    return;
                }
            }
            Ok(Line::Full) => {
                line_no += 1;
                let line = trim_line(&buf);
                if !line.is_empty() && ndjson_line(ctx, line, line_no).is_break() {
                    return;
                }
            }
            Err(e) => {
                // A partial last line is dropped; the note says why.
                let msg = io_msg(ctx, &e);
                ctx.file_error(msg);
                return;
            }
        }
    }
}

pub(crate) fn ndjson_line(ctx: &mut Ctx<'_>, line: &[u8], line_no: u64) -> Flow {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => {
            return ctx.reject(
                line_no,
                format!(
                    "line is not valid UTF-8 (bad byte at column {}); convert the file to UTF-8",
                    e.valid_up_to() + 1
                ),
            );
        }
    };
    if ctx.fast
        && let Some(flow) = crate::fast::ndjson_line(ctx, text, line_no)
    {
        return flow;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => line_value(ctx, v, line_no),
        Err(e) => ctx.reject(line_no, format!("invalid JSON: {}", line_error(&e))),
    }
}

/// A serde_json error for a single line: position as a column only.
fn line_error(e: &serde_json::Error) -> String {
    let s = json_error(e);
    match s.split_once(" at line ") {
        Some((msg, _)) if e.line() > 0 => format!("{msg} (column {})", e.column()),
        _ => s,
    }
}

/// One parsed NDJSON line: a record, or an envelope / array whose records
/// all carry this line number.
fn line_value(ctx: &mut Ctx<'_>, v: Value, line_no: u64) -> Flow {
    let key = envelope_kind(&v).map(|(_, k)| k);
    match (key, v) {
        (Some(key), Value::Object(mut m)) => {
            if let Some(Value::Array(items)) = m.remove(key) {
                for item in &items {
                    ctx.value(item, line_no)?;
                }
            }
            Flow::Continue(())
        }
        (_, Value::Array(items)) => {
            for item in &items {
                ctx.value(item, line_no)?;
            }
            Flow::Continue(())
        }
        (_, other) => ctx.value(&other, line_no),
    }
}

/// Envelope recognised by key: `records` (Azure Monitor), `value` (Graph
/// page), `tables` (Log Analytics query API); the value must be an array.
pub(crate) fn envelope_kind(v: &Value) -> Option<(Container, &'static str)> {
    let m = v.as_object()?;
    for (key, kind) in [
        ("records", Container::Records),
        ("value", Container::GraphPage),
        ("tables", Container::Tables),
        ("Tables", Container::Tables),
    ] {
        if m.get(key).is_some_and(Value::is_array) {
            return Some((kind, key));
        }
    }
    None
}

/// The envelope an object key opens (when its value is an array).
pub(crate) fn envelope_key(key: &str) -> Option<Container> {
    match key {
        "records" => Some(Container::Records),
        "value" => Some(Container::GraphPage),
        "tables" | "Tables" => Some(Container::Tables),
        _ => None,
    }
}

enum Line {
    Eof,
    Full,
    TooLong(usize),
}

/// Reads one line into `buf` (with its newline), never buffering more than
/// `max` (+2 for CRLF) bytes: a longer line is consumed and reported by
/// length.
fn read_line_limited(r: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    buf.clear();
    let mut total = 0usize;
    let mut too_long = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(match (total, too_long) {
                (0, _) => Line::Eof,
                (_, true) => Line::TooLong(total),
                _ if total > max => Line::TooLong(total),
                _ => Line::Full,
            });
        }
        let (n, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        total += n;
        if !too_long {
            if buf.len() + n > max.saturating_add(2) {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&avail[..n]);
            }
        }
        r.consume(n);
        if done {
            let eol = if buf.ends_with(b"\r\n") { 2 } else { 1 };
            return Ok(if too_long || total.saturating_sub(eol) > max {
                Line::TooLong(total.saturating_sub(eol))
            } else {
                Line::Full
            });
        }
    }
}

/// A line without its line ending, surrounding whitespace and any BOM.
pub(crate) fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.trim_ascii();
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    line.trim_ascii()
}

/// Marker error: strict mode stopped inside the deserializer.
const STOP: &str = "\u{0}idrecon:stop";

fn stop<E: de::Error>() -> E {
    E::custom(STOP)
}

/// A top-level value held in memory: array of records, envelope, or
/// single record (`raw_len`: the length of its text).
pub(crate) struct Top<'c, 'a> {
    pub(crate) ctx: &'c mut Ctx<'a>,
    pub(crate) next: &'c mut u64,
    pub(crate) raw_len: usize,
}

impl Top<'_, '_> {
    fn scalar<E: de::Error>(self, what: &str) -> Result<(), E> {
        *self.next += 1;
        let reason = format!("expected a JSON object or array, found {what}");
        if self.ctx.reject(*self.next, reason).is_break() {
            return Err(stop());
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array or object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.ctx.set_container(Container::Array);
        elements(self.ctx, self.next, seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields = Map::new();
        let mut envelope = false;
        while let Some(key) = map.next_key::<String>()? {
            if envelope {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if let Some(kind) = envelope_key(&key) {
                let seed = Envelope {
                    ctx: &mut *self.ctx,
                    next: &mut *self.next,
                    kind,
                };
                match map.next_value_seed(seed)? {
                    None => envelope = true,
                    Some(v) => {
                        fields.insert(key, v);
                    }
                }
            } else {
                let v: Value = map.next_value()?;
                fields.insert(key, v);
            }
        }
        if !envelope {
            self.ctx.set_container(Container::SingleObject);
            *self.next += 1;
            let n = *self.next;
            let max = self.ctx.opts.max_record_bytes;
            let flow = if self.raw_len > max {
                self.ctx.reject(n, too_large(self.raw_len, max))
            } else {
                self.ctx.value(&Value::Object(fields), n)
            };
            if flow.is_break() {
                return Err(stop());
            }
        }
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar("text")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar("null")
    }
}

/// The value under an envelope key: streamed when it is an array, returned
/// as an ordinary field value otherwise.
struct Envelope<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    next: &'c mut u64,
    kind: Container,
}

impl<'de> DeserializeSeed<'de> for Envelope<'_, '_> {
    type Value = Option<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Envelope<'_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<Value>, A::Error> {
        self.ctx.set_container(self.kind);
        if self.kind == Container::Tables {
            tables(self.ctx, self.next, seq)?;
        } else {
            elements(self.ctx, self.next, seq)?;
        }
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(Some(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Value>, E> {
        Ok(Some(Value::String(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }
}

/// Streams the records of an array.
fn elements<'de, A: SeqAccess<'de>>(
    ctx: &mut Ctx<'_>,
    next: &mut u64,
    mut seq: A,
) -> Result<(), A::Error> {
    while let Some(raw) = seq.next_element::<&'de RawValue>()? {
        *next += 1;
        if ctx.raw(raw.get(), *next).is_break() {
            return Err(stop());
        }
    }
    Ok(())
}

/// One table of a Log Analytics query API response (`tables` or the older
/// `Tables` / `ColumnName` spelling).
#[derive(Deserialize)]
struct Table<'a> {
    #[serde(alias = "Columns", default)]
    columns: Vec<Column>,
    #[serde(borrow, alias = "Rows", default)]
    rows: Vec<&'a RawValue>,
}

/// A column of a Log Analytics query table.
#[derive(Deserialize)]
pub(crate) struct Column {
    #[serde(alias = "ColumnName")]
    name: String,
}

/// Streams the rows of every table as records (numbered across tables).
fn tables<'de, A: SeqAccess<'de>>(
    ctx: &mut Ctx<'_>,
    next: &mut u64,
    mut seq: A,
) -> Result<(), A::Error> {
    while let Some(raw) = seq.next_element::<&'de RawValue>()? {
        if table(ctx, next, raw.get()).is_break() {
            return Err(stop());
        }
    }
    Ok(())
}

/// The rows of one table held in memory, as records; a value that is not
/// a table is one rejected record.
pub(crate) fn table(ctx: &mut Ctx<'_>, next: &mut u64, raw: &str) -> Flow {
    let table: Table<'_> = match serde_json::from_str(raw) {
        Ok(t) => t,
        Err(e) => {
            *next += 1;
            let reason = format!("not a Log Analytics query table ({})", json_error(&e));
            return ctx.reject(*next, reason);
        }
    };
    for row in &table.rows {
        *next += 1;
        table_row(ctx, &table.columns, row.get(), *next)?;
    }
    Flow::Continue(())
}

/// One table row (a JSON array of values, one per column) as a record.
pub(crate) fn table_row(ctx: &mut Ctx<'_>, columns: &[Column], raw: &str, n: u64) -> Flow {
    let max = ctx.opts.max_record_bytes;
    if raw.len() > max {
        return ctx.reject(n, too_large(raw.len(), max));
    }
    let values: Vec<Value> = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => {
            return ctx.reject(
                n,
                format!("table row is not a JSON array ({})", json_error(&e)),
            );
        }
    };
    if values.len() != columns.len() {
        return ctx.reject(
            n,
            format!(
                "table row has {} values but the table has {} columns",
                values.len(),
                columns.len()
            ),
        );
    }
    let mut m = Map::new();
    for (c, v) in columns.iter().zip(values) {
        m.entry(c.name.clone()).or_insert(v);
    }
    ctx.value(&Value::Object(m), n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut r = Cursor::new(input.to_vec());
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line_limited(&mut r, &mut buf, max).expect("io") {
                Line::Eof => return out,
                Line::Full => out.push(String::from_utf8_lossy(trim_line(&buf)).into_owned()),
                Line::TooLong(n) => out.push(format!("<{n}>")),
            }
        }
    }

    #[test]
    fn limited_lines() {
        assert_eq!(lines(b"ab\r\ncdef\nxyz", 3), ["ab", "<4>", "xyz"]);
        assert_eq!(lines(b"abc\r\n", 3), ["abc"]);
        assert_eq!(lines(b"abcd", 3), ["<4>"]);
        assert!(lines(b"", 3).is_empty());
    }
}
