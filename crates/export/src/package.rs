//! Deployable artefacts per ecosystem.

use crate::common::{Cx, RUN_EVERY_SECS, dur, pascal};
use crate::escape::yaml_double;
use crate::kql::{self, Lets};
use crate::{ExportError, Profile, Target, compile};
use idrecon_rules::{Rule, WindowKind};
use std::fmt::Write;

/// A stable UUID-formatted id derived from a name (FNV-1a, two seeds).
pub(crate) fn uuid_for(name: &str) -> String {
    let h = |seed: u64| {
        let mut x = seed;
        for b in name.bytes() {
            x ^= u64::from(b);
            x = x.wrapping_mul(0x0000_0100_0000_01b3);
        }
        x
    };
    let a = h(0xcbf2_9ce4_8422_2325);
    let b = h(0x6c62_272e_07bb_0142);
    let s = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-5{}-{}{}-{}",
        &s[0..8],
        &s[8..12],
        &s[13..16],
        ["8", "9", "a", "b"][(b as usize) & 3],
        &s[17..20],
        &s[20..32]
    )
}

/// Query frequency and period (seconds) for `target`: tumbling queries that
/// do not compute the baseline read only the last complete bucket and the
/// current one.
pub(crate) fn schedule_for(rule: &Rule, target: Target) -> (u64, u64) {
    let (every, period) = schedule(rule);
    if rule.window.kind == WindowKind::Tumbling && !crate::common::baseline_computed(target) {
        (every, 2 * rule.window.length.as_secs())
    } else {
        (every, period)
    }
}

/// Query frequency and period (seconds) for scheduled deployments.
pub(crate) fn schedule(rule: &Rule) -> (u64, u64) {
    let w = rule.window.length.as_secs();
    match rule.window.kind {
        WindowKind::Lookback => (w, w),
        WindowKind::Sliding => (RUN_EVERY_SECS, w + RUN_EVERY_SECS),
        // Every bucket, over the last complete bucket and its baseline.
        WindowKind::Tumbling => (
            w,
            2 * w + rule.window.baseline.map_or(0, |b| b.history.as_secs()),
        ),
    }
}

/// ISO 8601 duration (PT…).
fn iso(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut o = "PT".to_string();
    if h > 0 {
        let _ = write!(o, "{h}H");
    }
    if m > 0 {
        let _ = write!(o, "{m}M");
    }
    if s > 0 || (h == 0 && m == 0) {
        let _ = write!(o, "{s}S");
    }
    o
}

fn techniques(rule: &Rule) -> Vec<String> {
    let mut v: Vec<String> = rule
        .mitre
        .iter()
        .map(|t| t.split('.').next().unwrap_or(t).to_string())
        .collect();
    v.dedup();
    v
}

fn tactics(rule: &Rule) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("TA0043", "Reconnaissance")];
    if rule.mitre.iter().any(|t| t.starts_with("T1110")) {
        v.push(("TA0006", "CredentialAccess"));
    }
    v
}

fn block(text: &str, indent: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn package(
    rules: &[Rule],
    target: Target,
    profile: Profile,
) -> Result<Vec<(String, String)>, ExportError> {
    let mut files = Vec::new();
    match target {
        Target::Kql => {
            for r in rules {
                files.push((format!("{}.sentinel.yaml", r.id), sentinel(r, profile)?));
            }
            if profile == Profile::Seed
                && rules.len() > 1
                && rules.iter().all(|r| r.window.kind == WindowKind::Lookback)
            {
                files.push(("seed_union.kql".to_string(), seed_union(rules, profile)?));
            }
        }
        Target::Spl => {
            let mut s = String::from(
                "# idrecon saved searches (copy into $SPLUNK_HOME/etc/apps/<app>/local/savedsearches.conf)\n",
            );
            for r in rules {
                s.push('\n');
                s.push_str(&splunk(r, profile)?);
            }
            files.push(("savedsearches.conf".to_string(), s));
        }
        Target::Esql => {
            let mut s = String::new();
            for r in rules {
                s.push_str(&elastic(r, profile)?);
                s.push('\n');
            }
            files.push(("elastic_rules.ndjson".to_string(), s));
        }
        Target::Yaral => {
            for r in rules {
                let q = compile(r, target, profile)?;
                files.push((
                    format!("{}.yaral", crate::yaral::rule_name(&r.id, &r.profile)),
                    q.text,
                ));
            }
        }
        Target::Sigma => {
            let mut s = String::new();
            for (i, r) in rules.iter().enumerate() {
                if i > 0 {
                    s.push_str("---\n");
                }
                s.push_str(&compile(r, target, profile)?.text);
            }
            files.push((format!("idrecon_{}.sigma.yml", profile.as_str()), s));
        }
        Target::Aql | Target::Sumo | Target::Logscale => {
            files.push((
                format!("SCHEDULING-{}.md", target.as_str()),
                scheduling(rules, target, profile)?,
            ));
        }
    }
    Ok(files)
}

/// The seed's complete query: each rule as a `let`, then the union ordered
/// as the seed orders it.
fn seed_union(rules: &[Rule], profile: Profile) -> Result<String, ExportError> {
    let mut out = String::from(
        "// idrecon: the seed's T1589 query (both detections, union), with the table name fixed (AADSignInLogs -> SigninLogs)\n",
    );
    let first = &rules[0];
    let _ = writeln!(
        out,
        "let lookback = {};",
        dur(first.window.length.as_secs())
    );
    let _ = writeln!(out, "let enumThreshold = {};", first.threshold.gte);
    let mut names = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let mut cx = Cx::new(r, Target::Kql, profile)?;
        cx.check_fields()?;
        let lets = if i == 0
            || r.window.length == first.window.length && r.threshold.gte == first.threshold.gte
        {
            Lets::Reuse
        } else {
            Lets::Inline
        };
        let lines = kql::lookback(&mut cx, lets)?;
        let name = pascal(&r.id);
        let _ = writeln!(out, "let {name} = {};", lines.join("\n"));
        names.push(name);
    }
    let _ = writeln!(out, "union {}", names.join(", "));
    let _ = writeln!(out, "| order by SuspicionScore asc, UniqueUsernames desc");
    Ok(out)
}

fn sentinel(r: &Rule, profile: Profile) -> Result<String, ExportError> {
    let q = compile(r, Target::Kql, profile)?;
    let (freq, period) = schedule(r);
    let sev = if profile == Profile::Seed {
        "SuspicionScore"
    } else {
        "Severity"
    };
    let kind = r.kinds.first().map(|k| k.as_str()).unwrap_or_default();
    let (connector, types): (&str, Vec<String>) = match kind {
        "entra_signin" => (
            "AzureActiveDirectory",
            if r.tables.is_empty() {
                vec![
                    "SigninLogs".into(),
                    "AADNonInteractiveUserSignInLogs".into(),
                ]
            } else {
                r.tables.clone()
            },
        ),
        "entra_audit" => ("AzureActiveDirectory", vec!["AuditLogs".into()]),
        _ => ("SecurityEvents", vec!["SecurityEvent".into()]),
    };
    let ip = crate::mapping(Target::Kql)?
        .kinds
        .get(kind)
        .and_then(|k| {
            k.fields
                .get(r.key.first().map(|f| f.name()).unwrap_or("source_ip"))
        })
        .map(|f| f.name.clone())
        .unwrap_or_else(|| "IPAddress".into());
    let mut y = String::new();
    let _ = writeln!(
        y,
        "id: {}",
        uuid_for(&format!("sentinel/{}/{}", r.id, r.profile))
    );
    let _ = writeln!(
        y,
        "name: {}",
        yaml_double(&format!("idrecon - {}", r.title))
    );
    let _ = writeln!(y, "description: |");
    let _ = writeln!(y, "{}", block(&r.description, "  "));
    for w in &q.warnings {
        let _ = writeln!(y, "  Limitation: {}", w.replace('\n', " "));
    }
    let _ = writeln!(y, "severity: Medium");
    let _ = writeln!(y, "requiredDataConnectors:");
    let _ = writeln!(y, "  - connectorId: {connector}");
    let _ = writeln!(y, "    dataTypes:");
    for t in &types {
        let _ = writeln!(y, "      - {t}");
    }
    let _ = writeln!(y, "queryFrequency: {}", iso(freq));
    let _ = writeln!(y, "queryPeriod: {}", iso(period));
    let _ = writeln!(y, "triggerOperator: gt");
    let _ = writeln!(y, "triggerThreshold: 0");
    let _ = writeln!(y, "tactics:");
    for (_, t) in tactics(r) {
        let _ = writeln!(y, "  - {t}");
    }
    let _ = writeln!(y, "relevantTechniques:");
    for t in &r.mitre {
        let _ = writeln!(y, "  - {t}");
    }
    let _ = writeln!(y, "query: |");
    let _ = writeln!(y, "{}", block(q.text.trim_end(), "  "));
    // Tenant-wide rules have no source column: their sources are listed
    // (`Members`), and all rows of a run are one alert.
    let keyless = r.key.is_empty();
    let ip = if keyless {
        "SourceAddress".to_string()
    } else {
        ip
    };
    if keyless {
        let _ = writeln!(
            y,
            "  // one row per probed account and source for the Account and IP entities; a run's rows are one alert"
        );
        let _ = writeln!(
            y,
            "  | mv-expand TargetAccount = UserList to typeof(string)"
        );
        let _ = writeln!(y, "  | mv-expand SourceAddress = Members to typeof(string)");
    } else {
        let _ = writeln!(
            y,
            "  // one row per probed account for the Account entity; incidents group the rows by source IP"
        );
        let _ = writeln!(
            y,
            "  | mv-expand TargetAccount = UserList to typeof(string)"
        );
    }
    let _ = writeln!(y, "entityMappings:");
    let _ = writeln!(y, "  - entityType: IP");
    let _ = writeln!(y, "    fieldMappings:");
    let _ = writeln!(y, "      - identifier: Address");
    let _ = writeln!(y, "        columnName: {ip}");
    let _ = writeln!(y, "  - entityType: Account");
    let _ = writeln!(y, "    fieldMappings:");
    let _ = writeln!(y, "      - identifier: FullName");
    let _ = writeln!(y, "        columnName: TargetAccount");
    let _ = writeln!(y, "eventGroupingSettings:");
    if keyless {
        let _ = writeln!(y, "  aggregationKind: SingleAlert");
    } else {
        let _ = writeln!(y, "  aggregationKind: AlertPerResult");
    }
    let _ = writeln!(y, "alertDetailsOverride:");
    if keyless {
        let _ = writeln!(
            y,
            "  alertDisplayNameFormat: \"idrecon {}: {{{{UniqueUsernames}}}} accounts probed from {{{{MemberCount}}}} sources\"",
            r.id
        );
    } else {
        let _ = writeln!(
            y,
            "  alertDisplayNameFormat: \"idrecon {}: {{{{{ip}}}}} probed {{{{UniqueUsernames}}}} accounts\"",
            r.id
        );
    }
    let _ = writeln!(y, "  alertSeverityColumnName: {sev}");
    let _ = writeln!(y, "customDetails:");
    let _ = writeln!(y, "  UniqueUsernames: UniqueUsernames");
    let _ = writeln!(y, "  TotalFailures: TotalFailures");
    let _ = writeln!(y, "incidentConfiguration:");
    let _ = writeln!(y, "  createIncident: true");
    let _ = writeln!(y, "  groupingConfiguration:");
    let _ = writeln!(y, "    enabled: true");
    let _ = writeln!(y, "    reopenClosedIncident: false");
    let _ = writeln!(y, "    lookbackDuration: {}", iso(period.max(3600) * 2));
    let _ = writeln!(y, "    matchingMethod: Selected");
    let _ = writeln!(y, "    groupByEntities:");
    let _ = writeln!(y, "      - IP");
    let _ = writeln!(y, "version: 1.0.0");
    let _ = writeln!(y, "kind: Scheduled");
    Ok(y)
}

fn splunk(r: &Rule, profile: Profile) -> Result<String, ExportError> {
    let q = compile(r, Target::Spl, profile)?;
    let (freq, period) = schedule(r);
    let tumbling = r.window.kind == WindowKind::Tumbling;
    let cron = if tumbling && freq == 86_400 {
        // A few minutes after the bucket boundary (UTC), so that the last
        // complete bucket is indexed; the search selects it by `now()`.
        "15 0 * * *".to_string()
    } else if tumbling && freq % 3600 == 0 && freq < 86_400 {
        format!("15 */{} * * *", freq / 3600)
    } else if tumbling && freq % 60 == 0 && freq < 3600 && 3600 % freq == 0 {
        let m = freq / 60;
        format!("{}-59/{m} * * * *", (m / 4).max(1))
    } else if freq % 3600 == 0 {
        format!("0 */{} * * *", (freq / 3600).max(1))
    } else {
        format!("*/{} * * * *", (freq / 60).max(1))
    };
    let spl_kind = crate::mapping(Target::Spl)?
        .kinds
        .get(r.kinds.first().map(|k| k.as_str()).unwrap_or_default());
    let key = match (r.key.first(), &r.pivot) {
        (Some(f), _) => spl_kind
            .and_then(|k| k.fields.get(f.name()))
            .map(|f| f.name.clone()),
        // A pivot's results are keyed by the shared set.
        (None, Some(p)) => Some(crate::common::pivot_key(p)),
        // Tenant-wide: one result per bucket, each run a new bucket.
        (None, None) => None,
    }
    .or_else(|| (!tumbling).then(|| "src_ip".to_string()));
    let mut s = String::new();
    let title = format!("idrecon - {}", r.title).replace(['[', ']', '\n'], " ");
    let _ = writeln!(s, "[{title}]");
    let _ = writeln!(
        s,
        "description = {}",
        r.description
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(s, "enableSched = 1");
    let _ = writeln!(s, "cron_schedule = {cron}");
    let _ = writeln!(s, "dispatch.earliest_time = -{}", dur(period));
    let _ = writeln!(s, "dispatch.latest_time = now");
    let _ = writeln!(s, "counttype = number of events");
    let _ = writeln!(s, "relation = greater than");
    let _ = writeln!(s, "quantity = 0");
    let _ = writeln!(s, "alert.track = 1");
    let _ = writeln!(s, "alert.digest_mode = 0");
    match &key {
        Some(key) => {
            let _ = writeln!(s, "alert.suppress = 1");
            let _ = writeln!(s, "alert.suppress.fields = {key}");
            let _ = writeln!(
                s,
                "alert.suppress.period = {}",
                dur(r.window.length.as_secs())
            );
        }
        None => {
            let _ = writeln!(s, "alert.suppress = 0");
        }
    }
    let _ = writeln!(s, "alert.severity = 4");
    let _ = writeln!(s, "action.idrecon.param.mitre = {}", r.mitre.join(","));
    let lines: Vec<&str> = q.text.trim_end().lines().collect();
    let n = lines.len();
    let mut search = String::from("search = ");
    for (i, l) in lines.iter().enumerate() {
        search.push_str(l);
        if i + 1 < n {
            search.push_str(" \\\n");
        }
    }
    let _ = writeln!(s, "{search}");
    Ok(s)
}

fn elastic(r: &Rule, profile: Profile) -> Result<String, ExportError> {
    let q = compile(r, Target::Esql, profile)?;
    let (freq, period) = schedule(r);
    let threat: Vec<serde_json::Value> = tactics(r)
        .iter()
        .take(1)
        .map(|(id, name)| {
            serde_json::json!({
                "framework": "MITRE ATT&CK",
                "tactic": {"id": id, "name": name, "reference": format!("https://attack.mitre.org/tactics/{id}/")},
                "technique": techniques(r).iter().map(|t| serde_json::json!({
                    "id": t, "name": t, "reference": format!("https://attack.mitre.org/techniques/{t}/"),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let note = q
        .warnings
        .iter()
        .map(|w| format!("- {w}"))
        .collect::<Vec<_>>()
        .join("\n");
    let v = serde_json::json!({
        "rule_id": uuid_for(&format!("elastic/{}/{}", r.id, r.profile)),
        "name": format!("idrecon - {}", r.title),
        "description": r.description.split_whitespace().collect::<Vec<_>>().join(" "),
        "type": "esql",
        "language": "esql",
        "query": q.text,
        "interval": dur(freq),
        "from": format!("now-{}", dur(period)),
        "to": "now",
        "enabled": false,
        "risk_score": 47,
        "severity": "medium",
        "tags": ["idrecon", format!("profile:{}", r.profile), "Tactic: Reconnaissance"],
        "threat": threat,
        "note": format!("## Limitations\n{note}"),
        "version": 1,
        "author": ["idrecon"],
        "license": "MIT OR Apache-2.0",
    });
    serde_json::to_string(&v).map_err(|e| ExportError::Mapping {
        file: "elastic".into(),
        message: e.to_string(),
    })
}

fn scheduling(rules: &[Rule], target: Target, profile: Profile) -> Result<String, ExportError> {
    let platform = crate::mapping(target)?.platform.clone();
    let mut s = format!(
        "# idrecon queries for {platform} ({} profile)\n\n",
        profile.as_str()
    );
    let how = match target {
        Target::Aql => {
            "Create a saved search or a custom rule test in QRadar (Log Activity > Advanced search, AQL) and run it on the schedule below; the time clause is part of the query (LAST n MINUTES/HOURS)."
        }
        Target::Sumo => {
            "Save each query as a Scheduled Search (Run frequency and Time range below, alert condition: number of results > 0)."
        }
        _ => {
            "Save each query as a scheduled search (Search interval and Schedule below; trigger when the result count is above 0)."
        }
    };
    let _ = writeln!(s, "{how}\n");
    let _ = writeln!(s, "| rule | file | run every | time range | limitations |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for r in rules {
        let q = compile(r, target, profile)?;
        let (freq, period) = schedule_for(r, target);
        let lim = q.warnings.join("; ").replace('|', "/");
        let _ = writeln!(
            s,
            "| {} | {}.{} | {} | last {} | {} |",
            r.id,
            r.id,
            target.extension(),
            dur(freq),
            dur(period),
            lim
        );
    }
    Ok(s)
}
