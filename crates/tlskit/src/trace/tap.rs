//! The socket tap: a wrapper that copies every byte read and written, in order and with its direction, to
//! a per-connection [`TapSink`], and can keep the first handshake message it writes (a server's
//! ServerHello, for its `/_tls` page). With neither it is a plain pass-through: nothing is copied when
//! tracing is off, and the recording stops once that one message is whole.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tlskit_wire::dissect::Direction;
use tlskit_wire::handshake::{first_message, FirstMessage};
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
    /// While the first handshake message written is being gathered.
    first_sent: Option<FirstSent>,
}

/// The bytes written so far, until they hold the first handshake message (or prove not to).
struct FirstSent {
    bytes: Vec<u8>,
    max: usize,
    into: Arc<OnceLock<Vec<u8>>>,
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
        Tap { inner, sink, incoming, outgoing, first_sent: None }
    }

    /// Also keep the first handshake message this side writes, header included, in `into`: at most `max`
    /// bytes are gathered, and a stream that does not start with a handshake record leaves `into` unset.
    pub fn keep_first_sent_message(mut self, max: usize, into: Arc<OnceLock<Vec<u8>>>) -> Self {
        self.first_sent = Some(FirstSent { bytes: Vec::new(), max, into });
        self
    }

    fn record_sent(&mut self, sent: &[u8]) {
        let Some(first) = &mut self.first_sent else { return };
        first.bytes.extend_from_slice(sent);
        match first_message(&first.bytes, first.max) {
            FirstMessage::Incomplete => return,
            FirstMessage::Complete(message) => {
                let _ = first.into.set(message);
            }
            FirstMessage::Invalid => {}
        }
        self.first_sent = None;
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
        if let Poll::Ready(Ok(n)) = &polled {
            let sent = data.get(..*n).unwrap_or_default();
            if let (Some(sink), false) = (&self.sink, sent.is_empty()) {
                sink.bytes(self.outgoing, sent);
            }
            self.record_sent(sent);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &polled {
            // Copy what was sent, slice by slice: a failing handshake's last write (rustls's change_cipher_spec
            // and its fatal alert together) must reach the peer whole, whether or not it is traced.
            let mut left = *n;
            for buf in bufs {
                if left == 0 {
                    break;
                }
                let sent = &buf[..buf.len().min(left)];
                left -= sent.len();
                if sent.is_empty() {
                    continue;
                }
                if let Some(sink) = &self.sink {
                    sink.bytes(self.outgoing, sent);
                }
                self.record_sent(sent);
            }
        }
        polled
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

    /// A writer that takes every slice of a vectored write, as a TCP socket does.
    struct Gather(Vec<u8>);

    impl AsyncRead for Gather {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Gather {
        fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
            self.0.extend_from_slice(data);
            Poll::Ready(Ok(data.len()))
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let before = self.0.len();
            bufs.iter().for_each(|b| self.0.extend_from_slice(b));
            Poll::Ready(Ok(self.0.len() - before))
        }
        fn is_write_vectored(&self) -> bool {
            true
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_traced_vectored_write_sends_every_slice_and_copies_what_was_sent() {
        // rustls's last write of a failed handshake: change_cipher_spec and the fatal alert in one call.
        let ccs: &[u8] = &[20, 3, 3, 0, 1, 1];
        let alert: &[u8] = &[23, 3, 3, 0, 2, 9, 9];
        let seen = Arc::new(Seen::default());
        let mut tap = Tap::new(Gather(Vec::new()), Direction::ServerToClient, Some(seen.clone() as Arc<dyn TapSink>));
        let n = tap.write_vectored(&[io::IoSlice::new(ccs), io::IoSlice::new(&[]), io::IoSlice::new(alert)]).await;
        assert_eq!(n.unwrap(), ccs.len() + alert.len());
        assert_eq!(tap.inner.0, [ccs, alert].concat());
        let copied: Vec<u8> = seen
            .0
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(d, b)| {
                assert_eq!(*d, Direction::ClientToServer);
                b.clone()
            })
            .collect();
        assert_eq!(copied, tap.inner.0);
    }

    #[tokio::test]
    async fn the_first_handshake_message_written_is_kept_across_writes() {
        let (ours, mut theirs) = tokio::io::duplex(256);
        let kept = Arc::new(OnceLock::new());
        let mut tap = Tap::new(ours, Direction::ClientToServer, None).keep_first_sent_message(64, kept.clone());
        // A 6-byte ServerHello body in one record, written in two pieces, then more records.
        let record = [22u8, 3, 3, 0, 10, 2, 0, 0, 6, 3, 3, 1, 2, 3, 4];
        tap.write_all(&record[..7]).await.unwrap();
        assert!(kept.get().is_none());
        tap.write_all(&record[7..]).await.unwrap();
        tap.write_all(&[23, 3, 3, 0, 1, 0]).await.unwrap();
        assert_eq!(kept.get().map(Vec::as_slice), Some(&record[5..]));
        let mut buf = [0u8; 21];
        theirs.read_exact(&mut buf).await.unwrap();
        // Not a handshake record: nothing kept, and the tap stops looking.
        let (ours, _theirs) = tokio::io::duplex(64);
        let none = Arc::new(OnceLock::new());
        let mut tap = Tap::new(ours, Direction::ClientToServer, None).keep_first_sent_message(64, none.clone());
        tap.write_all(&[23, 3, 3, 0, 1, 0]).await.unwrap();
        assert!(none.get().is_none() && tap.first_sent.is_none());
    }
}
