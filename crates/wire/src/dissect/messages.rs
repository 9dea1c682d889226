//! What each handshake message changes in the connection's state, and the detail we report for it.

use std::borrow::Cow;

use super::{Direction, Dissector, Event, HandshakeDetail, Timestamp};
use crate::codec::Reader;
use crate::extensions::{self, ExtensionType, Extensions};
use crate::handshake::{self, Certificates, ClientHello, HandshakeType, NewSessionTicket, ServerHello};

impl Dissector {
    /// One complete handshake message (`msg` includes its header: TLS's 4 bytes, DTLS's 12 of a whole message,
    /// the form the handshake hash takes).
    pub(super) fn handshake_message(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        typ: HandshakeType,
        msg: &[u8],
        protected: bool,
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        let dtls = self.dtls.is_some();
        let body = &msg[if dtls { crate::dtls::HS_HEADER_LEN } else { handshake::HEADER_LEN }..];
        self.keying.transcript(typ, msg);
        let tls13 = self.keying.tls13();
        let mut name = typ.name();
        let detail = match typ {
            HandshakeType::ClientHello => {
                match if dtls { ClientHello::parse_dtls(body) } else { ClientHello::parse(body) } {
                    Some(ch) => self.client_hello(&ch),
                    None => return malformed(dir, ts, "ClientHello", sink),
                }
            }
            HandshakeType::ServerHello => match ServerHello::parse(body) {
                Some(sh) => {
                    let retry = sh.is_hello_retry_request();
                    if retry {
                        name = HandshakeType::HelloRetryRequest.name();
                    }
                    let detail = self.server_hello(&sh);
                    if let (Some(cipher_suite), false) = (self.keying.suite_id(), retry) {
                        let version = self.keying.version().unwrap_or(sh.version);
                        sink(&Event::Negotiated { version, cipher_suite });
                    }
                    detail
                }
                None => return malformed(dir, ts, "ServerHello", sink),
            },
            HandshakeType::EncryptedExtensions => {
                let exts = Extensions::read(&mut Reader::new(body)).unwrap_or_default();
                let early_data = exts.find(ExtensionType::EarlyData).is_some();
                let alpn = exts
                    .find(ExtensionType::Alpn)
                    .and_then(|d| extensions::alpn(d).next())
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                if alpn.is_some() {
                    self.alpn.clone_from(&alpn);
                }
                if let Some(accepted) = self.keying.encrypted_extensions(early_data) {
                    sink(&Event::EarlyData { accepted });
                }
                HandshakeDetail::EncryptedExtensions { extensions: exts.types().collect(), early_data, alpn }
            }
            HandshakeType::Certificate => match Certificates::parse(body, tls13) {
                Some(certs) => HandshakeDetail::Certificate {
                    count: certs.len(),
                    certificates: certs.iter().filter_map(handshake::CertSummary::from_der).collect(),
                },
                None => return malformed(dir, ts, "Certificate", sink),
            },
            HandshakeType::NewSessionTicket => match NewSessionTicket::parse(body, tls13) {
                Some(t) => {
                    self.keying.new_session_ticket(t.ticket);
                    HandshakeDetail::NewSessionTicket {
                        lifetime: t.lifetime,
                        ticket_len: t.ticket.len(),
                        max_early_data: t.max_early_data,
                    }
                }
                None => return malformed(dir, ts, "NewSessionTicket", sink),
            },
            HandshakeType::EndOfEarlyData => {
                self.keying.end_of_early_data();
                HandshakeDetail::Other
            }
            HandshakeType::CertificateVerify if body.len() >= 2 => {
                HandshakeDetail::CertificateVerify { scheme: Reader::new(body).u16().unwrap_or_default().into() }
            }
            HandshakeType::ClientKeyExchange => {
                self.keying.client_key_exchange(body);
                HandshakeDetail::Other
            }
            HandshakeType::Finished => {
                self.keying.finished(dir);
                HandshakeDetail::Finished { verify_data: body.to_vec() }
            }
            HandshakeType::KeyUpdate => {
                self.keying.key_update(dir, protected);
                HandshakeDetail::KeyUpdate { update_requested: body.first() == Some(&1) }
            }
            _ => HandshakeDetail::Other,
        };
        *self.stats.handshake.entry(name).or_default() += 1;
        sink(&Event::Handshake { dir, ts, msg_type: typ, length: body.len(), encrypted: protected, detail });
    }

    fn client_hello(&mut self, ch: &ClientHello<'_>) -> HandshakeDetail {
        self.keying.client_hello(ch);
        self.server_name = ch.server_name().map(Cow::into_owned);
        self.fingerprints.client_hello(ch, self.transport_letter());
        HandshakeDetail::client_hello(ch)
    }

    fn server_hello(&mut self, sh: &ServerHello<'_>) -> HandshakeDetail {
        let resumed = self.keying.server_hello(sh);
        if !sh.is_hello_retry_request() {
            self.compression = sh.compression;
            self.fingerprints.server_hello(sh, self.transport_letter());
            if let Some(alpn) = sh.alpn() {
                self.alpn = Some(alpn.into_owned());
            }
        }
        HandshakeDetail::server_hello(sh, resumed)
    }

    /// JA4's and JA4S's first letter: `d` for DTLS, `t` for TLS over TCP.
    fn transport_letter(&self) -> char {
        if self.dtls.is_some() {
            'd'
        } else {
            't'
        }
    }
}

fn malformed(dir: Direction, ts: Timestamp, what: &str, sink: &mut dyn FnMut(&Event<'_>)) {
    sink(&Event::Malformed { dir, ts, what: format!("malformed {what}") });
}
