//! One benchmark connection: TCP connect, TLS handshake, then the bench's own HTTP/1.1
//! codec (keep-alive), hyper's HTTP/1.1 (a connection per request) or hyper's HTTP/2 on top, driven on the worker's own thread. The slot that opened it
//! decides when it is reused, replaced or resumed; no pool does it behind our back.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::config::{Origin, Protocol};
use super::errors::ErrorKind;
use super::h1::H1Conn;
use crate::client::recorder::{Recorder, SeenError};
use crate::context::{ClientTls, Connector, HandshakeFacts};

/// Counts the HTTP bytes a worker receives, once its measurement has begun.
#[derive(Debug, Default)]
pub(crate) struct ByteCount {
    pub measuring: Cell<bool>,
    pub bytes: Cell<u64>,
}

/// A stream that adds what it reads to the worker's [`ByteCount`].
pub(crate) struct Metered<S> {
    inner: S,
    count: Rc<ByteCount>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.count.measuring.get() {
            let read = (buf.filled().len() - before) as u64;
            self.count.bytes.set(self.count.bytes.get() + read);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
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

/// Runs hyper's HTTP/2 connection tasks on the worker's own thread (nothing crosses threads).
#[derive(Clone, Copy, Debug)]
struct LocalExec;

impl<F: Future + 'static> hyper::rt::Executor<F> for LocalExec {
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

/// The request side of a connection.
#[derive(Debug)]
pub(crate) enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
    /// HTTP/1.1 keep-alive on the bench's own codec (the hot path: no hyper, no allocation).
    Raw(Box<H1Conn<Metered<Recorder<ClientTls<TcpStream>>>>>),
}

/// An open connection and what it took to open it.
pub(crate) struct Opened {
    pub sender: Sender,
    pub seen: SeenError,
    pub facts: HandshakeFacts,
    /// The connector offered a stored session in this handshake.
    pub offered: bool,
    pub began: Instant,
    pub connected: Instant,
    pub handshaken: Instant,
}

/// Why opening failed.
pub(crate) struct OpenFailed {
    pub kind: ErrorKind,
}

impl Sender {
    /// Wait until the connection takes a request; Err when it is closed.
    pub(crate) async fn ready(&mut self) -> bool {
        match self {
            Sender::H1(s) => s.ready().await.is_ok(),
            Sender::H2(s) => s.ready().await.is_ok(),
            Sender::Raw(c) => !c.closed,
        }
    }

    /// Whether the connection can no longer take requests.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
            Sender::Raw(c) => c.closed,
        }
    }

    /// Another handle on an HTTP/2 connection, for another stream (HTTP/1.1 has one).
    pub(crate) fn another_stream(&self) -> Option<Sender> {
        match self {
            Sender::H1(_) | Sender::Raw(_) => None,
            Sender::H2(s) => Some(Sender::H2(s.clone())),
        }
    }

    /// Whether requests go out as HTTP/2.
    pub(crate) fn is_h2(&self) -> bool {
        matches!(self, Sender::H2(_))
    }

    /// Send one request; the future resolves with the response head.
    /// Not for [`Sender::Raw`], which sends pre-built bytes (see `h1::H1Conn::exchange`).
    pub(crate) async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, hyper::Error> {
        match self {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s) => s.send_request(req).await,
            Sender::Raw(_) => unreachable!("the raw HTTP/1.1 codec sends its own bytes"),
        }
    }
}

/// TCP connect to the first address that answers, TLS handshake, HTTP handshake.
pub(crate) async fn open(
    origin: &Origin,
    connector: &Connector,
    protocol: Protocol,
    count: &Rc<ByteCount>,
    keep_alive: bool,
) -> Result<Opened, OpenFailed> {
    let began = Instant::now();
    let mut tcp = Err(io::Error::from(io::ErrorKind::AddrNotAvailable));
    for addr in &origin.addrs {
        tcp = TcpStream::connect(addr).await;
        if tcp.is_ok() {
            break;
        }
    }
    let tcp = tcp.map_err(|e| OpenFailed { kind: ErrorKind::connect(&e) })?;
    let _ = tcp.set_nodelay(true);
    let connected = Instant::now();
    // A handshake that failed earlier may have left the flag set.
    connector.take_offered();
    let tls = connector
        .connect(&origin.name, tcp)
        .await
        .map_err(|e| OpenFailed { kind: ErrorKind::handshake(e, connector.has_identity()) })?;
    let handshaken = Instant::now();
    let offered = connector.take_offered();
    let facts = HandshakeFacts::of(&tls);
    let (recorded, seen) = Recorder::new(tls);
    let metered = Metered { inner: recorded, count: count.clone() };
    if !facts.h2 && protocol != Protocol::Http2 && keep_alive {
        let sender = Sender::Raw(Box::new(H1Conn::new(metered)));
        return Ok(Opened { sender, seen, facts, offered, began, connected, handshaken });
    }
    let io: TokioIo<Metered<Recorder<ClientTls<TcpStream>>>> = TokioIo::new(metered);
    let failed = |e: hyper::Error| OpenFailed { kind: ErrorKind::exchange(e, &seen, connector.has_identity()) };
    let sender = if facts.h2 {
        let (sender, conn) = http2::Builder::new(LocalExec)
            .initial_stream_window_size(1 << 24)
            .initial_connection_window_size(1 << 26)
            .handshake(io)
            .await
            .map_err(failed)?;
        tokio::task::spawn_local(conn);
        Sender::H2(sender)
    } else if protocol == Protocol::Http2 {
        return Err(OpenFailed { kind: ErrorKind::NoHttp2 });
    } else {
        let (sender, conn) = http1::handshake(io).await.map_err(failed)?;
        // Its own task, which closes the connection properly (close_notify) once we let go.
        tokio::task::spawn_local(conn);
        Sender::H1(sender)
    };
    Ok(Opened { sender, seen, facts, offered, began, connected, handshaken })
}
