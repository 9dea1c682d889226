//! The HTTP layer of `tlskit dump --http` (HTTP/1.1 framing, HTTP/2 frames, HPACK header blocks): arbitrary
//! plaintext in both directions never panics, and every message it reports has a body length no larger than
//! the bytes it was fed.
//!
//! Input: [mode: u8][chunks...], a chunk being [u16 LE: bit 15 = server-to-client, bits 0-14 = length][bytes].
//! Mode bit 0: ALPN says h2 (else the bytes decide); bit 1: the connection ends with `finish`, else with a gap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlskit_wire::dissect::Direction;
use tlskit_wire::http::{HttpDissector, HttpEvent};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut http = HttpDissector::new();
    if mode & 1 != 0 {
        http.set_alpn("h2");
    }
    let mut fed = 0u64;
    let mut check = |e: &HttpEvent<'_>, fed: u64| {
        if let HttpEvent::Message { body_len, .. } = e {
            assert!(*body_len <= fed, "body of {body_len} bytes from {fed} bytes");
        }
    };
    while rest.len() >= 2 {
        let tag = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(tag & 0x7fff).min(rest.len() - 2);
        let dir = if tag & 0x8000 != 0 { Direction::ServerToClient } else { Direction::ClientToServer };
        let chunk = &rest[2..2 + len];
        rest = &rest[2 + len..];
        fed += chunk.len() as u64;
        http.feed(dir, chunk, &mut |e| check(e, fed));
    }
    if mode & 2 != 0 {
        http.finish(&mut |e| check(e, fed));
    } else {
        http.gap(Direction::ServerToClient, &mut |e| check(e, fed));
        http.finish(&mut |e| check(e, fed));
    }
});
