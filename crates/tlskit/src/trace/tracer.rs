//! One connection's live trace, for `serve --trace` and `get -v` alike: the
//! tap's bytes fed to the wire crate's dissector (the decoder `tlskit dump`
//! uses) with the connection's own secrets from a [`SecretLog`], rendered in
//! `tlskit dump`'s line format and handed to a line sink as they happen.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tlskit_wire::dissect::{Direction as WireDirection, Dissector, Event, Timestamp};
use tlskit_wire::record::ContentType;
use tlskit_wire::render::Connection as WireConn;
use tlskit_wire::render::{TextOptions, TextRenderer};

use super::{client_random_of, Direction, SecretLog, TapSink};

/// Receives trace lines, one call per line, in order.
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Which end of the connection this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

/// Traced connections of this process are numbered as `tlskit dump` numbers them.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Per-connection trace state; the [`TapSink`] of one connection's tap.
pub(crate) struct ConnTracer {
    lines: LineSink,
    side: Side,
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
    /// The peer's latest bytes, fed once rustls has read them (and logged the secrets they lead to).
    held: Vec<u8>,
}

impl ConnTracer {
    pub(crate) fn new(
        side: Side,
        lines: LineSink,
        secrets: Arc<SecretLog>,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (client, server) = match side {
            Side::Server => (peer, local),
            Side::Client => (local, peer),
        };
        let conn = WireConn { id, client, server, first_ts: Timestamp::now(), midstream: false };
        // A client (`get -v`) prints the peer chain once, in its session block; a server's trace shows the
        // client's certificates itself.
        let mut renderer =
            TextRenderer::new(TextOptions { certificates: side == Side::Server, ..TextOptions::default() });
        let mut header = Vec::new();
        let _ = renderer.connection_start(&mut header, &conn);
        let tracer = ConnTracer {
            lines,
            side,
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

    /// The connection is done (answered, closed or failed): its summary line, and its
    /// secrets forgotten. Only the first call does anything.
    pub(crate) fn finish(&self) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut out = Vec::new();
        {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let state = &mut *guard;
            state.feed_held(self.side, &mut out, self.handshake_done.load(Ordering::Relaxed));
            let summary = state.dissector.summary();
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

/// The wire direction of bytes that went `direction` from `side`'s point of view.
fn wire_direction(side: Side, direction: Direction) -> WireDirection {
    match (side, direction) {
        (Side::Server, Direction::FromPeer) | (Side::Client, Direction::ToPeer) => WireDirection::ClientToServer,
        (Side::Server, Direction::ToPeer) | (Side::Client, Direction::FromPeer) => WireDirection::ServerToClient,
    }
}

impl State {
    /// Feed `bytes` of one direction, rendering the events into `out`.
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

    fn feed_held(&mut self, side: Side, out: &mut Vec<u8>, quiet_data: bool) {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.feed(wire_direction(side, Direction::FromPeer), &held, quiet_data, out);
        }
    }
}

impl TapSink for ConnTracer {
    fn bytes(&self, direction: Direction, data: &[u8]) {
        if self.finished.load(Ordering::Relaxed) {
            return;
        }
        let quiet_data = self.handshake_done.load(Ordering::Relaxed);
        let mut out = Vec::new();
        {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let state = &mut *guard;
            // Bytes read are decoded one step late: by the next read or write rustls has
            // processed them and logged the secrets they need (TLS 1.2's Finished comes in
            // the same read as the ClientKeyExchange that yields its key).
            state.feed_held(self.side, &mut out, quiet_data);
            let client_sent = wire_direction(self.side, direction) == WireDirection::ClientToServer;
            if client_sent && state.client_random.is_none() {
                state.client_random = client_random_of(data);
            }
            match direction {
                Direction::FromPeer => state.held.extend_from_slice(data),
                Direction::ToPeer => state.feed(wire_direction(self.side, direction), data, quiet_data, &mut out),
            }
        }
        self.emit(&out);
    }
}

/// Calls [`ConnTracer::finish`] when a request or connection is over, however it ends.
pub(crate) struct FinishOnDrop(pub Option<Arc<ConnTracer>>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(tracer) = &self.0 {
            tracer.finish();
        }
    }
}
