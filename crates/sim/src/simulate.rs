//! `idrecon simulate`: generate the selected scenarios and write them in the
//! selected shapes, with `labels.json`.

use crate::directory::{AD_REALM, DOMAIN, Directory};
use crate::labels::{AccountsLabel, FORMAT, Labels, ScenarioLabel, Span, TenantLabel, Unit};
use crate::record::{self, Record};
use crate::rng::Rng;
use crate::scenario::{self, Def, Gen, Spec};
use crate::shape::{Family, Shape};
use crate::time::{Spelling, fmt_ts};
use crate::write::SetWriter;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io;
use std::path::PathBuf;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Scenario names (empty: all).
    pub scenarios: Vec<String>,
    /// Output directory.
    pub out: PathBuf,
    /// PRNG seed.
    pub seed: u64,
    /// Shapes to write.
    pub shapes: Vec<Shape>,
    /// Skip shapes that carry none of a scenario's log families (set for
    /// `--shape all`); otherwise such families fall back to their default.
    pub skip_inapplicable: bool,
    /// Start of the timeline (ns).
    pub start: i64,
    /// Background scale (1.0 = 2,000 active users).
    pub scale: f64,
    /// Background days.
    pub days: u32,
}

impl SimOptions {
    /// Defaults: all scenarios, seed 1, Log Analytics NDJSON, 2024-05-01, scale 1, one day.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        SimOptions {
            scenarios: Vec::new(),
            out: out.into(),
            seed: 1,
            shapes: vec![Shape::LaNdjson],
            skip_inapplicable: false,
            start: crate::time::parse_ns(scenario::DEFAULT_START).unwrap_or(0),
            scale: 1.0,
            days: 1,
        }
    }
}

/// Version string written into labels.
pub fn generator() -> String {
    format!("idrecon simulate {}", env!("CARGO_PKG_VERSION"))
}

/// Resolves scenario names (`all` or empty = every scenario).
pub fn select(names: &[String]) -> io::Result<Vec<&'static Def>> {
    if names.is_empty() || names.iter().any(|n| n == "all") {
        return Ok(scenario::catalogue().iter().collect());
    }
    let mut out = Vec::new();
    for n in names {
        match scenario::find(n) {
            Some(d) => {
                if !out.iter().any(|x: &&Def| x.name == d.name) {
                    out.push(d);
                }
            }
            None => {
                let all: Vec<&str> = scenario::catalogue().iter().map(|d| d.name).collect();
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "unknown scenario `{n}`; scenarios are: {}, or all",
                        all.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// The directory used for `scale`: at least 2,100 users so that the attack
/// scenarios (which pick real accounts from it) do not depend on the
/// background scale below 1.
pub fn directory_for(seed: u64, scale: f64) -> Directory {
    let n = ((2100.0 * scale).round() as usize).max(2100);
    Directory::new(seed, n)
}

/// Generates one scenario's records (sorted) and its spec.
pub fn generate(
    dir: &Directory,
    def: &Def,
    index: usize,
    seed: u64,
    t0: i64,
    scale: f64,
    days: u32,
) -> (Vec<Record>, Spec) {
    let rng = Rng::derive(seed, def.name);
    let base = 1_000_000_000 + index as u64 * 10_000_000;
    let mut g = Gen::new(dir, rng, t0, base, scale, days);
    let spec = (def.build)(&mut g);
    let mut recs = g.records;
    record::sort(&mut recs);
    (recs, spec)
}

/// Log families present in records.
pub fn families(recs: &[Record]) -> BTreeSet<Family> {
    recs.iter()
        .map(|r| match r {
            Record::SignIn(_) => Family::SignIn,
            Record::Audit(_) => Family::Audit,
            Record::Win(_) => Family::Win,
        })
        .collect()
}

/// Builds a scenario's label from its spec and records.
pub fn label(def: &Def, spec: Spec, recs: &[Record]) -> ScenarioLabel {
    let first = recs.first().map_or(0, Record::time);
    let last = recs.last().map_or(0, Record::time);
    let mut events: BTreeMap<String, u64> = BTreeMap::new();
    let mut tables: BTreeSet<&'static str> = BTreeSet::new();
    for r in recs {
        *events.entry(r.count_key()).or_default() += 1;
        tables.insert(r.table());
    }
    let mut seen = HashSet::new();
    let mut sample = Vec::new();
    for p in &spec.probed {
        let k = p.to_ascii_lowercase();
        if seen.insert(k) && sample.len() < 10 {
            sample.push(p.to_string());
        }
    }
    let probed = seen.len();
    ScenarioLabel {
        name: def.name.to_string(),
        kind: def.kind.as_str().to_string(),
        title: def.title.to_string(),
        description: spec.description,
        seed_test: spec.seed_test,
        tools: spec.tools,
        mitre: spec.mitre,
        sources: tables.iter().map(|t| t.to_string()).collect(),
        source_keys: spec.source_keys,
        source_cidrs: spec.source_cidrs,
        accounts: AccountsLabel {
            probed,
            existing: spec.existing.min(probed),
            not_found: probed.saturating_sub(spec.existing),
            credential_confirmed: spec.confirmed,
            sample,
        },
        span: Span {
            start: fmt_ts(first, Spelling::Seven),
            end: fmt_ts(last, Spelling::Seven),
        },
        activity_start: fmt_ts(spec.activity_start.unwrap_or(first), Spelling::Seven),
        events,
        expect: spec.expect,
        allowlist: spec.allowlist,
        notes: spec.notes,
    }
}

/// Notes written into every labels file.
pub fn standard_notes() -> Vec<String> {
    vec![
        "Synthetic data: addresses are from documentation and benchmark ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15, 2001:db8::/32) and private 10.0.0.0/8; names are invented.".into(),
        "GetCredentialType, OneDrive and (per Secureworks) autologon probes leave no sign-in record; the simulated Entra enumeration is the ROPC token-endpoint variant that does.".into(),
        "Azure Monitor exports write about 4% of sign-ins twice (same originalRequestId), as the real export does; the other shapes write each sign-in once.".into(),
        "Graph v1.0 signIn has no userAgent; the portal CSV has second-precision timestamps. Compare findings across shapes on the fields these shapes carry.".into(),
        "Expectations with planned=true name detections of issue 5; while the catalogue lacks them, eval reports the scenario as 'no detection yet'.".into(),
    ]
}

/// Runs `simulate`: writes every selected scenario in every selected shape
/// and `labels.json`; returns the labels.
pub fn simulate(opts: &SimOptions) -> io::Result<Labels> {
    let defs = select(&opts.scenarios)?;
    let dir = directory_for(opts.seed, opts.scale);
    let tenant = dir.tenant_id.to_string();
    std::fs::create_dir_all(&opts.out)?;
    let mut scenarios = Vec::new();
    let mut units = Vec::new();
    for def in defs {
        let index = scenario::catalogue()
            .iter()
            .position(|d| d.name == def.name)
            .unwrap_or(0);
        let (recs, spec) = generate(
            &dir,
            def,
            index,
            opts.seed,
            opts.start + def.offset,
            opts.scale,
            opts.days,
        );
        let fams = families(&recs);
        let first = recs.first().map_or(opts.start, Record::time);
        let last = recs.last().map_or(opts.start, Record::time);
        for &shape in &opts.shapes {
            if opts.skip_inapplicable && !fams.iter().any(|f| shape.carries(*f)) {
                continue;
            }
            let rel = format!("{}/{}", def.name, shape.name());
            let mut w = SetWriter::new(
                &opts.out.join(&rel),
                &rel,
                shape,
                tenant.clone(),
                first,
                last,
            )?;
            w.write_batch(&recs)?;
            let files = w.finish()?;
            units.push(Unit {
                name: rel,
                shape: shape.name().to_string(),
                scenarios: vec![def.name.to_string()],
                files,
            });
        }
        scenarios.push(label(def, spec, &recs));
    }
    let labels = Labels {
        format: FORMAT,
        generator: generator(),
        seed: opts.seed,
        start: fmt_ts(opts.start, Spelling::Seven),
        scale: opts.scale,
        mode: "scenarios".into(),
        tenant: TenantLabel {
            domain: DOMAIN.into(),
            tenant_id: tenant,
            ad_realm: AD_REALM.into(),
            users: dir.users.len(),
            active_users: crate::background::active_users(&dir, opts.scale),
        },
        scenarios,
        units,
        notes: standard_notes(),
    };
    write_labels(&opts.out, &labels)?;
    write_allowlist(&opts.out, &labels)?;
    Ok(labels)
}

/// Writes `allowlist.toml`: the allowlist entries of the benign scenarios
/// in `labels` (one per false-positive class), in idrecon's format.
pub fn write_allowlist(dir: &std::path::Path, labels: &Labels) -> io::Result<()> {
    let mut text = String::from(
        "# Allowlist for the simulated false positives (written by idrecon simulate).\n# Use: idrecon eval --labels labels.json --allowlist allowlist.toml\n",
    );
    for s in &labels.scenarios {
        if let Some(h) = &s.allowlist {
            text.push_str(&format!("\n# {}: {}\n", s.name, s.title));
            text.push_str(&h.to_toml());
        }
    }
    std::fs::write(dir.join("allowlist.toml"), text)
}

/// Writes `labels.json` into `dir`.
pub fn write_labels(dir: &std::path::Path, labels: &Labels) -> io::Result<()> {
    let text = serde_json::to_string_pretty(labels).map_err(io::Error::other)?;
    std::fs::write(dir.join("labels.json"), text + "\n")
}

/// Reads a labels file.
pub fn read_labels(path: &std::path::Path) -> io::Result<Labels> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a labels file: {e}", path.display()),
        )
    })
}
