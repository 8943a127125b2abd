//! The fields every Windows shape is reduced to before normalization, and
//! the one normalization step that turns them into an [`Event`].
//!
//! Every reader (EVTX, event XML, the three JSON dialects) fills a [`Raw`]
//! with the values as the log wrote them; [`Raw::into_event`] is the only
//! place that trims, canonicalizes and decides what "absent" means, so all
//! shapes of one record give the same event.

use idrecon_core::event::table;
use idrecon_core::text::{normalize_ip, normalize_status};
use idrecon_core::{Event, EventKind, Origin, Timestamp, parse_timestamp};
use std::borrow::Cow;

/// The `EventData` fields idrecon uses (Windows names, as in
/// `<Data Name="…">`, `winlog.event_data.*` and the SecurityEvent columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    TargetUserName,
    TargetDomainName,
    IpAddress,
    Status,
    SubStatus,
    WorkstationName,
    Workstation,
    LogonType,
    PreAuthType,
    AuthenticationPackageName,
    PackageName,
    ServiceName,
    FailureReason,
}

impl Key {
    pub(crate) const ALL: [Key; 13] = [
        Key::TargetUserName,
        Key::TargetDomainName,
        Key::IpAddress,
        Key::Status,
        Key::SubStatus,
        Key::WorkstationName,
        Key::Workstation,
        Key::LogonType,
        Key::PreAuthType,
        Key::AuthenticationPackageName,
        Key::PackageName,
        Key::ServiceName,
        Key::FailureReason,
    ];

    /// The Windows field name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::TargetUserName => "TargetUserName",
            Key::TargetDomainName => "TargetDomainName",
            Key::IpAddress => "IpAddress",
            Key::Status => "Status",
            Key::SubStatus => "SubStatus",
            Key::WorkstationName => "WorkstationName",
            Key::Workstation => "Workstation",
            Key::LogonType => "LogonType",
            Key::PreAuthType => "PreAuthType",
            Key::AuthenticationPackageName => "AuthenticationPackageName",
            Key::PackageName => "PackageName",
            Key::ServiceName => "ServiceName",
            Key::FailureReason => "FailureReason",
        }
    }

    /// The key for a Windows field name (exact, case-sensitive as Windows
    /// writes them).
    pub(crate) fn from_name(name: &str) -> Option<Key> {
        Some(match name {
            "TargetUserName" => Key::TargetUserName,
            "TargetDomainName" => Key::TargetDomainName,
            "IpAddress" => Key::IpAddress,
            "Status" => Key::Status,
            "SubStatus" => Key::SubStatus,
            "WorkstationName" => Key::WorkstationName,
            "Workstation" => Key::Workstation,
            "LogonType" => Key::LogonType,
            "PreAuthType" => Key::PreAuthType,
            "AuthenticationPackageName" => Key::AuthenticationPackageName,
            "PackageName" => Key::PackageName,
            "ServiceName" => Key::ServiceName,
            "FailureReason" => Key::FailureReason,
            _ => return None,
        })
    }
}

/// Earliest and latest accepted event times (1990-01-01, 2100-01-01), the
/// same as for Entra records.
pub(crate) const MIN_SECOND: i64 = 631_152_000;
pub(crate) const MAX_SECOND: i64 = 4_102_444_800;

/// True for values that mean "nothing here" in Windows logs.
pub(crate) fn is_blank(v: &str) -> bool {
    let t = v.trim();
    t.is_empty() || t == "-"
}

/// One Windows record's fields as the log wrote them.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Raw<'a> {
    /// Event time text and the name of the field it came from (for messages).
    pub time: Option<(Cow<'a, str>, &'static str)>,
    pub event_id: Option<Cow<'a, str>>,
    pub record_id: Option<Cow<'a, str>>,
    pub computer: Option<Cow<'a, str>>,
    /// The event time when it is known as an instant (read from an EVTX
    /// record's values, in range); it takes the place of `time`.
    pub instant: Option<Timestamp>,
    data: [Option<Cow<'a, str>>; Key::ALL.len()],
}

impl<'a> Raw<'a> {
    /// The value of an `EventData` field.
    pub(crate) fn get(&self, key: Key) -> Option<&str> {
        self.data[key as usize].as_deref()
    }

    /// Sets an `EventData` field unless it already holds a non-blank value
    /// (so earlier, more specific sources win: SecurityEvent typed columns
    /// over the `EventData` XML, the first of duplicate `<Data>` elements).
    pub(crate) fn set(&mut self, key: Key, value: Cow<'a, str>) {
        let slot = &mut self.data[key as usize];
        if slot.as_deref().is_none_or(is_blank) {
            *slot = Some(value);
        }
    }

    /// Sets a System-level field the same way as [`Raw::set`].
    pub(crate) fn set_opt(slot: &mut Option<Cow<'a, str>>, value: Cow<'a, str>) {
        if slot.as_deref().is_none_or(is_blank) {
            *slot = Some(value);
        }
    }

    /// Sets the time unless one is already there.
    pub(crate) fn set_time(&mut self, value: Cow<'a, str>, field: &'static str) {
        if self.time.as_ref().is_none_or(|(t, _)| t.trim().is_empty()) {
            self.time = Some((value, field));
        }
    }

    /// Normalizes into an event. `fallback_time` is used when the record has
    /// no time of its own (EVTX record headers carry one). `Err` is the
    /// user-facing reject reason.
    pub(crate) fn into_event(
        self,
        origin: Origin,
        fallback_time: Option<Timestamp>,
    ) -> Result<Event, String> {
        let (event_id, time) = self.checked(fallback_time)?;
        Ok(self.build(event_id, time, origin))
    }

    /// The checks of [`Raw::into_event`] (every reason it rejects a record
    /// for) and what they find: the EventID in canonical form and the event
    /// time. A record that passes them becomes an event.
    pub(crate) fn checked(
        &self,
        fallback_time: Option<Timestamp>,
    ) -> Result<(String, Timestamp), String> {
        let event_id = match self.event_id.as_deref().map(str::trim) {
            None | Some("") => return Err("missing EventID".into()),
            Some(id) => match id.parse::<u32>() {
                Ok(n) => n.to_string(),
                Err(_) => return Err(format!("EventID `{}` is not a number", clip(id))),
            },
        };
        let time = match (self.instant, &self.time) {
            (Some(instant), _) => instant,
            (None, Some((text, field))) if !text.trim().is_empty() => match parse_timestamp(text) {
                Some(ts) => ts,
                None => return Err(format!("{field} `{}` is not a timestamp", clip(text))),
            },
            (None, _) => match fallback_time {
                Some(ts) => ts,
                None => return Err("missing event time (TimeCreated SystemTime)".into()),
            },
        };
        // As for Entra records: a time outside 1990–2099 is a default or
        // corrupt value (FILETIME zero is 1601-01-01), not an event time,
        // and a far-future one would move the default evaluation time of
        // lookback rules past every real event.
        if !(MIN_SECOND..MAX_SECOND).contains(&time.as_second()) {
            let (text, field) = match &self.time {
                Some((text, field)) if !text.trim().is_empty() => (clip(text), *field),
                _ => (time.to_string(), "the EVTX record header time"),
            };
            return Err(format!(
                "timestamp out of range in {field}: `{text}` (accepted: 1990 to 2099)"
            ));
        }
        Ok((event_id, time))
    }

    /// The event of a record that passed [`Raw::checked`], with what it found.
    pub(crate) fn build(self, event_id: String, time: Timestamp, origin: Origin) -> Event {
        let mut e = Event::new(
            time,
            EventKind::WindowsSecurity,
            table::SECURITY_EVENT,
            origin,
        );
        e.event_id = Some(event_id);
        e.user = self.text(Key::TargetUserName);
        e.domain = self.text(Key::TargetDomainName);
        e.source_ip = self.get(Key::IpAddress).and_then(normalize_ip);
        e.result_code = self.status(Key::Status);
        e.sub_status = self.status(Key::SubStatus);
        e.workstation = self
            .workstation(Key::WorkstationName)
            .or_else(|| self.workstation(Key::Workstation));
        e.host = clean(self.computer.as_deref());
        e.logon_type = self.text(Key::LogonType);
        e.pre_auth_type = self.text(Key::PreAuthType);
        e.app = self
            .text(Key::AuthenticationPackageName)
            .or_else(|| self.text(Key::PackageName));
        e.resource = self.text(Key::ServiceName);
        e.result_description = self.text(Key::FailureReason);
        e.request_id = clean(self.record_id.as_deref());
        e
    }

    fn text(&self, key: Key) -> Option<String> {
        clean(self.get(key))
    }

    fn status(&self, key: Key) -> Option<String> {
        self.get(key).filter(|v| !is_blank(v)).map(normalize_status)
    }

    fn workstation(&self, key: Key) -> Option<String> {
        let v = self.get(key)?.trim().trim_start_matches('\\');
        clean(Some(v))
    }
}

/// Trimmed value, `None` for absent, empty and `-`.
fn clean(v: Option<&str>) -> Option<String> {
    v.filter(|v| !is_blank(v)).map(|v| v.trim().to_string())
}

/// A value shortened for an error message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 60;
    let s = s.trim();
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_round_trip() {
        for k in Key::ALL {
            assert_eq!(Key::from_name(k.name()), Some(k));
        }
    }

    #[test]
    fn normalizes_fields() {
        let mut r = Raw {
            event_id: Some("04625".into()),
            computer: Some(" DC01 ".into()),
            ..Raw::default()
        };
        r.set_time("2024-05-01T10:15:41.495Z".into(), "TimeCreated");
        r.set(Key::IpAddress, "::ffff:10.0.0.66".into());
        r.set(Key::Status, "0xC000006D".into());
        r.set(Key::SubStatus, "0x00000006".into());
        r.set(Key::WorkstationName, "\\\\KALI".into());
        r.set(Key::TargetUserName, "-".into());
        r.set(Key::TargetUserName, "jdoe".into());
        r.set(Key::TargetUserName, "ignored".into());
        let e = r.into_event(Origin::default(), None).expect("event");
        assert_eq!(e.event_id.as_deref(), Some("4625"));
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.66"));
        assert_eq!(e.result_code.as_deref(), Some("0xc000006d"));
        assert_eq!(e.sub_status.as_deref(), Some("0x6"));
        assert_eq!(e.workstation.as_deref(), Some("KALI"));
        assert_eq!(e.user.as_deref(), Some("jdoe"));
        assert_eq!(e.host.as_deref(), Some("DC01"));
    }

    #[test]
    fn reject_reasons() {
        let r = Raw::default();
        assert_eq!(
            r.into_event(Origin::default(), None).err().as_deref(),
            Some("missing EventID")
        );
        let r = Raw {
            event_id: Some("x".into()),
            ..Raw::default()
        };
        assert_eq!(
            r.into_event(Origin::default(), None).err().as_deref(),
            Some("EventID `x` is not a number")
        );
        let mut r = Raw {
            event_id: Some("4625".into()),
            ..Raw::default()
        };
        r.set_time("yesterday".into(), "@timestamp");
        assert_eq!(
            r.into_event(Origin::default(), None).err().as_deref(),
            Some("@timestamp `yesterday` is not a timestamp")
        );
        let mut r = Raw {
            event_id: Some("4625".into()),
            ..Raw::default()
        };
        r.set_time(
            "1601-01-01T00:00:00.0000000Z".into(),
            "TimeCreated SystemTime",
        );
        assert_eq!(
            r.into_event(Origin::default(), None).err().as_deref(),
            Some(
                "timestamp out of range in TimeCreated SystemTime: `1601-01-01T00:00:00.0000000Z` (accepted: 1990 to 2099)"
            )
        );
        let r = Raw {
            event_id: Some("4625".into()),
            ..Raw::default()
        };
        let year_2500 = Timestamp::from_second(16_725_225_600).ok();
        assert_eq!(
            r.into_event(Origin::default(), year_2500).err().as_deref(),
            Some(
                "timestamp out of range in the EVTX record header time: `2500-01-01T00:00:00Z` (accepted: 1990 to 2099)"
            )
        );
    }
}
