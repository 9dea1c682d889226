//! Every HOWTO example in crates/tlskit/examples runs against a real server (openssl
//! s_server, a Python ssl server, or our own) and its output is checked.
//!
//! `cargo test` builds the examples; when this file runs alone (`-p tlskit-cli --test
//! examples`) a missing or stale example is built first (wire/tests/support/examples.rs).

mod common;
#[path = "../../wire/tests/support/examples.rs"]
mod support_examples;
use common::{path, pki};

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::peers::{openssl_server, python_server, tlskit};
use common::process::CommandExt as _;
use tlskit::pki::PkiFiles;

/// target/debug/examples/NAME of the library; built if missing or older than its source.
fn example(name: &str) -> PathBuf {
    support_examples::example("tlskit", "tlskit", name)
}

/// Run an example to completion (60 s at most) and return its stdout; it must exit 0.
fn run_example(name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name)).args(args).output_within(Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The number after `label` on its line of `output`.
fn count(output: &str, label: &str) -> usize {
    output
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{output}"))
}

#[test]
fn get_https() {
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www"]);
    let out = run_example("get_https", &[&peer.url("/"), &path(&pki.ca)]);
    assert!(out.contains("status: 200\n"), "{out}");
    assert!(out.contains("tls: TLSv1.3 TLS_AES_256_GCM_SHA384 resumed=false\n"), "{out}");
    assert!(out.contains("server certificate: O=tlskit test PKI, CN=localhost\n"), "{out}");
    assert!(out.contains("Protocol  : TLSv1.3"), "the s_server page is printed: {out}");
}

#[test]
fn post_https() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let out = run_example("post_https", &[&peer.url("/submit"), &path(&pki.ca)]);
    assert!(out.contains("status: 200\n"), "{out}");
    // The Python server echoes what it received.
    assert!(out.contains(r#""method": "POST""#) && out.contains(r#""body": "name=tlskit&howto=m2crypto""#), "{out}");
}

#[test]
fn threaded_client() {
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www"]);
    let out = run_example("threaded_client", &[&peer.url("/"), &path(&pki.ca), "4", "5"]);
    let (full, resumed) = (count(&out, "full handshakes:"), count(&out, "resumed handshakes:"));
    assert_eq!(count(&out, "failed:"), 0, "{out}");
    assert_eq!(full + resumed, 20, "{out}");
    // At most each thread's first connection needs a full handshake; the rest share sessions.
    assert!(resumed >= 10, "{out}");
}

#[test]
fn async_session_reuse() {
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www"]);
    let out = run_example("async_session_reuse", &[&peer.url("/"), &path(&pki.ca), "8"]);
    assert!(out.contains("first: full\n"), "{out}");
    let (full, resumed) = (count(&out, "full:"), count(&out, "resumed:"));
    assert_eq!(full + resumed, 8, "{out}");
    assert!(resumed >= 1, "{out}");
}

#[test]
fn verify_server_cert() {
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www"]);
    let (ca, other) = (path(&pki.ca), path(&pki.other_ca));
    let out = run_example("verify_server_cert", &[&peer.url("/"), &ca, &other]);
    assert!(out.contains(&format!("trusting {ca}: verified\n")), "{out}");
    assert!(out.contains("  0: subject O=tlskit test PKI, CN=localhost (issuer O=tlskit test PKI, CN=tlskit test CA"));
    assert!(out.contains("names DNS:localhost, IP:127.0.0.1, IP:::1"), "{out}");
    assert!(
        out.contains(&format!(
            "trusting {other}: refused: certificate for localhost is not signed by a trusted CA (unknown issuer)"
        )),
        "{out}"
    );
}

#[test]
fn client_cert() {
    let (_dir, pki) = pki();
    let ca = path(&pki.ca);
    let peer = openssl_server(
        &pki.dir,
        &pki.server,
        &pki.server_key,
        &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca],
    );
    let out = run_example("client_cert", &[&peer.url("/"), &ca, &path(&pki.client), &path(&pki.client_key)]);
    assert!(out.contains("with certificate: status 200\n"), "{out}");
    assert!(out.contains("CN=tlskit test client"), "the server saw our certificate: {out}");
    assert!(out.contains("without certificate: the server requires a client certificate and none was given"), "{out}");
}

/// A server example running in the background; killed when dropped.
struct RunningServer {
    child: Child,
    lines: Receiver<String>,
    url: String,
}

impl RunningServer {
    fn start(name: &str, args: &[&str]) -> Self {
        let mut child = Command::new(example(name))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("example starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(20)).expect("server example prints its address");
        let url = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        // The certificate is for localhost: keep the port, name the host.
        let port = url.trim_end_matches('/').rsplit(':').next().expect("port").to_string();
        RunningServer { child, lines, url: format!("https://localhost:{port}") }
    }

    /// The next line the server printed (within 10 s).
    fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(10)).expect("a line from the server example")
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn site(pki: &PkiFiles) -> PathBuf {
    let site = pki.dir.join("site");
    std::fs::create_dir_all(&site).expect("mkdir");
    std::fs::write(site.join("hello.txt"), "hello from the HOWTO\n").expect("write");
    site
}

#[test]
fn simple_https_server() {
    let (_dir, pki) = pki();
    let site = site(&pki);
    let server =
        RunningServer::start("simple_https_server", &[&path(&site), &path(&pki.server), &path(&pki.server_key)]);
    let url = format!("{}/hello.txt", server.url);
    let run = tlskit(["get", "--cacert", &path(&pki.ca), &url, &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "hello from the HOWTO\nhello from the HOWTO\n");
    let (first, second) = (server.next_line(), server.next_line());
    assert!(first.contains("\"GET /hello.txt\" 200 TLSv1.3 resumed=false"), "{first}");
    assert!(second.contains("\"GET /hello.txt\" 200 TLSv1.3 resumed=true"), "{second}");
}

#[test]
fn async_https_server() {
    let (_dir, pki) = pki();
    let site = site(&pki);
    let server =
        RunningServer::start("async_https_server", &[&path(&site), &path(&pki.server), &path(&pki.server_key)]);
    let url = format!("{}/hello.txt", server.url);
    let run = tlskit(["get", "--cacert", &path(&pki.ca), "-w", "json", &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("hello from the HOWTO\n"), "{}", run.stdout);
    assert_eq!(run.json_docs()[0]["http_version"], "2", "{}", run.stdout);
    let line = server.next_line();
    assert!(line.contains("\"GET /hello.txt HTTP/2\" 200 alpn=h2 resumed=false"), "{line}");
}

#[test]
fn client_cert_auth() {
    let (_dir, pki) = pki();
    let site = site(&pki);
    let args = [path(&site), path(&pki.server), path(&pki.server_key), path(&pki.ca)];
    let server = RunningServer::start("client_cert_auth", &args.iter().map(String::as_str).collect::<Vec<_>>());
    let url = format!("{}/hello.txt", server.url);
    let (ca, cert, key) = (path(&pki.ca), path(&pki.client), path(&pki.client_key));
    let run = tlskit(["get", "--cacert", &ca, "--cert", &cert, "--key", &key, &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "hello from the HOWTO\n");
    let line = server.next_line();
    assert!(line.starts_with("GET /hello.txt 200 client=") && line.contains("CN=tlskit test client"), "{line}");

    let run = tlskit(["get", "--cacert", &ca, &url]);
    assert_eq!(run.code, Some(58), "{}", run.stderr);
    assert!(run.stderr.contains("requires a client certificate"), "{}", run.stderr);
    let line = server.next_line();
    assert!(line.starts_with("refused 127.0.0.1:") && line.contains(" at handshake: "), "{line}");
}

#[test]
fn session_reuse_control() {
    let out = run_example("session_reuse_control", &[]);
    let expected = "\
cache off, tickets off TLSv1.2: first full, second full
cache off, tickets off TLSv1.3: first full, second full
cache on,  tickets off TLSv1.2: first full, second resumed
cache on,  tickets off TLSv1.3: first full, second resumed
cache off, tickets on  TLSv1.2: first full, second resumed
cache off, tickets on  TLSv1.3: first full, second resumed
cache on,  tickets on  TLSv1.2: first full, second resumed
cache on,  tickets on  TLSv1.3: first full, second resumed
";
    assert_eq!(out, expected);
}
