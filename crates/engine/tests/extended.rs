//! Hand-computed expectations for the detections beyond the seed's query:
//! spray, MFA sweep, distributed and low-and-slow enumeration, follow-on
//! compromise — including the evasions attackers use.

use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Finding, Origin, Severity, Timestamp};
use idrecon_engine::EngineBuilder;
use idrecon_rules::{Catalogue, Profile};

fn at(secs: i64) -> Timestamp {
    "2024-05-01T10:00:00Z"
        .parse::<Timestamp>()
        .expect("ts")
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .expect("range")
}

#[derive(Clone)]
struct S {
    secs: i64,
    user: String,
    ip: String,
    code: &'static str,
    app_id: String,
    ua: String,
    client: &'static str,
    asn: Option<&'static str>,
    req: Option<&'static str>,
}

fn s(secs: i64, user: &str, ip: &str, code: &'static str) -> S {
    S {
        secs,
        user: user.into(),
        ip: ip.into(),
        code,
        app_id: "1b730954-1685-4b74-9bfd-dac224a7b894".into(),
        ua: "python-requests/2.31".into(),
        client: "Mobile Apps and Desktop clients",
        asn: None,
        req: None,
    }
}

impl S {
    fn ev(&self) -> Event {
        let mut e = Event::new(
            at(self.secs),
            EventKind::EntraSignIn,
            table::SIGNIN_LOGS,
            Origin::default(),
        );
        e.user = Some(self.user.clone());
        e.source_ip = Some(self.ip.clone());
        e.result_code = Some(self.code.into());
        e.app_id = Some(self.app_id.clone());
        e.app = Some(format!("app-{}", &self.app_id[..4]));
        e.user_agent = Some(self.ua.clone());
        e.client_app = Some(self.client.into());
        e.asn = self.asn.map(str::to_string);
        e.auth_requirement = Some("singleFactorAuthentication".into());
        e.request_id = self.req.map(str::to_string);
        e
    }
}

fn hunt(events: &[S]) -> Vec<Finding> {
    let cat = Catalogue::load(Profile::Recommended, &[]).expect("catalogue");
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile("recommended")
        .build();
    let mut run = engine.run(vec!["t".into()]);
    events.iter().for_each(|e| run.push(e.ev()));
    run.finish().0
}

fn by<'a>(f: &'a [Finding], det: &str) -> Vec<&'a Finding> {
    f.iter().filter(|x| x.detection == det).collect()
}

#[test]
fn spray_is_classified_and_rotation_does_not_split_it() {
    // 12 real accounts, bad password, each with a different client id and
    // user agent (o365spray / Spray365 rotation).
    let ev: Vec<S> = (0..12)
        .map(|i| {
            let mut x = s(i * 20, &format!("user{i}@c.com"), "203.0.113.5", "50126");
            x.app_id = format!("{i:04}0954-1685-4b74-9bfd-dac224a7b894");
            x.ua = format!("Mozilla/5.0 rotated/{i}");
            x
        })
        .collect();
    let f = hunt(&ev);
    let spray = by(&f, "password_spray");
    assert_eq!(spray.len(), 1, "{f:#?}");
    assert_eq!(spray[0].unique_usernames, 12);
    assert_eq!(spray[0].extra["classification"], "spray");
    assert_eq!(spray[0].extra["app_ids"].as_array().map(Vec::len), Some(12));
    assert_eq!(spray[0].severity, Severity::Medium);
    // Below the enumeration threshold of 15: only the spray fires.
    assert!(by(&f, "auth_username_enumeration").is_empty());
}

#[test]
fn mixed_not_found_and_bad_password_is_mixed() {
    // 9 × 50034 + 9 × 50126: enumeration finding labelled mixed, no spray.
    let mut ev: Vec<S> = (0..9)
        .map(|i| s(i, &format!("ghost{i}@c.com"), "203.0.113.5", "50034"))
        .collect();
    ev.extend((0..9).map(|i| s(20 + i, &format!("real{i}@c.com"), "203.0.113.5", "50126")));
    let f = hunt(&ev);
    let e = by(&f, "auth_username_enumeration");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].extra["classification"], "mixed");
    assert_eq!(e[0].extra["not_found_ratio"], 0.5);
    assert!(by(&f, "password_spray").is_empty(), "ratio 0.5 > 0.2");
}

#[test]
fn spray_success_escalates_and_names_the_signin() {
    let mut ev: Vec<S> = (0..10)
        .map(|i| s(i, &format!("user{i}@c.com"), "203.0.113.5", "50126"))
        .collect();
    ev.push(s(1200, "USER3@c.com", "203.0.113.5", "0"));
    let f = hunt(&ev);
    let sp = by(&f, "password_spray");
    assert_eq!(sp[0].severity, Severity::Critical);
    assert_eq!(
        sp[0].extra["credential_confirmed_accounts"],
        serde_json::json!(["user3@c.com"])
    );
    let signin = &sp[0].extra["credential_confirmed_signins"][0];
    assert_eq!(signin["account"], "user3@c.com");
    assert_eq!(signin["result_code"], "0");
    assert_eq!(signin["time"], "2024-05-01T10:20:00Z");
}

#[test]
fn interleaved_benign_nat_traffic_does_not_hide_or_create_findings() {
    // A NAT address where 30 employees sign in successfully, 2 mistype.
    let mut ev: Vec<S> = (0..30)
        .map(|i| s(i * 60, &format!("emp{i}@c.com"), "198.51.100.10", "0"))
        .collect();
    ev.push(s(100, "emp1@c.com", "198.51.100.10", "50126"));
    ev.push(s(200, "emp2@c.com", "198.51.100.10", "50126"));
    assert!(hunt(&ev).is_empty(), "benign NAT alone");
    // An attacker behind the same NAT enumerating 16 names.
    ev.extend((0..16).map(|i| {
        s(
            300 + i * 5,
            &format!("ghost{i}@c.com"),
            "198.51.100.10",
            "50034",
        )
    }));
    let f = hunt(&ev);
    let e = by(&f, "auth_username_enumeration");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].unique_usernames, 18);
    assert_eq!(e[0].extra["not_found_count"], 16);
    // emp1 and emp2 were probed (bad password) from this address, but their
    // successes came *before* the failures: nothing is confirmed.
    assert_eq!(
        e[0].extra["credential_confirmed_accounts"],
        serde_json::json!([])
    );
    assert_ne!(e[0].severity, Severity::Critical);
}

#[test]
fn mfa_sweep_reports_single_factor_paths() {
    // MFASweep: one account, 11 legs over 4 apps, 3 client apps, 7 UAs.
    let legs: [(&str, &'static str, &str, &'static str); 6] = [
        (
            "1b730954-1685-4b74-9bfd-dac224a7b894",
            "Mobile Apps and Desktop clients",
            "python",
            "50076",
        ),
        (
            "1950a258-227b-4e31-a9cf-717495945fc2",
            "Mobile Apps and Desktop clients",
            "python",
            "50076",
        ),
        (
            "00000002-0000-0ff1-ce00-000000000000",
            "Browser",
            "Mozilla/5.0 (Windows NT 10.0)",
            "53003",
        ),
        (
            "00000002-0000-0ff1-ce00-000000000000",
            "Browser",
            "Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet)",
            "53003",
        ),
        (
            "00000002-0000-0ff1-ce00-000000000000",
            "Browser",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 13_2)",
            "50076",
        ),
        (
            "d3590ed6-52b3-4102-aeff-aad2292ab01c",
            "Exchange ActiveSync",
            "Apple-iPhone9C1/1705.18",
            "0",
        ),
    ];
    let ev: Vec<S> = legs
        .iter()
        .enumerate()
        .map(|(i, (app, client, ua, code))| {
            let mut x = s(i as i64 * 30, "Victim@C.com", "203.0.113.77", code);
            x.app_id = app.to_string();
            x.client = client;
            x.ua = ua.to_string();
            x
        })
        .collect();
    let f = hunt(&ev);
    let m = by(&f, "mfa_sweep");
    assert_eq!(m.len(), 1, "{f:#?}");
    assert_eq!(m[0].severity, Severity::Critical);
    assert_eq!(m[0].extra["distinct_apps"], 4);
    assert_eq!(m[0].extra["distinct_user_agents"], 5);
    assert_eq!(m[0].extra["mfa_or_ca_events"], 5);
    assert_eq!(
        m[0].extra["single_factor_success_client_apps"],
        serde_json::json!(["Exchange ActiveSync"])
    );
    assert_eq!(m[0].extra["user"], "victim@c.com");
    // A user whose mail client and browser sign in normally: 2 apps, no sweep.
    let normal: Vec<S> = (0..6)
        .map(|i| {
            let mut x = s(i * 60, "emp@c.com", "198.51.100.10", "0");
            x.app_id = if i % 2 == 0 {
                "00000002-0000-0ff1-ce00-000000000000".into()
            } else {
                "1fec8e78-bce4-4aaf-ab1b-5451cc387264".into()
            };
            x
        })
        .collect();
    assert!(by(&hunt(&normal), "mfa_sweep").is_empty());
}

#[test]
fn ip_rotation_across_a_24_is_one_cluster() {
    // 20 names, 10 IPs of one /24, 2 names each: every IP stays below 15.
    let ev: Vec<S> = (0..20)
        .map(|i| {
            s(
                i * 30,
                &format!("ghost{i}@c.com"),
                &format!("203.0.113.{}", 10 + i / 2),
                "50034",
            )
        })
        .collect();
    let f = hunt(&ev);
    assert!(by(&f, "auth_username_enumeration").is_empty());
    let d = by(&f, "distributed_enumeration");
    assert_eq!(d.len(), 1, "{f:#?}");
    assert_eq!(d[0].source_ip.as_deref(), Some("203.0.113.0/24"));
    assert_eq!(d[0].unique_usernames, 20);
    assert_eq!(d[0].extra["member_count"], 10);
    assert_eq!(d[0].extra["max_users_per_source"], 2);
    assert_eq!(d[0].extra["classification"], "enumeration");
}

#[test]
fn unrelated_ips_with_one_user_agent_are_one_cluster() {
    let ips = [
        "198.51.100.4",
        "192.0.2.200",
        "203.0.113.99",
        "100.64.1.1",
        "172.16.9.9",
    ];
    let ev: Vec<S> = (0..20)
        .map(|i| {
            let mut x = s(
                i * 40,
                &format!("ghost{i}@c.com"),
                ips[i as usize % 5],
                "50034",
            );
            x.ua = "Go-http-client/1.1".into();
            x
        })
        .collect();
    let f = hunt(&ev);
    let d = by(&f, "distributed_enumeration_user_agent");
    assert_eq!(d.len(), 1, "{f:#?}");
    assert_eq!(d[0].extra["member_count"], 5);
    assert!(
        by(&f, "distributed_enumeration").is_empty(),
        "no shared /24"
    );
    // ...and through one AS, when the log has it.
    let ev: Vec<S> = ev
        .into_iter()
        .map(|mut x| {
            x.asn = Some("14061");
            x.ua = format!("ua-{}", x.secs);
            x
        })
        .collect();
    let f = hunt(&ev);
    assert_eq!(by(&f, "distributed_enumeration_asn").len(), 1, "{f:#?}");
    assert!(
        by(&f, "distributed_enumeration_user_agent").is_empty(),
        "UAs now rotate"
    );
}

#[test]
fn low_and_slow_over_hours() {
    // 24 names at one per 25 minutes: 2–3 per clock hour, 10 hours.
    let ev: Vec<S> = (0..24)
        .map(|i| s(i * 1500, &format!("ghost{i}@c.com"), "203.0.113.5", "50034"))
        .collect();
    let f = hunt(&ev);
    assert!(by(&f, "auth_username_enumeration").is_empty());
    let l = by(&f, "low_and_slow_enumeration");
    assert_eq!(l.len(), 1, "{f:#?}");
    assert_eq!(l[0].unique_usernames, 24);
    assert_eq!(l[0].extra["max_users_per_hour"], 3);
    // A fast burst is the hourly detection's, not this one's.
    let fast: Vec<S> = (0..24)
        .map(|i| s(i * 10, &format!("ghost{i}@c.com"), "203.0.113.5", "50034"))
        .collect();
    let f = hunt(&fast);
    assert!(by(&f, "low_and_slow_enumeration").is_empty());
    assert_eq!(by(&f, "auth_username_enumeration").len(), 1);
}

#[test]
fn completed_mfa_interrupts_are_ordinary_signins() {
    // An office NAT: 40 employees hit an MFA interrupt and complete it
    // (success within a minute) — no finding.
    let mut ev = Vec::new();
    for i in 0..40 {
        ev.push(s(
            i * 60,
            &format!("emp{i}@c.com"),
            "198.51.100.10",
            "50074",
        ));
        ev.push(s(
            i * 60 + 40,
            &format!("Emp{i}@c.com"),
            "198.51.100.10",
            "0",
        ));
    }
    assert!(hunt(&ev).is_empty(), "{:#?}", hunt(&ev));
    // Interrupts nobody completes (a sprayer holding valid passwords): a
    // critical finding with every account credential-confirmed.
    let probes: Vec<S> = (0..16)
        .map(|i| s(i * 10, &format!("victim{i}@c.com"), "203.0.113.5", "50076"))
        .collect();
    let f = hunt(&probes);
    let e = by(&f, "auth_username_enumeration");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].severity, Severity::Critical);
    assert_eq!(
        e[0].extra["credential_confirmed_accounts"]
            .as_array()
            .map(Vec::len),
        Some(16)
    );
    // A completion that comes later than the completion window does not
    // excuse the interrupt.
    let mut late = probes.clone();
    late.extend((0..16).map(|i| s(3_000 + i, &format!("victim{i}@c.com"), "203.0.113.5", "0")));
    assert_eq!(by(&hunt(&late), "auth_username_enumeration").len(), 1);
}

#[test]
fn benign_markers_are_documented_and_switchable() {
    // A spray whose rows all come from AS8075 (Microsoft's network) is
    // excluded by password_spray's built-in marker...
    let ev: Vec<S> = (0..12)
        .map(|i| {
            let mut x = s(i * 20, &format!("user{i}@c.com"), "203.0.113.5", "50126");
            x.asn = Some("8075");
            x
        })
        .collect();
    assert!(by(&hunt(&ev), "password_spray").is_empty());
    // ...and the marker can be switched off.
    let cat = Catalogue::load(
        Profile::Recommended,
        &["password_spray.benign_asns=".parse().expect("override")],
    )
    .expect("catalogue");
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile("recommended")
        .build();
    let mut run = engine.run(vec![]);
    ev.iter().for_each(|e| run.push(e.ev()));
    assert_eq!(by(&run.finish().0, "password_spray").len(), 1);
}
