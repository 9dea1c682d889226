//! The record decryptor: arbitrary record fragments through one decryptor of every shape (AEAD with explicit and
//! implicit nonces, TLS 1.3, CBC with implicit and explicit IV, MAC-then-encrypt and encrypt-then-MAC, SSL 3.0
//! MAC, NULL). Nothing may panic; bad records are errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlskit_wire::cipher::{CipherSuite, RecordDecryptor};
use tlskit_wire::schedule;

const CASES: &[(u16, u16, bool)] = &[
    (0x1301, 0x0304, false),
    (0x1304, 0x0304, false),
    (0x1305, 0x0304, false),
    (0x1303, 0x0304, false),
    (0xC02F, 0x0303, false),
    (0xC0A0, 0x0303, false),
    (0xCCA8, 0x0303, false),
    (0x002F, 0x0300, false),
    (0x002F, 0x0301, false),
    (0x002F, 0x0302, true),
    (0xC028, 0x0303, false),
    (0x0041, 0x0303, false),
    (0x000A, 0x0301, false),
    (0xC010, 0x0302, false),
    (0x0001, 0x0301, false),
    (0x0004, 0x0300, false),
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
        if let Ok(plain) = dec.decrypt(23, version, &mut buf) {
            assert!(plain.range.end <= len);
        }
        let mut again = record.to_vec();
        let _ = dec.try_decrypt(23, version, &mut again);
    }
    let _ = dec.key_update();
});
