//! Path expansion and reading several inputs.

use crate::util::data;
use idrecon_ingest::{IngestError, IngestOptions, InputFile, expand_paths, read_all};
use std::fs;
use std::path::PathBuf;

#[test]
fn directories_are_walked_sorted_skipping_hidden_and_loops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    fs::create_dir_all(root.join("sub/.hidden")).expect("mkdir");
    fs::create_dir_all(root.join("a-dir")).expect("mkdir");
    for f in [
        "b.json",
        "a-dir/z.ndjson",
        "sub/c.csv",
        "sub/.secret.json",
        "sub/.hidden/d.json",
        ".top.json",
    ] {
        fs::write(root.join(f), b"[]").expect("write");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink("..", root.join("sub/loop")).expect("symlink"); // back to the root
        symlink("self", root.join("sub/self")).expect("symlink"); // a link to itself
        symlink("nowhere", root.join("sub/dangling")).expect("symlink");
    }
    let files = expand_paths(&[root.to_path_buf()]).expect("expands");
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.path
                .as_deref()
                .and_then(|p| p.strip_prefix(root).ok())
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(names, ["a-dir/z.ndjson", "b.json", "sub/c.csv"]);
}

#[test]
fn stdin_explicit_files_and_missing_paths() {
    let hidden = data("la_signins.ndjson");
    let files = expand_paths(&[PathBuf::from("-"), hidden.clone()]).expect("expands");
    assert_eq!(files[0], InputFile::stdin());
    assert_eq!(files[0].display, "<stdin>");
    assert_eq!(files[1].path.as_deref(), Some(hidden.as_path()));

    let err = expand_paths(&[PathBuf::from("/no/such/dir/signins.json")]).expect_err("missing");
    assert!(matches!(err, IngestError::NotFound { .. }));
    let msg = err.to_string();
    assert!(msg.contains("/no/such/dir/signins.json"), "{msg}");
    assert!(msg.contains("check the path"), "{msg}");
}

#[test]
fn read_all_numbers_files_and_totals_reconcile() {
    let files: Vec<InputFile> = [
        "la_signins.ndjson",
        "graph_audits_page.json",
        "no-such-file.json",
    ]
    .iter()
    .map(|f| InputFile::from_path(data(f)))
    .collect();
    let mut events = Vec::new();
    let report =
        read_all(&files, &IngestOptions::default(), &mut |e| events.push(e)).expect("lenient");
    assert_eq!(report.files.len(), 3);
    let per_file: Vec<u32> = events.iter().map(|e| e.origin.file).collect();
    assert_eq!(per_file, [0, 0, 0, 0, 1, 1, 1]);
    let t = report.totals();
    assert_eq!((t.read, t.used, t.rejected), (7, 7, 0));
    assert!(t.reconciles());
    let missing = &report.files[2];
    assert!(
        missing
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("cannot open")),
        "{missing:?}"
    );
    assert_eq!(missing.shape, "unrecognised");

    let strict = IngestOptions {
        strict: true,
        ..IngestOptions::default()
    };
    // A directory handed straight to read_file is a file-level problem.
    let dir = [InputFile::from_path(data(""))];
    let r = read_all(&dir, &IngestOptions::default(), &mut |_| {}).expect("lenient");
    let note = r.files[0].error.as_deref().unwrap_or_default();
    assert!(note.contains("is a directory"), "{note}");

    let err = read_all(&files, &strict, &mut |_| {}).expect_err("strict");
    assert!(
        err.to_string().contains("no-such-file.json: cannot open"),
        "{err}"
    );
}
