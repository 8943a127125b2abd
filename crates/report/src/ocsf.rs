//! OCSF Detection Finding (class_uid 2004, category_uid 2, schema 1.7.0):
//! one JSON object per finding (NDJSON).
//!
//! Mapping:
//! - `finding_info`: `uid` = finding id, `title`/`desc` from the rule,
//!   `analytic` = the rule (type Rule), `attacks[]` = MITRE ATT&CK
//!   (technique, sub-technique, tactic) from the finding's `mitre`, else the
//!   rule's, else a built-in table; first/last seen times.
//! - `evidences[]`: the attacker's endpoint (`src_endpoint.ip`, or `.hostname`
//!   for a workstation name, or `.subnet_uid` for a /24 cluster) and the first
//!   contributing records (user, user agent, result code, file and record).
//! - `observables[]`: the source (IP Address / Hostname / Subnet / HTTP
//!   User-Agent), cluster member IPs and every targeted account (User Name).
//! - `resources[]`: the targeted accounts (type `User`) with what the
//!   responses proved (`exists`, `credential_confirmed`).
//! - `severity_id`: low 2, medium 3, high 4, critical 5; times in ms since
//!   the epoch (`time` = detection time, `start_time`/`end_time`).
//! - `remediation.desc`: the investigation guide's steps; `unmapped`: the
//!   idrecon fields with no OCSF attribute (the differential, counts, pivots …).

use crate::formats::{HuntReport, RuleMeta};
use crate::{guide, mitre};
use idrecon_core::{Finding, Severity, Timestamp};
use serde_json::{Map, Value, json};

/// The OCSF schema version the output follows.
pub const OCSF_VERSION: &str = "1.7.0";

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// OCSF `severity_id` and caption.
pub fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// The ATT&CK ids for a finding: its own `mitre` list, else the rule's,
/// else the built-in table.
pub fn mitre_ids(f: &Finding, meta: Option<&RuleMeta>) -> Vec<String> {
    if let Some(Value::Array(a)) = f.extra.get("mitre") {
        let v: Vec<String> = a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
        if !v.is_empty() {
            return v;
        }
    }
    if let Some(m) = meta
        && !m.mitre.is_empty()
    {
        return m.mitre.clone();
    }
    mitre::default_for(&f.detection)
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn attacks(ids: &[String]) -> Vec<Value> {
    // A bare technique is left out when one of its sub-techniques is listed.
    let redundant = |id: &str| {
        !id.contains('.')
            && ids
                .iter()
                .any(|o| o.len() > id.len() && o.starts_with(id) && o[id.len()..].starts_with('.'))
    };
    ids.iter()
        .filter(|id| !redundant(id))
        .map(|id| match mitre::technique(id) {
            Some(t) => {
                let tactic = json!({"uid": t.tactic.0, "name": t.tactic.1});
                match t.parent {
                    Some((pid, pname)) => json!({
                        "technique": {"uid": pid, "name": pname, "src_url": mitre::url(pid)},
                        "sub_technique": {"uid": t.id, "name": t.name, "src_url": mitre::url(t.id)},
                        "tactic": tactic,
                    }),
                    None => json!({
                        "technique": {"uid": t.id, "name": t.name, "src_url": mitre::url(t.id)},
                        "tactic": tactic,
                    }),
                }
            }
            None => json!({"technique": {"uid": id, "src_url": mitre::url(id)}}),
        })
        .collect()
}

/// What kind of value the finding's source is.
enum SourceKind {
    Ip,
    Host,
    Subnet,
    Asn,
    UserAgent,
}

fn source_kind(f: &Finding) -> SourceKind {
    let src = f.source_ip.as_deref().unwrap_or("");
    match f.key.keys().next().map(String::as_str) {
        Some("source_subnet") => SourceKind::Subnet,
        Some("asn") => SourceKind::Asn,
        Some("user_agent") => SourceKind::UserAgent,
        _ if src.parse::<std::net::IpAddr>().is_ok() => SourceKind::Ip,
        _ if src.contains('/') => SourceKind::Subnet,
        _ => SourceKind::Host,
    }
}

fn observable(name: &str, type_id: u8, caption: &str, value: &str) -> Value {
    json!({"name": name, "type_id": type_id, "type": caption, "value": value})
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

fn opt(m: &mut Map<String, Value>, k: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        m.insert(k.to_string(), Value::from(v));
    }
}

/// One finding as an OCSF Detection Finding.
pub fn detection_finding(f: &Finding, meta: Option<&RuleMeta>, version: &str) -> Value {
    let (sev_id, sev) = severity(f.severity);
    let src = f.source_ip.clone().unwrap_or_default();
    let kind = source_kind(f);
    let members = strings(f, "members");
    let confirmed = strings(f, "credential_confirmed_accounts");
    let valid = strings(f, "valid_accounts");
    let title = meta
        .map(|m| m.title.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| f.detection.clone());

    // The attacker's endpoint.
    let mut endpoint = Map::new();
    match kind {
        SourceKind::Ip => {
            endpoint.insert("ip".into(), Value::from(src.as_str()));
        }
        SourceKind::Host => {
            endpoint.insert("hostname".into(), Value::from(src.as_str()));
        }
        SourceKind::Subnet => {
            endpoint.insert("subnet_uid".into(), Value::from(src.as_str()));
        }
        SourceKind::Asn => {
            let number = src
                .trim_start_matches(|c: char| c.eq_ignore_ascii_case(&'a') || c == 's' || c == 'S')
                .parse::<i64>()
                .ok();
            let mut asys = Map::new();
            if let Some(n) = number {
                asys.insert("number".into(), Value::from(n));
            }
            asys.insert("name".into(), Value::from(src.as_str()));
            endpoint.insert("autonomous_system".into(), Value::Object(asys));
        }
        SourceKind::UserAgent => {
            endpoint.insert("name".into(), Value::from(src.as_str()));
        }
    }

    let mut observables = Vec::new();
    match kind {
        SourceKind::Ip if !src.is_empty() => {
            observables.push(observable("src_endpoint.ip", 2, "IP Address", &src))
        }
        SourceKind::Host if !src.is_empty() => {
            observables.push(observable("src_endpoint.hostname", 1, "Hostname", &src))
        }
        SourceKind::Subnet => {
            observables.push(observable("src_endpoint.subnet_uid", 12, "Subnet", &src))
        }
        SourceKind::Asn => observables.push(observable(
            "src_endpoint.autonomous_system.name",
            99,
            "Other",
            &src,
        )),
        SourceKind::UserAgent => observables.push(observable(
            "http_request.user_agent",
            16,
            "HTTP User-Agent",
            &src,
        )),
        _ => {}
    }
    for m in &members {
        observables.push(observable("src_endpoint.ip", 2, "IP Address", m));
    }

    // Targeted accounts: the probed list plus every exposed/confirmed one.
    let mut accounts: Vec<String> = Vec::new();
    for a in f.user_list.iter().chain(&valid).chain(&confirmed) {
        if !accounts.iter().any(|x| x.eq_ignore_ascii_case(a)) && !a.is_empty() {
            accounts.push(a.clone());
        }
    }
    for a in &accounts {
        observables.push(observable("user.name", 4, "User Name", a));
    }
    let resources: Vec<Value> = accounts
        .iter()
        .map(|a| {
            let exists = valid.iter().any(|v| v.eq_ignore_ascii_case(a));
            let conf = confirmed.iter().any(|v| v.eq_ignore_ascii_case(a));
            json!({
                "type": "User",
                "name": a,
                "data": {"exists": exists || conf, "credential_confirmed": conf},
            })
        })
        .collect();

    let mut evidences = vec![{
        let mut e = Map::new();
        e.insert("src_endpoint".into(), Value::Object(endpoint.clone()));
        e.insert(
            "data".into(),
            json!({
                "role": "attacker source",
                "unique_usernames": f.unique_usernames,
                "total_failures": f.total_failures,
                "members": members,
            }),
        );
        Value::Object(e)
    }];
    for ev in &f.evidence {
        let mut e = Map::new();
        let mut ep = endpoint.clone();
        if matches!(
            kind,
            SourceKind::Subnet | SourceKind::Asn | SourceKind::UserAgent
        ) {
            ep = Map::new();
            ep.insert("name".into(), Value::from(src.as_str()));
        }
        e.insert("src_endpoint".into(), Value::Object(ep));
        if let Some(u) = ev.user.as_deref().filter(|u| !u.is_empty()) {
            e.insert("user".into(), json!({"name": u}));
        }
        if let Some(ua) = ev.user_agent.as_deref().filter(|u| !u.is_empty()) {
            e.insert("http_request".into(), json!({"user_agent": ua}));
        }
        let mut data = Map::new();
        data.insert("time".into(), Value::from(ms(ev.time)));
        opt(&mut data, "result_code", ev.result_code.as_deref());
        opt(&mut data, "app", ev.app.as_deref());
        data.insert("file".into(), Value::from(ev.file.as_str()));
        data.insert("record".into(), Value::from(ev.record));
        e.insert("data".into(), Value::Object(data));
        evidences.push(Value::Object(e));
    }

    let g = guide::of(f);
    let mut unmapped = Map::new();
    unmapped.insert("detection".into(), Value::from(f.detection.as_str()));
    unmapped.insert("profile".into(), Value::from(f.profile.as_str()));
    unmapped.insert("unique_usernames".into(), Value::from(f.unique_usernames));
    unmapped.insert(
        "username_not_found_count".into(),
        Value::from(f.username_not_found_count),
    );
    unmapped.insert("enum_rate".into(), json!(f.enum_rate));
    unmapped.insert("error_codes".into(), json!(f.error_codes));
    unmapped.insert("key".into(), json!(f.key));
    if let Some(p) = &f.peak_window {
        unmapped.insert("peak_window".into(), json!(p));
    }
    if let Some(t) = f.threshold_crossed_at {
        unmapped.insert("threshold_crossed_at".into(), Value::from(ms(t)));
    }
    for (k, v) in &f.extra {
        if !matches!(k.as_str(), "members" | "mitre") {
            unmapped.insert(k.clone(), v.clone());
        }
    }

    let mut desc = meta.map(|m| m.description.clone()).unwrap_or_default();
    if desc.is_empty() {
        desc = title.clone();
    }
    let message = format!(
        "{title}: {} from {src} probed {} account(s) ({} event(s)) between {} and {}{}",
        f.detection,
        f.unique_usernames,
        f.total_failures,
        f.first_seen,
        f.last_seen,
        if confirmed.is_empty() {
            String::new()
        } else {
            format!("; credential confirmed for {}", confirmed.join(", "))
        }
    );

    let mut out = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": sev_id,
        "severity": sev,
        "status_id": 1,
        "status": "New",
        "is_alert": true,
        "time": ms(f.detection_time),
        "start_time": ms(f.first_seen),
        "end_time": ms(f.last_seen),
        "duration": ms(f.last_seen) - ms(f.first_seen),
        "count": f.total_failures,
        "message": message,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": f.id,
            "product": {"name": "idrecon", "vendor_name": "idrecon", "version": version},
            "log_name": f.detection,
        },
        "finding_info": {
            "uid": f.id,
            "title": title,
            "desc": desc,
            "types": [f.detection, format!("profile:{}", f.profile)],
            "analytic": {
                "uid": f.detection,
                "name": title,
                "type_id": 1,
                "type": "Rule",
                "category": f.profile,
            },
            "attacks": attacks(&mitre_ids(f, meta)),
            "first_seen_time": ms(f.first_seen),
            "last_seen_time": ms(f.last_seen),
            "created_time": ms(f.detection_time),
            "related_events_count": f.total_failures,
        },
        "evidences": evidences,
        "observables": observables,
        "resources": resources,
        "unmapped": unmapped,
    });
    if let (Some(g), Some(o)) = (g, out.as_object_mut()) {
        let desc = g
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}", i + 1))
            .collect::<Vec<_>>()
            .join("\n");
        if !desc.is_empty() {
            o.insert("remediation".into(), json!({ "desc": desc }));
        }
    }
    out
}

/// Every finding of a report (and, with `show_suppressed`, the suppressed
/// ones with status Suppressed), one JSON object per line.
pub fn write(
    w: &mut dyn std::io::Write,
    report: &HuntReport<'_>,
) -> Result<(), crate::ReportError> {
    for f in report.findings {
        let v = detection_finding(f, report.rule_meta.get(&f.detection), report.version);
        serde_json::to_writer(&mut *w, &v)?;
        writeln!(w)?;
    }
    if report.show_suppressed {
        for s in &report.suppressed {
            let mut v = detection_finding(
                s.finding,
                report.rule_meta.get(&s.finding.detection),
                report.version,
            );
            if let Some(o) = v.as_object_mut() {
                o.insert("status_id".into(), Value::from(3));
                o.insert("status".into(), Value::from("Suppressed"));
                o.insert(
                    "status_detail".into(),
                    Value::from(format!("allowlist entry `{}`: {}", s.entry, s.reason)),
                );
            }
            serde_json::to_writer(&mut *w, &v)?;
            writeln!(w)?;
        }
    }
    Ok(())
}
