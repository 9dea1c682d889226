//! tlskit-wire: TLS on the wire, with no sockets and no async.
//!
//! It takes bytes and secrets and yields events. `tlskit dump` feeds it bytes
//! from a capture file; the live trace of `tlskit serve --trace` and
//! `tlskit get -v` feeds it bytes from a socket tap. One decoder, two sources.
//!
//! The modules follow the protocol, one per message family with its codec beside
//! its types: [`record`], [`handshake`], [`extensions`], [`alert`], [`dtls`], and
//! [`compression`] for the DEFLATE-compressed records of old servers. Every
//! protocol number is typed ([`record::ProtocolVersion`], [`handshake::HandshakeType`],
//! [`extensions::ExtensionType`], [`extensions::NamedGroup`], [`cipher::CipherSuiteId`], ...),
//! with an `Unknown` arm for numbers the registry does not name and its name beside it.
//! The views are zero-copy: `ClientHello::parse` and its friends check the framing
//! and borrow the bytes, and their lists are read as they are iterated, so a parse
//! allocates nothing until a caller asks for an owned form ([`dissect::HandshakeDetail`],
//! [`dissect::Event::into_owned`]). Every parser reads through one checked
//! [`codec::Reader`].
//!
//! The entry point for a live tap is [`dissect::Dissector`]: create one per
//! connection with a [`keys::SecretSource`], feed each direction's bytes as
//! they pass, and print the events with [`render::TextRenderer`]:
//!
//! ```
//! use std::sync::{Arc, RwLock};
//! use tlskit_wire::dissect::{Direction, Dissector, Event, Timestamp};
//! use tlskit_wire::keys::KeyLog;
//! use tlskit_wire::render::{TextOptions, TextRenderer};
//!
//! // A key log that may still be growing (e.g. filled from rustls's KeyLog callback): it is read lazily.
//! let secrets = Arc::new(RwLock::new(KeyLog::new()));
//! let mut dissector = Dissector::new(secrets.clone());
//! let mut text = TextRenderer::new(TextOptions { data: true, ..TextOptions::default() });
//! let mut out = Vec::new();
//! // A TLS 1.2 alert record (warning, close_notify), as the client would send it.
//! let bytes = [21, 3, 3, 0, 2, 1, 0];
//! let mut alerts = Vec::new();
//! dissector.feed(Direction::ClientToServer, &bytes, Timestamp::now(), &mut |event| {
//!     if let Event::Alert { alert: Some(alert), .. } = event {
//!         alerts.push(alert.description.name());
//!     }
//!     text.event(&mut out, 1, event).expect("writing to a Vec");
//! });
//! assert_eq!(alerts, ["close_notify"]);
//! assert!(String::from_utf8(out).unwrap().contains("Alert warning close_notify"));
//! ```
//!
//! For capture files, [`capture::Analyzer`] does the rest (link layers, IP, TCP
//! reassembly, one dissector per connection) and reports through a
//! [`capture::Handler`].
//!
//! The capture reader (pcap, pcapng, gzip) and the link layers (Ethernet, SLL/SLL2,
//! loopback, IPv4/IPv6 with fragments) are written here rather than taken from
//! pcap-parser and etherparse: packets are read in place from large blocks and
//! decoded without a copy, which is what lets `tlskit dump` run at the speeds
//! recorded in bench/RESULTS.md (dump section).

#![warn(missing_docs)]

pub mod alert;
pub mod capture;
pub mod cipher;
pub mod codec;
pub mod compression;
pub mod dissect;
pub mod dtls;
pub mod extensions;
pub mod fingerprint;
pub mod h2frame;
pub mod handshake;
pub mod http;
pub mod keys;
pub mod record;
pub mod render;
pub mod schedule;
pub mod text;
pub mod time;
