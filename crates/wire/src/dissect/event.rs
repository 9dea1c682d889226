//! What the dissector reports: one event per record, handshake message,
//! alert, piece of application data, and per problem.

use std::borrow::Cow;

use crate::cipher::{CipherSuite, CipherSuiteId, CryptoError, DecryptError};
use crate::extensions::{ExtensionType, NamedGroup, PskKeyExchangeMode, SignatureScheme};
use crate::handshake::{CertSummary, ClientHello, HandshakeType, ServerHello};
use crate::keys::Label;
use crate::record::{ContentType, ProtocolVersion, Sslv2ClientHello};

/// Which way bytes travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the side that sent the ClientHello / the SYN) to the server.
    ClientToServer,
    /// From the server to the client.
    ServerToClient,
}

impl Direction {
    /// `C>S` or `S>C`, as ssldump prints it.
    pub fn arrow(self) -> &'static str {
        match self {
            Self::ClientToServer => "C>S",
            Self::ServerToClient => "S>C",
        }
    }

    /// `c2s` or `s2c`, as JSON and extracted file names spell it.
    pub fn short(self) -> &'static str {
        match self {
            Self::ClientToServer => "c2s",
            Self::ServerToClient => "s2c",
        }
    }

    /// 0 for client-to-server, 1 for server-to-client.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A capture or socket-tap time, in nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Seconds as a float (for display).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Now, from the system clock (for live taps).
    pub fn now() -> Self {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self(d.as_nanos() as u64)
    }
}

/// The key fields of one handshake message, decoded: the owned form of the message's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeDetail {
    /// A ClientHello (or the SSLv2-format one).
    ClientHello {
        /// legacy_version.
        version: ProtocolVersion,
        /// Whether it came in SSLv2 record format.
        sslv2: bool,
        /// Offered suites (SSLv2 kinds above 0xffff are left out).
        cipher_suites: Vec<CipherSuiteId>,
        /// Extension types in order.
        extensions: Vec<ExtensionType>,
        /// SNI.
        server_name: Option<String>,
        /// Offered ALPN protocols.
        alpn: Vec<String>,
        /// supported_versions.
        versions: Vec<ProtocolVersion>,
        /// key_share groups.
        key_share: Vec<NamedGroup>,
        /// supported_groups (a boxed slice, as the next: they keep [`Event`] small).
        supported_groups: Box<[NamedGroup]>,
        /// signature_algorithms.
        signature_algorithms: Box<[SignatureScheme]>,
        /// psk_key_exchange_modes.
        psk_modes: Vec<PskKeyExchangeMode>,
        /// The session_ticket extension's length, when present (0: asks for a ticket; more: offers one).
        session_ticket: Option<u16>,
        /// Number of pre_shared_key identities (TLS 1.3 tickets offered).
        psk_identities: u16,
        /// Whether 0-RTT data is offered.
        early_data: bool,
        /// Session ID length (non-zero: the client tries to resume, or TLS 1.3 compatibility mode).
        session_id_len: usize,
    },
    /// A ServerHello or HelloRetryRequest.
    ServerHello {
        /// Whether it is a HelloRetryRequest.
        retry: bool,
        /// legacy_version.
        legacy_version: ProtocolVersion,
        /// The negotiated version.
        version: ProtocolVersion,
        /// The chosen suite.
        cipher_suite: CipherSuiteId,
        /// Extension types in order.
        extensions: Vec<ExtensionType>,
        /// key_share group (or the group an HRR asks for).
        key_share: Option<NamedGroup>,
        /// Chosen ALPN.
        alpn: Option<String>,
        /// Whether the server accepted a PSK (TLS 1.3) or echoed the offered session ID (TLS 1.2).
        resumed: bool,
    },
    /// Certificate: the chain, summarised.
    Certificate {
        /// One summary per certificate that parsed; count is `count`.
        certificates: Vec<CertSummary>,
        /// Number of certificates in the message.
        count: usize,
    },
    /// EncryptedExtensions.
    EncryptedExtensions {
        /// Extension types.
        extensions: Vec<ExtensionType>,
        /// Whether the server accepts 0-RTT data.
        early_data: bool,
        /// Chosen ALPN.
        alpn: Option<String>,
    },
    /// NewSessionTicket.
    NewSessionTicket {
        /// Lifetime in seconds.
        lifetime: u32,
        /// Ticket length.
        ticket_len: usize,
        /// TLS 1.3: max_early_data_size.
        max_early_data: Option<u32>,
    },
    /// KeyUpdate.
    KeyUpdate {
        /// Whether the peer is asked to update too.
        update_requested: bool,
    },
    /// CertificateVerify.
    CertificateVerify {
        /// The signature scheme.
        scheme: SignatureScheme,
    },
    /// Finished.
    Finished {
        /// verify_data.
        verify_data: Vec<u8>,
    },
    /// Any other message: only its length is shown.
    Other,
}

impl HandshakeDetail {
    /// The owned detail of a ClientHello (TLS or DTLS).
    pub fn client_hello(ch: &ClientHello<'_>) -> Self {
        HandshakeDetail::ClientHello {
            version: ch.version,
            sslv2: false,
            cipher_suites: ch.cipher_suites().collect(),
            extensions: ch.extensions.types().collect(),
            server_name: ch.server_name().map(Cow::into_owned),
            alpn: ch.alpn().map(|p| String::from_utf8_lossy(p).into_owned()).collect(),
            versions: ch.versions().collect(),
            key_share: ch.key_share_groups().collect(),
            supported_groups: ch
                .extension(ExtensionType::SupportedGroups)
                .map_or_else(Box::default, |e| crate::extensions::supported_groups(e).collect()),
            signature_algorithms: ch
                .extension(ExtensionType::SignatureAlgorithms)
                .map_or_else(Box::default, |e| crate::extensions::signature_algorithms(e).collect()),
            psk_modes: ch.psk_modes().collect(),
            // An extension body is at most 65535 bytes, and so holds fewer identities.
            session_ticket: ch.session_ticket().map(|t| t.len() as u16),
            psk_identities: ch.psk_identities().count() as u16,
            early_data: ch.offers_early_data(),
            session_id_len: ch.session_id.len(),
        }
    }

    /// The owned detail of an SSLv2-format ClientHello.
    pub fn sslv2_client_hello(ch: &Sslv2ClientHello<'_>) -> Self {
        HandshakeDetail::ClientHello {
            version: ch.version,
            sslv2: true,
            cipher_suites: ch.cipher_suites().collect(),
            extensions: Vec::new(),
            server_name: None,
            alpn: Vec::new(),
            versions: Vec::new(),
            key_share: Vec::new(),
            supported_groups: Box::default(),
            signature_algorithms: Box::default(),
            psk_modes: Vec::new(),
            session_ticket: None,
            psk_identities: 0,
            early_data: false,
            session_id_len: ch.session_id.len(),
        }
    }

    /// The owned detail of a ServerHello or HelloRetryRequest; whether it resumes is the caller's to judge.
    pub fn server_hello(sh: &ServerHello<'_>, resumed: bool) -> Self {
        HandshakeDetail::ServerHello {
            retry: sh.is_hello_retry_request(),
            legacy_version: sh.version,
            version: sh.negotiated_version(),
            cipher_suite: sh.cipher_suite,
            extensions: sh.extensions.types().collect(),
            key_share: sh.key_share_group(),
            alpn: sh.alpn().map(Cow::into_owned),
            resumed,
        }
    }
}

/// Why a protected record was not decrypted: one value that the text and the JSON both spell, and that a
/// library user can match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UndecryptedReason {
    /// The keys were there and the record did not decrypt with them (bad MAC or tag, bad padding, ...).
    #[error("{0}")]
    Record(DecryptError),
    /// After bytes lost from the capture, no sequence number near the expected one authenticates the record.
    #[error("no sequence number within {tried} records of the expected one authenticates the record")]
    NoSequenceNumber {
        /// How many sequence numbers past the expected one were tried.
        tried: u64,
    },
    /// A pre-RFC TLS 1.3 version (draft): its key schedule differs by draft and is not followed.
    #[error("{0} (a pre-RFC TLS 1.3 draft) is not decrypted")]
    Tls13Draft(ProtocolVersion),
    /// A protected record before the ServerHello said which keys protect it.
    #[error("protected record before the handshake keys are known")]
    BeforeHandshakeKeys,
    /// The hellos were not seen (capture started mid-connection): no randoms to derive keys from.
    #[error("handshake not seen: no randoms to derive keys from")]
    NoHandshake,
    /// The ServerHello named no cipher suite we could read.
    #[error("no cipher suite")]
    NoCipherSuite,
    /// The suite is known but its cipher is not implemented (ARIA, SEED, export, ...).
    #[error("{} is not supported for decryption ({:?})", .0.name, .0.cipher)]
    UnsupportedSuite(&'static CipherSuite),
    /// The suite is not in the IANA registry.
    #[error("unknown cipher suite 0x{:04x}: cannot decrypt", .0.value())]
    UnknownSuite(CipherSuiteId),
    /// TLS 1.2 and older: the key log has no master secret for this connection.
    #[error("no CLIENT_RANDOM for {} in the key log", hex::encode(.client_random))]
    NoMasterSecret {
        /// The connection's client random.
        client_random: [u8; 32],
    },
    /// TLS 1.3: the key log has no secret for this key stage.
    #[error("no {} for this connection", .0.map_or("traffic secret", Label::as_str))]
    NoTrafficSecret(Option<Label>),
    /// The key log's master secret is not 48 bytes.
    #[error("CLIENT_RANDOM secret is not 48 bytes")]
    BadMasterSecret,
    /// Record keys could not be built for the suite and version.
    #[error("{0}")]
    Keys(CryptoError),
    /// DTLS 1.3 records are parsed, not decrypted.
    #[error("DTLS 1.3 protected records (unified header) are not decrypted")]
    Dtls13,
}

impl UndecryptedReason {
    /// True when keys were there and the record failed authentication (a bad MAC or tag); false when there was
    /// no key or no support.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::Record(_) | Self::NoSequenceNumber { .. })
    }
}

/// One thing the dissector saw. Borrowed bytes (`raw`, `data`) are [`Cow::Borrowed`] as the dissector reports
/// them; [`Event::into_owned`] keeps an event past the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// A record (its header and, when decrypted, its inner content type).
    Record {
        /// Direction.
        dir: Direction,
        /// Time of the segment that completed the record.
        ts: Timestamp,
        /// Record number within the connection (1-based, both directions).
        number: u64,
        /// The outer content type.
        content_type: ContentType,
        /// TLS 1.3 inner content type once decrypted (otherwise `None`).
        inner_type: Option<ContentType>,
        /// Record-layer version.
        version: ProtocolVersion,
        /// Fragment length.
        length: usize,
        /// Whether the record is protected (encrypted).
        encrypted: bool,
        /// Whether it was decrypted.
        decrypted: bool,
        /// The whole record as captured (header + fragment).
        raw: Cow<'a, [u8]>,
    },
    /// A handshake message (plaintext, or decrypted).
    Handshake {
        /// Direction.
        dir: Direction,
        /// Time.
        ts: Timestamp,
        /// Message type.
        msg_type: HandshakeType,
        /// Body length.
        length: usize,
        /// Whether it came in protected records.
        encrypted: bool,
        /// Decoded key fields.
        detail: HandshakeDetail,
    },
    /// ChangeCipherSpec.
    ChangeCipherSpec {
        /// Direction.
        dir: Direction,
        /// Time.
        ts: Timestamp,
    },
    /// An alert (`None`: an encrypted alert that could not be decrypted).
    Alert {
        /// Direction.
        dir: Direction,
        /// Time.
        ts: Timestamp,
        /// The alert, if it was plaintext or decrypted.
        alert: Option<crate::alert::Alert>,
    },
    /// Decrypted application data.
    ApplicationData {
        /// Direction.
        dir: Direction,
        /// Time.
        ts: Timestamp,
        /// The plaintext.
        data: Cow<'a, [u8]>,
        /// Whether it was sent as 0-RTT early data.
        early: bool,
    },
    /// The server's answer to offered 0-RTT data.
    EarlyData {
        /// Whether the server accepted it.
        accepted: bool,
    },
    /// The negotiated parameters are known (after ServerHello).
    Negotiated {
        /// Version.
        version: ProtocolVersion,
        /// Suite.
        cipher_suite: CipherSuiteId,
    },
    /// A protected record that could not be decrypted, and why.
    Undecrypted {
        /// Direction.
        dir: Direction,
        /// Time.
        ts: Timestamp,
        /// Record number.
        number: u64,
        /// Why (no key, unsupported suite, authentication failed, ...).
        reason: UndecryptedReason,
    },
    /// Bytes missing from the TCP stream.
    Gap {
        /// Direction.
        dir: Direction,
        /// Number of bytes.
        bytes: u64,
    },
    /// Bytes skipped to find the next record boundary (after a gap or a mid-stream start).
    Resync {
        /// Direction.
        dir: Direction,
        /// Bytes skipped.
        skipped: u64,
    },
    /// Something in the stream was malformed.
    Malformed {
        /// Direction.
        dir: Direction,
        /// Time.
        ts: Timestamp,
        /// What.
        what: String,
    },
}

impl Event<'_> {
    /// The event with its bytes copied: it outlives the dissector's callback (to queue it, or send it to
    /// another thread).
    pub fn into_owned(self) -> Event<'static> {
        match self {
            Event::Record { dir, ts, number, content_type, inner_type, version, length, encrypted, decrypted, raw } => {
                let raw = Cow::Owned(raw.into_owned());
                Event::Record { dir, ts, number, content_type, inner_type, version, length, encrypted, decrypted, raw }
            }
            Event::ApplicationData { dir, ts, data, early } => {
                Event::ApplicationData { dir, ts, data: Cow::Owned(data.into_owned()), early }
            }
            Event::Handshake { dir, ts, msg_type, length, encrypted, detail } => {
                Event::Handshake { dir, ts, msg_type, length, encrypted, detail }
            }
            Event::ChangeCipherSpec { dir, ts } => Event::ChangeCipherSpec { dir, ts },
            Event::Alert { dir, ts, alert } => Event::Alert { dir, ts, alert },
            Event::EarlyData { accepted } => Event::EarlyData { accepted },
            Event::Negotiated { version, cipher_suite } => Event::Negotiated { version, cipher_suite },
            Event::Undecrypted { dir, ts, number, reason } => Event::Undecrypted { dir, ts, number, reason },
            Event::Gap { dir, bytes } => Event::Gap { dir, bytes },
            Event::Resync { dir, skipped } => Event::Resync { dir, skipped },
            Event::Malformed { dir, ts, what } => Event::Malformed { dir, ts, what },
        }
    }
}
