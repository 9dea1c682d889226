//! A client certificate, its key and its CA as one PKCS#12 file, for browsers.

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
use rustls::pki_types::CertificateDer;

use super::generate::IssuedCertificate;
use super::PkiError;

/// PKCS#12 (PBES2 AES-256-CBC, HMAC-SHA256 MAC) holding the leaf, its key and the CA.
///
/// `friendly_name` is the name a browser lists the identity under.
pub fn client_bundle(
    leaf: &IssuedCertificate,
    ca: &CertificateDer<'_>,
    friendly_name: &str,
    password: &str,
) -> Result<Vec<u8>, PkiError> {
    let err = |e: p12_keystore::error::Error| PkiError::Generate(format!("could not make the PKCS#12 bundle: {e}"));
    let key = PrivateKey::from_der(leaf.key_der()).map_err(err)?;
    let certs = [Certificate::from_der(&leaf.der).map_err(err)?, Certificate::from_der(ca).map_err(err)?];
    // The local key id ties the key bag to its certificate bag; the serial is unique enough.
    let chain = PrivateKeyChain::new(leaf.serial.clone(), key, certs);
    let mut store = KeyStore::new();
    store.add_entry(friendly_name, KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().map_err(err)
}
