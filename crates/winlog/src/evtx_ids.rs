//! A record's EventID and event time read from its BinXML template without
//! rendering it, for the EventID-first filter.
//!
//! Windows writes a record as one template instance: a reference to a
//! template definition stored once in the chunk, and the substitution
//! values. The `evtx` crate's lightweight scan
//! ([`EvtxRecord::template_instances`]) gives the values and the offset of
//! the definition; this module walks the definition (once per template and
//! chunk) to find which substitution fills `Event/System/EventID` and which
//! fills `Event/System/TimeCreated/@SystemTime`. Anything it does not fully
//! understand (another token layout, literal
//! values that are not text, a second template, values of other types)
//! gives `None`, and the record is rendered as usual; so does a record
//! in which a value those elements depend on is empty (the rendering
//! would leave them out).

use crate::raw::{Key, MAX_SECOND, MIN_SECOND, Raw};
use evtx::EvtxRecord;
use evtx::binxml::value_variant::BinXmlValue;
use idrecon_core::Timestamp;
use std::borrow::Cow;
use std::collections::HashMap;

/// Which substitutions hold the EventID and the `SystemTime` of a template,
/// and which ones the elements on their way depend on (an element with a
/// dependency is left out of the rendering when that value is empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slots {
    event_id: u16,
    time: u16,
    deps: [Option<u16>; 4],
}

/// What one chunk's reading has learnt: the templates walked so far, by
/// definition offset (`None`: not understood), the filter's answer by
/// EventID, and the buffers of the direct build.
#[derive(Debug, Clone, Default)]
pub(crate) struct Templates {
    /// Records' templates by definition offset.
    defs: HashMap<u32, Option<Plan>>,
    /// Templates nested in a record's values, by definition offset.
    inner_defs: HashMap<u32, Option<Plan>>,
    keep: HashMap<u16, bool>,
    /// A record's values: (type, start, end) in the chunk.
    items: Vec<(u8, usize, usize)>,
    /// The values of a template nested in one of them.
    inner: Vec<(u8, usize, usize)>,
    /// The texts of the record built last.
    text: String,
    /// Where its `EventData` values lie in `text`.
    ranges: Vec<(Key, (usize, usize))>,
}

impl Templates {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `keep(event_id)`, asked once per EventID.
    pub(crate) fn keep(&mut self, id: u16, keep: &dyn Fn(&str) -> bool) -> bool {
        *self.keep.entry(id).or_insert_with(|| keep(&id.to_string()))
    }

    fn slots(&mut self, chunk: &[u8], def: u32) -> Option<Slots> {
        self.defs
            .entry(def)
            .or_insert_with(|| walk(chunk, def, false))
            .as_ref()?
            .slots
    }
}

/// The EventID of `record` read straight from its substitution array (no
/// value parsed but this one), once its template is known: a hint only,
/// for records that are rendered anyway when it names an EventID a rule
/// reads. (It does not check the other values, so it never decides that a
/// record is skipped: [`event_id_and_time`] does.)
pub(crate) fn event_id_hint(record: &EvtxRecord<'_>, templates: &mut Templates) -> Option<u16> {
    let chunk = record.chunk.data;
    let mut c = Cur {
        b: chunk,
        at: usize::try_from(record.binxml_offset).ok()?,
    };
    let def = c.fragment_header()?;
    let slots = templates.slots(chunk, def)?;
    let count = usize::try_from(c.u32()?).ok()?;
    let want = usize::from(slots.event_id);
    if want >= count {
        return None;
    }
    let descriptors = c.at;
    let mut value = descriptors.checked_add(count.checked_mul(4)?)?;
    for k in 0..want {
        let d = chunk.get(descriptors + 4 * k..descriptors + 4 * k + 2)?;
        value += usize::from(u16::from_le_bytes([d[0], d[1]]));
    }
    let d = chunk.get(descriptors + 4 * want..descriptors + 4 * want + 4)?;
    // UInt16, two bytes.
    if u16::from_le_bytes([d[0], d[1]]) != 2 || d[2] != 0x06 {
        return None;
    }
    let v = chunk.get(value..value + 2)?;
    Some(u16::from_le_bytes([v[0], v[1]]))
}

/// The EventID and event time of `record`, as its rendering would give
/// them; `None` when that is not certain.
pub(crate) fn event_id_and_time(
    record: &EvtxRecord<'_>,
    templates: &mut Templates,
) -> Option<(u16, Timestamp)> {
    let instances = record.template_instances().ok()?;
    let [t] = instances.as_slice() else {
        return None;
    };
    let slots = templates.slots(record.chunk.data, t.template_def_offset)?;
    for d in slots.deps.iter().flatten() {
        if !present(t.values.get(usize::from(*d))?) {
            return None;
        }
    }
    let id = match t.values.get(usize::from(slots.event_id))? {
        BinXmlValue::UInt16Type(n) => *n,
        _ => return None,
    };
    let time = match t.values.get(usize::from(slots.time))? {
        BinXmlValue::FileTimeType(ft) => filetime(ft.0)?,
        _ => return None,
    };
    Some((id, time))
}

/// Whether a value on which an element depends keeps it in the rendering
/// (conservatively: scalars and non-empty text or bytes; arrays and the
/// like give up).
fn present(v: &BinXmlValue<'_>) -> bool {
    use BinXmlValue as V;
    match v {
        V::StringType(s) => !s.is_empty(),
        V::AnsiStringType(s) => !s.is_empty(),
        V::BinaryType(b) | V::BinXmlType(b) => !b.is_empty(),
        V::Int8Type(_)
        | V::UInt8Type(_)
        | V::Int16Type(_)
        | V::UInt16Type(_)
        | V::Int32Type(_)
        | V::UInt32Type(_)
        | V::Int64Type(_)
        | V::UInt64Type(_)
        | V::BoolType(_)
        | V::GuidType(_)
        | V::FileTimeType(_)
        | V::SysTimeType(_)
        | V::SidType(_)
        | V::HexInt32Type(_)
        | V::HexInt64Type(_) => true,
        _ => false,
    }
}

/// A FILETIME (100 ns ticks since 1601) as the instant its rendering
/// (`YYYY-MM-DDTHH:MM:SS.fffffffZ`) denotes.
fn filetime(ft: u64) -> Option<Timestamp> {
    const TICKS: u64 = 10_000_000;
    const TO_UNIX: i64 = 11_644_473_600;
    let secs = i64::try_from(ft / TICKS).ok()? - TO_UNIX;
    let nanos = i32::try_from((ft % TICKS) * 100).ok()?;
    Timestamp::new(secs, nanos).ok()
}

/// A little-endian reader over the chunk.
struct Cur<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cur<'_> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let s = self.b.get(self.at..self.at + 2)?;
        self.at += 2;
        Some(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        let s = self.b.get(self.at..self.at + 4)?;
        self.at += 4;
        Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        let to = self.at.checked_add(n)?;
        (to <= self.b.len()).then(|| self.at = to)
    }
    /// A BinXML fragment header and the start of its single template
    /// instance, up to its value count: the definition offset (a
    /// definition that follows in place is skipped).
    fn fragment_header(&mut self) -> Option<u32> {
        if self.u8()? != 0x0f {
            return None;
        }
        self.skip(3)?;
        if self.u8()? != 0x0c {
            return None;
        }
        self.skip(1 + 4)?;
        let def = self.u32()?;
        if usize::try_from(def).ok()? == self.at {
            // The definition in place: next, GUID, size, data.
            self.skip(4 + 16)?;
            let size = usize::try_from(self.u32()?).ok()?;
            self.skip(size)?;
        }
        Some(def)
    }

    /// A name reference: the offset of the name in the chunk, whose string
    /// may follow in place (then skipped).
    fn name_ref(&mut self) -> Option<u32> {
        let off = self.u32()?;
        if usize::try_from(off).ok()? == self.at {
            // Next-name link, hash, length, UTF-16 text, NUL.
            self.skip(6)?;
            let len = usize::from(self.u16()?);
            self.skip(len * 2 + 2)?;
        }
        Some(off)
    }
}

/// The name stored at `off` in the chunk.
fn name_at(chunk: &[u8], off: u32) -> Option<String> {
    let mut c = Cur {
        b: chunk,
        at: usize::try_from(off).ok()?,
    };
    c.skip(6)?;
    let len = usize::from(c.u16()?);
    let units: Vec<u16> = (0..len).map(|_| c.u16()).collect::<Option<_>>()?;
    String::from_utf16(&units).ok()
}

/// Where the rendering of a template takes a text from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Src {
    /// Substitution value by index.
    Sub(u16),
    /// Literal text of the definition.
    Text(String),
}

/// How a record's [`Raw`] fields are read from its substitution values
/// without rendering it: the sources of what [`crate::xml::scan_rendered`]
/// reads from the rendered XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Build {
    /// `None` in a nested template (the `EventData` of most records).
    event_id: Option<Src>,
    record_id: Option<Src>,
    computer: Option<Src>,
    /// Substitution holding `TimeCreated/@SystemTime` (`None` nested).
    time: Option<u16>,
    /// Substitutions in element content after the System section: a value
    /// of nested BinXML there (Windows puts `EventData` in one) renders in
    /// place, and its `Data` elements are read after `data`.
    nested: Vec<u16>,
    /// `<Data Name="…">` elements with a name idrecon reads, in document
    /// order (the first non-blank of duplicates wins, as in the scan).
    data: Vec<(Key, Src)>,
    /// Dependencies of every element above: an element whose dependency is
    /// empty is left out of the rendering, so the build gives up then.
    deps: Vec<u16>,
}

/// What one template definition says, once walked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    slots: Option<Slots>,
    build: Option<Build>,
}

/// A relevant element being walked.
#[derive(Debug)]
enum Target {
    EventId,
    RecordId,
    Computer,
    TimeCreated,
    Data,
}

/// A relevant element whose start tag or content is being walked.
#[derive(Debug)]
struct Open {
    target: Target,
    depth: usize,
    /// Attributes seen in its start tag.
    attributes: u32,
    /// The literal value of its `Name` attribute (`Data`).
    name: Option<String>,
    /// Its content tokens (texts and substitutions).
    content: Vec<Src>,
}

/// Walks the template definition at `def` (header, then BinXML tokens with
/// dependency ids) for the substitutions of `Event/System/EventID` and
/// `Event/System/TimeCreated/@SystemTime` (the EventID-first filter) and for
/// the sources of every field the scan of the rendering reads (the direct
/// build). Anything the walk does not understand gives up on the build, and
/// on the slots where the EventID or time could be affected.
fn walk(chunk: &[u8], def: u32, nested: bool) -> Option<Plan> {
    let mut c = Cur {
        b: chunk,
        at: usize::try_from(def).ok()?,
    };
    // Next template, GUID, data size.
    c.skip(4 + 16)?;
    let size = usize::try_from(c.u32()?).ok()?;
    let end = c.at.checked_add(size)?.min(chunk.len());
    // Open elements: (name, dependency).
    let mut path: Vec<(String, Option<u16>)> = Vec::new();
    // The dependencies of the elements that must be rendered.
    let mut deps: Vec<u16> = Vec::new();
    let mut in_start_tag = false;
    let mut attribute: Option<String> = None;
    let mut event_id = None;
    let mut time = None;
    // Content tokens seen inside the EventID element.
    let mut id_content = 0;
    // The direct build: whether it is still possible, and what it found.
    let mut direct = true;
    let mut system_done = nested;
    let mut b_nested: Vec<u16> = Vec::new();
    let mut open: Option<Open> = None;
    let mut b_event_id: Option<Option<Src>> = None;
    let mut b_record_id: Option<Option<Src>> = None;
    let mut b_computer: Option<Option<Src>> = None;
    let mut b_data: Vec<(Key, Src)> = Vec::new();
    let mut b_deps: Vec<u16> = Vec::new();
    let at = |path: &[(String, Option<u16>)], names: &[&str]| {
        path.len() == names.len() && path.iter().zip(names).all(|((n, _), want)| n == want)
    };
    let path_deps = |path: &[(String, Option<u16>)]| -> Vec<u16> {
        path.iter().filter_map(|(_, d)| *d).collect::<Vec<_>>()
    };
    while c.at < end {
        match c.u8()? {
            0x00 => break,
            0x0f => c.skip(3)?,
            t @ (0x01 | 0x41) => {
                let dependency = Some(c.u16()?).filter(|&d| d != 0xffff);
                c.skip(4)?;
                let name = name_at(chunk, c.name_ref()?)?;
                if t == 0x41 {
                    c.skip(4)?;
                }
                // The renderer writes names as they are: one that is no XML
                // name makes markup the scan may read otherwise.
                direct &= is_plain_name(&name);
                if at(&path, &["Event", "System", "EventID"]) {
                    id_content += 1;
                }
                if open.is_some() {
                    // An element inside one the scan reads as text.
                    direct = false;
                }
                if name == "System" && path.len() != 1 {
                    // The scan's System section ends at the first one.
                    direct = false;
                }
                path.push((name, dependency));
                let name = path.last().map(|(n, _)| n.as_str()).unwrap_or_default();
                let target = if !system_done {
                    let system_child = path.len() == 3 && at(&path[..2], &["Event", "System"]);
                    let target = match name {
                        "EventID" => Some(Target::EventId),
                        "EventRecordID" => Some(Target::RecordId),
                        "Computer" => Some(Target::Computer),
                        "TimeCreated" => Some(Target::TimeCreated),
                        _ => None,
                    };
                    let like = ["EventID", "EventRecordID", "Computer", "TimeCreated"]
                        .iter()
                        .any(|p| name.starts_with(p));
                    if like && (target.is_none() || !system_child) {
                        // The scan would read (or choke on) this one too.
                        direct = false;
                    }
                    target.filter(|_| system_child)
                } else {
                    (name == "Data").then_some(Target::Data)
                };
                if let Some(target) = target {
                    open = Some(Open {
                        target,
                        depth: path.len(),
                        attributes: 0,
                        name: None,
                        content: Vec::new(),
                    });
                }
                in_start_tag = true;
                attribute = None;
            }
            0x02 => {
                in_start_tag = false;
                attribute = None;
            }
            t @ (0x03 | 0x04) => {
                if t == 0x03 {
                    in_start_tag = false;
                    attribute = None;
                }
                if let Some(o) = open.take_if(|o| o.depth == path.len()) {
                    let src = match o.content.len() {
                        0 => None,
                        1 => o.content.into_iter().next(),
                        _ => {
                            direct = false;
                            None
                        }
                    };
                    let slot = match o.target {
                        Target::EventId => Some(&mut b_event_id),
                        Target::RecordId => Some(&mut b_record_id),
                        Target::Computer => Some(&mut b_computer),
                        Target::TimeCreated | Target::Data => None,
                    };
                    match (slot, &o.target) {
                        (Some(slot), _) if slot.is_some() => direct = false,
                        (Some(slot), _) => *slot = Some(src),
                        // `<Data>` without a name the scan reads is not read.
                        (None, Target::Data) => {
                            if let (Some(key), Some(src)) =
                                (o.name.as_deref().and_then(Key::from_name), src)
                            {
                                b_data.push((key, src));
                            }
                        }
                        (None, _) => {}
                    }
                    b_deps.extend(path_deps(&path));
                }
                let (name, _) = path.pop()?;
                if name == "System" && path.len() == 1 {
                    system_done = true;
                }
            }
            0x05 | 0x45 => {
                // Literal text only.
                if c.u8()? != 0x01 {
                    return None;
                }
                let len = usize::from(c.u16()?);
                let text = text_at(chunk, c.at, len);
                c.skip(len * 2)?;
                if !in_start_tag && at(&path, &["Event", "System", "EventID"]) {
                    id_content += 1;
                }
                match (open.as_mut(), text) {
                    (Some(o), Some(text)) if o.depth == path.len() => {
                        if in_start_tag {
                            if attribute.as_deref() == Some("Name") && o.name.is_none() {
                                o.name = Some(text);
                            } else if matches!(o.target, Target::Data) {
                                direct = false;
                            }
                        } else {
                            o.content.push(Src::Text(text));
                        }
                    }
                    (Some(o), None) if o.depth == path.len() => direct = false,
                    _ => {}
                }
            }
            0x06 | 0x46 => {
                if !in_start_tag {
                    return None;
                }
                let name = name_at(chunk, c.name_ref()?)?;
                direct &= is_plain_name(&name);
                if let Some(o) = open.as_mut().filter(|o| o.depth == path.len()) {
                    o.attributes += 1;
                    let understood = match o.target {
                        // The scan reads `<Data Name="…">` and nothing else.
                        Target::Data => o.attributes == 1 && name == "Name",
                        Target::TimeCreated => name == "SystemTime",
                        _ => true,
                    };
                    direct &= understood;
                }
                attribute = Some(name);
            }
            t @ (0x0d | 0x0e) => {
                let index = c.u16()?;
                let _value_type = c.u8()?;
                let _optional = t == 0x0e;
                if in_start_tag {
                    if attribute.as_deref() == Some("SystemTime")
                        && at(&path, &["Event", "System", "TimeCreated"])
                    {
                        if time.is_some() {
                            return None;
                        }
                        time = Some(index);
                        deps.extend(path_deps(&path));
                    } else if open
                        .as_ref()
                        .is_some_and(|o| o.depth == path.len() && matches!(o.target, Target::Data))
                    {
                        // A `Name` given by a substitution.
                        direct = false;
                    }
                } else {
                    if at(&path, &["Event", "System", "EventID"]) {
                        if event_id.is_some() {
                            return None;
                        }
                        event_id = Some(index);
                        id_content += 1;
                        deps.extend(path_deps(&path));
                    }
                    if let Some(o) = open.as_mut().filter(|o| o.depth == path.len()) {
                        o.content.push(Src::Sub(index));
                    } else if open.is_none() && system_done {
                        b_nested.push(index);
                        b_deps.extend(path_deps(&path));
                    }
                }
            }
            t @ (0x07 | 0x47 | 0x08 | 0x48 | 0x09 | 0x49 | 0x0a | 0x0b) => {
                // CDATA, character and entity references, processing
                // instructions: rendered as markup the build does not
                // reproduce.
                direct = false;
                if !in_start_tag && at(&path, &["Event", "System", "EventID"]) {
                    id_content += 1;
                }
                match t {
                    0x07 | 0x47 | 0x0b => {
                        let len = usize::from(c.u16()?);
                        c.skip(len * 2)?;
                    }
                    0x08 | 0x48 => c.skip(2)?,
                    _ => {
                        c.name_ref()?;
                    }
                }
            }
            _ => return None,
        }
    }
    if !path.is_empty() {
        return None;
    }
    // `Data` after a nested fragment would be read after the fragment's.
    let interleaved = !b_nested.is_empty() && !b_data.is_empty();
    let build = match (direct && system_done && !interleaved, time, b_event_id) {
        (true, None, None) if nested => Some((None, None)),
        (true, Some(time), Some(Some(event_id))) if !nested => Some((Some(time), Some(event_id))),
        _ => None,
    };
    let build = match build {
        Some((time, event_id)) => {
            b_deps.extend(&deps);
            b_deps.sort_unstable();
            b_deps.dedup();
            Some(Build {
                event_id,
                record_id: b_record_id.flatten(),
                computer: b_computer.flatten(),
                time,
                nested: b_nested,
                data: b_data,
                deps: b_deps,
            })
        }
        None => None,
    };
    let slots = match (event_id, time) {
        (Some(event_id), Some(time)) if id_content == 1 => {
            deps.sort_unstable();
            deps.dedup();
            let mut kept = [None; 4];
            for (slot, d) in kept.iter_mut().zip(&deps) {
                *slot = Some(*d);
            }
            (deps.len() <= kept.len()).then_some(Slots {
                event_id,
                time,
                deps: kept,
            })
        }
        _ => None,
    };
    Some(Plan { slots, build })
}

/// Whether `name` is a plain XML name (ASCII letters, digits, `_`, `-`,
/// `.`, `:`; not starting with a digit, `-` or `.`), the only names the
/// direct build accepts.
fn is_plain_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

/// `len` UTF-16 units of literal text at `at`, when they are text the
/// rendering writes as is (escaping aside): no NUL or control character,
/// no unpaired surrogate.
fn text_at(chunk: &[u8], at: usize, len: usize) -> Option<String> {
    let bytes = chunk.get(at..at.checked_add(len.checked_mul(2)?)?)?;
    let mut out = String::with_capacity(len);
    push_utf16(&mut out, bytes).then_some(out)
}

/// Appends UTF-16LE `bytes` to `out` as the renderer writes them (up to the
/// first NUL); `false` for text the build does not reproduce (control
/// characters, U+FFFE and U+FFFF, unpaired surrogates).
fn push_utf16(out: &mut String, bytes: &[u8]) -> bool {
    let units = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .take_while(|&u| u != 0);
    for ch in char::decode_utf16(units) {
        match ch {
            // The renderer writes `_` for U+FFFE and U+FFFF (no XML
            // characters), and for lone surrogates.
            Ok(ch) if !ch.is_control() && !matches!(ch, '\u{fffe}' | '\u{ffff}') => out.push(ch),
            _ => return false,
        }
    }
    true
}

/// A record's substitution values as they lie in the chunk: (type, bytes).
struct Values<'a> {
    items: &'a [(u8, usize, usize)],
    chunk: &'a [u8],
}

impl Values<'_> {
    fn get(&self, k: u16) -> Option<(u8, &[u8])> {
        let &(t, from, to) = self.items.get(usize::from(k))?;
        Some((t, self.chunk.get(from..to)?))
    }
}

/// Reads the BinXML fragment at `start..end` of the chunk — its header and
/// a single template instance — into the definition offset and the value
/// offsets (`items`). `None` for any other layout, or values that do not
/// end where the fragment does (its end-of-fragment token).
fn instance(
    chunk: &[u8],
    start: usize,
    end: usize,
    items: &mut Vec<(u8, usize, usize)>,
) -> Option<u32> {
    let mut c = Cur {
        b: chunk,
        at: start,
    };
    let def = c.fragment_header()?;
    let count = usize::try_from(c.u32()?).ok()?;
    let descriptors = c.at;
    let mut value = descriptors.checked_add(count.checked_mul(4)?)?;
    items.clear();
    for k in 0..count {
        let d = chunk.get(descriptors + 4 * k..descriptors + 4 * k + 4)?;
        let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
        // The crate reads a value by its type and moves on to where its
        // size says it ends, unless it read past that: then the values
        // after it are read from elsewhere than their sizes say.
        if consumed(d[2], size, chunk.get(value + 1).copied())? > size {
            return None;
        }
        items.push((d[2], value, value + size));
        value += size;
    }
    (value < end && chunk.get(value) == Some(&0x00)).then_some(def)
}

/// How many bytes the `evtx` crate reads for a value of type `t` and
/// descriptor size `size` (`second`: the value's second byte, a SID's
/// sub-authority count); `None` for types the build does not account for.
fn consumed(t: u8, size: usize, second: Option<u8>) -> Option<usize> {
    Some(match t {
        0x00 => 0,
        0x01 | 0x02 | 0x0e | 0x10 | 0x21 | 0x82..=0x95 => size,
        0x03 | 0x04 => 1,
        0x05 | 0x06 => 2,
        0x07 | 0x08 | 0x0b | 0x0d | 0x14 => 4,
        0x09 | 0x0a | 0x0c | 0x11 | 0x15 => 8,
        0x0f | 0x12 => 16,
        0x13 => 8 + 4 * usize::from(second?),
        _ => return None,
    })
}

/// Appends the text the renderer writes for value `(t, bytes)`; `false`
/// for a type the build does not reproduce.
fn push_value(out: &mut String, t: u8, b: &[u8]) -> bool {
    use std::fmt::Write;
    fn le<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
        b.try_into().ok()
    }
    let written = match t {
        0x00 => Some(Ok(())),
        0x01 => return push_utf16(out, b),
        0x03 => le::<1>(b).map(|v| write!(out, "{}", i8::from_le_bytes(v))),
        0x04 => le::<1>(b).map(|v| write!(out, "{}", v[0])),
        0x05 => le::<2>(b).map(|v| write!(out, "{}", i16::from_le_bytes(v))),
        0x06 => le::<2>(b).map(|v| write!(out, "{}", u16::from_le_bytes(v))),
        0x07 => le::<4>(b).map(|v| write!(out, "{}", i32::from_le_bytes(v))),
        0x08 => le::<4>(b).map(|v| write!(out, "{}", u32::from_le_bytes(v))),
        0x09 => le::<8>(b).map(|v| write!(out, "{}", i64::from_le_bytes(v))),
        0x0a => le::<8>(b).map(|v| write!(out, "{}", u64::from_le_bytes(v))),
        0x14 => le::<4>(b).map(|v| write!(out, "0x{:x}", u32::from_le_bytes(v))),
        0x15 => le::<8>(b).map(|v| write!(out, "0x{:x}", u64::from_le_bytes(v))),
        _ => None,
    };
    matches!(written, Some(Ok(())))
}

/// Whether the value `(t, bytes)` keeps an element that depends on it in
/// the rendering (conservatively: scalars, non-empty text and nested
/// BinXML).
fn value_present(t: u8, b: &[u8]) -> bool {
    match t {
        0x01 => b.chunks_exact(2).next().is_some_and(|u| u != [0, 0]),
        0x21 => !b.is_empty(),
        0x03..=0x0a | 0x0d | 0x0f | 0x11..=0x15 => true,
        _ => false,
    }
}

/// The plan of the template at `def`, walked once per chunk.
fn plan<'p>(
    defs: &'p mut HashMap<u32, Option<Plan>>,
    chunk: &[u8],
    def: u32,
    nested: bool,
) -> Option<&'p Build> {
    defs.entry(def)
        .or_insert_with(|| walk(chunk, def, nested))
        .as_ref()?
        .build
        .as_ref()
}

/// Appends the text of `src` to `text`; its range there.
fn push_src(text: &mut String, values: &Values<'_>, src: &Src) -> Option<(usize, usize)> {
    let from = text.len();
    let ok = match src {
        Src::Text(t) => {
            text.push_str(t);
            true
        }
        Src::Sub(k) => {
            let (t, b) = values.get(*k)?;
            push_value(text, t, b)
        }
    };
    ok.then_some((from, text.len()))
}

/// Appends the texts of `build`'s `Data` elements to `text` and their
/// ranges to `ranges`, once its dependencies hold.
fn push_data(
    text: &mut String,
    ranges: &mut Vec<(Key, (usize, usize))>,
    values: &Values<'_>,
    build: &Build,
) -> Option<()> {
    for d in &build.deps {
        let (t, b) = values.get(*d)?;
        if !value_present(t, b) {
            return None;
        }
    }
    for (key, src) in &build.data {
        let r = push_src(text, values, src)?;
        ranges.push((*key, r));
    }
    Some(())
}

/// A record's fields read from its substitution values, as the scan of its
/// rendering would give them (see [`Build`]); `None` when that is not
/// certain, and the record is rendered. The texts live in `templates`'
/// buffer until the next record.
pub(crate) fn direct_raw<'t>(
    record: &EvtxRecord<'_>,
    templates: &'t mut Templates,
) -> Option<Raw<'t>> {
    let Templates {
        defs,
        inner_defs,
        items,
        inner,
        text,
        ranges,
        ..
    } = templates;
    let chunk = record.chunk.data;
    let start = usize::try_from(record.binxml_offset).ok()?;
    let end = start.checked_add(usize::try_from(record.binxml_size).ok()?)?;
    let def = instance(chunk, start, end, items)?;
    let build = plan(defs, chunk, def, false)?;
    let values = Values { items, chunk };
    // Nested BinXML renders as markup: only where the plan expects it.
    for (k, (t, _, _)) in values.items.iter().enumerate() {
        if matches!(t, 0x21 | 0x23) && !build.nested.iter().any(|&n| usize::from(n) == k) {
            return None;
        }
    }
    let time = match build.time.and_then(|k| values.get(k))? {
        (0x11, b) => filetime(u64::from_le_bytes(b.try_into().ok()?))?,
        _ => return None,
    };
    // Out of range: rendered, so that the reject is the usual one.
    if !(MIN_SECOND..MAX_SECOND).contains(&time.as_second()) {
        return None;
    }
    text.clear();
    ranges.clear();
    let event_id = push_src(text, &values, build.event_id.as_ref()?)?;
    let record_id = match &build.record_id {
        Some(s) => Some(push_src(text, &values, s)?),
        None => None,
    };
    let computer = match &build.computer {
        Some(s) => Some(push_src(text, &values, s)?),
        None => None,
    };
    push_data(text, ranges, &values, build)?;
    for &k in &build.nested {
        let (t, from, to) = *values.items.get(usize::from(k))?;
        match t {
            0x00 => continue,
            0x21 => {}
            _ => return None,
        }
        let def = instance(chunk, from, to, inner)?;
        let nested = plan(inner_defs, chunk, def, true)?;
        // One level: BinXML nested in the fragment renders as markup.
        if inner.iter().any(|(t, _, _)| matches!(t, 0x21 | 0x23)) {
            return None;
        }
        let inner_values = Values {
            items: inner,
            chunk,
        };
        push_data(text, ranges, &inner_values, nested)?;
    }
    let text: &'t str = text;
    let slice = |(from, to): (usize, usize)| -> Option<Cow<'t, str>> {
        (from < to).then(|| Cow::Borrowed(&text[from..to]))
    };
    let mut raw = Raw::default();
    raw.event_id = slice(event_id);
    raw.record_id = record_id.and_then(slice);
    raw.computer = computer.and_then(slice);
    raw.instant = Some(time);
    for (key, r) in ranges.iter() {
        if let Some(v) = slice(*r) {
            raw.set(*key, v);
        }
    }
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(units: &[u16]) -> Vec<u8> {
        units.iter().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// Text is taken only where the renderer writes it unchanged (escaping
    /// aside): it writes `_` for U+FFFE, U+FFFF and lone surrogates, and
    /// control characters otherwise than as they are.
    #[test]
    fn utf16_text_is_taken_only_where_the_renderer_writes_it_as_is() {
        let take = |units: &[u16]| {
            let mut s = String::new();
            push_utf16(&mut s, &utf16(units)).then_some(s)
        };
        let abc: Vec<u16> = "jdoe&<é😀".encode_utf16().collect();
        assert_eq!(take(&abc).as_deref(), Some("jdoe&<é😀"));
        // Up to the first NUL, as the crate reads it.
        assert_eq!(take(&[0x61, 0, 0x62]).as_deref(), Some("a"));
        assert_eq!(take(&[]).as_deref(), Some(""));
        for bad in [0xffff, 0xfffe, 0xd800, 0xdc00, 0x09, 0x0a, 0x1f, 0x85] {
            assert_eq!(take(&[0x61, bad]), None, "{bad:#x}");
        }
    }

    #[test]
    fn values_are_written_as_the_renderer_writes_them() {
        let text = |t: u8, b: &[u8]| {
            let mut s = String::new();
            push_value(&mut s, t, b).then_some(s)
        };
        assert_eq!(text(0x06, &4625u16.to_le_bytes()).as_deref(), Some("4625"));
        assert_eq!(text(0x08, &3u32.to_le_bytes()).as_deref(), Some("3"));
        assert_eq!(
            text(0x14, &0xc000_006du32.to_le_bytes()).as_deref(),
            Some("0xc000006d")
        );
        assert_eq!(text(0x14, &0u32.to_le_bytes()).as_deref(), Some("0x0"));
        assert_eq!(text(0x07, &(-5i32).to_le_bytes()).as_deref(), Some("-5"));
        assert_eq!(text(0x00, &[]).as_deref(), Some(""));
        // A size that is not the type's: not reproduced.
        assert_eq!(text(0x08, &[1, 0]), None);
        // SIDs, GUIDs, binary: not reproduced (no field read is one).
        assert_eq!(text(0x13, &[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]), None);
        assert_eq!(text(0x0f, &[0; 16]), None);
    }

    #[test]
    fn plain_names() {
        for ok in ["Data", "EventID", "xmlns:xsi", "_a.b-c"] {
            assert!(is_plain_name(ok), "{ok}");
        }
        for bad in ["", "1a", "-a", "a b", "a\"", "Dätä", "a>"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
