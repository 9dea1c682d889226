//! `tlskit get` / `tlskit post` against a Python `ssl` HTTPS server (http.server + SSLContext):
//! handshake, verification, POST bodies (--data, --json, stdin), client certificates, resumption.

mod common;
use common::{path, pki};

use common::peers::{python_server, tlskit, tlskit_with_stdin, Run};
use serde_json::Value;

/// The JSON documents on stdout: the server's facts, then our -w json, in turn.
fn docs(run: &Run) -> Vec<Value> {
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.json_docs()
}

#[test]
fn get_verifies_and_resumes_with_python() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let url = peer.url("/hello?x=1");
    let docs = docs(&tlskit(["get", "--cacert", &path(&pki.ca), "-w", "json", &url, &url]));
    assert_eq!(docs.len(), 4);
    let (server1, ours1, server2, ours2) = (&docs[0], &docs[1], &docs[2], &docs[3]);
    assert_eq!(server1["method"], "GET");
    assert_eq!(server1["path"], "/hello?x=1");
    assert_eq!(server1["version"], "TLSv1.3");
    assert_eq!(ours1["session"]["version"], "TLSv1.3");
    assert_eq!(ours1["http_version"], "1.1");
    assert_eq!(ours1["session"]["alpn"], Value::Null);
    // Both sides agree: the first handshake is full, the second resumed.
    assert_eq!((&server1["reused"], &ours1["session"]["resumed"]), (&Value::Bool(false), &Value::Bool(false)));
    assert_eq!((&server2["reused"], &ours2["session"]["resumed"]), (&Value::Bool(true), &Value::Bool(true)));
}

#[test]
fn post_sends_form_json_and_stdin_bodies() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let ca = path(&pki.ca);

    let run = tlskit(["post", "--cacert", &ca, "-d", "a=1", "-d", "b=2", &peer.url("/form")]);
    let facts = &docs(&run)[0];
    assert_eq!(facts["method"], "POST");
    assert_eq!(facts["body"], "a=1&b=2");
    assert_eq!(facts["content_type"], "application/x-www-form-urlencoded");

    let run = tlskit(["post", "--cacert", &ca, "--json", r#"{"k": [1, 2]}"#, &peer.url("/json")]);
    let facts = &docs(&run)[0];
    assert_eq!(facts["body"], r#"{"k": [1, 2]}"#);
    assert_eq!(facts["content_type"], "application/json");
    assert_eq!(facts["accept"], "application/json");

    // -d @- reads stdin and drops its newlines, as curl does; --data-binary keeps them.
    let run = tlskit_with_stdin(["post", "--cacert", &ca, "-d", "@-", &peer.url("/stdin")], b"line1\nline2\n");
    assert_eq!(docs(&run)[0]["body"], "line1line2");
    let file = pki.dir.join("body.txt");
    std::fs::write(&file, "x\ny\n").expect("write");
    let run = tlskit(["post", "--cacert", &ca, "--data-binary", &format!("@{}", path(&file)), &peer.url("/f")]);
    assert_eq!(docs(&run)[0]["body"], "x\ny\n");

    // `post` without data sends an empty body, and says so.
    let facts = &docs(&tlskit(["post", "--cacert", &ca, &peer.url("/empty")]))[0];
    assert_eq!((&facts["method"], &facts["content_length"], &facts["body"]), (&"POST".into(), &"0".into(), &"".into()));

    // `get -d` posts too; -H replaces our Content-Type.
    let run = tlskit(["get", "--cacert", &ca, "-d", "<x/>", "-H", "Content-Type: text/xml", &peer.url("/x")]);
    let facts = &docs(&run)[0];
    assert_eq!((&facts["method"], &facts["content_type"]), (&Value::from("POST"), &Value::from("text/xml")));
}

#[test]
fn include_and_head_show_headers() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, None);
    let run = tlskit(["get", "-i", "--cacert", &path(&pki.ca), &peer.url("/")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{}", run.stdout);
    assert!(run.stdout.contains("content-type: application/json\r\n"), "{}", run.stdout);
    assert!(run.stdout.contains("\r\n\r\n{"), "{}", run.stdout);
}

#[test]
fn client_certificate_required_by_python() {
    let (_dir, pki) = pki();
    let peer = python_server(&pki.server, &pki.server_key, Some(&pki.ca));
    let (ca, cert, key) = (path(&pki.ca), path(&pki.client), path(&pki.client_key));
    let run = tlskit(["get", "--cacert", &ca, "--cert", &cert, "--key", &key, &peer.url("/")]);
    assert_eq!(docs(&run)[0]["client_cn"], "tlskit test client");

    let run = tlskit(["get", "--cacert", &ca, &peer.url("/")]);
    assert_eq!(run.code, Some(58), "{}", run.stderr);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("requires a client certificate"), "{}", run.stderr);

    let (cert, key) = (path(&pki.revoked_client), path(&pki.revoked_client_key));
    let run = tlskit(["get", "--cacert", &ca, "--cert", &cert, "--key", &key, &peer.url("/")]);
    assert_eq!(run.code, Some(0), "without a CRL, Python accepts the revoked client: {}", run.stderr);
    let (cert, key) = (path(&pki.other_client), path(&pki.other_client_key));
    let run = tlskit(["get", "--cacert", &ca, "--cert", &cert, "--key", &key, &peer.url("/")]);
    assert_eq!(run.code, Some(58), "{}", run.stderr);
    assert!(run.stderr.contains("the server rejected our client certificate"), "{}", run.stderr);
}
