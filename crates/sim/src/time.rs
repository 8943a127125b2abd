//! Simulated time: nanoseconds since the Unix epoch (UTC), and the exact
//! timestamp spellings each export shape uses.

/// Nanoseconds per second.
pub const SEC: i64 = 1_000_000_000;
/// Nanoseconds per minute.
pub const MIN: i64 = 60 * SEC;
/// Nanoseconds per hour.
pub const HOUR: i64 = 60 * MIN;
/// Nanoseconds per day.
pub const DAY: i64 = 24 * HOUR;

/// How a timestamp is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// `2024-05-01T10:15:41.6195833Z` (Log Analytics, Graph, Azure Monitor `time`, event XML).
    Seven,
    /// `2024-05-01T10:15:41.6195833+00:00` (Azure Monitor `properties.createdDateTime`).
    SevenOffset,
    /// `2024-05-01T10:15:41.619Z` (Winlogbeat `@timestamp`).
    Milli,
    /// `2024-05-01T10:15:41Z` (Entra portal CSV).
    Seconds,
}

/// Civil UTC date and time of `ns`: (year, month, day, hour, minute, second, nanos).
pub fn civil(ns: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ns.div_euclid(SEC);
    let nanos = ns.rem_euclid(SEC) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, sod / 3600, (sod / 60) % 60, sod % 60, nanos)
}

fn push2(b: &mut Vec<u8>, v: u32) {
    b.push(b'0' + (v / 10 % 10) as u8);
    b.push(b'0' + (v % 10) as u8);
}

fn push_digits(b: &mut Vec<u8>, mut v: u32, n: usize) {
    let mut tmp = [b'0'; 9];
    for i in (0..n).rev() {
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    b.extend_from_slice(&tmp[..n]);
}

/// Appends `ns` in the given spelling.
pub fn write_ts(b: &mut Vec<u8>, ns: i64, sp: Spelling) {
    let (y, mo, d, h, mi, s, nanos) = civil(ns);
    push_digits(b, y.clamp(0, 9999) as u32, 4);
    b.push(b'-');
    push2(b, mo);
    b.push(b'-');
    push2(b, d);
    b.push(b'T');
    push2(b, h);
    b.push(b':');
    push2(b, mi);
    b.push(b':');
    push2(b, s);
    match sp {
        Spelling::Seven | Spelling::SevenOffset => {
            b.push(b'.');
            push_digits(b, nanos / 100, 7);
        }
        Spelling::Milli => {
            b.push(b'.');
            push_digits(b, nanos / 1_000_000, 3);
        }
        Spelling::Seconds => {}
    }
    if sp == Spelling::SevenOffset {
        b.extend_from_slice(b"+00:00");
    } else {
        b.push(b'Z');
    }
}

/// `ns` in the given spelling, as a string.
pub fn fmt_ts(ns: i64, sp: Spelling) -> String {
    let mut b = Vec::with_capacity(32);
    write_ts(&mut b, ns, sp);
    String::from_utf8(b).unwrap_or_default()
}

/// `YYYY-MM-DD` of `ns`.
pub fn fmt_date(ns: i64) -> String {
    let (y, m, d, ..) = civil(ns);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses an RFC 3339 (or any idrecon-accepted) timestamp into nanoseconds.
pub fn parse_ns(s: &str) -> Option<i64> {
    let ts = idrecon_core::parse_timestamp(s)?;
    i64::try_from(ts.as_nanosecond()).ok()
}

/// Nanoseconds to an idrecon timestamp.
pub fn to_timestamp(ns: i64) -> idrecon_core::Timestamp {
    idrecon_core::Timestamp::from_nanosecond(i128::from(ns))
        .unwrap_or(idrecon_core::Timestamp::UNIX_EPOCH)
}

/// An idrecon timestamp to nanoseconds.
pub fn from_timestamp(ts: idrecon_core::Timestamp) -> i64 {
    i64::try_from(ts.as_nanosecond()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let ns = parse_ns("2024-05-01T10:15:41.6195833Z").expect("parses");
        assert_eq!(fmt_ts(ns, Spelling::Seven), "2024-05-01T10:15:41.6195833Z");
        assert_eq!(
            fmt_ts(ns, Spelling::SevenOffset),
            "2024-05-01T10:15:41.6195833+00:00"
        );
        assert_eq!(fmt_ts(ns, Spelling::Milli), "2024-05-01T10:15:41.619Z");
        assert_eq!(fmt_ts(ns, Spelling::Seconds), "2024-05-01T10:15:41Z");
        assert_eq!(fmt_date(ns), "2024-05-01");
        let leap = parse_ns("2024-02-29T23:59:59Z").expect("parses");
        assert_eq!(
            fmt_ts(leap + SEC, Spelling::Seconds),
            "2024-03-01T00:00:00Z"
        );
        assert_eq!(fmt_ts(0, Spelling::Seconds), "1970-01-01T00:00:00Z");
        let y2k = parse_ns("1999-12-31T23:00:00Z").expect("parses");
        assert_eq!(
            fmt_ts(y2k + HOUR, Spelling::Seconds),
            "2000-01-01T00:00:00Z"
        );
    }
}
