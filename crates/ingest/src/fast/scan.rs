//! A validating JSON scanner that finds the members of one object without
//! building anything.
//!
//! It accepts a subset of what `serde_json` accepts and never more: every
//! text it accepts parses with `serde_json` to the same values. Whatever it
//! is unsure about (exponents, `\u` surrogate escapes, nesting deeper than
//! [`MAX_DEPTH`], invalid JSON of any kind) makes it give up with [`Bail`],
//! and the caller hands the record to the full parser, which decides (and
//! words any error) exactly as before.
//!
//! Strings are searched 8 bytes at a time (SWAR) for `"`, `\` and control
//! bytes. A text with no byte below 0x20 at all (one vectorized pass over
//! it, [`has_control`]) is scanned in the `CTL = false` mode, which looks
//! for `"` and `\` only; a text with any (a tab or CR between tokens, which
//! JSON allows) is scanned in the `CTL = true` mode, which rejects control
//! bytes inside strings as `serde_json` does.

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

/// Bit 7 of each byte of `w` that is `"` or `\` (and, with `CTL`, a
/// control character); the lowest set bit is exact (higher ones may be
/// false positives).
#[inline(always)]
fn special<const CTL: bool>(w: u64) -> u64 {
    let q = w ^ (LO * u64::from(b'"'));
    let s = w ^ (LO * u64::from(b'\\'));
    let zq = q.wrapping_sub(LO) & !q;
    let zs = s.wrapping_sub(LO) & !s;
    if CTL {
        let ctl = w.wrapping_sub(LO * 0x20) & !w;
        (zq | zs | ctl) & HI
    } else {
        (zq | zs) & HI
    }
}

/// True when `b` holds a byte below 0x20 (a pass the compiler vectorizes:
/// the minimum of each 64-byte block).
pub(crate) fn has_control(b: &[u8]) -> bool {
    let mut blocks = b.chunks_exact(256);
    for block in &mut blocks {
        if block.iter().fold(0xff, |m, &c| m.min(c)) < 0x20 {
            return true;
        }
    }
    blocks.remainder().iter().fold(0xff, |m, &c| m.min(c)) < 0x20
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
/// of the closing quote and whether it holds escapes. Without `CTL` the
/// caller has made sure that the text holds no control byte.
#[inline(always)]
fn string<const CTL: bool>(b: &[u8], mut i: usize) -> Result<(usize, bool), Bail> {
    let mut esc = false;
    loop {
        // 16 bytes at a time (SSE2 through `wide`, no `unsafe` here), then
        // 8 (SWAR) near the end of the text, up to the first candidate.
        let mut found = false;
        while let Some(chunk) = b.get(i..i + 16) {
            let Ok(w) = <[u8; 16]>::try_from(chunk) else {
                break;
            };
            let m = special16::<CTL>(w);
            if m != 0 {
                i += m.trailing_zeros() as usize;
                found = true;
                break;
            }
            i += 16;
        }
        if !found {
            while let Some(chunk) = b.get(i..i + 8) {
                let Ok(w) = <[u8; 8]>::try_from(chunk) else {
                    break;
                };
                let m = special::<CTL>(u64::from_le_bytes(w));
                if m != 0 {
                    i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
        }
        match *b.get(i).ok_or(Bail)? {
            b'"' => return Ok((i, esc)),
            b'\\' => {
                esc = true;
                i = match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i + 2,
                    Some(b'u') => unicode_escape(b, i + 2)?,
                    _ => return Err(Bail),
                };
            }
            c if c < 0x20 => return Err(Bail),
            _ => i += 1,
        }
    }
}

/// Bit `k` set: byte `k` of `w` is `"` or `\` (and, with `CTL`, a control
/// character). Exact in every bit.
#[inline(always)]
fn special16<const CTL: bool>(w: [u8; 16]) -> u32 {
    use wide::u8x16;
    let v = u8x16::from(w);
    let mut m = v.cmp_eq(u8x16::splat(b'"')) | v.cmp_eq(u8x16::splat(b'\\'));
    if CTL {
        // `v <= 0x1f`, unsigned.
        m |= v.min(u8x16::splat(0x1f)).cmp_eq(v);
    }
    m.move_mask() as u32
}

/// Checks the four hex digits of a `\u` escape starting at `i`; returns the
/// index after them. Surrogates (pairs or not) are left to the full parse.
#[inline(never)]
fn unicode_escape(b: &[u8], i: usize) -> Result<usize, Bail> {
    let hex = b.get(i..i + 4).ok_or(Bail)?;
    let mut v = 0u32;
    for &h in hex {
        v = v * 16 + (h as char).to_digit(16).ok_or(Bail)?;
    }
    if (0xd800..=0xdfff).contains(&v) {
        return Err(Bail);
    }
    Ok(i + 4)
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
#[inline(always)]
fn value<const CTL: bool>(
    b: &[u8],
    i: usize,
    depth: u32,
) -> Result<(Kind, (usize, usize), bool, usize), Bail> {
    match *b.get(i).ok_or(Bail)? {
        b'"' => {
            let (end, esc) = string::<CTL>(b, i + 1)?;
            Ok((Kind::Str, (i + 1, end), esc, end + 1))
        }
        _ => other::<CTL>(b, i, depth),
    }
}

/// [`value`] for everything but strings.
#[inline(never)]
fn other<const CTL: bool>(
    b: &[u8],
    i: usize,
    depth: u32,
) -> Result<(Kind, (usize, usize), bool, usize), Bail> {
    match *b.get(i).ok_or(Bail)? {
        b'{' => {
            let end = object::<CTL>(b, i, depth + 1, None)?;
            Ok((Kind::Obj, (i, end), false, end))
        }
        b'[' => {
            let end = array::<CTL>(b, i, depth + 1)?;
            Ok((Kind::Arr, (i, end), false, end))
        }
        b't' => literal(b, i, b"true").map(|e| (Kind::True, (i, e), false, e)),
        b'f' => literal(b, i, b"false").map(|e| (Kind::False, (i, e), false, e)),
        b'n' => literal(b, i, b"null").map(|e| (Kind::Null, (i, e), false, e)),
        b'-' | b'0'..=b'9' => number(b, i).map(|e| (Kind::Num, (i, e), false, e)),
        _ => Err(Bail),
    }
}

/// After a member or element at `*i`: `true` with `*i` at the next one
/// (after `,` and whitespace), or `false` with `*i` just past the closing
/// `close`.
#[inline(always)]
fn next_item(b: &[u8], i: &mut usize, close: u8) -> Result<bool, Bail> {
    let j = ws(b, *i);
    match b.get(j) {
        Some(b',') => {
            *i = ws(b, j + 1);
            Ok(true)
        }
        Some(&c) if c == close => {
            *i = j + 1;
            Ok(false)
        }
        _ => Err(Bail),
    }
}

/// After a key: the index of its value (after `:` and whitespace).
#[inline(always)]
fn colon(b: &[u8], i: usize) -> Result<usize, Bail> {
    let j = ws(b, i);
    if b.get(j) != Some(&b':') {
        return Err(Bail);
    }
    Ok(ws(b, j + 1))
}

/// Scans the object whose `{` is at `i`; returns the index after its `}`.
/// Members are recorded when `out` is given.
fn object<const CTL: bool>(
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
        let (kend, key_esc) = string::<CTL>(b, i + 1)?;
        let key = (i + 1, kend);
        i = colon(b, kend + 1)?;
        let (kind, val, val_esc, next) = value::<CTL>(b, i, depth)?;
        if let Some(out) = out.as_deref_mut() {
            out.push(Member {
                key,
                key_esc,
                val,
                val_esc,
                kind,
            });
        }
        i = next;
        if !next_item(b, &mut i, b'}')? {
            return Ok(i);
        }
    }
}

fn array<const CTL: bool>(b: &[u8], i: usize, depth: u32) -> Result<usize, Bail> {
    if depth > MAX_DEPTH {
        return Err(Bail);
    }
    let mut i = ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Ok(i + 1);
    }
    loop {
        i = value::<CTL>(b, i, depth)?.3;
        if !next_item(b, &mut i, b']')? {
            return Ok(i);
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
    let end = if has_control(b) {
        object::<true>(b, i, 1, Some(out))?
    } else {
        object::<false>(b, i, 1, Some(out))?
    };
    if ws(b, end) != b.len() {
        return Err(Bail);
    }
    Ok(())
}

/// What [`object_fields`] makes of a top-level key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// Not looked at: the value is validated and forgotten.
    Ignore,
    /// Recorded in this slot (a second key for the same slot gives up).
    Slot(usize),
    /// The record is of another kind: give up.
    Bail,
}

/// Scans a text that must be exactly one JSON object (JSON whitespace
/// around it allowed); each top-level key without escapes is given to
/// `pick`, and the members it picks are recorded in their slot. A key with
/// an escape, a key picked twice or [`Pick::Bail`] gives up.
pub(crate) fn object_fields(
    b: &[u8],
    slots: &mut [Option<Member>],
    pick: &mut dyn FnMut(&[u8]) -> Pick,
) -> Result<(), Bail> {
    let i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(Bail);
    }
    let end = if has_control(b) {
        fields::<true>(b, i, slots, pick)?
    } else {
        fields::<false>(b, i, slots, pick)?
    };
    if ws(b, end) != b.len() {
        return Err(Bail);
    }
    Ok(())
}

fn fields<const CTL: bool>(
    b: &[u8],
    i: usize,
    slots: &mut [Option<Member>],
    pick: &mut dyn FnMut(&[u8]) -> Pick,
) -> Result<usize, Bail> {
    let mut i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Ok(i + 1);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return Err(Bail);
        }
        let (kend, key_esc) = string::<CTL>(b, i + 1)?;
        if key_esc {
            return Err(Bail);
        }
        let key = (i + 1, kend);
        let slot = match pick(b.get(key.0..key.1).ok_or(Bail)?) {
            Pick::Ignore => None,
            Pick::Slot(s) => Some(s),
            Pick::Bail => return Err(Bail),
        };
        i = colon(b, kend + 1)?;
        let (kind, val, val_esc, next) = value::<CTL>(b, i, 1)?;
        if let Some(s) = slot {
            let s = slots.get_mut(s).ok_or(Bail)?;
            if s.is_some() {
                return Err(Bail);
            }
            *s = Some(Member {
                key,
                key_esc,
                val,
                val_esc,
                kind,
            });
        }
        i = next;
        if !next_item(b, &mut i, b'}')? {
            return Ok(i);
        }
    }
}

/// What a whole text holds when it is one JSON value.
pub(crate) fn top_kind(b: &[u8]) -> Result<Kind, Bail> {
    let i = ws(b, 0);
    let (kind, _, _, end) = if has_control(b) {
        value::<true>(b, i, 0)?
    } else {
        value::<false>(b, i, 0)?
    };
    if ws(b, end) != b.len() {
        return Err(Bail);
    }
    Ok(kind)
}

/// Decodes the escapes of a scanned string body into `out` (cleared
/// first). The scanner accepted the body, so every escape is well formed
/// and no surrogate; should one not be, it is copied as written (this
/// never fails or panics).
pub(crate) fn unescape(s: &str, out: &mut String) {
    out.clear();
    let mut rest = s;
    // Escapes are a few bytes apart in JSON text columns: a plain loop
    // finds the next one faster than a `memchr` call.
    while let Some(p) = rest.bytes().position(|c| c == b'\\') {
        let (head, tail) = rest.split_at(p);
        out.push_str(head);
        let b = tail.as_bytes();
        let decoded = match b.get(1) {
            Some(b'"') => Some(('"', 2)),
            Some(b'\\') => Some(('\\', 2)),
            Some(b'/') => Some(('/', 2)),
            Some(b'b') => Some(('\u{8}', 2)),
            Some(b'f') => Some(('\u{c}', 2)),
            Some(b'n') => Some(('\n', 2)),
            Some(b'r') => Some(('\r', 2)),
            Some(b't') => Some(('\t', 2)),
            Some(b'u') => tail
                .get(2..6)
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32)
                .map(|c| (c, 6)),
            _ => None,
        };
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = tail.get(used..).unwrap_or_default();
            }
            None => {
                out.push('\\');
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
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
        let mut out = String::from("old");
        unescape(raw, &mut out);
        let want: String = serde_json::from_str(&format!("\"{raw}\"")).expect("json");
        assert_eq!(out, want);
    }

    #[test]
    fn special_bytes_16_at_a_time() {
        for (k, c) in [b'"', b'\\', 0x00, 0x1f, 0x20, 0x7f, 0xc3]
            .into_iter()
            .enumerate()
        {
            for at in [0, 7, 15] {
                let mut w = [b'a'; 16];
                w[at] = c;
                let special = matches!(c, b'"' | b'\\');
                assert_eq!(special16::<false>(w), u32::from(special) << at, "{k} {at}");
                assert_eq!(special16::<true>(w), u32::from(special || c < 0x20) << at);
            }
        }
        let mut w = [b'x'; 16];
        w[3] = b'"';
        w[9] = 0x01;
        assert_eq!(special16::<true>(w), (1 << 3) | (1 << 9));
        assert_eq!(special16::<false>(w), 1 << 3);
    }

    #[test]
    fn special_bytes() {
        for (i, c) in [b'"', b'\\', 0x00, 0x1f].into_iter().enumerate() {
            let mut w = [b'a'; 8];
            w[i + 3] = c;
            let m = special::<true>(u64::from_le_bytes(w));
            assert_eq!((m.trailing_zeros() / 8) as usize, i + 3);
            let m = special::<false>(u64::from_le_bytes(w));
            if c >= 0x20 {
                assert_eq!((m.trailing_zeros() / 8) as usize, i + 3);
            } else {
                assert_eq!(m, 0);
            }
        }
        assert_eq!(
            special::<true>(u64::from_le_bytes(*b"abc\x7f\xc3\xa9 ~")),
            0
        );
    }

    /// Random texts from JSON's alphabet (and a few bytes that are not):
    /// whatever the scanner accepts, `serde_json` accepts too, with the
    /// same top-level keys and values, in both modes (with and without
    /// control bytes in the text).
    #[test]
    fn accepts_only_what_serde_json_accepts() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let piece = prop_oneof![
            Just("{"),
            Just("}"),
            Just("["),
            Just("]"),
            Just(","),
            Just(":"),
            Just(" "),
            Just("\t"),
            Just("\n"),
            Just("\""),
            Just("\\"),
            Just("\\u00e9"),
            Just("\\ud83d"),
            Just("\\x"),
            Just("0"),
            Just("-1"),
            Just("1e3"),
            Just("01"),
            Just("nul"),
            Just("\u{1}"),
            Just("\u{b}"),
            Just("é"),
            Just(""),
        ];
        let leaf = prop_oneof![
            Just("\"a\"".to_string()),
            Just("\"x\\\"y\\\\ \\/ \\u00e9\\n\"".to_string()),
            Just("\"a long string value, longer than eight bytes\"".to_string()),
            Just("0".to_string()),
            Just("-12.5".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("null".to_string()),
            Just("\"é\tü\"".to_string()),
        ];
        let value = leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec(("[a-zA-Z]{0,10}", inner), 0..5).prop_map(|v| {
                    let m: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\" :{v}")).collect();
                    format!("{{{}}}", m.join(","))
                }),
            ]
        });
        let object = prop::collection::vec(("[a-zA-Z]{0,10}", value), 0..8).prop_map(|v| {
            let m: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            format!(" {{{}}}\t", m.join(", "))
        });
        // A valid object, then up to two edits (a piece inserted or a byte
        // range removed, at char boundaries).
        let text = (
            object,
            prop::collection::vec((any::<prop::sample::Index>(), piece, 0usize..3), 0..3),
        )
            .prop_map(|(mut t, edits)| {
                for (at, piece, cut) in edits {
                    let mut i = at.index(t.len() + 1);
                    while !t.is_char_boundary(i) {
                        i -= 1;
                    }
                    let mut j = (i + cut).min(t.len());
                    while !t.is_char_boundary(j) {
                        j += 1;
                    }
                    t.replace_range(i..j, piece);
                }
                t
            });
        let accepted = std::cell::Cell::new(0u32);
        let mut runner = TestRunner::new(Config {
            cases: 4000,
            ..Config::default()
        });
        runner
            .run(&text, |t| {
                let mut out = Vec::new();
                if object_members(t.as_bytes(), &mut out).is_ok() {
                    accepted.set(accepted.get() + 1);
                    let v: serde_json::Value = serde_json::from_str(&t)
                        .map_err(|e| TestCaseError::fail(format!("{t:?}: {e}")))?;
                    let m = v
                        .as_object()
                        .ok_or_else(|| TestCaseError::fail(t.clone()))?;
                    for mem in &out {
                        let mut key = String::new();
                        unescape(&t[mem.key.0..mem.key.1], &mut key);
                        let want = m.get(&key).ok_or_else(|| TestCaseError::fail(t.clone()))?;
                        let raw = &t[mem.val.0..mem.val.1];
                        let got: serde_json::Value = if mem.kind == Kind::Str {
                            let mut s = String::new();
                            unescape(raw, &mut s);
                            serde_json::Value::String(s)
                        } else {
                            serde_json::from_str(raw)
                                .map_err(|e| TestCaseError::fail(format!("{t:?}: {e}")))?
                        };
                        // Duplicate keys: serde_json keeps the last value.
                        if out
                            .iter()
                            .filter(|o| t[o.key.0..o.key.1] == t[mem.key.0..mem.key.1])
                            .count()
                            == 1
                        {
                            prop_assert_eq!(&got, want, "{:?}", t);
                        }
                    }
                    // The same, keys with escapes aside (those give up).
                    let mut slots = vec![None; 1];
                    let plain_keys = out.iter().all(|m| !m.key_esc);
                    prop_assert_eq!(
                        object_fields(t.as_bytes(), &mut slots, &mut |_| Pick::Ignore).is_ok(),
                        plain_keys
                    );
                } else {
                    let mut slots = vec![None; 1];
                    prop_assert!(
                        object_fields(t.as_bytes(), &mut slots, &mut |_| Pick::Ignore).is_err()
                    );
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(accepted.get() > 400, "{}", accepted.get());
    }

    #[test]
    fn control_bytes_are_found() {
        assert!(!has_control(b""));
        for n in [1, 63, 64, 255, 256, 257, 600] {
            let mut v = vec![b'a'; n];
            assert!(!has_control(&v));
            for at in [0, n / 2, n - 1] {
                v[at] = 0x1f;
                assert!(has_control(&v), "{n} {at}");
                v[at] = b'a';
            }
        }
    }
}
