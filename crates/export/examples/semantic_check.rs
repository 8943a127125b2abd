//! Inputs of the semantic check (`scripts/semantic-check`): the same
//! events and the same resolved rules for DuckDB as for `idrecon hunt`.
//!
//! - `semantic_check events OUT.ndjson PATH…` reads the inputs with the
//!   engine's own readers (`idrecon_ingest::read_all`) and writes one
//!   normalized event per line: `time_ns` (Unix nanoseconds), `kind`,
//!   `table`, `file`, `record` and every event field by its rule-file name
//!   (`null` when absent), with the derived `source_subnet` and `hour`;
//!   and `OUT.ndjson.load.sql`, the DuckDB statement that loads them as
//!   table `events`.
//! - `semantic_check queries OUTDIR [--profile P] [--set K=V]… [--rule ID]…`
//!   compiles every rule of the catalogue (after the overrides) with
//!   [`idrecon_export::duckdb::compile`] into `OUTDIR/<rule>.sql`.

use idrecon_core::Event;
use idrecon_rules::{Catalogue, Override, Profile};
use serde_json::{Map, Value};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn event_json(ev: &Event) -> Value {
    let mut m = Map::new();
    let ns = ev.time.as_nanosecond();
    let ns = i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX });
    m.insert("time_ns".into(), Value::from(ns));
    m.insert("kind".into(), Value::from(ev.kind.as_str()));
    m.insert("table".into(), Value::from(ev.table));
    m.insert("file".into(), Value::from(ev.origin.file));
    m.insert("record".into(), Value::from(ev.origin.record));
    for f in idrecon_export::duckdb::stored_fields() {
        m.insert(f.name().into(), ev.get(f).map_or(Value::Null, Value::from));
    }
    Value::Object(m)
}

fn events(out: &Path, paths: &[PathBuf]) -> Res<()> {
    let files = idrecon_ingest::expand_paths(paths)?;
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    let mut err: Option<std::io::Error> = None;
    let mut n = 0u64;
    let report = idrecon_ingest::read_all(
        &files,
        &idrecon_ingest::IngestOptions::default(),
        &mut |mut ev: Event| {
            if err.is_some() {
                return;
            }
            // The engine derives these before any rule sees the event.
            ev.derive();
            let line = event_json(&ev).to_string();
            if let Err(e) = writeln!(w, "{line}") {
                err = Some(e);
            }
            n += 1;
        },
    )?;
    if let Some(e) = err {
        return Err(e.into());
    }
    w.flush()?;
    // The table `events` for DuckDB, beside the events.
    let load = idrecon_export::duckdb::load_events(&out.display().to_string());
    std::fs::write(format!("{}.load.sql", out.display()), load)?;
    let t = report.totals();
    eprintln!(
        "semantic_check: {n} events from {} files ({} records rejected) -> {}",
        report.files.len(),
        t.rejected,
        out.display()
    );
    Ok(())
}

fn queries(args: &[String]) -> Res<()> {
    let mut out = None;
    let mut profile = Profile::Recommended;
    let mut sets: Vec<Override> = Vec::new();
    let mut only: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--profile" => profile = val()?.parse()?,
            "--set" => sets.push(val()?.parse()?),
            "--rule" => only.push(val()?),
            s if out.is_none() && !s.starts_with("--") => out = Some(PathBuf::from(s)),
            s => return Err(format!("unexpected argument `{s}`").into()),
        }
    }
    let out = out.ok_or("queries: OUTDIR is missing")?;
    std::fs::create_dir_all(&out)?;
    let cat = Catalogue::load(profile, &sets)?;
    for r in cat.rules() {
        if !only.is_empty() && !only.contains(&r.id) {
            continue;
        }
        let q = idrecon_export::duckdb::compile(r, profile)?;
        std::fs::write(out.join(format!("{}.sql", r.id)), q)?;
    }
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("events") if args.len() >= 3 => {
            let paths: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
            events(Path::new(&args[1]), &paths)
        }
        Some("queries") => queries(&args[1..]),
        _ => Err("usage: semantic_check events OUT.ndjson PATH… | semantic_check queries OUTDIR [--profile P] [--set K=V]… [--rule ID]…".into()),
    }
}
