//! The same Windows Security events as EVTX, event XML, Winlogbeat ECS
//! NDJSON, Sentinel SecurityEvent rows and evtx_dump JSON give identical
//! findings. The EVTX is the public kerberos_pwd_spray_4771 sample (read in
//! place from ../shared/data); the other shapes are written by the test
//! from the events the EVTX reader produced, following TELEMETRY.md §5c.

use idrecon::pipeline::{HuntConfig, hunt};
use idrecon_core::Event;
use idrecon_ingest::{IngestOptions, InputFile, read_file};
use idrecon_rules::Profile;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn sample() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/EVTX-ATTACK-SAMPLES/Credential Access/kerberos_pwd_spray_4771.evtx",
    );
    p.is_file().then_some(p)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The EventData fields the readers use, from a normalized event.
fn data(e: &Event) -> Vec<(&'static str, String)> {
    let mut d = Vec::new();
    let mut put = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            d.push((k, v.clone()));
        }
    };
    put("TargetUserName", &e.user);
    put("TargetDomainName", &e.domain);
    put("Status", &e.result_code);
    put("SubStatus", &e.sub_status);
    put("IpAddress", &e.source_ip);
    put("WorkstationName", &e.workstation);
    put("LogonType", &e.logon_type);
    put("PreAuthType", &e.pre_auth_type);
    put("ServiceName", &e.resource);
    d
}

fn to_xml(events: &[Event]) -> String {
    let mut s = String::from("<Events>\n");
    for e in events {
        let fields: String = data(e)
            .iter()
            .map(|(k, v)| format!("<Data Name=\"{k}\">{}</Data>", xml_escape(v)))
            .collect();
        s.push_str(&format!(
            "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System><Provider Name=\"Microsoft-Windows-Security-Auditing\"/><EventID>{}</EventID><TimeCreated SystemTime=\"{}\"/><EventRecordID>{}</EventRecordID><Channel>Security</Channel><Computer>{}</Computer></System><EventData>{fields}</EventData></Event>\n",
            e.event_id.as_deref().unwrap_or("0"),
            e.time,
            e.request_id.as_deref().unwrap_or("0"),
            xml_escape(e.host.as_deref().unwrap_or("")),
        ));
    }
    s.push_str("</Events>\n");
    s
}

fn to_ecs(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| {
            let ed: serde_json::Map<String, Value> = data(e).into_iter().map(|(k, v)| (k.to_string(), Value::String(v))).collect();
            json!({
                "@timestamp": e.time.to_string(),
                "event": {"code": e.event_id, "provider": "Microsoft-Windows-Security-Auditing"},
                "winlog": {"event_id": e.event_id.as_deref().and_then(|x| x.parse::<u32>().ok()), "channel": "Security",
                           "computer_name": e.host, "record_id": e.request_id, "event_data": ed},
            })
            .to_string()
                + "\n"
        })
        .collect()
}

fn to_security_event(events: &[Event]) -> String {
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            let xml: String = data(e).iter().map(|(k, v)| format!("<Data Name=\"{k}\">{}</Data>", xml_escape(v))).collect();
            json!({
                "TimeGenerated": e.time.to_string(), "Computer": e.host, "Channel": "Security",
                "EventID": e.event_id.as_deref().and_then(|x| x.parse::<u32>().ok()),
                "TargetUserName": e.user, "IpAddress": "", "Status": "",
                "EventRecordId": e.request_id,
                "EventData": format!("<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">{xml}</EventData>"),
            })
        })
        .collect();
    Value::Array(rows).to_string()
}

fn to_evtx_dump(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| {
            let ed: serde_json::Map<String, Value> = data(e).into_iter().map(|(k, v)| (k.to_string(), Value::String(v))).collect();
            json!({"Event": {
                "System": {"EventID": e.event_id.as_deref().and_then(|x| x.parse::<u32>().ok()), "Channel": "Security",
                           "Computer": e.host, "EventRecordID": e.request_id.as_deref().and_then(|x| x.parse::<u64>().ok()),
                           "TimeCreated": {"#attributes": {"SystemTime": e.time.to_string()}}},
                "EventData": ed}})
            .to_string()
                + "\n"
        })
        .collect()
}

fn findings(path: &Path) -> Vec<Value> {
    let cfg = HuntConfig {
        paths: vec![path.to_path_buf()],
        profile: Profile::Recommended,
        overrides: vec![],
        rules: vec![],
        now: None,
        ingest: IngestOptions::default(),
        max_events_per_key: None,
        allowlist: None,
        today: None,
    };
    let out = hunt(&cfg).expect("hunt");
    assert_eq!(
        out.totals.rejected,
        0,
        "{}: {:?}",
        path.display(),
        out.ingest.files.first().map(|f| &f.stats.rejects)
    );
    out.findings
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).expect("json");
            if let Some(o) = v.as_object_mut() {
                o.remove("evidence");
            }
            v
        })
        .collect()
}

#[test]
fn every_windows_shape_gives_the_same_findings() {
    let Some(evtx) = sample() else {
        eprintln!("skipping: ../shared/data (public EVTX samples) is absent");
        return;
    };
    let mut events = Vec::new();
    read_file(
        &InputFile::from_path(&evtx),
        0,
        &IngestOptions::default(),
        &mut |e| events.push(e),
    )
    .expect("read evtx");
    assert_eq!(events.len(), 12);
    let dir = tempfile::tempdir().expect("tempdir");
    let shapes = [
        ("event XML", "events.xml", to_xml(&events)),
        ("ECS NDJSON", "winlogbeat.ndjson", to_ecs(&events)),
        (
            "SecurityEvent rows",
            "securityevent.json",
            to_security_event(&events),
        ),
        ("evtx_dump JSONL", "dump.jsonl", to_evtx_dump(&events)),
    ];
    let reference = findings(&evtx);
    assert_eq!(reference.len(), 1);
    assert_eq!(reference[0]["detection"], "kerberos_user_enumeration");
    for (name, file, content) in shapes {
        let p = dir.path().join(file);
        std::fs::write(&p, content).expect("write");
        assert_eq!(findings(&p), reference, "{name} differs from the EVTX");
    }
}
