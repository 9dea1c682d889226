//! The per-connection IO wrapper: carries out KeyUpdates the service asks for
//! and counts activity for the idle timeout.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::key_update::KeyUpdateLog;
use super::EventSink;
use crate::session::SessionInfo;
use crate::trace::Tap;

/// What the service and the IO wrapper of one connection share.
#[derive(Debug, Default)]
pub(crate) struct ConnSignals {
    /// Set by `/_reneg_`: the next write first sends a KeyUpdate.
    pub(crate) key_update_wanted: AtomicBool,
    /// KeyUpdates this server has sent on the connection.
    pub(crate) key_updates_sent: AtomicU64,
    /// Bumped on every read and write that moved bytes.
    pub(crate) activity: AtomicU64,
    /// Requests whose response body is not finished yet.
    pub(crate) in_flight: AtomicUsize,
    /// The sessions after KeyUpdates, and the access records waiting for one.
    pub(crate) key_update_log: KeyUpdateLog,
}

/// The TLS stream hyper drives, with the connection's signals.
pub(crate) struct ConnIo {
    tls: TlsStream<Tap<TcpStream>>,
    signals: Arc<ConnSignals>,
    /// Where access records parked for a KeyUpdate go once it is sent.
    events: EventSink,
}

impl ConnIo {
    pub(crate) fn new(tls: TlsStream<Tap<TcpStream>>, signals: Arc<ConnSignals>, events: EventSink) -> Self {
        ConnIo { tls, signals, events }
    }

    /// Queue a KeyUpdate ahead of the bytes about to be written, if one was asked for; the session is
    /// re-read from the connection after it, for the log.
    fn key_update_if_wanted(&mut self) {
        if self.signals.key_update_wanted.load(Ordering::Relaxed)
            && self.signals.key_update_wanted.swap(false, Ordering::AcqRel)
        {
            let conn = self.tls.get_mut().1;
            let after = conn
                .refresh_traffic_keys()
                .is_ok()
                .then(|| SessionInfo::from_connection(conn, conn.server_name(), None));
            self.signals.key_update_log.key_update_done(&self.signals, after, &self.events);
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.tls).poll_read(cx, buf);
        if polled.is_ready() {
            self.signals.activity.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.key_update_if_wanted();
        let polled = Pin::new(&mut self.tls).poll_write(cx, data);
        if polled.is_ready() {
            self.signals.activity.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.key_update_if_wanted();
        let polled = Pin::new(&mut self.tls).poll_write_vectored(cx, bufs);
        if polled.is_ready() {
            self.signals.activity.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.key_update_if_wanted();
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }
}
