//! A client connector with a session store of its own, and the facts of each handshake it makes.
//!
//! A load generator must know, for every connection, whether it offered a session and whether
//! the server took it. rustls keeps at most 8 TLS 1.3 tickets per server in a store and uses
//! each once, so many connections sharing one store run it dry and silently fall back to full
//! handshakes. A [`Connector`] therefore has its own store (one per connection slot of
//! `tlskit bench`), which notes when it hands a session to a handshake.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::client::{ClientSessionMemoryCache, ClientSessionStore, Resumption, Tls12Resumption};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, HandshakeKind, NamedGroup};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::{Context, ContextError, TlsVersion};

/// A client TLS stream as a [`Connector`] makes it.
pub(crate) type ClientTls<IO> = TlsStream<IO>;

/// Sessions a connector keeps for resumption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sessions {
    /// Never offer a session: every handshake is full.
    Off,
    /// Keep sessions for up to this many servers (8 TLS 1.3 tickets each, rustls's limit).
    PerServer(usize),
}

/// What kind of handshake a connection made (rustls's own account of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Handshake {
    /// A full handshake.
    Full,
    /// A full handshake after a HelloRetryRequest (the server wanted another key share).
    FullWithHelloRetry,
    /// A resumed session (TLS 1.3 PSK, or a TLS 1.2 ticket or session ID).
    Resumed,
}

/// The facts of one completed client handshake, as plain numbers (cheap to copy and count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeFacts {
    /// Full, full after HelloRetryRequest, or resumed.
    pub kind: Handshake,
    /// The negotiated protocol version.
    pub version: Option<TlsVersion>,
    /// The negotiated cipher suite's IANA number.
    pub suite: Option<u16>,
    /// The key exchange group's IANA number (none on a TLS 1.2 resumption).
    pub group: Option<u16>,
    /// The server chose `h2` by ALPN.
    pub h2: bool,
    /// The server chose `http/1.1` by ALPN.
    pub http11: bool,
}

impl HandshakeFacts {
    /// Read the facts of a client connection whose handshake is done.
    pub(crate) fn of<IO>(stream: &TlsStream<IO>) -> Self {
        let conn = stream.get_ref().1;
        let kind = match conn.handshake_kind() {
            Some(HandshakeKind::Resumed) => Handshake::Resumed,
            Some(HandshakeKind::FullWithHelloRetryRequest) => Handshake::FullWithHelloRetry,
            _ => Handshake::Full,
        };
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => Some(TlsVersion::Tls13),
            Some(rustls::ProtocolVersion::TLSv1_2) => Some(TlsVersion::Tls12),
            _ => None,
        };
        let alpn = conn.alpn_protocol();
        HandshakeFacts {
            kind,
            version,
            suite: conn.negotiated_cipher_suite().map(|s| u16::from(s.suite())),
            group: conn.negotiated_key_exchange_group().map(|g| u16::from(g.name())),
            h2: alpn == Some(b"h2"),
            http11: alpn == Some(b"http/1.1"),
        }
    }
}

/// A session store that remembers whether it handed out a session since it was last asked.
#[derive(Debug)]
struct WatchedStore {
    inner: ClientSessionMemoryCache,
    offered: AtomicBool,
}

impl ClientSessionStore for WatchedStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.inner.set_kx_hint(server_name, group)
    }
    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.inner.kx_hint(server_name)
    }
    fn set_tls12_session(&self, server_name: ServerName<'static>, value: rustls::client::Tls12ClientSessionValue) {
        self.inner.set_tls12_session(server_name, value)
    }
    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<rustls::client::Tls12ClientSessionValue> {
        let found = self.inner.tls12_session(server_name);
        if found.is_some() {
            self.offered.store(true, Ordering::Relaxed);
        }
        found
    }
    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.inner.remove_tls12_session(server_name)
    }
    fn insert_tls13_ticket(&self, server_name: ServerName<'static>, value: rustls::client::Tls13ClientSessionValue) {
        self.inner.insert_tls13_ticket(server_name, value)
    }
    fn take_tls13_ticket(&self, server_name: &ServerName<'static>) -> Option<rustls::client::Tls13ClientSessionValue> {
        let found = self.inner.take_tls13_ticket(server_name);
        if found.is_some() {
            self.offered.store(true, Ordering::Relaxed);
        }
        found
    }
}

/// The name a client connection sends (SNI) and verifies the certificate against.
#[derive(Clone, Debug)]
pub struct PeerName(ServerName<'static>);

impl PeerName {
    /// A DNS name or an IP address, as a URL writes the host (without IPv6 brackets).
    pub fn new(host: &str) -> Result<Self, ContextError> {
        ServerName::try_from(host.to_string())
            .map(PeerName)
            .map_err(|e| ContextError::Verifier(format!("bad server name {host:?}: {e}")))
    }
}

/// Opens client TLS connections under one [`Context`], with a session store of its own.
#[derive(Clone)]
pub struct Connector {
    config: Arc<ClientConfig>,
    store: Option<Arc<WatchedStore>>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("resumption", &self.store.is_some()).finish()
    }
}

impl Connector {
    /// The TLS handshake over `io` (a connected TCP stream).
    pub(crate) async fn connect<IO>(&self, name: &PeerName, io: IO) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        TlsConnector::from(self.config.clone()).connect(name.0.clone(), io).await
    }

    /// Whether a handshake since the last call offered a stored session (a ticket or a
    /// session ID); resets the answer. A connector used by one connection at a time thus
    /// tells, per connection, whether resumption was attempted.
    pub fn take_offered(&self) -> bool {
        self.store.as_ref().is_some_and(|s| s.offered.swap(false, Ordering::Relaxed))
    }

    /// Whether this connector sends a client certificate when asked.
    pub fn has_identity(&self) -> bool {
        self.config.client_auth_cert_resolver.has_certs()
    }
}

/// Seed the crypto provider's random generator now. aws-lc gathers CPU-jitter entropy the
/// first time it is asked for randomness (tens of milliseconds of CPU): a load generator
/// does that before it starts measuring.
pub fn prime_random() {
    let _ = super::provider().secure_random.fill(&mut [0u8; 32]);
}

impl Context {
    /// A client [`Connector`] with its own session store (or none, with [`Sessions::Off`]).
    pub fn connector(&self, sessions: Sessions) -> Result<Connector, ContextError> {
        let mut config = (*self.client_config()?).clone();
        let store = match sessions {
            Sessions::PerServer(servers) if servers > 0 && self.session_cache > 0 => {
                // rustls's cache holds `size / 8` servers (8 tickets each).
                let store = Arc::new(WatchedStore {
                    inner: ClientSessionMemoryCache::new(servers.saturating_mul(8)),
                    offered: AtomicBool::new(false),
                });
                let tls12 =
                    if self.tickets { Tls12Resumption::SessionIdOrTickets } else { Tls12Resumption::SessionIdOnly };
                config.resumption = Resumption::store(store.clone()).tls12_resumption(tls12);
                Some(store)
            }
            _ => {
                config.resumption = Resumption::disabled();
                None
            }
        };
        Ok(Connector { config: Arc::new(config), store })
    }
}
