//! `tlskit cert` against real judges: `openssl verify`, curl and `openssl s_server`/`s_client`
//! accept the good files and reject each bad one in its own way; `cert show` reports what openssl sees.

mod common;

use std::path::Path;
use std::process::Command;

use common::peers::openssl_server;
use common::pki::{curl, make_pki, openssl, text, tlskit};
use common::process::CommandExt as _;
use common::serve::Serve;

fn verify(dir: &Path, extra: &[&str], cert: &Path) -> (bool, String) {
    let mut args = vec!["verify"];
    args.extend_from_slice(extra);
    let cert = cert.to_string_lossy();
    args.push(&cert);
    let out = openssl(dir, &args);
    (out.status.success(), text(&out))
}

#[test]
fn openssl_verify_accepts_the_good_files_and_rejects_each_bad_one() {
    let (tmp, pki) = make_pki(&[]);
    let dir = tmp.path();
    let ca = pki.ca.to_string_lossy().into_owned();
    let crl = pki.crl.to_string_lossy().into_owned();
    let strict = ["-x509_strict", "-CAfile", &ca];
    for good in [&pki.server, &pki.client] {
        let (ok, out) = verify(dir, &strict, good);
        assert!(ok, "{good:?}: {out}");
        let (ok, out) = verify(dir, &["-CAfile", &ca, "-CRLfile", &crl, "-crl_check"], good);
        assert!(ok, "{good:?} with CRL: {out}");
    }
    let (ok, out) =
        verify(dir, &["-purpose", "sslserver", "-verify_hostname", "localhost", "-CAfile", &ca], &pki.server);
    assert!(ok, "server for localhost: {out}");
    let (ok, out) = verify(dir, &["-purpose", "sslserver", "-verify_ip", "::1", "-CAfile", &ca], &pki.server);
    assert!(ok, "server for ::1: {out}");
    let (ok, out) = verify(dir, &["-purpose", "sslclient", "-CAfile", &ca], &pki.client);
    assert!(ok, "client purpose: {out}");

    let (ok, out) = verify(dir, &["-CAfile", &ca, "-CRLfile", &crl, "-crl_check"], &pki.revoked_client);
    assert!(!ok && out.contains("certificate revoked"), "revoked: {out}");
    let (ok, out) = verify(dir, &["-CAfile", &ca], &pki.revoked_client);
    assert!(ok, "revoked client is otherwise fine: {out}");
    let (ok, out) = verify(dir, &["-CAfile", &ca], &pki.expired);
    assert!(!ok && out.contains("certificate has expired"), "expired: {out}");
    let (ok, out) = verify(dir, &["-CAfile", &ca], &pki.other_client);
    assert!(!ok && out.contains("unable to get local issuer certificate"), "other client: {out}");
    let other_ca = pki.other_ca.to_string_lossy().into_owned();
    let (ok, out) = verify(dir, &["-CAfile", &other_ca], &pki.other_client);
    assert!(ok, "other client against its own CA: {out}");
    let (ok, out) = verify(dir, &["-CAfile", &ca], &pki.wrong_name);
    assert!(ok, "wrong-name chain is fine: {out}");
    let (ok, out) = verify(dir, &["-verify_hostname", "localhost", "-CAfile", &ca], &pki.wrong_name);
    assert!(!ok && out.contains("hostname mismatch"), "wrong name: {out}");
}

#[test]
fn files_readme_and_key_modes() {
    let (_tmp, pki) = make_pki(&[]);
    for file in pki.all() {
        assert!(file.is_file(), "{file:?} missing");
    }
    let keys = [
        &pki.ca_key,
        &pki.server_key,
        &pki.client_key,
        &pki.expired_key,
        &pki.wrong_name_key,
        &pki.other_ca_key,
        &pki.other_client_key,
        &pki.revoked_client_key,
    ];
    use std::os::unix::fs::PermissionsExt as _;
    for key in keys {
        let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key:?}");
        assert!(std::fs::read_to_string(key).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
    }
    let readme = std::fs::read_to_string(&pki.readme).unwrap();
    for needle in ["server.pem", "revoked-client.pem", "--cacert ca.pem", "-CAfile ca.pem", "tlskit serve --cert"] {
        assert!(readme.contains(needle), "README lacks {needle:?}");
    }
    // Each certificate file holds only the leaf: our CAs are roots.
    let server = std::fs::read_to_string(&pki.server).unwrap();
    assert_eq!(server.matches("BEGIN CERTIFICATE").count(), 1);
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let (tmp, pki) = make_pki(&[]);
    let before = std::fs::read(&pki.ca).unwrap();
    let out = tlskit(tmp.path(), &["cert", "init", "pki"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to overwrite") && err.contains("--force"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert_eq!(std::fs::read(&pki.ca).unwrap(), before, "CA untouched");
    let out = tlskit(tmp.path(), &["cert", "init", "pki", "--force", "--cn", "someone else"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_ne!(std::fs::read(&pki.ca).unwrap(), before, "CA replaced");
    let client = tlskit::pki::load_certs(&pki.client).unwrap();
    assert_eq!(tlskit::pki::describe(&client[0]).unwrap().subject, "O=tlskit test PKI, CN=someone else");

    // Bad options fail before anything is written.
    let out = tlskit(tmp.path(), &["cert", "init", "bad", "--san", "not a name"]);
    assert!(!out.status.success() && text(&out).contains("bad subject alternative name"), "{}", text(&out));
    assert!(!tmp.path().join("bad").exists(), "half-written PKI left behind");
    let out = tlskit(tmp.path(), &["cert", "init", "bad", "--key-type", "dsa1024"]);
    assert!(!out.status.success() && text(&out).contains("unknown key type"), "{}", text(&out));
}

#[test]
fn curl_trusts_the_server_certificate_and_names_each_failure() {
    let (tmp, pki) = make_pki(&["--san", "extra.test"]);
    let dir = tmp.path();
    let ca = pki.ca.to_string_lossy().into_owned();
    let good = openssl_server(dir, &pki.server, &pki.server_key, &["-www"]);
    for host in ["localhost", "127.0.0.1", "[::1]"] {
        // s_server listens on 127.0.0.1 only: send ::1 and extra.test there, keeping the name.
        let url = format!("https://{host}:{}/", good.port);
        let out = if host == "[::1]" {
            curl(dir, &["--cacert", &ca, "--connect-to", &format!("::127.0.0.1:{}", good.port), &url])
        } else {
            curl(dir, &["--cacert", &ca, &url])
        };
        assert!(out.status.success(), "{host}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("s_server"), "{host}: {}", text(&out));
    }
    let url = format!("https://extra.test:{}/", good.port);
    let out = curl(dir, &["--cacert", &ca, "--resolve", &format!("extra.test:{}:127.0.0.1", good.port), &url]);
    assert!(out.status.success(), "extra SAN: {}", text(&out));
    let out = curl(dir, &[&good.url("/")]);
    assert_eq!(out.status.code(), Some(60), "untrusted without --cacert: {}", text(&out));

    let wrong = openssl_server(dir, &pki.wrong_name, &pki.wrong_name_key, &["-www"]);
    let out = curl(dir, &["--cacert", &ca, &wrong.url("/")]);
    assert_eq!(out.status.code(), Some(60), "{}", text(&out));
    assert!(text(&out).contains("subject name"), "name error: {}", text(&out));

    let expired = openssl_server(dir, &pki.expired, &pki.expired_key, &["-www"]);
    let out = curl(dir, &["--cacert", &ca, &expired.url("/")]);
    assert_eq!(out.status.code(), Some(60), "{}", text(&out));
    assert!(text(&out).contains("expired"), "expiry error: {}", text(&out));
}

/// `openssl s_client` with this client identity sends one request; returns its output.
fn s_client(dir: &Path, port: u16, ca: &Path, cert: &Path, key: &Path) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost", "-ign_eof"])
        .arg("-CAfile")
        .arg(ca)
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        .current_dir(dir)
        .output_with_input(b"GET / HTTP/1.0\r\n\r\n", common::process::LIMIT);
    text(&out)
}

#[test]
fn openssl_s_server_accepts_the_client_certificate_and_rejects_the_bad_ones() {
    let (tmp, pki) = make_pki(&[]);
    let dir = tmp.path();
    let ca = pki.ca.to_string_lossy().into_owned();
    let crl = pki.crl.to_string_lossy().into_owned();
    let server = openssl_server(
        dir,
        &pki.server,
        &pki.server_key,
        &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca, "-CRL", &crl, "-crl_check"],
    );
    let out = s_client(dir, server.port, &pki.ca, &pki.client, &pki.client_key);
    assert!(out.contains("HTTP/1.0 200 ok"), "client.pem refused: {out}");
    assert!(out.contains("Verify return code: 0 (ok)"), "server cert not verified: {out}");

    for (cert, key, why) in [
        (&pki.other_client, &pki.other_client_key, "other CA"),
        (&pki.revoked_client, &pki.revoked_client_key, "revoked"),
    ] {
        let out = s_client(dir, server.port, &pki.ca, cert, key);
        assert!(!out.contains("HTTP/1.0 200 ok"), "{why} client accepted: {out}");
        assert!(out.contains("alert"), "{why}: no alert: {out}");
    }

    // curl as a second client-certificate peer.
    let cert = pki.client.to_string_lossy().into_owned();
    let key = pki.client_key.to_string_lossy().into_owned();
    let out = curl(dir, &["--cacert", &ca, "--cert", &cert, "--key", &key, &server.url("/")]);
    assert!(out.status.success(), "curl with client cert: {}", text(&out));
    let out = curl(dir, &["--cacert", &ca, &server.url("/")]);
    assert!(!out.status.success(), "no client cert accepted: {}", text(&out));
}

#[test]
fn every_key_type_makes_a_chain_openssl_accepts() {
    let types = [
        ("p256", "ECDSA P-256"),
        ("p384", "ECDSA P-384"),
        ("ed25519", "Ed25519"),
        ("rsa2048", "RSA 2048"),
        ("rsa3072", "RSA 3072"),
    ];
    // RSA generation is slow: one thread per key type.
    std::thread::scope(|s| {
        for (name, key) in types {
            s.spawn(move || {
                let (tmp, pki) = make_pki(&["--key-type", name]);
                let ca = pki.ca.to_string_lossy().into_owned();
                for cert in [&pki.server, &pki.client] {
                    let (ok, out) = verify(tmp.path(), &["-x509_strict", "-CAfile", &ca], cert);
                    assert!(ok, "{name} {cert:?}: {out}");
                }
                for cert in [&pki.ca, &pki.server, &pki.client, &pki.other_ca] {
                    let der = tlskit::pki::load_certs(cert).unwrap();
                    assert_eq!(tlskit::pki::describe(&der[0]).unwrap().key, key, "{name} {cert:?}");
                }
                let out = openssl(tmp.path(), &["pkey", "-in", &pki.server_key.to_string_lossy(), "-noout"]);
                assert!(out.status.success(), "{name} key: {}", text(&out));
                // A real handshake with each type: s_server presents it; curl and our own client trust it.
                let server = openssl_server(tmp.path(), &pki.server, &pki.server_key, &["-www"]);
                let out = curl(tmp.path(), &["--cacert", &ca, &server.url("/")]);
                assert!(out.status.success(), "{name} curl: {}", text(&out));
                let resolve = format!("localhost:{}:127.0.0.1", server.port);
                let out = tlskit(tmp.path(), &["get", "--cacert", &ca, "--resolve", &resolve, &server.url("/")]);
                assert!(out.status.success(), "{name} tlskit get: {}", text(&out));
                // Python's ssl loads the client pair.
                let py = "import ssl,sys; ssl.create_default_context(cafile=sys.argv[1]).load_cert_chain(sys.argv[2], sys.argv[3])";
                let out = Command::new("python3")
                    .args(["-c", py])
                    .args([&pki.ca, &pki.client, &pki.client_key])
                    .output_checked();
                assert!(out.status.success(), "{name} python: {}", text(&out));
            });
        }
    });
}

/// `openssl x509 -noout ARGS -in FILE`, stdout trimmed.
fn x509(dir: &Path, file: &Path, args: &[&str]) -> String {
    let mut all = vec!["x509", "-noout", "-in"];
    let file = file.to_string_lossy();
    all.push(&file);
    all.extend_from_slice(args);
    let out = openssl(dir, &all);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// curl's `--pinnedpubkey` value computed by openssl: base64(sha256(DER SubjectPublicKeyInfo)).
fn openssl_pin(dir: &Path, file: &Path) -> String {
    let script = format!(
        "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
        file.display()
    );
    let out = Command::new("sh").args(["-c", &script]).current_dir(dir).output_checked();
    format!("sha256//{}", String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn show_a_file_as_openssl_sees_it() {
    let (tmp, pki) = make_pki(&[]);
    let dir = tmp.path();
    let out = tlskit(dir, &["cert", "show", "pki/server.pem"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    let fingerprint = x509(dir, &pki.server, &["-fingerprint", "-sha256"]);
    let fingerprint = fingerprint.rsplit('=').next().unwrap();
    let serial = x509(dir, &pki.server, &["-serial"]);
    let serial = serial.trim_start_matches("serial=");
    for want in [
        "Subject:         O=tlskit test PKI, CN=localhost",
        "SANs:            DNS:localhost, IP:127.0.0.1, IP:::1",
        "Key:             ECDSA P-256",
        "Signature:       ecdsa-with-SHA256",
        "Extended usage:  TLS Web Server Authentication",
        "(expires in 36",
        fingerprint,
        &openssl_pin(dir, &pki.server),
    ] {
        assert!(shown.contains(want), "{want:?} not in:\n{shown}");
    }
    assert!(shown.replace(':', "").contains(serial), "serial {serial} not in:\n{shown}");

    let out = tlskit(dir, &["cert", "show", "pki/expired.pem", "--cacert", "pki/ca.pem"]);
    let shown = text(&out);
    assert!(shown.contains("(expired 30 days ago)"), "{shown}");
    assert!(shown.contains("Verification: FAILED against pki/ca.pem: certificate has expired"), "{shown}");

    let out =
        tlskit(dir, &["cert", "show", "pki/revoked-client.pem", "--cacert", "pki/ca.pem", "--crl", "pki/crl.pem"]);
    assert!(text(&out).contains("FAILED against pki/ca.pem: certificate revoked"), "{}", text(&out));
    let out = tlskit(dir, &["cert", "show", "pki/client.pem", "--cacert", "pki/ca.pem", "--crl", "pki/crl.pem"]);
    assert!(text(&out).contains("Verification: OK (against pki/ca.pem)"), "{}", text(&out));
    let out = tlskit(dir, &["cert", "show", "pki/server.pem", "--cacert", "pki/ca.pem", "--crl", "pki/crl.pem"]);
    assert!(text(&out).contains("Verification: OK (against pki/ca.pem)"), "{}", text(&out));
    let out = tlskit(dir, &["cert", "show", "pki/other-client.pem", "--cacert", "pki/ca.pem"]);
    assert!(text(&out).contains("unable to get local issuer certificate"), "{}", text(&out));

    // --json parses and carries the same facts.
    let out = tlskit(dir, &["cert", "show", "--json", "pki/client.pem", "--cacert", "pki/ca.pem"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let cert = &doc["certificates"][0];
    assert_eq!(cert["subject"], "O=tlskit test PKI, CN=tlskit test client");
    assert_eq!(cert["extended_key_usage"][0], "TLS Web Client Authentication");
    assert_eq!(cert["spki_pin"], openssl_pin(dir, &pki.client));
    let left = cert["seconds_until_expiry"].as_i64().unwrap();
    assert!((364 * 86_400..=366 * 86_400).contains(&left), "{left}");
    assert_eq!(doc["verification"]["verified"], true);

    // The CRL: issuer, next update and the revoked serial, as openssl has it.
    let out = tlskit(dir, &["cert", "show", "pki/crl.pem", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let crl = &doc["crls"][0];
    let revoked = x509(dir, &pki.revoked_client, &["-serial"]);
    assert_eq!(crl["revoked"][0]["serial"].as_str().unwrap().replace(':', ""), revoked.trim_start_matches("serial="));
    assert_eq!(crl["revoked"].as_array().unwrap().len(), 1);
    assert!(crl["issuer"].as_str().unwrap().contains("tlskit test CA"));
    let out = tlskit(dir, &["cert", "show", "pki/crl.pem"]);
    assert!(text(&out).contains("Next update:     ") && text(&out).contains("(due in 36"), "{}", text(&out));

    // A CA is judged by being a trusted root; DER and multi-certificate PEM files are read too.
    let out = tlskit(dir, &["cert", "show", "pki/ca.pem", "--cacert", "pki/ca.pem"]);
    assert!(text(&out).contains("Verification: OK"), "{}", text(&out));
    let out = tlskit(dir, &["cert", "show", "pki/other-ca.pem", "--cacert", "pki/ca.pem"]);
    assert!(text(&out).contains("not one of the trusted roots"), "{}", text(&out));
    let der = openssl(dir, &["x509", "-in", "pki/server.pem", "-outform", "DER", "-out", "server.der"]);
    assert!(der.status.success(), "{}", text(&der));
    let out = tlskit(dir, &["cert", "show", "server.der"]);
    assert!(text(&out).contains("server.der: 1 certificate") && text(&out).contains(fingerprint), "{}", text(&out));
    let chain = [std::fs::read(&pki.server).unwrap(), std::fs::read(&pki.ca).unwrap()].concat();
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
    let out = tlskit(dir, &["cert", "show", "chain.pem", "--cacert", "pki/ca.pem"]);
    assert!(text(&out).contains("chain.pem: 2 certificates") && text(&out).contains("[1]"), "{}", text(&out));
    assert!(text(&out).contains("Verification: OK"), "{}", text(&out));

    // Bad input: one line, no panic.
    let out = tlskit(dir, &["cert", "show", "pki/README.txt"]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "{}", text(&out));
    let out = tlskit(dir, &["cert", "show", "no-such-file"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not HOST:PORT"), "{}", text(&out));
}

#[test]
fn show_host_port_fetches_the_chain_and_verifies_it_apart() {
    let (tmp, pki) = make_pki(&[]);
    let dir = tmp.path();
    let server = openssl_server(dir, &pki.server, &pki.server_key, &["-www"]);
    let target = format!("localhost:{}", server.port);
    let out = tlskit(dir, &["cert", "show", &target, "--cacert", "pki/ca.pem"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    let fingerprint = x509(dir, &pki.server, &["-fingerprint", "-sha256"]);
    assert!(shown.contains(fingerprint.rsplit('=').next().unwrap()), "{shown}");
    assert!(shown.contains("Chain sent by the server: 1 certificate"), "{shown}");
    assert!(shown.contains("TLSv1.3"), "{shown}");
    assert!(shown.contains("Verification: OK (against pki/ca.pem)"), "{shown}");

    // Not trusted by the system roots, and not valid for another name: shown all the same.
    let out = tlskit(dir, &["cert", "show", &target]);
    assert!(text(&out).contains("FAILED against the system roots"), "{}", text(&out));
    let out = tlskit(dir, &["cert", "show", &target, "--cacert", "pki/ca.pem", "--servername", "other.test"]);
    assert!(text(&out).contains("not valid for name \"other.test\""), "{}", text(&out));

    let wrong = openssl_server(dir, &pki.wrong_name, &pki.wrong_name_key, &["-www"]);
    let out = tlskit(dir, &["cert", "show", &format!("127.0.0.1:{}", wrong.port), "--cacert", "pki/ca.pem", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["verification"]["verified"], false);
    assert!(doc["verification"]["error"].as_str().unwrap().contains("not valid for name"), "{doc}");
    assert_eq!(doc["certificates"][0]["subject"], "O=tlskit test PKI, CN=wrong-name.invalid");
    assert_eq!(doc["address"], format!("127.0.0.1:{}", wrong.port));
    assert_eq!(doc["server_name"], "127.0.0.1");

    // Nobody listening: one line of error.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = tlskit(dir, &["cert", "show", &format!("127.0.0.1:{free}"), "--connect-timeout", "2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused") && err.lines().count() == 1, "{err}");
}

#[test]
fn issue_adds_certificates_the_ca_vouches_for() {
    let (tmp, pki) = make_pki(&[]);
    let dir = tmp.path();
    let ca = pki.ca.to_string_lossy().into_owned();
    let out = tlskit(
        dir,
        &["cert", "issue", "--ca", "pki", "--server", "--san", "web.test", "--san", "10.1.2.3", "--days", "30"],
    );
    assert!(!out.status.success(), "--out is required");
    let out = tlskit(
        dir,
        &[
            "cert",
            "issue",
            "--ca",
            "pki",
            "--server",
            "--san",
            "web.test",
            "--san",
            "10.1.2.3",
            "--days",
            "30",
            "--key-type",
            "p384",
            "--out",
            "web",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let (ok, msg) =
        verify(dir, &["-verify_hostname", "web.test", "-purpose", "sslserver", "-CAfile", &ca], &dir.join("web.pem"));
    assert!(ok, "{msg}");
    let (ok, msg) = verify(dir, &["-verify_ip", "10.1.2.3", "-CAfile", &ca], &dir.join("web.pem"));
    assert!(ok, "{msg}");
    let (ok, _) = verify(dir, &["-verify_hostname", "localhost", "-CAfile", &ca], &dir.join("web.pem"));
    assert!(!ok, "issued server has only the names asked for");
    let web = tlskit::pki::describe(&tlskit::pki::load_certs(&dir.join("web.pem")).unwrap()[0]).unwrap();
    assert_eq!(web.key, "ECDSA P-384");
    assert_eq!((web.not_after_unix - web.not_before_unix + 1800) / 86_400, 30);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(dir.join("web-key.pem")).unwrap().permissions().mode() & 0o777, 0o600);

    // A client certificate that s_server accepts.
    let out = tlskit(dir, &["cert", "issue", "--ca", "pki", "--client", "--cn", "alice", "--out", "alice"]);
    assert!(out.status.success(), "{}", text(&out));
    let (ok, msg) = verify(dir, &["-purpose", "sslclient", "-CAfile", &ca], &dir.join("alice.pem"));
    assert!(ok, "{msg}");
    let server = openssl_server(
        dir,
        &pki.server,
        &pki.server_key,
        &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca],
    );
    let out = s_client(dir, server.port, &pki.ca, &dir.join("alice.pem"), &dir.join("alice-key.pem"));
    assert!(out.contains("HTTP/1.0 200 ok"), "{out}");

    // No overwriting, and a CA directory that is not one.
    let out = tlskit(dir, &["cert", "issue", "--ca", "pki", "--client", "--out", "alice"]);
    assert!(!out.status.success() && text(&out).contains("refusing to overwrite"), "{}", text(&out));
    let out = tlskit(dir, &["cert", "issue", "--ca", ".", "--client", "--out", "bob"]);
    assert!(!out.status.success() && text(&out).contains("ca.pem"), "{}", text(&out));
    let out = tlskit(dir, &["cert", "issue", "--ca", "pki", "--server", "--san", "bad name", "--out", "bad"]);
    assert!(!out.status.success() && text(&out).contains("bad subject alternative name"), "{}", text(&out));
}

#[test]
fn issue_force_replaces_an_existing_pair() {
    let (tmp, pki) = make_pki(&[]);
    let dir = tmp.path();
    let ca = pki.ca.to_string_lossy().into_owned();
    let issue = |extra: &[&str]| {
        let mut args = vec!["cert", "issue", "--ca", "pki", "--client", "--out", "alice"];
        args.extend_from_slice(extra);
        tlskit(dir, &args)
    };
    let out = issue(&["--cn", "alice"]);
    assert!(out.status.success(), "{}", text(&out));
    let (cert, key) = (dir.join("alice.pem"), dir.join("alice-key.pem"));
    let (old_cert, old_key) = (std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap());
    // Without --force: refused, one line, both files untouched.
    let out = issue(&["--cn", "alice the second"]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to overwrite") && err.contains("--force") && err.lines().count() == 1, "{err}");
    assert_eq!((std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap()), (old_cert.clone(), old_key.clone()));
    // With --force: a new certificate and a new key, a pair openssl accepts and s_server lets in.
    let out = issue(&["--cn", "alice the second", "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    let (new_cert, new_key) = (std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap());
    assert!(new_cert != old_cert && new_key != old_key, "both files replaced");
    let subject = tlskit::pki::describe(&tlskit::pki::load_certs(&cert).unwrap()[0]).unwrap().common.subject;
    assert!(subject.ends_with("CN=alice the second"), "{subject}");
    let (ok, msg) = verify(dir, &["-purpose", "sslclient", "-CAfile", &ca], &cert);
    assert!(ok, "{msg}");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "the new key stays private");
    let server = openssl_server(
        dir,
        &pki.server,
        &pki.server_key,
        &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca],
    );
    let out = s_client(dir, server.port, &pki.ca, &cert, &key);
    assert!(out.contains("HTTP/1.0 200 ok"), "{out}");
    // The old key does not belong to the new certificate.
    std::fs::write(dir.join("old-key.pem"), &old_key).unwrap();
    let out = s_client(dir, server.port, &pki.ca, &cert, &dir.join("old-key.pem"));
    assert!(!out.contains("HTTP/1.0 200 ok"), "{out}");
}

#[test]
fn pkcs12_bundle_opens_in_openssl_with_modern_algorithms() {
    let (tmp, pki) = make_pki(&["--pkcs12"]);
    let p12 = pki.client_p12.clone().unwrap();
    let p12 = p12.to_string_lossy();
    let out = openssl(tmp.path(), &["pkcs12", "-in", &p12, "-passin", "pass:tlskit", "-info", "-nodes"]);
    assert!(out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("AES-256-CBC") && all.contains("MAC: sha256"), "{all}");
    assert!(all.contains("CN = tlskit test client") && all.contains("BEGIN PRIVATE KEY"), "{all}");
    let out = openssl(tmp.path(), &["pkcs12", "-in", &p12, "-passin", "pass:wrong", "-noout"]);
    assert!(!out.status.success(), "wrong password accepted");
}

#[test]
fn our_own_server_and_client_take_the_files() {
    let (tmp, pki) = make_pki(&[]);
    let dir = tmp.path();
    let www = dir.join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.txt"), "hello from tlskit\n").unwrap();
    let p = |path: &Path| path.to_string_lossy().into_owned();
    let (ca, crl) = (p(&pki.ca), p(&pki.crl));
    let serve = Serve::start(
        &www,
        &[
            "--cert",
            &p(&pki.server),
            "--key",
            &p(&pki.server_key),
            "--client-ca",
            &ca,
            "--client-auth",
            "required",
            "--crl",
            &crl,
        ],
    );
    let url = format!("https://localhost:{}/index.txt", serve.port);
    let resolve = format!("localhost:{}:127.0.0.1", serve.port);
    let get = |cert: &Path, key: &Path| {
        tlskit(dir, &["get", "--cacert", &ca, "--cert", &p(cert), "--key", &p(key), "--resolve", &resolve, &url])
    };
    let out = get(&pki.client, &pki.client_key);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from tlskit\n");

    // The server names why it refused each bad client.
    for (cert, key, why) in [
        (&pki.revoked_client, &pki.revoked_client_key, "Revoked"),
        (&pki.other_client, &pki.other_client_key, "UnknownIssuer"),
    ] {
        let out = get(cert, key);
        assert!(!out.status.success(), "{why} client accepted: {}", text(&out));
        let line = serve.wait_for_stderr(|l| l.contains(why), std::time::Duration::from_secs(5));
        assert!(line.is_some(), "server did not log {why}: {:?}", serve.stderr_lines());
    }

    // `cert show` on our own server: the chain is the server.pem leaf, and it verifies.
    let out = tlskit(dir, &["cert", "show", &serve.addr(), "--cacert", &ca, "--servername", "localhost", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let leaf = tlskit::pki::describe(&tlskit::pki::load_certs(&pki.server).unwrap()[0]).unwrap();
    assert_eq!(doc["certificates"][0]["sha256_fingerprint"], leaf.sha256_fingerprint.as_str());
    assert_eq!(doc["verification"]["verified"], true, "{doc}");

    // Our client against servers with the negative certificates.
    for (cert, key, want) in [
        (&pki.wrong_name, &pki.wrong_name_key, "does not match host localhost"),
        (&pki.expired, &pki.expired_key, "has expired"),
    ] {
        let server = openssl_server(dir, cert, key, &["-www"]);
        let resolve = format!("localhost:{}:127.0.0.1", server.port);
        let out = tlskit(dir, &["get", "--cacert", &ca, "--resolve", &resolve, &server.url("/")]);
        assert_eq!(out.status.code(), Some(60), "{}", text(&out));
        assert!(text(&out).contains(want), "{want:?}: {}", text(&out));
    }
}
