//! What a run is asked to do ([`Bench`]), and the plan made from it before any connection:
//! URLs parsed and resolved, request templates built, one TLS connector per connection slot.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, ACCEPT, CONNECTION, CONTENT_LENGTH, HOST, USER_AGENT};
use http::{HeaderMap, Method, Uri};

use crate::client::connect::{self, Target};
use crate::client::{ClientError, ResolveOverride, USER_AGENT_VALUE};
use crate::context::{Connector, Context, ContextError, PeerName, Sessions};

/// How connections are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Each connection carries request after request (wrk's only mode).
    KeepAlive,
    /// A new TCP and TLS connection for every request, never resuming: every handshake is full.
    NewConnection,
    /// A new connection for every request, resuming the slot's previous session.
    Resume,
}

impl Mode {
    /// `keep-alive`, `new-conn`, `resume`: the flag names.
    pub fn name(self) -> &'static str {
        match self {
            Mode::KeepAlive => "keep-alive",
            Mode::NewConnection => "new-conn",
            Mode::Resume => "resume",
        }
    }
}

/// Which HTTP the connections offer by ALPN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Offer h2 and http/1.1, speak what the server picks.
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only (a server that does not pick h2 is an error).
    Http2,
}

impl Protocol {
    /// `auto`, `http/1.1`, `h2`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Auto => "auto",
            Protocol::Http1 => "http/1.1",
            Protocol::Http2 => "h2",
        }
    }

    fn alpn(self) -> &'static [&'static str] {
        match self {
            Protocol::Auto => &["h2", "http/1.1"],
            Protocol::Http1 => &["http/1.1"],
            Protocol::Http2 => &["h2"],
        }
    }
}

/// When the run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// After this long (measured after the warm-up).
    After(Duration),
    /// After this many requests (completed or failed), spread over the threads.
    Requests(u64),
}

/// A load run: where, what, how hard. Build with [`Bench::new`], adjust the fields, pass to
/// [`super::run`].
#[derive(Clone, Debug)]
pub struct Bench {
    /// The TLS policy of every connection (ALPN is set from `protocol`).
    pub context: Context,
    /// `https://` URLs, requested round-robin.
    pub urls: Vec<String>,
    /// Request method.
    pub method: Method,
    /// Extra request headers (they replace ours of the same name: User-Agent, Accept, Host).
    pub headers: HeaderMap,
    /// Request body (empty for none).
    pub body: Bytes,
    /// HTTP version offered.
    pub protocol: Protocol,
    /// Concurrent streams per HTTP/2 connection in keep-alive mode (h2load's `-m`).
    pub streams: usize,
    /// Connection slots (each holds one connection at a time).
    pub connections: usize,
    /// Worker threads, each with its own event loop and statistics.
    pub threads: usize,
    /// When to stop.
    pub stop: Stop,
    /// Load before measuring, left out of every figure.
    pub warmup: Duration,
    /// Fixed arrival rate in requests per second (open model); None: each slot sends as fast as answered.
    pub rate: Option<f64>,
    /// How connections are used.
    pub mode: Mode,
    /// Time allowed for one request, its connection included when it needs a new one.
    pub timeout: Duration,
    /// curl's `--resolve`: connect to ADDR when a URL names HOST:PORT.
    pub resolve: Vec<ResolveOverride>,
}

impl Bench {
    /// wrk's defaults: 10 connections, 2 threads, 10 seconds, keep-alive; GET; a 10 s request timeout.
    pub fn new(context: Context, urls: Vec<String>) -> Self {
        Bench {
            context,
            urls,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            protocol: Protocol::Auto,
            streams: 1,
            connections: 10,
            threads: 2,
            stop: Stop::After(Duration::from_secs(10)),
            warmup: Duration::ZERO,
            rate: None,
            mode: Mode::KeepAlive,
            timeout: Duration::from_secs(10),
            resolve: Vec::new(),
        }
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A URL is not usable (or its host does not resolve).
    #[error(transparent)]
    Url(#[from] ClientError),
    /// The TLS policy could not become a client configuration.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The settings contradict each other or are out of range.
    #[error("{0}")]
    Settings(String),
    /// A worker thread or its runtime could not start.
    #[error("could not start a worker: {0}")]
    Runtime(std::io::Error),
}

/// One server (scheme, host, port) that URLs point to.
#[derive(Debug)]
pub(crate) struct Origin {
    pub name: PeerName,
    pub addrs: Vec<SocketAddr>,
}

/// One URL, ready to send: its origin and the request's URI and headers for each HTTP version.
#[derive(Debug)]
pub(crate) struct Template {
    pub origin: usize,
    pub h1_uri: Uri,
    pub h1_headers: HeaderMap,
    pub h2_uri: Uri,
    pub h2_headers: HeaderMap,
    /// The HTTP/1.1 request as sent on the wire by the keep-alive codec, built once.
    pub h1_request: Vec<u8>,
}

/// The run, prepared: everything a worker needs, shared read-only.
#[derive(Debug)]
pub(crate) struct Plan {
    pub setup: Bench,
    pub origins: Vec<Origin>,
    pub targets: Vec<Template>,
    /// For each origin, the targets on it.
    pub by_origin: Vec<Vec<usize>>,
    /// One connector per connection slot, so every slot has its own session store.
    pub connectors: Vec<Connector>,
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, BenchError> {
    HeaderValue::from_str(value).map_err(|_| BenchError::Settings(format!("bad {name} value {value:?}")))
}

impl Plan {
    pub(crate) fn new(bench: &Bench) -> Result<Self, BenchError> {
        let bad = |msg: &str| Err(BenchError::Settings(msg.to_string()));
        if bench.urls.is_empty() {
            return bad("no URL given");
        }
        if bench.connections == 0 || bench.threads == 0 || bench.streams == 0 {
            return bad("connections, threads and streams must be at least 1");
        }
        if bench.streams > 1 && bench.mode != Mode::KeepAlive {
            return bad("several streams per connection need keep-alive connections");
        }
        if bench.streams > 1 && bench.protocol == Protocol::Http1 {
            return bad("several streams per connection need HTTP/2");
        }
        if let Some(rate) = bench.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return bad("the rate must be a positive number of requests per second");
            }
        }
        if bench.stop == Stop::Requests(0) || bench.stop == Stop::After(Duration::ZERO) {
            return bad("the run must last at least one request or a moment");
        }
        let mut origins: Vec<(String, u16, Origin)> = Vec::new();
        let mut targets = Vec::new();
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(BenchError::Runtime)?;
        for url in &bench.urls {
            let t = Target::parse(url)?;
            let origin = match origins.iter().position(|(h, p, _)| h.eq_ignore_ascii_case(&t.host) && *p == t.port) {
                Some(i) => i,
                None => {
                    let addrs = runtime.block_on(connect::resolve(&t, &bench.resolve))?;
                    origins.push((t.host.clone(), t.port, Origin { name: PeerName::new(&t.host)?, addrs }));
                    origins.len() - 1
                }
            };
            targets.push(Self::target(bench, &t, origin)?);
        }
        let origins: Vec<Origin> = origins.into_iter().map(|(_, _, o)| o).collect();
        if bench.connections < origins.len() {
            return Err(BenchError::Settings(format!(
                "{} servers need at least as many connections (each connection stays with one server)",
                origins.len()
            )));
        }
        let mut by_origin = vec![Vec::new(); origins.len()];
        for (i, t) in targets.iter().enumerate() {
            by_origin[t.origin].push(i);
        }
        let context = bench.context.clone().alpn(bench.protocol.alpn());
        let sessions = match bench.mode {
            Mode::NewConnection => Sessions::Off,
            // Keep-alive resumes too when a server closes a connection, as a browser would.
            Mode::KeepAlive | Mode::Resume => Sessions::PerServer(1),
        };
        let connectors = (0..bench.connections).map(|_| context.connector(sessions)).collect::<Result<_, _>>()?;
        crate::context::prime_random();
        Ok(Plan { setup: bench.clone(), origins, targets, by_origin, connectors })
    }

    fn target(bench: &Bench, t: &Target, origin: usize) -> Result<Template, BenchError> {
        let mut common = HeaderMap::new();
        common.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        common.insert(ACCEPT, HeaderValue::from_static("*/*"));
        // An empty POST still says so: some servers answer 411 Length Required otherwise.
        let sends_body = matches!(bench.method, Method::POST | Method::PUT | Method::PATCH);
        if sends_body && bench.body.is_empty() {
            common.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        let mut h1 = common.clone();
        h1.insert(HOST, header_value("Host", &t.authority)?);
        if bench.mode != Mode::KeepAlive {
            h1.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        let mut h2 = common;
        for name in bench.headers.keys() {
            h1.remove(name);
            h2.remove(name);
        }
        for (name, value) in &bench.headers {
            h1.append(name.clone(), value.clone());
            // HTTP/2 carries the host in :authority and forbids connection-specific headers.
            if !is_connection_specific(name) {
                h2.append(name.clone(), value.clone());
            }
        }
        let h1_uri: Uri = t
            .path_and_query
            .parse()
            .map_err(|e| BenchError::Settings(format!("bad path {:?}: {e}", t.path_and_query)))?;
        let h1_request = super::h1::request_bytes(&bench.method, &t.path_and_query, &h1, &bench.body);
        Ok(Template { origin, h1_uri, h1_headers: h1, h2_uri: t.uri.clone(), h2_headers: h2, h1_request })
    }

    /// The origin a connection slot talks to: slots are spread over the servers in turn.
    pub(crate) fn slot_origin(&self, slot: usize) -> usize {
        slot % self.origins.len()
    }
}

fn is_connection_specific(name: &HeaderName) -> bool {
    [HOST, CONNECTION, http::header::TRANSFER_ENCODING, http::header::UPGRADE].contains(name)
        || name.as_str().eq_ignore_ascii_case("keep-alive")
        || name.as_str().eq_ignore_ascii_case("proxy-connection")
}
