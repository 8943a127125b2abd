//! Reading a large plain NDJSON file on several threads.
//!
//! The file is cut into blocks at line starts; worker threads read blocks
//! with positioned reads (only a few blocks are in memory at once) and
//! normalize their lines into per-block results; the calling thread hands
//! the results to the sink in block order, renumbering lines and merging
//! counts, reject lists and dialects so that the file's report is exactly
//! that of the sequential reader. Anything else (compressed, standard
//! input, a first line that is not a plain record, very long lines, strict
//! mode) is read sequentially.

use super::Collect;
use crate::ctx::{Container, Ctx};
use crate::{FastPath, IngestOptions, InputFile};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// One block's results, line numbers local to the block.
struct Block {
    lines: u64,
    out: Collect,
    parts: crate::ctx::Parts,
}

/// Smallest file read in parallel: two blocks.
fn min_size(fast: &FastPath) -> u64 {
    2 * fast.block_bytes as u64
}

/// Reads `file` in parallel when it is a large plain NDJSON file; `false`
/// (nothing read) otherwise.
pub(crate) fn try_read(ctx: &mut Ctx<'_>, file: &InputFile, fast: &FastPath) -> bool {
    let Some(path) = &file.path else {
        return false;
    };
    if fast.threads < 2 || !fast.enabled || ctx.opts.strict {
        return false;
    }
    let Ok(f) = File::open(path) else {
        return false;
    };
    let Ok(meta) = f.metadata() else {
        return false;
    };
    if !meta.is_file() || meta.len() < min_size(fast) {
        return false;
    }
    let len = meta.len();
    let Some(bounds) = boundaries(&f, len, fast.block_bytes as u64) else {
        return false;
    };
    if !plain_ndjson_start(&f, ctx.opts) {
        return false;
    }
    // Blocks far longer than asked for hold very long lines: the
    // sequential reader never buffers more than one record of them.
    let longest = bounds.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    if longest > 4 * fast.block_bytes as u64 {
        return false;
    }
    ctx.set_container(Container::Ndjson);
    run(ctx, file, &f, &bounds, fast);
    true
}

/// Line-start offsets cutting the file into blocks of about `block`
/// bytes: `[0, …, len]`. `None` on a read error (the sequential reader
/// reports it).
fn boundaries(f: &File, len: u64, block: u64) -> Option<Vec<u64>> {
    let mut out = vec![0u64];
    let mut buf = vec![0u8; 64 << 10];
    let mut at = block;
    while at < len {
        // The next line start at or after `at`.
        let mut pos = at - 1;
        let start = loop {
            let n = f.read_at(&mut buf, pos).ok()?;
            if n == 0 {
                break len;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                break pos + i as u64 + 1;
            }
            pos += n as u64;
        };
        if start >= len {
            break;
        }
        if start > *out.last()? {
            out.push(start);
        }
        at = start.max(at) + block;
    }
    out.push(len);
    Some(out)
}

/// The file starts like NDJSON the sequential reader reads line by line:
/// no byte-order mark, no compression or other container, and a first
/// line that is one complete JSON object that is not an envelope.
fn plain_ndjson_start(f: &File, opts: &IngestOptions) -> bool {
    let mut head = vec![0u8; 64 << 10];
    let Ok(n) = f.read_at(&mut head, 0) else {
        return false;
    };
    let head = &head[..n];
    if head.first() != Some(&b'{') {
        return false;
    }
    let Some(nl) = memchr::memchr(b'\n', head) else {
        return false;
    };
    let line = crate::json::trim_line(&head[..nl]);
    if line.len() > opts.max_record_bytes {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(v) => v.is_object() && crate::json::envelope_kind(&v).is_none(),
        Err(_) => false,
    }
}

fn run(ctx: &mut Ctx<'_>, file: &InputFile, f: &File, bounds: &[u64], fast: &FastPath) {
    let blocks = bounds.len() - 1;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let opts = ctx.opts;
    let index = ctx.index;
    let workers = fast.threads.min(blocks).max(1);
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<(usize, io::Result<Block>)>(workers * 2);
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            s.spawn(move || {
                let mut buf = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= blocks || stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let res = read_block(f, bounds[k], bounds[k + 1], &mut buf)
                        .map(|()| block(&buf, file, index, opts, fast));
                    if tx.send((k, res)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, io::Result<Block>> = BTreeMap::new();
        let mut want = 0usize;
        let mut line_base = 0u64;
        let mut failed = false;
        for (k, res) in rx {
            pending.insert(k, res);
            while let Some(res) = pending.remove(&want) {
                want += 1;
                if failed {
                    continue;
                }
                match res {
                    Ok(b) => line_base += apply(ctx, b, line_base),
                    Err(e) => {
                        let msg = crate::source::io_msg(ctx, &e);
                        ctx.file_error(msg);
                        failed = true;
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    });
}

fn read_block(f: &File, start: u64, end: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    let len = usize::try_from(end - start).map_err(io::Error::other)?;
    buf.resize(len, 0);
    f.read_exact_at(buf, start)
}

/// Hands one block's results to the sink and merges its counts; returns
/// its number of lines.
fn apply(ctx: &mut Ctx<'_>, b: Block, base: u64) -> u64 {
    b.out.replay(&mut *ctx.sink, |ev| ev.origin.record += base);
    ctx.absorb(b.parts, base);
    b.lines
}

/// Reads the lines of one block as the sequential NDJSON reader does.
fn block(buf: &[u8], file: &InputFile, index: u32, opts: &IngestOptions, fast: &FastPath) -> Block {
    let mut sink = Collect::default();
    let mut ctx = Ctx::new(file, index, opts, fast, &mut sink);
    let max = opts.max_record_bytes;
    let mut line_no = 0u64;
    let mut rest = buf;
    while !rest.is_empty() {
        let (line, total, has_nl) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], i + 1, true),
            None => (rest, rest.len(), false),
        };
        rest = &rest[total..];
        line_no += 1;
        // The sequential reader's length rule (`read_line_limited`).
        let too_long = if !has_nl {
            (total > max).then_some(total)
        } else if total > max.saturating_add(2) {
            Some(total - 1)
        } else {
            let eol = if line.ends_with(b"\r") { 2 } else { 1 };
            (total - eol > max).then_some(total - eol)
        };
        if let Some(n) = too_long {
            let _ = ctx.reject(line_no, crate::ctx::too_large(n, max));
            continue;
        }
        let l = crate::json::trim_line(line);
        if !l.is_empty() {
            let _ = crate::json::ndjson_line(&mut ctx, l, line_no);
        }
    }
    let parts = ctx.into_parts();
    Block {
        lines: line_no,
        out: sink,
        parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventSink, IngestReport, read_file_into};
    use idrecon_core::Event;

    struct Keep(Vec<Event>);

    impl EventSink for Keep {
        fn event(&mut self, ev: Event) {
            self.0.push(ev);
        }
    }

    fn read(path: &std::path::Path, fast: &FastPath) -> (IngestReport, Vec<Event>) {
        let mut k = Keep(Vec::new());
        let r = read_file_into(
            &InputFile::from_path(path),
            0,
            &IngestOptions {
                max_record_bytes: 300,
                ..IngestOptions::default()
            },
            fast,
            &mut k,
        )
        .expect("read");
        (IngestReport { files: vec![r] }, k.0)
    }

    #[test]
    fn blocks_read_like_the_sequential_reader() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("x.ndjson");
        let mut text = String::new();
        for i in 0..200 {
            match i % 9 {
                // Blank lines, CRLF, a bad record, a too-long record.
                3 => text.push_str("\r\n"),
                5 => text.push_str("{\"TimeGenerated\": nope}\n"),
                7 => text.push_str(&format!("{{\"UserPrincipalName\": \"{}\"}}\n", "x".repeat(400))),
                _ => text.push_str(&format!(
                    "{{\"TimeGenerated\": \"2024-05-01T10:00:{:02}Z\", \"ResultType\": \"{}\", \"IPAddress\": \"203.0.113.{}\"}}\r\n",
                    i % 60,
                    if i % 2 == 0 { "0" } else { "50034" },
                    i % 7
                )),
            }
        }
        text.push_str("{\"TimeGenerated\": \"2024-05-01T11:00:00Z\", \"ResultType\": 0}");
        std::fs::write(&path, &text).expect("write");
        let plain = read(&path, &FastPath::off());
        assert!(plain.0.files[0].stats.rejected > 20);
        for (threads, block) in [(2, 64), (2, 1000), (3, 333)] {
            let fast = FastPath {
                enabled: true,
                evtx_direct: true,
                prefilter: None,
                threads,
                block_bytes: block,
            };
            // The file is read in blocks …
            let f = File::open(&path).expect("open");
            let bounds = boundaries(&f, text.len() as u64, block as u64).expect("bounds");
            assert!(bounds.len() > 3);
            assert!(bounds.windows(2).all(|w| w[0] < w[1]));
            assert!(
                bounds[1..bounds.len() - 1]
                    .iter()
                    .all(|&b| text.as_bytes()[b as usize - 1] == b'\n')
            );
            // … in parallel unless a line is far longer than a block …
            let opts = IngestOptions::default();
            let file = InputFile::from_path(&path);
            let mut keep = Keep(Vec::new());
            let mut ctx = Ctx::new(&file, 0, &opts, &fast, &mut keep);
            assert_eq!(try_read(&mut ctx, &file, &fast), block > 200, "{block}");
            // … and reads exactly as the sequential reader.
            assert_eq!(
                read(&path, &fast),
                plain,
                "{threads} threads, {block}-byte blocks"
            );
        }
    }
}
