//! `tlskit dump` against real captures (tests/captures): extraction, JSON and its summary, hex, PSK, key
//! logs from SSLKEYLOGFILE, DTLS, truncation.

mod common;
#[path = "../../wire/tests/support/captures.rs"]
mod support_captures;

use std::process::Command;

use common::process::CommandExt as _;
use serde_json::Value;
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
        .output_checked();
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
        .output_checked();
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
        .output_checked();
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
        .output_checked();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("GET / HTTP/1.1"), "{text}");
    assert!(text.contains("s_server -accept 443"), "{text}");
    let out =
        tlskit().args(["dump", "-d", "-k"]).arg(&key).arg(c.join("RSA_WITH_AES_128_CBC_SHA.pcap")).output_checked();
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
    let out = tlskit().arg("dump").arg(&cut).output_checked();
    assert!(out.status.success(), "something was read: exit 0");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ClientHello"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated at byte offset"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(&cut, b"not a capture at all").unwrap();
    let out = tlskit().arg("dump").arg(&cut).output_checked();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng file"));
}

#[test]
fn pcapng_with_embedded_secrets_needs_no_key_option() {
    let out = tlskit()
        .args(["dump", "--follow", "2"])
        .arg(captures_dir().join("derived-dsb/tls_nss_example-dsb.pcapng"))
        .output_checked();
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
        .output_checked();
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
        .output_checked();
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
        cmd.args(["dump", "--json", "--summary", "-d", "--http"]);
        if let Some(k) = keys {
            cmd.arg("-l").arg(dir.join(k));
        }
        let out = cmd.arg(dir.join(file)).output_checked();
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

/// The records `-x` shows: for each record line (`CONN N TIME (DELTA) DIR VERSION TYPE len=L …`) the declared
/// length and the bytes of its hex lines (`    OFFSET  HH HH …`).
fn hex_records(text: &str) -> Vec<(usize, Vec<u8>)> {
    let mut records: Vec<(usize, Vec<u8>)> = Vec::new();
    for line in text.lines() {
        if let Some(len) = line.split_whitespace().find_map(|w| w.strip_prefix("len=")) {
            if !line.starts_with(' ') {
                records.push((len.parse().expect("record length"), Vec::new()));
                continue;
            }
        }
        let mut words = line.split_whitespace();
        let is_hex_line = line.starts_with("    ")
            && words.next().is_some_and(|w| w.len() == 4 && w.chars().all(|c| c.is_ascii_hexdigit()));
        if let (true, Some((_, bytes))) = (is_hex_line, records.last_mut()) {
            bytes.extend(words.map(|w| u8::from_str_radix(w, 16).expect("hex byte")));
        }
    }
    records
}

#[test]
fn hex_shows_each_record_byte_for_byte_as_captured() {
    let file = captures_dir().join("ssldump-samples/tls1.2_aes256.pcap");
    let out = tlskit().args(["dump", "-x"]).arg(&file).output_checked();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let records = hex_records(&text);
    assert_eq!(records.len(), 16, "tshark's 16 records: {text}");
    let capture = std::fs::read(&file).unwrap();
    for (i, (len, bytes)) in records.iter().enumerate() {
        // The 5-byte header, then exactly the declared fragment length.
        assert_eq!(bytes.len(), 5 + len, "record {}: {text}", i + 1);
        assert_eq!(usize::from(u16::from_be_bytes([bytes[3], bytes[4]])), *len, "record {}", i + 1);
        assert!([20, 21, 22, 23].contains(&bytes[0]), "record {}: content type {}", i + 1, bytes[0]);
        // Every record of this capture sits in one segment: its bytes are in the file as they are shown.
        assert!(capture.windows(bytes.len()).any(|w| w == &bytes[..]), "record {} not in the capture", i + 1);
    }
    // The first is the ClientHello (handshake type 1).
    assert_eq!((records[0].1[0], records[0].1[5]), (22, 1));
}

#[test]
fn psk_decrypts_a_plain_psk_suite() {
    let dir = captures_dir();
    let expected: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let entry = expected.iter().find(|e| e["keys"]["psk_hex"].is_string()).expect("a PSK capture");
    let (file, psk) = (dir.join(entry["path"].as_str().unwrap()), entry["keys"]["psk_hex"].as_str().unwrap());
    let out = tlskit().args(["dump", "--psk", psk, "--follow", "1"]).arg(&file).output_checked();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().next(), entry["first_plaintext_line"].as_str(), "{text}");
    assert_eq!(out.stdout.len() as u64, entry["tshark_plaintext_bytes"].as_u64().unwrap(), "tshark's byte count");
    // Without the key (or with another) nothing is decrypted, and it says why.
    for args in [&["dump", "-d"][..], &["dump", "-d", "--psk", "00112233445566778899aabbccddeeff"]] {
        let out = tlskit().args(args).arg(&file).output_checked();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && !text.contains("GET / HTTP/1.1"), "{args:?}: {text}");
        assert!(text.contains("not decrypted") || text.contains("failed"), "{args:?}: {text}");
    }
    let out = tlskit().args(["dump", "--psk", "not hex"]).arg(&file).output_checked();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--psk must be hex"));
}

#[test]
fn json_summary_is_one_more_json_line() {
    let c = captures_dir().join("scapy");
    let out = tlskit()
        .args(["dump", "--json", "--summary", "-l"])
        .arg(c.join("tls_nss_example.keys.txt"))
        .arg(c.join("tls_nss_example.pcap"))
        .output_checked();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary", "{summary}");
    assert_eq!(lines.iter().filter(|v| v["event"] == "summary").count(), 1);
    assert_eq!((&summary["conn"], &summary["dir"], &summary["ts"]), (&Value::Null, &Value::Null, &Value::Null));
    assert_eq!(summary["connections"], 2);
    assert_eq!(summary["resumed_connections"], 0);
    assert_eq!(summary["plaintext_bytes"], 3618, "tshark's count");
    assert_eq!(summary["versions"], serde_json::json!({"TLSv1.2": 1, "TLSv1.3": 1}));
    assert_eq!((&summary["failed_records"], &summary["undecrypted_records"]), (&0.into(), &0.into()));
    // The totals are those of the connection_end lines.
    let ends: Vec<&Value> = lines.iter().filter(|v| v["event"] == "connection_end").collect();
    let bytes: u64 = ends
        .iter()
        .map(|e| e["plaintext_bytes_c2s"].as_u64().unwrap() + e["plaintext_bytes_s2c"].as_u64().unwrap())
        .sum();
    assert_eq!((ends.len(), bytes), (2, 3618));
}

#[test]
fn keylog_defaults_to_sslkeylogfile() {
    let c = captures_dir().join("ssldump-samples");
    let run = |env: Option<&std::path::Path>, extra: &[&std::ffi::OsStr]| {
        let mut cmd = tlskit();
        if let Some(file) = env {
            cmd.env("SSLKEYLOGFILE", file);
        }
        let out = cmd.args(["dump", "--follow", "1"]).args(extra).arg(c.join("tls1.3_aes128.pcap")).output_checked();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let keys = c.join("log.txt");
    let from_env = run(Some(&keys), &[]);
    assert!(from_env.starts_with(b"hello"), "{}", String::from_utf8_lossy(&from_env));
    assert_eq!(from_env.len(), 25, "tshark's byte count");
    // The same as -l; -l wins over the environment; without either nothing is decrypted.
    assert_eq!(run(None, &["-l".as_ref(), keys.as_os_str()]), from_env);
    let empty = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(run(Some(empty.path()), &["-l".as_ref(), keys.as_os_str()]), from_env);
    assert!(run(Some(empty.path()), &[]).is_empty());
    assert!(run(None, &[]).is_empty());
}

#[test]
fn dtls_1_0_and_1_2_captures_decrypt_as_tshark_reads_them() {
    let c = captures_dir().join("openssl-dtls");
    for (name, version) in [("dtls1_0", "DTLSv1.0"), ("dtls1_2", "DTLSv1.2")] {
        let out = tlskit()
            .args(["dump", "--json", "-d", "-l"])
            .arg(c.join(format!("{name}.keys")))
            .arg(c.join(format!("{name}.pcap")))
            .output_checked();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<Value> =
            String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let end = lines.iter().find(|v| v["event"] == "connection_end").expect("one connection");
        assert_eq!(lines.iter().filter(|v| v["event"] == "connection_end").count(), 1, "{name}");
        assert_eq!(end["version"], version, "{name}");
        assert_eq!((&end["client"], &end["sni"]), (&end["client"], &"localhost".into()), "{name}");
        assert!(end["server"].as_str().unwrap().starts_with("127.0.0.1:2443"), "{name}: {end}");
        // tshark 4.0: 20 records; the cookie exchange; the Certificate (3 fragments) and the ServerKeyExchange
        // (2 fragments) each once; with the key log, both encrypted Finished messages.
        assert_eq!(
            end["records"],
            serde_json::json!({"handshake": 14, "change_cipher_spec": 2, "application_data": 2, "alert": 2}),
            "{name}"
        );
        let hs = &end["handshake_messages"];
        assert_eq!((&hs["ClientHello"], &hs["HelloVerifyRequest"]), (&2.into(), &1.into()), "{name}: {hs}");
        for one in ["ServerHello", "Certificate", "ServerKeyExchange", "ServerHelloDone", "ClientKeyExchange"] {
            assert_eq!(hs[one], 1, "{name} {one}: {hs}");
        }
        assert_eq!(hs["Finished"], 2, "{name}: the encrypted Finished of each side: {hs}");
        // Every protected record decrypted: the two Finished, the two lines, the two close_notify alerts.
        let protected: Vec<&Value> =
            lines.iter().filter(|v| v["event"] == "record" && v["encrypted"] == true).collect();
        assert_eq!(protected.len(), 6, "{name}: {protected:?}");
        assert!(protected.iter().all(|r| r["decrypted"] == true), "{name}: {protected:?}");
        assert_eq!((&end["undecrypted_records"], &end["failed_records"]), (&0.into(), &0.into()), "{name}: {end}");
        // The plaintext is what make.sh sent, one line each way (tshark's 66 bytes).
        let data: Vec<(&str, &str)> = lines
            .iter()
            .filter(|v| v["event"] == "application_data")
            .map(|v| (v["dir"].as_str().unwrap(), v["data"].as_str().unwrap_or_default()))
            .collect();
        let (client, server) =
            (format!("hello over {name} from s_client\n"), format!("hello over {name} from s_server\n"));
        assert_eq!(data, [("c2s", client.as_str()), ("s2c", server.as_str())], "{name}");
        assert_eq!((&end["plaintext_bytes_c2s"], &end["plaintext_bytes_s2c"]), (&33.into(), &33.into()), "{name}");
        let alerts: Vec<(&Value, &Value)> =
            lines.iter().filter(|v| v["event"] == "alert").map(|v| (&v["level"], &v["description"])).collect();
        let close = (&Value::from("warning"), &Value::from("close_notify"));
        assert_eq!(alerts, [close, close], "{name}: the decrypted close_notify of each side");
        let versions: std::collections::BTreeSet<&str> =
            lines.iter().filter(|v| v["event"] == "record").filter_map(|v| v["version"].as_str()).collect();
        assert!(versions.contains(version) && versions.iter().all(|v| v.starts_with("DTLS")), "{versions:?}");
        let suite = if name == "dtls1_0" { "CBC_SHA" } else { "GCM_SHA256" };
        assert!(end["cipher_suite"].as_str().unwrap().ends_with(suite), "{name}: {end}");
    }
}
