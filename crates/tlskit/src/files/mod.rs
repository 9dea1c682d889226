//! The one static-file service of `tlskit serve`: safe paths, listings, ranges, conditional requests.
//!
//! [`FileService::respond`] answers GET and HEAD for files under one root directory, the way a user of
//! nginx expects, and never with bytes from outside that root:
//!
//! - **Paths** are percent-decoded exactly once. `..`, encoded separators (`%2f`, `%5c`), backslashes,
//!   NUL, drive letters and paths longer than 4096 bytes get 403; the looked-up path is canonicalized
//!   and must stay under the canonical root, so symlinks that leave it get 404. Dot-files (any
//!   segment starting with `.`) are neither listed nor served unless [`FileOptions::show_hidden`].
//! - **Directories**: without the trailing slash, 301 to the slash form; with an index file
//!   ([`FileOptions::index`]), that file; otherwise a listing (directories first, then files) in HTML,
//!   or in JSON when the request's `Accept` prefers `application/json`. The HTML page has breadcrumbs,
//!   a parent link, sizes in binary units (exact bytes in a title), modification times, and column
//!   headers that sort it by name, size or time through links (`?sort=size&order=desc`; unknown
//!   parameters and values are ignored, see [`ListingOrder`]); it follows `prefers-color-scheme` and
//!   fits a phone's width.
//! - **Files**: Content-Type from the extension (`.der`/`.crt` as `application/x-x509-ca-cert`, `.pem`
//!   as UTF-8 text), `Last-Modified`, a strong `ETag` (inode, size, mtime in nanoseconds),
//!   `If-Match`/`If-Unmodified-Since` (412), `If-None-Match`/`If-Modified-Since` (304), `If-Range`,
//!   single ranges (206 with Content-Range), multiple ranges (206 multipart/byteranges) and
//!   unsatisfiable ones (416 with `Content-Range: bytes */LEN`). Large files are streamed in 64 KiB
//!   reads; small ones are served from a bounded cache ([`FileOptions::cache_bytes`]) whose entries
//!   are re-validated with one `stat` at most every [`FileOptions::revalidate_after`] (a stat costs
//!   a tenth of a keep-alive request's CPU here; the cached bytes were checked to lie under the root,
//!   so a stale hit can only be an older version of a file inside it).
//! - **Generated pages** (listings, errors, redirects) use [`html_page`] and carry the restrictive
//!   [`PAGE_CSP`]. Other methods get 405 with `Allow: GET, HEAD`.
//!
//! # JSON listing
//!
//! ```json
//! {
//!   "path": "/sub/",
//!   "entries": [
//!     { "name": "docs", "type": "dir", "size": null, "modified": "2026-11-28T21:02:41Z" },
//!     { "name": "a b.txt", "type": "file", "size": 1234, "modified": "2026-11-28T20:59:00Z" }
//!   ]
//! }
//! ```
//!
//! `path` is the decoded URL path of the directory (ending in `/`). Each entry has `name` (the file
//! name, not encoded; lossily UTF-8), `type` (`"dir"` or `"file"`; symlinks are described by their
//! target), `size` (bytes for files, `null` for directories) and `modified` (RFC 3339, UTC, whole
//! seconds; `null` if unknown). Entries are always in the default order (directories first, then files,
//! each by name, byte order): the JSON listing ignores `?sort`.

mod body;
mod cache;
mod conditional;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod listing;
mod listing_order;
mod listing_page;
mod mime;
pub(crate) mod negotiate;
mod page;
mod path;
mod range;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::{File, Metadata};
use std::future::Future;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{
    HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION, RANGE, VARY,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};

pub use body::Body;
pub use listing_order::{ListingOrder, SortKey, SortOrder};
pub use page::{error_response, escape_html, html_page, page_response, HTML_CONTENT_TYPE, JSON_CONTENT_TYPE, PAGE_CSP};

use body::Segment;
use cache::{Cache, CachedFile, Stamp};
use conditional::{Precondition, Validators};
use path::{PathError, RequestPath};
use range::{ByteRange, Multipart, RangeRequest};

/// What the file service shows and how much it caches.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// Serve and list dot-files (any path segment starting with '.').
    pub show_hidden: bool,
    /// The file served for a directory, if present (default `index.html`); None always lists.
    pub index: Option<String>,
    /// Budget in bytes of the small-file cache; 0 turns it off.
    pub cache_bytes: usize,
    /// A cached file is checked against the disk (one `stat`) on a hit at most this often
    /// (default 100 ms: a change is seen within that; zero checks on every hit).
    pub revalidate_after: Duration,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            show_hidden: false,
            index: Some("index.html".to_owned()),
            cache_bytes: 32 * 1024 * 1024,
            revalidate_after: Duration::from_millis(100),
        }
    }
}

/// The static-file service: one per server, shared by all connections (cheap to clone).
#[derive(Debug, Clone)]
pub struct FileService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    options: FileOptions,
    cache: Cache,
}

/// What the response headers say about one version of a file, computed once per version.
#[derive(Debug, Clone)]
pub(crate) struct FileMeta {
    len: u64,
    /// Modification time truncated to seconds, as Last-Modified states it.
    modified: SystemTime,
    etag: HeaderValue,
    last_modified: HeaderValue,
    content_type: HeaderValue,
    content_length: HeaderValue,
}

impl FileMeta {
    /// The metadata of the file named `name` (for its type) whose `stat` is `m`.
    fn new(name: &Path, m: &Metadata) -> Self {
        let modified = conditional::whole_seconds(m.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        let etag = format!("\"{:x}-{:x}-{:x}.{:x}\"", m.ino(), m.len(), m.mtime(), m.mtime_nsec());
        FileMeta {
            len: m.len(),
            modified,
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(modified))
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            content_type: mime::content_type(name),
            content_length: HeaderValue::from(m.len()),
        }
    }

    fn validators(&self) -> Validators<'_> {
        Validators { etag: self.etag.to_str().unwrap_or(""), modified: self.modified }
    }
}

/// Where a file's bytes come from.
enum Source {
    Cached(Bytes),
    Open(File),
}

impl Source {
    /// The body carrying `range` of the file.
    fn range_body(self, range: ByteRange) -> Body {
        match self {
            Source::Cached(bytes) => {
                let (first, end) = (range.first as usize, range.first as usize + range.len() as usize);
                Body::full(bytes.get(first..end).map(|_| bytes.slice(first..end)).unwrap_or_default())
            }
            Source::Open(file) => Body::file_range(file, range.first, range.len()),
        }
    }

    /// The segment carrying `range` of the file inside a multipart body.
    fn segment(&self, range: ByteRange) -> Segment {
        match self {
            Source::Cached(bytes) => {
                let (first, end) = (range.first as usize, range.first as usize + range.len() as usize);
                Segment::Bytes(bytes.get(first..end).map(|_| bytes.slice(first..end)).unwrap_or_default())
            }
            Source::Open(_) => Segment::File { offset: range.first, len: range.len() },
        }
    }
}

impl FileService {
    /// A service for the directory `root` (canonicalized here; it must exist and be a directory).
    pub fn new(root: impl AsRef<Path>, options: FileOptions) -> io::Result<Self> {
        let root = std::fs::canonicalize(root.as_ref())?;
        if !root.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, format!("{} is not a directory", root.display())));
        }
        let cache = Cache::new(options.cache_bytes, options.revalidate_after, &root);
        Ok(FileService { inner: Arc::new(Inner { root, options, cache }) })
    }

    /// The canonical directory served.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The options the service was made with.
    pub fn options(&self) -> &FileOptions {
        &self.inner.options
    }

    /// The path of a request target as this service reads it (decoded once, `.` and empty segments
    /// dropped, re-encoded: `/a%20b/c`, with a trailing `/` if the target had one), or None for a path
    /// it refuses or hides. Rules about paths (client-certificate prefixes) match this form, so they
    /// can never see another path than the one served.
    pub(crate) fn normal_path(&self, raw: &str) -> Option<String> {
        RequestPath::parse(raw, self.inner.options.show_hidden).ok().map(|p| p.key().into_owned())
    }

    /// Entries in the small-file cache and the bytes charged against its budget.
    pub fn cache_usage(&self) -> (usize, usize) {
        self.inner.cache.usage()
    }

    /// The response to `req`.
    ///
    /// The work is done at the call and the returned future is ready at once; it is `Send` and
    /// `'static` (it does not borrow `req`), so any runtime, multi-thread or current-thread, can await
    /// it. File bodies are read later, in chunks, as the connection sends them.
    pub fn respond<B>(&self, req: &Request<B>) -> impl Future<Output = Response<Body>> + Send + 'static {
        std::future::ready(self.respond_now(req))
    }

    /// The response to `req`, computed synchronously (file bodies are still read lazily, in chunks).
    pub fn respond_now<B>(&self, req: &Request<B>) -> Response<Body> {
        let head_only = req.method() == Method::HEAD;
        if req.method() != Method::GET && !head_only {
            return page::method_not_allowed(false);
        }
        let options = &self.inner.options;
        if let Some(hit) = path::plain_key(req.uri().path()).and_then(|key| self.inner.cache.get(key)) {
            return serve(req, &hit.meta, Source::Cached(hit.content.clone()), head_only);
        }
        let path = match RequestPath::parse(req.uri().path(), options.show_hidden) {
            Ok(path) => path,
            Err(e) => return path_error(e, head_only),
        };
        // A file with a trailing slash is not that file (as with nginx); index pages live under `/dir/`.
        let key = path.key();
        if let Some(hit) = self.inner.cache.get(&key) {
            return serve(req, &hit.meta, Source::Cached(hit.content.clone()), head_only);
        }

        let root = self.root();
        let joined = path.join(root);
        let canonical = match path::resolve(root, &joined, options.show_hidden) {
            Ok(c) => c,
            Err(e) => return path_error(e, head_only),
        };
        let Ok(metadata) = std::fs::metadata(&canonical) else {
            return path_error(PathError::NotFound, head_only);
        };
        if metadata.is_dir() {
            if !path.trailing_slash {
                return redirect(&path.dir_url(), req.uri().query(), head_only);
            }
            if let Some(index) = &options.index {
                let index_joined = joined.join(index);
                if let Ok(index_canonical) = path::resolve(root, &index_joined, options.show_hidden) {
                    if index_canonical.is_file() {
                        return self.serve_path(req, &key, index_joined, &index_canonical, head_only);
                    }
                }
            }
            return self.listing(req, &path, &canonical, head_only);
        }
        if path.trailing_slash || !metadata.is_file() {
            return path_error(PathError::NotFound, head_only);
        }
        self.serve_path(req, &key, joined, &canonical, head_only)
    }

    /// Opens the checked regular file `canonical` and answers from it (through the cache if small).
    fn serve_path<B>(
        &self,
        req: &Request<B>,
        key: &str,
        joined: PathBuf,
        canonical: &Path,
        head_only: bool,
    ) -> Response<Body> {
        let file = match open_regular(canonical) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return path_error(PathError::Forbidden("permission denied"), head_only)
            }
            Err(_) => return path_error(PathError::NotFound, head_only),
        };
        let Ok(m) = file.metadata() else {
            return path_error(PathError::NotFound, head_only);
        };
        if !m.is_file() {
            return path_error(PathError::NotFound, head_only);
        }
        let meta = FileMeta::new(&joined, &m);
        let cache = &self.inner.cache;
        let relative = if cache.admits(m.len()) { Cache::relative(self.root(), &joined) } else { None };
        if let Some(relative) = relative {
            if let Some(content) = read_stable(&file, &m) {
                let checked_ms = AtomicU64::new(cache.now_ms());
                let entry = Arc::new(CachedFile { relative, stamp: Stamp::of(&m), meta, content, checked_ms });
                cache.insert(key, Arc::clone(&entry));
                return serve(req, &entry.meta, Source::Cached(entry.content.clone()), head_only);
            }
        }
        serve(req, &meta, Source::Open(file), head_only)
    }

    /// The listing of the directory `dir` (HTML, or JSON if preferred).
    fn listing<B>(&self, req: &Request<B>, path: &RequestPath, dir: &Path, head_only: bool) -> Response<Body> {
        let entries = match listing::read(dir, self.root(), self.inner.options.show_hidden) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return path_error(PathError::Forbidden("the directory cannot be read"), head_only)
            }
            Err(_) => return path_error(PathError::NotFound, head_only),
        };
        let mut entries = entries;
        let mut response = if negotiate::prefers_json(req.headers()) {
            page_response(StatusCode::OK, JSON_CONTENT_TYPE, listing::json(&path.display_dir(), &entries), head_only)
        } else {
            let order = ListingOrder::from_query(req.uri().query());
            page_response(StatusCode::OK, HTML_CONTENT_TYPE, listing_page::html(path, &mut entries, order), head_only)
        };
        response.headers_mut().insert(VARY, HeaderValue::from_static("Accept"));
        response
    }
}

/// A path prefix in the form [`FileService::normal_path`] gives request paths (hidden names allowed), or
/// why no request path the service serves can start with it.
pub(crate) fn normal_prefix(prefix: &str) -> Result<String, &'static str> {
    let prefix = if prefix.starts_with('/') { Cow::Borrowed(prefix) } else { Cow::Owned(format!("/{prefix}")) };
    match RequestPath::parse(&prefix, true) {
        Ok(path) => Ok(path.key().into_owned()),
        Err(PathError::Forbidden(reason)) => Err(reason),
        Err(PathError::NotFound) => Err("not a path the file service serves"),
    }
}

/// Opens a regular file for reading: never blocks on a FIFO swapped in, never follows a last symlink.
fn open_regular(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW).open(path)
}

/// The whole content of a small open file, if it did not change while read.
fn read_stable(file: &File, m: &Metadata) -> Option<Bytes> {
    let len = usize::try_from(m.len()).ok()?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, 0).ok()?;
    let after = file.metadata().ok()?;
    (Stamp::of(&after) == Stamp::of(m)).then(|| Bytes::from(buf))
}

/// The answer to a file request once its version is known: 200, 206, 304, 412 or 416.
fn serve<B>(req: &Request<B>, meta: &FileMeta, source: Source, head_only: bool) -> Response<Body> {
    let headers = req.headers();
    match conditional::evaluate(headers, meta.validators()) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            let h = response.headers_mut();
            h.insert(ETAG, meta.etag.clone());
            h.insert(LAST_MODIFIED, meta.last_modified.clone());
            return response;
        }
        Precondition::Failed => {
            return error_response(
                StatusCode::PRECONDITION_FAILED,
                "The file does not match the request's precondition.",
                head_only,
            )
        }
    }
    let ranges = match headers.get(RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) if conditional::if_range_allows(headers, meta.validators()) => range::parse(value, meta.len),
        _ => RangeRequest::Full,
    };
    let (status, body, partial) = match ranges {
        RangeRequest::Full => {
            let body = if head_only || meta.len == 0 {
                Body::empty()
            } else {
                source.range_body(ByteRange { first: 0, last: meta.len - 1 })
            };
            (StatusCode::OK, body, None)
        }
        RangeRequest::Unsatisfiable => {
            let mut response = error_response(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "The requested range is outside the file.",
                head_only,
            );
            let h = response.headers_mut();
            h.insert(CONTENT_RANGE, header_value(format!("bytes */{}", meta.len)));
            h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return response;
        }
        RangeRequest::Partial(ranges) => match ranges.as_slice() {
            [one] => {
                let body = if head_only { Body::empty() } else { source.range_body(*one) };
                (StatusCode::PARTIAL_CONTENT, body, Some(Partial::One(*one)))
            }
            _ => {
                let part_type = meta.content_type.to_str().unwrap_or("application/octet-stream");
                let multipart = Multipart::new(&ranges, meta.len, part_type);
                let body = if head_only { Body::empty() } else { multipart_body(&multipart, &ranges, source) };
                (StatusCode::PARTIAL_CONTENT, body, Some(Partial::Many(multipart)))
            }
        },
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    // Room for ours and the server's (Date, security headers): one allocation, no regrowth.
    *response.headers_mut() = HeaderMap::with_capacity(16);
    let h = response.headers_mut();
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(ETAG, meta.etag.clone());
    h.insert(LAST_MODIFIED, meta.last_modified.clone());
    match partial {
        None => {
            h.insert(CONTENT_TYPE, meta.content_type.clone());
            h.insert(CONTENT_LENGTH, meta.content_length.clone());
        }
        Some(Partial::One(range)) => {
            h.insert(CONTENT_TYPE, meta.content_type.clone());
            h.insert(CONTENT_LENGTH, HeaderValue::from(range.len()));
            h.insert(CONTENT_RANGE, header_value(range.content_range(meta.len)));
        }
        Some(Partial::Many(multipart)) => {
            h.insert(CONTENT_TYPE, header_value(multipart.content_type));
            h.insert(CONTENT_LENGTH, HeaderValue::from(multipart.total_len));
        }
    }
    response
}

/// The shape of a 206 response.
enum Partial {
    One(ByteRange),
    Many(Multipart),
}

/// The multipart/byteranges body: each part's header, then its bytes; then the closing delimiter.
fn multipart_body(multipart: &Multipart, ranges: &[ByteRange], source: Source) -> Body {
    let mut segments = VecDeque::with_capacity(ranges.len() * 2 + 1);
    for (header, range) in multipart.part_headers.iter().zip(ranges) {
        segments.push_back(Segment::Bytes(header.clone()));
        segments.push_back(source.segment(*range));
    }
    segments.push_back(Segment::Bytes(multipart.trailer.clone()));
    let file = match source {
        Source::Open(file) => Some(file),
        Source::Cached(_) => None,
    };
    Body::segments(file, segments)
}

/// A header value from text we generated ourselves (always visible ASCII).
fn header_value(s: String) -> HeaderValue {
    HeaderValue::try_from(s).unwrap_or(HeaderValue::from_static(""))
}

/// 301 to the directory form of a path, keeping the query.
fn redirect(dir_url: &str, query: Option<&str>, head_only: bool) -> Response<Body> {
    let location = match query {
        Some(q) => format!("{dir_url}?{q}"),
        None => dir_url.to_owned(),
    };
    moved_permanently(location, head_only)
}

/// 301 to `location` (a path we generated), with a page linking it.
pub(crate) fn moved_permanently(location: String, head_only: bool) -> Response<Body> {
    let body = format!("<h1>301 Moved Permanently</h1>\n<p><a href=\"{0}\">{0}</a></p>", escape_html(&location));
    let mut response = page_response(
        StatusCode::MOVED_PERMANENTLY,
        HTML_CONTENT_TYPE,
        html_page("301 Moved Permanently", &body),
        head_only,
    );
    response.headers_mut().insert(LOCATION, header_value(location));
    response
}

/// The error page for a refused or missing path.
fn path_error(e: PathError, head_only: bool) -> Response<Body> {
    match e {
        PathError::Forbidden(reason) => error_response(StatusCode::FORBIDDEN, reason, head_only),
        PathError::NotFound => {
            error_response(StatusCode::NOT_FOUND, "The requested URL was not found on this server.", head_only)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_take_the_form_request_paths_are_matched_in() {
        let dir = tempfile::tempdir().unwrap();
        let service = FileService::new(dir.path(), FileOptions::default()).unwrap();
        assert_eq!(normal_prefix("/private").as_deref(), Ok("/private"));
        assert_eq!(normal_prefix("private/").as_deref(), Ok("/private/"));
        assert_eq!(normal_prefix("//a b/./c").as_deref(), Ok("/a%20b/c"));
        assert_eq!(normal_prefix("/.well-known").as_deref(), Ok("/.well-known"));
        assert!(normal_prefix("/a/../private").is_err());
        assert!(normal_prefix("/a%2fb").is_err());
        // The request paths that reach a prefix, and the ones the service refuses before any prefix.
        for (raw, normal) in [
            ("/private/x", Some("/private/x")),
            ("/%70rivate//./x", Some("/private/x")),
            ("/a%20b/c/", Some("/a%20b/c/")),
            ("/a b/c", Some("/a%20b/c")),
            ("/public/../private/x", None),
            ("/private%5cx", None),
            ("/a\\..\\private", None),
            ("/.hidden", None),
        ] {
            assert_eq!(service.normal_path(raw).as_deref(), normal, "{raw}");
        }
    }
}
