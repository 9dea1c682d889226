//! PEM (or DER) files into rustls's certificate, key and CRL types.

use std::path::Path;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use super::PkiError;
use crate::context::Identity;

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(|source| PkiError::Io { path: path.to_path_buf(), source })
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn pem_error(path: &Path, err: pem::Error) -> PkiError {
    PkiError::Pem { path: path.to_path_buf(), reason: err.to_string() }
}

/// Every certificate in a PEM file (a chain, leaf first), or one DER certificate.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    parse_certs(read(path)?, path)
}

/// [`load_certs`] of a file's bytes already read; `path` names it in errors.
pub fn parse_certs(bytes: Vec<u8>, path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certs: Vec<_> = if looks_like_pem(&bytes) {
        CertificateDer::pem_slice_iter(&bytes).collect::<Result<_, _>>().map_err(|e| pem_error(path, e))?
    } else if bytes.first() == Some(&0x30) {
        vec![CertificateDer::from(bytes)]
    } else {
        Vec::new()
    };
    if certs.is_empty() {
        return Err(PkiError::NoCertificate { path: path.to_path_buf() });
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, PkiError> {
    parse_key(&read(path)?, path)
}

/// [`load_key`] of a file's bytes already read; `path` names it in errors.
pub fn parse_key(bytes: &[u8], path: &Path) -> Result<PrivateKeyDer<'static>, PkiError> {
    match PrivateKeyDer::from_pem_slice(bytes) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(PkiError::NoKey { path: path.to_path_buf() }),
        Err(e) => Err(pem_error(path, e)),
    }
}

/// A certificate chain and its key; the key may sit in the certificate file.
pub fn load_identity(cert: &Path, key: Option<&Path>) -> Result<Identity, PkiError> {
    let chain = load_certs(cert)?;
    let key = load_key(key.unwrap_or(cert))?;
    Ok(Identity { chain, key })
}

/// Every CRL in a PEM file, or one DER CRL.
pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, PkiError> {
    parse_crls(read(path)?, path)
}

/// [`load_crls`] of a file's bytes already read; `path` names it in errors.
pub fn parse_crls(bytes: Vec<u8>, path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, PkiError> {
    let crls: Vec<_> = if looks_like_pem(&bytes) {
        CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| pem_error(path, e))?
    } else if bytes.first() == Some(&0x30) {
        vec![CertificateRevocationListDer::from(bytes)]
    } else {
        Vec::new()
    };
    if crls.is_empty() {
        return Err(PkiError::NoCrl { path: path.to_path_buf() });
    }
    Ok(crls)
}
