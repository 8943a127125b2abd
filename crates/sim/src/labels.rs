//! `labels.json`: the ground truth written next to simulated logs and read
//! by `idrecon eval`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Current labels format version.
pub const FORMAT: u32 = 1;

/// The whole labels file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Labels {
    /// Labels format version.
    pub format: u32,
    /// `idrecon simulate` and its version.
    pub generator: String,
    /// PRNG seed.
    pub seed: u64,
    /// Start of the simulated timeline (RFC 3339).
    pub start: String,
    /// Background scale factor.
    pub scale: f64,
    /// `scenarios` (one directory per scenario and shape) or `corpus` (one
    /// benchmark corpus with the scenarios embedded).
    pub mode: String,
    /// The simulated tenant and domain.
    pub tenant: TenantLabel,
    /// Scenarios, in catalogue order.
    pub scenarios: Vec<ScenarioLabel>,
    /// What to hunt together: each unit is read in one hunt.
    pub units: Vec<Unit>,
    /// Facts every reader of the labels should know.
    pub notes: Vec<String>,
}

/// The simulated tenant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TenantLabel {
    /// Entra domain.
    pub domain: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Active Directory realm.
    pub ad_realm: String,
    /// Directory users.
    pub users: usize,
    /// Users active in the background traffic.
    pub active_users: usize,
}

/// One scenario's ground truth.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioLabel {
    /// Scenario name (`seed1-ropc-enum`, …).
    pub name: String,
    /// `attack` or `benign`.
    pub kind: String,
    /// One line.
    pub title: String,
    /// What happens, which tool, which telemetry it leaves.
    pub description: String,
    /// The seed's adversary test number (1–3), if this is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_test: Option<u8>,
    /// Tools imitated.
    pub tools: Vec<String>,
    /// MITRE ATT&CK techniques.
    pub mitre: Vec<String>,
    /// Log sources written (canonical table names).
    pub sources: Vec<String>,
    /// The source keys detections group this activity by: IP addresses and,
    /// for 4776, the client-supplied workstation name.
    pub source_keys: Vec<String>,
    /// Networks of the acting sources (for allowlists and clustering).
    pub source_cidrs: Vec<String>,
    /// Accounts involved.
    pub accounts: AccountsLabel,
    /// First and last record.
    pub span: Span,
    /// First malicious (or benign-scenario) record: time to detect counts from here.
    pub activity_start: String,
    /// Records by `table:code` (Windows: `event:status[/substatus]`).
    pub events: BTreeMap<String, u64>,
    /// What each detection is expected to do, per profile.
    pub expect: Vec<Expectation>,
    /// For a benign scenario that a detection reports: the allowlist entry
    /// (issue 5) that would suppress it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowlist: Option<AllowlistHint>,
    /// Facts and caveats (unconfirmed telemetry, why a detection misses …).
    pub notes: Vec<String>,
}

/// Accounts a scenario touches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct AccountsLabel {
    /// Distinct names tried.
    pub probed: usize,
    /// Of those, real accounts.
    pub existing: usize,
    /// Of those, names that are not accounts.
    pub not_found: usize,
    /// Accounts whose password the activity proved or used.
    pub credential_confirmed: Vec<String>,
    /// Up to 10 names tried, in order.
    pub sample: Vec<String>,
}

/// A time span.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Span {
    /// First record (RFC 3339).
    pub start: String,
    /// Last record (RFC 3339).
    pub end: String,
}

/// What a detection should do on a scenario.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Expectation {
    /// Detection (rule) id.
    pub detection: String,
    /// Profile (`recommended` or `seed`).
    pub profile: String,
    /// `fire` or `silent`.
    pub outcome: String,
    /// Lowest acceptable severity when it fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<String>,
    /// The detection is planned (issue 5) and may not exist yet; when the
    /// catalogue lacks it the scenario is reported as "no detection yet".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub planned: bool,
    /// For a benign scenario expected to fire: the allowlist class that
    /// would suppress the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowlist_class: Option<String>,
    /// Event fields the detection needs; in a shape that lacks one (Graph
    /// v1.0 has no user agent or ASN) the expectation does not apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// Why.
    pub why: String,
}

/// An allowlist entry in idrecon's allowlist format (`--allowlist`):
/// source ranges, app ids, user-agent and account patterns, detections, a
/// mandatory reason and an optional expiry. `simulate` writes the entries of
/// the benign scenarios it generated to `allowlist.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AllowlistHint {
    /// Entry name: one of the seed's five false-positive classes.
    pub class: String,
    /// Why the activity is benign.
    pub reason: String,
    /// Source addresses or ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<String>,
    /// Application ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_ids: Vec<String>,
    /// User-agent glob patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_agents: Vec<String>,
    /// Account glob patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Detections it applies to.
    pub detections: Vec<String>,
    /// Last day it applies (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Also suppress findings whose credentials were confirmed (the
    /// activity legitimately uses real passwords).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_credential_confirmed: bool,
}

fn toml_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn toml_list(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter().map(|s| toml_str(s)).collect::<Vec<_>>().join(", ")
    )
}

impl AllowlistHint {
    /// The entry as TOML (`[[allow]]` table).
    pub fn to_toml(&self) -> String {
        let mut o = String::from("[[allow]]\n");
        o.push_str(&format!(
            "name = {}\nreason = {}\n",
            toml_str(&self.class),
            toml_str(&self.reason)
        ));
        if let Some(e) = &self.expires {
            o.push_str(&format!("expires = {}\n", toml_str(e)));
        }
        for (k, v) in [
            ("cidrs", &self.cidrs),
            ("app_ids", &self.app_ids),
            ("user_agents", &self.user_agents),
            ("accounts", &self.accounts),
            ("detections", &self.detections),
        ] {
            if !v.is_empty() {
                o.push_str(&format!("{k} = {}\n", toml_list(v)));
            }
        }
        if self.allow_credential_confirmed {
            o.push_str("allow_credential_confirmed = true\n");
        }
        o
    }
}

/// A set of files hunted together.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unit {
    /// Unit name (`<scenario>/<shape>`, or `corpus`).
    pub name: String,
    /// Shape name.
    pub shape: String,
    /// Scenarios whose records are in it.
    pub scenarios: Vec<String>,
    /// Files, relative to the labels file.
    pub files: Vec<FileLabel>,
}

/// One written file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileLabel {
    /// Path relative to the labels file.
    pub path: String,
    /// Shape name.
    pub shape: String,
    /// Canonical table.
    pub table: String,
    /// Records (rows) written, including Azure Monitor duplicates.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl Expectation {
    /// `fire` expectation.
    pub fn fire(detection: &str, profile: &str, min: Option<&str>, why: &str) -> Self {
        Expectation {
            detection: detection.into(),
            profile: profile.into(),
            outcome: "fire".into(),
            min_severity: min.map(str::to_string),
            planned: false,
            allowlist_class: None,
            needs: Vec::new(),
            why: why.into(),
        }
    }

    /// `silent` expectation.
    pub fn silent(detection: &str, profile: &str, why: &str) -> Self {
        Expectation {
            detection: detection.into(),
            profile: profile.into(),
            outcome: "silent".into(),
            min_severity: None,
            planned: false,
            allowlist_class: None,
            needs: Vec::new(),
            why: why.into(),
        }
    }

    /// A planned (issue 5) detection expected to fire.
    pub fn planned(detection: &str, why: &str) -> Self {
        Expectation {
            planned: true,
            ..Expectation::fire(detection, "recommended", None, why)
        }
    }

    /// The same expectation, needing these event fields.
    pub fn needing(mut self, fields: &[&str]) -> Self {
        self.needs = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// A benign scenario a detection reports and an allowlist class suppresses.
    pub fn suppressible(detection: &str, profile: &str, class: &str, why: &str) -> Self {
        Expectation {
            allowlist_class: Some(class.into()),
            ..Expectation::fire(detection, profile, None, why)
        }
    }
}
