//! Tumbling-window rules: the tenant-wide surge against the input's own
//! baseline and the shared-target-list linkage, with hand-computed
//! expectations, and streaming evaluation equal to batch.

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Finding, Origin, Severity, Timestamp};
use idrecon_engine::{EngineBuilder, UpdateKind};
use idrecon_rules::{Catalogue, Override, Profile};
use serde_json::json;

const SURGE: &str = "distributed_enumeration_surge";
const SHARED: &str = "distributed_enumeration_shared_targets";

fn at(secs: i64) -> Timestamp {
    "2024-05-01T00:00:00Z"
        .parse::<Timestamp>()
        .expect("ts")
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .expect("range")
}

fn ev(secs: i64, user: &str, ip: &str, code: &str) -> Event {
    let mut e = Event::new(
        at(secs),
        EventKind::EntraSignIn,
        table::SIGNIN_LOGS,
        Origin::default(),
    );
    e.user = Some(user.into());
    e.source_ip = Some(ip.into());
    e.source_ip_raw = Some(ip.into());
    e.result_code = Some(code.into());
    e.app = Some("Office".into());
    e
}

fn engine(rule: &str, sets: &[&str]) -> idrecon_engine::Engine {
    let o: Vec<Override> = sets.iter().map(|s| s.parse().expect("override")).collect();
    let cat = Catalogue::load(Profile::Recommended, &o)
        .expect("catalogue")
        .select(&[rule.to_string()])
        .expect("rule");
    EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile("recommended")
        .build()
}

fn hunt(rule: &str, events: &[Event]) -> Vec<Finding> {
    let e = engine(rule, &[]);
    let mut run = e.run(vec![]);
    events.iter().cloned().for_each(|x| run.push(x));
    run.finish().0
}

const H: i64 = 3600;

/// `per_hour[k]` not-found accounts in hour k (each from its own address),
/// then `surge` not-found accounts in the hour after, one every 30 s from
/// unrelated addresses.
fn surge_input(per_hour: &[usize], surge: usize) -> Vec<Event> {
    let mut v = Vec::new();
    for (k, n) in per_hour.iter().enumerate() {
        for j in 0..*n {
            v.push(ev(
                k as i64 * H + 60 + j as i64 * 30,
                &format!("typo{k}-{j}@c.com"),
                &format!("198.51.100.{}", (k * 7 + j) % 250),
                "50034",
            ));
        }
    }
    let s = per_hour.len() as i64 * H;
    for i in 0..surge {
        v.push(ev(
            s + i as i64 * 30,
            &format!("Ghost{i}@C.com"),
            &format!("{}.{}.7.{}", 20 + i, 100 + i, i + 1),
            "50034",
        ));
    }
    v
}

#[test]
fn surge_above_a_flat_baseline_is_reported_with_its_baseline() {
    // 24 hours of 2 not-found accounts an hour: mean 2, deviation 0, so the
    // bar is 2 and the floor (20) decides; the surge hour has 25.
    let f = hunt(SURGE, &surge_input(&[2; 24], 25));
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!(f.unique_usernames, 25);
    assert_eq!(f.total_failures, 25);
    assert_eq!(f.source_ip, None, "tenant-wide");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.extra["baseline_mean"], json!(2.0));
    assert_eq!(f.extra["baseline_stddev"], json!(0.0));
    assert_eq!(f.extra["baseline_buckets"], json!(24));
    assert_eq!(f.extra["member_count"], json!(25));
    assert_eq!(f.extra["max_users_per_source"], json!(1));
    assert_eq!(f.first_seen, at(24 * H));
    assert_eq!(f.last_seen, at(24 * H + 24 * 30));
    // The 20th distinct account reached the floor.
    assert_eq!(f.threshold_crossed_at, Some(at(24 * H + 19 * 30)));
    assert_eq!(f.user_list[0], "ghost0@c.com", "accounts lower-cased");
    let peak = f.peak_window.as_ref().expect("peak");
    assert_eq!((peak.unique_usernames, peak.total_failures), (25, 25));
}

#[test]
fn the_bar_is_mean_plus_three_deviations() {
    // Hours alternate 0 and 10 not-found accounts: mean 5, deviation 5, bar
    // 5 + 3 × 5 = 20: 20 accounts are not above it, 21 are.
    let hist: Vec<usize> = (0..24).map(|k| if k % 2 == 0 { 0 } else { 10 }).collect();
    // Hour 0 has no event: the history starts at hour 1, so add one
    // unrelated success at the start (the baseline starts at the first
    // sign-in of any result).
    let with_start = |surge| {
        let mut v = surge_input(&hist, surge);
        v.push(ev(5, "someone@c.com", "192.0.2.1", "0"));
        v
    };
    assert!(hunt(SURGE, &with_start(20)).is_empty());
    let f = hunt(SURGE, &with_start(21));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].extra["baseline_mean"], json!(5.0));
    assert_eq!(f[0].extra["baseline_stddev"], json!(5.0));
    // The running count must be above 20: the 21st account.
    assert_eq!(f[0].threshold_crossed_at, Some(at(24 * H + 20 * 30)));
}

#[test]
fn surge_needs_a_day_of_history_counted_from_the_first_sign_in() {
    // Only 23 hours of history: not evaluated.
    assert!(hunt(SURGE, &surge_input(&[1; 23], 40)).is_empty());
    // A success 23 hours before the first failure extends the history: the
    // hours without not-found answers count as zeros.
    let mut v = surge_input(&[1; 23], 40);
    v.push(ev(-H + 10, "someone@c.com", "192.0.2.1", "0"));
    let f = hunt(SURGE, &v);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].extra["baseline_buckets"], json!(24));
    // 23 buckets of 1 and one of 0: mean 23/24.
    assert_eq!(f[0].extra["baseline_mean"], json!(0.96));
    assert_eq!(f[0].severity, Severity::High);
}

#[test]
fn surge_below_the_floor_or_under_a_high_baseline_is_silent() {
    // Below the floor of 20 distinct accounts.
    assert!(hunt(SURGE, &surge_input(&[0; 30], 19)).is_empty());
    // A busy tenant: 25 or 35 not-found accounts an hour (mean 30,
    // deviation 5, bar 45); 45 is ordinary, 46 is not.
    let busy: Vec<usize> = (0..48).map(|k| if k % 2 == 0 { 25 } else { 35 }).collect();
    assert!(hunt(SURGE, &surge_input(&busy, 45)).is_empty());
    assert_eq!(hunt(SURGE, &surge_input(&busy, 46)).len(), 1);
    // 100 or more distinct accounts is critical (the seed's ladder).
    let f = hunt(SURGE, &surge_input(&busy, 100));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Critical);
}

#[test]
fn surge_history_reaches_back_only_history_buckets() {
    // A 2-hour history window: the huge hours 0–1 are forgotten by hour 10.
    let mut hist = vec![50, 50];
    hist.extend([0; 8]);
    let e = engine(
        SURGE,
        &[
            "distributed_enumeration_surge.history=2h",
            "distributed_enumeration_surge.min_history=2h",
        ],
    );
    let mut run = e.run(vec![]);
    surge_input(&hist, 20).into_iter().for_each(|x| run.push(x));
    let f = run.finish().0;
    // Hours 0 and 1 have fewer than two history buckets (the history starts
    // at hour 0) and are not evaluated; the surge at hour 10 compares with
    // hours 8 and 9 (0, 0), not with the 50s.
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].first_seen, at(10 * H));
    assert_eq!(f[0].extra["baseline_buckets"], json!(2));
    assert_eq!(f[0].extra["baseline_mean"], json!(0.0));
}

/// `ips` each probe the same `users` (bad password), in rounds one
/// address after the other, starting `t0` seconds into the day.
fn rounds(t0: i64, ips: &[&str], users: &[String], code: &str) -> Vec<Event> {
    let mut v = Vec::new();
    for (r, ip) in ips.iter().enumerate() {
        for (i, u) in users.iter().enumerate() {
            v.push(ev(t0 + r as i64 * 1800 + i as i64 * 20, u, ip, code));
        }
    }
    v
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("staff{i}@c.com")).collect()
}

#[test]
fn shared_target_list_links_unrelated_sources() {
    let ips = ["203.0.113.9", "198.51.100.77", "192.0.2.200"];
    let mut v = rounds(3 * H, &ips, &names(6), "50126");
    // An account probed by only two of them is not on the shared list.
    v.push(ev(3 * H + 5, "other@c.com", ips[0], "50126"));
    v.push(ev(3 * H + 6, "other@c.com", ips[1], "50126"));
    let f = hunt(SHARED, &v);
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!(f.unique_usernames, 6);
    assert_eq!(f.total_failures, 18);
    assert_eq!(
        f.source_ip.as_deref(),
        Some("192.0.2.200,198.51.100.77,203.0.113.9"),
        "the sorted set"
    );
    assert_eq!(
        f.key.get("source_ip_set"),
        Some(&Some("192.0.2.200,198.51.100.77,203.0.113.9".to_string()))
    );
    assert_eq!(f.extra["member_count"], json!(3));
    assert_eq!(f.extra["max_users_per_source"], json!(6));
    assert_eq!(f.extra["classification"], json!("spray"));
    assert_eq!(f.severity, Severity::High);
    // Five distinct accounts: the fifth of the first round.
    assert_eq!(f.threshold_crossed_at, Some(at(3 * H + 4 * 20)));
    // Each source alone stays under password_spray's 10 accounts.
    assert!(hunt("password_spray", &v).is_empty());
}

#[test]
fn shared_targets_exact_sets_and_buckets() {
    let ips = ["203.0.113.9", "198.51.100.77", "192.0.2.200"];
    // The owner of one account also mistyped from home: that account has
    // four sources and leaves the list; five remain (the threshold).
    let mut v = rounds(3 * H, &ips, &names(6), "50126");
    v.push(ev(9 * H, "staff0@c.com", "100.64.1.1", "50126"));
    let f = hunt(SHARED, &v);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].unique_usernames, 5);
    assert!(!f[0].user_list.contains(&"staff0@c.com".to_string()));
    // Rounds on both sides of midnight: two sources in one day, one in the
    // next — no bucket has three.
    let v = rounds(24 * H - 3000, &ips, &names(6), "50126");
    assert!(hunt(SHARED, &v).is_empty());
}

#[test]
fn shared_targets_ignore_nat_pools_whose_users_sign_in() {
    // Three egress addresses of one office: six users fail from each and
    // then sign in from one of them.
    let ips = ["203.0.113.9", "203.0.113.10", "203.0.113.11"];
    let mut v = rounds(3 * H, &ips, &names(6), "50126");
    for (i, u) in names(6).iter().enumerate() {
        v.push(ev(5 * H + i as i64, u, ips[i % 3], "0"));
    }
    assert!(hunt(SHARED, &v).is_empty());
    // Two of six signing in (share 0.33) still reports; a password-accepted
    // code and the later successes of sprayed accounts from the spraying
    // addresses confirm credentials (critical).
    let mut v = rounds(3 * H, &ips, &names(6), "50126");
    v.push(ev(5 * H, "staff0@c.com", ips[0], "0"));
    v.push(ev(5 * H + 1, "staff1@c.com", ips[1], "0"));
    v.push(ev(3 * H + 2 * 1800 + 100, "staff2@c.com", ips[2], "50076"));
    let f = hunt(SHARED, &v);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].extra["signed_in_share"], json!(0.3333));
    assert_eq!(
        f[0].extra["signed_in_accounts"],
        json!(["staff0@c.com", "staff1@c.com"])
    );
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(
        f[0].extra["credential_confirmed_accounts"],
        json!(["staff2@c.com", "staff0@c.com", "staff1@c.com"])
    );
}

/// Time-ordered input pushed in chunks with the watermark at each chunk's
/// end gives the batch findings.
fn stream(rule: &str, events: &mut [Event], chunk: usize) -> (Vec<Finding>, Vec<UpdateKind>) {
    events.sort_by_key(|e| e.time);
    let e = engine(rule, &[]);
    let mut run = e.run(vec![]);
    let mut kinds = Vec::new();
    for c in events.chunks(chunk) {
        c.iter().cloned().for_each(|x| run.push(x));
        let wm = c.last().map(|x| x.time).expect("chunk");
        kinds.extend(run.advance(wm).into_iter().map(|u| u.update));
    }
    // The stream goes on for two more days without events.
    kinds.extend(run.advance(at(30 * 24 * H)).into_iter().map(|u| u.update));
    (run.finish().0, kinds)
}

#[test]
fn streaming_tumbling_equals_batch() {
    let mut v = surge_input(&[2; 30], 25);
    v.extend(surge_input(&[0; 1], 0));
    // A second, smaller surge two days later.
    let mut later = surge_input(&[0; 1], 0);
    for i in 0..22 {
        later.push(ev(
            80 * H + i * 30,
            &format!("late{i}@c.com"),
            &format!("10.9.{i}.1"),
            "51004",
        ));
    }
    v.extend(later);
    let batch = hunt(SURGE, &v);
    assert_eq!(batch.len(), 2, "{batch:#?}");
    for chunk in [1, 7, 100] {
        let (s, kinds) = stream(SURGE, &mut v.clone(), chunk);
        assert_eq!(s, batch, "chunk {chunk}");
        assert_eq!(
            kinds.iter().filter(|k| **k == UpdateKind::Opened).count(),
            2
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == UpdateKind::Closed).count(),
            2
        );
    }

    let ips = ["203.0.113.9", "198.51.100.77", "192.0.2.200"];
    let mut v = rounds(3 * H, &ips, &names(6), "50126");
    v.extend(rounds(50 * H, &ips[..2], &names(8), "50034"));
    v.extend(rounds(75 * H, &ips, &names(7), "50034"));
    let batch = hunt(SHARED, &v);
    assert_eq!(batch.len(), 2, "{batch:#?}");
    for chunk in [1, 5, 1000] {
        let (s, kinds) = stream(SHARED, &mut v.clone(), chunk);
        assert_eq!(s, batch, "chunk {chunk}");
        assert_eq!(
            kinds.iter().filter(|k| **k == UpdateKind::Closed).count(),
            2
        );
    }
}

#[test]
fn streaming_baseline_state_is_bounded() {
    // A month of hourly not-found noise: the surge rule keeps about two
    // buckets of events, and its history map holds a week of values.
    let mut v = surge_input(&[3; 24 * 30], 0);
    v.sort_by_key(|e| e.time);
    let e = engine(SURGE, &[]);
    let mut run = e.run(vec![]);
    let mut max = 0;
    for c in v.chunks(10) {
        c.iter().cloned().for_each(|x| run.push(x));
        run.advance(c.last().map(|x| x.time).expect("chunk"));
        max = max.max(run.retained_events());
    }
    assert!(max <= 3 * 3 + 10, "retained {max}");
    assert!(run.finish().0.is_empty());
}
