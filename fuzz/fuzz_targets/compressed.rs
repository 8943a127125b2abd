//! Any bytes through `read_file` with a 1 MiB decompression cap, seeded with
//! gzip and zstd fixtures: corrupt, truncated, multi-member and bomb-like
//! compressed data must end in a file note, never in unbounded memory.
#![no_main]

use idrecon_ingest::IngestOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = IngestOptions {
        max_decompressed_bytes: 1 << 20,
        ..idrecon_fuzz::options_for(data.len())
    };
    idrecon_fuzz::ingest(data, &opts);
});
