//! The traversal corpus over the wire against the real `tlskit serve`: curl with `--path-as-is` over
//! HTTP/1.1 and HTTP/2, and raw request bytes through `openssl s_client`, for both execution models.
//! No response may carry bytes of the files placed beside the served directory.

mod common;

use common::serve::{curl, for_each_model, Serve};
use common::traversal::{curl_corpus, raw_corpus, raw_https, raw_status, Tree, CANARY, HELLO};

/// The first line of /etc/passwd, which must not come back either.
fn passwd_line() -> String {
    std::fs::read_to_string("/etc/passwd").ok().and_then(|p| p.lines().next().map(str::to_owned)).unwrap_or_default()
}

#[test]
fn curl_corpus_never_returns_outside_bytes() {
    let tree = Tree::build();
    let corpus = curl_corpus();
    assert!(corpus.len() >= 20);
    let passwd = passwd_line();
    for_each_model(|model| {
        let serve = Serve::start(tree.root(), &["--model", model]);
        let ca = serve.ca.clone().expect("start-up CA");
        let ca = ca.to_str().expect("CA path");
        let resolve = serve.resolve();
        for version in ["--http1.1", "--http2"] {
            // One curl run, one connection: the control file first, then every attempt.
            let marker = "@@status";
            let write_out = format!("\n{marker} %{{http_code}} %{{url_effective}}\n");
            let mut args = vec!["-g", "--path-as-is", "--cacert", ca, "--resolve", &resolve, version, "-w", &write_out];
            // Every target starts with '/', '//' included: joined to the origin as it is.
            let urls: Vec<String> = std::iter::once("/hello.txt")
                .chain(corpus.iter().map(String::as_str))
                .map(|path| format!("https://localhost:{}{path}", serve.port))
                .collect();
            args.extend(urls.iter().map(String::as_str));
            let (_ok, out, err) = curl(&args);
            let text = String::from_utf8_lossy(&out);
            assert!(!text.contains(CANARY), "{model} {version}: canary leaked:\n{text}");
            assert!(passwd.is_empty() || !text.contains(&passwd), "{model} {version}: /etc/passwd leaked");
            let bodies: String = text.lines().filter(|l| !l.starts_with(marker)).collect::<Vec<_>>().join("\n");
            assert!(!bodies.contains("inner.txt"), "{model} {version}: outside directory listed");
            let statuses: Vec<(u16, String)> = text
                .lines()
                .filter_map(|l| l.strip_prefix(marker))
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    Some((w.next()?.parse().ok()?, w.next().unwrap_or("").to_owned()))
                })
                .collect();
            assert_eq!(statuses.first().map(|s| s.0), Some(200), "{model} {version}: control request; curl: {err}");
            assert!(text.starts_with(HELLO), "{model} {version}: control body");
            let refused = statuses.iter().skip(1).filter(|(code, _)| matches!(code, 403 | 404)).count();
            for (code, url) in statuses.iter().skip(1) {
                // 000: curl itself refused to send that URL; anything else must be a refusal.
                assert!(matches!(code, 0 | 403 | 404), "{model} {version}: {url} answered {code}");
            }
            assert!(refused >= 20, "{model} {version}: only {refused} attempts reached the server; curl: {err}");
        }
        assert!(serve.access_line("/escapedir/inner.txt").is_some(), "{model}: the server logged the attempts");
    });
}

#[test]
fn raw_request_bytes_never_return_outside_bytes() {
    let tree = Tree::build();
    let passwd = passwd_line();
    for_each_model(|model| {
        let serve = Serve::start(tree.root(), &["--model", model]);
        let ca = serve.ca.clone().expect("start-up CA");
        let addr = serve.addr();
        let control = raw_https(&addr, &ca, b"GET /hello.txt HTTP/1.1", "");
        assert_eq!(raw_status(&control), Some(200), "{model}: control request");
        assert!(String::from_utf8_lossy(&control).ends_with(HELLO));
        for line in raw_corpus() {
            for headers in ["", "Range: bytes=0-\r\n"] {
                let response = raw_https(&addr, &ca, &line, headers);
                let text = String::from_utf8_lossy(&response);
                let shown = String::from_utf8_lossy(&line).escape_debug().to_string();
                assert!(!text.contains(CANARY), "{model}: {shown}: canary leaked:\n{text}");
                assert!(passwd.is_empty() || !text.contains(&passwd), "{model}: {shown}: /etc/passwd leaked");
                // hyper answers 400 to what is not HTTP; the file service refuses the rest.
                let status = raw_status(&response);
                assert!(matches!(status, Some(400 | 403 | 404)), "{model}: {shown} {headers:?}: {status:?}\n{text}");
            }
        }
        let mut serve = serve;
        assert!(serve.is_running(), "{model}: the server survived the corpus");
    });
}
