//! Each way a connection can fail gives its own one-line error and a non-zero exit, never a
//! panic or a hang: bad certificates from a real `openssl s_server`, and misbehaving listeners.

mod common;
use common::{path, pki};

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::peers::{closed_port, misbehaving_listener, openssl_server, tlskit, tlskit_env, Misbehaviour, Run};
use tlskit::pki::{CertificateAuthority, LeafSpec, PkiFiles};

/// Exactly one line on stderr, starting `tlskit: `, containing `expect`; no output on stdout.
fn assert_one_line(run: &Run, code: i32, expect: &str) {
    assert_eq!(run.code, Some(code), "stderr: {}", run.stderr);
    let lines = run.error_lines();
    assert_eq!(lines.len(), 1, "one line expected: {}", run.stderr);
    assert!(lines[0].starts_with("tlskit: ") && lines[0].contains(expect), "{:?} lacks {expect:?}", lines[0]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn expired_certificate() {
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.expired, &pki.expired_key, &["-www"]);
    let run = tlskit(["get", "--cacert", &path(&pki.ca), &peer.url("/")]);
    assert_one_line(&run, 60, "certificate for localhost has expired (not after ");
}

#[test]
fn certificate_for_another_name() {
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.wrong_name, &pki.wrong_name_key, &["-www"]);
    let run = tlskit(["get", "--cacert", &path(&pki.ca), &peer.url("/")]);
    assert_one_line(&run, 60, "certificate for wrong-name.invalid does not match host localhost");
}

#[test]
fn certificate_from_an_unknown_ca() {
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www"]);
    // Trusting only the other CA: the server's issuer is unknown.
    let run = tlskit(["get", "--cacert", &path(&pki.other_ca), &peer.url("/")]);
    assert_one_line(&run, 60, "certificate for localhost is not signed by a trusted CA (unknown issuer)");
    // With -w json the failure is a JSON document too, as curl's %{json} has it.
    let run = tlskit(["get", "-w", "json", "--cacert", &path(&pki.other_ca), &peer.url("/")]);
    let doc = &run.json_docs()[0];
    assert_eq!(doc["exitcode"], 60);
    assert!(doc["errormsg"].as_str().is_some_and(|m| m.contains("unknown issuer")), "{doc}");
}

/// A server certificate from the test CA, and a CRL from that CA revoking it.
fn revoked_server(pki: &PkiFiles) -> (PathBuf, PathBuf, PathBuf) {
    let read = |p: &Path| std::fs::read_to_string(p).expect("read PEM");
    let ca = CertificateAuthority::from_pem(&read(&pki.ca), &read(&pki.ca_key)).expect("CA");
    let leaf = ca.issue(&LeafSpec::server(Default::default(), &[])).expect("issue");
    let crl = ca.crl(&[&leaf.serial], 30).expect("CRL");
    let (cert, key, crl_path) =
        (pki.dir.join("revoked-server.pem"), pki.dir.join("revoked-server-key.pem"), pki.dir.join("revoked.crl"));
    std::fs::write(&cert, &leaf.cert_pem).expect("write");
    std::fs::write(&key, &leaf.key_pem).expect("write");
    std::fs::write(&crl_path, crl).expect("write");
    (cert, key, crl_path)
}

#[test]
fn revoked_certificate_with_crlfile() {
    let (_dir, pki) = pki();
    let (cert, key, crl) = revoked_server(&pki);
    let peer = openssl_server(&pki.dir, &cert, &key, &["-www"]);
    let run = tlskit(["get", "--cacert", &path(&pki.ca), "--crlfile", &path(&crl), &peer.url("/")]);
    assert_one_line(&run, 60, "certificate for localhost has been revoked");
    // Without the CRL the same server is accepted; with a CRL that does not list it, too.
    let run = tlskit(["get", "--cacert", &path(&pki.ca), "-o", "/dev/null", &peer.url("/")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run =
        tlskit(["get", "--cacert", &path(&pki.ca), "--crlfile", &path(&pki.crl), "-o", "/dev/null", &peer.url("/")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn server_requiring_a_client_certificate() {
    let (_dir, pki) = pki();
    let peer =
        openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www", "-Verify", "1", "-CAfile", &path(&pki.ca)]);
    let run = tlskit(["get", "--cacert", &path(&pki.ca), &peer.url("/")]);
    assert_one_line(&run, 58, "the server requires a client certificate and none was given");
}

#[test]
fn connection_refused() {
    let port = closed_port();
    let run = tlskit(["get", &format!("https://127.0.0.1:{port}/")]);
    assert_one_line(&run, 7, &format!("could not connect to 127.0.0.1:{port}: Connection refused"));
}

#[test]
fn unknown_host() {
    let run = tlskit(["get", "https://no-such-host.invalid/"]);
    assert_one_line(&run, 6, "could not resolve host no-such-host.invalid");
}

#[test]
fn silent_server_times_out() {
    let port = misbehaving_listener(Misbehaviour::Silent);
    // The timeout fires, and within a generous multiple of its setting: the run's own deadline is 15 s.
    let within = |args: &[&str]| tlskit_env(args, b"", &[], Duration::from_secs(15));
    let run = within(&["get", "-k", "--connect-timeout", "0.5", &format!("https://127.0.0.1:{port}/")]);
    assert_one_line(&run, 28, "timed out after 0.5 s during connect and TLS handshake");
    let run = within(&["get", "-k", "--max-time", "0.5", &format!("https://127.0.0.1:{port}/")]);
    assert_one_line(&run, 28, "timed out after 0.5 s during transfer");
}

#[test]
fn garbage_server() {
    let port = misbehaving_listener(Misbehaviour::Garbage);
    let run = tlskit(["get", "-k", "--connect-timeout", "5", &format!("https://127.0.0.1:{port}/")]);
    assert_one_line(&run, 35, "the server does not speak TLS");
}

#[test]
fn server_closing_mid_handshake() {
    let port = misbehaving_listener(Misbehaviour::CloseMidHandshake);
    let run = tlskit(["get", "-k", "--connect-timeout", "5", &format!("https://127.0.0.1:{port}/")]);
    assert_one_line(&run, 35, "the server closed the connection during the TLS handshake");
}

#[test]
fn bad_arguments_are_one_line_too() {
    let run = tlskit(["get", "--cacert", "/nonexistent/ca.pem", "https://localhost/"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/ca.pem"), "{}", run.stderr);
    let run = tlskit(["get", "http://localhost/"]);
    assert_one_line(&run, 3, "scheme http is not supported");
    let run = tlskit(["get", "--pinnedpubkey", "md5//abc", "https://localhost/"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("expected sha256//BASE64"), "{}", run.stderr);
}

#[test]
fn tls_server_that_does_not_speak_http() {
    let (_dir, pki) = pki();
    let peer = common::peers::tls_not_http_server(&pki.server, &pki.server_key);
    let run = tlskit(["get", "--cacert", &path(&pki.ca), "--max-time", "10", &peer.url("/")]);
    assert_one_line(&run, 56, "HTTP error: ");
}
