//! The traversal corpus against the file service: no response ever carries bytes from outside the
//! root, and dot-files stay hidden unless shown.

mod files_support;

use std::fs;

use http::header::RANGE;
use http::{Method, Request, StatusCode};
use tlskit::files::FileOptions;

use files_support::{collect, get, Site, CANARY};

#[tokio::test]
async fn hidden_files_only_with_show_hidden() {
    let site = Site::new();
    let svc = site.service();
    assert_eq!(get(&svc, "/.hidden").await.status, StatusCode::NOT_FOUND);
    let shown = site.service_with(FileOptions { show_hidden: true, ..FileOptions::default() });
    assert_eq!(get(&shown, "/.hidden").await.status, StatusCode::OK);
    assert_eq!(get(&shown, "/hiddenlink").await.status, StatusCode::OK);
    assert!(get(&shown, "/").await.text().contains("href=\".hidden\""));
    assert!(get(&shown, "/sub/").await.text().contains(".secret"));
    // Outside stays outside, hidden or not.
    for uri in ["/escape", "/escapedir/inner.txt", "/../secret.txt", "/passwd"] {
        let r = get(&shown, uri).await;
        assert!(matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{uri}: {}", r.status);
    }
}

/// Request targets that try to reach outside the root or a hidden file (some are not even valid
/// URIs: the server never sees those, as hyper rejects them first).
fn traversal_corpus() -> Vec<String> {
    let mut corpus: Vec<String> = shared_targets();
    corpus.extend(
        [
            "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/c:%5cwindows%5cwin.ini",
            "/escape_via_sub",
            "/badindex/index.html",
            "/passwd",
            "/.hiddendir/x.txt",
            "/.hiddendir/",
            "/sub/.secret",
            "/sub/%2esecret",
            "http://localhost/../secret.txt",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    corpus.push(format!("/{}secret.txt", "../".repeat(64)));
    corpus.push(format!("/{}", "a/".repeat(3000)));
    corpus.push(format!("/{}/../secret.txt", "x".repeat(300)));
    corpus
}

#[tokio::test]
async fn traversal_corpus_never_leaks_outside_bytes() {
    let site = Site::new();
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let passwd_line = passwd.lines().next().unwrap_or("root:x:0:0");
    for options in [FileOptions::default(), FileOptions { cache_bytes: 0, ..FileOptions::default() }] {
        let svc = site.service_with(options);
        let corpus = traversal_corpus();
        assert!(corpus.len() >= 20);
        let mut sent = 0;
        for target in &corpus {
            for (method, range) in [(Method::GET, None), (Method::HEAD, None), (Method::GET, Some("bytes=0-"))] {
                let mut builder = Request::builder().method(method.clone()).uri(target.as_str());
                if let Some(range) = range {
                    builder = builder.header(RANGE, range);
                }
                let Ok(request) = builder.body(()) else { continue };
                sent += 1;
                let (parts, body) = svc.respond(&request).await.into_parts();
                let body = collect(body).await;
                let text = String::from_utf8_lossy(&body);
                assert!(!text.contains(CANARY), "{target}: canary leaked");
                assert!(!text.contains(passwd_line), "{target}: /etc/passwd leaked");
                assert!(!text.contains("inner.txt"), "{target}: outside directory listed");
                let status = parts.status;
                // Only refusals, or a harmless redirect within the root.
                assert!(
                    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{target} ({method}): {status}"
                );
            }
        }
        assert!(sent >= 20 * 3, "{sent} requests sent");
    }
    // The same corpus against the service with dot-files shown: outside targets are still refused.
    let shown = site.service_with(FileOptions { show_hidden: true, ..FileOptions::default() });
    for target in traversal_corpus() {
        let Ok(request) = Request::get(target.as_str()).body(()) else { continue };
        let body = collect(shown.respond(&request).await.into_body()).await;
        let text = String::from_utf8_lossy(&body);
        let hidden_inside =
            ["/.hidden", "/%2ehidden", "/.hiddendir/x.txt", "/hiddenlink", "/sub/.secret", "/sub/%2esecret"];
        if !hidden_inside.contains(&target.as_str()) {
            assert!(!text.contains(CANARY), "{target}: canary leaked with show_hidden");
        }
    }
}

/// The targets shared by the library and the server traversal tests (comments and blank lines skipped).
fn shared_targets() -> Vec<String> {
    include_str!("data/traversal-targets.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}
