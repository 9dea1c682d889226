//! Renderings of dissector events, one module per output form: ssldump-style text lines ([`text`]), the JSON
//! lines of docs/dump-json.md ([`json`]), the self-contained HTML report of `dump --html` ([`html`]), the hex
//! and data dumps of `-x`/`-d` (`dump`), and the one-line text of a handshake message that the text and the
//! JSON both show (`handshake`). Every form writes into a
//! caller-supplied writer or returns a value: the caller decides where output goes.
//!
//! What a renderer needs to know about a connection is a [`Connection`], built by whoever feeds the
//! dissector: the capture analyzer for `tlskit dump`, the live tap for `serve --trace` and `get -v`.

mod dump;
mod handshake;
pub mod html;
pub mod json;
pub mod text;

use std::net::SocketAddr;

pub use handshake::handshake_line;
pub use json::{connection_json, event_json, http_event_json};
pub use text::{summary_line, TextOptions, TextRenderer};

use crate::dissect::Timestamp;

/// One connection as the renderers show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// Connection number (1-based, in order of first TLS record).
    pub id: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// The server's address.
    pub server: SocketAddr,
    /// Time of the connection's first packet (or first byte tapped).
    pub first_ts: Timestamp,
    /// The bytes begin after the connection did (a capture that started mid-connection).
    pub midstream: bool,
}
