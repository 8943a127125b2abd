//! Any bytes as an input file through `idrecon_ingest::read_file`: shape
//! sniffing, NDJSON / JSON document / envelope readers, normalization.
//! Seeds: every Entra JSON fixture (NDJSON, arrays, `records`, `value`,
//! `tables`, single objects).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    idrecon_fuzz::ingest(data, &idrecon_fuzz::options_for(data.len()));
});
