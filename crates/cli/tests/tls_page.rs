//! `/_tls` against an independent view of the same connections: curl and `openssl s_client` ask for the page
//! on loopback while tcpdump captures; `tlskit dump --json` of that capture must show the same offered lists
//! and fingerprints as the page returned, and tshark the same JA3 and JA3S.
//!
//! Capturing needs root or CAP_NET_RAW: without it the test fails with that reason, and `scripts/test` leaves
//! it out (`--skip live_capture`) and says so.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::capture::require_capture;
use common::process::{self, CommandExt as _};
use common::serve::Serve;
use common::{path, pki, require_packages};
use serde_json::Value;

/// The ClientHello fields the page and the analyzer must agree on.
const OFFERED: &[&str] = &[
    "legacy_version",
    "versions",
    "cipher_suites",
    "supported_groups",
    "key_shares",
    "signature_algorithms",
    "alpn",
    "sni",
    "psk_modes",
    "ticket_offered",
    "psk_identities",
    "early_data",
    "extensions",
];

/// A running tcpdump, killed on drop (a failing test leaves none behind).
struct Tcpdump(Option<Child>);

impl Tcpdump {
    /// Stops it as a user would (SIGINT: it flushes and exits), and waits for it.
    fn stop(mut self) {
        let child = self.0.take().unwrap();
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        assert!(process::wait_status(child, Duration::from_secs(30)).is_some(), "tcpdump did not stop");
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// tcpdump writing every packet of `port` on lo to `file` as it comes (-U); started once it says it listens.
fn tcpdump(file: &Path, port: u16) -> Tcpdump {
    let mut child = Command::new(common::program("tcpdump"))
        .args(["-i", "lo", "-U", "-n", "-w", &path(file), "tcp", "port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcpdump");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    if !line.contains("listening on lo") {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tcpdump is not capturing: {line}");
    }
    Tcpdump(Some(child))
}

/// `tlskit dump --json FILE`: its objects.
fn dump_json(file: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tlskit")).args(["dump", "--json", &path(file)]).output_checked();
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Per client address: the `hello` of its ClientHello and ServerHello events and its `connection_end`.
#[derive(Default, Debug)]
struct Seen {
    client_hello: Option<Value>,
    server_hello: Option<Value>,
    end: Option<Value>,
}

fn by_client(objects: &[Value]) -> BTreeMap<String, Seen> {
    let mut clients: BTreeMap<u64, String> = BTreeMap::new();
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for v in objects {
        let conn = v["conn"].as_u64().unwrap_or_default();
        match v["event"].as_str() {
            Some("connection_start") => {
                clients.insert(conn, v["client"].as_str().unwrap_or_default().to_string());
            }
            Some(event) => {
                let Some(client) = clients.get(&conn) else { continue };
                let entry = seen.entry(client.clone()).or_default();
                match (event, v["message"].as_str()) {
                    ("handshake", Some("ClientHello")) => entry.client_hello = Some(v["hello"].clone()),
                    ("handshake", Some("ServerHello")) => entry.server_hello = Some(v["hello"].clone()),
                    ("connection_end", _) => entry.end = Some(v.clone()),
                    _ => {}
                }
            }
            None => {}
        }
    }
    seen
}

/// tshark's JA3 and JA3S per client port.
fn tshark_fingerprints(file: &Path) -> BTreeMap<String, (String, String)> {
    let out = Command::new("tshark")
        .args(["-n", "-r", &path(file), "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2", "-T", "fields"])
        .args(["-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tls.handshake.ja3", "-e", "tls.handshake.ja3s"])
        .output_checked();
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    let mut found: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [src, dst, ja3, ja3s] = f[..] else { continue };
        if !ja3.is_empty() {
            found.entry(src.to_string()).or_default().0 = ja3.to_string();
        }
        if !ja3s.is_empty() {
            found.entry(dst.to_string()).or_default().1 = ja3s.to_string();
        }
    }
    found
}

fn page_by_curl(server: &Serve, ca: &Path) -> Value {
    let (ok, body, err) =
        common::serve::curl(&["--cacert", &path(ca), "-H", "Accept: application/json", &server.url_for("/_tls")]);
    assert!(ok, "curl: {err}");
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)))
}

fn page_by_s_client(server: &Serve, ca: &Path) -> Value {
    let request = format!(
        "GET /_tls HTTP/1.1\r\nHost: localhost:{}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        server.port
    );
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &server.addr(), "-servername", "localhost", "-CAfile", &path(ca)])
        .args(["-verify_return_error", "-quiet", "-ign_eof"])
        .output_with_input(request.as_bytes(), process::LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no response: {text}"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn live_capture_of_curl_and_s_client_shows_what_tls_page_returned() {
    require_capture();
    require_packages(&["tcpdump", "tshark"]);
    let (_pki_dir, pki) = pki();
    let www = tempfile::tempdir().unwrap();
    let server = Serve::start(www.path(), &["--cert", &path(&pki.server), "--key", &path(&pki.server_key), "--quiet"]);
    let work = tempfile::tempdir().unwrap();
    let capture = work.path().join("tls.pcap");
    let tcpdump = tcpdump(&capture, server.port);
    let pages = [page_by_curl(&server, &pki.ca), page_by_s_client(&server, &pki.ca)];
    let clients: Vec<String> = pages.iter().map(|p| p["client"].as_str().unwrap().to_string()).collect();
    // Wait for the file to hold both handshakes (tcpdump writes each packet as it comes).
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let seen = by_client(&dump_json(&capture));
        let whole = clients.iter().all(|c| seen.get(c).is_some_and(|s| s.server_hello.is_some()));
        if whole || Instant::now() > deadline {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    tcpdump.stop();
    let tshark = tshark_fingerprints(&capture);
    for (page, client) in pages.iter().zip(&clients) {
        let who = format!("{client} ({})", if page["http_version"] == "HTTP/2" { "curl" } else { "s_client" });
        assert_eq!(page["client_hello_seen"], true, "{who}: {page}");
        let seen = seen.get(client).unwrap_or_else(|| panic!("{who}: not in the capture: {seen:?}"));
        let hello = seen.client_hello.as_ref().unwrap_or_else(|| panic!("{who}: no ClientHello in the capture"));
        for field in OFFERED {
            assert_eq!(page[*field], hello[*field], "{who}: {field} differs between /_tls and the capture");
        }
        assert!(!page["cipher_suites"].as_array().unwrap().is_empty(), "{who}: {page}");
        assert!(!page["extensions"].as_array().unwrap().is_empty(), "{who}: {page}");
        assert_eq!(page["sni"], "localhost", "{who}");
        let server_hello = seen.server_hello.as_ref().unwrap_or_else(|| panic!("{who}: no ServerHello captured"));
        for field in ["legacy_version", "versions", "cipher_suites", "key_shares", "extensions"] {
            assert_eq!(page["server_hello"][field], server_hello[field], "{who}: ServerHello {field} differs");
        }
        let end = seen.end.as_ref().unwrap_or_else(|| panic!("{who}: no connection_end"));
        for fingerprint in ["ja3", "ja3s", "ja4", "ja4s"] {
            assert!(page[fingerprint].is_string(), "{who}: no {fingerprint} on the page: {page}");
            assert_eq!(page[fingerprint], end[fingerprint], "{who}: {fingerprint} differs from tlskit dump's");
        }
        let port = client.rsplit(':').next().unwrap();
        let (ja3, ja3s) = tshark.get(port).unwrap_or_else(|| panic!("{who}: tshark saw no hello: {tshark:?}"));
        assert_eq!(page["ja3"].as_str(), Some(ja3.as_str()), "{who}: JA3 differs from tshark's");
        assert_eq!(page["ja3s"].as_str(), Some(ja3s.as_str()), "{who}: JA3S differs from tshark's");
    }
    // The two clients offer differently, and the page tells them apart.
    assert_ne!(pages[0]["ja4"], pages[1]["ja4"]);
}
