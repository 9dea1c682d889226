//! tlskit: program, serve, test and watch HTTPS.
//!
//! The modern form of the programs behind "HOWTO: Programming HTTPS in Python
//! with M2Crypto": a TLS [`context::Context`] that describes the whole policy of
//! a handshake, HTTPS [`client`]s and [`server`]s built on it, the
//! [`session::SessionInfo`] of what each handshake negotiated, and a live
//! [`trace`] that feeds a connection's bytes to the `tlskit-wire` decoder.
//!
//! The library never prints: it returns values, and the `tlskit` binary
//! decides how they look.

pub mod bench;
pub mod client;
pub mod context;
pub mod files;
pub mod pki;
pub mod server;
pub mod session;
pub mod trace;
