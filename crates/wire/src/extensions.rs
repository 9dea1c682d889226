//! Hello extensions: the extension type registry, a borrowed view of an extensions block, and the decoders of
//! the bodies we read (SNI, ALPN, supported_versions, supported_groups, key_share, psk modes, ...). Decoders
//! yield borrowed bytes or typed numbers as they are iterated; the registries of those numbers (named groups,
//! signature schemes, PSK modes, EC point formats) are here beside them.

use std::borrow::Cow;

use crate::codec::{enum_builder, List, Reader};
use crate::record::ProtocolVersion;

enum_builder! {
    /// An extension type (IANA TLS ExtensionType Values).
    pub enum ExtensionType: u16 (unknown "unknown", grease) {
        /// server_name (SNI)
        ServerName = 0 => "server_name",
        /// max_fragment_length
        MaxFragmentLength = 1 => "max_fragment_length",
        /// status_request (OCSP stapling)
        StatusRequest = 5 => "status_request",
        /// supported_groups (elliptic_curves before TLS 1.3)
        SupportedGroups = 10 => "supported_groups",
        /// ec_point_formats
        EcPointFormats = 11 => "ec_point_formats",
        /// signature_algorithms
        SignatureAlgorithms = 13 => "signature_algorithms",
        /// use_srtp
        UseSrtp = 14 => "use_srtp",
        /// heartbeat
        Heartbeat = 15 => "heartbeat",
        /// application_layer_protocol_negotiation (ALPN)
        Alpn = 16 => "application_layer_protocol_negotiation",
        /// status_request_v2
        StatusRequestV2 = 17 => "status_request_v2",
        /// signed_certificate_timestamp
        SignedCertificateTimestamp = 18 => "signed_certificate_timestamp",
        /// client_certificate_type
        ClientCertificateType = 19 => "client_certificate_type",
        /// server_certificate_type
        ServerCertificateType = 20 => "server_certificate_type",
        /// padding
        Padding = 21 => "padding",
        /// encrypt_then_mac
        EncryptThenMac = 22 => "encrypt_then_mac",
        /// extended_master_secret
        ExtendedMasterSecret = 23 => "extended_master_secret",
        /// compress_certificate
        CompressCertificate = 27 => "compress_certificate",
        /// record_size_limit
        RecordSizeLimit = 28 => "record_size_limit",
        /// delegated_credentials
        DelegatedCredentials = 34 => "delegated_credentials",
        /// session_ticket
        SessionTicket = 35 => "session_ticket",
        /// pre_shared_key
        PreSharedKey = 41 => "pre_shared_key",
        /// early_data
        EarlyData = 42 => "early_data",
        /// supported_versions
        SupportedVersions = 43 => "supported_versions",
        /// cookie
        Cookie = 44 => "cookie",
        /// psk_key_exchange_modes
        PskKeyExchangeModes = 45 => "psk_key_exchange_modes",
        /// certificate_authorities
        CertificateAuthorities = 47 => "certificate_authorities",
        /// oid_filters
        OidFilters = 48 => "oid_filters",
        /// post_handshake_auth
        PostHandshakeAuth = 49 => "post_handshake_auth",
        /// signature_algorithms_cert
        SignatureAlgorithmsCert = 50 => "signature_algorithms_cert",
        /// key_share
        KeyShare = 51 => "key_share",
        /// quic_transport_parameters
        QuicTransportParameters = 57 => "quic_transport_parameters",
        /// next_protocol_negotiation (NPN, never registered)
        NextProtocolNegotiation = 13172 => "next_protocol_negotiation",
        /// application_settings (ALPS), the codepoint of its first draft
        ApplicationSettingsDraft = 17513 => "application_settings",
        /// application_settings (ALPS)
        ApplicationSettings = 17613 => "application_settings",
        /// encrypted_client_hello (ECH)
        EncryptedClientHello = 65037 => "encrypted_client_hello",
        /// renegotiation_info
        RenegotiationInfo = 65281 => "renegotiation_info",
    }
}

enum_builder! {
    /// A named group (supported_groups, key_share): IANA TLS Supported Groups.
    pub enum NamedGroup: u16 (unknown "unknown", grease) {
        /// secp256r1 (P-256)
        Secp256r1 = 23 => "secp256r1",
        /// secp384r1 (P-384)
        Secp384r1 = 24 => "secp384r1",
        /// secp521r1 (P-521)
        Secp521r1 = 25 => "secp521r1",
        /// x25519
        X25519 = 29 => "x25519",
        /// x448
        X448 = 30 => "x448",
        /// ffdhe2048
        Ffdhe2048 = 256 => "ffdhe2048",
        /// ffdhe3072
        Ffdhe3072 = 257 => "ffdhe3072",
        /// ffdhe4096
        Ffdhe4096 = 258 => "ffdhe4096",
        /// ffdhe6144
        Ffdhe6144 = 259 => "ffdhe6144",
        /// ffdhe8192
        Ffdhe8192 = 260 => "ffdhe8192",
        /// SecP256r1MLKEM768 (hybrid post-quantum)
        SecP256r1MlKem768 = 0x11eb => "SecP256r1MLKEM768",
        /// X25519MLKEM768 (hybrid post-quantum)
        X25519MlKem768 = 0x11ec => "X25519MLKEM768",
        /// SecP384r1MLKEM1024 (hybrid post-quantum)
        SecP384r1MlKem1024 = 0x11ed => "SecP384r1MLKEM1024",
        /// X25519Kyber768Draft00 (the pre-standard hybrid)
        X25519Kyber768Draft00 = 0x6399 => "X25519Kyber768Draft00",
    }
}

enum_builder! {
    /// A signature scheme (signature_algorithms, CertificateVerify): IANA TLS SignatureScheme.
    pub enum SignatureScheme: u16 (unknown "unknown", grease) {
        /// rsa_pkcs1_sha1
        RsaPkcs1Sha1 = 0x0201 => "rsa_pkcs1_sha1",
        /// dsa_sha1
        DsaSha1 = 0x0202 => "dsa_sha1",
        /// ecdsa_sha1
        EcdsaSha1 = 0x0203 => "ecdsa_sha1",
        /// rsa_pkcs1_sha224
        RsaPkcs1Sha224 = 0x0301 => "rsa_pkcs1_sha224",
        /// ecdsa_sha224
        EcdsaSha224 = 0x0303 => "ecdsa_sha224",
        /// rsa_pkcs1_sha256
        RsaPkcs1Sha256 = 0x0401 => "rsa_pkcs1_sha256",
        /// dsa_sha256
        DsaSha256 = 0x0402 => "dsa_sha256",
        /// ecdsa_secp256r1_sha256
        EcdsaSecp256r1Sha256 = 0x0403 => "ecdsa_secp256r1_sha256",
        /// rsa_pkcs1_sha384
        RsaPkcs1Sha384 = 0x0501 => "rsa_pkcs1_sha384",
        /// ecdsa_secp384r1_sha384
        EcdsaSecp384r1Sha384 = 0x0503 => "ecdsa_secp384r1_sha384",
        /// rsa_pkcs1_sha512
        RsaPkcs1Sha512 = 0x0601 => "rsa_pkcs1_sha512",
        /// ecdsa_secp521r1_sha512
        EcdsaSecp521r1Sha512 = 0x0603 => "ecdsa_secp521r1_sha512",
        /// rsa_pss_rsae_sha256
        RsaPssRsaeSha256 = 0x0804 => "rsa_pss_rsae_sha256",
        /// rsa_pss_rsae_sha384
        RsaPssRsaeSha384 = 0x0805 => "rsa_pss_rsae_sha384",
        /// rsa_pss_rsae_sha512
        RsaPssRsaeSha512 = 0x0806 => "rsa_pss_rsae_sha512",
        /// ed25519
        Ed25519 = 0x0807 => "ed25519",
        /// ed448
        Ed448 = 0x0808 => "ed448",
        /// rsa_pss_pss_sha256
        RsaPssPssSha256 = 0x0809 => "rsa_pss_pss_sha256",
        /// rsa_pss_pss_sha384
        RsaPssPssSha384 = 0x080a => "rsa_pss_pss_sha384",
        /// rsa_pss_pss_sha512
        RsaPssPssSha512 = 0x080b => "rsa_pss_pss_sha512",
        /// ecdsa_brainpoolP256r1tls13_sha256 (RFC 8734)
        EcdsaBrainpoolP256r1Tls13Sha256 = 0x081a => "ecdsa_brainpoolP256r1tls13_sha256",
        /// ecdsa_brainpoolP384r1tls13_sha384 (RFC 8734)
        EcdsaBrainpoolP384r1Tls13Sha384 = 0x081b => "ecdsa_brainpoolP384r1tls13_sha384",
        /// ecdsa_brainpoolP512r1tls13_sha512 (RFC 8734)
        EcdsaBrainpoolP512r1Tls13Sha512 = 0x081c => "ecdsa_brainpoolP512r1tls13_sha512",
        /// mldsa44 (ML-DSA, draft-ietf-tls-mldsa; offered by today's Chromium)
        MlDsa44 = 0x0904 => "mldsa44",
        /// mldsa65
        MlDsa65 = 0x0905 => "mldsa65",
        /// mldsa87
        MlDsa87 = 0x0906 => "mldsa87",
    }
}

enum_builder! {
    /// A PSK key exchange mode (psk_key_exchange_modes, RFC 8446 4.2.9).
    pub enum PskKeyExchangeMode: u8 (unknown "unknown") {
        /// psk_ke: PSK alone
        PskKe = 0 => "psk_ke",
        /// psk_dhe_ke: PSK with (EC)DHE
        PskDheKe = 1 => "psk_dhe_ke",
    }
}

enum_builder! {
    /// An EC point format (ec_point_formats, RFC 8422 5.1.2).
    pub enum EcPointFormat: u8 (unknown "unknown") {
        /// uncompressed
        Uncompressed = 0 => "uncompressed",
        /// ansiX962_compressed_prime
        AnsiX962CompressedPrime = 1 => "ansiX962_compressed_prime",
        /// ansiX962_compressed_char2
        AnsiX962CompressedChar2 = 2 => "ansiX962_compressed_char2",
    }
}

/// One extension as it appears in a hello: its type and its raw body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// Extension type.
    pub typ: ExtensionType,
    /// The body, undecoded.
    pub data: &'a [u8],
}

/// A borrowed view of an extensions block, its framing checked when it was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions<'a> {
    block: &'a [u8],
}

impl<'a> Extensions<'a> {
    /// Reads an extensions block (with its 2-byte length) at `r`; `None` if an extension overruns it. A missing
    /// block (old hellos end before it) is an empty list.
    pub fn read(r: &mut Reader<'a>) -> Option<Self> {
        if r.is_empty() {
            return Some(Self::default());
        }
        let block = r.vec16()?;
        let mut check = Reader::new(block);
        while !check.is_empty() {
            check.u16()?;
            check.vec16()?;
        }
        Some(Self { block })
    }

    /// The extensions, in order.
    pub fn iter(&self) -> ExtensionIter<'a> {
        ExtensionIter { r: Reader::new(self.block) }
    }

    /// The extension types, in order.
    pub fn types(&self) -> impl Iterator<Item = ExtensionType> + 'a {
        self.iter().map(|e| e.typ)
    }

    /// The body of the first extension of this type.
    pub fn find(&self, typ: ExtensionType) -> Option<&'a [u8]> {
        // Compared as numbers: a hello is searched a dozen times, and naming every extension each time showed.
        let (want, mut r) = (typ.value(), Reader::new(self.block));
        loop {
            let (t, data) = (r.u16()?, r.vec16()?);
            if t == want {
                return Some(data);
            }
        }
    }

    /// Number of extensions.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.block.is_empty()
    }
}

impl<'a> IntoIterator for Extensions<'a> {
    type Item = Extension<'a>;
    type IntoIter = ExtensionIter<'a>;

    fn into_iter(self) -> ExtensionIter<'a> {
        self.iter()
    }
}

/// The extensions of an [`Extensions`] block, in order.
#[derive(Debug, Clone)]
pub struct ExtensionIter<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = Extension<'a>;

    fn next(&mut self) -> Option<Extension<'a>> {
        let typ = ExtensionType::new(self.r.u16()?);
        let data = self.r.vec16()?;
        Some(Extension { typ, data })
    }
}

/// A list with a 1-byte (`prefix` 1) or 2-byte length prefix; a length that overruns gives an empty list.
fn list<T: crate::codec::Codec>(data: &[u8], prefix: usize) -> List<'_, T> {
    let mut r = Reader::new(data);
    let body = if prefix == 1 { r.vec8() } else { r.vec16() };
    body.map_or_else(List::empty, List::new)
}

/// The host name in a server_name extension (invalid UTF-8 replaced; borrowed when valid).
pub fn server_name(data: &[u8]) -> Option<Cow<'_, str>> {
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.vec16()?);
    while !list.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?;
        if kind == 0 {
            return Some(String::from_utf8_lossy(name));
        }
    }
    None
}

/// The protocol names of an ALPN extension, as bytes.
pub fn alpn(data: &[u8]) -> ProtocolNames<'_> {
    let mut r = Reader::new(data);
    ProtocolNames { r: Reader::new(r.vec16().unwrap_or_default()) }
}

/// The protocol names of an ALPN extension ([`alpn`]), in order.
#[derive(Debug, Clone)]
pub struct ProtocolNames<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for ProtocolNames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.r.vec8()
    }
}

/// The versions of a ClientHello's supported_versions (1-byte length prefix).
pub fn supported_versions_client(data: &[u8]) -> List<'_, ProtocolVersion> {
    list(data, 1)
}

/// The version a ServerHello's supported_versions selects.
pub fn supported_version_server(data: &[u8]) -> Option<ProtocolVersion> {
    Reader::new(data).u16().map(ProtocolVersion::new)
}

/// The groups of supported_groups.
pub fn supported_groups(data: &[u8]) -> List<'_, NamedGroup> {
    list(data, 2)
}

/// The schemes of signature_algorithms.
pub fn signature_algorithms(data: &[u8]) -> List<'_, SignatureScheme> {
    list(data, 2)
}

/// The formats of ec_point_formats.
pub fn ec_point_formats(data: &[u8]) -> List<'_, EcPointFormat> {
    list(data, 1)
}

/// The groups of a ClientHello key_share, one per key share offered.
pub fn key_share_client_groups(data: &[u8]) -> impl Iterator<Item = NamedGroup> + '_ {
    let mut r = Reader::new(data);
    let mut shares = Reader::new(r.vec16().unwrap_or_default());
    std::iter::from_fn(move || {
        let group = shares.u16()?;
        shares.vec16()?;
        Some(NamedGroup::new(group))
    })
}

/// The group of a ServerHello key_share (or of a HelloRetryRequest's, which has no key).
pub fn key_share_server_group(data: &[u8]) -> Option<NamedGroup> {
    Reader::new(data).u16().map(NamedGroup::new)
}

/// The modes of psk_key_exchange_modes.
pub fn psk_modes(data: &[u8]) -> List<'_, PskKeyExchangeMode> {
    list(data, 1)
}

/// The identities of a ClientHello's pre_shared_key extension (RFC 8446 4.2.11), in order: a resumption
/// ticket or a stateful session's id each. The binders after them are not read.
pub fn psk_identities(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut list = Reader::new(Reader::new(data).vec16().unwrap_or_default());
    std::iter::from_fn(move || {
        let identity = list.vec16()?;
        list.u32()?; // obfuscated_ticket_age
        Some(identity)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_sni_and_alpn() {
        let sni = [0, 14, 0, 0, 11, b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'o', b'r', b'g'];
        assert_eq!(server_name(&sni).as_deref(), Some("example.org"));
        let alpn_body = [0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1'];
        assert_eq!(alpn(&alpn_body).collect::<Vec<_>>(), [&b"h2"[..], b"http/1.1"]);
        assert!(server_name(&[0, 5, 0]).is_none());
    }

    #[test]
    fn psk_identities_in_order() {
        // identities: [ {01 02, age 7}, {03, age 8} ], then binders (ignored)
        let body = [0, 15, 0, 2, 1, 2, 0, 0, 0, 7, 0, 1, 3, 0, 0, 0, 8, 0, 0];
        assert_eq!(psk_identities(&body).collect::<Vec<_>>(), [&[1u8, 2][..], &[3u8][..]]);
        assert_eq!(psk_identities(&[0, 9, 0, 200]).count(), 0);
    }

    #[test]
    fn grease_and_names() {
        assert!(ExtensionType::from(0x1a1a).is_grease());
        assert!(!ExtensionType::from(0x1a2a).is_grease());
        assert_eq!(ExtensionType::from(0x1a1a).name(), "GREASE");
        assert_eq!(ExtensionType::from(43).name(), "supported_versions");
        assert_eq!(ExtensionType::from(17513).name(), ExtensionType::ApplicationSettings.name());
        assert_eq!(NamedGroup::from(29).to_string(), "x25519");
        assert_eq!(SignatureScheme::from(0x0804).name(), "rsa_pss_rsae_sha256");
        assert_eq!(PskKeyExchangeMode::from(1).name(), "psk_dhe_ke");
        assert_eq!(PskKeyExchangeMode::from(7).name(), "unknown");
    }

    #[test]
    fn extension_blocks_are_checked_when_read() {
        let block = [0, 9, 0, 43, 0, 0, 0xfe, 0xfe, 0, 1, 0xaa];
        let exts = Extensions::read(&mut Reader::new(&block)).unwrap();
        assert_eq!(exts.types().collect::<Vec<_>>(), [ExtensionType::SupportedVersions, ExtensionType::from(0xfefe)]);
        assert_eq!(exts.find(ExtensionType::SupportedVersions), Some(&[][..]));
        assert!(Extensions::read(&mut Reader::new(&[0, 7, 0, 43, 0, 4, 0, 0, 0])).is_none(), "body overruns");
        assert!(Extensions::read(&mut Reader::new(&[])).unwrap().is_empty());
    }
}
