//! Hand-computed expectations for the on-prem Windows rules.

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

fn win(
    secs: i64,
    id: &str,
    user: &str,
    ip: Option<&str>,
    status: &str,
    sub: Option<&str>,
) -> Event {
    let mut e = Event::new(
        at(secs),
        EventKind::WindowsSecurity,
        table::SECURITY_EVENT,
        Origin::default(),
    );
    e.event_id = Some(id.into());
    e.user = Some(user.into());
    e.source_ip = ip.map(str::to_string);
    e.result_code = Some(status.into());
    e.sub_status = sub.map(str::to_string);
    e.host = Some("DC01.contoso.local".into());
    e
}

fn hunt(profile: Profile, events: Vec<Event>) -> Vec<Finding> {
    let cat = Catalogue::load(profile, &[]).expect("catalogue");
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile(profile.as_str())
        .build();
    let mut run = engine.run(vec!["t".into()]);
    events.into_iter().for_each(|e| run.push(e));
    run.finish().0
}

const IP: &str = "10.0.0.66";

#[test]
fn kerbrute_userenum_is_kerberos_enumeration() {
    // 7 unknown names (4768 0x6), 2 wrong passwords (4771 0x18) — the shape
    // of the public kerberos_pwd_spray_4771 sample — then a TGT for one of
    // the sprayed accounts.
    let mut ev: Vec<Event> = (0..7)
        .map(|i| win(i, "4768", &format!("ghost{i}"), Some(IP), "0x6", None))
        .collect();
    ev.push(win(8, "4771", "Administrator", Some(IP), "0x18", None));
    ev.push(win(9, "4771", "backdoor", Some(IP), "0x18", None));
    let f = hunt(Profile::Recommended, ev.clone());
    assert_eq!(f.len(), 1, "{f:#?}");
    let k = &f[0];
    assert_eq!(k.detection, "kerberos_user_enumeration");
    assert_eq!(k.source_ip.as_deref(), Some(IP));
    assert_eq!(k.unique_usernames, 9);
    assert_eq!(k.username_not_found_count, 7);
    assert_eq!(k.extra["not_found_count"], 7);
    assert_eq!(k.extra["exists_count"], 2);
    assert_eq!(
        k.extra["valid_accounts"],
        serde_json::json!(["administrator", "backdoor"])
    );
    assert_eq!(k.extra["hosts"], serde_json::json!(["DC01.contoso.local"]));
    assert_eq!(k.severity, Severity::Medium);
    // An AS-REP (4768 0x0, PreAuthType 0) is not a credential confirmation...
    let mut asrep = win(20, "4768", "backdoor", Some(IP), "0x0", None);
    asrep.pre_auth_type = Some("0".into());
    ev.push(asrep);
    let f = hunt(Profile::Recommended, ev.clone());
    assert_eq!(f[0].severity, Severity::Medium, "{:?}", f[0].extra);
    // ...a pre-authenticated TGT is.
    let mut tgt = win(21, "4768", "backdoor", Some(IP), "0x0", None);
    tgt.pre_auth_type = Some("2".into());
    ev.push(tgt);
    let f = hunt(Profile::Recommended, ev.clone());
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(
        f[0].extra["credential_confirmed_accounts"],
        serde_json::json!(["backdoor"])
    );
    // The seed's statement looks for 4771 0x6, which never exists: silent.
    assert!(hunt(Profile::Seed, ev).is_empty());
}

#[test]
fn single_account_brute_force_is_not_enumeration() {
    let ev: Vec<Event> = (0..54)
        .map(|i| win(i, "4771", "admin-hacker", Some(IP), "0x18", None))
        .collect();
    assert!(hunt(Profile::Recommended, ev).is_empty());
    let ev: Vec<Event> = (0..3558)
        .map(|i| {
            win(
                i / 20,
                "4625",
                if i % 2 == 0 {
                    "Administrator"
                } else {
                    "JcDfcZTc"
                },
                Some(IP),
                "0xc000006d",
                Some("0xc000006a"),
            )
        })
        .collect();
    assert!(hunt(Profile::Recommended, ev.clone()).is_empty());
    assert!(hunt(Profile::Seed, ev).is_empty());
}

#[test]
fn kerberos_spray_needs_many_accounts() {
    let ev: Vec<Event> = (0..10)
        .map(|i| win(i * 60, "4771", &format!("user{i}"), Some(IP), "0x18", None))
        .collect();
    let f = hunt(Profile::Recommended, ev[..9].to_vec());
    assert!(f.is_empty());
    let f = hunt(Profile::Recommended, ev.clone());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].detection, "kerberos_password_spray");
    assert_eq!(f[0].unique_usernames, 10);
    assert_eq!(f[0].duration_minutes, 9);
    assert_eq!(f[0].enum_rate, 1.11);
    assert_eq!(f[0].severity, Severity::Medium);
    // kerbrute: the account whose password worked gets a TGT, not a 4771.
    let mut with_hit = ev;
    let mut tgt = win(300, "4768", "payroll", Some(IP), "0x0", None);
    tgt.pre_auth_type = Some("2".into());
    with_hit.push(tgt);
    let f = hunt(Profile::Recommended, with_hit);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(
        f[0].extra["credential_confirmed_accounts"],
        serde_json::json!(["payroll"])
    );
}

#[test]
fn ntlm_differential_and_workstation_fallback() {
    // 6 unknown + 4 bad-password names over 4625 from one IP.
    let mut ev: Vec<Event> = (0..6)
        .map(|i| {
            win(
                i,
                "4625",
                &format!("nobody{i}"),
                Some(IP),
                "0xc000006d",
                Some("0xc0000064"),
            )
        })
        .collect();
    ev.extend((0..4).map(|i| {
        win(
            10 + i,
            "4625",
            &format!("real{i}"),
            Some(IP),
            "0xc000006d",
            Some("0xc000006a"),
        )
    }));
    // 4776 has no address: keyed on the workstation.
    for i in 0..10 {
        let mut e = win(30 + i, "4776", &format!("n{i}"), None, "0xc0000064", None);
        e.workstation = Some("KALI".into());
        ev.push(e);
    }
    let f = hunt(Profile::Recommended, ev);
    assert_eq!(f.len(), 2, "{f:#?}");
    let by_ip = f
        .iter()
        .find(|f| f.source_ip.as_deref() == Some(IP))
        .expect("ip finding");
    assert_eq!(by_ip.extra["not_found_count"], 6);
    assert_eq!(by_ip.extra["exists_count"], 4);
    assert_eq!(by_ip.extra["not_found_ratio"], 0.6);
    assert_eq!(by_ip.error_codes, vec!["0xc0000064", "0xc000006a"]);
    let by_ws = f
        .iter()
        .find(|f| f.source_ip.as_deref() == Some("KALI"))
        .expect("workstation finding");
    assert_eq!(by_ws.username_not_found_count, 10);
}

#[test]
fn seed_onprem_statement() {
    // 15 distinct names with 0xc0000064 / 0xc000006a from one IP and workstation.
    let mut ev: Vec<Event> = (0..15)
        .map(|i| {
            let mut e = win(
                i,
                "4625",
                &format!("u{i}"),
                Some(IP),
                "0xc000006d",
                Some(if i < 10 { "0xc0000064" } else { "0xc000006a" }),
            );
            e.workstation = Some("WS1".into());
            e
        })
        .collect();
    let f = hunt(Profile::Seed, ev.clone());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].username_not_found_count, 10);
    assert_eq!(f[0].extra["workstation"], "WS1");
    assert_eq!(f[0].severity, Severity::Medium);
    // A different workstation name splits the group (seed keys on both).
    ev[0].workstation = Some("WS2".into());
    assert!(hunt(Profile::Seed, ev).is_empty());
}
