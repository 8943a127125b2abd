//! The same seven events (TELEMETRY.md §5 values: 4768 0x6 ×2, 4771 0x18,
//! 4625 0xc0000064 and 0xc000006a, 4776 0xc0000064, 4624) written in every
//! shape idrecon reads: `wevtutil qe /f:xml`, Event Viewer "Save as XML",
//! Winlogbeat ECS NDJSON, Sentinel SecurityEvent rows and `evtx_dump` JSON
//! lines. All shapes must give identical events.

mod common;

use common::fixture;
use idrecon_core::{Event, FileStats, Origin};
use idrecon_winlog::{JsonShape, json_shape, normalize_json, read_event_xml};

fn read_xml(name: &str) -> (Vec<Event>, FileStats) {
    let text = std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut stats = FileStats::default();
    let mut events = Vec::new();
    read_event_xml(&text, 3, &mut stats, &mut |e| events.push(e));
    assert!(stats.reconciles());
    (events, stats)
}

/// JSON records of a fixture: a JSON array, or one record per line.
fn json_records(name: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(rows)) => rows,
        _ => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect(),
    }
}

fn read_json(name: &str, shape: JsonShape) -> Vec<Event> {
    json_records(name)
        .iter()
        .enumerate()
        .map(|(i, v)| {
            assert_eq!(json_shape(v), Some(shape), "{name} record {}", i + 1);
            let origin = Origin {
                file: 3,
                record: i as u64 + 1,
            };
            normalize_json(v, shape, origin)
                .unwrap_or_else(|e| panic!("{name} record {}: {e}", i + 1))
        })
        .collect()
}

fn expected() -> Vec<Event> {
    read_xml("wevtutil.xml").0
}

#[test]
fn wevtutil_xml_gives_the_telemetry_values() {
    let (events, stats) = read_xml("wevtutil.xml");
    assert_eq!((stats.read, stats.used, stats.rejected), (7, 7, 0));
    let ids: Vec<&str> = events
        .iter()
        .filter_map(|e| e.event_id.as_deref())
        .collect();
    assert_eq!(
        ids,
        ["4768", "4768", "4771", "4625", "4625", "4776", "4624"]
    );
    let codes: Vec<(Option<&str>, Option<&str>)> = events
        .iter()
        .map(|e| (e.result_code.as_deref(), e.sub_status.as_deref()))
        .collect();
    assert_eq!(
        codes,
        [
            (Some("0x6"), None),
            (Some("0x6"), None),
            (Some("0x18"), None),
            (Some("0xc000006d"), Some("0xc0000064")),
            (Some("0xc000006d"), Some("0xc000006a")),
            (Some("0xc0000064"), None),
            (None, None),
        ]
    );
    let numbers: Vec<u64> = events.iter().map(|e| e.origin.record).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7]);

    let miss = &events[0];
    assert_eq!(miss.time.to_string(), "2024-05-01T10:15:41.074Z");
    assert_eq!(miss.user.as_deref(), Some("nosuchuser"));
    assert_eq!(miss.domain.as_deref(), Some("CONTOSO.LOCAL"));
    assert_eq!(
        miss.source_ip.as_deref(),
        Some("10.0.0.66"),
        "IPv4-mapped prefix removed"
    );
    assert_eq!(miss.resource.as_deref(), Some("krbtgt/CONTOSO.LOCAL"));
    assert_eq!(miss.pre_auth_type, None, "PreAuthType `-`");
    assert_eq!(miss.host.as_deref(), Some("DC01.contoso.local"));
    assert_eq!(miss.request_id.as_deref(), Some("1001"));
    assert_eq!(miss.kind.as_str(), "windows_security");
    assert_eq!(miss.table, "SecurityEvent");

    let bad_pw = &events[2];
    assert_eq!(bad_pw.user.as_deref(), Some("jdoe"));
    assert_eq!(bad_pw.pre_auth_type.as_deref(), Some("2"));
    assert_eq!(bad_pw.domain, None, "4771 has no TargetDomainName");

    let unknown = &events[3];
    assert_eq!(unknown.user.as_deref(), Some("r&d-svc"), "entity decoded");
    assert_eq!(unknown.workstation.as_deref(), Some("KALI"));
    assert_eq!(unknown.logon_type.as_deref(), Some("3"));
    assert_eq!(unknown.app.as_deref(), Some("NTLM"));
    assert_eq!(unknown.result_description.as_deref(), Some("%%2313"));
    assert_eq!(unknown.source_ip.as_deref(), Some("10.0.0.66"));

    let ntlm = &events[5];
    assert_eq!(ntlm.user.as_deref(), Some("ghost"));
    assert_eq!(
        ntlm.workstation.as_deref(),
        Some("KALI"),
        "leading \\\\ stripped"
    );
    assert_eq!(ntlm.source_ip, None, "4776 has no IpAddress");
    assert_eq!(
        ntlm.app.as_deref(),
        Some("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0")
    );

    let ok = &events[6];
    assert_eq!(
        ok.source_ip.as_deref(),
        Some("::1"),
        "loopback kept as an address"
    );
    assert_eq!(ok.workstation, None, "empty WorkstationName");
    assert_eq!(ok.app.as_deref(), Some("Kerberos"));
}

fn assert_same(name: &str, got: &[Event], want: &[Event]) {
    assert_eq!(got.len(), want.len(), "{name}: event count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let mut g = g.clone();
        g.origin = w.origin;
        assert_eq!(&g, w, "{name}: event {}", i + 1);
    }
}

#[test]
fn event_viewer_xml_is_identical() {
    let (events, stats) = read_xml("eventviewer.xml");
    assert_eq!((stats.read, stats.used), (7, 7));
    assert_same("eventviewer.xml", &events, &expected());
}

#[test]
fn winlogbeat_ecs_is_identical() {
    assert_same(
        "winlogbeat.ndjson",
        &read_json("winlogbeat.ndjson", JsonShape::Ecs),
        &expected(),
    );
}

#[test]
fn sentinel_security_event_is_identical() {
    assert_same(
        "securityevent.json",
        &read_json("securityevent.json", JsonShape::SecurityEvent),
        &expected(),
    );
}

#[test]
fn evtx_dump_jsonl_is_identical() {
    assert_same(
        "evtx_dump.jsonl",
        &read_json("evtx_dump.jsonl", JsonShape::EvtxDump),
        &expected(),
    );
}

#[test]
fn xml_records_are_numbered_and_bad_ones_rejected_alone() {
    let good = std::fs::read_to_string(fixture("wevtutil.xml")).expect("fixture");
    let one = &good[..good.find("</Event>").expect("an event") + "</Event>".len()];
    // A broken event between two good ones, an event with no EventID, a bad
    // time, and a cut one at the end.
    let text = format!(
        "{one}\n<Event xmlns='x'><System><EventID>4625</EventID></Sys></Event>\n{one}\n\
         <Event><System><TimeCreated SystemTime='2024-05-01T10:15:41Z'/></System></Event>\n\
         <Event><System><EventID>4625</EventID><TimeCreated SystemTime='soon'/></System></Event>\n\
         {one}\n<Event><System><EventID>46"
    );
    let mut stats = FileStats::default();
    let mut events = Vec::new();
    read_event_xml(&text, 0, &mut stats, &mut |e| events.push(e));
    assert!(stats.reconciles());
    assert_eq!((stats.read, stats.used, stats.rejected), (7, 3, 4));
    let used: Vec<u64> = events.iter().map(|e| e.origin.record).collect();
    assert_eq!(used, [1, 3, 6]);
    let rejects: Vec<(u64, &str)> = stats
        .rejects
        .iter()
        .map(|r| (r.record, r.reason.as_str()))
        .collect();
    assert_eq!(rejects[0].0, 2);
    assert!(
        rejects[0].1.starts_with("malformed event XML"),
        "{}",
        rejects[0].1
    );
    assert_eq!(rejects[1], (4, "missing EventID"));
    assert_eq!(
        rejects[2],
        (5, "TimeCreated SystemTime `soon` is not a timestamp")
    );
    assert_eq!(rejects[3].0, 7);
    assert!(
        rejects[3].1.contains("ends before its closing tag"),
        "{}",
        rejects[3].1
    );
}

#[test]
fn xml_without_events() {
    let mut stats = FileStats::default();
    read_event_xml(
        "<?xml version='1.0'?><Events></Events>",
        0,
        &mut stats,
        &mut |_| {},
    );
    assert_eq!(stats.read, 0, "an empty export has no records");
    read_event_xml("{\"not\": \"xml\"}", 0, &mut stats, &mut |_| {});
    assert_eq!((stats.read, stats.rejected), (1, 1));
    assert_eq!(stats.rejects[0].record, 0);
}

#[test]
fn json_rejects() {
    let v = serde_json::json!({"winlog": {"event_id": 4625}, "@timestamp": "not a time"});
    let e = normalize_json(&v, JsonShape::Ecs, Origin::default()).expect_err("bad time");
    assert_eq!(e, "@timestamp `not a time` is not a timestamp");
    let v = serde_json::json!({"EventID": "abc", "Computer": "DC01", "TimeGenerated": "2024-05-01T10:15:41Z"});
    assert_eq!(json_shape(&v), Some(JsonShape::SecurityEvent));
    let e = normalize_json(&v, JsonShape::SecurityEvent, Origin::default()).expect_err("bad id");
    assert_eq!(e, "EventID `abc` is not a number");
    // EventData cut short: what precedes the cut is used.
    let v = serde_json::json!({"EventID": 4768, "Computer": "DC01", "TimeGenerated": "2024-05-01T10:15:41Z",
        "EventData": "<EventData><Data Name='Status'>0x6</Data><Data Name='IpAddress'>::ffff:10.0.0.66</Data><Data Name='IpPo"});
    let e =
        normalize_json(&v, JsonShape::SecurityEvent, Origin::default()).expect("partial EventData");
    assert_eq!(e.result_code.as_deref(), Some("0x6"));
    assert_eq!(e.source_ip.as_deref(), Some("10.0.0.66"));
    let v = serde_json::json!({"Event": {"System": {"EventID": 4625}}});
    let e = normalize_json(&v, JsonShape::EvtxDump, Origin::default()).expect_err("no time");
    assert_eq!(e, "missing event time (TimeCreated SystemTime)");
    // A shape that does not fit the record.
    assert!(normalize_json(&serde_json::json!([1]), JsonShape::Ecs, Origin::default()).is_err());
}

#[test]
fn nxlog_style_flat_rows() {
    // NXLog im_msvistalog rows (as in OTRF Security-Datasets): EventID and
    // Channel at the top level, Hostname, RecordNumber, and @timestamp in UTC
    // beside a local EventTime.
    let v = serde_json::json!({
        "EventTime": "2024-05-01 06:15:41", "@timestamp": "2024-05-01T10:15:41.074Z",
        "Hostname": "DC01.contoso.local", "EventID": 4768, "Channel": "Security", "RecordNumber": 1001,
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "TargetUserName": "nosuchuser", "TargetDomainName": "CONTOSO.LOCAL", "ServiceName": "krbtgt/CONTOSO.LOCAL",
        "Status": "0x6", "PreAuthType": "-", "IpAddress": "::ffff:10.0.0.66", "IpPort": "50521"
    });
    assert_eq!(json_shape(&v), Some(JsonShape::SecurityEvent));
    let e = normalize_json(&v, JsonShape::SecurityEvent, Origin::default()).expect("event");
    let mut want = expected()[0].clone();
    want.origin = Origin::default();
    assert_eq!(e, want);
}
