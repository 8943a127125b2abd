//! Pivot queries for a finding: what else its source did, and what its
//! targeted accounts did, around the episode — ready to paste into the SIEM.
//!
//! Built from the same per-platform tables as the rule compilers (the
//! `mappings/<target>.yml` tables, table filters and field names, derived
//! fields through their `expr`) and with every value written through
//! [`crate::escape`]. Supported dialects: [`SUPPORTED`].

use crate::mapping::{FieldMap, KindMap, TableMap, mapping};
use crate::{ExportError, Target, escape};
use idrecon_core::{Field, Finding, Timestamp};
use idrecon_rules::Rule;
use serde_json::Value;

/// The dialects [`pivots`] writes. Sigma describes detections, not
/// searches: it has no pivot form. Chronicle pivots are UDM search queries
/// (the search language behind YARA-L's event conditions).
pub const SUPPORTED: &[Target] = &[
    Target::Kql,
    Target::Spl,
    Target::Esql,
    Target::Aql,
    Target::Sumo,
    Target::Logscale,
    Target::Yaral,
];

/// Most account names one query lists.
pub const MAX_ACCOUNTS: usize = 50;

/// How far before the episode the queries start (seconds).
pub const BEFORE_SECS: i64 = 3600;
/// How far after the episode the source query looks (seconds).
pub const SOURCE_AFTER_SECS: i64 = 24 * 3600;
/// How far after the episode the accounts query looks (seconds).
pub const ACCOUNTS_AFTER_SECS: i64 = 7 * 24 * 3600;

/// True when [`pivots`] supports `t`.
pub fn supported(t: Target) -> bool {
    SUPPORTED.contains(&t)
}

/// One pivot query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PivotQuery {
    /// What the query shows.
    pub title: String,
    /// The query.
    pub query: String,
}

/// A filter on one platform field.
struct Filter<'a> {
    field: &'a FieldMap,
    values: Vec<String>,
}

/// The pivot queries of `finding` (produced by `rule`) for `target`: the
/// source's activity from an hour before to a day after the episode, and
/// the targeted accounts' activity (credential-confirmed and exposed
/// accounts first) from an hour before to a week after.
pub fn pivots(
    rule: &Rule,
    finding: &Finding,
    target: Target,
) -> Result<Vec<PivotQuery>, ExportError> {
    let unsupported = |message: String| ExportError::Unsupported {
        rule: rule.id.clone(),
        target,
        message,
    };
    if !supported(target) {
        return Err(unsupported(
            "Sigma describes detections, not searches: ask for pivots in your SIEM's dialect (kql, spl, esql, aql, sumo, logscale, yaral)".into(),
        ));
    }
    let kind_name = rule
        .kinds
        .first()
        .ok_or_else(|| unsupported("the rule reads no event kind".into()))?
        .as_str();
    let map = mapping(target)?;
    let kind = map
        .kinds
        .get(kind_name)
        .ok_or_else(|| ExportError::Unmapped {
            rule: rule.id.clone(),
            target,
            what: format!("event kind `{kind_name}`"),
        })?;
    let tables = tables(rule, kind, target)?;
    let field = |f: Field| -> Result<&FieldMap, ExportError> {
        kind.fields
            .get(f.name())
            .ok_or_else(|| ExportError::Unmapped {
                rule: rule.id.clone(),
                target,
                what: format!("field `{}` of kind `{kind_name}`", f.name()),
            })
    };

    // The field a table condition tests (Sumo Logic must parse it first).
    let table_field = kind.fields.get("table");
    let mut out = Vec::new();
    let start = finding.first_seen.as_second() - BEFORE_SECS;

    // 1. The source.
    if let Some(src) = finding.source_ip.as_deref().filter(|s| !s.is_empty()) {
        let members = strings(finding, "members");
        let key = rule.key.first().copied().unwrap_or(Field::SourceIp);
        let (f, values, what) = match key {
            Field::SourceSubnet | Field::Asn if !members.is_empty() => (
                field(Field::SourceIp)?,
                members.clone(),
                format!("the {} addresses of {src}", members.len()),
            ),
            Field::UserAgent => (
                field(Field::UserAgent)?,
                vec![src.to_string()],
                format!("user agent {src}"),
            ),
            Field::User => (
                field(Field::SourceIp)?,
                vec![src.to_string()],
                src.to_string(),
            ),
            k => (field(k)?, vec![src.to_string()], src.to_string()),
        };
        let end = finding.last_seen.as_second() + SOURCE_AFTER_SECS;
        out.push(PivotQuery {
            title: format!("Everything from {what}, an hour before to a day after the episode"),
            query: query(
                target,
                &tables,
                table_field,
                &[Filter { field: f, values }],
                start,
                end,
            ),
        });
    }

    // 2. The targeted accounts.
    let mut accounts: Vec<String> = Vec::new();
    for a in strings(finding, "credential_confirmed_accounts")
        .into_iter()
        .chain(strings(finding, "valid_accounts"))
        .chain(finding.user_list.iter().cloned())
    {
        if !a.is_empty() && !accounts.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
            accounts.push(a);
        }
    }
    accounts.truncate(MAX_ACCOUNTS);
    let user_field = [Field::User, Field::TargetUser]
        .into_iter()
        .find_map(|f| kind.fields.get(f.name()));
    if let (false, Some(uf)) = (accounts.is_empty(), user_field) {
        let end = finding.last_seen.as_second() + ACCOUNTS_AFTER_SECS;
        out.push(PivotQuery {
            title: format!(
                "Activity of the {} targeted account(s) from any source, an hour before to a week after the episode",
                accounts.len()
            ),
            query: query(
                target,
                &tables,
                table_field,
                &[Filter {
                    field: uf,
                    values: accounts,
                }],
                start,
                end,
            ),
        });
    }
    Ok(out)
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

fn tables<'a>(
    rule: &Rule,
    kind: &'a KindMap,
    target: Target,
) -> Result<Vec<&'a TableMap>, ExportError> {
    if rule.tables.is_empty() {
        return Ok(kind.tables.values().collect());
    }
    rule.tables
        .iter()
        .map(|t| {
            kind.tables
                .get(t.as_str())
                .ok_or_else(|| ExportError::Unmapped {
                    rule: rule.id.clone(),
                    target,
                    what: format!("table `{t}`"),
                })
        })
        .collect()
}

fn second(t: i64) -> Timestamp {
    Timestamp::from_second(t).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `2024-05-01T09:00:22Z`.
fn iso(t: i64) -> String {
    second(t).to_string()
}

fn query(
    target: Target,
    tables: &[&TableMap],
    table_field: Option<&FieldMap>,
    filters: &[Filter<'_>],
    start: i64,
    end: i64,
) -> String {
    match target {
        Target::Kql => kql(tables, filters, start, end),
        Target::Spl => spl(tables, filters, start, end),
        Target::Aql => aql(tables, filters, start, end),
        Target::Sumo => sumo(tables, table_field, filters, start, end),
        Target::Logscale => logscale(tables, filters, start, end),
        Target::Yaral => udm(tables, filters, start, end),
        _ => esql(tables, filters, start, end),
    }
}

/// The distinct sources (`from`) of the tables, in order.
fn froms<'a>(tables: &[&'a TableMap]) -> Vec<&'a str> {
    let mut from: Vec<&str> = tables.iter().map(|t| t.from.as_str()).collect();
    from.dedup();
    from
}

/// Table conditions OR-ed (each table of the rule may add one).
fn table_conds(tables: &[&TableMap]) -> Vec<String> {
    let mut conds: Vec<String> = Vec::new();
    for c in tables.iter().filter_map(|t| t.filter.clone()) {
        if !conds.contains(&c) {
            conds.push(c);
        }
    }
    conds
}

/// `2024-05-01 09:00:22` (QRadar START/STOP).
fn aql_time(t: i64) -> String {
    iso(t).trim_end_matches('Z').replace('T', " ")
}

fn aql(tables: &[&TableMap], filters: &[Filter<'_>], start: i64, end: i64) -> String {
    let from = froms(tables);
    let mut wh: Vec<String> = Vec::new();
    let conds: Vec<String> = table_conds(tables)
        .into_iter()
        .map(|c| format!("({c})"))
        .collect();
    if !conds.is_empty() {
        wh.push(format!("({})", conds.join(" OR ")));
    }
    for f in filters {
        let v = values(Target::Aql, f);
        let left = if f.field.case_insensitive {
            format!("LOWER({})", f.field.name)
        } else {
            f.field.name.clone()
        };
        wh.push(format!("{left} IN ({})", v.join(", ")));
    }
    format!(
        "SELECT * FROM {}\nWHERE {}\nORDER BY starttime ASC\nSTART {} STOP {}",
        from.first().copied().unwrap_or("events"),
        wh.join("\n  AND "),
        escape(Target::Aql, &aql_time(start)),
        escape(Target::Aql, &aql_time(end))
    )
}

fn sumo(
    tables: &[&TableMap],
    table_field: Option<&FieldMap>,
    filters: &[Filter<'_>],
    start: i64,
    end: i64,
) -> String {
    let from = froms(tables);
    let mut q = vec![from.join(" OR ")];
    if let Some(tf) = table_field
        && let Some(p) = &tf.json
    {
        q.push(format!(
            "| json field=_raw {} as {} nodrop",
            escape(Target::Sumo, p),
            tf.name
        ));
    }
    for f in filters {
        let path = f.field.json.clone().unwrap_or_else(|| f.field.name.clone());
        q.push(format!(
            "| json field=_raw {} as {} nodrop",
            escape(Target::Sumo, &path),
            f.field.name
        ));
        if let Some(e) = &f.field.expr {
            q.push(format!("| {e}"));
        }
    }
    q.push(format!(
        "| where _messagetime >= {} and _messagetime <= {}",
        start * 1000,
        end * 1000
    ));
    let conds = table_conds(tables);
    if !conds.is_empty() {
        q.push(format!("| where {}", conds.join(" or ")));
    }
    for f in filters {
        let v = values(Target::Sumo, f);
        let left = if f.field.case_insensitive {
            format!("toLowerCase({})", f.field.name)
        } else {
            f.field.name.clone()
        };
        q.push(format!("| where {left} in ({})", v.join(", ")));
    }
    q.push("| sort by _messagetime asc".to_string());
    q.join("\n")
}

fn logscale(tables: &[&TableMap], filters: &[Filter<'_>], start: i64, end: i64) -> String {
    let from = froms(tables);
    let mut q = vec![from.join(" or ")];
    let conds = table_conds(tables);
    if !conds.is_empty() {
        q.push(format!("| {}", conds.join(" or ")));
    }
    q.push(format!(
        "| test(@timestamp >= {}) | test(@timestamp <= {})",
        start * 1000,
        end * 1000
    ));
    for f in filters {
        if let Some(e) = &f.field.expr {
            q.push(format!("| {e}"));
        }
        let v = values(Target::Logscale, f);
        let ci = if f.field.case_insensitive {
            ", ignoreCase=true"
        } else {
            ""
        };
        q.push(format!(
            "| in(field=\"{}\", values=[{}]{ci})",
            f.field.name,
            v.join(", ")
        ));
    }
    q.push("| sort(@timestamp, order=asc, limit=10000)".to_string());
    q.join("\n")
}

/// A Chronicle UDM search (the time range is chosen in the search UI).
fn udm(tables: &[&TableMap], filters: &[Filter<'_>], start: i64, end: i64) -> String {
    let from = froms(tables);
    let mut parts: Vec<String> = vec![format!(
        "({})",
        from.iter()
            .map(|f| format!("metadata.log_type = {}", escape(Target::Yaral, f)))
            .collect::<Vec<_>>()
            .join(" OR ")
    )];
    let conds = table_conds(tables);
    if !conds.is_empty() {
        parts.push(format!("({})", conds.join(" OR ")));
    }
    for f in filters {
        let v = values(Target::Yaral, f);
        let nocase = if f.field.case_insensitive {
            " nocase"
        } else {
            ""
        };
        parts.push(format!(
            "({})",
            v.iter()
                .map(|x| format!("{} = {x}{nocase}", f.field.name))
                .collect::<Vec<_>>()
                .join(" OR ")
        ));
    }
    format!(
        "// UDM search; set the time range to {} .. {}\n{}",
        iso(start),
        iso(end),
        parts.join("\nAND ")
    )
}

fn values(target: Target, f: &Filter<'_>) -> Vec<String> {
    f.values
        .iter()
        .map(|v| {
            let v = if f.field.case_insensitive {
                v.to_lowercase()
            } else {
                v.clone()
            };
            escape(target, &v)
        })
        .collect()
}

fn kql(tables: &[&TableMap], filters: &[Filter<'_>], start: i64, end: i64) -> String {
    let mut froms: Vec<&str> = tables.iter().map(|t| t.from.as_str()).collect();
    froms.dedup();
    let mut q = vec![if froms.len() == 1 {
        froms[0].to_string()
    } else {
        format!("union {}", froms.join(", "))
    }];
    q.push(format!(
        "| where TimeGenerated between (datetime({}) .. datetime({}))",
        iso(start),
        iso(end)
    ));
    let conds: Vec<String> = tables.iter().filter_map(|t| t.filter.clone()).collect();
    if !conds.is_empty() {
        q.push(format!("| where {}", conds.join(" or ")));
    }
    for f in filters {
        if let Some(e) = &f.field.expr {
            q.push(format!("| extend {} = {e}", f.field.name));
        }
        let v = values(Target::Kql, f);
        let op = if f.field.case_insensitive {
            "in~"
        } else {
            "in"
        };
        q.push(if v.len() == 1 && !f.field.case_insensitive {
            format!("| where {} == {}", f.field.name, v[0])
        } else {
            format!("| where {} {op} ({})", f.field.name, v.join(", "))
        });
    }
    q.push("| sort by TimeGenerated asc".to_string());
    q.join("\n")
}

fn spl(tables: &[&TableMap], filters: &[Filter<'_>], start: i64, end: i64) -> String {
    let mut parts: Vec<String> = tables
        .iter()
        .map(|t| match &t.filter {
            Some(f) => format!("({} {f})", t.from),
            None => t.from.clone(),
        })
        .collect();
    parts.dedup();
    let base = if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("({})", parts.join(" OR "))
    };
    let mut q = vec![format!("search {base} earliest={start} latest={end}")];
    for f in filters {
        let name = &f.field.name;
        if let Some(e) = &f.field.expr {
            q.push(format!("| eval {name}={e}"));
        }
        let v = values(Target::Spl, f);
        let left = if f.field.case_insensitive {
            format!("lower({name})")
        } else {
            name.clone()
        };
        q.push(format!("| where in({left}, {})", v.join(", ")));
    }
    q.push("| sort 0 _time".to_string());
    q.join("\n")
}

fn esql(tables: &[&TableMap], filters: &[Filter<'_>], start: i64, end: i64) -> String {
    let mut froms: Vec<String> = Vec::new();
    for t in tables {
        for f in t.from.split(',') {
            let f = f.trim().to_string();
            if !froms.contains(&f) {
                froms.push(f);
            }
        }
    }
    let ms = |t: i64| format!("{}.000Z", iso(t).trim_end_matches('Z'));
    let mut q = vec![format!("FROM {}", froms.join(", "))];
    q.push(format!(
        "| WHERE @timestamp >= TO_DATETIME({}) AND @timestamp <= TO_DATETIME({})",
        escape(Target::Esql, &ms(start)),
        escape(Target::Esql, &ms(end))
    ));
    let conds: Vec<String> = tables.iter().filter_map(|t| t.filter.clone()).collect();
    if !conds.is_empty() {
        q.push(format!("| WHERE {}", conds.join(" OR ")));
    }
    for f in filters {
        let name = &f.field.name;
        if let Some(e) = &f.field.expr {
            q.push(format!("| EVAL {name} = {e}"));
        }
        let v = values(Target::Esql, f);
        let left = if f.field.case_insensitive {
            format!("TO_LOWER(TO_STRING({name}))")
        } else {
            format!("TO_STRING({name})")
        };
        q.push(if v.len() == 1 {
            format!("| WHERE {left} == {}", v[0])
        } else {
            format!("| WHERE {left} IN ({})", v.join(", "))
        });
    }
    q.push("| SORT @timestamp ASC".to_string());
    q.push("| LIMIT 10000".to_string());
    q.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use idrecon_core::Severity;
    use idrecon_rules::{Catalogue, Profile};
    use std::collections::BTreeMap;

    fn finding(detection: &str, source: &str) -> Finding {
        let t = idrecon_core::parse_timestamp("2024-05-01T10:00:22Z").expect("time");
        let mut extra = BTreeMap::new();
        extra.insert(
            "credential_confirmed_accounts".to_string(),
            serde_json::json!(["megan.bowen@contoso.com"]),
        );
        extra.insert(
            "valid_accounts".to_string(),
            serde_json::json!(["adele.vance@contoso.com", "x\"y@contoso.com"]),
        );
        Finding {
            id: "abc".into(),
            detection: detection.into(),
            profile: "recommended".into(),
            severity: Severity::Critical,
            source_ip: Some(source.into()),
            app: None,
            first_seen: t,
            last_seen: t,
            detection_time: t,
            unique_usernames: 3,
            total_failures: 3,
            username_not_found_count: 0,
            enum_rate: 0.0,
            duration_minutes: 0,
            user_list: vec!["test@contoso.com".into()],
            error_codes: vec![],
            key: BTreeMap::new(),
            extra,
            peak_window: None,
            threshold_crossed_at: None,
            evidence: vec![],
        }
    }

    #[test]
    fn kql_spl_esql_pivots_for_an_entra_finding() {
        let cat = Catalogue::load(Profile::Recommended, &[]).expect("catalogue");
        let rule = cat.get("auth_username_enumeration").expect("rule");
        let f = finding("auth_username_enumeration", "203.0.113.50");
        let k = pivots(rule, &f, Target::Kql).expect("kql");
        assert_eq!(k.len(), 2);
        assert!(
            k[0].query
                .starts_with("union SigninLogs, AADNonInteractiveUserSignInLogs"),
            "{}",
            k[0].query
        );
        assert!(
            k[0].query
                .contains("datetime(2024-05-01T09:00:22Z) .. datetime(2024-05-02T10:00:22Z)")
        );
        assert!(k[0].query.contains("| where IPAddress == \"203.0.113.50\""));
        assert!(k[1].query.contains("\"megan.bowen@contoso.com\", \"adele.vance@contoso.com\", \"x\\\"y@contoso.com\", \"test@contoso.com\""), "{}", k[1].query);
        let s = pivots(rule, &f, Target::Spl).expect("spl");
        assert!(
            s[0].query.contains("earliest=1714554022 latest=1714644022"),
            "{}",
            s[0].query
        );
        assert!(s[0].query.contains("| where in(src_ip, \"203.0.113.50\")"));
        let e = pivots(rule, &f, Target::Esql).expect("esql");
        assert!(
            e[0].query
                .contains("TO_DATETIME(\"2024-05-01T09:00:22.000Z\")"),
            "{}",
            e[0].query
        );
        assert!(
            e[0].query
                .contains("| WHERE TO_STRING(source.ip) == \"203.0.113.50\"")
        );
        assert!(pivots(rule, &f, Target::Sigma).is_err());
        let a = pivots(rule, &f, Target::Aql).expect("aql");
        assert!(
            a[0].query.starts_with("SELECT * FROM events"),
            "{}",
            a[0].query
        );
        assert!(a[0].query.contains("START '"), "{}", a[0].query);
        let su = pivots(rule, &f, Target::Sumo).expect("sumo");
        assert!(
            su[0].query.contains("| where _messagetime >= "),
            "{}",
            su[0].query
        );
        let l = pivots(rule, &f, Target::Logscale).expect("logscale");
        assert!(l[0].query.contains("| in(field="), "{}", l[0].query);
        let u = pivots(rule, &f, Target::Yaral).expect("udm");
        assert!(
            u[0].query.contains("metadata.log_type = \"AZURE_AD\""),
            "{}",
            u[0].query
        );
    }

    #[test]
    fn windows_pivots_use_derived_fields() {
        let cat = Catalogue::load(Profile::Recommended, &[]).expect("catalogue");
        let rule = cat.get("ntlm_logon_enumeration").expect("rule");
        let f = finding("ntlm_logon_enumeration", "10.0.0.99");
        let s = pivots(rule, &f, Target::Spl).expect("spl");
        assert!(s[0].query.contains("| eval src="), "{}", s[0].query);
        let k = pivots(rule, &f, Target::Kql).expect("kql");
        assert!(k[0].query.starts_with("SecurityEvent"), "{}", k[0].query);
    }
}
