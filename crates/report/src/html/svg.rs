//! Hand-written inline SVG charts: no script, no external assets; colours
//! come from CSS classes of the page's style sheet. Every text that can come
//! from the input (sources, accounts, user agents) goes through
//! [`crate::escape::html`], in element text and in attributes alike.

use crate::escape::html;
use std::fmt::Write;

/// One time bucket of a source's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Bucket start, seconds since the epoch.
    pub t: i64,
    /// Events counted in the bucket.
    pub failures: u64,
    /// Distinct accounts in the bucket.
    pub accounts: u64,
    /// Distinct accounts of the episode up to the end of this bucket, when
    /// known (running sum of accounts first seen in each bucket).
    pub cumulative: Option<u64>,
}

/// A per-source activity series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Bucket length in seconds (60 = per minute).
    pub bucket: i64,
    /// Buckets in time order; missing buckets count as empty.
    pub points: Vec<Point>,
    /// The series was estimated from the finding's totals (no per-bucket
    /// data): the chart says so.
    pub estimated: bool,
}

/// Markers drawn over a timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// The rule's threshold on distinct accounts.
    pub threshold: Option<u64>,
    /// When the threshold was crossed (seconds).
    pub crossed_at: Option<i64>,
    /// The busiest window (seconds, start and end).
    pub peak: Option<(i64, i64)>,
}

/// One bar of a horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Row label (attacker-controlled text is fine: it is escaped).
    pub label: String,
    /// Value.
    pub value: f64,
    /// CSS class of the bar (`sev-high`, `acct-confirmed`, …).
    pub class: String,
    /// Optional tick (e.g. the rule threshold) on this row.
    pub tick: Option<f64>,
    /// Tooltip.
    pub title: String,
}

/// One row of the not-found / exists differential chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Row label.
    pub label: String,
    /// Distinct accounts answered "does not exist".
    pub not_found: u64,
    /// Distinct accounts proved to exist (including confirmed ones).
    pub exists: u64,
    /// Of those, accounts whose password was accepted.
    pub confirmed: u64,
}

const W: f64 = 760.0;

fn hhmm(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| {
            let s = ts.to_string();
            s.get(11..16).unwrap_or(&s).to_string()
        })
        .unwrap_or_default()
}

fn hhmmss(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| {
            let s = ts.to_string();
            s.get(11..19).unwrap_or(&s).to_string()
        })
        .unwrap_or_default()
}

/// Cuts a label to `max` characters (with `…`).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// A "nice" axis maximum ≥ v (1, 2, 5 × 10^n).
fn nice(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// Merges buckets so that at most `max` remain (display only).
fn coarsen(s: &Series, max: usize) -> Series {
    let (first, last) = match (s.points.first(), s.points.last()) {
        (Some(a), Some(b)) => (a.t, b.t),
        _ => return s.clone(),
    };
    let n = ((last - first) / s.bucket.max(1) + 1).max(1) as usize;
    if n <= max {
        return s.clone();
    }
    let factor = n.div_ceil(max) as i64;
    let bucket = s.bucket * factor;
    let mut out: Vec<Point> = Vec::new();
    for p in &s.points {
        let t = first + (p.t - first) / bucket * bucket;
        match out.last_mut() {
            Some(q) if q.t == t => {
                q.failures += p.failures;
                q.accounts += p.accounts;
                q.cumulative = p.cumulative.or(q.cumulative);
            }
            _ => out.push(Point { t, ..*p }),
        }
    }
    Series {
        bucket,
        points: out,
        estimated: s.estimated,
    }
}

fn bucket_name(secs: i64) -> String {
    match secs {
        60 => "minute".to_string(),
        3600 => "hour".to_string(),
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} s"),
    }
}

/// Timeline of one source: events per bucket (bars, left axis), distinct
/// accounts (line, right axis: cumulative over the episode when known),
/// the rule threshold (dashed), the threshold crossing and the peak window.
pub fn timeline(series: &Series, marks: &Marks, label: &str) -> String {
    let s = coarsen(series, 240);
    let (h, ml, mr, mt, mb) = (230.0, 48.0, 52.0, 30.0, 36.0);
    let pw = W - ml - mr;
    let ph = h - mt - mb;
    let mut o = String::new();
    let aria = format!(
        "Timeline of {}: events per {} and distinct accounts",
        label,
        bucket_name(s.bucket)
    );
    let _ = write!(
        o,
        r#"<svg class="chart timeline" viewBox="0 0 {W} {h}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        html(&aria),
        html(&aria)
    );
    let (t0, t1) = match (s.points.first(), s.points.last()) {
        (Some(a), Some(b)) => (a.t, b.t + s.bucket),
        _ => {
            let _ = write!(
                o,
                r#"<text x="{}" y="{}" class="muted">no activity data</text></svg>"#,
                W / 2.0 - 50.0,
                h / 2.0
            );
            return o;
        }
    };
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| ml + (t - t0) as f64 / span * pw;
    let max_f = nice(s.points.iter().map(|p| p.failures).max().unwrap_or(1) as f64);
    let use_cum = s.points.iter().all(|p| p.cumulative.is_some());
    let acc = |p: &Point| {
        if use_cum {
            p.cumulative.unwrap_or(0)
        } else {
            p.accounts
        }
    };
    let max_a = nice(
        s.points
            .iter()
            .map(acc)
            .max()
            .unwrap_or(1)
            .max(marks.threshold.unwrap_or(0)) as f64,
    );
    let yf = |v: f64| mt + ph - v / max_f * ph;
    let ya = |v: f64| mt + ph - v / max_a * ph;

    // Legend.
    let line_name = if use_cum {
        "distinct accounts (cumulative)"
    } else {
        "distinct accounts per bucket"
    };
    let _ = write!(
        o,
        r#"<g class="legend"><rect x="{ml}" y="8" width="10" height="10" class="bar"/><text x="{}" y="17">events per {}</text><line x1="{}" y1="13" x2="{}" y2="13" class="line"/><text x="{}" y="17">{line_name}</text>"#,
        ml + 14.0,
        bucket_name(s.bucket),
        ml + 170.0,
        ml + 190.0,
        ml + 194.0,
    );
    if marks.threshold.is_some() {
        let _ = write!(
            o,
            r#"<line x1="{}" y1="13" x2="{}" y2="13" class="thr"/><text x="{}" y="17">threshold</text>"#,
            ml + 400.0,
            ml + 420.0,
            ml + 424.0
        );
    }
    if s.estimated {
        let _ = write!(
            o,
            r#"<text x="{}" y="17" class="est">estimated from totals</text>"#,
            W - mr - 120.0
        );
    }
    o.push_str("</g>");

    // Peak window.
    if let Some((a, b)) = marks.peak {
        let (xa, xb) = (x(a.max(t0)), x(b.min(t1)).max(x(a.max(t0)) + 2.0));
        let _ = write!(
            o,
            r#"<rect class="peak" x="{xa:.1}" y="{mt}" width="{:.1}" height="{ph}"><title>busiest window {} – {}</title></rect>"#,
            xb - xa,
            hhmmss(a),
            hhmmss(b)
        );
    }
    // Axes and grid.
    let _ = write!(
        o,
        r#"<g class="axis"><line x1="{ml}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
        mt + ph,
        ml + pw,
        mt + ph
    );
    for i in 0..=2 {
        let v = max_f * i as f64 / 2.0;
        let _ = write!(
            o,
            r#"<line class="grid" x1="{ml}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            ml + pw,
            ml - 4.0,
            yf(v) + 3.0,
            fmt_num(v),
            y = yf(v)
        );
        let va = max_a * i as f64 / 2.0;
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" class="acc">{}</text>"#,
            ml + pw + 4.0,
            ya(va) + 3.0,
            fmt_num(va)
        );
    }
    let ticks = 4;
    let fine = t1 - t0 <= 10 * 60;
    for i in 0..=ticks {
        let t = t0 + (t1 - t0) * i / ticks;
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(t),
            mt + ph + 14.0,
            if fine { hhmmss(t) } else { hhmm(t) }
        );
    }
    let _ = write!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">UTC</text></g>"#,
        ml + pw / 2.0,
        mt + ph + 28.0
    );

    // Bars.
    let bw = (s.bucket as f64 / span * pw).max(1.0);
    o.push_str(r#"<g class="bars">"#);
    for p in &s.points {
        if p.failures == 0 {
            continue;
        }
        let y = yf(p.failures as f64);
        let _ = write!(
            o,
            r#"<rect class="bar" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{} — {} event(s), {} account(s)</title></rect>"#,
            x(p.t) + 0.5,
            (bw - 1.0).max(0.8),
            mt + ph - y,
            hhmm(p.t),
            p.failures,
            p.accounts
        );
    }
    o.push_str("</g>");

    // Accounts line.
    // Cumulative counts are drawn at the end of each bucket, from zero at
    // the start; per-bucket counts at the middle of their bucket.
    let mut pts = String::new();
    if use_cum {
        let _ = write!(pts, "{:.1},{:.1} ", x(t0), ya(0.0));
    }
    for p in &s.points {
        let px = if use_cum {
            x(p.t + s.bucket)
        } else {
            x(p.t) + bw / 2.0
        };
        let _ = write!(pts, "{:.1},{:.1} ", px, ya(acc(p) as f64));
    }
    let _ = write!(o, r#"<polyline class="line" points="{}"/>"#, pts.trim_end());

    // Threshold.
    if let Some(th) = marks.threshold {
        let y = ya(th as f64);
        let _ = write!(
            o,
            r#"<line class="thr" x1="{ml}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="thr-label" x="{:.1}" y="{:.1}" text-anchor="end">threshold {th}</text>"#,
            ml + pw,
            ml + pw - 2.0,
            y - 3.0
        );
    }
    if let Some(c) = marks.crossed_at {
        let xc = x(c.clamp(t0, t1));
        let _ = write!(
            o,
            r#"<line class="cross" x1="{xc:.1}" y1="{mt}" x2="{xc:.1}" y2="{:.1}"/><text class="cross-label" x="{:.1}" y="{:.1}">crossed {}</text>"#,
            mt + ph,
            xc + 3.0,
            mt + 10.0,
            hhmmss(c)
        );
    }
    o.push_str("</svg>");
    o
}

/// Horizontal bars, one row per item, with optional per-row ticks.
pub fn hbars(rows: &[Bar], aria: &str, unit: &str) -> String {
    let row_h = 22.0;
    let (ml, mr, mt) = (250.0, 60.0, 8.0);
    let h = mt + row_h * rows.len().max(1) as f64 + 8.0;
    let pw = W - ml - mr;
    let max = nice(
        rows.iter()
            .map(|r| r.value.max(r.tick.unwrap_or(0.0)))
            .fold(1.0, f64::max),
    );
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="chart bars" viewBox="0 0 {W} {h}" width="100%" role="img" aria-label="{a}" xmlns="http://www.w3.org/2000/svg"><title>{a}</title>"#,
        a = html(aria)
    );
    if rows.is_empty() {
        let _ = write!(
            o,
            r#"<text x="10" y="20" class="muted">nothing to show</text>"#
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = mt + row_h * i as f64;
        let w = (r.value / max * pw).max(if r.value > 0.0 { 1.5 } else { 0.0 });
        let _ = write!(
            o,
            r#"<g class="row"><title>{}</title><text x="{:.1}" y="{:.1}" text-anchor="end" class="lbl">{}</text><rect class="{}" x="{ml}" y="{:.1}" width="{w:.1}" height="{:.1}"/><text x="{:.1}" y="{:.1}" class="val">{} {}</text>"#,
            html(&r.title),
            ml - 6.0,
            y + 15.0,
            html(&clip(&r.label, 40)),
            html(&r.class),
            y + 4.0,
            row_h - 8.0,
            ml + w + 4.0,
            y + 15.0,
            fmt_num(r.value),
            html(unit)
        );
        if let Some(t) = r.tick {
            let xt = ml + t / max * pw;
            let _ = write!(
                o,
                r#"<line class="tick" x1="{xt:.1}" y1="{:.1}" x2="{xt:.1}" y2="{:.1}"/>"#,
                y + 1.0,
                y + row_h - 1.0
            );
        }
        o.push_str("</g>");
    }
    o.push_str("</svg>");
    o
}

/// The not-found / exists differential: one stacked bar per source.
pub fn differential(rows: &[Split], aria: &str) -> String {
    let row_h = 24.0;
    let (ml, mr, mt) = (250.0, 120.0, 26.0);
    let h = mt + row_h * rows.len().max(1) as f64 + 8.0;
    let pw = W - ml - mr;
    let max = nice(
        rows.iter()
            .map(|r| (r.not_found + r.exists) as f64)
            .fold(1.0, f64::max),
    );
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="chart diff" viewBox="0 0 {W} {h}" width="100%" role="img" aria-label="{a}" xmlns="http://www.w3.org/2000/svg"><title>{a}</title>"#,
        a = html(aria)
    );
    let _ = write!(
        o,
        r#"<g class="legend"><rect x="{ml}" y="6" width="10" height="10" class="nf"/><text x="{}" y="15">does not exist</text><rect x="{}" y="6" width="10" height="10" class="ex"/><text x="{}" y="15">exists</text><rect x="{}" y="6" width="10" height="10" class="cc"/><text x="{}" y="15">password accepted</text></g>"#,
        ml + 14.0,
        ml + 120.0,
        ml + 134.0,
        ml + 200.0,
        ml + 214.0
    );
    if rows.is_empty() {
        let _ = write!(
            o,
            r#"<text x="10" y="{}" class="muted">no finding reports the differential</text>"#,
            mt + 14.0
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = mt + row_h * i as f64;
        let sc = |v: u64| v as f64 / max * pw;
        let confirmed = r.confirmed.min(r.exists);
        let (w_nf, w_ex, w_cc) = (sc(r.not_found), sc(r.exists - confirmed), sc(confirmed));
        let total = r.not_found + r.exists;
        let ratio = if total > 0 {
            format!(
                "{:.0}% not found",
                r.not_found as f64 * 100.0 / total as f64
            )
        } else {
            String::new()
        };
        let _ = write!(
            o,
            r#"<g class="row"><title>{}: {} not found, {} exist, {} password accepted</title><text x="{:.1}" y="{:.1}" text-anchor="end" class="lbl">{}</text><rect class="nf" x="{ml}" y="{:.1}" width="{w_nf:.1}" height="14"/><rect class="ex" x="{:.1}" y="{:.1}" width="{w_ex:.1}" height="14"/><rect class="cc" x="{:.1}" y="{:.1}" width="{w_cc:.1}" height="14"/><text x="{:.1}" y="{:.1}" class="val">{} / {} {}</text></g>"#,
            html(&r.label),
            r.not_found,
            r.exists,
            confirmed,
            ml - 6.0,
            y + 15.0,
            html(&clip(&r.label, 40)),
            y + 4.0,
            ml + w_nf,
            y + 4.0,
            ml + w_nf + w_ex,
            y + 4.0,
            ml + w_nf + w_ex + w_cc + 4.0,
            y + 15.0,
            r.not_found,
            r.exists,
            ratio
        );
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        Series {
            bucket: 60,
            points: (0..5)
                .map(|i| Point {
                    t: 1_714_557_600 + i * 60,
                    failures: (i + 1) as u64,
                    accounts: 1,
                    cumulative: Some((i + 1) as u64 * 3),
                })
                .collect(),
            estimated: false,
        }
    }

    #[test]
    fn timeline_draws_bars_line_threshold_and_marks() {
        let svg = timeline(
            &series(),
            &Marks {
                threshold: Some(10),
                crossed_at: Some(1_714_557_800),
                peak: Some((1_714_557_600, 1_714_557_840)),
            },
            "<b>src</b>",
        );
        assert_eq!(svg.matches(r#"<rect class="bar""#).count(), 5);
        assert!(svg.contains(r#"class="line""#));
        assert!(svg.contains("threshold 10"));
        assert!(svg.contains("crossed 10:03:20"));
        assert!(svg.contains(r#"class="peak""#));
        assert!(svg.contains("&lt;b&gt;src&lt;/b&gt;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn long_series_are_coarsened() {
        let s = Series {
            bucket: 60,
            points: (0..1440)
                .map(|i| Point {
                    t: i * 60,
                    failures: 1,
                    accounts: 1,
                    cumulative: None,
                })
                .collect(),
            estimated: true,
        };
        let c = coarsen(&s, 240);
        assert!(c.points.len() <= 240);
        assert_eq!(c.points.iter().map(|p| p.failures).sum::<u64>(), 1440);
        assert!(timeline(&s, &Marks::default(), "x").contains("estimated"));
    }

    #[test]
    fn bars_escape_labels() {
        let svg = hbars(
            &[Bar {
                label: "\"><img src=x onerror=alert(1)>".into(),
                value: 3.0,
                class: "sev-high".into(),
                tick: Some(2.0),
                title: "<script>".into(),
            }],
            "a",
            "accounts",
        );
        assert!(!svg.contains("<img") && !svg.contains("<script"));
        assert!(svg.contains(r#"class="tick""#));
        let d = differential(
            &[Split {
                label: "x".into(),
                not_found: 3,
                exists: 1,
                confirmed: 1,
            }],
            "d",
        );
        assert!(d.contains("75% not found"));
    }

    #[test]
    fn nice_numbers() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(24.0), 50.0);
        assert_eq!(nice(100.0), 100.0);
    }
}
