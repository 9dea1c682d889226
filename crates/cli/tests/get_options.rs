//! `tlskit get` / `post` flags that had no test, judged by the server that received the request (Python's
//! ssl, `openssl s_server`, our own `tlskit serve`): `-X`, `--max-redirs`, `-s`, `--ciphers`, `--http2`,
//! `--tlsv1.2`, `-d @file`, and the client's key log (SSLKEYLOGFILE).

mod common;
use common::{path, pki};

use std::collections::BTreeSet;
use std::time::Duration;

use common::peers::{openssl_server, python_server, tlskit, tlskit_env, Run};
use serde_json::Value;

/// The JSON documents on stdout (the Python server's facts, then our -w json); the run must have succeeded.
fn docs(run: &Run) -> Vec<Value> {
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.json_docs()
}

#[test]
fn request_method_is_what_x_says() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let ca = path(&pki.ca);
    let facts = &docs(&tlskit(["get", "-X", "DELETE", "--cacert", &ca, &peer.url("/item/1")]))[0];
    assert_eq!((&facts["method"], &facts["path"]), (&"DELETE".into(), &"/item/1".into()));
    // -X with a body: the body goes with the method given, not as POST.
    let facts = &docs(&tlskit(["get", "-X", "PUT", "-d", "a=1", "--cacert", &ca, &peer.url("/item/2")]))[0];
    assert_eq!((&facts["method"], &facts["body"]), (&"PUT".into(), &"a=1".into()));
    let run = tlskit(["post", "-X", "PATCH", "--json", r#"{"n":2}"#, "--cacert", &ca, &peer.url("/item/3")]);
    let facts = &docs(&run)[0];
    assert_eq!((&facts["method"], &facts["body"]), (&"PATCH".into(), &r#"{"n":2}"#.into()));
    // -w json reports the method used.
    let run = tlskit(["get", "-X", "OPTIONS", "-w", "json", "--cacert", &ca, &peer.url("/")]);
    assert_eq!(docs(&run)[1]["method"], "OPTIONS");
    let run = tlskit(["get", "-X", "BAD METHOD", "--cacert", &ca, &peer.url("/")]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("bad method"), "{}", run.stderr);
}

#[test]
fn max_redirs_bounds_how_many_redirects_are_followed() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let ca = path(&pki.ca);
    // Three hops: /redirect/3 -> 2 -> 1 -> 0.
    let run = tlskit(["get", "-L", "--max-redirs", "3", "-w", "json", "--cacert", &ca, &peer.url("/redirect/3")]);
    let followed = docs(&run);
    assert_eq!(followed[0]["path"], "/redirect/0");
    assert_eq!((&followed[1]["response_code"], &followed[1]["num_redirects"]), (&200.into(), &3.into()));
    assert_eq!(followed[1]["url_effective"], peer.url("/redirect/0"));
    // One fewer allowed: curl's exit 47 and its message.
    let run = tlskit(["get", "-L", "--max-redirs", "2", "--cacert", &ca, &peer.url("/redirect/3")]);
    assert_eq!(run.code, Some(47), "{}", run.stderr);
    assert_eq!(run.error_lines(), ["tlskit: maximum (2) redirects followed"]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // Without -L the first answer is the result.
    let run = tlskit(["get", "--max-redirs", "0", "-w", "json", "--cacert", &ca, &peer.url("/redirect/3")]);
    assert_eq!(docs(&run)[0]["response_code"], 302);
}

#[test]
fn redirects_keep_credentials_on_their_server_and_see_other_becomes_get() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let ca = path(&pki.ca);
    let auth = ["-H", "Authorization: Bearer secret"];
    // The same server: the header follows.
    let run = tlskit([&["get", "-L", "--cacert", &ca][..], &auth, &[&peer.url("/redirect/1")]].concat());
    assert_eq!(docs(&run)[0]["authorization"], "Bearer secret", "{}", run.stderr);
    // Another origin (127.0.0.1 instead of localhost): it is dropped, as curl drops it without --location-trusted.
    let run = tlskit([&["get", "-L", "--cacert", &ca][..], &auth, &[&peer.url("/elsewhere/redirect/0")]].concat());
    let facts = &docs(&run)[0];
    assert_eq!((&facts["path"], &facts["authorization"]), (&"/redirect/0".into(), &serde_json::Value::Null));
    // 303 after POST: a GET without the body or its headers.
    let run = tlskit(["post", "-L", "-d", "a=1", "-w", "json", "--cacert", &ca, &peer.url("/see-other")]);
    let out = docs(&run);
    assert_eq!(
        (&out[0]["method"], &out[0]["content_length"]),
        (&"GET".into(), &serde_json::Value::Null),
        "{}",
        run.stderr
    );
    assert_eq!(out[1]["num_redirects"], 1);
}

#[test]
fn silent_prints_nothing_but_the_body_and_still_names_errors() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let run = tlskit(["get", "-s", "--cacert", &path(&pki.ca), &peer.url("/quiet")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_eq!(run.json_docs()[0]["path"], "/quiet");
    // As documented (unlike curl's -s without -S), the one error line stays.
    let run = tlskit(["get", "-s", "--cacert", &path(&pki.other_ca), &peer.url("/")]);
    assert_eq!(run.code, Some(60));
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("unknown issuer"), "{}", run.stderr);
}

#[test]
fn ciphers_choose_the_suite_the_server_sees() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let ca = path(&pki.ca);
    // (our flags, the suite we report, the suite Python's OpenSSL reports)
    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["--tls-max", "1.2", "--ciphers", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"],
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
        ),
        // OpenSSL's names are accepted too.
        (
            &["--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"],
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ),
        (
            &["--ciphers", "TLS13_CHACHA20_POLY1305_SHA256"],
            "TLS13_CHACHA20_POLY1305_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256",
        ),
    ];
    for (flags, ours, theirs) in cases {
        let mut args = vec!["get", "-w", "json", "--cacert", &ca];
        args.extend(flags);
        let url = peer.url("/");
        args.push(&url);
        let docs = docs(&tlskit(args));
        assert_eq!(docs[0]["cipher"], theirs, "{flags:?}");
        assert_eq!(docs[1]["session"]["cipher_suite"], ours.replace("TLS13_", "TLS_"), "{flags:?}");
    }
    let run = tlskit(["get", "--ciphers", "RC4-MD5", "--cacert", &ca, &peer.url("/")]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("RC4-MD5"), "{}", run.stderr);
}

#[test]
fn http2_is_offered_and_falls_back_to_http1_where_the_server_has_no_h2() {
    let (_dir, pki) = pki();
    let ca = path(&pki.ca);
    // Our server speaks h2: ALPN picks it.
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("hello.txt"), "hello\n").unwrap();
    let server = common::serve::Serve::start(
        site.path(),
        &["--cert", &path(&pki.server), "--key", &path(&pki.server_key), "--quiet"],
    );
    let run = tlskit(["get", "--http2", "-w", "json", "--cacert", &ca, &server.url_for("/hello.txt")]);
    let doc = &docs(&run)[0];
    assert_eq!((&doc["http_version"], &doc["session"]["alpn"]), (&"2".into(), &"h2".into()));
    // Python's http.server has no ALPN: the same flag gets HTTP/1.1.
    let peer = python_server(&pki.server, &pki.server_key, None);
    let docs = docs(&tlskit(["get", "--http2", "-w", "json", "--cacert", &ca, &peer.url("/")]));
    assert_eq!((&docs[1]["http_version"], &docs[1]["session"]["alpn"]), (&"1.1".into(), &Value::Null));
    let run = tlskit(["get", "--http2", "--http1.1", &peer.url("/")]);
    assert_eq!(run.code, Some(2), "clap's usage error: {}", run.stderr);
}

#[test]
fn tlsv1_2_is_a_minimum_not_a_maximum() {
    let (_dir, pki) = pki();
    let ca = path(&pki.ca);
    let modern = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www"]);
    let old = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www", "-tls1_2"]);
    let version = |flags: &[&str], url: &str| {
        let mut args = vec!["get", "-w", "json", "-o", "/dev/null", "--cacert", &ca];
        args.extend(flags);
        args.push(url);
        docs(&tlskit(args))[0]["session"]["version"].clone()
    };
    // As curl's --tlsv1.2: TLS 1.2 or later.
    assert_eq!(version(&["--tlsv1.2"], &modern.url("/")), "TLSv1.3");
    assert_eq!(version(&["--tlsv1.2"], &old.url("/")), "TLSv1.2");
    assert_eq!(version(&["--tlsv1.2", "--tls-max", "1.2"], &modern.url("/")), "TLSv1.2");
}

#[test]
fn data_at_file_sends_the_file_without_its_newlines() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let ca = path(&pki.ca);
    let file = pki.dir.join("form.txt");
    std::fs::write(&file, "name=tlskit\r\n&howto=m2crypto\n").unwrap();
    let at_file = format!("@{}", path(&file));
    let facts = &docs(&tlskit(["post", "-d", &at_file, "--cacert", &ca, &peer.url("/form")]))[0];
    assert_eq!(facts["body"], "name=tlskit&howto=m2crypto");
    assert_eq!(facts["content_type"], "application/x-www-form-urlencoded");
    // Joined with '&' to another -d, as curl does.
    let facts = &docs(&tlskit(["post", "-d", &at_file, "-d", "x=1", "--cacert", &ca, &peer.url("/form")]))[0];
    assert_eq!(facts["body"], "name=tlskit&howto=m2crypto&x=1");
    let run = tlskit(["post", "-d", "@/nonexistent/form.txt", "--cacert", &ca, &peer.url("/form")]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/form.txt"), "{}", run.stderr);
}

/// The lines of an NSS key log (not its comments), as a set.
fn key_lines(file: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn sslkeylogfile_logs_the_secrets_the_server_logs() {
    let (_dir, pki) = pki();
    let (ours, theirs) = (pki.dir.join("client.log"), pki.dir.join("server.log"));
    for version in ["-tls1_3", "-tls1_2"] {
        let keylog = path(&theirs);
        let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www", version, "-keylogfile", &keylog]);
        let url = peer.url("/");
        let run = tlskit_env(
            ["get", "-o", "/dev/null", "--cacert", &path(&pki.ca), &url, &url],
            b"",
            &[("SSLKEYLOGFILE", &path(&ours))],
            Duration::from_secs(60),
        );
        assert_eq!(run.code, Some(0), "{version}: {}", run.stderr);
    }
    // openssl s_server wrote its side of the four handshakes; our client wrote the same secrets.
    let (ours, theirs) = (key_lines(&ours), key_lines(&theirs));
    assert!(theirs.iter().any(|l| l.starts_with("CLIENT_RANDOM ")), "TLS 1.2 in the server's log: {theirs:?}");
    assert!(theirs.iter().any(|l| l.starts_with("SERVER_TRAFFIC_SECRET_0 ")), "{theirs:?}");
    let missing: Vec<&String> = theirs.difference(&ours).collect();
    assert!(missing.is_empty(), "secrets s_server logged that tlskit get did not: {missing:?}");
    // Without SSLKEYLOGFILE nothing is written.
    let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www"]);
    let run = tlskit(["get", "-o", "/dev/null", "--cacert", &path(&pki.ca), &peer.url("/")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(key_lines(&pki.dir.join("client.log")), ours, "no new lines");
}
