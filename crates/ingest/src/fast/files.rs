//! Reading several input files at once.
//!
//! Worker threads read the smaller files (into memory, one at a time each,
//! at most a few files ahead of the one being delivered); the calling
//! thread delivers every file's events to the sink in input order and reads
//! the large files itself (a large NDJSON file is read on several threads
//! in blocks, see [`super::par`]; EVTX files are rendered on the `evtx`
//! crate's threads). Reports are exactly those of reading the files one
//! after another.

use super::Collect;
use crate::{EventSink, FastPath, FileReport, IngestError, IngestOptions, InputFile};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

/// Files up to this size are read by the workers.
const SMALL: u64 = 16 << 20;

/// Input bytes each worker may read ahead of delivery (beyond the first few
/// files).
const AHEAD_BYTES_PER_THREAD: u64 = 8 << 20;

/// Reads `files` with `threads` workers; `None` when it does not apply
/// (the caller reads them one after another).
pub(crate) fn read_all(
    files: &[InputFile],
    opts: &IngestOptions,
    fast: &FastPath,
    sink: &mut dyn EventSink,
) -> Option<Result<Vec<FileReport>, IngestError>> {
    if fast.threads < 2 || opts.strict || files.len() < 2 {
        return None;
    }
    let small: Vec<usize> = (0..files.len())
        .filter(|&i| {
            files[i]
                .path
                .as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .is_some_and(|m| m.is_file() && m.len() <= SMALL)
        })
        .collect();
    if small.len() < 2 {
        return None;
    }
    // Workers read one file at a time, with the in-file threads off.
    let single = FastPath {
        threads: 1,
        ..fast.clone()
    };
    // How far workers may run ahead of delivery: a few files, or more
    // while the files taken but not delivered are small. A count alone
    // stalls on uneven inputs: with one large file among many small ones,
    // the second worker would wait at the small files after the large one
    // instead of reading the next large one.
    let lookahead = 2 * fast.threads;
    let bytes_ahead = AHEAD_BYTES_PER_THREAD * fast.threads as u64;
    let mut sizes = vec![0u64; files.len() + 1];
    for (i, f) in files.iter().enumerate() {
        let len = f
            .path
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        sizes[i + 1] = sizes[i] + len;
    }
    let sizes = &sizes;
    let next = AtomicUsize::new(0);
    // How many files (by input position) have been delivered.
    let delivered = (Mutex::new(0usize), Condvar::new());
    let mut reports = Vec::with_capacity(files.len());
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<(usize, Result<FileReport, IngestError>, Collect)>();
        for _ in 0..fast.threads {
            let tx = tx.clone();
            let (next, delivered, small, single) = (&next, &delivered, &small, &single);
            s.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = small.get(k) else { return };
                    // Stay within `lookahead` files of delivery.
                    {
                        let (lock, cv) = delivered;
                        let mut d = lock.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *d + lookahead && sizes[i + 1] - sizes[*d] > bytes_ahead {
                            d = cv.wait(d).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    let mut c = Collect::default();
                    let index = u32::try_from(i).unwrap_or(u32::MAX);
                    let r = crate::read_file_into(&files[i], index, opts, single, &mut c);
                    if tx.send((i, r, c)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, (Result<FileReport, IngestError>, Collect)> =
            BTreeMap::new();
        let mut is_small = vec![false; files.len()];
        for &i in &small {
            is_small[i] = true;
        }
        for (i, f) in files.iter().enumerate() {
            sink.file_start(i, f);
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let done = if is_small[i] {
                loop {
                    if let Some(done) = pending.remove(&i) {
                        break Some(done);
                    }
                    match rx.recv() {
                        Ok((j, r, out)) => {
                            pending.insert(j, (r, out));
                        }
                        // The worker that took it stopped (a panic, which
                        // the scope reports): read it here.
                        Err(_) => break None,
                    }
                }
            } else {
                None
            };
            let r = match done {
                Some((r, out)) => {
                    out.replay(sink, |_| {});
                    r
                }
                None => crate::read_file_into(f, index, opts, fast, sink),
            };
            {
                let (lock, cv) = &delivered;
                *lock.lock().unwrap_or_else(|e| e.into_inner()) = i + 1;
                cv.notify_all();
            }
            match r {
                Ok(report) => {
                    sink.file_done(i, f, &report);
                    reports.push(Ok(report));
                }
                Err(e) => reports.push(Err(e)),
            }
        }
    });
    Some(reports.into_iter().collect())
}
