//! `tlskit dump --http` on captures made in the test: curl and headless Chromium (SSLKEYLOGFILE) against
//! `tlskit serve` and nginx over HTTP/1.1 and HTTP/2, captured with tcpdump on loopback, and compared with
//! tshark's `http` and `http2` fields on the same capture. Capturing needs root or CAP_NET_RAW; elsewhere scripts/test
//! leaves these out (their names start with `live_capture`) and says so.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{path, pki};

/// tcpdump writing one port's packets to a file; stopped (and the file complete) by [`Capture::stop`].
struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    fn start(dir: &Path, port: u16) -> Capture {
        let file = dir.join("cap.pcap");
        let mut child = Command::new(common::program("tcpdump"))
            // Immediate mode: without it, packets wait in the kernel's ring buffer and are lost at SIGINT.
            .args(["-i", "lo", "--immediate-mode", "-Z", "root", "-U", "-s", "0", "-w"])
            .arg(&file)
            .arg(format!("tcp port {port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump starts");
        // tcpdump says "listening on lo" once the capture is open.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("listening on") => break,
                Ok(_) => {}
                Err(_) => panic!("tcpdump did not start capturing on lo"),
            }
        }
        Capture { child, file }
    }

    /// SIGINT, so tcpdump flushes and closes the file; waits for it (bounded).
    fn stop(mut self) -> PathBuf {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "tcpdump did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.file.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn curl(keys: &Path, ca: &Path, version: &str, resolve: &str, urls: &[String]) {
    let mut cmd = Command::new("curl");
    cmd.env("SSLKEYLOGFILE", keys).args(["-sS", "--max-time", "20", version, "--cacert"]).arg(ca);
    cmd.args(["--resolve", resolve]);
    for url in urls {
        cmd.args(["-o", "/dev/null", url]);
    }
    run(&mut cmd, "curl");
}

/// What `tlskit dump --http --json` reports: (dir, target or status) of each message, in order.
fn tlskit_messages(capture: &Path, keys: &Path, extract: Option<&Path>) -> Vec<serde_json::Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlskit"));
    cmd.env_remove("SSLKEYLOGFILE").args(["dump", "--http", "--json", "-l"]).arg(keys);
    if let Some(dir) = extract {
        cmd.arg("--extract").arg(dir);
    }
    let out = run(cmd.arg(capture), "tlskit dump --http");
    if std::env::var_os("DUMP_HTTP_DEBUG").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "http_request" || e["event"] == "http_response")
        .collect()
}

/// One tshark field over the decrypted capture, every value in frame order.
fn tshark(capture: &Path, keys: &Path, field: &str) -> Vec<String> {
    let out = run(
        Command::new("tshark")
            .args(["-n", "-r"])
            .arg(capture)
            .args(["-o", &format!("tls.keylog_file:{}", keys.display()), "-T", "fields", "-E", "occurrence=a"])
            .args(["-e", field]),
        "tshark",
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .flat_map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|v| !v.is_empty())
        .collect()
}

fn field(events: &[serde_json::Value], kind: &str, name: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == kind)
        .map(|e| e[name].as_str().map_or_else(|| e[name].to_string(), str::to_string))
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

struct Site {
    _pki_dir: tempfile::TempDir,
    pki: tlskit::pki::PkiFiles,
    www: tempfile::TempDir,
    body: Vec<u8>,
}

fn site() -> Site {
    common::require_packages(&["tcpdump", "tshark", "curl"]);
    let (_pki_dir, pki) = pki();
    let www = tempfile::tempdir().unwrap();
    let body: Vec<u8> = (0..40_000u32).map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[(i % 27) as usize]).collect();
    std::fs::write(www.path().join("big.txt"), &body).unwrap();
    std::fs::write(www.path().join("small.txt"), "small\n").unwrap();
    Site { _pki_dir, pki, www, body }
}

#[test]
fn live_capture_of_curl_through_tlskit_serve_http1_and_http2_agrees_with_tshark() {
    let s = site();
    let server = common::serve::Serve::start(
        s.www.path(),
        &["--cert", &path(&s.pki.server), "--key", &path(&s.pki.server_key), "--quiet"],
    );
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.log");
    let cap = Capture::start(dir.path(), server.port);
    let urls = [server.url_for("/big.txt"), server.url_for("/small.txt"), server.url_for("/missing")];
    curl(&keys, &s.pki.ca, "--http1.1", &server.resolve(), &urls);
    curl(&keys, &s.pki.ca, "--http2", &server.resolve(), &urls);
    let capture = cap.stop();

    let extract = dir.path().join("x");
    let events = tlskit_messages(&capture, &keys, Some(&extract));
    let versions = field(&events, "http_request", "version");
    assert_eq!(versions, ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/2", "HTTP/2", "HTTP/2"], "{events:#?}");
    // tshark's HTTP/1.1 and HTTP/2 dissectors on the same capture: same targets, same status codes.
    let mut targets = tshark(&capture, &keys, "http.request.uri");
    targets.extend(tshark(&capture, &keys, "http2.headers.path"));
    assert_eq!(sorted(field(&events, "http_request", "target")), sorted(targets));
    let mut statuses = tshark(&capture, &keys, "http.response.code");
    statuses.extend(tshark(&capture, &keys, "http2.headers.status"));
    assert_eq!(sorted(field(&events, "http_response", "status")), sorted(statuses));
    assert!(events.iter().all(|e| e["complete"] == true), "{events:#?}");
    // Body lengths: the file, over both protocols; --extract wrote each response body.
    let big: Vec<_> = events.iter().filter(|e| e["event"] == "http_response" && e["body_length"] == 40_000).collect();
    assert_eq!(big.len(), 2, "{events:#?}");
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(extract.join("index.json")).unwrap()).unwrap();
    let mut files = Vec::new();
    for conn in index["connections"].as_array().unwrap() {
        for body in conn["http_bodies"].as_array().unwrap() {
            files.push((body["length"].as_u64().unwrap(), body["file"].as_str().unwrap().to_string()));
        }
    }
    let written: Vec<_> = files.iter().filter(|(n, _)| *n == 40_000).collect();
    assert_eq!(written.len(), 2, "{files:?}");
    for (_, file) in written {
        assert_eq!(std::fs::read(extract.join(file)).unwrap(), s.body, "{file}");
    }
}

#[test]
fn live_capture_of_curl_through_nginx_http2_agrees_with_tshark() {
    let s = site();
    common::require_packages(&["nginx"]);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{ access_log off; server {{ listen 127.0.0.1:{port} ssl http2; root {www};\n\
             ssl_certificate {cert}; ssl_certificate_key {key}; }} }}\n",
            d = dir.path().display(),
            www = s.www.path().display(),
            cert = s.pki.server.display(),
            key = s.pki.server_key.display(),
        ),
    )
    .unwrap();
    let mut nginx = Command::new(common::program("nginx"))
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let keys = dir.path().join("keys.log");
    let cap = Capture::start(dir.path(), port);
    let resolve = format!("localhost:{port}:127.0.0.1");
    let urls = [format!("https://localhost:{port}/big.txt"), format!("https://localhost:{port}/missing")];
    curl(&keys, &s.pki.ca, "--http2", &resolve, &urls);
    let capture = cap.stop();
    let _ = nginx.kill();
    let _ = nginx.wait();

    let events = tlskit_messages(&capture, &keys, None);
    assert_eq!(sorted(field(&events, "http_request", "target")), sorted(tshark(&capture, &keys, "http2.headers.path")));
    assert_eq!(
        sorted(field(&events, "http_response", "status")),
        sorted(tshark(&capture, &keys, "http2.headers.status"))
    );
    assert_eq!(field(&events, "http_response", "status"), ["200", "404"]);
    let server = events
        .iter()
        .find(|e| e["event"] == "http_response")
        .and_then(|e| e["headers"].as_array()?.iter().find(|h| h[0] == "server").cloned());
    assert!(server.is_some_and(|h| h[1].as_str().unwrap().starts_with("nginx")), "{events:#?}");
}

#[test]
fn live_capture_of_headless_chromium_through_tlskit_serve_http2_agrees_with_tshark() {
    let s = site();
    common::require_packages(&["chromium"]);
    let server = common::serve::Serve::start(
        s.www.path(),
        &["--cert", &path(&s.pki.server), "--key", &path(&s.pki.server_key), "--quiet"],
    );
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.log");
    let cap = Capture::start(dir.path(), server.port);
    let profile = dir.path().join("profile");
    let mut chromium = Command::new("timeout");
    chromium
        .args(["60", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--host-resolver-rules=MAP localhost 127.0.0.1:{}", server.port))
        .args(["--dump-dom", &server.url_for("/small.txt")])
        .env("SSLKEYLOGFILE", &keys)
        .stderr(Stdio::null());
    let out = run(&mut chromium, "chromium --headless");
    assert!(String::from_utf8_lossy(&out.stdout).contains("small"), "{}", String::from_utf8_lossy(&out.stdout));
    let capture = cap.stop();

    let events = tlskit_messages(&capture, &keys, None);
    let targets = field(&events, "http_request", "target");
    assert!(targets.contains(&"/small.txt".to_string()), "{events:#?}");
    assert!(events.iter().any(|e| e["version"] == "HTTP/2"), "Chromium negotiates h2 with tlskit serve");
    assert_eq!(sorted(targets), sorted(tshark(&capture, &keys, "http2.headers.path")));
    assert_eq!(
        sorted(field(&events, "http_response", "status")),
        sorted(tshark(&capture, &keys, "http2.headers.status"))
    );
    let agent = events
        .iter()
        .find(|e| e["event"] == "http_request")
        .and_then(|e| e["headers"].as_array()?.iter().find(|h| h[0] == "user-agent").cloned());
    assert!(agent.is_some_and(|h| h[1].as_str().unwrap().contains("Chrome")), "{events:#?}");
}
