//! Integration tests of the Entra readers: every export shape of the same
//! sign-ins and audits, rejects, compression, encodings and path expansion.

mod compression;
mod evtx_checksums;
mod fast_path;
mod paths;
mod rejects;
mod shapes;
mod util;
