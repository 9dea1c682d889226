//! `tlskit dump -i lo FILTER` (the `live` feature, libpcap): a real `tlskit get` ↔ `tlskit serve` exchange
//! on the loopback interface is decoded as it happens, and decrypted with the key log the server writes.
//!
//! Capturing needs root or CAP_NET_RAW. Without it these tests fail with that reason (they never pass
//! untested); `scripts/test` then leaves them out (`--skip live_capture`) and says so at the end of its run.
#![cfg(feature = "live")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::capture::require_capture;
use common::process::CommandExt as _;
use common::{path, pki};

/// A running `tlskit dump -i lo …`: its stdout lines as they come; killed on drop.
struct LiveDump {
    child: Child,
    lines: Receiver<String>,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl LiveDump {
    /// Starts the capture and waits until it says it is listening, so no packet after this is missed.
    fn start(args: &[&str]) -> LiveDump {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tlskit"))
            .env_remove("SSLKEYLOGFILE")
            .arg("dump")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tlskit dump -i");
        let lines = forward(child.stdout.take().unwrap());
        let stderr = forward(child.stderr.take().unwrap());
        let dump = LiveDump { child, lines, stderr, seen: Vec::new() };
        let listening = dump.stderr.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        assert!(listening.starts_with("tlskit dump: listening on lo"), "not capturing: {listening}");
        dump
    }

    /// Reads stdout until a line contains `needle` (at most 30 s); every line read is kept in `seen`.
    fn wait_for(&mut self, needle: &str) -> bool {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(30)) {
            let found = line.contains(needle);
            self.seen.push(line);
            if found {
                return true;
            }
        }
        false
    }

    fn text(&self) -> String {
        self.seen.join("\n")
    }
}

impl Drop for LiveDump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn forward(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn get(ca: &Path, url: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
        .env_remove("SSLKEYLOGFILE")
        .args(["get", "--http1.1", "--cacert", &path(ca), url])
        .output_checked();
    assert!(out.status.success(), "tlskit get: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn live_capture_on_loopback_decodes_a_handshake_as_it_happens() {
    require_capture();
    let (_pki_dir, pki) = pki();
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("hello.txt"), "hello over the wire\n").unwrap();
    let server = common::serve::Serve::start(
        www.path(),
        &["--cert", &path(&pki.server), "--key", &path(&pki.server_key), "--quiet"],
    );
    let mut dump = LiveDump::start(&["-i", "lo", "tcp", "port", &server.port.to_string()]);
    get(&pki.ca, &server.url_for("/hello.txt"));
    assert!(dump.wait_for("ServerHello"), "no handshake decoded live:\n{}", dump.text());
    let seen = dump.text();
    assert!(seen.contains("New TLS connection #1"), "{seen}");
    assert!(seen.contains(&format!("127.0.0.1:{}", server.port)), "{seen}");
    assert!(seen.contains("ClientHello") && seen.contains("TLSv1.3"), "{seen}");
    // Without keys nothing past the ServerHello is readable.
    assert!(!seen.contains("(decrypted)"), "{seen}");
}

#[test]
fn live_capture_with_the_servers_key_log_decrypts_as_it_happens() {
    require_capture();
    let (_pki_dir, pki) = pki();
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("hello.txt"), "hello over the wire, decrypted\n").unwrap();
    // The key log exists (empty) before the capture starts; the server appends to it at each handshake.
    let keys = www.path().join("keys.log");
    std::fs::write(&keys, "").unwrap();
    let server = common::serve::Serve::start(
        www.path(),
        &["--cert", &path(&pki.server), "--key", &path(&pki.server_key), "--keylog", &path(&keys), "--quiet"],
    );
    let filter = format!("tcp port {}", server.port);
    let mut dump = LiveDump::start(&["-d", "-l", &path(&keys), "-i", "lo", &filter]);
    get(&pki.ca, &server.url_for("/hello.txt"));
    assert!(dump.wait_for("hello over the wire, decrypted"), "response not decrypted live:\n{}", dump.text());
    let seen = dump.text();
    assert!(seen.contains("EncryptedExtensions") && seen.contains("(decrypted)"), "{seen}");
    assert!(seen.contains("GET /hello.txt"), "the request is decrypted too:\n{seen}");
}
