//! TLS record decompression (DEFLATE, RFC 3749): arbitrary compressed records never panic, never inflate one
//! record past the limit, and a failed record breaks the stream for the records after it.
//!
//! Input: records as [u16 LE length][bytes]..., one direction's stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlskit_wire::compression::{InflateError, RecordInflater, MAX_INFLATED_LEN};

fuzz_target!(|data: &[u8]| {
    let mut inflater = RecordInflater::new();
    let mut out = Vec::new();
    let mut rest = data;
    let mut failed = false;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let record = &rest[2..2 + len];
        rest = &rest[2 + len..];
        match inflater.inflate(record, &mut out) {
            Ok(()) => {
                assert!(!failed, "a record inflated after the stream failed");
                assert!(out.len() <= MAX_INFLATED_LEN);
            }
            Err(InflateError::StreamLost) => assert!(failed),
            Err(_) => failed = true,
        }
    }
});
