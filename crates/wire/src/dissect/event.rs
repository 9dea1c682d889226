//! What the dissector reports: one event per record, handshake message,
//! alert, piece of application data, and per problem.

use std::borrow::Cow;

use crate::handshake::CertSummary;
use crate::record::ContentType;

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

    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Self::ClientToServer => Self::ServerToClient,
            Self::ServerToClient => Self::ClientToServer,
        }
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

/// The key fields of one handshake message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeDetail {
    /// A ClientHello (or the SSLv2-format one).
    ClientHello {
        /// legacy_version.
        version: u16,
        /// Whether it came in SSLv2 record format.
        sslv2: bool,
        /// Offered suites (SSLv2 kinds above 0xffff are left out).
        cipher_suites: Vec<u16>,
        /// Extension types in order.
        extensions: Vec<u16>,
        /// SNI.
        server_name: Option<String>,
        /// Offered ALPN protocols.
        alpn: Vec<String>,
        /// supported_versions.
        versions: Vec<u16>,
        /// key_share groups.
        key_share: Vec<u16>,
        /// psk_key_exchange_modes.
        psk_modes: Vec<u8>,
        /// Whether 0-RTT data is offered.
        early_data: bool,
        /// Session ID length (non-zero: the client tries to resume, or TLS 1.3 compatibility mode).
        session_id_len: usize,
    },
    /// A ServerHello or HelloRetryRequest.
    ServerHello {
        /// Whether it is a HelloRetryRequest.
        retry: bool,
        /// The negotiated version.
        version: u16,
        /// The chosen suite.
        cipher_suite: u16,
        /// Extension types in order.
        extensions: Vec<u16>,
        /// key_share group (or the group an HRR asks for).
        key_share: Option<u16>,
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
        extensions: Vec<u16>,
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
        scheme: u16,
    },
    /// Finished.
    Finished {
        /// verify_data.
        verify_data: Vec<u8>,
    },
    /// Any other message: only its length is shown.
    Other,
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
        version: u16,
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
        msg_type: u8,
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
    /// An alert (`level`/`description` are `None` when it could not be decrypted).
    Alert {
        /// Direction.
        dir: Direction,
        /// Time.
        ts: Timestamp,
        /// The alert, if readable.
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
        version: u16,
        /// Suite.
        cipher_suite: u16,
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
        reason: String,
        /// True when authentication failed (bad MAC/tag), false when we simply had no key.
        auth_failed: bool,
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
            Event::Undecrypted { dir, ts, number, reason, auth_failed } => {
                Event::Undecrypted { dir, ts, number, reason, auth_failed }
            }
            Event::Gap { dir, bytes } => Event::Gap { dir, bytes },
            Event::Resync { dir, skipped } => Event::Resync { dir, skipped },
            Event::Malformed { dir, ts, what } => Event::Malformed { dir, ts, what },
        }
    }
}
