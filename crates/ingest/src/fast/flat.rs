//! The fast reading of a flat sign-in record (a Log Analytics row or a
//! Graph signIn object): the same decisions as `entra::normalize_json`,
//! made on the members the scanner found, with no intermediate `Value`.
//!
//! The rule is simple: the fast reading either produces exactly what the
//! full reading would, or gives up ([`Bail`]) and the record is read the
//! full way. It gives up on every record the full reading would reject
//! (so reject reasons are always the full reader's), on every dialect but
//! flat sign-ins (audit records, Azure Monitor records, Windows JSON), and
//! on anything unusual: duplicate or escaped keys that matter, timestamps
//! in export quirk forms, numbers that are not plain integers.

use super::scan::{self, Bail, Kind, Member};
use crate::entra::{Dialect, Family, MAX_SECOND, MIN_SECOND};
use idrecon_core::event::table;
use idrecon_core::text::normalize_ip;
use idrecon_core::{Event, EventKind, Origin, Timestamp, parse_timestamp};
use std::borrow::Cow;

/// The keys the sign-in normalization looks at (compared ASCII
/// case-insensitively, as `entra::get_ci` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Type,
    TimeGenerated,
    CreatedDateTime,
    Time,
    ActivityDateTime,
    Status,
    UserPrincipalName,
    IpAddress,
    CallerIpAddress,
    ResultType,
    ResultDescription,
    AppDisplayName,
    AppId,
    ResourceDisplayName,
    ClientAppUsed,
    UserAgent,
    AuthenticationProtocol,
    AuthenticationRequirement,
    AutonomousSystemNumber,
    OriginalRequestId,
    Id,
    CorrelationId,
    SignInEventTypes,
    ServicePrincipalId,
    ServicePrincipalName,
    IsInteractive,
    ProcessingTimeInMs,
    ActivityDisplayName,
    LoggedByService,
    InitiatedBy,
    TargetResources,
}

const N: usize = F::TargetResources as usize + 1;

/// What a key means to the sign-in reading.
enum KeyUse {
    /// Not looked at.
    Ignored,
    /// A field (case-insensitive match).
    Field(F),
    /// A key that routes the record elsewhere (Azure Monitor, Windows
    /// JSON, an envelope): the full reading decides.
    Elsewhere,
}

/// Bit `n` set: some key of length `n` matters (a field or a routing key).
const USED_LENGTHS: u32 = {
    let names: &[&str] = &[
        "Type",
        "TimeGenerated",
        "CreatedDateTime",
        "Time",
        "ActivityDateTime",
        "Status",
        "UserPrincipalName",
        "IpAddress",
        "CallerIpAddress",
        "ResultType",
        "ResultDescription",
        "AppDisplayName",
        "AppId",
        "ResourceDisplayName",
        "ClientAppUsed",
        "UserAgent",
        "AuthenticationProtocol",
        "AuthenticationRequirement",
        "AutonomousSystemNumber",
        "OriginalRequestId",
        "Id",
        "CorrelationId",
        "SignInEventTypes",
        "ServicePrincipalId",
        "ServicePrincipalName",
        "IsInteractive",
        "ProcessingTimeInMs",
        "ActivityDisplayName",
        "LoggedByService",
        "InitiatedBy",
        "TargetResources",
        "category",
        "operationName",
        "properties",
        "Event",
        "winlog",
        "EventID",
        "records",
        "value",
        "tables",
    ];
    let mut mask = 0u32;
    let mut i = 0;
    while i < names.len() {
        mask |= 1 << names[i].len();
        i += 1;
    }
    mask
};

fn key_use(key: &[u8]) -> KeyUse {
    if key.len() > 26 || USED_LENGTHS & (1 << key.len()) == 0 {
        return KeyUse::Ignored;
    }
    // Exact spellings that change the dialect or container.
    match key {
        b"time" | b"category" | b"operationName" | b"properties" | b"Event" | b"winlog"
        | b"EventID" | b"records" | b"value" | b"tables" | b"Tables" => {
            return KeyUse::Elsewhere;
        }
        _ => {}
    }
    if key.len() > 26 {
        return KeyUse::Ignored;
    }
    let mut buf = [0u8; 26];
    let low = &mut buf[..key.len()];
    for (d, s) in low.iter_mut().zip(key) {
        *d = s.to_ascii_lowercase();
    }
    let f = match &*low {
        // `Type` is read by its exact spelling only (`la_type_family`).
        b"type" if key == b"Type" => F::Type,
        b"timegenerated" => F::TimeGenerated,
        b"createddatetime" => F::CreatedDateTime,
        b"time" => F::Time,
        b"activitydatetime" => F::ActivityDateTime,
        b"status" => F::Status,
        b"userprincipalname" => F::UserPrincipalName,
        b"ipaddress" => F::IpAddress,
        b"calleripaddress" => F::CallerIpAddress,
        b"resulttype" => F::ResultType,
        b"resultdescription" => F::ResultDescription,
        b"appdisplayname" => F::AppDisplayName,
        b"appid" => F::AppId,
        b"resourcedisplayname" => F::ResourceDisplayName,
        b"clientappused" => F::ClientAppUsed,
        b"useragent" => F::UserAgent,
        b"authenticationprotocol" => F::AuthenticationProtocol,
        b"authenticationrequirement" => F::AuthenticationRequirement,
        b"autonomoussystemnumber" => F::AutonomousSystemNumber,
        b"originalrequestid" => F::OriginalRequestId,
        b"id" => F::Id,
        b"correlationid" => F::CorrelationId,
        b"signineventtypes" => F::SignInEventTypes,
        b"serviceprincipalid" => F::ServicePrincipalId,
        b"serviceprincipalname" => F::ServicePrincipalName,
        b"isinteractive" => F::IsInteractive,
        b"processingtimeinms" => F::ProcessingTimeInMs,
        b"activitydisplayname" => F::ActivityDisplayName,
        b"loggedbyservice" => F::LoggedByService,
        b"initiatedby" => F::InitiatedBy,
        b"targetresources" => F::TargetResources,
        _ => return KeyUse::Ignored,
    };
    KeyUse::Field(f)
}

/// Keys by which a Log Analytics row is recognised (exact spelling).
const LA_MARKERS: &[&[u8]] = &[
    b"TimeGenerated",
    b"CreatedDateTime",
    b"ActivityDateTime",
    b"ResultType",
    b"UserPrincipalName",
    b"ActivityDisplayName",
    b"IPAddress",
    b"AppDisplayName",
];

/// Keys by which a Graph object is recognised (exact spelling).
const GRAPH_MARKERS: &[&[u8]] = &[
    b"createdDateTime",
    b"activityDateTime",
    b"userPrincipalName",
    b"activityDisplayName",
    b"ipAddress",
    b"appDisplayName",
];

/// Reusable buffers of one reader.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    members: Vec<Member>,
    status_members: Vec<Member>,
    status_text: String,
}

/// A record read the fast way, before any allocation.
pub(crate) struct Signin<'a> {
    pub dialect: Dialect,
    pub family: Family,
    pub kind: EventKind,
    pub table: &'static str,
    pub time: Timestamp,
    pub result_code: Option<Cow<'a, str>>,
    fields: Fields<'a>,
}

struct Fields<'a> {
    user: Option<Cow<'a, str>>,
    source_ip: Option<String>,
    source_ip_raw: Option<Cow<'a, str>>,
    result_description: Option<Cow<'a, str>>,
    app: Option<Cow<'a, str>>,
    app_id: Option<Cow<'a, str>>,
    resource: Option<Cow<'a, str>>,
    client_app: Option<Cow<'a, str>>,
    user_agent: Option<Cow<'a, str>>,
    auth_protocol: Option<Cow<'a, str>>,
    auth_requirement: Option<Cow<'a, str>>,
    asn: Option<Cow<'a, str>>,
    request_id: Option<Cow<'a, str>>,
    correlation_id: Option<Cow<'a, str>>,
}

fn owned(v: Option<Cow<'_, str>>) -> Option<String> {
    v.map(Cow::into_owned)
}

impl Signin<'_> {
    /// The event the full reading makes of this record.
    pub fn into_event(self, origin: Origin) -> Event {
        let f = self.fields;
        let mut e = Event::new(self.time, self.kind, self.table, origin);
        e.user = owned(f.user);
        e.source_ip = f.source_ip;
        e.source_ip_raw = owned(f.source_ip_raw);
        e.result_code = owned(self.result_code);
        e.result_description = owned(f.result_description);
        e.app = owned(f.app);
        e.app_id = owned(f.app_id);
        e.resource = owned(f.resource);
        e.client_app = owned(f.client_app);
        e.user_agent = owned(f.user_agent);
        e.auth_protocol = owned(f.auth_protocol);
        e.auth_requirement = owned(f.auth_requirement);
        e.asn = owned(f.asn);
        e.request_id = owned(f.request_id);
        e.correlation_id = owned(f.correlation_id);
        e
    }
}

/// The members of a record, by field.
struct Rec<'a> {
    text: &'a str,
    members: &'a [Member],
    slot: [Option<u16>; N],
}

impl<'a> Rec<'a> {
    fn member(&self, f: F) -> Option<&'a Member> {
        self.slot[f as usize].map(|i| &self.members[usize::from(i)])
    }

    /// The member unless absent or null (`get_ci` semantics).
    fn get(&self, f: F) -> Option<&'a Member> {
        self.member(f).filter(|m| m.kind != Kind::Null)
    }

    fn raw(&self, m: &Member) -> &'a str {
        &self.text[m.val.0..m.val.1]
    }

    /// `entra::text`: a string as written (unescaped), absent when null.
    fn text(&self, f: F) -> Result<Option<Cow<'a, str>>, Bail> {
        match self.get(f) {
            None => Ok(None),
            Some(m) if m.kind == Kind::Str => str_value(self.raw(m), m.val_esc).map(Some),
            Some(_) => Err(Bail),
        }
    }

    /// `entra::code`: text as written, or a plain non-negative integer.
    fn code(&self, f: F) -> Result<Option<Cow<'a, str>>, Bail> {
        match self.get(f) {
            None => Ok(None),
            Some(m) => code_of(self.raw(m), m).map(Some),
        }
    }
}

fn str_value(raw: &str, esc: bool) -> Result<Cow<'_, str>, Bail> {
    if !esc {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    scan::unescape(raw, &mut out)?;
    Ok(Cow::Owned(out))
}

/// A code value: a string, or digits only (no sign, fraction or more than
/// 18 digits, which `serde_json` reads as the same integer).
fn code_of<'a>(raw: &'a str, m: &Member) -> Result<Cow<'a, str>, Bail> {
    match m.kind {
        Kind::Str => str_value(raw, m.val_esc),
        Kind::Num if raw.len() <= 18 && raw.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Cow::Borrowed(raw))
        }
        _ => Err(Bail),
    }
}

/// `entra::prefer_nonempty`.
fn prefer_nonempty<'a>(a: Option<Cow<'a, str>>, b: Option<Cow<'a, str>>) -> Option<Cow<'a, str>> {
    match a {
        Some(s) if !s.is_empty() => Some(s),
        _ if b.is_some() => b,
        _ => a,
    }
}

/// Reads one NDJSON line as a flat sign-in record, or gives up.
/// `hint` is the table suggested by the file name.
pub(crate) fn signin<'a>(
    line: &'a str,
    scratch: &'a mut Scratch,
    hint: Option<&'static str>,
) -> Result<Signin<'a>, Bail> {
    let Scratch {
        members,
        status_members,
        status_text,
    } = scratch;
    scan::object_members(line.as_bytes(), members)?;
    let mut slot = [None; N];
    let mut la = false;
    let mut graph = false;
    for (i, m) in members.iter().enumerate() {
        if m.key_esc {
            return Err(Bail);
        }
        let key = &line.as_bytes()[m.key.0..m.key.1];
        match key_use(key) {
            KeyUse::Ignored => continue,
            KeyUse::Elsewhere => return Err(Bail),
            KeyUse::Field(f) => {
                let s = &mut slot[f as usize];
                if s.is_some() {
                    return Err(Bail);
                }
                *s = Some(u16::try_from(i).map_err(|_| Bail)?);
                // Every marker is a field.
                la = la || LA_MARKERS.contains(&key);
                graph = graph || GRAPH_MARKERS.contains(&key);
            }
        }
    }
    let rec = Rec {
        text: line,
        members,
        slot,
    };
    let dialect = if la {
        Dialect::LogAnalytics
    } else if graph {
        Dialect::Graph
    } else {
        return Err(Bail);
    };
    let table = family_table(&rec, hint)?;
    let time = event_time(&rec)?;

    // `object_field(status)`: an object, JSON text of one, or absent.
    let status: Option<(&str, &[Member])> = match rec.get(F::Status) {
        None => None,
        Some(m) if m.kind == Kind::Obj => {
            let raw = rec.raw(m);
            scan::object_members(raw.as_bytes(), status_members)?;
            Some((raw, &status_members[..]))
        }
        Some(m) if m.kind == Kind::Str => {
            let raw = rec.raw(m);
            let text: &str = if m.val_esc {
                scan::unescape(raw, status_text)?;
                status_text
            } else {
                raw
            };
            if !text.is_ascii() {
                return Err(Bail);
            }
            if text.trim().is_empty() {
                None
            } else {
                match scan::top_kind(text.as_bytes())? {
                    Kind::Null => None,
                    Kind::Obj => {
                        scan::object_members(text.as_bytes(), status_members)?;
                        Some((text, &status_members[..]))
                    }
                    _ => return Err(Bail),
                }
            }
        }
        Some(_) => return Err(Bail),
    };
    let (status_code, status_reason) = match status {
        None => (None, None),
        Some((text, ms)) => {
            let find = |name: &str| -> Result<Option<&Member>, Bail> {
                let mut found = None;
                for m in ms {
                    let k = &text[m.key.0..m.key.1];
                    if m.key_esc {
                        return Err(Bail);
                    }
                    if k.eq_ignore_ascii_case(name) {
                        if found.is_some() {
                            return Err(Bail);
                        }
                        found = Some(m);
                    }
                }
                Ok(found.filter(|m| m.kind != Kind::Null))
            };
            let code = match find("errorCode")? {
                None => None,
                Some(m) => Some(code_of(&text[m.val.0..m.val.1], m)?),
            };
            let reason = match find("failureReason")? {
                None => None,
                Some(m) if m.kind == Kind::Str => {
                    Some(str_value(&text[m.val.0..m.val.1], m.val_esc)?)
                }
                Some(_) => return Err(Bail),
            };
            (code, reason)
        }
    };

    let user = rec.text(F::UserPrincipalName)?;
    let ip = rec.text(F::IpAddress)?;
    let caller = rec.text(F::CallerIpAddress)?;
    let source_ip = [&ip, &caller]
        .into_iter()
        .flatten()
        .filter_map(|s| normalize_ip(s))
        .find(|s| !s.eq_ignore_ascii_case("<null>"));
    let source_ip_raw = ip.or(caller);
    let result_code = rec.code(F::ResultType)?.or(status_code);
    let result_description = rec.text(F::ResultDescription)?.or(status_reason);
    let fields = Fields {
        user,
        source_ip,
        source_ip_raw,
        result_description,
        app: rec.text(F::AppDisplayName)?,
        app_id: rec.text(F::AppId)?,
        resource: rec.text(F::ResourceDisplayName)?,
        client_app: rec.text(F::ClientAppUsed)?,
        user_agent: rec.text(F::UserAgent)?,
        auth_protocol: rec.text(F::AuthenticationProtocol)?,
        auth_requirement: rec.text(F::AuthenticationRequirement)?,
        asn: rec.code(F::AutonomousSystemNumber)?,
        request_id: prefer_nonempty(rec.text(F::OriginalRequestId)?, rec.text(F::Id)?),
        correlation_id: rec.text(F::CorrelationId)?,
    };
    let kind = match table {
        table::SERVICE_PRINCIPAL => EventKind::EntraServicePrincipalSignIn,
        table::MANAGED_IDENTITY => EventKind::EntraManagedIdentitySignIn,
        _ => EventKind::EntraSignIn,
    };
    Ok(Signin {
        dialect,
        family: Family::SignIn(table),
        kind,
        table,
        time,
        result_code,
        fields,
    })
}

/// The sign-in table (`la_type_family`, then `flat_family`); audit records
/// and anything that would be rejected give up.
fn family_table(rec: &Rec<'_>, hint: Option<&'static str>) -> Result<&'static str, Bail> {
    if let Some(m) = rec.get(F::Type) {
        if m.kind != Kind::Str || m.val_esc {
            return Err(Bail);
        }
        let t = rec.raw(m);
        return if t.eq_ignore_ascii_case("signinlogs") {
            Ok(table::SIGNIN_LOGS)
        } else if t.eq_ignore_ascii_case("aadnoninteractiveusersigninlogs") {
            Ok(table::NON_INTERACTIVE)
        } else if t.eq_ignore_ascii_case("aadserviceprincipalsigninlogs") {
            Ok(table::SERVICE_PRINCIPAL)
        } else if t.eq_ignore_ascii_case("aadmanagedidentitysigninlogs") {
            Ok(table::MANAGED_IDENTITY)
        } else {
            Err(Bail)
        };
    }
    let audit = [
        F::ActivityDisplayName,
        F::ActivityDateTime,
        F::LoggedByService,
        F::InitiatedBy,
        F::TargetResources,
    ];
    if audit.iter().any(|f| rec.get(*f).is_some()) || rec.get(F::SignInEventTypes).is_some() {
        return Err(Bail);
    }
    let upn = rec.text(F::UserPrincipalName)?;
    if upn.as_deref().is_none_or(str::is_empty) {
        let sp_id = rec.text(F::ServicePrincipalId)?;
        let sp_name = rec.text(F::ServicePrincipalName)?;
        if sp_id.is_some_and(|s| !s.is_empty()) || sp_name.is_some_and(|s| !s.is_empty()) {
            return Ok(table::SERVICE_PRINCIPAL);
        }
    }
    match rec.get(F::IsInteractive) {
        None => {}
        Some(m) if m.kind == Kind::True => return Ok(table::SIGNIN_LOGS),
        Some(m) if m.kind == Kind::False => return Ok(table::NON_INTERACTIVE),
        Some(m) if m.kind == Kind::Str && !m.val_esc => {
            let s = rec.raw(m);
            if !s.is_ascii() {
                return Err(Bail);
            }
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                return Ok(table::SIGNIN_LOGS);
            } else if t.eq_ignore_ascii_case("false") {
                return Ok(table::NON_INTERACTIVE);
            } else if !t.is_empty() {
                return Err(Bail);
            }
        }
        Some(_) => return Err(Bail),
    }
    if rec.get(F::ProcessingTimeInMs).is_some() {
        return Ok(table::NON_INTERACTIVE);
    }
    Ok(hint.unwrap_or(table::SIGNIN_LOGS))
}

/// `entra::event_time` for plain timestamp text.
fn event_time(rec: &Rec<'_>) -> Result<Timestamp, Bail> {
    for f in [
        F::TimeGenerated,
        F::CreatedDateTime,
        F::Time,
        F::ActivityDateTime,
    ] {
        let Some(m) = rec.get(f) else { continue };
        if m.kind != Kind::Str || m.val_esc {
            return Err(Bail);
        }
        let s = rec.raw(m);
        // Non-ASCII text (Unicode spaces) and the export quirks that
        // `clean_time` rewrites are left to the full reading.
        if !s.is_ascii() || s.contains('/') {
            return Err(Bail);
        }
        if s.trim().is_empty() {
            continue;
        }
        let ts = parse_timestamp(s).ok_or(Bail)?;
        if !(MIN_SECOND..MAX_SECOND).contains(&ts.as_second()) {
            return Err(Bail);
        }
        return Ok(ts);
    }
    Err(Bail)
}
