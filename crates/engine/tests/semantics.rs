//! Hand-computed expectations for the engine's seed (KQL) and recommended
//! semantics. Every expected number here was worked out by hand from the
//! rule text; see docs/SEED-PARITY.md for the reasoning.

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Finding, Origin, Severity, Timestamp};
use idrecon_engine::EngineBuilder;
use idrecon_rules::{Catalogue, Override, Profile};

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn at(base: &str, secs: i64) -> Timestamp {
    ts(base)
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .expect("in range")
}

fn signin(t: Timestamp, user: &str, ip: &str, code: &str, desc: &str, app: &str) -> Event {
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
    e.result_description = Some(desc.into());
    e.app = Some(app.into());
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

const NF: &str = "User account does not exist";
const T0: &str = "2024-05-01T10:00:00Z";

/// `n` not-found probes, one per user, one every `step` seconds.
fn burst(n: usize, start: &str, step: i64, ip: &str, prefix: &str) -> Vec<Event> {
    (0..n)
        .map(|i| {
            signin(
                at(start, i as i64 * step),
                &format!("{prefix}{i}@contoso.com"),
                ip,
                "50034",
                NF,
                "Office",
            )
        })
        .collect()
}

#[test]
fn seed_threshold_is_inclusive_at_15() {
    assert!(
        hunt(
            Profile::Seed,
            &[],
            None,
            burst(14, T0, 10, "203.0.113.5", "u")
        )
        .is_empty()
    );
    let f = hunt(
        Profile::Seed,
        &[],
        None,
        burst(15, T0, 10, "203.0.113.5", "u"),
    );
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.unique_usernames, 15);
    assert_eq!(f.total_failures, 15);
    assert_eq!(f.username_not_found_count, 15);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.extra["suspicion_score"], "Medium");
    assert_eq!(f.extra["detection_type"], "Auth_Username_Enumeration");
    assert_eq!(f.extra["result_description"], NF);
    assert_eq!(f.app.as_deref(), Some("Office"));
    // 10:00:00 → 10:02:20: two minute boundaries; 15 / 2 = 7.5.
    assert_eq!(f.duration_minutes, 2);
    assert_eq!(f.enum_rate, 7.5);
    assert_eq!(f.detection_time, ts("2024-05-01T10:02:20Z"));
    assert_eq!(f.error_codes, vec!["50034"]);
    // Per-minute timeline: 6 events at 10:00, 6 at 10:01, 3 at 10:02.
    assert_eq!(
        f.extra["timeline"],
        serde_json::json!({"bucket_seconds": 60, "points": [
            {"t": "2024-05-01T10:00:00Z", "failures": 6, "accounts": 6, "new_accounts": 6},
            {"t": "2024-05-01T10:01:00Z", "failures": 6, "accounts": 6, "new_accounts": 6},
            {"t": "2024-05-01T10:02:00Z", "failures": 3, "accounts": 3, "new_accounts": 3}
        ]})
    );
    assert_eq!(f.extra["mitre"], serde_json::json!(["T1589", "T1589.002"]));
}

#[test]
fn seed_groups_by_result_description_and_app() {
    // 10 not-found + 10 locked from one IP: two groups of 10, no finding,
    // although the source probed 20 accounts.
    let mut ev = burst(10, T0, 5, "203.0.113.5", "a");
    ev.extend((0..10).map(|i| {
        signin(
            at(T0, 100 + i),
            &format!("b{i}@contoso.com"),
            "203.0.113.5",
            "50053",
            "Account is locked",
            "Office",
        )
    }));
    assert!(hunt(Profile::Seed, &[], None, ev.clone()).is_empty());
    // The recommended profile keys on the source only: one finding of 20.
    let f = hunt(Profile::Recommended, &[], None, ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 20);
    assert_eq!(f[0].extra["not_found_count"], 10);
    assert_eq!(f[0].extra["exists_count"], 10);
    assert_eq!(f[0].extra["not_found_ratio"], 0.5);
    // App rotation splits the seed's count too.
    let ev: Vec<Event> = (0..20)
        .map(|i| {
            signin(
                at(T0, i),
                &format!("u{i}@c.com"),
                "203.0.113.5",
                "50034",
                NF,
                if i % 2 == 0 { "Office" } else { "Azure Portal" },
            )
        })
        .collect();
    assert!(hunt(Profile::Seed, &[], None, ev.clone()).is_empty());
    assert_eq!(
        hunt(Profile::Recommended, &[], None, ev)[0].unique_usernames,
        20
    );
}

#[test]
fn seed_lookback_is_strictly_after_now_minus_1h() {
    // now defaults to the latest event (10:59:59 + 1h later event below).
    let mut ev = burst(15, T0, 1, "203.0.113.5", "u"); // 10:00:00 .. 10:00:14
    // With now = 11:00:00, the event at exactly 10:00:00 is NOT > now-1h.
    let f = hunt(Profile::Seed, &[], Some("2024-05-01T11:00:00Z"), ev.clone());
    assert!(f.is_empty(), "event at now-1h must be excluded: {f:?}");
    // One nanosecond earlier `now` keeps it.
    let f = hunt(
        Profile::Seed,
        &[],
        Some("2024-05-01T10:59:59.999999999Z"),
        ev.clone(),
    );
    assert_eq!(f.len(), 1);
    // Events after --now are still included (ago() only bounds from below).
    let f = hunt(Profile::Seed, &[], Some("2024-05-01T09:30:00Z"), ev.clone());
    assert_eq!(f.len(), 1);
    // Default now = latest event in the input, from any table.
    ev.push(audit(
        ts("2024-05-01T11:00:10Z"),
        Some("x@c.com"),
        "198.51.100.1",
        "Reset password (self-service)",
        "ok",
    ));
    assert!(hunt(Profile::Seed, &[], None, ev).is_empty());
}

#[test]
fn seed_dcount_is_case_sensitive_recommended_is_not() {
    let mut ev = burst(10, T0, 1, "203.0.113.5", "u");
    ev.extend((0..5).map(|i| {
        signin(
            at(T0, 20 + i),
            &format!("U{i}@Contoso.com"),
            "203.0.113.5",
            "50034",
            NF,
            "Office",
        )
    }));
    let f = hunt(Profile::Seed, &[], None, ev.clone());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 15);
    assert!(hunt(Profile::Recommended, &[], None, ev).is_empty());
}

#[test]
fn seed_severity_ladder_and_not_found_rows() {
    // 20 users, 30 not-found *rows* (10 users probed twice): High via
    // UsernameNotFoundCount >= 30 (a row count, not distinct users).
    let mut ev = burst(20, T0, 1, "203.0.113.5", "u");
    ev.extend(burst(10, "2024-05-01T10:01:00Z", 1, "203.0.113.5", "u"));
    let f = hunt(Profile::Seed, &[], None, ev);
    assert_eq!(f[0].unique_usernames, 20);
    assert_eq!(f[0].username_not_found_count, 30);
    assert_eq!(f[0].severity, Severity::High);
    // 100 users: Critical.
    let f = hunt(
        Profile::Seed,
        &[],
        None,
        burst(100, T0, 1, "203.0.113.5", "u"),
    );
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].user_list.len(), 25, "make_set(…, 25)");
    assert_eq!(f[0].user_list[0], "u0@contoso.com", "first seen first");
    // threshold 5 with 10 users: below the fixed 15 rung -> Low.
    let f = hunt(
        Profile::Seed,
        &["auth_username_enumeration.threshold=5"],
        None,
        burst(10, T0, 1, "203.0.113.5", "u"),
    );
    assert_eq!(f[0].severity, Severity::Low);
    assert_eq!(f[0].extra["suspicion_score"], "Low");
}

#[test]
fn seed_code_list_and_zero_duration_rate() {
    // 50126 is not in the seed's list.
    let ev: Vec<Event> = (0..20)
        .map(|i| {
            signin(
                at(T0, i),
                &format!("u{i}@c.com"),
                "203.0.113.5",
                "50126",
                "Invalid username or password",
                "Office",
            )
        })
        .collect();
    assert!(hunt(Profile::Seed, &[], None, ev).is_empty());
    // 16 users within one minute: datetime_diff = 0 -> divide by 1.
    let f = hunt(
        Profile::Seed,
        &[],
        None,
        burst(16, T0, 3, "203.0.113.5", "u"),
    );
    assert_eq!(f[0].duration_minutes, 0);
    assert_eq!(f[0].enum_rate, 16.0);
    // 20 users over 10:00:00..10:03:10 -> 3 boundaries -> 6.67.
    let f = hunt(
        Profile::Seed,
        &[],
        None,
        burst(20, T0, 10, "203.0.113.5", "u"),
    );
    assert_eq!(f[0].duration_minutes, 3);
    assert_eq!(f[0].enum_rate, 6.67);
}

#[test]
fn seed_output_order_is_a_string_sort_of_the_score() {
    let mut ev = burst(100, T0, 1, "203.0.113.1", "a"); // Critical
    ev.extend(burst(15, T0, 1, "203.0.113.2", "b")); // Medium
    ev.extend(burst(60, T0, 1, "203.0.113.3", "c")); // High
    ev.extend(burst(16, T0, 1, "203.0.113.4", "d")); // Medium (16)
    let f = hunt(Profile::Seed, &[], None, ev);
    let order: Vec<(&str, u64)> = f
        .iter()
        .map(|f| (f.severity.seed_name(), f.unique_usernames))
        .collect();
    assert_eq!(
        order,
        vec![
            ("Critical", 100),
            ("High", 60),
            ("Medium", 16),
            ("Medium", 15)
        ]
    );
    let mut ev = burst(10, T0, 1, "203.0.113.9", "l"); // Low at threshold 5
    ev.extend(burst(16, T0, 1, "203.0.113.4", "d"));
    let f = hunt(
        Profile::Seed,
        &["auth_username_enumeration.threshold=5"],
        None,
        ev,
    );
    let order: Vec<&str> = f.iter().map(|f| f.severity.seed_name()).collect();
    assert_eq!(order, vec!["Low", "Medium"], "L sorts before M");
}

#[test]
fn seed_sspr_semantics() {
    let ip = "198.51.100.7";
    let mut ev: Vec<Event> = (0..9)
        .map(|i| {
            audit(
                at(T0, i),
                Some(&format!("t{i}@c.com")),
                ip,
                "Reset password (self-service)",
                "User is Blocked",
            )
        })
        .collect();
    // Wrong case of the operation: `in` is case-sensitive -> ignored.
    ev.push(audit(
        at(T0, 20),
        Some("x1@c.com"),
        ip,
        "reset password (self-service)",
        "blocked",
    ));
    // The real flow-activity name is not in the seed's exact list.
    ev.push(audit(
        at(T0, 21),
        Some("x2@c.com"),
        ip,
        "Self-service password reset flow activity progress",
        "failed",
    ));
    // Reason without blocked/failed and activity without "verify": ignored.
    ev.push(audit(
        at(T0, 22),
        Some("x3@c.com"),
        ip,
        "Reset password (self-service)",
        "Successfully completed reset.",
    ));
    // Empty IP: isnotempty fails.
    ev.push(audit(
        at(T0, 23),
        Some("x4@c.com"),
        "",
        "Reset password (self-service)",
        "blocked",
    ));
    assert!(
        hunt(Profile::Seed, &[], None, ev.clone()).is_empty(),
        "9 targets only"
    );
    // A missing target is tostring(null) = "" and counts as one distinct value.
    ev.push(audit(
        at(T0, 30),
        None,
        ip,
        "Reset password (self-service)",
        "FAILED attempt",
    ));
    let f = hunt(Profile::Seed, &[], None, ev);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.detection, "sspr_enumeration");
    assert_eq!(f.unique_usernames, 10);
    assert_eq!(f.total_failures, 10);
    assert!(f.user_list.contains(&String::new()));
    assert_eq!(f.username_not_found_count, 0);
    assert_eq!(f.enum_rate, 0.0);
    assert_eq!(f.duration_minutes, 0);
    assert_eq!(f.error_codes, vec!["SSPR"]);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(
        f.extra["detection_type"], "",
        "dropped by the seed's project"
    );
    assert_eq!(f.app, None);
}

#[test]
fn recommended_dedups_azure_monitor_multi_rows() {
    let mut ev = Vec::new();
    for i in 0..15 {
        let mut e = signin(
            at(T0, i),
            &format!("u{i}@c.com"),
            "203.0.113.5",
            "50126",
            "bad",
            "Office",
        );
        e.request_id = Some(format!("req-{i}"));
        ev.push(e.clone());
        e.request_id = Some(format!("REQ-{i}"));
        ev.push(e);
    }
    let f = hunt(Profile::Recommended, &[], None, ev);
    assert_eq!(f[0].total_failures, 15, "duplicate rows counted once");
}

#[test]
fn recommended_sliding_windows_and_episodes() {
    // 15 users spread over 2 hours: no 1-hour span holds 15.
    assert!(
        hunt(
            Profile::Recommended,
            &[],
            None,
            burst(15, T0, 480, "203.0.113.5", "u")
        )
        .is_empty()
    );
    // The seed profile would also miss it; a 3h window catches it.
    assert_eq!(
        hunt(
            Profile::Recommended,
            &["window=3h"],
            None,
            burst(15, T0, 480, "203.0.113.5", "u")
        )
        .len(),
        1
    );
    // Two bursts 5 hours apart: two episodes, two findings, and the seed
    // (last hour only) sees just the second.
    let mut ev = burst(20, T0, 10, "203.0.113.5", "a");
    ev.extend(burst(16, "2024-05-01T15:00:00Z", 10, "203.0.113.5", "b"));
    let f = hunt(Profile::Recommended, &[], None, ev.clone());
    assert_eq!(f.len(), 2);
    let mut by_time: Vec<_> = f
        .iter()
        .map(|f| (f.first_seen, f.unique_usernames))
        .collect();
    by_time.sort();
    assert_eq!(
        by_time,
        vec![(ts(T0), 20), (ts("2024-05-01T15:00:00Z"), 16)]
    );
    let first = f
        .iter()
        .find(|f| f.unique_usernames == 20)
        .expect("episode 1");
    // Threshold crossed by the 15th event (index 14, +140 s).
    assert_eq!(first.threshold_crossed_at, Some(at(T0, 140)));
    assert_eq!(
        first.peak_window.as_ref().map(|p| p.unique_usernames),
        Some(20)
    );
    assert_eq!(hunt(Profile::Seed, &[], None, ev).len(), 1);
}

#[test]
fn recommended_window_boundary_is_exclusive_of_t_minus_length() {
    // 14 users at 10:00:00, 1 user at exactly 11:00:00: the 10:00:00 events
    // are not within (11:00 - 1h, 11:00].
    let mut ev = burst(14, T0, 0, "203.0.113.5", "u");
    ev.push(signin(
        ts("2024-05-01T11:00:00Z"),
        "late@c.com",
        "203.0.113.5",
        "50034",
        NF,
        "Office",
    ));
    assert!(hunt(Profile::Recommended, &[], None, ev.clone()).is_empty());
    ev.pop();
    ev.push(signin(
        ts("2024-05-01T10:59:59.9Z"),
        "late@c.com",
        "203.0.113.5",
        "50034",
        NF,
        "Office",
    ));
    assert_eq!(hunt(Profile::Recommended, &[], None, ev).len(), 1);
}

#[test]
fn recommended_exposed_identities_and_escalation() {
    let ip = "203.0.113.5";
    let mut ev = burst(12, T0, 1, ip, "ghost");
    ev.push(signin(
        at(T0, 20),
        "alice@c.com",
        ip,
        "50126",
        "bad pw",
        "Office",
    ));
    ev.push(signin(
        at(T0, 21),
        "bob@c.com",
        ip,
        "50076",
        "MFA required",
        "Office",
    ));
    ev.push(signin(
        at(T0, 22),
        "carol@c.com",
        ip,
        "50057",
        "disabled",
        "Office",
    ));
    let f = hunt(Profile::Recommended, &[], None, ev.clone());
    assert_eq!(f.len(), 1);
    let f0 = &f[0];
    assert_eq!(
        f0.severity,
        Severity::Critical,
        "a password was accepted for bob"
    );
    assert_eq!(
        f0.extra["valid_accounts"],
        serde_json::json!(["alice@c.com", "bob@c.com", "carol@c.com"])
    );
    assert_eq!(
        f0.extra["credential_confirmed_accounts"],
        serde_json::json!(["bob@c.com"])
    );
    assert_eq!(f0.extra["not_found_count"], 12);
    assert_eq!(f0.extra["exists_count"], 3);
    assert_eq!(f0.extra["not_found_ratio"], 0.8);
    // A later success from the same IP for a probed account confirms it too;
    // a success for an account that was never probed does not.
    ev.retain(|e| e.user.as_deref() != Some("bob@c.com"));
    ev.push(signin(
        at(T0, 23),
        "bob@c.com",
        ip,
        "50126",
        "bad",
        "Office",
    ));
    ev.push(signin(at(T0, 600), "Alice@C.com", ip, "0", "", "Office"));
    ev.push(signin(at(T0, 601), "dave@c.com", ip, "0", "", "Office"));
    let f = hunt(Profile::Recommended, &[], None, ev);
    assert_eq!(
        f[0].extra["credential_confirmed_accounts"],
        serde_json::json!(["alice@c.com"])
    );
    assert_eq!(f[0].severity, Severity::Critical);
}

#[test]
fn recommended_sspr_real_activity_names() {
    let ip = "198.51.100.7";
    let mut ev: Vec<Event> = (0..10)
        .map(|i| {
            audit(
                at(T0, i * 30),
                Some(&format!("T{i}@c.com")),
                ip,
                "Self-service password reset flow activity progress",
                "User submitted their user ID",
            )
        })
        .collect();
    ev.push(audit(
        at(T0, 400),
        Some("t1@c.com"),
        ip,
        "Self-service password reset flow activity progress",
        "User was presented with verification options",
    ));
    ev.push(audit(
        at(T0, 401),
        Some("t2@c.com"),
        ip,
        "Blocked from self-service password reset",
        "Not applicable",
    ));
    assert!(
        hunt(Profile::Seed, &[], None, ev.clone()).is_empty(),
        "seed names do not match"
    );
    let f = hunt(Profile::Recommended, &[], None, ev.clone());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 10);
    assert_eq!(
        f[0].extra["valid_accounts"],
        serde_json::json!(["t1@c.com", "t2@c.com"])
    );
    assert_eq!(f[0].severity, Severity::Medium);
    ev.push(audit(
        at(T0, 500),
        Some("t3@c.com"),
        ip,
        "Self-service password reset flow activity progress",
        "User completed all verification steps required",
    ));
    let f = hunt(Profile::Recommended, &[], None, ev);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(
        f[0].extra["credential_confirmed_accounts"],
        serde_json::json!(["t3@c.com"])
    );
}

#[test]
fn input_order_does_not_matter() {
    let mut ev = burst(30, T0, 7, "203.0.113.5", "u");
    ev.extend(burst(20, "2024-05-01T10:01:00Z", 3, "203.0.113.6", "v"));
    ev.push(signin(
        at(T0, 50),
        "u3@contoso.com",
        "203.0.113.5",
        "50126",
        "bad",
        "Portal",
    ));
    for p in [Profile::Seed, Profile::Recommended] {
        let a = hunt(p, &[], None, ev.clone());
        let mut rev = ev.clone();
        rev.reverse();
        let b = hunt(p, &[], None, rev);
        assert_eq!(a, b, "{p}");
        assert!(!a.is_empty());
    }
}
