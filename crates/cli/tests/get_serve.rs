//! `tlskit get` against our own `tlskit serve` (both execution models): HTTP/2 by ALPN,
//! resumption seen by both sides, redirects, HEAD, -o, --resolve, client certificates.

mod common;
use common::{path, pki};

use common::peers::tlskit;
use common::serve::{for_each_model, Serve};
use tlskit::pki::PkiFiles;

/// A site with a file and a subdirectory, served with the test PKI's server certificate.
fn serve(pki: &PkiFiles, model: &str, extra: &[&str]) -> Serve {
    let site = pki.dir.join("site");
    std::fs::create_dir_all(site.join("sub")).expect("mkdir");
    std::fs::write(site.join("hello.txt"), "hello\n").expect("write");
    std::fs::write(site.join("sub/index.html"), "<p>sub</p>\n").expect("write");
    let mut args = vec!["--cert", pki.server.to_str().unwrap(), "--key", pki.server_key.to_str().unwrap(), "-q"];
    args.extend(["--model", model]);
    args.extend(extra);
    Serve::start(&site, &args)
}

#[test]
fn h2_by_alpn_and_resumption_seen_by_both_sides() {
    let (_dir, pki) = pki();
    for_each_model(|model| {
        let server = serve(&pki, model, &[]);
        let url = server.url_for("/_tls");
        let ca = path(&pki.ca);
        let run = tlskit(["get", "--cacert", &ca, "-H", "Accept: application/json", "-w", "json", &url, &url]);
        assert_eq!(run.code, Some(0), "{model}: {}", run.stderr);
        // Stdout alternates: the server's /_tls JSON (pretty-printed), then our -w json.
        let docs: Vec<serde_json::Value> =
            serde_json::Deserializer::from_str(&run.stdout).into_iter().collect::<Result<_, _>>().expect("JSON");
        assert_eq!(docs.len(), 4, "{model}: {}", run.stdout);
        for (i, resumed) in [(0, false), (2, true)] {
            let (theirs, ours) = (&docs[i], &docs[i + 1]);
            assert_eq!(ours["http_version"], "2", "{model}");
            assert_eq!(ours["session"]["alpn"], "h2", "{model}");
            assert_eq!(ours["session"]["resumed"], resumed, "{model}: {ours}");
            assert_eq!(theirs["session"]["resumed"], resumed, "{model}: the server agrees: {theirs}");
            assert_eq!(theirs["session"]["cipher_suite"], ours["session"]["cipher_suite"], "{model}");
            assert_eq!(theirs["client"], format!("{}:{}", ours["local_ip"].as_str().unwrap(), ours["local_port"]));
        }
    });
}

#[test]
fn http1_1_flag_and_head_and_output_file() {
    let (_dir, pki) = pki();
    let server = serve(&pki, "async", &[]);
    let ca = path(&pki.ca);
    let run = tlskit(["get", "--http1.1", "--cacert", &ca, "-w", "json", &server.url_for("/hello.txt")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("hello\n"), "{}", run.stdout);
    let doc = &run.json_docs()[0];
    assert_eq!((&doc["http_version"], &doc["session"]["alpn"]), (&"1.1".into(), &"http/1.1".into()));
    assert_eq!(doc["size_download"], 6);

    let run = tlskit(["get", "-I", "--cacert", &ca, &server.url_for("/hello.txt")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("HTTP/2 200\r\n"), "{}", run.stdout);
    assert!(run.stdout.contains("content-length: 6\r\n") && run.stdout.ends_with("\r\n\r\n"), "{}", run.stdout);

    let out = pki.dir.join("out.txt");
    let run = tlskit(["get", "--cacert", &ca, "-o", &path(&out), "-w", "json", &server.url_for("/hello.txt")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&out).expect("output file"), "hello\n");
    assert_eq!(run.json_docs().len(), 1, "-o leaves only the JSON on stdout: {}", run.stdout);
}

#[test]
fn redirects_are_followed_with_location() {
    let (_dir, pki) = pki();
    let server = serve(&pki, "async", &[]);
    let ca = path(&pki.ca);
    let run = tlskit(["get", "--cacert", &ca, "-w", "json", "-o", "/dev/null", &server.url_for("/sub")]);
    assert_eq!(run.json_docs()[0]["response_code"], 301, "{}", run.stdout);
    let run = tlskit(["get", "-L", "--cacert", &ca, "-w", "json", &server.url_for("/sub")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("<p>sub</p>\n"), "{}", run.stdout);
    let doc = &run.json_docs()[0];
    assert_eq!((&doc["response_code"], &doc["num_redirects"]), (&200.into(), &1.into()));
    assert_eq!(doc["url_effective"], server.url_for("/sub/"));
    // The redirect's second connection resumed the first one's session.
    assert_eq!(doc["session"]["resumed"], true);
}

#[test]
fn resolve_sends_a_name_to_an_address() {
    let (_dir, pki) = pki();
    let server = serve(&pki, "async", &[]);
    // `localhost` is in the certificate; point it at 127.0.0.1 explicitly, and a name that
    // exists nowhere else at the same address: the first verifies, the second cannot.
    let rule = format!("localhost:{}:127.0.0.1", server.port);
    let run = tlskit(["get", "--resolve", &rule, "--cacert", &path(&pki.ca), &server.url_for("/hello.txt")]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), "hello\n"), "{}", run.stderr);
    let rule = format!("nowhere.example:{}:127.0.0.1", server.port);
    let url = format!("https://nowhere.example:{}/hello.txt", server.port);
    let run = tlskit(["get", "--resolve", &rule, "--cacert", &path(&pki.ca), &url]);
    assert_eq!(run.code, Some(60), "{}", run.stderr);
    assert!(run.stderr.contains("does not match host nowhere.example"), "{}", run.stderr);
}

#[test]
fn per_path_client_certificate() {
    let (_dir, pki) = pki();
    let site_sub = "/sub/";
    let server = serve(&pki, "async", &["--client-ca", pki.ca.to_str().unwrap(), "--require-client-cert", site_sub]);
    let (ca, cert, key) = (path(&pki.ca), path(&pki.client), path(&pki.client_key));
    let url = server.url_for(site_sub);
    let run = tlskit(["get", "--cacert", &ca, "--cert", &cert, "--key", &key, &url]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), "<p>sub</p>\n"), "{}", run.stderr);
    // Without one the handshake succeeds (optional) and HTTP says no; --fail makes that exit 22.
    let run = tlskit(["get", "--cacert", &ca, "-w", "json", "-o", "/dev/null", &url]);
    assert_eq!(run.json_docs()[0]["response_code"], 403, "{}", run.stdout);
    let run = tlskit(["get", "-f", "--cacert", &ca, &url]);
    assert_eq!(run.code, Some(22), "{}", run.stderr);
    assert_eq!(run.error_lines(), ["tlskit: the requested URL returned error: 403"]);
}

#[test]
fn large_download_streams_to_the_output_file() {
    let (_dir, pki) = pki();
    let server = serve(&pki, "async", &[]);
    // 24 MiB of a pattern that is not all one byte, written next to hello.txt.
    let data: Vec<u8> = (0..24 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(pki.dir.join("site/big.bin"), &data).expect("write");
    let out = pki.dir.join("big.out");
    let run = tlskit(["get", "--cacert", &path(&pki.ca), "-o", &path(&out), "-w", "json", &server.url_for("/big.bin")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json_docs()[0]["size_download"], data.len());
    assert!(std::fs::read(&out).expect("output") == data, "the file arrived intact");
}

/// The `<section class="ladder" id="conn-ID">` of a report, up to its end.
fn ladder_of(html: &str, id: u64) -> &str {
    let start =
        html.find(&format!("<section class=\"ladder\" id=\"conn-{id}\">")).unwrap_or_else(|| panic!("no ladder {id}"));
    let section = &html[start..];
    &section[..section.find("</section>").expect("ladder ends")]
}

#[test]
fn html_draws_each_connections_ladder_also_when_the_transfer_fails() {
    let (dir, pki) = pki();
    let server = serve(&pki, "async", &[]);
    let ca = path(&pki.ca);
    let file = dir.path().join("ladder.html");
    let url = server.url_for("/hello.txt");
    let run = tlskit(["get", "-v", "--http1.1", "--cacert", &ca, "--html", &path(&file), &url, &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "hello\nhello\n");
    assert!(run.stderr.contains("ServerHello"), "-v still prints the trace: {}", run.stderr);
    let html = std::fs::read_to_string(&file).expect("the --html file");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(!html.contains("<script") && !html.contains("src=\"http"), "self-contained");
    assert!(html.contains(&format!("tlskit get {url} {url}")), "titled by the command");
    assert!(html.contains("(<code>tlskit get --html</code>)"), "the footer names it too");
    assert_eq!(html.matches("<section class=\"ladder\"").count(), 2, "one ladder per connection");
    // The first: a full handshake, the server's flight decrypted live with the client's own secrets.
    let full = ladder_of(&html, 1);
    for message in ["ClientHello", "ServerHello", "EncryptedExtensions", "CertificateVerify", "Finished"] {
        assert!(full.contains(&format!("class=\"label\">{message}")), "{message} in {full}");
    }
    assert!(full.contains("Certificate<span class=\"badge dec\">decrypted</span>"), "{full}");
    // The second resumed the first's session: no certificate was sent.
    let resumed = ladder_of(&html, 2);
    assert!(resumed.contains("class=\"label\">ServerHello") && !resumed.contains("class=\"label\">Certificate<"));

    // A handshake that fails (no trust in the server's CA) is drawn too, and get still fails as curl does.
    let failed = dir.path().join("failed.html");
    let run = tlskit(["get", "-v", "--html", &path(&failed), &url]);
    assert_eq!(run.code, Some(60), "{}", run.stderr);
    let html = std::fs::read_to_string(&failed).expect("the --html file of a failed transfer");
    let ladder = ladder_of(&html, 1);
    assert!(ladder.contains("Certificate<span class=\"badge dec\">decrypted</span>"), "{ladder}");
    // The client's own fatal alert ends the ladder and the trace: the tap sends and copies all of the
    // handshake's last write (change_cipher_spec and the alert together).
    assert!(ladder.contains("<li class=\"step c2s alert fatal dec\">"), "the client's alert is drawn: {ladder}");
    assert!(ladder.contains("class=\"label\">Alert unknown_ca"), "{ladder}");
    assert!(run.stderr.contains("Alert fatal unknown_ca"), "-v shows the client's alert: {}", run.stderr);

    // A file that cannot be written is an error before anything is fetched.
    let run = tlskit(["get", "--cacert", &ca, "--html", "/nonexistent-dir/x.html", &url]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("--html: writing /nonexistent-dir/x.html"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing fetched: {}", run.stdout);
}
