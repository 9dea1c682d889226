//! The errors of the TLS layer as values of ours: [`ContextError`] for a policy that cannot be
//! built, [`TlsError`] for a connection rustls gave up on (its error kept as the `source()`).

use std::fmt;

use crate::names::{from_rustls, AlertDescription};
use crate::pki::CertificateReason;

/// Why a [`Context`](super::Context) could not become a rustls configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// A version name that is neither 1.2 nor 1.3.
    #[error("unknown TLS version {0:?} (known: 1.2, 1.3)")]
    UnknownVersion(String),
    /// A client-auth mode that is not off, optional or required.
    #[error("unknown client-auth mode {0:?} (known: off, optional, required)")]
    UnknownClientAuth(String),
    /// A cipher suite rustls does not have.
    #[error("unknown cipher suite {name:?}; known: {}", known.join(", "))]
    UnknownCipherSuite {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// A key exchange group rustls does not have.
    #[error("unknown key exchange group {name:?}; known: {}", known.join(", "))]
    UnknownGroup {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// The chosen suites and versions have nothing in common.
    #[error("no cipher suite left for the chosen TLS versions")]
    NoUsableCipherSuite,
    /// A server configuration was asked for without an identity.
    #[error("a server needs a certificate and key")]
    NoServerIdentity,
    /// Client authentication without a CA to verify clients against.
    #[error("client authentication needs a CA to verify clients against (Context::trust)")]
    NoClientCa,
    /// A trusted CA certificate rustls cannot use.
    #[error("bad CA certificate: {0}")]
    BadCa(String),
    /// The operating system's trust store could not be read.
    #[error("could not load the system trust store: {0}")]
    SystemRoots(String),
    /// The private key is not the certificate's.
    #[error("certificate and private key do not match")]
    KeyMismatch,
    /// rustls refused the certificate or the key.
    #[error("certificate or key rejected: {0}")]
    Identity(#[source] TlsError),
    /// The certificate verifier could not be built.
    #[error("verifier: {0}")]
    Verifier(String),
    /// Any other refusal of the configuration by rustls.
    #[error("TLS configuration: {0}")]
    Tls(#[source] TlsError),
}

/// A failed TLS connection or configuration: what kind of failure, with rustls's own error as its
/// [`source`](std::error::Error::source) for a programmer who wants every detail.
#[derive(Debug)]
pub struct TlsError(Box<Inner>);

/// Boxed: errors that hold a `TlsError` stay small.
#[derive(Debug)]
struct Inner {
    kind: TlsErrorKind,
    cause: rustls::Error,
}

/// What kind of TLS failure a [`TlsError`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The peer's bytes are not TLS, or not the message due at this point.
    NotTls,
    /// The peer ended the handshake with this alert.
    AlertReceived(AlertDescription),
    /// The peer's certificate was refused.
    BadCertificate(CertificateReason),
    /// The peer sent no certificate where one was required.
    NoCertificate,
    /// The peer broke the protocol (a message it must not send, a bad downgrade marker, …).
    PeerMisbehaved,
    /// The peer offered nothing we accept (versions, suites, groups, signature schemes, ALPN).
    PeerIncompatible,
    /// A record did not decrypt or authenticate.
    Decrypt,
    /// A certificate, key, CRL or setting rustls does not accept.
    Configuration,
    /// Anything else rustls reports.
    Other,
}

impl TlsError {
    /// rustls's error as ours: the one place the two meet.
    pub(crate) fn from_rustls(cause: rustls::Error) -> Self {
        use rustls::Error as R;
        let kind = match &cause {
            R::InvalidMessage(_) | R::InappropriateMessage { .. } | R::InappropriateHandshakeMessage { .. } => {
                TlsErrorKind::NotTls
            }
            R::AlertReceived(alert) => TlsErrorKind::AlertReceived(from_rustls::alert(*alert)),
            R::InvalidCertificate(cert) => TlsErrorKind::BadCertificate(CertificateReason::from_rustls(cert)),
            R::NoCertificatesPresented => TlsErrorKind::NoCertificate,
            R::PeerMisbehaved(_) | R::PeerSentOversizedRecord => TlsErrorKind::PeerMisbehaved,
            R::PeerIncompatible(_) | R::NoApplicationProtocol => TlsErrorKind::PeerIncompatible,
            R::DecryptError => TlsErrorKind::Decrypt,
            R::General(_)
            | R::InconsistentKeys(_)
            | R::InvalidCertRevocationList(_)
            | R::BadMaxFragmentSize
            | R::UnsupportedNameType => TlsErrorKind::Configuration,
            _ => TlsErrorKind::Other,
        };
        TlsError(Box::new(Inner { kind, cause }))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &TlsErrorKind {
        &self.0.kind
    }
}

impl fmt::Display for TlsError {
    /// rustls's own words, which say more than the kind alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.kind {
            TlsErrorKind::BadCertificate(reason) => reason.fmt(f),
            _ => self.0.cause.fmt(f),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.cause)
    }
}

/// A configuration rustls refused, as a [`ContextError`].
pub(crate) fn refused(err: rustls::Error) -> ContextError {
    ContextError::Tls(TlsError::from_rustls(err))
}
