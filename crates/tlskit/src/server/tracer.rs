//! `--trace` for one connection: the tap's bytes and the connection's secrets
//! turned into lines, handed to the event sink as they happen.
//!
//! Until the wire crate's dissector is in, this reads TLS record headers and
//! plaintext handshake message types itself.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::{ServerEvent, Shared};
use crate::trace::{client_random_of, Direction, SecretLog, TapSink};

/// Bytes of an unfinished record kept per direction (a record is at most 16 KiB + 2 KiB).
const MAX_PENDING: usize = 20 * 1024;

/// Per-connection trace state; a [`TapSink`].
pub(crate) struct ConnTracer {
    shared: Arc<Shared>,
    peer: SocketAddr,
    secrets: Arc<SecretLog>,
    handshake_done: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    from_client: Side,
    to_client: Side,
    client_random: Option<[u8; 32]>,
}

#[derive(Default)]
struct Side {
    pending: Vec<u8>,
    /// Past ChangeCipherSpec (1.2) or ServerHello (1.3): handshake bodies are encrypted.
    encrypted: bool,
    gave_up: bool,
}

impl ConnTracer {
    pub(crate) fn new(shared: Arc<Shared>, peer: SocketAddr, secrets: Arc<SecretLog>) -> Self {
        ConnTracer {
            shared,
            peer,
            secrets,
            handshake_done: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }
    }

    /// The handshake is over: stop printing application-data records.
    pub(crate) fn handshake_finished(&self) {
        self.handshake_done.store(true, Ordering::Relaxed);
    }

    /// The connection ended: forget its secrets.
    pub(crate) fn finish(&self) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(random) = state.client_random {
            self.secrets.forget(&random);
        }
    }

    fn line(&self, line: String) {
        self.shared.emit(ServerEvent::Trace { peer: self.peer, line });
    }
}

impl TapSink for ConnTracer {
    fn bytes(&self, direction: Direction, data: &[u8]) {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        if direction == Direction::FromPeer && state.client_random.is_none() {
            let mut start = state.from_client.pending.clone();
            start.extend_from_slice(data.get(..64).unwrap_or(data));
            state.client_random = client_random_of(&start);
        }
        let (side, arrow) = match direction {
            Direction::FromPeer => (&mut state.from_client, "C>S"),
            Direction::ToPeer => (&mut state.to_client, "S>C"),
        };
        if side.gave_up {
            return;
        }
        side.pending.extend_from_slice(data);
        let mut lines = Vec::new();
        let mut server_hello_13 = false;
        let mut offset = 0;
        while let Some(header) = side.pending.get(offset..offset + 5) {
            let content_type = header[0];
            let version = u16::from_be_bytes([header[1], header[2]]);
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if !(20..=24).contains(&content_type) || len > 18 * 1024 {
                lines.push(format!("{arrow} not a TLS record (type {content_type}); trace stops for this direction"));
                side.gave_up = true;
                break;
            }
            let Some(body) = side.pending.get(offset + 5..offset + 5 + len) else { break };
            let what = match content_type {
                20 => {
                    side.encrypted = true;
                    "ChangeCipherSpec".to_string()
                }
                21 if !side.encrypted => alert_text(body),
                21 => "Alert (encrypted)".into(),
                22 if !side.encrypted => {
                    let names = handshake_names(body);
                    if names.iter().any(|n| n.starts_with("ServerHello ") && n.contains("TLSv1.3")) {
                        server_hello_13 = true;
                    }
                    format!("Handshake: {}", names.join(", "))
                }
                22 => "Handshake (encrypted)".into(),
                23 if self.handshake_done.load(Ordering::Relaxed) => String::new(),
                23 => "ApplicationData (encrypted handshake or data)".into(),
                _ => "Heartbeat".into(),
            };
            if !what.is_empty() {
                lines.push(format!("{arrow} {} {} bytes: {what}", version_name(version), len));
            }
            offset += 5 + len;
        }
        side.pending.drain(..offset.min(side.pending.len()));
        if side.pending.len() > MAX_PENDING {
            side.pending.clear();
            side.gave_up = true;
        }
        if server_hello_13 {
            // After a TLS 1.3 ServerHello both sides encrypt the rest of the handshake.
            state.to_client.encrypted = true;
            state.from_client.encrypted = true;
        }
        drop(guard);
        for line in lines {
            self.line(line);
        }
    }
}

fn version_name(v: u16) -> &'static str {
    match v {
        0x0300 => "SSLv3",
        0x0301 => "TLSv1.0",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        _ => "TLS?",
    }
}

fn alert_text(body: &[u8]) -> String {
    match body {
        [level, desc] => format!("Alert level {level} description {desc}"),
        _ => "Alert (malformed)".into(),
    }
}

/// The handshake messages in one plaintext record (types, ServerHello's version).
fn handshake_names(mut body: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    while let [kind, a, b, c, rest @ ..] = body {
        let len = (usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c);
        let msg = rest.get(..len).unwrap_or(rest);
        let name = match kind {
            0 => "HelloRequest".into(),
            1 => "ClientHello".into(),
            2 => format!("ServerHello {}", if server_hello_is_13(msg) { "TLSv1.3" } else { "TLSv1.2" }),
            4 => "NewSessionTicket".into(),
            8 => "EncryptedExtensions".into(),
            11 => "Certificate".into(),
            12 => "ServerKeyExchange".into(),
            13 => "CertificateRequest".into(),
            14 => "ServerHelloDone".into(),
            15 => "CertificateVerify".into(),
            16 => "ClientKeyExchange".into(),
            20 => "Finished".into(),
            other => format!("handshake type {other}"),
        };
        names.push(name);
        body = rest.get(len..).unwrap_or_default();
    }
    names
}

/// A ServerHello is TLS 1.3 when its supported_versions extension says 0x0304.
fn server_hello_is_13(msg: &[u8]) -> bool {
    // version(2) random(32) session_id(1+n) suite(2) compression(1) extensions(2+...)
    let Some(&sid_len) = msg.get(34) else { return false };
    let mut exts = match msg.get(35 + usize::from(sid_len) + 3 + 2..) {
        Some(e) => e,
        None => return false,
    };
    while let [t0, t1, l0, l1, rest @ ..] = exts {
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let data = rest.get(..len).unwrap_or_default();
        if [*t0, *t1] == [0x00, 0x2b] && data == [0x03, 0x04] {
            return true;
        }
        exts = rest.get(len..).unwrap_or_default();
    }
    false
}
