//! `idrecon export`: the rule catalogue as native SIEM queries.

use anyhow::{Context, Result, bail};
use clap::Args;
use idrecon_export::{Target, compile, package};
use idrecon_rules::{Override, Profile};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `idrecon export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Target dialect: kql, spl, esql, aql, sumo, yaral, logscale, sigma, or all.
    #[arg(long, default_value = "kql")]
    pub target: String,
    /// Export only this rule (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Rule profile.
    #[arg(long, default_value = "recommended", value_parser = |s: &str| s.parse::<Profile>())]
    pub profile: Profile,
    /// Override a rule parameter (as for `hunt`).
    #[arg(long = "set", value_name = "K=V", value_parser = |s: &str| s.parse::<Override>().map_err(|e| e.to_string()))]
    pub sets: Vec<Override>,
    /// Also write deployable artefacts (Sentinel analytic rule YAML, Splunk
    /// savedsearches.conf, Elastic rule NDJSON, Chronicle YARA-L, Sigma rule
    /// set, scheduling notes); needs --out.
    #[arg(long)]
    pub package: bool,
    /// Write `DIR/TARGET/RULE.EXT` (and packages beside them) instead of
    /// printing to standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn targets(spec: &str) -> Result<Vec<Target>> {
    if spec == "all" {
        return Ok(Target::ALL.to_vec());
    }
    spec.split(',')
        .map(|t| {
            t.trim().parse::<Target>().map_err(|_| {
                anyhow::anyhow!(
                    "unknown target `{t}`: use kql, spl, esql, aql, sumo, yaral, logscale, sigma or all"
                )
            })
        })
        .collect()
}

/// Runs `idrecon export`.
pub fn export(a: ExportArgs) -> Result<ExitCode> {
    let targets = targets(&a.target)?;
    if a.package && a.out.is_none() {
        bail!("--package writes files: give --out DIR");
    }
    let cat = crate::pipeline::load_catalogue(a.profile, &a.sets, &a.rules)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut written = 0usize;
    for t in &targets {
        for r in cat.rules() {
            let q = compile(r, *t, a.profile)
                .with_context(|| format!("rule `{}` cannot be exported to {t}", r.id))?;
            for w in &q.warnings {
                eprintln!("{} ({t}): limitation: {w}", r.id);
            }
            match &a.out {
                Some(dir) => {
                    let d = dir.join(t.as_str());
                    std::fs::create_dir_all(&d)
                        .with_context(|| format!("cannot create {}", d.display()))?;
                    let p = d.join(format!("{}.{}", r.id, t.extension()));
                    std::fs::write(&p, &q.text)
                        .with_context(|| format!("cannot write {}", p.display()))?;
                    written += 1;
                }
                None => {
                    if targets.len() > 1 || cat.rules().len() > 1 {
                        writeln!(out, "// ===== {} — {t} ({} profile) =====", r.id, a.profile)?;
                    }
                    out.write_all(q.text.as_bytes())?;
                    writeln!(out)?;
                }
            }
        }
        if let (true, Some(dir)) = (a.package, &a.out) {
            for (name, text) in package(cat.rules(), *t, a.profile)? {
                let p = dir.join(t.as_str()).join(&name);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&p, text)
                    .with_context(|| format!("cannot write {}", p.display()))?;
                written += 1;
            }
        }
    }
    if let Some(dir) = &a.out {
        eprintln!("wrote {written} file(s) under {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
