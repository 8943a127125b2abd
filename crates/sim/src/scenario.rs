//! Scenario framework: the generation context, record builders and the
//! catalogue of scenarios (attacks in `attacks.rs`, false positives in
//! `benign.rs`, background traffic in `background.rs`).

use crate::catalog::{self, App, Loc, Resource};
use crate::directory::{Directory, Invented, User};
use crate::labels::{AllowlistHint, Expectation};
use crate::record::{Audit, Record, SignIn, WinEvent};
use crate::rng::{Rng, Uuid};
use crate::time::{HOUR, MIN, SEC};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Attack or benign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Adversary activity.
    Attack,
    /// Benign look-alike or background traffic.
    Benign,
}

impl Kind {
    /// `attack` / `benign`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Attack => "attack",
            Kind::Benign => "benign",
        }
    }
}

/// A scenario in the catalogue.
pub struct Def {
    /// Name used on the command line.
    pub name: &'static str,
    /// Attack or benign.
    pub kind: Kind,
    /// One line.
    pub title: &'static str,
    /// Offset of the scenario from the simulation start.
    pub offset: i64,
    /// Generator.
    pub build: fn(&mut Gen<'_>) -> Spec,
}

impl std::fmt::Debug for Def {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Def")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish()
    }
}

/// Everything a scenario says about itself besides its records.
#[derive(Debug, Default)]
pub struct Spec {
    /// Description.
    pub description: String,
    /// The seed's test number.
    pub seed_test: Option<u8>,
    /// Tools imitated.
    pub tools: Vec<String>,
    /// MITRE techniques.
    pub mitre: Vec<String>,
    /// Source keys (IPs, 4776 workstation names).
    pub source_keys: Vec<String>,
    /// Source networks.
    pub source_cidrs: Vec<String>,
    /// Names tried (in order, possibly repeated).
    pub probed: Vec<Arc<str>>,
    /// How many of the distinct names tried are real accounts.
    pub existing: usize,
    /// Accounts whose password was confirmed or used.
    pub confirmed: Vec<String>,
    /// First record of the activity (ns); default: the first record.
    pub activity_start: Option<i64>,
    /// Expectations.
    pub expect: Vec<Expectation>,
    /// Allowlist class for benign look-alikes.
    pub allowlist: Option<AllowlistHint>,
    /// Notes.
    pub notes: Vec<String>,
}

/// Generation context of one scenario.
pub struct Gen<'d> {
    /// The tenant.
    pub dir: &'d Directory,
    /// This scenario's random stream.
    pub rng: Rng,
    /// Scenario start (ns).
    pub t0: i64,
    /// Records produced.
    pub records: Vec<Record>,
    /// Background scale.
    pub scale: f64,
    /// Background days.
    pub days: u32,
    next_record_id: u64,
}

/// Who is acting: address, place and client fingerprint.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    /// Source address.
    pub ip: IpAddr,
    /// Geolocation.
    pub loc: &'static Loc,
    /// Autonomous system.
    pub asn: u32,
    /// User agent.
    pub ua: &'static str,
    /// Operating system in `DeviceDetail`.
    pub os: &'static str,
    /// Browser in `DeviceDetail`.
    pub browser: &'static str,
    /// `ClientAppUsed`.
    pub client_app: &'static str,
    /// `AuthenticationProtocol`.
    pub protocol: &'static str,
}

/// A name being tried: a real account or not.
#[derive(Debug, Clone)]
pub struct Tgt {
    /// UPN form.
    pub upn: Arc<str>,
    /// Windows logon name form.
    pub sam: Arc<str>,
    /// Object id and display name, when the account exists in Entra.
    pub entra: Option<(Uuid, Arc<str>)>,
    /// Domain relative id, when the account exists on-prem.
    pub rid: Option<u32>,
    /// Directory index.
    pub index: Option<usize>,
}

impl Tgt {
    /// A directory user.
    pub fn real(dir: &Directory, i: usize) -> Self {
        let u = &dir.users[i];
        Tgt {
            upn: u.upn.clone(),
            sam: u.sam.clone(),
            entra: Some((u.id, u.display.clone())),
            rid: Some(u.rid),
            index: Some(i),
        }
    }

    /// A name that is not an account.
    pub fn fake(inv: &Invented) -> Self {
        Tgt {
            upn: inv.upn.clone(),
            sam: inv.sam.clone(),
            entra: None,
            rid: None,
            index: None,
        }
    }

    /// True for a real account.
    pub fn exists(&self) -> bool {
        self.entra.is_some() || self.rid.is_some()
    }

    /// The directory user, if any.
    pub fn user<'a>(&self, dir: &'a Directory) -> Option<&'a User> {
        self.index.map(|i| &dir.users[i])
    }
}

impl<'d> Gen<'d> {
    /// A context for one scenario.
    pub fn new(
        dir: &'d Directory,
        rng: Rng,
        t0: i64,
        record_id_base: u64,
        scale: f64,
        days: u32,
    ) -> Self {
        Gen {
            dir,
            rng,
            t0,
            records: Vec::new(),
            scale,
            days,
            next_record_id: record_id_base,
        }
    }

    /// A random delay in `[lo_ms, hi_ms)` milliseconds, at 100 ns resolution.
    pub fn delay(&mut self, lo_ms: i64, hi_ms: i64) -> i64 {
        let us = self.rng.range(lo_ms * 1000, hi_ms * 1000);
        us * 1000 + self.rng.range(0, 10) * 100
    }

    /// `t` rounded down to a whole millisecond (Windows event times).
    pub fn ms(t: i64) -> i64 {
        t - t.rem_euclid(1_000_000)
    }

    /// A sign-in with the actor's fingerprint.
    pub fn sign_in(
        &mut self,
        t: i64,
        tgt: &Tgt,
        a: &Actor,
        app: &'static App,
        res: &'static Resource,
        code: u32,
    ) -> SignIn {
        let mfa = matches!(code, 50074 | 50076 | 500121);
        SignIn {
            time: t,
            id: self.rng.uuid(),
            correlation_id: self.rng.uuid(),
            interactive: true,
            upn: tgt.upn.clone(),
            user: tgt.entra.clone(),
            app,
            resource: res,
            ip: a.ip,
            loc: a.loc,
            asn: a.asn,
            client_app: a.client_app,
            user_agent: Arc::from(a.ua),
            os: a.os,
            browser: a.browser,
            code,
            protocol: a.protocol,
            mfa,
            ca_status: if code == 53003 {
                "failure"
            } else {
                "notApplied"
            },
            latency_ms: self.rng.range(40, 400) as u32,
            duplicate: self.rng.chance(0.04),
        }
    }

    /// Adds a record.
    pub fn push(&mut self, r: Record) {
        self.records.push(r);
    }

    /// Adds a sign-in.
    pub fn push_sign_in(&mut self, s: SignIn) {
        self.records.push(Record::SignIn(s));
    }

    /// The next Windows `EventRecordID`.
    pub fn record_id(&mut self) -> u64 {
        self.next_record_id += 1;
        self.next_record_id
    }

    /// A Windows event with defaults for everything optional.
    pub fn win(
        &mut self,
        t: i64,
        event_id: u16,
        computer: &'static str,
        user: &Arc<str>,
        rid: Option<u32>,
    ) -> WinEvent {
        WinEvent {
            time: Self::ms(t),
            event_id,
            record_id: self.record_id(),
            computer,
            user: user.clone(),
            rid,
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

    /// A self-service password reset audit record initiated by `tgt` from `ip`.
    pub fn sspr(
        &mut self,
        t: i64,
        tgt: &Tgt,
        ip: IpAddr,
        activity: &'static str,
        result: &'static str,
        reason: &'static str,
    ) -> Audit {
        let (id, _) = tgt.entra.clone().unwrap_or((Uuid(0), Arc::from("")));
        Audit {
            time: t,
            id: self.rng.uuid(),
            id_prefix: "SSGM_",
            correlation_id: self.rng.uuid(),
            activity,
            category: "UserManagement",
            service: "Self-service Password Management",
            operation_type: "Update",
            result,
            reason,
            actor: Some((tgt.upn.clone(), id, Some(ip))),
            actor_app: None,
            target: (tgt.upn.clone(), id),
        }
    }
}

/// IPv4 address helper.
pub fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// IPv4-mapped IPv6 form, as Kerberos events write client addresses.
pub fn mapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v) => IpAddr::V6(v.to_ipv6_mapped()),
        v6 => v6,
    }
}

/// SSPR activity names (TELEMETRY.md §3).
pub mod sspr {
    /// Flow step record.
    pub const FLOW: &str = "Self-service password reset flow activity progress";
    /// Reset.
    pub const RESET: &str = "Reset password (self-service)";
    /// Block.
    pub const BLOCKED: &str = "Blocked from self-service password reset";
    /// Step: user id submitted.
    pub const SUBMITTED: &str = "User submitted their user ID";
    /// Step: options shown (the account exists).
    pub const PRESENTED: &str = "User was presented with verification options";
    /// Step: no methods (note the trailing space Microsoft writes).
    pub const INSUFFICIENT: &str = "User's account has insufficient authentication methods defined. Add authentication info to resolve this ";
    /// Step: SSPR off for the user.
    pub const NOT_ENABLED: &str = "Password reset is not enabled for this user";
    /// Step: abandoned.
    pub const CANCELLED: &str = "User cancelled before passing the required authentication methods";
    /// Steps of a real reset.
    pub const SMS_STARTED: &str = "User started the mobile SMS verification option";
    /// Steps of a real reset.
    pub const SMS_COMPLETED: &str = "User completed the mobile SMS verification option";
    /// Steps of a real reset.
    pub const ALL_VERIFIED: &str = "User completed all verification steps required";
    /// Steps of a real reset.
    pub const NEW_PASSWORD: &str = "User submitted a new password";
    /// Reset reason.
    pub const RESET_DONE: &str = "Successfully completed reset.";
    /// Block reason.
    pub const NOT_APPLICABLE: &str = "Not applicable";
}

/// Default start of the simulated timeline.
pub const DEFAULT_START: &str = "2024-05-01T00:00:00Z";

/// The scenario catalogue, in order.
pub fn catalogue() -> &'static [Def] {
    use crate::{attacks as a, background as bg, benign as b};
    const DEFS: &[Def] = &[
        Def {
            name: "seed1-ropc-enum",
            kind: Kind::Attack,
            title: "Seed test 1: Entra username enumeration through the token endpoint (ROPC, o365spray oauth2)",
            offset: 2 * HOUR + 10 * MIN,
            build: a::seed1_ropc_enum,
        },
        Def {
            name: "seed2-onprem-enum",
            kind: Kind::Attack,
            title: "Seed test 2: on-prem user enumeration (kerbrute userenum 4768 0x6; SMB/NTLM 4625 and 4776)",
            offset: 3 * HOUR,
            build: a::seed2_onprem_enum,
        },
        Def {
            name: "seed3-sspr-probe",
            kind: Kind::Attack,
            title: "Seed test 3: SSPR username probing (AuditLogs flow activity)",
            offset: 4 * HOUR,
            build: a::seed3_sspr_probe,
        },
        Def {
            name: "spray-entra",
            kind: Kind::Attack,
            title: "Password spray from one source (TREVORspray msol)",
            offset: 5 * HOUR,
            build: a::spray_entra,
        },
        Def {
            name: "spray-kerberos",
            kind: Kind::Attack,
            title: "Password spray over Kerberos pre-authentication (kerbrute passwordspray)",
            offset: 5 * HOUR + 40 * MIN,
            build: a::spray_kerberos,
        },
        Def {
            name: "mfa-sweep",
            kind: Kind::Attack,
            title: "MFA-method sweep of one credential (MFASweep, 11 legs)",
            offset: 6 * HOUR + 30 * MIN,
            build: a::mfa_sweep,
        },
        Def {
            name: "distributed-enum",
            kind: Kind::Attack,
            title: "Distributed enumeration from rotating cloud-proxy addresses, each below the per-IP threshold",
            offset: 7 * HOUR,
            build: a::distributed_enum,
        },
        Def {
            name: "low-and-slow",
            kind: Kind::Attack,
            title: "Low-and-slow enumeration from one source over 12 hours",
            offset: 8 * HOUR,
            build: a::low_and_slow,
        },
        Def {
            name: "enum-then-compromise",
            kind: Kind::Attack,
            title: "Enumeration and spray followed by a successful sign-in to a discovered account (MSOLSpray)",
            offset: 21 * HOUR,
            build: a::enum_then_compromise,
        },
        Def {
            name: "distributed-surge",
            kind: Kind::Attack,
            title: "Distributed enumeration through a residential proxy network (one name per address): only a tenant-wide surge of not-found answers shows it",
            offset: 0,
            build: a::distributed_surge,
        },
        Def {
            name: "shared-target-list",
            kind: Kind::Attack,
            title: "Password spray whose rounds leave from unrelated hosts, linked only by their shared target list",
            offset: 16 * HOUR,
            build: a::shared_target_list,
        },
        Def {
            name: "fp-pentest",
            kind: Kind::Benign,
            title: "False positive: authorised penetration test from a known range",
            offset: 10 * HOUR,
            build: b::fp_pentest,
        },
        Def {
            name: "fp-misconfigured-app",
            kind: Kind::Benign,
            title: "False positive: misconfigured legacy app cycling through a stored user list",
            offset: 11 * HOUR,
            build: b::fp_misconfigured_app,
        },
        Def {
            name: "fp-helpdesk-sspr",
            kind: Kind::Benign,
            title: "False positive: helpdesk tool probing SSPR status in bulk",
            offset: 13 * HOUR + 20 * MIN,
            build: b::fp_helpdesk_sspr,
        },
        Def {
            name: "fp-expiry-notifier",
            kind: Kind::Benign,
            title: "False positive: password-expiry notifier checking many accounts in rapid succession",
            offset: 14 * HOUR + 20 * MIN,
            build: b::fp_expiry_notifier,
        },
        Def {
            name: "fp-onboarding",
            kind: Kind::Benign,
            title: "False positive: onboarding script validating new accounts during directory sync",
            offset: 15 * HOUR + 20 * MIN,
            build: b::fp_onboarding,
        },
        Def {
            name: "nat-pool-retries",
            kind: Kind::Benign,
            title: "Look-alike: stale passwords retried through an office's three egress NAT addresses, then the users sign in",
            offset: 9 * HOUR,
            build: b::nat_pool_retries,
        },
        Def {
            name: "background",
            kind: Kind::Benign,
            title: "Background traffic: thousands of users, diurnal pattern, normal failures, MFA prompts, travel, SSPR resets, domain logons",
            offset: 0,
            build: bg::background,
        },
    ];
    DEFS
}

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<&'static Def> {
    catalogue().iter().find(|d| d.name == name)
}

/// Seconds helper for readability in scenario code.
pub const fn secs(n: i64) -> i64 {
    n * SEC
}

/// The standard o365spray actor fingerprint.
pub fn o365spray_actor(ip: IpAddr, loc: &'static Loc, asn: u32) -> Actor {
    Actor {
        ip,
        loc,
        asn,
        ua: catalog::UA_O365SPRAY,
        os: "Windows10",
        browser: "Chrome 104.0.0",
        client_app: "Mobile Apps and Desktop clients",
        protocol: "ropc",
    }
}
