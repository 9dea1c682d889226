//! `tlskit dump` against real third-party captures (tests/captures): extraction, JSON, truncation.

#[path = "../../wire/tests/support/captures.rs"]
mod support_captures;

use std::process::Command;
use support_captures::captures_dir;

fn tlskit() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlskit"));
    cmd.env_remove("SSLKEYLOGFILE");
    cmd
}

#[test]
fn extract_writes_plaintext_and_index_for_tls13_with_0rtt() {
    let c = captures_dir().join("wireshark-tls13-rfc8446");
    let dir = tempfile::tempdir().unwrap();
    let out = tlskit()
        .args(["dump", "-l"])
        .arg(c.join("tls13-rfc8446.keys"))
        .arg("--extract")
        .arg(dir.path())
        .arg(c.join("tls13-rfc8446.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let conns = index["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0]["id"], 1);
    assert_eq!(conns[0]["server"], "10.9.0.2:443");
    assert_eq!(conns[0]["version"], "TLSv1.3");
    assert_eq!(conns[0]["cipher_suite"], "TLS_AES_128_GCM_SHA256");
    let c2s = std::fs::read(dir.path().join(conns[0]["c2s"].as_str().unwrap())).unwrap();
    assert!(c2s.starts_with(b"GET /first HTTP/1.1\r\n"));
    // Connection 2: the accepted 0-RTT request comes first, then the 1-RTT one.
    let c2s = String::from_utf8(std::fs::read(dir.path().join("2-c2s.bin")).unwrap()).unwrap();
    assert!(c2s.starts_with("GET /early HTTP/1.1"), "{c2s}");
    assert!(c2s.contains("GET /second HTTP/1.1"), "{c2s}");
    let total: u64 = (1..=2)
        .flat_map(|i| ["c2s", "s2c"].map(move |d| format!("{i}-{d}.bin")))
        .map(|f| std::fs::metadata(dir.path().join(f)).unwrap().len())
        .sum();
    assert_eq!(total, 424, "tshark recovers 424 plaintext bytes from this capture");
}

#[test]
fn without_early_secret_the_0rtt_request_is_reported_and_the_rest_decrypts() {
    let c = captures_dir().join("wireshark-tls13-rfc8446");
    let out = tlskit()
        .args(["dump", "-d", "-l"])
        .arg(c.join("tls13-rfc8446-noearly.keys"))
        .arg(c.join("tls13-rfc8446.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("GET /early"), "{text}");
    assert!(text.contains("not decrypted: no CLIENT_EARLY_TRAFFIC_SECRET"), "{text}");
    assert!(text.contains("GET /second HTTP/1.1"), "{text}");
}

#[test]
fn json_lines_parse_and_carry_the_fingerprints() {
    let c = captures_dir().join("ssldump-samples");
    let out = tlskit()
        .args(["dump", "--json", "-l"])
        .arg(c.join("log.txt"))
        .arg(c.join("tls1.2_aes256.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let end = lines.iter().find(|v| v["event"] == "connection_end").unwrap();
    assert_eq!(end["ja3"], "871a754af286dfb70c1b53c6887c62e0");
    assert_eq!(end["ja3s"], "abade5a4a7f42baf54766e5d108283b6");
    assert_eq!(end["plaintext_bytes_c2s"].as_u64().unwrap() + end["plaintext_bytes_s2c"].as_u64().unwrap(), 32);
    assert_eq!(lines.iter().filter(|v| v["event"] == "record").count(), 16);
}

#[test]
fn rsa_key_decrypts_and_wrong_key_is_reported_not_garbage() {
    let c = captures_dir().join("rsa-kex-scapy-ssl_tls");
    let key = c.join("openssl_1_0_1_f_server.pem");
    let out = tlskit()
        .args(["dump", "--follow", "1", "-k"])
        .arg(&key)
        .arg(c.join("RSA_WITH_AES_128_CBC_SHA_w_key.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("GET / HTTP/1.1"), "{text}");
    assert!(text.contains("s_server -accept 443"), "{text}");
    let out =
        tlskit().args(["dump", "-d", "-k"]).arg(&key).arg(c.join("RSA_WITH_AES_128_CBC_SHA.pcap")).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("(decrypted)"), "{text}");
    assert!(text.contains("not decrypted") || text.contains("failed to decrypt"), "{text}");
}

#[test]
fn truncated_capture_shows_what_it_can_and_says_where() {
    let src = std::fs::read(captures_dir().join("ssldump-samples/tls1.3_aes128.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &src[..src.len() / 2]).unwrap();
    let out = tlskit().arg("dump").arg(&cut).output().unwrap();
    assert!(out.status.success(), "something was read: exit 0");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ClientHello"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated at byte offset"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(&cut, b"not a capture at all").unwrap();
    let out = tlskit().arg("dump").arg(&cut).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng file"));
}

#[test]
fn pcapng_with_embedded_secrets_needs_no_key_option() {
    let out = tlskit()
        .args(["dump", "--follow", "2"])
        .arg(captures_dir().join("derived-dsb/tls_nss_example-dsb.pcapng"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("GET /pki/srv_key.pem HTTP/1.0"));
}

#[test]
fn undecryptable_suite_is_named_and_records_still_shown() {
    let c = captures_dir().join("tlskit-made");
    let out = tlskit().args(["dump", "-l"]).arg(c.join("seed-cbc.keys")).arg(c.join("seed-cbc.pcap")).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("TLS_RSA_WITH_SEED_CBC_SHA is not supported for decryption"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains(" ApplicationData len=")).count(), 3, "{text}");
}

#[test]
fn aria_gcm_records_decrypt_where_tshark_4_0_cannot() {
    let c = captures_dir().join("snet-keylog-matrix");
    let out = tlskit()
        .args(["dump", "--follow", "1", "-l"])
        .arg(c.join("TLS1_2_ARIA128-GCM-SHA256_auth.txt"))
        .arg(c.join("TLS1_2_ARIA128-GCM-SHA256_auth.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 2570);
    assert!(out.stdout.windows(256).any(|w| w.iter().all(|&b| b == b'A')), "the matrix's payload: runs of 'A'");
}

#[test]
fn summary_lists_versions_suites_fingerprints_and_bytes() {
    let c = captures_dir().join("scapy");
    let out = tlskit()
        .args(["dump", "--summary", "-l"])
        .arg(c.join("tls_nss_example.keys.txt"))
        .arg(c.join("tls_nss_example.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = &text[text.find("Summary:").expect("a summary")..];
    assert!(summary.starts_with("Summary: 2 TLS connection(s)"), "{summary}");
    assert!(summary.contains("TLSv1.2 x1, TLSv1.3 x1"), "{summary}");
    assert!(summary.contains("decrypted: 3618 bytes"), "{summary}");
    assert!(summary.contains("ja3=") && summary.contains("ja4=t1"), "{summary}");
}

#[test]
fn summary_counts_malformed_frames_and_decodes_the_rest() {
    let mut pcap = std::fs::read(captures_dir().join("ssldump-samples/tls1.2_aes256.pcap")).unwrap();
    let little_endian = pcap[..4] == [0xd4, 0xc3, 0xb2, 0xa1];
    let word = |v: u32| if little_endian { v.to_le_bytes() } else { v.to_be_bytes() };
    // Two Ethernet frames no decoder can read: a short header, then an IP header of version 7.
    let mut bad_ip = vec![0u8; 12];
    bad_ip.extend([0x08, 0x00, 0x70]);
    bad_ip.resize(40, 0);
    for frame in [&[1u8, 2, 3, 4, 5, 6][..], &bad_ip] {
        for field in [2_000_000_000, 0, frame.len() as u32, frame.len() as u32] {
            pcap.extend(word(field));
        }
        pcap.extend_from_slice(frame);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("with-bad-frames.pcap");
    std::fs::write(&file, &pcap).unwrap();
    let out = tlskit().args(["dump", "--summary"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = &text[text.find("Summary:").expect("a summary")..];
    assert!(summary.starts_with("Summary: 1 TLS connection(s)"), "{summary}");
    assert!(summary.contains("\n  malformed frames: 2 (last: bad IP version)\n"), "{summary}");
}

#[test]
fn json_fields_have_one_type_each_across_many_captures_dir() {
    let dir = captures_dir();
    let runs: [(&str, Option<&str>); 7] = [
        ("wireshark-tls13-rfc8446/tls13-rfc8446.pcap", Some("wireshark-tls13-rfc8446/tls13-rfc8446-noearly.keys")),
        ("scapy/tls_nss_example.pcap", Some("scapy/tls_nss_example.keys.txt")),
        ("sslv2-sslv3-parse-only/sslv2hello-sslv3.pcap", None),
        (
            "snet-keylog-matrix/TLS1_2_ARIA128-GCM-SHA256_auth.pcap",
            Some("snet-keylog-matrix/TLS1_2_ARIA128-GCM-SHA256_auth.txt"),
        ),
        ("ssldump-samples/tls1.3_keyupdates_aes256.pcap", Some("ssldump-samples/log.txt")),
        // HTTP/2 and HTTP/1.0 inside (--http), DEFLATE compression.
        ("ssldump-samples/tls1.3_curl_google.pcap", Some("ssldump-samples/log.txt")),
        ("tlskit-made/compressed-deflate.pcap", Some("tlskit-made/compressed-deflate.keys")),
    ];
    let mut types: std::collections::BTreeMap<String, std::collections::BTreeSet<&'static str>> = Default::default();
    for (file, keys) in runs {
        let mut cmd = tlskit();
        cmd.args(["dump", "--json", "-d", "--http"]);
        if let Some(k) = keys {
            cmd.arg("-l").arg(dir.join(k));
        }
        let out = cmd.arg(dir.join(file)).output().unwrap();
        assert!(out.status.success(), "{file}");
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for key in ["conn", "event", "dir", "ts"] {
                assert!(v.get(key).is_some(), "{key} missing in {line}");
            }
            for (k, val) in v.as_object().unwrap() {
                let t = match val {
                    serde_json::Value::Null => continue,
                    serde_json::Value::Bool(_) => "bool",
                    serde_json::Value::Number(n) if n.is_f64() => "float",
                    serde_json::Value::Number(_) => "integer",
                    serde_json::Value::String(_) => "string",
                    serde_json::Value::Array(_) => "array",
                    serde_json::Value::Object(_) => "object",
                };
                types.entry(k.clone()).or_default().insert(t);
            }
        }
    }
    let mixed: Vec<_> = types.iter().filter(|(_, t)| t.len() > 1).collect();
    assert!(mixed.is_empty(), "fields with more than one type: {mixed:?}");
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/dump-json.md")).unwrap();
    for key in types.keys() {
        assert!(doc.contains(&format!("`{key}`")), "field {key} is not documented in docs/dump-json.md");
    }
}
