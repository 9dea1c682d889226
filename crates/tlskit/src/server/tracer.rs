//! `--trace` for one connection: the tap's bytes fed to the wire crate's
//! dissector (the decoder `tlskit dump` uses), with the connection's own
//! secrets from the key log, rendered in `tlskit dump`'s line format and
//! handed to the event sink as they happen.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tlskit_wire::capture::ConnInfo as WireConn;
use tlskit_wire::dissect::{Direction as WireDirection, Dissector, Event, Timestamp};
use tlskit_wire::record::ContentType;
use tlskit_wire::render::{TextOptions, TextRenderer};

use super::{ServerEvent, Shared};
use crate::trace::{Direction, SecretLog, TapSink};

/// Traced connections are numbered as `tlskit dump` numbers them.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Per-connection trace state; a [`TapSink`].
pub(crate) struct ConnTracer {
    shared: Arc<Shared>,
    peer: SocketAddr,
    secrets: Arc<SecretLog>,
    handshake_done: AtomicBool,
    state: Mutex<State>,
}

struct State {
    id: u64,
    conn: WireConn,
    dissector: Dissector,
    renderer: TextRenderer,
    client_random: Option<[u8; 32]>,
    /// The client's latest bytes, fed once rustls has read them (and logged the secrets they lead to).
    held: Vec<u8>,
}

impl ConnTracer {
    pub(crate) fn new(shared: Arc<Shared>, peer: SocketAddr, local: SocketAddr, secrets: Arc<SecretLog>) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let conn = WireConn { id, client: peer, server: local, first_ts: Timestamp::now(), midstream: false };
        let mut renderer = TextRenderer::new(TextOptions::default());
        let mut header = Vec::new();
        let _ = renderer.connection_start(&mut header, &conn);
        let tracer = ConnTracer {
            shared,
            peer,
            secrets: secrets.clone(),
            handshake_done: AtomicBool::new(false),
            state: Mutex::new(State {
                id,
                conn,
                dissector: Dissector::new(secrets),
                renderer,
                client_random: None,
                held: Vec::new(),
            }),
        };
        tracer.emit_lines(&header);
        tracer
    }

    /// The handshake is over: from now on application-data records are not shown.
    pub(crate) fn handshake_finished(&self) {
        self.handshake_done.store(true, Ordering::Relaxed);
    }

    /// The connection ended: its summary line, and its secrets forgotten.
    pub(crate) fn finish(&self) {
        let mut out = Vec::new();
        {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let state = &mut *guard;
            state.feed_held(&mut out, self.handshake_done.load(Ordering::Relaxed));
            let summary = state.dissector.summary();
            let _ = state.renderer.connection_end(&mut out, &state.conn, &summary);
            if let Some(random) = state.client_random {
                self.secrets.forget(&random);
            }
        }
        self.emit_lines(&out);
    }

    fn emit_lines(&self, text: &[u8]) {
        for line in String::from_utf8_lossy(text).lines() {
            if !line.is_empty() {
                self.shared.emit(ServerEvent::Trace { peer: self.peer, line: line.to_string() });
            }
        }
    }
}

impl State {
    /// Feed `bytes` of one direction, rendering the events into `out`.
    fn feed(&mut self, dir: WireDirection, bytes: &[u8], quiet_data: bool, out: &mut Vec<u8>) {
        let State { id, dissector, renderer, .. } = self;
        let mut sink = |event: &Event<'_>| {
            // After the handshake, only what is not plain application data is worth a line.
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
            self.feed(WireDirection::ClientToServer, &held, quiet_data, out);
        }
    }
}

impl TapSink for ConnTracer {
    fn bytes(&self, direction: Direction, data: &[u8]) {
        let quiet_data = self.handshake_done.load(Ordering::Relaxed);
        let mut out = Vec::new();
        {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let state = &mut *guard;
            // Bytes read are decoded one step late: by the next read or write rustls has
            // processed them and logged the secrets they need (TLS 1.2's Finished comes in
            // the same read as the ClientKeyExchange that yields its key).
            state.feed_held(&mut out, quiet_data);
            match direction {
                Direction::FromPeer => {
                    if state.client_random.is_none() {
                        state.client_random = crate::trace::client_random_of(data);
                    }
                    state.held.extend_from_slice(data);
                }
                Direction::ToPeer => state.feed(WireDirection::ServerToClient, data, quiet_data, &mut out),
            }
        }
        self.emit_lines(&out);
    }
}
