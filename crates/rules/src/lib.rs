//! The idrecon rule catalogue.
//!
//! Rules are data: each detection is a YAML file under `rules/<profile>/`
//! (embedded into the binary at build time). A rule says which events it
//! reads (`kinds`, `tables`, `where`), how it groups them (`key`), over
//! which window (`window`), what it measures (`measures`), when it fires
//! (`threshold`) and how severe a finding is (`severity`). Parameters
//! (`params`) are referenced as `$name` anywhere in the rule and can be
//! overridden from the command line (`--set RULE.PARAM=VALUE`).
//!
//! The same resolved [`Rule`] value drives the native engine and every
//! exported query dialect, so they cannot disagree.

mod catalogue;
mod duration;
mod model;
mod params;

pub use catalogue::{Catalogue, Profile, RuleSource};
pub use duration::{format_duration, parse_duration};
pub use model::{
    Baseline, Completion, Condition, Measure, MeasureFn, Pivot, Predicate, Rule, SeverityArm,
    Threshold, Window, WindowKind,
};
pub use params::Override;

/// Errors loading, resolving or overriding rules. Messages name the rule
/// file, the parameter and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The YAML did not parse.
    #[error("{file}: {message}")]
    Parse {
        /// Rule file name.
        file: String,
        /// Parser message (with line and column).
        message: String,
    },
    /// The rule is structurally invalid.
    #[error("rule `{rule}`: {message}")]
    Invalid {
        /// Rule id.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// A `--set` override is wrong.
    #[error("--set {spec}: {message}")]
    Override {
        /// The override as given.
        spec: String,
        /// What is wrong and what to do.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ov(s: &str) -> Override {
        s.parse().expect("override parses")
    }

    #[test]
    fn every_shipped_rule_loads_in_both_profiles() {
        for p in [Profile::Seed, Profile::Recommended] {
            let c = Catalogue::load(p, &[]).expect("catalogue loads");
            let ids: Vec<&str> = c.rules().iter().map(|r| r.id.as_str()).collect();
            assert!(ids.contains(&"auth_username_enumeration"), "{p}: {ids:?}");
            assert!(ids.contains(&"sspr_enumeration"), "{p}: {ids:?}");
        }
    }

    #[test]
    fn seed_rule_resolves_params() {
        let c = Catalogue::load(Profile::Seed, &[]).expect("loads");
        let r = c.get("auth_username_enumeration").expect("rule");
        assert_eq!(r.threshold.gte, 15);
        assert_eq!(r.window.length.as_secs(), 3600);
        assert_eq!(r.window.kind, WindowKind::Lookback);
        match &r.filter[0] {
            Predicate::In(_, codes) => assert_eq!(
                codes,
                &["50034", "50053", "50055", "50057", "50072", "50076"]
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn list_params_splice() {
        let c = Catalogue::load(Profile::Recommended, &[]).expect("loads");
        let r = c.get("auth_username_enumeration").expect("rule");
        match &r.filter[1] {
            Predicate::In(_, codes) => {
                assert!(
                    codes.contains(&"50034".to_string())
                        && codes.contains(&"50126".to_string())
                        && codes.contains(&"50076".to_string())
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn overrides_apply_and_are_checked() {
        let c = Catalogue::load(
            Profile::Seed,
            &[
                ov("auth_username_enumeration.threshold=5"),
                ov("lookback=30m"),
                ov("auth_username_enumeration.codes=50034, 50126"),
            ],
        )
        .expect("loads");
        let r = c.get("auth_username_enumeration").expect("rule");
        assert_eq!(r.threshold.gte, 5);
        assert_eq!(r.window.length.as_secs(), 1800);
        assert_eq!(
            c.get("sspr_enumeration").map(|r| r.window.length.as_secs()),
            Some(1800)
        );
        match &r.filter[0] {
            Predicate::In(_, codes) => assert_eq!(codes, &["50034", "50126"]),
            other => panic!("unexpected {other:?}"),
        }
        let e = Catalogue::load(Profile::Seed, &[ov("auth_username_enumeration.treshold=5")])
            .expect_err("typo");
        assert!(e.to_string().contains("has no parameter `treshold`"), "{e}");
        let e = Catalogue::load(Profile::Seed, &[ov("nosuch.threshold=5")]).expect_err("rule");
        assert!(e.to_string().contains("no rule `nosuch`"), "{e}");
        let e = Catalogue::load(Profile::Seed, &[ov("threshold=abc")]).expect_err("type");
        assert!(e.to_string().contains("non-negative integer"), "{e}");
        let e = Catalogue::load(Profile::Seed, &[ov("lookback=1y")]).expect_err("duration");
        assert!(e.to_string().contains("unknown unit"), "{e}");
        assert!("novalue".parse::<Override>().is_err());
    }

    #[test]
    fn may_use_follows_the_result_codes_of_where_and_confirm() {
        use idrecon_core::{EventKind, Field};
        let with_code =
            |code: Option<&'static str>| move |f: Field| (f == Field::ResultCode).then_some(code);
        let usable = |p: Profile, code: Option<&'static str>, table: &str| {
            let c = Catalogue::load(p, &[]).expect("loads");
            let known = with_code(code);
            c.rules()
                .iter()
                .any(|r| r.may_use(EventKind::EntraSignIn, table, &known))
        };
        // Successes confirm (and mfa_sweep counts them) in the recommended
        // profile; the seed profile never uses them.
        assert!(usable(Profile::Recommended, Some("0"), "SigninLogs"));
        assert!(!usable(Profile::Seed, Some("0"), "SigninLogs"));
        assert!(usable(Profile::Seed, Some("50034"), "SigninLogs"));
        // The seed reads SigninLogs only; KQL semantics make a missing code "".
        assert!(!usable(
            Profile::Seed,
            Some("50034"),
            "AADNonInteractiveUserSignInLogs"
        ));
        assert!(!usable(Profile::Seed, None, "SigninLogs"));
        assert!(!usable(Profile::Recommended, Some("50140"), "SigninLogs"));
        // Unknown code: anything may be used.
        let c = Catalogue::load(Profile::Seed, &[]).expect("loads");
        assert!(
            c.rules()
                .iter()
                .any(|r| r.may_use(EventKind::EntraSignIn, "SigninLogs", &|_| None))
        );
    }

    #[test]
    fn kql_semantics_of_predicates() {
        use idrecon_core::{Event, EventKind, Field, Origin, Timestamp};
        let mut e = Event::new(
            Timestamp::UNIX_EPOCH,
            EventKind::EntraAudit,
            "AuditLogs",
            Origin::default(),
        );
        e.result_reason = Some("User is BLOCKED for 24 hours".into());
        e.operation = Some("Reset password (self-service)".into());
        // `contains` is case-insensitive.
        assert!(Predicate::Contains(Field::ResultReason, vec!["blocked".into()]).eval(&e, true));
        // `in` is case-sensitive, `in~` is not.
        assert!(
            !Predicate::In(
                Field::Operation,
                vec!["reset password (self-service)".into()]
            )
            .eval(&e, true)
        );
        assert!(
            Predicate::InCi(
                Field::Operation,
                vec!["reset password (self-service)".into()]
            )
            .eval(&e, true)
        );
        // isnotempty: missing and "" are both empty.
        assert!(!Predicate::NotEmpty(Field::SourceIp).eval(&e, true));
        e.source_ip = Some(String::new());
        assert!(!Predicate::NotEmpty(Field::SourceIp).eval(&e, true));
        // A missing string is "" under KQL semantics.
        assert!(Predicate::In(Field::App, vec![String::new()]).eval(&e, true));
        assert!(!Predicate::In(Field::App, vec![String::new()]).eval(&e, false));
    }
}
