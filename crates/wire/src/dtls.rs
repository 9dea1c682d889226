//! DTLS over UDP, parse only: DTLS 1.0/1.2 records and the plaintext handshake
//! (ClientHello with its cookie, ServerHello, HelloVerifyRequest, ...). DTLS 1.3
//! records under the unified header are reported as not decrypted.

use std::borrow::Cow;

use crate::cipher::CipherSuiteId;
use crate::codec::Reader;
use crate::dissect::{Direction, Event, HandshakeDetail, Stats, Summary, Timestamp, UndecryptedReason};
use crate::handshake::{ClientHello, HandshakeType, ServerHello};
use crate::record::{ContentType, ProtocolVersion};

/// Length of a DTLS 1.0/1.2 record header (type, version, epoch, 48-bit sequence, length).
pub const HEADER_LEN: usize = 13;
/// Length of a DTLS handshake message header (type, length, message_seq, fragment_offset, fragment_length).
pub const HS_HEADER_LEN: usize = 12;

/// Whether a datagram begins with a DTLS record: a plaintext header with a DTLS version, or a DTLS 1.3
/// unified header (first bits 001) after one has been seen.
pub fn looks_like_dtls(datagram: &[u8]) -> bool {
    let mut r = Reader::new(datagram);
    let (Some(content_type), Some(version)) = (r.u8(), r.u16()) else { return false };
    // Content types 20 (change_cipher_spec) to 25 (tls12_cid, RFC 9146).
    (20..=25).contains(&content_type) && ProtocolVersion::new(version).is_dtls() && datagram.len() >= HEADER_LEN
}

/// One DTLS association (a UDP flow).
#[derive(Debug, Default)]
pub struct DtlsDissector {
    record_number: u64,
    version: Option<ProtocolVersion>,
    suite: Option<CipherSuiteId>,
    server_name: Option<String>,
    fingerprints: crate::fingerprint::Fingerprints,
    epoch_nonzero_seen: [bool; 2],
    stats: Stats,
}

impl DtlsDissector {
    /// A parse-only DTLS decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// One UDP datagram (it may hold several records).
    pub fn datagram(&mut self, dir: Direction, data: &[u8], ts: Timestamp, sink: &mut dyn FnMut(&Event<'_>)) {
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            let mut r = Reader::new(rest);
            let flags = r.u8().unwrap_or_default();
            if flags & 0xe0 == 0x20 {
                // DTLS 1.3 unified header: C bit (connection ID), S bit (16-bit sequence), L bit (length).
                // With a connection ID (of a length only the endpoints know) or no length, the record runs to the
                // end of the datagram.
                let total = if flags & 0x10 == 0 && flags & 0x04 != 0 {
                    let (Some(_sequence), Some(length)) = (r.take(if flags & 0x08 != 0 { 2 } else { 1 }), r.u16())
                    else {
                        break;
                    };
                    (rest.len() - r.left() + usize::from(length)).min(rest.len())
                } else {
                    rest.len()
                };
                self.record_number += 1;
                self.stats.undecrypted_records += 1;
                if !self.epoch_nonzero_seen[dir.index()] {
                    self.epoch_nonzero_seen[dir.index()] = true;
                    sink(&Event::Undecrypted {
                        dir,
                        ts,
                        number: self.record_number,
                        reason: UndecryptedReason::Dtls13,
                    });
                }
                at += total.max(1);
                continue;
            }
            let mut h = Reader::new(rest);
            let (Some(content_type), Some(version), Some(epoch), Some(_sequence), Some(length)) =
                (h.u8(), h.u16(), h.u16(), h.u48(), h.u16())
            else {
                break;
            };
            let (content_type, version, length) =
                (ContentType::new(content_type), ProtocolVersion::new(version), usize::from(length));
            let Some(rec) = rest.get(..HEADER_LEN + length) else {
                sink(&Event::Malformed { dir, ts, what: "DTLS record longer than its datagram".into() });
                break;
            };
            self.record_number += 1;
            let encrypted = epoch != 0;
            *self.stats.records.entry(content_type.name()).or_default() += 1;
            sink(&Event::Record {
                dir,
                ts,
                number: self.record_number,
                content_type,
                inner_type: None,
                version,
                length,
                encrypted,
                decrypted: false,
                raw: Cow::Borrowed(rec),
            });
            let body = &rec[HEADER_LEN..];
            match content_type {
                ContentType::Handshake if !encrypted => self.handshake(dir, ts, body, sink),
                ContentType::ChangeCipherSpec => sink(&Event::ChangeCipherSpec { dir, ts }),
                ContentType::Alert => {
                    let alert = if encrypted { None } else { crate::alert::Alert::parse(body) };
                    sink(&Event::Alert { dir, ts, alert })
                }
                _ => {}
            }
            at += rec.len();
        }
    }

    fn handshake(&mut self, dir: Direction, ts: Timestamp, body: &[u8], sink: &mut dyn FnMut(&Event<'_>)) {
        let mut r = Reader::new(body);
        while r.left() >= HS_HEADER_LEN {
            let (Some(typ), Some(length), Some(_message_seq), Some(frag_off), Some(frag_len)) =
                (r.u8(), r.u24(), r.u16(), r.u24(), r.u24())
            else {
                break;
            };
            let Some(frag) = r.take(frag_len) else { break };
            if frag_off != 0 {
                continue; // a later fragment of a message already counted
            }
            let typ = HandshakeType::new(typ);
            let whole = frag_len == length;
            let detail = match typ {
                HandshakeType::ClientHello if whole => match ClientHello::parse_dtls(frag) {
                    Some(ch) => {
                        self.server_name = ch.server_name().map(Cow::into_owned);
                        self.fingerprints.client_hello(&ch, 'd');
                        HandshakeDetail::client_hello(&ch)
                    }
                    None => HandshakeDetail::Other,
                },
                HandshakeType::ServerHello if whole => match ServerHello::parse(frag) {
                    Some(sh) => {
                        self.version = Some(sh.negotiated_version());
                        self.suite = Some(sh.cipher_suite);
                        if !sh.is_hello_retry_request() {
                            self.fingerprints.server_hello(&sh);
                        }
                        HandshakeDetail::server_hello(&sh, false)
                    }
                    None => HandshakeDetail::Other,
                },
                _ => HandshakeDetail::Other,
            };
            *self.stats.handshake.entry(typ.name()).or_default() += 1;
            sink(&Event::Handshake { dir, ts, msg_type: typ, length, encrypted: false, detail });
        }
    }

    /// What the association negotiated, with its counts.
    pub fn summary(&self) -> Summary {
        Summary {
            version: self.version,
            cipher_suite: self.suite,
            server_name: self.server_name.clone(),
            fingerprints: self.fingerprints.clone(),
            stats: self.stats.clone(),
            ..Summary::default()
        }
    }
}
