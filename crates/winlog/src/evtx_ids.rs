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

use evtx::EvtxRecord;
use evtx::binxml::value_variant::BinXmlValue;
use idrecon_core::Timestamp;
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
/// definition offset (`None`: not understood), and the filter's answer by
/// EventID.
#[derive(Debug, Clone, Default)]
pub(crate) struct Templates {
    defs: HashMap<u32, Option<Slots>>,
    keep: HashMap<u16, bool>,
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
        *self.defs.entry(def).or_insert_with(|| walk(chunk, def))
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
    // Fragment header, then one template instance.
    if c.u8()? != 0x0f {
        return None;
    }
    c.skip(3)?;
    if c.u8()? != 0x0c {
        return None;
    }
    c.skip(1 + 4)?;
    let def = c.u32()?;
    if usize::try_from(def).ok()? == c.at {
        // The definition follows in place: next, GUID, size, data.
        c.skip(4 + 16)?;
        let size = usize::try_from(c.u32()?).ok()?;
        c.skip(size)?;
    }
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

/// Walks the template definition at `def` (header, then BinXML tokens with
/// dependency ids) for the substitutions of `Event/System/EventID` and
/// `Event/System/TimeCreated/@SystemTime`.
fn walk(chunk: &[u8], def: u32) -> Option<Slots> {
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
    let at = |path: &[(String, Option<u16>)], names: &[&str]| {
        path.len() == names.len() && path.iter().zip(names).all(|((n, _), want)| n == want)
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
                if at(&path, &["Event", "System", "EventID"]) {
                    id_content += 1;
                }
                path.push((name, dependency));
                in_start_tag = true;
                attribute = None;
            }
            0x02 => {
                in_start_tag = false;
                attribute = None;
            }
            0x03 => {
                path.pop()?;
                in_start_tag = false;
                attribute = None;
            }
            0x04 => {
                path.pop()?;
            }
            0x05 | 0x45 => {
                // Literal text only.
                if c.u8()? != 0x01 {
                    return None;
                }
                let len = usize::from(c.u16()?);
                c.skip(len * 2)?;
                if !in_start_tag && at(&path, &["Event", "System", "EventID"]) {
                    id_content += 1;
                }
            }
            0x06 | 0x46 => {
                if !in_start_tag {
                    return None;
                }
                attribute = Some(name_at(chunk, c.name_ref()?)?);
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
                        deps.extend(path.iter().filter_map(|(_, d)| *d));
                    }
                } else if at(&path, &["Event", "System", "EventID"]) {
                    if event_id.is_some() {
                        return None;
                    }
                    event_id = Some(index);
                    id_content += 1;
                    deps.extend(path.iter().filter_map(|(_, d)| *d));
                }
            }
            0x07 | 0x47 => {
                let len = usize::from(c.u16()?);
                c.skip(len * 2)?;
            }
            0x08 | 0x48 => c.skip(2)?,
            0x09 | 0x49 | 0x0a => {
                c.name_ref()?;
            }
            0x0b => {
                let len = usize::from(c.u16()?);
                c.skip(len * 2)?;
            }
            _ => return None,
        }
    }
    let (event_id, time) = (event_id?, time?);
    if id_content != 1 || !path.is_empty() {
        return None;
    }
    deps.sort_unstable();
    deps.dedup();
    let mut kept = [None; 4];
    for (slot, d) in kept.iter_mut().zip(&deps) {
        *slot = Some(*d);
    }
    if deps.len() > kept.len() {
        return None;
    }
    Some(Slots {
        event_id,
        time,
        deps: kept,
    })
}
