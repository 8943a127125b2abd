//! String literals per language. Every value that reaches a query (rule
//! parameters, `--set` overrides, constants) is written through these
//! functions; the tests parse the output back with a small literal parser
//! per language, written from each language's documented rules.

use crate::Target;
use std::fmt::Write;

/// The value as a complete string literal (quotes included) in `target`'s
/// language.
///
/// | target | form | escapes |
/// |---|---|---|
/// | kql | `"…"` | `\\` `\"` `\n` `\r` `\t`, other control characters `\uXXXX` |
/// | spl | `"…"` | `\\` `\"` (other characters verbatim) |
/// | esql | `"…"` | `\\` `\"` `\n` `\r` `\t` (the grammar forbids raw CR/LF) |
/// | aql | `'…'` | `''` (SQL style); control characters verbatim |
/// | sumo | `"…"` | `\\` `\"` |
/// | yaral | `"…"` | `\\` `\"` `\n` `\r` `\t` |
/// | logscale | `"…"` | `\\` `\"` `\n` `\r` `\t` |
/// | sigma | YAML `"…"` | Sigma wildcard escaping (`\*` `\?` `\\`) inside YAML double-quoted escaping |
pub fn escape(target: Target, value: &str) -> String {
    match target {
        Target::Kql => c_like(value, true),
        Target::Esql | Target::Yaral | Target::Logscale => c_like(value, false),
        Target::Spl | Target::Sumo => minimal(value),
        Target::Aql => {
            let mut s = String::with_capacity(value.len() + 2);
            s.push('\'');
            s.push_str(&value.replace('\'', "''"));
            s.push('\'');
            s
        }
        Target::Sigma => yaml_double(&sigma_plain(value)),
    }
}

/// `"…"` with `\\ \" \n \r \t`; with `unicode`, other control characters as
/// `\uXXXX` (otherwise verbatim).
fn c_like(value: &str, unicode: bool) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if unicode && c.is_control() && (c as u32) <= 0xFFFF => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// `"…"` escaping only `\` and `"`.
fn minimal(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        if c == '\\' || c == '"' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// A Sigma plain value: `*` and `?` are wildcards in Sigma, so literal ones
/// (and backslashes) are escaped with a backslash.
pub(crate) fn sigma_plain(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '*' | '?' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// A YAML double-quoted scalar.
pub(crate) fn yaml_double(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' || c == '\u{feff}' => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// A regular expression matching `value` literally, written with ASCII
/// letters and digits and `\xHH` / `\x{H…}` escapes only, so that it can sit
/// inside any quoted literal without further escaping of quotes, pipes,
/// backticks or newlines (used for SPL `match()` and LogScale regexes).
pub(crate) fn regex_hex(value: &str) -> String {
    let mut s = String::with_capacity(value.len() * 2);
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(s, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(s, "\\x{{{:x}}}", c as u32);
        }
    }
    s
}

/// Sanitizes free text for a one-line comment: control characters become
/// spaces and the given closing markers are removed.
pub(crate) fn comment_text(text: &str, forbidden: &[&str]) -> String {
    let mut s: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // Removing one marker can create another ("/*```//" → "/*//"): repeat
    // until none is left.
    while let Some(f) = forbidden.iter().find(|f| !f.is_empty() && s.contains(**f)) {
        s = s.replace(f, "");
    }
    s
}

#[cfg(test)]
pub(crate) mod parse {
    //! Literal parsers written from each language's documented rules. Each
    //! returns the decoded value and the number of bytes the literal used,
    //! or an error when the text is not one well-formed literal.

    /// `"…"` with backslash escapes; `allowed` lists the escape letters,
    /// `raw_newline` whether an unescaped CR/LF may appear.
    pub fn c_like(s: &str, allowed: &str, raw_newline: bool) -> Result<(String, usize), String> {
        let mut it = s.char_indices();
        if it.next().map(|x| x.1) != Some('"') {
            return Err("no opening quote".into());
        }
        let mut out = String::new();
        while let Some((i, c)) = it.next() {
            match c {
                '"' => return Ok((out, i + 1)),
                '\\' => {
                    let (_, e) = it.next().ok_or("dangling backslash")?;
                    if !allowed.contains(e) {
                        return Err(format!("escape \\{e} not allowed"));
                    }
                    match e {
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hex: String =
                                (0..4).filter_map(|_| it.next().map(|x| x.1)).collect();
                            let n = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                            out.push(char::from_u32(n).ok_or("bad \\u")?);
                        }
                        other => out.push(other),
                    }
                }
                '\n' | '\r' if !raw_newline => return Err("raw newline in literal".into()),
                c => out.push(c),
            }
        }
        Err("unterminated literal".into())
    }

    /// SQL-style `'…'` with `''` for a quote.
    pub fn sql(s: &str) -> Result<(String, usize), String> {
        let b: Vec<(usize, char)> = s.char_indices().collect();
        if b.first().map(|x| x.1) != Some('\'') {
            return Err("no opening quote".into());
        }
        let mut out = String::new();
        let mut i = 1;
        while i < b.len() {
            let c = b[i].1;
            if c == '\'' {
                if b.get(i + 1).map(|x| x.1) == Some('\'') {
                    out.push('\'');
                    i += 2;
                    continue;
                }
                return Ok((out, b[i].0 + 1));
            }
            out.push(c);
            i += 1;
        }
        Err("unterminated".into())
    }

    /// Sigma value unescaping (after YAML): `\*`, `\?`, `\\` are literal;
    /// an unescaped `*` or `?` would be a wildcard, which is an error here.
    pub fn sigma_plain(s: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            match c {
                '\\' => out.push(it.next().ok_or("dangling backslash")?),
                '*' | '?' => return Err("unescaped wildcard".into()),
                c => out.push(c),
            }
        }
        Ok(out)
    }

    /// Decodes a `regex_hex` pattern (letters, digits, `\xHH`, `\x{H…}`).
    pub fn regex_hex(s: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
                continue;
            }
            if c != '\\' || it.next() != Some('x') {
                return Err(format!("unexpected {c:?}"));
            }
            let hex: String = if it.peek() == Some(&'{') {
                it.next();
                let h: String = it.by_ref().take_while(|c| *c != '}').collect();
                h
            } else {
                (0..2).filter_map(|_| it.next()).collect()
            };
            let n = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
            out.push(char::from_u32(n).ok_or("bad code point")?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hostile() -> impl Strategy<Value = String> {
        let atoms = prop_oneof![
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("\\".to_string()),
            Just("|".to_string()),
            Just("`".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\t".to_string()),
            Just("//".to_string()),
            Just("/*".to_string()),
            Just("*/".to_string()),
            Just("```".to_string()),
            Just("--".to_string()),
            Just("#".to_string()),
            Just("*".to_string()),
            Just("?".to_string()),
            Just("$x".to_string()),
            Just("%".to_string()),
            Just("\u{0}".to_string()),
            Just("\u{1b}".to_string()),
            Just("é漢".to_string()),
            Just("\u{2028}".to_string()),
            "[a-z0-9 @._-]{0,6}",
        ];
        prop::collection::vec(atoms, 0..12).prop_map(|v| v.concat())
    }

    fn whole(target: Target, lit: &str, parsed: Result<(String, usize), String>) -> String {
        let (v, used) = parsed.unwrap_or_else(|e| panic!("{target}: {lit:?}: {e}"));
        assert_eq!(used, lit.len(), "{target}: literal {lit:?} ends early");
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn literals_round_trip(v in hostile()) {
            for t in Target::ALL {
                let lit = escape(t, &v);
                let back = match t {
                    Target::Kql => whole(t, &lit, parse::c_like(&lit, "\\\"nrtu", true)),
                    Target::Esql => whole(t, &lit, parse::c_like(&lit, "\\\"nrt", false)),
                    Target::Yaral | Target::Logscale => whole(t, &lit, parse::c_like(&lit, "\\\"nrt", false)),
                    Target::Spl | Target::Sumo => whole(t, &lit, parse::c_like(&lit, "\\\"", true)),
                    Target::Aql => whole(t, &lit, parse::sql(&lit)),
                    Target::Sigma => {
                        let y: String = serde_saphyr::from_str(&lit).unwrap_or_else(|e| panic!("yaml {lit:?}: {e}"));
                        parse::sigma_plain(&y).unwrap_or_else(|e| panic!("sigma {y:?}: {e}"))
                    }
                };
                prop_assert_eq!(&back, &v, "{} literal {:?}", t, lit);
            }
        }

        #[test]
        fn regex_hex_round_trips_and_is_inert(v in hostile()) {
            let r = regex_hex(&v);
            prop_assert!(r.chars().all(|c| c.is_ascii_alphanumeric() || "\\{}".contains(c)), "{r:?}");
            prop_assert_eq!(parse::regex_hex(&r).expect("decodes"), v);
        }

        #[test]
        fn comments_cannot_be_closed(v in hostile()) {
            let c = comment_text(&v, &["*/", "```"]);
            prop_assert!(!c.contains("*/") && !c.contains("```") && !c.contains('\n') && !c.contains('\r'));
        }
    }

    #[test]
    fn examples() {
        assert_eq!(escape(Target::Kql, "a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(escape(Target::Aql, "O'Brien"), "'O''Brien'");
        assert_eq!(escape(Target::Sigma, "a*b"), r#""a\\*b""#);
        assert_eq!(regex_hex("a.b|"), r"a\x2eb\x7c");
    }
}
