//! Handshake messages: framing (type + 24-bit length), the handshake type registry, and borrowed views of the
//! messages whose fields we read, including TLS 1.3's encrypted ones and HelloRetryRequest. A view's `parse`
//! checks the framing and allocates nothing; lists are read as they are iterated.

mod certificate;

use std::borrow::Cow;

pub use certificate::{CertSummary, Certificates};

use crate::cipher::CipherSuiteId;
use crate::codec::{enum_builder, List, Reader};
use crate::extensions::{self, ExtensionType, Extensions, NamedGroup, PskKeyExchangeMode};
use crate::record::{self, ContentType, ProtocolVersion, RecordHeader};

/// Length of a handshake message header (type + 24-bit length).
pub const HEADER_LEN: usize = 4;

/// The special ServerHello.random that marks a HelloRetryRequest (RFC 8446 4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

enum_builder! {
    /// A handshake message type, named as tshark's counts spell it.
    pub enum HandshakeType: u8 (unknown "Unknown") {
        /// hello_request
        HelloRequest = 0 => "HelloRequest",
        /// client_hello
        ClientHello = 1 => "ClientHello",
        /// server_hello (also a HelloRetryRequest, told apart by its random)
        ServerHello = 2 => "ServerHello",
        /// hello_verify_request (DTLS)
        HelloVerifyRequest = 3 => "HelloVerifyRequest",
        /// new_session_ticket
        NewSessionTicket = 4 => "NewSessionTicket",
        /// end_of_early_data
        EndOfEarlyData = 5 => "EndOfEarlyData",
        /// hello_retry_request (TLS 1.3 drafts' own type)
        HelloRetryRequest = 6 => "HelloRetryRequest",
        /// encrypted_extensions
        EncryptedExtensions = 8 => "EncryptedExtensions",
        /// certificate
        Certificate = 11 => "Certificate",
        /// server_key_exchange
        ServerKeyExchange = 12 => "ServerKeyExchange",
        /// certificate_request
        CertificateRequest = 13 => "CertificateRequest",
        /// server_hello_done
        ServerHelloDone = 14 => "ServerHelloDone",
        /// certificate_verify
        CertificateVerify = 15 => "CertificateVerify",
        /// client_key_exchange
        ClientKeyExchange = 16 => "ClientKeyExchange",
        /// finished
        Finished = 20 => "Finished",
        /// certificate_url
        CertificateUrl = 21 => "CertificateURL",
        /// certificate_status
        CertificateStatus = 22 => "CertificateStatus",
        /// key_update
        KeyUpdate = 24 => "KeyUpdate",
        /// compressed_certificate
        CompressedCertificate = 25 => "CompressedCertificate",
        /// message_hash (the transcript's stand-in for a ClientHello before a HelloRetryRequest)
        MessageHash = 254 => "MessageHash",
    }
}

enum_builder! {
    /// A compression method of the hellos (TLS Compression Method Identifiers).
    pub enum CompressionMethod: u8 (unknown "unknown") {
        /// null: no compression
        Null = 0 => "null",
        /// DEFLATE (RFC 3749)
        Deflate = 1 => "DEFLATE",
        /// LZS (RFC 3943)
        Lzs = 64 => "LZS",
    }
}

/// The first complete handshake message at the start of `buf`: its type, and the whole message (header + body).
pub fn message(buf: &[u8]) -> Option<(HandshakeType, &[u8])> {
    let mut r = Reader::new(buf);
    let typ = HandshakeType::new(r.u8()?);
    let len = r.u24()?;
    Some((typ, buf.get(..HEADER_LEN + len)?))
}

/// The first handshake message of a connection, gathered from the start of its byte stream (what a server
/// peeks before its TLS library reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstMessage {
    /// The whole message, header included, reassembled across records.
    Complete(Vec<u8>),
    /// The bytes so far hold only part of it.
    Incomplete,
    /// Not a handshake record, a record of the wrong shape, or longer than allowed.
    Invalid,
}

/// Gathers the first handshake message from the plaintext handshake records at the start of `stream`,
/// refusing one longer than `max` bytes.
///
/// ```
/// use tlskit_wire::handshake::{first_message, FirstMessage};
///
/// // A 6-byte ClientHello body split over two records.
/// let msg = [1u8, 0, 0, 6, 3, 3, 9, 9, 9, 9];
/// let mut stream = vec![22, 3, 1, 0, 4];
/// stream.extend_from_slice(&msg[..4]);
/// assert_eq!(first_message(&stream, 1024), FirstMessage::Incomplete);
/// stream.extend_from_slice(&[22, 3, 3, 0, 6]);
/// stream.extend_from_slice(&msg[4..]);
/// assert_eq!(first_message(&stream, 1024), FirstMessage::Complete(msg.to_vec()));
/// ```
pub fn first_message(stream: &[u8], max: usize) -> FirstMessage {
    let mut message = Vec::new();
    let mut rest = stream;
    loop {
        let Some(header) = RecordHeader::parse(rest) else { return FirstMessage::Incomplete };
        if header.content_type != ContentType::Handshake || !header.is_plausible() || header.length == 0 {
            return FirstMessage::Invalid;
        }
        let end = record::HEADER_LEN + usize::from(header.length);
        let Some(fragment) = rest.get(record::HEADER_LEN..end) else {
            message.extend_from_slice(&rest[record::HEADER_LEN..]);
            return if message.len() > max { FirstMessage::Invalid } else { FirstMessage::Incomplete };
        };
        message.extend_from_slice(fragment);
        rest = &rest[end..];
        let mut r = Reader::new(&message);
        if let (Some(_), Some(len)) = (r.u8(), r.u24()) {
            if HEADER_LEN + len > max {
                return FirstMessage::Invalid;
            }
            if message.len() >= HEADER_LEN + len {
                message.truncate(HEADER_LEN + len);
                return FirstMessage::Complete(message);
            }
        }
    }
}

/// A ClientHello, borrowed from the message bytes (TLS, or DTLS with its cookie).
///
/// ```
/// use tlskit_wire::handshake::ClientHello;
/// use tlskit_wire::record::ProtocolVersion;
///
/// let mut body = vec![3, 3];
/// body.extend([7u8; 32]); // random
/// body.push(0); // no session id
/// body.extend([0, 2, 0x13, 0x01, 1, 0]); // one suite, null compression
/// body.extend([0, 7, 0, 43, 0, 3, 2, 3, 4]); // supported_versions: TLS 1.3
/// let hello = ClientHello::parse(&body).expect("well formed");
/// assert_eq!(hello.cipher_suites().map(|s| s.to_string()).collect::<Vec<_>>(), ["TLS_AES_128_GCM_SHA256"]);
/// assert_eq!(hello.versions().collect::<Vec<_>>(), [ProtocolVersion::TLSv1_3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// legacy_version.
    pub version: ProtocolVersion,
    /// The 32-byte client random.
    pub random: [u8; 32],
    /// legacy_session_id.
    pub session_id: &'a [u8],
    /// DTLS: the cookie (empty on the first flight); `None` in TLS.
    pub cookie: Option<&'a [u8]>,
    suites: &'a [u8],
    compression: &'a [u8],
    /// Extensions, in order.
    pub extensions: Extensions<'a>,
}

impl<'a> ClientHello<'a> {
    /// Parses a ClientHello body (after the 4-byte handshake header).
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        Self::read(body, false)
    }

    /// Parses a DTLS ClientHello body (after the 12-byte DTLS handshake header): a cookie follows the session ID.
    pub fn parse_dtls(body: &'a [u8]) -> Option<Self> {
        Self::read(body, true)
    }

    fn read(body: &'a [u8], dtls: bool) -> Option<Self> {
        let mut r = Reader::new(body);
        let version = ProtocolVersion::new(r.u16()?);
        let random = r.array()?;
        let session_id = r.vec8()?;
        let cookie = if dtls { Some(r.vec8()?) } else { None };
        let suites = r.vec16()?;
        let compression = r.vec8()?;
        let extensions = Extensions::read(&mut r)?;
        Some(Self { version, random, session_id, cookie, suites, compression, extensions })
    }

    /// Offered cipher suites, in order.
    pub fn cipher_suites(&self) -> List<'a, CipherSuiteId> {
        List::new(self.suites)
    }

    /// Offered compression methods, in order.
    pub fn compression_methods(&self) -> List<'a, CompressionMethod> {
        List::new(self.compression)
    }

    /// The body of an extension, if present.
    pub fn extension(&self, typ: ExtensionType) -> Option<&'a [u8]> {
        self.extensions.find(typ)
    }

    /// The SNI host name (invalid UTF-8 replaced; borrowed when valid).
    pub fn server_name(&self) -> Option<Cow<'a, str>> {
        self.extension(ExtensionType::ServerName).and_then(extensions::server_name)
    }

    /// Offered ALPN protocols, as bytes.
    pub fn alpn(&self) -> extensions::ProtocolNames<'a> {
        extensions::alpn(self.extension(ExtensionType::Alpn).unwrap_or_default())
    }

    /// Offered versions (supported_versions); empty without the extension.
    pub fn versions(&self) -> List<'a, ProtocolVersion> {
        self.extension(ExtensionType::SupportedVersions).map_or_else(List::empty, extensions::supported_versions_client)
    }

    /// The groups of the offered key shares.
    pub fn key_share_groups(&self) -> impl Iterator<Item = NamedGroup> + 'a {
        extensions::key_share_client_groups(self.extension(ExtensionType::KeyShare).unwrap_or_default())
    }

    /// The offered PSK key exchange modes.
    pub fn psk_modes(&self) -> List<'a, PskKeyExchangeMode> {
        self.extension(ExtensionType::PskKeyExchangeModes).map_or_else(List::empty, extensions::psk_modes)
    }

    /// The identities offered in pre_shared_key (TLS 1.3 resumption), in order.
    pub fn psk_identities(&self) -> impl Iterator<Item = &'a [u8]> {
        extensions::psk_identities(self.extension(ExtensionType::PreSharedKey).unwrap_or_default())
    }

    /// The session ticket offered for resumption (TLS 1.2, RFC 5077): empty when asking for one.
    pub fn session_ticket(&self) -> Option<&'a [u8]> {
        self.extension(ExtensionType::SessionTicket)
    }

    /// Whether the client offers 0-RTT data.
    pub fn offers_early_data(&self) -> bool {
        self.extension(ExtensionType::EarlyData).is_some()
    }
}

/// A ServerHello's (or HelloRetryRequest's) fields, borrowed from the message bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// legacy_version.
    pub version: ProtocolVersion,
    /// The 32-byte server random.
    pub random: [u8; 32],
    /// legacy_session_id_echo.
    pub session_id: &'a [u8],
    /// The chosen cipher suite.
    pub cipher_suite: CipherSuiteId,
    /// The chosen compression method.
    pub compression: CompressionMethod,
    /// Extensions, in order.
    pub extensions: Extensions<'a>,
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello body (TLS 1.3 drafts before 22 in their own layout).
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let version = ProtocolVersion::new(r.u16()?);
        let random = r.array()?;
        if version.has_draft_server_hello_layout() {
            let cipher_suite = CipherSuiteId::new(r.u16()?);
            let extensions = Extensions::read(&mut r)?;
            let compression = CompressionMethod::Null;
            return Some(Self { version, random, session_id: &[], cipher_suite, compression, extensions });
        }
        let session_id = r.vec8()?;
        let cipher_suite = CipherSuiteId::new(r.u16()?);
        let compression = CompressionMethod::new(r.u8()?);
        let extensions = Extensions::read(&mut r)?;
        Some(Self { version, random, session_id, cipher_suite, compression, extensions })
    }

    /// The body of an extension, if present.
    pub fn extension(&self, typ: ExtensionType) -> Option<&'a [u8]> {
        self.extensions.find(typ)
    }

    /// Whether this is a HelloRetryRequest (the special random).
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }

    /// The negotiated version: supported_versions if present, else legacy_version.
    pub fn negotiated_version(&self) -> ProtocolVersion {
        self.extension(ExtensionType::SupportedVersions)
            .and_then(extensions::supported_version_server)
            .unwrap_or(self.version)
    }

    /// The key_share group (TLS 1.3), or the group a HelloRetryRequest asks for.
    pub fn key_share_group(&self) -> Option<NamedGroup> {
        self.extension(ExtensionType::KeyShare).and_then(extensions::key_share_server_group)
    }

    /// The chosen ALPN protocol (invalid UTF-8 replaced; borrowed when valid).
    pub fn alpn(&self) -> Option<Cow<'a, str>> {
        let protocol = extensions::alpn(self.extension(ExtensionType::Alpn)?).next()?;
        Some(String::from_utf8_lossy(protocol))
    }
}

/// A NewSessionTicket's fields (TLS 1.2 RFC 5077 form or TLS 1.3 form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewSessionTicket<'a> {
    /// ticket_lifetime (seconds; 1.2 hint).
    pub lifetime: u32,
    /// The ticket (opaque).
    pub ticket: &'a [u8],
    /// TLS 1.3: max_early_data_size if the ticket allows 0-RTT.
    pub max_early_data: Option<u32>,
}

impl<'a> NewSessionTicket<'a> {
    /// Parses a NewSessionTicket body.
    pub fn parse(body: &'a [u8], tls13: bool) -> Option<Self> {
        let mut r = Reader::new(body);
        let lifetime = r.u32()?;
        if !tls13 {
            return Some(Self { lifetime, ticket: r.vec16()?, max_early_data: None });
        }
        r.u32()?; // ticket_age_add
        r.vec8()?; // ticket_nonce
        let ticket = r.vec16()?;
        let exts = Extensions::read(&mut r)?;
        let max_early_data = exts.find(ExtensionType::EarlyData).and_then(|d| Reader::new(d).u32());
        Some(Self { lifetime, ticket, max_early_data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_round_trip() {
        let mut body = vec![3, 3];
        body.extend([7u8; 32]);
        body.push(0); // session id
        body.extend([0, 4, 0x13, 0x01, 0x00, 0x2f]);
        body.extend([1, 0]);
        // extensions: supported_versions [TLS 1.3]
        body.extend([0, 7, 0, 43, 0, 3, 2, 3, 4]);
        let ch = ClientHello::parse(&body).unwrap();
        let suites: Vec<CipherSuiteId> = ch.cipher_suites().collect();
        assert_eq!(suites, [CipherSuiteId::TLS_AES_128_GCM_SHA256, CipherSuiteId::TLS_RSA_WITH_AES_128_CBC_SHA]);
        assert_eq!(ch.versions().collect::<Vec<_>>(), [ProtocolVersion::TLSv1_3]);
        assert_eq!(ch.compression_methods().collect::<Vec<_>>(), [CompressionMethod::Null]);
        assert!(ClientHello::parse(&body[..body.len() - 1]).is_none());
    }

    #[test]
    fn dtls_client_hello_has_a_cookie() {
        let mut body = vec![0xfe, 0xfd];
        body.extend([1u8; 32]);
        body.extend([0, 2, 0xc0, 0xde, 0, 2, 0xc0, 0x2b, 1, 0]);
        let ch = ClientHello::parse_dtls(&body).unwrap();
        assert_eq!((ch.version, ch.cookie), (ProtocolVersion::DTLSv1_2, Some(&[0xc0, 0xde][..])));
        assert_eq!(ch.cipher_suites().next(), Some(CipherSuiteId::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256));
        assert!(ch.extensions.is_empty());
    }

    #[test]
    fn messages_are_framed() {
        assert_eq!(message(&[20, 0, 0, 2, 1, 2, 3]), Some((HandshakeType::Finished, &[20, 0, 0, 2, 1, 2][..])));
        assert_eq!(message(&[20, 0, 0, 2, 1]), None);
        assert_eq!(HandshakeType::from(99).name(), "Unknown");
    }
}
