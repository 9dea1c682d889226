//! Remembers the TLS error a stream hit, because hyper's HTTP/2 errors drop their cause.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where the first rustls error seen on a stream is kept.
pub(crate) type SeenError = Arc<Mutex<Option<rustls::Error>>>;

/// A stream wrapper that notes the first rustls error passing through it.
pub(crate) struct Recorder<S> {
    inner: S,
    seen: SeenError,
}

impl<S> Recorder<S> {
    pub(crate) fn new(inner: S) -> (Self, SeenError) {
        let seen = SeenError::default();
        (Recorder { inner, seen: seen.clone() }, seen)
    }

    fn note<T>(&self, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(err)) = &polled {
            if let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                seen.get_or_insert_with(|| tls.clone());
            }
        }
        polled
    }
}

/// Take the recorded error, if any.
pub(crate) fn take(seen: &SeenError) -> Option<rustls::Error> {
    seen.lock().unwrap_or_else(|e| e.into_inner()).take()
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorder<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.note(polled)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        self.note(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.note(polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.note(polled)
    }
}
