//! HTTP inside a decrypted TLS stream: HTTP/1.1 ([`h1`]) and HTTP/2 ([`h2`], frames over
//! [`crate::h2frame`] and HPACK-decoded headers), as `tlskit dump --http` shows them.
//!
//! An [`HttpDissector`] follows one connection: feed it each direction's plaintext in order (the
//! [`crate::dissect::Event::ApplicationData`] bytes) and it reports each request and response once its
//! body is complete, with the body's length (and the decoded body bytes as they pass, for `--extract`).
//! The protocol is chosen by ALPN when the handshake named one, else by the HTTP/2 client preface.
//!
//! ```
//! use tlskit_wire::dissect::Direction;
//! use tlskit_wire::http::{HttpDissector, HttpEvent, StartLine};
//!
//! let mut http = HttpDissector::new();
//! let mut seen = Vec::new();
//! let mut sink = |e: &HttpEvent<'_>| {
//!     if let HttpEvent::Message { head, body_len, .. } = e {
//!         seen.push((head.start.clone(), *body_len));
//!     }
//! };
//! http.feed(Direction::ClientToServer, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", &mut sink);
//! http.feed(Direction::ServerToClient, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", &mut sink);
//! assert_eq!(seen[0].0, StartLine::Request { method: "GET".into(), target: "/a".into() });
//! assert_eq!(seen[1], (StartLine::Response { status: 200, reason: "OK".into() }, 2));
//! ```

pub mod h1;
pub mod h2;

use crate::dissect::Direction;
use crate::h2frame::{FrameType, CLIENT_PREFACE, FRAME_HEADER_LEN};

/// Which HTTP a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.0 or HTTP/1.1 (the minor version as the start line says).
    Http1(u8),
    /// HTTP/2.
    Http2,
}

impl HttpVersion {
    /// `HTTP/1.1`, `HTTP/2`, ...
    pub fn name(self) -> &'static str {
        match self {
            HttpVersion::Http1(0) => "HTTP/1.0",
            HttpVersion::Http1(_) => "HTTP/1.1",
            HttpVersion::Http2 => "HTTP/2",
        }
    }
}

/// A request line or a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// A request: method and target (HTTP/2: `:method` and `:path`, or `:authority` for CONNECT).
    Request {
        /// Method.
        method: String,
        /// Request target.
        target: String,
    },
    /// A response: status code and reason phrase (empty in HTTP/2).
    Response {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
    },
}

/// The head of one HTTP message. Text is as the peer sent it (invalid UTF-8 replaced): escape it before
/// showing it ([`crate::text::escape_untrusted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// HTTP/1.1: the message's number in its direction (a response has its request's number); HTTP/2: the
    /// stream identifier.
    pub stream: u64,
    /// Version.
    pub version: HttpVersion,
    /// Request or status line.
    pub start: StartLine,
    /// Header fields in order (HTTP/2: the pseudo-header fields too).
    pub headers: Vec<(String, String)>,
}

/// What the HTTP layer reports.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpEvent<'a> {
    /// A request or response, once its body ended (or the connection did).
    Message {
        /// Direction (client-to-server: a request).
        dir: Direction,
        /// Its head.
        head: Head,
        /// Body bytes after transfer decoding (chunked, HTTP/2 DATA padding), before content decoding.
        body_len: u64,
        /// Whether the body ended as its framing said (false: connection ended, stream reset, bytes lost).
        complete: bool,
    },
    /// Decoded body bytes of a message, as they pass.
    Body {
        /// Direction.
        dir: Direction,
        /// The message's [`Head::stream`].
        stream: u64,
        /// Bytes.
        data: &'a [u8],
    },
    /// An HTTP/2 frame header.
    Frame {
        /// Direction.
        dir: Direction,
        /// Frame type.
        frame_type: FrameType,
        /// Flags.
        flags: u8,
        /// Stream identifier.
        stream: u32,
        /// Payload length.
        length: u32,
    },
    /// Bytes that are not HTTP as expected: the direction is no longer followed (or, for HPACK, its headers).
    Malformed {
        /// Direction.
        dir: Direction,
        /// What was wrong.
        what: String,
    },
}

/// Name of an HTTP/2 frame type as RFC 9113 spells it.
pub fn frame_type_name(t: FrameType) -> &'static str {
    match t {
        FrameType::Data => "DATA",
        FrameType::Headers => "HEADERS",
        FrameType::Priority => "PRIORITY",
        FrameType::RstStream => "RST_STREAM",
        FrameType::Settings => "SETTINGS",
        FrameType::PushPromise => "PUSH_PROMISE",
        FrameType::Ping => "PING",
        FrameType::GoAway => "GOAWAY",
        FrameType::WindowUpdate => "WINDOW_UPDATE",
        FrameType::Continuation => "CONTINUATION",
        FrameType::Unknown(_) => "unknown",
    }
}

enum Protocol {
    Undecided,
    Http1(Box<h1::Http1>),
    Http2(Box<h2::Http2>),
}

/// Follows the HTTP of one TLS connection.
pub struct HttpDissector {
    alpn: Option<String>,
    protocol: Protocol,
}

impl Default for HttpDissector {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpDissector {
    /// A dissector that decides the protocol from the first bytes (or the ALPN, once told).
    pub fn new() -> Self {
        Self { alpn: None, protocol: Protocol::Undecided }
    }

    /// The protocol ALPN chose (`h2`, `http/1.1`): it decides the protocol when the preface was not captured.
    pub fn set_alpn(&mut self, alpn: &str) {
        self.alpn = Some(alpn.to_string());
    }

    /// The next plaintext bytes of one direction.
    pub fn feed(&mut self, dir: Direction, data: &[u8], sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        if data.is_empty() {
            return;
        }
        if matches!(self.protocol, Protocol::Undecided) {
            self.protocol = if self.speaks_h2(dir, data) {
                Protocol::Http2(Box::default())
            } else {
                Protocol::Http1(Box::default())
            };
        }
        match &mut self.protocol {
            Protocol::Http1(h) => h.feed(dir, data, sink),
            Protocol::Http2(h) => h.feed(dir, data, sink),
            Protocol::Undecided => {}
        }
    }

    fn speaks_h2(&self, dir: Direction, data: &[u8]) -> bool {
        match self.alpn.as_deref() {
            Some("h2") => return true,
            Some(_) => return false,
            None => {}
        }
        match dir {
            Direction::ClientToServer => data.starts_with(&CLIENT_PREFACE[..data.len().min(CLIENT_PREFACE.len())]),
            // An HTTP/2 server speaks first with SETTINGS; an HTTP/1.1 server never speaks first.
            Direction::ServerToClient => data.len() >= FRAME_HEADER_LEN && data[3] == 4 && data[5..9] == [0, 0, 0, 0],
        }
    }

    /// Bytes of one direction were lost: that direction is no longer followed.
    pub fn gap(&mut self, dir: Direction, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        match &mut self.protocol {
            Protocol::Http1(h) => h.lose(dir, sink),
            Protocol::Http2(h) => h.lose(dir, sink),
            Protocol::Undecided => {}
        }
    }

    /// The connection ended: messages still open are reported as incomplete (an HTTP/1.1 body that runs to
    /// the close is complete).
    pub fn finish(&mut self, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        match &mut self.protocol {
            Protocol::Http1(h) => h.finish(sink),
            Protocol::Http2(h) => h.finish(sink),
            Protocol::Undecided => {}
        }
    }
}

/// Text as the peer sent it, invalid UTF-8 replaced.
fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stand-in for the fuzz targets (fuzz/fuzz_targets/http.rs, compression.rs) that runs with
    /// the unit tests: valid exchanges with bytes flipped, cut and repeated never panic, and no message claims
    /// more body bytes than were fed.
    #[test]
    fn mutated_exchanges_never_panic() {
        let h1: &[(Direction, &[u8])] = &[
            (
                Direction::ClientToServer,
                b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            ),
            (Direction::ServerToClient, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ];
        let mut hpack = loona_hpack::Encoder::new();
        let block = hpack.encode([(&b":method"[..], &b"GET"[..]), (b":path", b"/"), (b"x", b"y")]);
        let mut h2c = CLIENT_PREFACE.to_vec();
        h2c.extend([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 16, 0]);
        h2c.extend([0, 0, block.len() as u8, 1, 5, 0, 0, 0, 1]);
        h2c.extend(&block);
        let h2s: &[u8] = &[0, 0, 1, 1, 4, 0, 0, 0, 1, 0x88, 0, 0, 2, 0, 9, 0, 0, 0, 1, 1, b'z'];
        let h2: &[(Direction, &[u8])] = &[(Direction::ClientToServer, &h2c), (Direction::ServerToClient, h2s)];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..3000 {
            let exchange = if round % 2 == 0 { h1 } else { h2 };
            let mut http = HttpDissector::new();
            if round % 3 == 0 {
                http.set_alpn("h2");
            }
            let mut fed = 0u64;
            for (dir, bytes) in exchange {
                let mut bytes = bytes.to_vec();
                for _ in 0..(next() % 4) {
                    let at = (next() as usize) % bytes.len();
                    bytes[at] ^= 1 << (next() % 8);
                }
                let cut = (next() as usize) % (bytes.len() + 1);
                for piece in [&bytes[..cut], &bytes[cut..]] {
                    fed += piece.len() as u64;
                    http.feed(*dir, piece, &mut |e| {
                        if let HttpEvent::Message { body_len, .. } = e {
                            assert!(*body_len <= fed);
                        }
                    });
                }
            }
            http.finish(&mut |_| {});
        }
        let mut z = crate::compression::RecordInflater::new();
        let mut out = Vec::new();
        for _ in 0..2000 {
            let record: Vec<u8> = (0..(next() % 64)).map(|_| next() as u8).collect();
            let _ = z.inflate(&record, &mut out);
            assert!(out.len() <= crate::compression::MAX_INFLATED_LEN);
        }
    }
}
