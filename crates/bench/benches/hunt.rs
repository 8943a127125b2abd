//! Micro-benchmarks of the hunt's stages on a generated SigninLogs corpus
//! (2,000 rows, ~8 MB): decoding (plain parse, scanning reader, scanning
//! reader with the seed prefilter), the rule filter, and window aggregation
//! (engine push + finish, recommended profile).
//!
//! `cargo bench -p idrecon-bench` runs them; CI only builds them
//! (`cargo bench -p idrecon-bench --no-run`). See docs/PERFORMANCE.md.

use idrecon_bench::{SigninSpec, hunt, write_signin_ndjson};
use idrecon_core::{Event, EventKind, Timestamp};
use idrecon_engine::EngineBuilder;
use idrecon_ingest::{EventSink, FastPath, IngestOptions, InputFile, read_file_into};
use idrecon_rules::{Catalogue, Profile};
use std::path::PathBuf;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

const ROWS: u64 = 2_000;

/// The corpus file, written once per process.
fn corpus() -> &'static PathBuf {
    static PATH: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &PATH
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("signins.ndjson");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
            let spec = SigninSpec {
                rows: ROWS,
                ..SigninSpec::default()
            };
            write_signin_ndjson(&mut f, &spec).expect("write");
            drop(f);
            (dir, path)
        })
        .1
}

/// The corpus as events (plain reading).
fn events() -> &'static Vec<Event> {
    static EVENTS: OnceLock<Vec<Event>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let mut v = Vec::new();
        read(&FastPath::off(), &mut Keep(&mut v));
        v
    })
}

struct Keep<'v>(&'v mut Vec<Event>);

impl EventSink for Keep<'_> {
    fn event(&mut self, ev: Event) {
        self.0.push(ev);
    }
}

struct Count(u64);

impl EventSink for Count {
    fn event(&mut self, ev: Event) {
        self.0 += ev.origin.record;
    }
    fn skipped(&mut self, _: Timestamp, _: EventKind) {
        self.0 += 1;
    }
}

fn read(fast: &FastPath, sink: &mut dyn EventSink) {
    read_file_into(
        &InputFile::from_path(corpus()),
        0,
        &IngestOptions::default(),
        fast,
        sink,
    )
    .expect("read");
}

fn catalogue(p: Profile) -> Catalogue {
    Catalogue::load(p, &[]).expect("rules")
}

mod decode {
    use super::*;

    #[divan::bench]
    fn plain_parse() -> u64 {
        let mut c = Count(0);
        read(&FastPath::off(), &mut c);
        c.0
    }

    #[divan::bench]
    fn scanning_reader() -> u64 {
        let mut c = Count(0);
        read(
            &FastPath {
                enabled: true,
                evtx_direct: true,
                prefilter: None,
                threads: 1,
                block_bytes: idrecon_ingest::DEFAULT_BLOCK_BYTES,
            },
            &mut c,
        );
        c.0
    }

    #[divan::bench]
    fn scanning_reader_seed_prefilter(bencher: divan::Bencher) {
        let fast = FastPath {
            enabled: true,
            evtx_direct: true,
            prefilter: Some(hunt::prefilter(&catalogue(Profile::Seed))),
            threads: 1,
            block_bytes: idrecon_ingest::DEFAULT_BLOCK_BYTES,
        };
        bencher.bench(|| {
            let mut c = Count(0);
            read(&fast, &mut c);
            c.0
        });
    }
}

mod filter {
    use super::*;

    #[divan::bench(args = ["seed", "recommended"])]
    fn rules_match(bencher: divan::Bencher, profile: &str) {
        let c = catalogue(profile.parse().expect("profile"));
        let evs = events();
        bencher.bench(|| {
            evs.iter()
                .filter(|e| {
                    c.rules()
                        .iter()
                        .any(|r| r.reads(e) && (r.matches(e) || r.confirms(e)))
                })
                .count()
        });
    }

    #[divan::bench(args = ["seed", "recommended"])]
    fn prefilter_decision(bencher: divan::Bencher, profile: &str) {
        let p = hunt::prefilter(&catalogue(profile.parse().expect("profile")));
        let evs = events();
        bencher.bench(|| {
            evs.iter()
                .filter(|e| p.may_use(e.kind, e.table, e.result_code.as_deref()))
                .count()
        });
    }
}

mod window {
    use super::*;

    #[divan::bench(args = ["seed", "recommended"])]
    fn push_and_finish(bencher: divan::Bencher, profile: &str) {
        let p: Profile = profile.parse().expect("profile");
        let c = catalogue(p);
        let engine = EngineBuilder::new()
            .rules(c.rules().iter().cloned())
            .profile(p.as_str())
            .build();
        let evs = events();
        bencher.with_inputs(|| evs.clone()).bench_values(|evs| {
            let mut run = engine.run(vec!["corpus".into()]);
            for e in evs {
                run.push(e);
            }
            run.finish().0.len()
        });
    }
}
