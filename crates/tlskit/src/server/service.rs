//! The one request handler of both execution models: `/_tls`, `/_reneg_*`,
//! per-path client-certificate rules, then the file service; security headers
//! on every response; an access record when each response body ends.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{HeaderValue, SERVER, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::body::LoggedBody;
use super::io::ConnSignals;
use super::pages;
use super::{AccessRecord, Shared};
use crate::files::{self, Body};
use crate::session::SessionInfo;

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
        let mut response = self.route(&req);
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
            http_version: crate::names::http_version(req.version()),
            status: response.status().as_u16(),
            bytes: 0,
            duration: Default::default(),
            session: self.conn.session.clone(),
        };
        self.conn.signals.in_flight.fetch_add(1, Ordering::Relaxed);
        response.map(|body| LoggedBody::new(body, record, started, self.shared.clone(), self.conn.signals.clone()))
    }

    fn route(&self, req: &Request<Incoming>) -> Response<Body> {
        let path = req.uri().path();
        let head_only = req.method() == Method::HEAD;
        let special = path == "/_tls" || path == "/_tls/" || path.starts_with("/_reneg_");
        if special && req.method() != Method::GET && !head_only {
            return files::error_response(StatusCode::METHOD_NOT_ALLOWED, "Only GET and HEAD are allowed here.", false);
        }
        if path == "/_tls" || path == "/_tls/" {
            let json = files::negotiate::prefers_json(req.headers());
            return pages::tls_info(&self.conn, req.version(), json, head_only);
        }
        if path.starts_with("/_reneg_") {
            let json = files::negotiate::prefers_json(req.headers());
            return pages::renegotiate(&self.conn, req.version(), json, head_only);
        }
        if !self.conn.client_verified && !self.shared.require_client_cert.is_empty() {
            // The path as the file service reads it; one it refuses gets its refusal below.
            if let Some(normal) = self.shared.files.normal_path(path) {
                if let Some(prefix) = self.shared.require_client_cert.iter().find(|p| normal.starts_with(p.as_str())) {
                    return pages::client_cert_required(prefix, head_only);
                }
            }
        }
        self.shared.files.respond_now(req)
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
