//! The HTTPS server of `tlskit serve`: listener, two execution models, limits,
//! graceful shutdown, access records, `/_tls` and the `/_reneg_` magic URL.
//!
//! One HTTP engine (hyper 1) and one service function serve both models, so
//! they answer byte for byte alike:
//! - [`Model::Async`]: connections are tasks on the caller's tokio runtime
//!   (the CLI gives it a multi-thread one);
//! - [`Model::Threads`]: one OS thread per accepted connection, as the HOWTO's
//!   server did. The thread polls its connection itself (with the runtime's
//!   handle, inside a `LocalSet` for its HTTP/2 streams) while the one shared
//!   reactor does the waiting, so a connection costs its socket and nothing
//!   else: no epoll, eventfd or timer descriptor per thread.
//!
//! Connections are counted by state against the caps of [`Limits`]
//! (handshaking, idle, active: see there), and every response is bounded by
//! the send timeout, so clients that stall, dawdle or idle cannot take the
//! places of others.
//!
//! The library never prints: every access record, trace event and refused
//! connection is handed to the [`EventSink`] given in [`ServerOptions`].
//!
//! ```no_run
//! # async fn demo(files: tlskit::files::FileService, identity: tlskit::context::Identity) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tlskit::context::Context;
//! use tlskit::server::{Server, ServerEvent, ServerOptions};
//!
//! let context = Context::new().identity(identity).alpn(&["h2", "http/1.1"]);
//! let events = Arc::new(|event: ServerEvent| {
//!     if let ServerEvent::Access(record) = event {
//!         println!("{} {} {}", record.peer, record.target, record.status);
//!     }
//! });
//! let server = Server::bind(ServerOptions::new("127.0.0.1:0".parse()?, context, files, events))?;
//! println!("https://{}/", server.local_addr());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

mod body;
mod conn;
mod hello;
mod io;
mod key_update;
mod limits;
mod pages;
mod service;
mod stall;
mod states;
mod timers;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderValue;
use rustls::ServerConfig;
use tokio::sync::watch;

use crate::context::{ClientAuth, Context, ContextError};
use crate::files::FileService;
use crate::session::SessionInfo;
use crate::store::{StoreEvent, Stores};
use crate::trace::{SecretLog, SharedKeyLog, TraceEvent};

pub use body::LoggedBody;
pub use key_update::KeyUpdateReport;
pub use limits::{raise_fd_limit, FdLimit, Limits, FDS_PER_CONNECTION, RESERVED_FDS};
pub use service::{TLSKIT_SERVER, TLSKIT_SESSION_ISSUER};

/// The server's cipher-suite preference when none is configured: AES-128-GCM
/// with SHA-256 first. Its handshake hashing runs on SHA-NI/ARMv8 SHA-256
/// instructions (aws-lc's SHA-384 has no such path here and showed as 16 % of a
/// resumed handshake in a profile), and it is the bulk cipher nginx and
/// Mozilla's "intermediate" profile prefer. All are AEAD suites with forward secrecy.
pub const DEFAULT_CIPHER_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// How connections are executed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Model {
    /// Tasks on the caller's tokio runtime (multi-thread in the CLI).
    #[default]
    Async,
    /// One OS thread per connection, polling it on that thread; one shared reactor.
    Threads,
}

impl FromStr for Model {
    type Err = ServerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "async" => Ok(Model::Async),
            "threads" | "thread" => Ok(Model::Threads),
            _ => Err(ServerError::UnknownModel(s.to_string())),
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Model::Async => "async",
            Model::Threads => "threads",
        })
    }
}

/// Everything a [`Server`] needs.
pub struct ServerOptions {
    /// Address to listen on; port 0 picks a free port (see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// TLS policy: identity, versions, suites, client auth, session reuse. ALPN
    /// defaults to `h2, http/1.1` when the context sets none.
    pub context: Context,
    /// The static-file service answering every ordinary request.
    pub files: FileService,
    /// Execution model.
    pub model: Model,
    /// Limits and timeouts.
    pub limits: Limits,
    /// Path prefixes that need a verified client certificate (403 otherwise).
    pub require_client_cert: Vec<String>,
    /// `Strict-Transport-Security: max-age=N` on every response when set.
    pub hsts: Option<u64>,
    /// Decode each handshake live and send it as [`ServerEvent::Trace`] events.
    pub trace: bool,
    /// Where session secrets go (NSS format), besides the live trace.
    pub key_log: Option<SharedKeyLog>,
    /// Session cache and ticket keys (a fleet's shared ones, see [`crate::store`]);
    /// `None`: rustls's own, in this process.
    pub stores: Option<Arc<Stores>>,
    /// Receives access records, trace events and connection errors.
    pub events: EventSink,
}

impl ServerOptions {
    /// Options with the default model, limits and no extras.
    pub fn new(listen: SocketAddr, context: Context, files: FileService, events: EventSink) -> Self {
        ServerOptions {
            listen,
            context,
            files,
            model: Model::Async,
            limits: Limits::default(),
            require_client_cert: Vec::new(),
            hsts: None,
            trace: false,
            key_log: None,
            stores: None,
            events,
        }
    }
}

/// The callback the server reports through, called from connection threads and
/// tasks: it must not block (the `tlskit` CLI queues each event without waiting and
/// drops and counts what its printer cannot take).
pub type EventSink = Arc<dyn Fn(ServerEvent) + Send + Sync>;

/// Something the server has to say.
#[derive(Debug)]
pub enum ServerEvent {
    /// A request was answered (emitted when its response body is done or dropped).
    Access(AccessRecord),
    /// One step of a connection's live handshake trace (with [`ServerOptions::trace`]): owned
    /// values for the caller to render, e.g. with `tlskit_wire::render` as `tlskit dump` does
    /// (boxed: a decoded message is large beside the other events).
    Trace {
        /// The client.
        peer: SocketAddr,
        /// The step.
        event: Box<TraceEvent>,
    },
    /// A connection was refused or failed before or while it was served.
    Connection {
        /// The client.
        peer: SocketAddr,
        /// How far the connection got.
        stage: Stage,
        /// What went wrong.
        error: String,
    },
    /// The session store or the ticket keys changed state (never one per connection).
    Store(StoreEvent),
}

/// Where a connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Accepting the TCP connection.
    Accept,
    /// Before or during the TLS handshake.
    Handshake,
    /// While serving HTTP.
    Http,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Accept => "accept",
            Stage::Handshake => "handshake",
            Stage::Http => "http",
        })
    }
}

/// One answered request and the TLS facts of its connection.
#[derive(Clone, Debug)]
pub struct AccessRecord {
    /// When the request arrived.
    pub time: SystemTime,
    /// The client's address.
    pub peer: SocketAddr,
    /// `GET`, `HEAD`, …
    pub method: String,
    /// Path and query as requested.
    pub target: String,
    /// `HTTP/1.1`, `HTTP/2`, … ([`crate::names::http_version`]).
    pub http_version: &'static str,
    /// Response status code.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// From the request's arrival to the end of its response body.
    pub duration: Duration,
    /// The connection's TLS session; the client certificate chain is in `peer_certificates`.
    pub session: Arc<SessionInfo>,
    /// For the `/_reneg_` magic URL: the KeyUpdate it asked for, with the session before and after.
    pub key_update: Option<KeyUpdateReport>,
}

impl AccessRecord {
    /// The client certificate's subject, if the client sent one.
    pub fn client_subject(&self) -> Option<&str> {
        self.session.peer_leaf().map(|c| c.subject.as_str())
    }

    /// The client certificate's issuer, if the client sent one.
    pub fn client_issuer(&self) -> Option<&str> {
        self.session.peer_leaf().map(|c| c.issuer.as_str())
    }
}

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// An execution model that is neither async nor threads.
    #[error("unknown execution model {0:?} (known: async, threads)")]
    UnknownModel(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The context could not become a server configuration.
    #[error(transparent)]
    Tls(#[from] ContextError),
    #[error(
        "ServerOptions::require_client_cert needs client authentication (Context::trust with Context::client_auth optional)"
    )]
    /// Paths that need a client certificate, on a server that asks for none.
    RequireWithoutClientAuth,
    /// A client-certificate path prefix that no request can reach.
    #[error("ServerOptions::require_client_cert: {prefix:?} is a path no request reaches ({reason})")]
    BadPrefix {
        /// The prefix as given.
        prefix: String,
        /// Why no request reaches it.
        reason: &'static str,
    },
    /// An HSTS max-age out of range.
    #[error("bad ServerOptions::hsts value: {0}")]
    Hsts(u64),
    /// Accepting or serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// What every connection shares.
pub(crate) struct Shared {
    pub(crate) tls: tokio_rustls::TlsAcceptor,
    pub(crate) files: FileService,
    pub(crate) limits: Limits,
    pub(crate) require_client_cert: Vec<String>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) hsts: Option<HeaderValue>,
    pub(crate) secrets: Option<Arc<SecretLog>>,
    pub(crate) events: EventSink,
    /// The HTTP/1.1-only and HTTP/2-only engines (ALPN chooses).
    pub(crate) http1: conn::Engine,
    pub(crate) http2: conn::Engine,
    /// Every open connection, by state.
    pub(crate) table: Arc<states::ConnTable>,
    /// Files open for responses: at most one per connection of the cap, so descriptors stay within the
    /// budget however many HTTP/2 streams a connection opens.
    pub(crate) open_files: states::OpenFiles,
    pub(crate) stores: Option<Arc<Stores>>,
    /// `Tlskit-Server: ID` on every response, when sessions are shared with other servers.
    pub(crate) server_id_header: Option<HeaderValue>,
}

impl Shared {
    pub(crate) fn emit(&self, event: ServerEvent) {
        (self.events)(event);
    }
}

/// A bound server, ready to [`run`](Server::run) until its shutdown future completes (then it drains).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("tlskit-doc-server-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// use std::sync::Arc;
///
/// use tlskit::context::Context;
/// use tlskit::files::{FileOptions, FileService};
/// use tlskit::server::{Model, Server, ServerEvent, ServerOptions};
///
/// let pki = tlskit::pki::ephemeral_server(&[])?;
/// let context = Context::new().identity(pki.identity).session_cache(1024).tickets(true);
/// let files = FileService::new(&dir, FileOptions::default())?;
/// // The library never prints: access records and failures come here.
/// let events = Arc::new(|event: ServerEvent| {
///     if let ServerEvent::Access(record) = event {
///         eprintln!("{} {} {}", record.method, record.target, record.status);
///     }
/// });
/// let mut options = ServerOptions::new("127.0.0.1:0".parse()?, context, files, events);
/// options.model = Model::Async;
/// let server = Server::bind(options)?;
/// assert_ne!(server.local_addr().port(), 0);
/// server.run(async {}).await?; // a shutdown that is already due: it stops at once
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub struct Server {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    model: Model,
    shared: Arc<Shared>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("local_addr", &self.local_addr).field("model", &self.model).finish()
    }
}

impl Server {
    /// Build the TLS configuration and bind the listening socket.
    pub fn bind(options: ServerOptions) -> Result<Server, ServerError> {
        let mut context = options.context;
        if context.alpn_protocols().is_empty() {
            context = context.alpn(&["h2", "http/1.1"]);
        }
        let secrets = options.trace.then(|| Arc::new(SecretLog::new(options.key_log.clone())));
        if let Some(secrets) = &secrets {
            context = context.key_log(secrets.clone());
        } else if let Some(log) = options.key_log {
            context = context.key_log(log);
        }
        if let Some(stores) = &options.stores {
            context = context.stores(stores.clone());
        }
        if !options.require_client_cert.is_empty() && context.client_auth_mode() == ClientAuth::Off {
            return Err(ServerError::RequireWithoutClientAuth);
        }
        let require_client_cert = options
            .require_client_cert
            .iter()
            .map(|prefix| {
                crate::files::normal_prefix(prefix)
                    .map_err(|reason| ServerError::BadPrefix { prefix: prefix.clone(), reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let config: Arc<ServerConfig> = context.server_config()?;
        let hsts = match options.hsts {
            Some(secs) => Some(
                HeaderValue::from_str(&format!("max-age={secs}; includeSubDomains"))
                    .map_err(|_| ServerError::Hsts(secs))?,
            ),
            None => None,
        };
        let listener = listen(options.listen).map_err(|source| ServerError::Bind { addr: options.listen, source })?;
        let local_addr = listener.local_addr()?;
        let (http1, http2) = conn::engines(&options.limits, options.model);
        let shared = Shared {
            tls: tokio_rustls::TlsAcceptor::from(config),
            files: options.files,
            http1,
            http2,
            table: states::ConnTable::new(&options.limits),
            open_files: states::OpenFiles::new(options.limits.max_connections),
            limits: options.limits,
            require_client_cert,
            client_auth: context.client_auth_mode(),
            hsts,
            secrets,
            events: options.events,
            server_id_header: options
                .stores
                .as_ref()
                .filter(|s| s.is_shared())
                .and_then(|s| HeaderValue::from_str(s.server_id()).ok()),
            stores: options.stores,
        };
        Ok(Server { listener, local_addr, model: options.model, shared: Arc::new(shared) })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The execution model.
    pub fn model(&self) -> Model {
        self.model
    }

    /// Serve until `shutdown` completes, then stop accepting, close idle
    /// connections at once, let in-flight responses finish (up to the shutdown
    /// grace) and return.
    ///
    /// Must be called within a tokio runtime; [`Model::Async`] runs its
    /// connections on that runtime, [`Model::Threads`] uses its reactor.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let shared = self.shared;
        let table = shared.table.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                biased;
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        shared.emit(ServerEvent::Connection {
                            peer: self.local_addr,
                            stage: Stage::Accept,
                            error: err.to_string(),
                        });
                        // Out of descriptors or similar: give closing connections a moment.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // Room by state: below the caps, or made by closing the oldest idle connection. Until
            // then this one connection waits here, the others in the listen backlog.
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = table.room() => {}
            }
            let slot = table.open();
            let shared = shared.clone();
            let stop = stop_rx.clone();
            match self.model {
                Model::Async => {
                    tokio::spawn(async move { conn::serve(&shared, tcp, peer, stop, slot).await });
                }
                Model::Threads => spawn_thread(shared, tcp, peer, stop, slot),
            }
        }
        drop(listener);
        let _ = stop_tx.send(true);
        let grace = shared.limits.shutdown_grace;
        let _ = tokio::time::timeout(grace, table.all_closed()).await;
        Ok(())
    }
}

/// A listening socket with SO_REUSEADDR and a deep backlog (for connection bursts).
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The thread model: a named OS thread that polls its connection itself.
///
/// `Handle::block_on` from a thread outside the runtime polls the future on
/// that thread while the runtime's reactor (driven by the acceptor's thread)
/// waits for its socket, so the thread needs no runtime, epoll or eventfd of
/// its own; its HTTP/2 streams run beside it in a `LocalSet`.
fn spawn_thread(
    shared: Arc<Shared>,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
    slot: states::Slot,
) {
    let handle = tokio::runtime::Handle::current();
    let events = shared.clone();
    let spawned = std::thread::Builder::new().name(format!("tlskit {peer}")).stack_size(1024 * 1024).spawn(move || {
        let streams = tokio::task::LocalSet::new();
        handle.block_on(streams.run_until(conn::serve(&shared, tcp, peer, stop, slot)));
    });
    if let Err(err) = spawned {
        events.emit(ServerEvent::Connection { peer, stage: Stage::Accept, error: format!("no thread: {err}") });
    }
}
