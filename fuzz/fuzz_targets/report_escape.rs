//! The report escaping functions on any text: terminal (and `visible`)
//! output keeps no control character or bidi override, a CSV cell never
//! starts a formula and keeps no control character but tab / CR / LF, HTML
//! output holds no markup character and decodes back to the visible text,
//! and text that needs no escaping is unchanged.
#![no_main]

use idrecon_report::escape::{csv_cell, html, terminal, visible};
use libfuzzer_sys::fuzz_target;

fn bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let t = terminal(&s);
    assert!(!t.chars().any(|c| c.is_control() || bidi(c)), "{t:?}");
    if !s.chars().any(|c| c.is_control() || bidi(c)) {
        assert_eq!(t, s);
    }
    assert_eq!(visible(&s), t);
    let h = html(&s);
    assert!(!h.contains(['<', '>', '"', '\'', '`', '=']), "{h:?}");
    let decoded = h
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#96;", "`")
        .replace("&#61;", "=")
        .replace("&amp;", "&");
    assert_eq!(decoded, t, "{h:?}");
    assert!(
        h.match_indices('&').all(|(i, _)| {
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#96;", "&#61;"]
                .iter()
                .any(|e| h[i..].starts_with(e))
        }),
        "{h:?}"
    );
    let c = csv_cell(&s);
    assert!(
        !matches!(c.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')),
        "{c:?}"
    );
    assert!(
        !c.chars()
            .any(|ch| ch.is_control() && !matches!(ch, '\t' | '\r' | '\n')),
        "{c:?}"
    );
});
