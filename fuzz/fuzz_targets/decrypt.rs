//! The record decryptor: arbitrary record fragments through one decryptor of every shape (AEAD with explicit and
//! implicit nonces, TLS 1.3, CBC with implicit and explicit IV, MAC-then-encrypt and encrypt-then-MAC, SSL 3.0
//! MAC, NULL). Nothing may panic; bad records are errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlskit_wire::cipher::{CipherSuite, CipherSuiteId, RecordDecryptor};
use tlskit_wire::record::ContentType::ApplicationData;
use tlskit_wire::record::ProtocolVersion::{self, SSLv3, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3};
use tlskit_wire::schedule;

use CipherSuiteId::*;

const CASES: &[(CipherSuiteId, ProtocolVersion, bool)] = &[
    (TLS_AES_128_GCM_SHA256, TLSv1_3, false),
    (TLS_AES_128_CCM_SHA256, TLSv1_3, false),
    (TLS_AES_128_CCM_8_SHA256, TLSv1_3, false),
    (TLS_CHACHA20_POLY1305_SHA256, TLSv1_3, false),
    (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLSv1_2, false),
    (TLS_RSA_WITH_AES_128_CCM_8, TLSv1_2, false),
    (TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLSv1_2, false),
    (TLS_RSA_WITH_AES_128_CBC_SHA, SSLv3, false),
    (TLS_RSA_WITH_AES_128_CBC_SHA, TLSv1_0, false),
    (TLS_RSA_WITH_AES_128_CBC_SHA, TLSv1_1, true),
    (TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, TLSv1_2, false),
    (TLS_RSA_WITH_CAMELLIA_128_CBC_SHA, TLSv1_2, false),
    (TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLSv1_0, false),
    (TLS_ECDHE_RSA_WITH_NULL_SHA, TLSv1_1, false),
    (TLS_RSA_WITH_NULL_MD5, TLSv1_0, false),
    (TLS_RSA_WITH_RC4_128_MD5, SSLv3, false),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, fragment)) = data.split_first() else { return };
    let (id, version, etm) = CASES[usize::from(selector) % CASES.len()];
    let Some(suite) = CipherSuite::lookup(id) else { return };
    let mut dec = if suite.is_tls13() {
        RecordDecryptor::tls13(suite, &vec![7u8; suite.prf_hash.output_len()]).expect("tls13 decryptor")
    } else {
        let (client, _) = schedule::tls12_keys(suite, version, &[9; 48], &[1; 32], &[2; 32]);
        RecordDecryptor::new(suite, version, &client).expect("decryptor").with_encrypt_then_mac(etm)
    };
    // Several records in a row so chained IVs and sequence numbers are exercised.
    for record in fragment.chunks(97) {
        let mut buf = record.to_vec();
        let len = buf.len();
        if let Ok(plain) = dec.decrypt(ApplicationData, version, &mut buf) {
            assert!(plain.range.end <= len);
        }
        let mut again = record.to_vec();
        let _ = dec.try_decrypt(ApplicationData, version, &mut again);
    }
    let _ = dec.key_update();
});
