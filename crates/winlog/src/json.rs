//! The three Windows JSON dialects: Winlogbeat / Elastic Agent ECS, the
//! Sentinel / Log Analytics `SecurityEvent` row (also NXLog-style flat rows
//! with `EventID` and `Channel` at the top level), and the `evtx` crate's
//! JSON (`evtx_dump -o jsonl`).

use crate::JsonShape;
use crate::raw::{Key, Raw};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A scalar as text: strings as they are, numbers and booleans printed.
fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// `v[a][b]…` for object keys.
fn path<'v>(v: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    keys.iter().try_fold(v, |v, k| v.as_object()?.get(*k))
}

fn path_text<'v>(v: &'v Value, keys: &[&str]) -> Option<Cow<'v, str>> {
    path(v, keys).and_then(text)
}

/// True for an event id given as a number or a string.
fn is_id(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Number(_) | Value::String(_)))
}

/// Recognises a Windows JSON record (see [`JsonShape`]).
pub(crate) fn shape(v: &Value) -> Option<JsonShape> {
    let top = v.as_object()?;
    if let Some(ev) = top.get("Event").and_then(Value::as_object)
        && ev.get("System").is_some_and(Value::is_object)
    {
        return Some(JsonShape::EvtxDump);
    }
    if let Some(w) = top.get("winlog").and_then(Value::as_object)
        && (is_id(w.get("event_id"))
            || matches!(path(v, &["event", "code"]), Some(Value::String(_))))
    {
        return Some(JsonShape::Ecs);
    }
    if is_id(top.get("EventID"))
        && ["Computer", "EventData", "Channel"]
            .iter()
            .any(|k| top.contains_key(*k))
    {
        return Some(JsonShape::SecurityEvent);
    }
    None
}

/// Extracts the fields of one record of the given shape.
pub(crate) fn extract(v: &Value, shape: JsonShape) -> Result<Raw<'_>, String> {
    let Some(top) = v.as_object() else {
        return Err("not a JSON object".into());
    };
    match shape {
        JsonShape::Ecs => Ok(ecs(v)),
        JsonShape::SecurityEvent => Ok(security_event(top)),
        JsonShape::EvtxDump => evtx_dump(v),
    }
}

/// Copies the known keys of an `EventData`-like object.
fn data_from_object<'v>(raw: &mut Raw<'v>, obj: &'v Map<String, Value>) {
    for key in Key::ALL {
        if let Some(t) = obj.get(key.name()).and_then(text) {
            raw.set(key, t);
        }
    }
}

fn ecs(v: &Value) -> Raw<'_> {
    let mut raw = Raw::default();
    if let Some(t) = path_text(v, &["@timestamp"]) {
        raw.set_time(t, "@timestamp");
    } else if let Some(t) = path_text(v, &["winlog", "time_created"]) {
        raw.set_time(t, "winlog.time_created");
    }
    raw.event_id =
        path_text(v, &["winlog", "event_id"]).or_else(|| path_text(v, &["event", "code"]));
    raw.record_id = path_text(v, &["winlog", "record_id"]);
    raw.computer =
        path_text(v, &["winlog", "computer_name"]).or_else(|| path_text(v, &["host", "name"]));
    if let Some(obj) = path(v, &["winlog", "event_data"]).and_then(Value::as_object) {
        data_from_object(&mut raw, obj);
    }
    // ECS fallbacks for what the event data lacks.
    if let Some(t) = path_text(v, &["user", "name"]) {
        raw.set(Key::TargetUserName, t);
    }
    if let Some(t) = path_text(v, &["user", "domain"]) {
        raw.set(Key::TargetDomainName, t);
    }
    if let Some(t) = path_text(v, &["source", "ip"]) {
        raw.set(Key::IpAddress, t);
    }
    raw
}

fn security_event(top: &Map<String, Value>) -> Raw<'_> {
    let mut raw = Raw::default();
    for (field, label) in [
        ("TimeGenerated", "TimeGenerated"),
        ("TimeCreated", "TimeCreated"),
        ("@timestamp", "@timestamp"),
    ] {
        if let Some(t) = top.get(field).and_then(text) {
            raw.set_time(t, label);
        }
    }
    raw.event_id = top.get("EventID").and_then(text);
    for f in ["EventRecordId", "EventRecordID", "RecordNumber"] {
        if let Some(t) = top.get(f).and_then(text) {
            Raw::set_opt(&mut raw.record_id, t);
        }
    }
    for f in ["Computer", "Hostname"] {
        if let Some(t) = top.get(f).and_then(text) {
            Raw::set_opt(&mut raw.computer, t);
        }
    }
    // Typed columns first: they win when non-empty.
    data_from_object(&mut raw, top);
    match top.get("EventData") {
        Some(Value::String(xml)) if !xml.trim().is_empty() => {
            // What precedes a defect (such as a value cut by a size limit)
            // is kept: the typed columns and the event itself are still good.
            let _ = crate::xml::parse_into(xml, &mut raw);
        }
        Some(Value::Object(obj)) => data_from_object(&mut raw, obj),
        _ => {}
    }
    raw
}

fn evtx_dump(v: &Value) -> Result<Raw<'_>, String> {
    let sys = path(v, &["Event", "System"]).ok_or("missing Event.System")?;
    let mut raw = Raw::default();
    let time = path(sys, &["TimeCreated", "#attributes", "SystemTime"])
        .or_else(|| path(sys, &["TimeCreated_attributes", "SystemTime"]))
        .or_else(|| path(sys, &["TimeCreated", "@SystemTime"]))
        .or_else(|| path(sys, &["TimeCreated", "SystemTime"]))
        .and_then(text);
    if let Some(t) = time {
        raw.set_time(t, "TimeCreated SystemTime");
    }
    raw.event_id = match sys.get("EventID") {
        Some(Value::Object(o)) => o.get("#text").and_then(text),
        Some(other) => text(other),
        None => None,
    };
    raw.record_id = sys.get("EventRecordID").and_then(text);
    raw.computer = sys.get("Computer").and_then(text);
    if let Some(data) = path(v, &["Event", "EventData"]).and_then(Value::as_object) {
        data_from_object(&mut raw, data);
        // Unflattened form: "Data": [{"#attributes": {"Name": …}, "#text": …}, …]
        if let Some(Value::Array(items)) = data.get("Data") {
            for item in items {
                let name = path(item, &["#attributes", "Name"])
                    .or_else(|| path(item, &["@Name"]))
                    .and_then(Value::as_str);
                if let (Some(key), Some(t)) = (
                    name.and_then(Key::from_name),
                    path(item, &["#text"]).and_then(text),
                ) {
                    raw.set(key, t);
                }
            }
        }
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert_eq!(
            shape(&json!({"winlog": {"event_id": 4625}})),
            Some(JsonShape::Ecs)
        );
        assert_eq!(
            shape(&json!({"winlog": {"event_id": "4625"}})),
            Some(JsonShape::Ecs)
        );
        assert_eq!(
            shape(&json!({"winlog": {}, "event": {"code": "4625"}})),
            Some(JsonShape::Ecs)
        );
        assert_eq!(
            shape(&json!({"EventID": 4625, "Computer": "DC"})),
            Some(JsonShape::SecurityEvent)
        );
        assert_eq!(
            shape(&json!({"EventID": 4625, "Channel": "Security"})),
            Some(JsonShape::SecurityEvent)
        );
        assert_eq!(
            shape(&json!({"Event": {"System": {}, "EventData": {}}})),
            Some(JsonShape::EvtxDump)
        );
        assert_eq!(shape(&json!({"EventID": 4625})), None);
        assert_eq!(shape(&json!({"properties": {"status": {}}})), None);
        assert_eq!(shape(&json!([1, 2])), None);
    }

    #[test]
    fn evtx_id_forms() {
        let v = json!({"Event": {"System": {"EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4625}}}});
        assert_eq!(
            evtx_dump(&v).expect("raw").event_id.as_deref(),
            Some("4625")
        );
        let v = json!({"Event": {"System": {"EventID": 4625, "TimeCreated_attributes": {"SystemTime": "2024-05-01T10:15:41Z"}}}});
        let raw = evtx_dump(&v).expect("raw");
        assert_eq!(raw.event_id.as_deref(), Some("4625"));
        assert!(raw.time.is_some());
    }

    #[test]
    fn security_event_typed_columns_win() {
        let v = json!({
            "EventID": 4768, "Computer": "DC01", "TimeGenerated": "2024-05-01T10:15:41Z",
            "TargetUserName": "typed", "IpAddress": "",
            "EventData": "<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><Data Name=\"TargetUserName\">fromxml</Data><Data Name=\"IpAddress\">::ffff:10.0.0.66</Data><Data Name=\"Status\">0x6</Data></EventData>"
        });
        let raw = extract(&v, JsonShape::SecurityEvent).expect("raw");
        assert_eq!(raw.get(Key::TargetUserName), Some("typed"));
        assert_eq!(raw.get(Key::IpAddress), Some("::ffff:10.0.0.66"));
        assert_eq!(raw.get(Key::Status), Some("0x6"));
    }
}
