//! Cipher suites (by IANA id: name, key exchange, bulk cipher, MAC, PRF hash, whether we can decrypt it) and the
//! per-direction record decryptor.
//!
//! The table is the IANA registry's names ([`CipherSuiteId`], in `names.rs`); every property is derived from the
//! name, which is exactly how the registry encodes them, so a table row cannot disagree with its name.

mod decrypt;
mod mac;
mod names;
/// Where the shared test captures are.
#[cfg(test)]
#[path = "../../tests/support/captures.rs"]
mod test_support;

use std::fmt;
use std::sync::OnceLock;

pub use decrypt::{CryptoError, DecryptError, Plain, RecordDecryptor};
pub use names::CipherSuiteId;

use crate::record::ProtocolVersion;
use crate::schedule::HashAlg;

/// How the premaster secret is agreed (the part of the name before `_WITH_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyExchange {
    /// `TLS_NULL_WITH_NULL_NULL`: no key exchange (the initial state).
    Null,
    /// Static RSA: the premaster is encrypted to the server's key (`-k/--key` recovers it).
    Rsa,
    /// Export-grade RSA (512-bit temporary key).
    RsaExport,
    /// Static DH, DSS certificate.
    DhDss,
    /// Static DH, RSA certificate.
    DhRsa,
    /// Ephemeral DH, DSS signature.
    DheDss,
    /// Ephemeral DH, RSA signature.
    DheRsa,
    /// Anonymous DH.
    DhAnon,
    /// Static ECDH, ECDSA certificate.
    EcdhEcdsa,
    /// Static ECDH, RSA certificate.
    EcdhRsa,
    /// Ephemeral ECDH, ECDSA signature.
    EcdheEcdsa,
    /// Ephemeral ECDH, RSA signature.
    EcdheRsa,
    /// Anonymous ECDH.
    EcdhAnon,
    /// Pre-shared key.
    Psk,
    /// PSK with ephemeral DH.
    DhePsk,
    /// PSK with RSA-encrypted premaster.
    RsaPsk,
    /// PSK with ephemeral ECDH.
    EcdhePsk,
    /// SRP (with no, RSA or DSS signature).
    Srp,
    /// TLS 1.3: the key exchange is negotiated by extensions, not by the suite.
    Tls13,
    /// A signalling value, not a suite (`TLS_EMPTY_RENEGOTIATION_INFO_SCSV`, `TLS_FALLBACK_SCSV`).
    Signalling,
}

/// The record protection algorithm of a suite.
#[allow(missing_docs)] // The variant names are the IANA spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkCipher {
    Null,
    Rc4_40,
    Rc4_128,
    Rc2Cbc40,
    IdeaCbc,
    Des40Cbc,
    DesCbc,
    TripleDesEdeCbc,
    SeedCbc,
    Aes128Cbc,
    Aes256Cbc,
    Camellia128Cbc,
    Camellia256Cbc,
    Aria128Cbc,
    Aria256Cbc,
    Aes128Gcm,
    Aes256Gcm,
    Aes128Ccm,
    Aes256Ccm,
    Aes128Ccm8,
    Aes256Ccm8,
    Camellia128Gcm,
    Camellia256Gcm,
    Aria128Gcm,
    Aria256Gcm,
    ChaCha20Poly1305,
}

/// The three shapes of record protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherKind {
    /// No encryption, or a stream cipher: MAC appended.
    Stream,
    /// CBC block cipher: MAC, padding, (TLS 1.1+) explicit IV.
    Block,
    /// AEAD: tag appended, nonce partly explicit in TLS 1.2 GCM/CCM.
    Aead,
}

impl BulkCipher {
    /// Name-fragment table, longest spellings first so `AES_128_CCM_8` wins over `AES_128_CCM`.
    const SPELLINGS: [(&'static str, BulkCipher); 26] = [
        ("AES_128_CCM_8", BulkCipher::Aes128Ccm8),
        ("AES_256_CCM_8", BulkCipher::Aes256Ccm8),
        ("AES_128_CCM", BulkCipher::Aes128Ccm),
        ("AES_256_CCM", BulkCipher::Aes256Ccm),
        ("AES_128_GCM", BulkCipher::Aes128Gcm),
        ("AES_256_GCM", BulkCipher::Aes256Gcm),
        ("AES_128_CBC", BulkCipher::Aes128Cbc),
        ("AES_256_CBC", BulkCipher::Aes256Cbc),
        ("CAMELLIA_128_CBC", BulkCipher::Camellia128Cbc),
        ("CAMELLIA_256_CBC", BulkCipher::Camellia256Cbc),
        ("CAMELLIA_128_GCM", BulkCipher::Camellia128Gcm),
        ("CAMELLIA_256_GCM", BulkCipher::Camellia256Gcm),
        ("ARIA_128_CBC", BulkCipher::Aria128Cbc),
        ("ARIA_256_CBC", BulkCipher::Aria256Cbc),
        ("ARIA_128_GCM", BulkCipher::Aria128Gcm),
        ("ARIA_256_GCM", BulkCipher::Aria256Gcm),
        ("CHACHA20_POLY1305", BulkCipher::ChaCha20Poly1305),
        ("3DES_EDE_CBC", BulkCipher::TripleDesEdeCbc),
        ("DES40_CBC", BulkCipher::Des40Cbc),
        ("DES_CBC", BulkCipher::DesCbc),
        ("RC4_40", BulkCipher::Rc4_40),
        ("RC4_128", BulkCipher::Rc4_128),
        ("RC2_CBC_40", BulkCipher::Rc2Cbc40),
        ("IDEA_CBC", BulkCipher::IdeaCbc),
        ("SEED_CBC", BulkCipher::SeedCbc),
        ("NULL", BulkCipher::Null),
    ];

    /// Key length in bytes (export ciphers: the secret part only).
    pub const fn key_len(self) -> usize {
        use BulkCipher::*;
        match self {
            Null => 0,
            Rc4_40 | Rc2Cbc40 | Des40Cbc => 5,
            DesCbc => 8,
            TripleDesEdeCbc => 24,
            Rc4_128 | IdeaCbc | SeedCbc | Aes128Cbc | Camellia128Cbc | Aria128Cbc | Aes128Gcm | Aes128Ccm
            | Aes128Ccm8 | Camellia128Gcm | Aria128Gcm => 16,
            Aes256Cbc | Camellia256Cbc | Aria256Cbc | Aes256Gcm | Aes256Ccm | Aes256Ccm8 | Camellia256Gcm
            | Aria256Gcm | ChaCha20Poly1305 => 32,
        }
    }

    /// Stream, block or AEAD.
    pub const fn kind(self) -> CipherKind {
        use BulkCipher::*;
        match self {
            Null | Rc4_40 | Rc4_128 => CipherKind::Stream,
            Rc2Cbc40 | IdeaCbc | Des40Cbc | DesCbc | TripleDesEdeCbc | SeedCbc | Aes128Cbc | Aes256Cbc
            | Camellia128Cbc | Camellia256Cbc | Aria128Cbc | Aria256Cbc => CipherKind::Block,
            Aes128Gcm | Aes256Gcm | Aes128Ccm | Aes256Ccm | Aes128Ccm8 | Aes256Ccm8 | Camellia128Gcm
            | Camellia256Gcm | Aria128Gcm | Aria256Gcm | ChaCha20Poly1305 => CipherKind::Aead,
        }
    }

    /// Block length of a CBC cipher (0 otherwise).
    pub const fn block_len(self) -> usize {
        use BulkCipher::*;
        match self {
            Rc2Cbc40 | IdeaCbc | Des40Cbc | DesCbc | TripleDesEdeCbc => 8,
            SeedCbc | Aes128Cbc | Aes256Cbc | Camellia128Cbc | Camellia256Cbc | Aria128Cbc | Aria256Cbc => 16,
            _ => 0,
        }
    }

    /// AEAD tag length (0 for non-AEAD).
    pub const fn tag_len(self) -> usize {
        match self {
            BulkCipher::Aes128Ccm8 | BulkCipher::Aes256Ccm8 => 8,
            _ if matches!(self.kind(), CipherKind::Aead) => 16,
            _ => 0,
        }
    }

    /// Bytes of IV taken from the key block (TLS 1.2 and older) or derived (TLS 1.3): the CBC IV for SSL 3.0 and
    /// TLS 1.0, the 4-byte GCM/CCM salt, the 12-byte ChaCha20-Poly1305 / TLS 1.3 nonce base.
    /// A DTLS version counts as its TLS counterpart ([`ProtocolVersion::tls_counterpart`]).
    pub const fn implicit_iv_len(self, version: ProtocolVersion) -> usize {
        let version = version.tls_counterpart();
        let chained_iv = matches!(version, ProtocolVersion::SSLv3 | ProtocolVersion::TLSv1_0);
        let tls13 = matches!(version, ProtocolVersion::TLSv1_3);
        match self.kind() {
            CipherKind::Stream => 0,
            CipherKind::Block if chained_iv => self.block_len(),
            CipherKind::Block => 0,
            CipherKind::Aead if tls13 => 12,
            CipherKind::Aead if matches!(self, BulkCipher::ChaCha20Poly1305) => 12,
            CipherKind::Aead => 4,
        }
    }

    /// Whether this tool can decrypt records protected with it.
    pub const fn can_decrypt(self) -> bool {
        use BulkCipher::*;
        matches!(
            self,
            Null | Rc4_128
                | DesCbc
                | TripleDesEdeCbc
                | Aes128Cbc
                | Aes256Cbc
                | Camellia128Cbc
                | Camellia256Cbc
                | IdeaCbc
                | Aria128Cbc
                | Aria256Cbc
                | Aria128Gcm
                | Aria256Gcm
                | Aes128Gcm
                | Aes256Gcm
                | Aes128Ccm
                | Aes256Ccm
                | Aes128Ccm8
                | Aes256Ccm8
                | ChaCha20Poly1305
        )
    }
}

/// One cipher suite of the IANA registry.
#[derive(Debug, PartialEq, Eq)]
pub struct CipherSuite {
    /// IANA id (the two bytes of the ServerHello).
    pub id: CipherSuiteId,
    /// IANA name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub name: &'static str,
    /// Key exchange.
    pub kx: KeyExchange,
    /// Record protection.
    pub cipher: BulkCipher,
    /// Record MAC hash for stream and CBC suites (`None` for AEAD suites and `NULL_NULL`).
    pub mac: Option<HashAlg>,
    /// PRF hash in TLS 1.2 (HKDF hash in TLS 1.3). TLS 1.0/1.1 always use MD5+SHA-1.
    pub prf_hash: HashAlg,
    /// Lowest protocol version the suite may be negotiated in.
    pub min_version: ProtocolVersion,
    /// Highest protocol version the suite may be negotiated in.
    pub max_version: ProtocolVersion,
}

impl CipherSuite {
    /// The suite with this IANA id, if it is in the table.
    pub fn lookup(id: CipherSuiteId) -> Option<&'static CipherSuite> {
        let table = table();
        table.binary_search_by_key(&id.value(), |s| s.id.value()).ok().map(|i| &table[i])
    }

    /// The suite with this IANA name (`TLS_…`).
    pub fn by_name(name: &str) -> Option<&'static CipherSuite> {
        table().iter().find(|s| s.name == name)
    }

    /// Every suite in the table, by id.
    pub fn all() -> &'static [CipherSuite] {
        table()
    }

    /// Whether records under this suite can be decrypted, given its keys. False for SEED (no maintained
    /// RustCrypto crate), RC2 and Camellia-GCM (no independent test vector here), the export suites (RC4_40,
    /// DES40, RC2_40: their export key derivation is not followed) and signalling values; `tlskit dump` names
    /// the suite when it leaves records encrypted.
    pub fn can_decrypt(&self) -> bool {
        self.cipher.can_decrypt()
            && !matches!(self.kx, KeyExchange::RsaExport | KeyExchange::Signalling)
            && !self.name.contains("EXPORT")
    }

    /// Whether this is a TLS 1.3 suite.
    pub fn is_tls13(&self) -> bool {
        self.kx == KeyExchange::Tls13
    }

    /// Whether the suite may be used with this protocol version (SSL 3.0 and TLS versions are ordered by number; a
    /// DTLS version allows its TLS counterpart's suites but RC4, which DTLS forbids: RFC 6347 4.1.2.2).
    pub fn applies_to(&self, version: ProtocolVersion) -> bool {
        let tls = version.tls_counterpart();
        let stream_in_dtls = version.is_dtls() && matches!(self.cipher, BulkCipher::Rc4_40 | BulkCipher::Rc4_128);
        tls.is_ssl3_or_tls()
            && !stream_in_dtls
            && (self.min_version.value()..=self.max_version.value()).contains(&tls.value())
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

fn table() -> &'static [CipherSuite] {
    static TABLE: OnceLock<Vec<CipherSuite>> = OnceLock::new();
    TABLE.get_or_init(|| CipherSuiteId::ALL.iter().filter_map(|&id| parse_suite(id, id.name())).collect())
}

/// Derives a suite's properties from its IANA name.
fn parse_suite(id: CipherSuiteId, name: &'static str) -> Option<CipherSuite> {
    let body = name.strip_prefix("TLS_")?;
    if body.ends_with("_SCSV") {
        return Some(CipherSuite {
            id,
            name,
            kx: KeyExchange::Signalling,
            cipher: BulkCipher::Null,
            mac: None,
            prf_hash: HashAlg::Sha256,
            min_version: ProtocolVersion::SSLv3,
            max_version: ProtocolVersion::TLSv1_3,
        });
    }
    let (kx, rest) = match body.split_once("_WITH_") {
        Some((kx, rest)) => (parse_kx(kx)?, rest),
        None => (KeyExchange::Tls13, body),
    };
    let (spelling, cipher) = BulkCipher::SPELLINGS.iter().find(|(s, _)| rest.starts_with(s))?;
    let hash = match &rest[spelling.len()..] {
        "" => None,
        "_NULL" => None,
        "_MD5" => Some(HashAlg::Md5),
        "_SHA" => Some(HashAlg::Sha1),
        "_SHA256" => Some(HashAlg::Sha256),
        "_SHA384" => Some(HashAlg::Sha384),
        _ => return None,
    };
    let aead = cipher.kind() == CipherKind::Aead;
    let (mac, prf_hash) = if aead {
        (None, hash.unwrap_or(HashAlg::Sha256))
    } else {
        (hash, if hash == Some(HashAlg::Sha384) { HashAlg::Sha384 } else { HashAlg::Sha256 })
    };
    use ProtocolVersion::{SSLv3, TLSv1_2, TLSv1_3};
    let (min_version, max_version) = if kx == KeyExchange::Tls13 {
        (TLSv1_3, TLSv1_3)
    } else if aead || matches!(hash, Some(HashAlg::Sha256 | HashAlg::Sha384)) {
        (TLSv1_2, TLSv1_2)
    } else {
        (SSLv3, TLSv1_2)
    };
    Some(CipherSuite { id, name, kx, cipher: *cipher, mac, prf_hash, min_version, max_version })
}

fn parse_kx(kx: &str) -> Option<KeyExchange> {
    use KeyExchange::*;
    Some(match kx {
        "NULL" => Null,
        "RSA" => Rsa,
        "RSA_EXPORT" => RsaExport,
        "DH_DSS" | "DH_DSS_EXPORT" => DhDss,
        "DH_RSA" | "DH_RSA_EXPORT" => DhRsa,
        "DHE_DSS" | "DHE_DSS_EXPORT" => DheDss,
        "DHE_RSA" | "DHE_RSA_EXPORT" => DheRsa,
        "DH_anon" | "DH_anon_EXPORT" => DhAnon,
        "ECDH_ECDSA" => EcdhEcdsa,
        "ECDH_RSA" => EcdhRsa,
        "ECDHE_ECDSA" => EcdheEcdsa,
        "ECDHE_RSA" => EcdheRsa,
        "ECDH_anon" => EcdhAnon,
        "PSK" => Psk,
        "DHE_PSK" | "PSK_DHE" => DhePsk,
        "RSA_PSK" => RsaPsk,
        "ECDHE_PSK" => EcdhePsk,
        "SRP_SHA" | "SRP_SHA_RSA" | "SRP_SHA_DSS" => Srp,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_and_ids_are_sorted_and_unique() {
        assert_eq!(table().len(), CipherSuiteId::ALL.len(), "a name in names.rs did not parse");
        let ids: Vec<u16> = CipherSuiteId::ALL.iter().map(|id| id.value()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "names.rs must be sorted by id, no repeats");
    }

    #[test]
    fn every_suite_in_the_captures_is_known() {
        let dir = test_support::captures_dir();
        let expected = std::fs::read_to_string(dir.join("expected.json")).expect("expected.json");
        let json: serde_json::Value = serde_json::from_str(&expected).expect("json");
        let mut seen = 0;
        for entry in json.as_array().expect("array") {
            for name in entry["cipher_suites"].as_array().into_iter().flatten() {
                let name = name.as_str().expect("string");
                let suite = CipherSuite::by_name(name).unwrap_or_else(|| panic!("{name} missing from the table"));
                // SEED (tlskit-made/seed-cbc.pcap) is the one suite there we name instead of decrypting.
                assert_eq!(suite.can_decrypt(), !name.contains("SEED"), "{name}");
                seen += 1;
            }
        }
        assert!(seen > 100);
    }

    #[test]
    fn properties_follow_the_name() {
        use CipherSuiteId::*;
        use ProtocolVersion::{SSLv3, TLSv1_0, TLSv1_3};
        let s = CipherSuite::lookup(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256).unwrap();
        assert_eq!(s.name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(
            (s.kx, s.cipher, s.mac, s.prf_hash),
            (KeyExchange::EcdheRsa, BulkCipher::Aes128Gcm, None, HashAlg::Sha256)
        );
        let s = CipherSuite::lookup(TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384).unwrap();
        assert_eq!((s.mac, s.prf_hash), (Some(HashAlg::Sha384), HashAlg::Sha384));
        let s = CipherSuite::lookup(TLS_RSA_WITH_AES_128_CBC_SHA).unwrap();
        assert_eq!((s.mac, s.min_version, s.cipher.implicit_iv_len(TLSv1_0)), (Some(HashAlg::Sha1), SSLv3, 16));
        let s = CipherSuite::lookup(TLS_RSA_WITH_AES_128_CCM_8).unwrap();
        assert_eq!((s.cipher, s.cipher.tag_len(), s.prf_hash), (BulkCipher::Aes128Ccm8, 8, HashAlg::Sha256));
        let s = CipherSuite::lookup(TLS_AES_128_CCM_8_SHA256).unwrap();
        assert_eq!((s.kx, s.cipher, s.min_version), (KeyExchange::Tls13, BulkCipher::Aes128Ccm8, TLSv1_3));
        assert!(CipherSuite::lookup(TLS_RSA_WITH_ARIA_128_GCM_SHA256).unwrap().can_decrypt(), "ARIA");
        assert!(!CipherSuite::lookup(TLS_RSA_WITH_SEED_CBC_SHA).unwrap().can_decrypt(), "SEED");
        assert!(!CipherSuite::lookup(TLS_RSA_EXPORT_WITH_RC4_40_MD5).unwrap().can_decrypt(), "export RC4");
        assert!(!CipherSuite::lookup(TLS_EMPTY_RENEGOTIATION_INFO_SCSV).unwrap().can_decrypt(), "SCSV");
        assert!(CipherSuite::lookup(CipherSuiteId::from(0x0a0a)).is_none(), "GREASE is not a suite");
        assert_eq!(CipherSuiteId::from(0x0a0a).to_string(), "0x0a0a");
        assert_eq!(CipherSuiteId::from(0x1302).to_string(), "TLS_AES_256_GCM_SHA384");
    }
}
