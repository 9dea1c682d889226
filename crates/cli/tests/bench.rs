//! `tlskit bench` against `tlskit serve`: handshake counts per connection mode, error kinds
//! (a refused port, an expired certificate, a server that resets), the `--json` document
//! against docs/bench-json.md, `--plot` opened in headless Chromium, `--compare`, Ctrl-C, and
//! bad input.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::bench::{bench, count, report, spawn};
use common::serve::Serve;

const LIMIT: Duration = Duration::from_secs(120);

fn www() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello, bench\n").unwrap();
    dir
}

struct Served {
    _www: tempfile::TempDir,
    _pki: tempfile::TempDir,
    ca: String,
    serve: Serve,
}

fn serve(extra: &[&str]) -> Served {
    let www = www();
    let (pki_dir, pki) = common::pki();
    let (cert, key) = (common::path(&pki.server), common::path(&pki.server_key));
    let mut args = vec!["--cert", cert.as_str(), "--key", key.as_str(), "-q"];
    args.extend_from_slice(extra);
    let serve = Serve::start(www.path(), &args);
    Served { ca: common::path(&pki.ca), _www: www, _pki: pki_dir, serve }
}

#[test]
fn keep_alive_counts_one_handshake_per_connection_against_tlskit_serve() {
    let s = serve(&[]);
    let url = s.serve.url_for("hello.txt");
    for proto in ["--http1.1", "--http2"] {
        let doc = report(&["--cacert", &s.ca, proto, "-c", "3", "-n", "300", &url], LIMIT);
        assert_eq!(count(&doc, "/requests"), 300, "{proto}: {doc:#}");
        assert_eq!(count(&doc, "/handshakes/full") + count(&doc, "/handshakes/resumed"), 3, "{proto}: {doc:#}");
        assert_eq!(count(&doc, "/status/200"), 300, "{proto}");
    }
}

#[test]
fn new_conn_and_resume_against_tlskit_serve() {
    // Resumption off on the server: only full handshakes, although the client offers its session.
    let off = serve(&["--session-cache", "0", "--tickets", "off"]);
    let url = off.serve.url_for("hello.txt");
    let doc = report(&["--cacert", &off.ca, "--new-conn", "-c", "4", "-n", "80", &url], LIMIT);
    assert_eq!((count(&doc, "/handshakes/full"), count(&doc, "/handshakes/resumed")), (80, 0), "{doc:#}");
    let doc = report(&["--cacert", &off.ca, "--resume", "-c", "4", "-n", "80", &url], LIMIT);
    assert_eq!(count(&doc, "/handshakes/resumed"), 0, "{doc:#}");

    // Resumption on, 64 slots: at least 95% resumed, TLS 1.3 tickets and TLS 1.2 alike.
    let on = serve(&[]);
    let url = on.serve.url_for("hello.txt");
    for versions in ["1.3", "1.2"] {
        let doc = report(
            &["--cacert", &on.ca, "--tls-versions", versions, "--resume", "-c", "64", "-n", "1920", &url],
            LIMIT,
        );
        let (full, resumed) = (count(&doc, "/handshakes/full"), count(&doc, "/handshakes/resumed"));
        assert_eq!(full + resumed, 1920, "TLS {versions}: {doc:#}");
        assert!(resumed * 100 >= 1920 * 95, "TLS {versions}: {resumed} of 1920 resumed: {doc:#}");
        assert!(count(&doc, "/handshakes/resumption_attempted") >= resumed);
    }
}

/// A TCP server that takes each connection, reads a little and resets it (SO_LINGER 0).
fn resetting_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let linger = libc::linger { l_onoff: 1, l_linger: 0 };
            // SAFETY: a valid socket and a correctly sized option value.
            unsafe {
                libc::setsockopt(
                    conn.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &linger as *const libc::linger as *const libc::c_void,
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
            let mut hello = [0u8; 64];
            let _ = conn.read(&mut hello);
            drop(conn);
        }
    });
    port
}

#[test]
fn error_kinds_for_a_refused_port_an_expired_certificate_and_a_reset() {
    let (_pki_dir, pki) = common::pki();
    let ca = common::path(&pki.ca);

    let refused = common::nginx::free_port();
    let doc = report(&["--cacert", &ca, "-c", "2", "-n", "20", &format!("https://127.0.0.1:{refused}/")], LIMIT);
    assert_eq!(count(&doc, "/errors/connect_refused"), 20, "{doc:#}");
    assert_eq!((count(&doc, "/requests"), count(&doc, "/failed")), (0, 20));

    let www = www();
    let (cert, key) = (common::path(&pki.expired), common::path(&pki.expired_key));
    let expired = Serve::start(www.path(), &["--cert", &cert, "--key", &key, "-q"]);
    let doc = report(&["--cacert", &ca, "-c", "2", "-n", "10", &expired.url_for("hello.txt")], LIMIT);
    assert_eq!(count(&doc, "/errors/certificate_expired"), 10, "{doc:#}");

    let port = resetting_server();
    let doc = report(&["--cacert", &ca, "-c", "2", "-n", "10", &format!("https://localhost:{port}/")], LIMIT);
    assert_eq!(count(&doc, "/errors/reset"), 10, "{doc:#}");

    // The text report names them too.
    let run = bench(&["--cacert", &ca, "-c", "1", "-n", "3", &format!("https://127.0.0.1:{refused}/")], LIMIT);
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("errors        connect_refused 3"), "{}", run.stdout);
}

/// Documented keys with their types: (key, type).
type Keys = Vec<(String, String)>;

/// Every `key` of docs/bench-json.md's tables with its documented type: the report's, the percentiles'.
fn documented_keys() -> (Keys, Keys) {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/bench-json.md")).unwrap();
    let mut tables = vec![Vec::new()];
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4 && cells[1].starts_with('`') {
            tables.last_mut().unwrap().push((cells[1].trim_matches('`').to_string(), cells[2].to_string()));
        } else if line.is_empty() && !tables.last().unwrap().is_empty() {
            tables.push(Vec::new());
        }
    }
    let mut tables = tables.into_iter().filter(|t| !t.is_empty());
    (tables.next().unwrap(), tables.next().unwrap())
}

fn has_type(v: &serde_json::Value, ty: &str) -> bool {
    let base = ty.trim_end_matches(" or null");
    (ty.ends_with(" or null") && v.is_null())
        || match base {
            "object" | "map" | "percentiles" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_u64(),
            "number" => v.is_number(),
            other => panic!("docs/bench-json.md: unknown type {other:?}"),
        }
}

/// Check `value` at `path` against the documented keys, and every key it has against the docs.
fn check(
    value: &serde_json::Value,
    path: &str,
    keys: &[(String, String)],
    pct: &[(String, String)],
    seen: &mut BTreeSet<String>,
) {
    let Some(obj) = value.as_object() else { return };
    for (name, child) in obj {
        let key = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        let (_, ty) = keys.iter().find(|(k, _)| *k == key).unwrap_or_else(|| panic!("undocumented key {key}"));
        assert!(has_type(child, ty), "{key} is not {ty}: {child}");
        seen.insert(key.clone());
        match ty.as_str() {
            "percentiles" => {
                let fields: BTreeSet<_> = child.as_object().unwrap().keys().cloned().collect();
                let documented: BTreeSet<_> = pct.iter().map(|(k, _)| k.clone()).collect();
                assert_eq!(fields, documented, "{key}");
                for (k, t) in pct {
                    assert!(has_type(&child[k], t), "{key}.{k} is not {t}: {}", child[k]);
                }
            }
            "map" => assert!(child.as_object().unwrap().values().all(|v| v.is_u64()), "{key}: counts"),
            "array" => {
                for item in child.as_array().unwrap() {
                    check(item, &format!("{key}[]"), keys, pct, seen);
                }
            }
            _ => check(child, &key, keys, pct, seen),
        }
    }
}

#[test]
fn json_report_has_exactly_the_documented_keys() {
    let s = serve(&[]);
    let url = s.serve.url_for("hello.txt");
    let (keys, pct) = documented_keys();
    let mut seen = BTreeSet::new();
    for extra in [&["--rate", "100", "-d", "1s"][..], &["-n", "50"][..]] {
        let mut args = vec!["--cacert", s.ca.as_str(), "-c", "2", url.as_str()];
        args.extend_from_slice(extra);
        let doc = report(&args, LIMIT);
        check(&doc, "", &keys, &pct, &mut seen);
        for required in ["requests", "duration_s", "rps", "bytes", "status", "errors", "cpu_s"] {
            assert!(doc.get(required).is_some(), "{required} missing");
        }
        assert!(count(&doc, "/requests") > 0, "{doc:#}");
        assert!(!doc["timeline"]["points"].as_array().unwrap().is_empty());
        assert!(doc["spectrum"].as_array().unwrap().len() > 5);
    }
    // Between the two runs (one with a rate), every documented key appeared.
    let missing: Vec<_> = keys.iter().map(|(k, _)| k).filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "documented but never produced: {missing:?}");
}

/// Open `file` in headless Chromium and return the DOM it built.
fn chromium_dom(file: &Path) -> String {
    common::require_packages(&["chromium"]);
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

#[test]
fn plots_open_in_a_browser_with_their_series() {
    let s = serve(&[]);
    let url = s.serve.url_for("hello.txt");
    let dir = tempfile::tempdir().unwrap();
    let svg: PathBuf = dir.path().join("run.svg");
    let html: PathBuf = dir.path().join("run.html");
    let doc = report(
        &["--cacert", &s.ca, "-c", "2", "--rate", "200", "-d", "2s", "--plot", &common::path(&svg), &url],
        LIMIT,
    );
    assert!(count(&doc, "/requests") > 0);
    let run = bench(&["--cacert", &s.ca, "-c", "2", "-n", "200", "--plot", &common::path(&html), &url], LIMIT);
    assert!(run.success, "{}", run.stderr);

    let dom = chromium_dom(&svg);
    assert!(dom.contains("<svg"), "{}", &dom[..dom.len().min(300)]);
    // req/s, p50, p99, the corrected and the uncorrected spectrum: one polyline each.
    assert!(dom.matches("<polyline").count() >= 5, "{} polylines", dom.matches("<polyline").count());
    for label in [
        "Requests per second",
        "Request latency over time",
        "Request latency by percentile",
        "p50",
        "p99",
        "request (uncorrected)",
    ] {
        assert!(dom.contains(label), "{label} missing from the SVG");
    }

    let dom = chromium_dom(&html);
    assert!(dom.contains("<figure id=\"plot\">") && dom.contains("<svg"), "{}", &dom[..dom.len().min(300)]);
    assert!(dom.matches("<polyline").count() >= 4);
    assert!(dom.contains("id=\"summary\"") && dom.contains("req/s"));
    // The page carries the report itself.
    let json = dom.split("id=\"report\">").nth(1).and_then(|r| r.split("</script>").next()).unwrap();
    let embedded: serde_json::Value = serde_json::from_str(&json.replace("<\\/", "</")).unwrap();
    assert_eq!(count(&embedded, "/requests"), 200);
}

#[test]
fn compare_prints_two_runs_with_ratios() {
    let s = serve(&[]);
    let url = s.serve.url_for("hello.txt");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("keepalive.json"), dir.path().join("newconn.json"));
    for (file, mode) in [(&a, "--keep-alive"), (&b, "--new-conn")] {
        let run = bench(&["--json", "--cacert", &s.ca, mode, "-c", "2", "-n", "100", &url], LIMIT);
        assert!(run.success, "{}", run.stderr);
        std::fs::write(file, &run.stdout).unwrap();
    }
    let run = bench(&["--compare", &common::path(&a), &common::path(&b)], LIMIT);
    assert!(run.success, "{}", run.stderr);
    let line = |label: &str| {
        run.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("{label}: {}", run.stdout))
            .to_string()
    };
    // Two handshakes with keep-alive, a hundred without: 50x.
    assert!(line("handshakes full").trim_end().ends_with("50.00x"), "{}", run.stdout);
    assert!(line("req/s").contains('x'));
    assert!(run.stdout.contains("keepalive.json") && run.stdout.contains("newconn.json"));

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"not\": \"a report\"}").unwrap();
    let run = bench(&["--compare", &common::path(&a), &common::path(&bad)], LIMIT);
    assert!(!run.success && run.stderr.contains("is not a `tlskit bench --json` report"), "{}", run.stderr);
}

#[test]
fn ctrl_c_ends_the_run_with_the_report_of_what_was_done() {
    let www = www();
    let (_pki_dir, pki) = common::pki();
    let (cert, key) = (common::path(&pki.server), common::path(&pki.server_key));
    // Without -q the server prints an access line per request: proof that the load is under way.
    let served = Serve::start(www.path(), &["--cert", &cert, "--key", &key]);
    let child =
        spawn(&["--json", "--cacert", &common::path(&pki.ca), "-c", "2", "-d", "60s", &served.url_for("hello.txt")]);
    // Ten responses served on two sequential connections: the client has received at least eight.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while served.stdout_lines().iter().filter(|l| l.contains(" /hello.txt HTTP/")).count() < 10 {
        assert!(std::time::Instant::now() < deadline, "ten requests did not reach the server within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let doc = common::bench::finish(child, Duration::from_secs(30)).json();
    assert!(count(&doc, "/requests") > 0, "{doc:#}");
    assert!(common::bench::number(&doc, "/duration_s") < 60.0, "{doc:#}");
}

#[test]
fn bad_input_gets_one_line_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["--rate", "0", "https://localhost:1/"], "rate must be a positive number"),
        (&["-d", "3x", "https://localhost:1/"], "unknown unit"),
        (&["http://localhost:1/"], "only https"),
        (&["--plot", "out.png", "https://localhost:1/"], "must end in .svg or .html"),
        (&["--groups", "P-999", "https://localhost:1/"], "unknown key exchange group"),
        (&["--ciphers", "RC4-MD5", "https://localhost:1/"], "unknown cipher suite"),
        (&["--new-conn", "--streams", "4", "https://localhost:1/"], "--streams needs --keep-alive"),
        (&["-H", "no colon", "https://localhost:1/"], "expected \"Name: value\""),
        (&["--data", "@/nonexistent/body", "https://localhost:1/"], "--data: reading"),
    ];
    for (args, expected) in cases {
        let run = bench(args, Duration::from_secs(30));
        assert!(!run.success, "{args:?} succeeded");
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn method_body_headers_and_client_certificate_reach_a_python_server() {
    let (_pki_dir, pki) = common::pki();
    let ca = common::path(&pki.ca);
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.txt");
    std::fs::write(&body, "b".repeat(2000)).unwrap();
    // The server requires a client certificate and answers with what it got, body included.
    let peer = common::peers::python_server(&pki.server, &pki.server_key, Some(&pki.ca));
    let url = peer.url("/echo");
    let (cert, key) = (common::path(&pki.client), common::path(&pki.client_key));
    let get = report(&["--cacert", &ca, "-E", &cert, "--key", &key, "-c", "1", "-n", "5", &url], LIMIT);
    assert_eq!(count(&get, "/status/200"), 5, "{get:#}");
    let post = report(
        &[
            "--cacert",
            &ca,
            "-E",
            &cert,
            "--key",
            &key,
            "-m",
            "POST",
            "--data",
            &format!("@{}", body.display()),
            "-H",
            &format!("Content-Type: text/x-{}", "t".repeat(500)),
            "-c",
            "1",
            "-n",
            "5",
            &url,
        ],
        LIMIT,
    );
    assert_eq!(count(&post, "/status/200"), 5, "{post:#}");
    // Each answer echoes the 2000-byte body and the 500-character header.
    let (per_get, per_post) = (count(&get, "/bytes") / 5, count(&post, "/bytes") / 5);
    assert!(per_post >= per_get + 2500, "GET {per_get} bytes, POST {per_post} bytes per response");
    // Without the certificate the handshake is refused, by an alert or a close.
    let refused = report(&["--cacert", &ca, "-c", "1", "-n", "3", &url], LIMIT);
    assert_eq!(count(&refused, "/failed"), 3, "{refused:#}");
    let kinds: Vec<&String> = refused["errors"].as_object().unwrap().keys().collect();
    assert!(
        kinds.iter().all(|k| k.starts_with("tls_alert_")
            || k.starts_with("client_certificate")
            || *k == "closed"
            || *k == "reset"),
        "{kinds:?}"
    );
}

#[test]
fn warm_up_is_left_out_of_every_figure() {
    let s = serve(&[]);
    let url = s.serve.url_for("hello.txt");
    let doc = report(&["--cacert", &s.ca, "--http1.1", "-c", "2", "--warmup", "1s", "-d", "1s", &url], LIMIT);
    // The connections were made during the warm-up: the measured second saw requests, no handshake.
    assert!(count(&doc, "/requests") > 0, "{doc:#}");
    assert_eq!(count(&doc, "/handshakes/full") + count(&doc, "/handshakes/resumed"), 0, "{doc:#}");
    assert_eq!(count(&doc, "/latency_ms/connect/count"), 0);
    assert!(doc.pointer("/latency_ms/connect/p50").is_some_and(|v| v.is_null()));
    assert_eq!(common::bench::number(&doc, "/setup/warmup_s"), 1.0);
    assert!((common::bench::number(&doc, "/duration_s") - 1.0).abs() < 0.2, "{doc:#}");
}
