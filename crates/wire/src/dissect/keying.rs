//! The connection's key schedule and decryption state, and the one place that decides which secret each
//! direction needs: TLS 1.2-and-older keys from the master secret (key log, RSA key exchange, plain PSK, or a
//! resumed session's cached master secret), TLS 1.3 keys per stage (early data, handshake, application,
//! KeyUpdate). Secrets are looked up lazily, when a protected record needs them; the primitives live in
//! `schedule` and `cipher`.

use std::ops::Range;
use std::sync::Arc;

use super::{Direction, SessionCache, UndecryptedReason};
use crate::cipher::{CipherSuite, CipherSuiteId, KeyExchange, RecordDecryptor};
use crate::codec::Reader;
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

    /// Decrypts a record fragment in place.
    fn decrypt(&mut self, header: RecordHeader, fragment: &mut [u8]) -> Result<Decrypted, UndecryptedReason> {
        match self.decryptor.decrypt(header.content_type, header.version, fragment) {
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

    /// A TLS 1.2 NewSessionTicket: its ticket resumes this session later in the capture.
    pub(super) fn new_session_ticket(&mut self, ticket: &[u8]) {
        if !self.tls13() {
            self.remember_session(Some(ticket));
        }
    }

    /// RSA key exchange (with an RSA key) or plain PSK: the premaster secret, hence the master secret.
    pub(super) fn client_key_exchange(&mut self, body: &[u8]) {
        let (Some(suite_id), Some(version)) = (self.suite_id, self.version) else { return };
        let Some(suite) = CipherSuite::lookup(suite_id) else { return };
        match suite.kx {
            KeyExchange::Rsa => {
                let Some(rsa) = self.rsa.as_ref() else { return };
                // TLS wraps the encrypted premaster in a 2-byte length; SSL 3.0 does not.
                let encrypted = if version == ProtocolVersion::SSLv3 { Some(body) } else { Reader::new(body).vec16() };
                if let Some(pre) = encrypted.and_then(|e| rsa.decrypt_premaster(e)) {
                    self.premaster = Some(pre.to_vec());
                }
            }
            KeyExchange::Psk => {
                if let Some(psk) = self.psk.as_ref() {
                    self.premaster = Some(schedule::psk_premaster(psk));
                }
            }
            _ => {}
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
        if self.version.is_none() {
            return Err(None);
        }
        if self.dirs[i].keys.is_none() {
            if let Err(reason) = self.tls12_keys() {
                let first = !self.dirs[i].reported_missing;
                self.dirs[i].reported_missing = true;
                return Err(first.then(|| reason.unwrap_or_else(|| self.tls12_missing())));
            }
        }
        let lost = std::mem::take(&mut self.dirs[i].lost);
        let Some(keys) = self.dirs[i].keys.as_mut() else { return Err(None) };
        if lost > 0 {
            return keys.resync(header, fragment, buf, max_lost_records(lost)).map_err(Some);
        }
        buf.clear();
        buf.extend_from_slice(fragment);
        keys.decrypt(header, buf).map_err(Some)
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

    /// The key log label of a direction's TLS 1.3 stage.
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
        DirKeys::tls13(self.suite?, secret)
    }

    /// TLS 1.3: try the current stage's keys, then the next stage's (a Finished or EndOfEarlyData we
    /// could not read would otherwise leave us on stale keys).
    fn decrypt_tls13(
        &mut self,
        dir: Direction,
        header: RecordHeader,
        fragment: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<Decrypted, Failure> {
        let i = dir.index();
        let Some(stage) = self.dirs[i].stage else {
            return Err(Some(UndecryptedReason::BeforeHandshakeKeys));
        };
        if self.dirs[i].keys.is_none() {
            self.dirs[i].keys =
                if stage == Stage::Early { self.early_keys(header, fragment) } else { self.tls13_keys(dir, stage) };
        }
        let mut failure = None;
        let lost = std::mem::take(&mut self.dirs[i].lost);
        if let Some(keys) = self.dirs[i].keys.as_mut() {
            buf.clear();
            buf.extend_from_slice(fragment);
            let result = if lost > 0 {
                keys.resync(header, fragment, buf, max_lost_records(lost))
            } else {
                keys.decrypt(header, buf)
            };
            match result {
                Ok(ok) => return Ok(ok),
                Err(e) => failure = Some(e),
            }
        }
        // The next stage, when this record may already be under it.
        let next = match (dir, stage) {
            (Direction::ClientToServer, Stage::Early) if self.server_random.is_some() => Some(Stage::Handshake),
            (_, Stage::Handshake) => Some(Stage::Application),
            _ => None,
        };
        if let Some(next) = next {
            if let Some(mut keys) = self.tls13_keys(dir, next) {
                buf.clear();
                buf.extend_from_slice(fragment);
                if let Ok(ok) = keys.decrypt(header, buf) {
                    if stage == Stage::Early && self.early_accepted.is_none() {
                        self.early_accepted = Some(false);
                    }
                    let d = &mut self.dirs[i];
                    d.stage = Some(next);
                    d.keys = Some(keys);
                    d.reported_missing = false;
                    return Ok(ok);
                }
            }
        }
        match failure {
            Some(e) => Err(Some(e)),
            None => {
                let first = !self.dirs[i].reported_missing;
                self.dirs[i].reported_missing = true;
                Err(first.then(|| match self.suite_id {
                    Some(id) if self.suite.is_none() => undecryptable_suite(id),
                    _ => UndecryptedReason::NoTrafficSecret(Self::stage_label(dir, stage)),
                }))
            }
        }
    }

    /// 0-RTT keys before the ServerHello names the suite: the secret's length and a trial decryption pick it.
    fn early_keys(&self, header: RecordHeader, fragment: &[u8]) -> Option<DirKeys> {
        let secret = self.secret(Label::ClientEarlyTrafficSecret)?;
        if let Some(suite) = self.suite {
            return DirKeys::tls13(suite, secret);
        }
        for suite in CipherSuite::all().iter().filter(|s| s.is_tls13()) {
            if suite.prf_hash.output_len() != secret.len() {
                continue;
            }
            let Some(mut keys) = DirKeys::tls13(suite, secret.clone()) else { continue };
            let mut probe = fragment.to_vec();
            if keys.decrypt(header, &mut probe).is_ok() {
                return DirKeys::tls13(suite, secret);
            }
        }
        None
    }

    /// TLS 1.2-and-older: derive both directions' keys once the master secret is known. On failure the reason
    /// is built only when asked for ([`Self::tls12_missing`]): this runs for every record while keys are absent.
    fn tls12_keys(&mut self) -> Result<(), Option<UndecryptedReason>> {
        let (Some(cr), Some(sr), Some(version), Some(suite)) =
            (self.client_random, self.server_random, self.version, self.suite)
        else {
            return Err(None);
        };
        let master: [u8; 48] = if let Some(ms) = self.secret(Label::ClientRandom) {
            ms.as_slice().try_into().map_err(|_| Some(UndecryptedReason::BadMasterSecret))?
        } else if let Some(pre) = self.premaster.as_ref() {
            let transcript = if self.ems { self.transcript.as_deref() } else { None };
            master_from_premaster(suite, version, pre, &cr, &sr, transcript)
        } else if let Some(master) = self.cached_master() {
            master
        } else {
            return Err(None);
        };
        self.master = Some(master);
        self.remember_session(None);
        let (c, s) = schedule::tls12_keys(suite, version, &master, &cr, &sr);
        let keys = |k: schedule::DirectionKeys| -> Result<DirKeys, Option<UndecryptedReason>> {
            let decryptor = RecordDecryptor::new(suite, version, &k)
                .map_err(|e| Some(UndecryptedReason::Keys(e)))?
                .with_encrypt_then_mac(self.etm);
            Ok(DirKeys { decryptor, suite, secret: Vec::new() })
        };
        let (c, s) = (keys(c)?, keys(s)?);
        // A direction already under way keeps its keys (its sequence number has moved on).
        for (d, k) in self.dirs.iter_mut().zip([c, s]) {
            if d.protected && d.keys.is_none() {
                d.keys = Some(k);
            }
        }
        Ok(())
    }

    /// A resumed session's master secret from an earlier connection of the capture (by ticket, then by ID).
    fn cached_master(&self) -> Option<[u8; 48]> {
        if !self.resumed && self.client_ticket.is_empty() {
            return None;
        }
        let cache = self.sessions.as_ref()?.lock().ok()?;
        let by_ticket = (!self.client_ticket.is_empty()).then(|| cache.get(&self.client_ticket)).flatten();
        let by_id = || (self.resumed && !self.server_session_id.is_empty()).then(|| cache.get(&self.server_session_id));
        by_ticket.or_else(|| by_id().flatten()).copied()
    }

    /// Stores this connection's master secret under its session ID and, when one is issued, its ticket.
    fn remember_session(&self, ticket: Option<&[u8]>) {
        let (Some(cache), Some(master)) = (self.sessions.as_ref(), self.master) else { return };
        let Ok(mut cache) = cache.lock() else { return };
        // Bounded: a capture with very many sessions keeps the most recent ones.
        if cache.len() > 100_000 {
            cache.clear();
        }
        if !self.server_session_id.is_empty() {
            cache.insert(self.server_session_id.clone(), master);
        }
        if let Some(t) = ticket.filter(|t| !t.is_empty()) {
            cache.insert(t.to_vec(), master);
        }
    }

    /// Why TLS 1.2 keys cannot be derived (yet).
    fn tls12_missing(&self) -> UndecryptedReason {
        let (Some(client_random), Some(_), Some(_)) = (self.client_random, self.server_random, self.version) else {
            return UndecryptedReason::NoHandshake;
        };
        match (self.suite, self.suite_id) {
            (None, Some(id)) => undecryptable_suite(id),
            (None, None) => UndecryptedReason::NoCipherSuite,
            (Some(_), _) => UndecryptedReason::NoMasterSecret { client_random },
        }
    }
}

/// The master secret computed from a premaster secret (RSA key exchange, PSK), with EMS when negotiated.
fn master_from_premaster(
    suite: &'static CipherSuite,
    version: ProtocolVersion,
    premaster: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    ems_transcript: Option<&[u8]>,
) -> [u8; 48] {
    let prf = schedule::Prf::for_version(version, suite.prf_hash);
    match ems_transcript {
        Some(messages) => {
            let hash = schedule::session_hash(prf, messages);
            schedule::extended_master_secret(prf, premaster, &hash)
        }
        None => schedule::master_secret(prf, premaster, client_random, server_random),
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
