//! tlskit: program, serve, test and watch HTTPS.
//!
//! tlskit is an HTTPS toolkit on rustls, hyper and tokio: the modern form of the programs behind
//! "HOWTO: Programming HTTPS in Python with M2Crypto". What M2Crypto's `SSL.Context`, `httpslib` and
//! `SSL.ThreadingSSLServer` did, its types do as values: a policy you build, clients and servers built
//! from it, and what each handshake negotiated, returned rather than printed. The library never prints;
//! the `tlskit` binary (`crates/cli`) is a thin program over it that decides how things look.
//!
//! # The five things you do with it
//!
//! 1. **Describe a TLS policy** with a [`context::Context`]: versions, suites, groups, ALPN, whom to
//!    trust, your certificate, client authentication, session reuse, key logging. It is the one place
//!    where rustls configurations are made ([`context::raw`] hands them out for use with rustls
//!    directly; no other public item names a rustls type).
//! 2. **Make HTTPS requests** with a [`client::Client`] (async) or a [`client::blocking::Client`]:
//!    HTTP/1.1 or HTTP/2, verified by default, sessions resumed across connections, and refusals as
//!    [`client::ClientError`] values that name the cause.
//! 3. **Serve HTTPS** with a [`server::Server`] over a [`files::FileService`] (listings, ranges,
//!    conditional requests), in one of two execution models, with limits and timeouts; its access
//!    records and failures come to you as [`server::ServerEvent`]s. Fleets of servers share sessions
//!    through [`store`].
//! 4. **See what a handshake did**: every response and access record carries a
//!    [`session::SessionInfo`] (version, suite, group, SNI, ALPN, resumed or not, peer chain), and the
//!    live [`trace`] hands on each connection's handshake as the wire decoder sees it.
//! 5. **Make and read certificates** with [`pki`]: a test PKI in one call, PEM and DER loading,
//!    certificate and CRL summaries, chain verification.
//!
//! [`names`] spells versions, suites, groups and alerts as the `tlskit-wire` decoder's tables do, so a
//! session, a trace and a decoded capture agree; [`bench`](mod@bench) is the load generator of `tlskit bench`.
//!
//! # Where to start
//!
//! The HOWTO (`docs/howto.md` in the repository) walks through every part with a program for each
//! section (`crates/tlskit/examples/`). The shortest complete program: a server on a throwaway
//! certificate, and a client that trusts its CA and fetches a page from it:
//!
//! ```rust
//! use std::sync::Arc;
//!
//! use tlskit::client::Client;
//! use tlskit::context::Context;
//! use tlskit::files::{FileOptions, FileService};
//! use tlskit::server::{Server, ServerOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("tlskit-front-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # std::fs::write(dir.join("hello.txt"), "hello\n")?;
//! let pki = tlskit::pki::ephemeral_server(&[])?; // a CA and a certificate for localhost
//! let files = FileService::new(&dir, FileOptions::default())?;
//! let context = Context::new().identity(pki.identity.clone());
//! let server = Server::bind(ServerOptions::new("127.0.0.1:0".parse()?, context, files, Arc::new(|_| {})))?;
//! let url = format!("https://localhost:{}/hello.txt", server.local_addr().port());
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(server.run(async { stopped.await.ok(); }));
//!
//! # let ca_file = dir.join("ca.pem");
//! # std::fs::write(&ca_file, &pki.ca_pem)?;
//! let ca = tlskit::pki::load_certs(&ca_file)?; // what `tlskit cert init` or your CA wrote
//! let client = Client::new(&Context::new().trust(ca))?;
//! let response = client.get(&url).await?;
//! assert_eq!(response.text(), "hello\n");
//! assert_eq!(response.session.version, "TLSv1.3");
//! assert!(!response.session.resumed);
//! assert!(client.get(&url).await?.session.resumed); // the second connection resumes the first
//!
//! stop.send(()).ok();
//! running.await??;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! A client policy from a CA file made by `tlskit cert init pki` (the README's
//! example; `tests/readme.rs` keeps the two identical):
//!
//! ```rust
//! # let scratch = std::env::temp_dir().join(format!("tlskit-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(scratch.join("pki"))?;
//! # tlskit::pki::init(&scratch.join("pki"), &Default::default())?;
//! # std::env::set_current_dir(&scratch)?;
//! use tlskit::context::{raw, Context, TlsVersion};
//! use tlskit::pki;
//!
//! let ca = pki::load_certs(std::path::Path::new("pki/ca.pem"))?;
//! let ctx = Context::new().versions(&[TlsVersion::Tls13]).trust(ca);
//! let client_config = raw::client_config(&ctx)?; // a rustls ClientConfig, ready for tokio-rustls
//! # assert_eq!(client_config.alpn_protocols.len(), 0);
//! # std::fs::remove_dir_all(&scratch)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod bench;
pub mod client;
pub mod context;
pub mod files;
pub mod names;
pub mod pki;
pub mod server;
pub mod session;
pub mod store;
pub mod trace;
