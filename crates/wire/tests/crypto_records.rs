//! The cryptography alone against real captures: records pulled out of the pcaps in tests/captures by a small
//! helper (independent of the dissector), keys from their key logs / RSA key / PSK / pcapng DSB, decrypted with
//! `cipher::RecordDecryptor` and counted. The plaintext byte count must equal tshark's (expected.json) for every
//! cipher family: AES-GCM, AES-CCM, AES-CCM_8, ChaCha20-Poly1305 (TLS 1.2 and 1.3), AES-CBC (SSL 3.0, TLS 1.0
//! implicit IV, 1.1/1.2 explicit IV, SHA-1/256/384 MACs), Camellia-CBC, NULL, TLS 1.3 KeyUpdate, static RSA.

mod crypto_support;

use crypto_support::{captures_dir, decrypt_capture, Keys};
use tlskit_wire::keys::{KeyLog, RsaKey};

/// (capture, what it exercises).
const FAMILIES: &[(&str, &str)] = &[
    ("ssldump-samples/tls1.2_aes256.pcap", "TLS 1.2 AES-256-GCM"),
    ("ssldump-samples/tls1.3_aes128.pcap", "TLS 1.3 AES-128-GCM"),
    ("ssldump-samples/tls1.3_ccm.pcap", "TLS 1.3 AES-128-CCM"),
    ("ssldump-samples/tls1.3_ccm8.pcap", "TLS 1.3 AES-128-CCM_8"),
    ("ssldump-samples/tls1.3_chacha.pcap", "TLS 1.3 ChaCha20-Poly1305"),
    ("ssldump-samples/tls1.3_keyupdates_aes256.pcap", "TLS 1.3 AES-256-GCM with two KeyUpdates"),
    ("snet-keylog-matrix/ssl3_0.pcap", "SSL 3.0 AES-256-CBC, SSL 3.0 MAC and PRF"),
    ("snet-keylog-matrix/tls1_0.pcap", "TLS 1.0 AES-256-CBC implicit IV"),
    ("snet-keylog-matrix/TLS1_1_AECDH-AES128-SHA.pcap", "TLS 1.1 AES-128-CBC explicit IV, HMAC-SHA1"),
    ("snet-keylog-matrix/TLS1_1_AECDH-NULL-SHA.pcap", "TLS 1.1 NULL cipher, HMAC-SHA1"),
    ("snet-keylog-matrix/TLS1_2_AES128-CCM_auth.pcap", "TLS 1.2 AES-128-CCM"),
    ("snet-keylog-matrix/TLS1_2_AES256-CCM8_auth.pcap", "TLS 1.2 AES-256-CCM_8"),
    ("snet-keylog-matrix/TLS1_2_AES256-SHA256_auth.pcap", "TLS 1.2 AES-256-CBC HMAC-SHA256"),
    ("snet-keylog-matrix/tls_ECDHE-ECDSA-AES256-SHA384.pcap", "TLS 1.2 AES-256-CBC HMAC-SHA384"),
    ("snet-keylog-matrix/TLS1_2_CAMELLIA128-SHA256_auth.pcap", "TLS 1.2 Camellia-128-CBC"),
    ("snet-keylog-matrix/tls_ECDHE-RSA-CAMELLIA256-SHA384.pcap", "TLS 1.2 Camellia-256-CBC HMAC-SHA384"),
    ("snet-keylog-matrix/TLS1_2_DHE-RSA-CHACHA20-POLY1305_auth.pcap", "TLS 1.2 ChaCha20-Poly1305"),
    ("rsa-kex-scapy-ssl_tls/RSA_WITH_AES_128_CBC_SHA_w_key.pcap", "static RSA key exchange, TLS 1.0 CBC"),
    ("wireshark-tls12-psk-aes256gcm/tls12-aes256gcm.pcap", "TLS 1.2 plain PSK, AES-256-GCM"),
    ("derived-dsb/tls_nss_example-dsb.pcapng", "keys from a pcapng Decryption Secrets Block"),
    ("scapy/tls_tcp_frag_withnss.pcap.gz", "upper-case hex key log, gzip capture"),
];

/// Captures whose plaintext only the full dissector recovers (see `whole_matrix_matches_tshark_byte_counts`).
const DISSECTOR_ONLY: &[&str] =
    &["tlskit-made/compressed-deflate.pcap", "tlskit-made/ipv4-len0.pcap", "tlskit-made/hrr.pcap", SEED];
/// SEED-CBC: tshark decrypts it, tlskit does not (no maintained crate); captures.rs lists it as a known failure.
const SEED: &str = "tlskit-made/seed-cbc.pcap";

fn expected_entries() -> (std::path::PathBuf, Vec<serde_json::Value>) {
    let dir = captures_dir();
    let text = std::fs::read_to_string(dir.join("expected.json")).expect("expected.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("expected.json is JSON");
    (dir, json.as_array().expect("expected.json is an array").clone())
}

fn keys_for(dir: &std::path::Path, entry: &serde_json::Value) -> Keys {
    let mut keys = Keys::default();
    if let Some(file) = entry["keys"]["keylog"].as_str() {
        let text = std::fs::read_to_string(dir.join(file)).expect("key log");
        let (log, _problems) = KeyLog::parse(&text);
        keys.log = log;
    }
    if let Some(file) = entry["keys"]["rsa_private_key"].as_str() {
        let pem = std::fs::read_to_string(dir.join(file)).expect("pem");
        keys.rsa = Some(RsaKey::from_pem(&pem).expect("RSA key"));
    }
    if let Some(psk) = entry["keys"]["psk_hex"].as_str() {
        keys.psk = Some(hex::decode(psk).expect("psk hex"));
    }
    keys
}

/// The tshark byte count for an entry; DSB captures are re-packagings of another entry.
fn expected_bytes(entries: &[serde_json::Value], entry: &serde_json::Value) -> u64 {
    // Suites tshark 4.0 cannot decrypt (ARIA): the entry's `beyond_tshark` count.
    if let Some(n) = entry["beyond_tshark"]["tshark_plaintext_bytes"].as_u64() {
        return n;
    }
    if let Some(n) = entry["tshark_plaintext_bytes"].as_u64() {
        return n;
    }
    let path = entry["path"].as_str().unwrap_or_default();
    let source = match path {
        "derived-dsb/tls_nss_example-dsb.pcapng" => "scapy/tls_nss_example.pcap",
        "derived-dsb/tls13-rfc8446-dsb.pcapng" => "wireshark-tls13-rfc8446/tls13-rfc8446.pcap",
        other => panic!("{other}: no tshark_plaintext_bytes"),
    };
    let source = entries.iter().find(|e| e["path"] == source).expect("source entry");
    source["tshark_plaintext_bytes"].as_u64().expect("bytes")
}

#[test]
fn every_cipher_family_decrypts_real_records() {
    let (dir, entries) = expected_entries();
    let mut failures = Vec::new();
    for (path, family) in FAMILIES {
        let entry = entries.iter().find(|e| e["path"] == *path).unwrap_or_else(|| panic!("{path} not listed"));
        let keys = keys_for(&dir, entry);
        let got = decrypt_capture(&dir.join(path), keys).unwrap_or_else(|e| panic!("{path}: {e}"));
        let want = expected_bytes(&entries, entry);
        if got.plaintext_bytes != want || got.failed != 0 || got.decrypted == 0 {
            failures.push(format!(
                "{path} ({family}): {} plaintext bytes (tshark {want}), {} records decrypted, {} failed: {:?}",
                got.plaintext_bytes, got.decrypted, got.failed, got.errors
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every TCP capture in the matrix whose keys we hold and whose suite we can decrypt: same bytes as tshark, and no
/// record fails authentication. ARIA suites and captures without usable keys must decrypt nothing.
#[test]
fn whole_matrix_matches_tshark_byte_counts() {
    let (dir, entries) = expected_entries();
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in &entries {
        let path = entry["path"].as_str().unwrap_or_default();
        if entry["transport"] != "tcp" || path == "wireshark-tls13-rfc8446/tls13-rfc8446.pcap" {
            // The RFC 8446 pair (0-RTT) is covered by its own test below.
            continue;
        }
        if path == "derived-dsb/tls13-rfc8446-dsb.pcapng" {
            continue;
        }
        // Beyond this record-layer harness, decoded by the dissector in captures.rs: record compression sits
        // above the cipher, the harness takes IP lengths as given, and its hello tracking stops at a
        // HelloRetryRequest.
        if DISSECTOR_ONLY.contains(&path) {
            continue;
        }
        let keys = keys_for(&dir, entry);
        let got = decrypt_capture(&dir.join(path), keys).unwrap_or_else(|e| panic!("{path}: {e}"));
        let want = expected_bytes(&entries, entry);
        checked += 1;
        if got.plaintext_bytes != want || got.failed != 0 {
            failures.push(format!(
                "{path}: {} plaintext bytes (tshark {want}), {} records failed: {:?}",
                got.plaintext_bytes, got.failed, got.errors
            ));
        }
    }
    assert!(checked > 150, "only {checked} captures checked");
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}

/// RFC 8446 pair: 1-RTT then PSK resumption with 0-RTT early data. With the full keys everything decrypts; with
/// the "noearly" keys the early data must fail (be counted as not decrypted) and the rest must still decrypt.
#[test]
fn tls13_early_data_with_and_without_the_early_secret() {
    let (dir, entries) = expected_entries();
    let path = "wireshark-tls13-rfc8446/tls13-rfc8446.pcap";
    let entry = entries.iter().find(|e| e["path"] == path).expect("entry");
    let want = expected_bytes(&entries, entry);
    let full = decrypt_capture(&dir.join(path), keys_for(&dir, entry)).expect("decode");
    assert_eq!((full.plaintext_bytes, full.failed), (want, 0), "{:?}", full.errors);

    assert!(full.early_bytes > 0, "the 0-RTT request must decrypt with CLIENT_EARLY_TRAFFIC_SECRET");

    let text = std::fs::read_to_string(dir.join("wireshark-tls13-rfc8446/tls13-rfc8446-noearly.keys")).expect("keys");
    let keys = Keys { log: KeyLog::parse(&text).0, ..Keys::default() };
    let partial = decrypt_capture(&dir.join(path), keys).expect("decode");
    assert!(partial.undecryptable >= 1, "the early data record must be reported as undecryptable");
    assert_eq!(partial.failed, 0, "{:?}", partial.errors);
    assert_eq!((partial.plaintext_bytes + full.early_bytes, partial.early_bytes), (want, 0), "{:?}", partial.errors);

    let dsb = decrypt_capture(&dir.join("derived-dsb/tls13-rfc8446-dsb.pcapng"), Keys::default()).expect("decode");
    assert_eq!((dsb.plaintext_bytes, dsb.failed), (want, 0), "{:?}", dsb.errors);
}

/// The RSA key of the tintinweb pair does not match the second capture: no premaster, nothing decrypted, and no
/// garbage "plaintext".
#[test]
fn wrong_rsa_key_recovers_no_premaster() {
    let (dir, _) = expected_entries();
    let pem = std::fs::read_to_string(dir.join("rsa-kex-scapy-ssl_tls/openssl_1_0_1_f_server.pem")).expect("pem");
    let keys = Keys { rsa: Some(RsaKey::from_pem(&pem).expect("key")), ..Keys::default() };
    let got = decrypt_capture(&dir.join("rsa-kex-scapy-ssl_tls/RSA_WITH_AES_128_CBC_SHA.pcap"), keys).expect("decode");
    assert_eq!((got.decrypted, got.plaintext_bytes, got.failed), (0, 0, 0));
    assert!(got.errors.iter().any(|e| e.contains("premaster")), "{:?}", got.errors);
}

/// The same server key as PKCS#8 (`openssl pkey` converts it; openssl is one of the test peers) decrypts the
/// capture exactly as the PKCS#1 original does.
#[test]
fn rsa_key_as_pkcs8_decrypts_like_pkcs1() {
    let (dir, entries) = expected_entries();
    let pem = dir.join("rsa-kex-scapy-ssl_tls/openssl_1_0_1_f_server.pem");
    let out = std::process::Command::new("openssl").arg("pkey").arg("-in").arg(&pem).output().expect("run openssl");
    assert!(out.status.success(), "openssl pkey: {}", String::from_utf8_lossy(&out.stderr));
    let pkcs8 = String::from_utf8(out.stdout).expect("PEM text");
    assert!(pkcs8.contains("-----BEGIN PRIVATE KEY-----"));
    let key = RsaKey::from_pem(&pkcs8).expect("PKCS#8 RSA key");
    assert_eq!(key.bits(), RsaKey::from_pem(&std::fs::read_to_string(&pem).expect("pem")).expect("PKCS#1").bits());

    let path = "rsa-kex-scapy-ssl_tls/RSA_WITH_AES_128_CBC_SHA_w_key.pcap";
    let entry = entries.iter().find(|e| e["path"] == path).expect("entry");
    let keys = Keys { rsa: Some(key), ..Keys::default() };
    let got = decrypt_capture(&dir.join(path), keys).expect("decode");
    assert_eq!((got.plaintext_bytes, got.failed), (expected_bytes(&entries, entry), 0), "{:?}", got.errors);
}
