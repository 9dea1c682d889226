//! Whether the shared store answers, how often it did not, and the events
//! about it: one when it goes away, at most one per interval while it stays
//! away, one when it is back. Never one per connection.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{StoreEvent, StoreEventSink};

/// How often, at most, a store that stays unreachable is reported again.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Counters of the shared store, as seen by this server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    /// Commands that failed (connection refused, reset, an error reply).
    pub errors: u64,
    /// Lookups before a handshake that got no answer within the store timeout.
    pub timeouts: u64,
    /// Lookups skipped because the store was known to be unreachable.
    pub skipped: u64,
    /// Session writes dropped (store unreachable, or the write queue full).
    pub dropped_writes: u64,
    /// Sessions found in the store and handed to a handshake.
    pub hits: u64,
    /// Sessions asked for and not found (expired, taken, never stored).
    pub misses: u64,
}

/// The store's state and counters, shared by the background tasks and the handshakes.
pub(crate) struct Health {
    up: AtomicBool,
    errors: AtomicU64,
    timeouts: AtomicU64,
    skipped: AtomicU64,
    dropped_writes: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    /// When the outage began, when it was last reported and the error count then.
    outage: Mutex<Option<(Instant, Instant, u64)>>,
    /// When slow answers were last reported, and the timeout count then.
    slow: Mutex<Option<(Instant, u64)>>,
    events: StoreEventSink,
}

impl Health {
    pub(crate) fn new(events: StoreEventSink) -> Arc<Health> {
        Arc::new(Health {
            up: AtomicBool::new(true),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            dropped_writes: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            outage: Mutex::new(None),
            slow: Mutex::new(None),
            events,
        })
    }

    /// Whether the store answered the last time it was asked.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub(crate) fn emit(&self, event: StoreEvent) {
        (self.events)(event);
    }

    /// A command failed: the store is away until a command succeeds again.
    /// One event when the outage starts, then at most one per [`REPORT_INTERVAL`].
    pub(crate) fn failed(&self, error: &str) {
        let errors = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        self.up.store(false, Ordering::Relaxed);
        let Ok(mut outage) = self.outage.lock() else { return };
        let now = Instant::now();
        match *outage {
            None => {
                *outage = Some((now, now, errors));
                drop(outage);
                self.emit(StoreEvent::Unreachable { error: error.to_string() });
            }
            Some((began, last, before)) if now.duration_since(last) >= REPORT_INTERVAL => {
                *outage = Some((began, now, errors));
                drop(outage);
                let failures = errors - before;
                self.emit(StoreEvent::StillUnreachable {
                    since: now.duration_since(began),
                    failures,
                    stats: self.stats(),
                });
            }
            Some(_) => {}
        }
    }

    /// A lookup before a handshake went unanswered within the store timeout;
    /// reported at most once per [`REPORT_INTERVAL`], with the count since.
    pub(crate) fn timed_out(&self) {
        let timeouts = self.timeouts.fetch_add(1, Ordering::Relaxed) + 1;
        let Ok(mut slow) = self.slow.lock() else { return };
        let now = Instant::now();
        let report = match *slow {
            None => Some(timeouts),
            Some((last, before)) if now.duration_since(last) >= REPORT_INTERVAL => Some(timeouts - before),
            Some(_) => None,
        };
        if let Some(count) = report {
            *slow = Some((now, timeouts));
            drop(slow);
            self.emit(StoreEvent::Slow { timeouts: count });
        }
    }

    pub(crate) fn skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped_write(&self) {
        self.dropped_writes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn looked_up(&self, hits: u64, misses: u64) {
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(misses, Ordering::Relaxed);
    }

    /// A command succeeded: if the store was away, it is back.
    pub(crate) fn answered(&self) {
        if self.up.swap(true, Ordering::Relaxed) {
            return;
        }
        let outage = self.outage.lock().ok().and_then(|mut o| o.take());
        if let Some((began, _, _)) = outage {
            self.emit(StoreEvent::Reachable { after: began.elapsed(), stats: self.stats() });
        }
    }

    pub(crate) fn stats(&self) -> StoreStats {
        StoreStats {
            errors: self.errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            dropped_writes: self.dropped_writes.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_outage_not_per_failure() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let health = Health::new(Arc::new(move |e| sink.lock().unwrap().push(format!("{e:?}"))));
        for _ in 0..1000 {
            health.failed("connection refused");
            health.timed_out();
        }
        assert!(!health.is_up());
        health.answered();
        health.answered();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen[0].starts_with("Unreachable"), "{seen:?}");
        assert!(seen[1].starts_with("Slow { timeouts: 1 }"), "{seen:?}");
        assert!(seen[2].starts_with("Reachable"), "{seen:?}");
        assert_eq!(health.stats().errors, 1000);
        assert_eq!(health.stats().timeouts, 1000);
    }
}
