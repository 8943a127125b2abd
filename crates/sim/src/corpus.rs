//! Benchmark-size corpus: background traffic day after day until the
//! requested size is reached, with every other scenario embedded at a known
//! day (recorded in `labels.json`). Records are generated one day at a time
//! into a reused buffer and streamed through buffered writers.

use crate::background;
use crate::labels::{FORMAT, Labels, TenantLabel, Unit};
use crate::record::{self, Record};
use crate::rng::Rng;
use crate::scenario;
use crate::shape::Shape;
use crate::simulate::{self, SimOptions};
use crate::time::{DAY, Spelling, fmt_ts};
use crate::write::SetWriter;
use std::io;
use std::time::Instant;

/// What a corpus run did.
#[derive(Debug, Clone)]
pub struct CorpusStats {
    /// Bytes written.
    pub bytes: u64,
    /// Records written.
    pub records: u64,
    /// Days of background.
    pub days: u32,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Parses a size such as `1GiB`, `500MB`, `64MiB`, `1000000`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 1GiB, 500MB, 64MiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        u => {
            return Err(format!(
                "unknown size unit `{u}` in `{s}` (use B, KB, KiB, MB, MiB, GB, GiB)"
            ));
        }
    };
    let v = n * mult;
    if !(1.0..=1e15).contains(&v) {
        return Err(format!("size `{s}` is out of range"));
    }
    Ok(v as u64)
}

/// Writes a corpus of about `size` bytes in `opts.shapes[0]` into
/// `opts.out/corpus/`, with `labels.json` in `opts.out`.
pub fn write_corpus(opts: &SimOptions, size: u64) -> io::Result<(Labels, CorpusStats)> {
    let started = Instant::now();
    let shape = opts.shapes.first().copied().unwrap_or(Shape::LaNdjson);
    let dir = simulate::directory_for(opts.seed, opts.scale);
    let tenant = dir.tenant_id.to_string();
    let active = background::active_users(&dir, opts.scale);
    let bg_seed = Rng::derive(opts.seed, "background").next_u64();

    // Day 0 of background, to estimate the number of days needed.
    let mut day_recs: Vec<Record> = Vec::with_capacity(64 * active);
    let mut rid = 1u64;
    background::day_records(
        &dir,
        bg_seed,
        0,
        opts.start,
        active,
        &mut day_recs,
        &mut rid,
    );
    let per_day = crate::write::measure(shape, &tenant, &day_recs).max(1);
    let days_needed = size.div_ceil(per_day).clamp(1, 1_000_000) as u32;

    // Embedded scenarios: every scenario except the background, spread
    // over the days.
    let defs: Vec<_> = scenario::catalogue()
        .iter()
        .enumerate()
        .filter(|(_, d)| d.name != "background")
        .collect();
    let n = defs.len() as u32;
    let mut embedded: Vec<(u32, Vec<Record>, crate::labels::ScenarioLabel)> = Vec::new();
    for (k, (index, def)) in defs.iter().enumerate() {
        let day = (k as u32 * days_needed) / n.max(1);
        let t0 = opts.start + i64::from(day) * DAY + def.offset;
        let (recs, spec) = simulate::generate(&dir, def, *index, opts.seed, t0, opts.scale, 1);
        let label = simulate::label(def, spec, &recs);
        embedded.push((day, recs, label));
    }
    let last_day = embedded.iter().map(|e| e.0).max().unwrap_or(0);
    let end_estimate = opts.start + i64::from(days_needed) * DAY;

    let out_dir = opts.out.join("corpus");
    let mut w = SetWriter::new(
        &out_dir,
        "corpus",
        shape,
        tenant.clone(),
        opts.start,
        end_estimate,
    )?;
    let mut records = 0u64;
    let mut day = 0u32;
    loop {
        if day > 0 {
            day_recs.clear();
            background::day_records(
                &dir,
                bg_seed,
                day,
                opts.start + i64::from(day) * DAY,
                active,
                &mut day_recs,
                &mut rid,
            );
        }
        for (d, recs, _) in &embedded {
            if *d == day {
                day_recs.extend(recs.iter().cloned());
            }
        }
        record::sort(&mut day_recs);
        w.write_batch(&day_recs)?;
        records += day_recs.len() as u64;
        day += 1;
        if w.bytes() >= size && day > last_day {
            break;
        }
    }
    let files = w.finish()?;
    let bytes: u64 = files.iter().map(|f| f.bytes).sum();
    let days = day;
    let mut scenarios: Vec<_> = embedded.into_iter().map(|e| e.2).collect();
    let bg_def = scenario::find("background")
        .ok_or_else(|| io::Error::other("background scenario missing"))?;
    let mut bg = simulate::label(bg_def, background_spec(active, days), &[]);
    bg.span.start = fmt_ts(opts.start, Spelling::Seven);
    bg.span.end = fmt_ts(opts.start + i64::from(days) * DAY, Spelling::Seven);
    bg.activity_start = bg.span.start.clone();
    scenarios.push(bg);
    let labels = Labels {
        format: FORMAT,
        generator: simulate::generator(),
        seed: opts.seed,
        start: fmt_ts(opts.start, Spelling::Seven),
        scale: opts.scale,
        mode: "corpus".into(),
        tenant: TenantLabel {
            domain: crate::directory::DOMAIN.into(),
            tenant_id: tenant,
            ad_realm: crate::directory::AD_REALM.into(),
            users: dir.users.len(),
            active_users: active,
        },
        units: vec![Unit {
            name: "corpus".into(),
            shape: shape.name().into(),
            scenarios: scenarios.iter().map(|s| s.name.clone()).collect(),
            files,
        }],
        scenarios,
        notes: simulate::standard_notes(),
    };
    simulate::write_labels(&opts.out, &labels)?;
    simulate::write_allowlist(&opts.out, &labels)?;
    let stats = CorpusStats {
        bytes,
        records,
        days,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((labels, stats))
}

fn background_spec(active: usize, days: u32) -> scenario::Spec {
    let mut g_spec = scenario::Spec {
        description: format!(
            "Background traffic of {active} active users over {days} day(s), the corpus filler; the other scenarios are embedded at the days and times in their spans."
        ),
        ..scenario::Spec::default()
    };
    g_spec.expect = [
        "auth_username_enumeration",
        "sspr_enumeration",
        "kerberos_user_enumeration",
        "kerberos_password_spray",
        "ntlm_logon_enumeration",
    ]
    .iter()
    .map(|d| crate::labels::Expectation::silent(d, "recommended", "ordinary traffic"))
    .collect();
    g_spec
}
