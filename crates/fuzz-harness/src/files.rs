//! Targets of the file server's parsers of request bytes: the request path, Range and the conditional
//! headers, and the listing's sort query.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use tlskit::files::fuzzing;
use tlskit::files::{ListingOrder, SortKey};

/// A served root to resolve against, made once per process: files, a hidden file and directory, a symlink
/// that stays inside and one that leaves the root.
fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        // A directory made new here: one named by the PID alone may be a stale one of another user's run.
        let root = (0..1000u32)
            .map(|n| std::env::temp_dir().join(format!("tlskit-fuzz-root-{}-{n}", std::process::id())))
            .find(|dir| std::fs::create_dir(dir).is_ok())
            .expect("a new directory under the temp dir");
        for dir in ["a/.git", "a/b c", ".hidden"] {
            std::fs::create_dir_all(root.join(dir)).expect("make the served tree");
        }
        for file in ["index.html", "a/b.txt", "a/.git/config", "a/b c/d%2F.txt", ".hidden/secret"] {
            std::fs::write(root.join(file), file).expect("make the served tree");
        }
        let _ = std::os::unix::fs::symlink("..", root.join("a/up"));
        let _ = std::os::unix::fs::symlink("/", root.join("a/out"));
        root.canonicalize().expect("canonical root")
    })
}

/// Request path resolution (`files::path`): the bytes as the path of a request target.
pub fn request_path(data: &[u8]) {
    fuzzing::request_path(&String::from_utf8_lossy(data), root());
}

/// A Range header: `<length in decimal>\n<header value>`, the length of the representation first.
pub fn range(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (len, value) = text.split_once('\n').unwrap_or(("1000", &text));
    fuzzing::range(value, len.trim().parse().unwrap_or(1000));
}

/// The header each line of the conditional target sets, chosen by the line's first byte.
const CONDITIONAL_HEADERS: [HeaderName; 5] = [
    http::header::IF_MATCH,
    http::header::IF_NONE_MATCH,
    http::header::IF_MODIFIED_SINCE,
    http::header::IF_UNMODIFIED_SINCE,
    http::header::IF_RANGE,
];

/// The conditional headers of a GET: lines, each `<selector byte><value>`, the selector picking the header
/// (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range); repeated headers add
/// instances. Evaluated against ETag `"5-2f4d8e1"`, Last-Modified Sun, 06 Nov 1994 08:49:37 GMT.
pub fn conditional(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some((&selector, value)) = line.split_first() else { continue };
        let Ok(value) = HeaderValue::from_bytes(value) else { continue };
        headers.append(CONDITIONAL_HEADERS[usize::from(selector) % CONDITIONAL_HEADERS.len()].clone(), value);
    }
    fuzzing::conditional(&headers, "\"5-2f4d8e1\"", UNIX_EPOCH + Duration::from_secs(784_111_777));
}

/// The listing's sort query (`?sort=size&order=desc`) from any bytes: an order always comes out; the query
/// it writes for itself and for each header link parses back to that order.
pub fn listing_query(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let order = ListingOrder::from_query(Some(&query));
    assert_eq!(ListingOrder::from_query(Some(&order.query())), order);
    for key in [SortKey::Name, SortKey::Size, SortKey::Time] {
        let link = order.toggled(key);
        assert_eq!(link.key, key);
        assert_eq!(ListingOrder::from_query(Some(&link.query())), link);
    }
}
