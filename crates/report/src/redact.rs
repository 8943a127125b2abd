//! Keyed pseudonyms for account names (`--redact`).
//!
//! Every account name a finding carries — `user_list`, `valid_accounts`,
//! `credential_confirmed_accounts`, the `account` of each confirming sign-in,
//! evidence users, key values that are users, the `user` of an MFA sweep — is
//! replaced by `u-` and the first 12 hex digits of
//! HMAC-SHA256(key, lower-cased name). The tenant part is kept
//! (`adele.vance@contoso.com` → `u-3f9a2c1b7d0e@contoso.com`,
//! `CONTOSO\jdoe` → `CONTOSO\u-…`), so reports of the same run, or of
//! several runs with the same key, can still be correlated while no employee
//! name is shown. As a safety net, any other string in a finding's details
//! (and reject reasons of the input summary) that contains a redacted name has
//! it replaced as well.
//!
//! The key comes from `IDRECON_REDACT_KEY`; without it a random key is
//! generated (and the caller prints it, so the pseudonyms can be reproduced).

use hmac::{Hmac, KeyInit, Mac};
use idrecon_core::Finding;
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeMap;

/// The environment variable holding the redaction key.
pub const KEY_ENV: &str = "IDRECON_REDACT_KEY";

/// Detail fields (in [`Finding::extra`]) whose values are account names:
/// a string, an array of strings, or objects with an `account`/`user` field.
const ACCOUNT_FIELDS: &[&str] = &[
    "user",
    "users",
    "account",
    "accounts",
    "valid_accounts",
    "credential_confirmed_accounts",
    "credential_confirmed_signins",
    "target_users",
    "top_accounts",
];

/// Key fields (in [`Finding::key`]) whose values are account names.
const ACCOUNT_KEYS: &[&str] = &["user", "account", "target_user", "target"];

/// Errors creating a redactor.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// The operating system gave no random bytes.
    #[error("cannot generate a redaction key: {0}")]
    Random(String),
}

/// Replaces account names with stable keyed pseudonyms.
#[derive(Clone)]
pub struct Redactor {
    key: Vec<u8>,
    generated: Option<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor with an explicit key.
    pub fn with_key(key: impl AsRef<[u8]>) -> Redactor {
        Redactor {
            key: key.as_ref().to_vec(),
            generated: None,
        }
    }

    /// The key from `IDRECON_REDACT_KEY` when it is set and not empty,
    /// otherwise a new random 256-bit key (see [`Redactor::generated_key`]).
    pub fn from_env() -> Result<Redactor, RedactError> {
        match std::env::var(KEY_ENV) {
            Ok(k) if !k.is_empty() => Ok(Redactor::with_key(k.as_bytes())),
            _ => Redactor::random(),
        }
    }

    /// A redactor with a new random key.
    pub fn random() -> Result<Redactor, RedactError> {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).map_err(|e| RedactError::Random(e.to_string()))?;
        let hex = to_hex(&buf);
        Ok(Redactor {
            key: hex.as_bytes().to_vec(),
            generated: Some(hex),
        })
    }

    /// The key when it was generated (not given): print it so the same
    /// pseudonyms can be produced again with `IDRECON_REDACT_KEY=<key>`.
    pub fn generated_key(&self) -> Option<&str> {
        self.generated.as_deref()
    }

    /// The pseudonym of one account name. Case-insensitive; the tenant part
    /// (`@domain`, `DOMAIN\`) is kept; an empty name stays empty.
    pub fn pseudonym(&self, name: &str) -> String {
        let norm = name.trim().to_lowercase();
        if norm.is_empty() {
            return String::new();
        }
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(m) => m,
            // HMAC accepts keys of any length; unreachable in practice.
            Err(_) => return "u-redacted".to_string(),
        };
        mac.update(norm.as_bytes());
        let digest = mac.finalize().into_bytes();
        let tag = format!("u-{}", &to_hex(&digest)[..12]);
        if let Some((_, domain)) = norm.rsplit_once('@') {
            format!("{tag}@{domain}")
        } else if let Some((domain, _)) = name.trim().split_once('\\') {
            format!("{domain}\\{tag}")
        } else {
            tag
        }
    }

    /// Redacts every account name of a finding in place.
    pub fn finding(&self, f: &mut Finding) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut p = |s: &str| -> String {
            let r = self.pseudonym(s);
            if !s.trim().is_empty() {
                seen.insert(s.to_string(), r.clone());
            }
            r
        };
        for u in &mut f.user_list {
            *u = p(u);
        }
        for e in &mut f.evidence {
            if let Some(u) = &mut e.user {
                *u = p(u);
            }
        }
        for (k, v) in &mut f.key {
            if ACCOUNT_KEYS.contains(&k.as_str())
                && let Some(v) = v
            {
                *v = p(v);
            }
        }
        for (k, v) in &mut f.extra {
            if ACCOUNT_FIELDS.contains(&k.as_str()) {
                redact_value(v, &mut p);
            }
        }
        // Safety net: names inside any other detail string.
        let names = NameSet::new(seen);
        for (k, v) in &mut f.extra {
            if !ACCOUNT_FIELDS.contains(&k.as_str()) {
                names.replace_in_value(v);
            }
        }
        if let Some(src) = &mut f.source_ip
            && let Some(r) = names.exact(src)
        {
            *src = r;
        }
    }

    /// Redacts every finding, then replaces the names found in them inside
    /// `texts` (for example reject reasons of the input summary).
    pub fn findings<'a>(
        &self,
        findings: impl IntoIterator<Item = &'a mut Finding>,
        texts: &mut [&mut String],
    ) {
        let mut originals: BTreeMap<String, String> = BTreeMap::new();
        for f in findings {
            collect_names(f, &mut originals, self);
            self.finding(f);
        }
        let names = NameSet::new(originals);
        for t in texts.iter_mut() {
            **t = names.replace(t);
        }
    }
}

fn collect_names(f: &Finding, out: &mut BTreeMap<String, String>, r: &Redactor) {
    let mut add = |s: &str| {
        if !s.trim().is_empty() {
            out.insert(s.to_string(), r.pseudonym(s));
        }
    };
    f.user_list.iter().for_each(|u| add(u));
    f.evidence
        .iter()
        .filter_map(|e| e.user.as_deref())
        .for_each(&mut add);
    for k in ACCOUNT_FIELDS {
        if let Some(v) = f.extra.get(*k) {
            let mut tmp = v.clone();
            redact_value(&mut tmp, &mut |s: &str| {
                add(s);
                String::new()
            });
        }
    }
}

/// Applies `p` to every account name inside a detail value: strings, arrays
/// of strings, and the `account`/`user` members of objects.
fn redact_value(v: &mut Value, p: &mut dyn FnMut(&str) -> String) {
    match v {
        Value::String(s) => *s = p(s),
        Value::Array(items) => items.iter_mut().for_each(|i| redact_value(i, p)),
        Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                if matches!(k.as_str(), "account" | "user" | "user_name" | "upn") {
                    redact_value(v, p);
                }
            }
        }
        _ => {}
    }
}

/// Known names and their pseudonyms, longest first, for replacement inside
/// free text (case-insensitive).
struct NameSet {
    pairs: Vec<(String, String)>,
}

impl NameSet {
    fn new(map: BTreeMap<String, String>) -> NameSet {
        let mut pairs: Vec<(String, String)> = map
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .filter(|(k, _)| k.chars().count() >= 3)
            .collect();
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        pairs.dedup_by(|a, b| a.0 == b.0);
        NameSet { pairs }
    }

    fn exact(&self, s: &str) -> Option<String> {
        let l = s.to_lowercase();
        self.pairs
            .iter()
            .find(|(k, _)| *k == l)
            .map(|(_, v)| v.clone())
    }

    fn replace(&self, s: &str) -> String {
        if self.pairs.is_empty() {
            return s.to_string();
        }
        let mut out = s.to_string();
        for (name, pseudo) in &self.pairs {
            out = replace_ci(&out, name, pseudo);
        }
        out
    }

    fn replace_in_value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.replace(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.replace_in_value(i)),
            Value::Object(o) => o.values_mut().for_each(|i| self.replace_in_value(i)),
            _ => {}
        }
    }
}

/// Replaces every case-insensitive occurrence of `needle` (lower case).
fn replace_ci(hay: &str, needle: &str, with: &str) -> String {
    let lower = hay.to_lowercase();
    // Lower-casing can change byte lengths outside ASCII; fall back to an
    // exact replacement then.
    if lower.len() != hay.len() {
        return hay.replace(needle, with);
    }
    let mut out = String::with_capacity(hay.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find(needle) {
        let start = i + pos;
        out.push_str(&hay[i..start]);
        out.push_str(with);
        i = start + needle.len();
    }
    out.push_str(&hay[i..]);
    out
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_keep_the_tenant() {
        let a = Redactor::with_key("k1");
        let b = Redactor::with_key("k2");
        let p = a.pseudonym("Adele.Vance@Contoso.com");
        assert_eq!(p, a.pseudonym("adele.vance@contoso.com"));
        assert_ne!(p, b.pseudonym("adele.vance@contoso.com"));
        assert!(p.starts_with("u-") && p.ends_with("@contoso.com"), "{p}");
        assert_eq!(p.len(), "u-".len() + 12 + "@contoso.com".len());
        let d = a.pseudonym("CONTOSO\\jdoe");
        assert!(d.starts_with("CONTOSO\\u-"), "{d}");
        assert!(!a.pseudonym("jdoe").contains("jdoe"));
        assert_eq!(a.pseudonym(""), "");
    }

    #[test]
    fn known_vector() {
        // Python: hmac.new(b"key", b"the quick brown fox jumps over the lazy dog",
        // hashlib.sha256).hexdigest() = 7486bd70e657…
        let r = Redactor::with_key("key");
        assert_eq!(
            r.pseudonym("The quick brown fox jumps over the lazy dog"),
            "u-7486bd70e657"
        );
    }

    #[test]
    fn random_keys_differ_and_are_reported() {
        let a = Redactor::random().expect("random");
        let b = Redactor::random().expect("random");
        assert_ne!(a.generated_key(), b.generated_key());
        assert_eq!(a.generated_key().map(str::len), Some(64));
    }

    #[test]
    fn replace_is_case_insensitive() {
        assert_eq!(replace_ci("Hi JDoe and jdoe", "jdoe", "X"), "Hi X and X");
    }
}
