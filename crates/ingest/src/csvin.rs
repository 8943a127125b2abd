//! CSV downloads: the Entra portal's sign-in CSV (`Date (UTC)`, `Username`,
//! `Sign-in error code`, …, older `CreatedDateTime,UserPrincipalName,…`)
//! and Log Analytics CSV exports (`TimeGenerated [UTC]`, `ResultType`, …).
//!
//! Headers are matched after dropping all whitespace and case (so
//! `Application ID `, `Autonomous system  number` and `IP address` /
//! `IPAddress` all match); a repeated header keeps its first column. Each
//! row becomes a flat record under Log Analytics column names and goes
//! through the same normalization as a Log Analytics row.

use crate::ctx::{Container, Ctx, Flow, too_large};
use crate::entra::Dialect;
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

/// Reads a CSV file with the given delimiter.
pub(crate) fn read_csv(ctx: &mut Ctx<'_>, src: Box<dyn BufRead>, delimiter: u8) {
    ctx.set_container(Container::Csv);
    let mut lines = Lines::default();
    let start = Rc::new(Cell::new(0u64));
    let max = ctx.opts.max_record_bytes;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(LineIndex {
            inner: src,
            pos: 0,
            endings: Rc::clone(&lines.endings),
            start: Rc::clone(&start),
            max: u64::try_from(max)
                .unwrap_or(u64::MAX)
                .saturating_add(READ_AHEAD),
        });
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            ctx.file_error(format!("cannot read the CSV header: {e}"));
            return;
        }
    };
    start.set(rdr.position().byte());
    let mut columns: Vec<Col> = Vec::new();
    let mut dialect = Dialect::PortalCsv;
    for (index, raw) in headers.iter().enumerate() {
        let header = String::from_utf8_lossy(raw);
        let Some(name) = column_for(&header) else {
            continue;
        };
        if name == "TimeGenerated" {
            dialect = Dialect::LogAnalyticsCsv;
        }
        if columns.iter().any(|c| c.name == name) {
            continue;
        }
        columns.push(Col {
            index,
            name,
            header: header.trim().to_string(),
        });
    }
    if !columns.iter().any(|c| {
        matches!(
            c.name,
            "TimeGenerated" | "CreatedDateTime" | "ActivityDateTime"
        )
    }) {
        ctx.file_error(
            "the CSV header has no timestamp column (expected `Date (UTC)`, `CreatedDateTime` or `TimeGenerated`); is this an Entra ID sign-in or audit download?",
        );
        return;
    }
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => return,
            Ok(true) => {
                start.set(rdr.position().byte());
                let line = lines.line_of(rec.position());
                if row(ctx, &rec, &columns, line, dialect).is_break() {
                    return;
                }
            }
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind()
                    && io.get_ref().is_some_and(|e| e.is::<RowTooLong>())
                {
                    // The csv reader would buffer the whole row: reject it
                    // and stop (a quoted row cannot be skipped safely).
                    let mut p = csv::Position::new();
                    p.set_byte(start.get());
                    let line = lines.line_of(Some(&p));
                    let reason = format!(
                        "record too large: over the limit of {max} bytes (raise max_record_bytes if it is genuine)"
                    );
                    if ctx.reject(line, reason).is_continue() {
                        ctx.file_error(format!(
                            "reading stopped at line {line}: a CSV row over max_record_bytes cannot be skipped, so the rest of the file was not read"
                        ));
                    }
                    return;
                }
                if let csv::ErrorKind::Io(io) = e.kind() {
                    let msg = crate::source::io_msg(ctx, io);
                    ctx.file_error(msg);
                    return;
                }
                let line = lines.line_of(e.position());
                if ctx
                    .reject(line, format!("malformed CSV row: {e}"))
                    .is_break()
                {
                    return;
                }
            }
        }
    }
}

/// Line numbers of CSV records from their byte offsets (the csv crate's
/// own line count skips blank lines and miscounts CRLF): the reader below
/// notes where line-ending bytes pass; records are looked up in order.
#[derive(Default)]
struct Lines {
    /// Offsets of `\r` and `\n` bytes not yet passed, with the byte.
    endings: Rc<RefCell<VecDeque<(u64, u8)>>>,
    /// Newlines passed.
    passed: u64,
}

impl Lines {
    /// 1-based line on which the record at `pos` starts. The csv crate
    /// places a record's start before line endings it skipped (the `\n` of
    /// a CRLF, blank lines), so those are stepped over first.
    fn line_of(&mut self, pos: Option<&csv::Position>) -> u64 {
        let Some(pos) = pos else {
            return 0;
        };
        let mut start = pos.byte();
        let mut endings = self.endings.borrow_mut();
        while let Some(&(offset, byte)) = endings.front() {
            if offset > start {
                break;
            }
            if offset == start {
                start += 1;
            }
            if byte == b'\n' {
                self.passed += 1;
            }
            endings.pop_front();
        }
        self.passed + 1
    }
}

/// Bytes the csv reader may hold beyond the row it is reading (its
/// buffer is 8 KiB).
const READ_AHEAD: u64 = 64 << 10;

/// The row being read is over `max_record_bytes`.
#[derive(Debug)]
struct RowTooLong;

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a CSV row over max_record_bytes")
    }
}

impl std::error::Error for RowTooLong {}

/// Passes bytes through, noting the offset of every line-ending byte, and
/// fails once the row being read (from `start`) passes `max` bytes, so
/// that a huge row is never buffered whole.
struct LineIndex<R> {
    inner: R,
    pos: u64,
    endings: Rc<RefCell<VecDeque<(u64, u8)>>>,
    start: Rc<Cell<u64>>,
    max: u64,
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos.saturating_sub(self.start.get()) > self.max {
            return Err(io::Error::new(io::ErrorKind::InvalidData, RowTooLong));
        }
        let n = self.inner.read(buf)?;
        let mut endings = self.endings.borrow_mut();
        for i in memchr::memchr2_iter(b'\n', b'\r', &buf[..n]) {
            endings.push_back((self.pos + i as u64, buf[i]));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// A CSV column that is read.
struct Col {
    index: usize,
    name: &'static str,
    header: String,
}

fn row(
    ctx: &mut Ctx<'_>,
    rec: &csv::ByteRecord,
    columns: &[Col],
    line: u64,
    dialect: Dialect,
) -> Flow {
    let max = ctx.opts.max_record_bytes;
    let size = rec.as_slice().len();
    if size > max {
        return ctx.reject(line, too_large(size, max));
    }
    let mut m = Map::new();
    for c in columns {
        let Some(cell) = rec.get(c.index) else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(cell) else {
            return ctx.reject(
                line,
                format!(
                    "row is not valid UTF-8 in column `{}`; convert the file to UTF-8",
                    c.header
                ),
            );
        };
        // The portal's Status is a word (Success / Failure / Interrupted);
        // only Log Analytics' JSON Status is read.
        if c.name == "Status" && !text.trim_start().starts_with('{') {
            continue;
        }
        // A CSV cell cannot say "absent": an empty cell is treated as a
        // missing column, so fallbacks (e.g. Status for the code) still apply.
        if text.is_empty() {
            continue;
        }
        m.insert(c.name.to_string(), Value::String(text.to_string()));
    }
    ctx.flat(&m, line, dialect)
}

/// The Log Analytics column a CSV header stands for.
fn column_for(header: &str) -> Option<&'static str> {
    let mut key: String = header
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if let Some(k) = key.strip_suffix("[utc]") {
        key.truncate(k.len());
    }
    Some(match key.as_str() {
        "date(utc)" | "date" | "createddatetime" => "CreatedDateTime",
        "timegenerated" => "TimeGenerated",
        "activitydatetime" => "ActivityDateTime",
        "requestid" | "originalrequestid" => "OriginalRequestId",
        "id" => "Id",
        "useragent" => "UserAgent",
        "correlationid" => "CorrelationId",
        "username" | "userprincipalname" => "UserPrincipalName",
        "application" | "appdisplayname" => "AppDisplayName",
        "applicationid" | "appid" => "AppId",
        "resource" | "resourcedisplayname" => "ResourceDisplayName",
        "ipaddress" => "IPAddress",
        "sign-inerrorcode" | "signinerrorcode" | "errorcode" | "resulttype" => "ResultType",
        "failurereason" | "resultdescription" => "ResultDescription",
        "clientapp" | "clientappused" => "ClientAppUsed",
        "authenticationprotocol" => "AuthenticationProtocol",
        "authenticationrequirement" => "AuthenticationRequirement",
        "autonomoussystemnumber" => "AutonomousSystemNumber",
        "type" => "Type",
        "isinteractive" => "IsInteractive",
        "signineventtypes" => "SignInEventTypes",
        "serviceprincipalid" => "ServicePrincipalId",
        "serviceprincipalname" => "ServicePrincipalName",
        "status" => "Status",
        "operationname" => "OperationName",
        "activitydisplayname" => "ActivityDisplayName",
        "result" => "Result",
        "resultreason" => "ResultReason",
        "loggedbyservice" => "LoggedByService",
        "initiatedby" => "InitiatedBy",
        "targetresources" => "TargetResources",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::column_for;

    #[test]
    fn header_quirks() {
        assert_eq!(column_for("Application ID "), Some("AppId"));
        assert_eq!(
            column_for("Autonomous system  number"),
            Some("AutonomousSystemNumber")
        );
        assert_eq!(column_for("IP address"), Some("IPAddress"));
        assert_eq!(column_for("IPAddress"), Some("IPAddress"));
        assert_eq!(column_for("IP address (seen by resource)"), None);
        assert_eq!(column_for("Date (UTC)"), Some("CreatedDateTime"));
        assert_eq!(column_for("TimeGenerated [UTC]"), Some("TimeGenerated"));
        assert_eq!(column_for("Username"), Some("UserPrincipalName"));
        assert_eq!(column_for("User"), None);
        assert_eq!(column_for("Sign-in error code"), Some("ResultType"));
        assert_eq!(column_for("Incoming token type"), None);
    }
}
