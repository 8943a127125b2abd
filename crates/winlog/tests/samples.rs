//! The public EVTX samples in `../shared/data` (see its SOURCES.md), read
//! in place. The expected numbers below are the ones SOURCES.md gives; they
//! were obtained independently of this crate, with the Python bindings of
//! the `evtx` parser (pyevtx-rs 0.14.0), not with this code.

mod common;

use common::{read_evtx, shared_data};
use idrecon_core::Event;
use std::collections::{BTreeMap, BTreeSet};

struct Expect {
    path: &'static str,
    records: u64,
    /// Events per listed ID.
    ids: &'static [(&'static str, u64)],
    /// Records of IDs SOURCES.md does not tally.
    other: u64,
    /// (event id, Status, SubStatus, count) for every event of that ID.
    statuses: &'static [(&'static str, &'static str, Option<&'static str>, u64)],
    /// (event id, distinct TargetUserName count, some of the names).
    users: &'static [(&'static str, usize, &'static [&'static str])],
    /// First and last event time, to the second (UTC), or just the date.
    span: (&'static str, &'static str),
}

const SAMPLES: &[Expect] = &[
    Expect {
        path: "EVTX-ATTACK-SAMPLES/Credential Access/kerberos_pwd_spray_4771.evtx",
        records: 12,
        ids: &[("4768", 9), ("4771", 2)],
        other: 1,
        statuses: &[
            ("4768", "0x6", None, 7),
            ("4768", "0x0", None, 2),
            ("4771", "0x18", None, 2),
        ],
        users: &[
            (
                "4768",
                8,
                &["HD01", "HD02", "admin", "admin02", "bob", "normal"],
            ),
            ("4771", 2, &["Administrator", "backdoor"]),
        ],
        span: ("2020-07-22T20:29:27", "2020-07-22T20:29:36"),
    },
    Expect {
        path: "EVTX-ATTACK-SAMPLES/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx",
        records: 4,
        ids: &[("4625", 1), ("4624", 3)],
        other: 0,
        statuses: &[("4625", "0xc000006d", Some("0xc000006a"), 1)],
        users: &[("4625", 1, &["IEUser"])],
        span: ("2020-09-09", "2020-09-09"),
    },
    Expect {
        path: "EVTX-ATTACK-SAMPLES/Discovery/4799_remote_local_groups_enumeration.evtx",
        records: 5,
        ids: &[("4799", 5)],
        other: 0,
        statuses: &[],
        users: &[],
        span: ("2023-01-24", "2023-01-24"),
    },
    Expect {
        path: "EVTX-ATTACK-SAMPLES/Discovery/discovery_local_user_or_group_windows_security_4799_4798.evtx",
        records: 3,
        ids: &[("4798", 2), ("4799", 1)],
        other: 0,
        statuses: &[],
        users: &[],
        span: ("2019-08-05", "2019-08-05"),
    },
    Expect {
        path: "hayabusa-sample-evtx/DeepBlueCLI/smb-password-guessing-security.evtx",
        records: 3561,
        ids: &[("4625", 3561)],
        other: 0,
        statuses: &[
            ("4625", "0xc000006d", Some("0xc000006a"), 3558),
            ("4625", "0xc000006d", Some("0xc0000064"), 1),
            ("4625", "0xc000006e", Some("0xc0000072"), 2),
        ],
        users: &[("4625", 2, &["Administrator", "JcDfcZTc"])],
        span: ("2016-09-19T16:50:06", "2016-09-19T16:52:49"),
    },
    Expect {
        path: "hayabusa-sample-evtx/DeepBlueCLI/password-spray.evtx",
        records: 295,
        ids: &[("4648", 294), ("4625", 0)],
        other: 1,
        statuses: &[],
        users: &[],
        span: ("2019-04-30T19:27:00", "2019-04-30T19:32:17"),
    },
    Expect {
        path: "hayabusa-sample-evtx/EVTX-to-MITRE-Attack/TA0006-Credential Access/T1110.xxx-Brut force/ID4625-OpenSSH brutforce with valid users.evtx",
        records: 11,
        ids: &[("4625", 5), ("4624", 2), ("4648", 2)],
        other: 2,
        statuses: &[("4625", "0xc000006d", Some("0xc000006a"), 5)],
        users: &[("4625", 1, &["admmig@offsec.lan"])],
        span: ("2021-05-21", "2021-05-21"),
    },
    Expect {
        path: "hayabusa-sample-evtx/EVTX-to-MITRE-Attack/TA0006-Credential Access/T1110.xxx-Brut force/ID4771-Kerberos brutforce with valid user.evtx",
        records: 54,
        ids: &[("4771", 54)],
        other: 0,
        statuses: &[("4771", "0x18", None, 54)],
        users: &[("4771", 1, &["admin-hacker"])],
        span: ("2021-12-02T14:54:21", "2021-12-02T14:54:37"),
    },
    Expect {
        path: "hayabusa-sample-evtx/EVTX-to-MITRE-Attack/TA0006-Credential Access/T1558-Steal or Forge Kerberos Tickets/ID4768-Kerberos AS-REP Roasting.evtx",
        records: 1,
        ids: &[("4768", 1)],
        other: 0,
        statuses: &[("4768", "0x0", None, 1)],
        users: &[("4768", 1, &["admin-test"])],
        span: ("2021-05-26", "2021-05-26"),
    },
    Expect {
        path: "hayabusa-sample-evtx/YamatoSecurity/CredentialAccess/T1558.004_StealOrForgeKerberosTicketsAS-REP-Roasting_Security.evtx",
        records: 43,
        ids: &[("4768", 1), ("4624", 13)],
        other: 29,
        statuses: &[("4768", "0x0", None, 1)],
        users: &[("4768", 1, &["Alice"])],
        span: ("2021-04-29", "2021-04-29"),
    },
];

fn read_sample(rel: &str) -> Option<Vec<Event>> {
    let dir = shared_data()?;
    let bytes = std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert!(idrecon_winlog::is_evtx(&bytes), "{rel}");
    let (events, stats) = read_evtx(bytes);
    assert_eq!(stats.rejected, 0, "{rel}: {:?}", stats.rejects);
    Some(events)
}

#[test]
fn sample_counts_match_sources_md() {
    let Some(dir) = shared_data() else { return };
    for x in SAMPLES {
        let bytes = std::fs::read(dir.join(x.path)).unwrap_or_else(|e| panic!("{}: {e}", x.path));
        let (events, stats) = read_evtx(bytes);
        assert_eq!(stats.read, x.records, "{}: records read", x.path);
        assert_eq!(
            stats.used, x.records,
            "{}: records used ({:?})",
            x.path, stats.rejects
        );
        assert_eq!(
            stats.kinds.get("windows_security"),
            Some(&x.records),
            "{}",
            x.path
        );

        let mut by_id: BTreeMap<&str, u64> = BTreeMap::new();
        for e in &events {
            *by_id
                .entry(e.event_id.as_deref().unwrap_or(""))
                .or_default() += 1;
        }
        let mut listed = 0;
        for (id, n) in x.ids {
            assert_eq!(
                by_id.get(id).copied().unwrap_or(0),
                *n,
                "{}: events with ID {id}",
                x.path
            );
            listed += n;
        }
        assert_eq!(x.records - listed, x.other, "{}: other events", x.path);

        let mut by_status: BTreeMap<(&str, &str, Option<&str>), u64> = BTreeMap::new();
        for e in &events {
            if let (Some(id), Some(st)) = (e.event_id.as_deref(), e.result_code.as_deref()) {
                *by_status
                    .entry((id, st, e.sub_status.as_deref()))
                    .or_default() += 1;
            }
        }
        for (id, st, sub, n) in x.statuses {
            assert_eq!(
                by_status.get(&(*id, *st, *sub)).copied().unwrap_or(0),
                *n,
                "{}: {id} {st} {sub:?}",
                x.path
            );
        }
        // The listed statuses are all there is for those IDs.
        for (id, total) in x.ids {
            let listed: u64 = x.statuses.iter().filter(|s| s.0 == *id).map(|s| s.3).sum();
            if listed > 0 {
                assert_eq!(listed, *total, "{}: statuses of {id}", x.path);
            }
        }

        for (id, distinct, some) in x.users {
            let users: BTreeSet<&str> = events
                .iter()
                .filter(|e| e.event_id.as_deref() == Some(id))
                .filter_map(|e| e.user.as_deref())
                .collect();
            assert_eq!(
                users.len(),
                *distinct,
                "{}: distinct users on {id}: {users:?}",
                x.path
            );
            for u in *some {
                assert!(users.contains(u), "{}: user {u} on {id}: {users:?}", x.path);
            }
        }

        let first = events
            .iter()
            .map(|e| e.time)
            .min()
            .map(|t| t.to_string())
            .unwrap_or_default();
        let last = events
            .iter()
            .map(|e| e.time)
            .max()
            .map(|t| t.to_string())
            .unwrap_or_default();
        assert!(
            first.starts_with(x.span.0),
            "{}: first event {first}",
            x.path
        );
        assert!(last.starts_with(x.span.1), "{}: last event {last}", x.path);

        // Records are numbered 1..=n in file order, each EventRecordID once.
        let numbers: Vec<u64> = events.iter().map(|e| e.origin.record).collect();
        assert_eq!(numbers, (1..=x.records).collect::<Vec<_>>(), "{}", x.path);
        assert!(events.iter().all(|e| e.origin.file == 7));
        let ids: BTreeSet<&str> = events
            .iter()
            .filter_map(|e| e.request_id.as_deref())
            .collect();
        assert_eq!(ids.len() as u64, x.records, "{}: EventRecordIDs", x.path);
    }
}

#[test]
fn ipv4_mapped_addresses_come_out_as_ipv4() {
    // kerberos_pwd_spray_4771.evtx writes 172.16.66.1 both plain and as
    // ::ffff:172.16.66.1; the two ID47xx samples write only the mapped form.
    for (rel, ip) in [
        (
            "EVTX-ATTACK-SAMPLES/Credential Access/kerberos_pwd_spray_4771.evtx",
            "172.16.66.1",
        ),
        (
            "hayabusa-sample-evtx/EVTX-to-MITRE-Attack/TA0006-Credential Access/T1110.xxx-Brut force/ID4771-Kerberos brutforce with valid user.evtx",
            "10.23.123.11",
        ),
        (
            "hayabusa-sample-evtx/EVTX-to-MITRE-Attack/TA0006-Credential Access/T1558-Steal or Forge Kerberos Tickets/ID4768-Kerberos AS-REP Roasting.evtx",
            "10.23.23.9",
        ),
    ] {
        let Some(events) = read_sample(rel) else {
            return;
        };
        let kerberos: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e.event_id.as_deref(), Some("4768" | "4771")))
            .collect();
        assert!(!kerberos.is_empty(), "{rel}");
        for e in kerberos {
            assert_eq!(e.source_ip.as_deref(), Some(ip), "{rel}: {e:?}");
        }
    }
}

#[test]
fn kerberos_spray_fields() {
    let Some(events) =
        read_sample("EVTX-ATTACK-SAMPLES/Credential Access/kerberos_pwd_spray_4771.evtx")
    else {
        return;
    };
    let miss = events
        .iter()
        .find(|e| e.event_id.as_deref() == Some("4768") && e.user.as_deref() == Some("HD01"))
        .expect("HD01 4768");
    assert_eq!(miss.result_code.as_deref(), Some("0x6"));
    assert_eq!(miss.domain.as_deref(), Some("THREEBEESCO.COM"));
    assert_eq!(miss.resource.as_deref(), Some("krbtgt/THREEBEESCO.COM"));
    assert_eq!(miss.pre_auth_type, None, "PreAuthType `-` is absent");
    assert_eq!(
        miss.host.as_deref(),
        Some("01566s-win16-ir.threebeesco.com")
    );
    assert_eq!(miss.request_id.as_deref(), Some("887107"));
    assert_eq!(miss.time.to_string(), "2020-07-22T20:29:36.4148271Z");
    let bad_pw = events
        .iter()
        .find(|e| e.event_id.as_deref() == Some("4771"))
        .expect("4771");
    assert_eq!(bad_pw.pre_auth_type.as_deref(), Some("2"));
}

#[test]
fn smb_guessing_logon_fields() {
    let Some(events) =
        read_sample("hayabusa-sample-evtx/DeepBlueCLI/smb-password-guessing-security.evtx")
    else {
        return;
    };
    let e = events
        .iter()
        .find(|e| e.sub_status.as_deref() == Some("0xc0000064"))
        .expect("the unknown-user 4625");
    assert_eq!(e.user.as_deref(), Some("JcDfcZTc"));
    assert_eq!(e.source_ip.as_deref(), Some("192.168.198.149"));
    assert_eq!(e.workstation.as_deref(), Some("6hgtmVlrrFuWtO65"));
    assert_eq!(e.logon_type.as_deref(), Some("3"));
    assert_eq!(e.app.as_deref(), Some("NTLM"));
    assert_eq!(e.result_description.as_deref(), Some("%%2313"));
    assert_eq!(e.host.as_deref(), Some("DESKTOP-M5SN04R"));
    assert_eq!(e.domain.as_deref(), Some("."));
}

/// The `evtx` crate's own JSON of the samples (what `evtx_dump -o jsonl`
/// writes, with and without `--separate-json-attributes`), read back as
/// `JsonShape::EvtxDump`, gives the same events as reading the EVTX.
#[test]
fn evtx_dump_json_of_the_samples_matches_the_evtx_reader() {
    use idrecon_winlog::{JsonShape, json_shape, normalize_json};
    let Some(dir) = shared_data() else { return };
    for rel in [
        "EVTX-ATTACK-SAMPLES/Credential Access/kerberos_pwd_spray_4771.evtx",
        "EVTX-ATTACK-SAMPLES/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx",
        "hayabusa-sample-evtx/YamatoSecurity/CredentialAccess/T1558.004_StealOrForgeKerberosTicketsAS-REP-Roasting_Security.evtx",
    ] {
        let path = dir.join(rel);
        let (want, _) = read_evtx(std::fs::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}")));
        for separate in [false, true] {
            let settings = evtx::ParserSettings::new().separate_json_attributes(separate);
            let mut parser = evtx::EvtxParser::from_path(&path)
                .expect("opens")
                .with_configuration(settings);
            let got: Vec<Event> = parser
                .records_json_value()
                .map(|r| {
                    let v = r.expect("renders").data;
                    assert_eq!(json_shape(&v), Some(JsonShape::EvtxDump), "{rel}");
                    normalize_json(&v, JsonShape::EvtxDump, Default::default()).expect("normalizes")
                })
                .collect();
            assert_eq!(got.len(), want.len(), "{rel}");
            for (g, w) in got.iter().zip(&want) {
                let mut g = g.clone();
                g.origin = w.origin;
                assert_eq!(&g, w, "{rel} (separate attributes: {separate})");
            }
        }
    }
}
