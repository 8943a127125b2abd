//! Findings: what a detection reports. The serialized form is the stable
//! output contract documented in `docs/OUTPUT.md`.

use crate::time::Timestamp;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Finding severity, highest first in [`Ord`] terms (`Critical > Low`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The seed query's `SuspicionScore` spelling (`Critical`, `High`, …).
    pub fn seed_name(self) -> &'static str {
        match self {
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity `{s}` (expected critical, high, medium or low)"
            )),
        }
    }
}

fn ts<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::format_rfc3339(*t))
}

fn ts_opt<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ts(t, s),
        None => s.serialize_none(),
    }
}

/// The busiest window of a sliding-window episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeakWindow {
    /// First event in the window.
    #[serde(serialize_with = "ts")]
    pub start: Timestamp,
    /// Last event in the window.
    #[serde(serialize_with = "ts")]
    pub end: Timestamp,
    /// Distinct accounts in the window.
    pub unique_usernames: u64,
    /// Events in the window.
    pub total_failures: u64,
}

/// A reference to an input record that contributed to a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Event time.
    #[serde(serialize_with = "ts")]
    pub time: Timestamp,
    /// Account.
    pub user: Option<String>,
    /// Result code.
    pub result_code: Option<String>,
    /// Application.
    pub app: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Input file path.
    pub file: String,
    /// Line / record number in that file.
    pub record: u64,
}

/// One detection result for one key (source) and one episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable identifier: a hash of detection, profile, key and first event time.
    pub id: String,
    /// Rule id (`auth_username_enumeration`, …).
    pub detection: String,
    /// Profile the rule belongs to (`seed` or `recommended`).
    pub profile: String,
    /// Severity.
    pub severity: Severity,
    /// Source address (or workstation name when the log has no address).
    pub source_ip: Option<String>,
    /// Application (seed: the group key; recommended: the only app, else null).
    pub app: Option<String>,
    /// First event of the episode.
    #[serde(serialize_with = "ts")]
    pub first_seen: Timestamp,
    /// Last event of the episode.
    #[serde(serialize_with = "ts")]
    pub last_seen: Timestamp,
    /// Detection time (the seed's `DetectionTime = LastSeen`).
    #[serde(serialize_with = "ts")]
    pub detection_time: Timestamp,
    /// Distinct accounts probed.
    pub unique_usernames: u64,
    /// Probe events counted.
    pub total_failures: u64,
    /// Probe events with a "user does not exist" code.
    pub username_not_found_count: u64,
    /// Distinct accounts per minute (`round(…, 2)`).
    pub enum_rate: f64,
    /// Minute boundaries between first and last event (KQL `datetime_diff`).
    pub duration_minutes: i64,
    /// Accounts probed (first seen first), capped.
    pub user_list: Vec<String>,
    /// Result codes seen.
    pub error_codes: Vec<String>,
    /// All group-key values by key field name.
    pub key: BTreeMap<String, Option<String>>,
    /// Rule-specific measures and context (differential, exposed identities,
    /// seed columns, …), flattened into the serialized finding.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
    /// The sliding window with most distinct accounts (recommended profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_window: Option<PeakWindow>,
    /// When the threshold was first crossed (recommended profile).
    #[serde(serialize_with = "ts_opt", skip_serializing_if = "Option::is_none")]
    pub threshold_crossed_at: Option<Timestamp>,
    /// First contributing records.
    pub evidence: Vec<Evidence>,
}
