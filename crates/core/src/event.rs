//! The normalized identity event and the field vocabulary rules address.

use crate::time::Timestamp;
use std::fmt;
use std::str::FromStr;

/// What kind of record an event came from. Rules select events by kind.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum EventKind {
    /// An interactive or non-interactive *user* sign-in (Entra ID).
    #[serde(rename = "entra_signin")]
    EntraSignIn,
    /// A service-principal sign-in: recognised and counted, never evaluated
    /// as a user sign-in.
    #[serde(rename = "entra_service_principal_signin")]
    EntraServicePrincipalSignIn,
    /// A managed-identity sign-in: recognised and counted, never evaluated.
    #[serde(rename = "entra_managed_identity_signin")]
    EntraManagedIdentitySignIn,
    /// An Entra ID directory audit record (AuditLogs / directoryAudits).
    #[serde(rename = "entra_audit")]
    EntraAudit,
    /// A Windows Security log event.
    #[serde(rename = "windows_security")]
    WindowsSecurity,
}

impl EventKind {
    /// Stable snake-case name, as used in summaries and rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::EntraSignIn => "entra_signin",
            EventKind::EntraServicePrincipalSignIn => "entra_service_principal_signin",
            EventKind::EntraManagedIdentitySignIn => "entra_managed_identity_signin",
            EventKind::EntraAudit => "entra_audit",
            EventKind::WindowsSecurity => "windows_security",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Canonical table names (the Log Analytics names, whatever the input shape).
pub mod table {
    /// Interactive user sign-ins.
    pub const SIGNIN_LOGS: &str = "SigninLogs";
    /// Non-interactive user sign-ins.
    pub const NON_INTERACTIVE: &str = "AADNonInteractiveUserSignInLogs";
    /// Service-principal sign-ins.
    pub const SERVICE_PRINCIPAL: &str = "AADServicePrincipalSignInLogs";
    /// Managed-identity sign-ins.
    pub const MANAGED_IDENTITY: &str = "AADManagedIdentitySignInLogs";
    /// Directory audit logs.
    pub const AUDIT_LOGS: &str = "AuditLogs";
    /// Windows Security events.
    pub const SECURITY_EVENT: &str = "SecurityEvent";
}

/// Where an event came from: the index of its input file in the run and its
/// 1-based line or record number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Origin {
    /// Index into the run's list of input files.
    pub file: u32,
    /// 1-based line (text formats) or record (arrays, EVTX) number.
    pub record: u64,
}

/// One normalized identity event. Readers fill what their format carries;
/// everything else stays `None`. Strings are kept as the log wrote them
/// except where noted (status codes are canonical lower-case hex, source
/// addresses have IPv4-mapped prefixes removed).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event time (UTC).
    pub time: Timestamp,
    /// Record kind.
    pub kind: EventKind,
    /// Canonical table name (see [`table`]).
    pub table: &'static str,
    /// File and record number.
    pub origin: Origin,
    /// The account as written (UPN, SAM name, or typed string).
    pub user: Option<String>,
    /// Source address (IP), normalized.
    pub source_ip: Option<String>,
    /// Source address exactly as the log wrote it (seed rules group by it,
    /// as Sentinel would: no trimming, no IPv4-mapped or port handling).
    pub source_ip_raw: Option<String>,
    /// Result / error code: Entra `ResultType` as a decimal string, Windows
    /// `Status` as lower-case hex (`0x6`, `0xc000006d`).
    pub result_code: Option<String>,
    /// Result description / failure reason text.
    pub result_description: Option<String>,
    /// Application display name.
    pub app: Option<String>,
    /// Application (client) id.
    pub app_id: Option<String>,
    /// Resource display name.
    pub resource: Option<String>,
    /// Client app used (Browser, Exchange ActiveSync, …).
    pub client_app: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Authentication protocol (ropc, oAuth2, …).
    pub auth_protocol: Option<String>,
    /// Authentication requirement (singleFactorAuthentication, …).
    pub auth_requirement: Option<String>,
    /// Autonomous system number, when the log has it.
    pub asn: Option<String>,
    /// Request identifier used to collapse Azure Monitor multi-row
    /// duplicates (`OriginalRequestId`, else the record `Id`).
    pub request_id: Option<String>,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// Audit: `OperationName` (Log Analytics) or activity display name.
    pub operation: Option<String>,
    /// Audit: `ActivityDisplayName`.
    pub activity: Option<String>,
    /// Audit: `Result` (success, failure, …).
    pub result: Option<String>,
    /// Audit: `ResultReason`.
    pub result_reason: Option<String>,
    /// Audit: `LoggedByService`.
    pub logged_by_service: Option<String>,
    /// Audit: `TargetResources[0].userPrincipalName`.
    pub target_user: Option<String>,
    /// Windows: event id as decimal text (`4625`).
    pub event_id: Option<String>,
    /// Windows: 4625 `SubStatus`, lower-case hex.
    pub sub_status: Option<String>,
    /// Windows: workstation name (`WorkstationName` or 4776 `Workstation`).
    pub workstation: Option<String>,
    /// Windows: computer that logged the event (usually a DC).
    pub host: Option<String>,
    /// Windows: logon type.
    pub logon_type: Option<String>,
    /// Windows: target domain.
    pub domain: Option<String>,
    /// Windows: Kerberos pre-authentication type.
    pub pre_auth_type: Option<String>,
    /// Derived by [`Event::derive`]: the source's /24 (IPv4) or /64 (IPv6).
    pub source_subnet: Option<String>,
    /// Derived by [`Event::derive`]: the UTC hour of the event
    /// (`2024-05-01T10`).
    pub hour: Option<String>,
}

impl Event {
    /// A new event with only the mandatory parts set.
    pub fn new(time: Timestamp, kind: EventKind, table: &'static str, origin: Origin) -> Self {
        Event {
            time,
            kind,
            table,
            origin,
            user: None,
            source_ip: None,
            source_ip_raw: None,
            result_code: None,
            result_description: None,
            app: None,
            app_id: None,
            resource: None,
            client_app: None,
            user_agent: None,
            auth_protocol: None,
            auth_requirement: None,
            asn: None,
            request_id: None,
            correlation_id: None,
            operation: None,
            activity: None,
            result: None,
            result_reason: None,
            logged_by_service: None,
            target_user: None,
            event_id: None,
            sub_status: None,
            workstation: None,
            host: None,
            logon_type: None,
            domain: None,
            pre_auth_type: None,
            source_subnet: None,
            hour: None,
        }
    }

    /// Fills the derived fields (`source_subnet`, `hour`). Idempotent.
    pub fn derive(&mut self) {
        if self.source_subnet.is_none() {
            self.source_subnet = self.source_ip.as_deref().and_then(crate::text::subnet_of);
        }
        if self.hour.is_none() {
            let s = self.time.to_string();
            self.hour = s.get(..13).map(str::to_string);
        }
    }

    /// The value of a field, `None` when absent. Derived fields (`source`)
    /// are computed here.
    pub fn get(&self, field: Field) -> Option<&str> {
        let v = match field {
            Field::Table => return Some(self.table),
            Field::Kind => return Some(self.kind.as_str()),
            Field::User => &self.user,
            Field::SourceIp => &self.source_ip,
            Field::SourceIpRaw => &self.source_ip_raw,
            Field::Source => {
                return self.source_ip.as_deref().or(self.workstation.as_deref());
            }
            Field::ResultCode => &self.result_code,
            Field::ResultDescription => &self.result_description,
            Field::App => &self.app,
            Field::AppId => &self.app_id,
            Field::Resource => &self.resource,
            Field::ClientApp => &self.client_app,
            Field::UserAgent => &self.user_agent,
            Field::AuthProtocol => &self.auth_protocol,
            Field::AuthRequirement => &self.auth_requirement,
            Field::Asn => &self.asn,
            Field::RequestId => &self.request_id,
            Field::CorrelationId => &self.correlation_id,
            Field::Operation => &self.operation,
            Field::Activity => &self.activity,
            Field::Result => &self.result,
            Field::ResultReason => &self.result_reason,
            Field::LoggedByService => &self.logged_by_service,
            Field::TargetUser => &self.target_user,
            Field::EventId => &self.event_id,
            Field::SubStatus => &self.sub_status,
            Field::Workstation => &self.workstation,
            Field::Host => &self.host,
            Field::LogonType => &self.logon_type,
            Field::Domain => &self.domain,
            Field::PreAuthType => &self.pre_auth_type,
            Field::SourceSubnet => &self.source_subnet,
            Field::Hour => &self.hour,
        };
        v.as_deref()
    }
}

macro_rules! fields {
    ($($(#[$doc:meta])* $var:ident => $name:literal),* $(,)?) => {
        /// A canonical event field, addressed by name in rule files.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $($(#[$doc])* $var),*
        }
        impl Field {
            /// Every field, in declaration order.
            pub const ALL: &'static [Field] = &[$(Field::$var),*];
            /// The snake-case name used in rule files and mapping tables.
            pub fn name(self) -> &'static str {
                match self { $(Field::$var => $name),* }
            }
        }
        impl FromStr for Field {
            type Err = UnknownField;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($name => Ok(Field::$var),)* _ => Err(UnknownField(s.to_string())) }
            }
        }
    };
}

fields! {
    /// Canonical table name.
    Table => "table",
    /// Event kind.
    Kind => "kind",
    /// Account as written.
    User => "user",
    /// Source IP address.
    SourceIp => "source_ip",
    /// Source IP address exactly as written in the log.
    SourceIpRaw => "source_ip_raw",
    /// Source IP, or the workstation name when there is no address.
    Source => "source",
    /// Result / status code.
    ResultCode => "result_code",
    /// Result description.
    ResultDescription => "result_description",
    /// Application display name.
    App => "app",
    /// Application id.
    AppId => "app_id",
    /// Resource display name.
    Resource => "resource",
    /// Client app used.
    ClientApp => "client_app",
    /// User agent.
    UserAgent => "user_agent",
    /// Authentication protocol.
    AuthProtocol => "auth_protocol",
    /// Authentication requirement.
    AuthRequirement => "auth_requirement",
    /// Autonomous system number.
    Asn => "asn",
    /// Request id (dedup).
    RequestId => "request_id",
    /// Correlation id.
    CorrelationId => "correlation_id",
    /// Audit operation name.
    Operation => "operation",
    /// Audit activity display name.
    Activity => "activity",
    /// Audit result.
    Result => "result",
    /// Audit result reason.
    ResultReason => "result_reason",
    /// Audit logged-by service.
    LoggedByService => "logged_by_service",
    /// Audit target user.
    TargetUser => "target_user",
    /// Windows event id.
    EventId => "event_id",
    /// Windows 4625 sub-status.
    SubStatus => "sub_status",
    /// Windows workstation name.
    Workstation => "workstation",
    /// Windows computer that logged the event.
    Host => "host",
    /// Windows logon type.
    LogonType => "logon_type",
    /// Windows target domain.
    Domain => "domain",
    /// Kerberos pre-authentication type.
    PreAuthType => "pre_auth_type",
    /// The source's /24 (IPv4) or /64 (IPv6) network (derived).
    SourceSubnet => "source_subnet",
    /// UTC hour of the event, `YYYY-MM-DDTHH` (derived).
    Hour => "hour",
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e: UnknownField| {
            let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
            serde::de::Error::custom(format!("{e}; known fields: {}", names.join(", ")))
        })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for a field name no rule may use.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown field `{0}`")]
pub struct UnknownField(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_round_trip() {
        for f in Field::ALL {
            assert_eq!(f.name().parse::<Field>().ok(), Some(*f));
        }
        assert!("nope".parse::<Field>().is_err());
    }

    #[test]
    fn source_falls_back_to_workstation() {
        let mut e = Event::new(
            Timestamp::UNIX_EPOCH,
            EventKind::WindowsSecurity,
            table::SECURITY_EVENT,
            Origin::default(),
        );
        e.workstation = Some("KALI".into());
        assert_eq!(e.get(Field::Source), Some("KALI"));
        e.source_ip = Some("10.0.0.5".into());
        assert_eq!(e.get(Field::Source), Some("10.0.0.5"));
    }
}
