//! Independent audit of `--profile seed` against the documented Kusto
//! semantics of the seed's KQL, plus a few pins of the recommended profile's
//! fixes (issue 2, section 3). Every expectation is worked out by hand from
//! the seed text and the Kusto documentation cited next to it.
//!
//! Tests once marked as deviations (all fixed now) state what
//! Sentinel would return and idrecon does not (yet).

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Finding, Origin, Severity, Timestamp};
use idrecon_engine::EngineBuilder;
use idrecon_rules::{Catalogue, Override, Profile};
use serde_json::json;

const T0: &str = "2024-05-01T10:00:00Z";
const NF: &str = "User account does not exist";
const RESET: &str = "Reset password (self-service)";

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn at(base: &str, secs: i64) -> Timestamp {
    ts(base)
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .expect("in range")
}

fn at_ms(base: &str, ms: i64) -> Timestamp {
    ts(base)
        .checked_add(jiff::SignedDuration::from_millis(ms))
        .expect("in range")
}

fn signin(t: Timestamp, user: &str, ip: &str, code: &str) -> Event {
    let mut e = Event::new(
        t,
        EventKind::EntraSignIn,
        table::SIGNIN_LOGS,
        Origin::default(),
    );
    e.user = Some(user.into());
    e.source_ip = Some(ip.into());
    e.source_ip_raw = Some(ip.into());
    e.result_code = Some(code.into());
    e.result_description = Some(NF.into());
    e.app = Some("Office".into());
    e
}

fn audit(t: Timestamp, target: Option<&str>, ip: &str, op: &str, reason: &str) -> Event {
    let mut e = Event::new(
        t,
        EventKind::EntraAudit,
        table::AUDIT_LOGS,
        Origin::default(),
    );
    e.target_user = target.map(str::to_string);
    e.source_ip = Some(ip.into());
    e.source_ip_raw = Some(ip.into());
    e.operation = Some(op.into());
    e.activity = Some(op.into());
    e.result_reason = Some(reason.into());
    e
}

fn hunt(profile: Profile, sets: &[&str], now: Option<&str>, events: Vec<Event>) -> Vec<Finding> {
    let ovs: Vec<Override> = sets.iter().map(|s| s.parse().expect("override")).collect();
    let cat = Catalogue::load(profile, &ovs).expect("catalogue");
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile(profile.as_str())
        .now(now.map(ts))
        .build();
    let mut run = engine.run(vec!["test".into()]);
    for e in events {
        run.push(e);
    }
    run.finish().0
}

fn seed(events: Vec<Event>) -> Vec<Finding> {
    hunt(Profile::Seed, &[], None, events)
}

/// `n` probes with `code`, user `{prefix}{i}`, one every `step` seconds.
fn burst(n: usize, start: &str, step: i64, ip: &str, prefix: &str, code: &str) -> Vec<Event> {
    (0..n)
        .map(|i| {
            signin(
                at(start, i as i64 * step),
                &format!("{prefix}{i}@contoso.com"),
                ip,
                code,
            )
        })
        .collect()
}

fn sspr_burst(n: usize, ip: &str, reason: &str) -> Vec<Event> {
    (0..n)
        .map(|i| {
            audit(
                at(T0, i as i64 * 10),
                Some(&format!("t{i}@contoso.com")),
                ip,
                RESET,
                reason,
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// AzureADEnum: filters
// ---------------------------------------------------------------------------

/// `ResultType in ("50034", …)` compares strings exactly (Kusto `in` is
/// case-sensitive string equality, learn.microsoft.com/kusto/query/in-operator):
/// `"050034"`, `" 50034"`, `"50034 "` and `"50034.0"` are not in the list.
#[test]
fn seed_result_type_in_is_exact_string_equality() {
    for code in ["050034", " 50034", "50034 ", "50034.0", "AADSTS50034"] {
        let ev = burst(20, T0, 10, "203.0.113.1", "u", code);
        assert!(seed(ev).is_empty(), "{code:?} must not match");
    }
    // Every code of the list matches, and 50126 (not in the list) does not.
    for code in ["50034", "50053", "50055", "50057", "50072", "50076"] {
        let f = seed(burst(15, T0, 10, "203.0.113.1", "u", code));
        assert_eq!(f.len(), 1, "{code}");
        assert_eq!(f[0].error_codes, vec![code.to_string()]);
    }
    assert!(seed(burst(50, T0, 10, "203.0.113.1", "u", "50126")).is_empty());
}

/// `IsLockedOrDisabled` and `IsUsernameNotFound` count rows; 50055/50072/50076
/// count in neither.
#[test]
fn seed_row_counters_by_code() {
    let ip = "203.0.113.1";
    let mut ev = burst(5, T0, 1, ip, "a", "50034");
    ev.extend(burst(4, T0, 1, ip, "b", "50053"));
    ev.extend(burst(3, T0, 1, ip, "c", "50057"));
    ev.extend(burst(3, T0, 1, ip, "d", "50076"));
    let f = seed(ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 15);
    assert_eq!(f[0].username_not_found_count, 5);
    assert_eq!(f[0].extra["locked_disabled_count"], 7);
    assert_eq!(
        f[0].error_codes,
        vec!["50034", "50053", "50057", "50076"],
        "make_set(ResultType): every distinct code"
    );
}

// ---------------------------------------------------------------------------
// AzureADEnum: summarize
// ---------------------------------------------------------------------------

/// `dcount` and `make_set` compare the exact strings: no trimming, no
/// case folding, no Unicode normalization (NFC "é" and NFD "e\u{301}" are
/// different strings; Kusto strings are compared ordinally).
#[test]
fn seed_user_strings_are_compared_as_written() {
    let ip = "203.0.113.1";
    let mut ev = burst(11, T0, 1, ip, "u", "50034");
    ev.push(signin(at(T0, 20), "jos\u{e9}@contoso.com", ip, "50034"));
    ev.push(signin(at(T0, 21), "jose\u{301}@contoso.com", ip, "50034"));
    ev.push(signin(at(T0, 22), " u0@contoso.com", ip, "50034"));
    ev.push(signin(at(T0, 23), "U0@contoso.com", ip, "50034"));
    let f = seed(ev);
    assert_eq!(f.len(), 1, "11 + 4 variants = 15 distinct strings");
    assert_eq!(f[0].unique_usernames, 15);
    assert!(f[0].user_list.contains(&" u0@contoso.com".to_string()));
}

/// Sentinel has no de-duplication: a row repeated (Azure Monitor duplicates,
/// or the same file read twice) counts in `count()` and in the 50034 sum.
#[test]
fn seed_duplicate_rows_count_every_time() {
    let ev = burst(15, T0, 10, "203.0.113.1", "u", "50034");
    let mut doubled = ev.clone();
    doubled.extend(ev);
    let f = seed(doubled);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 15);
    assert_eq!(f[0].total_failures, 30);
    assert_eq!(f[0].username_not_found_count, 30);
    assert_eq!(
        f[0].severity,
        Severity::High,
        "UsernameNotFoundCount >= 30 is High with only 15 distinct users"
    );
}

/// Kusto strings cannot be null: a missing `ResultDescription` or
/// `AppDisplayName` is `""` and groups with an explicit `""`
/// (learn.microsoft.com/kusto/query/scalar-data-types/null-values).
#[test]
fn seed_missing_and_empty_group_keys_are_one_group() {
    let ip = "203.0.113.1";
    let mut ev = Vec::new();
    for i in 0..16 {
        let mut e = signin(at(T0, i), &format!("u{i}@contoso.com"), ip, "50034");
        if i % 2 == 0 {
            e.result_description = None;
            e.app = None;
        } else {
            e.result_description = Some(String::new());
            e.app = Some(String::new());
        }
        ev.push(e);
    }
    let f = seed(ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 16);
    assert_eq!(f[0].extra["result_description"], "");
    assert_eq!(f[0].app.as_deref(), Some(""));
}

/// A missing `UserPrincipalName` is `""`: `dcount` ignores only nulls
/// (learn.microsoft.com/kusto/query/dcount-aggfunction), so `""` is one
/// distinct value and `make_set` lists it.
#[test]
fn seed_missing_upn_is_one_distinct_empty_value() {
    let ip = "203.0.113.1";
    let mut ev = burst(14, T0, 1, ip, "u", "50034");
    for i in 0..3 {
        let mut e = signin(at(T0, 30 + i), "x", ip, "50034");
        e.user = None;
        ev.push(e);
    }
    let f = seed(ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 15);
    assert_eq!(f[0].total_failures, 17);
    assert!(f[0].user_list.contains(&String::new()));
}

/// `make_set(UserPrincipalName, 25)` holds at most 25 values (which 25 is
/// undefined in Kusto; idrecon keeps the first 25 in time order whatever
/// the input order).
#[test]
fn seed_user_list_cap_is_25_and_order_independent() {
    let ev = burst(40, T0, 10, "203.0.113.1", "u", "50034");
    let a = seed(ev.clone());
    let mut rev = ev;
    rev.reverse();
    let b = seed(rev);
    assert_eq!(a, b);
    assert_eq!(a[0].unique_usernames, 40);
    assert_eq!(a[0].user_list.len(), 25);
    assert_eq!(a[0].user_list[0], "u0@contoso.com");
    assert_eq!(a[0].user_list[24], "u24@contoso.com");
}

// ---------------------------------------------------------------------------
// Time: ago(), now, datetime_diff
// ---------------------------------------------------------------------------

/// `ago(1h)` only bounds from below: with `now` before every event, all
/// events are kept (`TimeGenerated > now - 1h`), including those after `now`
/// (learn.microsoft.com/kusto/query/ago-function).
#[test]
fn seed_now_before_all_events_keeps_them_all() {
    let ev = burst(15, T0, 60, "203.0.113.1", "u", "50034");
    let f = hunt(Profile::Seed, &[], Some("2024-05-01T09:30:00Z"), ev.clone());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 15);
    // now far earlier: now - 1h is still before them all.
    let f = hunt(Profile::Seed, &[], Some("2024-05-01T09:00:00.001Z"), ev);
    assert_eq!(f.len(), 1);
}

/// The cutoff is `now - 1h` to the tick: with a fractional `now`, an event
/// 1 ms before the cutoff and one exactly at it are out, 1 ms after is in.
#[test]
fn seed_lookback_cutoff_is_exact_to_the_millisecond() {
    let ip = "203.0.113.1";
    let now = "2024-05-01T11:00:00.500Z";
    let mut ev = burst(14, "2024-05-01T10:30:00Z", 1, ip, "u", "50034");
    ev.push(signin(at_ms(T0, 499), "early@contoso.com", ip, "50034"));
    ev.push(signin(at_ms(T0, 500), "edge@contoso.com", ip, "50034"));
    assert!(
        hunt(Profile::Seed, &[], Some(now), ev.clone()).is_empty(),
        "10:00:00.499 and 10:00:00.500 are not > 10:00:00.500"
    );
    ev.push(signin(at_ms(T0, 501), "late@contoso.com", ip, "50034"));
    let f = hunt(Profile::Seed, &[], Some(now), ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 15);
    assert_eq!(f[0].first_seen, at_ms(T0, 501));
}

/// Default `now` is the latest event of the whole input, of any table: a
/// late audit record moves the sign-ins' window.
#[test]
fn seed_default_now_is_latest_event_of_any_table() {
    let ip = "203.0.113.1";
    let mut ev = burst(15, T0, 60, ip, "u", "50034"); // 10:00 .. 10:14
    assert_eq!(seed(ev.clone()).len(), 1);
    // An unrelated audit record at 11:05: now - 1h = 10:05, 9 users left.
    ev.push(audit(
        ts("2024-05-01T11:05:00Z"),
        Some("x@contoso.com"),
        "198.51.100.1",
        "Update user",
        "",
    ));
    assert!(seed(ev).is_empty());
}

/// `datetime_diff('minute', LastSeen, FirstSeen)` counts minute boundaries
/// (docs example: 23:05:01 - 23:00:59 = 5), across hours and days too.
#[test]
fn seed_duration_minutes_counts_boundaries_across_hour_and_day() {
    let ip = "203.0.113.1";
    // 23:59:59.9 -> 00:00:00.1 next day: 1 boundary, 0.2 s elapsed.
    let mut ev = burst(13, "2024-05-01T23:59:59Z", 0, ip, "u", "50034");
    ev.push(signin(
        at_ms("2024-05-01T23:59:59Z", 900),
        "a@contoso.com",
        ip,
        "50034",
    ));
    ev.push(signin(
        at_ms("2024-05-02T00:00:00Z", 100),
        "b@contoso.com",
        ip,
        "50034",
    ));
    let f = seed(ev);
    assert_eq!(f[0].duration_minutes, 1);
    assert_eq!(f[0].enum_rate, 15.0);
    // 10:00:59 -> 10:59:00 : 59 boundaries (58 min 1 s elapsed).
    let mut ev = burst(14, "2024-05-01T10:00:59Z", 0, ip, "v", "50034");
    ev.push(signin(
        ts("2024-05-01T10:59:00Z"),
        "c@contoso.com",
        ip,
        "50034",
    ));
    let f = seed(ev);
    assert_eq!(f[0].duration_minutes, 59);
    assert_eq!(f[0].enum_rate, 0.25, "15/59 = 0.2542");
}

/// `round(x, 2)` at exact binary midpoints: 17/8 = 2.125 (exact in binary).
/// Kusto documents no midpoint rule (round function page: only
/// `round(2.15, 1) = 2.2`, which does not decide it); idrecon rounds half
/// away from zero (2.13), like SQL and .NET `MidpointRounding.AwayFromZero`.
/// 41/40 = 1.025 is not exact in binary (1.02499…): 1.02 either way.
#[test]
fn seed_enum_rate_midpoints() {
    let ip = "203.0.113.1";
    // 17 users over 8 minute boundaries.
    let mut ev = burst(16, T0, 1, ip, "u", "50034");
    ev.push(signin(at(T0, 8 * 60), "z@contoso.com", ip, "50034"));
    let f = seed(ev);
    assert_eq!((f[0].unique_usernames, f[0].duration_minutes), (17, 8));
    assert_eq!(f[0].enum_rate, 2.13);
    // 41 users over 40 boundaries.
    let mut ev = burst(40, T0, 1, ip, "v", "50034");
    ev.push(signin(at(T0, 40 * 60), "z@contoso.com", ip, "50034"));
    let f = seed(ev);
    assert_eq!((f[0].unique_usernames, f[0].duration_minutes), (41, 40));
    assert_eq!(f[0].enum_rate, 1.02);
    // 15 users over 7: 2.142857 -> 2.14; 20 over 3: 6.67.
    let mut ev = burst(14, T0, 1, ip, "w", "50034");
    ev.push(signin(at(T0, 7 * 60), "z@contoso.com", ip, "50034"));
    assert_eq!(seed(ev)[0].enum_rate, 2.14);
    let mut ev = burst(19, T0, 1, ip, "x", "50034");
    ev.push(signin(at(T0, 3 * 60), "z@contoso.com", ip, "50034"));
    assert_eq!(seed(ev)[0].enum_rate, 6.67);
}

// ---------------------------------------------------------------------------
// Thresholds, ladder, overrides
// ---------------------------------------------------------------------------

/// The ladder's rungs are fixed numbers: with `enumThreshold` lowered, a
/// group of 2 users and 30 not-found rows is High (`or` arm), 3 users and 3
/// rows Low; a threshold of 0 keeps every group that has a row.
#[test]
fn seed_ladder_with_threshold_overrides() {
    let mut ev = Vec::new();
    for i in 0..30 {
        ev.push(signin(
            at(T0, i),
            &format!("h{}@contoso.com", i % 2),
            "203.0.113.1",
            "50034",
        ));
    }
    ev.extend(burst(3, T0, 1, "203.0.113.2", "l", "50057"));
    for th in ["0", "1", "2"] {
        let set = format!("auth_username_enumeration.threshold={th}");
        let f = hunt(Profile::Seed, &[&set], None, ev.clone());
        let got: Vec<(&str, u64, u64)> = f
            .iter()
            .map(|f| {
                (
                    f.severity.seed_name(),
                    f.unique_usernames,
                    f.username_not_found_count,
                )
            })
            .collect();
        assert_eq!(got, vec![("High", 2, 30), ("Low", 3, 0)], "threshold {th}");
    }
    let f = hunt(
        Profile::Seed,
        &["auth_username_enumeration.threshold=3"],
        None,
        ev,
    );
    assert_eq!(f.len(), 1, "2 users < 3");
    assert_eq!(f[0].unique_usernames, 3);
}

/// `--set …lookback=` moves `ago()`: 30m keeps only the last half hour.
#[test]
fn seed_lookback_override() {
    let ev = burst(30, T0, 120, "203.0.113.1", "u", "50034"); // 10:00 .. 10:58
    let f = seed(ev.clone());
    assert_eq!(f[0].unique_usernames, 30);
    let f = hunt(
        Profile::Seed,
        &["auth_username_enumeration.lookback=30m"],
        None,
        ev,
    );
    // now = 10:58, cutoff 10:28 (exclusive): 10:30 .. 10:58 = 15 users.
    assert_eq!(f[0].unique_usernames, 15);
    assert_eq!(f[0].first_seen, ts("2024-05-01T10:30:00Z"));
}

// ---------------------------------------------------------------------------
// SSPREnum
// ---------------------------------------------------------------------------

/// `contains` is case-insensitive for ASCII (`"FAILED"`, `"Blocked"`), a
/// plain substring test (`"unblocked"` contains "blocked"), and "verify" is
/// not a substring of "verification".
#[test]
fn seed_sspr_contains_ascii_semantics() {
    let ip = "198.51.100.7";
    for reason in ["FAILED", "User is Blocked", "unblocked", "xfailedx"] {
        let f = seed(sspr_burst(10, ip, reason));
        assert_eq!(f.len(), 1, "{reason:?}");
    }
    for reason in [
        "fail",
        "block",
        "User completed the email verification option",
    ] {
        assert!(seed(sspr_burst(10, ip, reason)).is_empty(), "{reason:?}");
    }
    // ActivityDisplayName contains "verify": case-insensitive too.
    let ev: Vec<Event> = (0..10)
        .map(|i| {
            let mut e = audit(
                at(T0, i),
                Some(&format!("t{i}@contoso.com")),
                ip,
                "Verify email address phone number",
                "ok",
            );
            e.activity = Some("VERIFY email address phone number".into());
            e
        })
        .collect();
    assert_eq!(seed(ev).len(), 1);
}

/// Kusto's case-insensitive operators fold ASCII only ("Case-insensitive
/// operators are currently supported only for ASCII-text",
/// learn.microsoft.com/kusto/query/in-operator). "BLOC\u{212A}ED" (KELVIN
/// SIGN) therefore does not contain "blocked" in Sentinel, while Rust's
/// Unicode `to_lowercase` turns U+212A into "k".
#[test]

fn seed_contains_folds_ascii_only() {
    let f = seed(sspr_burst(10, "198.51.100.7", "BLOC\u{212A}ED"));
    assert!(f.is_empty(), "{f:?}");
}

/// SSPR attempts and targets: duplicates count in `count()` not in `dcount`,
/// `TargetList` lists `""` for a missing target, 25 targets are High.
#[test]
fn seed_sspr_counts_and_score() {
    let ip = "198.51.100.7";
    let mut ev = sspr_burst(9, ip, "failed");
    ev.extend(sspr_burst(9, ip, "failed")); // same 9 targets again
    let mut e = audit(at(T0, 500), None, ip, RESET, "failed");
    e.target_user = None;
    ev.push(e);
    let f = seed(ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 10, "9 targets + \"\"");
    assert_eq!(f[0].total_failures, 19);
    assert_eq!(f[0].severity, Severity::Medium);
    assert_eq!(f[0].extra["suspicion_score"], "Medium");
    let f = seed(sspr_burst(25, ip, "failed"));
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].user_list.len(), 25);
    let f = seed(sspr_burst(24, ip, "failed"));
    assert_eq!(f[0].severity, Severity::Medium);
}

/// `OperationName in (…)` is exact: the real activity name
/// "Self-service password reset flow activity progress" is not the seed's
/// "Self-service password reset flow activity", but the seed's own strings
/// match exactly.
#[test]
fn seed_sspr_operation_names_are_exact() {
    let ip = "198.51.100.7";
    for (op, hits) in [
        ("Self-service password reset flow activity", true),
        ("Self-service password reset flow activity progress", false),
        ("Verify email address phone number", true),
        ("Reset password (self-service) ", false),
        ("Blocked from self-service password reset", false),
    ] {
        let ev: Vec<Event> = (0..10)
            .map(|i| {
                audit(
                    at(T0, i),
                    Some(&format!("t{i}@contoso.com")),
                    ip,
                    op,
                    "failed",
                )
            })
            .collect();
        assert_eq!(seed(ev).len(), usize::from(hits), "{op:?}");
    }
}

// ---------------------------------------------------------------------------
// Union and final order
// ---------------------------------------------------------------------------

/// `order by SuspicionScore asc, UniqueUsernames desc` over the union:
/// SSPR and auth rows interleave by the score string, then by distinct
/// users (SSPR's UniqueUsernames = UniqueTargets).
#[test]
fn seed_union_order_mixes_both_detections() {
    let mut ev = burst(60, T0, 1, "203.0.113.1", "a", "50034"); // High 60
    ev.extend(burst(20, T0, 1, "203.0.113.2", "b", "50034")); // Medium 20
    let mut s = sspr_burst(30, "198.51.100.1", "failed"); // High 30
    ev.append(&mut s);
    let mut s: Vec<Event> = sspr_burst(12, "198.51.100.2", "blocked"); // Medium 12
    ev.append(&mut s);
    let mut s: Vec<Event> = (0..25)
        .map(|i| {
            audit(
                at(T0, i),
                Some(&format!("m{i}@contoso.com")),
                "198.51.100.3",
                RESET,
                "failed",
            )
        })
        .collect(); // High 25
    ev.append(&mut s);
    let f = seed(ev);
    let got: Vec<(&str, &str, u64)> = f
        .iter()
        .map(|f| {
            (
                f.severity.seed_name(),
                f.detection.as_str(),
                f.unique_usernames,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("High", "auth_username_enumeration", 60),
            ("High", "sspr_enumeration", 30),
            ("High", "sspr_enumeration", 25),
            ("Medium", "auth_username_enumeration", 20),
            ("Medium", "sspr_enumeration", 12),
        ]
    );
    // The union's renames on the SSPR rows.
    let s = f
        .iter()
        .find(|f| f.detection == "sspr_enumeration")
        .expect("an SSPR finding");
    assert_eq!(s.error_codes, vec!["SSPR"]);
    assert_eq!(s.enum_rate, 0.0);
    assert_eq!(s.duration_minutes, 0);
    assert_eq!(s.username_not_found_count, 0);
    assert_eq!(s.detection_time, s.last_seen);
    assert_eq!(s.extra["detection_type"], "");
    let a = &f[0];
    assert_eq!(a.extra["detection_type"], "Auth_Username_Enumeration");
    assert_eq!(a.detection_time, a.last_seen);
}

/// Ties of score and distinct users have no defined order in Kusto (`sort`
/// is not stable across extents); idrecon breaks them by first event time,
/// deterministically.
#[test]
fn seed_order_ties_are_deterministic() {
    let mut ev = burst(15, "2024-05-01T10:20:00Z", 1, "203.0.113.9", "a", "50034");
    ev.extend(burst(15, T0, 1, "203.0.113.1", "b", "50034"));
    let a = seed(ev.clone());
    ev.reverse();
    let b = seed(ev);
    assert_eq!(a, b);
    assert_eq!(a[0].source_ip.as_deref(), Some("203.0.113.1"));
}

// ---------------------------------------------------------------------------
// Recommended profile: the list of fixes
// ---------------------------------------------------------------------------

fn rec(events: Vec<Event>) -> Vec<Finding> {
    hunt(Profile::Recommended, &[], None, events)
}

/// Both sign-in tables, keyed on the source IP only (app rotation does not
/// split), user names case-insensitive and trimmed.
#[test]
fn recommended_both_tables_ip_key_case_insensitive_users() {
    let ip = "203.0.113.5";
    let mut ev = Vec::new();
    for i in 0..16 {
        let mut e = signin(
            at(T0, i * 30),
            &format!("u{}@contoso.com", i % 8),
            ip,
            "50034",
        );
        e.app = Some(format!("App{i}"));
        e.app_id = Some(format!("00000000-0000-0000-0000-{i:012}"));
        if i >= 8 {
            e.table = table::NON_INTERACTIVE;
            // Same 8 accounts, other case and padding: still 8.
            e.user = Some(format!(" U{}@CONTOSO.com ", i % 8));
        }
        ev.push(e);
    }
    for i in 0..7 {
        let mut e = signin(at(T0, 600 + i), &format!("n{i}@contoso.com"), ip, "50034");
        e.table = table::NON_INTERACTIVE;
        ev.push(e);
    }
    let f = rec(ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 15);
    assert_eq!(f[0].total_failures, 23);
    assert_eq!(
        f[0].app, None,
        "several apps: reported in `apps`, not a key"
    );
    assert_eq!(
        f[0].extra["tables"],
        json!(["SigninLogs", "AADNonInteractiveUserSignInLogs"])
    );
    assert_eq!(f[0].extra["apps"].as_array().map(Vec::len), Some(17));
}

/// Differential fields: distinct not-found and exists accounts, ratio,
/// classification; 51004 counts as not found.
#[test]
fn recommended_differential_fields() {
    let ip = "203.0.113.5";
    let mut ev = burst(8, T0, 10, ip, "ghost", "50034");
    ev.extend(burst(4, T0, 10, ip, "gone", "51004"));
    ev.extend(burst(4, T0, 10, ip, "real", "50126"));
    let f = rec(ev);
    assert_eq!(f.len(), 1);
    let x = &f[0].extra;
    assert_eq!(x["not_found_count"], 12);
    assert_eq!(x["exists_count"], 4);
    assert_eq!(x["not_found_ratio"], 0.75);
    assert_eq!(x["classification"], "mixed");
    assert_eq!(x["valid_accounts"].as_array().map(Vec::len), Some(4));
    assert_eq!(x["credential_confirmed_accounts"], json!([]));
    assert_eq!(f[0].severity, Severity::Medium);
}

/// Two bursts 3 h apart are two episodes; two bursts 40 min apart merge into
/// one episode with the episode totals and the peak window's figures.
#[test]
fn recommended_episodes_and_peak_window() {
    let ip = "203.0.113.5";
    let mut ev = burst(15, T0, 60, ip, "a", "50034");
    ev.extend(burst(15, "2024-05-01T13:00:00Z", 60, ip, "b", "50034"));
    let f = rec(ev);
    assert_eq!(f.len(), 2);
    let mut ev = burst(15, T0, 60, ip, "a", "50034"); // 10:00 .. 10:14
    ev.extend(burst(20, "2024-05-01T10:40:00Z", 60, ip, "b", "50034")); // 10:40 .. 10:59
    ev.extend(burst(5, "2024-05-01T11:30:00Z", 60, ip, "c", "50034")); // 11:30 .. 11:34
    let f = rec(ev);
    assert_eq!(f.len(), 1, "overlapping qualifying windows merge");
    let f = &f[0];
    assert_eq!(f.first_seen, ts(T0));
    assert_eq!(f.last_seen, ts("2024-05-01T11:34:00Z"));
    assert_eq!(f.unique_usernames, 40, "episode total");
    let p = f.peak_window.as_ref().expect("peak");
    assert_eq!(p.unique_usernames, 35, "10:00..10:59 holds a + b");
    assert_eq!(p.start, ts(T0));
    assert_eq!(p.end, ts("2024-05-01T10:59:00Z"));
    assert_eq!(f.threshold_crossed_at, Some(ts("2024-05-01T10:14:00Z")));
}

/// Azure Monitor multi-row duplicates (same request id, account, code) count
/// once even when the rows come from two shapes (case of the id differs);
/// two sign-ins of one account with different request ids count twice.
#[test]
fn recommended_duplicate_rows_once_distinct_requests_twice() {
    let ip = "203.0.113.5";
    let mut ev = Vec::new();
    for i in 0..15 {
        let mut e = signin(at(T0, i), &format!("u{i}@contoso.com"), ip, "50034");
        e.request_id = Some(format!("req-{i}"));
        let mut d = e.clone();
        d.request_id = Some(format!("REQ-{i}"));
        d.time = at(T0, i + 1);
        ev.push(e);
        ev.push(d);
    }
    let mut again = signin(at(T0, 100), "u0@contoso.com", ip, "50034");
    again.request_id = Some("req-other".into());
    ev.push(again);
    let f = rec(ev);
    assert_eq!(f[0].unique_usernames, 15);
    assert_eq!(f[0].total_failures, 16);
}

/// Input order never matters, for both profiles, with audit and sign-ins
/// mixed and timestamps tied.
#[test]
fn input_order_is_irrelevant_with_ties() {
    let mut ev = burst(20, T0, 0, "203.0.113.5", "u", "50034"); // all at T0
    ev.extend(burst(20, T0, 0, "203.0.113.6", "v", "50076"));
    ev.extend(sspr_burst(12, "198.51.100.1", "failed"));
    for p in [Profile::Seed, Profile::Recommended] {
        let a = hunt(p, &[], None, ev.clone());
        let mut shuffled = ev.clone();
        // A fixed interleaving: odd positions first, then even, reversed.
        let (odd, even): (Vec<_>, Vec<_>) = shuffled
            .drain(..)
            .enumerate()
            .partition(|(i, _)| i % 2 == 1);
        let mut s: Vec<Event> = odd.into_iter().map(|(_, e)| e).collect();
        s.extend(even.into_iter().rev().map(|(_, e)| e));
        let b = hunt(p, &[], None, s);
        assert_eq!(a, b, "{p}");
        assert!(!a.is_empty());
    }
}
