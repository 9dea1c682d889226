//! `tlskit get` against `openssl s_server`: TLS 1.2 and 1.3, verification, client certificates
//! (`-Verify`), session resumption across the URLs of one call, `-v` and `-w json`.

mod common;
use common::pki;

use common::peers::{openssl_server, tlskit, Peer};
use tlskit::pki::PkiFiles;

fn server(pki: &PkiFiles, extra: &[&str]) -> Peer {
    openssl_server(&pki.dir, &pki.server, &pki.server_key, extra)
}

fn ca(pki: &PkiFiles) -> String {
    pki.ca.display().to_string()
}

#[test]
fn tls13_get_shows_the_page_and_resumes_on_the_second_url() {
    let (_dir, pki) = pki();
    let peer = server(&pki, &["-www"]);
    let url = peer.url("/");
    let run = tlskit(["get", "--cacert", &ca(&pki), "-w", "json", &url, &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // s_server's -www page describes the connection it served.
    assert!(run.stdout.contains("Protocol  : TLSv1.3"), "{}", run.stdout);
    let docs = run.json_docs();
    assert_eq!(docs.len(), 2, "{}", run.stdout);
    for doc in &docs {
        assert_eq!(doc["response_code"], 200);
        assert_eq!(doc["session"]["version"], "TLSv1.3");
        assert_eq!(doc["session"]["sni"], "localhost");
        assert_eq!(doc["session"]["peer_certificates"][0]["subject_alt_names"][0], "DNS:localhost");
        assert!(doc["time_total"].as_f64().is_some_and(|t| t > 0.0));
    }
    assert_eq!(docs[0]["session"]["resumed"], false);
    assert_eq!(docs[0]["session"]["handshake"], "full");
    assert_eq!(docs[1]["session"]["resumed"], true, "second connection resumes: {}", docs[1]);
    assert_eq!(docs[1]["session"]["handshake"], "resumed");
    // The server saw it too: its page for the second connection says "Reused".
    assert!(run.stdout.contains("Reused, TLSv1.3"), "{}", run.stdout);
}

#[test]
fn tls12_handshake_and_resumption() {
    let (_dir, pki) = pki();
    let peer = server(&pki, &["-www", "-tls1_2"]);
    let url = peer.url("/");
    let run = tlskit(["get", "--cacert", &ca(&pki), "-w", "json", "-o", "/dev/null", "-o", "/dev/null", &url, &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let docs = run.json_docs();
    assert_eq!(docs.len(), 2, "-o leaves only the JSON on stdout: {}", run.stdout);
    assert_eq!(docs[0]["session"]["version"], "TLSv1.2");
    assert_eq!(docs[0]["session"]["cipher_suite"], "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    assert_eq!(docs[0]["session"]["resumed"], false);
    assert_eq!(docs[1]["session"]["resumed"], true);
}

#[test]
fn no_reuse_makes_every_handshake_full() {
    let (_dir, pki) = pki();
    let peer = server(&pki, &["-www"]);
    let url = peer.url("/");
    let run = tlskit(["get", "--no-reuse", "--cacert", &ca(&pki), "-w", "json", "-o", "/dev/null", &url, &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let docs = run.json_docs();
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d["session"]["resumed"] == false), "{}", run.stdout);
}

#[test]
fn tls_version_flags_choose_the_version() {
    let (_dir, pki) = pki();
    let peer = server(&pki, &["-www"]);
    let run =
        tlskit(["get", "--tls-max", "1.2", "--cacert", &ca(&pki), "-w", "json", "-o", "/dev/null", &peer.url("/")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json_docs()[0]["session"]["version"], "TLSv1.2");

    let old = server(&pki, &["-www", "-tls1_2"]);
    let run = tlskit(["get", "--tlsv1.3", "--cacert", &ca(&pki), &old.url("/")]);
    assert_ne!(run.code, Some(0));
    let lines = run.error_lines();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(lines[0].contains("alert protocol_version"), "{}", run.stderr);
}

#[test]
fn client_certificate_is_sent_and_accepted() {
    let (_dir, pki) = pki();
    for version in ["-tls1_2", "-tls1_3"] {
        let peer = server(&pki, &["-www", "-Verify", "1", "-CAfile", &ca(&pki), version]);
        let (cert, key) = (pki.client.display().to_string(), pki.client_key.display().to_string());
        let run = tlskit(["get", "--cacert", &ca(&pki), "--cert", &cert, "--key", &key, &peer.url("/")]);
        assert_eq!(run.code, Some(0), "{version}: {}", run.stderr);
        // The -www page prints the client certificate the server verified.
        assert!(run.stdout.contains("Client certificate"), "{version}: {}", run.stdout);
        assert!(run.stdout.contains("CN=tlskit test client"), "{version}: {}", run.stdout);
    }
}

#[test]
fn missing_client_certificate_is_named() {
    let (_dir, pki) = pki();
    for (version, expect) in [
        ("-tls1_3", "the server requires a client certificate and none was given (alert certificate_required)"),
        ("-tls1_2", "the server requires a client certificate and none was given (alert handshake_failure)"),
    ] {
        let peer = server(&pki, &["-www", "-Verify", "1", "-CAfile", &ca(&pki), version]);
        let run = tlskit(["get", "--cacert", &ca(&pki), &peer.url("/")]);
        assert_ne!(run.code, Some(0), "{version}");
        let lines = run.error_lines();
        assert_eq!(lines.len(), 1, "{version}: {}", run.stderr);
        assert!(lines[0].contains(expect), "{version}: {}", run.stderr);
    }
}

#[test]
fn client_certificate_from_another_ca_is_rejected() {
    let (_dir, pki) = pki();
    // Without -verify_return_error s_server notes the failure and carries on.
    let peer = server(&pki, &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca(&pki)]);
    let (cert, key) = (pki.other_client.display().to_string(), pki.other_client_key.display().to_string());
    let run = tlskit(["get", "--cacert", &ca(&pki), "--cert", &cert, "--key", &key, &peer.url("/")]);
    assert_eq!(run.code, Some(58), "{}", run.stderr);
    let lines = run.error_lines();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(lines[0].starts_with("tlskit: the server rejected our client certificate (alert "), "{}", run.stderr);
}

#[test]
fn verbose_shows_chain_session_and_headers() {
    let (_dir, pki) = pki();
    let peer = server(&pki, &["-www"]);
    let url = peer.url("/");
    let run = tlskit(["get", "-v", "--cacert", &ca(&pki), "-o", "/dev/null", &url, &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let err = &run.stderr;
    assert!(err.contains(&format!("* Connected to localhost (127.0.0.1) port {}", peer.port)), "{err}");
    // The chain once per connection (the resumed one too), in the session block: not again in the trace.
    assert_eq!(err.matches("* peer certificate 0: subject O=tlskit test PKI, CN=localhost").count(), 2, "{err}");
    assert!(err.contains("*   issuer O=tlskit test PKI, CN=tlskit test CA"), "{err}");
    assert!(err.contains("*   SANs DNS:localhost, IP:127.0.0.1, IP:::1"), "{err}");
    assert!(err.contains("*   key ECDSA P-256"), "{err}");
    let valid = err.lines().find_map(|l| l.strip_prefix("*   valid ")).expect("validity line");
    assert!(valid.len() == "2026-01-01T00:00:00Z to 2027-01-01T00:00:00Z".len() && valid.contains("Z to "), "{valid}");
    assert!(err.contains("* version: TLSv1.3"), "{err}");
    assert_eq!(err.matches("* resumed: no").count(), 1, "{err}");
    assert_eq!(err.matches("* resumed: yes").count(), 1, "{err}");
    assert!(err.contains("> GET / HTTP/1.1") && err.contains("< HTTP/1.0 200 OK"), "{err}");
    // The live handshake trace, in `tlskit dump`'s format, decrypted with the connection's own keys.
    assert_eq!(err.matches("New TLS connection #").count(), 2, "{err}");
    assert!(err.contains("    ClientHello TLSv1.2 sni=localhost alpn=h2,http/1.1"), "{err}");
    assert!(err.contains("S>C TLSv1.2 Handshake len=") && err.contains("(decrypted)"), "{err}");
    assert!(err.contains("    Certificate (1 certificates)\n"), "{err}");
    assert!(!err.contains("subject="), "the trace does not repeat the chain: {err}");
    assert!(err.contains("ServerHello TLSv1.3 TLS_AES_256_GCM_SHA384 key_share=x25519 resumed"), "{err}");
    assert!(err.contains(" full-handshake ") && err.contains(" resumed ja3="), "{err}");
    assert!(err.contains("undecrypted=0"), "{err}");
}

#[test]
fn pinned_public_key_is_checked() {
    let (_dir, pki) = pki();
    let peer = server(&pki, &["-www"]);
    let leaf = tlskit::pki::load_certs(&pki.server).expect("server cert");
    let pin = tlskit::pki::spki_pin(&leaf[0]).expect("pin");
    let run = tlskit(["get", "--cacert", &ca(&pki), "--pinnedpubkey", &pin, "-o", "/dev/null", &peer.url("/")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);

    let other = tlskit::pki::load_certs(&pki.other_ca).expect("other CA");
    let wrong = tlskit::pki::spki_pin(&other[0]).expect("pin");
    let run = tlskit(["get", "--cacert", &ca(&pki), "--pinnedpubkey", &wrong, &peer.url("/")]);
    assert_eq!(run.code, Some(90), "{}", run.stderr);
    assert_eq!(
        run.error_lines(),
        ["tlskit: public key of the certificate for localhost does not match the pinned key"],
        "{}",
        run.stderr
    );
}

#[test]
fn insecure_accepts_a_server_nobody_vouches_for() {
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.wrong_name, &pki.wrong_name_key, &["-www"]);
    let run = tlskit(["get", "-k", "-o", "/dev/null", "-w", "json", &peer.url("/")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json_docs()[0]["response_code"], 200);
}
