//! The one request handler of both execution models: `/_tls`, the `/_reneg_`
//! magic URL, per-path client-certificate rules, then the file service; security
//! headers on every response; an access record when each response body ends.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{HeaderValue, ACCEPT, LOCATION, SERVER, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;

use super::body::LoggedBody;
use super::io::ConnSignals;
use super::pages;
use super::{AccessRecord, KeyUpdateReport, Shared};
use crate::files::{self, Body};
use crate::session::SessionInfo;

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
        let headers = response.headers_mut();
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(SERVER, HeaderValue::from_static("tlskit"));
        if let Some(hsts) = &self.shared.hsts {
            headers.insert(STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        let record = AccessRecord {
            time,
            peer: self.conn.peer,
            method: req.method().as_str().to_owned(),
            target: req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned(),
            http_version: version_name(req.version()),
            status: response.status().as_u16(),
            bytes: 0,
            duration: Default::default(),
            session: self.conn.session.clone(),
            key_update: key_update.then(|| KeyUpdateReport::pending(generation, self.conn.session.clone())),
        };
        self.conn.signals.in_flight.fetch_add(1, Ordering::Relaxed);
        response.map(|body| LoggedBody::new(body, record, started, self.shared.clone(), self.conn.signals.clone()))
    }

    /// The response, and whether it asked for a KeyUpdate (the `/_reneg_` magic URL on TLS 1.3).
    fn route(&self, req: &Request<Incoming>) -> (Response<Body>, bool) {
        let path = req.uri().path();
        let head_only = req.method() == Method::HEAD;
        let special = path == "/_tls" || path == "/_tls/" || path.starts_with(MAGIC);
        if special && req.method() != Method::GET && !head_only {
            let answer = "Only GET and HEAD are allowed here.";
            return (files::error_response(StatusCode::METHOD_NOT_ALLOWED, answer, false), false);
        }
        let json = wants_json(req);
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
        let normalized = normalize_path(path);
        let prefix = self.shared.require_client_cert.iter().find(|p| normalized.starts_with(p.as_str()))?;
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

fn version_name(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/?",
    }
}

/// True when the client prefers JSON: `application/json` in Accept, ahead of any HTML.
pub(crate) fn wants_json<B>(req: &Request<B>) -> bool {
    let Some(accept) = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()) else { return false };
    let json = accept.find("application/json");
    let html = accept.find("text/html");
    match (json, html) {
        (Some(j), Some(h)) => j < h,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The path as the file service will see it: percent-decoded once, `.` and
/// empty segments dropped, `..` applied, so `/%70rivate//./x` matches `/private`.
pub(crate) fn normalize_path(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || (decoded.ends_with('/') && !segments.is_empty()) {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_defeats_encodings_and_dots() {
        assert_eq!(normalize_path("/private/x"), "/private/x");
        assert_eq!(normalize_path("/%70rivate//./x"), "/private/x");
        assert_eq!(normalize_path("/public/../private/"), "/private/");
        assert_eq!(normalize_path("//private"), "/private");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("/a\\..\\private"), "/private");
    }

    #[test]
    fn json_only_when_preferred() {
        let req = |accept: &str| Request::builder().header(ACCEPT, accept).body(()).unwrap();
        assert!(wants_json(&req("application/json")));
        assert!(!wants_json(&req("text/html, application/json")));
        assert!(wants_json(&req("application/json, text/html;q=0.5")));
        assert!(!wants_json(&Request::new(())));
    }
}
