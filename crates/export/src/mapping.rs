//! Per-platform mapping data (`mappings/<target>.yml`), embedded at build
//! time: canonical event kinds → tables / indices / log sources, canonical
//! fields → the platform's field names, each with a source citation.

use crate::{ExportError, Target};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One platform's mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetMap {
    /// Target name (`kql`, …).
    pub target: String,
    /// Platform description.
    pub platform: String,
    /// Per canonical event kind (`entra_signin`, `entra_audit`, `windows_security`).
    pub kinds: BTreeMap<String, KindMap>,
}

/// Tables and fields of one event kind on one platform.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindMap {
    /// Canonical table name → where the platform keeps those events.
    pub tables: BTreeMap<String, TableMap>,
    /// Canonical field name → platform field.
    pub fields: BTreeMap<String, FieldMap>,
}

/// Where one canonical table lives on a platform.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMap {
    /// Table, index pattern, source expression or log type.
    pub from: String,
    /// Extra condition (platform syntax) selecting this table's events.
    #[serde(default)]
    pub filter: Option<String>,
    /// Where the name comes from.
    pub source: String,
}

/// Value type of a platform field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text (quoted literals).
    #[default]
    String,
    /// Integer (unquoted literals).
    Int,
}

/// One canonical field on one platform.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    /// The field (or alias) name the query uses.
    pub name: String,
    /// Expression computing `name` (platform syntax), when it is derived.
    #[serde(default)]
    pub expr: Option<String>,
    /// Raw columns `expr` reads (KQL projections).
    #[serde(default)]
    pub columns: Vec<String>,
    /// JSON path to extract into `name` (Sumo Logic `json` operator).
    #[serde(default)]
    pub json: Option<String>,
    /// Value type.
    #[serde(default, rename = "type")]
    pub ty: FieldType,
    /// Compare case-insensitively (the engine normalizes the value's case).
    #[serde(default)]
    pub case_insensitive: bool,
    /// What is approximated when a rule uses this field (becomes a query
    /// warning).
    #[serde(default)]
    pub warn: Option<String>,
    /// Where the name comes from.
    pub source: String,
}

macro_rules! files {
    ($($t:ident => $f:literal),* $(,)?) => {
        fn text_of(t: Target) -> (&'static str, &'static str) {
            match t { $(Target::$t => ($f, include_str!(concat!("../../../mappings/", $f)))),* }
        }
    };
}

files! {
    Kql => "kql.yml",
    Spl => "spl.yml",
    Esql => "esql.yml",
    Aql => "aql.yml",
    Sumo => "sumo.yml",
    Yaral => "yaral.yml",
    Logscale => "logscale.yml",
    Sigma => "sigma.yml",
}

fn parse(t: Target) -> Result<TargetMap, ExportError> {
    let (file, text) = text_of(t);
    let mut m: TargetMap = serde_saphyr::from_str(text).map_err(|e| ExportError::Mapping {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    if m.target != t.as_str() {
        return Err(ExportError::Mapping {
            file: file.to_string(),
            message: format!("`target: {}` does not match the file", m.target),
        });
    }
    for (kind, k) in &m.kinds {
        let cited = k.tables.values().all(|t| !t.source.trim().is_empty())
            && k.fields.values().all(|f| !f.source.trim().is_empty());
        if !cited {
            return Err(ExportError::Mapping {
                file: file.to_string(),
                message: format!("kind `{kind}`: every table and field needs a `source`"),
            });
        }
    }
    // `source_ip_raw` (the address exactly as the log wrote it, which the
    // seed rules group by) is what every platform column holds: the same
    // field as `source_ip` unless a mapping says otherwise.
    for k in m.kinds.values_mut() {
        if let (false, Some(ip)) = (
            k.fields.contains_key("source_ip_raw"),
            k.fields.get("source_ip").cloned(),
        ) {
            k.fields.insert("source_ip_raw".into(), ip);
        }
    }
    Ok(m)
}

/// The parsed mapping of a target (parsed once, then shared).
pub fn mapping(t: Target) -> Result<&'static TargetMap, ExportError> {
    static CACHE: OnceLock<Vec<Result<TargetMap, ExportError>>> = OnceLock::new();
    let all = CACHE.get_or_init(|| Target::ALL.iter().map(|t| parse(*t)).collect());
    let i = Target::ALL.iter().position(|x| *x == t).unwrap_or(0);
    all[i].as_ref().map_err(Clone::clone)
}
