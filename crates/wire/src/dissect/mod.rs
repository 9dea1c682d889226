//! One connection's state machine: bytes in (per direction), events out.
//! It frames records, decrypts them when it can (looking secrets up lazily),
//! reassembles handshake messages and follows the key schedule.

mod dtls;
mod event;
mod framing;
mod keying;
mod messages;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use event::{Direction, Event, HandshakeDetail, Timestamp, UndecryptedReason};

use crate::cipher::CipherSuiteId;
use crate::compression::RecordInflater;
use crate::fingerprint::Fingerprints;
use crate::handshake::{self, CompressionMethod, HandshakeType};
use crate::keys::{RsaKey, SecretSource};
use crate::record::{self, ContentType, ProtocolVersion, RecordHeader, Sslv2ClientHello};
use framing::{Frame, Framing};
use keying::Keying;

/// TLS 1.2 master secrets by session ID and by session ticket, shared by the connections of one capture.
pub type SessionCache = Arc<std::sync::Mutex<std::collections::HashMap<Vec<u8>, [u8; 48]>>>;

/// The key under which [`Stats::records`] counts SSLv2-format ClientHello records.
pub const SSLV2_RECORD: &str = "sslv2";

/// Counts kept per connection (what the summary and the tests compare).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records by content type name (TLS 1.3: the inner type once decrypted), SSLv2-format ClientHellos under
    /// [`SSLV2_RECORD`].
    pub records: BTreeMap<&'static str, u64>,
    /// Handshake messages by name (only those we could read).
    pub handshake: BTreeMap<&'static str, u64>,
    /// Plaintext application bytes recovered, [client-to-server, server-to-client].
    pub plaintext_bytes: [u64; 2],
    /// Protected records we decrypted.
    pub decrypted_records: u64,
    /// Protected records whose authentication failed.
    pub failed_records: u64,
    /// Protected records left encrypted for want of a key or a supported cipher.
    pub undecrypted_records: u64,
}

/// Decodes one TLS connection. Feed it each direction's bytes in order.
///
/// Its state is split by concern: `Framing` finds records and holds partial ones per direction, `Keying`
/// follows the key schedule and decrypts, and the dissector itself reads the messages (`messages.rs`) and
/// keeps what the connection negotiated. Secrets are looked up when first needed and again later while
/// absent, so a key log that is still being written (a live tap) works as well as a file.
pub struct Dissector {
    framing: [Framing; 2],
    keying: Keying,
    record_number: u64,
    /// Confirmed TLS: at least one well-formed record seen.
    tls: bool,
    server_name: Option<String>,
    alpn: Option<String>,
    fingerprints: Fingerprints,
    stats: Stats,
    /// The compression method the ServerHello chose.
    compression: CompressionMethod,
    /// Per direction, from its ChangeCipherSpec when DEFLATE was negotiated: records are inflated after
    /// decryption.
    inflaters: [Option<RecordInflater>; 2],
    /// Scratch for inflated plaintext.
    inflated: Vec<u8>,
    /// DTLS: the datagram layer's state (`None` for TLS over TCP).
    dtls: Option<Box<dtls::DtlsState>>,
}

/// The record layer a record came over.
#[derive(Debug, Clone, Copy)]
enum Layer {
    /// TLS over a byte stream: protection follows ChangeCipherSpec, sequence numbers are counted.
    Tls,
    /// A DTLS datagram: the header's `epoch << 48 | sequence` (protected when the epoch is not 0).
    Dtls(u64),
}

impl Layer {
    fn header_len(self) -> usize {
        match self {
            Layer::Tls => record::HEADER_LEN,
            Layer::Dtls(_) => crate::dtls::HEADER_LEN,
        }
    }
}

/// What one connection negotiated, for summaries and `index.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Negotiated version.
    pub version: Option<ProtocolVersion>,
    /// Chosen suite.
    pub cipher_suite: Option<CipherSuiteId>,
    /// SNI.
    pub server_name: Option<String>,
    /// Chosen ALPN.
    pub alpn: Option<String>,
    /// Whether the session was resumed.
    pub resumed: bool,
    /// 0-RTT data: offered and accepted.
    pub early_data: Option<bool>,
    /// Record compression, when one other than null was negotiated (TLS 1.2 and older).
    pub compression: Option<CompressionMethod>,
    /// Fingerprints.
    pub fingerprints: Fingerprints,
    /// Counts.
    pub stats: Stats,
}

impl Dissector {
    /// A dissector that asks `secrets` for keys (pass an empty [`crate::keys::KeyLog`] for none).
    pub fn new(secrets: Arc<dyn SecretSource + Send + Sync>) -> Self {
        Self {
            framing: Default::default(),
            keying: Keying::new(secrets),
            record_number: 0,
            tls: false,
            server_name: None,
            alpn: None,
            fingerprints: Fingerprints::default(),
            stats: Stats::default(),
            compression: CompressionMethod::Null,
            inflaters: Default::default(),
            inflated: Vec::new(),
            dtls: None,
        }
    }

    /// Also decrypt RSA key exchanges with this server key.
    pub fn with_rsa_key(mut self, key: Option<Arc<RsaKey>>) -> Self {
        self.keying.set_rsa_key(key);
        self
    }

    /// Share TLS 1.2 master secrets between connections, so that a session resumed by ID or ticket decrypts
    /// when its master secret came from an RSA key or PSK rather than the key log.
    pub fn with_session_cache(mut self, cache: Option<SessionCache>) -> Self {
        self.keying.set_session_cache(cache);
        self
    }

    /// Also decrypt plain-PSK suites (RFC 4279) with this pre-shared key.
    pub fn with_psk(mut self, psk: Option<Vec<u8>>) -> Self {
        self.keying.set_psk(psk);
        self
    }

    /// The capture began after the connection did: look for a record boundary first.
    pub fn start_midstream(&mut self, dir: Direction) {
        self.framing[dir.index()].syncing = true;
    }

    /// The connection closed: gives back the scratch buffers kept for speed (a late segment reallocates them),
    /// so that closed connections kept for their late segments cost little memory.
    pub fn release_buffers(&mut self) {
        for f in &mut self.framing {
            f.scratch = Vec::new();
        }
        self.inflated = Vec::new();
    }

    /// Bytes fed in one direction so far.
    pub fn bytes_seen(&self, dir: Direction) -> u64 {
        self.framing[dir.index()].bytes_seen
    }

    /// What the connection negotiated so far, with its counts.
    pub fn summary(&self) -> Summary {
        Summary {
            version: self.keying.version(),
            cipher_suite: self.keying.suite_id(),
            server_name: self.server_name.clone(),
            alpn: self.alpn.clone(),
            resumed: self.keying.resumed(),
            early_data: self.keying.early_data(),
            compression: (self.compression != CompressionMethod::Null).then_some(self.compression),
            fingerprints: self.fingerprints.clone(),
            stats: self.stats.clone(),
        }
    }

    /// Bytes of the TCP stream are missing: drop partial state and resynchronise.
    pub fn gap(&mut self, dir: Direction, bytes: u64, sink: &mut dyn FnMut(&Event<'_>)) {
        let f = &mut self.framing[dir.index()];
        f.pending.clear();
        f.handshake.clear();
        f.syncing = true;
        self.keying.lost(dir, bytes);
        if let Some(inflater) = &mut self.inflaters[dir.index()] {
            inflater.lose();
        }
        sink(&Event::Gap { dir, bytes });
    }

    /// Feeds the next bytes of one direction; events go to `sink` as records complete.
    pub fn feed(&mut self, dir: Direction, bytes: &[u8], ts: Timestamp, sink: &mut dyn FnMut(&Event<'_>)) {
        let i = dir.index();
        self.framing[i].bytes_seen += bytes.len() as u64;
        if self.framing[i].pending.is_empty() {
            let used = self.records(dir, bytes, ts, sink);
            self.framing[i].pending.extend_from_slice(&bytes[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.framing[i].pending);
            buf.extend_from_slice(bytes);
            let used = self.records(dir, &buf, ts, sink);
            buf.drain(..used);
            self.framing[i].pending = buf;
        }
        // An unframeable direction must not grow without bound.
        let f = &mut self.framing[i];
        if f.pending.len() > 4 * record::MAX_FRAGMENT_LEN {
            let n = f.pending.len();
            f.pending.clear();
            f.syncing = true;
            sink(&Event::Malformed { dir, ts, what: format!("{n} bytes without a record boundary dropped") });
        }
    }

    /// Frames and handles every complete record in `buf`; returns the bytes consumed.
    fn records(&mut self, dir: Direction, buf: &[u8], ts: Timestamp, sink: &mut dyn FnMut(&Event<'_>)) -> usize {
        let mut at = 0;
        while at < buf.len() {
            let sslv2 = !self.tls && dir == Direction::ClientToServer;
            let frame = self.framing[dir.index()].next(&buf[at..], sslv2);
            at += frame.len();
            match frame {
                Frame::Record(header, rec) => {
                    self.tls = true;
                    self.record(dir, ts, header, rec, Layer::Tls, sink);
                }
                Frame::Sslv2ClientHello(rec) => self.sslv2_client_hello(dir, ts, rec, sink),
                Frame::Skipped(skipped) => sink(&Event::Resync { dir, skipped: skipped as u64 }),
                Frame::SkippedAndWaiting(skipped) => {
                    sink(&Event::Resync { dir, skipped: skipped as u64 });
                    break;
                }
                Frame::NotAHeader(header) => sink(&Event::Malformed {
                    dir,
                    ts,
                    what: format!("not a TLS record header: {}", hex::encode(header)),
                }),
                Frame::Incomplete => break,
            }
        }
        at
    }

    fn sslv2_client_hello(&mut self, dir: Direction, ts: Timestamp, rec: &[u8], sink: &mut dyn FnMut(&Event<'_>)) {
        self.tls = true;
        // A record of the connection, under its own key (SSLv2 framing has no content type); no JA3 (its spec
        // is TLS-only).
        self.record_number += 1;
        *self.stats.records.entry(SSLV2_RECORD).or_default() += 1;
        sink(&Event::Record {
            dir,
            ts,
            number: self.record_number,
            content_type: ContentType::Handshake,
            inner_type: None,
            version: ProtocolVersion::SSLv2,
            length: rec.len() - 2,
            encrypted: false,
            decrypted: false,
            raw: Cow::Borrowed(rec),
        });
        let Some(hello) = Sslv2ClientHello::parse(rec) else {
            sink(&Event::Malformed { dir, ts, what: "malformed SSLv2 ClientHello".into() });
            return;
        };
        self.keying.sslv2_client_hello(hello.client_random());
        *self.stats.handshake.entry(HandshakeType::ClientHello.name()).or_default() += 1;
        sink(&Event::Handshake {
            dir,
            ts,
            msg_type: HandshakeType::ClientHello,
            length: rec.len() - 2,
            encrypted: false,
            detail: HandshakeDetail::sslv2_client_hello(&hello),
        });
    }

    /// One complete record (`rec`: header and fragment).
    fn record(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        header: RecordHeader,
        rec: &[u8],
        layer: Layer,
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        self.record_number += 1;
        let number = self.record_number;
        let i = dir.index();
        let tls13 = self.keying.tls13();
        let fragment = &rec[layer.header_len()..];
        let event = |inner_type, encrypted, decrypted| Event::Record {
            dir,
            ts,
            number,
            content_type: header.content_type,
            inner_type,
            version: header.version,
            length: fragment.len(),
            encrypted,
            decrypted,
            raw: Cow::Borrowed(rec),
        };
        let protected = match layer {
            Layer::Tls => self.keying.protects(dir, header.content_type),
            Layer::Dtls(sequence) => sequence >> 48 != 0,
        };
        if !protected {
            *self.stats.records.entry(header.content_type.name()).or_default() += 1;
            sink(&event(None, false, false));
            self.content(dir, ts, header.content_type, fragment, layer, false, sink);
            return;
        }
        // Protected: decrypt into the scratch buffer when we can.
        // (Copied in only when there is a key to try: no copy for records we cannot decrypt.)
        let mut scratch = std::mem::take(&mut self.framing[i].scratch);
        let decrypted = match layer {
            Layer::Tls => self.keying.decrypt(dir, header, fragment, &mut scratch),
            Layer::Dtls(sequence) => self.keying.decrypt_dtls(dir, header, sequence, fragment, &mut scratch),
        };
        match decrypted {
            Ok((inner_type, range)) => {
                self.stats.decrypted_records += 1;
                let counted = if tls13 || self.keying.version().is_none() { inner_type } else { header.content_type };
                *self.stats.records.entry(counted.name()).or_default() += 1;
                sink(&event(tls13.then_some(inner_type), true, true));
                let plain = scratch.get(range).unwrap_or(&[]);
                match self.inflaters[i].as_mut() {
                    None => self.content(dir, ts, inner_type, plain, layer, true, sink),
                    Some(inflater) => {
                        let mut inflated = std::mem::take(&mut self.inflated);
                        match inflater.inflate(plain, &mut inflated) {
                            Ok(()) => self.content(dir, ts, inner_type, &inflated, layer, true, sink),
                            Err(e) => sink(&Event::Malformed { dir, ts, what: format!("record {number}: {e}") }),
                        }
                        self.inflated = inflated;
                    }
                }
            }
            Err(reason) => {
                if let Some(inflater) = &mut self.inflaters[i] {
                    inflater.lose();
                }
                *self.stats.records.entry(header.content_type.name()).or_default() += 1;
                match &reason {
                    Some(r) if r.is_auth_failure() => self.stats.failed_records += 1,
                    _ => self.stats.undecrypted_records += 1,
                }
                sink(&event(None, true, false));
                if let Some(reason) = reason {
                    sink(&Event::Undecrypted { dir, ts, number, reason });
                }
                if header.content_type == ContentType::Alert {
                    // An encrypted alert: its level and description stay unknown (docs/dump-json.md: `level: null`).
                    sink(&Event::Alert { dir, ts, alert: None });
                }
            }
        }
        self.framing[i].scratch = scratch;
    }

    /// The plaintext of a record, by content type.
    #[allow(clippy::too_many_arguments)] // One record's whole context; a struct would only rename it.
    fn content(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        typ: ContentType,
        data: &[u8],
        layer: Layer,
        protected: bool,
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        match typ {
            ContentType::Handshake => match layer {
                Layer::Tls => self.handshake_bytes(dir, ts, data, protected, sink),
                Layer::Dtls(sequence) => self.dtls_handshake(dir, ts, (sequence >> 48) as u16, data, protected, sink),
            },
            ContentType::ChangeCipherSpec => {
                sink(&Event::ChangeCipherSpec { dir, ts });
                self.keying.change_cipher_spec(dir);
                if self.compression == CompressionMethod::Deflate && !self.keying.tls13() {
                    self.inflaters[dir.index()] = Some(RecordInflater::new());
                }
            }
            ContentType::Alert => match crate::alert::Alert::parse(data) {
                Some(alert) => sink(&Event::Alert { dir, ts, alert: Some(alert) }),
                None => sink(&Event::Malformed { dir, ts, what: format!("alert of {} byte(s)", data.len()) }),
            },
            ContentType::ApplicationData if protected => {
                let early = self.keying.in_early_data(dir);
                self.stats.plaintext_bytes[dir.index()] += data.len() as u64;
                sink(&Event::ApplicationData { dir, ts, data: Cow::Borrowed(data), early });
            }
            _ => {}
        }
    }

    /// Handshake bytes: split into messages, joining messages that span records.
    fn handshake_bytes(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        data: &[u8],
        protected: bool,
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        let i = dir.index();
        if self.framing[i].handshake.is_empty() {
            let used = self.handshake_messages(dir, ts, data, protected, sink);
            self.framing[i].handshake.extend_from_slice(&data[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.framing[i].handshake);
            buf.extend_from_slice(data);
            let used = self.handshake_messages(dir, ts, &buf, protected, sink);
            buf.drain(..used);
            self.framing[i].handshake = buf;
        }
        if self.framing[i].handshake.len() > 1 << 20 {
            self.framing[i].handshake.clear();
            sink(&Event::Malformed { dir, ts, what: "handshake message over 1 MiB dropped".into() });
        }
    }

    fn handshake_messages(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        buf: &[u8],
        protected: bool,
        sink: &mut dyn FnMut(&Event<'_>),
    ) -> usize {
        let mut at = 0;
        while let Some((typ, msg)) = buf.get(at..).and_then(handshake::message) {
            self.handshake_message(dir, ts, typ, msg, protected, sink);
            at += msg.len();
        }
        at
    }
}
