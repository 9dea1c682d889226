//! The one request handler of both execution models: `/_tls`, the `/_reneg_`
//! magic URL, per-path client-certificate rules, then the file service; security
//! headers on every response; an access record when each response body ends.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{HeaderValue, HOST, LOCATION, SERVER, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;

use super::body::LoggedBody;
use super::io::ConnSignals;
use super::pages;
use super::{AccessRecord, KeyUpdateReport, Shared};
use crate::files::{self, Body};
use crate::session::SessionInfo;

/// The response header naming the server that answered (fleet mode).
pub const TLSKIT_SERVER: http::HeaderName = http::HeaderName::from_static("tlskit-server");
/// The response header naming the server that issued the resumed session (fleet mode).
pub const TLSKIT_SESSION_ISSUER: http::HeaderName = http::HeaderName::from_static("tlskit-session-issuer");
/// The HOWTO's magic URL: `/_reneg_` explains, `/_reneg_/PATH` serves PATH after a KeyUpdate.
const MAGIC: &str = "/_reneg_";

/// What a request needs to know about its connection.
#[derive(Debug)]
pub(crate) struct ConnInfo {
    pub(crate) peer: SocketAddr,
    pub(crate) session: Arc<SessionInfo>,
    /// The client presented a certificate and it verified (rustls refuses one that does not).
    pub(crate) client_verified: bool,
    pub(crate) signals: Arc<ConnSignals>,
    /// This server's id, with stores.
    pub(crate) server_id: Option<String>,
    /// The hellos of this connection's handshake, for `/_tls`.
    pub(crate) hellos: super::hello::Hellos,
}

/// The hyper service of one connection.
#[derive(Clone)]
pub(crate) struct Handler {
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
}

impl Handler {
    pub(crate) fn new(shared: Arc<Shared>, conn: Arc<ConnInfo>) -> Self {
        Handler { shared, conn }
    }

    fn handle(&self, req: Request<Incoming>) -> Response<LoggedBody> {
        let started = Instant::now();
        let time = SystemTime::now();
        let generation = self.conn.signals.key_updates_sent.load(Ordering::Acquire);
        let (mut response, key_update) = self.route(&req);
        // Open files are bounded like sockets (one per connection on average): HTTP/2's many streams
        // per connection must not run the process out of descriptors.
        let file_held = response.body().holds_file();
        if file_held && !self.shared.open_files.acquire() {
            response = files::error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many files are being sent at once; try again shortly.",
                req.method() == Method::HEAD,
            );
            response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        let file_held = file_held && response.body().holds_file();
        let headers = response.headers_mut();
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(SERVER, HeaderValue::from_static("tlskit"));
        if let Some(hsts) = &self.shared.hsts {
            headers.insert(STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        if let Some(id) = &self.shared.server_id_header {
            // Fleet mode: which server answered, and which issued the session it resumed (`tlskit get -v`).
            headers.insert(TLSKIT_SERVER, id.clone());
            if let Some(issuer) = self.conn.session.issued_by.as_deref().and_then(|i| HeaderValue::from_str(i).ok()) {
                headers.insert(TLSKIT_SESSION_ISSUER, issuer);
            }
        }
        let record = AccessRecord {
            time,
            peer: self.conn.peer,
            method: req.method().as_str().to_owned(),
            target: req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned(),
            http_version: crate::names::http_version(req.version()),
            status: response.status().as_u16(),
            bytes: 0,
            duration: Default::default(),
            session: self.conn.session.clone(),
            key_update: key_update.then(|| KeyUpdateReport::pending(generation, self.conn.session.clone())),
        };
        self.conn.signals.request_started();
        response.map(|body| {
            LoggedBody::new(body, record, started, self.shared.clone(), self.conn.signals.clone(), file_held)
        })
    }

    /// The response, and whether it asked for a KeyUpdate (the `/_reneg_` magic URL on TLS 1.3).
    fn route(&self, req: &Request<Incoming>) -> (Response<Body>, bool) {
        let path = req.uri().path();
        let head_only = req.method() == Method::HEAD;
        if let Some(problem) = host_problem(req) {
            return (files::error_response(StatusCode::BAD_REQUEST, problem, head_only), false);
        }
        let special = path == "/_tls" || path == "/_tls/" || path.starts_with(MAGIC);
        if special && req.method() != Method::GET && !head_only {
            let answer = "Only GET and HEAD are allowed here.";
            return (files::error_response(StatusCode::METHOD_NOT_ALLOWED, answer, false), false);
        }
        let json = files::negotiate::prefers_json(req.headers());
        if path == "/_tls" || path == "/_tls/" {
            return (pages::tls_info(&self.conn, req.version(), json, head_only), false);
        }
        if let Some(rest) = path.strip_prefix(MAGIC) {
            // `/_reneg_/PATH`: PATH after the KeyUpdate, as orig_https_srv.py served it after renegotiating.
            if rest.starts_with('/') {
                if !pages::ask_key_update(&self.conn) {
                    return (pages::no_renegotiation(&self.conn, json, head_only), false);
                }
                let response = match self.client_cert_refusal(rest, head_only) {
                    Some(refusal) => refusal,
                    None => self.files_under_magic(req, rest),
                };
                return (response, true);
            }
            // `/_reneg_` alone (or any other tail): the explanation.
            let asked = pages::ask_key_update(&self.conn);
            return (pages::renegotiate(&self.conn, req.version(), json, head_only), asked);
        }
        if let Some(refusal) = self.client_cert_refusal(path, head_only) {
            return (refusal, false);
        }
        (self.shared.files.respond_now(req), false)
    }

    /// The 403 of a path under a `--require-client-cert` prefix, when this connection has no verified certificate.
    fn client_cert_refusal(&self, path: &str, head_only: bool) -> Option<Response<Body>> {
        if self.conn.client_verified || self.shared.require_client_cert.is_empty() {
            return None;
        }
        // The path as the file service reads it; one it refuses gets its refusal from the file service.
        let normal = self.shared.files.normal_path(path)?;
        let prefix = self.shared.require_client_cert.iter().find(|p| normal.starts_with(p.as_str()))?;
        Some(pages::client_cert_required(prefix, head_only))
    }

    /// The file service's answer for `path` (the request's own query kept); its redirects stay under the
    /// magic prefix, so `/_reneg_/dir` goes on to `/_reneg_/dir/`.
    fn files_under_magic(&self, req: &Request<Incoming>, path: &str) -> Response<Body> {
        let target = match req.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path.to_owned(),
        };
        let Ok(uri) = target.parse::<http::Uri>() else {
            return files::error_response(StatusCode::BAD_REQUEST, "The path is not a valid URL path.", false);
        };
        let mut inner = Request::new(());
        *inner.method_mut() = req.method().clone();
        *inner.uri_mut() = uri;
        *inner.version_mut() = req.version();
        *inner.headers_mut() = req.headers().clone();
        let response = self.shared.files.respond_now(&inner);
        let moved = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).filter(|l| l.starts_with('/'));
        match moved {
            Some(location) => files::moved_permanently(format!("{MAGIC}{location}"), req.method() == Method::HEAD),
            None => response,
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for Handler {
    type Response = Response<LoggedBody>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        ready(Ok(self.handle(req)))
    }
}

/// What is wrong with the request's Host header, per RFC 9112 §3.2 (a 400):
/// an HTTP/1.1 request needs exactly one, no request may carry two, and its
/// value must be `host[:port]`. Over HTTP/2 a Host that names another
/// authority than `:authority` is malformed too (RFC 9113 §8.3.1).
pub(crate) fn host_problem<B>(req: &Request<B>) -> Option<&'static str> {
    let mut hosts = req.headers().get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Some("The request carries more than one Host header.");
    }
    let Some(host) = host else {
        return (req.version() == Version::HTTP_11).then_some("An HTTP/1.1 request needs a Host header.");
    };
    let bytes = host.as_bytes();
    // An empty Host is what a client sends when the target has no authority (§3.2).
    let valid = bytes.is_empty() || (!bytes.contains(&b'@') && http::uri::Authority::try_from(bytes).is_ok());
    if !valid {
        return Some("The Host header is not a valid host[:port].");
    }
    if req.version() == Version::HTTP_2 {
        if let Some(authority) = req.uri().authority() {
            if !authority.as_str().as_bytes().eq_ignore_ascii_case(bytes) {
                return Some("The Host header names another authority than :authority.");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_rules_of_rfc_9112() {
        let req = |version: Version, hosts: &[&str]| {
            let mut b = Request::builder().version(version).uri("/x");
            for h in hosts {
                b = b.header(HOST, *h);
            }
            b.body(()).unwrap()
        };
        assert_eq!(host_problem(&req(Version::HTTP_11, &["localhost:8443"])), None);
        assert_eq!(host_problem(&req(Version::HTTP_11, &["[::1]:8443"])), None);
        assert_eq!(host_problem(&req(Version::HTTP_11, &[""])), None);
        assert!(host_problem(&req(Version::HTTP_11, &[])).is_some());
        assert!(host_problem(&req(Version::HTTP_11, &["a", "a"])).is_some());
        assert!(host_problem(&req(Version::HTTP_10, &["a", "b"])).is_some());
        assert!(host_problem(&req(Version::HTTP_11, &["user@host"])).is_some());
        assert!(host_problem(&req(Version::HTTP_11, &["a b"])).is_some());
        assert!(host_problem(&req(Version::HTTP_11, &["host/path"])).is_some());
        assert_eq!(host_problem(&req(Version::HTTP_10, &[])), None);
        let h2 = |host: Option<&str>| {
            let mut b = Request::builder().version(Version::HTTP_2).uri("https://localhost:8443/x");
            if let Some(h) = host {
                b = b.header(HOST, h);
            }
            b.body(()).unwrap()
        };
        assert_eq!(host_problem(&h2(None)), None);
        assert_eq!(host_problem(&h2(Some("LOCALHOST:8443"))), None);
        assert!(host_problem(&h2(Some("other:8443"))).is_some());
    }
}
