//! Expanding command-line paths into the list of inputs to read.

use crate::{IngestError, InputFile};
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Expands paths into inputs, in order: `-` is standard input; a file is
/// itself (whatever its name); a directory is every non-hidden file below it,
/// recursively, sorted by name at each level. Symbolic links are followed; a
/// directory already visited (a symlink loop, or the same directory reached
/// twice) is skipped, as are dangling links inside directories. A
/// subdirectory that cannot be listed is returned as an input, so that
/// reading it reports the problem.
///
/// A path that does not exist is an error naming it.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<InputFile>, IngestError> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(InputFile::stdin());
            continue;
        }
        let md = fs::metadata(p).map_err(|e| arg_error(p, e))?;
        if md.is_dir() {
            walk(p, &mut seen, &mut out);
        } else {
            out.push(InputFile::from_path(p));
        }
    }
    Ok(out)
}

fn arg_error(p: &Path, e: io::Error) -> IngestError {
    let path = p.display().to_string();
    if e.kind() == io::ErrorKind::NotFound {
        IngestError::NotFound { path }
    } else {
        IngestError::Unreadable { path, source: e }
    }
}

fn walk(dir: &Path, seen: &mut HashSet<PathBuf>, out: &mut Vec<InputFile>) {
    let Ok(canonical) = fs::canonicalize(dir) else {
        return;
    };
    if !seen.insert(canonical) {
        return;
    }
    let entries = match fs::read_dir(dir).and_then(|rd| rd.collect::<Result<Vec<_>, _>>()) {
        Ok(e) => e,
        Err(_) => {
            out.push(InputFile::from_path(dir));
            return;
        }
    };
    let mut entries: Vec<(std::ffi::OsString, PathBuf)> = entries
        .into_iter()
        .map(|e| (e.file_name(), e.path()))
        .collect();
    entries.sort();
    for (name, path) in entries {
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        // Follows links; fails for dangling links and link loops.
        let Ok(md) = fs::metadata(&path) else {
            continue;
        };
        if md.is_dir() {
            walk(&path, seen, out);
        } else if md.is_file() {
            out.push(InputFile::from_path(path));
        }
    }
}
