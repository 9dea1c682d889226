//! Targets of the parsers of key material files: PEM/DER certificates, CRLs and private keys
//! (`--cert`, `--key`, `--crl`, `cert show`), NSS key logs (`dump --keylog`, pcapng Decryption Secrets
//! Blocks) and the RSA private keys of `dump -k`.

use std::path::Path;

use tlskit::pki;
use tlskit_wire::keys::{KeyLog, RsaKey, DSB_TLS_KEY_LOG};

/// The name the pki target's errors give the bytes.
const SOURCE: &str = "fuzz-input.pem";

/// A certificate, CRL or key file's bytes, loaded as each (PEM chain or one DER object), every certificate and
/// CRL found then described as `cert show` does; every error names the file.
pub fn pki(data: &[u8]) {
    let source = Path::new(SOURCE);
    match pki::parse_certs(data.to_vec(), source) {
        Ok(certs) => {
            for cert in &certs {
                let _ =
                    (pki::describe(cert), pki::sha256_fingerprint(cert), pki::spki_sha256(cert), pki::spki_pin(cert));
            }
        }
        Err(e) => assert!(e.to_string().starts_with(SOURCE), "{e}"),
    }
    match pki::parse_crls(data.to_vec(), source) {
        Ok(crls) => {
            for crl in &crls {
                let _ = pki::describe_crl(crl);
            }
        }
        Err(e) => assert!(e.to_string().starts_with(SOURCE), "{e}"),
    }
    if let Err(e) = pki::parse_key(data, source) {
        assert!(e.to_string().starts_with(SOURCE), "{e}");
    }
}

/// An NSS key log file (and the same bytes as a pcapng Decryption Secrets Block body): every line either
/// gives a secret or is reported with its line number, never both and never a line past the end.
pub fn keylog(data: &[u8]) {
    let lines = data.split(|&b| b == b'\n').count();
    let (log, problems) = KeyLog::parse_bytes(data);
    assert!(
        log.len() + problems.len() <= lines,
        "{} secrets and {} problems from {lines} lines",
        log.len(),
        problems.len()
    );
    for problem in &problems {
        assert!((1..=lines).contains(&problem.line), "{problem} of {lines} lines");
    }
    let (dsb, _) = KeyLog::from_dsb(DSB_TLS_KEY_LOG, data).expect("the TLS key log secrets type");
    assert_eq!(dsb.len(), log.len());
}

/// The RSA private key of `dump -k`: the bytes as a PEM file, and as PKCS#1 and PKCS#8 DER; a key that loads
/// decrypts (or refuses) a premaster of its size and of the TLS form.
pub fn rsa_key(data: &[u8]) {
    let keys =
        [RsaKey::from_pem(&String::from_utf8_lossy(data)), RsaKey::from_der(data, true), RsaKey::from_der(data, false)];
    for key in keys.into_iter().flatten() {
        let size = key.bits().div_ceil(8);
        let _ = key.is_legacy_size();
        let _ = key.decrypt_premaster(&vec![0x42; size]);
        let tls_form = [&(size as u16).to_be_bytes()[..], &vec![0x24; size]].concat();
        let _ = key.decrypt_premaster(&tls_form);
    }
}
