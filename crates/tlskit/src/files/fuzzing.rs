//! The request parsers of the file server, each with the invariants the server relies on checked, for the
//! fuzz targets (fuzz/, through the `tlskit-fuzz-harness` crate). Built only with the `fuzzing` feature: the
//! parsers themselves stay private to the server. Every function panics when an invariant breaks.

use std::path::{Component, Path};
use std::time::SystemTime;

use http::HeaderMap;

use super::conditional::{self, Precondition, Validators};
use super::path::{self, RequestPath};
use super::range::{self, Multipart, RangeRequest, MAX_RANGES};

/// Request path resolution against `root` (canonical): a path that parses joins to only plain names below
/// the root, its normal form is a fixed point, the parse-free cache key agrees with the parse, and what
/// resolves on the file system lies under the root (hidden components only when shown).
pub fn request_path(raw: &str, root: &Path) {
    for show_hidden in [false, true] {
        let Ok(parsed) = RequestPath::parse(raw, show_hidden) else { continue };
        let key = parsed.key().into_owned();
        // The normal form percent-encodes bytes the raw path may carry bare, so it can outgrow the length limit
        // (fuzz/regressions/request_path/crash-daef…); the server never parses a key again.
        match RequestPath::parse(&key, show_hidden) {
            Ok(again) => assert_eq!(again.key(), key, "the normal form of {raw:?} is not a fixed point"),
            Err(e) => assert!(
                e == path::PathError::Forbidden("the path is too long") && key.len() > raw.len(),
                "the normal form of {raw:?} does not parse: {e:?}"
            ),
        }
        let joined = parsed.join(root);
        let relative = joined.strip_prefix(root).expect("joined below the root");
        assert_eq!(relative.components().count(), parsed.display_segments().len(), "{raw:?} joins to {joined:?}");
        for component in relative.components() {
            let Component::Normal(name) = component else { panic!("{raw:?} joins to {joined:?}") };
            assert!(show_hidden || !name.as_encoded_bytes().starts_with(b"."), "{raw:?} names a hidden file");
        }
        let _ = (parsed.dir_url(), parsed.display_dir(), parsed.is_root());
        if let Ok(found) = path::resolve(root, &joined, show_hidden) {
            assert!(found.starts_with(root), "{raw:?} resolves to {found:?}, outside {root:?}");
            path::check_beneath(root, &found, show_hidden).expect("a resolved path is beneath the root");
        }
    }
    if let Some(key) = path::plain_key(raw) {
        let parsed = RequestPath::parse(raw, false).expect("a plain key parses");
        assert_eq!(parsed.key(), key, "the plain key of {raw:?} is not its normal form");
    }
}

/// A Range header against a `len`-byte representation: every range lies within it, several ranges never add
/// up to more than it (nor number more than the limit), and the multipart framing counts its length exactly.
pub fn range(value: &str, len: u64) {
    let RangeRequest::Partial(ranges) = range::parse(value, len) else { return };
    assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
    for r in &ranges {
        assert!(r.first <= r.last && r.last < len, "{r:?} of {len} bytes from {value:?}");
    }
    let total: u64 = ranges.iter().map(|r| r.len()).sum();
    assert!(ranges.len() == 1 || total <= len, "{value:?} asks {total} bytes of {len}");
    if ranges.len() > 1 {
        let parts = Multipart::new(&ranges, len, "text/plain");
        let framing: u64 = parts.part_headers.iter().map(|h| h.len() as u64).sum::<u64>() + parts.trailer.len() as u64;
        assert_eq!(parts.total_len, framing + total);
    }
}

/// The conditional headers of a GET against one file version: the answer depends only on the conditional
/// headers present (none: proceed; 304 only from If-None-Match or If-Modified-Since).
pub fn conditional(headers: &HeaderMap, etag: &str, modified: SystemTime) {
    let v = Validators { etag, modified: conditional::whole_seconds(modified) };
    let answer = conditional::evaluate(headers, v);
    let revalidating =
        headers.contains_key(http::header::IF_NONE_MATCH) || headers.contains_key(http::header::IF_MODIFIED_SINCE);
    let preconditions =
        headers.contains_key(http::header::IF_MATCH) || headers.contains_key(http::header::IF_UNMODIFIED_SINCE);
    match answer {
        Precondition::NotModified => assert!(revalidating),
        Precondition::Failed => assert!(preconditions),
        Precondition::Proceed => {}
    }
    let allows = conditional::if_range_allows(headers, v);
    assert!(allows || headers.contains_key(http::header::IF_RANGE));
}
