//! Shared helpers of the report tests: the binary, fixtures with hostile
//! strings, and the external tools (Chromium, the OCSF validator) with the
//! skip-outside-CI / fail-under-CI rule.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `idrecon` run from the workspace root, without allowlists or colour
/// variables from the environment.
pub fn idrecon() -> Command {
    let mut c = Command::cargo_bin("idrecon").expect("binary");
    c.current_dir(root());
    c.env_remove("NO_COLOR");
    c.env_remove("IDRECON_REDACT_KEY");
    c
}

/// True under CI (`CI=true`): missing tools fail the test instead of
/// skipping it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (returns `None` after printing why) outside CI, panics under CI.
pub fn require<T>(what: Option<T>, why: &str) -> Option<T> {
    if what.is_none() {
        if in_ci() {
            panic!("{why} (required under CI=true)");
        }
        eprintln!("skipping: {why}");
    }
    what
}

/// Hostile account names and user agents (what an attacker controls).
pub const HOSTILE_USERS: &[&str] = &[
    "<script>document.title='pwned-user'</script>@x.com",
    "\"><img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
    "=cmd|' /C calc'!A0",
    "\u{1b}[31mred\u{1b}[0m@x.com",
    "'><svg onload=alert(1)>@x.com",
];

/// Hostile user agents.
pub const HOSTILE_AGENTS: &[&str] = &[
    "<script>document.title='PWNED'</script>",
    "\"><img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">",
    "\u{1b}]0;pwned\u{7}\u{1b}[2J",
];

/// Writes an Entra sign-in export (Log Analytics rows) in which one source
/// probes 20 accounts, the first ones with hostile names and user agents,
/// some answered "exists", one password accepted (MFA interrupt).
pub fn hostile_input(dir: &Path) -> PathBuf {
    let mut s = String::new();
    for i in 0..20 {
        let user = match HOSTILE_USERS.get(i) {
            Some(u) => u.to_string(),
            None => format!("victim{i}@x.com"),
        };
        let ua = HOSTILE_AGENTS[i % HOSTILE_AGENTS.len()];
        let code = match i {
            5..=7 => "50126",
            8 => "50076",
            _ => "50034",
        };
        let row = serde_json::json!({
            "TimeGenerated": format!("2024-05-01T10:{:02}:{:02}Z", i / 4, (i % 4) * 15),
            "Type": "SigninLogs", "ResultType": code, "UserPrincipalName": user,
            "IPAddress": "203.0.113.9", "AppDisplayName": "=HYPERLINK(\"http://x\")",
            "UserAgent": ua, "ResultDescription": "x",
            "OriginalRequestId": format!("req-{i}"),
        });
        s.push_str(&row.to_string());
        s.push('\n');
    }
    let p = dir.join("hostile.ndjson");
    std::fs::write(&p, s).expect("write");
    p
}

/// The Chromium binary: `$CHROMIUM`, else `chromium` / `chromium-browser`
/// on the PATH.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs headless Chromium on `html` with `mode` (`--dump-dom` or
/// `--screenshot=FILE`), the flags of shared/docs/VALIDATORS.md; returns
/// standard output.
pub fn chromium_run(chrome: &Path, html: &Path, mode: &str, size: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = std::process::Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={size}"))
        .arg(mode)
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
