//! Finding sinks: table, JSON, NDJSON, CSV.
