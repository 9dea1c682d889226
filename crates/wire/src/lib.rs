//! tlskit-wire: TLS on the wire, with no sockets and no async.
//!
//! It takes bytes and secrets and yields events. `tlskit dump` feeds it bytes
//! from a capture file; the live trace of `tlskit serve --trace` and
//! `tlskit get -v` feeds it bytes from a socket tap. One decoder, two sources.
