//! Finding sinks. Sinks know findings only: they never see events or rules
//! (the report carries the little rule metadata it shows, [`RuleMeta`]).
//!
//! Formats: terminal table, JSON, NDJSON, CSV, a self-contained HTML report
//! with inline SVG charts ([`html`]) and OCSF Detection Findings ([`ocsf`]).
//! Before writing, the caller may replace account names with keyed
//! pseudonyms ([`redact`]) and attach an investigation guide to every
//! finding ([`guide`]).
//!
//! Attacker-controlled strings (account names, user agents, app names)
//! are escaped for each destination: control and escape sequences are
//! replaced for terminals ([`escape::terminal`]), spreadsheet formulas are
//! neutralised in CSV ([`escape::csv_cell`]), markup is escaped in HTML and
//! SVG ([`escape::html`]), and JSON is escaped by the serializer.

pub mod escape;
mod formats;
pub mod guide;
pub mod html;
pub mod mitre;
pub mod ocsf;
pub mod redact;

pub use formats::{Format, HuntReport, InputSummary, RuleMeta, SuppressedRef, write_report};

/// Errors writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The output could not be written.
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
    /// JSON serialization failed.
    #[error("cannot serialize the report: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV serialization failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The HTML template failed to render.
    #[error("cannot render the HTML report: {0}")]
    Html(String),
}
