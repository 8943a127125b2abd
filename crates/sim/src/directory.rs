//! The simulated tenant and domain: users, offices and their addresses.

use crate::catalog::{self, Loc};
use crate::rng::{Rng, Uuid};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Entra ID domain of the simulated tenant.
pub const DOMAIN: &str = "contoso.com";
/// Active Directory DNS domain (Kerberos realm, upper-case).
pub const AD_REALM: &str = "CONTOSO.LOCAL";
/// NetBIOS domain name.
pub const NETBIOS: &str = "CONTOSO";
/// Domain controller.
pub const DC: &str = "DC01.contoso.local";
/// File server (NTLM logons land here).
pub const FS: &str = "FS01.contoso.local";
/// Domain SID prefix.
pub const DOMAIN_SID: &str = "S-1-5-21-3623811015-3361044348-30300820";

/// One directory user.
#[derive(Debug, Clone)]
pub struct User {
    /// `first.last@contoso.com`.
    pub upn: Arc<str>,
    /// `flast` (sAMAccountName).
    pub sam: Arc<str>,
    /// `First Last`.
    pub display: Arc<str>,
    /// Entra object id.
    pub id: Uuid,
    /// Relative id in the domain SID.
    pub rid: u32,
    /// Office index.
    pub office: usize,
    /// Works from home most days.
    pub remote: bool,
    /// Home address (IPv4, residential).
    pub home_ip: IpAddr,
    /// Phone address (IPv6, mobile carrier).
    pub mobile_ip: IpAddr,
    /// Home city.
    pub home: &'static Loc,
    /// Registered for MFA.
    pub mfa: bool,
    /// Registered SSPR methods.
    pub sspr: bool,
    /// Account disabled.
    pub disabled: bool,
    /// Kerberos pre-authentication not required (AS-REP roastable).
    pub no_preauth: bool,
    /// Workstation index (address 10.1.x.y, name WS-nnnn).
    pub workstation: u32,
}

/// An office: its city and the NAT address its users share.
#[derive(Debug, Clone)]
pub struct Office {
    /// City.
    pub loc: &'static Loc,
    /// Egress NAT address.
    pub nat: IpAddr,
}

/// The simulated tenant and domain.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Tenant id.
    pub tenant_id: Uuid,
    /// Users, in creation order.
    pub users: Vec<User>,
    /// Offices.
    pub offices: Vec<Office>,
    taken: HashSet<String>,
}

/// Cap of users per office, so that one office NAT never concentrates more
/// users than a realistic site (the rules' per-IP thresholds assume so).
pub const USERS_PER_OFFICE: usize = 700;

impl Directory {
    /// A directory of `n` users (at least 400: the attack scenarios need
    /// that many real accounts to target).
    pub fn new(seed: u64, n: usize) -> Self {
        let n = n.max(400);
        let mut rng = Rng::derive(seed, "directory");
        let tenant_id = rng.uuid();
        let n_offices = n.div_ceil(USERS_PER_OFFICE).max(3);
        let offices = (0..n_offices)
            .map(|i| Office {
                loc: catalog::OFFICES[i % 3],
                nat: office_nat(i),
            })
            .collect();
        let mut dir = Directory {
            tenant_id,
            users: Vec::with_capacity(n),
            offices,
            taken: HashSet::new(),
        };
        // Names are drawn in a seeded order; collisions get a digit suffix.
        for i in 0..n {
            let first = *rng.pick(&catalog::FIRST);
            let last = *rng.pick(&catalog::LAST);
            let (local, sam) = dir.unique_names(first, last);
            let office = i % n_offices;
            let home = *rng.pick(&catalog::HOMES[office % 3]);
            let user = User {
                upn: Arc::from(format!("{local}@{DOMAIN}")),
                sam: Arc::from(sam),
                display: Arc::from(format!("{} {}", title(first), title(last))),
                id: rng.uuid(),
                rid: 1104 + i as u32,
                office,
                remote: rng.chance(0.35),
                home_ip: home_ip(i),
                mobile_ip: mobile_ip(i),
                home,
                mfa: rng.chance(0.93),
                sspr: rng.chance(0.85),
                disabled: rng.chance(0.01),
                no_preauth: i % 197 == 13,
                workstation: i as u32,
            };
            dir.users.push(user);
        }
        dir
    }

    fn unique_names(&mut self, first: &str, last: &str) -> (String, String) {
        let mut k = 0u32;
        loop {
            let sfx = if k == 0 { String::new() } else { k.to_string() };
            let local = format!("{first}.{last}{sfx}");
            let sam = format!("{}{last}{sfx}", &first[..1]);
            if !self.taken.contains(&local) && !self.taken.contains(&sam) {
                self.taken.insert(local.clone());
                self.taken.insert(sam.clone());
                return (local, sam);
            }
            k += 1;
        }
    }

    /// True when `name` (a UPN local part or sAMAccountName, lower-case) is
    /// a real account.
    pub fn exists(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// `n` plausible names (`first.last` and `flast` forms, role names) that
    /// are **not** accounts in the directory and differ from each other.
    pub fn invented(&self, rng: &mut Rng, n: usize) -> Vec<Invented> {
        let mut out = Vec::with_capacity(n);
        let mut seen = HashSet::new();
        let mut tries = 0;
        while out.len() < n && tries < n * 200 {
            tries += 1;
            let first = *rng.pick(&catalog::FIRST);
            let last = *rng.pick(&catalog::LAST);
            let local = match rng.below(10) {
                0 => format!(
                    "{}{}",
                    rng.pick(&catalog::ROLE_NAMES),
                    if rng.chance(0.5) { "1" } else { "" }
                ),
                1 => format!("{}{last}", &first[..1]),
                2 => format!("{first}_{last}"),
                _ => format!("{first}.{last}"),
            };
            if self.exists(&local) || !seen.insert(local.clone()) {
                continue;
            }
            let sam = local.replace(['.', '_'], "");
            if self.exists(&sam) {
                continue;
            }
            out.push(Invented {
                upn: Arc::from(format!("{local}@{DOMAIN}")),
                sam: Arc::from(sam),
            });
        }
        out
    }

    /// `n` distinct users chosen at random (enabled, unless `any`).
    pub fn pick_users(&self, rng: &mut Rng, n: usize, any: bool) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.users.len())
            .filter(|&i| any || !self.users[i].disabled)
            .collect();
        rng.shuffle(&mut idx);
        idx.truncate(n);
        idx
    }

    /// Windows workstation name of a user.
    pub fn workstation_name(&self, u: &User) -> String {
        format!("WS-{:04}", u.workstation)
    }

    /// Windows workstation address of a user.
    pub fn workstation_ip(&self, u: &User) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(
            10,
            1,
            (u.workstation / 250) as u8,
            (u.workstation % 250 + 2) as u8,
        ))
    }
}

/// A name that is not an account.
#[derive(Debug, Clone)]
pub struct Invented {
    /// As a UPN.
    pub upn: Arc<str>,
    /// As a Windows logon name.
    pub sam: Arc<str>,
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Office NAT `i`: 198.51.100.1–40 (TEST-NET-2), then 198.51.102.x.
pub fn office_nat(i: usize) -> IpAddr {
    if i < 40 {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1 + i as u8))
    } else {
        IpAddr::V4(Ipv4Addr::new(198, 51, 102, (i - 40) as u8 % 250 + 1))
    }
}

/// Residential address of user `i`: 198.18.0.0/16 (benchmark range).
pub fn home_ip(i: usize) -> IpAddr {
    let n = i as u32 % 65_000 + 256;
    IpAddr::V4(Ipv4Addr::new(198, 18, (n >> 8) as u8, (n & 0xff) as u8 | 1))
}

/// Mobile address of user `i`: 2001:db8:100::/40 (documentation range).
pub fn mobile_ip(i: usize) -> IpAddr {
    let n = i as u32;
    IpAddr::V6(Ipv6Addr::new(
        0x2001,
        0xdb8,
        0x100 | (n >> 16) as u16,
        n as u16,
        0,
        0,
        0,
        0x10,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_and_invented_absent() {
        let d = Directory::new(3, 1000);
        let upns: HashSet<&str> = d.users.iter().map(|u| &*u.upn).collect();
        assert_eq!(upns.len(), 1000);
        let mut rng = Rng::new(1);
        for inv in d.invented(&mut rng, 300) {
            assert!(!upns.contains(&*inv.upn), "{}", inv.upn);
            assert!(!d.exists(&inv.sam));
        }
        assert!(d.offices.len() >= 3);
    }
}
