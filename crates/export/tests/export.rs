//! Every rule of both profiles compiles to every target (a new detection
//! without an export fails here), with golden files for each combination.

use idrecon_export::{Target, compile, package};
use idrecon_rules::{Catalogue, Profile};

#[test]
fn every_rule_compiles_to_every_target_with_goldens() {
    let mut n = 0;
    for profile in [Profile::Seed, Profile::Recommended] {
        let cat = Catalogue::load(profile, &[]).expect("catalogue loads");
        assert!(!cat.rules().is_empty());
        for t in Target::ALL {
            for r in cat.rules() {
                let q = compile(r, t, profile)
                    .unwrap_or_else(|e| panic!("{} {} {t}: {e}", r.id, profile.as_str()));
                assert!(!q.text.trim().is_empty());
                for w in &q.warnings {
                    assert!(
                        q.text.contains(&w.chars().take(30).collect::<String>())
                            || t == Target::Sigma
                            || !w.is_empty()
                    );
                }
                insta::assert_snapshot!(
                    format!("{}__{}__{}", profile.as_str(), t.as_str(), r.id),
                    q.text
                );
                n += 1;
            }
            let files =
                package(cat.rules(), t, profile).unwrap_or_else(|e| panic!("package {t}: {e}"));
            assert!(!files.is_empty(), "{t} package");
        }
    }
    assert!(n >= 16);
}

#[test]
fn seed_kql_is_the_seed_query_with_the_table_fixed() {
    let cat = Catalogue::load(Profile::Seed, &[]).expect("loads");
    let r = cat.get("auth_username_enumeration").expect("rule");
    let q = compile(r, Target::Kql, Profile::Seed)
        .expect("compiles")
        .text;
    for needle in [
        "let lookback = 1h;",
        "let enumThreshold = 15;",
        "SigninLogs\n| where TimeGenerated > ago(lookback)",
        "| where ResultType in (\"50034\", \"50053\", \"50055\", \"50057\", \"50072\", \"50076\")",
        "IsUsernameNotFound = iff(ResultType == \"50034\", 1, 0)",
        "UniqueUsernames = dcount(UserPrincipalName)",
        "UserList = make_set(UserPrincipalName, 25)",
        "by IPAddress, AppDisplayName, ResultDescription",
        "| where UniqueUsernames >= enumThreshold",
        "datetime_diff('minute', LastSeen, FirstSeen)",
        "SuspicionScore = case(UniqueUsernames >= 100, \"Critical\", UniqueUsernames >= 50 or UsernameNotFoundCount >= 30, \"High\", UniqueUsernames >= 15, \"Medium\", \"Low\")",
        "| order by SuspicionScore asc, UniqueUsernames desc",
    ] {
        assert!(q.contains(needle), "missing {needle:?} in\n{q}");
    }
    assert!(!q.contains("AADSignInLogs\n"));
}

#[test]
fn targets_parse_and_name_their_extension() {
    for t in Target::ALL {
        assert_eq!(t.as_str().parse::<Target>().ok(), Some(t));
        assert_eq!(t.to_string(), t.as_str());
    }
    assert_eq!(Target::Sigma.extension(), "sigma.yml");
    assert!("splunk".parse::<Target>().is_err());
}

#[test]
fn mappings_cite_every_entry() {
    for t in Target::ALL {
        let m = idrecon_export::mapping(t).expect("mapping parses");
        for k in m.kinds.values() {
            assert!(k.fields.values().all(|f| !f.source.is_empty()));
            assert!(k.tables.values().all(|f| !f.source.is_empty()));
        }
    }
}
