//! The one deliberate escape hatch: the rustls configurations a [`Context`] makes, for a program
//! that drives rustls or tokio-rustls itself.
//!
//! Nothing else in tlskit's public API names a rustls type, so what is here is all that changes for
//! such a program when tlskit moves to a new rustls. The `rustls` crate is re-exported, so the
//! version these configurations are of is the one you name.
//!
//! ```
//! use tlskit::context::{raw, Context, TlsVersion};
//!
//! let ctx = Context::new().versions(&[TlsVersion::Tls13]).alpn(&["h2"]).dangerous_disable_verification();
//! let config: std::sync::Arc<raw::rustls::ClientConfig> = raw::client_config(&ctx)?;
//! assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
//! # Ok::<(), tlskit::context::ContextError>(())
//! ```

use std::sync::Arc;

/// The rustls crate these configurations belong to.
pub use rustls;

use super::{Context, ContextError};

/// The rustls client configuration of `ctx`: its versions, suites, groups, ALPN, verifier (with pins
/// and the verify hook), client certificate, resumption and key log.
pub fn client_config(ctx: &Context) -> Result<Arc<rustls::ClientConfig>, ContextError> {
    ctx.client_config()
}

/// The rustls server configuration of `ctx`: its identity, client authentication, session cache,
/// ticketer (or the fleet's [`Stores`](crate::store::Stores)), ALPN and key log.
pub fn server_config(ctx: &Context) -> Result<Arc<rustls::ServerConfig>, ContextError> {
    ctx.server_config()
}
