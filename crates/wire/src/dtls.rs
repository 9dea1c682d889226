//! DTLS over UDP, parse only: DTLS 1.0/1.2 records and the plaintext handshake
//! (ClientHello with its cookie, ServerHello, HelloVerifyRequest, ...). DTLS 1.3
//! records under the unified header are reported as not decrypted.

use crate::dissect::{Direction, Event, HandshakeDetail, Stats, Summary, Timestamp};
use crate::extensions::{self, ext, Reader};
use crate::handshake::{self, ServerHello};
use crate::record::ContentType;

/// Length of a DTLS 1.0/1.2 record header (type, version, epoch, 48-bit sequence, length).
pub const HEADER_LEN: usize = 13;
/// Length of a DTLS handshake message header (type, length, message_seq, fragment_offset, fragment_length).
pub const HS_HEADER_LEN: usize = 12;

/// Whether a datagram begins with a DTLS record: a plaintext header with a DTLS version, or a DTLS 1.3
/// unified header (first bits 001) after one has been seen.
pub fn looks_like_dtls(datagram: &[u8]) -> bool {
    matches!(datagram, [20..=25, 0xfe, 0xfc..=0xff, ..] if datagram.len() >= HEADER_LEN)
}

/// One DTLS association (a UDP flow).
#[derive(Debug, Default)]
pub struct DtlsDissector {
    record_number: u64,
    version: Option<u16>,
    suite: Option<u16>,
    server_name: Option<String>,
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
            if rest[0] & 0xe0 == 0x20 {
                // DTLS 1.3 unified header: C bit (connection ID), S bit (16-bit sequence), L bit (length).
                let flags = rest[0];
                let mut len_at = 1 + if flags & 0x08 != 0 { 2 } else { 1 };
                if flags & 0x10 != 0 {
                    // A connection ID of unknown length: the record cannot be delimited.
                    len_at = usize::MAX;
                }
                let (hdr, body) = if flags & 0x04 != 0 && len_at != usize::MAX {
                    match rest.get(len_at..len_at + 2) {
                        Some(l) => (len_at + 2, u16::from_be_bytes([l[0], l[1]]) as usize),
                        None => break,
                    }
                } else {
                    (0, rest.len())
                };
                let total = (hdr + body).min(rest.len());
                self.record_number += 1;
                self.stats.undecrypted_records += 1;
                if !self.epoch_nonzero_seen[dir.index()] {
                    self.epoch_nonzero_seen[dir.index()] = true;
                    sink(&Event::Undecrypted {
                        dir,
                        ts,
                        number: self.record_number,
                        reason: "DTLS 1.3 protected records (unified header) are not decrypted".into(),
                        auth_failed: false,
                    });
                }
                at += total.max(1);
                continue;
            }
            let Some(h) = rest.get(..HEADER_LEN) else { break };
            let content_type = ContentType::from_u8(h[0]);
            let version = u16::from_be_bytes([h[1], h[2]]);
            let epoch = u16::from_be_bytes([h[3], h[4]]);
            let length = u16::from_be_bytes([h[11], h[12]]) as usize;
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
                raw: rec.into(),
            });
            let body = &rec[HEADER_LEN..];
            match content_type {
                ContentType::Handshake if !encrypted => self.handshake(dir, ts, body, sink),
                ContentType::ChangeCipherSpec => sink(&Event::ChangeCipherSpec { dir, ts }),
                ContentType::Alert if !encrypted => {
                    sink(&Event::Alert { dir, ts, alert: crate::alert::Alert::parse(body) })
                }
                _ => {}
            }
            at += rec.len();
        }
    }

    fn handshake(&mut self, dir: Direction, ts: Timestamp, mut body: &[u8], sink: &mut dyn FnMut(&Event<'_>)) {
        while let Some(h) = body.get(..HS_HEADER_LEN) {
            let typ = h[0];
            let length = (h[1] as usize) << 16 | (h[2] as usize) << 8 | h[3] as usize;
            let frag_off = (h[6] as usize) << 16 | (h[7] as usize) << 8 | h[8] as usize;
            let frag_len = (h[9] as usize) << 16 | (h[10] as usize) << 8 | h[11] as usize;
            let Some(frag) = body.get(HS_HEADER_LEN..HS_HEADER_LEN + frag_len) else { break };
            body = &body[HS_HEADER_LEN + frag_len..];
            if frag_off != 0 {
                continue; // a later fragment of a message already counted
            }
            let whole = frag_len == length;
            let detail = match typ {
                1 if whole => self.client_hello(frag),
                2 if whole => match ServerHello::parse(frag) {
                    Some(sh) => {
                        self.version = Some(sh.negotiated_version());
                        self.suite = Some(sh.cipher_suite);
                        HandshakeDetail::ServerHello {
                            retry: sh.is_hello_retry_request(),
                            version: sh.negotiated_version(),
                            cipher_suite: sh.cipher_suite,
                            extensions: sh.extensions.iter().map(|e| e.typ).collect(),
                            key_share: sh.key_share_group(),
                            alpn: sh.alpn(),
                            resumed: false,
                        }
                    }
                    None => HandshakeDetail::Other,
                },
                _ => HandshakeDetail::Other,
            };
            *self.stats.handshake.entry(handshake::type_name(typ)).or_default() += 1;
            sink(&Event::Handshake { dir, ts, msg_type: typ, length, encrypted: false, detail });
        }
    }

    /// A DTLS ClientHello: a TLS ClientHello with a cookie after the session ID.
    fn client_hello(&mut self, body: &[u8]) -> HandshakeDetail {
        let parse = || {
            let mut r = Reader::new(body);
            let version = r.u16()?;
            r.take(32)?;
            let session_id = r.vec8()?;
            r.vec8()?; // cookie
            let suites = r.vec16()?;
            r.vec8()?; // compression
            let exts = extensions::parse_extensions(&mut r)?;
            Some((version, session_id.len(), suites, exts))
        };
        let Some((version, session_id_len, suites, exts)) = parse() else { return HandshakeDetail::Other };
        let find = |t| extensions::find(&exts, t);
        self.server_name = find(ext::SERVER_NAME).and_then(extensions::server_name);
        HandshakeDetail::ClientHello {
            version,
            sslv2: false,
            cipher_suites: suites.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect(),
            extensions: exts.iter().map(|e| e.typ).collect(),
            server_name: self.server_name.clone(),
            alpn: find(ext::ALPN).map(extensions::alpn).unwrap_or_default(),
            versions: find(ext::SUPPORTED_VERSIONS).map(extensions::supported_versions_client).unwrap_or_default(),
            key_share: find(ext::KEY_SHARE).map(extensions::key_share_client_groups).unwrap_or_default(),
            psk_modes: find(ext::PSK_KEY_EXCHANGE_MODES).map(extensions::psk_modes).unwrap_or_default(),
            early_data: find(ext::EARLY_DATA).is_some(),
            session_id_len,
        }
    }

    /// What the association negotiated, with its counts.
    pub fn summary(&self) -> Summary {
        Summary {
            version: self.version,
            cipher_suite: self.suite,
            server_name: self.server_name.clone(),
            stats: self.stats.clone(),
            ..Summary::default()
        }
    }
}
