//! Background traffic: the tenant's ordinary day. Thousands of users with a
//! diurnal pattern per office time zone, normal failure rates (typos, "keep
//! me signed in" interrupts, MFA prompts and the odd denial), non-interactive
//! token refreshes, travel, self-service resets, admin changes and domain
//! logons on the DC and file server. Per source address the failures stay
//! far below every detection's threshold, as in a healthy tenant.

use crate::catalog::{self, App, Loc, Resource, asn};
use crate::directory::{self, Directory};
use crate::labels::Expectation;
use crate::record::{Audit, Record, SignIn, WinEvent};
use crate::rng::Rng;
use crate::scenario::{Gen, Spec, Tgt, mapped, sspr, v4};
use crate::time::{DAY, HOUR, MIN, SEC};
use std::net::IpAddr;
use std::sync::Arc;

const SERVICES: [&str; 3] = ["FS01$", "EXCH01$", "SQL01$"];

/// The background scenario: `g.days` days of `2000 × scale` active users.
pub fn background(g: &mut Gen<'_>) -> Spec {
    let active = active_users(g.dir, g.scale);
    let seed = g.rng.next_u64();
    let mut rid = g.record_id();
    let mut out = std::mem::take(&mut g.records);
    for day in 0..g.days {
        day_records(
            g.dir,
            seed,
            day,
            g.t0 + i64::from(day) * DAY,
            active,
            &mut out,
            &mut rid,
        );
    }
    g.records = out;
    let mut expect = Vec::new();
    for (d, p) in [
        ("auth_username_enumeration", "recommended"),
        ("sspr_enumeration", "recommended"),
        ("kerberos_user_enumeration", "recommended"),
        ("kerberos_password_spray", "recommended"),
        ("ntlm_logon_enumeration", "recommended"),
        ("auth_username_enumeration", "seed"),
        ("sspr_enumeration", "seed"),
        ("onprem_username_enumeration", "seed"),
    ] {
        expect.push(Expectation::silent(
            d,
            p,
            "ordinary traffic: per source, failures touch a handful of accounts at most",
        ));
    }
    Spec {
        description: format!(
            "{active} active users over {} day(s): sign-ins follow each office's working hours (Amsterdam, Seattle, London); office users sign in from their office NAT (a trusted location, no MFA prompt), remote users from home (IPv4) or phone (IPv6) with MFA prompts (50074), occasional denials (500121), typos (50126), 'keep me signed in' interrupts (50140), expired passwords (50055); 1% travel abroad; non-interactive token refreshes; a few self-service password resets and admin changes; on-prem Kerberos TGT/service tickets, network logons, NTLM validations and the odd wrong password on the DC and file server.",
            g.days
        ),
        tools: vec![],
        expect,
        ..Spec::default()
    }
}

/// Users active in the background at `scale`.
pub fn active_users(dir: &Directory, scale: f64) -> usize {
    ((2000.0 * scale).round() as usize).clamp(1, dir.users.len())
}

struct Place {
    ip: IpAddr,
    loc: &'static Loc,
    asn: u32,
    trusted: bool,
    domain: bool,
}

/// Appends one day of background records (unsorted) to `out`.
pub fn day_records(
    dir: &Directory,
    seed: u64,
    day: u32,
    day_start: i64,
    active: usize,
    out: &mut Vec<Record>,
    rid: &mut u64,
) {
    let mut rng = Rng::derive(
        seed ^ u64::from(day).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        "background-day",
    );
    let dow = (day_start.div_euclid(DAY) + 4).rem_euclid(7);
    let weekend = dow == 0 || dow == 6;
    for i in 0..active {
        let u = &dir.users[i];
        let tgt = Tgt::real(dir, i);
        if u.disabled {
            // An old phone still trying the disabled account now and then.
            if rng.chance(0.03) {
                let t = day_start + rng.range(6 * HOUR, 20 * HOUR);
                let place = Place {
                    ip: u.mobile_ip,
                    loc: u.home,
                    asn: asn::MOBILE[i % 3],
                    trusted: false,
                    domain: false,
                };
                out.push(Record::SignIn(sign_in(
                    &mut rng,
                    t,
                    &tgt,
                    &place,
                    &catalog::OUTLOOK_MOBILE,
                    &catalog::EXO,
                    3,
                    50057,
                )));
            }
            continue;
        }
        if !rng.chance(if weekend { 0.12 } else { 0.92 }) {
            continue;
        }
        let place = if rng.chance(0.01) {
            let loc = *rng.pick(&catalog::TRAVEL);
            let ip = v4(198, 18, 250 + rng.below(5) as u8, 1 + rng.below(250) as u8);
            Place {
                ip,
                loc,
                asn: asn::HOME[i % 3],
                trusted: false,
                domain: false,
            }
        } else if (u.remote && rng.chance(0.8)) || (!u.remote && rng.chance(0.15)) || weekend {
            Place {
                ip: u.home_ip,
                loc: u.home,
                asn: asn::HOME[i % 3],
                trusted: false,
                domain: rng.chance(0.3),
            }
        } else {
            let o = &dir.offices[u.office];
            Place {
                ip: o.nat,
                loc: o.loc,
                asn: asn::OFFICE_ISP,
                trusted: true,
                domain: true,
            }
        };
        // Local start of the working day, then to UTC.
        let start_local = 7 * HOUR + rng.range(0, 3 * HOUR) + rng.range(0, HOUR);
        let start = day_start + start_local - place.loc.utc_offset * HOUR;
        let span = 8 * HOUR + rng.range(0, 90 * MIN);
        let desktop = [0usize, 1, 2, 5, 7][i % 5];
        // Interactive sign-ins.
        let n = 1 + rng.below(3);
        for k in 0..n {
            let t = if k == 0 {
                start
            } else {
                start + rng.range(0, span)
            };
            let (app, res, ua_i) = match rng.below(20) {
                0..=7 => (
                    &catalog::OFFICE_HOME,
                    &catalog::OFFICE_HOME_RES,
                    desktop.min(2),
                ),
                8..=12 => (&catalog::TEAMS, &catalog::TEAMS_SVC, 7),
                13..=17 => (&catalog::OFFICE, &catalog::EXO, 5),
                18 => (&catalog::MY_SIGNINS, &catalog::MS_GRAPH, desktop.min(2)),
                _ => (&catalog::AZURE_PORTAL, &catalog::ARM, desktop.min(2)),
            };
            interactive(&mut rng, out, t, &tgt, &place, app, res, ua_i, u.mfa);
        }
        // Phone: Outlook Mobile from the carrier network.
        if rng.chance(0.4) {
            let t = start + rng.range(0, span);
            let phone = Place {
                ip: u.mobile_ip,
                loc: u.home,
                asn: asn::MOBILE[i % 3],
                trusted: false,
                domain: false,
            };
            for k in 0..(1 + rng.below(4)) {
                let mut s = sign_in(
                    &mut rng,
                    t + k as i64 * 47 * MIN,
                    &tgt,
                    &phone,
                    &catalog::OUTLOOK_MOBILE,
                    &catalog::EXO,
                    3,
                    0,
                );
                s.interactive = false;
                out.push(Record::SignIn(s));
            }
        }
        // Non-interactive token refreshes.
        for _ in 0..(3 + rng.below(6)) {
            let t = start + rng.range(0, span);
            let (app, res, ua_i): (&'static App, &'static Resource, usize) = match rng.below(4) {
                0 => (&catalog::TEAMS, &catalog::TEAMS_SVC, 7),
                1 => (&catalog::OFFICE, &catalog::EXO, 5),
                2 => (&catalog::ONEDRIVE, &catalog::SPO, 5),
                _ => (&catalog::AUTH_BROKER, &catalog::MS_GRAPH, 4),
            };
            let code = if rng.chance(0.01) { 50133 } else { 0 };
            let mut s = sign_in(&mut rng, t, &tgt, &place, app, res, ua_i, code);
            s.interactive = false;
            s.mfa = u.mfa && !place.trusted;
            out.push(Record::SignIn(s));
        }
        // A self-service password reset now and then.
        if rng.chance(0.002) && u.sspr {
            let at = start + rng.range(0, span);
            self_service_reset(&mut rng, out, at, &tgt, place.ip);
        }
        // An administrator edits a user.
        if i % 97 == 0 && !weekend {
            let admin = Tgt::real(dir, 0);
            let target = Tgt::real(dir, rng.below(active as u64) as usize);
            let t = start + rng.range(0, span);
            out.push(Record::Audit(Audit {
                time: t,
                id: rng.uuid(),
                id_prefix: "Directory_",
                correlation_id: rng.uuid(),
                activity: "Update user",
                category: "UserManagement",
                service: "Core Directory",
                operation_type: "Update",
                result: "success",
                reason: "",
                actor: Some((
                    admin.upn.clone(),
                    admin.entra.as_ref().map(|e| e.0).unwrap_or_default(),
                    Some(dir.offices[0].nat),
                )),
                actor_app: None,
                target: (
                    target.upn.clone(),
                    target.entra.as_ref().map(|e| e.0).unwrap_or_default(),
                ),
            }));
        }
        // Domain logons.
        if place.domain {
            domain_day(&mut rng, dir, out, rid, start, span, i);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn interactive(
    rng: &mut Rng,
    out: &mut Vec<Record>,
    t: i64,
    tgt: &Tgt,
    place: &Place,
    app: &'static App,
    res: &'static Resource,
    ua_i: usize,
    has_mfa: bool,
) {
    let r = rng.f64();
    let mut push = |rng: &mut Rng, t: i64, code: u32, mfa: bool| {
        let mut s = sign_in(rng, t, tgt, place, app, res, ua_i, code);
        s.mfa = mfa;
        out.push(Record::SignIn(s));
    };
    if place.trusted {
        if r < 0.012 {
            push(rng, t, 50126, false);
            {
                let d = rng.range(15 * SEC, 40 * SEC);
                push(rng, t + d, 0, false);
            }
        } else if r < 0.027 {
            push(rng, t, 50140, false);
            {
                let d = rng.range(3 * SEC, 10 * SEC);
                push(rng, t + d, 0, false);
            }
        } else {
            push(rng, t, 0, false);
        }
        return;
    }
    if r < 0.02 {
        push(rng, t, 50126, false);
        {
            let d = rng.range(15 * SEC, 40 * SEC);
            push(rng, t + d, 0, has_mfa);
        }
    } else if r < 0.05 {
        push(rng, t, 50140, false);
        {
            let d = rng.range(3 * SEC, 10 * SEC);
            push(rng, t + d, 0, has_mfa);
        }
    } else if r < 0.2 && has_mfa {
        push(rng, t, 50074, true);
        {
            let d = rng.range(15 * SEC, 60 * SEC);
            push(rng, t + d, 0, true);
        }
    } else if r < 0.2 {
        push(rng, t, 50079, true);
    } else if r < 0.204 && has_mfa {
        push(rng, t, 500121, true);
        {
            let d = rng.range(60 * SEC, 120 * SEC);
            push(rng, t + d, 50074, true);
        }
        {
            let d = rng.range(150 * SEC, 200 * SEC);
            push(rng, t + d, 0, true);
        }
    } else if r < 0.206 {
        push(rng, t, 50055, false);
    } else if r < 0.21
        && place.loc.country != "NL"
        && place.loc.country != "US"
        && place.loc.country != "GB"
    {
        push(rng, t, 53003, false);
    } else {
        let m = has_mfa && rng.chance(0.5);
        push(rng, t, 0, m);
    }
}

#[allow(clippy::too_many_arguments)]
fn sign_in(
    rng: &mut Rng,
    t: i64,
    tgt: &Tgt,
    place: &Place,
    app: &'static App,
    res: &'static Resource,
    ua_i: usize,
    code: u32,
) -> SignIn {
    let (ua, os, browser, client_app) = catalog::UA_BACKGROUND[ua_i % catalog::UA_BACKGROUND.len()];
    SignIn {
        time: t + rng.range(0, 10_000_000) * 100,
        id: rng.uuid(),
        correlation_id: rng.uuid(),
        interactive: true,
        upn: tgt.upn.clone(),
        user: tgt.entra.clone(),
        app,
        resource: res,
        ip: place.ip,
        loc: place.loc,
        asn: place.asn,
        client_app,
        user_agent: Arc::from(ua),
        os,
        browser,
        code,
        protocol: if client_app == "Browser" {
            "none"
        } else {
            "oAuth2"
        },
        mfa: false,
        ca_status: if code == 53003 {
            "failure"
        } else if place.trusted {
            "notApplied"
        } else {
            "success"
        },
        latency_ms: rng.range(30, 300) as u32,
        duplicate: rng.chance(0.02),
    }
}

fn self_service_reset(rng: &mut Rng, out: &mut Vec<Record>, mut t: i64, tgt: &Tgt, ip: IpAddr) {
    let id = tgt.entra.as_ref().map(|e| e.0).unwrap_or_default();
    let steps: [(&'static str, &'static str, &'static str); 8] = [
        (sspr::FLOW, "success", sspr::SUBMITTED),
        (sspr::FLOW, "success", sspr::PRESENTED),
        (sspr::FLOW, "success", sspr::SMS_STARTED),
        (sspr::FLOW, "success", sspr::SMS_COMPLETED),
        (sspr::FLOW, "success", sspr::ALL_VERIFIED),
        (sspr::FLOW, "success", sspr::NEW_PASSWORD),
        (sspr::FLOW, "success", "User successfully reset password"),
        (sspr::RESET, "success", sspr::RESET_DONE),
    ];
    for (activity, result, reason) in steps {
        t += rng.range(3 * SEC, 40 * SEC);
        out.push(Record::Audit(Audit {
            time: t,
            id: rng.uuid(),
            id_prefix: "SSGM_",
            correlation_id: rng.uuid(),
            activity,
            category: "UserManagement",
            service: "Self-service Password Management",
            operation_type: "Update",
            result,
            reason,
            actor: Some((tgt.upn.clone(), id, Some(ip))),
            actor_app: None,
            target: (tgt.upn.clone(), id),
        }));
    }
}

fn win(
    t: i64,
    rid: &mut u64,
    event_id: u16,
    computer: &'static str,
    user: &Arc<str>,
    r: Option<u32>,
) -> WinEvent {
    *rid += 1;
    WinEvent {
        time: t - t.rem_euclid(1_000_000),
        event_id,
        record_id: *rid,
        computer,
        user: user.clone(),
        rid: r,
        ip: None,
        port: 0,
        status: 0,
        sub_status: None,
        logon_type: None,
        workstation: None,
        pre_auth: None,
        enc_type: 0xffff_ffff,
        service: None,
    }
}

fn domain_day(
    rng: &mut Rng,
    dir: &Directory,
    out: &mut Vec<Record>,
    rid: &mut u64,
    start: i64,
    span: i64,
    i: usize,
) {
    let u = &dir.users[i];
    let ws_ip = dir.workstation_ip(u);
    let ws_name: Arc<str> = Arc::from(dir.workstation_name(u));
    let mut t = start - rng.range(2 * MIN, 10 * MIN);
    let port = |rng: &mut Rng| rng.range(49152, 65535) as u16;
    if rng.chance(0.02) {
        let mut e = win(t, rid, 4771, directory::DC, &u.sam, Some(u.rid));
        e.ip = Some(mapped(ws_ip));
        e.port = port(rng);
        e.status = 0x18;
        e.pre_auth = Some(2);
        out.push(Record::Win(e));
        t += rng.range(5 * SEC, 20 * SEC);
    }
    let mut e = win(t, rid, 4768, directory::DC, &u.sam, Some(u.rid));
    e.ip = Some(mapped(ws_ip));
    e.port = port(rng);
    e.status = 0;
    e.pre_auth = Some(if u.no_preauth { 0 } else { 2 });
    e.enc_type = 0x12;
    out.push(Record::Win(e));
    for _ in 0..(1 + rng.below(3)) {
        let t2 = t + rng.range(SEC, span);
        let mut e = win(
            t2,
            rid,
            4769,
            directory::DC,
            &Arc::from(format!("{}@{}", u.sam, directory::AD_REALM)),
            Some(u.rid),
        );
        e.ip = Some(mapped(ws_ip));
        e.port = port(rng);
        e.enc_type = 0x12;
        e.service = Some(Arc::from(*rng.pick(&SERVICES)));
        out.push(Record::Win(e));
        if rng.chance(0.5) {
            let mut l = win(
                t2 + rng.range(0, SEC),
                rid,
                4624,
                directory::FS,
                &u.sam,
                Some(u.rid),
            );
            l.ip = Some(ws_ip);
            l.port = port(rng);
            l.logon_type = Some(3);
            out.push(Record::Win(l));
        }
    }
    if rng.chance(0.1) {
        let mut v = win(
            t + rng.range(MIN, span),
            rid,
            4776,
            directory::DC,
            &u.sam,
            None,
        );
        v.workstation = Some(ws_name.clone());
        out.push(Record::Win(v));
    }
    if rng.chance(0.005) {
        let t3 = t + rng.range(MIN, span);
        let mut f = win(t3, rid, 4625, directory::FS, &u.sam, None);
        f.ip = Some(ws_ip);
        f.port = port(rng);
        f.status = 0xC000_006D;
        f.sub_status = Some(0xC000_006A);
        f.logon_type = Some(3);
        f.workstation = Some(ws_name);
        out.push(Record::Win(f));
    }
}
