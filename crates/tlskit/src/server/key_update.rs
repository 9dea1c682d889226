//! The `/_reneg_` magic URL's KeyUpdate as the server's log shows it: the session before the request,
//! and the session re-read from the connection once the KeyUpdate has gone out (as orig_https_srv.py
//! logged the session after renegotiating).
//!
//! The KeyUpdate is sent just before the response's first byte, but hyper may finish (and drop) a small
//! response body before it writes anything, so the access record of such a request is parked here until
//! the IO wrapper has sent the KeyUpdate, or the connection ends without it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::io::ConnSignals;
use super::{AccessRecord, EventSink, ServerEvent};
use crate::session::SessionInfo;

/// What a request that asked for a KeyUpdate did to its connection.
#[derive(Clone, Debug)]
pub struct KeyUpdateReport {
    /// KeyUpdates the server had sent on the connection before this request (its traffic key generation).
    pub generation_before: u64,
    /// The generation once the response was on its way: one more when the KeyUpdate went out.
    pub generation_after: u64,
    /// The session as negotiated at the handshake.
    pub before: Arc<SessionInfo>,
    /// The session re-read from the connection after the KeyUpdate; `None` when none was sent (the
    /// connection ended first, or rustls refused).
    pub after: Option<Arc<SessionInfo>>,
}

impl KeyUpdateReport {
    /// A report for a request arriving when `generation` KeyUpdates had been sent; completed later.
    pub(crate) fn pending(generation: u64, before: Arc<SessionInfo>) -> Self {
        KeyUpdateReport { generation_before: generation, generation_after: generation, before, after: None }
    }

    /// Whether the KeyUpdate this request asked for went out.
    pub fn sent(&self) -> bool {
        self.generation_after > self.generation_before
    }
}

/// The connection's side of it: the session after the last KeyUpdate, and the records waiting for one.
#[derive(Debug, Default)]
pub(crate) struct KeyUpdateLog {
    state: Mutex<LogState>,
}

#[derive(Debug, Default)]
struct LogState {
    after: Option<Arc<SessionInfo>>,
    parked: Vec<AccessRecord>,
    /// The connection is over: nothing waits any more.
    closed: bool,
}

/// `record` with its KeyUpdate filled in from what the connection has done so far.
fn complete(mut record: AccessRecord, sent: u64, after: Option<&Arc<SessionInfo>>) -> AccessRecord {
    if let Some(report) = record.key_update.as_mut() {
        report.generation_after = sent;
        report.after = (sent > report.generation_before).then(|| after.cloned()).flatten().map(|after| {
            // Re-read without a clock: the handshake took as long as it did.
            Arc::new(SessionInfo { handshake_ms: report.before.handshake_ms, ..(*after).clone() })
        });
    }
    record
}

impl KeyUpdateLog {
    /// The response of `record` (which asked for a KeyUpdate) is done: emit it if the KeyUpdate went
    /// out, else park it until it does.
    pub(crate) fn response_done(&self, signals: &ConnSignals, record: AccessRecord, events: &EventSink) {
        let before = record.key_update.as_ref().map_or(0, |r| r.generation_before);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let sent = signals.key_updates_sent.load(Ordering::Acquire);
        if sent > before || state.closed {
            let record = complete(record, sent, state.after.as_ref());
            drop(state);
            events(ServerEvent::Access(record));
        } else {
            state.parked.push(record);
        }
    }

    /// The IO wrapper tried a KeyUpdate (`after` is the re-read session when it succeeded): parked
    /// records are completed and emitted.
    pub(crate) fn key_update_done(&self, signals: &ConnSignals, after: Option<SessionInfo>, events: &EventSink) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(after) = after {
            state.after = Some(Arc::new(after));
            signals.key_updates_sent.fetch_add(1, Ordering::AcqRel);
        }
        let sent = signals.key_updates_sent.load(Ordering::Acquire);
        let parked = std::mem::take(&mut state.parked);
        let after = state.after.clone();
        drop(state);
        for record in parked {
            events(ServerEvent::Access(complete(record, sent, after.as_ref())));
        }
    }

    /// The connection is over: records still waiting are emitted as they are (no KeyUpdate was sent).
    pub(crate) fn connection_done(&self, signals: &ConnSignals, events: &EventSink) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.key_update_done(signals, None, events);
    }
}
