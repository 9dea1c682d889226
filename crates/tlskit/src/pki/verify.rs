//! Checking a certificate chain against trusted roots, apart from any handshake:
//! what `tlskit cert show` reports after fetching a chain with verification off.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier as _;
use rustls::client::{verify_server_cert_signed_by_trust_anchor, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::RootCertStore;

use super::CertificateReason;
use crate::context::provider;

/// What a chain is checked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A TLS server certificate (serverAuth), valid for this name (DNS name or IP address) if given.
    Server(Option<String>),
    /// A TLS client certificate (clientAuth).
    Client,
}

/// The certificates a chain must lead to.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// Trusted roots (curl's `--cacert`).
    pub roots: Vec<CertificateDer<'static>>,
    /// Also trust the operating system's roots.
    pub system_roots: bool,
    /// CRLs to check every certificate of the chain against (needs a CRL for each issuer).
    pub crls: Vec<CertificateRevocationListDer<'static>>,
}

/// Why a chain did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The chain is empty.
    #[error("no certificate to verify")]
    Empty,
    /// Nothing to verify against.
    #[error("no trusted roots: none in Trust::roots and none from the system store")]
    NoRoots,
    /// A trusted root rustls cannot use.
    #[error("bad trusted root: {0}")]
    BadRoot(String),
    /// The name to verify for is neither a DNS name nor an IP address.
    #[error("{0:?} is not a DNS name or IP address")]
    BadName(String),
    /// The verifier refused the chain, and why.
    #[error("{0}")]
    Rejected(CertificateReason),
}

/// Check `chain` (leaf first, then intermediates) for `purpose` against `trust`, as of now.
pub fn verify_chain(chain: &[CertificateDer<'_>], trust: &Trust, purpose: &Purpose) -> Result<(), VerifyError> {
    let (leaf, intermediates) = chain.split_first().ok_or(VerifyError::Empty)?;
    let roots = Arc::new(root_store(trust)?);
    let provider = Arc::new(provider());
    let now = UnixTime::now();
    match purpose {
        Purpose::Server(Some(name)) => {
            let name = ServerName::try_from(name.as_str()).map_err(|_| VerifyError::BadName(name.clone()))?;
            let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .with_crls(trust.crls.iter().cloned())
                .build()
                .map_err(|e| VerifyError::BadRoot(e.to_string()))?;
            verifier.verify_server_cert(leaf, intermediates, &name, &[], now).map_err(rejected)?;
        }
        Purpose::Server(None) => {
            // No name to check: the chain alone (webpki's server path has no CRL hook here).
            let parsed = ParsedCertificate::try_from(leaf).map_err(rejected)?;
            verify_server_cert_signed_by_trust_anchor(
                &parsed,
                &roots,
                intermediates,
                now,
                provider.signature_verification_algorithms.all,
            )
            .map_err(rejected)?;
        }
        Purpose::Client => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .with_crls(trust.crls.iter().cloned())
                .build()
                .map_err(|e| VerifyError::BadRoot(e.to_string()))?;
            verifier.verify_client_cert(leaf, intermediates, now).map_err(rejected)?;
        }
    }
    Ok(())
}

fn root_store(trust: &Trust) -> Result<RootCertStore, VerifyError> {
    let mut store = RootCertStore::empty();
    for root in &trust.roots {
        store.add(root.clone()).map_err(|e| VerifyError::BadRoot(e.to_string()))?;
    }
    if trust.system_roots {
        store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    }
    if store.is_empty() {
        return Err(VerifyError::NoRoots);
    }
    Ok(store)
}

fn rejected(err: rustls::Error) -> VerifyError {
    VerifyError::Rejected(CertificateReason::from_rustls_error(&err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{describe_crl, CertificateAuthority, KeyType, LeafSpec};

    #[test]
    fn chains_are_judged_for_their_purpose_name_and_revocation() {
        let ca = CertificateAuthority::generate("verify CA", KeyType::P256).unwrap();
        let server = ca.issue(&LeafSpec::server(KeyType::P256, &[])).unwrap();
        let client = ca.issue(&LeafSpec::client(KeyType::P256, "c")).unwrap();
        let client_serial = client.serial.clone();
        let trust = Trust { roots: vec![ca.cert_der().clone()], ..Default::default() };
        let (server, client) = ([server.der], [client.der]);

        assert!(verify_chain(&server, &trust, &Purpose::Server(Some("localhost".into()))).is_ok());
        assert!(verify_chain(&server, &trust, &Purpose::Server(Some("::1".into()))).is_ok());
        assert!(verify_chain(&server, &trust, &Purpose::Server(None)).is_ok());
        let err = verify_chain(&server, &trust, &Purpose::Server(Some("x.test".into()))).unwrap_err();
        assert!(err.to_string().contains("not valid for name \"x.test\""), "{err}");
        let err = verify_chain(&server, &trust, &Purpose::Client).unwrap_err();
        assert!(err.to_string().contains("purpose"), "{err}");
        assert!(verify_chain(&client, &trust, &Purpose::Client).is_ok());

        let crl_pem = ca.crl(&[&client_serial], 30).unwrap();
        let crls: Vec<_> = rustls::pki_types::pem::PemObject::pem_slice_iter(crl_pem.as_bytes())
            .collect::<Result<Vec<rustls::pki_types::CertificateRevocationListDer<'static>>, _>>()
            .unwrap();
        let summary = describe_crl(&crls[0]).unwrap();
        assert_eq!(summary.revoked.len(), 1);
        assert_eq!(summary.revoked[0].reason.as_deref(), Some("KeyCompromise"));
        let revoking = Trust { crls, ..trust.clone() };
        let err = verify_chain(&client, &revoking, &Purpose::Client).unwrap_err();
        assert_eq!(err.to_string(), "certificate revoked (listed in the CRL)");
        assert!(verify_chain(&server, &revoking, &Purpose::Server(Some("localhost".into()))).is_ok());

        let stranger = CertificateAuthority::generate("other", KeyType::P256).unwrap();
        let trust_other = Trust { roots: vec![stranger.cert_der().clone()], ..Default::default() };
        let err = verify_chain(&client, &trust_other, &Purpose::Client).unwrap_err();
        assert!(err.to_string().starts_with("unable to get local issuer certificate"), "{err}");
        assert!(matches!(verify_chain(&[], &trust, &Purpose::Client), Err(VerifyError::Empty)));
        assert!(matches!(verify_chain(&client, &Trust::default(), &Purpose::Client), Err(VerifyError::NoRoots)));
    }
}
