//! A validating JSON scanner that finds the members of one object without
//! building anything.
//!
//! It accepts a subset of what `serde_json` accepts and never more: every
//! text it accepts parses with `serde_json` to the same values. Whatever it
//! is unsure about (exponents, `\u` surrogate escapes, nesting deeper than
//! [`MAX_DEPTH`], invalid JSON of any kind) makes it give up with [`Bail`],
//! and the caller hands the record to the full parser, which decides (and
//! words any error) exactly as before.

/// What a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Num,
    True,
    False,
    Null,
    Obj,
    Arr,
}

/// One member of an object: byte ranges into the scanned text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    /// The key without its quotes.
    pub key: (usize, usize),
    /// The key holds a backslash escape.
    pub key_esc: bool,
    /// The value; strings without their quotes.
    pub val: (usize, usize),
    /// A string value holds a backslash escape.
    pub val_esc: bool,
    pub kind: Kind,
}

/// The scanner gave up: use the full parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bail;

/// Deepest nesting accepted (`serde_json` stops at 128).
pub(crate) const MAX_DEPTH: u32 = 100;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of each byte of `w` that is `"`, `\` or a control character; the
/// lowest set bit is exact (higher ones may be false positives).
#[inline(always)]
fn special(w: u64) -> u64 {
    let q = w ^ (LO * u64::from(b'"'));
    let s = w ^ (LO * u64::from(b'\\'));
    let zq = q.wrapping_sub(LO) & !q;
    let zs = s.wrapping_sub(LO) & !s;
    let ctl = w.wrapping_sub(LO * 0x20) & !w;
    (zq | zs | ctl) & HI
}

#[inline(always)]
fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
            break;
        }
        i += 1;
    }
    i
}

/// Scans a string body starting after its opening quote; returns the index
/// of the closing quote and whether it holds escapes.
#[inline(always)]
fn string(b: &[u8], mut i: usize) -> Result<(usize, bool), Bail> {
    let mut esc = false;
    loop {
        while let Some(chunk) = b.get(i..i + 8) {
            let Ok(w) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            let m = special(u64::from_le_bytes(w));
            if m != 0 {
                i += (m.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match *b.get(i).ok_or(Bail)? {
            b'"' => return Ok((i, esc)),
            b'\\' => {
                esc = true;
                i = escape(b, i + 1)?;
            }
            c if c < 0x20 => return Err(Bail),
            _ => i += 1,
        }
    }
}

/// Checks the escape whose letter is at `i`; returns the index after it.
fn escape(b: &[u8], i: usize) -> Result<usize, Bail> {
    match *b.get(i).ok_or(Bail)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(i + 1),
        b'u' => {
            let hex = b.get(i + 1..i + 5).ok_or(Bail)?;
            let mut v = 0u32;
            for &h in hex {
                v = v * 16 + (h as char).to_digit(16).ok_or(Bail)?;
            }
            if (0xd800..=0xdfff).contains(&v) {
                return Err(Bail);
            }
            Ok(i + 5)
        }
        _ => Err(Bail),
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize, Bail> {
    if b.get(i..i + word.len()) == Some(word) {
        Ok(i + word.len())
    } else {
        Err(Bail)
    }
}

/// A number without exponent, at most 40 bytes long.
fn number(b: &[u8], start: usize) -> Result<usize, Bail> {
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return Err(Bail),
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let d = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == d {
            return Err(Bail);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) || i - start > 40 {
        return Err(Bail);
    }
    Ok(i)
}

/// Scans the value starting at `i` (no leading whitespace); returns its
/// kind, range, escape flag and the index after it.
fn value(b: &[u8], i: usize, depth: u32) -> Result<(Kind, (usize, usize), bool, usize), Bail> {
    match *b.get(i).ok_or(Bail)? {
        b'"' => {
            let (end, esc) = string(b, i + 1)?;
            Ok((Kind::Str, (i + 1, end), esc, end + 1))
        }
        b'{' => {
            let end = object(b, i, depth + 1, None)?;
            Ok((Kind::Obj, (i, end), false, end))
        }
        b'[' => {
            let end = array(b, i, depth + 1)?;
            Ok((Kind::Arr, (i, end), false, end))
        }
        b't' => literal(b, i, b"true").map(|e| (Kind::True, (i, e), false, e)),
        b'f' => literal(b, i, b"false").map(|e| (Kind::False, (i, e), false, e)),
        b'n' => literal(b, i, b"null").map(|e| (Kind::Null, (i, e), false, e)),
        b'-' | b'0'..=b'9' => number(b, i).map(|e| (Kind::Num, (i, e), false, e)),
        _ => Err(Bail),
    }
}

/// Scans the object whose `{` is at `i`; returns the index after its `}`.
/// Members are recorded when `out` is given.
fn object(
    b: &[u8],
    i: usize,
    depth: u32,
    mut out: Option<&mut Vec<Member>>,
) -> Result<usize, Bail> {
    if depth > MAX_DEPTH {
        return Err(Bail);
    }
    let mut i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Ok(i + 1);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return Err(Bail);
        }
        let (kend, key_esc) = string(b, i + 1)?;
        let key = (i + 1, kend);
        i = ws(b, kend + 1);
        if b.get(i) != Some(&b':') {
            return Err(Bail);
        }
        i = ws(b, i + 1);
        // Strings, the common case, without the call (and the large
        // return value) of `value`.
        let (kind, val, val_esc, next) = if b.get(i) == Some(&b'"') {
            let (end, esc) = string(b, i + 1)?;
            (Kind::Str, (i + 1, end), esc, end + 1)
        } else {
            value(b, i, depth)?
        };
        if let Some(out) = out.as_deref_mut() {
            out.push(Member {
                key,
                key_esc,
                val,
                val_esc,
                kind,
            });
        }
        i = ws(b, next);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return Ok(i + 1),
            _ => return Err(Bail),
        }
    }
}

fn array(b: &[u8], i: usize, depth: u32) -> Result<usize, Bail> {
    if depth > MAX_DEPTH {
        return Err(Bail);
    }
    let mut i = ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Ok(i + 1);
    }
    loop {
        let next = if b.get(i) == Some(&b'"') {
            string(b, i + 1)?.0 + 1
        } else {
            value(b, i, depth)?.3
        };
        i = ws(b, next);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b']') => return Ok(i + 1),
            _ => return Err(Bail),
        }
    }
}

/// Scans a text that must be exactly one JSON object (JSON whitespace
/// around it allowed) and records its top-level members in `out`.
pub(crate) fn object_members(b: &[u8], out: &mut Vec<Member>) -> Result<(), Bail> {
    out.clear();
    let i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(Bail);
    }
    let end = object(b, i, 1, Some(out))?;
    if ws(b, end) != b.len() {
        return Err(Bail);
    }
    Ok(())
}

/// What a whole text holds when it is one JSON value.
pub(crate) fn top_kind(b: &[u8]) -> Result<Kind, Bail> {
    let i = ws(b, 0);
    let (kind, _, _, end) = value(b, i, 0)?;
    if ws(b, end) != b.len() {
        return Err(Bail);
    }
    Ok(kind)
}

/// Decodes the escapes of a scanned string body (which the scanner
/// accepted, so every escape is well formed and no surrogate).
pub(crate) fn unescape(s: &str, out: &mut String) -> Result<(), Bail> {
    out.clear();
    let mut rest = s;
    while let Some(p) = rest.find('\\') {
        out.push_str(&rest[..p]);
        let b = rest.as_bytes();
        let c = *b.get(p + 1).ok_or(Bail)?;
        let (ch, used) = match c {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let hex = rest.get(p + 2..p + 6).ok_or(Bail)?;
                let v = u32::from_str_radix(hex, 16).map_err(|_| Bail)?;
                (char::from_u32(v).ok_or(Bail)?, 6)
            }
            _ => return Err(Bail),
        };
        out.push(ch);
        rest = &rest[p + used..];
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &str) -> Result<Vec<(String, Kind, String)>, Bail> {
        let mut out = Vec::new();
        object_members(s.as_bytes(), &mut out)?;
        Ok(out
            .iter()
            .map(|m| {
                (
                    s[m.key.0..m.key.1].to_string(),
                    m.kind,
                    s[m.val.0..m.val.1].to_string(),
                )
            })
            .collect())
    }

    #[test]
    fn finds_members() {
        let m =
            members(r#" { "a" : "x\"y" , "b":[1, {"c": null}], "d": -0.5, "e": true, "f": {}} "#)
                .expect("valid");
        assert_eq!(m.len(), 5);
        assert_eq!(m[0], ("a".into(), Kind::Str, r#"x\"y"#.into()));
        assert_eq!(m[1].1, Kind::Arr);
        assert_eq!(m[1].2, r#"[1, {"c": null}]"#);
        assert_eq!(m[2], ("d".into(), Kind::Num, "-0.5".into()));
        assert_eq!(m[4], ("f".into(), Kind::Obj, "{}".into()));
    }

    #[test]
    fn gives_up_on_what_it_does_not_accept() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":1e5}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":tru}"#,
            r#"{"a":1} x"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":-}"#,
            r#"{"a":1.}"#,
        ] {
            assert!(members(bad).is_err(), "{bad}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(members(&deep).is_err());
    }

    #[test]
    fn accepted_texts_parse_with_serde_json() {
        for ok in [
            r#"{}"#,
            r#"{"k":"\u00e9\n\t\/","n":[],"o":{"p":[true,false,null,0,-1,2.25]}}"#,
            "{\"a\":\"é ünï\"}",
        ] {
            assert!(members(ok).is_ok(), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(ok).is_ok());
        }
    }

    #[test]
    fn unescapes_like_serde_json() {
        let raw = r#"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac"#;
        let mut out = String::new();
        unescape(raw, &mut out).expect("ok");
        let want: String = serde_json::from_str(&format!("\"{raw}\"")).expect("json");
        assert_eq!(out, want);
    }

    #[test]
    fn special_bytes() {
        for (i, c) in [b'"', b'\\', 0x00, 0x1f].into_iter().enumerate() {
            let mut w = [b'a'; 8];
            w[i + 3] = c;
            let m = special(u64::from_le_bytes(w));
            assert_eq!((m.trailing_zeros() / 8) as usize, i + 3);
        }
        assert_eq!(special(u64::from_le_bytes(*b"abc\x7f\xc3\xa9 ~")), 0);
    }
}
