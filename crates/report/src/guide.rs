//! Investigation guides: ordered next steps for one finding, specific to its
//! detection and evidence, plus ready-to-run pivot queries (produced by the
//! caller, e.g. from the SIEM compilers, and passed in as [`Pivot`]s).
//!
//! The guide is stored in the finding's details as
//! `investigation: {steps: [string], pivots: [{dialect, title, query}]}`, so
//! every format carries it: JSON/NDJSON as that field, CSV in the
//! `next_steps` and `pivots` columns, the table after the findings, HTML in
//! each finding card, OCSF in `remediation.desc` (steps) and
//! `unmapped.investigation`.

use crate::formats::RuleMeta;
use idrecon_core::Finding;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The details key the guide is stored under.
pub const KEY: &str = "investigation";

/// A ready-to-run query for a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pivot {
    /// Dialect (`kql`, `spl`, `esql`, …).
    pub dialect: String,
    /// What the query shows.
    pub title: String,
    /// The query text.
    pub query: String,
}

/// The investigation guide of one finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guide {
    /// Ordered next steps.
    pub steps: Vec<String>,
    /// Pivot queries (empty without `--pivot`).
    pub pivots: Vec<Pivot>,
}

/// The guide stored in a finding, if any.
pub fn of(f: &Finding) -> Option<Guide> {
    f.extra
        .get(KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Computes the guide of `f` and stores it in its details.
pub fn attach(f: &mut Finding, meta: Option<&RuleMeta>, pivots: Vec<Pivot>) {
    let g = Guide {
        steps: steps(f, meta, !pivots.is_empty()),
        pivots,
    };
    if let Ok(v) = serde_json::to_value(&g) {
        f.extra.insert(KEY.to_string(), v);
    }
}

fn strings(f: &Finding, key: &str) -> Vec<String> {
    match f.extra.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn num(f: &Finding, key: &str) -> Option<f64> {
    f.extra.get(key).and_then(Value::as_f64)
}

/// `a, b, c and 4 more`.
fn list(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

fn is_windows(f: &Finding) -> bool {
    f.extra.contains_key("hosts") || f.extra.contains_key("event_ids")
}

/// What the finding's source is, for the "block" step.
fn source_phrase(f: &Finding) -> String {
    let src = f.source_ip.clone().unwrap_or_else(|| "-".to_string());
    let key_field = f.key.keys().next().map(String::as_str).unwrap_or("");
    let members = strings(f, "members");
    match key_field {
        "source_subnet" => format!(
            "the network {src} ({} member addresses: {})",
            members.len(),
            list(&members, 8)
        ),
        "asn" => format!(
            "autonomous system {src} ({} member addresses: {})",
            members.len(),
            list(&members, 8)
        ),
        "user_agent" => format!(
            "the {} addresses sharing the user agent `{src}` ({})",
            members.len(),
            list(&members, 8)
        ),
        "source_ip_set" => format!(
            "the {} addresses that worked through the same account list ({})",
            members.len(),
            list(&members, 8)
        ),
        "" if f.source_ip.is_none() => format!(
            "the {} addresses of this tenant-wide surge ({})",
            members.len(),
            list(&members, 8)
        ),
        _ if src.parse::<std::net::IpAddr>().is_ok() => format!("the address {src}"),
        _ => format!("the host {src}"),
    }
}

/// The ordered next steps for a finding.
pub fn steps(f: &Finding, meta: Option<&RuleMeta>, has_pivots: bool) -> Vec<String> {
    let mut out = Vec::new();
    let confirmed = strings(f, "credential_confirmed_accounts");
    let valid = strings(f, "valid_accounts");
    let exposed: Vec<String> = valid
        .iter()
        .filter(|v| !confirmed.iter().any(|c| c.eq_ignore_ascii_case(v)))
        .cloned()
        .collect();
    let source = source_phrase(f);
    let det = f.detection.as_str();
    let windows = is_windows(f);

    // 1. Contain what is already lost.
    if !confirmed.is_empty() {
        let how = match f.extra.get("credential_confirmed_signins") {
            Some(Value::Array(s)) if !s.is_empty() => {
                let parts: Vec<String> = s
                    .iter()
                    .take(5)
                    .map(|x| {
                        let g = |k: &str| x.get(k).and_then(Value::as_str).unwrap_or("");
                        format!(
                            "{} (code {} at {}{})",
                            g("account"),
                            g("result_code"),
                            g("time"),
                            match g("app") {
                                "" => String::new(),
                                a => format!(" to {a}"),
                            }
                        )
                    })
                    .collect();
                format!(" Confirming sign-ins: {}.", parts.join("; "))
            }
            _ => String::new(),
        };
        let reset = if windows {
            "Reset the passwords of the credential-confirmed accounts and purge their Kerberos tickets (klist purge / reset twice for service accounts)"
        } else {
            "Reset the passwords of the credential-confirmed accounts, revoke their sessions and refresh tokens (Revoke-MgUserSignInSession) and require MFA re-registration"
        };
        out.push(format!(
            "{reset}: {} — the attacker knows these passwords.{how}",
            list(&confirmed, 25)
        ));
        out.push(format!(
            "Review every sign-in of {} since {} from any source: a success elsewhere means the account is in use by the attacker; check mailbox rules, MFA methods and app consents added since then.",
            list(&confirmed, 10),
            f.first_seen
        ));
    }
    if det == "mfa_sweep" {
        let sf = strings(f, "single_factor_success_apps");
        let sfc = strings(f, "single_factor_success_client_apps");
        if !sf.is_empty() || !sfc.is_empty() {
            out.push(format!(
                "Close the single-factor paths that accepted the password: require MFA (Conditional Access) for {}{}; block legacy authentication.",
                list(&sf, 10),
                if sfc.is_empty() {
                    String::new()
                } else {
                    format!(" and the client apps {}", list(&sfc, 10))
                }
            ));
        }
        let user = strings(f, "user");
        if confirmed.is_empty() && !user.is_empty() {
            out.push(format!(
                "Treat the password of {} as known (the sweep needs a working password): reset it and revoke sessions.",
                user.join(", ")
            ));
        }
    }
    if det == "sspr_enumeration" {
        out.push(
            "Check the SSPR audit trail of every target for completed resets or unlocks (\"Reset password (self-service)\", \"User submitted a new password\"): a completed reset from this source is an account takeover."
                .to_string(),
        );
    }

    // 2. Stop the source.
    let block = if windows {
        format!(
            "Investigate {source} (the machine that sent the requests{}): isolate it unless it is an authorised vulnerability-scanning host, and block it at the domain controllers' firewall.",
            match strings(f, "hosts").as_slice() {
                [] => String::new(),
                h => format!("; logged by {}", list(h, 5)),
            }
        )
    } else if f.source_ip.is_none()
        && f.key.is_empty()
        && num(f, "max_users_per_source").unwrap_or(0.0) * 2.0 >= f.unique_usernames as f64
    {
        let members = strings(f, "members");
        format!(
            "One source sent most of this surge (up to {} of its {} accounts; sources: {}): it is reported per source too (auth_username_enumeration) — block it, and check the other sources of the bucket.",
            num(f, "max_users_per_source").unwrap_or(0.0),
            f.unique_usernames,
            list(&members, 8)
        )
    } else if f.source_ip.is_none() && f.key.is_empty() {
        format!(
            "Blocking addresses does little against {source}: most send one or two requests. Check their autonomous systems{} and user agents for a proxy or botnet provider to block as a whole, and require compliant devices or phishing-resistant MFA for sign-ins from unmanaged networks.",
            match strings(f, "asns").as_slice() {
                [] => String::new(),
                a => format!(" ({})", list(a, 5)),
            }
        )
    } else {
        format!(
            "Block {source} (Conditional Access named location marked untrusted, or firewall/WAF) and check whether it is a known proxy, VPN or cloud range{}.",
            match strings(f, "user_agents").as_slice() {
                [] => String::new(),
                ua => format!("; it used the user agent(s) {}", list(ua, 3)),
            }
        )
    };
    out.push(block);

    // 3. Protect what the attacker learnt.
    if !exposed.is_empty() {
        out.push(format!(
            "Protect the {} account(s) the responses proved exist (the attacker now has a validated target list): {}. Ensure MFA is enforced, watch them for password-spray and lockout activity, and tighten lockout (Smart Lockout / account lockout policy).",
            exposed.len(),
            list(&exposed, 25)
        ));
    }

    // 4. Detection-specific reading of the evidence.
    match (det, f.extra.get("classification").and_then(Value::as_str)) {
        (_, Some("enumeration")) => out.push(format!(
            "The differential says enumeration ({} of {} answered accounts do not exist): the source is validating a name list (T1589.002). Expect a password spray against the {} valid names next; keep the source blocked and monitor them.",
            num(f, "not_found_count").unwrap_or(0.0),
            num(f, "not_found_count").unwrap_or(0.0) + num(f, "exists_count").unwrap_or(0.0),
            valid.len()
        )),
        (_, Some("spray")) => out.push(
            "The differential says spray (the accounts exist; T1110.003): check for successful sign-ins of every sprayed account from any address after the first attempt, and for lockouts of those accounts."
                .to_string(),
        ),
        (_, Some("mixed")) => out.push(
            "The differential is mixed (existing and non-existent names): enumeration and spraying from the same source — handle both the exposed list and possible password guesses."
                .to_string(),
        ),
        _ => {}
    }
    match det {
        "kerberos_user_enumeration" => out.push(
            "List accounts without Kerberos pre-authentication (DONT_REQ_PREAUTH): valid names found here can be AS-REP roasted next."
                .to_string(),
        ),
        "kerberos_password_spray" | "ntlm_logon_enumeration" => out.push(
            "Look for 4740 (lockout) and 4624 (success) events for the targeted accounts after the first attempt, on every domain controller."
                .to_string(),
        ),
        "low_and_slow_enumeration" => out.push(format!(
            "The source kept under the hourly threshold (at most {} accounts per hour over {} active hours): hunt the same source over a longer period and in other logs.",
            num(f, "max_users_per_hour").unwrap_or(0.0),
            num(f, "active_hours").unwrap_or(0.0)
        )),
        "distributed_enumeration_surge" => out.push(format!(
            "The tenant answered {} distinct non-existent names in one bucket ({}) against a baseline of {} ± {} (over {} earlier buckets): someone is validating a name list ({} source address(es)). The names on it that exist got other answers (this rule does not count them): watch the tenant's accounts for a password spray and lockouts in the next days.",
            f.unique_usernames,
            meta.map(|m| m.window.as_str()).unwrap_or("1h"),
            num(f, "baseline_mean").unwrap_or(0.0),
            num(f, "baseline_stddev").unwrap_or(0.0),
            num(f, "baseline_buckets").unwrap_or(0.0),
            num(f, "member_count").unwrap_or(strings(f, "members").len() as f64)
        )),
        "distributed_enumeration_shared_targets" => out.push(format!(
            "{} unrelated addresses each tried exactly the same {} accounts: one actor rotating hosts between rounds. Block all of them, and treat the list as the actor's target list (expect further rounds from new hosts).",
            num(f, "member_count").unwrap_or(strings(f, "members").len() as f64),
            f.unique_usernames
        )),
        d if d.starts_with("distributed_enumeration") => out.push(format!(
            "The probing rotated across {} addresses (at most {} accounts each): block the whole cluster, not single addresses, and look for the same target list from other networks.",
            num(f, "member_count").unwrap_or(strings(f, "members").len() as f64),
            num(f, "max_users_per_source").unwrap_or(0.0)
        )),
        _ => {}
    }

    // 5. Scope, then record.
    let window = meta
        .map(|m| m.window.clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "the episode".to_string());
    out.push(format!(
        "Pivot on the source and the targeted accounts over a wider period than the rule's window ({window}; the episode ran {} to {}){}.",
        f.first_seen,
        f.last_seen,
        if has_pivots {
            " with the pivot queries below"
        } else {
            ": `--pivot kql|spl|esql|…` adds ready-to-run queries"
        }
    ));
    out.push(format!(
        "Record finding {} in the case. If the activity is an authorised exercise or a known benign system, add an allowlist entry for it instead of raising the threshold.",
        f.id
    ));
    out
}
