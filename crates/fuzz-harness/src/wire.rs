//! Targets of tlskit-wire's parsers of captured bytes: the record/handshake decoder, the capture reader, the
//! record decryptor, the HTTP layer, HTTP/2 frame watching and record decompression.

use std::io::Cursor;
use std::sync::{Arc, OnceLock};

use tlskit_wire::capture::{self, file::CaptureReader, Analyzer, Handler};
use tlskit_wire::cipher::{CipherSuite, CipherSuiteId, RecordDecryptor};
use tlskit_wire::compression::{InflateError, RecordInflater, MAX_INFLATED_LEN};
use tlskit_wire::dissect::{Direction, Dissector, Event, HandshakeDetail, Summary, Timestamp};
use tlskit_wire::fingerprint::Fingerprints;
use tlskit_wire::h2frame::{FrameHeader, HeaderBlockWatch};
use tlskit_wire::handshake::{first_message, Certificates, ClientHello, FirstMessage, NewSessionTicket, ServerHello};
use tlskit_wire::http::{HttpDissector, HttpEvent};
use tlskit_wire::keys::KeyLog;
use tlskit_wire::record::ContentType::ApplicationData;
use tlskit_wire::record::ProtocolVersion::{self, SSLv3, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3};
use tlskit_wire::render::json::hello_fields;
use tlskit_wire::render::Connection;
use tlskit_wire::schedule;

/// Splits `[u16 LE: bit 15 = server-to-client, bits 0-14 = length][bytes]...` into its chunks (a short last
/// chunk is cut to what is there): the chunk format of the stream targets.
pub(crate) fn chunks(mut rest: &[u8]) -> impl Iterator<Item = (Direction, &[u8])> {
    std::iter::from_fn(move || {
        if rest.len() < 2 {
            return None;
        }
        let head = u16::from_le_bytes([rest[0], rest[1]]);
        let dir = if head & 0x8000 != 0 { Direction::ServerToClient } else { Direction::ClientToServer };
        let len = usize::from(head & 0x7fff).min(rest.len() - 2);
        let chunk = &rest[2..2 + len];
        rest = &rest[2 + len..];
        Some((dir, chunk))
    })
}

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

/// The record/handshake decoder: the bytes as chunks of one connection (see `chunks`), fed to a dissector
/// with secrets for client random 0x41 * 32; then the handshake views (hellos, certificates, tickets, what a
/// server peeks before its handshake) on the whole input, every list walked.
pub fn record(data: &[u8]) {
    let mut dissector = Dissector::new(secrets());
    let mut ts = 0u64;
    let mut events = 0usize;
    for (dir, chunk) in chunks(data) {
        ts += 1000;
        dissector.feed(dir, chunk, Timestamp(ts), &mut |_event| events += 1);
    }
    for ch in [ClientHello::parse(data), ClientHello::parse_dtls(data)].into_iter().flatten() {
        let _ = (ch.server_name(), ch.alpn().count(), ch.versions().count(), ch.cipher_suites().count());
        let _ = (ch.key_share_groups().count(), ch.psk_modes().count(), ch.extensions.len());
        let _ = ch.psk_identities().count();
    }
    // What a server peeks before its handshake (the fleet's session lookup, and `/_tls`).
    let mut fingerprints = Fingerprints::default();
    if let FirstMessage::Complete(message) = first_message(data, 1 << 16) {
        if let Some(ch) = ClientHello::parse(&message[4..]) {
            let _ = (ch.psk_identities().count(), ch.session_ticket(), ch.session_id);
            fingerprints.client_hello(&ch, 't');
            let _ = hello_fields(&HandshakeDetail::client_hello(&ch));
        }
    }
    if let Some(sh) = ServerHello::parse(data) {
        let _ = (sh.negotiated_version(), sh.key_share_group(), sh.alpn());
        fingerprints.server_hello(&sh, 't');
        let _ = hello_fields(&HandshakeDetail::server_hello(&sh, false));
    }
    let _ = Certificates::parse(data, true).map(|c| c.iter().count());
    let _ = Certificates::parse(data, false).map(|c| c.iter().count());
    let _ = NewSessionTicket::parse(data, true);
    let _ = NewSessionTicket::parse(data, false);
}

struct Count(usize);

impl Handler for Count {
    fn connection_start(&mut self, _: &Connection) {
        self.0 += 1;
    }
    fn event(&mut self, _: &Connection, _: &Event<'_>) {
        self.0 += 1;
    }
    fn connection_end(&mut self, _: &Connection, _: &Summary) {
        self.0 += 1;
    }
}

/// The capture reader: the bytes as a pcap/pcapng file (options, Decryption Secrets Blocks, every link
/// type), read to the end and every packet decoded (link layer, IP, TCP reassembly, TLS) as `tlskit dump`
/// does, secrets from the file's own DSBs.
pub fn capture(data: &[u8]) {
    let Ok(mut reader) = CaptureReader::new(Box::new(Cursor::new(data.to_vec()))) else { return };
    let mut analyzer = Analyzer::new(Arc::new(KeyLog::new()));
    let mut handler = Count(0);
    let _report = capture::run(&mut reader, &mut analyzer, &mut |text| drop(KeyLog::parse_bytes(text)), &mut handler);
}

use CipherSuiteId::*;

/// One decryptor of every shape: AEAD with explicit and implicit nonces, TLS 1.3, CBC with implicit and
/// explicit IV, MAC-then-encrypt and encrypt-then-MAC, SSL 3.0 MAC, NULL.
const DECRYPT_CASES: &[(CipherSuiteId, ProtocolVersion, bool)] = &[
    (TLS_AES_128_GCM_SHA256, TLSv1_3, false),
    (TLS_AES_128_CCM_SHA256, TLSv1_3, false),
    (TLS_AES_128_CCM_8_SHA256, TLSv1_3, false),
    (TLS_CHACHA20_POLY1305_SHA256, TLSv1_3, false),
    (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLSv1_2, false),
    (TLS_RSA_WITH_AES_128_CCM_8, TLSv1_2, false),
    (TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLSv1_2, false),
    (TLS_RSA_WITH_AES_128_CBC_SHA, SSLv3, false),
    (TLS_RSA_WITH_AES_128_CBC_SHA, TLSv1_0, false),
    (TLS_RSA_WITH_AES_128_CBC_SHA, TLSv1_1, true),
    (TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, TLSv1_2, false),
    (TLS_RSA_WITH_CAMELLIA_128_CBC_SHA, TLSv1_2, false),
    (TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLSv1_0, false),
    (TLS_ECDHE_RSA_WITH_NULL_SHA, TLSv1_1, false),
    (TLS_RSA_WITH_NULL_MD5, TLSv1_0, false),
    (TLS_RSA_WITH_RC4_128_MD5, SSLv3, false),
];

/// The record decryptor: `[selector][fragments...]`, the selector picking a decryptor shape, the rest cut
/// into 97-byte records decrypted in a row (chained IVs, sequence numbers). Bad records are errors, never
/// a panic; a plaintext lies within its record.
pub fn decrypt(data: &[u8]) {
    let Some((&selector, fragment)) = data.split_first() else { return };
    let (id, version, etm) = DECRYPT_CASES[usize::from(selector) % DECRYPT_CASES.len()];
    let Some(suite) = CipherSuite::lookup(id) else { return };
    let mut dec = if suite.is_tls13() {
        RecordDecryptor::tls13(suite, &vec![7u8; suite.prf_hash.output_len()]).expect("tls13 decryptor")
    } else {
        let (client, _) = schedule::tls12_keys(suite, version, &[9; 48], &[1; 32], &[2; 32]);
        RecordDecryptor::new(suite, version, &client).expect("decryptor").with_encrypt_then_mac(etm)
    };
    for record in fragment.chunks(97) {
        let mut buf = record.to_vec();
        let len = buf.len();
        if let Ok(plain) = dec.decrypt(ApplicationData, version, &mut buf) {
            assert!(plain.range.end <= len);
        }
        let mut again = record.to_vec();
        let _ = dec.try_decrypt(ApplicationData, version, &mut again);
    }
    let _ = dec.key_update();
}

/// The HTTP/2 frame watch of `serve`'s header timeout: `[split][bytes...]`, fed whole to one watch and in
/// chunks of `split + 1` to another; the split never changes the answer.
pub fn h2frame(data: &[u8]) {
    let Some((&split, bytes)) = data.split_first() else { return };
    let mut whole = HeaderBlockWatch::new();
    whole.feed(bytes);
    let mut pieces = HeaderBlockWatch::new();
    for chunk in bytes.chunks(usize::from(split) + 1) {
        pieces.feed(chunk);
    }
    assert_eq!(whole.header_block_open(), pieces.header_block_open());
    assert_eq!(whole.frames(), pieces.frames());
    if let Some(h) = FrameHeader::new(bytes) {
        let _ = (h.length(), h.frame_type(), h.flags(), h.stream_id(), h.carries_header_block());
    }
}

/// The HTTP layer of `tlskit dump --http` (HTTP/1.1 framing, HTTP/2 frames, HPACK): `[mode][chunks...]`
/// (see `chunks`); mode bit 0: ALPN says h2, bit 1: the connection ends with `finish`, else with a gap.
/// Every message reported has a body no longer than the bytes fed.
pub fn http(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut http = HttpDissector::new();
    if mode & 1 != 0 {
        http.set_alpn("h2");
    }
    let mut fed = 0u64;
    let check = |e: &HttpEvent<'_>, fed: u64| {
        if let HttpEvent::Message { body_len, .. } = e {
            assert!(*body_len <= fed, "body of {body_len} bytes from {fed} bytes");
        }
    };
    for (dir, chunk) in chunks(rest) {
        fed += chunk.len() as u64;
        http.feed(dir, chunk, &mut |e| check(e, fed));
    }
    if mode & 2 == 0 {
        http.gap(Direction::ServerToClient, &mut |e| check(e, fed));
    }
    http.finish(&mut |e| check(e, fed));
}

/// TLS record decompression (DEFLATE, RFC 3749): records as `[u16 LE length][bytes]...` of one direction.
/// No record inflates past the limit, and a failed record breaks the stream for the records after it.
pub fn compression(data: &[u8]) {
    let mut inflater = RecordInflater::new();
    let mut out = Vec::new();
    let mut rest = data;
    let mut failed = false;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let record = &rest[2..2 + len];
        rest = &rest[2 + len..];
        match inflater.inflate(record, &mut out) {
            Ok(()) => {
                assert!(!failed, "a record inflated after the stream failed");
                assert!(out.len() <= MAX_INFLATED_LEN);
            }
            Err(InflateError::StreamLost) => assert!(failed),
            Err(_) => failed = true,
        }
    }
}
