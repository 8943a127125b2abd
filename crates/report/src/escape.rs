//! Escaping attacker-controlled strings for each destination.

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Makes a string safe to print on a terminal: C0/C1 control characters
/// (including ESC, so no ANSI sequence survives), DEL and Unicode bidi
/// overrides become visible `\u{…}` escapes.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || is_bidi(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Neutralises spreadsheet formula injection: a cell starting with `=`,
/// `+`, `-`, `@`, tab or carriage return is prefixed with `'` (OWASP CSV
/// injection guidance). Control characters other than tab/CR/LF are escaped
/// as for terminals.
pub fn csv_cell(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\r' | '\n') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    match cleaned.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cleaned}"),
        _ => cleaned,
    }
}

/// Makes control characters (ANSI escapes, bell, CR/LF …) and bidi
/// overrides visible as `\u{…}` text, like [`terminal`]; used for text that
/// an HTML template escapes afterwards, so a hostile name shows exactly what
/// it contains.
pub fn visible(s: &str) -> String {
    terminal(s)
}

/// Escapes a string for HTML text **and** quoted or unquoted attribute
/// values (also inside inline SVG): `&`, `<`, `>`, `"`, `'`, `` ` ``, `=`
/// become character references, and control characters and bidi overrides
/// become visible `\u{…}` text first. The result never contains markup.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in visible(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            '=' => out.push_str("&#61;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn terminal_strips_escapes() {
        assert_eq!(terminal("a\x1b[31mred\x1b[0m"), "a\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(terminal("bell\x07\r\n"), "bell\\u{7}\\u{d}\\u{a}");
        assert_eq!(terminal("rtl\u{202e}gpj.exe"), "rtl\\u{202e}gpj.exe");
        assert_eq!(terminal("jdoe@contoso.com"), "jdoe@contoso.com");
    }

    #[test]
    fn csv_neutralises_formulas() {
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        for p in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(p).starts_with('\''), "{p:?}");
        }
        assert_eq!(csv_cell("alice@contoso.com"), "alice@contoso.com");
        assert_eq!(csv_cell("a\x1bb"), "a\u{fffd}b");
    }

    #[test]
    fn html_escapes_markup_and_controls() {
        assert_eq!(
            html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            html("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src&#61;x onerror&#61;alert(1)&gt;"
        );
        assert_eq!(html("a'b`c&d"), "a&#39;b&#96;c&amp;d");
        assert_eq!(html("\x1b[31mred"), "\\u{1b}[31mred");
        assert_eq!(html("=cmd|' /C calc'!A0"), "&#61;cmd|&#39; /C calc&#39;!A0");
        assert_eq!(html("jdoe@contoso.com"), "jdoe@contoso.com");
    }

    proptest! {
        #[test]
        fn html_output_has_no_markup(s in ".*") {
            let h = html(&s);
            prop_assert!(!h.chars().any(|c| matches!(c, '<' | '>' | '"' | '\'' | '`' | '=') || c.is_control()));
        }


        #[test]
        fn terminal_output_has_no_controls(s in ".*") {
            prop_assert!(!terminal(&s).chars().any(char::is_control));
        }

        #[test]
        fn csv_cells_never_start_a_formula(s in ".*") {
            let c = csv_cell(&s);
            prop_assert!(!matches!(c.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')));
        }
    }
}
