//! Attack scenarios 1–8 (issue 4), with tool-realistic telemetry
//! (TELEMETRY.md §4–§6).

use crate::catalog::{self, asn};
use crate::directory::{self, Directory};
use crate::labels::Expectation;
use crate::record::Record;
use crate::scenario::{Actor, Gen, Spec, Tgt, mapped, o365spray_actor, secs, sspr, v4};
use crate::time::MIN;
use std::sync::Arc;

const R: &str = "recommended";
const S: &str = "seed";
const AUTH: &str = "auth_username_enumeration";

/// `n_fake` invented names and `n_real` directory users (disabled allowed
/// when `any`), shuffled.
fn targets(g: &mut Gen<'_>, n_fake: usize, n_real: usize, any: bool) -> Vec<Tgt> {
    let dir: &Directory = g.dir;
    let mut v: Vec<Tgt> = dir
        .invented(&mut g.rng, n_fake)
        .iter()
        .map(Tgt::fake)
        .collect();
    v.extend(
        dir.pick_users(&mut g.rng, n_real, any)
            .into_iter()
            .map(|i| Tgt::real(dir, i)),
    );
    g.rng.shuffle(&mut v);
    v
}

fn existing(list: &[Tgt]) -> usize {
    list.iter().filter(|t| t.exists()).count()
}

fn getcredentialtype_note() -> String {
    "GetCredentialType (POST /common/GetCredentialType, the API the seed's test 1 names) is a pre-authentication lookup that leaves no sign-in record (TELEMETRY.md §4); this scenario simulates the variant that does leave one: OAuth2 ROPC against /common/oauth2/token, 50034 for names that do not exist and 50126 (etc.) for real ones.".to_string()
}

/// Seed test 1: o365spray `--enum --enum-module oauth2`.
pub fn seed1_ropc_enum(g: &mut Gen<'_>) -> Spec {
    // NOTE: GetCredentialType itself leaves no sign-in record; the simulated
    // variant is ROPC against the token endpoint (see getcredentialtype_note).
    let actor = o365spray_actor(v4(203, 0, 113, 10), &catalog::FRANKFURT, asn::HETZNER);
    let list = targets(g, 32, 16, true);
    let mut t = g.t0;
    for tgt in &list {
        t += g.delay(1500, 5000);
        let app = g.rng.pick(&catalog::O365SPRAY_CLIENTS);
        let res = if g.rng.chance(0.5) {
            &catalog::AAD_GRAPH
        } else {
            &catalog::MS_GRAPH
        };
        let code = match tgt.user(g.dir) {
            None => 50034,
            Some(u) if u.disabled => 50057,
            Some(_) => 50126,
        };
        let s = g.sign_in(t, tgt, &actor, app, res, code);
        g.push_sign_in(s);
    }
    Spec {
        description: "o365spray v3 user enumeration with the oauth2 module: one ROPC token request per candidate name with a dummy password, client_id picked at random from the tool's 13 FOCI client ids, resource graph.windows.net or graph.microsoft.com, o365spray's default Chrome/104 user agent, from one VPS address. 50034 for invented names, 50126 (50057 if disabled) for real accounts.".into(),
        seed_test: Some(1),
        tools: vec!["o365spray 3.0.4 --enum --enum-module oauth2".into()],
        mitre: vec!["T1589.002".into(), "T1087.004".into()],
        source_keys: vec!["203.0.113.10".into()],
        source_cidrs: vec!["203.0.113.10/32".into()],
        existing: existing(&list),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        expect: vec![
            Expectation::fire(AUTH, R, Some("high"), "48 distinct names from one address within minutes; 32 do not exist (50034), at least high_not_found = 30"),
            Expectation::silent(AUTH, S, "the client id rotates over 13 apps: grouped by (IPAddress, AppDisplayName, ResultDescription) no group reaches 15 names, and 50126 is not in the seed's code list"),
        ],
        notes: vec![getcredentialtype_note()],
        ..Spec::default()
    }
}

/// Seed test 2: kerbrute userenum, then an SMB/NTLM logon sweep.
pub fn seed2_onprem_enum(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    // kerbrute userenum from 10.0.0.66.
    let kerb_ip = v4(10, 0, 0, 66);
    let mut names: Vec<Tgt> = dir.invented(&mut g.rng, 28).iter().map(Tgt::fake).collect();
    let roastable: Vec<usize> = (0..dir.users.len())
        .filter(|&i| dir.users[i].no_preauth)
        .take(2)
        .collect();
    let normal: Vec<usize> = dir
        .pick_users(&mut g.rng, 40, false)
        .into_iter()
        .filter(|i| !dir.users[*i].no_preauth)
        .take(10)
        .collect();
    names.extend(
        roastable
            .iter()
            .chain(normal.iter())
            .map(|&i| Tgt::real(dir, i)),
    );
    g.rng.shuffle(&mut names);
    let mut t = g.t0;
    let start = t;
    let mut probed: Vec<Arc<str>> = Vec::new();
    for tgt in &names {
        t += g.delay(20, 150);
        probed.push(tgt.sam.clone());
        let user = tgt.user(dir);
        let port = g.rng.range(49152, 65535) as u16;
        match user {
            None => {
                let mut e = g.win(t, 4768, directory::DC, &tgt.sam, None);
                e.ip = Some(mapped(kerb_ip));
                e.port = port;
                e.status = 0x6;
                g.push(Record::Win(e));
            }
            Some(u) if u.no_preauth => {
                let mut e = g.win(t, 4768, directory::DC, &tgt.sam, tgt.rid);
                e.ip = Some(mapped(kerb_ip));
                e.port = port;
                e.status = 0x0;
                e.pre_auth = Some(0);
                e.enc_type = 0x17;
                g.push(Record::Win(e));
            }
            // Existing names that require pre-authentication: KDC answers
            // PREAUTH_REQUIRED and (commonly reported) logs nothing.
            Some(_) => {}
        }
    }
    let kerb_existing = existing(&names);
    // SMB / NTLM logon sweep from 10.0.0.67 claiming workstation KALI.
    let smb_ip = v4(10, 0, 0, 67);
    let kali: Arc<str> = Arc::from("KALI");
    let mut smb: Vec<Tgt> = dir.invented(&mut g.rng, 20).iter().map(Tgt::fake).collect();
    smb.extend(
        dir.pick_users(&mut g.rng, 15, true)
            .into_iter()
            .map(|i| Tgt::real(dir, i)),
    );
    g.rng.shuffle(&mut smb);
    let mut t = g.t0 + 15 * MIN;
    for tgt in &smb {
        t += g.delay(400, 2000);
        probed.push(tgt.sam.clone());
        let sub = match tgt.user(dir) {
            None => 0xC000_0064,
            Some(u) if u.disabled => 0xC000_0072,
            Some(_) => 0xC000_006A,
        };
        let mut e = g.win(t, 4625, directory::FS, &tgt.sam, None);
        e.ip = Some(smb_ip);
        e.port = g.rng.range(49152, 65535) as u16;
        e.status = 0xC000_006D;
        e.sub_status = Some(sub);
        e.logon_type = Some(3);
        e.workstation = Some(kali.clone());
        g.push(Record::Win(e));
        let tv = t + g.delay(1, 30);
        let mut v = g.win(tv, 4776, directory::DC, &tgt.sam, None);
        v.status = sub;
        v.workstation = Some(kali.clone());
        g.push(Record::Win(v));
    }
    Spec {
        description: "kerbrute userenum (AS-REQ without pre-authentication, 10 threads) from 10.0.0.66 against the DC: one 4768 with Status 0x6 (KDC_ERR_C_PRINCIPAL_UNKNOWN) per invented name, a 4768 success with PreAuthType 0 for AS-REP-roastable accounts, nothing for existing names that require pre-authentication. 15 minutes later an SMB login sweep from 10.0.0.67 (client name KALI) with one password: 4625 on FS01 (Status 0xC000006D, SubStatus 0xC0000064 for invented names, 0xC000006A bad password, 0xC0000072 disabled; LogonType 3, NTLM) and 4776 on DC01 (Workstation KALI, the same code).".into(),
        seed_test: Some(2),
        tools: vec!["kerbrute userenum".into(), "SMB login sweep (CrackMapExec-style, NTLM)".into()],
        mitre: vec!["T1589.002".into(), "T1087.002".into()],
        source_keys: vec!["10.0.0.66".into(), "10.0.0.67".into(), "KALI".into()],
        source_cidrs: vec!["10.0.0.66/32".into(), "10.0.0.67/32".into()],
        existing: kerb_existing + existing(&smb),
        probed,
        activity_start: Some(start),
        expect: vec![
            Expectation::fire("kerberos_user_enumeration", R, Some("high"), "28 4768 0x6 (names that do not exist) from 10.0.0.66, at least high_not_found = 15"),
            Expectation::fire("ntlm_logon_enumeration", R, Some("medium"), "35 distinct accounts: 4625 keyed on 10.0.0.67 and 4776 keyed on workstation KALI (two findings)"),
            Expectation::fire("onprem_username_enumeration", S, Some("medium"), "the 4625 part: 35 distinct names from (10.0.0.67, KALI) with SubStatus 0xc0000064/0xc000006a/0xc0000072"),
        ],
        notes: vec![
            "The seed expects 4771 with Status 0x6; 0x6 is only ever written in 4768, so kerbrute userenum is invisible to the seed's statement.".into(),
            "Whether a DC logs 4768 for existing names that answer PREAUTH_REQUIRED is unconfirmed (commonly: nothing); none is written.".into(),
            "4776 carries no address: its source is the client-supplied Workstation (KALI), which tools can spoof.".into(),
        ],
        ..Spec::default()
    }
}

/// Seed test 3: SSPR flow probing of existing accounts.
pub fn seed3_sspr_probe(g: &mut Gen<'_>) -> Spec {
    let ip = v4(203, 0, 113, 45);
    let dir = g.dir;
    let list: Vec<Tgt> = dir
        .pick_users(&mut g.rng, 30, false)
        .into_iter()
        .map(|i| Tgt::real(dir, i))
        .collect();
    let mut t = g.t0;
    for (k, tgt) in list.iter().enumerate() {
        t += g.delay(15_000, 45_000);
        let repeats = if k % 8 == 3 { 6 } else { 1 };
        let mut tt = t;
        for r in 0..repeats {
            let a = g.sspr(tt, tgt, ip, sspr::FLOW, "success", sspr::SUBMITTED);
            g.push(Record::Audit(a));
            tt += g.delay(2000, 6000);
            let has_methods = tgt.user(dir).is_some_and(|u| u.sspr);
            if has_methods {
                let a = g.sspr(tt, tgt, ip, sspr::FLOW, "success", sspr::PRESENTED);
                g.push(Record::Audit(a));
                tt += g.delay(8000, 30_000);
                let a = g.sspr(tt, tgt, ip, sspr::FLOW, "failure", sspr::CANCELLED);
                g.push(Record::Audit(a));
            } else {
                let reason = if k % 2 == 0 {
                    sspr::INSUFFICIENT
                } else {
                    sspr::NOT_ENABLED
                };
                let a = g.sspr(tt, tgt, ip, sspr::FLOW, "failure", reason);
                g.push(Record::Audit(a));
            }
            tt += g.delay(3000, 9000);
            if r == 5 {
                let a = g.sspr(tt, tgt, ip, sspr::BLOCKED, "success", sspr::NOT_APPLICABLE);
                g.push(Record::Audit(a));
            }
        }
        t = t.max(tt);
    }
    Spec {
        description: "Scripted walk of the self-service password reset portal from one VPN exit: for 30 real accounts the user ID is submitted (\"User submitted their user ID\"); existing accounts with methods show \"User was presented with verification options\" and the attempt is abandoned, accounts without methods fail with \"insufficient authentication methods\" or \"Password reset is not enabled for this user\"; four accounts are retried six times and end \"Blocked from self-service password reset\".".into(),
        seed_test: Some(3),
        tools: vec!["scripted passwordreset.microsoftonline.com walk".into()],
        mitre: vec!["T1589.002".into()],
        source_keys: vec!["203.0.113.45".into()],
        source_cidrs: vec!["203.0.113.45/32".into()],
        existing: list.len(),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        expect: vec![
            Expectation::fire("sspr_enumeration", R, Some("high"), "30 distinct targets of SSPR flow activity from one address, at least high_targets = 25"),
            Expectation::silent("sspr_enumeration", S, "the seed's activity names ('Self-service password reset flow activity', 'Verify email address phone number') do not exist and no reset is attempted, so nothing matches"),
        ],
        notes: vec![
            "Whether SSPR logs anything for a user ID that does not exist is unconfirmed (TELEMETRY.md §3); only existing accounts are probed.".into(),
            "The seed's expected activity 'Verify email address phone number' does not exist; verification shows up as reasons of 'Self-service password reset flow activity progress'.".into(),
        ],
        ..Spec::default()
    }
}

/// Password spray from one source: TREVORspray msol.
pub fn spray_entra(g: &mut Gen<'_>) -> Spec {
    let actor = Actor {
        ip: v4(203, 0, 113, 60),
        loc: &catalog::ASHBURN,
        asn: asn::AMAZON,
        ua: catalog::UA_TREVOR,
        os: "Windows10",
        browser: "",
        client_app: "Mobile Apps and Desktop clients",
        protocol: "ropc",
    };
    let list = targets(g, 0, 70, true);
    let mut t = g.t0;
    let mut confirmed = Vec::new();
    for (k, tgt) in list.iter().enumerate() {
        t += g.delay(800, 3000);
        let u = tgt.user(g.dir);
        let code = match (k, u) {
            (_, Some(u)) if u.disabled => 50057,
            (5 | 40, Some(u)) if u.mfa => 50076,
            (5 | 40, _) => 50126,
            (22, _) => 53003,
            (11 | 50, _) => 50053,
            (33, _) => 50055,
            _ => 50126,
        };
        if matches!(code, 50076 | 53003) {
            confirmed.push(tgt.upn.to_string());
        }
        let s = g.sign_in(
            t,
            tgt,
            &actor,
            &catalog::WINDOWS_SIGN_IN,
            &catalog::AAD_GRAPH,
            code,
        );
        g.push_sign_in(s);
    }
    Spec {
        description: "TREVORspray's msol sprayer: one password against 70 harvested accounts via ROPC to login.microsoft.com/common/oauth2/token with client_id 38aa3b87-a06d-4817-b275-7a316988d93b, resource graph.windows.net and user agent Windows-AzureAD-Authentication-Provider/1.0, from one cloud address. Mostly 50126; a few locked (50053), expired (50055) and disabled (50057); the password is right for two MFA accounts (50076) and one blocked by Conditional Access (53003).".into(),
        tools: vec!["TREVORspray (msol)".into()],
        mitre: vec!["T1110.003".into(), "T1589.001".into()],
        source_keys: vec!["203.0.113.60".into()],
        source_cidrs: vec!["203.0.113.60/32".into()],
        existing: list.len(),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        confirmed,
        expect: vec![
            Expectation::fire(AUTH, R, Some("critical"), "70 accounts from one source; 50076/53003 mean the password was accepted (Conditional Access runs after the first factor), so credentials are confirmed"),
            Expectation::fire("password_spray", R, Some("critical"), "one source, 70 existing accounts, no not-found codes: classified as a spray; 50076/53003 confirm credentials"),
            Expectation::silent(AUTH, S, "50126 is not in the seed's code list; the 50053/50055/50057/50076 rows are fewer than 15"),
        ],
        notes: vec!["The same user agent is used by Windows' own WAM broker in the background traffic: a detector must not key on it.".into()],
        ..Spec::default()
    }
}

/// kerbrute passwordspray: 4771 0x18 per account, a 4768 success for the hit.
pub fn spray_kerberos(g: &mut Gen<'_>) -> Spec {
    let ip = v4(10, 0, 0, 70);
    let dir = g.dir;
    let list: Vec<Tgt> = dir
        .pick_users(&mut g.rng, 80, true)
        .into_iter()
        .filter(|&i| !dir.users[i].no_preauth)
        .take(60)
        .map(|i| Tgt::real(dir, i))
        .collect();
    let mut t = g.t0;
    let mut confirmed = Vec::new();
    for (k, tgt) in list.iter().enumerate() {
        t += g.delay(30, 200);
        let u = tgt.user(dir);
        let port = g.rng.range(49152, 65535) as u16;
        if u.is_some_and(|u| u.disabled) {
            let mut e = g.win(t, 4768, directory::DC, &tgt.sam, tgt.rid);
            e.ip = Some(mapped(ip));
            e.port = port;
            e.status = 0x12;
            g.push(Record::Win(e));
        } else if k == 17 {
            let mut e = g.win(t, 4768, directory::DC, &tgt.sam, tgt.rid);
            e.ip = Some(mapped(ip));
            e.port = port;
            e.status = 0x0;
            e.pre_auth = Some(2);
            e.enc_type = 0x12;
            g.push(Record::Win(e));
            confirmed.push(tgt.sam.to_string());
        } else {
            let mut e = g.win(t, 4771, directory::DC, &tgt.sam, tgt.rid);
            e.ip = Some(mapped(ip));
            e.port = port;
            e.status = 0x18;
            e.pre_auth = Some(2);
            g.push(Record::Win(e));
        }
    }
    Spec {
        description: "kerbrute passwordspray from 10.0.0.70 with one password against 60 domain accounts: 4771 Status 0x18 (KDC_ERR_PREAUTH_FAILED) per wrong password, 4768 0x12 for disabled accounts, and a 4768 success (PreAuthType 2) for the one account whose password matched. No 4625 (kerbrute README).".into(),
        tools: vec!["kerbrute passwordspray".into()],
        mitre: vec!["T1110.003".into()],
        source_keys: vec!["10.0.0.70".into()],
        source_cidrs: vec!["10.0.0.70/32".into()],
        existing: list.len(),
        probed: list.iter().map(|t| t.sam.clone()).collect(),
        confirmed,
        expect: vec![
            Expectation::fire("kerberos_password_spray", R, Some("high"), "4771 0x18 for ~58 accounts from one address (≥ high_users = 50). The account whose password matched shows only a TGT success (4768 0x0), never a failure, so the rule's confirm step (a success for a *probed* account) cannot name it and the finding stays high, not critical"),
            Expectation::silent("kerberos_user_enumeration", R, "every name exists: no 4768 0x6, so require not_found_count >= 1 is not met"),
            Expectation::silent("onprem_username_enumeration", S, "the seed's statement looks for 4625 and 4771 0x6; a Kerberos spray leaves 4771 0x18"),
        ],
        notes: vec!["Each sprayed attempt increments the account's bad-password count; lockouts (4740) are not simulated.".into()],
        ..Spec::default()
    }
}

/// MFASweep: one credential, 11 legs.
pub fn mfa_sweep(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let victim = dir
        .pick_users(&mut g.rng, 50, false)
        .into_iter()
        .find(|&i| dir.users[i].mfa)
        .unwrap_or(0);
    let tgt = Tgt::real(dir, victim);
    let ip = v4(203, 0, 113, 99);
    let base = Actor {
        ip,
        loc: &catalog::AMSTERDAM,
        asn: asn::DIGITALOCEAN,
        ua: catalog::UA_POWERSHELL,
        os: "Windows10",
        browser: "",
        client_app: "Mobile Apps and Desktop clients",
        protocol: "ropc",
    };
    let mut t = g.t0;
    // Leg 1: Microsoft Graph API (ROPC, AAD PowerShell client).
    t += g.delay(500, 1500);
    let s = g.sign_in(
        t,
        &tgt,
        &base,
        &catalog::AAD_POWERSHELL,
        &catalog::AAD_GRAPH,
        50076,
    );
    g.push_sign_in(s);
    // Leg 2: Azure Service Management API.
    t += g.delay(3000, 8000);
    let s = g.sign_in(
        t,
        &tgt,
        &base,
        &catalog::AZURE_POWERSHELL,
        &catalog::ARM,
        50076,
    );
    g.push_sign_in(s);
    // Legs 3–9: Microsoft 365 web portal with seven user agents.
    let portal_codes = [50074u32, 53003, 50074, 50074, 50074, 0, 0];
    for (k, (os, ua, browser)) in catalog::UA_MFASWEEP.iter().enumerate() {
        t += g.delay(4000, 12_000);
        let a = Actor {
            ua,
            os,
            browser,
            client_app: "Browser",
            protocol: "none",
            ..base
        };
        let code = portal_codes[k];
        let mut s = g.sign_in(t, &tgt, &a, &catalog::EXCHANGE_ONLINE, &catalog::EXO, code);
        if code == 50074 {
            s.ca_status = "success";
        }
        g.push_sign_in(s);
    }
    // Leg 10: Exchange Web Services (Basic); leg 11: ActiveSync (Basic).
    t += g.delay(3000, 9000);
    let a = Actor {
        ua: catalog::UA_EWS,
        client_app: "Exchange Web Services",
        protocol: "none",
        ..base
    };
    let s = g.sign_in(t, &tgt, &a, &catalog::EXCHANGE_ONLINE, &catalog::EXO, 53003);
    g.push_sign_in(s);
    t += g.delay(3000, 9000);
    let a = Actor {
        client_app: "Exchange ActiveSync",
        protocol: "none",
        ..base
    };
    let s = g.sign_in(t, &tgt, &a, &catalog::EXCHANGE_ONLINE, &catalog::EXO, 53003);
    g.push_sign_in(s);
    Spec {
        description: "MFASweep with one valid credential from one address: Graph API and Service Management API via ROPC (clients 1b730954-… and 1950a258-…), the Microsoft 365 web portal (Office 365 Exchange Online client) with seven user agents — Windows, Linux, macOS, Android, iPhone, Windows Phone, Nintendo Switch — then EWS and ActiveSync Basic auth. MFA is required on most legs (50076/50074), Conditional Access blocks Linux and the legacy protocols (53003), and the Windows Phone and Nintendo Switch user agents get a single-factor success (0): a Conditional Access gap for unknown platforms.".into(),
        tools: vec!["MFASweep (Invoke-MFASweep)".into()],
        mitre: vec!["T1589.001".into(), "T1078.004".into()],
        source_keys: vec!["203.0.113.99".into()],
        source_cidrs: vec!["203.0.113.99/32".into()],
        existing: 1,
        probed: vec![tgt.upn.clone()],
        confirmed: vec![tgt.upn.to_string()],
        expect: vec![
            Expectation::silent(AUTH, R, "one account: the per-source threshold counts distinct accounts (15)"),
            Expectation::fire("mfa_sweep", R, Some("critical"), "one account and source across 4 apps, 4 client apps and 9 user agents in minutes with MFA/CA answers; single-factor successes on two legs make it critical").needing(&["user_agent"]),
            Expectation::silent(AUTH, S, "one account"),
        ],
        notes: vec!["The two single-factor successes (ResultType 0, AuthenticationRequirement singleFactorAuthentication) right after MFA-required failures from the same address are the finding a responder acts on.".into()],
        ..Spec::default()
    }
}

/// Distributed enumeration through rotating cloud-proxy addresses.
pub fn distributed_enum(g: &mut Gen<'_>) -> Spec {
    // 64 gateway addresses in 198.19.0.0/16: 12 /24s with 4 each, plus 16
    // scattered ones.
    let mut ips = Vec::new();
    for net in 0..12u8 {
        for h in 0..4u8 {
            ips.push(v4(198, 19, 10 + net, 20 + h * 37));
        }
    }
    for k in 0..16u8 {
        ips.push(v4(198, 19, 100 + k * 7, 5 + k * 13));
    }
    let locs = [&catalog::ASHBURN, &catalog::DUBLIN, &catalog::FRANKFURT];
    let list = targets(g, 240, 80, true);
    let mut t = g.t0;
    for (k, tgt) in list.iter().enumerate() {
        t += g.delay(4000, 11_000);
        let ip = ips[k % ips.len()];
        let actor = o365spray_actor(ip, locs[k % 3], asn::AMAZON);
        let app = g.rng.pick(&catalog::O365SPRAY_CLIENTS);
        let res = if g.rng.chance(0.5) {
            &catalog::AAD_GRAPH
        } else {
            &catalog::MS_GRAPH
        };
        let code = match tgt.user(g.dir) {
            None => 50034,
            Some(u) if u.disabled => 50057,
            Some(_) => 50126,
        };
        let s = g.sign_in(t, tgt, &actor, app, res, code);
        g.push_sign_in(s);
    }
    let mut cidrs: Vec<String> = (0..12u8)
        .map(|n| format!("198.19.{}.0/24", 10 + n))
        .collect();
    cidrs.extend((0..16u8).map(|k| format!("198.19.{}.{}/32", 100 + k * 7, 5 + k * 13)));
    Spec {
        description: "o365spray oauth2 enumeration of 320 names sent through 64 rotating API-gateway addresses (fireprox style; 12 /24 networks plus 16 scattered addresses, one cloud ASN), one request per address in turn, so no address sends more than 5 names. Same user agent throughout, FOCI client ids rotating.".into(),
        tools: vec!["o365spray --enum --enum-module oauth2 behind rotating API gateways".into()],
        mitre: vec!["T1589.002".into(), "T1090.002".into()],
        source_keys: ips.iter().map(ToString::to_string).collect(),
        source_cidrs: cidrs,
        existing: existing(&list),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        expect: vec![
            Expectation::silent(AUTH, R, "every address stays below the per-source threshold (5 names each, threshold 15)"),
            Expectation::fire("distributed_enumeration", R, Some("high"), "each of the 12 /24 networks has 4 members sending 20 names in all (one finding per network)"),
            Expectation::fire("distributed_enumeration_user_agent", R, Some("high"), "64 unrelated addresses sharing o365spray's Chrome/104 user agent, 75% not found").needing(&["user_agent"]),
            Expectation::fire("distributed_enumeration_asn", R, Some("high"), "64 addresses of one autonomous system (16509), 75% not found").needing(&["asn"]),
            Expectation::silent(AUTH, S, "per-source counts far below 15"),
        ],
        ..Spec::default()
    }
}

/// Low-and-slow enumeration over 12 hours.
pub fn low_and_slow(g: &mut Gen<'_>) -> Spec {
    let actor = o365spray_actor(v4(203, 0, 113, 120), &catalog::BUCHAREST, asn::M247);
    let list = targets(g, 70, 30, true);
    let mut t = g.t0;
    for tgt in &list {
        t += g.delay(390_000, 450_000);
        let app = g.rng.pick(&catalog::O365SPRAY_CLIENTS);
        let code = match tgt.user(g.dir) {
            None => 50034,
            Some(u) if u.disabled => 50057,
            Some(_) => 50126,
        };
        let s = g.sign_in(t, tgt, &actor, app, &catalog::AAD_GRAPH, code);
        g.push_sign_in(s);
    }
    Spec {
        description: "o365spray oauth2 enumeration throttled to one name every 6.5–7.5 minutes (--rate 1 --sleep/--jitter) from one address for about 12 hours: 100 names, never more than 10 in any hour.".into(),
        tools: vec!["o365spray --enum --enum-module oauth2 --rate 1 --sleep 420 --jitter 15".into()],
        mitre: vec!["T1589.002".into()],
        source_keys: vec!["203.0.113.120".into()],
        source_cidrs: vec!["203.0.113.120/32".into()],
        existing: existing(&list),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        expect: vec![
            Expectation::fire("low_and_slow_enumeration", R, Some("medium"), "100 names over ~12 active hours, never more than ~9 in a clock hour, 70% not found"),
            Expectation::silent(AUTH, R, "at most ~9 names in any 1-hour window, below 15"),
            Expectation::silent(AUTH, S, "the seed evaluates only the last hour"),
        ],
        ..Spec::default()
    }
}

/// MSOLSpray enumeration-spray, then a sign-in to the discovered account.
pub fn enum_then_compromise(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let ip = v4(203, 0, 113, 140);
    let actor = Actor {
        ip,
        loc: &catalog::FRANKFURT,
        asn: asn::HETZNER,
        ua: catalog::UA_POWERSHELL,
        os: "Windows10",
        browser: "",
        client_app: "Mobile Apps and Desktop clients",
        protocol: "ropc",
    };
    let mut list: Vec<Tgt> = dir.invented(&mut g.rng, 25).iter().map(Tgt::fake).collect();
    let reals = dir.pick_users(&mut g.rng, 60, false);
    let victim = reals
        .iter()
        .copied()
        .find(|&i| !dir.users[i].mfa)
        .unwrap_or(reals[0]);
    let mfa_hit = reals
        .iter()
        .copied()
        .find(|&i| dir.users[i].mfa && i != victim)
        .unwrap_or(reals[1]);
    list.extend(
        reals
            .iter()
            .copied()
            .filter(|&i| i != victim && i != mfa_hit)
            .take(13)
            .map(|i| Tgt::real(dir, i)),
    );
    list.push(Tgt::real(dir, victim));
    list.push(Tgt::real(dir, mfa_hit));
    g.rng.shuffle(&mut list);
    let mut t = g.t0;
    for tgt in &list {
        t += g.delay(1000, 4000);
        let code = match tgt.index {
            None => 50034,
            Some(i) if i == victim => 0,
            Some(i) if i == mfa_hit => 50076,
            Some(_) => 50126,
        };
        let s = g.sign_in(
            t,
            tgt,
            &actor,
            &catalog::AAD_POWERSHELL,
            &catalog::AAD_GRAPH,
            code,
        );
        g.push_sign_in(s);
    }
    // 25 minutes later: interactive browser sign-in to the discovered
    // account from the same address, then mailbox access.
    let v = Tgt::real(dir, victim);
    let (ua, os, browser, _) = catalog::UA_BACKGROUND[1];
    let web = Actor {
        ua,
        os,
        browser,
        client_app: "Browser",
        protocol: "none",
        ..actor
    };
    let t1 = t + 25 * MIN + g.delay(0, 60_000);
    let s = g.sign_in(
        t1,
        &v,
        &web,
        &catalog::OFFICE_HOME,
        &catalog::OFFICE_HOME_RES,
        0,
    );
    g.push_sign_in(s);
    let mut s = g.sign_in(
        t1 + secs(95),
        &v,
        &web,
        &catalog::EXCHANGE_ONLINE,
        &catalog::EXO,
        0,
    );
    s.interactive = false;
    g.push_sign_in(s);
    let s = g.sign_in(
        t1 + 6 * MIN,
        &v,
        &web,
        &catalog::MY_SIGNINS,
        &catalog::MS_GRAPH,
        0,
    );
    g.push_sign_in(s);
    Spec {
        description: "MSOLSpray (ROPC, client 1b730954-1685-4b74-9bfd-dac224a7b894 Azure AD PowerShell, resource graph.windows.net) with one password over a list of 40 names: 25 invented (50034), 13 wrong password (50126), one MFA account whose password is right (50076) and one single-factor account that signs in (0). 25 minutes later the attacker signs in to that account in a browser from the same address (OfficeHome), opens the mailbox and the security-info page.".into(),
        tools: vec!["MSOLSpray".into(), "browser".into()],
        mitre: vec!["T1589.002".into(), "T1110.003".into(), "T1078.004".into()],
        source_keys: vec!["203.0.113.140".into()],
        source_cidrs: vec!["203.0.113.140/32".into()],
        existing: existing(&list),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        confirmed: vec![dir.users[victim].upn.to_string(), dir.users[mfa_hit].upn.to_string()],
        expect: vec![
            Expectation::fire(AUTH, R, Some("critical"), "40 names from one source; the 50076 and the later successes (0) from the same address for probed accounts confirm credentials"),
            Expectation::fire(AUTH, S, Some("medium"), "25 × 50034 under one app and one description from one address, within the last hour"),
        ],
        notes: vec!["Follow-on compromise is reported by the enumeration finding itself: the later successes from the same source escalate it to critical and name the sign-ins (credential_confirmed_signins).".into()],
        ..Spec::default()
    }
}

/// Ordinary light traffic for scenarios that need history before them (the
/// tenant-wide baseline): `hours` hours from `g.t0` of successes of 60
/// directory users from home, and now and then a mistyped user name
/// (50034) that its owner corrects a few seconds later.
fn quiet_hours(g: &mut Gen<'_>, hours: i64) {
    let dir = g.dir;
    let users = dir.pick_users(&mut g.rng, 60, false);
    for h in 0..hours {
        let n = g.rng.range(4, 11) as usize;
        for _ in 0..n {
            let i = users[g.rng.range(0, users.len() as i64) as usize];
            let u = &dir.users[i];
            let (ua, os, browser, client_app) = *g.rng.pick(&catalog::UA_BACKGROUND);
            let actor = Actor {
                ip: u.home_ip,
                loc: u.home,
                asn: asn::HOME[i % 3],
                ua,
                os,
                browser,
                client_app,
                protocol: "none",
            };
            let t = g.t0 + h * crate::time::HOUR + g.delay(0, 3_500_000);
            let tgt = Tgt::real(dir, i);
            if g.rng.chance(0.12) {
                // A typo in the user name: the account does not exist.
                let mut typo = tgt.clone();
                typo.upn = Arc::from(tgt.upn.replacen('@', "1@", 1));
                typo.entra = None;
                typo.index = None;
                typo.rid = None;
                let s = g.sign_in(
                    t,
                    &typo,
                    &actor,
                    &catalog::OFFICE_HOME,
                    &catalog::OFFICE_HOME_RES,
                    50034,
                );
                g.push_sign_in(s);
            }
            let s = g.sign_in(
                t + secs(20),
                &tgt,
                &actor,
                &catalog::OFFICE_HOME,
                &catalog::OFFICE_HOME_RES,
                0,
            );
            g.push_sign_in(s);
        }
    }
}

/// Residential autonomous systems the proxy exits are spread over.
const RESIDENTIAL_ASNS: [u32; 40] = [
    7922, 701, 20115, 22773, 5089, 3320, 3215, 12322, 1136, 33915, 6830, 2856, 5607, 3352, 12479,
    3269, 30722, 6805, 8881, 4766, 9318, 4134, 4837, 17676, 2516, 4713, 7545, 1221, 4804, 812, 577,
    852, 28573, 8167, 27699, 7303, 45899, 7552, 9829, 24560,
];

/// Enumeration through a residential proxy network: one name per address,
/// a new network, AS and user agent each time — only the tenant-wide surge
/// of not-found answers shows it.
pub fn distributed_surge(g: &mut Gen<'_>) -> Spec {
    // A week of ordinary traffic (the rule's `history`), then the burst.
    quiet_hours(g, 7 * 24 + 8);
    let start = g.t0 + 7 * crate::time::DAY + 6 * crate::time::HOUR + 20 * MIN;
    let list = targets(g, 85, 25, true);
    let locs = [
        &catalog::NEW_YORK,
        &catalog::LONDON,
        &catalog::FRANKFURT,
        &catalog::TOKYO,
        &catalog::BARCELONA,
        &catalog::SINGAPORE,
        &catalog::BUCHAREST,
        &catalog::DUBLIN,
    ];
    let mut t = start;
    let mut ips = Vec::new();
    for (k, tgt) in list.iter().enumerate() {
        t += g.delay(12_000, 24_000);
        // Documentation range 2001:db8:9000::/36: a different /64 (and
        // /48) every time.
        let ip = std::net::IpAddr::V6(std::net::Ipv6Addr::new(
            0x2001,
            0xdb8,
            0x9000 + k as u16,
            (k as u16).wrapping_mul(0x1f3),
            0,
            0,
            0,
            0x10 + (k as u16 % 200),
        ));
        ips.push(ip);
        let ua = format!(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.{}.{} Safari/537.36",
            100 + k % 30,
            g.rng.range(4000, 6999),
            g.rng.range(10, 250)
        );
        let actor = o365spray_actor(
            ip,
            locs[k % locs.len()],
            RESIDENTIAL_ASNS[k % RESIDENTIAL_ASNS.len()],
        );
        let app = g.rng.pick(&catalog::O365SPRAY_CLIENTS);
        let code = match tgt.user(g.dir) {
            None => 50034,
            Some(u) if u.disabled => 50057,
            Some(_) => 50126,
        };
        let mut s = g.sign_in(t, tgt, &actor, app, &catalog::MS_GRAPH, code);
        s.user_agent = Arc::from(ua.as_str());
        g.push_sign_in(s);
    }
    Spec {
        description: "o365spray oauth2 enumeration of 110 names (85 invented) in about 30 minutes through a residential proxy network: every request leaves from another address, in another /64, autonomous system and city, with a randomised Chrome user agent and a rotating FOCI client id, so no source, network, AS or user agent links two requests. Before it, a week of ordinary traffic from 60 users (about one mistyped user name an hour) gives the tenant its baseline.".into(),
        tools: vec!["o365spray --enum --enum-module oauth2 through a rotating residential proxy".into()],
        mitre: vec!["T1589.002".into(), "T1090.002".into()],
        source_keys: ips.iter().map(ToString::to_string).collect(),
        source_cidrs: ips.iter().map(|ip| format!("{ip}/32")).collect(),
        existing: existing(&list),
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        activity_start: Some(start),
        expect: vec![
            Expectation::fire("distributed_enumeration_surge", R, Some("high"), "about 85 distinct not-found names in one hour against a baseline of about one an hour (a week of history)"),
            Expectation::silent(AUTH, R, "one name per address"),
            Expectation::silent("distributed_enumeration", R, "every address in its own /64"),
            Expectation::silent("distributed_enumeration_asn", R, "40 autonomous systems, at most 3 names each"),
            Expectation::silent("distributed_enumeration_user_agent", R, "a different user agent every request"),
            Expectation::silent("distributed_enumeration_shared_targets", R, "every name is tried once"),
            Expectation::silent(AUTH, S, "one name per address"),
        ],
        notes: vec!["Only the tenant-wide baseline sees this; it needs at least a day of logs before the burst (min_history).".into(), "Hunted together with the other scenarios (eval --combined), the day of enumeration bursts before it raises the baseline's mean and deviation: with a week of history the surge still clears it.".into()],
        ..Spec::default()
    }
}

/// A password spray whose rounds each leave from another host: the same
/// target list links the hosts.
pub fn shared_target_list(g: &mut Gen<'_>) -> Spec {
    let dir = g.dir;
    let hosts = [
        (v4(203, 0, 113, 77), &catalog::FRANKFURT, asn::HETZNER),
        (v4(198, 51, 100, 23), &catalog::ASHBURN, asn::AMAZON),
        (v4(192, 0, 2, 190), &catalog::DUBLIN, asn::M247),
        (v4(198, 19, 250, 9), &catalog::SINGAPORE, asn::DIGITALOCEAN),
    ];
    let uas = [
        catalog::UA_TREVOR,
        catalog::UA_POWERSHELL,
        catalog::UA_O365SPRAY,
        catalog::UA_PYTHON,
    ];
    let reals = dir.pick_users(&mut g.rng, 10, false);
    let cracked = reals
        .iter()
        .take(9)
        .copied()
        .find(|&i| dir.users[i].mfa)
        .unwrap_or(reals[0]);
    let list: Vec<Tgt> = reals.iter().take(9).map(|&i| Tgt::real(dir, i)).collect();
    let mut t = g.t0;
    for (r, (ip, loc, asn)) in hosts.iter().enumerate() {
        let actor = Actor {
            ip: *ip,
            loc,
            asn: *asn,
            ua: uas[r],
            os: "Windows10",
            browser: "",
            client_app: "Mobile Apps and Desktop clients",
            protocol: "ropc",
        };
        t = g.t0 + r as i64 * 45 * MIN;
        for tgt in &list {
            t += g.delay(3000, 9000);
            // The third round's password is right for the MFA account.
            let code = if r == 2 && tgt.index == Some(cracked) {
                50076
            } else {
                50126
            };
            let s = g.sign_in(
                t,
                tgt,
                &actor,
                &catalog::AAD_POWERSHELL,
                &catalog::AAD_GRAPH,
                code,
            );
            g.push_sign_in(s);
        }
    }
    // The tenth account is tried from two of the hosts only.
    let extra = Tgt::real(dir, reals[9]);
    for (ip, loc, asn) in &hosts[..2] {
        let actor = Actor {
            ip: *ip,
            loc,
            asn: *asn,
            ua: uas[0],
            os: "Windows10",
            browser: "",
            client_app: "Mobile Apps and Desktop clients",
            protocol: "ropc",
        };
        t += g.delay(3000, 9000);
        let s = g.sign_in(
            t,
            &extra,
            &actor,
            &catalog::AAD_POWERSHELL,
            &catalog::AAD_GRAPH,
            50126,
        );
        g.push_sign_in(s);
    }
    let confirmed = vec![dir.users[cracked].upn.to_string()];
    Spec {
        description: "A four-round password spray (one password per round, 45 minutes apart) over the same 9 accounts, each round from another VPS in another network, autonomous system and country, with another tool's user agent: no host tries 10 accounts, and nothing but the target list links them. The third round's password is right for one MFA-protected account (50076). A tenth account is tried from two hosts only.".into(),
        tools: vec!["MSOLSpray / TREVORspray rounds from separate VPSs".into()],
        mitre: vec!["T1110.003".into(), "T1589.002".into()],
        source_keys: hosts.iter().map(|h| h.0.to_string()).collect(),
        source_cidrs: hosts.iter().map(|h| format!("{}/32", h.0)).collect(),
        existing: 10,
        probed: list.iter().map(|t| t.upn.clone()).collect(),
        confirmed,
        expect: vec![
            Expectation::fire("distributed_enumeration_shared_targets", R, Some("critical"), "the same 9 accounts from 4 unrelated hosts in one day; a password-accepted answer (50076) confirms a credential"),
            Expectation::silent("password_spray", R, "9 accounts per host, below 10"),
            Expectation::silent(AUTH, R, "9 accounts per host"),
            Expectation::silent("distributed_enumeration", R, "no two hosts share a /24"),
            Expectation::silent("distributed_enumeration_asn", R, "four autonomous systems"),
            Expectation::silent("distributed_enumeration_user_agent", R, "four user agents, real accounts only"),
            Expectation::silent(AUTH, S, "9 accounts per host"),
        ],
        ..Spec::default()
    }
}
