//! `tlskit serve` options that had no test: `--san`, `--cert` without `--key`, SSLKEYLOGFILE as the key log
//! by default, `--ticket-lifetime`, and the default invocation with no arguments. Judged by curl, openssl
//! and Python's ssl.

mod common;
use common::pki;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use common::process::CommandExt as _;
use common::serve::{curl, python, Serve};

fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from tlskit\n").unwrap();
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The subjectAltName extension of the certificate `addr` presents, as `openssl x509 -ext` prints it.
fn served_sans(addr: &str) -> String {
    let script = format!(
        "openssl s_client -connect {addr} -servername localhost </dev/null 2>/dev/null \
         | openssl x509 -noout -ext subjectAltName"
    );
    let out = Command::new("sh").args(["-c", &script]).output_checked();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn san_adds_names_and_addresses_to_the_start_up_certificate() {
    let root = docroot();
    let server = Serve::start(root.path(), &["--san", "tlskit.test", "--san", "10.1.2.3"]);
    let ca = server.ca.clone().expect("start-up CA");
    let sans = served_sans(&server.addr());
    assert!(sans.contains("DNS:tlskit.test") && sans.contains("IP Address:10.1.2.3"), "{sans}");
    assert!(sans.contains("DNS:localhost"), "the local names stay: {sans}");
    // curl verifies the extra name against the printed CA.
    let url = format!("https://tlskit.test:{}/hello.txt", server.port);
    let resolve = format!("tlskit.test:{}:127.0.0.1", server.port);
    let (ok, body, err) = curl(&["--cacert", p(&ca), "--resolve", &resolve, &url]);
    assert!(ok, "{err}");
    assert_eq!(body, b"hello from tlskit\n");
    drop(server);

    // Without --san the same name is refused.
    let server = Serve::start(root.path(), &[]);
    let resolve = format!("tlskit.test:{}:127.0.0.1", server.port);
    let url = format!("https://tlskit.test:{}/hello.txt", server.port);
    let ca = server.ca.clone().expect("start-up CA");
    let (ok, _, err) = curl(&["--cacert", p(&ca), "--resolve", &resolve, &url]);
    assert!(!ok && err.contains("tlskit.test"), "{err}");
    // --san names the start-up certificate only: with --cert it is an argument error.
    let err = Serve::try_start(root.path(), &["--san", "x.test", "--cert", "whatever.pem"]).err().unwrap();
    assert!(err.contains("'--san <NAME>' cannot be used with '--cert <FILE>'"), "{err}");
}

#[test]
fn cert_without_key_reads_the_key_from_the_cert_file() {
    let root = docroot();
    let (_d, pki) = pki();
    let combined = pki.dir.join("combined.pem");
    let pem = std::fs::read_to_string(&pki.server).unwrap() + &std::fs::read_to_string(&pki.server_key).unwrap();
    std::fs::write(&combined, pem).unwrap();
    let server = Serve::start(root.path(), &["--cert", p(&combined)]);
    let (ok, body, err) = curl(&["--cacert", p(&pki.ca), &server.url_for("hello.txt")]);
    assert!(ok, "{err}");
    assert_eq!(body, b"hello from tlskit\n");
    drop(server);
    // A certificate file without a key: one line that says so, and no server.
    let err = Serve::try_start(root.path(), &["--cert", p(&pki.server)]).err().unwrap();
    assert!(err.contains(&format!("tlskit: {}: no private key found", p(&pki.server))), "{err}");
    assert_eq!(err.matches("tlskit:").count(), 1, "one error line: {err}");
}

/// The `LABEL CLIENT_RANDOM SECRET` lines of an NSS key log (not its comments), as a set.
fn key_lines(file: &Path) -> std::collections::BTreeSet<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn sslkeylogfile_is_the_default_key_log_and_holds_the_secrets_curl_logs() {
    let root = docroot();
    let dir = tempfile::tempdir().unwrap();
    let (server_log, client_log) = (dir.path().join("server.log"), dir.path().join("client.log"));
    let server = Serve::try_start_with(root.path(), &[], &[("SSLKEYLOGFILE", p(&server_log))]).unwrap();
    let ca = server.ca.clone().unwrap();
    for tls in [["--tlsv1.3", "--tls-max", "1.3"], ["--tlsv1.2", "--tls-max", "1.2"]] {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", "--cacert", p(&ca)])
            .args(tls)
            .arg(server.url_for("hello.txt"))
            .env("SSLKEYLOGFILE", &client_log)
            .output_checked();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // curl (OpenSSL) logged its side of both handshakes; the server logged the same secrets.
    let (ours, curls) = (key_lines(&server_log), key_lines(&client_log));
    assert!(curls.iter().any(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 ")), "{curls:?}");
    assert!(curls.iter().any(|l| l.starts_with("CLIENT_RANDOM ")), "{curls:?}");
    let missing: Vec<&String> = curls.difference(&ours).collect();
    assert!(missing.is_empty(), "secrets curl logged that tlskit serve did not: {missing:?}");
    drop(server);

    // --keylog wins over the environment.
    let chosen = dir.path().join("chosen.log");
    let other = dir.path().join("other.log");
    let server =
        Serve::try_start_with(root.path(), &["--keylog", p(&chosen)], &[("SSLKEYLOGFILE", p(&other))]).unwrap();
    let (ok, _, err) = curl(&["--cacert", p(server.ca.as_ref().unwrap()), &server.url_for("hello.txt")]);
    assert!(ok, "{err}");
    assert!(key_lines(&chosen).iter().any(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 ")));
    assert!(!other.exists(), "SSLKEYLOGFILE was written although --keylog was given");
}

/// Python's ssl: a first connection, then the first session offered again and again until a handshake is
/// full. Prints whether the first offer resumed, and how many seconds after the first connection the offer
/// stopped working.
const PY_TICKET_EXPIRY: &str = r#"
import socket, ssl, sys, time
port, ca, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.maximum_version = ctx.minimum_version = getattr(ssl.TLSVersion, version)
def fetch(session=None):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass
            return s.session, s.session_reused
start = time.monotonic()
first, _ = fetch()
_, resumed_at_once = fetch(first)
while True:
    _, reused = fetch(first)
    if not reused:
        break
    if time.monotonic() - start > 30:
        print("still resumed after 30 s")
        sys.exit(1)
    # Waits for the clock to pass the ticket's lifetime; nothing else is waited for here.
    time.sleep(0.2)
print(resumed_at_once, round(time.monotonic() - start, 1))
"#;

#[test]
fn an_expired_ticket_gives_a_full_handshake() {
    let root = docroot();
    let (_d, pki) = pki();
    // Tickets only (no session cache to fall back on), accepted for 2 s.
    let server = Serve::start(
        root.path(),
        &["--cert", p(&pki.server), "--key", p(&pki.server_key), "--session-cache", "0", "--ticket-lifetime", "2"],
    );
    for version in ["TLSv1_3", "TLSv1_2"] {
        let (ok, out, err) = python(PY_TICKET_EXPIRY, &[&server.port.to_string(), p(&pki.ca), version]);
        assert!(ok, "{version}: {out}{err}");
        let (at_once, secs) = out.trim().split_once(' ').expect("two words");
        assert_eq!(at_once, "True", "{version}: a fresh ticket resumes");
        let secs: f64 = secs.parse().unwrap();
        assert!(secs >= 1.5, "{version}: the ticket stopped working after {secs} s, before its lifetime");
    }
    // The server agrees: resumed handshakes, then full ones once the tickets expired.
    let lines = server.stdout_lines();
    assert!(lines.iter().any(|l| l.ends_with(" resumed")) && lines.iter().any(|l| l.ends_with(" full")));
}

#[test]
fn a_session_id_past_the_lifetime_gives_a_full_handshake() {
    let root = docroot();
    let (_d, pki) = pki();
    // No tickets: TLS 1.2 resumes by session ID from the memory cache, which keeps sessions 2 s.
    let server = Serve::start(
        root.path(),
        &["--cert", p(&pki.server), "--key", p(&pki.server_key), "--tickets", "off", "--ticket-lifetime", "2"],
    );
    let (ok, out, err) = python(PY_TICKET_EXPIRY, &[&server.port.to_string(), p(&pki.ca), "TLSv1_2"]);
    assert!(ok, "{out}{err}");
    let (at_once, secs) = out.trim().split_once(' ').expect("two words");
    assert_eq!(at_once, "True", "a fresh session ID resumes");
    let secs: f64 = secs.parse().unwrap();
    assert!((1.5..10.0).contains(&secs), "the session ID stopped resuming after {secs} s, not at its 2 s lifetime");
}

#[test]
fn with_no_arguments_it_serves_the_current_directory_on_port_9443() {
    let cwd = docroot();
    // Another program may hold the port: then the default invocation must say so, not pick another.
    let free = TcpListener::bind("127.0.0.1:9443").is_ok();
    match Serve::try_start_exactly(&["serve"], cwd.path(), &[]) {
        Ok(server) => {
            assert_eq!(server.url, "https://127.0.0.1:9443/");
            let first = &server.stdout_lines()[0];
            let cwd_shown = std::fs::canonicalize(cwd.path()).unwrap();
            assert!(first.contains(&format!("serving {}", cwd_shown.display())), "{first}");
            let ca = server.ca.clone().expect("a start-up certificate and its CA");
            let (ok, body, err) = curl(&["--cacert", p(&ca), "https://localhost:9443/hello.txt"]);
            assert!(ok, "{err}");
            assert_eq!(body, b"hello from tlskit\n");
        }
        Err(err) => {
            assert!(!free, "9443 was free but the default invocation failed: {err}");
            assert!(err.contains("9443") && err.to_lowercase().contains("in use"), "{err}");
        }
    }
}
