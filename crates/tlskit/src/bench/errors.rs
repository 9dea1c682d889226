//! What went wrong with a request, as a kind to count: the client's own classification
//! (`client::ClientError`), folded into the few names a load report needs.

use std::io;

use super::h1::H1Error;
use crate::client::error::{ClientError, Failure};
use crate::client::recorder::{self, SeenError};

/// Why a request failed, as counted in the report (`errors` {kind: count}).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// TCP connect refused (nothing listens on the port).
    ConnectRefused,
    /// TCP connect failed otherwise (unreachable, no address, …).
    ConnectFailed,
    /// The request (connection included, when it needed one) ran past the time limit.
    Timeout,
    /// The server's certificate has expired.
    CertificateExpired,
    /// The server's chain does not lead to a trusted CA.
    CertificateUnknownIssuer,
    /// The server's certificate is for another name.
    CertificateNameMismatch,
    /// The server's certificate is revoked.
    CertificateRevoked,
    /// The server's certificate was refused for another reason (or a pin did not match).
    CertificateRejected,
    /// The server wants a client certificate and none was given.
    ClientCertificateRequired,
    /// The server refused our client certificate.
    ClientCertificateRejected,
    /// The server sent a TLS alert, by its RFC name (`handshake_failure`).
    TlsAlert(String),
    /// Another TLS failure (a protocol violation, bytes that are not TLS).
    Tls,
    /// The server reset the connection (TCP RST).
    Reset,
    /// The server closed the connection before the response was complete.
    Closed,
    /// An HTTP-level failure (malformed response, HTTP/2 stream error).
    Http,
    /// `--http2` was asked for and the server did not choose h2 by ALPN.
    NoHttp2,
}

impl ErrorKind {
    /// The key in the report: `connect_refused`, `tls_alert_handshake_failure`, …
    pub fn name(&self) -> String {
        match self {
            ErrorKind::TlsAlert(alert) => format!("tls_alert_{alert}"),
            other => other.fixed_name().to_string(),
        }
    }

    fn fixed_name(&self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::ConnectFailed => "connect_error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::CertificateExpired => "certificate_expired",
            ErrorKind::CertificateUnknownIssuer => "certificate_unknown_issuer",
            ErrorKind::CertificateNameMismatch => "certificate_name_mismatch",
            ErrorKind::CertificateRevoked => "certificate_revoked",
            ErrorKind::CertificateRejected => "certificate_rejected",
            ErrorKind::ClientCertificateRequired => "client_certificate_required",
            ErrorKind::ClientCertificateRejected => "client_certificate_rejected",
            ErrorKind::TlsAlert(_) => "tls_alert",
            ErrorKind::Tls => "tls_error",
            ErrorKind::Reset => "reset",
            ErrorKind::Closed => "closed",
            ErrorKind::Http => "http_error",
            ErrorKind::NoHttp2 => "no_h2",
        }
    }

    /// A failed TCP connect.
    pub(crate) fn connect(err: &io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
            io::ErrorKind::TimedOut => ErrorKind::Timeout,
            _ => ErrorKind::ConnectFailed,
        }
    }

    /// A failed TLS handshake.
    pub(crate) fn handshake(err: io::Error, have_identity: bool) -> Self {
        if is_reset(&err) {
            return ErrorKind::Reset;
        }
        let failure = Failure { host: "", have_identity, cert_requested: false };
        Self::from_client(failure.classify_io(err, true))
    }

    /// A failed exchange after the handshake: the stream's own TLS error if it saw one,
    /// else the reset, close or HTTP failure hyper reports.
    pub(crate) fn exchange(err: hyper::Error, seen: &SeenError, have_identity: bool) -> Self {
        let failure = Failure { host: "", have_identity, cert_requested: false };
        if let Some(tls) = recorder::take(seen) {
            return Self::from_client(failure.classify_rustls(tls));
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&err);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                if is_reset(io) {
                    return ErrorKind::Reset;
                }
            }
            source = e.source();
        }
        if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
            return ErrorKind::Closed;
        }
        Self::from_client(failure.classify_hyper(err))
    }

    /// A failed exchange on the bench's own HTTP/1.1 codec; None when the server had closed
    /// the connection while idle (not an error of this request).
    pub(crate) fn codec(err: H1Error, seen: &SeenError, have_identity: bool) -> Option<Self> {
        let failure = Failure { host: "", have_identity, cert_requested: false };
        if let Some(tls) = recorder::take(seen) {
            return Some(Self::from_client(failure.classify_rustls(tls)));
        }
        Some(match err {
            H1Error::IdleClose => return None,
            H1Error::Malformed => ErrorKind::Http,
            H1Error::Io(e) if is_reset(&e) => ErrorKind::Reset,
            H1Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => ErrorKind::Closed,
            H1Error::Io(e) => Self::from_client(failure.classify_io(e, false)),
        })
    }

    fn from_client(err: ClientError) -> Self {
        match err {
            ClientError::Connect { source, .. } => Self::connect(&source),
            ClientError::Dns { .. } => ErrorKind::ConnectFailed,
            ClientError::Timeout { .. } => ErrorKind::Timeout,
            ClientError::Expired { .. } => ErrorKind::CertificateExpired,
            ClientError::UnknownIssuer { .. } => ErrorKind::CertificateUnknownIssuer,
            ClientError::NameMismatch { .. } => ErrorKind::CertificateNameMismatch,
            ClientError::Revoked { .. } => ErrorKind::CertificateRevoked,
            ClientError::BadCertificate { .. } | ClientError::PinMismatch { .. } => ErrorKind::CertificateRejected,
            ClientError::ClientCertificateRequired { .. } => ErrorKind::ClientCertificateRequired,
            ClientError::ClientCertificateRejected { .. } => ErrorKind::ClientCertificateRejected,
            ClientError::PeerAlert { alert } => ErrorKind::TlsAlert(crate::names::alert_name(alert)),
            ClientError::HandshakeEof => ErrorKind::Closed,
            ClientError::Io(e) if is_reset(&e) => ErrorKind::Reset,
            ClientError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => ErrorKind::Closed,
            ClientError::NotTls(_)
            | ClientError::Tls(_)
            | ClientError::Context(_)
            | ClientError::CheckFailed { .. } => ErrorKind::Tls,
            ClientError::Io(_)
            | ClientError::Http(_)
            | ClientError::Url { .. }
            | ClientError::BadPin { .. }
            | ClientError::TooManyRedirects { .. } => ErrorKind::Http,
            ClientError::Runtime(_) => ErrorKind::ConnectFailed,
        }
    }
}

fn is_reset(err: &io::Error) -> bool {
    matches!(err.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_report_names() {
        assert_eq!(ErrorKind::ConnectRefused.name(), "connect_refused");
        assert_eq!(ErrorKind::TlsAlert("handshake_failure".into()).name(), "tls_alert_handshake_failure");
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(ErrorKind::connect(&refused), ErrorKind::ConnectRefused);
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(ErrorKind::handshake(reset, false), ErrorKind::Reset);
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(ErrorKind::handshake(eof, false), ErrorKind::Closed);
    }
}
