//! One worker's statistics: plain counters and HdrHistograms, owned by the worker's thread
//! (no lock, no atomic, no allocation per request), merged when the run ends.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::errors::ErrorKind;
use super::timeline::Timeline;
use crate::context::{Handshake, HandshakeFacts, TlsVersion};

/// Latencies are recorded in microseconds, 3 significant digits, up to an hour.
const HIGHEST_US: u64 = 3_600_000_000;

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Counts by a small key (suite, group, version numbers; error kinds): a short vector
/// searched in order, which allocates only when a new key first appears.
#[derive(Clone, Debug)]
pub(crate) struct Tally<K> {
    pub entries: Vec<(K, u64)>,
}

impl<K: PartialEq> Tally<K> {
    pub(crate) fn new() -> Self {
        Tally { entries: Vec::with_capacity(8) }
    }

    pub(crate) fn add(&mut self, key: K, n: u64) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, count)) => *count += n,
            None => self.entries.push((key, n)),
        }
    }

    pub(crate) fn merge(&mut self, other: Tally<K>) {
        for (k, n) in other.entries {
            self.add(k, n);
        }
    }
}

/// Latency histograms of one kind of measurement.
#[derive(Clone, Debug)]
pub(crate) struct Latencies {
    /// TCP connect, per connection.
    pub connect: Histogram<u64>,
    /// TLS handshake, per connection.
    pub handshake: Histogram<u64>,
    /// From the request's start (its intended start, with a rate) to the response head.
    pub ttfb: Histogram<u64>,
    /// From the request's start (its intended start, with a rate) to the last body byte.
    pub request: Histogram<u64>,
    /// The same two from the moment the request was actually sent (only with a rate).
    pub ttfb_uncorrected: Histogram<u64>,
    pub request_uncorrected: Histogram<u64>,
}

impl Latencies {
    fn new() -> Self {
        Latencies {
            connect: histogram(),
            handshake: histogram(),
            ttfb: histogram(),
            request: histogram(),
            ttfb_uncorrected: histogram(),
            request_uncorrected: histogram(),
        }
    }

    fn merge(&mut self, other: &Latencies) {
        let add = |a: &mut Histogram<u64>, b: &Histogram<u64>| a.add(b).expect("same histogram bounds");
        add(&mut self.connect, &other.connect);
        add(&mut self.handshake, &other.handshake);
        add(&mut self.ttfb, &other.ttfb);
        add(&mut self.request, &other.request);
        add(&mut self.ttfb_uncorrected, &other.ttfb_uncorrected);
        add(&mut self.request_uncorrected, &other.request_uncorrected);
    }
}

/// When a request was meant to start and when it did (the same without a rate).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Turn {
    pub intended: Instant,
    pub started: Instant,
}

/// What one worker measured.
#[derive(Clone, Debug)]
pub(crate) struct WorkerStats {
    /// Requests begun in the measured window.
    pub started: u64,
    /// Responses received in full.
    pub requests: u64,
    /// HTTP bytes received (headers and bodies, after decryption).
    pub bytes: u64,
    pub errors: Tally<ErrorKind>,
    /// Index = status code (100..=599); 0 holds anything else.
    pub status: Vec<u64>,
    pub latency: Latencies,
    pub full: u64,
    pub resumed: u64,
    pub hrr: u64,
    pub resumption_attempted: u64,
    pub versions: Tally<TlsVersion>,
    pub suites: Tally<u16>,
    pub groups: Tally<u16>,
    /// Connections by ALPN: h2, http/1.1, none.
    pub alpn: [u64; 3],
    pub timeline: Timeline,
    /// When the worker stopped.
    pub ended: Instant,
}

impl WorkerStats {
    pub(crate) fn new(measure_start: Instant) -> Self {
        WorkerStats {
            started: 0,
            requests: 0,
            bytes: 0,
            errors: Tally::new(),
            status: vec![0; 600],
            latency: Latencies::new(),
            full: 0,
            resumed: 0,
            hrr: 0,
            resumption_attempted: 0,
            versions: Tally::new(),
            suites: Tally::new(),
            groups: Tally::new(),
            alpn: [0; 3],
            timeline: Timeline::new(measure_start),
            ended: measure_start,
        }
    }

    /// A connection was established: its connect and handshake times and what it negotiated.
    pub(crate) fn connection(&mut self, connect: Duration, handshake: Duration, facts: &HandshakeFacts, offered: bool) {
        self.latency.connect.saturating_record(micros(connect));
        self.latency.handshake.saturating_record(micros(handshake));
        match facts.kind {
            Handshake::Full => self.full += 1,
            Handshake::FullWithHelloRetry => self.hrr += 1,
            Handshake::Resumed => self.resumed += 1,
        }
        if offered {
            self.resumption_attempted += 1;
        }
        if let Some(v) = facts.version {
            self.versions.add(v, 1);
        }
        if let Some(s) = facts.suite {
            self.suites.add(s, 1);
        }
        if let Some(g) = facts.group {
            self.groups.add(g, 1);
        }
        let alpn = if facts.h2 {
            0
        } else if facts.http11 {
            1
        } else {
            2
        };
        self.alpn[alpn] += 1;
    }

    /// A response came in full: its status, when its head and its end arrived.
    pub(crate) fn response(&mut self, turn: Turn, status: u16, head_at: Instant, done_at: Instant, uncorrected: bool) {
        self.requests += 1;
        let slot = if (100..600).contains(&status) { usize::from(status) } else { 0 };
        self.status[slot] += 1;
        let total = micros(done_at.saturating_duration_since(turn.intended));
        self.latency.ttfb.saturating_record(micros(head_at.saturating_duration_since(turn.intended)));
        self.latency.request.saturating_record(total);
        if uncorrected {
            self.latency.ttfb_uncorrected.saturating_record(micros(head_at.saturating_duration_since(turn.started)));
            self.latency.request_uncorrected.saturating_record(micros(done_at.saturating_duration_since(turn.started)));
        }
        self.timeline.response(done_at, total);
    }

    /// A request failed.
    pub(crate) fn error(&mut self, kind: ErrorKind, at: Instant) {
        self.errors.add(kind, 1);
        self.timeline.error(at);
    }

    /// Fold another worker's statistics into these.
    pub(crate) fn merge(&mut self, other: WorkerStats) {
        self.started += other.started;
        self.requests += other.requests;
        self.bytes += other.bytes;
        self.errors.merge(other.errors);
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        self.latency.merge(&other.latency);
        self.full += other.full;
        self.resumed += other.resumed;
        self.hrr += other.hrr;
        self.resumption_attempted += other.resumption_attempted;
        self.versions.merge(other.versions);
        self.suites.merge(other.suites);
        self.groups.merge(other.groups);
        for (a, b) in self.alpn.iter_mut().zip(other.alpn) {
            *a += b;
        }
        self.timeline.merge(other.timeline);
        self.ended = self.ended.max(other.ended);
    }

    /// Errors in all.
    pub(crate) fn error_count(&self) -> u64 {
        self.errors.entries.iter().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_everything() {
        let start = Instant::now();
        let turn = Turn { intended: start, started: start + Duration::from_millis(5) };
        let mut a = WorkerStats::new(start);
        let mut b = WorkerStats::new(start);
        let facts = HandshakeFacts {
            kind: Handshake::Resumed,
            version: Some(TlsVersion::Tls13),
            suite: Some(0x1301),
            group: Some(29),
            h2: false,
            http11: true,
        };
        a.connection(Duration::from_micros(100), Duration::from_millis(1), &facts, true);
        b.connection(
            Duration::from_micros(100),
            Duration::from_millis(1),
            &HandshakeFacts { kind: Handshake::Full, ..facts },
            false,
        );
        a.response(turn, 200, start + Duration::from_millis(6), start + Duration::from_millis(7), true);
        b.response(turn, 404, start + Duration::from_millis(6), start + Duration::from_millis(7), true);
        b.error(ErrorKind::Reset, start);
        a.merge(b);
        assert_eq!((a.requests, a.full, a.resumed, a.resumption_attempted), (2, 1, 1, 1));
        assert_eq!((a.status[200], a.status[404], a.error_count()), (1, 1, 1));
        assert_eq!(a.suites.entries, vec![(0x1301, 2)]);
        assert_eq!(a.alpn, [0, 2, 0]);
        // Corrected latency runs from the intended start (7 ms), uncorrected from the actual one (2 ms).
        assert_eq!(a.latency.request.value_at_quantile(0.5) / 1000, 7);
        assert_eq!(a.latency.request_uncorrected.value_at_quantile(0.5) / 1000, 2);
    }
}
