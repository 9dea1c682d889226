//! `tlskit dump` on the odd captures people have (tests/captures/tlskit-made): old RSA keys, compression,
//! offloaded packets, segments after the close, TLS 1.3 drafts, encrypted alerts; compared with tshark where
//! it answers.

#[path = "../../wire/tests/support/captures.rs"]
mod support_captures;

mod common;

use std::process::{Command, Output};
use support_captures::captures_dir;

fn tlskit() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlskit"));
    cmd.env_remove("SSLKEYLOGFILE");
    cmd
}

fn made(file: &str) -> std::path::PathBuf {
    captures_dir().join("tlskit-made").join(file)
}

fn dump(args: &[&str], key: Option<&str>, capture: &str) -> Output {
    let mut cmd = tlskit();
    cmd.arg("dump").args(args);
    if let Some(key) = key {
        cmd.arg("-k").arg(made(key));
    }
    let out = cmd.arg(made(capture)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn tshark_fields(capture: &std::path::Path, opts: &[&str], filter: &str, field: &str) -> Vec<String> {
    common::require_packages(&["tshark"]);
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(capture)
        .args(opts)
        .args(["-Y", filter, "-T", "fields", "-e", field])
        .output()
        .unwrap();
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

#[test]
fn a_1024_bit_key_decrypts_with_a_warning_and_a_bad_key_still_dissects() {
    let out = dump(&["--follow", "1"], Some("rsa1024.key"), "rsa1024-tls10-aes128sha.pcap");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1024-bit RSA key"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(out.stdout.starts_with(b"GET /index.html HTTP/1.0\r\n"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("HTTP/1.0 200 ok"));

    // A key that cannot be used: one line, and the capture is still dissected (without decryption).
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n").unwrap();
    let out = tlskit()
        .args(["dump", "--summary", "-k"])
        .arg(bad.path())
        .arg(made("rsa1024-tls10-aes128sha.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("dissecting without this key"), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ClientHello") && text.contains("Summary: 1 TLS connection(s)"), "{text}");
}

#[test]
fn deflate_compressed_records_are_inflated_and_the_summary_says_so() {
    let out = dump(
        &["--json", "-d", "-l", made("compressed-deflate.keys").to_str().unwrap()],
        None,
        "compressed-deflate.pcap",
    );
    let events = json_lines(&out);
    let end = events.iter().find(|e| e["event"] == "connection_end").unwrap();
    assert_eq!(end["compression"], "DEFLATE");
    assert_eq!(end["handshake_messages"]["Finished"], 2, "compressed Finished messages are read");
    let alerts: Vec<_> = events.iter().filter(|e| e["event"] == "alert").map(|e| e["description"].clone()).collect();
    assert_eq!(alerts, ["close_notify", "close_notify"], "compressed alerts decode as what they are");
    let data: String =
        events.iter().filter(|e| e["event"] == "application_data").map(|e| e["data"].as_str().unwrap()).collect();
    assert!(data.starts_with("GET /compressed HTTP/1.1\r\n"), "{data}");
    // tshark decompresses the same records: same plaintext length per direction.
    let keylog = format!("tls.keylog_file:{}", made("compressed-deflate.keys").display());
    let methods = tshark_fields(&made("compressed-deflate.pcap"), &["-o", &keylog], "http", "http.request.method");
    assert_eq!(methods, ["GET"]);
    assert_eq!(end["plaintext_bytes_c2s"].as_u64().unwrap() + end["plaintext_bytes_s2c"].as_u64().unwrap(), 1712);
    // The same capture with the 1024-bit RSA key instead of the key log.
    let out = dump(&["--follow", "1"], Some("rsa1024.key"), "compressed-deflate.pcap");
    assert!(out.stdout.starts_with(b"GET /compressed HTTP/1.1\r\n"));
}

#[test]
fn offloaded_ipv4_length_zero_uses_the_captured_length_and_is_counted() {
    let out = dump(&["--summary"], Some("rsa1024.key"), "ipv4-len0.pcap");
    let text = String::from_utf8_lossy(&out.stdout);
    // The capture zeroed the length of every packet the server sent (tshark shows the captured length there).
    let offloaded = tshark_fields(&made("ipv4-len0.pcap"), &[], "tcp.srcport == 44302", "frame.number").len();
    assert!(offloaded > 5);
    assert!(
        text.contains(&format!("IP length 0 (segmentation offload on the capturing host): {offloaded} packet(s)")),
        "{text}"
    );
    assert!(text.contains("decrypted: 1423 bytes"), "{text}");
}

#[test]
fn late_segments_after_fin_belong_to_the_closed_connection() {
    let out = dump(&["--json"], Some("rsa1024.key"), "after-fin.pcap");
    let events = json_lines(&out);
    let ends: Vec<_> = events.iter().filter(|e| e["event"] == "connection_end").collect();
    assert_eq!(ends.len(), 1, "no phantom mid-stream connection");
    assert_eq!(ends[0]["plaintext_bytes_s2c"], 1376, "the late response is the real connection's");
    // The retransmitted encrypted alert after the close is not read as a plaintext alert.
    assert!(events.iter().filter(|e| e["event"] == "alert").all(|e| e["description"] == "close_notify"));
}

#[test]
fn an_alert_left_encrypted_is_an_alert_event_with_null_level() {
    let out = dump(&["--json"], None, "rsa1024-tls10-aes128sha.pcap");
    let alerts: Vec<_> = json_lines(&out).into_iter().filter(|e| e["event"] == "alert").collect();
    assert_eq!(alerts.len(), 2, "one encrypted close_notify each way");
    assert!(alerts.iter().all(|a| a["level"].is_null() && a["description"].is_null()), "{alerts:?}");
    let text = String::from_utf8_lossy(&dump(&[], None, "rsa1024-tls10-aes128sha.pcap").stdout).into_owned();
    assert_eq!(text.matches("Alert (encrypted)").count(), 2, "{text}");
}

#[test]
fn tls13_drafts_are_named_and_parsed() {
    let text = String::from_utf8_lossy(&dump(&[], None, "tls13-drafts.pcap").stdout).into_owned();
    assert!(text.contains("ServerHello TLSv1.3-draft18 TLS_AES_128_GCM_SHA256"), "{text}");
    assert!(text.contains("ServerHello TLSv1.3-draft23 TLS_AES_128_GCM_SHA256"), "{text}");
    assert!(text.contains("TLSv1.3-draft18 (a pre-RFC TLS 1.3 draft) is not decrypted"), "{text}");
    assert!(!text.contains("malformed"), "{text}");
    // tshark names the same versions.
    let versions = tshark_fields(&made("tls13-drafts.pcap"), &[], "tls.handshake.type == 2", "tls.handshake.version");
    assert_eq!(versions, ["0x7f12", "0x0303"]);
}

#[test]
fn the_old_session_id_key_log_line_decrypts() {
    // tshark's own `--export-tls-session-keys` line for this capture (the CLIENT_RANDOM line it also writes left out).
    let keys = made("compressed-deflate.session-id.keys");
    let text = std::fs::read_to_string(&keys).unwrap();
    assert!(text.starts_with("RSA Session-ID:") && text.contains(" Master-Key:"), "{text}");
    let out = dump(&["--follow", "1", "-l", keys.to_str().unwrap()], None, "compressed-deflate.pcap");
    assert!(out.stdout.starts_with(b"GET /compressed HTTP/1.1\r\n"));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `tlskit dump ARGS` with stderr on a pseudo-terminal (Python's pty) and stdout on a pipe; returns what
/// the terminal showed.
fn stderr_on_a_terminal(args: &[&str]) -> String {
    common::require_packages(&["python3"]);
    let script = r#"
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.exit(p.wait() or sys.stdout.buffer.write(out) and 0)
"#;
    let out = Command::new("timeout")
        .args(["60", "python3", "-c", script, env!("CARGO_BIN_EXE_tlskit"), "dump"])
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_progress_bar_on_a_terminal_only_and_not_with_q() {
    let capture = made("rsa1024-tls10-aes128sha.pcap");
    let capture = capture.to_str().unwrap();
    let size = std::fs::metadata(capture).unwrap().len();
    let shown = stderr_on_a_terminal(&[capture]);
    assert!(shown.contains("17 packets, 1 connections"), "{shown:?}");
    assert!(shown.contains(&format!("{size} B/{size} B")) || shown.contains("KiB/"), "{shown:?}");
    assert_eq!(stderr_on_a_terminal(&["-q", capture]), "", "-q: no bar");
    // stderr not a terminal: nothing there.
    let out = dump(&[], None, "rsa1024-tls10-aes128sha.pcap");
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
