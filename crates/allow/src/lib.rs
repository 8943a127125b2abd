//! Allowlists: the principled answer to the seed's five false positives
//! (authorised penetration tests, misconfigured apps cycling user lists,
//! helpdesk SSPR tools, password-expiry notifiers, onboarding scripts).
//!
//! An allowlist is a TOML file of `[[allow]]` entries. Each entry has a
//! mandatory `reason`, an optional `expires` date (an expired entry warns
//! and no longer applies), and matchers: `detections`, `cidrs`, `app_ids`,
//! `user_agents` (glob patterns), `accounts` (glob patterns). A finding is
//! suppressed only when an entry covers **all** of it: its source is in a
//! listed range, every app id / user agent / account it reports matches, and
//! (unless `allow_credential_confirmed = true`) no credential was confirmed.
//! A partly covered finding stays a finding. Suppressed findings are never
//! dropped silently: they are returned with the entry that matched.
//!
//! ```toml
//! [[allow]]
//! name = "redteam-q2"
//! reason = "Authorised penetration test, ticket SEC-1234"
//! expires = "2024-06-30"
//! cidrs = ["203.0.113.0/24"]
//! detections = ["auth_username_enumeration", "password_spray"]
//! ```

use idrecon_core::Finding;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::IpAddr;
use wildmatch::WildMatch;

/// Errors reading an allowlist.
#[derive(Debug, thiserror::Error)]
pub enum AllowError {
    /// The file could not be read.
    #[error("cannot read allowlist {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The TOML is invalid.
    #[error("allowlist {path}: {message}")]
    Parse {
        /// File path.
        path: String,
        /// Parser message with line and column.
        message: String,
    },
    /// An entry is invalid.
    #[error("allowlist {path}, entry `{entry}`: {message}")]
    Entry {
        /// File path.
        path: String,
        /// Entry name.
        entry: String,
        /// What is wrong and what to do.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    allow: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: Option<String>,
    reason: Option<String>,
    expires: Option<String>,
    #[serde(default)]
    detections: Vec<String>,
    #[serde(default)]
    cidrs: Vec<String>,
    #[serde(default)]
    app_ids: Vec<String>,
    #[serde(default)]
    user_agents: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    allow_credential_confirmed: bool,
}

/// One validated allowlist entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Entry name (defaults to `entry-N`).
    pub name: String,
    /// Why the activity is allowed (mandatory).
    pub reason: String,
    /// Last day the entry applies (inclusive), `YYYY-MM-DD`.
    pub expires: Option<String>,
    /// Rule ids it applies to (all when empty).
    pub detections: Vec<String>,
    /// Source ranges.
    pub cidrs: Vec<String>,
    /// Application ids.
    pub app_ids: Vec<String>,
    /// User-agent glob patterns.
    pub user_agents: Vec<String>,
    /// Account glob patterns (case-insensitive).
    pub accounts: Vec<String>,
    /// Also suppress findings whose credentials were confirmed.
    pub allow_credential_confirmed: bool,
    #[serde(skip)]
    nets: Vec<IpNet>,
    #[serde(skip)]
    expires_date: Option<jiff::civil::Date>,
}

/// A loaded allowlist.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Allowlist {
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

/// A finding that an entry suppressed.
#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    /// The entry's name.
    pub entry: String,
    /// The entry's reason.
    pub reason: String,
    /// The finding.
    pub finding: Finding,
}

/// The result of applying an allowlist.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    /// Findings that remain.
    pub findings: Vec<Finding>,
    /// Findings suppressed, with the entry that matched.
    pub suppressed: Vec<Suppressed>,
    /// Warnings (expired entries).
    pub warnings: Vec<String>,
    /// Suppressions per entry name, in entry order (entries that matched
    /// nothing are listed with 0).
    pub counts: Vec<(String, u64)>,
}

impl Allowlist {
    /// Reads and validates an allowlist file.
    pub fn from_path(path: &std::path::Path) -> Result<Allowlist, AllowError> {
        let text = std::fs::read_to_string(path).map_err(|source| AllowError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates allowlist text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Allowlist, AllowError> {
        let file: File = toml::from_str(text).map_err(|e| AllowError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        let mut entries = Vec::new();
        for (i, r) in file.allow.into_iter().enumerate() {
            let name = r.name.clone().unwrap_or_else(|| format!("entry-{}", i + 1));
            let err = |m: String| AllowError::Entry {
                path: origin.to_string(),
                entry: name.clone(),
                message: m,
            };
            let reason = r.reason.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
                err("`reason` is mandatory: say who authorised this and why".into())
            })?;
            if r.cidrs.is_empty()
                && r.app_ids.is_empty()
                && r.user_agents.is_empty()
                && r.accounts.is_empty()
            {
                return Err(err(
                    "an entry needs at least one of cidrs, app_ids, user_agents, accounts (a detection alone would suppress every finding)".into(),
                ));
            }
            let nets = r
                .cidrs
                .iter()
                .map(|c| {
                    parse_net(c)
                        .ok_or_else(|| err(format!("`{c}` is not an IP address or CIDR range")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let expires_date = match &r.expires {
                Some(d) => Some(d.parse::<jiff::civil::Date>().map_err(|_| {
                    err(format!(
                        "`expires = \"{d}\"` is not a date (use YYYY-MM-DD)"
                    ))
                })?),
                None => None,
            };
            entries.push(Entry {
                name,
                reason,
                expires: r.expires,
                detections: r.detections,
                cidrs: r.cidrs,
                app_ids: r.app_ids,
                user_agents: r.user_agents,
                accounts: r.accounts,
                allow_credential_confirmed: r.allow_credential_confirmed,
                nets,
                expires_date,
            });
        }
        Ok(Allowlist { entries })
    }

    /// Applies the allowlist on `today` (expiry is checked against it).
    pub fn apply(&self, findings: Vec<Finding>, today: jiff::civil::Date) -> Applied {
        let mut out = Applied::default();
        let active: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| {
                let expired = e.expires_date.is_some_and(|d| d < today);
                if expired {
                    out.warnings.push(format!(
                        "allowlist entry `{}` expired on {} and no longer applies",
                        e.name,
                        e.expires.as_deref().unwrap_or("?")
                    ));
                }
                !expired
            })
            .collect();
        let mut counts: Vec<u64> = vec![0; self.entries.len()];
        for f in findings {
            match active.iter().find(|e| e.covers(&f)) {
                Some(e) => {
                    if let Some(i) = self.entries.iter().position(|x| x.name == e.name) {
                        counts[i] += 1;
                    }
                    out.suppressed.push(Suppressed {
                        entry: e.name.clone(),
                        reason: e.reason.clone(),
                        finding: f,
                    });
                }
                None => out.findings.push(f),
            }
        }
        out.counts = self
            .entries
            .iter()
            .map(|e| e.name.clone())
            .zip(counts)
            .collect();
        out
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.trim()
        .parse::<IpNet>()
        .ok()
        .or_else(|| s.trim().parse::<IpAddr>().ok().map(IpNet::from))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Entry {
    /// True when the entry covers the whole finding.
    pub fn covers(&self, f: &Finding) -> bool {
        if !self.detections.is_empty() && !self.detections.contains(&f.detection) {
            return false;
        }
        let confirmed = strings(f.extra.get("credential_confirmed_accounts"));
        if !confirmed.is_empty() && !self.allow_credential_confirmed {
            return false;
        }
        if !self.nets.is_empty() {
            let ips: Vec<String> = match f.extra.get("members") {
                Some(_) => strings(f.extra.get("members")),
                None => f.source_ip.iter().cloned().collect(),
            };
            if ips.is_empty()
                || !ips.iter().all(|ip| {
                    ip.parse::<IpAddr>()
                        .is_ok_and(|a| self.nets.iter().any(|n| n.contains(&a)))
                })
            {
                return false;
            }
        }
        if !self.app_ids.is_empty() {
            let apps = strings(f.extra.get("app_ids"));
            if apps.is_empty()
                || !apps
                    .iter()
                    .all(|a| self.app_ids.iter().any(|x| x.eq_ignore_ascii_case(a)))
            {
                return false;
            }
        }
        if !self.user_agents.is_empty() {
            let uas = strings(f.extra.get("user_agents"));
            if uas.is_empty()
                || !uas.iter().all(|u| {
                    self.user_agents
                        .iter()
                        .any(|p| WildMatch::new(p).matches(u))
                })
            {
                return false;
            }
        }
        if !self.accounts.is_empty() {
            let mut accts = f.user_list.clone();
            accts.extend(strings(f.extra.get("valid_accounts")));
            accts.extend(confirmed);
            if accts.is_empty()
                || !accts.iter().all(|a| {
                    let a = a.to_lowercase();
                    self.accounts
                        .iter()
                        .any(|p| WildMatch::new(&p.to_lowercase()).matches(&a))
                })
            {
                return false;
            }
        }
        true
    }
}

/// The default allowlist locations, in order: `./idrecon-allowlist.toml`,
/// then `$XDG_CONFIG_HOME/idrecon/allowlist.toml` (or
/// `~/.config/idrecon/allowlist.toml`).
pub fn default_locations() -> Vec<std::path::PathBuf> {
    let mut v = vec![std::path::PathBuf::from("idrecon-allowlist.toml")];
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME") {
        v.push(std::path::PathBuf::from(x).join("idrecon/allowlist.toml"));
    } else if let Some(h) = std::env::var_os("HOME") {
        v.push(std::path::PathBuf::from(h).join(".config/idrecon/allowlist.toml"));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use idrecon_core::{Severity, Timestamp};
    use std::collections::BTreeMap;

    fn finding(ip: &str, users: &[&str], confirmed: &[&str]) -> Finding {
        let mut extra = BTreeMap::new();
        extra.insert(
            "credential_confirmed_accounts".into(),
            serde_json::json!(confirmed),
        );
        extra.insert(
            "app_ids".into(),
            serde_json::json!(["1b730954-1685-4b74-9bfd-dac224a7b894"]),
        );
        extra.insert(
            "user_agents".into(),
            serde_json::json!(["python-requests/2.31"]),
        );
        Finding {
            id: "x".into(),
            detection: "auth_username_enumeration".into(),
            profile: "recommended".into(),
            severity: Severity::Medium,
            source_ip: Some(ip.into()),
            app: None,
            first_seen: Timestamp::UNIX_EPOCH,
            last_seen: Timestamp::UNIX_EPOCH,
            detection_time: Timestamp::UNIX_EPOCH,
            unique_usernames: users.len() as u64,
            total_failures: users.len() as u64,
            username_not_found_count: 0,
            enum_rate: 0.0,
            duration_minutes: 0,
            user_list: users.iter().map(|s| s.to_string()).collect(),
            error_codes: vec![],
            key: BTreeMap::new(),
            extra,
            peak_window: None,
            threshold_crossed_at: None,
            evidence: vec![],
        }
    }

    fn day(s: &str) -> jiff::civil::Date {
        s.parse().expect("date")
    }

    const PENTEST: &str = r#"
[[allow]]
name = "pentest"
reason = "Authorised test SEC-1"
expires = "2024-06-30"
cidrs = ["203.0.113.0/24"]
"#;

    #[test]
    fn suppresses_only_fully_covered_findings() {
        let a = Allowlist::parse(PENTEST, "t").expect("parses");
        let out = a.apply(
            vec![
                finding("203.0.113.9", &["a@c.com"], &[]),
                finding("203.0.113.9", &["a@c.com"], &["a@c.com"]),
                finding("198.51.100.1", &["a@c.com"], &[]),
            ],
            day("2024-05-01"),
        );
        assert_eq!(out.suppressed.len(), 1);
        assert_eq!(
            out.findings.len(),
            2,
            "confirmed credentials and other ranges stay"
        );
        assert_eq!(out.counts, vec![("pentest".to_string(), 1)]);
    }

    #[test]
    fn expired_entries_warn_and_do_not_apply() {
        let a = Allowlist::parse(PENTEST, "t").expect("parses");
        let out = a.apply(
            vec![finding("203.0.113.9", &["a@c.com"], &[])],
            day("2024-07-01"),
        );
        assert!(out.suppressed.is_empty());
        assert_eq!(out.warnings.len(), 1);
        // The expiry day itself still applies.
        assert_eq!(
            a.apply(vec![finding("203.0.113.9", &[], &[])], day("2024-06-30"))
                .suppressed
                .len(),
            1
        );
    }

    #[test]
    fn matchers_require_every_value() {
        let a = Allowlist::parse(
            r#"[[allow]]
reason = "onboarding script"
user_agents = ["python-requests/*"]
accounts = ["*@c.com"]
"#,
            "t",
        )
        .expect("parses");
        assert_eq!(
            a.apply(
                vec![finding("1.2.3.4", &["A@C.com", "b@c.com"], &[])],
                day("2024-01-01")
            )
            .suppressed
            .len(),
            1
        );
        assert!(
            a.apply(
                vec![finding("1.2.3.4", &["a@c.com", "x@evil.com"], &[])],
                day("2024-01-01")
            )
            .suppressed
            .is_empty()
        );
    }

    #[test]
    fn invalid_entries_say_what_to_do() {
        let e = Allowlist::parse("[[allow]]\ncidrs=[\"10.0.0.0/8\"]\n", "f.toml")
            .expect_err("no reason");
        assert!(e.to_string().contains("`reason` is mandatory"), "{e}");
        let e = Allowlist::parse("[[allow]]\nreason=\"x\"\n", "f.toml").expect_err("no matcher");
        assert!(e.to_string().contains("at least one of"), "{e}");
        let e = Allowlist::parse(
            "[[allow]]\nreason=\"x\"\ncidrs=[\"10.0.0.0/33\"]\n",
            "f.toml",
        )
        .expect_err("bad cidr");
        assert!(e.to_string().contains("not an IP"), "{e}");
        let e = Allowlist::parse(
            "[[allow]]\nreason=\"x\"\ncidrs=[\"10.0.0.0/8\"]\nexpires=\"soon\"\n",
            "f.toml",
        )
        .expect_err("bad date");
        assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
        let e = Allowlist::parse("[[allow]]\nreason=\"x\"\ncidr=[\"10.0.0.0/8\"]\n", "f.toml")
            .expect_err("typo");
        assert!(e.to_string().contains("cidr"), "{e}");
    }
}
