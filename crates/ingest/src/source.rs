//! Opening an input, undoing compression and text encoding, and choosing
//! the reader from the first bytes.

use crate::ctx::{Container, Ctx};
use crate::{InputFile, csvin, json};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};

/// Buffer size for file and decompressor reads.
const BUF: usize = 64 << 10;

/// How many bytes are examined to choose the reader.
const SNIFF: usize = 64 << 10;

type Src = Box<dyn BufRead>;

/// Reads one input into `ctx`.
pub(crate) fn read_input(ctx: &mut Ctx<'_>, file: &InputFile) {
    let raw: Box<dyn Read> = match &file.path {
        None => Box::new(io::stdin().lock()),
        Some(p) if p.is_dir() => {
            let why = match std::fs::read_dir(p) {
                Err(e) => format!("cannot list this directory: {e}"),
                Ok(_) => "this is a directory; pass it to expand_paths to read the files in it"
                    .to_string(),
            };
            ctx.file_error(why);
            return;
        }
        Some(p) => match File::open(p) {
            Ok(f) => {
                // Files read whole (EVTX, XML, UTF-16 text) are read into
                // a buffer of the right size at once.
                ctx.size_hint = f.metadata().ok().map(|m| m.len());
                Box::new(f)
            }
            Err(e) => {
                ctx.file_error(format!("cannot open: {e}"));
                return;
            }
        },
    };
    let plain: Src = Box::new(BufReader::with_capacity(
        BUF,
        Counted::new(raw, None, u64::MAX),
    ));
    let Some(src) = decompress(ctx, plain) else {
        return;
    };
    dispatch(ctx, src, true);
}

/// Wraps `src` in a decompressor when its magic bytes say so. `None` when
/// the file cannot be read at all.
fn decompress(ctx: &mut Ctx<'_>, src: Src) -> Option<Src> {
    let (head, src) = peek(ctx, src, 8);
    let limit = ctx.opts.max_decompressed_bytes;
    if head.starts_with(&[0x1f, 0x8b]) {
        ctx.compressed = Some("gzip");
        let dec = flate2::bufread::MultiGzDecoder::new(src);
        return Some(Box::new(BufReader::with_capacity(
            BUF,
            Counted::new(dec, Some("gzip"), limit),
        )));
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        ctx.compressed = Some("zstd");
        return match zstd::stream::read::Decoder::with_buffer(src) {
            Ok(dec) => Some(Box::new(BufReader::with_capacity(
                BUF,
                Counted::new(dec, Some("zstd"), limit),
            ))),
            Err(e) => {
                ctx.file_error(format!("cannot start zstd decompression: {e}"));
                None
            }
        };
    }
    let unsupported = if head.starts_with(b"PK\x03\x04") {
        Some(
            "a zip archive; extract it first (for example `unzip FILE`) and read the extracted files",
        )
    } else if head.starts_with(b"BZh") {
        Some(
            "bzip2-compressed, which idrecon does not read; decompress it first (`bunzip2`) or recompress with gzip or zstd",
        )
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(
            "xz-compressed, which idrecon does not read; decompress it first (`unxz`) or recompress with gzip or zstd",
        )
    } else {
        None
    };
    if let Some(msg) = unsupported {
        ctx.file_error(format!("the file is {msg}"));
        return None;
    }
    Some(src)
}

/// Chooses the reader from the (decompressed) content.
fn dispatch(ctx: &mut Ctx<'_>, src: Src, allow_utf16: bool) {
    let (mut head, mut src) = peek(ctx, src, SNIFF);
    if head.starts_with(b"\xef\xbb\xbf") {
        head.drain(..3);
        let mut bom = [0u8; 3];
        if let Err(e) = src.read_exact(&mut bom) {
            let msg = io_msg(ctx, &e);
            ctx.file_error(msg);
            return;
        }
    }
    if allow_utf16 && (head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff")) {
        let bytes = read_to_end(ctx, &mut src);
        let text = decode_utf16(&bytes);
        dispatch(ctx, Box::new(Cursor::new(text.into_bytes())), false);
        return;
    }
    if idrecon_winlog::is_evtx(&head) {
        ctx.set_container(Container::Evtx);
        let bytes = read_to_end(ctx, &mut src);
        crate::fast::evtx::read(ctx, bytes);
        return;
    }
    let first = head.iter().position(|b| !b.is_ascii_whitespace());
    match first.map(|i| head[i]) {
        None if head.len() < SNIFF => ctx.set_container(Container::Empty),
        // Whitespace only as far as we looked: the line reader skips it.
        None | Some(b'{') => json::read_object_stream(ctx, src),
        Some(b'[') => crate::doc::read_document(ctx, Vec::new(), src, 0),
        Some(b'<') => {
            ctx.set_container(Container::EventXml);
            let bytes = read_to_end(ctx, &mut src);
            match String::from_utf8(bytes) {
                Ok(text) => {
                    let sink = &mut *ctx.sink;
                    idrecon_winlog::read_event_xml(
                        &text,
                        ctx.index,
                        &mut ctx.stats,
                        &mut |e| sink.event(e),
                    );
                }
                Err(e) => ctx.file_error(format!(
                    "the XML is not valid UTF-8 (invalid byte at offset {}); save it as UTF-8",
                    e.utf8_error().valid_up_to()
                )),
            }
        }
        // NDJSON cut in the middle of a line (`tail -c`, split files): the
        // partial first line is rejected, the rest read.
        Some(_) if second_line_is_object(&head) => json::read_object_stream(ctx, src),
        Some(_) => match csv_delimiter(&head) {
            Some(d) => csvin::read_csv(ctx, src, d),
            None => ctx.file_error(format!(
                "unrecognised content (starts with {}): expected JSON, NDJSON, CSV, EVTX or Windows event XML, optionally gzip or zstd compressed",
                show_bytes(&head, 24)
            )),
        },
    }
}

/// True when the second line of `head` starts with `{`.
fn second_line_is_object(head: &[u8]) -> bool {
    memchr::memchr(b'\n', head)
        .map(|i| head[i + 1..].trim_ascii_start())
        .is_some_and(|rest| rest.first() == Some(&b'{'))
}

/// The delimiter of a CSV header line: the most frequent of `,` `;` tab.
fn csv_delimiter(head: &[u8]) -> Option<u8> {
    let line = match memchr::memchr(b'\n', head) {
        Some(i) => &head[..i],
        None => head,
    };
    [b',', b';', b'\t']
        .into_iter()
        .map(|d| (memchr::memchr_iter(d, line).count(), d))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, _)| *n)
        .map(|(_, d)| d)
}

fn show_bytes(head: &[u8], max: usize) -> String {
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let end = head.len().min(start + max);
    format!("\"{}\"", head[start..end].escape_ascii())
}

/// Reads up to `n` bytes ahead; returns them and a reader that yields them
/// again followed by the rest. A read error is noted on the file and ends
/// the stream after the bytes already read.
fn peek(ctx: &mut Ctx<'_>, mut r: Src, n: usize) -> (Vec<u8>, Src) {
    let mut head = Vec::with_capacity(n.min(SNIFF));
    let mut failed = false;
    while head.len() < n {
        match r.fill_buf() {
            Ok([]) => break,
            Ok(buf) => {
                let take = buf.len().min(n - head.len());
                head.extend_from_slice(&buf[..take]);
                r.consume(take);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let msg = io_msg(ctx, &e);
                ctx.file_error(msg);
                failed = true;
                break;
            }
        }
    }
    let again = Cursor::new(head.clone());
    let rest: Src = if failed {
        Box::new(again)
    } else {
        Box::new(again.chain(r))
    };
    (head, rest)
}

/// Reads everything left; a read error is noted and what was read is kept.
/// Decompressed data is read only up to `max_document_bytes` (noted).
pub(crate) fn read_to_end(ctx: &mut Ctx<'_>, r: &mut dyn Read) -> Vec<u8> {
    let mut v = Vec::new();
    let Some(kind) = ctx.compressed else {
        if let Some(n) = ctx.size_hint.and_then(|n| usize::try_from(n).ok()) {
            v.reserve_exact(n.saturating_add(1));
        }
        if let Err(e) = r.read_to_end(&mut v) {
            let msg = io_msg(ctx, &e);
            ctx.file_error(msg);
        }
        return v;
    };
    let cap = ctx.opts.max_document_bytes;
    if let Err(e) = r.take(cap.saturating_add(1)).read_to_end(&mut v) {
        let msg = io_msg(ctx, &e);
        ctx.file_error(msg);
    }
    if v.len() as u64 > cap {
        v.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        ctx.file_error(format!(
            "{kind} data holds an event XML, EVTX or UTF-16 file larger than {cap} bytes, which would be read into memory whole (--max-document-bytes); reading stopped there — raise the limit if the file is genuine, or decompress the file first"
        ));
    }
    v
}

/// A whole-file read problem phrased for the user.
pub(crate) fn io_msg(ctx: &Ctx<'_>, e: &io::Error) -> String {
    match ctx.stats.read {
        0 => e.to_string(),
        n => format!("{e}; the {n} records before that point were read"),
    }
}

/// UTF-16 text with a byte-order mark as a UTF-8 string (unpaired
/// surrogates become U+FFFD).
fn decode_utf16(bytes: &[u8]) -> String {
    let le = bytes.starts_with(b"\xff\xfe");
    let units = bytes[2.min(bytes.len())..].chunks_exact(2).map(|c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Counts the bytes a reader produced, caps them, and words its errors for
/// the user (`kind` names the compression, `None` for a plain file). Once
/// failed it keeps failing.
struct Counted<R> {
    inner: R,
    kind: Option<&'static str>,
    count: u64,
    limit: u64,
    failed: Option<(io::ErrorKind, String)>,
}

impl<R: Read> Counted<R> {
    fn new(inner: R, kind: Option<&'static str>, limit: u64) -> Self {
        Counted {
            inner,
            kind,
            count: 0,
            limit,
            failed: None,
        }
    }

    fn fail(&mut self, kind: io::ErrorKind, msg: String) -> io::Error {
        self.failed = Some((kind, msg.clone()));
        io::Error::new(kind, msg)
    }

    fn wrap(&mut self, e: io::Error) -> io::Error {
        let msg = match self.kind {
            Some(k) => format!(
                "{k} data is truncated or corrupt after {} decompressed bytes ({e})",
                self.count
            ),
            None => format!("read error after {} bytes ({e})", self.count),
        };
        self.fail(e.kind(), msg)
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((kind, msg)) = &self.failed {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.count >= self.limit {
            // At the cap: only the end of the data is acceptable.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe) {
                Ok(0) => Ok(0),
                Ok(_) => {
                    let msg = format!(
                        "{} data expands beyond the limit of {} bytes (--max-decompressed-bytes); reading stopped there — raise the limit if the file is genuine",
                        self.kind.unwrap_or("compressed"),
                        self.limit
                    );
                    Err(self.fail(io::ErrorKind::InvalidData, msg))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
                Err(e) => Err(self.wrap(e)),
            };
        }
        let room = usize::try_from(self.limit - self.count).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        match self.inner.read(&mut buf[..want]) {
            Ok(n) => {
                self.count += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => Err(self.wrap(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(csv_delimiter(b"a,b,c\n1;2"), Some(b','));
        assert_eq!(csv_delimiter(b"a;b;c"), Some(b';'));
        assert_eq!(csv_delimiter(b"a\tb"), Some(b'\t'));
        assert_eq!(csv_delimiter(b"hello world"), None);
    }

    #[test]
    fn utf16() {
        let mut le = vec![0xff, 0xfe];
        for u in "{\"a\":\"é\"}".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_utf16(&le), "{\"a\":\"é\"}");
        let mut be = vec![0xfe, 0xff];
        for u in "x".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode_utf16(&be), "x");
    }

    #[test]
    fn counted_caps_output() {
        let mut r = Counted::new(Cursor::new(vec![7u8; 100]), Some("gzip"), 10);
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).expect_err("capped");
        assert_eq!(out.len(), 10);
        assert!(err.to_string().contains("limit of 10 bytes"), "{err}");
        // Exactly at the cap is fine.
        let mut r = Counted::new(Cursor::new(vec![7u8; 10]), Some("gzip"), 10);
        let mut out = Vec::new();
        r.read_to_end(&mut out).expect("fits");
        assert_eq!(out.len(), 10);
    }
}
