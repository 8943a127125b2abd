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
//!
//! The work is split so that a record the prefilter skips costs little
//! more than its validating scan: [`signin`] scans the line once, keeping
//! only the members the reading looks at (the key is classified while it
//! is scanned), and makes every check that could send the record to the
//! full reading — the table, the time, the result code, the `Status`
//! object and the type of every field. What is left, building the event's
//! strings, cannot fail and is done by [`Signin::into_event`] only for the
//! records that are kept.

use super::scan::{self, Bail, Kind, Member, Pick};
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

/// A key that matters to the sign-in reading, by its ASCII-lowercase
/// spelling.
struct Name {
    lower: &'static str,
    /// The field it is, case-insensitively (`None`: only `elsewhere`
    /// spellings matter).
    field: Option<F>,
    /// The field only under this exact spelling (`Type`, which
    /// `la_type_family` reads exactly).
    only: Option<&'static str>,
    /// Exact spellings that change the dialect or container (Azure
    /// Monitor, Windows JSON, envelopes): the full reading decides.
    elsewhere: &'static [&'static str],
    /// The exact spelling that marks a Log Analytics row.
    la: Option<&'static str>,
    /// The exact spelling that marks a Graph object.
    graph: Option<&'static str>,
}

const fn field(lower: &'static str, f: F) -> Name {
    Name {
        lower,
        field: Some(f),
        only: None,
        elsewhere: &[],
        la: None,
        graph: None,
    }
}

const fn marker(lower: &'static str, f: F, la: &'static str, graph: Option<&'static str>) -> Name {
    Name {
        la: Some(la),
        graph,
        ..field(lower, f)
    }
}

const fn elsewhere(lower: &'static str, exact: &'static [&'static str]) -> Name {
    Name {
        lower,
        field: None,
        only: None,
        elsewhere: exact,
        la: None,
        graph: None,
    }
}

/// Every key that matters. The markers are those of `entra::LA_MARKERS`
/// and `entra::GRAPH_MARKERS`.
const NAMES: &[Name] = &[
    Name {
        only: Some("Type"),
        ..field("type", F::Type)
    },
    marker("timegenerated", F::TimeGenerated, "TimeGenerated", None),
    marker(
        "createddatetime",
        F::CreatedDateTime,
        "CreatedDateTime",
        Some("createdDateTime"),
    ),
    Name {
        elsewhere: &["time"],
        ..field("time", F::Time)
    },
    marker(
        "activitydatetime",
        F::ActivityDateTime,
        "ActivityDateTime",
        Some("activityDateTime"),
    ),
    field("status", F::Status),
    marker(
        "userprincipalname",
        F::UserPrincipalName,
        "UserPrincipalName",
        Some("userPrincipalName"),
    ),
    marker("ipaddress", F::IpAddress, "IPAddress", Some("ipAddress")),
    field("calleripaddress", F::CallerIpAddress),
    marker("resulttype", F::ResultType, "ResultType", None),
    field("resultdescription", F::ResultDescription),
    marker(
        "appdisplayname",
        F::AppDisplayName,
        "AppDisplayName",
        Some("appDisplayName"),
    ),
    field("appid", F::AppId),
    field("resourcedisplayname", F::ResourceDisplayName),
    field("clientappused", F::ClientAppUsed),
    field("useragent", F::UserAgent),
    field("authenticationprotocol", F::AuthenticationProtocol),
    field("authenticationrequirement", F::AuthenticationRequirement),
    field("autonomoussystemnumber", F::AutonomousSystemNumber),
    field("originalrequestid", F::OriginalRequestId),
    field("id", F::Id),
    field("correlationid", F::CorrelationId),
    field("signineventtypes", F::SignInEventTypes),
    field("serviceprincipalid", F::ServicePrincipalId),
    field("serviceprincipalname", F::ServicePrincipalName),
    field("isinteractive", F::IsInteractive),
    field("processingtimeinms", F::ProcessingTimeInMs),
    marker(
        "activitydisplayname",
        F::ActivityDisplayName,
        "ActivityDisplayName",
        Some("activityDisplayName"),
    ),
    field("loggedbyservice", F::LoggedByService),
    field("initiatedby", F::InitiatedBy),
    field("targetresources", F::TargetResources),
    elsewhere("category", &["category"]),
    elsewhere("operationname", &["operationName"]),
    elsewhere("properties", &["properties"]),
    elsewhere("event", &["Event"]),
    elsewhere("winlog", &["winlog"]),
    elsewhere("eventid", &["EventID"]),
    elsewhere("records", &["records"]),
    elsewhere("value", &["value"]),
    elsewhere("tables", &["tables", "Tables"]),
];

/// Longest key that matters, plus one.
const MAX_LEN: usize = 32;

/// Up to six names per key length, as indexes into [`NAMES`] (`0xff`:
/// none); bit `n` of [`USED_LENGTHS`] says whether any has length `n`.
const BY_LEN: [[u8; 6]; MAX_LEN] = {
    let mut t = [[0xffu8; 6]; MAX_LEN];
    let mut i = 0;
    while i < NAMES.len() {
        let n = NAMES[i].lower.len();
        let mut j = 0;
        // A seventh name of one length fails to compile (index out of range).
        while t[n][j] != 0xff {
            j += 1;
        }
        t[n][j] = i as u8;
        i += 1;
    }
    t
};

/// Bit `c & 31` of entry `n`: some name of length `n` starts with the
/// letter `c` (a first check that turns most keys away at once).
const FIRST_LETTERS: [u32; MAX_LEN] = {
    let mut t = [0u32; MAX_LEN];
    let mut i = 0;
    while i < NAMES.len() {
        let b = NAMES[i].lower.as_bytes();
        t[b.len()] |= 1 << (b[0] & 31);
        i += 1;
    }
    t
};

const USED_LENGTHS: u32 = {
    let mut mask = 0u32;
    let mut i = 0;
    while i < NAMES.len() {
        mask |= 1 << NAMES[i].lower.len();
        i += 1;
    }
    mask
};

// Every name is ASCII lowercase letters only (what `eq_lower` relies on).
const _: () = {
    let mut i = 0;
    while i < NAMES.len() {
        let b = NAMES[i].lower.as_bytes();
        let mut j = 0;
        while j < b.len() {
            assert!(b[j].is_ascii_lowercase());
            j += 1;
        }
        i += 1;
    }
};

/// `key.eq_ignore_ascii_case(lower)` for a `lower` of ASCII lowercase
/// letters only, 8 bytes at a time: for such a letter `l`, `k | 0x20 == l`
/// holds exactly for `k` = `l` and its uppercase.
#[inline(always)]
fn eq_lower(key: &[u8], lower: &[u8]) -> bool {
    words_eq(key, lower, 0x2020_2020_2020_2020)
}

/// `key == exact`, inline (no `memcmp` call).
#[inline(always)]
fn eq_exact(key: &[u8], exact: &str) -> bool {
    words_eq(key, exact.as_bytes(), 0)
}

/// `a | mask == b`, bytewise (`mask` is the same in every byte).
#[inline(always)]
fn words_eq(a: &[u8], b: &[u8], mask: u64) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        let m = mask as u8;
        return a.iter().zip(b).all(|(x, y)| x | m == *y);
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    let mut at = 0;
    loop {
        // The last word overlaps the one before it.
        let at8 = at.min(n - 8);
        match (word(a, at8), word(b, at8)) {
            (Some(x), Some(y)) if x | mask == y => {}
            _ => return false,
        }
        if at8 == n - 8 {
            return true;
        }
        at += 8;
    }
}

/// What a top-level key means: ignored, a field (and whether it marks a
/// Log Analytics row or a Graph object), or a reason to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Ignored,
    Field { f: F, la: bool, graph: bool },
    Elsewhere,
}

#[inline(always)]
fn key_use(key: &[u8]) -> Use {
    let n = key.len();
    if n >= MAX_LEN || USED_LENGTHS & (1 << n) == 0 {
        return Use::Ignored;
    }
    let first = key.first().map_or(0, |c| c | 0x20);
    if FIRST_LETTERS[n] & (1 << (first & 31)) == 0 {
        return Use::Ignored;
    }
    for &ix in &BY_LEN[n] {
        let Some(name) = NAMES.get(usize::from(ix)) else {
            break;
        };
        if name.lower.as_bytes().first() != Some(&first) || !eq_lower(key, name.lower.as_bytes()) {
            continue;
        }
        if name.elsewhere.iter().any(|e| eq_exact(key, e)) {
            return Use::Elsewhere;
        }
        let Some(f) = name.field else {
            return Use::Ignored;
        };
        if name.only.is_some_and(|o| !eq_exact(key, o)) {
            return Use::Ignored;
        }
        return Use::Field {
            f,
            la: name.la.is_some_and(|m| eq_exact(key, m)),
            graph: name.graph.is_some_and(|m| eq_exact(key, m)),
        };
    }
    Use::Ignored
}

/// Reusable buffers of one reader.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    slots: Vec<Option<Member>>,
    status_members: Vec<Member>,
    status_text: String,
}

/// A record read the fast way and found good, before any allocation.
pub(crate) struct Signin<'a> {
    pub dialect: Dialect,
    pub family: Family,
    pub kind: EventKind,
    pub table: &'static str,
    pub time: Timestamp,
    pub result_code: Option<Cow<'a, str>>,
    rec: Rec<'a>,
    status_reason: Option<Cow<'a, str>>,
}

impl Signin<'_> {
    /// The event the full reading makes of this record.
    pub fn into_event(self, origin: Origin) -> Event {
        let r = &self.rec;
        let mut e = Event::new(self.time, self.kind, self.table, origin);
        e.user = r.owned(F::UserPrincipalName);
        let ip = r.text(F::IpAddress);
        let caller = r.text(F::CallerIpAddress);
        e.source_ip = [&ip, &caller]
            .into_iter()
            .flatten()
            .filter_map(|s| normalize_ip(s))
            .find(|s| !s.eq_ignore_ascii_case("<null>"));
        e.source_ip_raw = ip.or(caller).map(Cow::into_owned);
        e.result_code = self.result_code.map(Cow::into_owned);
        e.result_description = r
            .text(F::ResultDescription)
            .or(self.status_reason)
            .map(Cow::into_owned);
        e.app = r.owned(F::AppDisplayName);
        e.app_id = r.owned(F::AppId);
        e.resource = r.owned(F::ResourceDisplayName);
        e.client_app = r.owned(F::ClientAppUsed);
        e.user_agent = r.owned(F::UserAgent);
        e.auth_protocol = r.owned(F::AuthenticationProtocol);
        e.auth_requirement = r.owned(F::AuthenticationRequirement);
        e.asn = r.code(F::AutonomousSystemNumber).map(Cow::into_owned);
        e.request_id =
            prefer_nonempty(r.text(F::OriginalRequestId), r.text(F::Id)).map(Cow::into_owned);
        e.correlation_id = r.owned(F::CorrelationId);
        e
    }
}

/// The fields read as text (`entra::text`): text or null, anything else is
/// a reject of the full reading.
const TEXT_FIELDS: [F; 16] = [
    F::UserPrincipalName,
    F::IpAddress,
    F::CallerIpAddress,
    F::ResultDescription,
    F::AppDisplayName,
    F::AppId,
    F::ResourceDisplayName,
    F::ClientAppUsed,
    F::UserAgent,
    F::AuthenticationProtocol,
    F::AuthenticationRequirement,
    F::OriginalRequestId,
    F::Id,
    F::CorrelationId,
    F::ServicePrincipalId,
    F::ServicePrincipalName,
];

/// The fields read as codes (`entra::code`).
const CODE_FIELDS: [F; 2] = [F::ResultType, F::AutonomousSystemNumber];

/// The members of a record, by field.
struct Rec<'a> {
    text: &'a str,
    slots: &'a [Option<Member>],
}

impl<'a> Rec<'a> {
    /// The member unless absent or null (`get_ci` semantics).
    fn get(&self, f: F) -> Option<&'a Member> {
        self.slots
            .get(f as usize)
            .and_then(Option::as_ref)
            .filter(|m| m.kind != Kind::Null)
    }

    fn raw(&self, m: &Member) -> &'a str {
        self.text.get(m.val.0..m.val.1).unwrap_or_default()
    }

    /// `entra::text` of a field whose type was checked: a string as
    /// written (unescaped), absent when null.
    fn text(&self, f: F) -> Option<Cow<'a, str>> {
        self.get(f)
            .filter(|m| m.kind == Kind::Str)
            .map(|m| str_value(self.raw(m), m.val_esc))
    }

    fn owned(&self, f: F) -> Option<String> {
        self.text(f).map(Cow::into_owned)
    }

    /// `entra::code` of a field whose type was checked.
    fn code(&self, f: F) -> Option<Cow<'a, str>> {
        self.get(f).map(|m| code_of(self.raw(m), m))
    }

    /// Whether the type of every field is one the fast reading reads as
    /// the full reading does.
    fn types_ok(&self) -> bool {
        TEXT_FIELDS
            .iter()
            .all(|&f| self.get(f).is_none_or(|m| m.kind == Kind::Str))
            && CODE_FIELDS
                .iter()
                .all(|&f| self.get(f).is_none_or(|m| code_ok(self.raw(m), m)))
    }
}

/// A string body as written: unescaped when it holds escapes.
fn str_value(raw: &str, esc: bool) -> Cow<'_, str> {
    if !esc {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    scan::unescape(raw, &mut out);
    Cow::Owned(out)
}

/// A code value the fast reading reads: a string, or digits only (no
/// sign, fraction or more than 18 digits, which `serde_json` reads as the
/// same integer).
fn code_ok(raw: &str, m: &Member) -> bool {
    match m.kind {
        Kind::Str => true,
        Kind::Num => raw.len() <= 18 && raw.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// A code value whose type [`code_ok`] accepted.
fn code_of<'a>(raw: &'a str, m: &Member) -> Cow<'a, str> {
    match m.kind {
        Kind::Str => str_value(raw, m.val_esc),
        _ => Cow::Borrowed(raw),
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
        slots,
        status_members,
        status_text,
    } = scratch;
    slots.clear();
    slots.resize(N, None);
    let mut la = false;
    let mut graph = false;
    scan::object_fields(line.as_bytes(), slots, &mut |key| match key_use(key) {
        Use::Ignored => Pick::Ignore,
        Use::Elsewhere => Pick::Bail,
        Use::Field { f, la: l, graph: g } => {
            // Every marker is a field.
            la |= l;
            graph |= g;
            Pick::Slot(f as usize)
        }
    })?;
    let rec = Rec {
        text: line,
        slots: &slots[..],
    };
    let dialect = if la {
        Dialect::LogAnalytics
    } else if graph {
        Dialect::Graph
    } else {
        return Err(Bail);
    };
    if !rec.types_ok() {
        return Err(Bail);
    }
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
                scan::unescape(raw, status_text);
                status_text
            } else {
                raw
            };
            if !text.is_ascii() {
                return Err(Bail);
            }
            match text.trim_start().as_bytes().first() {
                None => None,
                Some(b'{') => {
                    scan::object_members(text.as_bytes(), status_members)?;
                    Some((text, &status_members[..]))
                }
                Some(_) => match scan::top_kind(text.as_bytes())? {
                    Kind::Null => None,
                    _ => return Err(Bail),
                },
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
                    let k = text.get(m.key.0..m.key.1).ok_or(Bail)?;
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
            let value = |m: &Member| text.get(m.val.0..m.val.1).ok_or(Bail);
            let code = match find("errorCode")? {
                None => None,
                Some(m) if code_ok(value(m)?, m) => Some(code_of(value(m)?, m)),
                Some(_) => return Err(Bail),
            };
            let reason = match find("failureReason")? {
                None => None,
                Some(m) if m.kind == Kind::Str => Some(str_value(value(m)?, m.val_esc)),
                Some(_) => return Err(Bail),
            };
            (code, reason)
        }
    };
    let result_code = rec.code(F::ResultType).or(status_code);
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
        rec,
        status_reason,
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
    let upn = rec.text(F::UserPrincipalName);
    if upn.as_deref().is_none_or(str::is_empty) {
        let sp_id = rec.text(F::ServicePrincipalId);
        let sp_name = rec.text(F::ServicePrincipalName);
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
        let ts = match utc_timestamp(s.as_bytes()) {
            Some(ts) => ts,
            None => {
                // Non-ASCII text (Unicode spaces) and the export quirks that
                // `clean_time` rewrites are left to the full reading.
                if !s.is_ascii() || s.contains('/') {
                    return Err(Bail);
                }
                if s.trim().is_empty() {
                    continue;
                }
                parse_timestamp(s).ok_or(Bail)?
            }
        };
        if !(MIN_SECOND..MAX_SECOND).contains(&ts.as_second()) {
            return Err(Bail);
        }
        return Ok(ts);
    }
    Err(Bail)
}

/// The common form `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (1 to 9 fraction
/// digits), read without the general parser; `None` for anything else
/// (which `parse_timestamp` then reads). For every text it reads, the
/// result is `parse_timestamp`'s (a test compares them).
fn utc_timestamp(s: &[u8]) -> Option<Timestamp> {
    let d = |i: usize| -> Option<i64> {
        let c = *s.get(i)?;
        c.is_ascii_digit().then(|| i64::from(c - b'0'))
    };
    let two = |i: usize| Some(d(i)? * 10 + d(i + 1)?);
    if s.len() < 20
        || s.get(4) != Some(&b'-')
        || s.get(7) != Some(&b'-')
        || s.get(10) != Some(&b'T')
        || s.get(13) != Some(&b':')
        || s.get(16) != Some(&b':')
        || s.last() != Some(&b'Z')
    {
        return None;
    }
    let year = two(0)? * 100 + two(2)?;
    let (month, day) = (two(5)?, two(8)?);
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    let frac = &s[19..s.len() - 1];
    let nanos = match frac.split_first() {
        None => 0,
        Some((b'.', digits)) if (1..=9).contains(&digits.len()) => {
            let mut n = 0i64;
            for &c in digits {
                if !c.is_ascii_digit() {
                    return None;
                }
                n = n * 10 + i64::from(c - b'0');
            }
            n * 10i64.pow(9 - digits.len() as u32)
        }
        Some(_) => return None,
    };
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Timestamp::new(secs, i32::try_from(nanos).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classification before it was table-driven (a key is looked at
    /// by its exact spelling for the routing keys, then lowercased).
    fn reference(key: &[u8]) -> Use {
        match key {
            b"time" | b"category" | b"operationName" | b"properties" | b"Event" | b"winlog"
            | b"EventID" | b"records" | b"value" | b"tables" | b"Tables" => {
                return Use::Elsewhere;
            }
            _ => {}
        }
        let low = key.to_ascii_lowercase();
        let f = match &low[..] {
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
            _ => return Use::Ignored,
        };
        const LA: &[&[u8]] = &[
            b"TimeGenerated",
            b"CreatedDateTime",
            b"ActivityDateTime",
            b"ResultType",
            b"UserPrincipalName",
            b"ActivityDisplayName",
            b"IPAddress",
            b"AppDisplayName",
        ];
        const GRAPH: &[&[u8]] = &[
            b"createdDateTime",
            b"activityDateTime",
            b"userPrincipalName",
            b"activityDisplayName",
            b"ipAddress",
            b"appDisplayName",
        ];
        Use::Field {
            f,
            la: LA.contains(&key),
            graph: GRAPH.contains(&key),
        }
    }

    #[test]
    fn keys_are_classified_as_before() {
        let mut keys: Vec<String> = Vec::new();
        for n in NAMES {
            let l = n.lower;
            keys.push(l.to_string());
            keys.push(l.to_ascii_uppercase());
            for e in n.elsewhere.iter().chain(n.la.iter()).chain(n.graph.iter()) {
                keys.push(e.to_string());
            }
            // Each letter's case flipped in turn, and near misses.
            for i in 0..l.len() {
                let mut b = l.as_bytes().to_vec();
                b[i] = b[i].to_ascii_uppercase();
                keys.push(String::from_utf8(b.clone()).expect("ascii"));
                b[i] = b'x';
                keys.push(String::from_utf8(b).expect("ascii"));
            }
            keys.push(format!("{l}s"));
            keys.push(l[1..].to_string());
        }
        for k in [
            "",
            "I",
            "Type",
            "type",
            "TYPE",
            "Category",
            "IPAddress",
            "IpAddress",
            "ipaddress",
            "Ä",
            "tíme",
            "@d",
            "[d",
            "Id",
            "ID",
            "iD",
        ] {
            keys.push(k.to_string());
        }
        for k in &keys {
            assert_eq!(key_use(k.as_bytes()), reference(k.as_bytes()), "{k:?}");
        }
        // Every field and every marker is reachable.
        for f in 0..N {
            assert!(
                keys.iter().any(
                    |k| matches!(key_use(k.as_bytes()), Use::Field { f: g, .. } if g as usize == f)
                ),
                "field {f}"
            );
        }
    }

    #[test]
    fn common_timestamps_read_as_parse_timestamp_reads_them() {
        let mut n = 0;
        let years = [0, 1, 1970, 1999, 2000, 2023, 2024, 2100, 2400, 1900, 9999];
        for y in years {
            for m in [0, 1, 2, 3, 4, 9, 12, 13] {
                for d in [0, 1, 28, 29, 30, 31, 32] {
                    for (h, mi, s) in [(0, 0, 0), (23, 59, 59), (24, 0, 0), (12, 60, 0), (1, 2, 60)]
                    {
                        for frac in [
                            "",
                            ".5",
                            ".0000595",
                            ".123456789",
                            ".1234567890",
                            ".",
                            ".12a",
                        ] {
                            let t = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}Z");
                            let fast = utc_timestamp(t.as_bytes());
                            if let Some(ts) = fast {
                                assert_eq!(Some(ts), parse_timestamp(&t), "{t}");
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(n > 1000, "{n}");
        for other in [
            "2024-05-01T10:00:00+00:00",
            "2024-05-01 10:00:00Z",
            "2024-05-01t10:00:00z",
            " 2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.Z",
            "+2024-05-01T10:00:00Z",
            "2024-05-01T10:00Z",
        ] {
            assert_eq!(utc_timestamp(other.as_bytes()), None, "{other}");
        }
    }
}
