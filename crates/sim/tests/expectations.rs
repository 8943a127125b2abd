//! Runs the real rule catalogue and engine over every scenario's records
//! (normalized here the way the readers do) and checks the labels'
//! expectations, without going through files.

use idrecon_core::event::table;
use idrecon_core::text::{normalize_ip, normalize_status};
use idrecon_core::{Event, EventKind, Finding, Origin};
use idrecon_engine::EngineBuilder;
use idrecon_rules::{Catalogue, Profile};
use idrecon_sim::catalog::failure_reason;
use idrecon_sim::eval::{HuntResult, evaluate, render_table};
use idrecon_sim::labels::{FORMAT, Labels, TenantLabel};
use idrecon_sim::record::Record;
use idrecon_sim::scenario;
use idrecon_sim::simulate::{self, SimOptions};
use idrecon_sim::time::to_timestamp;

fn event(r: &Record, n: u64) -> Event {
    let origin = Origin { file: 0, record: n };
    match r {
        Record::SignIn(s) => {
            let t = if s.interactive {
                table::SIGNIN_LOGS
            } else {
                table::NON_INTERACTIVE
            };
            let mut e = Event::new(to_timestamp(s.time), EventKind::EntraSignIn, t, origin);
            e.user = Some(s.upn.to_string());
            e.source_ip = normalize_ip(&s.ip.to_string());
            // The readers also keep the address as written (seed rules group by it).
            e.source_ip_raw = Some(s.ip.to_string());
            e.result_code = Some(s.code.to_string());
            e.result_description = Some(failure_reason(s.code).to_string());
            e.app = Some(s.app.name.into());
            e.app_id = Some(s.app.id.into());
            e.resource = Some(s.resource.name.into());
            e.client_app = Some(s.client_app.into());
            e.user_agent = Some(s.user_agent.to_string());
            e.auth_protocol = Some(s.protocol.into());
            e.request_id = Some(s.id.to_string());
            e.asn = Some(s.asn.to_string());
            e.auth_requirement = Some(
                if s.mfa {
                    "multiFactorAuthentication"
                } else {
                    "singleFactorAuthentication"
                }
                .into(),
            );
            e
        }
        Record::Audit(a) => {
            let mut e = Event::new(
                to_timestamp(a.time),
                EventKind::EntraAudit,
                table::AUDIT_LOGS,
                origin,
            );
            e.operation = Some(a.activity.into());
            e.activity = Some(a.activity.into());
            e.result = Some(a.result.into());
            e.result_reason = Some(a.reason.into());
            e.logged_by_service = Some(a.service.into());
            e.target_user = Some(a.target.0.to_string());
            e.source_ip = a
                .actor
                .as_ref()
                .and_then(|x| x.2)
                .and_then(|ip| normalize_ip(&ip.to_string()));
            e.source_ip_raw = a.actor.as_ref().and_then(|x| x.2).map(|ip| ip.to_string());
            e.request_id = Some(format!("{}{}", a.id_prefix, a.id));
            e
        }
        Record::Win(w) => {
            let mut e = Event::new(
                to_timestamp(w.time),
                EventKind::WindowsSecurity,
                table::SECURITY_EVENT,
                origin,
            );
            e.event_id = Some(w.event_id.to_string());
            e.user = Some(w.user.to_string());
            e.source_ip = w.ip.and_then(|ip| normalize_ip(&ip.to_string()));
            e.result_code = Some(normalize_status(&format!("{:#x}", w.status)));
            e.sub_status = w.sub_status.map(|s| normalize_status(&format!("{s:#x}")));
            e.workstation = w.workstation.as_ref().map(|s| s.to_string());
            e.host = Some(w.computer.into());
            e.logon_type = w.logon_type.map(|l| l.to_string());
            e.pre_auth_type = w.pre_auth.map(|p| p.to_string());
            e.request_id = Some(w.record_id.to_string());
            e
        }
    }
}

fn hunt(profile: Profile, recs: &[Record]) -> (Vec<Finding>, Vec<String>) {
    let cat = Catalogue::load(profile, &[]).expect("catalogue");
    let ids = cat.rules().iter().map(|r| r.id.clone()).collect();
    let engine = EngineBuilder::new()
        .rules(cat.rules().iter().cloned())
        .profile(profile.as_str())
        .build();
    let mut run = engine.run(vec!["direct".into()]);
    for (i, r) in recs.iter().enumerate() {
        run.push(event(r, i as u64 + 1));
    }
    (run.finish().0, ids)
}

#[test]
fn every_expectation_holds_in_both_profiles() {
    let opts = SimOptions {
        scale: 0.25,
        ..SimOptions::new("/nonexistent")
    };
    let dir = simulate::directory_for(opts.seed, opts.scale);
    let mut labels = Labels {
        format: FORMAT,
        generator: "test".into(),
        seed: opts.seed,
        start: String::new(),
        scale: opts.scale,
        mode: "scenarios".into(),
        tenant: TenantLabel {
            domain: String::new(),
            tenant_id: String::new(),
            ad_realm: String::new(),
            users: 0,
            active_users: 0,
        },
        scenarios: vec![],
        units: vec![],
        notes: vec![],
    };
    let mut recs_by = Vec::new();
    for (i, def) in scenario::catalogue().iter().enumerate() {
        let (recs, spec) = simulate::generate(
            &dir,
            def,
            i,
            opts.seed,
            opts.start + def.offset,
            opts.scale,
            1,
        );
        labels.scenarios.push(simulate::label(def, spec, &recs));
        recs_by.push((def.name.to_string(), recs));
    }
    for profile in [Profile::Recommended, Profile::Seed] {
        let mut hunts = Vec::new();
        let mut ids = Vec::new();
        for (name, recs) in &recs_by {
            let (findings, cat) = hunt(profile, recs);
            ids = cat;
            hunts.push(HuntResult {
                unit: name.clone(),
                shape: "direct".into(),
                scenarios: vec![name.clone()],
                findings,
                suppressed: vec![],
            });
        }
        let report = evaluate(&labels, profile.as_str(), &ids, &hunts, false);
        let table = render_table(&report);
        eprintln!("{table}");
        assert!(
            report.totals.missed.is_empty(),
            "{profile}: missed {:?}\n{table}",
            report.totals.missed
        );
        assert_eq!(
            report.totals.false_positives, 0,
            "{profile}: false positives\n{table}"
        );
        for row in &report.rows {
            assert_ne!(
                row.result, "fired (label expected silent)",
                "{profile}: {row:?}"
            );
            assert_ne!(row.result, "not in catalogue", "{profile}: {row:?}");
        }
        if profile == Profile::Recommended {
            assert!(report.totals.recall >= 1.0, "{table}");
            assert!(report.totals.no_detection_yet.is_empty(), "{table}");
            assert_eq!(
                report.totals.attack_scenarios_detected, report.totals.attack_scenarios,
                "{table}"
            );
            for v in &report.verdicts {
                if v.scenario.starts_with("fp-") {
                    assert!(
                        v.verdict.starts_with("suppressible by allowlist"),
                        "{v:?}\n{table}"
                    );
                }
            }
        }
    }
}
