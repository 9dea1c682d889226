//! The one static-file service of `tlskit serve`: safe paths, listings, ranges, conditional requests.
//!
//! (interface committed first; the implementation follows)

#[allow(dead_code)] // until the file paths land
mod body;
mod page;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};

pub use body::Body;
pub use page::{error_response, escape_html, html_page, page_response, HTML_CONTENT_TYPE, JSON_CONTENT_TYPE, PAGE_CSP};

/// What the file service shows and how much it caches.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// Serve and list dot-files (any path segment starting with '.').
    pub show_hidden: bool,
    /// The file served for a directory, if present (default `index.html`); None always lists.
    pub index: Option<String>,
    /// Budget in bytes of the small-file cache; 0 turns it off.
    pub cache_bytes: usize,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions { show_hidden: false, index: Some("index.html".to_owned()), cache_bytes: 32 * 1024 * 1024 }
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
}

impl FileService {
    /// A service for the directory `root` (canonicalized here; it must exist and be a directory).
    pub fn new(root: impl AsRef<Path>, options: FileOptions) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root.as_ref())?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(FileService { inner: Arc::new(Inner { root, options }) })
    }

    /// The canonical directory served.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The response to `req`. The work is done at the call; the returned future is ready at once,
    /// `Send` and `'static`, so it can be awaited from any runtime without borrowing `req`.
    pub fn respond<B>(&self, req: &Request<B>) -> impl Future<Output = Response<Body>> + Send + 'static {
        std::future::ready(self.respond_now(req))
    }

    /// The response to `req`, computed synchronously (file bodies are still read lazily, in chunks).
    pub fn respond_now<B>(&self, req: &Request<B>) -> Response<Body> {
        let head_only = req.method() == Method::HEAD;
        if req.method() != Method::GET && !head_only {
            return page::method_not_allowed(false);
        }
        error_response(StatusCode::NOT_FOUND, "not implemented yet", head_only)
    }
}
