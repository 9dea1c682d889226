//! One connection's state machine: bytes in (per direction), events out.
//! It frames records, decrypts them when it can (looking secrets up lazily),
//! reassembles handshake messages and follows the key schedule.

mod crypto;
mod event;
mod keying;
mod messages;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use event::{Direction, Event, HandshakeDetail, Timestamp};

use crate::cipher::CipherSuite;
use crate::fingerprint::Fingerprints;
use crate::keys::{RsaKey, SecretSource};
use crate::record::{self, ContentType, RecordHeader, Sslv2ClientHello};
use crypto::DirKeys;

/// TLS 1.2 master secrets by session ID and by session ticket, shared by the connections of one capture.
pub type SessionCache = Arc<std::sync::Mutex<std::collections::HashMap<Vec<u8>, [u8; 48]>>>;

/// Counts kept per connection (what the summary and the tests compare).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records by content type name (TLS 1.3: the inner type once decrypted).
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

/// The TLS 1.3 key stage of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Early,
    Handshake,
    Application,
}

#[derive(Default)]
struct DirState {
    /// Bytes of an incomplete record.
    pending: Vec<u8>,
    /// Bytes of an incomplete handshake message.
    hs: Vec<u8>,
    /// Scratch for in-place decryption (kept to avoid an allocation per record).
    scratch: Vec<u8>,
    /// Searching for a record boundary (mid-stream start or after a gap).
    syncing: bool,
    /// TLS 1.2: ChangeCipherSpec seen, records are protected.
    protected: bool,
    keys: Option<DirKeys>,
    stage: Option<Stage>,
    /// The key the current stage needs was missing when last asked (reported once).
    reported_missing: bool,
    bytes_seen: u64,
    /// Bytes lost since the last record we decrypted: the record sequence number must be searched for.
    lost: u64,
}

/// Decodes one TLS connection. Feed it each direction's bytes in order.
///
/// Secrets are looked up when first needed and again later while absent, so a
/// key log that is still being written (a live tap) works as well as a file.
pub struct Dissector {
    secrets: Arc<dyn SecretSource + Send + Sync>,
    rsa: Option<Arc<RsaKey>>,
    psk: Option<Vec<u8>>,
    dirs: [DirState; 2],
    record_number: u64,
    /// Confirmed TLS: at least one well-formed record seen.
    tls: bool,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    client_session_id: Vec<u8>,
    /// The ServerHello's session ID and the ClientHello's session ticket (to resume from the cache).
    server_session_id: Vec<u8>,
    client_ticket: Vec<u8>,
    /// TLS 1.2 master secret once derived, kept to fill the session cache.
    master: Option<[u8; 48]>,
    sessions: Option<SessionCache>,
    version: Option<u16>,
    suite: Option<&'static CipherSuite>,
    suite_id: Option<u16>,
    early_offered: bool,
    early_accepted: Option<bool>,
    ems: bool,
    /// Encrypt-then-MAC (RFC 7366) negotiated.
    etm: bool,
    resumed: bool,
    server_name: Option<String>,
    alpn: Option<String>,
    /// TLS 1.2 handshake messages up to ClientKeyExchange (for EMS), kept only when we derive the master secret.
    transcript: Option<Vec<u8>>,
    transcript_open: bool,
    premaster: Option<Vec<u8>>,
    fingerprints: Fingerprints,
    stats: Stats,
}

/// What one connection negotiated, for summaries and `index.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Negotiated version (wire value).
    pub version: Option<u16>,
    /// Chosen suite (IANA number).
    pub cipher_suite: Option<u16>,
    /// SNI.
    pub server_name: Option<String>,
    /// Chosen ALPN.
    pub alpn: Option<String>,
    /// Whether the session was resumed.
    pub resumed: bool,
    /// 0-RTT data: offered and accepted.
    pub early_data: Option<bool>,
    /// Fingerprints.
    pub fingerprints: Fingerprints,
    /// Counts.
    pub stats: Stats,
}

impl Dissector {
    /// A dissector that asks `secrets` for keys (pass an empty [`crate::keys::KeyLog`] for none).
    pub fn new(secrets: Arc<dyn SecretSource + Send + Sync>) -> Self {
        Self {
            secrets,
            rsa: None,
            psk: None,
            dirs: Default::default(),
            record_number: 0,
            tls: false,
            client_random: None,
            server_random: None,
            client_session_id: Vec::new(),
            server_session_id: Vec::new(),
            client_ticket: Vec::new(),
            master: None,
            sessions: None,
            version: None,
            suite: None,
            suite_id: None,
            early_offered: false,
            early_accepted: None,
            ems: false,
            etm: false,
            resumed: false,
            server_name: None,
            alpn: None,
            transcript: None,
            transcript_open: false,
            premaster: None,
            fingerprints: Fingerprints::default(),
            stats: Stats::default(),
        }
    }

    /// Also decrypt RSA key exchanges with this server key.
    pub fn with_rsa_key(mut self, key: Option<Arc<RsaKey>>) -> Self {
        self.rsa = key;
        self
    }

    /// Share TLS 1.2 master secrets between connections, so that a session resumed by ID or ticket decrypts
    /// when its master secret came from an RSA key or PSK rather than the key log.
    pub fn with_session_cache(mut self, cache: Option<SessionCache>) -> Self {
        self.sessions = cache;
        self
    }

    /// Also decrypt plain-PSK suites (RFC 4279) with this pre-shared key.
    pub fn with_psk(mut self, psk: Option<Vec<u8>>) -> Self {
        self.psk = psk;
        self
    }

    /// The capture began after the connection did: look for a record boundary first.
    pub fn start_midstream(&mut self, dir: Direction) {
        self.dirs[dir.index()].syncing = true;
    }

    /// Whether at least one well-formed TLS record has been seen.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Bytes fed in one direction so far.
    pub fn bytes_seen(&self, dir: Direction) -> u64 {
        self.dirs[dir.index()].bytes_seen
    }

    /// What the connection negotiated so far, with its counts.
    pub fn summary(&self) -> Summary {
        Summary {
            version: self.version,
            cipher_suite: self.suite_id,
            server_name: self.server_name.clone(),
            alpn: self.alpn.clone(),
            resumed: self.resumed,
            early_data: if self.early_offered { Some(self.early_accepted.unwrap_or(false)) } else { None },
            fingerprints: self.fingerprints.clone(),
            stats: self.stats.clone(),
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Bytes of the TCP stream are missing: drop partial state and resynchronise.
    pub fn gap(&mut self, dir: Direction, bytes: u64, sink: &mut dyn FnMut(&Event<'_>)) {
        let d = &mut self.dirs[dir.index()];
        d.pending.clear();
        d.hs.clear();
        d.syncing = true;
        d.lost = d.lost.saturating_add(bytes);
        sink(&Event::Gap { dir, bytes });
    }

    /// Feeds the next bytes of one direction; events go to `sink` as records complete.
    pub fn feed(&mut self, dir: Direction, bytes: &[u8], ts: Timestamp, sink: &mut dyn FnMut(&Event<'_>)) {
        let i = dir.index();
        self.dirs[i].bytes_seen += bytes.len() as u64;
        if self.dirs[i].pending.is_empty() {
            let used = self.records(dir, bytes, ts, sink);
            self.dirs[i].pending.extend_from_slice(&bytes[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.dirs[i].pending);
            buf.extend_from_slice(bytes);
            let used = self.records(dir, &buf, ts, sink);
            buf.drain(..used);
            self.dirs[i].pending = buf;
        }
        // An unframeable direction must not grow without bound.
        if self.dirs[i].pending.len() > 4 * record::MAX_FRAGMENT_LEN {
            let n = self.dirs[i].pending.len();
            self.dirs[i].pending.clear();
            self.dirs[i].syncing = true;
            sink(&Event::Malformed { dir, ts, what: format!("{n} bytes without a record boundary dropped") });
        }
    }

    /// Frames and handles every complete record in `buf`; returns the bytes consumed.
    fn records(&mut self, dir: Direction, buf: &[u8], ts: Timestamp, sink: &mut dyn FnMut(&Event<'_>)) -> usize {
        let mut at = 0;
        while at < buf.len() {
            let rest = &buf[at..];
            if self.dirs[dir.index()].syncing {
                match find_boundary(rest) {
                    Some(skip) => {
                        if skip > 0 {
                            sink(&Event::Resync { dir, skipped: skip as u64 });
                        }
                        at += skip;
                        self.dirs[dir.index()].syncing = false;
                        continue;
                    }
                    None => {
                        // Keep the tail that could still begin a header; skip the rest.
                        let keep = rest.len().min(2 * record::HEADER_LEN);
                        let skip = rest.len() - keep;
                        if skip > 0 && rest.len() > 64 * 1024 {
                            sink(&Event::Resync { dir, skipped: skip as u64 });
                            return at + skip;
                        }
                        return at;
                    }
                }
            }
            // The very first record may be an SSLv2-format ClientHello.
            if !self.tls && dir == Direction::ClientToServer && rest.first().is_some_and(|b| b & 0x80 != 0) {
                if rest.len() < 5 {
                    return at;
                }
                if let Some(len) = Sslv2ClientHello::record_len(rest) {
                    let Some(rec) = rest.get(..len) else { return at };
                    self.sslv2_client_hello(dir, ts, rec, sink);
                    at += len;
                    continue;
                }
            }
            let Some(header) = RecordHeader::parse(rest) else { return at };
            if !header.is_plausible() {
                sink(&Event::Malformed {
                    dir,
                    ts,
                    what: format!("not a TLS record header: {}", hex::encode(&rest[..record::HEADER_LEN])),
                });
                self.dirs[dir.index()].syncing = true;
                at += 1;
                continue;
            }
            let total = record::HEADER_LEN + header.length as usize;
            let Some(rec) = rest.get(..total) else { return at };
            self.tls = true;
            self.record(dir, ts, header, rec, sink);
            at += total;
        }
        at
    }

    fn sslv2_client_hello(&mut self, dir: Direction, ts: Timestamp, rec: &[u8], sink: &mut dyn FnMut(&Event<'_>)) {
        self.tls = true;
        // Counted apart from TLS records (tshark's `ssl2` protocol): not in `records`, no JA3 (its spec is TLS-only).
        self.record_number += 1;
        sink(&Event::Record {
            dir,
            ts,
            number: self.record_number,
            content_type: ContentType::Handshake,
            inner_type: None,
            version: 0x0002,
            length: rec.len() - 2,
            encrypted: false,
            decrypted: false,
            raw: rec.into(),
        });
        let Some(hello) = Sslv2ClientHello::parse(rec) else {
            sink(&Event::Malformed { dir, ts, what: "malformed SSLv2 ClientHello".into() });
            return;
        };
        self.client_random = Some(hello.client_random());
        *self.stats.handshake.entry("ClientHello").or_default() += 1;
        let suites: Vec<u16> = hello.cipher_specs.iter().filter(|&&s| s <= 0xffff).map(|&s| s as u16).collect();
        sink(&Event::Handshake {
            dir,
            ts,
            msg_type: 1,
            length: rec.len() - 2,
            encrypted: false,
            detail: HandshakeDetail::ClientHello {
                version: hello.version,
                sslv2: true,
                cipher_suites: suites,
                extensions: Vec::new(),
                server_name: None,
                alpn: Vec::new(),
                versions: Vec::new(),
                key_share: Vec::new(),
                psk_modes: Vec::new(),
                early_data: false,
                session_id_len: hello.session_id.len(),
            },
        });
    }

    /// One complete record.
    fn record(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        header: RecordHeader,
        rec: &[u8],
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        self.record_number += 1;
        let number = self.record_number;
        let i = dir.index();
        let tls13 = self.version == Some(0x0304);
        let protected = match header.content_type {
            ContentType::ChangeCipherSpec => false,
            ContentType::ApplicationData => true,
            _ => !tls13 && self.dirs[i].protected,
        };
        let fragment = &rec[record::HEADER_LEN..];
        if !protected {
            *self.stats.records.entry(header.content_type.name()).or_default() += 1;
            sink(&Event::Record {
                dir,
                ts,
                number,
                content_type: header.content_type,
                inner_type: None,
                version: header.version,
                length: fragment.len(),
                encrypted: false,
                decrypted: false,
                raw: rec.into(),
            });
            self.content(dir, ts, header.content_type, fragment, false, sink);
            return;
        }
        // Protected: decrypt into the scratch buffer when we can.
        // (Copied in only when there is a key to try: no copy for records we cannot decrypt.)
        let mut scratch = std::mem::take(&mut self.dirs[i].scratch);
        let outcome = self.decrypt(dir, header, fragment, &mut scratch);
        match outcome {
            Ok((inner, range)) => {
                let inner_type = ContentType::from_u8(inner);
                self.stats.decrypted_records += 1;
                let counted = if tls13 || self.version.is_none() { inner_type } else { header.content_type };
                *self.stats.records.entry(counted.name()).or_default() += 1;
                sink(&Event::Record {
                    dir,
                    ts,
                    number,
                    content_type: header.content_type,
                    inner_type: tls13.then_some(inner_type),
                    version: header.version,
                    length: fragment.len(),
                    encrypted: true,
                    decrypted: true,
                    raw: rec.into(),
                });
                let plain = scratch.get(range).unwrap_or(&[]);
                self.content(dir, ts, inner_type, plain, true, sink);
            }
            Err((reason, auth_failed)) => {
                *self.stats.records.entry(header.content_type.name()).or_default() += 1;
                if auth_failed {
                    self.stats.failed_records += 1;
                } else {
                    self.stats.undecrypted_records += 1;
                }
                sink(&Event::Record {
                    dir,
                    ts,
                    number,
                    content_type: header.content_type,
                    inner_type: None,
                    version: header.version,
                    length: fragment.len(),
                    encrypted: true,
                    decrypted: false,
                    raw: rec.into(),
                });
                if let Some(reason) = reason {
                    sink(&Event::Undecrypted { dir, ts, number, reason, auth_failed });
                }
            }
        }
        self.dirs[i].scratch = scratch;
    }

    /// The plaintext of a record, by content type.
    fn content(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        typ: ContentType,
        data: &[u8],
        protected: bool,
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        match typ {
            ContentType::Handshake => self.handshake_bytes(dir, ts, data, protected, sink),
            ContentType::ChangeCipherSpec => {
                sink(&Event::ChangeCipherSpec { dir, ts });
                if self.version != Some(0x0304) {
                    let d = &mut self.dirs[dir.index()];
                    d.protected = true;
                    d.keys = None;
                    d.reported_missing = false;
                }
            }
            ContentType::Alert => sink(&Event::Alert { dir, ts, alert: crate::alert::Alert::parse(data) }),
            ContentType::ApplicationData if protected => {
                let early = self.dirs[dir.index()].stage == Some(Stage::Early);
                self.stats.plaintext_bytes[dir.index()] += data.len() as u64;
                sink(&Event::ApplicationData { dir, ts, data: data.into(), early });
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
        if self.dirs[i].hs.is_empty() {
            let used = self.handshake_messages(dir, ts, data, protected, sink);
            self.dirs[i].hs.extend_from_slice(&data[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.dirs[i].hs);
            buf.extend_from_slice(data);
            let used = self.handshake_messages(dir, ts, &buf, protected, sink);
            buf.drain(..used);
            self.dirs[i].hs = buf;
        }
        if self.dirs[i].hs.len() > 1 << 20 {
            self.dirs[i].hs.clear();
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
        while let Some(head) = buf.get(at..at + 4) {
            let typ = head[0];
            let len = (head[1] as usize) << 16 | (head[2] as usize) << 8 | head[3] as usize;
            let Some(msg) = buf.get(at..at + 4 + len) else { break };
            self.handshake_message(dir, ts, typ, msg, protected, sink);
            at += 4 + len;
        }
        at
    }
}

/// Offset of the first plausible record boundary: a header whose record is
/// followed by another plausible header (or runs to the end of the data).
fn find_boundary(buf: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + record::HEADER_LEN <= buf.len() {
        if let Some(h) = RecordHeader::parse(&buf[at..]) {
            if h.is_plausible() && h.length > 0 {
                let next = at + record::HEADER_LEN + h.length as usize;
                match buf.get(next..next + record::HEADER_LEN) {
                    Some(n) if RecordHeader::parse(n).is_some_and(|n| n.is_plausible()) => return Some(at),
                    None if next >= buf.len() || buf.len() - next < record::HEADER_LEN => return Some(at),
                    _ => {}
                }
            }
        }
        at += 1;
    }
    None
}
