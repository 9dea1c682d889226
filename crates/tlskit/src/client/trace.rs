//! `get -v`'s handshake trace: the connection's bytes, copied by [`crate::trace::Tap`], fed to
//! the wire crate's dissector (the decoder `tlskit dump` uses) with the connection's own secrets
//! from a [`SecretLog`], rendered in `tlskit dump`'s line format and handed to the caller's
//! line callback as they happen. The client-side mirror of the server's tracer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tlskit_wire::capture::ConnInfo as WireConn;
use tlskit_wire::dissect::{Direction as WireDirection, Dissector, Event, Timestamp};
use tlskit_wire::record::ContentType;
use tlskit_wire::render::{TextOptions, TextRenderer};

use crate::trace::{Direction, SecretLog, TapSink};

/// Receives trace lines, one call per line, in order.
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Connections of this process are numbered as `tlskit dump` numbers them.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Per-connection trace state; the [`TapSink`] of one connection's tap.
pub(crate) struct ClientTracer {
    lines: LineSink,
    secrets: Arc<SecretLog>,
    handshake_done: AtomicBool,
    finished: AtomicBool,
    state: Mutex<State>,
}

struct State {
    id: u64,
    conn: WireConn,
    dissector: Dissector,
    renderer: TextRenderer,
    client_random: Option<[u8; 32]>,
    /// The server's latest bytes, fed once rustls has read them (and logged the secrets they lead to).
    held: Vec<u8>,
}

impl ClientTracer {
    pub(crate) fn new(lines: LineSink, secrets: Arc<SecretLog>, local: SocketAddr, remote: SocketAddr) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let conn = WireConn { id, client: local, server: remote, first_ts: Timestamp::now(), midstream: false };
        let mut renderer = TextRenderer::new(TextOptions::default());
        let mut header = Vec::new();
        let _ = renderer.connection_start(&mut header, &conn);
        let tracer = ClientTracer {
            lines,
            secrets: secrets.clone(),
            handshake_done: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            state: Mutex::new(State {
                id,
                conn,
                dissector: Dissector::new(secrets),
                renderer,
                client_random: None,
                held: Vec::new(),
            }),
        };
        tracer.emit(&header);
        tracer
    }

    /// The handshake is over: from now on application-data records are not shown.
    pub(crate) fn handshake_finished(&self) {
        self.handshake_done.store(true, Ordering::Relaxed);
    }

    /// Done with the connection (answered or failed): its summary, and its secrets forgotten.
    pub(crate) fn finish(&self) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut out = Vec::new();
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.feed_held(&mut out, self.handshake_done.load(Ordering::Relaxed));
            let summary = state.dissector.summary();
            let state = &mut *state;
            let _ = state.renderer.connection_end(&mut out, &state.conn, &summary);
            if let Some(random) = state.client_random {
                self.secrets.forget(&random);
            }
        }
        self.emit(&out);
    }

    fn emit(&self, text: &[u8]) {
        for line in String::from_utf8_lossy(text).lines().filter(|l| !l.is_empty()) {
            (self.lines)(line);
        }
    }
}

impl State {
    fn feed(&mut self, dir: WireDirection, bytes: &[u8], quiet_data: bool, out: &mut Vec<u8>) {
        let State { id, dissector, renderer, .. } = self;
        let mut sink = |event: &Event<'_>| {
            // After the handshake, plain application data is the HTTP exchange: not traced.
            if quiet_data {
                match event {
                    Event::Record { content_type, inner_type, .. }
                        if inner_type.unwrap_or(*content_type) == ContentType::ApplicationData =>
                    {
                        return
                    }
                    Event::ApplicationData { .. } => return,
                    _ => {}
                }
            }
            let _ = renderer.event(out, *id, event);
        };
        dissector.feed(dir, bytes, Timestamp::now(), &mut sink);
    }

    fn feed_held(&mut self, out: &mut Vec<u8>, quiet_data: bool) {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.feed(WireDirection::ServerToClient, &held, quiet_data, out);
        }
    }
}

impl TapSink for ClientTracer {
    fn bytes(&self, direction: Direction, data: &[u8]) {
        if self.finished.load(Ordering::Relaxed) {
            return;
        }
        let quiet_data = self.handshake_done.load(Ordering::Relaxed);
        let mut out = Vec::new();
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            // Bytes read are decoded one step late: by our next read or write rustls has
            // processed them and logged the secrets they need.
            state.feed_held(&mut out, quiet_data);
            match direction {
                Direction::FromPeer => state.held.extend_from_slice(data),
                Direction::ToPeer => {
                    if state.client_random.is_none() {
                        state.client_random = crate::trace::client_random_of(data);
                    }
                    state.feed(WireDirection::ClientToServer, data, quiet_data, &mut out);
                }
            }
        }
        self.emit(&out);
    }
}

/// Calls [`ClientTracer::finish`] when the request is over, however it ends.
pub(crate) struct FinishOnDrop(pub Option<Arc<ClientTracer>>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(tracer) = &self.0 {
            tracer.finish();
        }
    }
}
