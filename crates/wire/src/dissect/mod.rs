//! One connection's state machine: bytes in (per direction), events out.
//! It frames records, decrypts them when it can (looking secrets up lazily),
//! reassembles handshake messages and follows the key schedule.

mod crypto;
mod event;
mod messages;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use event::{Direction, Event, HandshakeDetail, Timestamp};

use crate::cipher::CipherSuite;
use crate::fingerprint::Fingerprints;
use crate::keys::{Label, RsaKey, SecretSource};
use crate::record::{self, ContentType, RecordHeader, Sslv2ClientHello};
use crypto::DirKeys;

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
    tls12_keys_tried: bool,
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
            tls12_keys_tried: false,
            fingerprints: Fingerprints::default(),
            stats: Stats::default(),
        }
    }

    /// Also decrypt RSA key exchanges with this server key.
    pub fn with_rsa_key(mut self, key: Option<Arc<RsaKey>>) -> Self {
        self.rsa = key;
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
            raw: rec,
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
                raw: rec,
            });
            self.content(dir, ts, header.content_type, fragment, false, sink);
            return;
        }
        // Protected: decrypt into the scratch buffer when we can.
        let mut scratch = std::mem::take(&mut self.dirs[i].scratch);
        scratch.clear();
        scratch.extend_from_slice(fragment);
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
                    raw: rec,
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
                    raw: rec,
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
                    self.tls12_keys_tried = false;
                }
            }
            ContentType::Alert => sink(&Event::Alert { dir, ts, alert: crate::alert::Alert::parse(data) }),
            ContentType::ApplicationData if protected => {
                let early = self.dirs[dir.index()].stage == Some(Stage::Early);
                self.stats.plaintext_bytes[dir.index()] += data.len() as u64;
                sink(&Event::ApplicationData { dir, ts, data, early });
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

    fn tls13(&self) -> bool {
        self.version == Some(0x0304)
    }

    /// Asks for a secret; `None` while it is not (yet) there.
    fn secret(&self, label: Label) -> Option<Vec<u8>> {
        self.secrets.secret(label, self.client_random.as_ref()?)
    }

    /// Sets a direction's TLS 1.3 stage; keys are looked up lazily on the next record.
    fn set_stage(&mut self, dir: Direction, stage: Stage) {
        let d = &mut self.dirs[dir.index()];
        if d.stage.is_some_and(|s| s >= stage) && stage != Stage::Handshake {
            return;
        }
        d.stage = Some(stage);
        d.keys = None;
        d.reported_missing = false;
    }

    fn stage_label(dir: Direction, stage: Stage) -> Option<Label> {
        use Direction::*;
        Some(match (dir, stage) {
            (ClientToServer, Stage::Early) => Label::ClientEarlyTrafficSecret,
            (ClientToServer, Stage::Handshake) => Label::ClientHandshakeTrafficSecret,
            (ServerToClient, Stage::Handshake) => Label::ServerHandshakeTrafficSecret,
            (ClientToServer, Stage::Application) => Label::ClientTrafficSecret0,
            (ServerToClient, Stage::Application) => Label::ServerTrafficSecret0,
            _ => return None,
        })
    }

    /// TLS 1.3 keys for a stage of one direction, if the secret is known.
    fn tls13_keys(&self, dir: Direction, stage: Stage) -> Option<DirKeys> {
        let secret = self.secret(Self::stage_label(dir, stage)?)?;
        if let Some(suite) = self.suite {
            return DirKeys::tls13(suite, secret);
        }
        None
    }

    /// Decrypts one protected record in place. Err: (reason to report, authentication failed).
    #[allow(clippy::type_complexity)]
    fn decrypt(
        &mut self,
        dir: Direction,
        header: RecordHeader,
        fragment: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(u8, std::ops::Range<usize>), (Option<String>, bool)> {
        let i = dir.index();
        let typ = header.content_type.to_u8();
        if self.tls13() || (self.version.is_none() && self.dirs[i].stage == Some(Stage::Early)) {
            return self.decrypt_tls13(dir, header, fragment, buf);
        }
        if self.version.is_none() {
            return Err((None, false));
        }
        if self.dirs[i].keys.is_none() {
            if let Err(reason) = self.tls12_keys() {
                let first = !self.dirs[i].reported_missing;
                self.dirs[i].reported_missing = true;
                return Err((first.then_some(reason), false));
            }
        }
        let Some(keys) = self.dirs[i].keys.as_mut() else { return Err((None, false)) };
        keys.decrypt(typ, header.version, buf).map_err(|e| (Some(e), true))
    }

    /// TLS 1.3: try the current stage's keys, then the next stage's (a Finished or EndOfEarlyData we
    /// could not read would otherwise leave us on stale keys).
    fn decrypt_tls13(
        &mut self,
        dir: Direction,
        header: RecordHeader,
        fragment: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(u8, std::ops::Range<usize>), (Option<String>, bool)> {
        let i = dir.index();
        let typ = header.content_type.to_u8();
        let Some(stage) = self.dirs[i].stage else {
            return Err((Some("protected record before the handshake keys are known".into()), false));
        };
        if self.dirs[i].keys.is_none() {
            self.dirs[i].keys = if stage == Stage::Early {
                self.early_keys(buf, typ, header.version)
            } else {
                self.tls13_keys(dir, stage)
            };
        }
        let mut failure = None;
        if let Some(keys) = self.dirs[i].keys.as_mut() {
            match keys.decrypt(typ, header.version, buf) {
                Ok(ok) => return Ok(ok),
                Err(e) => failure = Some(e),
            }
            buf.clear();
            buf.extend_from_slice(fragment);
        }
        // The next stage, when this record may already be under it.
        let next = match (dir, stage) {
            (Direction::ClientToServer, Stage::Early) if self.server_random.is_some() => Some(Stage::Handshake),
            (_, Stage::Handshake) => Some(Stage::Application),
            _ => None,
        };
        if let Some(next) = next {
            if let Some(mut keys) = self.tls13_keys(dir, next) {
                if let Ok(ok) = keys.decrypt(typ, header.version, buf) {
                    if stage == Stage::Early && self.early_accepted.is_none() {
                        self.early_accepted = Some(false);
                    }
                    let d = &mut self.dirs[i];
                    d.stage = Some(next);
                    d.keys = Some(keys);
                    d.reported_missing = false;
                    return Ok(ok);
                }
                buf.clear();
                buf.extend_from_slice(fragment);
            }
        }
        match failure {
            Some(e) => Err((Some(e), true)),
            None => {
                let first = !self.dirs[i].reported_missing;
                self.dirs[i].reported_missing = true;
                let label = Self::stage_label(dir, stage).map_or("traffic secret", Label::as_str);
                let reason = match self.suite_id {
                    Some(id) if self.suite.is_none() => format!("cipher suite 0x{id:04x} cannot be decrypted"),
                    _ => format!("no {label} for this connection"),
                };
                Err((first.then_some(reason), false))
            }
        }
    }

    /// 0-RTT keys before the ServerHello names the suite: the secret's length and a trial decryption pick it.
    fn early_keys(&self, record: &[u8], typ: u8, version: u16) -> Option<DirKeys> {
        let secret = self.secret(Label::ClientEarlyTrafficSecret)?;
        if let Some(suite) = self.suite {
            return DirKeys::tls13(suite, secret);
        }
        for id in crypto::TLS13_SUITES {
            let Some(suite) = CipherSuite::lookup(id) else { continue };
            if suite.prf_hash.output_len() != secret.len() {
                continue;
            }
            let Some(mut keys) = DirKeys::tls13(suite, secret.clone()) else { continue };
            let mut probe = record.to_vec();
            if keys.decrypt(typ, version, &mut probe).is_ok() {
                return DirKeys::tls13(suite, secret);
            }
        }
        None
    }

    /// TLS 1.2-and-older: derive both directions' keys once the master secret is known.
    fn tls12_keys(&mut self) -> Result<(), String> {
        let (Some(cr), Some(sr), Some(version)) = (self.client_random, self.server_random, self.version) else {
            return Err("handshake not seen: no randoms to derive keys from".into());
        };
        let Some(suite) = self.suite else {
            return Err(match self.suite_id {
                Some(id) => format!("cipher suite 0x{id:04x} cannot be decrypted"),
                None => "no cipher suite".into(),
            });
        };
        let master: [u8; 48] = if let Some(ms) = self.secret(Label::ClientRandom) {
            ms.as_slice().try_into().map_err(|_| "CLIENT_RANDOM secret is not 48 bytes".to_string())?
        } else if let Some(pre) = self.premaster.as_ref() {
            let transcript = if self.ems { self.transcript.as_deref() } else { None };
            crypto::master_from_premaster(suite, version, pre, &cr, &sr, transcript)
        } else {
            return Err(format!("no CLIENT_RANDOM for {} in the key log", hex::encode(cr)));
        };
        let (c, s) = crypto::tls12_pair(suite, version, &master, &cr, &sr, self.etm)?;
        // A direction already under way keeps its keys (its sequence number has moved on).
        if self.dirs[0].protected && self.dirs[0].keys.is_none() {
            self.dirs[0].keys = Some(c);
        }
        if self.dirs[1].protected && self.dirs[1].keys.is_none() {
            self.dirs[1].keys = Some(s);
        }
        self.tls12_keys_tried = true;
        Ok(())
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
