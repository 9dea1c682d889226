//! Live trace, for `serve --trace` and `get -v`: a connection's bytes and its secrets, decoded as they
//! pass by the wire crate's dissector (the decoder `tlskit dump` uses), delivered as owned events.
//!
//! - [`Tap`] wraps a socket and copies every byte read and written, with its [`Direction`], to a
//!   [`TapSink`]; with no sink it is a plain pass-through.
//! - [`SecretLog`] is a [`KeyLog`] that keeps each connection's secrets by client random, so the
//!   decoder can decrypt the TLS 1.3 handshake live, and forwards every line to another key log;
//!   [`KeyLogWriter`] is the NSS key log file (`--keylog`, `SSLKEYLOGFILE`).
//! - The tracer behind [`ServerOptions::trace`](crate::server::ServerOptions::trace) and
//!   [`ClientBuilder::trace`](crate::client::ClientBuilder::trace) hands each connection's
//!   [`TraceEvent`]s (start, the decoder's events, end with its summary) to a [`TraceSink`]. The
//!   library renders nothing: wire's renderers print them as `tlskit dump` prints a capture, in text or
//!   JSON.
//!
//! A client whose handshakes are traced (the server's are, with `ServerOptions::trace`):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let pki = tlskit::pki::ephemeral_server(&[])?;
//! # let dir = std::env::temp_dir().join(format!("tlskit-doc-{}-{}", line!(), std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # std::fs::write(dir.join("ca.pem"), &pki.ca_pem)?;
//! # let files = tlskit::files::FileService::new(&dir, Default::default())?;
//! # let context = tlskit::context::Context::new().identity(pki.identity.clone());
//! # let options = tlskit::server::ServerOptions::new("127.0.0.1:0".parse()?, context, files, std::sync::Arc::new(|_| {}));
//! # let server = tlskit::server::Server::bind(options)?;
//! # let url = format!("https://localhost:{}/ca.pem", server.local_addr().port());
//! # tokio::spawn(server.run(std::future::pending()));
//! # let ca_file = dir.join("ca.pem");
//! use std::sync::{Arc, Mutex};
//!
//! use tlskit::client::Client;
//! use tlskit::context::Context;
//! use tlskit::trace::TraceStep;
//! use tlskit_wire::dissect::Event;
//! use tlskit_wire::handshake::HandshakeType;
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let keep = seen.clone();
//! let ctx = Context::new().trust(tlskit::pki::load_certs(&ca_file)?);
//! let client = Client::builder(&ctx).trace(Arc::new(move |event| keep.lock().unwrap().push(event))).build()?;
//! client.get(&url).await?;
//! drop(client);
//! let messages: Vec<HandshakeType> = seen
//!     .lock()
//!     .unwrap()
//!     .iter()
//!     .filter_map(|event| match &event.step {
//!         TraceStep::Event(Event::Handshake { msg_type, .. }) => Some(*msg_type),
//!         _ => None,
//!     })
//!     .collect();
//! // The client's own secrets let the decoder read the encrypted part of the TLS 1.3 handshake.
//! assert_eq!(&messages[..3], [HandshakeType::ClientHello, HandshakeType::ServerHello, HandshakeType::EncryptedExtensions]);
//! assert!(messages.contains(&HandshakeType::Certificate));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! [`Direction`]: tlskit_wire::dissect::Direction

mod keylog;
mod tap;
pub(crate) mod tracer;

pub(crate) use keylog::ToRustls;
pub use keylog::{nss_line, KeyLog, KeyLogWriter, SecretLog, SharedKeyLog};
pub use tap::{Tap, TapSink};
pub use tracer::{TraceEvent, TraceSink, TraceStep};
