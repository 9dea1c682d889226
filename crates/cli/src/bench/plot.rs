//! `--plot FILE.svg|FILE.html`: requests per second and p50/p99 latency over time, and the
//! latency percentile spectrum (HdrHistogram's plot), drawn with plotters' SVG backend. The
//! HTML form wraps the same SVG with a summary and the report's JSON.

use std::path::Path;

use anyhow::{anyhow, bail};
use plotters::prelude::*;
use tlskit::bench::Report;

use super::text::{bytes, ms};

/// Refuse a file name we cannot write before the run rather than after it.
pub(super) fn check_extension(path: &Path) -> anyhow::Result<()> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg" | "html" | "htm") => Ok(()),
        _ => bail!("--plot {}: the file name must end in .svg or .html", path.display()),
    }
}

const RPS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const P50: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const P99: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const UNCORRECTED: RGBColor = RGBColor(0x94, 0x67, 0xbd);

/// `90%`, `99%`, `99.9%` for 1, 2, 3 on the spectrum's axis (-log10 of the part above).
fn percent_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let decimals = (x.ceil() as i32 - 2).clamp(0, 6) as usize;
    format!("{p:.decimals$}%")
}

/// Where a percentile sits on the spectrum's axis; 100% (the maximum) one step past the last.
fn spectrum_x(percentile: f64, count: u64) -> f64 {
    let above = 1.0 - percentile / 100.0;
    let floor = 1.0 / (count.max(1) as f64);
    -(above.max(floor)).log10()
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing: {e}")
}

/// The three charts as one SVG document.
pub(super) fn svg(report: &Report) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (960, 1080)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = format!(
            "tlskit bench {} ({}, {} connections, {:.1} req/s)",
            report.setup.urls.first().map(String::as_str).unwrap_or("-"),
            report.setup.mode,
            report.setup.connections,
            report.rps
        );
        let root = root.titled(&title, ("sans-serif", 20)).map_err(err)?;
        let areas = root.split_evenly((3, 1));
        let half = report.timeline.interval_s / 2.0;
        let until = report.duration_s.max(report.timeline.interval_s);

        // Requests per second over time.
        let rps: Vec<(f64, f64)> = report.timeline.points.iter().map(|p| (p.t + half, p.rps)).collect();
        let top = rps.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(&areas[0])
            .caption("Requests per second", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..until, 0f64..top)
            .map_err(err)?;
        chart.configure_mesh().x_desc("seconds").y_desc("req/s").draw().map_err(err)?;
        chart
            .draw_series(LineSeries::new(rps, RPS.stroke_width(2)))
            .map_err(err)?
            .label("req/s")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RPS.stroke_width(2)));
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;

        // p50 and p99 over time.
        let series = |pick: fn(&tlskit::bench::TimelinePoint) -> Option<f64>| -> Vec<(f64, f64)> {
            report.timeline.points.iter().filter_map(|p| pick(p).map(|v| (p.t + half, v))).collect()
        };
        let p50 = series(|p| p.p50_ms);
        let p99 = series(|p| p.p99_ms);
        let top = p99.iter().chain(&p50).map(|p| p.1).fold(0.001, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(&areas[1])
            .caption("Request latency over time", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..until, 0f64..top)
            .map_err(err)?;
        chart.configure_mesh().x_desc("seconds").y_desc("ms").draw().map_err(err)?;
        for (name, points, color) in [("p50", p50, P50), ("p99", p99, P99)] {
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;

        // The percentile spectrum.
        let count = report.latency_ms.request.count;
        let corrected: Vec<(f64, f64)> =
            report.spectrum.iter().map(|p| (spectrum_x(p.percentile, count), p.ms)).collect();
        let uncorrected: Vec<(f64, f64)> = report
            .spectrum
            .iter()
            .filter_map(|p| p.uncorrected_ms.map(|v| (spectrum_x(p.percentile, count), v)))
            .collect();
        let right = corrected.iter().map(|p| p.0).fold(1.0, f64::max);
        let top = corrected.iter().chain(&uncorrected).map(|p| p.1).fold(0.001, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(&areas[2])
            .caption("Request latency by percentile", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..right, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("ms")
            .x_label_formatter(&|x| percent_label(*x))
            .draw()
            .map_err(err)?;
        let label = if uncorrected.is_empty() { "request" } else { "request (corrected)" };
        chart
            .draw_series(LineSeries::new(corrected, RPS.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RPS.stroke_width(2)));
        if !uncorrected.is_empty() {
            chart
                .draw_series(LineSeries::new(uncorrected, UNCORRECTED.stroke_width(2)))
                .map_err(err)?
                .label("request (uncorrected)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], UNCORRECTED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A page with a summary, the SVG inline and the report's JSON.
pub(super) fn html(report: &Report) -> anyhow::Result<String> {
    let svg = svg(report)?;
    let h = &report.handshakes;
    let l = &report.latency_ms.request;
    let rows = [
        ("URL", report.setup.urls.join(" ")),
        (
            "run",
            format!(
                "{:.2} s, {} connections, {}, {}",
                report.duration_s, report.setup.connections, report.setup.mode, report.setup.http
            ),
        ),
        ("requests", format!("{} ({:.1}/s), {} failed", report.requests, report.rps, report.failed)),
        ("received", format!("{} ({}/s)", bytes(report.bytes as f64), bytes(report.bytes_per_s))),
        (
            "handshakes",
            format!(
                "{} full, {} resumed, {} after HelloRetryRequest; {} resumptions attempted",
                h.full, h.resumed, h.hrr, h.resumption_attempted
            ),
        ),
        (
            "request latency (ms)",
            format!("p50 {} p90 {} p99 {} p99.9 {} max {}", ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max)),
        ),
        ("CPU", format!("{:.2} s", report.cpu_s)),
    ];
    let table: String =
        rows.iter().map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>\n", escape(k), escape(v))).collect();
    // Inside <script>, only "</" could end the element early.
    let json = serde_json::to_string(report)?.replace("</", "<\\/");
    let title = escape(&format!("tlskit bench {}", report.setup.urls.first().map(String::as_str).unwrap_or("")));
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>body{{font-family:sans-serif;margin:1em 2em}}th{{text-align:left;padding-right:1em}}</style>\n\
         </head>\n<body>\n<h1>{title}</h1>\n<table id=\"summary\">\n{table}</table>\n\
         <figure id=\"plot\">\n{svg}\n</figure>\n<script type=\"application/json\" id=\"report\">{json}</script>\n\
         </body>\n</html>\n"
    ))
}

/// Write the plot in the form the file name asks for.
pub(super) fn write(path: &Path, report: &Report) -> anyhow::Result<()> {
    check_extension(path)?;
    let svg_file = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let text = if svg_file { svg(report)? } else { html(report)? };
    std::fs::write(path, text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_axis_reads_in_nines() {
        assert_eq!(percent_label(0.0), "0%");
        assert_eq!(percent_label(1.0), "90%");
        assert_eq!(percent_label(2.0), "99%");
        assert_eq!(percent_label(3.0), "99.9%");
        assert!((spectrum_x(99.0, 1000) - 2.0).abs() < 1e-9);
        assert!((spectrum_x(100.0, 1000) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn empty_report_still_draws() {
        let svg = svg(&Report::default()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60.min(svg.len())]);
        assert!(html(&Report::default()).unwrap().contains("<figure id=\"plot\">"));
    }
}
