//! The socket tap: a wrapper that copies every byte read and written, in order and with its direction, to
//! a per-connection [`TapSink`]. With no sink it is a plain pass-through: nothing is copied when tracing is off.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tlskit_wire::dissect::Direction;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Receives a connection's bytes as they cross the socket.
pub trait TapSink: Send + Sync {
    /// Called once per successful read or write, in the order they happened, with the way the bytes went.
    fn bytes(&self, direction: Direction, data: &[u8]);
}

/// A socket wrapper that copies the bytes it carries to a [`TapSink`].
pub struct Tap<S> {
    inner: S,
    sink: Option<Arc<dyn TapSink>>,
    /// The direction of the bytes read (the peer's); those written go the other way.
    incoming: Direction,
    outgoing: Direction,
}

impl<S> Tap<S> {
    /// Wrap `inner`, whose reads carry bytes going `incoming` (a server's socket reads
    /// [`Direction::ClientToServer`], a client's [`Direction::ServerToClient`]); with `sink` None
    /// the tap copies nothing.
    pub fn new(inner: S, incoming: Direction, sink: Option<Arc<dyn TapSink>>) -> Self {
        let outgoing = match incoming {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        };
        Tap { inner, sink, incoming, outgoing }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(sink)) = (&polled, &self.sink) {
            if let Some(new) = buf.filled().get(before..) {
                if !new.is_empty() {
                    sink.bytes(self.incoming, new);
                }
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if let (Poll::Ready(Ok(n)), Some(sink)) = (&polled, &self.sink) {
            if let Some(sent) = data.get(..*n) {
                if !sent.is_empty() {
                    sink.bytes(self.outgoing, sent);
                }
            }
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.sink.is_none() {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        // Traced: write the first non-empty slice only, so the copy matches what was sent.
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(first) => self.poll_write(cx, first),
            None => Poll::Ready(Ok(0)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[derive(Default)]
    struct Seen(Mutex<Vec<(Direction, Vec<u8>)>>);

    impl TapSink for Seen {
        fn bytes(&self, direction: Direction, data: &[u8]) {
            self.0.lock().unwrap().push((direction, data.to_vec()));
        }
    }

    #[tokio::test]
    async fn reads_and_writes_are_copied_in_order_with_their_direction() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let seen = Arc::new(Seen::default());
        let mut tap = Tap::new(ours, Direction::ServerToClient, Some(seen.clone() as Arc<dyn TapSink>));
        tap.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        theirs.read_exact(&mut buf).await.unwrap();
        theirs.write_all(b"world").await.unwrap();
        tap.read_exact(&mut buf).await.unwrap();
        let seen = seen.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [(Direction::ClientToServer, b"hello".to_vec()), (Direction::ServerToClient, b"world".to_vec())]
        );
    }
}
