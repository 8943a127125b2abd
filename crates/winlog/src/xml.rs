//! Windows event XML: one `<Event>` element (as `wevtutil qe /f:xml`, Event
//! Viewer "Save as XML" and the EVTX renderer write it) or a bare
//! `<EventData>` fragment (Sentinel `SecurityEvent.EventData`).

use crate::raw::{Key, Raw, clip};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event as X};
use std::borrow::Cow;

/// Where captured text goes.
#[derive(Clone, Copy)]
enum Target {
    EventId,
    RecordId,
    Computer,
    Data(Key),
}

/// Parses the first element of `xml` (and everything inside it) into `raw`:
/// `System/EventID`, `System/TimeCreated/@SystemTime`,
/// `System/EventRecordID`, `System/Computer`, and every
/// `<Data Name="…">` outside `System`. Element names match without their
/// namespace prefix. Stops at the end of that first element, so whatever
/// follows it (`</Events>`, the next event) is not read.
pub(crate) fn parse_into<'a>(xml: &'a str, raw: &mut Raw<'a>) -> Result<(), String> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut system_depth: Option<usize> = None;
    // (target, depth of the element whose text is captured, text so far)
    let mut capture: Option<(Target, usize, Option<Cow<'a, str>>)> = None;
    loop {
        let ev = reader.read_event().map_err(|e| {
            format!(
                "malformed event XML at byte {}: {}",
                reader.error_position(),
                short(e)
            )
        })?;
        match ev {
            X::Start(e) => {
                depth += 1;
                open(&e, depth, &mut system_depth, raw, &mut capture)?;
            }
            X::Empty(e) => {
                open(&e, depth + 1, &mut system_depth, raw, &mut capture)?;
                // An empty element has no text: `<Data Name="x"/>` stays absent.
                if capture.as_ref().is_some_and(|c| c.1 == depth + 1) {
                    capture = None;
                }
                if system_depth == Some(depth + 1) {
                    system_depth = None;
                }
                if depth == 0 {
                    return Ok(());
                }
            }
            X::End(_) => {
                if let Some((target, d, text)) = capture.take() {
                    if d == depth {
                        if let Some(text) = text {
                            store(raw, target, text);
                        }
                    } else {
                        capture = Some((target, d, text));
                    }
                }
                if system_depth == Some(depth) {
                    system_depth = None;
                }
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok(());
                }
            }
            X::Text(t) => {
                if let Some((_, d, text)) = &mut capture
                    && *d == depth
                {
                    let s = t
                        .decode()
                        .map_err(|e| format!("malformed event XML text: {}", short(e)))?;
                    append(text, s);
                }
            }
            X::CData(t) => {
                if let Some((_, d, text)) = &mut capture
                    && *d == depth
                {
                    let s = t
                        .decode()
                        .map_err(|e| format!("malformed event XML CDATA: {}", short(e)))?;
                    append(text, s);
                }
            }
            X::GeneralRef(r) => {
                if let Some((_, d, text)) = &mut capture
                    && *d == depth
                {
                    append(text, Cow::Owned(resolve_ref(&r)));
                }
            }
            X::Eof => {
                return Err(if depth == 0 {
                    "no XML element found".into()
                } else {
                    "event XML ends before its closing tag (input cut?)".into()
                });
            }
            _ => {}
        }
    }
}

/// A parser error for a reject reason, cut at 200 characters: the parser
/// quotes names and entities, which hostile input can make megabytes long.
fn short(e: impl std::fmt::Display) -> String {
    let s = e.to_string();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Handles an opening (or empty) element at `depth` (1 = the root).
fn open<'a>(
    e: &BytesStart<'_>,
    depth: usize,
    system_depth: &mut Option<usize>,
    raw: &mut Raw<'a>,
    capture: &mut Option<(Target, usize, Option<Cow<'a, str>>)>,
) -> Result<(), String> {
    let name = e.local_name();
    let name = name.as_ref();
    if capture.is_some() {
        // Markup inside a captured value: keep capturing text at the
        // captured depth only.
        return Ok(());
    }
    if depth == 2 && name == b"System" {
        *system_depth = Some(depth);
        return Ok(());
    }
    if let Some(sd) = *system_depth {
        if depth != sd + 1 {
            return Ok(());
        }
        match name {
            b"EventID" => *capture = Some((Target::EventId, depth, None)),
            b"EventRecordID" => *capture = Some((Target::RecordId, depth, None)),
            b"Computer" => *capture = Some((Target::Computer, depth, None)),
            b"TimeCreated" => {
                if let Some(t) = attr(e, b"SystemTime")? {
                    raw.set_time(Cow::Owned(t.into_owned()), "TimeCreated SystemTime");
                }
            }
            _ => {}
        }
        return Ok(());
    }
    if name == b"Data"
        && let Some(n) = attr(e, b"Name")?
        && let Some(key) = Key::from_name(&n)
    {
        *capture = Some((Target::Data(key), depth, None));
    }
    Ok(())
}

/// An attribute's unescaped value (matched without namespace prefix);
/// borrowed unless it holds entities.
fn attr<'e>(e: &'e BytesStart<'_>, want: &[u8]) -> Result<Option<Cow<'e, str>>, String> {
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|err| format!("malformed event XML attribute: {}", short(err)))?;
        if a.key.local_name().as_ref() == want {
            let v = a
                .unescape_value()
                .map_err(|err| format!("malformed event XML attribute value: {}", short(err)))?;
            return Ok(Some(v));
        }
    }
    Ok(None)
}

fn append<'a>(text: &mut Option<Cow<'a, str>>, more: Cow<'a, str>) {
    match text {
        None => *text = Some(more),
        Some(t) => t.to_mut().push_str(&more),
    }
}

/// `&amp;` and the other predefined entities, character references; an
/// unknown entity is kept as written.
fn resolve_ref(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    let name = String::from_utf8_lossy(r);
    match resolve_predefined_entity(&name) {
        Some(s) => s.to_string(),
        None => format!("&{name};"),
    }
}

fn store<'a>(raw: &mut Raw<'a>, target: Target, text: Cow<'a, str>) {
    match target {
        Target::EventId => Raw::set_opt(&mut raw.event_id, text),
        Target::RecordId => Raw::set_opt(&mut raw.record_id, text),
        Target::Computer => Raw::set_opt(&mut raw.computer, text),
        Target::Data(k) => raw.set(k, text),
    }
}

/// Parses one complete `<Event>` element.
pub(crate) fn parse_event(xml: &str) -> Result<Raw<'_>, String> {
    let mut raw = Raw::default();
    parse_into(xml, &mut raw)?;
    Ok(raw)
}

/// Parses one record as the `evtx` crate renders it, with a plain string
/// scan where the text is as regular as that renderer writes it (four to
/// five times cheaper than a full XML parse); anything unusual (CDATA,
/// comments, markup inside a value, a malformed entity) goes through
/// [`parse_event`] instead, so the result is always the same.
pub(crate) fn parse_rendered(xml: &str) -> Result<Raw<'_>, String> {
    match scan_rendered(xml) {
        Some(raw) => Ok(raw),
        None => parse_event(xml),
    }
}

pub(crate) fn scan_rendered(xml: &str) -> Option<Raw<'_>> {
    let b = xml.as_bytes();
    let mut raw = Raw::default();
    let mut in_system = true;
    let mut i = 0;
    // One pass over the tags; each `<` is looked at once.
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let at = i + off;
        i = at + 1;
        let rest = &xml[at..];
        match b.get(at + 1) {
            // CDATA or a comment.
            Some(b'!') => return None,
            Some(b'/') if in_system && rest.starts_with("</System>") => in_system = false,
            Some(b'E') if in_system && rest.starts_with("<EventID") => {
                let (text, end) = element_text(xml, at, "<EventID")?;
                raw.event_id = text;
                i = end;
            }
            Some(b'E') if in_system && rest.starts_with("<EventRecordID") => {
                let (text, end) = element_text(xml, at, "<EventRecordID")?;
                raw.record_id = text;
                i = end;
            }
            Some(b'C') if in_system && rest.starts_with("<Computer") => {
                let (text, end) = element_text(xml, at, "<Computer")?;
                raw.computer = text;
                i = end;
            }
            Some(b'T') if in_system && rest.starts_with("<TimeCreated ") => {
                let tag = &rest[..rest.find('>')?];
                match tag.find("SystemTime=\"") {
                    Some(v) => {
                        let v = &tag[v + 12..];
                        raw.set_time(unescape(&v[..v.find('"')?])?, "TimeCreated SystemTime");
                    }
                    // Written some other way (quotes, spacing).
                    None if tag.contains("SystemTime") => return None,
                    None => {}
                }
            }
            // Other attributes or quoting than the renderer's.
            Some(b'D')
                if !in_system
                    && rest.starts_with("<Data ")
                    && !rest.starts_with("<Data Name=\"") =>
            {
                return None;
            }
            Some(b'D') if !in_system && rest.starts_with("<Data Name=\"") => {
                let name_at = at + 12;
                let name_len = xml[name_at..].find('"')?;
                let name = &xml[name_at..name_at + name_len];
                let after = name_at + name_len + 1;
                if xml[after..].starts_with("/>") {
                    continue;
                }
                if !xml[after..].starts_with('>') {
                    return None;
                }
                let value_at = after + 1;
                let value_len = xml[value_at..].find('<')?;
                let value = &xml[value_at..value_at + value_len];
                if !xml[value_at + value_len..].starts_with("</Data>") {
                    return None;
                }
                if let Some(key) = Key::from_name(name)
                    && !value.is_empty()
                {
                    raw.set(key, unescape(value)?);
                }
                i = value_at + value_len + 7;
            }
            _ => {}
        }
    }
    // A record always has a System section.
    if in_system {
        return None;
    }
    Some(raw)
}

/// The text of the `tag` element starting at `at` (`<EventID>4625</EventID>`,
/// with or without attributes) and where that text ends: `None` text when it
/// is empty or the element self-closed, `None` overall when the content is
/// not plain text.
fn element_text<'a>(xml: &'a str, at: usize, tag: &str) -> Option<(Option<Cow<'a, str>>, usize)> {
    let open_at = at + tag.len();
    if !xml[open_at..].starts_with(['>', ' ', '/']) {
        return None;
    }
    let open_len = xml[open_at..].find('>')?;
    let text_at = open_at + open_len + 1;
    if xml[open_at..open_at + open_len].ends_with('/') {
        return Some((None, text_at));
    }
    let text_len = xml[text_at..].find('<')?;
    if !xml[text_at + text_len..].starts_with("</") {
        return None;
    }
    let text = &xml[text_at..text_at + text_len];
    let text = if text.is_empty() {
        None
    } else {
        Some(unescape(text)?)
    };
    Some((text, text_at + text_len))
}

fn unescape(s: &str) -> Option<Cow<'_, str>> {
    if s.contains('&') {
        quick_xml::escape::unescape(s).ok()
    } else {
        Some(Cow::Borrowed(s))
    }
}

/// Byte offsets where `<Event>` elements start in a document: `<Event`
/// followed by whitespace, `>` or `/` (so not `<Events>`, `<EventData>`,
/// `<EventID>`, `<EventRecordID>`).
pub(crate) fn event_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    text.match_indices("<Event")
        .map(|(i, _)| i)
        .filter(|&i| {
            matches!(
                bytes.get(i + 6),
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
            )
        })
        .collect()
}

/// A short description of where an unreadable document starts.
pub(crate) fn describe_start(text: &str) -> String {
    clip(text.trim_start_matches('\u{feff}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_4771_from_telemetry() {
        let xml = r#"<Event><System><EventID>4771</EventID><Channel>Security</Channel><Computer>DC01.contoso.local</Computer>
<TimeCreated SystemTime="2024-05-01T10:15:41.495Z"/></System>
<EventData><Data Name="TargetUserName">jdoe</Data><Data Name="TargetSid">S-1-5-21-…-1104</Data>
<Data Name="ServiceName">krbtgt/CONTOSO.LOCAL</Data><Data Name="TicketOptions">0x40810010</Data>
<Data Name="Status">0x18</Data><Data Name="PreAuthType">2</Data>
<Data Name="IpAddress">::ffff:10.0.0.66</Data><Data Name="IpPort">50522</Data></EventData></Event>"#;
        let raw = parse_event(xml).expect("parses");
        assert_eq!(raw.event_id.as_deref(), Some("4771"));
        assert_eq!(raw.computer.as_deref(), Some("DC01.contoso.local"));
        assert_eq!(raw.get(Key::Status), Some("0x18"));
        assert_eq!(raw.get(Key::ServiceName), Some("krbtgt/CONTOSO.LOCAL"));
        assert_eq!(
            raw.time.as_ref().map(|t| t.0.as_ref()),
            Some("2024-05-01T10:15:41.495Z")
        );
    }

    #[test]
    fn namespaces_entities_quotes_and_empty_data() {
        let xml = "<ev:Event xmlns:ev='x'><ev:System><ev:EventID Qualifiers=''>4625</ev:EventID>\
            <ev:TimeCreated SystemTime='2024-05-01T10:15:41Z'></ev:TimeCreated></ev:System>\
            <ev:EventData><ev:Data Name='TargetUserName'>a&amp;b&#x41;<![CDATA[<c>]]></ev:Data>\
            <ev:Data Name='WorkstationName'/><ev:Data Name=\"IpAddress\">-</ev:Data></ev:EventData></ev:Event><Event>";
        let raw = parse_event(xml).expect("parses");
        assert_eq!(raw.get(Key::TargetUserName), Some("a&bA<c>"));
        assert_eq!(raw.get(Key::WorkstationName), None);
        assert_eq!(raw.get(Key::IpAddress), Some("-"));
        assert_eq!(raw.event_id.as_deref(), Some("4625"));
    }

    #[test]
    fn data_outside_system_only() {
        // A Data element inside System is not event data.
        let xml =
            "<Event><System><Data Name='Status'>0x1</Data><EventID>1</EventID></System></Event>";
        let raw = parse_event(xml).expect("parses");
        assert_eq!(raw.get(Key::Status), None);
    }

    #[test]
    fn errors_are_reported() {
        assert!(parse_event("<Event><System><EventID>1</EventID>").is_err());
        assert!(parse_event("<Event><System></Sys></Event>").is_err());
        assert!(parse_event("").is_err());
        // Names and entities quoted by the parser are cut.
        let long = "A".repeat(1 << 20);
        for xml in [
            format!("<Event><System><{long}></B></System></Event>"),
            format!("<Event><System><TimeCreated SystemTime=\"&{long};\"/></System></Event>"),
        ] {
            let err = parse_event(&xml).expect_err("malformed");
            assert!(err.len() < 400, "{} bytes: {}", err.len(), &err[..100]);
        }
    }

    #[test]
    fn fast_scan_matches_the_parser() {
        let cases = [
            // As the evtx crate renders records.
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Event xmlns=\"x\"><System><Provider Name=\"P\"/><EventID Qualifiers=\"16384\">4625</EventID><TimeCreated SystemTime=\"2024-05-01T10:15:41.4148271Z\"/><EventRecordID>12</EventRecordID><Computer>DC01</Computer><Security/></System><EventData><Data Name=\"TargetUserName\">a&amp;b</Data><Data Name=\"IpAddress\"></Data><Data Name=\"Status\">0x18</Data><Data Name=\"Other\">x</Data><Data Name=\"SubStatus\"/></EventData></Event>",
            "<Event><System><EventID>1102</EventID><Computer/></System><UserData><LogFileCleared><SubjectUserName>a</SubjectUserName></LogFileCleared></UserData></Event>",
            // Unusual: falls back to the parser.
            "<Event><System><EventID>4625</EventID></System><EventData><Data Name=\"TargetUserName\"><![CDATA[x]]></Data></EventData></Event>",
            "<Event><System><EventID>4625</EventID></System><EventData><Data Name=\"TargetUserName\">a<b/>c</Data></EventData></Event>",
            "<Event><System><EventID>4625</EventID></System><EventData><Data Name=\"TargetUserName\">&bogus;</Data></EventData></Event>",
            "<Event><System><EventID>4625</EventID></System><EventData><Data Name='TargetUserName'>x</Data></EventData></Event>",
            "<Event><System><EventID>4625</EventID><TimeCreated SystemTime='2024-05-01T10:15:41Z'/></System></Event>",
        ];
        for (i, xml) in cases.iter().enumerate() {
            assert_eq!(parse_rendered(xml), parse_event(xml), "case {i}");
        }
        assert!(scan_rendered(cases[0]).is_some() && scan_rendered(cases[1]).is_some());
        assert!(cases[2..].iter().all(|c| scan_rendered(c).is_none()));
    }

    #[test]
    fn finds_event_starts() {
        let t = "<Events><Event xmlns='x'><EventData/></Event>\n<Event>x</Event><Event/></Events>";
        assert_eq!(event_starts(t).len(), 3);
    }
}
