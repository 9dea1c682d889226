//! Handshake messages: framing (type + 24-bit length) and the key fields of
//! every message, including TLS 1.3's encrypted ones and HelloRetryRequest.

use crate::extensions::{self, ext, Extension, Reader};

/// Length of a handshake message header (type + 24-bit length).
pub const HEADER_LEN: usize = 4;

/// The special ServerHello.random that marks a HelloRetryRequest (RFC 8446 4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// The name of a handshake message type, as tshark's counts spell it.
pub fn type_name(typ: u8) -> &'static str {
    match typ {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        3 => "HelloVerifyRequest",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        6 => "HelloRetryRequest",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        21 => "CertificateURL",
        22 => "CertificateStatus",
        24 => "KeyUpdate",
        25 => "CompressedCertificate",
        254 => "MessageHash",
        _ => "Unknown",
    }
}

/// A ClientHello's fields (borrowed from the message bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// legacy_version.
    pub version: u16,
    /// The 32-byte client random.
    pub random: [u8; 32],
    /// legacy_session_id.
    pub session_id: &'a [u8],
    /// Offered cipher suites, in order.
    pub cipher_suites: Vec<u16>,
    /// Offered compression methods.
    pub compression: &'a [u8],
    /// Extensions, in order.
    pub extensions: Vec<Extension<'a>>,
}

impl<'a> ClientHello<'a> {
    /// Parses a ClientHello body (after the 4-byte handshake header).
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let version = r.u16()?;
        let random = r.take(32)?.try_into().ok()?;
        let session_id = r.vec8()?;
        let suites = r.vec16()?;
        let cipher_suites = suites.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        let compression = r.vec8()?;
        let extensions = extensions::parse_extensions(&mut r)?;
        Some(Self { version, random, session_id, cipher_suites, compression, extensions })
    }

    /// The body of an extension, if present.
    pub fn extension(&self, typ: u16) -> Option<&'a [u8]> {
        extensions::find(&self.extensions, typ)
    }

    /// The SNI host name.
    pub fn server_name(&self) -> Option<String> {
        self.extension(ext::SERVER_NAME).and_then(extensions::server_name)
    }

    /// Offered ALPN protocols.
    pub fn alpn(&self) -> Vec<String> {
        self.extension(ext::ALPN).map(extensions::alpn).unwrap_or_default()
    }

    /// Offered versions (supported_versions), or the legacy version alone.
    pub fn versions(&self) -> Vec<u16> {
        self.extension(ext::SUPPORTED_VERSIONS).map(extensions::supported_versions_client).unwrap_or_default()
    }

    /// The identities offered in pre_shared_key (TLS 1.3 resumption), in order.
    pub fn psk_identities(&self) -> Vec<&'a [u8]> {
        self.extension(ext::PRE_SHARED_KEY).map(extensions::psk_identities).unwrap_or_default()
    }

    /// The TLS 1.2 session ticket offered (empty when the client only asks for one).
    pub fn session_ticket(&self) -> Option<&'a [u8]> {
        self.extension(ext::SESSION_TICKET)
    }

    /// Whether the client offers 0-RTT data.
    pub fn offers_early_data(&self) -> bool {
        self.extension(ext::EARLY_DATA).is_some()
    }
}

/// The first handshake message of a connection, gathered from the start of
/// its byte stream (what a server peeks before its TLS library reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstMessage {
    /// The whole message, header included, reassembled across records.
    Complete(Vec<u8>),
    /// The bytes so far hold only part of it.
    Incomplete,
    /// Not a handshake record, a record of the wrong shape, or longer than allowed.
    Invalid,
}

/// Gathers the first handshake message from plaintext handshake records at
/// the start of `stream`, refusing one longer than `max` bytes.
pub fn first_message(stream: &[u8], max: usize) -> FirstMessage {
    let mut message = Vec::new();
    let mut rest = stream;
    loop {
        let Some(header) = crate::record::RecordHeader::parse(rest) else { return FirstMessage::Incomplete };
        if header.content_type != crate::record::ContentType::Handshake || !header.is_plausible() || header.length == 0
        {
            return FirstMessage::Invalid;
        }
        let end = crate::record::HEADER_LEN + header.length as usize;
        let Some(fragment) = rest.get(crate::record::HEADER_LEN..end) else {
            message.extend_from_slice(&rest[crate::record::HEADER_LEN..]);
            return if message.len() > max { FirstMessage::Invalid } else { FirstMessage::Incomplete };
        };
        message.extend_from_slice(fragment);
        rest = &rest[end..];
        if message.len() >= HEADER_LEN {
            let len = (message[1] as usize) << 16 | (message[2] as usize) << 8 | message[3] as usize;
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

/// A ServerHello's (or HelloRetryRequest's) fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// legacy_version.
    pub version: u16,
    /// The 32-byte server random.
    pub random: [u8; 32],
    /// legacy_session_id_echo.
    pub session_id: &'a [u8],
    /// The chosen cipher suite.
    pub cipher_suite: u16,
    /// The chosen compression method.
    pub compression: u8,
    /// Extensions, in order.
    pub extensions: Vec<Extension<'a>>,
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello body.
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let version = r.u16()?;
        let random = r.take(32)?.try_into().ok()?;
        let session_id = r.vec8()?;
        let cipher_suite = r.u16()?;
        let compression = r.u8()?;
        let extensions = extensions::parse_extensions(&mut r)?;
        Some(Self { version, random, session_id, cipher_suite, compression, extensions })
    }

    /// The body of an extension, if present.
    pub fn extension(&self, typ: u16) -> Option<&'a [u8]> {
        extensions::find(&self.extensions, typ)
    }

    /// Whether this is a HelloRetryRequest (the special random).
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }

    /// The negotiated version: supported_versions if present, else legacy_version.
    pub fn negotiated_version(&self) -> u16 {
        self.extension(ext::SUPPORTED_VERSIONS).and_then(extensions::supported_version_server).unwrap_or(self.version)
    }

    /// The key_share group (TLS 1.3), or the group a HelloRetryRequest asks for.
    pub fn key_share_group(&self) -> Option<u16> {
        self.extension(ext::KEY_SHARE).and_then(extensions::key_share_server_group)
    }

    /// The chosen ALPN protocol.
    pub fn alpn(&self) -> Option<String> {
        self.extension(ext::ALPN).map(extensions::alpn).and_then(|v| v.into_iter().next())
    }
}

/// The certificates of a Certificate message (TLS 1.2 and 1.3 forms).
pub fn parse_certificates(body: &[u8], tls13: bool) -> Option<Vec<&[u8]>> {
    let mut r = Reader::new(body);
    if tls13 {
        r.vec8()?; // certificate_request_context
    }
    let mut list = Reader::new(r.vec24()?);
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(list.vec24()?);
        if tls13 {
            list.vec16()?; // per-entry extensions
        }
    }
    Some(out)
}

/// A NewSessionTicket's fields (TLS 1.2 RFC 5077 form or TLS 1.3 form).
#[derive(Debug, Clone, PartialEq, Eq)]
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
        let exts = extensions::parse_extensions(&mut r)?;
        let max_early_data = extensions::find(&exts, ext::EARLY_DATA).and_then(|d| Reader::new(d).u32());
        Some(Self { lifetime, ticket, max_early_data })
    }
}

/// The name of a TLS SignatureScheme (CertificateVerify, signature_algorithms).
pub fn signature_scheme_name(scheme: u16) -> &'static str {
    match scheme {
        0x0401 => "rsa_pkcs1_sha256",
        0x0501 => "rsa_pkcs1_sha384",
        0x0601 => "rsa_pkcs1_sha512",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        0x0201 => "rsa_pkcs1_sha1",
        0x0203 => "ecdsa_sha1",
        0x0202 => "dsa_sha1",
        0x0402 => "dsa_sha256",
        0x0301 => "rsa_pkcs1_sha224",
        0x0303 => "ecdsa_sha224",
        _ => "unknown",
    }
}

/// A short summary of one X.509 certificate for display.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertSummary {
    /// Subject distinguished name (RFC 4514).
    pub subject: String,
    /// Issuer distinguished name (RFC 4514).
    pub issuer: String,
    /// notBefore, RFC 2822-ish as x509-parser prints it.
    pub not_before: String,
    /// notAfter.
    pub not_after: String,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub san: Vec<String>,
}

/// Summarises a DER certificate; `None` if it does not parse.
pub fn summarise_certificate(der: &[u8]) -> Option<CertSummary> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut san = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(n) => san.push(n.to_string()),
                GeneralName::IPAddress(ip) => san.push(match ip.len() {
                    4 => std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                    16 => {
                        <[u8; 16]>::try_from(*ip).map(|a| std::net::Ipv6Addr::from(a).to_string()).unwrap_or_default()
                    }
                    _ => hex::encode(ip),
                }),
                GeneralName::RFC822Name(n) => san.push(n.to_string()),
                GeneralName::URI(n) => san.push(n.to_string()),
                _ => {}
            }
        }
    }
    Some(CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.to_string(),
        not_after: cert.validity().not_after.to_string(),
        san,
    })
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
        // extensions: supported_versions [0x0304]
        body.extend([0, 7, 0, 43, 0, 3, 2, 3, 4]);
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(ch.cipher_suites, vec![0x1301, 0x002f]);
        assert_eq!(ch.versions(), vec![0x0304]);
        assert!(ClientHello::parse(&body[..body.len() - 1]).is_none());
    }

    #[test]
    fn first_message_across_records() {
        // A 6-byte ClientHello body split over two records.
        let msg = [1u8, 0, 0, 6, 3, 3, 9, 9, 9, 9];
        let mut stream = vec![22, 3, 1, 0, 4];
        stream.extend_from_slice(&msg[..4]);
        assert_eq!(first_message(&stream, 1024), FirstMessage::Incomplete);
        stream.extend_from_slice(&[22, 3, 3, 0, 6]);
        stream.extend_from_slice(&msg[4..]);
        stream.extend_from_slice(&[23, 3, 3]); // whatever follows is not read
        assert_eq!(first_message(&stream, 1024), FirstMessage::Complete(msg.to_vec()));
        assert_eq!(first_message(&stream, 8), FirstMessage::Invalid, "longer than allowed");
        assert_eq!(first_message(&[23, 3, 3, 0, 1, 0], 1024), FirstMessage::Invalid);
        assert_eq!(first_message(&[22, 3], 1024), FirstMessage::Incomplete);
    }

    #[test]
    fn tls13_certificate_list() {
        let body = [0, 0, 0, 9, 0, 0, 2, 0xaa, 0xbb, 0, 2, 0, 0];
        // context len 0, list len 9: cert len 2, ext len 2 + 2 bytes
        let certs = parse_certificates(&body, true).unwrap();
        assert_eq!(certs, vec![&[0xaa, 0xbb][..]]);
    }
}
