//! `idrecon export`: every idrecon rule as a native query for eight SIEM
//! dialects, compiled from the same resolved [`Rule`] the engine runs.
//!
//! - [`compile`] prints one rule for one [`Target`] as a [`Query`] (text plus
//!   warnings about what the language cannot express; the same warnings are
//!   comments in the text).
//! - [`package`] wraps rules in each ecosystem's deployable format (Sentinel
//!   analytic rule YAML, Splunk `savedsearches.conf`, Elastic NDJSON, YARA-L
//!   rule files, a Sigma v2 rule set, scheduling notes for QRadar, Sumo Logic
//!   and LogScale).
//! - [`escape`] writes a string literal for a language; every value that
//!   reaches a query goes through it (or through a stricter regex form).
//! - [`duckdb`] prints a rule as a DuckDB reference query over normalized
//!   events: not a deployment target, the semantic check's oracle.
//!
//! Per-platform table and field names are data: `mappings/<target>.yml`,
//! embedded at build time, one entry per canonical field with its source.

mod aql;
mod common;
pub mod duckdb;
mod escape;
mod esql;
mod kql;
mod logscale;
mod mapping;
mod package;
pub mod pivot;
mod sigma;
mod spl;
mod sumo;
mod yaral;

pub use escape::escape;
pub use idrecon_rules::Profile;
pub use mapping::{FieldMap, FieldType, KindMap, TableMap, TargetMap, mapping};

use idrecon_rules::Rule;
use std::fmt;
use std::str::FromStr;

/// An export dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Microsoft Sentinel KQL.
    Kql,
    /// Splunk SPL.
    Spl,
    /// Elastic ES|QL.
    Esql,
    /// IBM QRadar AQL.
    Aql,
    /// Sumo Logic search language.
    Sumo,
    /// Google SecOps (Chronicle) YARA-L 2.0.
    Yaral,
    /// CrowdStrike Falcon LogScale (CQL).
    Logscale,
    /// Sigma v2 rules with correlation documents.
    Sigma,
}

impl Target {
    /// Every target, in documentation order.
    pub const ALL: [Target; 8] = [
        Target::Kql,
        Target::Spl,
        Target::Esql,
        Target::Aql,
        Target::Sumo,
        Target::Yaral,
        Target::Logscale,
        Target::Sigma,
    ];

    /// Lower-case name (`kql`, `spl`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Kql => "kql",
            Target::Spl => "spl",
            Target::Esql => "esql",
            Target::Aql => "aql",
            Target::Sumo => "sumo",
            Target::Yaral => "yaral",
            Target::Logscale => "logscale",
            Target::Sigma => "sigma",
        }
    }

    /// File extension of one exported query (`DIR/TARGET/RULE.EXT`).
    pub fn extension(self) -> &'static str {
        match self {
            Target::Sigma => "sigma.yml",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Target {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ExportError::UnknownTarget(s.to_string()))
    }
}

/// One compiled query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The query (or rule document) text.
    pub text: String,
    /// What the language cannot express exactly; each one is also a comment
    /// in `text`.
    pub warnings: Vec<String>,
}

/// Why a rule could not be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// `--target` names no known dialect.
    #[error(
        "unknown export target `{0}` (expected kql, spl, esql, aql, sumo, yaral, logscale or sigma)"
    )]
    UnknownTarget(String),
    /// The mapping for a target has no entry for a field, table or kind the
    /// rule uses: add it to `mappings/<target>.yml`.
    #[error("rule `{rule}`: {target} has no mapping for {what} (add it to mappings/{target}.yml)")]
    Unmapped {
        /// Rule id.
        rule: String,
        /// Target.
        target: Target,
        /// What is missing.
        what: String,
    },
    /// The rule uses something this target's compiler cannot express.
    #[error("rule `{rule}`: cannot export to {target}: {message}")]
    Unsupported {
        /// Rule id.
        rule: String,
        /// Target.
        target: Target,
        /// Why.
        message: String,
    },
    /// An embedded mapping file is invalid (a build-time bug).
    #[error("mappings/{file}: {message}")]
    Mapping {
        /// Mapping file name.
        file: String,
        /// Parser message.
        message: String,
    },
}

/// Compiles one resolved rule for one target. `profile` selects the output
/// conventions (the seed profile reproduces the seed's KQL operators and
/// column names).
pub fn compile(rule: &Rule, target: Target, profile: Profile) -> Result<Query, ExportError> {
    let mut cx = common::Cx::new(rule, target, profile)?;
    let text = match target {
        Target::Kql => kql::compile(&mut cx)?,
        Target::Spl => spl::compile(&mut cx)?,
        Target::Esql => esql::compile(&mut cx)?,
        Target::Aql => aql::compile(&mut cx)?,
        Target::Sumo => sumo::compile(&mut cx)?,
        Target::Yaral => yaral::compile(&mut cx)?,
        Target::Logscale => logscale::compile(&mut cx)?,
        Target::Sigma => sigma::compile(&mut cx)?,
    };
    Ok(Query {
        text,
        warnings: cx.warnings.into_inner(),
    })
}

/// Deployable artefacts for `rules` in `target`'s own format, as
/// `(file name, content)` pairs to write beside the per-rule queries
/// (`DIR/TARGET/<file name>`).
pub fn package(
    rules: &[Rule],
    target: Target,
    profile: Profile,
) -> Result<Vec<(String, String)>, ExportError> {
    package::package(rules, target, profile)
}
