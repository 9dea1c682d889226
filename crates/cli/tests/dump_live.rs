//! `tlskit dump -i lo FILTER` (the `live` feature, libpcap): a real `tlskit get` ↔ `tlskit serve` exchange
//! on the loopback interface is decoded as it happens. Capturing needs root (CAP_NET_RAW), as CI runs.
#![cfg(feature = "live")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{path, pki};

#[test]
fn live_capture_on_loopback_decodes_a_handshake_as_it_happens() {
    let (_pki_dir, pki) = pki();
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("hello.txt"), "hello over the wire\n").unwrap();
    let server = common::serve::Serve::start(
        www.path(),
        &["--cert", &path(&pki.server), "--key", &path(&pki.server_key), "--quiet"],
    );

    let filter = format!("tcp port {}", server.port);
    let mut dump = Command::new(env!("CARGO_BIN_EXE_tlskit"))
        .env_remove("SSLKEYLOGFILE")
        .args(["dump", "-i", "lo", &filter])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tlskit dump -i");
    let (tx, rx) = mpsc::channel();
    let stdout = dump.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // Fetch until the capture has seen a whole handshake: libpcap may need a moment to start.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let (mut client_hello, mut server_hello) = (false, false);
    while !(client_hello && server_hello) && Instant::now() < deadline {
        let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
            .env_remove("SSLKEYLOGFILE")
            .args(["get", "--cacert", &path(&pki.ca), &server.url_for("/hello.txt")])
            .output()
            .unwrap();
        assert!(out.status.success(), "tlskit get: {}", String::from_utf8_lossy(&out.stderr));
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            client_hello |= line.contains("ClientHello");
            server_hello |= line.contains("ServerHello");
            seen.push(line);
        }
    }
    let _ = dump.kill();
    let output = dump.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let seen = seen.join("\n");
    assert!(client_hello && server_hello, "no handshake decoded live.\nstdout:\n{seen}\nstderr:\n{stderr}");
    assert!(seen.contains("New TLS connection #1"), "{seen}");
    assert!(seen.contains(&format!("127.0.0.1:{}", server.port)), "{seen}");
    assert!(seen.contains("TLSv1.3"), "{seen}");
}
