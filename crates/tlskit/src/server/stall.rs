//! The send timeout of HTTP/2 streams: every stream hyper starts runs inside a
//! [`SendWatch`], which drops the stream (h2 then resets it with CANCEL and
//! frees its buffers and its open file) when its response has made no progress
//! for the send timeout, while the connection and its other streams go on.
//!
//! Progress is reported by the response body ([`LoggedBody`](super::LoggedBody))
//! each time it hands over data, through a per-thread flag that the watch
//! clears before it polls its stream and reads after: the body is polled only
//! from inside its stream's poll, so the flag cannot be set by another stream.
//! HTTP/1.1 responses are timed by the connection watch instead (conn.rs).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

thread_local! {
    static PROGRESSED: Cell<bool> = const { Cell::new(false) };
}

/// Called by a response body that handed data (or its end) to the connection.
pub(crate) fn note_progress() {
    PROGRESSED.with(|p| p.set(true));
}

/// hyper's executor for HTTP/2 streams: each stream is watched, then spawned on
/// the runtime (async model) or on the connection's own thread (threads model,
/// where the connection runs inside a `LocalSet`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamExecutor {
    pub(crate) local: bool,
    pub(crate) send_timeout: Duration,
}

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, stream: F) {
        let watched = SendWatch::new(stream, self.send_timeout);
        if self.local {
            tokio::task::spawn_local(watched);
        } else {
            tokio::spawn(watched);
        }
    }
}

/// A stream future that is dropped when it makes no progress for `timeout`.
pub(crate) struct SendWatch<F> {
    stream: Pin<Box<F>>,
    timeout: Duration,
    last_progress: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<F: Future<Output = ()>> SendWatch<F> {
    pub(crate) fn new(stream: F, timeout: Duration) -> Self {
        let now = Instant::now();
        SendWatch {
            stream: Box::pin(stream),
            timeout,
            last_progress: now,
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl<F: Future<Output = ()>> Future for SendWatch<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let before = PROGRESSED.with(|p| p.replace(false));
        let polled = self.stream.as_mut().poll(cx);
        if PROGRESSED.with(|p| p.replace(before)) {
            self.last_progress = Instant::now();
        }
        if polled.is_ready() {
            return Poll::Ready(());
        }
        // Re-arm lazily: the timer fires at most once per timeout, not once per chunk.
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let due = self.last_progress + self.timeout;
            if Instant::now() >= due {
                // Stalled: finishing here drops the stream, which h2 resets (CANCEL).
                return Poll::Ready(());
            }
            self.timer.as_mut().reset(due);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that reports progress on its first `n` polls, then never again and never finishes.
    struct Trickle(u32);
    impl Future for Trickle {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 > 0 {
                self.0 -= 1;
                note_progress();
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_stalled_stream_is_dropped_after_the_timeout_and_progress_defers_it() {
        let bound = Duration::from_secs(10);
        let started = Instant::now();
        let watched = SendWatch::new(std::future::pending::<()>(), Duration::from_millis(50));
        tokio::time::timeout(bound, watched).await.expect("a stalled stream is dropped");
        assert!(started.elapsed() >= Duration::from_millis(50));
        // Progress keeps it alive; once it stops, the timeout counts from the last progress.
        let started = Instant::now();
        tokio::time::timeout(bound, SendWatch::new(Trickle(3), Duration::from_millis(50))).await.expect("dropped");
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
