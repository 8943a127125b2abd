//! Findings and counts are identical with and without every fast path, on
//! the simulator's corpus in every input shape and on the benchmark
//! corpus generator's SigninLogs rows (read on one thread and, in small
//! blocks, on two).

use idrecon_bench::hunt::{self, Config};
use idrecon_bench::{SigninSpec, write_signin_ndjson};
use std::path::PathBuf;

fn check(paths: &[PathBuf]) {
    for profile in ["seed", "recommended"] {
        let base = Config {
            profile: profile.into(),
            ..Config::default()
        };
        let plain = hunt::run(
            &Config {
                fast: false,
                ..base.clone()
            },
            paths,
        )
        .expect("plain");
        assert!(plain.read > 0);
        // The seed's one-hour lookback may hold nothing; the recommended
        // rules find the simulated attacks.
        assert!(profile == "seed" || plain.findings > 0, "{plain:?}");
        for (fast, prefilter, threads, block_bytes) in [
            (true, false, 1, 8 << 20),
            (true, true, 1, 8 << 20),
            (true, true, 2, 64 << 10),
        ] {
            let cfg = Config {
                fast,
                prefilter,
                threads,
                block_bytes,
                ..base.clone()
            };
            let got = hunt::run(&cfg, paths).expect("fast");
            assert_eq!(got, plain, "{profile}: {cfg:?}");
        }
    }
}

#[test]
fn simulated_corpus_in_every_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = idrecon_sim::SimOptions::new(dir.path());
    opts.shapes = idrecon_sim::Shape::ALL.to_vec();
    opts.skip_inapplicable = true;
    opts.scale = 0.2;
    idrecon_sim::simulate(&opts).expect("simulate");
    check(&[dir.path().to_path_buf()]);
}

#[test]
fn generated_signin_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("signins.ndjson");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let spec = SigninSpec {
        rows: 1_500,
        span: 2 * 3600,
        ..SigninSpec::default()
    };
    write_signin_ndjson(&mut f, &spec).expect("write");
    drop(f);
    check(&[path]);
}
