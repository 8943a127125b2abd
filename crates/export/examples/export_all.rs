//! Writes every rule × target × profile (and the packages) under a
//! directory, for the independent validators:
//! `cargo run -p idrecon-export --example export_all -- OUT`
//! then `scripts/validate-queries OUT`.
//!
//! Layout: `OUT/<profile>/<target>/<rule>.<ext>` plus package files, and
//! `OUT/hostile/…` with hostile `--set` values spliced into the rules.

use idrecon_export::{Target, compile, package};
use idrecon_rules::{Catalogue, Override, Profile};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), text)
}

fn export(
    out: &Path,
    label: &str,
    profile: Profile,
    overrides: &[Override],
) -> Result<usize, Box<dyn std::error::Error>> {
    let cat = Catalogue::load(profile, overrides)?;
    let mut n = 0;
    for t in Target::ALL {
        let dir = out.join(label).join(t.as_str());
        for r in cat.rules() {
            let q = compile(r, t, profile)?;
            write(&dir, &format!("{}.{}", r.id, t.extension()), &q.text)?;
            n += 1;
        }
        for (name, text) in package(cat.rules(), t, profile)? {
            write(&dir.join("package"), &name, &text)?;
        }
    }
    Ok(n)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: export_all OUTDIR")?;
    let out = Path::new(&out);
    let mut n = export(out, "seed", Profile::Seed, &[])?;
    n += export(out, "recommended", Profile::Recommended, &[])?;
    let hostile: Vec<Override> = [
        "sspr_enumeration.exists_reasons=it's \"quoted\" | piped \\ back\\slash `tick` // not a comment /* nor */ ``` -- # 50% _x_ *?\nnew line",
        "sspr_enumeration.activities=Reset password (self-service)\"; drop | where 1==1 //",
    ]
    .iter()
    .map(|s| s.parse())
    .collect::<Result<_, _>>()?;
    n += export(out, "hostile", Profile::Recommended, &hostile)?;
    println!("{n} queries written under {}", out.display());
    Ok(())
}
