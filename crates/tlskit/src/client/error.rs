//! Why a request failed, told apart the way a user needs: network, time, trust, peer, HTTP.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::context::{ContextError, TlsError, TlsErrorKind};
use crate::names::{self, AlertDescription};
use crate::pki::CertificateReason;
use tlskit_wire::time::rfc3339;

/// The step of a request that ran out of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Name resolution, TCP connect and the TLS handshake (curl's `--connect-timeout`).
    Connect,
    /// The whole request, response body included (curl's `--max-time`).
    Transfer,
    /// One read that got nothing ([`ClientBuilder::read_timeout`](super::ClientBuilder::read_timeout)).
    Read,
    /// One write the server did not take ([`ClientBuilder::write_timeout`](super::ClientBuilder::write_timeout)).
    Write,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect and TLS handshake",
            Phase::Transfer => "transfer",
            Phase::Read => "read",
            Phase::Write => "write",
        })
    }
}

/// Everything that can go wrong with one HTTPS request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not an `https://` URL we can use.
    #[error("bad URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--pinnedpubkey` value that is not `sha256//BASE64` of 32 bytes.
    #[error("bad pinned public key {pin:?}: {reason}")]
    BadPin {
        /// The pin as given.
        pin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The [`crate::context::Context`] could not become a rustls configuration.
    #[error("TLS configuration: {0}")]
    Context(#[from] ContextError),
    /// The blocking client could not start its runtime.
    #[error("could not start the I/O runtime: {0}")]
    Runtime(io::Error),
    /// Name resolution failed.
    #[error("could not resolve host {host}: {reason}")]
    Dns {
        /// The host name.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
    /// TCP connect failed (refused, unreachable, …).
    #[error("could not connect to {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// A time limit ran out.
    #[error("timed out after {:.1} s during {phase}", after.as_secs_f64())]
    Timeout {
        /// What the request was doing.
        phase: Phase,
        /// The limit that ran out.
        after: Duration,
    },
    /// The server's chain does not lead to a trusted CA.
    #[error("certificate for {host} is not signed by a trusted CA (unknown issuer)")]
    UnknownIssuer {
        /// The host asked for.
        host: String,
    },
    /// The server's certificate is past its notAfter time.
    #[error("certificate for {host} has expired{}", not_after.as_ref().map(|t| format!(" (not after {t})")).unwrap_or_default())]
    Expired {
        /// The host asked for.
        host: String,
        /// The certificate's notAfter time, when it could be read.
        not_after: Option<String>,
    },
    /// The server's certificate is for other names than the host asked for.
    #[error("certificate for {} does not match host {host}", if presented.is_empty() { "(no names)".to_string() } else { presented.join(", ") })]
    NameMismatch {
        /// The host asked for.
        host: String,
        /// The names the certificate is for.
        presented: Vec<String>,
    },
    /// The server's certificate is on a CRL we were given.
    #[error("certificate for {host} has been revoked")]
    Revoked {
        /// The host asked for.
        host: String,
    },
    /// The server's key does not match a pinned key.
    #[error("public key of the certificate for {host} does not match the pinned key")]
    PinMismatch {
        /// The host asked for.
        host: String,
    },
    /// The server's certificate was refused for another reason (by the verifier, or by a verify hook).
    #[error("certificate for {host} rejected: {reason}")]
    BadCertificate {
        /// The host asked for.
        host: String,
        /// Why the certificate was refused.
        reason: CertificateReason,
    },
    /// The server wants a client certificate and we have none.
    #[error("the server requires a client certificate and none was given ({})", how(alert))]
    ClientCertificateRequired {
        /// The alert the server sent, if it arrived.
        alert: Option<AlertDescription>,
    },
    /// The server refused the client certificate we sent.
    #[error("the server rejected our client certificate ({})", how(alert))]
    ClientCertificateRejected {
        /// The alert the server sent, if it arrived.
        alert: Option<AlertDescription>,
    },
    /// The server ended the handshake with an alert (printed by its RFC name, e.g. `handshake_failure`).
    #[error("the server aborted the TLS handshake with alert {}", names::alert_name(*alert))]
    PeerAlert {
        /// The alert.
        alert: AlertDescription,
    },
    /// The server closed the connection before the handshake finished.
    #[error("the server closed the connection during the TLS handshake")]
    HandshakeEof,
    /// The server answered with bytes that are not TLS.
    #[error("the server does not speak TLS ({0})")]
    NotTls(TlsError),
    /// Any other TLS failure ([`TlsError::kind`] says which).
    #[error("TLS error: {0}")]
    Tls(TlsError),
    /// The connection failed after the handshake.
    #[error("connection error: {0}")]
    Io(io::Error),
    /// The HTTP exchange failed (malformed response, protocol error, bad header).
    #[error("HTTP error: {0}")]
    Http(String),
    /// The [`super::ClientBuilder::check`] refused the connection.
    #[error("post-connection check refused {host}: {reason}")]
    CheckFailed {
        /// The host connected to.
        host: String,
        /// What the check said.
        reason: String,
    },
    /// One redirect more than [`super::ClientBuilder::follow_redirects`] allows.
    #[error("maximum ({max}) redirects followed")]
    TooManyRedirects {
        /// The limit.
        max: u32,
    },
}

/// `alert NAME`, or what happened when the alert was lost (a TCP reset can discard it).
fn how(alert: &Option<AlertDescription>) -> String {
    match alert {
        Some(alert) => format!("alert {}", names::alert_name(*alert)),
        None => "it asked for one, then closed the connection".to_string(),
    }
}

/// What a failed connection knew when rustls gave up.
pub(crate) struct Failure<'a> {
    pub host: &'a str,
    /// Whether we had a client certificate to present.
    pub have_identity: bool,
    /// Whether the server asked for one (sent a CertificateRequest).
    pub cert_requested: bool,
}

impl Failure<'_> {
    /// Turn a rustls error into the variant that names its cause.
    pub(crate) fn classify_rustls(&self, err: rustls::Error) -> ClientError {
        self.classify(TlsError::from_rustls(err))
    }

    /// Turn a TLS error into the variant that names its cause.
    pub(crate) fn classify(&self, err: TlsError) -> ClientError {
        let host = self.host.to_string();
        match err.kind().clone() {
            TlsErrorKind::BadCertificate(reason) => match reason {
                CertificateReason::UnknownIssuer => ClientError::UnknownIssuer { host },
                CertificateReason::Expired { not_after, .. } => {
                    ClientError::Expired { host, not_after: not_after.and_then(|t| i64::try_from(t).ok()).map(rfc3339) }
                }
                CertificateReason::NameMismatch { expected, presented } => {
                    ClientError::NameMismatch { host: if expected.is_empty() { host } else { expected }, presented }
                }
                CertificateReason::Revoked => ClientError::Revoked { host },
                CertificateReason::PinMismatch => ClientError::PinMismatch { host },
                reason => ClientError::BadCertificate { host, reason },
            },
            TlsErrorKind::AlertReceived(alert) => {
                use AlertDescription as A;
                let about_certificates = matches!(
                    alert,
                    A::BadCertificate
                        | A::UnsupportedCertificate
                        | A::CertificateRevoked
                        | A::CertificateExpired
                        | A::CertificateUnknown
                        | A::UnknownCa
                        | A::AccessDenied
                        // TLS 1.2 servers (OpenSSL) say this when a required certificate is missing.
                        | A::HandshakeFailure
                );
                match alert {
                    A::CertificateRequired => ClientError::ClientCertificateRequired { alert: Some(alert) },
                    _ if about_certificates && self.cert_requested && !self.have_identity => {
                        ClientError::ClientCertificateRequired { alert: Some(alert) }
                    }
                    _ if about_certificates && self.cert_requested => {
                        ClientError::ClientCertificateRejected { alert: Some(alert) }
                    }
                    _ => ClientError::PeerAlert { alert },
                }
            }
            TlsErrorKind::NotTls => ClientError::NotTls(err),
            _ => ClientError::Tls(err),
        }
    }

    /// An I/O error from the TLS stream: a wrapped rustls error, an early EOF, or plain I/O.
    pub(crate) fn classify_io(&self, err: io::Error, handshaking: bool) -> ClientError {
        if err.get_ref().is_some_and(|e| e.is::<rustls::Error>()) {
            if let Some(inner) = err.into_inner() {
                if let Ok(tls) = inner.downcast::<rustls::Error>() {
                    return self.classify_rustls(*tls);
                }
            }
            return ClientError::Io(io::Error::other("TLS error"));
        }
        if handshaking
            && matches!(
                err.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            )
        {
            return ClientError::HandshakeEof;
        }
        ClientError::Io(err)
    }

    /// A hyper error: find the TLS or I/O cause in its chain (a TLS 1.3 server rejects a
    /// client certificate only after our handshake is done, so it shows up here).
    pub(crate) fn classify_hyper(&self, err: hyper::Error) -> ClientError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&err);
        while let Some(e) = source {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return self.classify_rustls(tls.clone());
            }
            if let Some(io) = e.downcast_ref::<io::Error>() {
                if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return self.classify_rustls(tls.clone());
                }
            }
            source = e.source();
        }
        self.closed_after_request(ClientError::Http(error_chain(&err)))
    }

    /// The server asked for a certificate and then hung up without a word we could read:
    /// that was its verdict on our certificate (or on our lack of one).
    pub(crate) fn closed_after_request(&self, otherwise: ClientError) -> ClientError {
        match (self.cert_requested, self.have_identity) {
            (true, false) => ClientError::ClientCertificateRequired { alert: None },
            (true, true) => ClientError::ClientCertificateRejected { alert: None },
            (false, _) => otherwise,
        }
    }
}

/// `outer: inner: innermost`, the way anyhow's `{:#}` prints.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let msg = e.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        source = e.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::ServerName;
    use rustls::{AlertDescription, CertificateError};

    fn failure(have_identity: bool) -> Failure<'static> {
        Failure { host: "localhost", have_identity, cert_requested: true }
    }

    #[test]
    fn name_mismatch_names_both_sides() {
        let err = rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("localhost").unwrap(),
            presented: vec!["DnsName(\"wrong.example\")".into()],
        });
        let msg = failure(false).classify_rustls(err).to_string();
        assert!(msg.starts_with("certificate for wrong.example does not match host localhost"), "{msg}");
    }

    #[test]
    fn alerts_are_told_apart_by_whether_we_sent_a_certificate() {
        let bad = || rustls::Error::AlertReceived(AlertDescription::BadCertificate);
        assert!(matches!(failure(true).classify_rustls(bad()), ClientError::ClientCertificateRejected { .. }));
        assert!(matches!(failure(false).classify_rustls(bad()), ClientError::ClientCertificateRequired { .. }));
        // A server that never asked for a certificate is not complaining about one.
        let unasked = Failure { host: "localhost", have_identity: false, cert_requested: false };
        assert!(matches!(unasked.classify_rustls(bad()), ClientError::PeerAlert { .. }));
        let required = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        assert!(matches!(failure(false).classify_rustls(required), ClientError::ClientCertificateRequired { .. }));
    }

    #[test]
    fn early_eof_in_handshake_is_its_own_error() {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert!(matches!(failure(false).classify_io(eof, true), ClientError::HandshakeEof));
    }
}
