//! The embedded rule catalogue and profiles.

use crate::params::{Override, substitute, typed_value};
use crate::{Rule, RuleError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A rule profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// The seed's queries exactly as written (Sentinel semantics).
    Seed,
    /// Corrected logic per TELEMETRY.md (the default).
    Recommended,
}

impl Profile {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Seed => "seed",
            Profile::Recommended => "recommended",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "seed" => Ok(Profile::Seed),
            "recommended" => Ok(Profile::Recommended),
            _ => Err(format!(
                "unknown profile `{s}` (expected seed or recommended)"
            )),
        }
    }
}

/// A rule file embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct RuleSource {
    /// Path relative to the repository root.
    pub file: &'static str,
    /// YAML text.
    pub text: &'static str,
}

macro_rules! sources {
    ($($path:literal),* $(,)?) => {
        &[$(RuleSource { file: $path, text: include_str!(concat!("../../../", $path)) }),*]
    };
}

/// Every shipped rule file.
pub const SOURCES: &[RuleSource] = sources![
    "rules/seed/auth_username_enumeration.yml",
    "rules/seed/sspr_enumeration.yml",
    "rules/recommended/auth_username_enumeration.yml",
    "rules/recommended/sspr_enumeration.yml",
    "rules/seed/onprem_username_enumeration.yml",
    "rules/recommended/kerberos_user_enumeration.yml",
    "rules/recommended/kerberos_password_spray.yml",
    "rules/recommended/ntlm_logon_enumeration.yml",
    "rules/recommended/password_spray.yml",
    "rules/recommended/mfa_sweep.yml",
    "rules/recommended/distributed_enumeration.yml",
    "rules/recommended/distributed_enumeration_asn.yml",
    "rules/recommended/distributed_enumeration_user_agent.yml",
    "rules/recommended/low_and_slow_enumeration.yml",
    "rules/recommended/distributed_enumeration_surge.yml",
    "rules/recommended/distributed_enumeration_shared_targets.yml",
];

/// Parameter names users may also write: the seed query's own names, and
/// `lookback` / `window` for each other (a seed rule has a lookback, a
/// recommended rule a sliding window).
const ALIASES: &[(&str, &str)] = &[
    ("enumThreshold", "threshold"),
    ("lookback", "window"),
    ("window", "lookback"),
];

fn resolve_alias<'a>(params: &BTreeMap<String, Value>, name: &'a str) -> &'a str {
    if params.contains_key(name) {
        return name;
    }
    ALIASES
        .iter()
        .find(|(from, to)| *from == name && params.contains_key(*to))
        .map_or(name, |(_, to)| to)
}

/// A loaded, resolved set of rules for one profile.
#[derive(Debug, Clone)]
pub struct Catalogue {
    profile: Profile,
    rules: Vec<Rule>,
}

impl Catalogue {
    /// Loads every rule of `profile`, applying `overrides`. An override that
    /// names no rule or parameter of this profile is an error.
    pub fn load(profile: Profile, overrides: &[Override]) -> Result<Catalogue, RuleError> {
        Self::load_from(SOURCES, profile, overrides)
    }

    /// Loads from explicit sources (tests, user rule files).
    pub fn load_from(
        sources: &[RuleSource],
        profile: Profile,
        overrides: &[Override],
    ) -> Result<Catalogue, RuleError> {
        let mut used = vec![false; overrides.len()];
        let mut rules = Vec::new();
        for src in sources {
            let mut doc: Value =
                serde_saphyr::from_str(src.text).map_err(|e| RuleError::Parse {
                    file: src.file.to_string(),
                    message: e.to_string(),
                })?;
            if doc.get("profile").and_then(Value::as_str) != Some(profile.as_str()) {
                continue;
            }
            let id = doc
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let invalid = |m: String| RuleError::Invalid {
                rule: id.clone(),
                message: m,
            };
            let mut params: BTreeMap<String, Value> = match doc.get("params") {
                Some(Value::Object(m)) => m.clone().into_iter().collect(),
                Some(_) => return Err(invalid("`params` must be a mapping".into())),
                None => BTreeMap::new(),
            };
            for (i, ov) in overrides.iter().enumerate() {
                if ov.rule.as_deref().is_some_and(|r| r != id) {
                    continue;
                }
                let name = resolve_alias(&params, &ov.param);
                if let Some(default) = params.get(name) {
                    let v = typed_value(default, ov)?;
                    params.insert(name.to_string(), v);
                    used[i] = true;
                } else if ov.rule.is_some() {
                    let names: Vec<&str> = params.keys().map(String::as_str).collect();
                    return Err(RuleError::Override {
                        spec: ov.spec.clone(),
                        message: format!(
                            "rule `{id}` has no parameter `{}`; its parameters are: {}",
                            ov.param,
                            names.join(", ")
                        ),
                    });
                }
            }
            if let Value::Object(map) = &mut doc {
                map.remove("params");
            }
            substitute(&mut doc, &params).map_err(invalid)?;
            if let Value::Object(map) = &mut doc {
                map.insert("params".into(), Value::Object(params.into_iter().collect()));
            }
            let rule: Rule = serde_json::from_value(doc).map_err(|e| RuleError::Parse {
                file: src.file.to_string(),
                message: e.to_string(),
            })?;
            rule.validate().map_err(invalid)?;
            rules.push(rule);
        }
        if let Some(i) = used.iter().position(|u| !u) {
            let ov = &overrides[i];
            let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
            return Err(RuleError::Override {
                spec: ov.spec.clone(),
                message: match &ov.rule {
                    Some(r) if !ids.contains(&r.as_str()) => format!(
                        "no rule `{r}` in the {profile} profile; rules are: {}",
                        ids.join(", ")
                    ),
                    _ => format!(
                        "no rule of the {profile} profile has parameter `{}`",
                        ov.param
                    ),
                },
            });
        }
        Ok(Catalogue { profile, rules })
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The rules, in catalogue order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Keeps only the rules whose ids are listed (all when empty).
    pub fn select(mut self, ids: &[String]) -> Result<Catalogue, RuleError> {
        if ids.is_empty() {
            return Ok(self);
        }
        for id in ids {
            if !self.rules.iter().any(|r| &r.id == id) {
                let all: Vec<&str> = self.rules.iter().map(|r| r.id.as_str()).collect();
                return Err(RuleError::Invalid {
                    rule: id.clone(),
                    message: format!("no such rule; rules are: {}", all.join(", ")),
                });
            }
        }
        self.rules.retain(|r| ids.contains(&r.id));
        Ok(self)
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}
