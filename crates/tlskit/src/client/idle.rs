//! Read and write timeouts on a connection: a read or a write that makes no
//! progress for that long fails, however long the whole transfer may take
//! (M2Crypto's `set_socket_read_timeout` / `set_socket_write_timeout`; curl's
//! `--speed-time` at a speed of zero).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::error::Phase;

/// Which wait ran out first, and its limit: hyper's errors do not carry it back.
pub(crate) type Stall = Arc<OnceLock<(Phase, Duration)>>;

/// The limits of one connection; `None` waits as long as the peer likes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdleLimits {
    pub(crate) read: Option<Duration>,
    pub(crate) write: Option<Duration>,
}

/// One direction's timer: armed when an operation first waits, disarmed by progress.
struct Timer {
    limit: Option<Duration>,
    sleep: Pin<Box<Sleep>>,
    armed: bool,
}

impl Timer {
    fn new(limit: Option<Duration>) -> Timer {
        Timer { limit, sleep: Box::pin(tokio::time::sleep(Duration::ZERO)), armed: false }
    }

    /// After a poll of the stream: whether this wait has gone on past the limit.
    fn expired<T>(&mut self, polled: &Poll<T>, cx: &mut Context<'_>) -> bool {
        let Some(limit) = self.limit else { return false };
        if polled.is_ready() {
            self.armed = false;
            return false;
        }
        if !self.armed {
            self.sleep.as_mut().reset(Instant::now() + limit);
            self.armed = true;
        }
        self.sleep.as_mut().poll(cx).is_ready()
    }
}

/// A stream whose reads and writes fail with `TimedOut` after waiting their limit.
pub(crate) struct Idle<S> {
    inner: S,
    read: Timer,
    write: Timer,
    stall: Stall,
}

impl<S> Idle<S> {
    pub(crate) fn new(inner: S, limits: IdleLimits) -> (Self, Stall) {
        let stall = Stall::default();
        (Idle { inner, read: Timer::new(limits.read), write: Timer::new(limits.write), stall: stall.clone() }, stall)
    }

    /// `polled` as it is, or `TimedOut` once that direction has waited past its limit.
    fn watch<T>(&mut self, phase: Phase, polled: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timer = if phase == Phase::Read { &mut self.read } else { &mut self.write };
        if !timer.expired(&polled, cx) {
            return polled;
        }
        let after = timer.limit.unwrap_or_default();
        let _ = self.stall.set((phase, after));
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, format!("{phase}: nothing for {after:?}"))))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.watch(Phase::Read, polled, cx)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        self.watch(Phase::Write, polled, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(Phase::Write, polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(Phase::Write, polled, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_read_that_waits_past_its_limit_fails_and_progress_rearms_it() {
        let (near, mut far) = tokio::io::duplex(64);
        let limits = IdleLimits { read: Some(Duration::from_millis(300)), write: None };
        let (mut idle, stall) = Idle::new(near, limits);
        let mut buf = [0u8; 8];
        // Data within the limit, twice: each read's wait starts anew.
        for _ in 0..2 {
            let (read, _) = tokio::join!(idle.read(&mut buf), async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                far.write_all(b"x").await.unwrap();
            });
            assert_eq!(read.unwrap(), 1);
        }
        let err = idle.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(stall.get(), Some(&(Phase::Read, Duration::from_millis(300))));
    }

    #[tokio::test]
    async fn a_write_the_peer_never_drains_fails_after_its_limit() {
        let (near, _far) = tokio::io::duplex(16);
        let limits = IdleLimits { read: None, write: Some(Duration::from_millis(200)) };
        let (mut idle, stall) = Idle::new(near, limits);
        let err = idle.write_all(&[0u8; 64]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(stall.get(), Some(&(Phase::Write, Duration::from_millis(200))));
    }
}
