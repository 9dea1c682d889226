//! Requests and latency over time, in intervals that widen as the run grows.
//!
//! Each interval keeps a small histogram (two significant digits) so p50 and p99 can be
//! drawn over time. The width starts at 100 ms and doubles, merging neighbours, whenever a
//! run outgrows [`MAX_POINTS`] intervals: memory stays bounded and one allocation happens
//! per interval, never per request. Workers merge at the coarsest width any of them reached.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Intervals kept before the width doubles.
const MAX_POINTS: usize = 256;
/// The first interval width.
const FIRST_WIDTH: Duration = Duration::from_millis(100);
/// Latencies are in microseconds, up to an hour.
const HIGHEST_US: u64 = 3_600_000_000;

/// One interval's counts.
#[derive(Clone, Debug)]
struct Interval {
    requests: u64,
    errors: u64,
    latency_us: Histogram<u32>,
}

impl Interval {
    fn new() -> Self {
        let latency_us = Histogram::new_with_bounds(1, HIGHEST_US, 2).expect("valid histogram bounds");
        Interval { requests: 0, errors: 0, latency_us }
    }

    fn absorb(&mut self, other: &Interval) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latency_us.add(&other.latency_us).expect("same histogram bounds");
    }
}

/// A point of the timeline as the report shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Point {
    /// Start of the interval, in seconds from the start of measurement.
    pub start_s: f64,
    pub requests: u64,
    pub errors: u64,
    /// Median and 99th percentile request latency in the interval (None without responses).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Per-worker time series from the start of measurement.
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    start: Instant,
    width: Duration,
    intervals: Vec<Interval>,
}

impl Timeline {
    pub(crate) fn new(start: Instant) -> Self {
        Timeline { start, width: FIRST_WIDTH, intervals: Vec::new() }
    }

    fn interval_at(&mut self, at: Instant) -> &mut Interval {
        let since = at.saturating_duration_since(self.start);
        let mut index = (since.as_nanos() / self.width.as_nanos()) as usize;
        while index >= MAX_POINTS {
            self.double_width();
            index = (since.as_nanos() / self.width.as_nanos()) as usize;
        }
        while self.intervals.len() <= index {
            self.intervals.push(Interval::new());
        }
        &mut self.intervals[index]
    }

    /// A response completed at `at` after `latency_us`.
    pub(crate) fn response(&mut self, at: Instant, latency_us: u64) {
        let interval = self.interval_at(at);
        interval.requests += 1;
        interval.latency_us.saturating_record(latency_us.max(1));
    }

    /// A request failed at `at`.
    pub(crate) fn error(&mut self, at: Instant) {
        self.interval_at(at).errors += 1;
    }

    fn double_width(&mut self) {
        let old = std::mem::take(&mut self.intervals);
        for pair in old.chunks(2) {
            let mut merged = pair[0].clone();
            if let Some(second) = pair.get(1) {
                merged.absorb(second);
            }
            self.intervals.push(merged);
        }
        self.width *= 2;
    }

    /// Add another worker's timeline (same start) to this one.
    pub(crate) fn merge(&mut self, mut other: Timeline) {
        while self.width < other.width {
            self.double_width();
        }
        while other.width < self.width {
            other.double_width();
        }
        for (i, interval) in other.intervals.iter().enumerate() {
            if i < self.intervals.len() {
                self.intervals[i].absorb(interval);
            } else {
                self.intervals.push(interval.clone());
            }
        }
    }

    /// The interval width.
    pub(crate) fn width(&self) -> Duration {
        self.width
    }

    /// The points, up to `until` (seconds from the start); empty intervals included.
    pub(crate) fn points(&self, until_s: f64) -> Vec<Point> {
        let width_s = self.width.as_secs_f64();
        self.intervals
            .iter()
            .enumerate()
            .map(|(i, interval)| {
                let ms = |q: f64| {
                    (!interval.latency_us.is_empty()).then(|| interval.latency_us.value_at_quantile(q) as f64 / 1000.0)
                };
                Point {
                    start_s: i as f64 * width_s,
                    requests: interval.requests,
                    errors: interval.errors,
                    p50_ms: ms(0.5),
                    p99_ms: ms(0.99),
                }
            })
            .take_while(|p| p.start_s < until_s.max(width_s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_doubles_and_counts_survive() {
        let start = Instant::now();
        let mut t = Timeline::new(start);
        for ms in 0..60_000u64 {
            t.response(start + Duration::from_millis(ms), 1000 + ms % 7);
        }
        assert!(t.intervals.len() <= MAX_POINTS);
        assert!(t.width() >= Duration::from_millis(400));
        let points = t.points(60.0);
        assert_eq!(points.iter().map(|p| p.requests).sum::<u64>(), 60_000);
        assert!(points.iter().all(|p| p.p50_ms.is_some_and(|v| (0.99..1.02).contains(&v))));
    }

    #[test]
    fn merge_meets_at_the_coarser_width() {
        let start = Instant::now();
        let mut a = Timeline::new(start);
        let mut b = Timeline::new(start);
        a.response(start + Duration::from_millis(50), 10);
        for s in 0..60u64 {
            b.response(start + Duration::from_secs(s), 10);
        }
        b.error(start + Duration::from_secs(1));
        let width = b.width();
        a.merge(b);
        assert_eq!(a.width(), width);
        let points = a.points(60.0);
        assert_eq!(points.iter().map(|p| p.requests).sum::<u64>(), 61);
        assert_eq!(points.iter().map(|p| p.errors).sum::<u64>(), 1);
    }
}
