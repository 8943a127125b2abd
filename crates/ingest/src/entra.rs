//! Record dialects and their normalization into events.
//!
//! Dialects, tried in this order for a JSON object:
//! 1. Windows JSON (ECS, Sentinel SecurityEvent, evtx_dump), recognised and
//!    normalized by `idrecon_winlog`;
//! 2. Azure Monitor diagnostic records: `properties` object plus `time`,
//!    `category` or `operationName` at the top;
//! 3. Log Analytics rows (PascalCase columns such as `TimeGenerated`);
//! 4. Microsoft Graph `signIn` / `directoryAudit` objects (camelCase).
//!
//! Field names are looked up exactly first and then case-insensitively, so
//! `IPAddress` (Log Analytics), `ipAddress` (Graph) and PowerShell's
//! `IpAddress` all work; JSON-typed columns (`Status`, `InitiatedBy`,
//! `TargetResources`) are accepted as objects or as JSON text.

use idrecon_core::event::table;
use idrecon_core::text::normalize_ip;
use idrecon_core::{Event, EventKind, Origin, Timestamp, parse_timestamp};
use idrecon_winlog::JsonShape;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The dialect a record was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Log Analytics / Sentinel row (PascalCase), also PowerShell Graph SDK
    /// output.
    LogAnalytics,
    /// Microsoft Graph object (camelCase); also the portal JSON download.
    Graph,
    /// Azure Monitor diagnostic-settings record (`properties`).
    AzureMonitor,
    /// Row of an Entra portal CSV download.
    PortalCsv,
    /// Row of a Log Analytics CSV export.
    LogAnalyticsCsv,
    /// A Windows JSON record, normalized by `idrecon_winlog`.
    Windows(JsonShape),
}

/// What an Entra record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// A sign-in of the given canonical table.
    SignIn(&'static str),
    /// A directory audit record.
    Audit,
}

/// Earliest and latest accepted event times (1990-01-01, 2100-01-01): a
/// timestamp outside is a default or corrupt value (`0001-01-01`, FILETIME
/// zero `1601-01-01`), not an event time.
pub(crate) const MIN_SECOND: i64 = 631_152_000;
pub(crate) const MAX_SECOND: i64 = 4_102_444_800;

/// Keys by which a Log Analytics row (PascalCase) is recognised.
const LA_MARKERS: &[&str] = &[
    "TimeGenerated",
    "CreatedDateTime",
    "ActivityDateTime",
    "ResultType",
    "UserPrincipalName",
    "ActivityDisplayName",
    "IPAddress",
    "AppDisplayName",
];

/// Keys by which a Graph object (camelCase) is recognised.
const GRAPH_MARKERS: &[&str] = &[
    "createdDateTime",
    "activityDateTime",
    "userPrincipalName",
    "activityDisplayName",
    "ipAddress",
    "appDisplayName",
];

/// Keys by which a flat record is recognised as a sign-in when its `Type`
/// column names no Entra table.
const SIGNIN_MARKERS: &[&str] = &[
    "userPrincipalName",
    "appDisplayName",
    "clientAppUsed",
    "authenticationRequirement",
    "isInteractive",
    "signInEventTypes",
    "servicePrincipalId",
];

/// Keys whose presence makes a flat record an audit record.
const AUDIT_MARKERS: &[&str] = &[
    "activityDisplayName",
    "activityDateTime",
    "loggedByService",
    "initiatedBy",
    "targetResources",
];

/// Normalizes one JSON record of any known dialect.
pub(crate) fn normalize_json(
    v: &Value,
    origin: Origin,
    hint: Option<&'static str>,
) -> Result<(Event, Dialect, Option<Family>), String> {
    let Value::Object(m) = v else {
        return Err(format!("expected a JSON object, found {}", type_name(v)));
    };
    if let Some(shape) = idrecon_winlog::json_shape(v) {
        let ev = idrecon_winlog::normalize_json(v, shape, origin)?;
        return Ok((ev, Dialect::Windows(shape), None));
    }
    let am_top =
        m.contains_key("time") || m.contains_key("category") || m.contains_key("operationName");
    // Some pipelines forward `properties` as JSON text.
    let parsed_props;
    let props = match m.get("properties") {
        Some(Value::Object(p)) => Some(p),
        Some(Value::String(t)) if am_top && t.trim_start().starts_with('{') => {
            match serde_json::from_str::<Value>(t) {
                Ok(Value::Object(p)) => {
                    parsed_props = p;
                    Some(&parsed_props)
                }
                _ => return Err("field `properties` is text that is not a JSON object".to_string()),
            }
        }
        _ => None,
    };
    if let Some(props) = props
        && am_top
    {
        let src = Src {
            top: m,
            props: Some(props),
        };
        let family = match category_family(m)? {
            Some(f) => f,
            None => flat_family(src, hint)?,
        };
        let ev = build(src, family, origin)?;
        return Ok((ev, Dialect::AzureMonitor, Some(family)));
    }
    let dialect = if LA_MARKERS.iter().any(|k| m.contains_key(*k)) {
        Dialect::LogAnalytics
    } else if GRAPH_MARKERS.iter().any(|k| m.contains_key(*k)) {
        Dialect::Graph
    } else {
        return Err(unknown_record(m));
    };
    let (ev, family) = normalize_flat(m, origin, hint)?;
    Ok((ev, dialect, Some(family)))
}

/// Normalizes a flat (Log Analytics / Graph / CSV) record.
pub(crate) fn normalize_flat(
    m: &Map<String, Value>,
    origin: Origin,
    hint: Option<&'static str>,
) -> Result<(Event, Family), String> {
    let src = Src {
        top: m,
        props: None,
    };
    let family = match la_type_family(m) {
        Ok(Some(f)) => f,
        Ok(None) => flat_family(src, hint)?,
        // Queries that flatten TargetResources can overwrite `Type` (seen in
        // public samples: `Type` = "Application"); trust the content then.
        Err(reason) => {
            let entra = |keys: &[&str]| keys.iter().any(|k| src.get(k).is_some());
            if entra(AUDIT_MARKERS) || entra(SIGNIN_MARKERS) {
                flat_family(src, hint)?
            } else {
                return Err(reason);
            }
        }
    };
    Ok((build(src, family, origin)?, family))
}

fn unknown_record(m: &Map<String, Value>) -> String {
    const SHOW: usize = 8;
    // An envelope where a record was expected: a JSON array of envelopes
    // (e.g. several exported blobs joined with `jq -s`) or an envelope
    // inside an envelope. Say how to read it.
    if let Some(key) = m
        .iter()
        .find_map(|(k, v)| (v.is_array() && crate::json::envelope_key(k).is_some()).then_some(k))
    {
        return format!(
            "a `{}` envelope where a record was expected (an array of envelopes, or an envelope inside one): envelopes are read at the top of a file or of an NDJSON line; write one per line (`jq -c '.[]' FILE > FILE.ndjson`) and read that",
            clip(key, 40)
        );
    }
    // Keys are clipped: a hostile record must not make a huge reason.
    let mut keys: Vec<Cow<'_, str>> = m.keys().take(SHOW).map(|k| clip(k, 40)).collect();
    if m.len() > SHOW {
        keys.push(Cow::Borrowed("…"));
    }
    let keys = if m.is_empty() {
        "none".to_string()
    } else {
        keys.join(", ")
    };
    format!(
        "not a recognised record (keys: {keys}; {} in all); expected a Log Analytics row, a Graph signIn or directoryAudit object, an Azure Monitor diagnostic record or a Windows event",
        m.len()
    )
}

/// A record's field sources: Azure Monitor records keep most fields under
/// `properties` and a few at the top; flat records have only `top`.
#[derive(Clone, Copy)]
struct Src<'a> {
    top: &'a Map<String, Value>,
    props: Option<&'a Map<String, Value>>,
}

/// A field found in a record: its key as written and its value.
type Found<'a> = Option<(&'a str, &'a Value)>;

impl<'a> Src<'a> {
    /// `properties` first, then the top level.
    fn get(&self, key: &str) -> Found<'a> {
        self.props
            .and_then(|p| get_ci(p, key))
            .or_else(|| get_ci(self.top, key))
    }

    /// The top level first, then `properties`.
    fn get_top_first(&self, key: &str) -> Found<'a> {
        get_ci(self.top, key).or_else(|| self.props.and_then(|p| get_ci(p, key)))
    }

    fn top(&self, key: &str) -> Found<'a> {
        get_ci(self.top, key)
    }
}

/// Looks a key up exactly, then ASCII-case-insensitively; JSON `null`
/// counts as absent.
fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Found<'a> {
    if let Some((k, v)) = m.get_key_value(key)
        && !v.is_null()
    {
        return Some((k.as_str(), v));
    }
    m.iter()
        .find(|(k, v)| !v.is_null() && k.len() == key.len() && k.eq_ignore_ascii_case(key))
        .map(|(k, v)| (k.as_str(), v))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(key: &str, expected: &str, v: &Value) -> String {
    format!(
        "field `{key}` has the wrong type: expected {expected}, found {}",
        type_name(v)
    )
}

/// A text field, exactly as written.
fn text(f: Found<'_>) -> Result<Option<String>, String> {
    match f {
        None => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s.clone())),
        Some((k, v)) => Err(wrong_type(k, "text", v)),
    }
}

/// A code field (error code, ASN) as decimal text: text as written, or an
/// integer number.
fn code(f: Found<'_>) -> Result<Option<String>, String> {
    match f {
        None => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s.clone())),
        Some((k, Value::Number(n))) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i.to_string()))
            } else if let Some(u) = n.as_u64() {
                Ok(Some(u.to_string()))
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(format!("{f:.0}"))),
                    _ => Err(format!("field `{k}` is not an integer code: {n}")),
                }
            }
        }
        Some((k, v)) => Err(wrong_type(k, "text or a number", v)),
    }
}

/// A field that is an object or array, or the same as JSON text (Log
/// Analytics `dynamic` columns exported as strings). Empty text is absent.
fn json_field<'a>(f: Found<'a>) -> Result<Option<(&'a str, Cow<'a, Value>)>, String> {
    match f {
        None => Ok(None),
        Some((k, Value::String(s))) => {
            if s.trim().is_empty() {
                return Ok(None);
            }
            match serde_json::from_str::<Value>(s) {
                Ok(Value::Null) => Ok(None),
                Ok(v) => Ok(Some((k, Cow::Owned(v)))),
                Err(e) => Err(format!(
                    "field `{k}` is text that is not valid JSON: {}",
                    crate::ctx::json_error(&e)
                )),
            }
        }
        Some((k, v)) => Ok(Some((k, Cow::Borrowed(v)))),
    }
}

/// An object-typed field (object or JSON text).
fn object_field<'a>(f: Found<'a>) -> Result<Option<(&'a str, Cow<'a, Value>)>, String> {
    match json_field(f)? {
        Some((k, v)) if !v.is_object() => Err(wrong_type(k, "an object", &v)),
        other => Ok(other),
    }
}

/// `a` unless it is absent or empty and `b` has a value.
fn prefer_nonempty(a: Option<String>, b: Option<String>) -> Option<String> {
    match a {
        Some(s) if !s.is_empty() => Some(s),
        _ if b.is_some() => b,
        _ => a,
    }
}

/// The first candidate that is a usable address, normalized.
fn first_ip(cands: &[Option<String>]) -> Option<String> {
    cands
        .iter()
        .flatten()
        .filter_map(|s| normalize_ip(s))
        .find(|s| !s.eq_ignore_ascii_case("<null>"))
}

/// The event time: `TimeGenerated` > `createdDateTime` > `time` >
/// `activityDateTime`.
fn event_time(src: Src<'_>) -> Result<Timestamp, String> {
    let cands = [
        src.top("TimeGenerated"),
        src.get("createdDateTime"),
        src.top("time"),
        src.get("activityDateTime"),
    ];
    for (k, v) in cands.into_iter().flatten() {
        let raw: Cow<'_, str> = match v {
            Value::String(s) if s.trim().is_empty() => continue,
            Value::String(s) => clean_time(s),
            Value::Number(n) => Cow::Owned(n.to_string()),
            other => return Err(wrong_type(k, "a timestamp", other)),
        };
        let Some(ts) = parse_timestamp(&raw) else {
            return Err(format!(
                "unparsable timestamp in `{k}`: {:?}",
                clip(&raw, 64)
            ));
        };
        let s = ts.as_second();
        if !(MIN_SECOND..MAX_SECOND).contains(&s) {
            return Err(format!(
                "timestamp out of range in `{k}`: {:?} (accepted: 1990 to 2099)",
                clip(&raw, 64)
            ));
        }
        return Ok(ts);
    }
    Err("missing timestamp: none of TimeGenerated, createdDateTime, time or activityDateTime is present".to_string())
}

/// Rewrites two export quirks into forms `parse_timestamp` reads: Windows
/// PowerShell 5's `/Date(1714558541000)/` (epoch milliseconds, optional
/// offset suffix) and a comma after the date (`5/1/2024, 10:15:41 AM`).
fn clean_time(s: &str) -> Cow<'_, str> {
    let t = s.trim();
    if let Some(inner) = t
        .strip_prefix("/Date(")
        .or_else(|| t.strip_prefix("\\/Date("))
        .and_then(|r| r.strip_suffix(")/").or_else(|| r.strip_suffix(")\\/")))
    {
        let digits: String = inner.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            return Cow::Owned(digits);
        }
    }
    if t.contains('/') && t.contains(", ") {
        return Cow::Owned(t.replacen(", ", " ", 1));
    }
    Cow::Borrowed(s)
}

fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &s[..end]))
}

/// Family from an Azure Monitor `category`; `None` when absent.
fn category_family(m: &Map<String, Value>) -> Result<Option<Family>, String> {
    let Some(cat) = text(get_ci(m, "category"))? else {
        return Ok(None);
    };
    let f = match cat.to_ascii_lowercase().as_str() {
        "signinlogs" | "signin" => Family::SignIn(table::SIGNIN_LOGS),
        "noninteractiveusersigninlogs" => Family::SignIn(table::NON_INTERACTIVE),
        "serviceprincipalsigninlogs" => Family::SignIn(table::SERVICE_PRINCIPAL),
        "managedidentitysigninlogs" => Family::SignIn(table::MANAGED_IDENTITY),
        "auditlogs" | "audit" => Family::Audit,
        _ => {
            return Err(format!(
                "Azure Monitor category {:?} is not read by idrecon (it reads SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs, ManagedIdentitySignInLogs and AuditLogs)",
                clip(&cat, 64)
            ));
        }
    };
    Ok(Some(f))
}

/// Family from a Log Analytics `Type` column; `None` when absent.
fn la_type_family(m: &Map<String, Value>) -> Result<Option<Family>, String> {
    let Some(t) = text(
        m.get_key_value("Type")
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.as_str(), v)),
    )?
    else {
        return Ok(None);
    };
    let f = match t.to_ascii_lowercase().as_str() {
        "signinlogs" => Family::SignIn(table::SIGNIN_LOGS),
        "aadnoninteractiveusersigninlogs" => Family::SignIn(table::NON_INTERACTIVE),
        "aadserviceprincipalsigninlogs" => Family::SignIn(table::SERVICE_PRINCIPAL),
        "aadmanagedidentitysigninlogs" => Family::SignIn(table::MANAGED_IDENTITY),
        "auditlogs" => Family::Audit,
        _ => {
            return Err(format!(
                "Log Analytics table {:?} is not read by idrecon (it reads SigninLogs, AADNonInteractiveUserSignInLogs, AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs and AuditLogs)",
                clip(&t, 64)
            ));
        }
    };
    Ok(Some(f))
}

/// Family of a record without a table name: audit markers, then
/// `signInEventTypes`, service-principal identity, `isInteractive`, the
/// non-interactive `ProcessingTimeInMs` column, the file-name hint.
fn flat_family(src: Src<'_>, hint: Option<&'static str>) -> Result<Family, String> {
    if AUDIT_MARKERS.iter().any(|k| src.get(k).is_some()) {
        return Ok(Family::Audit);
    }
    if let Some(t) = event_types_table(src)? {
        return Ok(Family::SignIn(t));
    }
    let upn = text(src.get("userPrincipalName"))?;
    if upn.as_deref().is_none_or(str::is_empty) {
        let sp_id = text(src.get("servicePrincipalId"))?;
        let sp_name = text(src.get("servicePrincipalName"))?;
        if sp_id.is_some_and(|s| !s.is_empty()) || sp_name.is_some_and(|s| !s.is_empty()) {
            return Ok(Family::SignIn(table::SERVICE_PRINCIPAL));
        }
    }
    match src.get("isInteractive") {
        None => {}
        Some((_, Value::Bool(b))) => return Ok(Family::SignIn(interactive_table(*b))),
        Some((k, Value::String(s))) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => return Ok(Family::SignIn(table::SIGNIN_LOGS)),
            "false" => return Ok(Family::SignIn(table::NON_INTERACTIVE)),
            "" => {}
            _ => {
                return Err(format!(
                    "field `{k}` is not true or false: {:?}",
                    clip(s, 32)
                ));
            }
        },
        Some((k, v)) => return Err(wrong_type(k, "true or false", v)),
    }
    if src.get("ProcessingTimeInMs").is_some() {
        return Ok(Family::SignIn(table::NON_INTERACTIVE));
    }
    Ok(Family::SignIn(hint.unwrap_or(table::SIGNIN_LOGS)))
}

fn interactive_table(interactive: bool) -> &'static str {
    if interactive {
        table::SIGNIN_LOGS
    } else {
        table::NON_INTERACTIVE
    }
}

/// Table from `signInEventTypes` (array, JSON text, or one plain word).
fn event_types_table(src: Src<'_>) -> Result<Option<&'static str>, String> {
    let Some((k, v)) = src.get("signInEventTypes") else {
        return Ok(None);
    };
    let parsed;
    let list: &Value = match v {
        Value::String(s) if s.trim_start().starts_with('[') => match serde_json::from_str(s) {
            Ok(p) => {
                parsed = p;
                &parsed
            }
            Err(e) => return Err(format!("field `{k}` is text that is not valid JSON: {e}")),
        },
        other => other,
    };
    let mut types: Vec<&str> = Vec::new();
    match list {
        Value::String(s) => types.extend(s.split(',').map(str::trim)),
        Value::Array(a) => {
            for item in a {
                match item {
                    Value::String(s) => types.push(s),
                    other => return Err(wrong_type(k, "a list of text", other)),
                }
            }
        }
        other => return Err(wrong_type(k, "a list of text", other)),
    }
    let has = |want: &str| types.iter().any(|t| t.eq_ignore_ascii_case(want));
    Ok(if has("interactiveUser") {
        Some(table::SIGNIN_LOGS)
    } else if has("nonInteractiveUser") {
        Some(table::NON_INTERACTIVE)
    } else if has("servicePrincipal") {
        Some(table::SERVICE_PRINCIPAL)
    } else if has("managedIdentity") {
        Some(table::MANAGED_IDENTITY)
    } else {
        None
    })
}

fn build(src: Src<'_>, family: Family, origin: Origin) -> Result<Event, String> {
    let time = event_time(src)?;
    match family {
        Family::SignIn(t) => signin(src, time, t, origin),
        Family::Audit => audit(src, time, origin),
    }
}

fn signin(
    src: Src<'_>,
    time: Timestamp,
    table: &'static str,
    origin: Origin,
) -> Result<Event, String> {
    let kind = match table {
        table::SERVICE_PRINCIPAL => EventKind::EntraServicePrincipalSignIn,
        table::MANAGED_IDENTITY => EventKind::EntraManagedIdentitySignIn,
        _ => EventKind::EntraSignIn,
    };
    let mut e = Event::new(time, kind, table, origin);
    let status = object_field(src.get("status"))?;
    let status_map = status.as_ref().and_then(|(_, v)| v.as_object());
    let (status_code, status_reason) = match status_map {
        Some(m) => (
            code(get_ci(m, "errorCode"))?,
            text(get_ci(m, "failureReason"))?,
        ),
        None => (None, None),
    };
    e.user = text(src.get("userPrincipalName"))?;
    let ip = text(src.get("ipAddress"))?;
    let caller = text(src.top("callerIpAddress"))?;
    e.source_ip_raw = ip.clone().or_else(|| caller.clone());
    e.source_ip = first_ip(&[ip, caller]);
    // KQL semantics: an explicit `ResultType: ""` stays empty (Sentinel would
    // not match it); the status object is only a fallback when the column is absent.
    e.result_code = code(src.get_top_first("resultType"))?.or(status_code);
    e.result_description = text(src.get_top_first("resultDescription"))?.or(status_reason);
    e.app = text(src.get("appDisplayName"))?;
    e.app_id = text(src.get("appId"))?;
    e.resource = text(src.get("resourceDisplayName"))?;
    e.client_app = text(src.get("clientAppUsed"))?;
    e.user_agent = text(src.get("userAgent"))?;
    e.auth_protocol = text(src.get("authenticationProtocol"))?;
    e.auth_requirement = text(src.get("authenticationRequirement"))?;
    e.asn = code(src.get("autonomousSystemNumber"))?;
    e.request_id = prefer_nonempty(text(src.get("originalRequestId"))?, text(src.get("id"))?);
    e.correlation_id = text(src.get_top_first("correlationId"))?;
    Ok(e)
}

fn audit(src: Src<'_>, time: Timestamp, origin: Origin) -> Result<Event, String> {
    let mut e = Event::new(time, EventKind::EntraAudit, table::AUDIT_LOGS, origin);
    let activity = text(src.get("activityDisplayName"))?;
    e.operation = text(src.get_top_first("operationName"))?.or_else(|| activity.clone());
    e.activity = activity;
    e.result = text(src.get("result"))?;
    e.result_reason = text(src.get("resultReason"))?;
    e.result_description = text(src.get_top_first("resultDescription"))?;
    e.logged_by_service = text(src.get("loggedByService"))?;

    let mut initiator_ip = None;
    if let Some((k, init)) = object_field(src.get("initiatedBy"))? {
        match init.as_object().and_then(|m| get_ci(m, "user")) {
            None => {}
            Some((_, Value::Object(user))) => initiator_ip = text(get_ci(user, "ipAddress"))?,
            Some((_, v)) => return Err(wrong_type(&format!("{k}.user"), "an object", v)),
        }
    }
    // Only the initiator's address (the seed's `InitiatedBy.user.ipAddress`):
    // a diagnostic record's `callerIpAddress` is not an AuditLogs column.
    e.source_ip_raw = initiator_ip.clone();
    e.source_ip = first_ip(&[initiator_ip]);

    if let Some((k, targets)) = json_field(src.get("targetResources"))? {
        let Value::Array(items) = targets.as_ref() else {
            return Err(wrong_type(k, "an array", &targets));
        };
        match items.first() {
            None => {}
            Some(Value::Object(t)) => e.target_user = text(get_ci(t, "userPrincipalName"))?,
            // `tostring(TargetResources[0].userPrincipalName)` of a null target is "".
            Some(Value::Null) => {}
            Some(v) => return Err(wrong_type(&format!("{k}[0]"), "an object", v)),
        }
    }
    e.correlation_id = text(src.get_top_first("correlationId"))?;
    e.request_id = text(src.get("id"))?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Result<Event, String> {
        normalize_json(&v, Origin::default(), None).map(|(e, _, _)| e)
    }

    #[test]
    fn la_row_without_result_type_uses_status_text() {
        let e = norm(json!({
            "TimeGenerated": "2024-05-01T10:15:41Z",
            "UserPrincipalName": "jdoe@contoso.com",
            "Status": "{\"errorCode\":50126,\"failureReason\":\"Invalid username or password.\"}"
        }))
        .expect("normalizes");
        assert_eq!(e.result_code.as_deref(), Some("50126"));
        assert_eq!(
            e.result_description.as_deref(),
            Some("Invalid username or password.")
        );
        assert_eq!(e.table, table::SIGNIN_LOGS);
    }

    #[test]
    fn result_type_number_and_string_agree() {
        let a =
            norm(json!({"TimeGenerated": "2024-05-01T10:15:41Z", "ResultType": 50034})).expect("a");
        let b = norm(json!({"TimeGenerated": "2024-05-01T10:15:41Z", "ResultType": "50034"}))
            .expect("b");
        assert_eq!(a.result_code.as_deref(), Some("50034"));
        assert_eq!(a, b);
        let c = norm(json!({"TimeGenerated": "2024-05-01T10:15:41Z", "ResultType": 50034.0}))
            .expect("c");
        assert_eq!(c.result_code.as_deref(), Some("50034"));
    }

    #[test]
    fn empty_strings_stay_empty() {
        let e = norm(
            json!({"TimeGenerated": "2024-05-01T10:15:41Z", "UserAgent": "", "ResultType": "0"}),
        )
        .expect("normalizes");
        assert_eq!(e.user_agent.as_deref(), Some(""));
        assert_eq!(e.user, None);
    }

    #[test]
    fn wrong_types_are_rejected() {
        for (v, needle) in [
            (
                json!({"TimeGenerated": "2024-05-01T10:15:41Z", "ResultType": {"a": 1}}),
                "`ResultType`",
            ),
            (
                json!({"TimeGenerated": "2024-05-01T10:15:41Z", "UserPrincipalName": 5}),
                "`UserPrincipalName`",
            ),
            (
                json!({"TimeGenerated": "2024-05-01T10:15:41Z", "Status": "not json"}),
                "`Status`",
            ),
            (
                json!({"TimeGenerated": "2024-05-01T10:15:41Z", "Status": [1]}),
                "`Status`",
            ),
            (json!({"TimeGenerated": true}), "`TimeGenerated`"),
            (
                json!({"activityDateTime": "2024-05-01T10:15:41Z", "targetResources": {"x": 1}}),
                "`targetResources`",
            ),
            (
                json!({"activityDateTime": "2024-05-01T10:15:41Z", "initiatedBy": {"user": "x"}}),
                "`initiatedBy.user`",
            ),
        ] {
            let err = norm(v).expect_err("rejected");
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn table_signals() {
        let t = |v: Value| norm(v).expect("normalizes").table;
        let ts = "2024-05-01T10:15:41Z";
        assert_eq!(
            t(json!({"TimeGenerated": ts, "IsInteractive": false})),
            table::NON_INTERACTIVE
        );
        assert_eq!(
            t(json!({"TimeGenerated": ts, "IsInteractive": "True"})),
            table::SIGNIN_LOGS
        );
        assert_eq!(
            t(json!({"TimeGenerated": ts, "ProcessingTimeInMs": "12"})),
            table::NON_INTERACTIVE
        );
        assert_eq!(
            t(json!({"TimeGenerated": ts, "SignInEventTypes": "[\"nonInteractiveUser\"]"})),
            table::NON_INTERACTIVE
        );
        assert_eq!(
            t(json!({"createdDateTime": ts, "signInEventTypes": ["servicePrincipal"]})),
            table::SERVICE_PRINCIPAL
        );
        assert_eq!(
            t(json!({"createdDateTime": ts, "servicePrincipalId": "abc", "userPrincipalName": ""})),
            table::SERVICE_PRINCIPAL
        );
        assert_eq!(
            t(json!({"TimeGenerated": ts, "Type": "AADManagedIdentitySignInLogs"})),
            table::MANAGED_IDENTITY
        );
        let e = norm(json!({"TimeGenerated": ts, "Type": "AADServicePrincipalSignInLogs"}))
            .expect("sp");
        assert_eq!(e.kind, EventKind::EntraServicePrincipalSignIn);
        assert!(norm(json!({"TimeGenerated": ts, "Type": "AzureActivity"})).is_err());
        // An overwritten `Type` with Entra content: the content decides.
        let e = norm(json!({"TimeGenerated": ts, "Type": "Application", "ActivityDisplayName": "Update application"}))
            .expect("audit");
        assert_eq!(e.kind, EventKind::EntraAudit);
    }

    #[test]
    fn time_precedence_and_range() {
        let e = norm(json!({
            "TimeGenerated": "2024-05-01T10:00:00Z",
            "CreatedDateTime": "2024-05-01T09:00:00Z"
        }))
        .expect("ok");
        assert_eq!(e.time.to_string(), "2024-05-01T10:00:00Z");
        let err = norm(json!({"TimeGenerated": "0001-01-01T00:00:00Z"})).expect_err("range");
        assert!(err.contains("out of range"), "{err}");
        let err = norm(json!({"TimeGenerated": "soon"})).expect_err("parse");
        assert!(err.contains("unparsable"), "{err}");
        let err = norm(json!({"UserPrincipalName": "x"})).expect_err("missing");
        assert!(err.contains("missing timestamp"), "{err}");
    }

    #[test]
    fn export_time_quirks() {
        let t = |raw: &str| norm(json!({"CreatedDateTime": raw})).map(|e| e.time.to_string());
        assert_eq!(
            t("/Date(1714558541000)/").as_deref(),
            Ok("2024-05-01T10:15:41Z")
        );
        assert_eq!(
            t("5/1/2024, 10:15:41 AM").as_deref(),
            Ok("2024-05-01T10:15:41Z")
        );
        assert_eq!(t("1714558541").as_deref(), Ok("2024-05-01T10:15:41Z"));
        assert!(t("/Date()/").is_err());
    }

    #[test]
    fn azure_monitor_properties_as_text() {
        let e = norm(json!({
            "time": "2024-05-01T10:00:00Z", "category": "SignInLogs", "resultType": "50126",
            "properties": "{\"userPrincipalName\":\"jdoe@contoso.com\",\"ipAddress\":\"203.0.113.5\"}"
        }))
        .expect("ok");
        assert_eq!(e.user.as_deref(), Some("jdoe@contoso.com"));
        assert_eq!(e.source_ip.as_deref(), Some("203.0.113.5"));
    }

    #[test]
    fn unknown_record_lists_keys() {
        let err = norm(json!({"foo": 1, "bar": 2})).expect_err("unknown");
        assert!(err.contains("keys: foo, bar; 2 in all"), "{err}");
        let err = norm(json!([1])).expect_err("array");
        assert!(
            err.contains("expected a JSON object, found an array"),
            "{err}"
        );
        let mut big = Map::new();
        big.insert("K".repeat(1 << 20), json!(1));
        let err = norm(Value::Object(big)).expect_err("unknown");
        assert!(err.len() < 400, "{} bytes", err.len());
        assert!(
            err.contains(&format!("keys: {}…; 1 in all", "K".repeat(40))),
            "{err}"
        );
    }

    #[test]
    fn azure_monitor_unknown_category() {
        let err = norm(json!({"time": "2024-05-01T10:00:00Z", "category": "ProvisioningLogs", "properties": {}}))
            .expect_err("category");
        assert!(err.contains("ProvisioningLogs"), "{err}");
    }

    #[test]
    fn caller_ip_null_marker_is_no_address() {
        let e = norm(json!({
            "time": "2024-05-01T10:00:00Z", "category": "AuditLogs", "callerIpAddress": "<null>",
            "operationName": "Update user",
            "properties": {"activityDisplayName": "Update user", "initiatedBy": {"app": {"displayName": "x"}}}
        }))
        .expect("ok");
        assert_eq!(e.source_ip, None);
        assert_eq!(e.operation.as_deref(), Some("Update user"));
    }
}
