//! Independent audit of `--profile seed` end to end (readers + engine):
//! what Sentinel would compute from the same rows, per the seed's KQL and
//! the documented Kusto semantics. The deviations this audit found (address
//! normalization, empty-column fallbacks, null targets, caller IPs) are fixed.
//!
//! The rows are Log Analytics `SigninLogs` / `AuditLogs` rows (NDJSON), the
//! form in which Sentinel itself holds the data, unless noted.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;

fn ts(min: u32, sec: u32) -> String {
    format!("2024-05-01T10:{min:02}:{sec:02}Z")
}

/// A SigninLogs row; `extra` fields are merged in (`null` removes a key).
fn signin(i: u32, upn: &str, ip: &str, extra: Value) -> Value {
    let mut r = json!({
        "TimeGenerated": ts(i / 60, i % 60),
        "Type": "SigninLogs",
        "UserPrincipalName": upn,
        "IPAddress": ip,
        "ResultType": "50034",
        "ResultDescription": "User account does not exist",
        "AppDisplayName": "Office 365",
    });
    merge(&mut r, extra);
    r
}

/// An AuditLogs row of a self-service reset attempt from `ip` on `target`.
fn sspr(i: u32, target: &str, ip: &str, extra: Value) -> Value {
    let mut r = json!({
        "TimeGenerated": ts(i / 60, i % 60),
        "Type": "AuditLogs",
        "OperationName": "Reset password (self-service)",
        "ActivityDisplayName": "Reset password (self-service)",
        "Result": "failure",
        "ResultReason": "User failed verification",
        "LoggedByService": "Self-service Password Management",
        "InitiatedBy": {"user": {"ipAddress": ip, "userPrincipalName": target}},
        "TargetResources": [{"type": "User", "userPrincipalName": target}],
    });
    merge(&mut r, extra);
    r
}

fn merge(r: &mut Value, extra: Value) {
    if let (Value::Object(m), Value::Object(x)) = (r, extra) {
        for (k, v) in x {
            if v.is_null() {
                m.remove(&k);
            } else {
                m.insert(k, v);
            }
        }
    }
}

/// Runs `idrecon hunt --profile seed` on the rows and returns the findings.
fn hunt_rows(rows: &[Value], args: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rows.ndjson");
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&path, text).expect("write");
    hunt_path(&path, args)
}

fn hunt_path(path: &Path, args: &[&str]) -> Vec<Value> {
    let out = Command::cargo_bin("idrecon")
        .expect("binary")
        .args([
            "hunt",
            "--profile",
            "seed",
            "--format",
            "ndjson",
            "--no-allowlist",
            "-q",
        ])
        .args(args)
        .arg(path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("finding is JSON"))
        .collect()
}

fn users(prefix: &str, n: u32) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}@contoso.com")).collect()
}

/// 8 probes from `a` and 7 from `b`: in Sentinel two groups of 8 and 7
/// distinct users, below the threshold of 15, so no finding.
fn split_rows(a: &str, b: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = users("a", 8)
        .iter()
        .enumerate()
        .map(|(i, u)| signin(i as u32, u, a, json!({})))
        .collect();
    rows.extend(
        users("b", 7)
            .iter()
            .enumerate()
            .map(|(i, u)| signin(30 + i as u32, u, b, json!({}))),
    );
    rows
}

// ---------------------------------------------------------------------------
// IPAddress is a group key: Sentinel groups the strings as stored.
// ---------------------------------------------------------------------------

#[test]
fn seed_same_address_written_alike_is_one_group() {
    let f = hunt_rows(&split_rows("203.0.113.50", "203.0.113.50"), &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["source_ip"], "203.0.113.50");
    assert_eq!(f[0]["unique_usernames"], 15);
}

#[test]

fn seed_ipv4_mapped_address_is_its_own_group() {
    let f = hunt_rows(&split_rows("203.0.113.50", "::ffff:203.0.113.50"), &[]);
    assert!(f.is_empty(), "{f:?}");
}

#[test]

fn seed_address_with_port_is_its_own_group() {
    let f = hunt_rows(&split_rows("203.0.113.50", "203.0.113.50:443"), &[]);
    assert!(f.is_empty(), "{f:?}");
}

#[test]

fn seed_ipv6_case_is_its_own_group() {
    let f = hunt_rows(&split_rows("2001:db8::1", "2001:DB8::1"), &[]);
    assert!(f.is_empty(), "{f:?}");
}

#[test]

fn seed_padded_address_is_its_own_group() {
    let f = hunt_rows(&split_rows("203.0.113.50", " 203.0.113.50"), &[]);
    assert!(f.is_empty(), "{f:?}");
}

#[test]

fn seed_dash_address_is_reported_as_written() {
    let rows: Vec<Value> = users("u", 15)
        .iter()
        .enumerate()
        .map(|(i, u)| signin(i as u32, u, "-", json!({})))
        .collect();
    let f = hunt_rows(&rows, &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["source_ip"], "-");
}

// ---------------------------------------------------------------------------
// ResultType / ResultDescription / UserPrincipalName as stored
// ---------------------------------------------------------------------------

/// `ResultType` is a string column: a number in the export is its decimal
/// text; "050034" and "50034 " are other strings (`in` is exact).
#[test]
fn seed_result_type_forms() {
    let rows = |code: Value| -> Vec<Value> {
        users("u", 15)
            .iter()
            .enumerate()
            .map(|(i, u)| signin(i as u32, u, "203.0.113.50", json!({"ResultType": code})))
            .collect()
    };
    assert_eq!(hunt_rows(&rows(json!(50034)), &[]).len(), 1);
    assert_eq!(hunt_rows(&rows(json!("50034")), &[]).len(), 1);
    assert!(hunt_rows(&rows(json!("050034")), &[]).is_empty());
    assert!(hunt_rows(&rows(json!("50034 ")), &[]).is_empty());
}

/// `dcount(UserPrincipalName)` compares the stored strings: " u0@…" (leading
/// space) and "U0@…" are distinct from "u0@…".
#[test]
fn seed_upn_as_stored() {
    let mut rows: Vec<Value> = users("u", 13)
        .iter()
        .enumerate()
        .map(|(i, u)| signin(i as u32, u, "203.0.113.50", json!({})))
        .collect();
    rows.push(signin(20, " u0@contoso.com", "203.0.113.50", json!({})));
    rows.push(signin(21, "U0@contoso.com", "203.0.113.50", json!({})));
    let f = hunt_rows(&rows, &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["unique_usernames"], 15);
}

/// A missing `ResultDescription` column value and an empty one are the same
/// `""` group key; so are a missing and an empty `AppDisplayName`.
#[test]
fn seed_missing_and_empty_description_and_app_group_together() {
    let rows: Vec<Value> = users("u", 16)
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let extra = if i % 2 == 0 {
                json!({"ResultDescription": null, "AppDisplayName": null})
            } else {
                json!({"ResultDescription": "", "AppDisplayName": ""})
            };
            signin(i as u32, u, "203.0.113.50", extra)
        })
        .collect();
    let f = hunt_rows(&rows, &[]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["unique_usernames"], 16);
    assert_eq!(f[0]["result_description"], "");
    assert_eq!(f[0]["app"], "");
}

/// Different `ResultDescription` texts are different groups (the seed's
/// split), even for one IP and one code.
#[test]
fn seed_description_splits_groups() {
    let rows: Vec<Value> = users("u", 20)
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let d = if i < 10 { "Text A" } else { "Text B" };
            signin(i as u32, u, "203.0.113.50", json!({"ResultDescription": d}))
        })
        .collect();
    assert!(hunt_rows(&rows, &[]).is_empty());
}

/// An explicit empty `ResultDescription` is the group key `""` in Sentinel;
/// `Status.failureReason` is a different column the seed never reads.
#[test]

fn seed_empty_result_description_is_not_replaced() {
    let rows: Vec<Value> = users("u", 15)
        .iter()
        .enumerate()
        .map(|(i, u)| {
            signin(
                i as u32,
                u,
                "203.0.113.50",
                json!({"ResultDescription": "", "Status": {"errorCode": 50034, "failureReason": "Reason X"}}),
            )
        })
        .collect();
    let f = hunt_rows(&rows, &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["result_description"], "");
}

/// An explicit empty `ResultType` is not in the code list, whatever
/// `Status.errorCode` says.
#[test]

fn seed_empty_result_type_is_not_replaced_by_status_code() {
    let rows: Vec<Value> = users("u", 15)
        .iter()
        .enumerate()
        .map(|(i, u)| {
            signin(
                i as u32,
                u,
                "203.0.113.50",
                json!({"ResultType": "", "Status": {"errorCode": 50034, "failureReason": "x"}}),
            )
        })
        .collect();
    assert!(hunt_rows(&rows, &[]).is_empty());
}

/// Graph `signIn` objects have no resultDescription: the failure reason is
/// the best stand-in for the column, and the number code is its text.
#[test]
fn seed_graph_signins_group_by_failure_reason() {
    let rows: Vec<Value> = users("u", 15)
        .iter()
        .enumerate()
        .map(|(i, u)| {
            json!({
                "id": format!("id-{i}"),
                "createdDateTime": ts(0, i as u32),
                "userPrincipalName": u,
                "ipAddress": "203.0.113.50",
                "appDisplayName": "Office 365",
                "isInteractive": true,
                "status": {"errorCode": 50034, "failureReason": "User account does not exist"},
            })
        })
        .collect();
    let f = hunt_rows(&rows, &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["result_description"], "User account does not exist");
    assert_eq!(f[0]["error_codes"], json!(["50034"]));
}

/// Non-interactive rows are not in `AADSignInLogs` (read as SigninLogs).
#[test]
fn seed_reads_interactive_signins_only() {
    let rows: Vec<Value> = users("u", 15)
        .iter()
        .enumerate()
        .map(|(i, u)| {
            signin(
                i as u32,
                u,
                "203.0.113.50",
                json!({"Type": "AADNonInteractiveUserSignInLogs"}),
            )
        })
        .collect();
    assert!(hunt_rows(&rows, &[]).is_empty());
}

// ---------------------------------------------------------------------------
// SSPREnum through the readers
// ---------------------------------------------------------------------------

fn sspr_rows(n: u32, extra: impl Fn(u32) -> Value) -> Vec<Value> {
    (0..n)
        .map(|i| sspr(i, &format!("t{i}@contoso.com"), "198.51.100.66", extra(i)))
        .collect()
}

/// `InitiatedBy` and `TargetResources` as objects or as JSON text.
#[test]
fn seed_sspr_dynamic_columns_as_text() {
    let f = hunt_rows(
        &sspr_rows(10, |i| {
            json!({
                "InitiatedBy": json!({"user": {"ipAddress": "198.51.100.66"}}).to_string(),
                "TargetResources": json!([{"userPrincipalName": format!("t{i}@contoso.com")}]).to_string(),
            })
        }),
        &[],
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["source_ip"], "198.51.100.66");
    assert_eq!(f[0]["unique_usernames"], 10);
}

/// An app-initiated record has no `InitiatedBy.user.ipAddress`:
/// `isnotempty` drops it.
#[test]
fn seed_sspr_app_initiator_has_no_address() {
    let f = hunt_rows(
        &sspr_rows(
            10,
            |_| json!({"InitiatedBy": {"app": {"displayName": "SSPR"}}}),
        ),
        &[],
    );
    assert!(f.is_empty(), "{f:?}");
}

/// Diagnostic-settings AuditLogs records land in the AuditLogs table with
/// `InitiatedBy` from `properties.initiatedBy`; the table has no caller-IP
/// column, so an app initiator still gives `IPAddress == ""`.
#[test]

fn seed_sspr_diagnostic_app_initiator_ignores_caller_ip() {
    let rows: Vec<Value> = (0..10)
        .map(|i| {
            json!({
                "time": ts(0, i), "category": "AuditLogs",
                "operationName": "Reset password (self-service)",
                "callerIpAddress": "198.51.100.66",
                "properties": {
                    "activityDisplayName": "Reset password (self-service)",
                    "activityDateTime": ts(0, i),
                    "result": "failure", "resultReason": "failed",
                    "initiatedBy": {"app": {"displayName": "x"}},
                    "targetResources": [{"userPrincipalName": format!("t{i}@contoso.com")}],
                }
            })
        })
        .collect();
    let f = hunt_rows(&rows, &[]);
    assert!(f.is_empty(), "{f:?}");
}

/// `TargetResources[0]` only: an empty array, or a first target without a
/// UPN (the user second), gives `tostring(null) == ""`, one distinct value.
#[test]
fn seed_sspr_first_target_only() {
    let mut rows = sspr_rows(9, |_| json!({}));
    rows.push(sspr(
        30,
        "x",
        "198.51.100.66",
        json!({"TargetResources": []}),
    ));
    rows.push(sspr(
        31,
        "x",
        "198.51.100.66",
        json!({"TargetResources": [{"type": "Device"}, {"userPrincipalName": "second@contoso.com"}]}),
    ));
    let f = hunt_rows(&rows, &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["unique_usernames"], 10, "9 + \"\"");
    assert_eq!(f[0]["total_failures"], 11);
    let list = f[0]["user_list"].as_array().expect("list");
    assert!(list.contains(&json!("")));
    assert!(!list.contains(&json!("second@contoso.com")));
}

/// `TargetResources[0]` being JSON `null` is `tostring(null) == ""` in
/// Sentinel; the record is not malformed.
#[test]

fn seed_sspr_null_first_target_is_empty_string() {
    let mut rows = sspr_rows(9, |_| json!({}));
    rows.push(sspr(
        30,
        "x",
        "198.51.100.66",
        json!({"TargetResources": [null]}),
    ));
    let f = hunt_rows(&rows, &[]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["unique_usernames"], 10);
}

/// `isnotempty(" ")` is true: a blank (not empty) initiator IP passes and
/// is its own group key.
#[test]

fn seed_sspr_blank_initiator_ip_is_not_empty() {
    let f = hunt_rows(
        &sspr_rows(10, |_| json!({"InitiatedBy": {"user": {"ipAddress": " "}}})),
        &[],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["source_ip"], " ");
}

/// `OperationName in (…)` reads the OperationName column: an explicit
/// empty OperationName does not match, whatever ActivityDisplayName says
/// (reason and activity are otherwise matching: "failed").
#[test]

fn seed_sspr_empty_operation_name_is_not_replaced() {
    let f = hunt_rows(&sspr_rows(10, |_| json!({"OperationName": ""})), &[]);
    assert!(f.is_empty(), "{f:?}");
}

/// OperationName and ActivityDisplayName are read separately: the `in`
/// test uses the first, `contains "verify"` the second.
#[test]
fn seed_sspr_operation_and_activity_are_separate_columns() {
    // OperationName outside the list: nothing, whatever the activity.
    let f = hunt_rows(
        &sspr_rows(
            10,
            |_| json!({"OperationName": "Update user", "ActivityDisplayName": "Reset password (self-service)"}),
        ),
        &[],
    );
    assert!(f.is_empty());
    // OperationName in the list, neutral reason, activity with "Verify".
    let f = hunt_rows(
        &sspr_rows(
            10,
            |_| json!({"ResultReason": "ok", "ActivityDisplayName": "Verify something"}),
        ),
        &[],
    );
    assert_eq!(f.len(), 1);
}

/// The SSPR row of the union: renamed columns and an empty DetectionType.
#[test]
fn seed_sspr_union_columns() {
    let f = hunt_rows(&sspr_rows(10, |_| json!({})), &[]);
    assert_eq!(f.len(), 1);
    let s = &f[0];
    assert_eq!(s["detection"], "sspr_enumeration");
    assert_eq!(s["severity"], "medium");
    assert_eq!(s["suspicion_score"], "Medium");
    assert_eq!(s["error_codes"], json!(["SSPR"]));
    assert_eq!(s["enum_rate"], 0.0);
    assert_eq!(s["duration_minutes"], 0);
    assert_eq!(s["username_not_found_count"], 0);
    assert_eq!(s["total_failures"], 10);
    assert_eq!(s["detection_type"], "");
    assert_eq!(s["detection_time"], s["last_seen"]);
    // AppDisplayName does not exist in SSPREnum: the union fills it with an
    // empty value ("" for a string column); null is the contract's "absent".
    assert!(s["app"].is_null() || s["app"] == "", "{}", s["app"]);
}
