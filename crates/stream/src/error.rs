//! Errors of the streaming pipeline. Every message says what failed and
//! what to do.

use std::path::PathBuf;

/// Why `watch` stopped (or could not start).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A command-line specification (source, sink, duration) is malformed.
    #[error("{0}")]
    Config(String),
    /// Reading or writing a file failed.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The state directory holds a checkpoint that cannot be read.
    #[error(
        "{path}: the checkpoint cannot be read ({reason}); move it away to start over (findings may then be re-emitted)"
    )]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// A sink could not take the findings durably.
    #[error(
        "sink {sink}: {reason}; positions were not committed, so a restart resends what was not acknowledged"
    )]
    Sink {
        /// The sink as specified.
        sink: String,
        /// What went wrong.
        reason: String,
    },
    /// The Kafka client failed.
    #[error("kafka: {0}")]
    Kafka(String),
}

impl StreamError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, what: &'static str, source: std::io::Error) -> Self {
        StreamError::Io {
            path: path.into(),
            what,
            source,
        }
    }
}
