//! Windows event XML (`wevtutil qe /f:xml`, Event Viewer exports) through
//! `idrecon_winlog::read_event_xml`, and through `read_file` (which adds the
//! UTF-8 check and the sniffing).
#![no_main]

use idrecon_core::FileStats;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut stats = FileStats::default();
        let mut n = 0u64;
        idrecon_winlog::read_event_xml(text, 0, &mut stats, &mut |e| {
            idrecon_fuzz::check_event(&e);
            n += 1;
        });
        idrecon_fuzz::check_stats(&stats, n);
    }
    idrecon_fuzz::ingest(data, &idrecon_fuzz::options_for(data.len()));
});
