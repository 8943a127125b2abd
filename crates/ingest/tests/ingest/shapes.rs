//! The same four sign-ins and three SSPR audits in every export shape must
//! normalize to the same events.

use crate::util::{data, read, read_bytes, records, without_origin};
use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Origin, parse_timestamp};
use idrecon_ingest::IngestOptions;

fn ts(s: &str) -> idrecon_core::Timestamp {
    parse_timestamp(s).expect("fixture timestamp")
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// The four sign-ins, written out by hand from the fixture values.
fn expected_signins() -> Vec<Event> {
    let o = Origin::default();
    let mut a = Event::new(
        ts("2024-05-01T10:15:41.6195833Z"),
        EventKind::EntraSignIn,
        table::SIGNIN_LOGS,
        o,
    );
    a.user = s("nosuch.user@contoso.com");
    a.source_ip = s("203.0.113.50");
    a.result_code = s("50034");
    a.result_description = s(
        "The user account does not exist in the directory. To sign into this application, the account must be added to the directory.",
    );
    a.app = s("Azure Active Directory PowerShell");
    a.app_id = s("1b730954-1685-4b74-9bfd-dac224a7b894");
    a.resource = s("Windows Azure Active Directory");
    a.client_app = s("Mobile Apps and Desktop clients");
    a.user_agent = s("Windows-AzureAD-Authentication-Provider/1.0");
    a.auth_protocol = s("ropc");
    a.auth_requirement = s("singleFactorAuthentication");
    a.asn = s("64496");
    a.request_id = s("66ea54eb-6301-4ee5-be62-ff5a759b0100");
    a.correlation_id = s("d79f5bee-5860-4832-928f-3133e22ae912");

    let mut b = a.clone();
    b.time = ts("2024-05-01T10:15:43.027112Z");
    b.user = s("jdoe@contoso.com");
    b.result_code = s("50126");
    b.result_description =
        s("Invalid username or password or Invalid on-premise username or password.");
    b.request_id = s("0b6f4b52-2d3c-4d7e-9c1a-6f1e2a3b4c01");
    b.correlation_id = s("5e0f7d2a-1c3b-4e5f-8a9b-0c1d2e3f4a02");

    let mut c = Event::new(
        ts("2024-05-01T10:21:05Z"),
        EventKind::EntraSignIn,
        table::SIGNIN_LOGS,
        o,
    );
    c.user = s("asmith@contoso.com");
    c.source_ip = s("198.51.100.7");
    c.result_code = s("0");
    c.app = s("OfficeHome");
    c.app_id = s("4765445b-32c6-49b0-83e6-1d93765276ca");
    c.resource = s("OfficeHome");
    c.client_app = s("Browser");
    c.user_agent = s(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    );
    c.auth_protocol = s("none");
    c.auth_requirement = s("multiFactorAuthentication");
    c.asn = s("64511");
    c.request_id = s("9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e403");
    c.correlation_id = s("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c04");

    let mut d = Event::new(
        ts("2024-05-01T10:30:12.5Z"),
        EventKind::EntraSignIn,
        table::NON_INTERACTIVE,
        o,
    );
    d.user = s("jdoe@contoso.com");
    d.source_ip = s("2001:db8::25");
    d.result_code = s("0");
    d.app = s("Microsoft Office");
    d.app_id = s("d3590ed6-52b3-4102-aeff-aad2292ab01c");
    d.resource = s("Microsoft Graph");
    d.client_app = s("Mobile Apps and Desktop clients");
    d.user_agent = s("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)");
    d.auth_protocol = s("none");
    d.auth_requirement = s("singleFactorAuthentication");
    d.asn = s("64497");
    d.request_id = s("e3f4a5b6-c7d8-4e9f-a0b1-c2d3e4f5a605");
    d.correlation_id = s("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d06");
    vec![a, b, c, d]
}

/// The three SSPR audits.
fn expected_audits() -> Vec<Event> {
    let o = Origin::default();
    let sspr = |t: &str,
                act: &str,
                result: &str,
                reason: &str,
                ip: &str,
                target: &str,
                id: &str,
                corr: &str| {
        let mut e = Event::new(ts(t), EventKind::EntraAudit, table::AUDIT_LOGS, o);
        e.operation = s(act);
        e.activity = s(act);
        e.result = s(result);
        e.result_reason = s(reason);
        e.logged_by_service = s("Self-service Password Management");
        e.source_ip = s(ip);
        e.target_user = s(target);
        e.request_id = s(id);
        e.correlation_id = s(corr);
        e
    };
    vec![
        sspr(
            "2024-05-01T10:20:11.1234567Z",
            "Self-service password reset flow activity progress",
            "success",
            "User submitted their user ID",
            "203.0.113.50",
            "jdoe@contoso.com",
            "SSGM_1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a51",
            "c0ffee00-1111-4222-8333-444455556661",
        ),
        sspr(
            "2024-05-01T10:24:30Z",
            "Blocked from self-service password reset",
            "success",
            "Not applicable",
            "203.0.113.50",
            "jdoe@contoso.com",
            "SSGM_2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c62",
            "c0ffee00-1111-4222-8333-444455556662",
        ),
        sspr(
            "2024-05-01T10:26:02.5Z",
            "Reset password (self-service)",
            "failure",
            "FuzzyPolicyViolationInvalidPassword",
            "198.51.100.7",
            "asmith@contoso.com",
            "SSGM_3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d73",
            "c0ffee00-1111-4222-8333-444455556663",
        ),
    ]
}

/// Fields a shape does not carry.
#[derive(Clone, Copy)]
enum Missing {
    /// Graph v1.0 signIn: no userAgent, authenticationProtocol,
    /// authenticationRequirement, autonomousSystemNumber.
    GraphV1,
    /// Audit shapes other than Log Analytics have no resultDescription
    /// (Log Analytics' is checked on its own).
    AuditDescription,
}

/// Clears the origin and the fields `missing` says the shape lacks; an
/// empty result description (Log Analytics success rows) counts as absent.
fn comparable(mut e: Event, missing: &[Missing]) -> Event {
    e = without_origin(e);
    if e.result_description.as_deref() == Some("") {
        e.result_description = None;
    }
    // The as-written address is pinned end to end by the seed audit tests
    // (crates/cli/tests/seed_audit_cli.rs); here only the normalized one.
    e.source_ip_raw = None;
    // Sign-in descriptions legitimately differ between shapes: Log Analytics
    // keeps `ResultDescription` as written (it may be "", as Sentinel would
    // group it), the others carry `status.failureReason`. Checked separately
    // in `log_analytics_description_is_kept_as_written`.
    if e.kind == idrecon_core::EventKind::EntraSignIn {
        e.result_description = None;
    }
    for m in missing {
        match m {
            Missing::GraphV1 => {
                e.user_agent = None;
                e.auth_protocol = None;
                e.auth_requirement = None;
                e.asn = None;
            }
            Missing::AuditDescription => e.result_description = None,
        }
    }
    e
}

fn assert_same(shape: &str, got: Vec<Event>, want: Vec<Event>, missing: &[Missing]) {
    let got: Vec<Event> = got.into_iter().map(|e| comparable(e, missing)).collect();
    let want: Vec<Event> = want.into_iter().map(|e| comparable(e, missing)).collect();
    assert_eq!(got.len(), want.len(), "{shape}: event count");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{shape}");
    }
}

#[test]
fn signins_in_every_shape_normalize_identically() {
    let cases: &[(&str, &str, &[u64], &[Missing])] = &[
        (
            "la_signins.ndjson",
            "Log Analytics rows (NDJSON)",
            &[1, 2, 3, 4],
            &[],
        ),
        (
            "la_signins.ndjson.gz",
            "Log Analytics rows (NDJSON)",
            &[1, 2, 3, 4],
            &[],
        ),
        (
            "la_signins.json",
            "Log Analytics rows (JSON array)",
            &[1, 2, 3, 4],
            &[],
        ),
        (
            "la_query_api.json",
            "Log Analytics query API tables",
            &[1, 2, 3, 4],
            &[],
        ),
        (
            "graph_signins_page.json",
            "Graph signIns page",
            &[1, 2, 3, 4],
            &[],
        ),
        (
            "graph_signins_v1.ndjson",
            "Graph signIn objects (NDJSON)",
            &[1, 2, 3, 4],
            &[Missing::GraphV1],
        ),
        (
            "am_records.json",
            "Azure Monitor records envelope",
            &[1, 2, 3, 4],
            &[],
        ),
        (
            "am_records.json.zst",
            "Azure Monitor records envelope",
            &[1, 2, 3, 4],
            &[],
        ),
        (
            "am_records.ndjson",
            "Azure Monitor records (NDJSON)",
            &[1, 2, 3, 4],
            &[],
        ),
    ];
    for &(file, shape, recs, missing) in cases {
        let (report, events) = read(&data(file));
        assert_eq!(report.shape, shape, "{file}");
        assert_eq!(report.error, None, "{file}");
        assert_eq!(
            (report.stats.read, report.stats.used, report.stats.rejected),
            (4, 4, 0),
            "{file}: {:?}",
            report.stats.rejects
        );
        assert_eq!(report.stats.kinds.get("entra_signin"), Some(&4), "{file}");
        assert_eq!(records(&events), recs, "{file}");
        assert_same(file, events, expected_signins(), missing);
    }
}

#[test]
fn portal_csv_downloads_split_by_file_name() {
    let (i, mut events) = read(&data("InteractiveSignIns_2024-05-01_2024-05-02.csv"));
    assert_eq!(i.shape, "Entra portal CSV");
    assert_eq!((i.stats.read, i.stats.used), (3, 3));
    // Header on line 1, one row per line after it.
    assert_eq!(records(&events), [2, 3, 4]);
    let (n, more) = read(&data("NonInteractiveSignIns_2024-05-01_2024-05-02.csv"));
    assert_eq!(n.shape, "Entra portal CSV");
    assert_eq!(records(&more), [2]);
    assert_eq!(more[0].table, table::NON_INTERACTIVE);
    events.extend(more);
    assert_same("portal CSV", events, expected_signins(), &[]);
}

#[test]
fn audits_in_every_shape_normalize_identically() {
    let cases: &[(&str, &str, &[Missing])] = &[
        (
            "la_audit.ndjson",
            "Log Analytics rows (NDJSON)",
            &[Missing::AuditDescription],
        ),
        (
            "graph_audits_page.json",
            "Graph directoryAudits page",
            &[Missing::AuditDescription],
        ),
        (
            "am_audit_records.json",
            "Azure Monitor records envelope",
            &[Missing::AuditDescription],
        ),
    ];
    for &(file, shape, missing) in cases {
        let (report, events) = read(&data(file));
        assert_eq!(report.shape, shape, "{file}");
        assert_eq!(
            (report.stats.read, report.stats.used),
            (3, 3),
            "{file}: {:?}",
            report.stats.rejects
        );
        assert_eq!(report.stats.kinds.get("entra_audit"), Some(&3), "{file}");
        assert_eq!(records(&events), [1, 2, 3], "{file}");
        assert_same(file, events, expected_audits(), missing);
    }
    // Log Analytics keeps ResultDescription (SSPR step texts appear there too).
    let (_, la) = read(&data("la_audit.ndjson"));
    assert_eq!(
        la[0].result_description.as_deref(),
        Some("User submitted their user ID")
    );
}

#[test]
fn mixed_dialects_in_one_file() {
    let mut text = String::new();
    for f in [
        "la_signins.ndjson",
        "graph_signins_v1.ndjson",
        "am_records.ndjson",
        "la_audit.ndjson",
    ] {
        text.push_str(&std::fs::read_to_string(data(f)).expect("fixture"));
    }
    let (report, events) =
        read_bytes("mixed.ndjson", text.as_bytes(), &IngestOptions::default()).expect("reads");
    assert_eq!((report.stats.read, report.stats.used), (15, 15));
    assert_eq!(
        report.shape,
        "Log Analytics rows + Graph signIn objects + Azure Monitor records (NDJSON)"
    );
    assert_eq!(records(&events), (1..=15).collect::<Vec<u64>>());
    assert_eq!(report.stats.kinds.get("entra_signin"), Some(&12));
    assert_eq!(report.stats.kinds.get("entra_audit"), Some(&3));
}

#[test]
fn utf16_powershell_output() {
    let text = std::fs::read_to_string(data("la_signins.json")).expect("fixture");
    let mut bytes = vec![0xff, 0xfe];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let (report, events) =
        read_bytes("signins.json", &bytes, &IngestOptions::default()).expect("reads");
    assert_eq!(report.shape, "Log Analytics rows (JSON array)");
    assert_same("UTF-16", events, expected_signins(), &[]);
}

#[test]
fn single_objects_and_concatenated_documents() {
    // One pretty-printed Graph object.
    let one = r#"{
  "id": "x1",
  "createdDateTime": "2024-05-01T10:00:00Z",
  "userPrincipalName": "a@contoso.com",
  "status": {"errorCode": 50126, "failureReason": "Invalid username or password."}
}
"#;
    let (r, ev) = read_bytes("one.json", one.as_bytes(), &IngestOptions::default()).expect("reads");
    assert_eq!(r.shape, "Graph signIn objects (single JSON object)");
    assert_eq!(ev[0].result_code.as_deref(), Some("50126"));
    assert_eq!(ev[0].request_id.as_deref(), Some("x1"));

    // Event Hubs capture: one records envelope per line; records numbered
    // across the file.
    let am = std::fs::read_to_string(data("am_records.ndjson")).expect("fixture");
    let lines: Vec<&str> = am.lines().collect();
    let capture = format!(
        "{{\"records\":[{},{}]}}\n{{\"records\":[{}]}}\n{{\"records\":[{}]}}\n",
        lines[0], lines[1], lines[2], lines[3]
    );
    let (r, ev) = read_bytes(
        "capture.json",
        capture.as_bytes(),
        &IngestOptions::default(),
    )
    .expect("reads");
    assert_eq!(r.shape, "Azure Monitor records envelope");
    assert_eq!(records(&ev), [1, 2, 3, 4]);
    assert_same("capture", ev, expected_signins(), &[]);
}

#[test]
fn empty_inputs() {
    for (name, bytes) in [
        ("empty.json", &b""[..]),
        ("blank.ndjson", &b" \r\n\n\t\n"[..]),
        ("bom.csv", &b"\xef\xbb\xbf"[..]),
        ("empty-array.json", &b"[]"[..]),
        ("empty-page.json", &b"{\"value\":[]}"[..]),
    ] {
        let (r, ev) = read_bytes(name, bytes, &IngestOptions::default()).expect("reads");
        assert!(ev.is_empty(), "{name}");
        assert_eq!(r.stats.read, 0, "{name}");
        assert_eq!(r.error, None, "{name}");
    }
    let (r, _) = read_bytes("empty.json", b"", &IngestOptions::default()).expect("reads");
    assert_eq!(r.shape, "empty file");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"").expect("gzip");
    let (r, _) = read_bytes(
        "empty.gz",
        &gz.finish().expect("gzip"),
        &IngestOptions::default(),
    )
    .expect("reads");
    assert_eq!(
        (r.shape.as_str(), r.stats.read, r.error),
        ("empty file", 0, None)
    );
}

#[test]
fn service_principal_and_managed_identity_are_counted_not_user_signins() {
    let text = concat!(
        r#"{"TimeGenerated":"2024-05-01T10:00:00Z","Type":"AADServicePrincipalSignInLogs","ServicePrincipalName":"app1","ResultType":"0"}"#,
        "\n",
        r#"{"TimeGenerated":"2024-05-01T10:00:01Z","Type":"AADManagedIdentitySignInLogs","ServicePrincipalName":"vm1","ResultType":"0"}"#,
        "\n",
        r#"{"time":"2024-05-01T10:00:02Z","category":"ServicePrincipalSignInLogs","resultType":"7000215","properties":{"servicePrincipalName":"app2"}}"#,
        "\n",
        r#"{"time":"2024-05-01T10:00:03Z","category":"ManagedIdentitySignInLogs","resultType":"0","properties":{}}"#,
        "\n",
    );
    let (r, ev) =
        read_bytes("sp.ndjson", text.as_bytes(), &IngestOptions::default()).expect("reads");
    assert_eq!(
        r.stats.kinds.get("entra_service_principal_signin"),
        Some(&2)
    );
    assert_eq!(r.stats.kinds.get("entra_managed_identity_signin"), Some(&2));
    assert_eq!(r.stats.kinds.get("entra_signin"), None);
    assert_eq!(ev[2].table, table::SERVICE_PRINCIPAL);
    assert_eq!(ev[2].result_code.as_deref(), Some("7000215"));
    assert_eq!(ev[3].table, table::MANAGED_IDENTITY);
}

#[test]
fn csv_variants() {
    // Older header names, semicolons, a repeated header (first wins), CRLF.
    let text = "CreatedDateTime;UserPrincipalName;IPAddress;ErrorCode;FailureReason;UserPrincipalName\r\n\
                5/1/2024 10:15:41 AM;first@contoso.com;203.0.113.9;50126;Invalid username or password.;second@contoso.com\r\n";
    let (r, ev) =
        read_bytes("export.csv", text.as_bytes(), &IngestOptions::default()).expect("reads");
    assert_eq!(r.shape, "Entra portal CSV");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].user.as_deref(), Some("first@contoso.com"));
    assert_eq!(ev[0].result_code.as_deref(), Some("50126"));
    assert_eq!(ev[0].time, ts("2024-05-01T10:15:41Z"));
    assert_eq!(ev[0].table, table::SIGNIN_LOGS);

    // Log Analytics CSV export: JSON Status, Type column.
    let text = "TimeGenerated [UTC],Type,UserPrincipalName,ResultType,Status\n\
                \"2024-05-01T10:30:12.5Z\",AADNonInteractiveUserSignInLogs,jdoe@contoso.com,,\"{\"\"errorCode\"\":50140,\"\"failureReason\"\":\"\"Keep me signed in interrupt\"\"}\"\n";
    let (r, ev) =
        read_bytes("query_data.csv", text.as_bytes(), &IngestOptions::default()).expect("reads");
    assert_eq!(r.shape, "Log Analytics CSV");
    assert_eq!(ev[0].table, table::NON_INTERACTIVE);
    assert_eq!(ev[0].result_code.as_deref(), Some("50140"));
    assert_eq!(
        ev[0].result_description.as_deref(),
        Some("Keep me signed in interrupt")
    );

    // A CSV that is not a sign-in download.
    let (r, ev) =
        read_bytes("other.csv", b"name,size\na,1\n", &IngestOptions::default()).expect("reads");
    assert!(ev.is_empty());
    assert!(
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("no timestamp column")),
        "{:?}",
        r.error
    );
}

#[test]
fn windows_event_xml_goes_to_winlog() {
    let xml = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>4771</EventID><Channel>Security</Channel><Computer>DC01.contoso.local</Computer><TimeCreated SystemTime="2024-05-01T10:15:41.495Z"/></System><EventData><Data Name="TargetUserName">jdoe</Data><Data Name="Status">0x18</Data><Data Name="IpAddress">::ffff:10.0.0.66</Data></EventData></Event>"#;
    let (r, _) = read_bytes("dc01.xml", xml.as_bytes(), &IngestOptions::default()).expect("reads");
    assert_eq!(r.shape, "Windows event XML");
    assert_eq!(r.stats.read, 1);
}

/// Optional: the Log Analytics AuditLogs rows inside a public sample zip
/// (read in place; skipped when the shared data is absent).
#[test]
fn security_datasets_aad_audit_events() {
    let zip = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/Security-Datasets/datasets/compound/GoldenSAMLADFSMailAccess/AADAuditEvents.Zip");
    let Ok(bytes) = std::fs::read(&zip) else {
        eprintln!("skipped: {} not present", zip.display());
        return;
    };
    // A one-member zip: local header, then deflated data.
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u32_at = |o: usize| {
        u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
    };
    assert_eq!(u32_at(0), 0x0403_4b50, "zip local header");
    assert_eq!(u16_at(8), 8, "deflate");
    let start = 30 + u16_at(26) + u16_at(28);
    let deflated = &bytes[start..start + u32_at(18)];
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::DeflateDecoder::new(deflated), &mut json)
        .expect("inflate");

    let (r, ev) =
        read_bytes("AADAuditEvents.json", &json, &IngestOptions::default()).expect("reads");
    assert_eq!(r.shape, "Log Analytics rows (NDJSON)");
    assert_eq!(
        (r.stats.read, r.stats.used, r.stats.rejected),
        (4, 4, 0),
        "{:?}",
        r.stats.rejects
    );
    assert!(ev.iter().all(|e| e.kind == EventKind::EntraAudit));
    // Kept exactly as written, trailing space included.
    assert_eq!(
        ev[0].operation.as_deref(),
        Some("Update application – Certificates and secrets management ")
    );
    assert_eq!(ev[0].logged_by_service.as_deref(), Some("Core Directory"));
    assert_eq!(ev[0].result.as_deref(), Some("success"));
    assert_eq!(ev[0].source_ip, None); // initiatedBy.user.ipAddress is null
    assert_eq!(ev[0].target_user, None); // the target is an application
    assert_eq!(ev[0].time, ts("2021-08-02T13:29:25.983Z"));
    assert_eq!(ev[0].request_id, ev[1].request_id); // the sample repeats a row
    assert_eq!(
        ev[3].operation.as_deref(),
        Some("Add delegated permission grant")
    );
}

#[test]
fn log_analytics_description_is_kept_as_written() {
    // Row 2 has `ResultDescription: ""` and the reason only in `Status`:
    // Sentinel groups it under "" (the seed's group key), so must we.
    let (_, events) = read(&data("la_signins.ndjson"));
    assert_eq!(events[1].result_code.as_deref(), Some("50126"));
    assert_eq!(events[1].result_description.as_deref(), Some(""));
}
