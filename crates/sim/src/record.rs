//! The simulator's own record model: one struct per log family, written to
//! every shape by `crate::write`. No field allocates: names are shared
//! `Arc<str>`, constants are `&'static`, addresses and ids are values.

use crate::catalog::{App, Loc, Resource};
use crate::rng::Uuid;
use std::net::IpAddr;
use std::sync::Arc;

/// An Entra ID user sign-in.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// Time (ns since the epoch).
    pub time: i64,
    /// Request id (`Id`, `OriginalRequestId`, `Request ID`).
    pub id: Uuid,
    /// Correlation id.
    pub correlation_id: Uuid,
    /// Interactive (`SigninLogs`) or not (`AADNonInteractiveUserSignInLogs`).
    pub interactive: bool,
    /// The account as typed.
    pub upn: Arc<str>,
    /// Object id and display name when the account exists.
    pub user: Option<(Uuid, Arc<str>)>,
    /// Client application.
    pub app: &'static App,
    /// Resource.
    pub resource: &'static Resource,
    /// Source address.
    pub ip: IpAddr,
    /// Where the address geolocates.
    pub loc: &'static Loc,
    /// Autonomous system number.
    pub asn: u32,
    /// `ClientAppUsed`.
    pub client_app: &'static str,
    /// `UserAgent`.
    pub user_agent: Arc<str>,
    /// Device operating system.
    pub os: &'static str,
    /// Device browser.
    pub browser: &'static str,
    /// Result code (0 = success).
    pub code: u32,
    /// `AuthenticationProtocol` (`ropc`, `none`, …).
    pub protocol: &'static str,
    /// Multifactor authentication required (`AuthenticationRequirement`).
    pub mfa: bool,
    /// `ConditionalAccessStatus`.
    pub ca_status: &'static str,
    /// Processing time in milliseconds.
    pub latency_ms: u32,
    /// Azure Monitor writes this sign-in twice (the export's known
    /// duplicate rows); other shapes write it once.
    pub duplicate: bool,
}

/// An Entra ID directory audit record.
#[derive(Debug, Clone)]
pub struct Audit {
    /// Time (ns).
    pub time: i64,
    /// Record id.
    pub id: Uuid,
    /// Id prefix (`SSGM_` for self-service password management).
    pub id_prefix: &'static str,
    /// Correlation id.
    pub correlation_id: Uuid,
    /// `ActivityDisplayName` (also `OperationName`).
    pub activity: &'static str,
    /// Audit category (`UserManagement`).
    pub category: &'static str,
    /// `LoggedByService`.
    pub service: &'static str,
    /// `AADOperationType` / `operationType`.
    pub operation_type: &'static str,
    /// `success` or `failure`.
    pub result: &'static str,
    /// `ResultReason`.
    pub reason: &'static str,
    /// Initiating user (UPN, object id) and address; `None` for an app.
    pub actor: Option<(Arc<str>, Uuid, Option<IpAddr>)>,
    /// Initiating application display name (when no user).
    pub actor_app: Option<&'static str>,
    /// Target user (UPN, object id).
    pub target: (Arc<str>, Uuid),
}

/// A Windows Security log event.
#[derive(Debug, Clone)]
pub struct WinEvent {
    /// Time (ns, whole milliseconds so every shape spells it exactly).
    pub time: i64,
    /// Event id (4624, 4625, 4768, 4769, 4771, 4776).
    pub event_id: u16,
    /// `EventRecordID`, unique per computer.
    pub record_id: u64,
    /// Logging computer.
    pub computer: &'static str,
    /// `TargetUserName`.
    pub user: Arc<str>,
    /// Relative id when the account exists (SID `S-1-5-21-…-rid`).
    pub rid: Option<u32>,
    /// `IpAddress` (Kerberos events write it IPv4-mapped).
    pub ip: Option<IpAddr>,
    /// `IpPort`.
    pub port: u16,
    /// `Status` (4768 result code, 4771 failure code, 4776 error code, 4625 status).
    pub status: u32,
    /// 4625 `SubStatus`.
    pub sub_status: Option<u32>,
    /// `LogonType` (4624/4625).
    pub logon_type: Option<u8>,
    /// `WorkstationName` (4624/4625) or `Workstation` (4776).
    pub workstation: Option<Arc<str>>,
    /// `PreAuthType` (4768/4771); `None` writes `-`.
    pub pre_auth: Option<u8>,
    /// `TicketEncryptionType` (4768/4769).
    pub enc_type: u32,
    /// Service name (4769: the service account).
    pub service: Option<Arc<str>>,
}

/// One simulated record.
#[derive(Debug, Clone)]
pub enum Record {
    /// Entra sign-in.
    SignIn(SignIn),
    /// Entra audit.
    Audit(Audit),
    /// Windows Security event.
    Win(WinEvent),
}

impl Record {
    /// Record time (ns).
    pub fn time(&self) -> i64 {
        match self {
            Record::SignIn(s) => s.time,
            Record::Audit(a) => a.time,
            Record::Win(w) => w.time,
        }
    }

    /// The canonical table name of the record.
    pub fn table(&self) -> &'static str {
        match self {
            Record::SignIn(s) if s.interactive => "SigninLogs",
            Record::SignIn(_) => "AADNonInteractiveUserSignInLogs",
            Record::Audit(_) => "AuditLogs",
            Record::Win(_) => "SecurityEvent",
        }
    }

    /// A short "table:code" key used in the labels' event counts.
    pub fn count_key(&self) -> String {
        match self {
            Record::SignIn(s) => format!("{}:{}", self.table(), s.code),
            Record::Audit(a) => format!("AuditLogs:{}", a.activity),
            Record::Win(w) => match w.sub_status {
                Some(sub) => format!("{}:{:#x}/{:#x}", w.event_id, w.status, sub),
                None => format!("{}:{:#x}", w.event_id, w.status),
            },
        }
    }
}

/// Sorts records by time, stably (ties keep generation order).
pub fn sort(records: &mut [Record]) {
    records.sort_by_key(Record::time);
}
