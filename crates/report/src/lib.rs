//! Finding sinks. Sinks know findings only: they never see events or rules.
//!
//! Attacker-controlled strings (account names, user agents, app names)
//! are escaped for each destination: control and escape sequences are
//! replaced for terminals ([`escape::terminal`]), spreadsheet formulas are
//! neutralised in CSV ([`escape::csv_cell`]), and JSON is escaped by the
//! serializer.

pub mod escape;
mod formats;

pub use formats::{Format, HuntReport, InputSummary, SuppressedRef, write_report};

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
}
