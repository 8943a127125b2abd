//! Timestamp parsing for every format real Entra ID and Windows exports carry.
//!
//! Accepted forms (all interpreted as UTC unless an offset is given):
//! - RFC 3339 / ISO 8601 with `Z` or a numeric offset, any number of
//!   fractional digits (Entra writes 7: `2024-05-01T10:15:41.6195833Z`);
//! - the same without an offset (`2024-05-01T10:15:41.6195833`), or with a
//!   space instead of `T` (`2024-05-01 10:15:41`);
//! - US-style `M/d/yyyy h:mm:ss AM` (Azure portal and some Azure Monitor
//!   exports), with or without the AM/PM marker (24-hour then);
//! - Unix epoch seconds or milliseconds as digits.

pub use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};

/// Parses a timestamp string in any supported format; `None` when it is not
/// a timestamp or lies outside the representable range.
pub fn parse_timestamp(raw: &str) -> Option<Timestamp> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return parse_epoch(s);
    }
    if s.contains('/') {
        return parse_us(s);
    }
    // Offset-less ISO forms, possibly with a space separator.
    let normal: String = s.replacen(' ', "T", 1);
    if let Ok(ts) = normal.parse::<Timestamp>() {
        return Some(ts);
    }
    let dt: DateTime = normal.parse().ok()?;
    jiff::tz::Offset::UTC.to_timestamp(dt).ok()
}

fn parse_epoch(s: &str) -> Option<Timestamp> {
    let n: i64 = s.parse().ok()?;
    match s.len() {
        9..=10 => Timestamp::from_second(n).ok(),
        12..=13 => Timestamp::from_millisecond(n).ok(),
        _ => None,
    }
}

/// `M/d/yyyy h:mm:ss[.fff] [AM|PM]`.
fn parse_us(s: &str) -> Option<Timestamp> {
    let mut parts = s.split_whitespace();
    let date = parts.next()?;
    let time = parts.next().unwrap_or("0:00:00");
    let ampm = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let mut d = date.split('/');
    let month: i8 = d.next()?.parse().ok()?;
    let day: i8 = d.next()?.parse().ok()?;
    let year: i16 = d.next()?.parse().ok()?;
    if d.next().is_some() {
        return None;
    }
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (time, None),
    };
    let mut t = hms.split(':');
    let mut hour: i8 = t.next()?.parse().ok()?;
    let minute: i8 = t.next()?.parse().ok()?;
    let second: i8 = t.next().unwrap_or("0").parse().ok()?;
    match ampm.map(str::to_ascii_uppercase).as_deref() {
        Some("AM") if hour == 12 => hour = 0,
        Some("AM") | None => {}
        Some("PM") if hour < 12 => hour += 12,
        Some("PM") => {}
        Some(_) => return None,
    }
    let nanos: i32 = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let v: i32 = f.parse().ok()?;
            v * 10i32.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    let date = Date::new(year, month, day).ok()?;
    let time = Time::new(hour, minute, second, nanos).ok()?;
    jiff::tz::Offset::UTC
        .to_timestamp(date.to_datetime(time))
        .ok()
}

/// Formats a timestamp as RFC 3339 UTC with the fraction trimmed
/// (`2024-05-01T10:15:41.6195833Z`, `2024-05-01T10:15:41Z`).
pub fn format_rfc3339(ts: Timestamp) -> String {
    ts.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse_timestamp(s)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn entra_forms() {
        assert_eq!(
            p("2024-05-01T10:15:41.6195833Z"),
            "2024-05-01T10:15:41.6195833Z"
        );
        assert_eq!(
            p("2024-05-01T10:15:41.6195833+00:00"),
            "2024-05-01T10:15:41.6195833Z"
        );
        assert_eq!(p("2024-05-01T12:15:41+02:00"), "2024-05-01T10:15:41Z");
        assert_eq!(
            p("2024-05-01T10:15:41.6195833"),
            "2024-05-01T10:15:41.6195833Z"
        );
        assert_eq!(p("2024-05-01 10:15:41"), "2024-05-01T10:15:41Z");
        assert_eq!(p("5/1/2024 10:15:41 AM"), "2024-05-01T10:15:41Z");
        assert_eq!(p("5/1/2024 12:15:41 AM"), "2024-05-01T00:15:41Z");
        assert_eq!(p("5/1/2024 1:15:41 PM"), "2024-05-01T13:15:41Z");
        assert_eq!(p("5/1/2024 13:15:41"), "2024-05-01T13:15:41Z");
        assert_eq!(p("1714558541"), "2024-05-01T10:15:41Z");
        assert_eq!(p("1714558541123"), "2024-05-01T10:15:41.123Z");
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        for s in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "99999-01-01T00:00:00Z",
            "13/40/2024 1:00:00 PM",
            "1/1/2024 25:00:00",
            "5/1/2024 1:15:41 XM",
        ] {
            assert!(parse_timestamp(s).is_none(), "{s}");
        }
    }
}
