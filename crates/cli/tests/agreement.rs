//! Where two parts of tlskit say the same thing, they say it alike: content negotiation on the listing and
//! on `/_tls`, the path the client-certificate rules check and the path the file service serves, the names
//! of versions, suites, groups and alerts in pages, access lines, traces and errors, and the live trace's
//! JSON against `tlskit dump --json`. Each test pins a place where two copies once disagreed.

mod common;
#[path = "../../wire/tests/support/captures.rs"]
mod support_captures;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::peers::{openssl_server, tlskit};
use common::pki;
use common::serve::{curl, Serve};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from tlskit\n").unwrap();
    for sub in ["private", "public"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        std::fs::write(dir.path().join(sub).join("file.txt"), format!("{sub} file\n")).unwrap();
    }
    dir
}

/// The Content-Type `tlskit serve` answers `path` with for this Accept header (None: no Accept at all).
fn content_type(server: &Serve, ca: &Path, path: &str, accept: Option<&str>) -> String {
    let header = accept.map_or_else(|| "Accept:".to_string(), |a| format!("Accept: {a}"));
    let (ok, out, err) =
        curl(&["--cacert", p(ca), "-H", &header, "-o", "/dev/null", "-w", "%{content_type}", &server.url_for(path)]);
    assert!(ok, "{path} {accept:?}: {err}");
    String::from_utf8(out).unwrap()
}

#[test]
fn listing_and_tls_page_negotiate_alike_with_q_values() {
    let root = docroot();
    let server = Serve::start(root.path(), &[]);
    let ca = server.ca.clone().unwrap();
    // (Accept, whether JSON is the answer): RFC 9110 section 12.5.1, quality values and most specific range first.
    let cases: &[(Option<&str>, bool)] = &[
        (Some("text/html;q=0.1, application/json"), true),
        (Some("application/json"), true),
        (Some("Application/JSON"), true),
        (Some("application/*"), true),
        (Some("application/json;q=0.9, text/*;q=0.5"), true),
        (Some("text/html, application/json;q=0"), false),
        (Some("application/json;q=0.5, text/html"), false),
        (Some("application/json, text/html"), false),
        (Some("*/*"), false),
        (Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), false),
        (Some("application/json;q=0, */*"), false),
        (None, false),
    ];
    for &(accept, json) in cases {
        let listing = content_type(&server, &ca, "/", accept);
        let tls = content_type(&server, &ca, "/_tls", accept);
        let want = if json { "application/json" } else { "text/html" };
        assert!(listing.starts_with(want), "listing for {accept:?}: {listing}");
        assert!(tls.starts_with(want), "/_tls for {accept:?}: {tls}");
    }
}

#[test]
fn client_certificate_prefixes_are_checked_on_the_path_the_file_service_serves() {
    let root = docroot();
    let (_d, pki) = pki();
    let server = Serve::start(
        root.path(),
        &[
            "--cert",
            p(&pki.server),
            "--key",
            p(&pki.server_key),
            "--client-ca",
            p(&pki.ca),
            "--require-client-cert",
            "/private",
        ],
    );
    let fetch = |path: &str, with_cert: bool| {
        let url = format!("https://localhost:{}{path}", server.port);
        let mut args = vec!["--cacert", p(&pki.ca), "--path-as-is", "-w", "\n%{http_code}"];
        if with_cert {
            args.extend(["--cert", p(&pki.client), "--key", p(&pki.client_key)]);
        }
        args.push(&url);
        let (ok, out, err) = curl(&args);
        assert!(ok, "{path}: {err}");
        let text = String::from_utf8(out).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.to_string(), body.to_string())
    };
    let needs_cert = "need a client certificate";
    for path in ["/private/file.txt", "/%70rivate/file.txt", "//private/./file.txt", "/private/"] {
        let (code, body) = fetch(path, false);
        assert_eq!(code, "403", "{path}: {body}");
        assert!(body.contains(needs_cert), "{path}: {body}");
        let (code, body) = fetch(path, true);
        assert!(code == "200", "{path} with a certificate: {code} {body}");
    }
    // Paths the file service refuses get its answer, not a client-certificate rule built on another reading.
    for path in ["/public/../private/file.txt", "/private%5cfile.txt", "/x/..%2fprivate/file.txt"] {
        let (code, body) = fetch(path, false);
        assert_eq!(code, "403", "{path}: {body}");
        assert!(body.contains("not allowed"), "{path}: {body}");
        assert!(!body.contains(needs_cert), "{path}: {body}");
    }
    let (code, body) = fetch("/public/file.txt", false);
    assert_eq!((code.as_str(), body.as_str()), ("200", "public file\n"));

    // A prefix the file service could never see is refused at start-up, naming the flag.
    let err = Serve::try_start(
        root.path(),
        &[
            "--cert",
            p(&pki.server),
            "--key",
            p(&pki.server_key),
            "--client-ca",
            p(&pki.ca),
            "--require-client-cert",
            "/public/../private",
        ],
    )
    .err()
    .expect("a prefix with '..' is refused");
    assert!(err.contains("--require-client-cert") && err.contains("/public/../private"), "{err}");
}

#[test]
fn http_version_is_spelled_alike_in_access_lines_pages_and_the_client() {
    let root = docroot();
    let server = Serve::start(root.path(), &[]);
    let ca = server.ca.clone().unwrap();
    let (ok, out, err) =
        curl(&["--cacert", p(&ca), "--http2", "-H", "Accept: application/json", &server.url_for("_tls")]);
    assert!(ok, "{err}");
    let page: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(page["http_version"], "HTTP/2");
    let line = server.access_line("/_tls").unwrap();
    assert!(line.contains("\"GET /_tls HTTP/2\" 200 "), "{line}");

    let run = tlskit(["get", "-i", "--cacert", p(&ca), &server.url_for("hello.txt")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("HTTP/2 200"), "{}", run.stdout);
    let line = server.access_line("/hello.txt").unwrap();
    assert!(line.contains("\"GET /hello.txt HTTP/2\" 200 "), "{line}");
    drop(server);

    let server = Serve::start(root.path(), &["--json-log"]);
    let ca = server.ca.clone().unwrap();
    let (ok, _, err) = curl(&["--cacert", p(&ca), "--http2", "-o", "/dev/null", &server.url_for("hello.txt")]);
    assert!(ok, "{err}");
    let line = server.wait_for_stdout(|l| l.contains("/hello.txt"), Duration::from_secs(5)).unwrap();
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["http_version"], "HTTP/2", "{line}");
}

#[test]
fn group_names_agree_between_trace_session_and_access_line() {
    let root = docroot();
    let server = Serve::start(root.path(), &["--trace"]);
    let ca = server.ca.clone().unwrap();
    let (ok, _, err) =
        curl(&["--cacert", p(&ca), "--curves", "X25519", "-o", "/dev/null", &server.url_for("hello.txt")]);
    assert!(ok, "{err}");
    let line = server.access_line("/hello.txt").unwrap();
    let trace = server.wait_for_stdout(|l| l.contains("ServerHello"), Duration::from_secs(5)).unwrap();
    assert!(trace.contains(" key_share=x25519 "), "{trace}");
    assert!(line.contains(" x25519 sni="), "{line}");

    // The client: its session (text and JSON) and its trace, against OpenSSL's choice of x25519.
    let (_d, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www", "-groups", "X25519"]);
    let run = tlskit(["get", "-v", "-w", "json", "--cacert", p(&pki.ca), "-o", "/dev/null", &peer.url("/")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("key_share=x25519"), "{}", run.stderr);
    assert!(run.stderr.contains("* key exchange: x25519"), "{}", run.stderr);
    assert_eq!(run.json_docs()[0]["session"]["key_exchange_group"], "x25519");
}

#[test]
fn suite_names_are_the_iana_names_everywhere() {
    let root = docroot();
    // rustls's own spelling is still accepted, but what is printed is the IANA name, as in the access line.
    let server = Serve::start(root.path(), &["--ciphers", "TLS13_AES_256_GCM_SHA384"]);
    let ca = server.ca.clone().unwrap();
    let (ok, _, err) = curl(&["--cacert", p(&ca), "-o", "/dev/null", &server.url_for("hello.txt")]);
    assert!(ok, "{err}");
    let line = server.access_line("/hello.txt").unwrap();
    assert!(line.contains(" TLSv1.3 TLS_AES_256_GCM_SHA384 "), "{line}");
    drop(server);

    let err = Serve::try_start(root.path(), &["--ciphers", "NO_SUCH_SUITE"]).err().expect("unknown suite refused");
    assert!(err.contains("NO_SUCH_SUITE") && err.contains("TLS_AES_128_GCM_SHA256"), "{err}");
    assert!(err.contains("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), "{err}");
    assert!(!err.contains("TLS13_"), "rustls's spelling in the list of known suites: {err}");
}

/// A Python TLS server that ends every handshake with a fatal `unrecognized_name` alert (its SNI callback's answer).
struct AlertServer {
    child: Child,
    port: u16,
}

impl Drop for AlertServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ALERT_SERVER: &str = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.sni_callback = lambda sock, name, c: ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    conn.settimeout(10)
    try:
        ctx.wrap_socket(conn, server_side=True).close()
    except Exception:
        conn.close()
"#;

fn alert_server(cert: &Path, key: &Path) -> AlertServer {
    let mut child = Command::new("python3")
        .args(["-c", ALERT_SERVER, p(cert), p(key)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).expect("the alert server reports its port");
    AlertServer { port: line.trim().parse().expect("a port"), child }
}

#[test]
fn alert_names_are_the_rfc_names() {
    let (_d, pki) = pki();
    let server = alert_server(&pki.server, &pki.server_key);
    let url = format!("https://localhost:{}/", server.port);
    let run = tlskit(["get", "--cacert", p(&pki.ca), &url]);
    assert_eq!(run.code, Some(35), "{}", run.stderr);
    // rustls calls it UnrecognisedName; RFC 6066 and the analyzer's table say unrecognized_name.
    assert_eq!(
        run.error_lines(),
        ["tlskit: the server aborted the TLS handshake with alert unrecognized_name"],
        "{}",
        run.stderr
    );
}

#[test]
fn library_errors_reach_the_user_as_flags() {
    let root = docroot();
    let (_d, pki) = pki();
    let err = Serve::try_start(
        root.path(),
        &["--client-ca", p(&pki.ca), "--client-auth", "off", "--require-client-cert", "/private"],
    )
    .err()
    .expect("per-path rules without client authentication are refused");
    assert!(err.contains("--require-client-cert") && err.contains("--client-auth optional"), "{err}");
    assert!(!err.contains("ServerOptions") && !err.contains("Context::"), "{err}");
}

/// Each event type's fields (the keys of its JSON objects) in one run's output.
fn fields_by_event(lines: &[serde_json::Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut fields: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in lines {
        let event = v["event"].as_str().unwrap().to_string();
        fields.entry(event).or_default().extend(v.as_object().unwrap().keys().cloned());
    }
    fields
}

#[test]
fn serve_trace_json_log_prints_the_dump_json_schema() {
    let root = docroot();
    let server = Serve::start(root.path(), &["--trace", "--json-log"]);
    let ca = server.ca.clone().unwrap();
    for tls in ["1.3", "1.2"] {
        let (ok, _, err) =
            curl(&["--cacert", p(&ca), "--tls-max", tls, "-o", "/dev/null", &server.url_for("hello.txt")]);
        assert!(ok, "{err}");
    }
    let ends =
        || server.stdout_lines().iter().filter(|l| l.starts_with('{') && l.contains("\"connection_end\"")).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ends() < 2 && std::time::Instant::now() < deadline {
        server.wait_for_stdout(|_| false, Duration::from_millis(50));
    }
    let docs: Vec<serde_json::Value> = server
        .stdout_lines()
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let (trace, access): (Vec<_>, Vec<_>) = docs.into_iter().partition(|v| v.get("event").is_some());
    assert_eq!(access.len(), 2, "{access:#?}");
    let ends: Vec<_> = trace.iter().filter(|v| v["event"] == "connection_end").collect();
    assert_eq!(ends.len(), 2, "{trace:#?}");
    let versions: BTreeSet<_> = ends.iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(versions, BTreeSet::from(["TLSv1.2", "TLSv1.3"]));
    for end in &ends {
        assert_eq!(end["failed_records"], 0, "{end}");
        assert_eq!(end["undecrypted_records"], 0, "{end}");
        assert_eq!(end["sni"], "localhost", "{end}");
    }
    let hello = trace.iter().find(|v| v["message"] == "ClientHello").expect("a ClientHello");
    assert!(hello["text"].as_str().unwrap().contains("sni=localhost"), "{hello}");
    assert_eq!(hello["dir"], "c2s");
    assert!(trace.iter().any(|v| v["message"] == "EncryptedExtensions" && v["encrypted"] == true), "{trace:#?}");
    // Every connection's events carry its number, as in dump; each starts and ends once.
    let conns: BTreeSet<u64> = trace.iter().map(|v| v["conn"].as_u64().unwrap()).collect();
    assert_eq!(conns.len(), 2, "{trace:#?}");
    assert_eq!(trace.iter().filter(|v| v["event"] == "connection_start").count(), 2);

    // The same fields per event as `tlskit dump --json` prints for a capture.
    let c = support_captures::captures_dir().join("wireshark-tls13-rfc8446");
    let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
        .args(["dump", "--json", "-l"])
        .arg(c.join("tls13-rfc8446-noearly.keys"))
        .arg(c.join("tls13-rfc8446.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let dumped: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let dump_fields = fields_by_event(&dumped);
    let trace_fields = fields_by_event(&trace);
    for event in ["connection_start", "record", "handshake", "change_cipher_spec", "connection_end"] {
        assert!(trace_fields.contains_key(event), "no {event} in the trace: {trace:#?}");
    }
    for (event, fields) in &trace_fields {
        let dumped = dump_fields.get(event).unwrap_or_else(|| panic!("dump never printed a {event}"));
        assert_eq!(fields, dumped, "{event}");
    }
}
