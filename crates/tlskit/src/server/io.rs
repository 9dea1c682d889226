//! The per-connection IO wrapper: carries out KeyUpdates the service asks for,
//! and reports what the connection's watch (timers.rs) times: response progress,
//! bytes flushed, and, on HTTP/2, whether a request header block is arriving.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tlskit_wire::h2frame::HeaderBlockWatch;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::server::TlsStream;

use super::key_update::KeyUpdateLog;
use super::states::{ConnState, Slot};
use super::EventSink;
use crate::session::SessionInfo;
use crate::trace::Tap;

/// What the service, the response bodies and the IO wrapper of one connection share.
#[derive(Debug)]
pub(crate) struct ConnSignals {
    /// Set by `/_reneg_`: the next write first sends a KeyUpdate.
    pub(crate) key_update_wanted: AtomicBool,
    /// KeyUpdates this server has sent on the connection.
    pub(crate) key_updates_sent: AtomicU64,
    /// Milliseconds after `opened` of the last progress: a request started or a
    /// response moved; on HTTP/1.1 also any bytes read or written (there, only
    /// requests and responses flow).
    pub(crate) last_progress_ms: AtomicU64,
    /// Bumped by every flush that completed (the shutdown of an idle connection waits for one).
    pub(crate) flushes: AtomicU64,
    /// Requests whose response body is not finished yet.
    pub(crate) in_flight: AtomicUsize,
    /// HTTP/2: milliseconds after `opened` when the header block now arriving began; 0 when none is.
    pub(crate) header_block_since: AtomicU64,
    /// A graceful close has begun: flushes wake the watch.
    pub(crate) closing: AtomicBool,
    /// Wakes the connection's watch before its next deadline (a request started, a header block opened, a
    /// flush while closing).
    pub(crate) wake: Notify,
    /// When the connection was accepted.
    pub(crate) opened: Instant,
    /// HTTP/2 (frames other than requests and responses must not count as progress).
    pub(crate) http2: bool,
    slot: Slot,
    /// The sessions after KeyUpdates, and the access records waiting for one.
    pub(crate) key_update_log: KeyUpdateLog,
}

impl ConnSignals {
    pub(crate) fn new(slot: Slot, opened: Instant, http2: bool) -> Self {
        slot.set(ConnState::Idle);
        ConnSignals {
            key_update_wanted: AtomicBool::new(false),
            key_updates_sent: AtomicU64::new(0),
            last_progress_ms: AtomicU64::new((opened.elapsed().as_millis() as u64).max(1)),
            closing: AtomicBool::new(false),
            wake: Notify::new(),
            flushes: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            header_block_since: AtomicU64::new(0),
            opened,
            http2,
            slot,
            key_update_log: KeyUpdateLog::default(),
        }
    }

    /// The connection's place in the state table.
    pub(crate) fn slot(&self) -> &Slot {
        &self.slot
    }

    /// A request arrived: the connection is active.
    pub(crate) fn request_started(&self) {
        self.progressed();
        if self.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            self.slot.set(ConnState::Active);
            // The watch was sleeping towards the idle deadline: the send timeout applies now.
            self.wake.notify_one();
        }
    }

    /// A response body ended or was dropped: idle again when it was the last.
    pub(crate) fn response_done(&self) {
        self.progressed();
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.slot.set(ConnState::Idle);
        }
    }

    /// A response moved.
    pub(crate) fn progressed(&self) {
        self.last_progress_ms.store(self.now_ms(), Ordering::Release);
    }

    /// Milliseconds since the connection was accepted (never 0, which means "none").
    pub(crate) fn now_ms(&self) -> u64 {
        (self.opened.elapsed().as_millis() as u64).max(1)
    }
}

/// The TLS stream hyper drives, with the connection's signals.
pub(crate) struct ConnIo {
    tls: TlsStream<Tap<TcpStream>>,
    signals: Arc<ConnSignals>,
    /// HTTP/2 only: follows the client's frames to time request header blocks.
    frames: Option<HeaderBlockWatch>,
    /// Where access records parked for a KeyUpdate go once it is sent.
    events: EventSink,
}

impl ConnIo {
    pub(crate) fn new(tls: TlsStream<Tap<TcpStream>>, signals: Arc<ConnSignals>, events: EventSink) -> Self {
        let frames = signals.http2.then(HeaderBlockWatch::new);
        ConnIo { tls, signals, frames, events }
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

    fn wrote(&self, polled: &Poll<io::Result<usize>>) {
        if !self.signals.http2 && matches!(polled, Poll::Ready(Ok(n)) if *n > 0) {
            self.signals.progressed();
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tls).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let this = &mut *self;
            let new = buf.filled().get(before..).unwrap_or_default();
            match &mut this.frames {
                Some(frames) if !new.is_empty() => {
                    let was_open = frames.header_block_open();
                    frames.feed(new);
                    match (was_open, frames.header_block_open()) {
                        (false, true) => {
                            this.signals.header_block_since.store(this.signals.now_ms(), Ordering::Release);
                            this.signals.wake.notify_one();
                        }
                        (true, false) => this.signals.header_block_since.store(0, Ordering::Release),
                        _ => {}
                    }
                }
                None if !new.is_empty() => this.signals.progressed(),
                _ => {}
            }
        }
        polled
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.key_update_if_wanted();
        let polled = Pin::new(&mut self.tls).poll_write(cx, data);
        self.wrote(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.key_update_if_wanted();
        let polled = Pin::new(&mut self.tls).poll_write_vectored(cx, bufs);
        self.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.key_update_if_wanted();
        let polled = Pin::new(&mut self.tls).poll_flush(cx);
        if let Poll::Ready(Ok(())) = polled {
            self.signals.flushes.fetch_add(1, Ordering::Release);
            if self.signals.closing.load(Ordering::Acquire) {
                self.signals.wake.notify_one();
            }
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }
}
