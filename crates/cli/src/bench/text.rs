//! The report as text: the run, the counts, a latency table, what TLS negotiated, the CPU.

use std::collections::BTreeMap;
use std::io::{self, Write};

use tlskit::bench::{Percentiles, Report};

/// Milliseconds with as many decimals as their size deserves.
pub(super) fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v < 1.0 => format!("{v:.3}"),
        Some(v) if v < 100.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.1}"),
    }
}

/// `1.23 MiB`.
pub(super) fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

/// `TLSv1.3 64, TLSv1.2 3` (largest first), or `-`.
fn counts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "-".into();
    }
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
}

fn latency_row(out: &mut impl Write, name: &str, p: &Percentiles) -> io::Result<()> {
    writeln!(
        out,
        "  {name:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.p999),
        ms(p.max),
        p.count
    )
}

/// Write the text report.
pub(super) fn write(out: &mut impl Write, r: &Report) -> io::Result<()> {
    let s = &r.setup;
    let more = match s.urls.len() {
        0 | 1 => String::new(),
        n => format!(" and {} more URL{}", n - 1, if n > 2 { "s" } else { "" }),
    };
    writeln!(out, "tlskit bench {}{more}", s.urls.first().map(String::as_str).unwrap_or("-"))?;
    let mut shape = format!(
        "  {:.2} s, {} connection{}, {} thread{}, {}, {} offered",
        r.duration_s,
        s.connections,
        if s.connections == 1 { "" } else { "s" },
        s.threads,
        if s.threads == 1 { "" } else { "s" },
        s.mode,
        s.http
    );
    if s.streams > 1 {
        shape.push_str(&format!(", {} streams per connection", s.streams));
    }
    if let Some(rate) = s.rate {
        shape.push_str(&format!(", rate {rate}/s"));
    }
    if s.warmup_s > 0.0 {
        shape.push_str(&format!(", after {:.1} s of warm-up", s.warmup_s));
    }
    writeln!(out, "{shape}")?;
    writeln!(out)?;
    writeln!(out, "  requests      {} ({:.1}/s), {} failed, {} unfinished", r.requests, r.rps, r.failed, r.unfinished)?;
    writeln!(out, "  received      {} ({}/s)", bytes(r.bytes as f64), bytes(r.bytes_per_s))?;
    let h = &r.handshakes;
    writeln!(
        out,
        "  handshakes    {} full, {} resumed, {} after HelloRetryRequest ({:.1} full/s, {:.1} resumed/s)",
        h.full, h.resumed, h.hrr, h.per_s.full, h.per_s.resumed
    )?;
    let accepted = if h.resumption_attempted > 0 {
        format!(" ({:.1}%)", 100.0 * h.resumed as f64 / h.resumption_attempted as f64)
    } else {
        String::new()
    };
    writeln!(out, "  resumption    {} attempted, {} accepted{accepted}", h.resumption_attempted, h.resumed)?;
    writeln!(out)?;
    writeln!(
        out,
        "  {:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "count"
    )?;
    let l = &r.latency_ms;
    latency_row(out, "connect", &l.connect)?;
    latency_row(out, "handshake", &l.handshake)?;
    let corrected = if r.latency_uncorrected_ms.is_some() { " (corrected)" } else { "" };
    latency_row(out, &format!("ttfb{corrected}"), &l.ttfb)?;
    latency_row(out, &format!("request{corrected}"), &l.request)?;
    if let Some(u) = &r.latency_uncorrected_ms {
        latency_row(out, "ttfb (uncorrected)", &u.ttfb)?;
        latency_row(out, "request (uncorrected)", &u.request)?;
    }
    writeln!(out)?;
    writeln!(out, "  status        {}", counts(&r.status))?;
    writeln!(out, "  errors        {}", if r.errors.is_empty() { "none".into() } else { counts(&r.errors) })?;
    writeln!(out, "  TLS versions  {}", counts(&r.tls.versions))?;
    writeln!(out, "  suites        {}", counts(&r.tls.suites))?;
    writeln!(out, "  groups        {}", counts(&r.tls.groups))?;
    writeln!(out, "  ALPN          {}", counts(&r.tls.alpn))?;
    let per_request = r.cpu_ms_per_request().map(|v| format!(" ({v:.4} ms per request)")).unwrap_or_default();
    writeln!(out, "  CPU           {:.2} s{per_request}", r.cpu_s)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(ms(Some(0.1234)), "0.123");
        assert_eq!(ms(Some(12.345)), "12.35");
        assert_eq!(ms(Some(1234.5)), "1234.5");
        assert_eq!(ms(None), "-");
        assert_eq!(bytes(100.0), "100 B");
        assert_eq!(bytes(1536.0), "1.50 KiB");
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), 1);
        m.insert("a".to_string(), 5);
        assert_eq!(counts(&m), "a 5, b 1");
    }
}
