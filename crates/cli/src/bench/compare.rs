//! `--compare A.json B.json`: two saved reports side by side, with the ratio B/A.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use tlskit::bench::{Percentiles, Report};

use super::text::ms;

fn load(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a `tlskit bench --json` report", path.display()))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 => format!("{:.2}x", b / a),
        (Some(a), Some(b)) if a == 0.0 && b == 0.0 => "=".into(),
        _ => "-".into(),
    }
}

fn number(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) if v.abs() >= 100.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// Print the comparison.
pub(super) fn print(out: &mut impl Write, a_path: &Path, b_path: &Path) -> anyhow::Result<()> {
    let (a, b) = (load(a_path)?, load(b_path)?);
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    writeln!(out, "A: {} ({}, {}, {} connections)", a_path.display(), a.setup.mode, a.setup.http, a.setup.connections)?;
    writeln!(out, "B: {} ({}, {}, {} connections)", b_path.display(), b.setup.mode, b.setup.http, b.setup.connections)?;
    writeln!(out)?;
    writeln!(out, "  {:<28} {:>14} {:>14} {:>9}", "", name(a_path), name(b_path), "B/A")?;
    let mut row = |label: &str, x: Option<f64>, y: Option<f64>, shown: fn(Option<f64>) -> String| {
        writeln!(out, "  {label:<28} {:>14} {:>14} {:>9}", shown(x), shown(y), ratio(x, y))
    };
    let n = |v: u64| Some(v as f64);
    row("requests", n(a.requests), n(b.requests), number)?;
    row("failed", n(a.failed), n(b.failed), number)?;
    row("duration (s)", Some(a.duration_s), Some(b.duration_s), number)?;
    row("req/s", Some(a.rps), Some(b.rps), number)?;
    row("received bytes/s", Some(a.bytes_per_s), Some(b.bytes_per_s), number)?;
    row("handshakes full", n(a.handshakes.full), n(b.handshakes.full), number)?;
    row("handshakes resumed", n(a.handshakes.resumed), n(b.handshakes.resumed), number)?;
    row("handshakes after HRR", n(a.handshakes.hrr), n(b.handshakes.hrr), number)?;
    row("resumption attempted", n(a.handshakes.resumption_attempted), n(b.handshakes.resumption_attempted), number)?;
    row("full handshakes/s", Some(a.handshakes.per_s.full), Some(b.handshakes.per_s.full), number)?;
    row("resumed handshakes/s", Some(a.handshakes.per_s.resumed), Some(b.handshakes.per_s.resumed), number)?;
    let pairs: [(&str, &Percentiles, &Percentiles); 4] = [
        ("connect", &a.latency_ms.connect, &b.latency_ms.connect),
        ("handshake", &a.latency_ms.handshake, &b.latency_ms.handshake),
        ("ttfb", &a.latency_ms.ttfb, &b.latency_ms.ttfb),
        ("request", &a.latency_ms.request, &b.latency_ms.request),
    ];
    for (what, x, y) in pairs {
        for (q, vx, vy) in [("p50", x.p50, y.p50), ("p99", x.p99, y.p99), ("max", x.max, y.max)] {
            row(&format!("{what} {q} (ms)"), vx, vy, ms)?;
        }
    }
    if let (Some(x), Some(y)) = (&a.latency_uncorrected_ms, &b.latency_uncorrected_ms) {
        row("request p99 uncorrected (ms)", x.request.p99, y.request.p99, ms)?;
    }
    row("CPU (s)", Some(a.cpu_s), Some(b.cpu_s), number)?;
    row("CPU per request (ms)", a.cpu_ms_per_request(), b.cpu_ms_per_request(), number)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_b_over_a() {
        assert_eq!(ratio(Some(2.0), Some(3.0)), "1.50x");
        assert_eq!(ratio(Some(0.0), Some(0.0)), "=");
        assert_eq!(ratio(Some(0.0), Some(1.0)), "-");
        assert_eq!(ratio(None, Some(1.0)), "-");
        assert_eq!(number(Some(3.0)), "3");
        assert_eq!(number(Some(0.01234)), "0.0123");
    }
}
