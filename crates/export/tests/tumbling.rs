//! Tumbling rules (epoch-aligned buckets, a baseline, a pivot, no key) in
//! the dialects other than KQL: what each query must contain, and what it
//! must not.

use idrecon_export::{Target, compile, package};
use idrecon_rules::{Catalogue, Override, Profile, Rule};

const SURGE: &str = "distributed_enumeration_surge";
const SHARED: &str = "distributed_enumeration_shared_targets";

/// Targets printed by this crate's non-KQL printers.
const TARGETS: [Target; 7] = [
    Target::Spl,
    Target::Esql,
    Target::Aql,
    Target::Sumo,
    Target::Yaral,
    Target::Logscale,
    Target::Sigma,
];

fn rule(id: &str) -> Rule {
    Catalogue::load(Profile::Recommended, &[])
        .expect("catalogue loads")
        .get(id)
        .expect("rule exists")
        .clone()
}

fn text(r: &Rule, t: Target) -> String {
    compile(r, t, Profile::Recommended)
        .unwrap_or_else(|e| panic!("{} {t}: {e}", r.id))
        .text
}

/// Lines of the query itself (comments and blank lines dropped).
fn body(q: &str) -> Vec<&str> {
    q.lines()
        .filter(|l| {
            let l = l.trim_start();
            !(l.is_empty()
                || l.starts_with("//")
                || l.starts_with("```")
                || l.starts_with("/*")
                || l.starts_with('#'))
        })
        .collect()
}

#[test]
fn tenant_wide_rules_have_no_empty_group_by() {
    for id in [SURGE, SHARED] {
        let r = rule(id);
        assert!(r.key.is_empty(), "{id} is tenant-wide");
        for t in TARGETS {
            let q = text(&r, t);
            for l in body(&q) {
                let l = l.trim_end();
                for bad in [" by", " BY", "GROUP BY", "groupBy([]", "by ,", "BY ,"] {
                    assert!(!l.ends_with(bad), "{id} {t}: empty group-by in {l:?}");
                }
                assert!(!l.contains("groupBy([]"), "{id} {t}: {l}");
                assert!(l != "| eval" && l != "| EVAL", "{id} {t}: empty eval");
            }
            match t {
                Target::Yaral => {
                    let m = q.split("match:\n").nth(1).expect("match section");
                    let first = m.lines().next().unwrap_or_default().trim();
                    assert!(
                        first.starts_with('$') && first.contains(" over "),
                        "{id}: {first}"
                    );
                }
                Target::Sigma if id == SURGE => assert!(q.contains("  group-by: []\n")),
                Target::Aql => assert!(q.contains("GROUP BY starttime / ")),
                _ => {}
            }
        }
    }
}

#[test]
fn tumbling_buckets_are_epoch_aligned_and_one_complete_bucket_is_evaluated() {
    let r = rule(SHARED);
    let spl = text(&r, Target::Spl);
    assert!(spl.contains("| eval idr_bucket=floor(_time/86400)\n"));
    assert!(spl.contains("| where idr_bucket=floor(now()/86400)-1\n"));
    assert!(spl.contains("earliest=-2d latest=now"));
    assert!(
        !spl.contains("bin _time span=1d"),
        "bin aligns days to the local time zone"
    );
    let esql = text(&r, Target::Esql);
    assert!(esql.contains("idr_bucket = DATE_TRUNC(24 hours, @timestamp)"));
    assert!(esql.contains("| WHERE idr_bucket == DATE_TRUNC(24 hours, NOW()) - 24 hours"));
    assert!(esql.contains("| WHERE @timestamp > NOW() - 48 hours"));
    let sumo = text(&r, Target::Sumo);
    assert!(sumo.contains("| floor(_messagetime / 86400000) as idr_bucket"));
    assert!(sumo.contains("| floor(queryEndTime() / 86400000) - 1 as idr_last"));
    let ls = text(&r, Target::Logscale);
    assert!(ls.contains("| idr_bucket := math:floor(@timestamp / 86400000)"));
    assert!(ls.contains("| idr_last := math:floor(end() / 86400000) - 1"));
    let aql = text(&r, Target::Aql);
    assert!(aql.contains(
        "starttime >= (NOW() / 86400000 - 1) * 86400000 AND starttime < (NOW() / 86400000) * 86400000"
    ));
    assert!(aql.trim_end().ends_with("LAST 48 HOURS"));
    for t in [
        Target::Spl,
        Target::Esql,
        Target::Aql,
        Target::Sumo,
        Target::Logscale,
    ] {
        let q = text(&r, t);
        assert!(
            q.contains(
                "Run every 1d over the last 2d: each run evaluates the last complete bucket"
            ),
            "{t}: schedule hint"
        );
    }
    let surge = rule(SURGE);
    for t in [Target::Spl, Target::Esql, Target::Sumo, Target::Logscale] {
        let q = text(&surge, t);
        assert!(
            q.contains("Run every 1h over the last 170h: each run evaluates the last complete bucket, with the 168 buckets before it as its baseline"),
            "{t}: schedule hint with the history"
        );
    }
    // AQL applies the floor only: it reads two buckets, not the history.
    let aql = text(&surge, Target::Aql);
    assert!(aql.trim_end().ends_with("LAST 2 HOURS"));
    assert!(aql.contains("Run every 1h over the last 2h"));
    for t in [Target::Yaral, Target::Sigma] {
        let q = compile(&r, t, Profile::Recommended).expect("compiles");
        assert!(
            q.warnings
                .iter()
                .any(|w| w.contains("aligned to the Unix epoch")),
            "{t}: the bucket approximation is a LIMITATION"
        );
    }
}

#[test]
fn spl_baseline_is_the_engines_population_standard_deviation() {
    let q = text(&rule(SURGE), Target::Spl);
    for needle in [
        // The history starts at the first event of the rule's kinds: one
        // row per bucket without probes survives until its bucket is known.
        "| eval idr_other=if(match(result_code, \"^(?:50034|51004)$\"), null(), idr_bucket)\n| dedup keepempty=true idr_other\n| eventstats min(idr_bucket) as idr_first_bucket\n",
        "max(idr_first_bucket) as idr_first_bucket by idr_bucket\n",
        "| eval idr_last=floor(now()/3600)-1\n",
        "| eval idr_hist=if(idr_bucket>=idr_last-168 AND idr_bucket<idr_last, unique_usernames, 0), idr_hist2=idr_hist*idr_hist\n",
        "| eventstats sum(idr_hist) as idr_sum sum(idr_hist2) as idr_sumsq\n",
        "| where idr_bucket=idr_last\n",
        // n = min(history, b - b0); mean = S/n; stddev = sqrt(SS/n - mean²).
        "idr_n=min(168, idr_bucket-idr_first_bucket), idr_mean=if(idr_n=0, 0, idr_sum/idr_n), idr_meansq=if(idr_n=0, 0, idr_sumsq/idr_n), idr_stddev=sqrt(max(idr_meansq-idr_mean*idr_mean, 0)), idr_bar=idr_mean+3*idr_stddev",
        "| where unique_usernames >= 20 AND idr_n >= 24 AND unique_usernames > idr_bar\n",
        "baseline_mean=round(idr_mean, 2), baseline_stddev=round(idr_stddev, 2), baseline_buckets=idr_n",
        "| table detection_time bucket_start total_failures unique_usernames username_not_found_count baseline_mean baseline_stddev baseline_buckets ",
    ] {
        assert!(q.contains(needle), "missing {needle:?} in\n{q}");
    }
    // Not Splunk's stdev() (the sample deviation, n - 1).
    assert!(!q.contains("stdev("));
    assert!(!q.contains("stdevp("));
}

#[test]
fn other_baselines_divide_by_n() {
    let r = rule(SURGE);
    let esql = text(&r, Target::Esql);
    for needle in [
        "| EVAL idr_hist = CASE(idr_bucket >= idr_last - 168 hours AND idr_bucket < idr_last, TO_DOUBLE(unique_usernames), 0.0)",
        "| STATS idr_sum = SUM(idr_hist), idr_sumsq = SUM(idr_hist2), total_failures = MAX(total_failures) WHERE idr_bucket == idr_last",
        "| EVAL idr_n = 168, idr_mean = idr_sum / 168, idr_meansq = idr_sumsq / 168",
        "idr_stddev = SQRT(GREATEST(idr_meansq - idr_mean * idr_mean, 0.0))",
        "| WHERE unique_usernames >= 20 AND unique_usernames > idr_bar",
        "baseline_mean = ROUND(idr_mean, 2)",
    ] {
        assert!(esql.contains(needle), "ES|QL: missing {needle:?}");
    }
    let sumo = text(&r, Target::Sumo);
    for needle in [
        "| total idr_hist as idr_sum\n| total idr_hist2 as idr_sumsq\n| where idr_bucket = idr_last\n",
        "| idr_sum / idr_n as idr_mean\n| idr_sumsq / idr_n as idr_meansq\n",
        "sqrt(idr_meansq - idr_mean * idr_mean)",
    ] {
        assert!(sumo.contains(needle), "Sumo: missing {needle:?}");
    }
    assert!(!sumo.contains("| outlier"), "outlier's semantics differ");
    let ls = text(&r, Target::Logscale);
    for needle in [
        "selectFromMax(idr_current, include=[",
        "| idr_var := idr_sumsq / idr_n - idr_mean * idr_mean",
        "idr_stddev := math:sqrt(idr_var)",
        "| test(unique_usernames > idr_bar)",
    ] {
        assert!(ls.contains(needle), "LogScale: missing {needle:?}");
    }
    for t in [Target::Esql, Target::Sumo, Target::Logscale] {
        let q = compile(&r, t, Profile::Recommended).expect("compiles");
        assert!(
            q.warnings
                .iter()
                .any(|w| w.starts_with("baseline: the history is always the full 168 buckets")),
            "{t}: the zero-filled history is a LIMITATION"
        );
    }
    for t in [Target::Aql, Target::Yaral, Target::Sigma] {
        let q = compile(&r, t, Profile::Recommended).expect("compiles");
        assert!(
            q.warnings.iter().any(|w| w.starts_with("baseline not")),
            "{t}: floor only, said so"
        );
        assert!(!q.text.contains("idr_mean"));
    }
}

#[test]
fn keyed_baselines_sum_the_history_per_key() {
    let mut r = rule(SURGE);
    r.key = vec![idrecon_core::Field::SourceIp];
    r.validate().expect("a keyed tumbling baseline is valid");
    let spl = text(&r, Target::Spl);
    assert!(
        spl.contains(
            "| eventstats sum(idr_hist) as idr_sum sum(idr_hist2) as idr_sumsq by src_ip\n"
        )
    );
    assert!(spl.contains(" by src_ip idr_bucket\n"));
    // The first bucket of the history is global (any key), as in the engine.
    assert!(spl.contains("| eventstats min(idr_bucket) as idr_first_bucket\n"));
    let esql = text(&r, Target::Esql);
    assert!(esql.contains(" BY source.ip, idr_bucket\n"));
    assert!(esql.contains("WHERE idr_bucket == idr_last BY source.ip\n"));
    let sumo = text(&r, Target::Sumo);
    assert!(sumo.contains("| total idr_hist as idr_sum by src_ip\n"));
    let ls = text(&r, Target::Logscale);
    assert!(
        ls.contains("| groupBy([\"properties.ipAddress\"], function=[sum(idr_hist, as=idr_sum)")
    );
}

#[test]
fn pivots_aggregate_twice() {
    let r = rule(SHARED);
    let spl = text(&r, Target::Spl);
    for needle in [
        "| where isnotnull(user_norm) AND isnotnull(src_ip)\n",
        "| eventstats dc(src_ip) as idr_sources values(src_ip) as idr_source_set by idr_bucket user_norm\n",
        "| where idr_sources>=3\n",
        "| eval source_ip_set=mvjoin(idr_source_set, \",\")\n",
        "| eventstats dc(user_norm) as max_users_per_source_per by idr_bucket source_ip_set src_ip\n",
        " by idr_bucket source_ip_set\n| where unique_usernames >= 5\n",
        "| table detection_time source_ip_set bucket_start ",
    ] {
        assert!(spl.contains(needle), "SPL: missing {needle:?}");
    }
    let esql = text(&r, Target::Esql);
    let stats: Vec<&str> = esql.lines().filter(|l| l.starts_with("| STATS ")).collect();
    assert_eq!(stats.len(), 2, "ES|QL: per account, then per set");
    assert!(
        stats[0].ends_with(" BY idr_bucket, azure_signinlogs_properties_user_principal_name_norm")
    );
    assert!(stats[0].contains("idr_source_set = VALUES(idr_collect)"));
    assert!(stats[1].ends_with(" BY idr_bucket, source_ip_set"));
    assert!(stats[1].contains("unique_usernames = COUNT(*)"));
    assert!(stats[1].contains("not_found_count = COUNT_DISTINCT(not_found_count)"));
    assert!(esql.contains("idr_collect = TO_STRING(source.ip)"));
    assert!(esql.contains(
        "| EVAL idr_source_set = MV_SORT(idr_source_set), idr_sources = MV_COUNT(idr_source_set)\n| WHERE idr_sources >= 3\n| EVAL source_ip_set = MV_CONCAT(idr_source_set, \",\")\n"
    ));
    let sumo = text(&r, Target::Sumo);
    assert!(sumo.contains(
        "values(src_ip) as idr_source_set, min(_messagetime) as first_seen, max(_messagetime) as last_seen by idr_bucket, user_norm\n| where idr_sources >= 3\n| replace(idr_source_set, /\\n/, \",\") as source_ip_set\n"
    ));
    assert!(sumo.contains("sum(not_found_count_flag) as not_found_count"));
    assert!(sumo.contains(" by idr_bucket, source_ip_set\n"));
    let ls = text(&r, Target::Logscale);
    let groups: Vec<&str> = ls.lines().filter(|l| l.starts_with("| groupBy(")).collect();
    assert_eq!(
        groups.len(),
        3,
        "LogScale: account and source, account, set fingerprint"
    );
    assert!(groups[2].starts_with("| groupBy([idr_bucket, idr_sources, idr_f1, idr_f2]"));
    assert!(ls.contains("| hash(field=[\"properties.ipAddress\"], as=idr_h1, seed=\"1\")"));
    // The nearest forms: one result per account with at least 3 sources.
    let aql = text(&r, Target::Aql);
    assert!(
        aql.contains(
            "GROUP BY starttime / 86400000, username\nHAVING UNIQUECOUNT(sourceip) >= 3\n"
        )
    );
    let yaral = text(&r, Target::Yaral);
    assert!(yaral.contains("    $user = strings.to_lower($e.target.user.userid)\n"));
    assert!(yaral.contains("    $e and $idr_sources >= 3\n"));
    let sigma = text(&r, Target::Sigma);
    assert!(sigma.contains("  group-by:\n    - UserPrincipalName\n  timespan: 1d\n  condition:\n    field: IPAddress\n    gte: 3\n"));
    for t in [Target::Aql, Target::Yaral, Target::Sigma] {
        let q = compile(&r, t, Profile::Recommended).expect("compiles");
        assert!(q.warnings.iter().any(|w| w.starts_with("pivot not")), "{t}");
    }
    // Measures that cannot be rebuilt from per-account partials are not
    // reported (and said so).
    let q = compile(&r, Target::Sumo, Profile::Recommended).expect("compiles");
    assert!(
        q.warnings
            .iter()
            .any(|w| w.contains("`asns` (set) is not carried"))
    );
}

#[test]
fn confirmations_without_where_are_not_every_probed_account() {
    let r = rule(SHARED);
    for t in TARGETS {
        let q = compile(&r, t, Profile::Recommended).expect("compiles");
        assert!(
            q.warnings
                .iter()
                .any(|w| w.contains("`signed_in_accounts` (confirmed) is not computed")),
            "{t}"
        );
        if t != Target::Sigma {
            assert!(
                !q.text.contains("signed_in_share <= 0.5"),
                "{t}: the require is left out"
            );
        }
    }
    let k = Catalogue::load(Profile::Recommended, &[])
        .expect("loads")
        .get("kerberos_user_enumeration")
        .expect("rule")
        .clone();
    let spl = text(&k, Target::Spl);
    assert!(!spl.contains("if(true(), user_norm, null())"));
    assert!(!spl.contains("mvcount(credential_confirmed_accounts) >= 1"));
}

#[test]
fn hostile_values_reach_tumbling_queries_escaped() {
    let o: Override = "distributed_enumeration_surge.not_found_codes=50034\" | delete ``` */ //\nx"
        .parse()
        .expect("override");
    let cat = Catalogue::load(Profile::Recommended, &[o]).expect("loads");
    let r = cat.get(SURGE).expect("rule");
    let raw = "50034\" | delete ``` */ //\nx";
    for t in TARGETS {
        let q = compile(r, t, Profile::Recommended).expect("compiles").text;
        match t {
            // Values are hex-escaped regular expressions: no quote, pipe,
            // backtick or newline of the value reaches the query.
            Target::Spl => {
                assert!(!q.contains("| delete"), "{t}: raw value in\n{q}");
                assert!(!q.lines().any(|l| l.starts_with('x')), "{t}: raw newline");
            }
            // Quoted literals, written by the same escape() as every value.
            _ => assert!(
                q.contains(&idrecon_export::escape(t, raw)),
                "{t}: {raw:?} not written as {:?} in\n{q}",
                idrecon_export::escape(t, raw)
            ),
        }
    }
    let spl = compile(r, Target::Spl, Profile::Recommended)
        .expect("compiles")
        .text;
    let marker = spl
        .lines()
        .find(|l| l.starts_with("| eval idr_other="))
        .expect("marker line");
    assert!(marker.contains("\\\\x22"), "hex-escaped quote in {marker}");
}

#[test]
fn packages_schedule_tumbling_rules_by_bucket() {
    let cat = Catalogue::load(Profile::Recommended, &[]).expect("loads");
    let files = package(cat.rules(), Target::Spl, Profile::Recommended).expect("package");
    let conf = &files[0].1;
    let surge = conf
        .split("\n[")
        .find(|s| s.contains("search = ``` idrecon rule distributed_enumeration_surge "))
        .expect("surge stanza");
    assert!(surge.contains("cron_schedule = 15 */1 * * *\n"));
    assert!(surge.contains("dispatch.earliest_time = -170h\n"));
    assert!(surge.contains("alert.suppress = 0\n"));
    let shared = conf
        .split("\n[")
        .find(|s| s.contains("search = ``` idrecon rule distributed_enumeration_shared_targets "))
        .expect("shared stanza");
    assert!(shared.contains("cron_schedule = 15 0 * * *\n"));
    assert!(shared.contains("alert.suppress.fields = source_ip_set\n"));
    let aql = package(cat.rules(), Target::Aql, Profile::Recommended).expect("package");
    assert!(aql[0].1.contains(
        "| distributed_enumeration_surge | distributed_enumeration_surge.aql | 1h | last 2h |"
    ));
    let sumo = package(cat.rules(), Target::Sumo, Profile::Recommended).expect("package");
    assert!(sumo[0].1.contains(
        "| distributed_enumeration_surge | distributed_enumeration_surge.sumo | 1h | last 170h |"
    ));
}
