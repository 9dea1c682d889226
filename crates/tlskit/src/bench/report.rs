//! The report of a run: one value with stable field names, which `tlskit bench --json` prints
//! as it is (docs/bench-json.md lists every key) and the text, plot and compare forms read.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::stats::WorkerStats;

/// Percentiles of one latency, in milliseconds (None when nothing was measured).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// How many values were recorded.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Percentiles {
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| Some(us as f64 / 1000.0);
        Percentiles {
            count: h.len(),
            mean: Some(h.mean() / 1000.0),
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// Handshakes by kind, as rustls reported them, and per second of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Handshakes {
    /// Full handshakes without a HelloRetryRequest.
    pub full: u64,
    /// Resumed sessions (TLS 1.3 PSK, TLS 1.2 ticket or session ID): the resumptions the server accepted.
    pub resumed: u64,
    /// Full handshakes after a HelloRetryRequest.
    pub hrr: u64,
    /// Connections that offered a stored session.
    pub resumption_attempted: u64,
    /// The three counts divided by the duration.
    pub per_s: HandshakeRates,
}

/// Handshakes per second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HandshakeRates {
    /// Full handshakes per second.
    pub full: f64,
    /// Resumed handshakes per second.
    pub resumed: f64,
    /// Full handshakes after HelloRetryRequest per second.
    pub hrr: f64,
}

/// The four measured latencies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// TCP connect, per connection.
    pub connect: Percentiles,
    /// TLS handshake, per connection.
    pub handshake: Percentiles,
    /// Request start (intended start with a rate) to response head.
    pub ttfb: Percentiles,
    /// Request start (intended start with a rate) to its last byte.
    pub request: Percentiles,
}

/// Latencies from the moment each request was actually sent (wrk2's `-U`), with a rate only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Uncorrected {
    /// Sent to response head.
    pub ttfb: Percentiles,
    /// Sent to last byte.
    pub request: Percentiles,
}

/// What the connections negotiated, with counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsSeen {
    /// `TLSv1.3`: count.
    pub versions: BTreeMap<String, u64>,
    /// `TLS_AES_128_GCM_SHA256`: count.
    pub suites: BTreeMap<String, u64>,
    /// `X25519MLKEM768`: count.
    pub groups: BTreeMap<String, u64>,
    /// `h2`, `http/1.1`, `none`: count.
    pub alpn: BTreeMap<String, u64>,
}

/// One interval of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Interval start, seconds from the start of measurement.
    pub t: f64,
    /// Responses completed in the interval.
    pub requests: u64,
    /// Requests failed in the interval.
    pub errors: u64,
    /// Requests per second over the interval.
    pub rps: f64,
    /// Median request latency of the interval, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile request latency of the interval, ms.
    pub p99_ms: Option<f64>,
}

/// Requests and latency over time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Interval width, seconds.
    pub interval_s: f64,
    /// The intervals in order.
    pub points: Vec<TimelinePoint>,
}

/// One point of the latency spectrum (the HdrHistogram percentile plot).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpectrumPoint {
    /// Percentile, 0 to 100.
    pub percentile: f64,
    /// Request latency at that percentile, ms.
    pub ms: f64,
    /// The uncorrected latency at that percentile (with a rate only).
    pub uncorrected_ms: Option<f64>,
}

/// How the run was set up, as given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// The URLs, requested round-robin.
    pub urls: Vec<String>,
    /// `keep-alive`, `new-conn` or `resume`.
    pub mode: String,
    /// `auto`, `http/1.1` or `h2`: what was offered by ALPN.
    pub http: String,
    /// Connection slots.
    pub connections: usize,
    /// Worker threads.
    pub threads: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub streams: usize,
    /// Fixed arrival rate, requests per second (open model), if any.
    pub rate: Option<f64>,
    /// Seconds of warm-up left out of every figure.
    pub warmup_s: f64,
}

/// The result of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The run's settings.
    pub setup: Setup,
    /// Responses received in full, whatever their status.
    pub requests: u64,
    /// Failed requests (the sum of `errors`).
    pub failed: u64,
    /// Requests still in flight when the run ended (not counted in `requests` or `failed`).
    pub unfinished: u64,
    /// The measured window, seconds.
    pub duration_s: f64,
    /// `requests / duration_s`.
    pub rps: f64,
    /// HTTP bytes received: response heads and bodies, after decryption.
    pub bytes: u64,
    /// `bytes / duration_s`.
    pub bytes_per_s: f64,
    /// Handshakes by kind.
    pub handshakes: Handshakes,
    /// Latencies measured from each request's start (its intended start with a rate).
    pub latency_ms: Latency,
    /// Latencies from the actual send time (with a rate only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_uncorrected_ms: Option<Uncorrected>,
    /// Responses by status code.
    pub status: BTreeMap<String, u64>,
    /// Failed requests by kind.
    pub errors: BTreeMap<String, u64>,
    /// Versions, suites, groups and ALPN protocols negotiated, with counts.
    pub tls: TlsSeen,
    /// The generator's own CPU time (user + system) over the measured window, seconds.
    pub cpu_s: f64,
    /// Requests and latency over time.
    pub timeline: Timeline,
    /// The request latency at percentiles from 0 to 100.
    pub spectrum: Vec<SpectrumPoint>,
}

/// Percentiles for the spectrum: halving the distance to 100% in `TICKS` steps each time,
/// as HdrHistogram's percentile distribution does, down to one request in the whole run.
fn spectrum_quantiles(count: u64) -> Vec<f64> {
    const TICKS: u32 = 4;
    let mut out = Vec::new();
    let mut step = 0u32;
    loop {
        let q = 1.0 - 0.5f64.powf(f64::from(step) / f64::from(TICKS));
        if (1.0 - q) * (count as f64) < 1.0 || step > 200 {
            break;
        }
        out.push(q);
        step += 1;
    }
    out.push(1.0);
    out
}

fn spectrum(request: &Histogram<u64>, uncorrected: Option<&Histogram<u64>>) -> Vec<SpectrumPoint> {
    if request.is_empty() {
        return Vec::new();
    }
    spectrum_quantiles(request.len())
        .into_iter()
        .map(|q| SpectrumPoint {
            percentile: q * 100.0,
            ms: request.value_at_quantile(q) as f64 / 1000.0,
            uncorrected_ms: uncorrected.filter(|h| !h.is_empty()).map(|h| h.value_at_quantile(q) as f64 / 1000.0),
        })
        .collect()
}

fn suite_name(id: u16) -> String {
    crate::names::suite_name(crate::names::CipherSuiteId::new(id))
}

fn group_name(id: u16) -> String {
    crate::names::group_name(crate::names::NamedGroup::new(id))
}

impl Report {
    /// Build the report from the merged statistics.
    pub(crate) fn new(setup: Setup, stats: &WorkerStats, duration_s: f64, cpu_s: f64, with_rate: bool) -> Self {
        let per_s = |n: u64| if duration_s > 0.0 { n as f64 / duration_s } else { 0.0 };
        let failed = stats.error_count();
        let status = stats
            .status
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| (if code == 0 { "other".to_string() } else { code.to_string() }, *n))
            .collect();
        let errors = stats.errors.entries.iter().map(|(k, n)| (k.name(), *n)).collect();
        let tls = TlsSeen {
            versions: stats.versions.entries.iter().map(|(v, n)| (v.name().to_string(), *n)).collect(),
            suites: stats.suites.entries.iter().map(|(s, n)| (suite_name(*s), *n)).collect(),
            groups: stats.groups.entries.iter().map(|(g, n)| (group_name(*g), *n)).collect(),
            alpn: ["h2", "http/1.1", "none"]
                .iter()
                .zip(stats.alpn)
                .filter(|(_, n)| *n > 0)
                .map(|(name, n)| (name.to_string(), n))
                .collect(),
        };
        let lat = &stats.latency;
        let width = stats.timeline.width().as_secs_f64();
        let points = stats
            .timeline
            .points(duration_s)
            .into_iter()
            .map(|p| TimelinePoint {
                t: p.start_s,
                requests: p.requests,
                errors: p.errors,
                rps: p.requests as f64 / width,
                p50_ms: p.p50_ms,
                p99_ms: p.p99_ms,
            })
            .collect();
        Report {
            setup,
            requests: stats.requests,
            failed,
            unfinished: stats.started.saturating_sub(stats.requests + failed),
            duration_s,
            rps: per_s(stats.requests),
            bytes: stats.bytes,
            bytes_per_s: per_s(stats.bytes),
            handshakes: Handshakes {
                full: stats.full,
                resumed: stats.resumed,
                hrr: stats.hrr,
                resumption_attempted: stats.resumption_attempted,
                per_s: HandshakeRates { full: per_s(stats.full), resumed: per_s(stats.resumed), hrr: per_s(stats.hrr) },
            },
            latency_ms: Latency {
                connect: Percentiles::of(&lat.connect),
                handshake: Percentiles::of(&lat.handshake),
                ttfb: Percentiles::of(&lat.ttfb),
                request: Percentiles::of(&lat.request),
            },
            latency_uncorrected_ms: with_rate.then(|| Uncorrected {
                ttfb: Percentiles::of(&lat.ttfb_uncorrected),
                request: Percentiles::of(&lat.request_uncorrected),
            }),
            status,
            errors,
            tls,
            cpu_s,
            timeline: Timeline { interval_s: width, points },
            spectrum: spectrum(&lat.request, with_rate.then_some(&lat.request_uncorrected)),
        }
    }

    /// The generator's CPU per completed request, in milliseconds.
    pub fn cpu_ms_per_request(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.cpu_s * 1000.0 / self.requests as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_reaches_one_request_and_ends_at_the_maximum() {
        let q = spectrum_quantiles(1000);
        assert_eq!(q[0], 0.0);
        assert_eq!(*q.last().unwrap(), 1.0);
        let before_last = q[q.len() - 2];
        assert!((1.0 - before_last) * 1000.0 >= 1.0, "{before_last}");
        assert!(q.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn names_are_the_ones_every_other_output_prints() {
        assert_eq!(suite_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(group_name(0x11ec), "X25519MLKEM768");
        assert_eq!(group_name(0x1234), "0x1234");
    }
}
