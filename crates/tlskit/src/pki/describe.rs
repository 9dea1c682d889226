//! A certificate in plain words: what `tlskit cert show` and the peer-chain
//! part of a [`crate::session::SessionInfo`] print. The fields every rendering
//! shows (subject, issuer, validity, SANs) are tlskit-wire's [`CertSummary`],
//! the same summary `tlskit dump` prints; this module adds what the library
//! knows beyond them.

use std::fmt::Write as _;
use std::ops::Deref;

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tlskit_wire::handshake::CertSummary;
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::PkiError;

/// The facts of one X.509 certificate: wire's summary, and the library's additions.
///
/// It dereferences to the [`CertSummary`], so `summary.subject`, `summary.not_after` and
/// `summary.subject_alt_names` read the shared fields; in JSON they sit beside the others.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CertificateSummary {
    /// Subject and issuer (RFC 4514), validity (RFC 3339, UTC) and subject alternative names (`DNS:localhost`,
    /// `IP:127.0.0.1`, `email:…`, `URI:…`), spelled as `tlskit dump` spells them.
    #[serde(flatten)]
    pub common: CertSummary,
    /// Hex, colon-separated, as OpenSSL prints it.
    pub serial: String,
    /// Unix seconds, for arithmetic (time to expiry).
    pub not_before_unix: i64,
    /// notAfter in Unix seconds.
    pub not_after_unix: i64,
    /// e.g. `ECDSA P-256`, `RSA 2048`, `Ed25519`.
    pub key: String,
    /// The issuer's signature algorithm, e.g. `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    /// Key usage bits, by name (`digitalSignature`, …).
    pub key_usage: Vec<String>,
    /// Extended key usages, by name (`serverAuth`, …).
    pub extended_key_usage: Vec<String>,
    /// Basic constraints say this is a CA.
    pub is_ca: bool,
    /// SHA-256 of the DER, uppercase hex with colons (as `openssl x509 -fingerprint -sha256`).
    pub sha256_fingerprint: String,
    /// `sha256//BASE64` of the SubjectPublicKeyInfo: the value curl's `--pinnedpubkey` takes.
    pub spki_pin: String,
}

impl CertificateSummary {
    /// A stand-in for bytes that do not parse, so a chain can still be listed.
    pub fn unparsable(der: &[u8]) -> Self {
        CertificateSummary {
            common: CertSummary { subject: "(unparsable certificate)".into(), ..Default::default() },
            sha256_fingerprint: colon_hex(&Sha256::digest(der)),
            ..Default::default()
        }
    }
}

impl Deref for CertificateSummary {
    type Target = CertSummary;

    fn deref(&self) -> &CertSummary {
        &self.common
    }
}

pub(crate) fn colon_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

fn key_description(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = oid2sn(&spki.algorithm.algorithm, oid_registry()).unwrap_or("unknown");
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_string(),
                    "1.3.132.0.34" => "P-384".to_string(),
                    "1.3.132.0.35" => "P-521".to_string(),
                    other => oid2sn(&oid, oid_registry()).map(str::to_string).unwrap_or_else(|_| other.to_string()),
                })
                .unwrap_or_else(|| "unknown curve".into());
            format!("ECDSA {curve}")
        }
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".into(),
            "1.3.101.113" => "Ed448".into(),
            _ => alg.to_string(),
        },
    }
}

/// Describe one DER certificate.
pub fn describe(der: &[u8]) -> Result<CertificateSummary, PkiError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| PkiError::Parse(e.to_string()))?;
    let validity = cert.validity();
    let key_usage = match cert.key_usage() {
        Ok(Some(ku)) => ku.value.to_string().split(", ").filter(|s| !s.is_empty()).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let mut extended_key_usage = Vec::new();
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        for (on, name) in [
            (e.any, "Any"),
            (e.server_auth, "TLS Web Server Authentication"),
            (e.client_auth, "TLS Web Client Authentication"),
            (e.code_signing, "Code Signing"),
            (e.email_protection, "E-mail Protection"),
            (e.time_stamping, "Time Stamping"),
            (e.ocsp_signing, "OCSP Signing"),
        ] {
            if on {
                extended_key_usage.push(name.to_string());
            }
        }
        extended_key_usage.extend(e.other.iter().map(|o| o.to_id_string()));
    }
    let sig = &cert.signature_algorithm.algorithm;
    Ok(CertificateSummary {
        common: CertSummary::from_x509(&cert),
        serial: colon_hex(cert.raw_serial()),
        not_before_unix: validity.not_before.timestamp(),
        not_after_unix: validity.not_after.timestamp(),
        key: key_description(&cert),
        signature_algorithm: oid2sn(sig, oid_registry()).map(str::to_string).unwrap_or_else(|_| sig.to_id_string()),
        key_usage,
        extended_key_usage,
        is_ca: cert.is_ca(),
        sha256_fingerprint: colon_hex(&Sha256::digest(der)),
        spki_pin: spki_pin_of(cert.public_key().raw),
    })
}

fn spki_pin_of(spki: &[u8]) -> String {
    format!("sha256//{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki)))
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo (what a pin compares).
pub fn spki_sha256(der: &[u8]) -> Option<[u8; 32]> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(Sha256::digest(cert.public_key().raw).into())
}

/// The `sha256//BASE64` pin of a certificate's public key.
pub fn spki_pin(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(spki_pin_of(cert.public_key().raw))
}

/// SHA-256 of a DER certificate, colon hex as in [`CertificateSummary::sha256_fingerprint`].
pub fn sha256_fingerprint(der: &[u8]) -> String {
    colon_hex(&Sha256::digest(der))
}

/// The subjectPublicKey bits of a certificate (to match it against a private key).
pub(crate) fn public_key_bits(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(cert.public_key().subject_public_key.data.to_vec())
}
