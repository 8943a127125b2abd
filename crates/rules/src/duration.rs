//! Durations as rules write them: `90s`, `15m`, `1h`, `1h30m`, `2d`.

use std::time::Duration;

/// Parses `<n><unit>…` with units `s`, `m`, `h`, `d` (compound allowed).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration (use e.g. 30m, 1h, 2d)".into());
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "bad duration `{t}`: unknown unit `{c}` (use s, m, h or d)"
                ));
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("bad duration `{t}`: a number must precede `{c}`"))?;
        num.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration `{t}` is too large"))?;
    }
    if !num.is_empty() {
        return Err(format!(
            "bad duration `{t}`: missing unit after `{num}` (use s, m, h or d)"
        ));
    }
    if total == 0 {
        return Err(format!("duration `{t}` must be positive"));
    }
    if total > 366 * 86_400 {
        return Err(format!("duration `{t}` is longer than a year"));
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration in the largest exact unit (`3600s` → `1h`).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_duration("1h").map(|d| d.as_secs()), Ok(3600));
        assert_eq!(parse_duration("1h30m").map(|d| d.as_secs()), Ok(5400));
        assert_eq!(parse_duration("90s").map(|d| d.as_secs()), Ok(90));
        assert_eq!(parse_duration("2d").map(|d| d.as_secs()), Ok(172_800));
        for bad in ["", "h", "10", "1x", "0m", "999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(5400)), "90m");
    }
}
