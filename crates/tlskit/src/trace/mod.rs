//! Live trace, for `serve --trace` and `get -v`: a connection's bytes and its secrets, decoded as they
//! pass by the wire crate's dissector (the decoder `tlskit dump` uses), delivered as owned events.
//!
//! - [`Tap`] wraps a socket and copies every byte read and written, with its [`Direction`], to a
//!   [`TapSink`]; with no sink it is a plain pass-through.
//! - [`SecretLog`] is a rustls `KeyLog` that keeps each connection's secrets by client random, so the
//!   decoder can decrypt the TLS 1.3 handshake live, and forwards every line to another key log;
//!   [`KeyLogWriter`] is the NSS key log file (`--keylog`, `SSLKEYLOGFILE`).
//! - The tracer behind [`ServerOptions::trace`](crate::server::ServerOptions::trace) and
//!   [`ClientBuilder::trace`](crate::client::ClientBuilder::trace) hands each connection's
//!   [`TraceEvent`]s (start, the decoder's events, end with its summary) to a [`TraceSink`]. The
//!   library renders nothing: wire's renderers print them as `tlskit dump` prints a capture, in text or
//!   JSON.
//!
//! [`Direction`]: tlskit_wire::dissect::Direction

mod keylog;
mod tap;
pub(crate) mod tracer;

pub use keylog::{nss_line, KeyLogWriter, SecretLog, SharedKeyLog};
pub use tap::{Tap, TapSink};
pub use tracer::{TraceEvent, TraceSink, TraceStep};
