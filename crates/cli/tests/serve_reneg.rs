//! The HOWTO's magic URL on `tlskit serve`: `/_reneg_/PATH` serves PATH after a TLS 1.3 KeyUpdate and the
//! server's log shows the session before and after; `/_reneg_` alone explains; TLS 1.2 gets the 501
//! explanation. Against Python's ssl (one socket, requests after the KeyUpdate) and curl (HTTP/1.1 and
//! HTTP/2, two URLs over one connection); the KeyUpdate is seen on the wire by the server's own trace.

mod common;
use common::pki;

use std::path::Path;
use std::time::Duration;

use common::serve::{curl, for_each_model, python, Serve, PY_HTTPS_CLIENT};

fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from tlskit\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub").join("inner.txt"), "inner\n").unwrap();
    std::fs::create_dir(dir.path().join("private")).unwrap();
    std::fs::write(dir.path().join("private").join("secret.txt"), "for certificate holders\n").unwrap();
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// One socket: `/_reneg_/hello.txt`, then `/hello.txt` and `/_tls` on the same connection; prints JSON.
/// After [`PY_HTTPS_CLIENT`].
const PY_MAGIC: &str = r#"
out = {}
with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        out["port"] = s.getsockname()[1]
        for name, path, accept in [("magic", "/_reneg_/hello.txt", "*/*"), ("after", "/hello.txt", "*/*"),
                                   ("tls", "/_tls", "application/json")]:
            s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: %s\r\n\r\n" % (path, accept)).encode())
            status, body = response(s)
            out[name] = (status, body.decode())
print(json.dumps(out))
"#;

#[test]
fn python_gets_the_file_after_the_key_update_and_the_log_shows_the_session_before_and_after() {
    let root = docroot();
    let (_d, pki) = pki();
    for_each_model(|model| {
        let cert = ["--cert", p(&pki.server), "--key", p(&pki.server_key)];
        let server = Serve::start(root.path(), &[&["--model", model, "--trace"][..], &cert[..]].concat());
        let (ok, out, err) =
            python(&format!("{PY_HTTPS_CLIENT}{PY_MAGIC}"), &[&server.port.to_string(), p(&pki.ca), "TLSv1_3"]);
        assert!(ok, "{model}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["magic"][0], "HTTP/1.1 200 OK", "{model}: {v}");
        assert_eq!(v["magic"][1], "hello from tlskit\n", "{model}: the file itself, after the KeyUpdate");
        assert_eq!(v["after"][0], "HTTP/1.1 200 OK", "{model}: the connection goes on");
        assert_eq!(v["after"][1], "hello from tlskit\n");
        let tls: serde_json::Value = serde_json::from_str(v["tls"][1].as_str().unwrap()).unwrap();
        assert_eq!(tls["key_updates_sent"], 1, "{model}: {tls}");

        // The access line, then the session before and after, as the HOWTO's server logged it.
        let peer = format!("127.0.0.1:{}", v["port"]);
        let line = server.access_line("/_reneg_/hello.txt").expect("access line");
        assert!(line.contains(&peer) && line.contains(" 200 18 ") && line.ends_with(" key_update=0->1"), "{line}");
        let lines = server.stdout_lines();
        let at = lines.iter().position(|l| *l == line).unwrap();
        let before = &lines[at + 1];
        let after = &lines[at + 2];
        assert!(before.starts_with("  session before KeyUpdate: TLSv1.3 TLS_"), "{before}");
        assert!(before.ends_with("sni=localhost alpn=- full, server traffic keys generation 0"), "{before}");
        assert!(after.starts_with("  session after KeyUpdate: TLSv1.3 TLS_"), "{after}");
        assert!(after.ends_with(", server traffic keys generation 1"), "{after}");
        // KeyUpdate changes keys, not what was negotiated.
        let negotiated =
            |l: &str, label: &str| l.strip_prefix(label).unwrap().split(", server").next().unwrap().to_owned();
        assert_eq!(
            negotiated(before, "  session before KeyUpdate: "),
            negotiated(after, "  session after KeyUpdate: ")
        );
        let plain = server.access_line("/hello.txt").unwrap();
        assert!(!plain.contains("key_update"), "{plain}");

        // On the wire (the server's live trace decrypts its own connection): the server's KeyUpdate asks for
        // one back, and the client's answer follows.
        let trace: Vec<String> = lines.iter().filter(|l| l.starts_with(&format!("trace {peer} "))).cloned().collect();
        let asked = trace.iter().position(|l| l.ends_with("    KeyUpdate update_requested")).expect("server KeyUpdate");
        assert!(trace[asked - 1].contains(" S>C "), "{}", trace[asked - 1]);
        let answer = trace.iter().skip(asked).position(|l| l.ends_with("    KeyUpdate")).expect("client KeyUpdate");
        assert!(trace[asked + answer - 1].contains(" C>S "), "{}", trace[asked + answer - 1]);

        // TLS 1.2: no renegotiation, no file; the 501 says why, and the log carries no KeyUpdate.
        let (ok, out, err) =
            python(&format!("{PY_HTTPS_CLIENT}{PY_MAGIC}"), &[&server.port.to_string(), p(&pki.ca), "TLSv1_2"]);
        assert!(ok, "{model}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["magic"][0], "HTTP/1.1 501 Not Implemented");
        assert!(v["magic"][1].as_str().unwrap().contains("rustls refuses it by design"));
        assert_eq!(v["after"][1], "hello from tlskit\n");
        let peer = format!("127.0.0.1:{} ", v["port"]);
        let line = server.wait_for_stdout(|l| l.contains(&peer) && l.contains("/_reneg_/"), Duration::from_secs(5));
        let line = line.expect("access line of the TLS 1.2 request");
        assert!(line.contains(" 501 ") && !line.contains("key_update"), "{line}");
    });
}

#[test]
fn curl_over_http1_and_http2_keeps_the_connection_and_the_json_log_carries_both_sessions() {
    let root = docroot();
    let (_d, pki) = pki();
    let server = Serve::start(root.path(), &["--json-log", "--cert", p(&pki.server), "--key", p(&pki.server_key)]);
    for http in ["--http1.1", "--http2"] {
        let magic = server.url_for("_reneg_/sub/inner.txt");
        let plain = server.url_for("hello.txt");
        let (ok, out, err) = curl(&[
            http,
            "--cacert",
            p(&pki.ca),
            "--resolve",
            &server.resolve(),
            "-w",
            "%{http_code} %{num_connects}\n",
            &magic,
            &plain,
        ]);
        assert!(ok, "{http}: {err}");
        let out = String::from_utf8_lossy(&out);
        assert_eq!(out, "inner\n200 1\nhello from tlskit\n200 0\n", "{http}: both over one connection");
    }
    let magic_line = |l: &str| l.contains("\"target\":\"/_reneg_/sub/inner.txt\"");
    server.wait_for_stdout(|l| magic_line(l) && l.contains("\"HTTP/2\""), Duration::from_secs(5)).expect("h2 line");
    let records: Vec<serde_json::Value> =
        server.stdout_lines().iter().filter(|l| magic_line(l)).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2, "one record per HTTP version");
    for r in &records {
        let k = &r["key_update"];
        assert_eq!((k["generation_before"].as_u64(), k["generation_after"].as_u64()), (Some(0), Some(1)), "{r}");
        assert_eq!(k["before"]["version"], "TLSv1.3");
        assert_eq!(k["after"]["cipher_suite"], k["before"]["cipher_suite"], "{r}");
        assert_eq!(k["after"]["alpn"], r["alpn"], "{r}");
        assert_eq!(r["status"], 200);
    }
    let plain = server
        .stdout_lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["target"] == "/hello.txt")
        .unwrap();
    assert!(plain.get("key_update").is_none(), "{plain}");
}

#[test]
fn the_magic_prefix_keeps_every_rule_of_the_path_it_serves() {
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
            "--client-auth",
            "optional",
            "--require-client-cert",
            "/private/",
        ],
    );
    let get = |path: &str, extra: &[&str]| {
        let (url, resolve) = (server.url_for(path), server.resolve());
        let args = [&["--cacert", p(&pki.ca), "--resolve", &resolve, "-i", &url][..], extra].concat();
        let (ok, out, err) = curl(&args);
        assert!(ok, "{path}: {err}");
        String::from_utf8_lossy(&out).into_owned()
    };
    // A client certificate rule applies to the path served, prefix or not.
    for path in ["_reneg_/private/secret.txt", "_reneg_/%70rivate/secret.txt", "_reneg_//private/./secret.txt"] {
        let answer = get(path, &[]);
        assert!(answer.starts_with("HTTP/2 403"), "{path}: {answer}");
        assert!(!answer.contains("for certificate holders"), "{path}");
    }
    let answer = get("_reneg_/private/secret.txt", &["--cert", p(&pki.client), "--key", p(&pki.client_key)]);
    assert!(answer.starts_with("HTTP/2 200") && answer.ends_with("for certificate holders\n"), "{answer}");
    // Traversal is refused as it is without the prefix; a directory redirect stays under the prefix.
    assert!(get("_reneg_/../hello.txt", &["--path-as-is"]).starts_with("HTTP/2 403"));
    let moved = get("_reneg_/sub", &[]);
    assert!(moved.starts_with("HTTP/2 301") && moved.contains("location: /_reneg_/sub/\r\n"), "{moved}");
    assert!(moved.contains("<a href=\"/_reneg_/sub/\">"), "the page links where the header points: {moved}");
    // The listing under the prefix links relatively, so browsing stays under it.
    let listing = get("_reneg_/sub/", &[]);
    assert!(listing.contains("<a href=\"inner.txt\">inner.txt</a>") && listing.contains("href=\"../\""), "{listing}");
    // `/_reneg_` alone explains and says how to use it; other methods are refused.
    let explained = get("_reneg_", &[]);
    assert!(explained.starts_with("HTTP/2 200") && explained.contains("/_reneg_/PATH"), "{explained}");
    let refused = get("_reneg_/hello.txt", &["-X", "POST"]);
    assert!(refused.starts_with("HTTP/2 405"), "{refused}");
}
