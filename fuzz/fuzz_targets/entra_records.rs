//! Fuzzed records inside each Entra container: the first byte picks the
//! shape the rest is wrapped in (NDJSON lines, JSON array, Azure Monitor
//! `records` envelope, Graph `value` page, Log Analytics query API `tables`
//! rows, gzip-compressed NDJSON), so that record-level mutations reach the
//! normalizer through every container reader.
#![no_main]

use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let wrap = |pre: &[u8], post: &[u8]| [pre, body, post].concat();
    let bytes = match sel % 6 {
        0 => body.to_vec(),
        1 => wrap(b"[", b"]"),
        2 => wrap(b"{\"records\": [", b"]}"),
        3 => wrap(
            b"{\"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns\", \"value\": [",
            b"]}",
        ),
        4 => wrap(
            b"{\"tables\": [{\"name\": \"PrimaryResult\", \"columns\": [{\"name\": \"TimeGenerated\", \"type\": \"datetime\"}, {\"name\": \"UserPrincipalName\", \"type\": \"string\"}, {\"name\": \"ResultType\", \"type\": \"string\"}, {\"name\": \"IPAddress\", \"type\": \"string\"}, {\"name\": \"Status\", \"type\": \"dynamic\"}], \"rows\": [",
            b"]}]}",
        ),
        _ => {
            let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
            enc.write_all(body).expect("gzip to memory");
            enc.finish().expect("gzip to memory")
        }
    };
    idrecon_fuzz::ingest(&bytes, &idrecon_fuzz::options_for(data.len()));
});
