//! Every capture of tests/captures/expected.json decoded: connection, record and handshake-message counts,
//! decrypted plaintext bytes, the first plaintext line, JA3 and each connection's alerts must equal the expected ones. The differences
//! we know of are listed in KNOWN_DIFFERENCES, each exactly: the test fails if a capture differs in any
//! other way, or no longer differs in the way listed. `SHA256SUMS` is checked first, so a damaged or missing
//! capture fails as such.

#[path = "support/captures.rs"]
mod support_captures;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use support_captures::captures_dir;

use tlskit_wire::capture::{self, file::CaptureReader, Analyzer, Handler};
use tlskit_wire::dissect::{Event, Summary};
use tlskit_wire::keys::{KeyLog, RsaKey};
use tlskit_wire::render::Connection;

/// Captures that differ from tshark's answer, the exact differences (as `check` words them), and why.
const KNOWN_DIFFERENCES: &[(&str, &[&str], &str)] = &[
    (
        "tlskit-made/seed-cbc.pcap",
        &[
            "handshake Finished 0 != 2",
            "plaintext 0 != 1712",
            "first plaintext line None != Some(\"GET /compressed HTTP/1.1\")",
            "alerts [[]] != [[(1, 0), (1, 0)]]",
        ],
        "SEED-CBC is not decrypted: no maintained RustCrypto crate provides SEED (tlskit names the suite instead), so \
         the encrypted close_notify alerts stay unread",
    ),
    (
        "snet-keylog-matrix/ssl3_0.pcap",
        &["connections 1 != 2"],
        "tshark counts 2 TCP streams; the first is a refused connection (SYN, RST) without a TLS byte, which we \
         do not count as a TLS connection",
    ),
];

/// `NAME KEY got != want` for each key whose count differs between two tallies.
fn count_diffs(name: &str, got: &BTreeMap<String, u64>, want: &BTreeMap<String, u64>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (g, w) = (got.get(k).copied().unwrap_or(0), want.get(k).copied().unwrap_or(0));
            (g != w).then(|| format!("{name} {k} {g} != {w}"))
        })
        .collect()
}

#[derive(Default)]
struct Totals {
    connections: u64,
    records: BTreeMap<String, u64>,
    handshake: BTreeMap<String, u64>,
    plaintext: u64,
    decrypted_records: u64,
    ja3: Vec<String>,
    /// Per connection (by id), the (level, description) of each alert read, plaintext or decrypted, in order.
    alerts: BTreeMap<u64, Vec<(u8, u8)>>,
    /// The stream (connection, direction) of the first decrypted byte, and its bytes up to a newline.
    first_stream: Option<(u64, usize)>,
    first_line: Vec<u8>,
    first_line_done: bool,
}

impl Handler for Totals {
    fn connection_start(&mut self, _: &Connection) {}
    fn event(&mut self, c: &Connection, e: &Event<'_>) {
        if let Event::Alert { alert: Some(alert), .. } = e {
            self.alerts.entry(c.id).or_default().push((alert.level.value(), alert.description.value()));
        }
        let Event::ApplicationData { dir, data, .. } = e else { return };
        let stream = *self.first_stream.get_or_insert((c.id, dir.index()));
        if stream != (c.id, dir.index()) || self.first_line_done {
            return;
        }
        match data.iter().position(|&b| b == b'\n') {
            Some(end) => {
                self.first_line.extend_from_slice(&data[..end]);
                self.first_line_done = true;
            }
            None => self.first_line.extend_from_slice(data),
        }
    }
    fn connection_end(&mut self, c: &Connection, s: &Summary) {
        self.connections += 1;
        self.alerts.entry(c.id).or_default();
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

impl Totals {
    /// The first line of decrypted text, without its line end (None when nothing was decrypted).
    fn first_plaintext_line(&self) -> Option<String> {
        self.first_stream?;
        let line = self.first_line.strip_suffix(b"\r").unwrap_or(&self.first_line);
        Some(String::from_utf8_lossy(line).into_owned())
    }
}

/// Decodes one capture with the keys its entry names; returns every way it differs from the expectation.
fn check(dir: &std::path::Path, entry: &serde_json::Value, expected: &serde_json::Value) -> Vec<String> {
    match decode(dir, entry, expected) {
        Ok(diffs) => diffs,
        Err(e) => vec![e],
    }
}

fn decode(
    dir: &std::path::Path,
    entry: &serde_json::Value,
    expected: &serde_json::Value,
) -> Result<Vec<String>, String> {
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
    diffs.extend(count_diffs("records", &totals.records, &want_records));
    let want_hs: BTreeMap<String, u64> =
        serde_json::from_value(expected["handshake_messages"].clone()).unwrap_or_default();
    diffs.extend(count_diffs("handshake", &totals.handshake, &want_hs));
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
    let want_line = expected["first_plaintext_line"].as_str().map(str::to_string);
    let got_line = totals.first_plaintext_line();
    if got_line != want_line {
        diffs.push(format!("first plaintext line {got_line:?} != {want_line:?}"));
    }
    // A null `ja3` means tshark gave none to compare with (DTLS).
    if let Ok(want_ja3) = serde_json::from_value::<Vec<String>>(expected["ja3"].clone()) {
        let mut got_ja3 = totals.ja3.clone();
        let mut want_sorted = want_ja3.clone();
        got_ja3.sort();
        want_sorted.sort();
        if got_ja3 != want_sorted {
            diffs.push(format!("ja3 {:?} != {want_ja3:?}", totals.ja3));
        }
    }
    // tshark's alerts: per connection carrying TLS, in stream order, as (level, description).
    let want_alerts: Vec<Vec<(u8, u8)>> = expected["alerts"]
        .as_array()
        .ok_or("expected.json gives no alerts")?
        .iter()
        .map(|conn| {
            conn.as_array()
                .into_iter()
                .flatten()
                .map(|a| (a["level"].as_u64().unwrap_or(256) as u8, a["description"].as_u64().unwrap_or(256) as u8))
                .collect()
        })
        .collect();
    let got_alerts: Vec<Vec<(u8, u8)>> = totals.alerts.into_values().collect();
    if got_alerts != want_alerts {
        diffs.push(format!("alerts {got_alerts:?} != {want_alerts:?}"));
    }
    Ok(diffs)
}

/// Every file `SHA256SUMS` lists has that digest, and every file of the directory is listed: what is wrong
/// with the capture set, one line per file.
fn checksum_problems(dir: &std::path::Path) -> Vec<String> {
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("tests/captures/SHA256SUMS");
    let mut problems = Vec::new();
    let mut listed = std::collections::BTreeSet::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let Some((want, name)) = line.split_once("  ") else {
            problems.push(format!("SHA256SUMS: unreadable line {line:?}"));
            continue;
        };
        let name = name.trim_start_matches("./");
        listed.insert(dir.join(name));
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => {
                let got = hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes));
                if got != want {
                    problems.push(format!("{name}: SHA-256 {got}, SHA256SUMS says {want}"));
                }
            }
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read captures dir").map(|e| e.expect("dir entry").path()) {
            if entry.is_dir() {
                stack.push(entry);
            } else if !listed.contains(&entry) && entry != dir.join("SHA256SUMS") {
                problems.push(format!("{}: not in SHA256SUMS", entry.strip_prefix(dir).unwrap_or(&entry).display()));
            }
        }
    }
    problems
}

#[test]
fn captures_match_their_sha256sums() {
    let problems = checksum_problems(&captures_dir());
    assert!(problems.is_empty(), "tests/captures is damaged or incomplete:\n{}", problems.join("\n"));
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
    // A damaged capture fails as such, not as a decoding difference.
    let problems = checksum_problems(&dir);
    assert!(problems.is_empty(), "tests/captures is damaged or incomplete:\n{}", problems.join("\n"));
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
        let diffs = check(&dir, entry, expected);
        let known: Vec<&str> =
            KNOWN_DIFFERENCES.iter().filter(|(p, ..)| *p == path).flat_map(|(_, d, _)| d.iter().copied()).collect();
        if diffs != known {
            unexpected.push(format!("{path}: differs by {diffs:?}, known to differ by {known:?}"));
        }
    }
    assert_eq!(checked, entries.len());
    assert!(unexpected.is_empty(), "{} of {checked} captures differ:\n{}", unexpected.len(), unexpected.join("\n"));
    for (path, ..) in KNOWN_DIFFERENCES {
        assert!(entries.iter().any(|e| e["path"] == *path), "{path} is listed as differing but not in expected.json");
    }
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
