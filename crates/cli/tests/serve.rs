//! `tlskit serve` against curl: byte-exact files over TLS 1.2 and 1.3, HTTP/1.1
//! and HTTP/2, ranges, conditionals, listings, headers, /_tls, the start-up
//! certificate, --trace, --keylog and graceful shutdown; both execution models.

mod common;
use common::pki;

use std::path::Path;
use std::time::Duration;

use common::serve::{curl, for_each_model, Serve};

/// A docroot with a text file, a binary file larger than one TLS record and a subdirectory.
fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from tlskit\n").unwrap();
    std::fs::write(dir.path().join("blob.bin"), pseudo_random(300_000)).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub").join("b.txt"), "bee\n").unwrap();
    std::fs::write(dir.path().join("sub").join("a <odd> name.txt"), "odd\n").unwrap();
    std::fs::create_dir(dir.path().join("sub").join("inner")).unwrap();
    dir
}

fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn curl_fetches_byte_exact_over_tls12_tls13_http1_http2() {
    let root = docroot();
    let (_d, pki) = pki();
    let blob = std::fs::read(root.path().join("blob.bin")).unwrap();
    for_each_model(|model| {
        let server =
            Serve::start(root.path(), &["--model", model, "--cert", p(&pki.server), "--key", p(&pki.server_key)]);
        for (tls, tls_flag) in [("TLSv1.2", "--tlsv1.2"), ("TLSv1.3", "--tlsv1.3")] {
            for (http, http_flag) in [("HTTP/1.1", "--http1.1"), ("HTTP/2", "--http2")] {
                let mut args = vec!["--cacert", p(&pki.ca), tls_flag, http_flag];
                if tls == "TLSv1.2" {
                    args.push("--tls-max");
                    args.push("1.2");
                }
                let url = server.url_for("blob.bin");
                let write_out = "%{http_version} %{ssl_verify_result}";
                let out = tempfile::NamedTempFile::new().unwrap();
                let mut full = args.clone();
                full.extend(["-o", p(out.path()), "-w", write_out, &url]);
                let (ok, stdout, stderr) = curl(&full);
                assert!(ok, "{model} {tls} {http}: {stderr}");
                assert_eq!(std::fs::read(out.path()).unwrap(), blob, "{model} {tls} {http}: bytes differ");
                let want_http = if http == "HTTP/2" { "2 " } else { "1.1 " };
                assert!(String::from_utf8_lossy(&stdout).starts_with(want_http), "{model} {tls} {http}");
                let (ok, body, stderr) = curl(&[&args[..], &[&server.url_for("hello.txt")]].concat());
                assert!(ok, "{stderr}");
                assert_eq!(body, b"hello from tlskit\n");
                let line = server.access_line("/hello.txt").unwrap();
                assert!(line.contains(" 200 "), "{line}");
            }
        }
        // The access lines carry the TLS facts of each connection.
        let lines = server.stdout_lines();
        let v12 = lines.iter().find(|l| l.contains("/blob.bin HTTP/1.1") && l.contains("TLSv1.2")).expect("1.2 line");
        assert!(v12.contains(" 200 300000 ") && v12.contains("TLS_ECDHE_ECDSA_WITH_"), "{v12}");
        assert!(v12.contains("sni=localhost") && v12.contains("alpn=http/1.1") && v12.contains(" full"), "{v12}");
        let v13 = lines.iter().find(|l| l.contains("/blob.bin HTTP/2\"") && l.contains("TLSv1.3")).expect("1.3 line");
        assert!(v13.contains("alpn=h2") && v13.contains("TLS_AES_"), "{v13}");
    });
}

#[test]
fn ranges_conditionals_and_listings() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model]);
        let ca = server.ca.clone().expect("start-up CA path printed");
        let ca = p(&ca);
        let blob = std::fs::read(root.path().join("blob.bin")).unwrap();

        // Single range: 206 with exactly those bytes.
        let (ok, body, err) = curl(&["--cacert", ca, "-r", "1000-1999", &server.url_for("blob.bin")]);
        assert!(ok, "{err}");
        assert_eq!(body, &blob[1000..2000]);
        let (_, head, _) =
            curl(&["--cacert", ca, "-r", "1000-1999", "-o", "/dev/null", "-D", "-", &server.url_for("blob.bin")]);
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        assert!(head.contains(" 206") && head.contains("content-range: bytes 1000-1999/300000"), "{head}");
        // Unsatisfiable: 416 with bytes */len.
        let (_, head, _) =
            curl(&["--cacert", ca, "-r", "400000-", "-o", "/dev/null", "-D", "-", &server.url_for("blob.bin")]);
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        assert!(head.contains(" 416") && head.contains("content-range: bytes */300000"), "{head}");
        // Multiple ranges: multipart/byteranges holding both parts.
        let (_, multi, _) = curl(&["--cacert", ca, "-r", "0-4,6-9", "-D", "-", &server.url_for("hello.txt")]);
        let multi = String::from_utf8_lossy(&multi);
        assert!(
            multi.contains("multipart/byteranges")
                && multi.contains("hello")
                && multi.contains("from")
                && multi.contains(" 206"),
            "{multi}"
        );

        // Conditionals: ETag and Last-Modified come back as 304.
        let (_, head, _) = curl(&["--cacert", ca, "-o", "/dev/null", "-D", "-", &server.url_for("hello.txt")]);
        let head = String::from_utf8_lossy(&head);
        let etag = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().starts_with("etag:").then(|| l[5..].trim().to_string()))
            .expect("ETag");
        let modified = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().starts_with("last-modified:").then(|| l[14..].trim().to_string()))
            .expect("Last-Modified");
        for header in [format!("If-None-Match: {etag}"), format!("If-Modified-Since: {modified}")] {
            let (_, out, _) = curl(&[
                "--cacert",
                ca,
                "-H",
                &header,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &server.url_for("hello.txt"),
            ]);
            assert_eq!(out, b"304", "{header}");
        }

        // Listings: HTML escapes names, JSON parses and lists dirs first.
        let (ok, html, _) = curl(&["--cacert", ca, &server.url_for("sub/")]);
        let html = String::from_utf8_lossy(&html);
        assert!(ok && html.contains("b.txt") && html.contains("a &lt;odd&gt; name.txt"), "{html}");
        assert!(!html.contains("<odd>"));
        let (ok, json, _) = curl(&["--cacert", ca, "-H", "Accept: application/json", &server.url_for("sub/")]);
        assert!(ok);
        let listing: serde_json::Value = serde_json::from_slice(&json).expect("JSON listing");
        let names: Vec<&str> =
            listing["entries"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(names.first().copied(), Some("inner"), "{listing}");
        assert!(names.contains(&"b.txt"));
        // HEAD: headers only.
        let (ok, body, _) = curl(&["--cacert", ca, "-I", &server.url_for("hello.txt")]);
        assert!(ok && String::from_utf8_lossy(&body).to_ascii_lowercase().contains("content-length: 18"));
    });
}

#[test]
fn security_headers_tls_page_and_start_up_certificate() {
    let root = docroot();
    let server = Serve::start(root.path(), &["--hsts", "31536000"]);
    let ca = server.ca.clone().expect("start-up CA printed");
    let ca = p(&ca);
    // The printed CA verifies the start-up certificate for localhost and 127.0.0.1.
    let (ok, body, err) = curl(&["--cacert", ca, &server.url_for("hello.txt")]);
    assert!(ok, "{err}");
    assert_eq!(body, b"hello from tlskit\n");
    let (ok, _, err) = curl(&["--cacert", ca, &format!("https://127.0.0.1:{}/hello.txt", server.port)]);
    assert!(ok, "{err}");
    let fp = server.stdout_lines().iter().find_map(|l| l.strip_prefix("certificate SHA-256: ").map(str::to_string));
    assert_eq!(fp.unwrap().len(), 32 * 3 - 1);

    for path in ["hello.txt", "_tls", "missing"] {
        let (_, head, _) = curl(&["--cacert", ca, "-o", "/dev/null", "-D", "-", &server.url_for(path)]);
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        assert!(head.contains("x-content-type-options: nosniff"), "{path}: {head}");
        assert!(head.contains("strict-transport-security: max-age=31536000"), "{path}: {head}");
        if path != "hello.txt" {
            assert!(head.contains("content-security-policy: default-src 'none'"), "{path}: {head}");
        }
    }

    let (ok, json, _) =
        curl(&["--cacert", ca, "--tlsv1.3", "--http1.1", "-H", "Accept: application/json", &server.url_for("_tls")]);
    assert!(ok);
    let info: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(info["session"]["version"], "TLSv1.3");
    assert_eq!(info["session"]["sni"], "localhost");
    assert_eq!(info["session"]["alpn"], "http/1.1");
    assert_eq!(info["session"]["resumed"], false);
    assert!(info["session"]["handshake_ms"].as_f64().unwrap() > 0.0);
    assert!(info["session"]["cipher_suite"].as_str().unwrap().starts_with("TLS_"));
    let (ok, html, _) = curl(&["--cacert", ca, &server.url_for("_tls")]);
    let html = String::from_utf8_lossy(&html);
    assert!(ok && html.contains("<table>") && html.contains("TLSv1.3") && html.contains("localhost"), "{html}");
}

#[test]
fn start_up_ca_lives_in_a_private_directory_of_its_own_removed_at_a_clean_stop() {
    use std::os::unix::fs::PermissionsExt;
    let root = docroot();
    let mut first = Serve::start(root.path(), &[]);
    let second = Serve::start(root.path(), &[]);
    let (a, b) = (first.ca.clone().unwrap(), second.ca.clone().unwrap());
    let dir = a.parent().unwrap().to_path_buf();
    // Its own directory, not one named by the PID: a killed server's stale one (or another user's) is never reused.
    assert_ne!(dir, b.parent().unwrap());
    assert!(!dir.to_string_lossy().ends_with(&first.pid().to_string()), "{}", dir.display());
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "{}", dir.display());
    assert!(std::fs::read_to_string(&a).unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(first.terminate(Duration::from_secs(30)).is_some_and(|s| s.success()), "stops on SIGTERM");
    assert!(!dir.exists(), "{} removed", dir.display());
}

#[test]
fn wrong_key_and_unknown_cipher_are_clear_start_up_errors() {
    let root = docroot();
    let (_d, pki) = pki();
    let err = Serve::try_start(root.path(), &["--cert", p(&pki.server), "--key", p(&pki.client_key)]).err().unwrap();
    assert!(err.contains("do not match"), "{err}");
    let err = Serve::try_start(root.path(), &["--ciphers", "RC4-MD5"]).err().unwrap();
    assert!(err.contains("RC4-MD5") && err.contains("TLS_AES_128_GCM_SHA256"), "{err}");
}

#[test]
fn ciphers_and_versions_are_honoured() {
    let root = docroot();
    let server = Serve::start(
        root.path(),
        &["--tls-versions", "1.2", "--ciphers", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"],
    );
    let ca = server.ca.clone().unwrap();
    let (ok, _, _) = curl(&["--cacert", p(&ca), "--tlsv1.3", &server.url_for("hello.txt")]);
    assert!(!ok, "TLS 1.3 must be refused");
    let (ok, out, err) =
        curl(&["--cacert", p(&ca), "-o", "/dev/null", "-w", "%{http_code}", &server.url_for("hello.txt")]);
    assert!(ok, "{err}");
    assert_eq!(out, b"200");
    let line = server.access_line("/hello.txt").unwrap();
    assert!(line.contains("TLSv1.2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"), "{line}");
}

#[test]
fn trace_decodes_handshakes_live_and_keylog_gets_secrets() {
    let root = docroot();
    let keylog = tempfile::NamedTempFile::new().unwrap();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model, "--trace", "--keylog", p(keylog.path())]);
        let ca = server.ca.clone().unwrap();
        for tls in [["--tlsv1.3", "--tls-max", "1.3"], ["--tlsv1.2", "--tls-max", "1.2"]] {
            let (ok, _, err) = curl(&[&["--cacert", p(&ca)][..], &tls, &[&server.url_for("hello.txt")]].concat());
            assert!(ok, "{err}");
        }
        // Each connection's trace ends with an `end:` line once it closes.
        server.wait_for_stdout_count(|l| l.starts_with("trace ") && l.contains(" end: "), 2, Duration::from_secs(10));
        let trace: Vec<String> = server.stdout_lines().into_iter().filter(|l| l.starts_with("trace ")).collect();
        let has = |needle: &str| trace.iter().any(|l| l.contains(needle));
        // The same line format as `tlskit dump`: records, then the messages in them.
        assert!(has("New TLS connection #"), "{trace:#?}");
        assert!(has("ClientHello") && has("sni=localhost"), "{trace:#?}");
        assert!(has("ServerHello TLSv1.3") && has("ServerHello TLSv1.2"), "{trace:#?}");
        // TLS 1.3's encrypted handshake, decrypted live from the connection's own secrets.
        assert!(has("EncryptedExtensions") && has("CertificateVerify"), "{trace:#?}");
        assert!(has("(decrypted)") && has("Finished verify_data="), "{trace:#?}");
        let ends: Vec<&String> = trace.iter().filter(|l| l.contains(" end: ")).collect();
        assert_eq!(ends.len(), 2, "{trace:#?}");
        assert!(ends.iter().all(|l| l.contains("failed=0") && l.contains("undecrypted=0")), "{ends:#?}");
    });
    let log = std::fs::read_to_string(keylog.path()).unwrap();
    assert!(log.lines().any(|l| l.starts_with("SERVER_HANDSHAKE_TRAFFIC_SECRET ")), "{log}");
    assert!(log.lines().any(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 ")), "{log}");
    assert!(log.lines().any(|l| l.starts_with("CLIENT_RANDOM ")), "{log}");
}

/// A download that stalls on our word: reads the response head, says `HEAD`, waits for a line on stdin,
/// then reads the rest into a file and says `BODY <bytes>` (or `CUT <bytes>` if the connection broke).
/// Its small receive window keeps the server mid-response for as long as it waits.
const PY_HELD_DOWNLOAD: &str = r#"
import socket, ssl, sys
port, ca, target, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
raw.settimeout(60)
raw.connect(("127.0.0.1", port))
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    data += s.recv(4096)
print("HEAD", flush=True)
sys.stdin.readline()
word, parts = "BODY", [data.split(b"\r\n\r\n", 1)[1]]
while True:
    try:
        chunk = s.recv(65536)
    except (ssl.SSLError, ConnectionResetError):
        word = "CUT"
        break
    if not chunk:
        break
    parts.append(chunk)
body = b"".join(parts)
open(out, "wb").write(body)
print(word, len(body), flush=True)
"#;

/// The held download, running: its stdout lines and its stdin.
struct HeldDownload {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl HeldDownload {
    fn start(server: &Serve, ca: &Path, target: &str, out: &Path) -> HeldDownload {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .args(["-c", PY_HELD_DOWNLOAD, &server.port.to_string(), p(ca), target, p(out)])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let held = HeldDownload { child, lines };
        assert_eq!(held.next_line(), "HEAD", "the download started");
        held
    }

    fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(60)).expect("a line from the download")
    }

    /// Lets it read the rest; returns its last line.
    fn finish(mut self) -> String {
        use std::io::Write;
        self.child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let last = self.next_line();
        assert!(common::process::wait_status(self.child, Duration::from_secs(60)).is_some_and(|s| s.success()));
        last
    }
}

#[test]
fn sigterm_and_sigint_let_an_in_flight_download_finish() {
    let root = docroot();
    let big = pseudo_random(8 << 20);
    std::fs::write(root.path().join("big.bin"), &big).unwrap();
    for_each_model(|model| {
        for (name, signal) in [("SIGTERM", libc::SIGTERM), ("SIGINT", libc::SIGINT)] {
            let mut server = Serve::start(root.path(), &["--model", model]);
            let ca = server.ca.clone().unwrap();
            let out = tempfile::NamedTempFile::new().unwrap();
            let download = HeldDownload::start(&server, &ca, "/big.bin", out.path());
            // The signal comes while the response is still being written; the server says it is stopping.
            common::process::signal(server.pid(), signal);
            let stopping = server.wait_for_stderr(|l| l.contains("shutting down"), Duration::from_secs(20));
            assert!(stopping.is_some(), "{model} {name}: {:?}", server.stderr_lines());
            assert_eq!(download.finish(), format!("BODY {}", big.len()), "{model} {name}: download cut");
            assert!(std::fs::read(out.path()).unwrap() == big, "{model} {name}: bytes differ");
            let status = server.wait_exit(Duration::from_secs(20)).expect("server exits after the download");
            assert!(status.success(), "{model} {name}: {status}");
            let lines = server.stdout_lines();
            let done = format!(" 200 {} ", big.len());
            assert!(lines.iter().any(|l| l.contains("/big.bin HTTP/") && l.contains(&done)), "{model}: {lines:?}");
            assert_eq!(lines.last().map(String::as_str), Some("tlskit serve: stopped"), "{model} {name}");
        }
    });
}

#[test]
fn shutdown_grace_expiry_cuts_a_download_that_would_not_finish() {
    let root = docroot();
    let big = pseudo_random(8 << 20);
    std::fs::write(root.path().join("big.bin"), &big).unwrap();
    for_each_model(|model| {
        let mut server = Serve::start(root.path(), &["--model", model, "--shutdown-grace", "1"]);
        let ca = server.ca.clone().unwrap();
        let out = tempfile::NamedTempFile::new().unwrap();
        let download = HeldDownload::start(&server, &ca, "/big.bin", out.path());
        // The download stays held: the server gives up on it after the 1 s grace (well within 20 s) and exits.
        let status = server.stop(libc::SIGTERM, Duration::from_secs(20)).expect("server exits after the grace");
        assert!(status.success(), "{model}: {status}");
        assert_eq!(server.stdout_lines().last().map(String::as_str), Some("tlskit serve: stopped"), "{model}");
        let last = download.finish();
        let got: usize = last.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a byte count");
        assert!(got < big.len(), "{model}: the held download was not cut: {last}");
        assert!(big.starts_with(&std::fs::read(out.path()).unwrap()), "{model}: what arrived is a prefix");
    });
}

#[test]
fn json_access_log_and_hidden_files_flag() {
    let root = docroot();
    std::fs::write(root.path().join(".secret"), "dot file\n").unwrap();
    let server = Serve::start(root.path(), &["--json-log"]);
    let ca = server.ca.clone().unwrap();
    let (_, code, _) = curl(&["--cacert", p(&ca), "-o", "/dev/null", "-w", "%{http_code}", &server.url_for(".secret")]);
    assert!(code == b"404" || code == b"403", "dot-file served without --hidden");
    let (ok, _, err) = curl(&["--cacert", p(&ca), "--http1.1", &server.url_for("hello.txt")]);
    assert!(ok, "{err}");
    let line = server.wait_for_stdout(|l| l.contains("/hello.txt"), Duration::from_secs(5)).unwrap();
    let record: serde_json::Value = serde_json::from_str(&line).expect("access line is JSON");
    assert_eq!(record["status"], 200);
    assert_eq!(record["bytes"], 18);
    assert_eq!(record["method"], "GET");
    assert_eq!(record["http_version"], "HTTP/1.1");
    assert_eq!(record["tls_version"], "TLSv1.3");
    assert_eq!(record["sni"], "localhost");
    assert_eq!(record["resumed"], false);
    drop(server);

    let server = Serve::start(root.path(), &["--hidden"]);
    let ca = server.ca.clone().unwrap();
    let (ok, body, err) = curl(&["--cacert", p(&ca), &server.url_for(".secret")]);
    assert!(ok, "{err}");
    assert_eq!(body, b"dot file\n");
}
