//! The HTML report: self-contained, escaped, and rendered by a real browser
//! (headless Chromium: DOM and a non-blank screenshot).

mod report_common;

use report_common::*;
use std::path::Path;

fn html_report(args: &[&str], inputs: &[&Path], out: &Path) -> String {
    let mut c = idrecon();
    c.args(["hunt", "--format", "html", "-q", "--no-allowlist", "-o"])
        .arg(out)
        .args(args);
    for i in inputs {
        c.arg(i);
    }
    let o = c.output().expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out).expect("report written")
}

#[test]
fn examples_report_is_self_contained_and_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report.html");
    let h = html_report(&[], &[&root().join("examples")], &out);
    // One document, no script, nothing loaded from anywhere.
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(
        h.contains(
            r#"<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;"#
        ) || h
            .contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'")
    );
    for bad in [
        "<script", "<link", "<img", "<iframe", "<object", "url(", "@import", " src=", " on",
    ] {
        let lower = h.to_lowercase();
        assert!(
            !lower.contains(bad) || (bad == " on" && !has_event_handler(&lower)),
            "report contains {bad:?}"
        );
    }
    // Summary, charts, findings, inputs, rule parameters.
    for part in [
        "id=\"summary\"",
        "Detections by severity",
        "Credential-confirmed accounts",
        "Exposed accounts",
        "Timeline per source",
        "Distinct accounts per source",
        "Not-found / exists differential per source",
        "Top targeted accounts",
        "id=\"inputs\"",
        "Windows event XML",
        "id=\"rules\"",
        "not_found_codes",
        "Investigation guide",
        "@media print",
    ] {
        assert!(h.contains(part), "missing {part}");
    }
    assert_eq!(h.matches("<article class=\"card finding").count(), 5);
    // 5 timelines + 3 summary charts.
    assert_eq!(h.matches("<svg").count(), 8);
    assert!(h.contains("threshold 15"));
    assert!(h.contains("megan.bowen@contoso.com"));
    assert!(h.contains("T1589.002"));
}

/// An `on…=` attribute anywhere in a tag.
fn has_event_handler(lower_html: &str) -> bool {
    let mut rest = lower_html;
    while let Some(i) = rest.find('<') {
        let tag_end = rest[i..].find('>').map_or(rest.len(), |j| i + j);
        let tag = &rest[i..tag_end];
        if tag
            .split(|c: char| c.is_whitespace())
            .skip(1)
            .any(|a| a.starts_with("on") && a.contains('='))
        {
            return true;
        }
        rest = &rest[tag_end.min(rest.len())..];
        if rest.len() <= 1 {
            break;
        }
        rest = &rest[1..];
    }
    false
}

#[test]
fn hostile_strings_are_text_in_the_html_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = hostile_input(dir.path());
    let out = dir.path().join("hostile.html");
    let h = html_report(&[], &[&input], &out);
    let lower = h.to_lowercase();
    assert!(!lower.contains("<script"), "a script element got through");
    assert!(!lower.contains("<img"), "an img element got through");
    assert!(!lower.contains("<svg onload"), "an svg element got through");
    assert!(!has_event_handler(&lower), "an event handler got through");
    assert!(!h.contains('\u{1b}'), "raw ESC in the report");
    assert!(
        h.contains("&lt;script&gt;document.title"),
        "escaped script text missing"
    );
    assert!(h.contains("onerror&#61;") || h.contains("onerror="));
    assert!(h.contains("\\u{1b}[31mred"), "ANSI escape shown as text");
}

#[test]
fn chromium_renders_the_report() {
    let Some(chrome) = require(
        chromium(),
        "chromium is not installed (apt-get install chromium)",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report.html");
    html_report(&[], &[&root().join("examples")], &out);
    let dom = chromium_run(&chrome, &out, "--dump-dom", "1280,2000");
    assert!(dom.contains("id=\"summary\""), "{dom}");
    assert!(dom.contains("Detections by severity"));
    assert_eq!(dom.matches("<svg").count(), 8, "charts in the DOM");
    assert!(dom.contains("class=\"bar\""), "timeline bars in the DOM");
    assert!(dom.contains("class=\"thr\""), "threshold line in the DOM");
    assert_eq!(
        dom.matches("class=\"card finding").count(),
        5,
        "finding cards"
    );
    assert!(dom.contains("megan.bowen@contoso.com"));

    let png = dir.path().join("report.png");
    chromium_run(
        &chrome,
        &out,
        &format!("--screenshot={}", png.display()),
        "1280,1600",
    );
    let (w, h, spread, dark) = png_stats(&png);
    assert!(w >= 1000 && h >= 1000, "screenshot {w}x{h}");
    assert!(
        spread > 100.0,
        "screenshot looks blank (luminance variance {spread})"
    );
    assert!(dark > 0.01, "screenshot has almost no ink ({dark})");
}

#[test]
fn chromium_executes_nothing_from_hostile_input() {
    let Some(chrome) = require(
        chromium(),
        "chromium is not installed (apt-get install chromium)",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // Control: the same payloads unescaped in a page without CSP do run, so
    // the checks below would see an injection.
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        format!(
            "<!DOCTYPE html><html><head><title>t</title></head><body>{}{}</body></html>",
            HOSTILE_USERS[1], HOSTILE_AGENTS[0]
        ),
    )
    .expect("write");
    let c = chromium_run(&chrome, &control, "--dump-dom", "800,600");
    assert!(
        c.contains("data-pwned=\"1\""),
        "control payload did not run: {c}"
    );
    assert!(
        c.contains("<title>PWNED</title>"),
        "control script did not run: {c}"
    );

    let input = hostile_input(dir.path());
    let out = dir.path().join("hostile.html");
    html_report(&[], &[&input], &out);
    let dom = chromium_run(&chrome, &out, "--dump-dom", "1280,2000");
    let lower = dom.to_lowercase();
    // Nothing ran: the payloads would set the title or a body attribute.
    // (The payload text itself mentions data-pwned; an executed one leaves
    // the attribute on <body>.)
    assert!(!lower.contains("data-pwned=\""), "an injected handler ran");
    assert!(!dom.contains("<title>PWNED"), "an injected script ran");
    assert!(
        !lower.contains("<script"),
        "a script element exists in the DOM"
    );
    assert!(!lower.contains("<img"), "an img element exists in the DOM");
    assert!(
        !has_event_handler(&lower),
        "an element with an event handler exists"
    );
    // And the hostile strings are shown as text.
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned-user'&lt;/script&gt;@x.com"),
        "user name text"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='PWNED'&lt;/script&gt;"),
        "user agent text"
    );
    assert!(dom.contains("=cmd|' /c calc'!a0"), "formula text");
    assert!(dom.contains("\\u{1b}[31mred\\u{1b}[0m@x.com"), "ANSI text");
    assert!(
        dom.contains("class=\"card finding"),
        "the finding is rendered"
    );
}

/// Width, height, luminance variance and the share of dark pixels.
fn png_stats(p: &Path) -> (u32, u32, f64, f64) {
    let file = std::fs::File::open(p).expect("png");
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let ch = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let (mut n, mut sum, mut sq, mut dark) = (0f64, 0f64, 0f64, 0f64);
    for c in px.chunks(ch) {
        let l = if ch >= 3 {
            0.299 * f64::from(c[0]) + 0.587 * f64::from(c[1]) + 0.114 * f64::from(c[2])
        } else {
            f64::from(c[0])
        };
        n += 1.0;
        sum += l;
        sq += l * l;
        if l < 128.0 {
            dark += 1.0;
        }
    }
    let mean = sum / n;
    (info.width, info.height, sq / n - mean * mean, dark / n)
}
