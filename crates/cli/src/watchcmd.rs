//! `idrecon watch` (owned by the streaming work).

use anyhow::{Result, bail};
use clap::Args;
use std::process::ExitCode;

/// Arguments of `idrecon watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Source: `stdin`, `file:PATH` or `kafka:…`.
    #[arg(long, default_value = "stdin")]
    pub source: String,
}

/// Runs `idrecon watch`.
pub fn watch(_a: WatchArgs) -> Result<ExitCode> {
    bail!("watch is being built")
}
