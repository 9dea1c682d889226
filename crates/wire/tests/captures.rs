//! Every capture of tests/captures/expected.json decoded: connection, record and handshake-message
//! counts, decrypted plaintext bytes and JA3 must equal the expected ones. Entries we do not (yet) match are
//! listed in KNOWN_FAILURES with the reason; the test fails if that list is wrong in either direction.

#[path = "support/captures.rs"]
mod support_captures;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use support_captures::captures_dir;

use tlskit_wire::capture::{self, file::CaptureReader, Analyzer, Handler};
use tlskit_wire::dissect::{Event, Summary};
use tlskit_wire::keys::{KeyLog, RsaKey};
use tlskit_wire::render::Connection;

/// Captures we do not decode as expected, and why.
const KNOWN_FAILURES: &[(&str, &str)] = &[
    (
        "tlskit-made/seed-cbc.pcap",
        "SEED-CBC is not decrypted: no maintained RustCrypto crate provides SEED (tlskit names the suite instead)",
    ),
    (
        "snet-keylog-matrix/ssl3_0.pcap",
        "tshark counts 2 TCP streams; the first is a refused connection (SYN, RST) without a TLS byte, which we do \
         not count as a TLS connection",
    ),
];

#[derive(Default)]
struct Totals {
    connections: u64,
    records: BTreeMap<String, u64>,
    handshake: BTreeMap<String, u64>,
    plaintext: u64,
    decrypted_records: u64,
    ja3: Vec<String>,
}

impl Handler for Totals {
    fn connection_start(&mut self, _: &Connection) {}
    fn event(&mut self, _: &Connection, _: &Event<'_>) {}
    fn connection_end(&mut self, _: &Connection, s: &Summary) {
        self.connections += 1;
        for (k, v) in &s.stats.records {
            // tshark counts an SSLv2-format ClientHello as protocol `ssl2`, not as a TLS record.
            if *k == tlskit_wire::dissect::SSLV2_RECORD {
                continue;
            }
            *self.records.entry(k.to_string()).or_default() += v;
        }
        for (k, v) in &s.stats.handshake {
            // tshark counts handshake types: a HelloRetryRequest is a ServerHello there.
            let k = if *k == "HelloRetryRequest" { "ServerHello" } else { k };
            *self.handshake.entry(k.to_string()).or_default() += v;
        }
        self.plaintext += s.stats.plaintext_bytes[0] + s.stats.plaintext_bytes[1];
        self.decrypted_records += s.stats.decrypted_records;
        self.ja3.extend(s.fingerprints.ja3.clone());
    }
}

/// Decodes one capture with the keys its entry names; returns what differs from the expectation.
fn check(dir: &std::path::Path, entry: &serde_json::Value, expected: &serde_json::Value) -> Result<(), String> {
    let path = entry["path"].as_str().unwrap_or_default();
    let keys = &entry["keys"];
    let keylog = Arc::new(RwLock::new(KeyLog::new()));
    if let Some(file) = keys["keylog"].as_str() {
        let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
        let (log, _problems) = KeyLog::parse(&text);
        keylog.write().unwrap().merge(log);
    }
    let rsa = match keys["rsa_private_key"].as_str() {
        Some(file) => {
            let pem = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
            Some(Arc::new(RsaKey::from_pem(&pem).map_err(|e| format!("{file}: {e}"))?))
        }
        None => None,
    };
    let psk = keys["psk_hex"].as_str().map(|h| hex::decode(h).unwrap());
    let mut analyzer = Analyzer::new(keylog.clone()).with_rsa_key(rsa).with_psk(psk);
    let mut reader = CaptureReader::open(&dir.join(path)).map_err(|e| e.to_string())?;
    let mut totals = Totals::default();
    let report = capture::run(
        &mut reader,
        &mut analyzer,
        &mut |text| keylog.write().unwrap().merge(KeyLog::parse_bytes(text).0),
        &mut totals,
    );
    if let Some(e) = report.error {
        return Err(format!("read error: {e}"));
    }
    let mut diffs = Vec::new();
    let want_conns = expected["connections"].as_u64().unwrap_or(0);
    if totals.connections != want_conns {
        diffs.push(format!("connections {} != {want_conns}", totals.connections));
    }
    let want_records: BTreeMap<String, u64> =
        serde_json::from_value(expected["records_by_content_type"].clone()).unwrap_or_default();
    let got_records: BTreeMap<String, u64> = totals.records.into_iter().filter(|(_, v)| *v > 0).collect();
    if got_records != want_records {
        diffs.push(format!("records {got_records:?} != {want_records:?}"));
    }
    let want_hs: BTreeMap<String, u64> =
        serde_json::from_value(expected["handshake_messages"].clone()).unwrap_or_default();
    if totals.handshake != want_hs {
        diffs.push(format!("handshake {:?} != {want_hs:?}", totals.handshake));
    }
    let want_plain = expected["tshark_plaintext_bytes"].as_u64().unwrap_or(0);
    if totals.plaintext != want_plain {
        diffs.push(format!("plaintext {} != {want_plain}", totals.plaintext));
    }
    if let (Some(_), Some(snet)) = (expected.get("beyond_tshark"), expected["snet_expected_decrypted_records"].as_u64())
    {
        if totals.decrypted_records != snet {
            diffs.push(format!("decrypted records {} != snet's {snet}", totals.decrypted_records));
        }
    }
    let want_ja3: Vec<String> = serde_json::from_value(expected["ja3"].clone()).unwrap_or_default();
    let mut got_ja3 = totals.ja3.clone();
    let mut want_sorted = want_ja3.clone();
    got_ja3.sort();
    want_sorted.sort();
    if got_ja3 != want_sorted {
        diffs.push(format!("ja3 {:?} != {want_ja3:?}", totals.ja3));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

/// The entry with its `beyond_tshark` fields (what a decoder that goes past tshark 4.0 must show) in place of
/// tshark's.
fn beyond_tshark(entry: &serde_json::Value) -> Option<serde_json::Value> {
    let over = entry.get("beyond_tshark")?.as_object()?;
    let mut merged = entry.clone();
    for (k, v) in over {
        merged[k] = v.clone();
    }
    Some(merged)
}

#[test]
fn every_capture_decodes_as_expected() {
    let dir = captures_dir();
    let text = std::fs::read_to_string(dir.join("expected.json")).expect("expected.json");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let by_path: BTreeMap<&str, &serde_json::Value> =
        entries.iter().map(|e| (e["path"].as_str().unwrap_or_default(), e)).collect();
    let mut unexpected = Vec::new();
    let mut checked = 0;
    for entry in &entries {
        let path = entry["path"].as_str().unwrap_or_default();
        // Derived pcapng files expect the same decode as the capture they were made from.
        let expected = if entry.get("connections").is_some() {
            entry
        } else {
            let source = if path.contains("rfc8446") {
                "wireshark-tls13-rfc8446/tls13-rfc8446.pcap"
            } else {
                "scapy/tls_nss_example.pcap"
            };
            by_path[source]
        };
        checked += 1;
        // Where tshark 4.0 cannot decrypt and we do, the entry says what it decodes to instead.
        let beyond = beyond_tshark(expected);
        let expected = beyond.as_ref().unwrap_or(expected);
        let known = KNOWN_FAILURES.iter().find(|(p, _)| *p == path);
        match (check(&dir, entry, expected), known) {
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Ok(()), Some((_, why))) => unexpected.push(format!("{path}: listed as failing ({why}) but passes")),
            (Err(diff), None) => unexpected.push(format!("{path}: {diff}")),
        }
    }
    assert_eq!(checked, entries.len());
    assert!(unexpected.is_empty(), "{} of {checked} captures differ:\n{}", unexpected.len(), unexpected.join("\n"));
}

/// JA4 of each ClientHello, as computed independently by the `ja4plus` 1.4.0 Python package (PyPI) over the
/// same captures.
#[test]
fn ja4_matches_an_independent_implementation() {
    let cases: [(&str, &[&str]); 4] = [
        ("ssldump-samples/tls1.3_curl_google.pcap", &["t13d3113h2_e8f1e7e78f70_ce5650b735ce"]),
        ("ssldump-samples/tls1.2_aes256.pcap", &["t12d280700_d943125447b4_e7e480e5a997"]),
        (
            "wireshark-tls13-rfc8446/tls13-rfc8446.pcap",
            &["t00i180900_e8a523a41297_78e6aca7449b", "t00i181200_e8a523a41297_9fc0c022da54"],
        ),
        (
            "scapy/tls_nss_example.pcap",
            &["t12i280600_d943125447b4_e7e480e5a997", "t13i040900_16476d049b0b_78f1d400d464"],
        ),
    ];
    #[derive(Default)]
    struct Ja4(Vec<String>);
    impl Handler for Ja4 {
        fn connection_start(&mut self, _: &Connection) {}
        fn event(&mut self, _: &Connection, _: &Event<'_>) {}
        fn connection_end(&mut self, _: &Connection, s: &Summary) {
            self.0.extend(s.fingerprints.ja4.clone());
        }
    }
    for (path, want) in cases {
        let mut reader = CaptureReader::open(&captures_dir().join(path)).unwrap();
        let mut analyzer = Analyzer::new(Arc::new(KeyLog::new()));
        let mut got = Ja4::default();
        capture::run(&mut reader, &mut analyzer, &mut |_| {}, &mut got);
        assert_eq!(got.0, want, "{path}");
    }
}
