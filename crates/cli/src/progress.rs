//! Progress of a hunt on standard error: files, bytes and records per
//! second, drawn only when standard error is a terminal (and not with
//! `--quiet`). The pipeline reads the inputs one file at a time and reports
//! to an [`Observer`]; the readers themselves know nothing about progress.

use idrecon_ingest::{FileReport, InputFile};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

/// Receives the pipeline's progress.
pub trait Observer {
    /// Reading starts; `files` are all inputs in order.
    fn start(&mut self, _files: &[InputFile]) {}
    /// File `index` is opened.
    fn file_start(&mut self, _index: usize, _file: &InputFile) {}
    /// One event was read and handed to the engine.
    fn record(&mut self) {}
    /// File `index` is done.
    fn file_done(&mut self, _index: usize, _file: &InputFile, _report: &FileReport) {}
    /// Reading is over (also after an error).
    fn finish(&mut self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}

/// How many records between two redraws of the message.
const TICK_EVERY: u64 = 2048;

/// A progress bar over the inputs' bytes (compressed size on disk; standard
/// input counts as unknown) with the current file and records per second.
pub struct Bar {
    pb: ProgressBar,
    sizes: Vec<Option<u64>>,
    files: usize,
    current: usize,
    current_name: String,
    records: u64,
    started: Instant,
}

impl Bar {
    /// A bar drawn on standard error, or `None` when it must stay silent
    /// (`quiet`, or standard error is not a terminal).
    pub fn stderr(quiet: bool) -> Option<Bar> {
        use std::io::IsTerminal;
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        Some(Bar::with_target(ProgressDrawTarget::stderr()))
    }

    /// A bar drawing to `target` (tests use a hidden target).
    pub fn with_target(target: ProgressDrawTarget) -> Bar {
        let pb = ProgressBar::with_draw_target(Some(0), target);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:28} {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        pb.set_style(style);
        pb.enable_steady_tick(Duration::from_millis(200));
        Bar {
            pb,
            sizes: Vec::new(),
            files: 0,
            current: 0,
            current_name: String::new(),
            records: 0,
            started: Instant::now(),
        }
    }

    /// Records counted so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn message(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.records as f64 / secs;
        self.pb.set_message(format!(
            "file {}/{} {} — {} records ({:.0}/s)",
            (self.current + 1).min(self.files.max(1)),
            self.files,
            self.current_name,
            self.records,
            rate
        ));
    }
}

fn short_name(f: &InputFile) -> String {
    let name = f
        .path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| f.display.clone());
    idrecon_report::escape::terminal(&name)
}

impl Observer for Bar {
    fn start(&mut self, files: &[InputFile]) {
        self.files = files.len();
        self.sizes = files
            .iter()
            .map(|f| {
                f.path
                    .as_ref()
                    .and_then(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
            })
            .collect();
        self.pb.set_length(self.sizes.iter().flatten().sum());
        self.started = Instant::now();
        self.message();
    }

    fn file_start(&mut self, index: usize, file: &InputFile) {
        self.current = index;
        self.current_name = short_name(file);
        self.message();
    }

    fn record(&mut self) {
        self.records += 1;
        if self.records.is_multiple_of(TICK_EVERY) {
            self.message();
        }
    }

    fn file_done(&mut self, index: usize, _file: &InputFile, _report: &FileReport) {
        if let Some(Some(n)) = self.sizes.get(index) {
            self.pb.inc(*n);
        }
        self.message();
    }

    fn finish(&mut self) {
        self.pb.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_counts_files_bytes_and_records() {
        let dir = std::env::temp_dir().join(format!("idrecon-progress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("a.ndjson");
        std::fs::write(&p, b"0123456789").expect("write");
        let files = vec![InputFile::from_path(&p), InputFile::stdin()];
        let mut b = Bar::with_target(ProgressDrawTarget::hidden());
        b.start(&files);
        assert_eq!(b.pb.length(), Some(10));
        b.file_start(0, &files[0]);
        for _ in 0..5000 {
            b.record();
        }
        let report = FileReport {
            path: files[0].display.clone(),
            shape: "test".into(),
            stats: Default::default(),
            error: None,
        };
        b.file_done(0, &files[0], &report);
        assert_eq!(b.pb.position(), 10);
        assert_eq!(b.records(), 5000);
        b.finish();
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn quiet_is_silent() {
        assert!(Bar::stderr(true).is_none());
    }
}
