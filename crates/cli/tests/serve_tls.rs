//! `tlskit serve` TLS behaviour against real peers: session resumption under each
//! reuse policy (openssl s_client -sess_out/-sess_in, Python ssl), client-certificate
//! authentication (curl), and the /_reneg_ KeyUpdate (Python ssl, one socket);
//! both execution models.

mod common;
use common::pki;

use std::path::Path;
use std::process::Command;

use common::process::{CommandExt as _, LIMIT};
use common::serve::{curl, for_each_model, python, Serve, PY_HTTPS_CLIENT};

fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from tlskit\n").unwrap();
    std::fs::create_dir(dir.path().join("private")).unwrap();
    std::fs::write(dir.path().join("private").join("secret.txt"), "for certificate holders\n").unwrap();
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// One `openssl s_client` connection that sends a request and reads to the end;
/// returns its stdout (which says `New,` or `Reused,`).
fn s_client(server: &Serve, ca: &Path, version: &str, sess: (&str, &Path)) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &server.addr(), "-servername", "localhost", "-CAfile", p(ca), version])
        .args([sess.0, p(sess.1)])
        .arg("-ign_eof")
        .output_with_input(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", LIMIT);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("hello from tlskit"),
        "s_client got no file: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Two connections with one Python ssl context, the second offering the first's session.
const PY_RESUME: &str = r#"
import socket, ssl, sys
port, ca, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.maximum_version = ctx.minimum_version = getattr(ssl.TLSVersion, version)
def fetch(session=None):
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            assert b"hello from tlskit" in data, data
            return s.session, s.session_reused
session, _ = fetch()
_, reused = fetch(session)
print("reused" if reused else "new")
"#;

/// Each session-reuse policy (`--session-cache`, `--tickets`), the resumption it allows (the session cache
/// serves TLS 1.2 session IDs and TLS 1.3 stateful tickets, so either one on is enough to resume), in one
/// execution model or both.
const POLICIES: [(&str, &[&str], bool, &[&str]); 4] = [
    ("cache on, tickets on", &[], true, &["async", "threads"]),
    ("cache on, tickets off", &["--tickets", "off"], true, &["async"]),
    ("cache off, tickets on", &["--session-cache", "0"], true, &["async"]),
    ("cache off, tickets off", &["--session-cache", "0", "--tickets", "off"], false, &["async", "threads"]),
];

#[test]
fn session_reuse_policies_as_openssl_and_python_see_them() {
    let root = docroot();
    let (_d, pki) = pki();
    let tmp = tempfile::tempdir().unwrap();
    let sess = tmp.path().join("session.pem");
    for (policy, flags, resumes, models) in POLICIES {
        for model in models {
            let args = [&["--cert", p(&pki.server), "--key", p(&pki.server_key), "--model", model][..], flags].concat();
            let server = Serve::start(root.path(), &args);
            for (s_client_version, python_version) in [("-tls1_3", "TLSv1_3"), ("-tls1_2", "TLSv1_2")] {
                let what = format!("{policy}, {model}, {python_version}");
                // openssl s_client: the session saved by one process, offered by the next.
                let first = s_client(&server, &pki.ca, s_client_version, ("-sess_out", &sess));
                assert!(first.contains("New, TLSv1."), "{what}: {first}");
                let second = s_client(&server, &pki.ca, s_client_version, ("-sess_in", &sess));
                let want = if resumes { "Reused, TLSv1." } else { "New, TLSv1." };
                assert!(second.contains(want), "{what}: s_client's second connection: {second}");
                // Python's ssl: one context, the first connection's session offered on the second.
                let (ok, out, err) = python(PY_RESUME, &[&server.port.to_string(), p(&pki.ca), python_version]);
                assert!(ok, "{what}: {err}");
                assert_eq!(out.trim(), if resumes { "reused" } else { "new" }, "{what}: Python");
            }
            // The server's own account agrees.
            let lines = server.stdout_lines();
            let resumed = lines.iter().filter(|l| l.contains("/hello.txt") && l.ends_with(" resumed")).count();
            assert_eq!(resumed, if resumes { 4 } else { 0 }, "{policy}, {model}: {lines:#?}");
        }
    }
}

#[test]
fn client_auth_required_refuses_missing_foreign_and_revoked_certificates() {
    let root = docroot();
    let (_d, pki) = pki();
    for_each_model(|model| {
        let server = Serve::start(
            root.path(),
            &[
                "--model",
                model,
                "--cert",
                p(&pki.server),
                "--key",
                p(&pki.server_key),
                "--client-ca",
                p(&pki.ca),
                "--client-auth",
                "required",
                "--crl",
                p(&pki.crl),
            ],
        );
        let url = server.url_for("_tls");
        for tls in ["--tlsv1.3", "--tlsv1.2"] {
            let max: &[&str] = if tls == "--tlsv1.2" { &["--tls-max", "1.2"] } else { &[] };
            let base = [&["--cacert", p(&pki.ca), tls][..], max].concat();
            let refused = |extra: &[&str], why: &str| {
                let (ok, body, _) = curl(&[&base[..], extra, &[&url]].concat());
                assert!(!ok && body.is_empty(), "{model} {tls}: {why} was let in");
            };
            refused(&[], "no certificate");
            refused(&["--cert", p(&pki.other_client), "--key", p(&pki.other_client_key)], "another CA's client");
            refused(&["--cert", p(&pki.revoked_client), "--key", p(&pki.revoked_client_key)], "a revoked client");
            let (ok, body, err) = curl(
                &[
                    &base[..],
                    &["--cert", p(&pki.client), "--key", p(&pki.client_key), "-H", "Accept: application/json", &url],
                ]
                .concat(),
            );
            assert!(ok, "{model} {tls}: good client refused: {err}");
            let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(info["client_certificate_verified"], true);
            let subject = info["session"]["peer_certificates"][0]["subject"].as_str().unwrap();
            assert!(subject.contains("CN=tlskit test client"), "{subject}");
        }
        let line = server.access_line("/_tls").unwrap();
        assert!(
            line.contains("client=\"") && line.contains("CN=tlskit test client") && line.contains("issuer=\""),
            "{line}"
        );
        assert!(server.stderr_lines().iter().any(|l| l.contains("handshake")), "refusals are reported");
    });
}

#[test]
fn client_auth_optional_protects_only_the_prefix() {
    let root = docroot();
    let (_d, pki) = pki();
    for_each_model(|model| {
        let server = Serve::start(
            root.path(),
            &[
                "--model",
                model,
                "--cert",
                p(&pki.server),
                "--key",
                p(&pki.server_key),
                "--client-ca",
                p(&pki.ca),
                "--client-auth",
                "optional",
                "--require-client-cert",
                "/private",
            ],
        );
        let code = |extra: &[&str], path: &str| {
            let (_, out, _) = curl(
                &[
                    &["--cacert", p(&pki.ca), "-o", "/dev/null", "-w", "%{http_code}"][..],
                    extra,
                    &[&server.url_for(path)],
                ]
                .concat(),
            );
            String::from_utf8(out).unwrap()
        };
        assert_eq!(code(&[], "hello.txt"), "200", "{model}: open path");
        assert_eq!(code(&[], "private/secret.txt"), "403", "{model}: protected path without certificate");
        assert_eq!(code(&[], "%70rivate/secret.txt"), "403", "{model}: encoded protected path");
        assert_eq!(code(&[], "private/"), "403");
        let (_, body, _) = curl(&["--cacert", p(&pki.ca), &server.url_for("private/secret.txt")]);
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("client certificate") && !body.contains("for certificate holders"), "{body}");
        let cert = ["--cert", p(&pki.client), "--key", p(&pki.client_key)];
        assert_eq!(code(&cert, "private/secret.txt"), "200", "{model}: with a good certificate");
    });
}

/// One socket: `/_reneg_now` (the server sends a KeyUpdate), then a file on the same connection.
/// After [`PY_HTTPS_CLIENT`].
const PY_KEY_UPDATE: &str = r#"
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET /_reneg_now HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n")
        status1, body1 = response(s)
        s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status2, body2 = response(s)
        s.sendall(b"GET /_tls HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n")
        status3, body3 = response(s)
print(json.dumps({"status1": status1, "reneg": json.loads(body1), "status2": status2,
                  "body2": body2.decode(), "tls": json.loads(body3)}))
"#;

#[test]
fn magic_url_key_update_is_survived_on_the_same_connection() {
    let root = docroot();
    let (_d, pki) = pki();
    for_each_model(|model| {
        let server =
            Serve::start(root.path(), &["--model", model, "--cert", p(&pki.server), "--key", p(&pki.server_key)]);
        let (ok, out, err) =
            python(&format!("{PY_HTTPS_CLIENT}{PY_KEY_UPDATE}"), &[&server.port.to_string(), p(&pki.ca), "TLSv1_3"]);
        assert!(ok, "{model}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["status1"], "HTTP/1.1 200 OK", "{v}");
        assert_eq!(v["reneg"]["key_update"], true);
        assert_eq!(v["reneg"]["after"]["key_updates_sent"], 1);
        assert_eq!(v["status2"], "HTTP/1.1 200 OK");
        assert_eq!(v["body2"], "hello from tlskit\n");
        // The KeyUpdate really went out on this connection.
        assert_eq!(v["tls"]["key_updates_sent"], 1, "{v}");

        // TLS 1.2: no renegotiation, and the answer says why.
        let (ok, out, err) =
            python(&format!("{PY_HTTPS_CLIENT}{PY_KEY_UPDATE}"), &[&server.port.to_string(), p(&pki.ca), "TLSv1_2"]);
        assert!(ok, "{model}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["status1"], "HTTP/1.1 501 Not Implemented");
        assert_eq!(v["reneg"]["renegotiated"], false);
        assert!(v["reneg"]["reason"].as_str().unwrap().contains("rustls refuses it"));
        assert_eq!(v["body2"], "hello from tlskit\n");
        assert_eq!(v["tls"]["key_updates_sent"], 0);
    });
}
