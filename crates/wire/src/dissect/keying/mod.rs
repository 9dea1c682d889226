//! The connection's key schedule and decryption state, and the one place that decides which secret each
//! direction needs: TLS 1.2-and-older keys from the master secret (key log, RSA key exchange, plain PSK, or a
//! resumed session's cached master secret), TLS 1.3 keys per stage (early data, handshake, application,
//! KeyUpdate). Secrets are looked up lazily, when a protected record needs them; the primitives live in
//! `schedule` and `cipher`.

mod tls12;
mod tls13;

use std::ops::Range;
use std::sync::Arc;

use super::{Direction, SessionCache, UndecryptedReason};
use crate::cipher::{CipherSuite, CipherSuiteId, RecordDecryptor};
use crate::extensions::ExtensionType;
use crate::handshake::{ClientHello, HandshakeType, ServerHello};
use crate::keys::{Label, RsaKey, SecretSource};
use crate::record::{ContentType, ProtocolVersion, RecordHeader};
use crate::schedule;

/// The TLS 1.3 key stage of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Early,
    Handshake,
    Application,
}

/// A record decryptor for one direction, with what it needs to roll forward.
struct DirKeys {
    decryptor: RecordDecryptor,
    suite: &'static CipherSuite,
    /// TLS 1.3: the traffic secret these keys came from (for KeyUpdate).
    secret: Vec<u8>,
}

/// A decrypted record: its (inner) content type and where its plaintext lies in the caller's buffer.
type Decrypted = (ContentType, Range<usize>);

/// Why a record was not decrypted: a reason to report, or `None` when it was already reported (a missing key
/// is reported once per key stage) or there is nothing to say (no ServerHello yet).
pub(super) type Failure = Option<UndecryptedReason>;

impl DirKeys {
    /// TLS 1.3 keys from a traffic secret.
    fn tls13(suite: &'static CipherSuite, secret: Vec<u8>) -> Option<Self> {
        let decryptor = RecordDecryptor::tls13(suite, &secret).ok()?;
        Some(Self { decryptor, suite, secret })
    }

    /// TLS 1.3 KeyUpdate: the next generation of application traffic keys.
    fn next_generation(&self) -> Option<Self> {
        let secret = schedule::tls13_next_secret(self.suite.prf_hash, &self.secret);
        Self::tls13(self.suite, secret)
    }

    /// Decrypts a record fragment in place: at the next sequence number (TLS), or at the one a DTLS record
    /// carries.
    fn decrypt(
        &mut self,
        header: RecordHeader,
        sequence: Option<u64>,
        fragment: &mut [u8],
    ) -> Result<Decrypted, UndecryptedReason> {
        let (content_type, version) = (header.content_type, header.version);
        let result = match sequence {
            None => self.decryptor.decrypt(content_type, version, fragment),
            Some(seq) => self.decryptor.decrypt_explicit(seq, content_type, version, fragment),
        };
        match result {
            Ok(plain) => Ok((plain.content_type, plain.range)),
            Err(e) => Err(UndecryptedReason::Record(e)),
        }
    }

    /// After bytes were lost from the capture: find the sequence number that authenticates this record, trying
    /// at most `max` numbers past the expected one. Each failed try consumes one sequence number (a failed
    /// `decrypt` advances it, as `RecordDecryptor` documents), so the search walks forward.
    fn resync(
        &mut self,
        header: RecordHeader,
        fragment: &[u8],
        buf: &mut Vec<u8>,
        max: u64,
    ) -> Result<Decrypted, UndecryptedReason> {
        for _ in 0..=max {
            buf.clear();
            buf.extend_from_slice(fragment);
            if let Ok(plain) = self.decryptor.try_decrypt(header.content_type, header.version, buf) {
                return Ok((plain.content_type, plain.range));
            }
            let _ = self.decryptor.decrypt(header.content_type, header.version, &mut []);
        }
        Err(UndecryptedReason::NoSequenceNumber { tried: max })
    }
}

/// One direction's decryption state.
#[derive(Default)]
struct DirKeying {
    /// TLS 1.2: ChangeCipherSpec seen, records are protected.
    protected: bool,
    keys: Option<DirKeys>,
    stage: Option<Stage>,
    /// The key the current stage needs was missing when last asked (reported once).
    reported_missing: bool,
    /// Bytes lost since the last record we decrypted: the record sequence number must be searched for.
    lost: u64,
}

/// The key schedule of one connection: what the hellos negotiated that keys depend on, where secrets come
/// from, and each direction's keys.
pub(super) struct Keying {
    secrets: Arc<dyn SecretSource + Send + Sync>,
    rsa: Option<Arc<RsaKey>>,
    psk: Option<Vec<u8>>,
    sessions: Option<SessionCache>,
    dirs: [DirKeying; 2],
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    client_session_id: Vec<u8>,
    /// The ServerHello's session ID and the ClientHello's session ticket (to resume from the cache).
    server_session_id: Vec<u8>,
    client_ticket: Vec<u8>,
    /// TLS 1.2 master secret once derived, kept to fill the session cache.
    master: Option<[u8; 48]>,
    version: Option<ProtocolVersion>,
    suite: Option<&'static CipherSuite>,
    suite_id: Option<CipherSuiteId>,
    early_offered: bool,
    early_accepted: Option<bool>,
    ems: bool,
    /// Encrypt-then-MAC (RFC 7366) negotiated.
    etm: bool,
    resumed: bool,
    /// TLS 1.2 handshake messages up to ClientKeyExchange (for EMS), kept only when we derive the master secret.
    transcript: Option<Vec<u8>>,
    transcript_open: bool,
    premaster: Option<Vec<u8>>,
}

impl Keying {
    pub(super) fn new(secrets: Arc<dyn SecretSource + Send + Sync>) -> Self {
        Self {
            secrets,
            rsa: None,
            psk: None,
            sessions: None,
            dirs: Default::default(),
            client_random: None,
            server_random: None,
            client_session_id: Vec::new(),
            server_session_id: Vec::new(),
            client_ticket: Vec::new(),
            master: None,
            version: None,
            suite: None,
            suite_id: None,
            early_offered: false,
            early_accepted: None,
            ems: false,
            etm: false,
            resumed: false,
            transcript: None,
            transcript_open: false,
            premaster: None,
        }
    }

    pub(super) fn set_rsa_key(&mut self, key: Option<Arc<RsaKey>>) {
        self.rsa = key;
    }

    pub(super) fn set_psk(&mut self, psk: Option<Vec<u8>>) {
        self.psk = psk;
    }

    pub(super) fn set_session_cache(&mut self, cache: Option<SessionCache>) {
        self.sessions = cache;
    }

    /// The negotiated version, once the ServerHello is seen.
    pub(super) fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// The chosen suite, once the ServerHello is seen.
    pub(super) fn suite_id(&self) -> Option<CipherSuiteId> {
        self.suite_id
    }

    pub(super) fn resumed(&self) -> bool {
        self.resumed
    }

    /// 0-RTT data: `None` when not offered, else whether the server accepted it (so far).
    pub(super) fn early_data(&self) -> Option<bool> {
        self.early_offered.then(|| self.early_accepted.unwrap_or(false))
    }

    pub(super) fn tls13(&self) -> bool {
        self.version == Some(ProtocolVersion::TLSv1_3)
    }

    /// Whether a record of this type in this direction is protected.
    pub(super) fn protects(&self, dir: Direction, content_type: ContentType) -> bool {
        match content_type {
            ContentType::ChangeCipherSpec => false,
            ContentType::ApplicationData => true,
            _ => !self.tls13() && self.dirs[dir.index()].protected,
        }
    }

    /// Whether this direction is sending 0-RTT data.
    pub(super) fn in_early_data(&self, dir: Direction) -> bool {
        self.dirs[dir.index()].stage == Some(Stage::Early)
    }

    /// Bytes of this direction were lost: the next record's sequence number must be searched for.
    pub(super) fn lost(&mut self, dir: Direction, bytes: u64) {
        let d = &mut self.dirs[dir.index()];
        d.lost = d.lost.saturating_add(bytes);
    }

    /// Keeps the handshake messages the extended master secret hashes (ClientHello..ClientKeyExchange), when
    /// we compute the master secret ourselves (RSA key or PSK).
    pub(super) fn transcript(&mut self, typ: HandshakeType, msg: &[u8]) {
        if typ == HandshakeType::ClientHello && (self.rsa.is_some() || self.psk.is_some()) {
            self.transcript = Some(Vec::new());
            self.transcript_open = true;
        }
        if self.transcript_open {
            if let Some(t) = self.transcript.as_mut() {
                t.extend_from_slice(msg);
            }
        }
        if typ == HandshakeType::ClientKeyExchange {
            self.transcript_open = false;
        }
    }

    pub(super) fn sslv2_client_hello(&mut self, client_random: [u8; 32]) {
        self.client_random = Some(client_random);
    }

    pub(super) fn client_hello(&mut self, ch: &ClientHello<'_>) {
        self.client_random = Some(ch.random);
        self.client_session_id = ch.session_id.to_vec();
        self.client_ticket = ch.session_ticket().map(<[u8]>::to_vec).unwrap_or_default();
        self.early_offered = ch.offers_early_data();
        if self.early_offered {
            self.set_stage(Direction::ClientToServer, Stage::Early);
        }
    }

    /// A ServerHello (or HelloRetryRequest): returns whether it resumes a session.
    pub(super) fn server_hello(&mut self, sh: &ServerHello<'_>) -> bool {
        let version = sh.negotiated_version();
        self.version = Some(version);
        self.suite_id = Some(sh.cipher_suite);
        self.suite = CipherSuite::lookup(sh.cipher_suite).filter(|s| s.can_decrypt());
        let tls13 = version == ProtocolVersion::TLSv1_3;
        let resumed = if tls13 {
            sh.extension(ExtensionType::PreSharedKey).is_some()
        } else {
            !sh.session_id.is_empty() && sh.session_id == self.client_session_id.as_slice()
        };
        if !sh.is_hello_retry_request() {
            self.server_random = Some(sh.random);
            self.server_session_id = sh.session_id.to_vec();
            self.ems = sh.extension(ExtensionType::ExtendedMasterSecret).is_some();
            self.etm = sh.extension(ExtensionType::EncryptThenMac).is_some();
            self.resumed = resumed;
            if tls13 {
                self.set_stage(Direction::ServerToClient, Stage::Handshake);
                if !self.early_offered {
                    self.set_stage(Direction::ClientToServer, Stage::Handshake);
                }
            }
        }
        resumed
    }

    /// EncryptedExtensions: the server's answer to offered 0-RTT data, if any was offered.
    pub(super) fn encrypted_extensions(&mut self, early_data: bool) -> Option<bool> {
        if !self.early_offered {
            return None;
        }
        self.early_accepted = Some(early_data);
        if !early_data && self.in_early_data(Direction::ClientToServer) {
            self.set_stage(Direction::ClientToServer, Stage::Handshake);
        }
        Some(early_data)
    }

    /// EndOfEarlyData: the client's next records use its handshake keys.
    pub(super) fn end_of_early_data(&mut self) {
        self.set_stage(Direction::ClientToServer, Stage::Handshake);
    }

    /// Finished: in TLS 1.3 this direction's next records use its application keys.
    pub(super) fn finished(&mut self, dir: Direction) {
        if self.tls13() {
            self.set_stage(dir, Stage::Application);
        }
    }

    /// KeyUpdate (TLS 1.3, protected): this direction's later records use the next generation of keys.
    pub(super) fn key_update(&mut self, dir: Direction, protected: bool) {
        if self.tls13() && protected {
            let d = &mut self.dirs[dir.index()];
            d.keys = d.keys.as_ref().and_then(DirKeys::next_generation);
        }
    }

    /// ChangeCipherSpec (TLS 1.2 and older): this direction's records are protected from now on.
    pub(super) fn change_cipher_spec(&mut self, dir: Direction) {
        if !self.tls13() {
            let d = &mut self.dirs[dir.index()];
            d.protected = true;
            d.keys = None;
            d.reported_missing = false;
        }
    }

    /// Decrypts one protected record into `buf`: its content type and where the plaintext lies in `buf`.
    pub(super) fn decrypt(
        &mut self,
        dir: Direction,
        header: RecordHeader,
        fragment: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<Decrypted, Failure> {
        let i = dir.index();
        if self.tls13() || (self.version.is_none() && self.in_early_data(dir)) {
            return self.decrypt_tls13(dir, header, fragment, buf);
        }
        let Some(version) = self.version else { return Err(None) };
        if version.is_tls13_draft() {
            let first = !self.dirs[i].reported_missing;
            self.dirs[i].reported_missing = true;
            return Err(first.then_some(UndecryptedReason::Tls13Draft(version)));
        }
        self.tls12_direction_keys(i)?;
        let lost = std::mem::take(&mut self.dirs[i].lost);
        let Some(keys) = self.dirs[i].keys.as_mut() else { return Err(None) };
        if lost > 0 {
            return keys.resync(header, fragment, buf, max_lost_records(lost)).map_err(Some);
        }
        buf.clear();
        buf.extend_from_slice(fragment);
        keys.decrypt(header, None, buf).map_err(Some)
    }

    /// Decrypts one protected DTLS 1.0/1.2 record (epoch not 0) into `buf`. `sequence` is the header's epoch
    /// and sequence number, so each record decrypts on its own: datagrams may be lost or reordered.
    pub(super) fn decrypt_dtls(
        &mut self,
        dir: Direction,
        header: RecordHeader,
        sequence: u64,
        fragment: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<Decrypted, Failure> {
        let i = dir.index();
        match self.version {
            None => return Err(None),
            Some(ProtocolVersion::DTLSv1_3) => {
                let first = !self.dirs[i].reported_missing;
                self.dirs[i].reported_missing = true;
                return Err(first.then_some(UndecryptedReason::Dtls13));
            }
            Some(_) => {}
        }
        // The epoch says the record is protected, whether or not this direction's ChangeCipherSpec was captured.
        self.dirs[i].protected = true;
        self.tls12_direction_keys(i)?;
        let Some(keys) = self.dirs[i].keys.as_mut() else { return Err(None) };
        buf.clear();
        buf.extend_from_slice(fragment);
        keys.decrypt(header, Some(sequence), buf).map_err(Some)
    }

    /// Derives the TLS 1.2-and-older keys if direction `i` has none; a missing key is reported once.
    fn tls12_direction_keys(&mut self, i: usize) -> Result<(), Failure> {
        if self.dirs[i].keys.is_some() {
            return Ok(());
        }
        let Err(reason) = self.tls12_keys() else { return Ok(()) };
        let first = !self.dirs[i].reported_missing;
        self.dirs[i].reported_missing = true;
        Err(first.then(|| reason.unwrap_or_else(|| self.tls12_missing())))
    }

    /// Asks for a secret; `None` while it is not (yet) there.
    fn secret(&self, label: Label) -> Option<Vec<u8>> {
        self.secrets.secret(label, self.client_random.as_ref()?)
    }
}

/// How many records `lost` bytes can have held at most (a protected record is at least 22 bytes), capped.
fn max_lost_records(lost: u64) -> u64 {
    (lost / 22 + 1).min(4096)
}

/// Why a suite's records stay encrypted: named, so the user sees which cipher is missing.
fn undecryptable_suite(id: CipherSuiteId) -> UndecryptedReason {
    match CipherSuite::lookup(id) {
        Some(suite) => UndecryptedReason::UnsupportedSuite(suite),
        None => UndecryptedReason::UnknownSuite(id),
    }
}
