//! The client for programs without async: each [`Client`] drives its own
//! current-thread runtime. Clones share the TLS session cache, so threads that
//! each hold a clone resume each other's sessions.
//!
//! Call it from plain threads, not from inside an async runtime (tokio refuses to
//! block a runtime thread on another runtime); there, use [`super::Client`].

use bytes::Bytes;

use super::{ClientBuilder, ClientError, Request, Response, ResponseStream};
use crate::context::Context;

/// A blocking HTTPS client: the shape of M2Crypto's `httpslib`, each call returns with the response.
///
/// It runs a small runtime of its own, so it is for programs (and threads) without one; [`Client::try_clone`]
/// gives another thread a client that shares the session cache.
///
/// ```
/// # let pki = tlskit::pki::ephemeral_server(&[])?;
/// # let dir = std::env::temp_dir().join(format!("tlskit-doc-blocking-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # std::fs::write(dir.join("ca.pem"), &pki.ca_pem)?;
/// # let ca_file = dir.join("ca.pem");
/// # let runtime = tokio::runtime::Runtime::new()?;
/// # let server = runtime.block_on(async {
/// #     let files = tlskit::files::FileService::new(&dir, Default::default())?;
/// #     let context = tlskit::context::Context::new().identity(pki.identity.clone());
/// #     let options = tlskit::server::ServerOptions::new("127.0.0.1:0".parse()?, context, files, std::sync::Arc::new(|_| {}));
/// #     let server = tlskit::server::Server::bind(options)?;
/// #     Ok::<_, Box<dyn std::error::Error>>(server)
/// # })?;
/// # let url = format!("https://localhost:{}/ca.pem", server.local_addr().port());
/// # runtime.spawn(server.run(std::future::pending()));
/// use tlskit::client::blocking::Client;
/// use tlskit::context::Context;
///
/// let client = Client::new(&Context::new().trust(tlskit::pki::load_certs(&ca_file)?))?;
/// let response = client.get(&url)?;
/// assert_eq!(response.status.as_u16(), 200);
/// assert!(response.text().starts_with("-----BEGIN CERTIFICATE-----"));
/// // A clone for another thread shares the session cache: its first connection resumes.
/// let other = client.try_clone()?;
/// let resumed = std::thread::spawn(move || other.get(&url).map(|r| r.session.resumed)).join().unwrap()?;
/// assert!(resumed);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Client {
    inner: super::Client,
    runtime: tokio::runtime::Runtime,
}

fn runtime() -> Result<tokio::runtime::Runtime, ClientError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ClientError::Runtime)
}

impl Client {
    /// A client with default connection settings.
    pub fn new(ctx: &Context) -> Result<Self, ClientError> {
        Self::from_async(super::Client::new(ctx)?)
    }

    /// A client with the settings of an async [`ClientBuilder`].
    pub fn from_builder(builder: ClientBuilder) -> Result<Self, ClientError> {
        Self::from_async(builder.build()?)
    }

    /// Wrap an async client; the two share the session cache.
    pub fn from_async(inner: super::Client) -> Result<Self, ClientError> {
        Ok(Client { inner, runtime: runtime()? })
    }

    /// Another handle on the same session cache, with its own runtime (for another thread).
    pub fn try_clone(&self) -> Result<Self, ClientError> {
        Self::from_async(self.inner.clone())
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<Response, ClientError> {
        self.send(Request::get(url))
    }

    /// `POST url` with a body of the given content type.
    pub fn post(&self, url: &str, content_type: &str, body: impl Into<Bytes>) -> Result<Response, ClientError> {
        self.send(Request::post(url, content_type, body))
    }

    /// The TLS handshake alone with `url`'s server: see [`super::Client::handshake`].
    pub fn handshake(&self, url: &str) -> Result<super::TlsHandshake, ClientError> {
        self.runtime.block_on(self.inner.handshake(url))
    }

    /// Send a request and wait for the whole response.
    pub fn send(&self, req: Request) -> Result<Response, ClientError> {
        self.runtime.block_on(self.inner.send(req))
    }

    /// Send a request and return once the response headers are in; read the body with
    /// [`BodyReader::chunk`] (for large downloads).
    pub fn send_streaming(&self, req: Request) -> Result<BodyReader<'_>, ClientError> {
        let stream = self.runtime.block_on(self.inner.send_streaming(req))?;
        Ok(BodyReader { stream, runtime: &self.runtime })
    }
}

/// The body of a response, read piece by piece on the client's runtime.
#[derive(Debug)]
pub struct BodyReader<'a> {
    stream: ResponseStream,
    runtime: &'a tokio::runtime::Runtime,
}

impl BodyReader<'_> {
    /// Status, headers, session and timings so far; `body` is empty.
    pub fn head(&self) -> &Response {
        self.stream.head()
    }

    /// The next piece of the body, or None at its end.
    pub fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        self.runtime.block_on(self.stream.chunk())
    }

    /// The response without its body (`timings.total_ms` is final once the body was read).
    pub fn into_head(self) -> Response {
        self.stream.into_head()
    }
}
