//! The timers of one served connection, as one decision: given what the
//! connection's signals say now, either sleep until the next deadline, close
//! gracefully (idle, or asked to), or abort (a stalled response, a header
//! block that never ends, a close that never finishes).
//!
//! - idle: no request in flight and no response progress for the idle timeout;
//!   HTTP/2 PINGs, SETTINGS and WINDOW_UPDATEs are not progress;
//! - send: an HTTP/1.1 response with no progress for the send timeout (HTTP/2
//!   streams have their own watch, stall.rs, and are reset alone);
//! - header: an HTTP/2 header block open for longer than the header timeout
//!   (HTTP/1.1's is hyper's own header read timeout);
//! - closing: after a graceful close was started, a connection with nothing in
//!   flight ends once its last bytes (a GOAWAY) are flushed, and any connection
//!   ends when it has made no progress for the send timeout.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::io::ConnSignals;
use super::Limits;

/// What the connection's loop does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing due: look again after this long (or when woken).
    Wait(Duration),
    /// Stop taking requests and close once in-flight responses are done.
    Close,
    /// Drop the connection now, for this reason (None: routine, not worth a line).
    Abort(Option<&'static str>),
}

/// Per-connection timer state.
#[derive(Debug)]
pub(crate) struct ConnWatch {
    idle: Duration,
    send: Duration,
    header: Duration,
    /// Flushes counted when the graceful close began.
    closing: Option<u64>,
}

fn after(start_ms: u64, timeout: Duration) -> u64 {
    start_ms.saturating_add(timeout.as_millis() as u64)
}

impl ConnWatch {
    pub(crate) fn new(limits: &Limits) -> Self {
        ConnWatch { idle: limits.idle_timeout, send: limits.send_timeout, header: limits.header_timeout, closing: None }
    }

    /// A graceful close has begun (idle, kicked or shutdown).
    pub(crate) fn closing(&mut self, signals: &ConnSignals) {
        if self.closing.is_none() {
            self.closing = Some(signals.flushes.load(Ordering::Acquire));
            signals.closing.store(true, Ordering::Release);
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.is_some()
    }

    /// The decision at `now_ms` (milliseconds since the connection was accepted).
    pub(crate) fn check(&self, signals: &ConnSignals, now_ms: u64) -> Verdict {
        let last = signals.last_progress_ms.load(Ordering::Acquire);
        let in_flight = signals.in_flight.load(Ordering::Acquire) > 0;
        let mut next = u64::MAX;
        if let Some(flushes) = self.closing {
            if !in_flight && signals.http2 && signals.flushes.load(Ordering::Acquire) != flushes {
                return Verdict::Abort(None);
            }
            let due = after(last, self.send);
            if now_ms >= due {
                return Verdict::Abort(Some("closing connection made no progress for the send timeout"));
            }
            next = next.min(due);
        }
        let block = signals.header_block_since.load(Ordering::Acquire);
        if block != 0 {
            let due = after(block, self.header);
            if now_ms >= due {
                return Verdict::Abort(Some("HTTP/2 request header not complete within the header timeout"));
            }
            next = next.min(due);
        }
        if in_flight {
            if !signals.http2 {
                let due = after(last, self.send);
                if now_ms >= due {
                    return Verdict::Abort(Some("response made no progress for the send timeout"));
                }
                next = next.min(due);
            }
        } else if self.closing.is_none() {
            let due = after(last, self.idle);
            if now_ms >= due {
                return Verdict::Close;
            }
            next = next.min(due);
        }
        // With nothing due (HTTP/2 with streams in flight), look again after the send timeout.
        let wait = if next == u64::MAX { self.send.as_millis() as u64 } else { next - now_ms };
        Verdict::Wait(Duration::from_millis(wait.max(1)))
    }
}
