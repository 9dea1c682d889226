//! The two hellos of one connection, kept raw for `/_tls` (decoded only when the page is asked for):
//! the ClientHello peeked before the TLS accept, which the fleet's session prefetch reads too, and the
//! ServerHello the tap records as rustls writes it. Each is one bounded copy of one handshake message.

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

/// What one peek saw.
enum Peeked {
    Hello(Vec<u8>),
    Unusable,
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

/// The ClientHello's body, once all of it has arrived (it may span records
/// and TCP segments). `None` if the bytes are not a ClientHello or the peer
/// stops: the TLS accept that follows reports why. The caller bounds the wait.
pub(crate) async fn peek_client_hello(tcp: &TcpStream) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    loop {
        tcp.readable().await.ok()?;
        // The peek runs inside try_io so that "not all there yet" clears only the readiness it saw:
        // the next segment wakes us again, and no busy loop spins on bytes already peeked.
        let peeked = tcp.try_io(Interest::READABLE, || {
            let n = peek(tcp, &mut buf)?;
            if n == 0 {
                return Ok(Peeked::Unusable);
            }
            match first_message(&buf[..n], MAX_HELLO) {
                FirstMessage::Complete(message) => Ok(Peeked::Hello(message)),
                FirstMessage::Invalid => Ok(Peeked::Unusable),
                FirstMessage::Incomplete if n == buf.len() => Ok(Peeked::BufferFull),
                FirstMessage::Incomplete => Err(io::ErrorKind::WouldBlock.into()),
            }
        });
        match peeked {
            Ok(Peeked::Hello(mut message)) if message.first() == Some(&1) => {
                message.drain(..HEADER_LEN);
                return Some(message);
            }
            Ok(Peeked::BufferFull) if buf.len() < MAX_HELLO + 1024 => buf.resize(buf.len() * 2, 0),
            Ok(_) => return None,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => return None,
        }
    }
}
