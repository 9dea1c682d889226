//! tlskit: program, serve, test and watch HTTPS.
//!
//! The modern form of the programs behind "HOWTO: Programming HTTPS in Python
//! with M2Crypto": a TLS [`context::Context`] that describes the whole policy of
//! a handshake, HTTPS [`client`]s and [`server`]s built on it, the
//! [`session::SessionInfo`] of what each handshake negotiated, and a live
//! [`trace`] that feeds a connection's bytes to the `tlskit-wire` decoder and hands
//! on its events. [`names`] spells versions, suites, groups and alerts as the
//! wire crate's tables do, so a session, a trace and a decoded capture agree.
//!
//! The library never prints: it returns values, and the `tlskit` binary
//! decides how they look.
//!
//! A client policy from a CA file made by `tlskit cert init pki` (the README's
//! example; `tests/readme.rs` keeps the two identical):
//!
//! ```rust
//! # let scratch = std::env::temp_dir().join(format!("tlskit-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(scratch.join("pki"))?;
//! # tlskit::pki::init(&scratch.join("pki"), &Default::default())?;
//! # std::env::set_current_dir(&scratch)?;
//! use tlskit::context::{Context, TlsVersion};
//! use tlskit::pki;
//!
//! let ca = pki::load_certs(std::path::Path::new("pki/ca.pem"))?;
//! let ctx = Context::new().versions(&[TlsVersion::Tls13]).trust(ca);
//! let client_config = ctx.client_config()?; // a rustls ClientConfig, ready for tokio-rustls
//! # assert_eq!(client_config.alpn_protocols.len(), 0);
//! # std::fs::remove_dir_all(&scratch)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
