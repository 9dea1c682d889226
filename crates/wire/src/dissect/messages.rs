//! What each handshake message changes in the connection's state, and the
//! detail we report for it.

use super::{Direction, Dissector, Event, HandshakeDetail, Stage, Timestamp};
use crate::cipher::{CipherSuite, KeyExchange};
use crate::extensions::{self, ext, Reader};
use crate::handshake::{self, ClientHello, NewSessionTicket, ServerHello};

impl Dissector {
    /// One complete handshake message (`msg` includes its 4-byte header).
    pub(super) fn handshake_message(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        typ: u8,
        msg: &[u8],
        protected: bool,
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        let body = &msg[handshake::HEADER_LEN..];
        // The EMS session hash covers ClientHello..ClientKeyExchange; kept only when we compute the master
        // secret ourselves (RSA key or PSK).
        if typ == 1 && (self.rsa.is_some() || self.psk.is_some()) {
            self.transcript = Some(Vec::new());
            self.transcript_open = true;
        }
        if self.transcript_open {
            if let Some(t) = self.transcript.as_mut() {
                t.extend_from_slice(msg);
            }
        }
        if typ == 16 {
            self.transcript_open = false;
        }
        let tls13 = self.tls13();
        let mut name = handshake::type_name(typ);
        let detail = match typ {
            1 => match ClientHello::parse(body) {
                Some(ch) => self.client_hello(&ch),
                None => return self.malformed(dir, ts, "ClientHello", sink),
            },
            2 => match ServerHello::parse(body) {
                Some(sh) => {
                    if sh.is_hello_retry_request() {
                        name = "HelloRetryRequest";
                    }
                    let d = self.server_hello(&sh);
                    if let Some(id) = self.suite_id {
                        if !sh.is_hello_retry_request() {
                            sink(&Event::Negotiated { version: self.version.unwrap_or(sh.version), cipher_suite: id });
                        }
                    }
                    d
                }
                None => return self.malformed(dir, ts, "ServerHello", sink),
            },
            8 => {
                let exts = extensions::parse_extensions(&mut Reader::new(body)).unwrap_or_default();
                let early_data = extensions::find(&exts, ext::EARLY_DATA).is_some();
                let alpn = extensions::find(&exts, ext::ALPN).and_then(|d| extensions::alpn(d).into_iter().next());
                if alpn.is_some() {
                    self.alpn.clone_from(&alpn);
                }
                if self.early_offered {
                    self.early_accepted = Some(early_data);
                    sink(&Event::EarlyData { accepted: early_data });
                    if !early_data && self.dirs[0].stage == Some(Stage::Early) {
                        self.set_stage(Direction::ClientToServer, Stage::Handshake);
                    }
                }
                HandshakeDetail::EncryptedExtensions {
                    extensions: exts.iter().map(|e| e.typ).collect(),
                    early_data,
                    alpn,
                }
            }
            11 => match handshake::parse_certificates(body, tls13) {
                Some(certs) => HandshakeDetail::Certificate {
                    count: certs.len(),
                    certificates: certs.iter().filter_map(|c| handshake::summarise_certificate(c)).collect(),
                },
                None => return self.malformed(dir, ts, "Certificate", sink),
            },
            4 => match NewSessionTicket::parse(body, tls13) {
                Some(t) => {
                    if !tls13 {
                        self.remember_session(Some(t.ticket));
                    }
                    HandshakeDetail::NewSessionTicket {
                        lifetime: t.lifetime,
                        ticket_len: t.ticket.len(),
                        max_early_data: t.max_early_data,
                    }
                }
                None => return self.malformed(dir, ts, "NewSessionTicket", sink),
            },
            5 => {
                // EndOfEarlyData: the client's next records use its handshake keys.
                self.set_stage(Direction::ClientToServer, Stage::Handshake);
                HandshakeDetail::Other
            }
            15 if body.len() >= 2 => {
                HandshakeDetail::CertificateVerify { scheme: u16::from_be_bytes([body[0], body[1]]) }
            }
            16 => {
                self.client_key_exchange(body);
                HandshakeDetail::Other
            }
            20 => {
                if tls13 {
                    self.set_stage(dir, Stage::Application);
                }
                HandshakeDetail::Finished { verify_data: body.to_vec() }
            }
            24 => {
                let update_requested = body.first() == Some(&1);
                if tls13 && protected {
                    // Later records of this direction use the next generation of keys.
                    let i = dir.index();
                    let next = self.dirs[i].keys.as_ref().and_then(|k| k.next_generation());
                    self.dirs[i].keys = next;
                }
                HandshakeDetail::KeyUpdate { update_requested }
            }
            _ => HandshakeDetail::Other,
        };
        *self.stats.handshake.entry(name).or_default() += 1;
        sink(&Event::Handshake { dir, ts, msg_type: typ, length: body.len(), encrypted: protected, detail });
    }

    fn malformed(&mut self, dir: Direction, ts: Timestamp, what: &str, sink: &mut dyn FnMut(&Event<'_>)) {
        sink(&Event::Malformed { dir, ts, what: format!("malformed {what}") });
    }

    fn client_hello(&mut self, ch: &ClientHello<'_>) -> HandshakeDetail {
        self.client_random = Some(ch.random);
        self.client_session_id = ch.session_id.to_vec();
        self.client_ticket = ch.extension(ext::SESSION_TICKET).map(<[u8]>::to_vec).unwrap_or_default();
        self.early_offered = ch.offers_early_data();
        self.server_name = ch.server_name();
        self.fingerprints.client_hello(ch);
        if self.early_offered {
            self.set_stage(Direction::ClientToServer, Stage::Early);
        }
        HandshakeDetail::ClientHello {
            version: ch.version,
            sslv2: false,
            cipher_suites: ch.cipher_suites.clone(),
            extensions: ch.extensions.iter().map(|e| e.typ).collect(),
            server_name: self.server_name.clone(),
            alpn: ch.alpn(),
            versions: ch.versions(),
            key_share: ch.extension(ext::KEY_SHARE).map(extensions::key_share_client_groups).unwrap_or_default(),
            psk_modes: ch.extension(ext::PSK_KEY_EXCHANGE_MODES).map(extensions::psk_modes).unwrap_or_default(),
            early_data: self.early_offered,
            session_id_len: ch.session_id.len(),
        }
    }

    fn server_hello(&mut self, sh: &ServerHello<'_>) -> HandshakeDetail {
        let version = sh.negotiated_version();
        let retry = sh.is_hello_retry_request();
        self.version = Some(version);
        self.suite_id = Some(sh.cipher_suite);
        self.suite = CipherSuite::lookup(sh.cipher_suite).filter(|s| s.can_decrypt());
        let resumed = if version == 0x0304 {
            sh.extension(ext::PRE_SHARED_KEY).is_some()
        } else {
            !sh.session_id.is_empty() && sh.session_id == self.client_session_id.as_slice()
        };
        if !retry {
            self.server_random = Some(sh.random);
            self.server_session_id = sh.session_id.to_vec();
            self.ems = sh.extension(ext::EXTENDED_MASTER_SECRET).is_some();
            self.etm = sh.extension(ext::ENCRYPT_THEN_MAC).is_some();
            self.resumed = resumed;
            self.fingerprints.server_hello(sh);
            if let Some(alpn) = sh.alpn() {
                self.alpn = Some(alpn);
            }
            if version == 0x0304 {
                self.set_stage(Direction::ServerToClient, Stage::Handshake);
                if !self.early_offered {
                    self.set_stage(Direction::ClientToServer, Stage::Handshake);
                }
            }
        }
        HandshakeDetail::ServerHello {
            retry,
            version,
            cipher_suite: sh.cipher_suite,
            extensions: sh.extensions.iter().map(|e| e.typ).collect(),
            key_share: sh.key_share_group(),
            alpn: sh.alpn(),
            resumed,
        }
    }

    /// RSA key exchange (with `-k`) or plain PSK: the premaster secret, hence the master secret.
    fn client_key_exchange(&mut self, body: &[u8]) {
        let (Some(suite_id), Some(version)) = (self.suite_id, self.version) else { return };
        let Some(suite) = CipherSuite::lookup(suite_id) else { return };
        match suite.kx {
            KeyExchange::Rsa => {
                let Some(rsa) = self.rsa.as_ref() else { return };
                // TLS wraps the encrypted premaster in a 2-byte length; SSL 3.0 does not.
                let encrypted = if version == 0x0300 { Some(body) } else { Reader::new(body).vec16() };
                if let Some(pre) = encrypted.and_then(|e| rsa.decrypt_premaster(e)) {
                    self.premaster = Some(pre.to_vec());
                }
            }
            KeyExchange::Psk => {
                if let Some(psk) = self.psk.as_ref() {
                    self.premaster = Some(crate::schedule::psk_premaster(psk));
                }
            }
            _ => {}
        }
    }
}
