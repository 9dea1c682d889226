//! From a request target to a file under the root, never outside it.
//!
//! Two steps. [`RequestPath::parse`] works on the string alone (no system call): it percent-decodes
//! each segment exactly once and refuses anything that could name another directory (`..`, encoded
//! separators, backslashes, NUL, drive letters, over-long paths) or a hidden file. [`resolve`] then
//! asks the file system: the joined path is canonicalized (following every symlink) and must still
//! lie under the canonical root, with no hidden component unless hidden files are shown.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Longest request path accepted, before decoding (PATH_MAX on Linux).
pub(crate) const MAX_PATH_LEN: usize = 4096;

/// Bytes percent-encoded in the links we generate: all but RFC 3986 unreserved characters.
pub(crate) const SEGMENT_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Why a request path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// The path tries to leave the root or is malformed: 403, with the reason shown.
    Forbidden(&'static str),
    /// Nothing (visible) there: 404.
    NotFound,
}

/// A request path, decoded and checked, not yet looked up.
#[derive(Debug, Clone)]
pub(crate) struct RequestPath {
    /// Decoded segments: none is empty, `.`, `..`, or contains `/`, `\` or NUL.
    segments: Vec<Vec<u8>>,
    /// The normalized URL path (segments re-encoded, joined by `/`), without a trailing slash
    /// except for the root `/`; the cache key and the base of redirects and links.
    url: String,
    /// The request path ended in `/`.
    pub(crate) trailing_slash: bool,
}

impl RequestPath {
    /// Decodes and checks the path of a request target (the part before `?`).
    pub(crate) fn parse(raw: &str, show_hidden: bool) -> Result<Self, PathError> {
        if raw.len() > MAX_PATH_LEN {
            return Err(PathError::Forbidden("the path is too long"));
        }
        let Some(rest) = raw.strip_prefix('/') else {
            return Err(PathError::Forbidden("the path must start with '/'"));
        };
        let mut segments = Vec::new();
        let mut url = String::with_capacity(raw.len() + 1);
        for raw_segment in rest.split('/') {
            if contains_encoded_separator(raw_segment.as_bytes()) {
                return Err(PathError::Forbidden("encoded path separators are not allowed"));
            }
            let decoded: Vec<u8> = percent_decode(raw_segment.as_bytes()).collect();
            match decoded.as_slice() {
                b"" | b"." => continue,
                b".." => return Err(PathError::Forbidden("'..' is not allowed in paths")),
                _ => {}
            }
            if decoded.contains(&0) {
                return Err(PathError::Forbidden("NUL is not allowed in paths"));
            }
            if decoded.contains(&b'\\') || decoded.contains(&b'/') {
                return Err(PathError::Forbidden("backslashes and encoded slashes are not allowed in paths"));
            }
            if segments.is_empty() && is_drive(&decoded) {
                return Err(PathError::Forbidden("drive letters are not allowed in paths"));
            }
            if !show_hidden && decoded.first() == Some(&b'.') {
                return Err(PathError::NotFound);
            }
            url.push('/');
            url.extend(percent_encoding::percent_encode(&decoded, SEGMENT_ENCODE));
            segments.push(decoded);
        }
        if url.is_empty() {
            url.push('/');
        }
        Ok(RequestPath { segments, url, trailing_slash: raw.ends_with('/') })
    }

    /// The URL path of the directory form: always ends in `/`.
    pub(crate) fn dir_url(&self) -> String {
        if self.segments.is_empty() {
            "/".to_owned()
        } else {
            format!("{}/", self.url)
        }
    }

    /// The normal form as requests are matched: [`Self::url`], or [`Self::dir_url`] when the request
    /// path ended in `/` (the cache key, and what client-certificate prefixes are compared with).
    pub(crate) fn key(&self) -> Cow<'_, str> {
        if self.trailing_slash {
            Cow::Owned(self.dir_url())
        } else {
            Cow::Borrowed(&self.url)
        }
    }

    /// The decoded path for display (`/a/b c/`), lossily UTF-8.
    pub(crate) fn display_dir(&self) -> String {
        let mut out = String::from("/");
        for segment in &self.segments {
            out.push_str(&String::from_utf8_lossy(segment));
            out.push('/');
        }
        out
    }

    /// The decoded segments for display (`["a", "b c"]`), lossily UTF-8.
    pub(crate) fn display_segments(&self) -> Vec<String> {
        self.segments.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect()
    }

    /// Is this the root?
    pub(crate) fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// `root` joined with the decoded segments (not yet checked against symlinks).
    pub(crate) fn join(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        for segment in &self.segments {
            path.push(OsStr::from_bytes(segment));
        }
        path
    }
}

/// The cache key of a plain request path without parsing it: `raw` itself when it is already in
/// normal form (only unreserved characters and single slashes, no segment starting with '.').
///
/// Such a path is exactly what [`RequestPath::parse`] would normalize it to, so a cache hit on it
/// skips the allocation of the full parse; anything else returns None and takes the full parse.
pub(crate) fn plain_key(raw: &str) -> Option<&str> {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'/') || bytes.len() > MAX_PATH_LEN {
        return None;
    }
    let mut previous = 0u8;
    for &b in bytes {
        let plain = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') || (b == b'.' && previous != b'/');
        if !(plain || (b == b'/' && previous != b'/')) {
            return None;
        }
        previous = b;
    }
    Some(raw)
}

/// `%2f`, `%2F`, `%5c` or `%5C` in a raw segment.
fn contains_encoded_separator(raw: &[u8]) -> bool {
    raw.windows(3).any(|w| {
        w[0] == b'%'
            && ((w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'))
                || (w[1] == b'5' && w[2].eq_ignore_ascii_case(&b'c')))
    })
}

/// `C:` and the like, which name another root on Windows.
fn is_drive(segment: &[u8]) -> bool {
    matches!(segment, [letter, b':', ..] if letter.is_ascii_alphabetic())
}

/// Canonicalizes `joined` and checks that it lies under `root` (canonical) with no hidden component.
pub(crate) fn resolve(root: &Path, joined: &Path, show_hidden: bool) -> Result<PathBuf, PathError> {
    let canonical = std::fs::canonicalize(joined).map_err(|e| match e.kind() {
        io::ErrorKind::PermissionDenied => PathError::Forbidden("permission denied"),
        _ => PathError::NotFound,
    })?;
    check_beneath(root, &canonical, show_hidden)?;
    Ok(canonical)
}

/// `canonical` is `root` or below it, and (unless `show_hidden`) no component below `root` is hidden.
pub(crate) fn check_beneath(root: &Path, canonical: &Path, show_hidden: bool) -> Result<(), PathError> {
    // A symlink that leaves the root looks like nothing at all.
    let relative = canonical.strip_prefix(root).map_err(|_| PathError::NotFound)?;
    if !show_hidden {
        for component in relative.components() {
            match component {
                Component::Normal(name) if name.as_bytes().first() == Some(&b'.') => return Err(PathError::NotFound),
                Component::Normal(_) => {}
                _ => return Err(PathError::NotFound),
            }
        }
    }
    Ok(())
}

/// Percent-encodes one file name for use as a relative link.
pub(crate) fn encode_name(name: &OsStr) -> String {
    match name.to_str() {
        Some(s) => utf8_percent_encode(s, SEGMENT_ENCODE).to_string(),
        None => percent_encoding::percent_encode(name.as_bytes(), SEGMENT_ENCODE).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> Result<String, PathError> {
        RequestPath::parse(raw, false).map(|p| p.url)
    }

    #[test]
    fn normalizes_harmless_forms() {
        assert_eq!(url("/").unwrap(), "/");
        assert_eq!(url("//a//b/").unwrap(), "/a/b");
        assert_eq!(url("/./a/%62").unwrap(), "/a/b");
        assert_eq!(url("/a%20b").unwrap(), "/a%20b");
        assert_eq!(url("/%252e%252e").unwrap(), "/%252e%252e");
    }

    #[test]
    fn refuses_escapes() {
        for raw in [
            "/..",
            "/a/../b",
            "/%2e%2e/x",
            "/%2E%2e%2fx",
            "/..%2fx",
            "/a%2fb",
            "/a%5cb",
            "/a\\b",
            "/a%00",
            "/C:/x",
            "x",
        ] {
            assert!(matches!(url(raw), Err(PathError::Forbidden(_))), "{raw}");
        }
        assert_eq!(url(&format!("/{}", "a".repeat(MAX_PATH_LEN))), Err(PathError::Forbidden("the path is too long")));
    }

    #[test]
    fn plain_keys_are_already_normal() {
        for raw in ["/", "/a.txt", "/sub/", "/sub/x-y_z~1.tar.gz"] {
            let path = RequestPath::parse(raw, false).unwrap();
            assert_eq!(plain_key(raw), Some(&*path.key()), "{raw}");
        }
        for raw in ["", "a", "//a", "/a//b", "/.x", "/a/..", "/a/./b", "/%61", "/a b", "/a\\b", "/a?b"] {
            assert_eq!(plain_key(raw), None, "{raw}");
        }
    }

    #[test]
    fn hides_dot_files() {
        assert_eq!(url("/.git/config"), Err(PathError::NotFound));
        assert_eq!(url("/%2egit"), Err(PathError::NotFound));
        assert_eq!(RequestPath::parse("/.git", true).unwrap().url, "/.git");
    }
}
