//! The same sign-ins in every Entra export shape give the same
//! recommended-profile (and seed-profile) findings. The shapes are built in
//! the test from the bundled Log Analytics rows, following TELEMETRY.md §2.

use idrecon::pipeline::{HuntConfig, hunt};
use idrecon_ingest::IngestOptions;
use idrecon_rules::Profile;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn rows() -> Vec<Value> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/entra/SigninLogs-2024-05-01.ndjson");
    std::fs::read_to_string(p)
        .expect("example rows")
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect()
}

fn s<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or("")
}

fn status(r: &Value) -> Value {
    match &r["Status"] {
        Value::String(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        v => v.clone(),
    }
}

/// Graph signIn object (camelCase, errorCode a number).
fn graph(r: &Value) -> Value {
    json!({
        "id": s(r, "Id"), "createdDateTime": s(r, "TimeGenerated"), "userDisplayName": "",
        "userPrincipalName": s(r, "UserPrincipalName"), "userId": "", "appId": s(r, "AppId"),
        "appDisplayName": s(r, "AppDisplayName"), "ipAddress": s(r, "IPAddress"),
        "clientAppUsed": s(r, "ClientAppUsed"), "userAgent": s(r, "UserAgent"),
        "correlationId": s(r, "CorrelationId"), "conditionalAccessStatus": "notApplied",
        "isInteractive": true, "status": status(r),
        "location": {"city": "Amsterdam", "state": "Noord-Holland", "countryOrRegion": "NL"},
    })
}

/// Azure Monitor diagnostic record.
fn diag(r: &Value) -> Value {
    let mut p = graph(r);
    p["originalRequestId"] = json!(s(r, "OriginalRequestId"));
    p["authenticationRequirement"] = json!(s(r, "AuthenticationRequirement"));
    json!({
        "time": s(r, "TimeGenerated"), "resourceId": "/tenants/x/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity", "operationVersion": "1.0", "category": "SignInLogs",
        "tenantId": "x", "resultType": s(r, "ResultType"), "resultSignature": "None",
        "resultDescription": s(r, "ResultDescription"), "durationMs": 0,
        "callerIpAddress": s(r, "IPAddress"), "correlationId": s(r, "CorrelationId"),
        "identity": "", "Level": 4, "location": "NL", "properties": p,
    })
}

fn csv_quote(v: &str) -> String {
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// Entra portal CSV (interactive download header quirks: trailing spaces,
/// the code in `Sign-in error code`, `Status` as text).
fn portal_csv(rows: &[Value]) -> String {
    let header = "Date (UTC),Request ID,User agent,Correlation ID,User ID,User,Username,Application,Application ID ,IP address,Location,Status,Sign-in error code,Failure reason,Client app,Authentication requirement,Autonomous system  number";
    let mut out = format!("{header}\n");
    for r in rows {
        let code = s(r, "ResultType");
        let fields = [
            s(r, "TimeGenerated"),
            s(r, "OriginalRequestId"),
            s(r, "UserAgent"),
            s(r, "CorrelationId"),
            "",
            "",
            s(r, "UserPrincipalName"),
            s(r, "AppDisplayName"),
            s(r, "AppId"),
            s(r, "IPAddress"),
            "Amsterdam, Noord-Holland, NL",
            if code == "0" { "Success" } else { "Failure" },
            code,
            s(r, "ResultDescription"),
            s(r, "ClientAppUsed"),
            s(r, "AuthenticationRequirement"),
            s(r, "AutonomousSystemNumber"),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_quote(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn write_shapes(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let rows = rows();
    let mut out = Vec::new();
    let mut put = |name: &'static str, file: &str, content: String| {
        let p = dir.join(file);
        std::fs::write(&p, content).expect("write");
        out.push((name, p));
    };
    put(
        "la-ndjson",
        "la.ndjson",
        rows.iter().map(|r| r.to_string() + "\n").collect(),
    );
    put(
        "la-array",
        "la.json",
        Value::Array(rows.clone()).to_string(),
    );
    let cols: Vec<String> = rows[0]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let table = json!({"tables": [{"name": "PrimaryResult",
        "columns": cols.iter().map(|c| json!({"name": c, "type": "string"})).collect::<Vec<_>>(),
        "rows": rows.iter().map(|r| cols.iter().map(|c| match &r[c] { Value::Object(_) => Value::String(r[c].to_string()), v => v.clone() }).collect::<Vec<_>>()).collect::<Vec<_>>() }]});
    put("la-query-api", "query.json", table.to_string());
    let mut newest_first: Vec<Value> = rows.iter().map(graph).collect();
    newest_first.reverse();
    put(
        "graph-page",
        "graph.json",
        json!({"@odata.context": "x", "value": newest_first}).to_string(),
    );
    put(
        "graph-ndjson",
        "graph.ndjson",
        rows.iter().map(|r| graph(r).to_string() + "\n").collect(),
    );
    put(
        "diag-envelope",
        "diag.json",
        json!({"records": rows.iter().map(diag).collect::<Vec<_>>()}).to_string(),
    );
    put(
        "diag-lines",
        "PT1H.json",
        rows.iter().map(|r| diag(r).to_string() + "\n").collect(),
    );
    put(
        "portal-csv",
        "InteractiveSignIns_2024-05-01.csv",
        portal_csv(&rows),
    );
    out
}

/// The parts of a finding every shape must agree on.
fn essence(profile: Profile, path: &Path) -> Vec<Value> {
    let cfg = HuntConfig {
        paths: vec![path.to_path_buf()],
        profile,
        overrides: vec![],
        rules: vec![],
        now: None,
        ingest: IngestOptions::default(),
        max_events_per_key: None,
        allowlist: None,
        today: None,
    };
    let out = hunt(&cfg).expect("hunt");
    assert_eq!(
        out.totals.rejected,
        0,
        "{}: {:?}",
        path.display(),
        out.ingest.files[0].stats.rejects
    );
    out.findings
        .iter()
        .map(|f| {
            json!({
                "id": f.id, "detection": f.detection, "severity": f.severity, "source_ip": f.source_ip,
                "first_seen": f.first_seen.to_string(), "last_seen": f.last_seen.to_string(),
                "unique_usernames": f.unique_usernames, "total_failures": f.total_failures,
                "not_found": f.username_not_found_count, "user_list": f.user_list, "error_codes": f.error_codes,
                "valid": f.extra.get("valid_accounts"), "confirmed": f.extra.get("credential_confirmed_accounts"),
                "app_ids": f.extra.get("app_ids"),
            })
        })
        .collect()
}

#[test]
fn every_shape_gives_the_same_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shapes = write_shapes(dir.path());
    for profile in [Profile::Recommended, Profile::Seed] {
        let reference = essence(profile, &shapes[0].1);
        if profile == Profile::Recommended {
            assert_eq!(reference.len(), 1, "the example holds one enumeration");
            assert_eq!(reference[0]["unique_usernames"], 24);
            assert_eq!(
                reference[0]["confirmed"],
                json!(["megan.bowen@contoso.com", "adele.vance@contoso.com"])
            );
        }
        for (name, path) in &shapes[1..] {
            assert_eq!(
                essence(profile, path),
                reference,
                "{profile}: shape {name} differs from la-ndjson"
            );
        }
    }
}
