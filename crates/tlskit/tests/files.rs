//! The file service driven directly with `http::Request` values on a temporary directory tree.

mod files_support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, SystemTime};

use http::header::{
    ACCEPT, ACCEPT_RANGES, ALLOW, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_MATCH,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, LOCATION, RANGE,
};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tlskit::files::{FileOptions, FileService};

use files_support::{big_content, collect, get, send, Site, CANARY, HELLO};

#[tokio::test]
async fn serves_a_file_with_its_headers() {
    let site = Site::new();
    let svc = site.service();
    let r = get(&svc, "/hello.txt").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, HELLO.as_bytes());
    assert_eq!(r.header(CONTENT_TYPE), "text/plain; charset=utf-8");
    assert_eq!(r.header(CONTENT_LENGTH), HELLO.len().to_string());
    assert_eq!(r.header(ACCEPT_RANGES), "bytes");
    let etag = r.header(ETAG);
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 4, "strong etag: {etag}");
    let modified = httpdate::parse_http_date(r.header(LAST_MODIFIED)).expect("Last-Modified is an HTTP date");
    let on_disk = fs::metadata(site.root().join("hello.txt")).unwrap().modified().unwrap();
    assert!(on_disk.duration_since(modified).unwrap_or(Duration::from_secs(9)) < Duration::from_secs(1));

    // Same answer a second time (now from the cache), and through a symlink inside the root.
    let again = get(&svc, "/hello.txt").await;
    assert_eq!((again.status, again.body.clone(), again.header(ETAG)), (StatusCode::OK, r.body.clone(), etag));
    assert_eq!(get(&svc, "/inlink.txt").await.body, HELLO.as_bytes());
    assert_eq!(get(&svc, "/hello.txt?cache-buster=1").await.body, HELLO.as_bytes());
    assert_eq!(get(&svc, "/%68ello.txt").await.body, HELLO.as_bytes());

    let empty = get(&svc, "/empty.txt").await;
    assert_eq!((empty.status, empty.header(CONTENT_LENGTH), empty.body.len()), (StatusCode::OK, "0", 0));
}

#[tokio::test]
async fn head_has_the_same_headers_and_no_body() {
    let site = Site::new();
    let svc = site.service();
    for uri in ["/hello.txt", "/big.bin", "/sub/", "/nothing-here"] {
        let g = get(&svc, uri).await;
        let h = send(&svc, Method::HEAD, uri, &[]).await;
        assert_eq!(g.status, h.status, "{uri}");
        assert!(h.body.is_empty(), "{uri}");
        for name in [CONTENT_TYPE, CONTENT_LENGTH, ETAG, LAST_MODIFIED, ACCEPT_RANGES, CONTENT_SECURITY_POLICY] {
            assert_eq!(g.header(name.clone()), h.header(name.clone()), "{uri} {name}");
        }
        assert_eq!(g.header(CONTENT_LENGTH), g.body.len().to_string(), "{uri}");
    }
}

#[tokio::test]
async fn other_methods_get_405() {
    let site = Site::new();
    let svc = site.service();
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS, Method::PATCH] {
        let r = send(&svc, method.clone(), "/hello.txt", &[]).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(r.header(ALLOW), "GET, HEAD");
        assert!(r.text().contains("405"));
    }
}

#[tokio::test]
async fn content_types_by_extension() {
    let site = Site::new();
    let svc = site.service();
    for (uri, ct) in [
        ("/ca.der", "application/x-x509-ca-cert"),
        ("/ca.crt", "application/x-x509-ca-cert"),
        ("/ca.pem", "text/plain; charset=utf-8"),
        ("/page.html", "text/html; charset=utf-8"),
        ("/big.bin", "application/octet-stream"),
    ] {
        assert_eq!(get(&svc, uri).await.header(CONTENT_TYPE), ct, "{uri}");
    }
}

#[tokio::test]
async fn directories_redirect_index_and_list() {
    let site = Site::new();
    let svc = site.service();
    let r = get(&svc, "/sub").await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.header(LOCATION), "/sub/");
    assert_eq!(get(&svc, "/sub?x=1&y=%20").await.header(LOCATION), "/sub/?x=1&y=%20");
    assert_eq!(get(&svc, "//sub//inner").await.header(LOCATION), "/sub/inner/");

    let index = get(&svc, "/withindex/").await;
    assert_eq!((index.status, index.text().as_str()), (StatusCode::OK, "<h1>index</h1>"));
    assert_eq!(index.header(CONTENT_TYPE), "text/html; charset=utf-8");

    // A file is not a directory: a trailing slash on it finds nothing (as with nginx).
    assert_eq!(get(&svc, "/hello.txt/").await.status, StatusCode::NOT_FOUND);

    // Without an index option every directory lists.
    let no_index = site.service_with(FileOptions { index: None, ..FileOptions::default() });
    assert!(get(&no_index, "/withindex/").await.text().contains("index.html"));
}

#[tokio::test]
async fn html_listing_escapes_sorts_and_hides() {
    let site = Site::new();
    let svc = site.service();
    let r = get(&svc, "/sub/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(CONTENT_TYPE), "text/html; charset=utf-8");
    let csp = r.header(CONTENT_SECURITY_POLICY);
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = r.text();
    assert!(html.contains("<title>Index of /sub/</title>"), "{html}");
    assert!(html.contains("href=\"../\""), "parent link");
    assert!(html.contains("href=\"a%20b.txt\">a b.txt</a>"), "{html}");
    assert!(html.contains("href=\"%3Cscript%3E.txt\">&lt;script&gt;.txt</a>"), "{html}");
    assert!(!html.contains("<script>"), "names are escaped");
    assert!(!html.contains(".secret"), "dot-files are not listed");
    let dir = html.find("href=\"inner/\"").expect("the directory is listed");
    let first_file = html.find("href=\"%3Cscript%3E.txt\"").unwrap();
    let last_file = html.find("href=\"zeta.txt\"").unwrap();
    assert!(dir < first_file && first_file < html.find("href=\"a%20b.txt\"").unwrap() && last_file > first_file);
    assert!(html.contains("title=\"6 bytes\">6 B</td>"), "size of 'a b.txt', exact in the title");

    let root = get(&svc, "/").await.text();
    assert!(!root.contains("href=\"../\""), "no parent at the root");
    assert!(root.contains("href=\"hello.txt\""));
    for outside in ["escape\"", "escape_abs.txt", "escapedir", "escape_via_sub", "passwd", "hiddenlink", ".hidden"] {
        assert!(!root.contains(&format!("href=\"{outside}")), "{outside} must not be listed");
    }
    assert!(root.contains("href=\"inlink.txt\""), "a symlink inside the root is listed");
}

/// The hrefs of a listing's rows, in order (the parent link included).
fn row_links(html: &str) -> Vec<String> {
    html.split("<td class=\"name\"><a href=\"").skip(1).map(|s| s.split('"').next().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn html_listing_sorts_through_links_and_shows_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("a/b");
    fs::create_dir_all(base.join("zdir")).unwrap();
    fs::create_dir_all(base.join("adir")).unwrap();
    let now = SystemTime::now();
    for (name, size, age_days) in [("small.txt", 10, 1), ("large.bin", 3 << 20, 30), ("medium.dat", 5000, 7)] {
        fs::write(base.join(name), vec![b'x'; size]).unwrap();
        let file = fs::File::options().write(true).open(base.join(name)).unwrap();
        file.set_modified(now - Duration::from_secs(age_days * 86_400)).unwrap();
    }
    let old = now - Duration::from_secs(100 * 86_400);
    fs::File::open(base.join("zdir")).unwrap().set_modified(old).unwrap();
    let svc = FileService::new(dir.path(), FileOptions::default()).unwrap();

    let html = get(&svc, "/a/b/").await.text();
    assert_eq!(row_links(&html), ["../", "adir/", "zdir/", "large.bin", "medium.dat", "small.txt"]);
    // Breadcrumbs: every ancestor a relative link, the current directory plain.
    assert!(
        html.contains(
            "<a href=\"../../\">root</a><span class=\"sep\">/</span><a href=\"../\">a</a>\
<span class=\"sep\">/</span><span aria-current=\"page\">b</span>"
        ),
        "{html}"
    );
    assert!(html.contains("<p class=\"meta\">2 directories, 3 files (<span title=\"3150738 bytes\">3.0 MiB</span>)"));
    assert!(html.contains("<td class=\"size\" title=\"3145728 bytes\">3.0 MiB</td>"));
    assert!(html.contains("<td class=\"size\" title=\"5000 bytes\">4.9 KiB</td>"));
    assert!(html.contains("<time datetime=\"") && html.contains("@media (prefers-color-scheme:dark)"));
    // The header links: name is active (ascending), so its link reverses; the others start at their natural order.
    assert!(html.contains("<th class=\"name\" aria-sort=\"ascending\"><a href=\"?sort=name&amp;order=desc\">"));
    assert!(html.contains("<th class=\"size\"><a href=\"?sort=size&amp;order=desc\">Size</a></th>"));
    assert!(html.contains("<th class=\"time\"><a href=\"?sort=time&amp;order=desc\">"));

    let by_size = get(&svc, "/a/b/?sort=size&order=desc").await.text();
    assert_eq!(row_links(&by_size)[3..], ["large.bin", "medium.dat", "small.txt"]);
    assert!(by_size.contains("aria-sort=\"descending\"><a href=\"?sort=size&amp;order=asc\">"), "toggles");
    // The chosen order follows into directories and back up; files link plainly.
    let keep = "?sort=size&amp;order=desc";
    assert_eq!(row_links(&by_size)[..3], [format!("../{keep}"), format!("adir/{keep}"), format!("zdir/{keep}")]);
    assert!(by_size.contains(&format!("<a href=\"../../{keep}\">root</a>")));
    let ascending = get(&svc, "/a/b/?sort=size&order=asc").await.text();
    assert_eq!(row_links(&ascending)[3..], ["small.txt", "medium.dat", "large.bin"]);
    // Time: directories first still, each group newest first.
    let by_time = get(&svc, "/a/b/?sort=time").await.text();
    assert_eq!(
        row_links(&by_time)[1..].iter().map(|l| l.split('?').next().unwrap()).collect::<Vec<_>>(),
        ["adir/", "zdir/", "small.txt", "medium.dat", "large.bin"]
    );
    let by_name_desc = get(&svc, "/a/b/?sort=name&order=desc").await.text();
    assert_eq!(row_links(&by_name_desc)[3..], ["small.txt", "medium.dat", "large.bin"]);

    // Junk in the query is ignored: the default order, never an error.
    for junk in ["sort=%00", "sort=size;order=desc", "order=sideways&sort=SIZE", "=&&=&sort", "sort=%3Cscript%3E"] {
        let r = get(&svc, &format!("/a/b/?{junk}")).await;
        assert_eq!(r.status, StatusCode::OK, "{junk}");
        assert_eq!(row_links(&r.text()), ["../", "adir/", "zdir/", "large.bin", "medium.dat", "small.txt"], "{junk}");
    }
    // The JSON listing ignores the query: always the default order.
    let json = send(&svc, Method::GET, "/a/b/?sort=size&order=asc", &[(ACCEPT, "application/json")]).await;
    let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    let names: Vec<&str> = v["entries"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["adir", "zdir", "large.bin", "medium.dat", "small.txt"]);

    let empty = get(&svc, "/a/b/adir/").await.text();
    assert!(empty.contains("This directory is empty.") && empty.contains("0 directories, 0 files"));
}

#[tokio::test]
async fn json_listing_follows_the_documented_schema() {
    let site = Site::new();
    let svc = site.service();
    let r = send(&svc, Method::GET, "/sub/", &[(ACCEPT, "application/json")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(CONTENT_TYPE), "application/json");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("valid JSON");
    assert_eq!(v["path"], "/sub/");
    let entries = v["entries"].as_array().expect("entries");
    let names: Vec<&str> = entries.iter().map(|e| e["name"].as_str().unwrap_or("")).collect();
    assert_eq!(names, ["inner", "<script>.txt", "a b.txt", "zeta.txt"]);
    assert_eq!(entries[0]["type"], "dir");
    assert!(entries[0]["size"].is_null());
    assert_eq!(entries[2]["type"], "file");
    assert_eq!(entries[2]["size"], 6);
    let modified = entries[2]["modified"].as_str().expect("modified");
    assert!(modified.len() == 20 && modified.ends_with('Z') && modified.as_bytes()[10] == b'T', "{modified}");

    // A browser's Accept header prefers HTML; an explicit preference for JSON wins.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let html = send(&svc, Method::GET, "/sub/", &[(ACCEPT, browser)]).await;
    assert!(html.header(CONTENT_TYPE).starts_with("text/html"));
    let json = send(&svc, Method::GET, "/sub/", &[(ACCEPT, "text/html;q=0.5, application/json")]).await;
    assert_eq!(json.header(CONTENT_TYPE), "application/json");
}

#[tokio::test]
async fn conditional_requests() {
    let site = Site::new();
    let svc = site.service();
    let first = get(&svc, "/hello.txt").await;
    let etag = first.header(ETAG).to_owned();
    let last_modified = first.header(LAST_MODIFIED).to_owned();

    let r = send(&svc, Method::GET, "/hello.txt", &[(IF_NONE_MATCH, &etag)]).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());
    assert_eq!(r.header(ETAG), etag);
    let weak = format!("\"nope\", W/{etag}");
    assert_eq!(send(&svc, Method::GET, "/hello.txt", &[(IF_NONE_MATCH, &weak)]).await.status, StatusCode::NOT_MODIFIED);
    assert_eq!(send(&svc, Method::GET, "/hello.txt", &[(IF_NONE_MATCH, "\"other\"")]).await.status, StatusCode::OK);
    assert_eq!(send(&svc, Method::HEAD, "/hello.txt", &[(IF_NONE_MATCH, "*")]).await.status, StatusCode::NOT_MODIFIED);

    let ims = send(&svc, Method::GET, "/hello.txt", &[(IF_MODIFIED_SINCE, &last_modified)]).await;
    assert_eq!(ims.status, StatusCode::NOT_MODIFIED);
    let old = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    let r = send(&svc, Method::GET, "/hello.txt", &[(IF_MODIFIED_SINCE, &old)]).await;
    assert_eq!((r.status, r.body.as_ref()), (StatusCode::OK, HELLO.as_bytes()));
    // If-None-Match takes precedence over If-Modified-Since.
    let both =
        send(&svc, Method::GET, "/hello.txt", &[(IF_NONE_MATCH, "\"other\""), (IF_MODIFIED_SINCE, &last_modified)])
            .await;
    assert_eq!(both.status, StatusCode::OK);

    assert_eq!(send(&svc, Method::GET, "/hello.txt", &[(IF_MATCH, &etag)]).await.status, StatusCode::OK);
    assert_eq!(
        send(&svc, Method::GET, "/hello.txt", &[(IF_MATCH, "\"other\"")]).await.status,
        StatusCode::PRECONDITION_FAILED
    );
}

#[tokio::test]
async fn single_and_suffix_ranges() {
    let site = Site::new();
    let svc = site.service();
    for (range, want, content_range) in [
        ("bytes=0-4", "hello", "bytes 0-4/12"),
        ("bytes=6-", "world\n", "bytes 6-11/12"),
        ("bytes=-6", "world\n", "bytes 6-11/12"),
        ("bytes=6-1000", "world\n", "bytes 6-11/12"),
    ] {
        let r = send(&svc, Method::GET, "/hello.txt", &[(RANGE, range)]).await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(r.text(), want, "{range}");
        assert_eq!(r.header(CONTENT_RANGE), content_range, "{range}");
        assert_eq!(r.header(CONTENT_LENGTH), want.len().to_string(), "{range}");
    }
    let r = send(&svc, Method::GET, "/hello.txt", &[(RANGE, "bytes=12-")]).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.header(CONTENT_RANGE), "bytes */12");
    let r = send(&svc, Method::GET, "/empty.txt", &[(RANGE, "bytes=0-")]).await;
    assert_eq!((r.status, r.header(CONTENT_RANGE)), (StatusCode::RANGE_NOT_SATISFIABLE, "bytes */0"));
    // A malformed Range is ignored.
    assert_eq!(send(&svc, Method::GET, "/hello.txt", &[(RANGE, "bytes=5-1")]).await.status, StatusCode::OK);

    // If-Range: the current validator keeps the range, a stale one gets the whole file.
    let etag = get(&svc, "/hello.txt").await.header(ETAG).to_owned();
    let ok = send(&svc, Method::GET, "/hello.txt", &[(RANGE, "bytes=0-4"), (IF_RANGE, &etag)]).await;
    assert_eq!(ok.status, StatusCode::PARTIAL_CONTENT);
    let stale = send(&svc, Method::GET, "/hello.txt", &[(RANGE, "bytes=0-4"), (IF_RANGE, "\"stale\"")]).await;
    assert_eq!((stale.status, stale.body.as_ref()), (StatusCode::OK, HELLO.as_bytes()));
}

/// Splits a multipart/byteranges body into (Content-Range, data) pairs.
fn parts(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type.split("boundary=").nth(1).expect("boundary");
    let delimiter = format!("\r\n--{boundary}");
    let text = body.to_vec();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(start) = find(&text[pos..], delimiter.as_bytes()).map(|i| pos + i + delimiter.len()) {
        if text[start..].starts_with(b"--") {
            break;
        }
        let head_end = start + find(&text[start..], b"\r\n\r\n").expect("part header end");
        let head = String::from_utf8_lossy(&text[start..head_end]).into_owned();
        let data_start = head_end + 4;
        let data_end = data_start + find(&text[data_start..], delimiter.as_bytes()).expect("next delimiter");
        let range = head.lines().find_map(|l| l.strip_prefix("Content-Range: ")).expect("part range").to_owned();
        out.push((range, text[data_start..data_end].to_vec()));
        pos = data_end;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test]
async fn multiple_ranges_are_multipart() {
    let site = Site::new();
    // From the cache (small file) and from disk (large file) alike.
    let svc = site.service();
    let r = send(&svc, Method::GET, "/hello.txt", &[(RANGE, "bytes=0-1,6-10")]).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    let ct = r.header(CONTENT_TYPE).to_owned();
    assert!(ct.starts_with("multipart/byteranges; boundary="), "{ct}");
    assert_eq!(r.header(CONTENT_LENGTH), r.body.len().to_string());
    let got = parts(&ct, &r.body);
    assert_eq!(got, [("bytes 0-1/12".to_owned(), b"he".to_vec()), ("bytes 6-10/12".to_owned(), b"world".to_vec())]);

    let big = big_content();
    let r = send(&svc, Method::GET, "/big.bin", &[(RANGE, "bytes=100-199, 500000-600000, -10")]).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.header(CONTENT_LENGTH), r.body.len().to_string());
    let got = parts(r.header(CONTENT_TYPE), &r.body);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], ("bytes 100-199/1048576".to_owned(), big[100..200].to_vec()));
    assert_eq!(got[1], ("bytes 500000-600000/1048576".to_owned(), big[500000..600001].to_vec()));
    assert_eq!(got[2], ("bytes 1048566-1048575/1048576".to_owned(), big[1048566..].to_vec()));
    // One satisfiable range among unsatisfiable ones is a plain 206.
    let r = send(&svc, Method::GET, "/big.bin", &[(RANGE, "bytes=0-0,2000000-")]).await;
    assert_eq!((r.status, r.header(CONTENT_RANGE)), (StatusCode::PARTIAL_CONTENT, "bytes 0-0/1048576"));
}

#[tokio::test]
async fn large_files_stream_in_bounded_chunks() {
    let site = Site::new();
    let svc = site.service();
    let request = Request::get("/big.bin").body(()).unwrap();
    let mut body = svc.respond(&request).await.into_body();
    let mut received = Vec::new();
    let mut frames = 0;
    while let Some(frame) = body.frame().await {
        let data = frame.expect("frame").into_data().expect("data frame");
        assert!(data.len() <= 64 * 1024, "frame of {} bytes", data.len());
        received.extend_from_slice(&data);
        frames += 1;
    }
    assert_eq!(received, big_content());
    assert!(frames >= 16, "{frames} frames");
    let r = send(&svc, Method::GET, "/big.bin", &[(RANGE, "bytes=65530-65545")]).await;
    assert_eq!(r.body, big_content()[65530..65546]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_a_multi_thread_runtime_and_across_tasks() {
    let site = Site::new();
    let svc = site.service();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let svc = svc.clone();
            tokio::spawn(async move {
                let uri = if i % 2 == 0 { "/hello.txt" } else { "/big.bin" };
                let request = Request::get(uri).body(()).unwrap();
                collect(svc.respond(&request).await.into_body()).await.len()
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let len = task.await.expect("task");
        assert_eq!(len, if i % 2 == 0 { HELLO.len() } else { 1024 * 1024 });
    }
}

#[tokio::test]
async fn the_cache_notices_changes_and_stays_bounded() {
    let site = Site::new();
    let options = FileOptions { cache_bytes: 64 * 1024, revalidate_after: Duration::ZERO, ..FileOptions::default() };
    let svc = site.service_with(options);
    let path = site.root().join("hello.txt");
    let first = get(&svc, "/hello.txt").await;
    assert_eq!(svc.cache_usage().0, 1);

    fs::write(&path, "changed, and longer\n").unwrap();
    let second = get(&svc, "/hello.txt").await;
    assert_eq!(second.text(), "changed, and longer\n");
    assert_ne!(first.header(ETAG), second.header(ETAG));

    // Replaced by a symlink to a file outside the root: the cached copy must not hide the change.
    let _ = get(&svc, "/hello.txt").await;
    fs::remove_file(&path).unwrap();
    symlink(site.outer.path().join("secret.txt"), &path).unwrap();
    let third = get(&svc, "/hello.txt").await;
    assert_eq!(third.status, StatusCode::NOT_FOUND);
    assert!(!third.text().contains(CANARY));

    // Many small files never take more than the budget.
    for i in 0..200 {
        fs::write(site.root().join(format!("f{i}.txt")), vec![b'x'; 1000]).unwrap();
        assert_eq!(get(&svc, &format!("/f{i}.txt")).await.body.len(), 1000);
    }
    let (entries, bytes) = svc.cache_usage();
    assert!(bytes <= 64 * 1024 && entries > 0, "{entries} entries, {bytes} bytes");

    let off = site.service_with(FileOptions { cache_bytes: 0, ..FileOptions::default() });
    assert_eq!(get(&off, "/f1.txt").await.body.len(), 1000);
    assert_eq!(off.cache_usage(), (0, 0));
}

#[tokio::test]
async fn a_cached_file_is_trusted_within_the_interval_and_rechecked_after_it() {
    let site = Site::new();
    let path = site.root().join("hello.txt");
    // Within the interval the cached copy is served without a stat, even after the file changed.
    let trusting =
        site.service_with(FileOptions { revalidate_after: Duration::from_secs(3600), ..FileOptions::default() });
    assert_eq!(get(&trusting, "/hello.txt").await.body, HELLO.as_bytes());
    // New content and a new length, not only a new mtime.
    let changed = "a new version, longer than the first\n";
    assert_ne!(changed.len(), HELLO.len());
    fs::write(&path, changed).unwrap();
    assert_eq!(get(&trusting, "/hello.txt").await.body, HELLO.as_bytes());

    // Once the interval has passed, the next request sees the change, and then the removal.
    let interval = Duration::from_millis(100);
    let svc = site.service_with(FileOptions { revalidate_after: interval, ..FileOptions::default() });
    fs::write(&path, HELLO).unwrap();
    assert_eq!(get(&svc, "/hello.txt").await.body, HELLO.as_bytes());
    fs::write(&path, changed).unwrap();
    let r = after_the_interval(interval, || get(&svc, "/hello.txt"), |r| r.body != HELLO.as_bytes()).await;
    assert_eq!((r.text().as_str(), r.header(CONTENT_LENGTH)), (changed, changed.len().to_string().as_str()));
    fs::remove_file(&path).unwrap();
    let r = after_the_interval(interval, || get(&svc, "/hello.txt"), |r| r.status != StatusCode::OK).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Repeats `request` until `changed` holds, at most for 50 intervals. What is waited for is the cache's
/// clock passing `interval` (the subject of the test): each pause lets it run, none stands for an event.
async fn after_the_interval<F: std::future::Future<Output = files_support::Reply>>(
    interval: Duration,
    request: impl Fn() -> F,
    changed: impl Fn(&files_support::Reply) -> bool,
) -> files_support::Reply {
    for _ in 0..50 {
        let r = request().await;
        if changed(&r) {
            return r;
        }
        tokio::time::sleep(interval).await;
    }
    panic!("the change was not seen within 50 revalidation intervals");
}

#[tokio::test]
async fn error_pages_are_small_html_with_csp() {
    let site = Site::new();
    let svc = site.service();
    for (uri, status) in [("/missing.txt", StatusCode::NOT_FOUND), ("/..%2f", StatusCode::FORBIDDEN)] {
        let r = get(&svc, uri).await;
        assert_eq!(r.status, status, "{uri}");
        assert_eq!(r.header(CONTENT_TYPE), "text/html; charset=utf-8");
        assert!(r.header(CONTENT_SECURITY_POLICY).contains("default-src 'none'"));
        assert!(r.text().contains(&status.as_u16().to_string()) && r.body.len() < 4096);
        assert_eq!(r.header(CONTENT_LENGTH), r.body.len().to_string());
    }
}

#[test]
fn new_refuses_a_missing_or_non_directory_root() {
    let site = Site::new();
    assert!(FileService::new(site.root().join("nope"), FileOptions::default()).is_err());
    assert!(FileService::new(site.root().join("hello.txt"), FileOptions::default()).is_err());
    let svc = site.service();
    assert_eq!(svc.root(), fs::canonicalize(site.root()).unwrap());
    assert!(Path::new(svc.root()).is_absolute());
}

#[test]
fn respond_works_on_a_current_thread_runtime_per_os_thread() {
    let site = Site::new();
    let svc = site.service();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let svc = svc.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    let request = Request::get("/big.bin").body(()).unwrap();
                    collect(svc.respond(&request).await.into_body()).await.len()
                })
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread"), 1024 * 1024);
    }
}
