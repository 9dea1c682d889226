//! Why a certificate was refused, as a value of ours: what [`super::verify_chain`], the client's
//! errors and a [`verify hook`](crate::context::Context::verify_with) all speak, in the words of
//! `openssl verify` rather than rustls's enum names.

use std::fmt;

use rustls::CertificateError as E;

/// Why a certificate (or its chain) was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateReason {
    /// The chain does not lead to a trusted CA.
    UnknownIssuer,
    /// Past its notAfter time.
    Expired {
        /// The notAfter time (Unix seconds), when known.
        not_after: Option<u64>,
        /// When it was checked (Unix seconds), when known.
        checked_at: Option<u64>,
    },
    /// Before its notBefore time.
    NotYetValid {
        /// The notBefore time (Unix seconds), when known.
        not_before: Option<u64>,
        /// When it was checked (Unix seconds), when known.
        checked_at: Option<u64>,
    },
    /// Not valid for the name asked for.
    NameMismatch {
        /// The name asked for.
        expected: String,
        /// The names the certificate is for.
        presented: Vec<String>,
    },
    /// Listed on a CRL.
    Revoked,
    /// CRLs were given, but none for the issuer of a certificate in the chain.
    UnknownRevocationStatus,
    /// A CRL given to check against is past its nextUpdate time.
    ExpiredRevocationList,
    /// A signature in the chain does not verify.
    BadSignature,
    /// Signed with an algorithm the verifier does not support.
    UnsupportedSignatureAlgorithm,
    /// Not for this use (a client certificate presented by a server, …).
    InvalidPurpose(String),
    /// Not a well-formed certificate.
    BadEncoding,
    /// A critical extension the verifier does not know.
    UnhandledCriticalExtension,
    /// The server's key is not one of the pinned keys.
    PinMismatch,
    /// Refused by a verify hook ([`Context::verify_with`](crate::context::Context::verify_with)), with its reason.
    Hook(String),
    /// Any other refusal, in the verifier's words.
    Other(String),
}

/// Unix seconds as `N days` / `N hours`.
fn span(secs: u64) -> String {
    match secs / 86_400 {
        0 => format!("{} hours", secs / 3600),
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    }
}

impl fmt::Display for CertificateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CertificateReason as R;
        match self {
            R::UnknownIssuer => f.write_str("unable to get local issuer certificate (not signed by a trusted CA)"),
            R::Expired { not_after: Some(end), checked_at: Some(now) } => {
                write!(f, "certificate has expired ({} ago)", span(now.saturating_sub(*end)))
            }
            R::Expired { .. } => f.write_str("certificate has expired"),
            R::NotYetValid { not_before: Some(start), checked_at: Some(now) } => {
                write!(f, "certificate is not yet valid (for {} more)", span(start.saturating_sub(*now)))
            }
            R::NotYetValid { .. } => f.write_str("certificate is not yet valid"),
            R::NameMismatch { expected, presented } => {
                write!(f, "certificate not valid for name {expected:?}; ")?;
                match presented.as_slice() {
                    [] => f.write_str("it names no host (no subjectAltName)"),
                    names => write!(f, "it is only valid for {}", names.join(", ")),
                }
            }
            R::Revoked => f.write_str("certificate revoked (listed in the CRL)"),
            R::UnknownRevocationStatus => f.write_str("no CRL for the issuer of a certificate in the chain"),
            R::ExpiredRevocationList => f.write_str("the CRL has expired (past its nextUpdate)"),
            R::BadSignature => f.write_str("certificate signature failure"),
            R::UnsupportedSignatureAlgorithm => f.write_str("certificate signed with an unsupported algorithm"),
            R::InvalidPurpose(detail) => write!(f, "unsuitable certificate purpose ({detail})"),
            R::BadEncoding => f.write_str("not a well-formed certificate"),
            R::UnhandledCriticalExtension => f.write_str("unhandled critical extension"),
            R::PinMismatch => f.write_str("public key does not match the pinned key"),
            R::Hook(reason) => write!(f, "rejected by the verify hook: {reason}"),
            R::Other(detail) => f.write_str(detail),
        }
    }
}

/// webpki reports names in Debug form (`DnsName("a.example")`); keep only the name.
fn presented_name(debug: &str) -> String {
    debug
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| debug.strip_prefix("IpAddress(").and_then(|rest| rest.strip_suffix(')')))
        .map(str::to_string)
        .unwrap_or_else(|| debug.to_string())
}

impl CertificateReason {
    /// rustls's certificate error as ours: the one place the two meet.
    pub(crate) fn from_rustls(err: &E) -> Self {
        use CertificateReason as R;
        match err {
            E::UnknownIssuer => R::UnknownIssuer,
            E::Expired => R::Expired { not_after: None, checked_at: None },
            E::ExpiredContext { time, not_after } => {
                R::Expired { not_after: Some(not_after.as_secs()), checked_at: Some(time.as_secs()) }
            }
            E::NotValidYet => R::NotYetValid { not_before: None, checked_at: None },
            E::NotValidYetContext { time, not_before } => {
                R::NotYetValid { not_before: Some(not_before.as_secs()), checked_at: Some(time.as_secs()) }
            }
            E::NotValidForName => R::NameMismatch { expected: String::new(), presented: Vec::new() },
            E::NotValidForNameContext { expected, presented } => R::NameMismatch {
                expected: expected.to_str().into_owned(),
                presented: presented.iter().map(|n| presented_name(n)).collect(),
            },
            E::Revoked => R::Revoked,
            E::UnknownRevocationStatus => R::UnknownRevocationStatus,
            E::ExpiredRevocationList | E::ExpiredRevocationListContext { .. } => R::ExpiredRevocationList,
            E::BadSignature => R::BadSignature,
            E::UnsupportedSignatureAlgorithmContext { .. }
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => R::UnsupportedSignatureAlgorithm,
            E::InvalidPurpose | E::InvalidPurposeContext { .. } => R::InvalidPurpose(err.to_string()),
            E::BadEncoding => R::BadEncoding,
            E::UnhandledCriticalExtension => R::UnhandledCriticalExtension,
            // Only our pinning verifier (context/verify.rs) reports this.
            E::ApplicationVerificationFailure => R::PinMismatch,
            E::Other(other) => match other.0.downcast_ref::<Refusal>() {
                Some(Refusal(ours)) => ours.clone(),
                None => R::Other(err.to_string()),
            },
            other => R::Other(other.to_string()),
        }
    }

    /// A verifier's refusal (a certificate error, or another TLS error) as ours.
    pub(crate) fn from_rustls_error(err: &rustls::Error) -> Self {
        match err {
            rustls::Error::InvalidCertificate(cert) => Self::from_rustls(cert),
            other => CertificateReason::Other(other.to_string()),
        }
    }

    /// Ours as rustls's, for a verifier that must answer rustls (the verify hook's verdict).
    pub(crate) fn to_rustls(&self) -> rustls::Error {
        use CertificateReason as R;
        let cert = match self {
            R::UnknownIssuer => E::UnknownIssuer,
            R::Expired { .. } => E::Expired,
            R::NotYetValid { .. } => E::NotValidYet,
            R::NameMismatch { .. } => E::NotValidForName,
            R::Revoked => E::Revoked,
            R::UnknownRevocationStatus => E::UnknownRevocationStatus,
            R::ExpiredRevocationList => E::ExpiredRevocationList,
            R::BadSignature => E::BadSignature,
            R::InvalidPurpose(_) => E::InvalidPurpose,
            R::BadEncoding => E::BadEncoding,
            R::UnhandledCriticalExtension => E::UnhandledCriticalExtension,
            R::PinMismatch => E::ApplicationVerificationFailure,
            R::UnsupportedSignatureAlgorithm | R::Hook(_) | R::Other(_) => {
                E::Other(rustls::OtherError(std::sync::Arc::new(Refusal(self.clone()))))
            }
        };
        rustls::Error::InvalidCertificate(cert)
    }
}

/// A refusal in our words, carried through rustls as its `OtherError` and recovered on the way out.
#[derive(Debug)]
struct Refusal(CertificateReason);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_like_openssl_verify() {
        let expired = CertificateReason::Expired { not_after: Some(0), checked_at: Some(3 * 86_400) };
        assert_eq!(expired.to_string(), "certificate has expired (3 days ago)");
        let name = CertificateReason::from_rustls(&E::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("x.test").unwrap(),
            presented: vec!["DnsName(\"localhost\")".into(), "IpAddress(127.0.0.1)".into()],
        });
        assert!(name
            .to_string()
            .starts_with("certificate not valid for name \"x.test\"; it is only valid for localhost"));
        assert!(name.to_string().ends_with("localhost, 127.0.0.1"), "{name}");
        assert_eq!(CertificateReason::from_rustls(&E::ApplicationVerificationFailure), CertificateReason::PinMismatch);
        // A hook's reason goes through rustls and comes back as it was.
        let hook = CertificateReason::Hook("not on the list".into());
        assert_eq!(CertificateReason::from_rustls_error(&hook.to_rustls()), hook);
    }
}
