//! Windows JSON records (Winlogbeat / Elastic Agent ECS, Sentinel
//! `SecurityEvent` rows with their `EventData` XML, `evtx_dump` JSON): shape
//! recognition and normalization of the value (or of each element of an
//! array), then the same bytes through `read_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn one(v: &Value) {
    if let Some(shape) = idrecon_winlog::json_shape(v)
        && let Ok(e) = idrecon_winlog::normalize_json(v, shape, Default::default())
    {
        idrecon_fuzz::check_event(&e);
    }
}

fuzz_target!(|data: &[u8]| {
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Array(items)) => items.iter().for_each(one),
        Ok(v) => one(&v),
        Err(_) => {}
    }
    idrecon_fuzz::ingest(data, &idrecon_fuzz::options_for(data.len()));
});
