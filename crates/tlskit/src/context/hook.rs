//! The verify hook: a program's own judgement of a server's chain, given the built-in verdict
//! (what M2Crypto's `set_verify` with a Python callback and `set_allow_unknown_ca` did). The
//! verifier that applies it, layered over the built-in one, is in `verify.rs`.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;

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
