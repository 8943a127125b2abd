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
use csv_core::ReadRecordResult;
use serde_json::{Map, Value};
use std::io::{self, BufRead};

/// Reads a CSV file with the given delimiter.
pub(crate) fn read_csv(ctx: &mut Ctx<'_>, mut src: Box<dyn BufRead>, delimiter: u8) {
    ctx.set_container(Container::Csv);
    let max = ctx.opts.max_record_bytes;
    let mut rows = Rows::new(delimiter, max);
    let headers: Vec<String> = match rows.next(&mut *src) {
        Ok(Row::Record { .. }) => rows
            .fields()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect(),
        Ok(Row::End) => Vec::new(),
        Ok(Row::TooLarge { len, .. }) => {
            ctx.file_error(format!(
                "cannot read the CSV header: it is {len} bytes, over the record limit of {max} bytes (raise --max-record-bytes if it is genuine)"
            ));
            return;
        }
        Err(e) => {
            ctx.file_error(format!("cannot read the CSV header: {e}"));
            return;
        }
    };
    let mut columns: Vec<Col> = Vec::new();
    let mut dialect = Dialect::PortalCsv;
    for (index, header) in headers.iter().enumerate() {
        let Some(name) = column_for(header) else {
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
    loop {
        let flow = match rows.next(&mut *src) {
            Ok(Row::End) => return,
            Ok(Row::Record { line }) => row(ctx, &rows, &columns, line, dialect),
            // Skipped without being buffered; reading goes on at the next row.
            Ok(Row::TooLarge { line, len }) => ctx.reject(line, too_large(len, max)),
            Err(e) => {
                // The row being read when the input failed is dropped; the
                // note says why.
                let msg = crate::source::io_msg(ctx, &e);
                ctx.file_error(msg);
                return;
            }
        };
        if flow.is_break() {
            return;
        }
    }
}

/// What [`Rows::next`] read.
#[derive(Debug, PartialEq, Eq)]
enum Row {
    /// A row within the record limit, starting on 1-based physical `line`;
    /// its fields are in [`Rows::fields`].
    Record { line: u64 },
    /// A row of `len` field bytes, over the record limit, skipped without
    /// being kept.
    TooLarge { line: u64, len: usize },
    /// No more rows.
    End,
}

/// Field bytes kept while a row is discarded.
const DISCARD: usize = 8 << 10;

/// CSV rows read with `csv_core` (quotes, doubled quotes, CR / LF / CRLF
/// line ends, blank lines skipped), numbered by physical line (a quoted
/// field may span lines), and never holding more than `max` field bytes: a
/// longer row is read to its end into a small scratch buffer and reported
/// by size, so the rows after it are read and numbered as usual.
struct Rows {
    core: csv_core::Reader,
    max: usize,
    /// Field bytes of the last row.
    out: Vec<u8>,
    /// End offsets of its fields in `out`.
    ends: Vec<usize>,
    /// How many of `ends` are set.
    nfields: usize,
    /// Line of the next byte not yet consumed.
    line: u64,
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
}

impl Rows {
    fn new(delimiter: u8, max: usize) -> Self {
        Rows {
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            max,
            out: vec![0; max.clamp(1, 64 << 10)],
            ends: vec![0; 64],
            nfields: 0,
            line: 1,
            scratch: Vec::new(),
            scratch_ends: Vec::new(),
        }
    }

    /// The fields of the last [`Row::Record`].
    fn fields(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.nfields).map(|i| self.field(i).unwrap_or_default())
    }

    /// Field `i` of the last [`Row::Record`].
    fn field(&self, i: usize) -> Option<&[u8]> {
        if i >= self.nfields {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.out.get(start..self.ends[i])
    }

    /// Field bytes of the last [`Row::Record`].
    fn len(&self) -> usize {
        match self.nfields {
            0 => 0,
            n => self.ends[n - 1],
        }
    }

    /// Reads the next row.
    fn next(&mut self, src: &mut dyn BufRead) -> io::Result<Row> {
        self.nfields = 0;
        // Line ends before a row (the rest of a CRLF, blank lines) are
        // skipped as the CSV reader skips them, so that the row's first
        // byte gives its line.
        loop {
            let buf = fill(src)?;
            let n = buf
                .iter()
                .position(|b| !matches!(b, b'\r' | b'\n'))
                .unwrap_or(buf.len());
            self.line += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            let more = n == buf.len() && n > 0;
            src.consume(n);
            if !more {
                break;
            }
        }
        let line = self.line;
        let (mut outlen, mut endlen) = (0usize, 0usize);
        // Field bytes of a row being discarded (over the limit).
        let mut discarded: Option<usize> = None;
        loop {
            let input = fill(src)?;
            let (res, nin, nout, nend) = match discarded {
                None => {
                    self.core
                        .read_record(input, &mut self.out[outlen..], &mut self.ends[endlen..])
                }
                Some(_) => {
                    if self.scratch.is_empty() {
                        self.scratch = vec![0; DISCARD];
                        self.scratch_ends = vec![0; 64];
                    }
                    self.core
                        .read_record(input, &mut self.scratch, &mut self.scratch_ends)
                }
            };
            self.line += memchr::memchr_iter(b'\n', &input[..nin]).count() as u64;
            src.consume(nin);
            match &mut discarded {
                None => {
                    outlen += nout;
                    endlen += nend;
                }
                Some(n) => *n += nout,
            }
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if discarded.is_none() {
                        if outlen > self.max {
                            discarded = Some(outlen);
                        } else {
                            let grown = (2 * self.out.len()).min(self.max.saturating_add(1));
                            self.out.resize(grown.max(outlen + 1), 0);
                        }
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    if discarded.is_none() {
                        let grown = 2 * self.ends.len();
                        self.ends.resize(grown, 0);
                    }
                }
                ReadRecordResult::Record => {
                    return Ok(match discarded {
                        Some(len) => Row::TooLarge { line, len },
                        None => {
                            self.nfields = endlen;
                            Row::Record { line }
                        }
                    });
                }
                ReadRecordResult::End => return Ok(Row::End),
            }
        }
    }
}

/// The buffered input (empty at the end), retrying interrupted reads.
fn fill(src: &mut dyn BufRead) -> io::Result<&[u8]> {
    loop {
        match src.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // Buffered now: this returns the same bytes without reading.
    src.fill_buf()
}

/// A CSV column that is read.
struct Col {
    index: usize,
    name: &'static str,
    header: String,
}

fn row(ctx: &mut Ctx<'_>, rec: &Rows, columns: &[Col], line: u64, dialect: Dialect) -> Flow {
    let max = ctx.opts.max_record_bytes;
    let size = rec.len();
    if size > max {
        return ctx.reject(line, too_large(size, max));
    }
    let mut m = Map::new();
    for c in columns {
        let Some(cell) = rec.field(c.index) else {
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
