//! Core data types of idrecon: the normalized identity [`Event`] that every
//! reader produces and every detection consumes, the [`Field`] vocabulary that
//! rules use to address event attributes, timestamp parsing, and the
//! [`Finding`] that detections emit.
//!
//! Data flows one way: sources → normalized events → engine → findings →
//! sinks. This crate holds the two hand-off types (events and findings) and
//! does no I/O.

pub mod event;
pub mod finding;
pub mod stats;
pub mod text;
pub mod time;

pub use event::{Event, EventKind, Field, Origin};
pub use finding::{Evidence, Finding, PeakWindow, Severity};
pub use stats::{FileStats, Reject};
pub use time::{Timestamp, parse_timestamp};
