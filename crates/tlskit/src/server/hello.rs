//! How a connection starts, and the two hellos of its handshake, kept raw for `/_tls` (decoded only when
//! the page is asked for): the ClientHello peeked before the TLS accept (the same peek tells TLS from
//! plain HTTP, and the fleet's session prefetch reads its hello), and the ServerHello the tap records as
//! rustls writes it. Each is one bounded copy of one handshake message.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, OnceLock};

use tlskit_wire::handshake::{first_message, FirstMessage, HEADER_LEN};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// The largest hello kept (ECH, many PSKs and post-quantum shares fit well within).
pub(crate) const MAX_HELLO: usize = 32 * 1024;

/// A connection's hellos, as handshake message bodies (without the 4-byte header).
#[derive(Debug, Default)]
pub(crate) struct Hellos {
    /// The ClientHello body; `None` when the first message was not a whole ClientHello within [`MAX_HELLO`].
    pub(crate) client: Option<Vec<u8>>,
    /// The first handshake message the server sent (a ServerHello or HelloRetryRequest), set by the tap.
    pub(crate) server: Arc<OnceLock<Vec<u8>>>,
}

/// How a connection starts, seen without consuming anything.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// The peer closed before sending a byte.
    Closed,
    /// The first bytes (up to 8) are not a TLS handshake record: plain HTTP, or garbage.
    NotTls(Vec<u8>),
    /// A TLS handshake record: the ClientHello's body once all of it has arrived (it may span records and
    /// TCP segments), or `None` when the first message is not a whole ClientHello within [`MAX_HELLO`]
    /// (the TLS accept that follows says why).
    Tls(Option<Vec<u8>>),
}

/// What one peek saw.
enum Peeked {
    Start(Start),
    BufferFull,
}

/// One `recv(MSG_PEEK)`: the bytes waiting in the socket, left there for rustls.
fn peek(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a valid, writable buffer of `buf.len()` bytes for the duration of the call.
    let n = unsafe { libc::recv(tcp.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_PEEK) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// The first bytes of a connection, peeked: one `recv` for the usual ClientHello in one segment, which
/// tells TLS from plain HTTP and keeps the hello. The caller bounds the wait.
pub(crate) async fn peek_start(tcp: &TcpStream) -> io::Result<Start> {
    let mut buf = vec![0u8; 4096];
    loop {
        let ready = tcp.ready(Interest::READABLE).await?;
        // The peek runs inside try_io so that "not all there yet" clears only the readiness it saw:
        // the next segment wakes us again, and no busy loop spins on bytes already peeked.
        let peeked = tcp.try_io(Interest::READABLE, || {
            let n = peek(tcp, &mut buf)?;
            let Some(bytes) = buf.get(..n).filter(|b| !b.is_empty()) else { return Ok(Peeked::Start(Start::Closed)) };
            if bytes[0] != 0x16 {
                return Ok(Peeked::Start(Start::NotTls(bytes[..n.min(8)].to_vec())));
            }
            match first_message(bytes, MAX_HELLO) {
                FirstMessage::Complete(mut message) if message.first() == Some(&1) => {
                    message.drain(..HEADER_LEN);
                    Ok(Peeked::Start(Start::Tls(Some(message))))
                }
                FirstMessage::Complete(_) | FirstMessage::Invalid => Ok(Peeked::Start(Start::Tls(None))),
                FirstMessage::Incomplete if n == buf.len() => Ok(Peeked::BufferFull),
                // The peer sent part of a hello and then its FIN: no more is coming, and the closed
                // readiness is never cleared, so waiting again would spin. The TLS accept reports it.
                FirstMessage::Incomplete if ready.is_read_closed() => Ok(Peeked::Start(Start::Tls(None))),
                FirstMessage::Incomplete => Err(io::ErrorKind::WouldBlock.into()),
            }
        });
        match peeked {
            Ok(Peeked::Start(start)) => return Ok(start),
            Ok(Peeked::BufferFull) if buf.len() < MAX_HELLO + 1024 => buf.resize(buf.len() * 2, 0),
            Ok(Peeked::BufferFull) => return Ok(Start::Tls(None)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        (listener.accept().await.unwrap().0, client)
    }

    #[tokio::test]
    async fn a_hello_split_over_segments_is_kept_whole_and_left_in_the_socket() {
        let (server, mut client) = pair().await;
        let body = [3u8, 3, 9, 9, 9, 9];
        let mut record = vec![22, 3, 1, 0, 10, 1, 0, 0, 6];
        record.extend(body);
        client.write_all(&record[..7]).await.unwrap();
        let peek = tokio::spawn(async move { (peek_start(&server).await.unwrap(), server) });
        client.write_all(&record[7..]).await.unwrap();
        let (start, server) = peek.await.unwrap();
        assert_eq!(start, Start::Tls(Some(body.to_vec())));
        let mut buf = [0u8; 32];
        assert_eq!(server.try_read(&mut buf).unwrap(), record.len(), "nothing was consumed");
    }

    #[tokio::test]
    async fn plain_http_and_a_close_are_told_apart_at_once() {
        let (server, mut client) = pair().await;
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        assert_eq!(peek_start(&server).await.unwrap(), Start::NotTls(b"GET / HT".to_vec()));
        let (server, client) = pair().await;
        drop(client);
        assert_eq!(peek_start(&server).await.unwrap(), Start::Closed);
    }

    #[tokio::test]
    async fn part_of_a_hello_then_a_close_ends_the_peek_instead_of_spinning() {
        let (server, mut client) = pair().await;
        client.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]).await.unwrap();
        client.shutdown().await.unwrap();
        // A spinning peek never returns Pending, so this timeout could not fire: the test would hang.
        let start = tokio::time::timeout(std::time::Duration::from_secs(20), peek_start(&server)).await;
        assert_eq!(start.expect("the peek ended").unwrap(), Start::Tls(None));
    }
}
