//! The seed's five false positives as benign look-alikes, each with the
//! allowlist class (issue 5) that would suppress it.

use crate::catalog::{self, asn};
use crate::directory::DOMAIN;
use crate::labels::{AllowlistHint, Expectation};
use crate::record::Record;
use crate::rng::Uuid;
use crate::scenario::{Actor, Gen, Spec, Tgt, o365spray_actor, sspr, v4};
use crate::time::{DAY, MIN, fmt_date};
use std::sync::Arc;

const R: &str = "recommended";
const S: &str = "seed";
const AUTH: &str = "auth_username_enumeration";

/// An authorised penetration test: o365spray enumeration, then a spray.
pub fn fp_pentest(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let actor = o365spray_actor(v4(192, 0, 2, 20), &catalog::UTRECHT, asn::OFFICE_ISP);
    let mut list: Vec<Tgt> = dir.invented(&mut g.rng, 20).iter().map(Tgt::fake).collect();
    let reals: Vec<usize> = dir.pick_users(&mut g.rng, 40, false);
    list.extend(reals.iter().map(|&i| Tgt::real(dir, i)));
    g.rng.shuffle(&mut list);
    let mut t = g.t0;
    for tgt in &list {
        t += g.delay(1500, 4000);
        let app = g.rng.pick(&catalog::O365SPRAY_CLIENTS);
        let code = if tgt.exists() { 50126 } else { 50034 };
        let s = g.sign_in(t, tgt, &actor, app, &catalog::AAD_GRAPH, code);
        g.push_sign_in(s);
    }
    // Spray of the valid accounts ten minutes later.
    t += 10 * MIN;
    for (k, &i) in reals.iter().enumerate() {
        t += g.delay(1500, 4000);
        let tgt = Tgt::real(dir, i);
        let code = if k == 19 { 50053 } else { 50126 };
        let app = g.rng.pick(&catalog::O365SPRAY_CLIENTS);
        let s = g.sign_in(t, &tgt, &actor, app, &catalog::AAD_GRAPH, code);
        g.push_sign_in(s);
    }
    let expires = fmt_date(g.t0 + 14 * DAY);
    Spec {
        description: "An authorised external penetration test from the tester's published range 192.0.2.16/28: o365spray enumeration of 60 names (oauth2 module), then a one-password spray of the 40 valid accounts. Telemetry is indistinguishable from an attack; only the engagement letter says otherwise.".into(),
        tools: vec!["o365spray --enum, --spray".into()],
        mitre: vec!["T1589.002".into(), "T1110.003".into()],
        source_keys: vec!["192.0.2.20".into()],
        source_cidrs: vec!["192.0.2.16/28".into()],
        existing: 40,
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        expect: vec![
            Expectation::suppressible(AUTH, R, "authorised-pentest", "60 names from one source with the not-found/exists differential: the detection is right to fire; the engagement's CIDR allowlist entry (with an expiry) suppresses it"),
            Expectation::silent(AUTH, S, "client-id rotation splits the seed's groups below 15, and 50126 is not in its codes"),
        ],
        allowlist: Some(AllowlistHint {
            class: "authorised-pentest".into(),
            reason: "Authorised external penetration test (engagement letter PT-2024-031), tester range 192.0.2.16/28".into(),
            cidrs: vec!["192.0.2.16/28".into()],
            app_ids: vec![],
            user_agents: vec![],
            accounts: vec![],
            detections: vec![AUTH.into()],
            expires: Some(expires),
            allow_credential_confirmed: false,
        }),
        notes: vec!["The spray finds no valid password. Had it confirmed a credential, the allowlist would not suppress the finding (entries do not cover confirmed credentials unless allow_credential_confirmed is set): a pentest hit is reported.".into()],
        ..Spec::default()
    }
}

/// A misconfigured legacy app cycling through its stored user list.
pub fn fp_misconfigured_app(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let actor = Actor {
        ip: v4(198, 51, 100, 200),
        loc: &catalog::AMSTERDAM,
        asn: asn::OFFICE_ISP,
        ua: catalog::UA_JAVA,
        os: "",
        browser: "",
        client_app: "Mobile Apps and Desktop clients",
        protocol: "ropc",
    };
    let mut list: Vec<(Tgt, u32)> = dir
        .invented(&mut g.rng, 18)
        .iter()
        .map(|i| (Tgt::fake(i), 50034))
        .collect();
    let users = dir.pick_users(&mut g.rng, 72, true);
    for (k, &i) in users.iter().enumerate() {
        let code = if dir.users[i].disabled {
            50057
        } else if k < 20 {
            50126
        } else {
            0
        };
        list.push((Tgt::real(dir, i), code));
    }
    g.rng.shuffle(&mut list);
    // Five runs, every 30 minutes, about one request per second.
    for run in 0..5 {
        let mut t = g.t0 + run * 30 * MIN;
        for (tgt, code) in &list {
            t += g.delay(700, 1300);
            let mut s = g.sign_in(
                t,
                tgt,
                &actor,
                &catalog::LEGACY_SSO_APP,
                &catalog::MS_GRAPH,
                *code,
            );
            s.interactive = false;
            g.push_sign_in(s);
        }
    }
    Spec {
        description: "A legacy intranet app (Contoso Intranet SSO, own app id) logs every user on its stored list in with ROPC every 30 minutes from the datacenter egress: 18 departed employees (50034), 20 changed passwords (50126), disabled accounts (50057), the rest succeed. Non-interactive sign-ins.".into(),
        tools: vec!["in-house Java app (Apache HttpClient)".into()],
        source_keys: vec!["198.51.100.200".into()],
        source_cidrs: vec!["198.51.100.200/32".into()],
        existing: 72,
        probed: list.iter().map(|(t, _)| t.upn.clone()).collect(),
        expect: vec![
            Expectation::suppressible(AUTH, R, "misconfigured-app", "≥38 distinct failing accounts from one source with 18 not found: looks like enumeration; suppressed by app id + source"),
            Expectation::silent(AUTH, S, "the seed reads SigninLogs only and these are non-interactive sign-ins"),
        ],
        allowlist: Some(AllowlistHint {
            class: "misconfigured-app".into(),
            reason: "Contoso Intranet SSO (legacy) replays stored credentials; ticket to fix its user list is open".into(),
            cidrs: vec!["198.51.100.200/32".into()],
            app_ids: vec![catalog::LEGACY_SSO_APP.id.into()],
            user_agents: vec!["Apache-HttpClient/*".into()],
            accounts: vec![],
            detections: vec![AUTH.into()],
            expires: None,
            allow_credential_confirmed: false,
        }),
        notes: vec!["The seed names `AADSignInLogs` (read as SigninLogs): it never sees non-interactive sign-ins, so it is blind to this false positive and to the same pattern from an attacker.".into()],
        ..Spec::default()
    }
}

/// A helpdesk tool probing SSPR status in bulk.
pub fn fp_helpdesk_sspr(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let ip = v4(198, 51, 100, 50);
    let list: Vec<Tgt> = dir
        .pick_users(&mut g.rng, 45, false)
        .into_iter()
        .map(|i| Tgt::real(dir, i))
        .collect();
    let mut t = g.t0;
    for (k, tgt) in list.iter().enumerate() {
        t += g.delay(5000, 15_000);
        let a = g.sspr(t, tgt, ip, sspr::FLOW, "success", sspr::SUBMITTED);
        g.push(Record::Audit(a));
        let t2 = t + g.delay(1500, 4000);
        let a = if tgt.user(dir).is_some_and(|u| u.sspr) {
            g.sspr(t2, tgt, ip, sspr::FLOW, "success", sspr::PRESENTED)
        } else if k % 2 == 0 {
            g.sspr(t2, tgt, ip, sspr::FLOW, "failure", sspr::INSUFFICIENT)
        } else {
            g.sspr(t2, tgt, ip, sspr::FLOW, "failure", sspr::NOT_ENABLED)
        };
        g.push(Record::Audit(a));
    }
    Spec {
        description: "The helpdesk's bulk-account tool checks, for 45 accounts in a ticket batch, whether self-service reset is ready by submitting each user ID to the SSPR flow from the helpdesk subnet: 'User submitted their user ID', then 'User was presented with verification options' or a failure for accounts without methods.".into(),
        tools: vec!["helpdesk bulk-account tool".into()],
        source_keys: vec!["198.51.100.50".into()],
        source_cidrs: vec!["198.51.100.48/29".into()],
        existing: list.len(),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        expect: vec![
            Expectation::suppressible("sspr_enumeration", R, "helpdesk-sspr-tool", "45 SSPR targets from one address in minutes: the same shape as seed test 3; suppressed by the helpdesk subnet"),
            Expectation::silent("sspr_enumeration", S, "the seed's activity names do not match real ones"),
        ],
        allowlist: Some(AllowlistHint {
            class: "helpdesk-sspr-tool".into(),
            reason: "Helpdesk bulk-account tool checks SSPR readiness from the helpdesk subnet".into(),
            cidrs: vec!["198.51.100.48/29".into()],
            app_ids: vec![],
            user_agents: vec![],
            accounts: vec![],
            detections: vec!["sspr_enumeration".into()],
            expires: None,
            allow_credential_confirmed: false,
        }),
        notes: vec!["How a particular helpdesk product appears in AuditLogs depends on the product; it is modelled on the seed's description as SSPR flow submissions.".into()],
        ..Spec::default()
    }
}

/// A password-expiry notifier checking accounts in rapid succession.
pub fn fp_expiry_notifier(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let actor = Actor {
        ip: v4(198, 51, 100, 60),
        loc: &catalog::AMSTERDAM,
        asn: asn::OFFICE_ISP,
        ua: catalog::UA_PYTHON,
        os: "",
        browser: "",
        client_app: "Mobile Apps and Desktop clients",
        protocol: "ropc",
    };
    let list: Vec<Tgt> = dir
        .pick_users(&mut g.rng, 40, false)
        .into_iter()
        .map(|i| Tgt::real(dir, i))
        .collect();
    let mut t = g.t0;
    for (k, tgt) in list.iter().enumerate() {
        t += g.delay(600, 1400);
        let code = match k % 20 {
            0..=10 => 50055,
            11..=13 => 50144,
            _ => 50126,
        };
        let s = g.sign_in(
            t,
            tgt,
            &actor,
            &catalog::EXPIRY_NOTIFIER,
            &catalog::MS_GRAPH,
            code,
        );
        g.push_sign_in(s);
    }
    Spec {
        description: "The password-expiry notifier (own app id, python-requests) checks the password state of 40 accounts whose passwords expire this week by attempting a sign-in with a placeholder, one per second: 50055 (expired), 50144 (on-prem password expired), 50126 (not expired yet), then mails the users.".into(),
        tools: vec!["in-house notifier (python-requests)".into()],
        source_keys: vec!["198.51.100.60".into()],
        source_cidrs: vec!["198.51.100.60/32".into()],
        existing: list.len(),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        expect: vec![
            Expectation::suppressible(AUTH, R, "password-expiry-notifier", "40 accounts from one source with exists codes (50055/50144/50126)"),
            Expectation::suppressible("password_spray", R, "password-expiry-notifier", "40 existing accounts, no not-found codes: reads as a spray"),
            Expectation::suppressible(AUTH, S, "password-expiry-notifier", "22 × 50055 under one app and description"),
        ],
        allowlist: Some(AllowlistHint {
            class: "password-expiry-notifier".into(),
            reason: "Password-expiry notifier service checks password state before mailing users".into(),
            cidrs: vec!["198.51.100.60/32".into()],
            app_ids: vec![catalog::EXPIRY_NOTIFIER.id.into()],
            user_agents: vec!["python-requests/*".into()],
            accounts: vec![],
            detections: vec![AUTH.into(), "password_spray".into()],
            expires: None,
            allow_credential_confirmed: false,
        }),
        ..Spec::default()
    }
}

/// An onboarding script validating new accounts during directory sync.
pub fn fp_onboarding(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let actor = Actor {
        ip: v4(198, 51, 100, 70),
        loc: &catalog::AMSTERDAM,
        asn: asn::OFFICE_ISP,
        ua: catalog::UA_POWERSHELL,
        os: "Windows10",
        browser: "",
        client_app: "Mobile Apps and Desktop clients",
        protocol: "ropc",
    };
    // New hires: not in the directory yet (they are being created).
    let hires: Vec<Tgt> = dir
        .invented(&mut g.rng, 60)
        .iter()
        .filter(|i| {
            i.upn.split('@').next().is_some_and(|l| l.contains('.')) && i.upn.ends_with(DOMAIN)
        })
        .take(30)
        .map(Tgt::fake)
        .collect();
    let ids: Vec<(Uuid, Arc<str>)> = hires
        .iter()
        .map(|h| (g.rng.uuid(), h.upn.clone()))
        .collect();
    let mut t = g.t0;
    let mut pending = Vec::new();
    let mut confirmed = Vec::new();
    for (k, h) in hires.iter().enumerate() {
        t += g.delay(800, 2500);
        let synced = k % 5 != 1 && k % 5 != 3;
        let mut tgt = h.clone();
        if synced {
            tgt.entra = Some(ids[k].clone());
            confirmed.push(h.upn.to_string());
        } else {
            pending.push(k);
        }
        let s = g.sign_in(
            t,
            &tgt,
            &actor,
            &catalog::ONBOARDING_APP,
            &catalog::MS_GRAPH,
            if synced { 50072 } else { 50034 },
        );
        g.push_sign_in(s);
    }
    // Retry after the next sync cycle (about 30 minutes).
    t += 25 * MIN;
    for k in pending {
        t += g.delay(800, 2500);
        let mut tgt = hires[k].clone();
        tgt.entra = Some(ids[k].clone());
        confirmed.push(tgt.upn.to_string());
        let s = g.sign_in(
            t,
            &tgt,
            &actor,
            &catalog::ONBOARDING_APP,
            &catalog::MS_GRAPH,
            50072,
        );
        g.push_sign_in(s);
    }
    Spec {
        description: "IT's onboarding script validates 30 new-hire accounts with their initial passwords during directory synchronisation: accounts not synced yet answer 50034, synced ones 50072 (password accepted, MFA registration required); the script retries the missing ones after the next sync cycle.".into(),
        tools: vec!["onboarding PowerShell script".into()],
        source_keys: vec!["198.51.100.70".into()],
        source_cidrs: vec!["198.51.100.70/32".into()],
        existing: 30,
        probed: hires.iter().map(|t| t.upn.clone()).collect(),
        confirmed,
        notes: vec!["The 50072 answers confirm the initial passwords, so the allowlist entry sets allow_credential_confirmed = true; without it the finding stays (critical).".into()],
        expect: vec![
            Expectation::suppressible(AUTH, R, "onboarding-script", "30 accounts from one source, 12 not found then 50072 (password accepted): reads as enumeration with credential confirmation (critical)"),
            Expectation::suppressible(AUTH, S, "onboarding-script", "30 × 50072 under one app and description"),
        ],
        allowlist: Some(AllowlistHint {
            class: "onboarding-script".into(),
            reason: "Onboarding automation validates new accounts from the IT automation host".into(),
            cidrs: vec!["198.51.100.70/32".into()],
            app_ids: vec![catalog::ONBOARDING_APP.id.into()],
            user_agents: vec![],
            accounts: vec![],
            detections: vec![AUTH.into()],
            expires: None,
            allow_credential_confirmed: true,
        }),
        ..Spec::default()
    }
}

/// An office egress pool: Outlook clients with a stale password retry
/// through three NAT addresses, then their users sign in.
pub fn nat_pool_retries(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let nats = [
        v4(198, 51, 101, 10),
        v4(198, 51, 101, 11),
        v4(198, 51, 101, 12),
    ];
    let users = dir.pick_users(&mut g.rng, 8, false);
    let (ua, os, browser, client_app) = catalog::UA_BACKGROUND[5];
    let mut t = g.t0;
    for round in 0..3 {
        for (k, &i) in users.iter().enumerate() {
            let actor = Actor {
                ip: nats[(k + round) % 3],
                loc: &catalog::SEATTLE,
                asn: asn::OFFICE_ISP,
                ua,
                os,
                browser,
                client_app,
                protocol: "none",
            };
            t += g.delay(2000, 20_000);
            let s = g.sign_in(
                t,
                &Tgt::real(dir, i),
                &actor,
                &catalog::OFFICE,
                &catalog::EXO,
                50126,
            );
            g.push_sign_in(s);
        }
        t += 15 * MIN;
    }
    // The users update the password in their client and sign in.
    for (k, &i) in users.iter().enumerate() {
        let actor = Actor {
            ip: nats[k % 3],
            loc: &catalog::SEATTLE,
            asn: asn::OFFICE_ISP,
            ua,
            os,
            browser,
            client_app,
            protocol: "none",
        };
        t += g.delay(30_000, 120_000);
        let s = g.sign_in(
            t,
            &Tgt::real(dir, i),
            &actor,
            &catalog::OFFICE,
            &catalog::EXO,
            0,
        );
        g.push_sign_in(s);
    }
    Spec {
        description: "After a password change, the Outlook desktop clients of 8 users keep the old password and retry through the office's three egress NAT addresses (round-robin), so every account fails (50126) from all three; then the users enter the new password and sign in from the office.".into(),
        tools: vec!["Outlook desktop clients".into()],
        source_keys: nats.iter().map(ToString::to_string).collect(),
        source_cidrs: vec!["198.51.101.10/31".into(), "198.51.101.12/32".into()],
        existing: 8,
        probed: users.iter().map(|&i| dir.users[i].upn.clone()).collect(),
        expect: vec![
            Expectation::silent("distributed_enumeration_shared_targets", R, "the 8 accounts fail from the same three addresses, but every one of them then signs in from them (an office pool, not a spray)"),
            Expectation::silent("password_spray", R, "8 accounts per address"),
            Expectation::silent("distributed_enumeration", R, "8 accounts in the /24, below 15"),
            Expectation::silent(AUTH, R, "8 accounts per address"),
        ],
        ..Spec::default()
    }
}
