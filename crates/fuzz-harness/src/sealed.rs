//! Records behind encryption: the fuzzer's bytes sealed under known keys (TLS 1.3, and TLS 1.2 and older
//! AEAD and CBC record protection), so the decoder's paths after a record authenticates (decrypted handshake
//! messages, KeyUpdate, tickets, alerts, application data) are fuzzed, not only its rejection of forged tags.
//!
//! Input: `[selector][record...]`, a record being `[ctrl][u16 LE length][plaintext]`.
//! - selector: bits 0-3 pick the [`CASES`] entry; bit 4 negotiates encrypt-then-MAC (CBC suites); bit 5 sends
//!   TLS 1.3's middlebox-compatibility ChangeCipherSpec records.
//! - ctrl: bit 7 server-to-client; bits 0-1 the content type (handshake, alert, application data, or 3: the
//!   bytes go on the wire as they are, unsealed); bit 2 corrupts the sealed record's last byte; bits 3-6 add
//!   that many times 7 bytes of TLS 1.3 padding.
//!
//! The harness plays both peers: a plaintext ClientHello and ServerHello fix the randoms, version and suite,
//! the key log holds the secrets, and the harness follows the TLS 1.3 key stages as the decoder does
//! (Finished: application keys; KeyUpdate: the next generation).

use std::io;
use std::sync::Arc;

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey};
use tlskit_wire::cipher::{BulkCipher, CipherSuite, CipherSuiteId};
use tlskit_wire::dissect::{Direction, Dissector, Event, Timestamp};
use tlskit_wire::keys::{KeyLog, Label};
use tlskit_wire::record::ProtocolVersion::{self, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3};
use tlskit_wire::render::json::event_json;
use tlskit_wire::render::text::{summary_line, TextOptions, TextRenderer};
use tlskit_wire::render::Connection;
use tlskit_wire::schedule::{self, DirectionKeys, HashAlg};

use CipherSuiteId::*;

/// The suites and versions the harness seals with: every nonce and IV rule the decoder knows for AES-GCM,
/// ChaCha20-Poly1305 and AES-CBC.
pub(crate) const CASES: &[(CipherSuiteId, ProtocolVersion)] = &[
    (TLS_AES_128_GCM_SHA256, TLSv1_3),
    (TLS_AES_256_GCM_SHA384, TLSv1_3),
    (TLS_CHACHA20_POLY1305_SHA256, TLSv1_3),
    (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLSv1_2),
    (TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLSv1_2),
    (TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLSv1_2),
    (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLSv1_2),
    (TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, TLSv1_2),
    (TLS_RSA_WITH_AES_128_CBC_SHA, TLSv1_1),
    (TLS_RSA_WITH_AES_256_CBC_SHA, TLSv1_0),
];

const CLIENT_RANDOM: [u8; 32] = [0x5a; 32];
const SERVER_RANDOM: [u8; 32] = [0xa5; 32];
const MASTER_SECRET: [u8; 48] = [0x4d; 48];
/// Longest plaintext of one record (RFC 8446 5.1).
const MAX_PLAINTEXT: usize = 1 << 14;

/// The TLS 1.3 secret logged under `label` (fixed bytes per label, as long as the suite's hash).
fn tls13_secret(label: Label, hash: HashAlg) -> Vec<u8> {
    vec![0x10 + label as u8; hash.output_len()]
}

fn key_log(suite: &CipherSuite) -> Arc<KeyLog> {
    let mut log = KeyLog::new();
    log.insert(Label::ClientRandom, CLIENT_RANDOM, MASTER_SECRET.to_vec());
    for label in Label::ALL.into_iter().filter(|l| *l != Label::ClientRandom) {
        log.insert(label, CLIENT_RANDOM, tls13_secret(label, suite.prf_hash));
    }
    Arc::new(log)
}

/// One record-protection scheme, encrypting.
// Two per input, one per direction: boxing the bigger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Protection {
    /// TLS 1.3, or TLS 1.2 with an implicit (ChaCha20) or partly explicit (GCM: 4-byte salt) nonce.
    Aead { key: LessSafeKey, iv: Vec<u8> },
    /// CBC: the IV chained from the last record (SSL 3.0 / TLS 1.0) or explicit per record.
    Cbc { key: EncryptingKey, mac: HashAlg, mac_key: Vec<u8>, chained: Option<[u8; 16]>, etm: bool },
}

/// One direction's sealing state.
struct Sealer {
    protection: Protection,
    version: ProtocolVersion,
    seq: u64,
}

fn aead_algorithm(cipher: BulkCipher) -> &'static aead::Algorithm {
    match cipher {
        BulkCipher::Aes128Gcm => &aead::AES_128_GCM,
        BulkCipher::Aes256Gcm => &aead::AES_256_GCM,
        BulkCipher::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        other => unreachable!("no CASES entry uses {other:?}"),
    }
}

impl Sealer {
    fn new(suite: &CipherSuite, version: ProtocolVersion, keys: DirectionKeys, etm: bool) -> Self {
        let protection = match suite.cipher {
            BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc => {
                let alg = if suite.cipher == BulkCipher::Aes128Cbc {
                    &aws_lc_rs::cipher::AES_128
                } else {
                    &aws_lc_rs::cipher::AES_256
                };
                let key = EncryptingKey::cbc(UnboundCipherKey::new(alg, &keys.key).expect("AES key")).expect("CBC key");
                let chained = (version == TLSv1_0).then(|| keys.iv.clone().try_into().expect("16-byte IV"));
                let mac = suite.mac.expect("CBC suites have a MAC");
                Protection::Cbc { key, mac, mac_key: keys.mac_key, chained, etm }
            }
            cipher => {
                let key = UnboundKey::new(aead_algorithm(cipher), &keys.key).expect("AEAD key");
                Protection::Aead { key: LessSafeKey::new(key), iv: keys.iv }
            }
        };
        Self { protection, version, seq: 0 }
    }

    fn tls13(suite: &CipherSuite, secret: &[u8]) -> Self {
        Self::new(suite, TLSv1_3, schedule::tls13_traffic_keys(suite, secret), false)
    }

    /// One whole record (header and protected fragment) carrying `plain` as `content_type`.
    fn seal(&mut self, content_type: u8, plain: &[u8], padding: usize) -> Vec<u8> {
        let seq = self.seq.to_be_bytes();
        self.seq += 1;
        let legacy = if self.version == TLSv1_3 { 0x0303 } else { u16::from(self.version) }.to_be_bytes();
        let mut fragment;
        let outer_type;
        match &mut self.protection {
            Protection::Aead { key, iv } if self.version == TLSv1_3 => {
                outer_type = 23;
                fragment = plain.to_vec();
                fragment.push(content_type);
                fragment.resize(fragment.len() + padding, 0);
                let header = record_header(outer_type, legacy, fragment.len() + key.algorithm().tag_len());
                key.seal_in_place_append_tag(xor_nonce(iv, seq), Aad::from(header), &mut fragment).expect("seal");
            }
            Protection::Aead { key, iv } => {
                outer_type = content_type;
                let aad = tls12_aad(seq, content_type, legacy, plain.len());
                fragment = plain.to_vec();
                if iv.len() == 4 {
                    // GCM: a 4-byte salt from the key block and 8 explicit bytes sent before the ciphertext.
                    let nonce: [u8; 12] = [&iv[..], &seq[..]].concat().try_into().expect("12 bytes");
                    let nonce = Nonce::assume_unique_for_key(nonce);
                    key.seal_in_place_append_tag(nonce, Aad::from(aad), &mut fragment).expect("seal");
                    fragment.splice(0..0, seq);
                } else {
                    key.seal_in_place_append_tag(xor_nonce(iv, seq), Aad::from(aad), &mut fragment).expect("seal");
                }
            }
            Protection::Cbc { key, mac, mac_key, chained, etm } => {
                outer_type = content_type;
                let mut data = plain.to_vec();
                if !*etm {
                    let len = (plain.len() as u16).to_be_bytes();
                    data.extend(mac.hmac(mac_key, &[&seq, &[content_type], &legacy, &len, plain]));
                }
                let pad = 15 - data.len() % 16;
                data.resize(data.len() + pad + 1, pad as u8);
                let iv = chained.unwrap_or([seq[7] ^ 0x69; 16]);
                key.less_safe_encrypt(&mut data, EncryptionContext::Iv128(iv.into())).expect("CBC encrypt");
                if let Some(next) = chained {
                    next.copy_from_slice(&data[data.len() - 16..]);
                    fragment = data;
                } else {
                    fragment = [&iv[..], &data].concat();
                }
                if *etm {
                    let len = (fragment.len() as u16).to_be_bytes();
                    fragment.extend(mac.hmac(mac_key, &[&seq, &[content_type], &legacy, &len, &fragment]));
                }
            }
        }
        let mut record = record_header(outer_type, legacy, fragment.len()).to_vec();
        record.extend(fragment);
        record
    }
}

fn record_header(content_type: u8, version: [u8; 2], len: usize) -> [u8; 5] {
    let len = (len as u16).to_be_bytes();
    [content_type, version[0], version[1], len[0], len[1]]
}

fn tls12_aad(seq: [u8; 8], content_type: u8, version: [u8; 2], len: usize) -> [u8; 13] {
    let mut aad = [0; 13];
    aad[..8].copy_from_slice(&seq);
    aad[8] = content_type;
    aad[9..11].copy_from_slice(&version);
    aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
    aad
}

/// The per-record nonce of TLS 1.3 and ChaCha20-Poly1305: the IV XOR the sequence number.
fn xor_nonce(iv: &[u8], seq: [u8; 8]) -> Nonce {
    let mut nonce: [u8; 12] = iv.try_into().expect("12-byte IV");
    for (n, s) in nonce[4..].iter_mut().zip(seq) {
        *n ^= s;
    }
    Nonce::assume_unique_for_key(nonce)
}

/// A plaintext handshake record holding one message.
fn handshake_record(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = (body.len() as u32).to_be_bytes();
    let mut message = vec![msg_type, len[1], len[2], len[3]];
    message.extend_from_slice(body);
    let mut record = record_header(22, [3, 1], message.len()).to_vec();
    record.extend(message);
    record
}

fn extension(typ: u16, body: &[u8]) -> Vec<u8> {
    [&typ.to_be_bytes()[..], &(body.len() as u16).to_be_bytes(), body].concat()
}

/// The hellos that negotiate `suite` at `version` (with encrypt-then-MAC if `etm`).
fn hellos(suite: CipherSuiteId, version: ProtocolVersion, etm: bool) -> (Vec<u8>, Vec<u8>) {
    let id = u16::from(suite).to_be_bytes();
    let mut client_ext = Vec::new();
    let mut server_ext = Vec::new();
    if version == TLSv1_3 {
        client_ext.extend(extension(0x002b, &[2, 3, 4]));
        client_ext.extend(extension(0x0033, &[[0, 36, 0, 0x1d, 0, 32].as_slice(), &[7; 32]].concat()));
        server_ext.extend(extension(0x002b, &[3, 4]));
        server_ext.extend(extension(0x0033, &[[0, 0x1d, 0, 32].as_slice(), &[8; 32]].concat()));
    }
    if etm {
        client_ext.extend(extension(0x0016, &[]));
        server_ext.extend(extension(0x0016, &[]));
    }
    let legacy = if version == TLSv1_3 { [3, 3] } else { u16::from(version).to_be_bytes() };
    let client =
        [&legacy[..], &CLIENT_RANDOM, &[0, 0, 2], &id, &[1, 0], &(client_ext.len() as u16).to_be_bytes(), &client_ext]
            .concat();
    let server =
        [&legacy[..], &SERVER_RANDOM, &[0], &id, &[0], &(server_ext.len() as u16).to_be_bytes(), &server_ext].concat();
    (handshake_record(1, &client), handshake_record(2, &server))
}

/// One direction of the harness's peer: its sealer, and for TLS 1.3 its key stage and handshake stream.
struct Peer {
    sealer: Sealer,
    /// TLS 1.3: the current traffic secret and whether it is the application stage yet.
    secret: Vec<u8>,
    application: bool,
    handshake: Vec<u8>,
}

impl Peer {
    /// TLS 1.3: after a sealed handshake record, the key changes its complete messages make, as the
    /// decoder makes them (Finished switches to application keys, looked up at the next record; a KeyUpdate
    /// moves the keys of this record on one generation).
    fn follow_handshake(&mut self, suite: &'static CipherSuite, dir: Direction, plain: &[u8]) {
        self.handshake.extend_from_slice(plain);
        let mut keys_loaded = true;
        let mut changed = false;
        while self.handshake.len() >= 4 {
            let len = u32::from_be_bytes([0, self.handshake[1], self.handshake[2], self.handshake[3]]) as usize;
            if self.handshake.len() < 4 + len {
                break;
            }
            match self.handshake[0] {
                20 if !self.application => {
                    let label = if dir == Direction::ClientToServer {
                        Label::ClientTrafficSecret0
                    } else {
                        Label::ServerTrafficSecret0
                    };
                    self.secret = tls13_secret(label, suite.prf_hash);
                    self.application = true;
                    keys_loaded = false;
                    changed = true;
                }
                24 if keys_loaded => {
                    self.secret = schedule::tls13_next_secret(suite.prf_hash, &self.secret);
                    changed = true;
                }
                _ => {}
            }
            self.handshake.drain(..4 + len);
        }
        if changed {
            self.sealer = Sealer::tls13(suite, &self.secret);
        }
    }
}

/// Runs the input through a dissector, handing every event to `sink`.
pub(crate) fn run(data: &[u8], sink: &mut dyn FnMut(&Event<'_>)) -> Dissector {
    let (selector, mut rest) = data.split_first().map_or((0, &[][..]), |(s, r)| (*s, r));
    let (id, version) = CASES[usize::from(selector & 0x0f) % CASES.len()];
    let suite = CipherSuite::lookup(id).expect("every CASES suite is known");
    let etm = selector & 0x10 != 0 && matches!(suite.cipher, BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc);
    let mut dissector = Dissector::new(key_log(suite));
    let (client_hello, server_hello) = hellos(id, version, etm);
    let mut ts = 0u64;
    let mut feed = |dissector: &mut Dissector, dir, bytes: &[u8]| {
        ts += 1_000;
        dissector.feed(dir, bytes, Timestamp(ts), sink);
    };
    feed(&mut dissector, Direction::ClientToServer, &client_hello);
    feed(&mut dissector, Direction::ServerToClient, &server_hello);
    let ccs = [20, 3, 3, 0, 1, 1];
    let mut peers = if version == TLSv1_3 {
        [
            (Direction::ClientToServer, Label::ClientHandshakeTrafficSecret),
            (Direction::ServerToClient, Label::ServerHandshakeTrafficSecret),
        ]
        .map(|(dir, label)| {
            if selector & 0x20 != 0 {
                feed(&mut dissector, dir, &ccs);
            }
            let secret = tls13_secret(label, suite.prf_hash);
            Peer { sealer: Sealer::tls13(suite, &secret), secret, application: false, handshake: Vec::new() }
        })
    } else {
        let (client, server) = schedule::tls12_keys(suite, version, &MASTER_SECRET, &CLIENT_RANDOM, &SERVER_RANDOM);
        [(Direction::ClientToServer, client), (Direction::ServerToClient, server)].map(|(dir, keys)| {
            feed(&mut dissector, dir, &ccs);
            Peer {
                sealer: Sealer::new(suite, version, keys, etm),
                secret: Vec::new(),
                application: false,
                handshake: Vec::new(),
            }
        })
    };
    while rest.len() >= 3 {
        let ctrl = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let (plain, after) = rest[3..].split_at(len);
        rest = after;
        let dir = if ctrl & 0x80 != 0 { Direction::ServerToClient } else { Direction::ClientToServer };
        let content_type = [22, 21, 23, 0][usize::from(ctrl & 3)];
        if content_type == 0 {
            feed(&mut dissector, dir, plain);
            continue;
        }
        let plain = &plain[..plain.len().min(MAX_PLAINTEXT)];
        let peer = &mut peers[dir.index()];
        let mut record = peer.sealer.seal(content_type, plain, usize::from(ctrl >> 3 & 0x0f) * 7);
        if ctrl & 4 != 0 {
            *record.last_mut().expect("a record has a header") ^= 0x80;
        }
        feed(&mut dissector, dir, &record);
        if version == TLSv1_3 && content_type == 22 && ctrl & 4 == 0 {
            peer.follow_handshake(suite, dir, plain);
        }
    }
    dissector
}

/// The fuzz target: `run`, every event rendered as `tlskit dump` renders it (text with hex and data, and
/// JSON), then the connection's summary.
pub fn sealed(data: &[u8]) {
    let conn = Connection {
        id: 1,
        client: ([127, 0, 0, 1], 50000).into(),
        server: ([127, 0, 0, 1], 443).into(),
        first_ts: Timestamp(0),
        midstream: false,
    };
    let mut text = TextRenderer::new(TextOptions { hex: true, data: true, certificates: true });
    let mut out = io::sink();
    let _ = text.connection_start(&mut out, &conn);
    let dissector = run(data, &mut |event| {
        let _ = text.event(&mut out, conn.id, event);
        let _ = event_json(&conn, event, true);
    });
    let summary = dissector.summary();
    let _ = text.connection_end(&mut out, &conn, &summary);
    let _ = summary_line(&summary);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlskit_wire::alert::AlertDescription;
    use tlskit_wire::handshake::HandshakeType;

    fn record(server: bool, kind: u8, body: &[u8]) -> Vec<u8> {
        let ctrl = if server { 0x80 } else { 0 } | kind;
        [&[ctrl][..], &(body.len() as u16).to_le_bytes(), body].concat()
    }

    fn message(typ: u8, body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        [&[typ, len[1], len[2], len[3]][..], body].concat()
    }

    /// What came out decrypted: handshake messages (type, protected), application data, alerts; and
    /// whether any record failed.
    #[derive(Default, Debug)]
    struct Seen {
        handshakes: Vec<(HandshakeType, bool)>,
        data: Vec<Vec<u8>>,
        alerts: Vec<AlertDescription>,
        undecrypted: usize,
    }

    fn seen(input: &[u8]) -> Seen {
        let mut seen = Seen::default();
        run(input, &mut |event| match event {
            Event::Handshake { msg_type, encrypted, .. } => seen.handshakes.push((*msg_type, *encrypted)),
            Event::ApplicationData { data, .. } => seen.data.push(data.to_vec()),
            Event::Alert { alert: Some(alert), .. } => seen.alerts.push(alert.description),
            Event::Undecrypted { .. } => seen.undecrypted += 1,
            _ => {}
        });
        seen
    }

    fn ticket() -> Vec<u8> {
        let body = [&7200u32.to_be_bytes()[..], &[1, 2, 3, 4], &[1, 0], &[0, 4], b"TKT!", &[0, 0]].concat();
        message(4, &body)
    }

    /// TLS 1.3: NewSessionTicket under the server's application keys, then a KeyUpdate, then data under the
    /// next generation, then an alert: every one decrypted, so the harness reaches behind the AEAD.
    #[test]
    fn tls13_ticket_key_update_and_alert_come_out_decrypted() {
        for selector in [0u8, 1, 2, 0x20] {
            let input = [
                vec![selector],
                record(true, 0, &[message(8, &[0, 0]), message(20, &[0x11; 32])].concat()),
                record(false, 0, &message(20, &[0x22; 48])),
                record(true, 0, &ticket()),
                record(true, 0, &message(24, &[0])),
                record(true, 2, b"after the key update"),
                record(false, 2, b"client data"),
                record(true, 1, &[1, 0]),
            ]
            .concat();
            let seen = seen(&input);
            assert_eq!(seen.undecrypted, 0, "case {selector}: {seen:?}");
            for typ in [HandshakeType::EncryptedExtensions, HandshakeType::NewSessionTicket, HandshakeType::KeyUpdate] {
                assert!(seen.handshakes.contains(&(typ, true)), "case {selector}: no protected {typ:?} in {seen:?}");
            }
            assert_eq!(seen.data, [b"after the key update".to_vec(), b"client data".to_vec()], "case {selector}");
            assert_eq!(seen.alerts, [AlertDescription::CloseNotify], "case {selector}");
        }
    }

    /// TLS 1.2 and older, every AEAD and CBC shape (explicit and chained IVs, encrypt-then-MAC): Finished,
    /// data and an alert decrypted; a corrupted record is reported, not decrypted, and the next one still is.
    #[test]
    fn tls12_records_come_out_decrypted() {
        for selector in [3u8, 4, 5, 6, 7, 0x16, 0x17, 8, 0x18, 9] {
            let input = [
                vec![selector],
                record(false, 0, &message(20, &[0x33; 12])),
                record(true, 0, &message(20, &[0x44; 12])),
                record(false, 2, b"GET / HTTP/1.1\r\n\r\n"),
                record(false, 2 | 4, b"corrupted"),
                record(true, 1, &[2, 40]),
            ]
            .concat();
            let seen = seen(&input);
            // The harness's own hellos are plaintext; what was protected is the two Finished messages.
            let protected: Vec<_> = seen.handshakes.iter().filter(|(_, protected)| *protected).collect();
            assert_eq!(protected, [&(HandshakeType::Finished, true); 2], "case {selector:#x}: {seen:?}");
            assert_eq!(seen.data, [b"GET / HTTP/1.1\r\n\r\n".to_vec()], "case {selector:#x}");
            assert_eq!(seen.undecrypted, 1, "case {selector:#x}: {seen:?}");
            assert_eq!(seen.alerts, [AlertDescription::HandshakeFailure], "case {selector:#x}");
        }
    }
}
