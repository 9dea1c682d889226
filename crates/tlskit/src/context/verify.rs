//! Server-certificate verifiers beyond webpki's: `-k`, and the judgements layered over a
//! verdict (`--pinnedpubkey`, the verify hook).

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::hook::{PeerChain, VerifyHook};
use crate::pki::CertificateReason;

/// `-k`: accepts any chain and name, still checks the handshake signatures. With
/// `unknown_issuer`, refuses every chain as not signed by a trusted CA instead: the built-in
/// verdict of a context with no roots, for a verify hook to overrule.
#[derive(Debug)]
pub(super) struct NoVerification {
    pub(super) provider: Arc<CryptoProvider>,
    pub(super) unknown_issuer: bool,
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.unknown_issuer {
            return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer));
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// What is judged after the inner verifier's verdict, in a [`Layered`] verifier.
pub(super) enum Then {
    /// `--pinnedpubkey`: a verified chain whose leaf's SPKI SHA-256 is not one of these is refused.
    Pins(Vec<[u8; 32]>),
    /// [`Context::verify_with`](super::Context::verify_with): the hook sees the chain and the
    /// verdict, and has the last word.
    Hook(VerifyHook),
}

/// A verifier with a further judgement over an inner one's; handshake signatures are the inner's.
pub(super) struct Layered {
    pub(super) inner: Arc<dyn ServerCertVerifier>,
    pub(super) then: Then,
}

impl fmt::Debug for Layered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let then = match &self.then {
            Then::Pins(pins) => format!("{} pins", pins.len()),
            Then::Hook(_) => "hook".to_string(),
        };
        f.debug_struct("Layered").field("inner", &self.inner).field("then", &then).finish()
    }
}

impl ServerCertVerifier for Layered {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match &self.then {
            Then::Pins(pins) => {
                let verdict = verdict?;
                let pin = crate::pki::spki_sha256(end_entity)
                    .ok_or(rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
                if pins.contains(&pin) {
                    Ok(verdict)
                } else {
                    Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
                }
            }
            Then::Hook(hook) => {
                let verdict = verdict.map(|_| ()).map_err(|e| CertificateReason::from_rustls_error(&e));
                let mut chain = Vec::with_capacity(1 + intermediates.len());
                chain.push(end_entity.clone());
                chain.extend(intermediates.iter().cloned());
                let name = server_name.to_str();
                match hook(&PeerChain { server_name: &name, chain: &chain, verdict }) {
                    Ok(()) => Ok(ServerCertVerified::assertion()),
                    Err(reason) => Err(reason.to_rustls()),
                }
            }
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
