//! Making certificates: a certificate authority that issues server and client
//! certificates, and the throwaway identity `tlskit serve` starts with.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use super::describe::colon_hex;
use super::PkiError;
use crate::context::Identity;

/// The organisation every certificate we make names, so a stray one is recognisable.
const ORGANISATION: &str = "tlskit test PKI";

/// Backdating of `notBefore`, so a peer whose clock is a little behind accepts a fresh certificate.
const CLOCK_SKEW: Duration = Duration::hours(1);

/// The SANs every server certificate of ours carries: what a local test connects to.
pub const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The key algorithm of a generated certificate (and of the CA that signs it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA 2048 bits, signatures RSA PKCS#1 v1.5 SHA-256.
    Rsa2048,
    /// RSA 3072 bits, signatures RSA PKCS#1 v1.5 SHA-256.
    Rsa3072,
    /// ECDSA on P-256 with SHA-256: small, fast, accepted everywhere.
    #[default]
    P256,
    /// ECDSA on P-384 with SHA-384.
    P384,
    /// Ed25519 (TLS 1.3 only in most clients).
    Ed25519,
}

impl KeyType {
    /// Every key type, in the order `--key-type` lists them.
    pub const ALL: [KeyType; 5] = [KeyType::Rsa2048, KeyType::Rsa3072, KeyType::P256, KeyType::P384, KeyType::Ed25519];

    /// The name `--key-type` takes.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::P256 => "p256",
            KeyType::P384 => "p384",
            KeyType::Ed25519 => "ed25519",
        }
    }

    fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072)
    }

    /// A fresh key pair of this type.
    pub fn generate(self) -> Result<KeyPair, PkiError> {
        let key = match self {
            KeyType::Rsa2048 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048),
            KeyType::Rsa3072 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072),
            KeyType::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyType::P384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        };
        key.map_err(|e| generate_error(&format!("{} key", self.name()), e))
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.to_ascii_lowercase().replace(['-', '_'], "");
        KeyType::ALL.into_iter().find(|k| k.name() == wanted).ok_or_else(|| {
            PkiError::Generate(format!("unknown key type {s:?} (known: rsa2048, rsa3072, p256, p384, ed25519)"))
        })
    }
}

/// What a leaf certificate is for: its extended key usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// TLS server (serverAuth EKU).
    Server,
    /// TLS client (clientAuth EKU).
    Client,
}

/// What to put in one leaf certificate.
#[derive(Clone, Debug)]
pub struct LeafSpec {
    /// Server or client (the extended key usage).
    pub role: Role,
    /// Subject common name.
    pub common_name: String,
    /// DNS names and IP addresses; `DNS:` and `IP:` prefixes are accepted.
    pub sans: Vec<String>,
    /// Key algorithm of the new key (the CA's own key signs, whatever its type).
    pub key_type: KeyType,
    /// Valid from now (less an hour of clock skew) for this many days.
    pub days: u32,
}

impl LeafSpec {
    /// A server certificate for `localhost`, 127.0.0.1 and ::1 plus `extra_sans`, valid a year.
    pub fn server(key_type: KeyType, extra_sans: &[String]) -> Self {
        let mut sans: Vec<String> = LOCAL_NAMES.iter().map(|s| s.to_string()).collect();
        for san in extra_sans {
            if !sans.contains(san) {
                sans.push(san.clone());
            }
        }
        LeafSpec { role: Role::Server, common_name: "localhost".into(), sans, key_type, days: 365 }
    }

    /// A client certificate with this common name and no SANs, valid a year.
    pub fn client(key_type: KeyType, common_name: &str) -> Self {
        LeafSpec { role: Role::Client, common_name: common_name.into(), sans: Vec::new(), key_type, days: 365 }
    }
}

/// A certificate just made, with its private key.
pub struct IssuedCertificate {
    /// The certificate, DER.
    pub der: CertificateDer<'static>,
    /// The certificate in PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    key_der: Vec<u8>,
    /// The serial number's bytes (big-endian, as in the certificate).
    pub serial: Vec<u8>,
}

impl IssuedCertificate {
    /// The certificate and key as a rustls identity (a one-certificate chain: our CAs are roots).
    pub fn identity(&self) -> Identity {
        Identity {
            chain: vec![self.der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
        }
    }

    /// The private key, PKCS#8 DER.
    pub fn key_der(&self) -> &[u8] {
        &self.key_der
    }
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate").field("serial", &colon_hex(&self.serial)).finish_non_exhaustive()
    }
}

/// A certificate authority that can sign leaves and CRLs: one made here or loaded from files.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    cert: CertificateDer<'static>,
    key_pem: String,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority").finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// A new self-signed root CA, valid ten years, that may sign leaves only (path length 0).
    pub fn generate(common_name: &str, key_type: KeyType) -> Result<Self, PkiError> {
        Self::generate_for_days(common_name, key_type, 3650)
    }

    fn generate_for_days(common_name: &str, key_type: KeyType, days: u32) -> Result<Self, PkiError> {
        Self::with_key(common_name, key_type.generate()?, days)
    }

    /// A new self-signed root CA over a key made beforehand.
    pub(crate) fn with_key(common_name: &str, key: KeyPair, days: u32) -> Result<Self, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(random_serial()?);
        (params.not_before, params.not_after) = validity(days);
        let cert = params.self_signed(&key).map_err(|e| generate_error("CA certificate", e))?;
        let key_pem = pem_block("PRIVATE KEY", &private_key_der(&key));
        Ok(CertificateAuthority { issuer: Issuer::new(params, key), cert: cert.der().clone(), key_pem })
    }

    /// A CA from its certificate and PKCS#8 private key, both PEM (as `ca.pem` and `ca-key.pem`).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| generate_error("CA private key", e))?;
        let cert = rustls::pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| PkiError::Parse(format!("CA certificate: {e}")))?;
        let issuer = Issuer::from_ca_cert_der(&cert, key).map_err(|e| generate_error("CA certificate", e))?;
        let cert: CertificateDer<'static> = cert;
        if super::describe::public_key_bits(&cert).as_deref() != Some(issuer.key().der_bytes()) {
            return Err(PkiError::Generate("CA certificate and CA private key do not match".into()));
        }
        Ok(CertificateAuthority { issuer, cert, key_pem: key_pem.to_string() })
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem_block("CERTIFICATE", &self.cert)
    }

    /// The CA private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Sign a new leaf certificate (with a fresh key) as `spec` says.
    pub fn issue(&self, spec: &LeafSpec) -> Result<IssuedCertificate, PkiError> {
        let (not_before, not_after) = validity(spec.days);
        self.issue_between(spec, not_before, not_after)
    }

    /// Sign a leaf valid only between two instants (e.g. one that has already expired).
    pub fn issue_between(
        &self,
        spec: &LeafSpec,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedCertificate, PkiError> {
        self.sign(spec, not_before, not_after, spec.key_type.generate()?)
    }

    /// Sign a leaf over a key made beforehand (of `spec.key_type`).
    pub(crate) fn sign(
        &self,
        spec: &LeafSpec,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        key: KeyPair,
    ) -> Result<IssuedCertificate, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(&spec.common_name);
        params.subject_alt_names = spec.sans.iter().map(|s| san(s)).collect::<Result<_, _>>()?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if spec.key_type.is_rsa() && spec.role == Role::Server {
            // TLS 1.2 RSA key exchange needs it; harmless otherwise.
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        params.extended_key_usages = vec![match spec.role {
            Role::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Role::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.use_authority_key_identifier_extension = true;
        let serial = random_serial()?;
        params.serial_number = Some(serial.clone());
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| generate_error("certificate", e))?;
        Ok(IssuedCertificate {
            der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: pem_block("PRIVATE KEY", &private_key_der(&key)),
            key_der: private_key_der(&key),
            serial: serial.to_bytes(),
        })
    }

    /// A CRL listing these serial numbers as revoked (key compromise), next update in `days` days.
    pub fn crl(&self, revoked: &[&[u8]], days: u32) -> Result<String, PkiError> {
        let (this_update, next_update) = validity(days);
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: this_update,
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer).map_err(|e| generate_error("CRL", e))?;
        crl.pem().map_err(|e| generate_error("CRL", e))
    }
}

/// A throwaway server identity: what `tlskit serve` uses when given no certificate.
#[derive(Clone, Debug)]
pub struct Ephemeral {
    /// The leaf and its key (the CA is a root, so the chain is the leaf alone).
    pub identity: Identity,
    /// The CA certificate, PEM: what a client passes as `--cacert`.
    pub ca_pem: String,
    /// SHA-256 of the leaf, colon hex as [`super::CertificateSummary::sha256_fingerprint`].
    pub leaf_sha256: String,
}

/// A fresh CA and server certificate (ECDSA P-256, 30 days) for localhost, 127.0.0.1, ::1 and `extra_names`.
///
/// Nothing is written to disk; the CA key is dropped, so nothing else can be signed by it.
///
/// ```
/// let ephemeral = tlskit::pki::ephemeral_server(&["myhost.test".to_string()])?;
/// let leaf = tlskit::pki::describe(&ephemeral.identity.chain[0])?;
/// assert!(leaf.subject_alt_names.contains(&"DNS:myhost.test".to_string()));
/// assert!(leaf.subject_alt_names.contains(&"IP:127.0.0.1".to_string()));
/// assert_eq!(leaf.sha256_fingerprint, ephemeral.leaf_sha256);
/// assert!(ephemeral.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// # Ok::<(), tlskit::pki::PkiError>(())
/// ```
pub fn ephemeral_server(extra_names: &[String]) -> Result<Ephemeral, PkiError> {
    let ca = CertificateAuthority::generate_for_days("tlskit ephemeral CA", KeyType::P256, 30)?;
    let mut spec = LeafSpec::server(KeyType::P256, extra_names);
    spec.days = 30;
    let leaf = ca.issue(&spec)?;
    Ok(Ephemeral {
        identity: leaf.identity(),
        ca_pem: ca.cert_pem(),
        leaf_sha256: super::describe::sha256_fingerprint(&leaf.der),
    })
}

/// Validity from now less the clock skew, for `days` days from now.
fn validity(days: u32) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - CLOCK_SKEW, now + Duration::days(i64::from(days)))
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANISATION);
    dn.push(DnType::CommonName, common_name);
    dn
}

/// One SAN: an IP address, or else a DNS name; openssl-style `IP:`/`DNS:` prefixes allowed.
fn san(value: &str) -> Result<SanType, PkiError> {
    let bad = |why: String| PkiError::Generate(format!("bad subject alternative name {value:?}: {why}"));
    let (kind, bare) = match value.split_once(':') {
        Some((k, rest)) if k.eq_ignore_ascii_case("dns") => (Some("dns"), rest),
        Some((k, rest)) if k.eq_ignore_ascii_case("ip") => (Some("ip"), rest),
        _ => (None, value),
    };
    let bare = bare.trim().trim_start_matches('[').trim_end_matches(']');
    if bare.is_empty() {
        return Err(bad("empty".into()));
    }
    match (kind, bare.parse::<IpAddr>()) {
        (Some("ip") | None, Ok(ip)) => Ok(SanType::IpAddress(ip)),
        (Some("ip"), Err(e)) => Err(bad(e.to_string())),
        _ => {
            let valid = bare.split('.').enumerate().all(|(i, label)| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || (c == '*' && i == 0 && label == "*"))
            });
            if !valid || bare.len() > 253 {
                return Err(bad("not a DNS name or IP address".into()));
            }
            Ok(SanType::DnsName(bare.to_string().try_into().map_err(|e: rcgen::Error| bad(e.to_string()))?))
        }
    }
}

/// 16 random bytes, positive and without a leading zero byte (RFC 5280: at most 20 octets).
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| PkiError::Generate("no randomness for a serial number".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// The key as PKCS#8 DER that OpenSSL 3.0 reads: Ed25519 keys come from aws-lc as
/// PKCS#8 v2 (with the public key), which it rejects, so they are rewritten as v1.
fn private_key_der(key: &KeyPair) -> Vec<u8> {
    let der = key.serialize_der();
    // OneAsymmetricKey v2 for Ed25519: SEQUENCE { INTEGER 1, {id-Ed25519}, OCTET STRING { OCTET STRING seed } … }
    const V2_HEAD: [u8; 14] = [0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    const V1_HEAD: [u8; 16] =
        [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    match (der.get(2..16), der.get(16..48)) {
        (Some(head), Some(seed)) if head == V2_HEAD => [&V1_HEAD[..], seed].concat(),
        _ => der,
    }
}

fn generate_error(what: &str, err: rcgen::Error) -> PkiError {
    PkiError::Generate(format!("could not make the {what}: {err}"))
}

/// DER as one PEM block, 64 columns, `\n` line ends.
pub(crate) fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_type_names_round_trip() {
        for k in KeyType::ALL {
            assert_eq!(k.name().parse::<KeyType>().ok(), Some(k));
        }
        assert_eq!("P-256".parse::<KeyType>().ok(), Some(KeyType::P256));
        assert!("dsa".parse::<KeyType>().is_err());
    }

    #[test]
    fn sans_parse_like_openssl() {
        assert!(matches!(san("127.0.0.1"), Ok(SanType::IpAddress(_))));
        assert!(matches!(san("IP:::1"), Ok(SanType::IpAddress(_))));
        assert!(matches!(san("DNS:example.test"), Ok(SanType::DnsName(_))));
        assert!(matches!(san("*.example.test"), Ok(SanType::DnsName(_))));
        assert!(san("IP:example.test").is_err());
        assert!(san("bad name").is_err());
        assert!(san("").is_err());
    }

    #[test]
    fn ephemeral_leaf_is_a_local_server_certificate() {
        let e = ephemeral_server(&["extra.test".into()]).unwrap();
        assert_eq!(e.identity.chain.len(), 1);
        let leaf = super::super::describe(&e.identity.chain[0]).unwrap();
        for want in ["DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:extra.test"] {
            assert!(leaf.subject_alt_names.iter().any(|s| s == want), "{want} missing: {:?}", leaf.subject_alt_names);
        }
        assert_eq!(leaf.extended_key_usage, ["TLS Web Server Authentication"]);
        assert_eq!(leaf.key, "ECDSA P-256");
        let days = (leaf.not_after_unix - leaf.not_before_unix) / 86400;
        assert!((29..=31).contains(&days), "{days} days");
    }

    #[test]
    fn a_loaded_ca_signs_like_the_generated_one() {
        let ca = CertificateAuthority::generate("test CA", KeyType::P256).unwrap();
        let loaded = CertificateAuthority::from_pem(&ca.cert_pem(), ca.key_pem()).unwrap();
        let ed = CertificateAuthority::generate("ed CA", KeyType::Ed25519).unwrap();
        assert!(ed.key_pem().len() < 130, "PKCS#8 v1: {}", ed.key_pem());
        CertificateAuthority::from_pem(&ed.cert_pem(), ed.key_pem())
            .unwrap()
            .issue(&LeafSpec::client(KeyType::P256, "x"))
            .unwrap();
        let leaf = loaded.issue(&LeafSpec::client(KeyType::Ed25519, "someone")).unwrap();
        let summary = super::super::describe(&leaf.der).unwrap();
        assert_eq!(summary.issuer, super::super::describe(ca.cert_der()).unwrap().subject);
        let other = CertificateAuthority::generate("other CA", KeyType::P256).unwrap();
        assert!(CertificateAuthority::from_pem(&ca.cert_pem(), other.key_pem()).is_err());
    }
}
