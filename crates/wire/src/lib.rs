//! tlskit-wire: TLS on the wire, with no sockets and no async.
//!
//! It takes bytes and secrets and yields events. `tlskit dump` feeds it bytes
//! from a capture file; the live trace of `tlskit serve --trace` and
//! `tlskit get -v` feeds it bytes from a socket tap. One decoder, two sources.
//!
//! The entry point for a live tap is [`dissect::Dissector`]: create one per
//! connection with a [`keys::SecretSource`], feed each direction's bytes as
//! they pass, and print the events with [`render::TextRenderer`]:
//!
//! ```
//! use std::sync::Arc;
//! use tlskit_wire::dissect::{Direction, Dissector, Event, Timestamp};
//! use tlskit_wire::keys::KeyLog;
//!
//! let mut dissector = Dissector::new(Arc::new(KeyLog::new()));
//! // A TLS 1.2 alert record (warning, close_notify), as the client would send it.
//! let bytes = [21, 3, 3, 0, 2, 1, 0];
//! let mut seen = Vec::new();
//! dissector.feed(Direction::ClientToServer, &bytes, Timestamp::now(), &mut |event| {
//!     if let Event::Alert { alert: Some(alert), .. } = event {
//!         seen.push(alert.description_name());
//!     }
//! });
//! assert_eq!(seen, ["close_notify"]);
//! ```

#![warn(missing_docs)]

pub mod alert;
pub mod capture;
pub mod cipher;
pub mod dissect;
pub mod extensions;
pub mod fingerprint;
pub mod handshake;
pub mod keys;
pub mod record;
pub mod render;
pub mod schedule;
