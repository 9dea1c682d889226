//! The verify hook: a program's own judgement of a server's chain, given the built-in verdict
//! (what M2Crypto's `set_verify` with a Python callback and `set_allow_unknown_ca` did).

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::pki::{self, CertificateReason, CertificateSummary};

/// What a verify hook is shown: the server's chain as sent and what the built-in verifier (roots,
/// name, CRLs, pins) made of it.
#[derive(Debug)]
pub struct PeerChain<'a> {
    /// The name the client asked for (SNI, or the IP address).
    pub server_name: &'a str,
    /// The certificates as sent, leaf first (DER).
    pub chain: &'a [CertificateDer<'a>],
    /// The built-in verdict: `Ok` if the chain verified, else why not.
    pub verdict: Result<(), CertificateReason>,
}

impl PeerChain<'_> {
    /// The chain, described (subject, issuer, validity, names, key, fingerprints), leaf first.
    pub fn summaries(&self) -> Vec<CertificateSummary> {
        self.chain.iter().map(|c| pki::describe(c).unwrap_or_else(|_| CertificateSummary::unparsable(c))).collect()
    }
}

/// A verify hook: accept (`Ok`) or refuse with a reason (`Err`, e.g. [`CertificateReason::Hook`]).
/// Returning `chain.verdict.clone()` is what happens without a hook.
pub type VerifyHook = Arc<dyn Fn(&PeerChain<'_>) -> Result<(), CertificateReason> + Send + Sync>;

/// The built-in verifier with the hook's word last. Handshake signatures are still checked.
pub(super) struct Hooked {
    pub(super) inner: Arc<dyn ServerCertVerifier>,
    pub(super) hook: VerifyHook,
}

impl fmt::Debug for Hooked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooked").field("inner", &self.inner).finish()
    }
}

impl ServerCertVerifier for Hooked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ())
            .map_err(|e| CertificateReason::from_rustls_error(&e));
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone());
        chain.extend(intermediates.iter().cloned());
        let name = server_name.to_str();
        match (self.hook)(&PeerChain { server_name: &name, chain: &chain, verdict }) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(reason) => Err(reason.to_rustls()),
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
