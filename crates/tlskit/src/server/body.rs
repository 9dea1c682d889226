//! The response body the server hands hyper: the file service's body, counted,
//! with the access record emitted when it ends (or is dropped half-sent).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use super::io::ConnSignals;
use super::{AccessRecord, ServerEvent, Shared};
use crate::files::Body;

/// A [`Body`] that counts what it sends and reports an [`AccessRecord`] at its end.
pub struct LoggedBody {
    inner: Body,
    sent: u64,
    started: Instant,
    record: Option<AccessRecord>,
    shared: Arc<Shared>,
    signals: Arc<ConnSignals>,
    /// Holds one of the server's open-file places until it is dropped.
    file_held: bool,
}

impl LoggedBody {
    pub(crate) fn new(
        inner: Body,
        record: AccessRecord,
        started: Instant,
        shared: Arc<Shared>,
        signals: Arc<ConnSignals>,
        file_held: bool,
    ) -> Self {
        LoggedBody { inner, sent: 0, started, record: Some(record), shared, signals, file_held }
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if polled.is_ready() {
            if let Poll::Ready(Some(Ok(frame))) = &polled {
                if let Some(data) = frame.data_ref() {
                    self.sent += data.len() as u64;
                }
            }
            // Data or the end handed over: progress for the send timeout (stall.rs, timers.rs).
            super::stall::note_progress();
            self.signals.progressed();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        self.signals.response_done();
        if self.file_held {
            self.shared.open_files.release();
        }
        if let Some(mut record) = self.record.take() {
            record.bytes = self.sent;
            record.duration = self.started.elapsed();
            if record.key_update.is_some() {
                // Logged once the KeyUpdate has gone out, with the session after it.
                self.signals.key_update_log.response_done(&self.signals, record, &self.shared.events);
            } else {
                self.shared.emit(ServerEvent::Access(record));
            }
        }
    }
}
