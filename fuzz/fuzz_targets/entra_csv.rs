//! Any bytes through `read_file`, seeded with the Entra portal and Log
//! Analytics CSV downloads (header matching, delimiter sniffing, row
//! accounting with line numbers).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    idrecon_fuzz::ingest(data, &idrecon_fuzz::options_for(data.len()));
});
