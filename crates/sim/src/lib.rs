//! Labelled, deterministic telemetry for idrecon (`idrecon simulate`) and
//! scoring of findings against it (`idrecon eval`).
//!
//! The simulator writes the seed's three adversary tests, further attacks
//! (spray, MFA sweep, distributed and low-and-slow enumeration, follow-on
//! compromise), the seed's five false positives and background traffic, in
//! every input shape idrecon reads, plus a `labels.json` with the ground
//! truth. One seed gives byte-identical output.

pub mod attacks;
pub mod background;
pub mod benign;
pub mod catalog;
pub mod corpus;
pub mod directory;
pub mod eval;
pub mod labels;
pub mod out;
pub mod record;
pub mod rng;
pub mod scenario;
pub mod shape;
pub mod simulate;
pub mod time;
pub mod write;

pub use labels::Labels;
pub use shape::Shape;
pub use simulate::{SimOptions, simulate};
