//! `idrecon_export::escape` for every query language on any text: the
//! literal decodes back to the value with that language's documented rules
//! (decoders written here, independently of the exporter), it is one
//! literal (no unescaped quote inside), and languages whose grammar forbids
//! raw line breaks in literals get none.
#![no_main]

use idrecon_export::{Target, escape};
use libfuzzer_sys::fuzz_target;

/// Decodes a `q…q` literal with backslash escapes. `escapes` lists the
/// letters allowed after a backslash (besides `\\` and the quote);
/// `unicode` allows `\uXXXX`.
fn backslash(lit: &str, q: char, escapes: &str, unicode: bool) -> Result<String, String> {
    let inner = lit
        .strip_prefix(q)
        .and_then(|r| r.strip_suffix(q))
        .ok_or("not quoted")?;
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next().ok_or("dangling backslash")? {
                '\\' => out.push('\\'),
                c if c == q => out.push(q),
                'n' if escapes.contains('n') => out.push('\n'),
                'r' if escapes.contains('r') => out.push('\r'),
                't' if escapes.contains('t') => out.push('\t'),
                'u' if unicode => {
                    let hex: String = it.by_ref().take(4).collect();
                    let n = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\u")?;
                    out.push(char::from_u32(n).ok_or("bad \\u value")?);
                }
                other => return Err(format!("unexpected escape \\{other}")),
            },
            c if c == q => return Err("unescaped quote inside".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// SQL style: `'…'` with `''` for a quote.
fn sql(lit: &str) -> Result<String, String> {
    let inner = lit
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .ok_or("not quoted")?;
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c == '\'' && it.next() != Some('\'') {
            return Err("lone quote inside".into());
        }
        out.push(c);
    }
    Ok(out)
}

/// Sigma: a plain value where `\*`, `\?` and `\\` are literal characters.
fn sigma_unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(c @ ('*' | '?' | '\\')) => out.push(c),
                other => return Err(format!("unexpected sigma escape {other:?}")),
            },
            '*' | '?' => return Err("unescaped wildcard".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    for target in Target::ALL {
        let lit = escape(target, &value);
        let decoded = match target {
            Target::Kql => backslash(&lit, '"', "nrt", true),
            Target::Esql | Target::Yaral | Target::Logscale => backslash(&lit, '"', "nrt", false),
            Target::Spl | Target::Sumo => backslash(&lit, '"', "", false),
            Target::Aql => sql(&lit),
            Target::Sigma => backslash(&lit, '"', "nrt", true).and_then(|s| sigma_unescape(&s)),
        };
        match decoded {
            Ok(d) => assert_eq!(d, value, "{target}: {lit:?}"),
            Err(e) => panic!("{target}: {e}: {lit:?}"),
        }
        if matches!(
            target,
            Target::Kql | Target::Esql | Target::Yaral | Target::Logscale | Target::Sigma
        ) {
            assert!(
                !lit.contains(['\n', '\r']),
                "{target}: raw line break: {lit:?}"
            );
        }
        if target == Target::Kql {
            assert!(!lit.chars().any(char::is_control), "kql: {lit:?}");
        }
    }
});
