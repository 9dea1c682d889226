//! HTTPS client: hyper over tokio-rustls over TCP, HTTP/1.1 or HTTP/2 by ALPN.
//!
//! A [`Client`] turns one [`Context`] into one rustls `ClientConfig` and keeps
//! it, so every connection it opens shares one session cache: the second
//! connection to a server resumes the first one's session (on by default; a
//! context with `session_cache(0)` turns it off). Each request opens its own
//! connection, so each [`Response`] carries the [`SessionInfo`] of its own
//! handshake: version, suite, group, ALPN, resumed or not, time, peer chain.
//!
//! [`blocking::Client`] is the same client for programs without an async runtime.
//! [`ClientBuilder::trace`] decodes each handshake live (what `tlskit get -v` prints).
//!
//! ```no_run
//! use tlskit::client::blocking::Client;
//! use tlskit::context::Context;
//!
//! let ctx = Context::new().trust_system_roots(true);
//! let client = Client::new(&ctx)?;
//! let response = client.get("https://example.com/")?;
//! println!("{} {} resumed={}", response.status, response.session.version, response.session.resumed);
//! # Ok::<(), tlskit::client::ClientError>(())
//! ```

mod asked;
pub mod blocking;
pub(crate) mod connect;
pub(crate) mod error;
mod idle;
pub(crate) mod recorder;

pub use crate::trace::TraceSink;
pub use connect::{ResolveOverride, TlsHandshake};
pub use error::{ClientError, Phase};
/// The `http` crate's types (Method, HeaderMap, StatusCode, Version) that requests and responses use.
pub use http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HOST, LOCATION, USER_AGENT,
};
use http::{HeaderMap, Method, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Serialize;

use crate::context::Context;
use crate::session::SessionInfo;
use crate::trace::{SecretLog, SharedKeyLog};
use connect::Target;
use error::Failure;
use idle::IdleLimits;

/// What the client sends as User-Agent unless told otherwise.
pub const USER_AGENT_VALUE: &str = concat!("tlskit/", env!("CARGO_PKG_VERSION"));

/// One HTTP request: method, URL, headers, body.
#[derive(Clone, Debug)]
pub struct Request {
    /// GET, POST, HEAD, …
    pub method: Method,
    /// An `https://` URL.
    pub url: String,
    /// Headers to send; User-Agent, Accept and Host are added when missing.
    pub headers: HeaderMap,
    /// The body (empty for none).
    pub body: Bytes,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request { method, url: url.into(), headers: HeaderMap::new(), body: Bytes::new() }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::GET, url)
    }

    /// `POST url` with a body of the given content type.
    pub fn post(url: impl Into<String>, content_type: &str, body: impl Into<Bytes>) -> Self {
        let mut req = Self::new(Method::POST, url);
        if let Ok(v) = HeaderValue::from_str(content_type) {
            req.headers.insert(CONTENT_TYPE, v);
        }
        req.body = body.into();
        req
    }

    /// Add a header (a second value for the same name is appended, not replaced).
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, ClientError> {
        let bad = |what: &str| ClientError::Http(format!("bad header {what} in {name:?}: {value:?}"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("name"))?;
        let value = HeaderValue::from_str(value).map_err(|_| bad("value"))?;
        self.headers.append(name, value);
        Ok(self)
    }
}

/// When each step of a request finished, in milliseconds from its start (curl's `time_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Name resolved (`time_namelookup`).
    pub dns_ms: f64,
    /// TCP connected (`time_connect`).
    pub connect_ms: f64,
    /// TLS handshake done (`time_appconnect`).
    pub tls_ms: f64,
    /// Response headers received (`time_starttransfer`).
    pub first_byte_ms: f64,
    /// Body received (`time_total`).
    pub total_ms: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A complete response and the facts of the connection it came over.
#[derive(Clone, Debug)]
pub struct Response {
    /// The URL requested.
    pub url: String,
    /// The request method.
    pub method: Method,
    /// The response status.
    pub status: StatusCode,
    /// HTTP/1.1 or HTTP/2, as negotiated by ALPN.
    pub version: Version,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole response body.
    pub body: Bytes,
    /// The request headers as sent (ours added to the caller's).
    pub request_headers: HeaderMap,
    /// Bytes of request body sent.
    pub request_body_len: usize,
    /// What this connection's handshake negotiated.
    pub session: SessionInfo,
    /// When each step finished.
    pub timings: Timings,
    /// The server's address, as connected to.
    pub remote_addr: SocketAddr,
    /// Our end of the connection.
    pub local_addr: SocketAddr,
    /// The redirect responses that led here, first hop first (empty unless
    /// [`ClientBuilder::follow_redirects`] is on); their bodies are not read.
    pub redirects: Vec<Response>,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The most telling error for a failed exchange: a TLS error the stream saw (hyper's HTTP/2
/// errors do not carry it: a TLS 1.3 server's alert after our handshake), else hyper's own.
fn cause(failure: &Failure<'_>, seen: &recorder::SeenError, stall: &idle::Stall, err: hyper::Error) -> ClientError {
    if let Some(&(phase, after)) = stall.get() {
        return ClientError::Timeout { phase, after };
    }
    match recorder::take(seen) {
        Some(tls) => failure.classify_rustls(tls),
        None => failure.classify_hyper(err),
    }
}

/// curl's `--pinnedpubkey`: `sha256//BASE64`, several joined by `;`, into SPKI SHA-256 hashes.
pub fn parse_pinned_pubkeys(pins: &str) -> Result<Vec<[u8; 32]>, ClientError> {
    use base64::Engine as _;
    let bad = |pin: &str, why: &str| ClientError::BadPin { pin: pin.to_string(), reason: why.to_string() };
    let mut out = Vec::new();
    for pin in pins.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let b64 = pin.strip_prefix("sha256//").ok_or_else(|| bad(pin, "expected sha256//BASE64"))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad(pin, "bad base64"))?;
        out.push(<[u8; 32]>::try_from(raw.as_slice()).map_err(|_| bad(pin, "not a SHA-256 hash (32 bytes)"))?);
    }
    if out.is_empty() {
        return Err(bad(pins, "no pin given"));
    }
    Ok(out)
}

/// Where `location` points, seen from `base` (absolute, scheme-relative, absolute path, relative path).
fn redirect_target(base: &str, location: &str) -> Result<String, ClientError> {
    if location.contains("://") {
        return Ok(location.to_string());
    }
    let uri: http::Uri = base
        .parse()
        .map_err(|e: http::uri::InvalidUri| ClientError::Url { url: base.into(), reason: e.to_string() })?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    if let Some(rest) = location.strip_prefix("//") {
        return Ok(format!("{scheme}://{rest}"));
    }
    if location.starts_with('/') {
        return Ok(format!("{scheme}://{authority}{location}"));
    }
    let dir = uri.path().rsplit_once('/').map(|(d, _)| d).unwrap_or_default();
    Ok(format!("{scheme}://{authority}{dir}/{location}"))
}

/// A URL's scheme and authority, lower-cased: what decides whether a redirect leaves the server.
fn origin(url: &str) -> Option<(String, String)> {
    let uri: http::Uri = url.parse().ok()?;
    Some((uri.scheme_str()?.to_ascii_lowercase(), uri.authority()?.as_str().to_ascii_lowercase()))
}

/// How a [`Client`] connects, beyond the TLS policy of its [`Context`].
#[derive(Clone)]
pub struct ClientBuilder {
    ctx: Context,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    resolve: Vec<ResolveOverride>,
    user_agent: String,
    trace: Option<TraceSink>,
    key_log: Option<SharedKeyLog>,
    max_redirects: Option<u32>,
    idle: IdleLimits,
    check: Option<PostConnectionCheck>,
}

/// A check of each connection once its handshake is done and before the request goes out
/// (M2Crypto's post-connection `Checker`): `Err(reason)` fails the request with
/// [`ClientError::CheckFailed`].
pub type PostConnectionCheck = Arc<dyn Fn(&SessionInfo) -> Result<(), String> + Send + Sync>;

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("ctx", &self.ctx)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("resolve", &self.resolve)
            .field("trace", &self.trace.is_some())
            .field("max_redirects", &self.max_redirects)
            .field("idle", &self.idle)
            .field("check", &self.check.is_some())
            .finish()
    }
}

impl ClientBuilder {
    /// Limit for resolving, connecting and the TLS handshake (default 30 s).
    pub fn connect_timeout(mut self, limit: Option<Duration>) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// Limit for a whole request, body included (default none).
    pub fn timeout(mut self, limit: Option<Duration>) -> Self {
        self.timeout = limit;
        self
    }

    /// Limit for one read that gets nothing (default none): a server that stops sending fails
    /// the request with [`ClientError::Timeout`] in [`Phase::Read`], however long the transfer.
    pub fn read_timeout(mut self, limit: Option<Duration>) -> Self {
        self.idle.read = limit;
        self
    }

    /// Limit for one write the server does not take (default none): [`Phase::Write`].
    pub fn write_timeout(mut self, limit: Option<Duration>) -> Self {
        self.idle.write = limit;
        self
    }

    /// Run `check` on each connection's [`SessionInfo`] after the handshake, before the request:
    /// a host or certificate rule of your own beyond verification (see [`PostConnectionCheck`]).
    ///
    /// ```
    /// # let ca = tlskit::pki::ephemeral_server(&[])?.ca_pem.into_bytes();
    /// # let ctx = tlskit::context::Context::new().trust(tlskit::pki::parse_certs(ca, "ca.pem".as_ref())?);
    /// let client = tlskit::client::Client::builder(&ctx)
    ///     .check(|session| match session.version.as_str() {
    ///         "TLSv1.3" => Ok(()),
    ///         other => Err(format!("{other} is not TLS 1.3")),
    ///     })
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(mut self, check: impl Fn(&SessionInfo) -> Result<(), String> + Send + Sync + 'static) -> Self {
        self.check = Some(Arc::new(check));
        self
    }

    /// Connect to `addr` whenever a URL names `host:port` (curl's `--resolve`).
    pub fn resolve(mut self, rule: ResolveOverride) -> Self {
        self.resolve.push(rule);
        self
    }

    /// The User-Agent header sent when the request has none.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Decode each connection's handshake live and hand its [`TraceEvent`](crate::trace::TraceEvent)s
    /// to `sink` (render them with `tlskit_wire::render`, as `tlskit get -v` does). Takes over the
    /// context's key log: give that to [`Self::key_log`] instead.
    pub fn trace(mut self, sink: TraceSink) -> Self {
        self.trace = Some(sink);
        self
    }

    /// Follow `Location` on 3xx answers, at most `max` times (curl's `-L --max-redirs`); one more
    /// is [`ClientError::TooManyRedirects`]. 303, and 301/302 after POST, become a GET without body.
    /// The final [`Response::redirects`] holds the hops. Off by default: a 3xx is the response.
    pub fn follow_redirects(mut self, max: u32) -> Self {
        self.max_redirects = Some(max);
        self
    }

    /// Where session secrets go (NSS key log); with tracing on, they go there as well.
    pub fn key_log(mut self, log: SharedKeyLog) -> Self {
        self.key_log = Some(log);
        self
    }

    /// Build the rustls configuration once; every connection of the client shares it.
    pub fn build(self) -> Result<Client, ClientError> {
        // HTTP clients offer h2 and http/1.1 unless the context says otherwise, as curl does.
        let mut ctx = if self.ctx.alpn_protocols().is_empty() { self.ctx.alpn(&["h2", "http/1.1"]) } else { self.ctx };
        // Tracing needs each connection's secrets: a SecretLog keeps them and forwards them on.
        let trace = self.trace.map(|sink| (sink, Arc::new(SecretLog::new(self.key_log.clone()))));
        match (&trace, self.key_log) {
            (Some((_, secrets)), _) => ctx = ctx.key_log(secrets.clone()),
            (None, Some(log)) => ctx = ctx.key_log(log),
            (None, None) => {}
        }
        let mut config = (*ctx.client_config()?).clone();
        // Note CertificateRequests, to name the cause when a server hangs up on us (asked.rs).
        config.client_auth_cert_resolver = Arc::new(asked::NoteRequest(config.client_auth_cert_resolver.clone()));
        let config = Arc::new(config);
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                connect_timeout: self.connect_timeout,
                timeout: self.timeout,
                resolve: self.resolve,
                user_agent: self.user_agent,
                trace,
                max_redirects: self.max_redirects,
                idle: self.idle,
                check: self.check,
            }),
        })
    }
}

struct Inner {
    config: Arc<rustls::ClientConfig>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    resolve: Vec<ResolveOverride>,
    user_agent: String,
    trace: Option<(TraceSink, Arc<SecretLog>)>,
    max_redirects: Option<u32>,
    idle: IdleLimits,
    check: Option<PostConnectionCheck>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// An async HTTPS client. Clones share the TLS session cache.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # std::fs::write(dir.path().join("hello.txt"), "hello\n")?;
/// use std::sync::Arc;
///
/// use tlskit::client::Client;
/// use tlskit::context::Context;
/// use tlskit::files::{FileOptions, FileService};
/// use tlskit::server::{Server, ServerOptions};
///
/// // A server of our own on a free port, with a certificate made for the occasion.
/// let pki = tlskit::pki::ephemeral_server(&[])?;
/// let files = FileService::new(dir.path(), FileOptions::default())?;
/// let options = ServerOptions::new("127.0.0.1:0".parse()?, Context::new().identity(pki.identity), files, Arc::new(|_| {}));
/// let server = Server::bind(options)?;
/// let url = format!("https://localhost:{}/hello.txt", server.local_addr().port());
/// tokio::spawn(server.run(std::future::pending()));
///
/// // The client trusts that server's CA; the second request resumes the first one's session.
/// let ca = tlskit::pki::parse_certs(pki.ca_pem.into_bytes(), "ca.pem".as_ref())?;
/// let client = Client::new(&Context::new().trust(ca))?;
/// let first = client.get(&url).await?;
/// assert_eq!((first.status.as_u16(), first.text().as_str()), (200, "hello\n"));
/// let second = client.get(&url).await?;
/// assert!(!first.session.resumed && second.session.resumed);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    /// A client with default connection settings.
    pub fn new(ctx: &Context) -> Result<Self, ClientError> {
        Self::builder(ctx).build()
    }

    /// Start from a context and adjust timeouts and name overrides.
    pub fn builder(ctx: &Context) -> ClientBuilder {
        ClientBuilder {
            ctx: ctx.clone(),
            connect_timeout: Some(Duration::from_secs(30)),
            timeout: None,
            resolve: Vec::new(),
            user_agent: USER_AGENT_VALUE.to_string(),
            trace: None,
            key_log: None,
            max_redirects: None,
            idle: IdleLimits::default(),
            check: None,
        }
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> Result<Response, ClientError> {
        self.send(Request::get(url)).await
    }

    /// `POST url` with a body of the given content type.
    pub async fn post(&self, url: &str, content_type: &str, body: impl Into<Bytes>) -> Result<Response, ClientError> {
        self.send(Request::post(url, content_type, body)).await
    }

    /// Open a connection, send the request, read the whole response.
    pub async fn send(&self, req: Request) -> Result<Response, ClientError> {
        self.send_streaming(req).await?.collect().await
    }

    /// Open a connection, send the request, and return once the response headers are in;
    /// read the body piece by piece with [`ResponseStream::chunk`] (for large downloads).
    /// The client's overall time limit covers the body too.
    pub async fn send_streaming(&self, req: Request) -> Result<ResponseStream, ClientError> {
        let deadline = self.inner.timeout.map(|limit| (tokio::time::Instant::now() + limit, limit));
        let mut stream = match deadline {
            Some((at, after)) => tokio::time::timeout_at(at, self.follow(req))
                .await
                .map_err(|_| ClientError::Timeout { phase: Phase::Transfer, after })??,
            None => self.follow(req).await?,
        };
        stream.deadline = deadline;
        Ok(stream)
    }

    /// One exchange, or with [`ClientBuilder::follow_redirects`] the chain of them to a non-redirect.
    async fn follow(&self, mut req: Request) -> Result<ResponseStream, ClientError> {
        let Some(max) = self.inner.max_redirects else { return self.exchange(req).await };
        let mut hops = Vec::new();
        loop {
            let mut stream = self.exchange(req.clone()).await?;
            let head = stream.head();
            let location = head.headers.get(LOCATION).and_then(|v| v.to_str().ok());
            let Some(location) = location.filter(|_| head.status.is_redirection()) else {
                stream.head.redirects = hops;
                return Ok(stream);
            };
            if hops.len() as u32 >= max {
                return Err(ClientError::TooManyRedirects { max });
            }
            let next = redirect_target(&head.url, location)?;
            // 303, and 301/302 after POST, become GET without a body (as browsers and curl do).
            let status = head.status.as_u16();
            if status == 303 || (matches!(status, 301 | 302) && req.method == Method::POST) {
                req.method = Method::GET;
                req.body = Bytes::new();
                req.headers.remove(CONTENT_TYPE);
                req.headers.remove(CONTENT_LENGTH);
            }
            if origin(&next) != origin(&req.url) {
                // Credentials are for the server they were given to (curl keeps them only with --location-trusted).
                req.headers.remove(AUTHORIZATION);
                req.headers.remove(COOKIE);
            }
            req.url = next;
            // The Host header names the old server: the exchange sets the new one.
            req.headers.remove(HOST);
            hops.push(stream.into_head());
        }
    }

    async fn exchange(&self, req: Request) -> Result<ResponseStream, ClientError> {
        let start = Instant::now();
        let target = Target::parse(&req.url)?;
        let mut tracer = crate::trace::tracer::FinishOnDrop(None);
        let conn = self.connected(&target, &mut tracer, start).await?;
        let failure = Failure {
            host: &target.host,
            have_identity: self.inner.config.client_auth_cert_resolver.has_certs(),
            cert_requested: conn.cert_requested,
        };
        let h2 = conn.session.alpn.as_deref() == Some("h2");

        let mut headers = req.headers;
        if !headers.contains_key(USER_AGENT) {
            if let Ok(v) = HeaderValue::from_str(&self.inner.user_agent) {
                headers.insert(USER_AGENT, v);
            }
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        // An empty POST still says so: some servers answer 411 Length Required otherwise.
        let sends_body = matches!(req.method, Method::POST | Method::PUT | Method::PATCH);
        if sends_body && req.body.is_empty() && !headers.contains_key(CONTENT_LENGTH) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        let mut builder = http::Request::builder().method(req.method.clone());
        if h2 {
            builder = builder.uri(target.uri.clone()).version(Version::HTTP_2);
        } else {
            builder = builder.uri(target.path_and_query.as_str());
            if !headers.contains_key(HOST) {
                let host = HeaderValue::from_str(&target.authority).map_err(|e| ClientError::Http(e.to_string()))?;
                headers.insert(HOST, host);
            }
        }
        let request_body_len = req.body.len();
        let mut request = builder.body(Full::new(req.body)).map_err(|e| ClientError::Http(e.to_string()))?;
        *request.headers_mut() = headers.clone();

        if let Some(t) = &tracer.0 {
            t.handshake_finished();
        }
        let (stream, stall) = idle::Idle::new(conn.stream, self.inner.idle);
        let (stream, seen) = recorder::Recorder::new(stream);
        let io = TokioIo::new(stream);
        let response = if h2 {
            let (mut sender, driver) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| cause(&failure, &seen, &stall, e))?;
            tokio::spawn(driver);
            sender.send_request(request).await
        } else {
            let (mut sender, driver) =
                hyper::client::conn::http1::handshake(io).await.map_err(|e| cause(&failure, &seen, &stall, e))?;
            tokio::spawn(driver);
            sender.send_request(request).await
        };
        let response = response.map_err(|e| cause(&failure, &seen, &stall, e))?;
        let first_byte_at = start.elapsed();
        let (parts, body) = response.into_parts();
        let head = Response {
            url: req.url,
            method: req.method,
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            body: Bytes::new(),
            request_headers: headers,
            request_body_len,
            session: conn.session,
            timings: Timings {
                dns_ms: ms(conn.resolved_at),
                connect_ms: ms(conn.connected_at),
                tls_ms: ms(conn.handshaked_at),
                first_byte_ms: ms(first_byte_at),
                total_ms: ms(first_byte_at),
            },
            remote_addr: conn.remote,
            local_addr: conn.local,
            redirects: Vec::new(),
        };
        let have_identity = failure.have_identity;
        Ok(ResponseStream {
            head,
            body,
            host: target.host,
            have_identity,
            cert_requested: conn.cert_requested,
            seen,
            stall,
            start,
            deadline: None,
            _tracer: tracer,
        })
    }
}

/// A response whose headers are in and whose body is still on the wire.
pub struct ResponseStream {
    head: Response,
    body: hyper::body::Incoming,
    host: String,
    have_identity: bool,
    cert_requested: bool,
    seen: recorder::SeenError,
    stall: idle::Stall,
    start: Instant,
    deadline: Option<(tokio::time::Instant, Duration)>,
    // Ends the connection's trace when the response is done with.
    _tracer: crate::trace::tracer::FinishOnDrop,
}

impl std::fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStream").field("head", &self.head).finish()
    }
}

impl ResponseStream {
    /// Status, headers, session and timings so far; `body` is empty.
    pub fn head(&self) -> &Response {
        &self.head
    }

    /// The next piece of the body, or None at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        let deadline = self.deadline;
        let body = &mut self.body;
        let next = async {
            loop {
                match body.frame().await {
                    None => return Ok(None),
                    Some(Err(e)) => return Err(e),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            if !data.is_empty() {
                                return Ok(Some(data));
                            }
                        }
                    }
                }
            }
        };
        let polled = match deadline {
            Some((at, after)) => tokio::time::timeout_at(at, next)
                .await
                .map_err(|_| ClientError::Timeout { phase: Phase::Transfer, after })?,
            None => next.await,
        };
        match polled {
            Ok(Some(data)) => Ok(Some(data)),
            Ok(None) => {
                self.head.timings.total_ms = ms(self.start.elapsed());
                Ok(None)
            }
            Err(e) => {
                let failure = Failure {
                    host: &self.host,
                    have_identity: self.have_identity,
                    cert_requested: self.cert_requested,
                };
                Err(cause(&failure, &self.seen, &self.stall, e))
            }
        }
    }

    /// Read the rest of the body into the response.
    pub async fn collect(mut self) -> Result<Response, ClientError> {
        let mut body = Vec::new();
        while let Some(data) = self.chunk().await? {
            body.extend_from_slice(&data);
        }
        self.head.body = Bytes::from(body);
        Ok(self.head)
    }

    /// The response as it stands (`timings.total_ms` is final once [`Self::chunk`] returned None).
    pub fn into_head(self) -> Response {
        self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_like_a_browser() {
        let base = "https://h:8443/a/b?q=1";
        assert_eq!(redirect_target(base, "https://x/y").unwrap(), "https://x/y");
        assert_eq!(redirect_target(base, "//x/y").unwrap(), "https://x/y");
        assert_eq!(redirect_target(base, "/y").unwrap(), "https://h:8443/y");
        assert_eq!(redirect_target(base, "c").unwrap(), "https://h:8443/a/c");
    }

    #[test]
    fn a_redirect_leaves_the_server_when_scheme_host_or_port_change() {
        assert_eq!(origin("https://H:8443/a"), origin("https://h:8443/b?x"));
        assert_ne!(origin("https://h:8443/a"), origin("https://h:8444/a"));
        assert_ne!(origin("https://h/a"), origin("https://g/a"));
        assert_ne!(origin("https://h/a"), origin("http://h/a"));
    }
}
