//! A certificate revocation list in plain words.

use serde::Serialize;
use tlskit_wire::time::rfc3339;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::describe::colon_hex;
use super::PkiError;

/// The facts of one CRL.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CrlSummary {
    /// RFC 4514 form.
    pub issuer: String,
    /// RFC 3339, UTC.
    pub this_update: String,
    /// RFC 3339, UTC; absent if the CRL names none.
    pub next_update: Option<String>,
    /// `next_update` in Unix seconds, for arithmetic.
    pub next_update_unix: Option<i64>,
    /// Decimal, as `openssl crl -text` prints `X509v3 CRL Number`.
    pub crl_number: Option<String>,
    /// The issuer's signature algorithm, e.g. `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    /// The certificates it revokes.
    pub revoked: Vec<RevokedEntry>,
}

/// One revoked certificate.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RevokedEntry {
    /// Hex, colon-separated, as in [`super::CertificateSummary::serial`].
    pub serial: String,
    /// RFC 3339, UTC.
    pub revoked_at: String,
    /// The reason code, when the CRL gives one (e.g. `keyCompromise`).
    pub reason: Option<String>,
}

/// Describe one DER CRL.
pub fn describe_crl(der: &[u8]) -> Result<CrlSummary, PkiError> {
    let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| PkiError::Parse(format!("CRL: {e}")))?;
    let sig = &crl.signature_algorithm.algorithm;
    let registry = x509_parser::objects::oid_registry();
    Ok(CrlSummary {
        issuer: crl.issuer().to_string(),
        this_update: rfc3339(crl.last_update().timestamp()),
        next_update: crl.next_update().map(|t| rfc3339(t.timestamp())),
        next_update_unix: crl.next_update().map(|t| t.timestamp()),
        crl_number: crl.crl_number().map(|n| n.to_string()),
        signature_algorithm: x509_parser::objects::oid2sn(sig, registry)
            .map(str::to_string)
            .unwrap_or_else(|_| sig.to_id_string()),
        revoked: crl
            .iter_revoked_certificates()
            .map(|r| RevokedEntry {
                serial: colon_hex(r.raw_serial()),
                revoked_at: rfc3339(r.revocation_date.timestamp()),
                reason: r.reason_code().map(|(_, code)| code.to_string()),
            })
            .collect(),
    })
}
