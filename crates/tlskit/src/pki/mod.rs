//! Certificates: load PEM and DER, describe a certificate or CRL, generate a test PKI,
//! fetch a server's chain and verify a chain.
//!
//! Loading and describing are here so that servers, clients and `tlskit cert
//! show` read certificates one way. Generation ([`init`], [`ephemeral_server`],
//! [`CertificateAuthority`]) is what tests and `tlskit serve` use instead of
//! shelling out to openssl; fetching and verifying back `tlskit cert show HOST:PORT`.

mod crl;
mod describe;
mod fetch;
mod generate;
mod init;
mod load;
mod pkcs12;
mod reason;
mod verify;

pub use crl::{describe_crl, CrlSummary, RevokedEntry};
pub use describe::{describe, sha256_fingerprint, spki_pin, spki_sha256, CertificateSummary};
pub use fetch::{fetch_chain, split_host_port, FetchedChain};
pub(crate) use generate::pem_block;
pub use generate::{
    ephemeral_server, CertificateAuthority, Ephemeral, IssuedCertificate, KeyType, LeafSpec, Role, LOCAL_NAMES,
};
pub use init::{init, write_file, InitOptions, PkiFiles, PKCS12_PASSWORD};
pub use load::{load_certs, load_crls, load_identity, load_key, parse_certs, parse_crls, parse_key};
pub use pkcs12::client_bundle;
pub use reason::CertificateReason;
/// The DER certificate type every function here takes and returns (re-exported from rustls).
pub use rustls::pki_types::CertificateDer;
pub use verify::{verify_chain, Purpose, Trust, VerifyError};

use std::path::PathBuf;

/// Why a certificate, key or CRL could not be loaded, made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file holds no certificate.
    #[error("{path}: no certificate found (expected PEM \"BEGIN CERTIFICATE\" or DER)")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A file holds no private key.
    #[error("{path}: no private key found (expected PEM PKCS#8, PKCS#1 or SEC1)")]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// A file holds no CRL.
    #[error("{path}: no CRL found (expected PEM \"BEGIN X509 CRL\" or DER)")]
    NoCrl {
        /// The file.
        path: PathBuf,
    },
    /// A file is not well-formed PEM.
    #[error("{path}: bad PEM: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// DER that is not an X.509 certificate.
    #[error("not a valid X.509 certificate: {0}")]
    Parse(String),
    /// A key, certificate or CRL could not be made (or an option for one is bad).
    #[error("{0}")]
    Generate(String),
    /// Connecting to a server or handshaking with it failed.
    #[error("{target}: {reason}")]
    Fetch {
        /// The `HOST:PORT` asked for.
        target: String,
        /// What failed.
        reason: String,
    },
}
