//! The record/handshake decoder: arbitrary bytes fed to one connection's dissector, in chunks and both
//! directions, with secrets for one client random so decryption paths are reachable too.
//!
//! Input: repeated [dir+len: u16 little-endian, top bit = server-to-client][len bytes].
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tlskit_wire::dissect::{Direction, Dissector, HandshakeDetail, Timestamp};
use tlskit_wire::fingerprint::Fingerprints;
use tlskit_wire::handshake::{first_message, Certificates, ClientHello, FirstMessage, NewSessionTicket, ServerHello};
use tlskit_wire::keys::KeyLog;
use tlskit_wire::render::json::hello_fields;

/// Client random 0x41 * 32 has a TLS 1.2 master secret and TLS 1.3 secrets (SHA-256 and SHA-384 sized).
fn secrets() -> Arc<KeyLog> {
    static LOG: OnceLock<Arc<KeyLog>> = OnceLock::new();
    LOG.get_or_init(|| {
        let cr = "41".repeat(32);
        let mut text = format!("CLIENT_RANDOM {cr} {}\n", "11".repeat(48));
        for label in ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET"] {
            text.push_str(&format!("{label} {cr} {}\n", "22".repeat(32)));
        }
        for label in ["CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "CLIENT_EARLY_TRAFFIC_SECRET"] {
            text.push_str(&format!("{label} {cr} {}\n", "33".repeat(48)));
        }
        Arc::new(KeyLog::parse(&text).0)
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let mut dissector = Dissector::new(secrets());
    let mut rest = data;
    let mut ts = 0u64;
    let mut events = 0usize;
    while rest.len() >= 2 {
        let head = u16::from_le_bytes([rest[0], rest[1]]);
        let dir = if head & 0x8000 != 0 { Direction::ServerToClient } else { Direction::ClientToServer };
        let len = usize::from(head & 0x7fff).min(rest.len() - 2);
        let chunk = &rest[2..2 + len];
        rest = &rest[2 + len..];
        ts += 1000;
        dissector.feed(dir, chunk, Timestamp(ts), &mut |_event| events += 1);
    }
    // The handshake views directly, on the whole input, every list walked.
    for ch in [ClientHello::parse(data), ClientHello::parse_dtls(data)].into_iter().flatten() {
        let _ = (ch.server_name(), ch.alpn().count(), ch.versions().count(), ch.cipher_suites().count());
        let _ = (ch.key_share_groups().count(), ch.psk_modes().count(), ch.extensions.len());
        let _ = ch.psk_identities().count();
    }
    // What a server peeks before its handshake (the fleet's session lookup, and `/_tls`): records -> first
    // message -> hello -> its fields and fingerprints.
    let mut fingerprints = Fingerprints::default();
    if let FirstMessage::Complete(message) = first_message(data, 1 << 16) {
        if let Some(ch) = ClientHello::parse(&message[4..]) {
            let _ = (ch.psk_identities().count(), ch.session_ticket(), ch.session_id);
            fingerprints.client_hello(&ch);
            let _ = hello_fields(&HandshakeDetail::client_hello(&ch));
        }
    }
    if let Some(sh) = ServerHello::parse(data) {
        let _ = (sh.negotiated_version(), sh.key_share_group(), sh.alpn());
        fingerprints.server_hello(&sh);
        let _ = hello_fields(&HandshakeDetail::server_hello(&sh, false));
    }
    let _ = Certificates::parse(data, true).map(|c| c.iter().count());
    let _ = Certificates::parse(data, false).map(|c| c.iter().count());
    let _ = NewSessionTicket::parse(data, true);
    let _ = NewSessionTicket::parse(data, false);
    let _ = KeyLog::parse_bytes(data);
});
