//! TLS record compression (TLS 1.0-1.2): DEFLATE, RFC 3749. Servers of the 2000s negotiated it until CRIME
//! (2012); their captures carry compressed records, which are decompressed after decryption here.
//!
//! One zlib stream per direction spans the connection (each record ends with a sync flush), so a direction's
//! records must be inflated in order; a lost record breaks the stream for the rest of that direction.
//!
//! ```
//! use tlskit_wire::compression::RecordInflater;
//! use std::io::Write as _;
//!
//! // Two records of one direction, compressed as a TLS stack does (one stream, a sync flush per record).
//! let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
//! z.write_all(b"GET / HTTP/1.1\r\n").unwrap();
//! z.flush().unwrap();
//! let first = z.get_ref().clone();
//! z.write_all(b"Host: old.example\r\n\r\n").unwrap();
//! z.flush().unwrap();
//! let second = z.get_ref()[first.len()..].to_vec();
//!
//! let mut inflater = RecordInflater::new();
//! let mut out = Vec::new();
//! inflater.inflate(&first, &mut out).unwrap();
//! assert_eq!(out, b"GET / HTTP/1.1\r\n");
//! inflater.inflate(&second, &mut out).unwrap();
//! assert_eq!(out, b"Host: old.example\r\n\r\n");
//! ```

use flate2::{Decompress, FlushDecompress, Status};

/// Most plaintext one record may inflate to: 2^14 bytes, with the 1024 bytes of slack RFC 5246 (6.2.2)
/// allows a compressed record; past it a record is an error, not a memory blow-up.
pub const MAX_INFLATED_LEN: usize = 16384 + 1024;

/// Why a compressed record could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// The bytes are not a valid continuation of the direction's DEFLATE stream.
    #[error("DEFLATE stream is corrupt: {0}")]
    Corrupt(String),
    /// The record inflates past [`MAX_INFLATED_LEN`].
    #[error("record inflates past {MAX_INFLATED_LEN} bytes")]
    TooLong,
    /// An earlier record of this direction failed or went missing: the stream cannot be followed.
    #[error("DEFLATE stream lost earlier in this direction")]
    StreamLost,
}

/// One direction's DEFLATE stream (zlib format, as OpenSSL and NSS write it).
pub struct RecordInflater {
    z: Decompress,
    broken: bool,
}

impl Default for RecordInflater {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RecordInflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordInflater").field("broken", &self.broken).finish_non_exhaustive()
    }
}

impl RecordInflater {
    /// The stream of one direction, from its first compressed record.
    pub fn new() -> Self {
        Self { z: Decompress::new(true), broken: false }
    }

    /// Bytes of the stream went missing (a record not decrypted, a capture gap): later records fail.
    pub fn lose(&mut self) {
        self.broken = true;
    }

    /// Inflates one record's compressed fragment into `out` (cleared first).
    pub fn inflate(&mut self, compressed: &[u8], out: &mut Vec<u8>) -> Result<(), InflateError> {
        out.clear();
        if self.broken {
            return Err(InflateError::StreamLost);
        }
        let result = self.inflate_into(compressed, out);
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    fn inflate_into(&mut self, compressed: &[u8], out: &mut Vec<u8>) -> Result<(), InflateError> {
        out.reserve(MAX_INFLATED_LEN + 1);
        let mut input = compressed;
        loop {
            let (before_in, before_out) = (self.z.total_in(), self.z.total_out());
            // One byte of room past the limit, to tell "exactly the limit" from "more".
            let room = MAX_INFLATED_LEN + 1 - out.len();
            let start = out.len();
            out.resize(start + room, 0);
            let status = self.z.decompress(input, &mut out[start..], FlushDecompress::Sync);
            let produced = (self.z.total_out() - before_out) as usize;
            let consumed = (self.z.total_in() - before_in) as usize;
            out.truncate(start + produced);
            input = &input[consumed..];
            let status = status.map_err(|e| InflateError::Corrupt(e.to_string()))?;
            if out.len() > MAX_INFLATED_LEN {
                return Err(InflateError::TooLong);
            }
            match status {
                Status::StreamEnd => return Ok(()),
                _ if input.is_empty() => return Ok(()),
                // No progress with input left: the stream is stuck (truncated or garbage).
                _ if consumed == 0 && produced == 0 => {
                    return Err(InflateError::Corrupt("no progress".into()));
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn compress(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        let mut out = Vec::new();
        let mut at = 0;
        for c in chunks {
            z.write_all(c).unwrap();
            z.flush().unwrap();
            out.push(z.get_ref()[at..].to_vec());
            at = z.get_ref().len();
        }
        out
    }

    #[test]
    fn a_record_inflating_past_the_limit_is_an_error() {
        let big = vec![b'a'; MAX_INFLATED_LEN + 1];
        let records = compress(&[&big]);
        let mut inflater = RecordInflater::new();
        let mut out = Vec::new();
        assert_eq!(inflater.inflate(&records[0], &mut out), Err(InflateError::TooLong));
        assert_eq!(inflater.inflate(b"", &mut out), Err(InflateError::StreamLost));
        let exact = vec![b'a'; MAX_INFLATED_LEN];
        let records = compress(&[&exact]);
        RecordInflater::new().inflate(&records[0], &mut out).unwrap();
        assert_eq!(out.len(), MAX_INFLATED_LEN);
    }

    #[test]
    fn garbage_and_lost_records_are_errors() {
        let mut out = Vec::new();
        assert!(matches!(RecordInflater::new().inflate(b"\xff\xff\xff\xff", &mut out), Err(InflateError::Corrupt(_))));
        let records = compress(&[b"one", b"two"]);
        let mut inflater = RecordInflater::new();
        inflater.inflate(&records[0], &mut out).unwrap();
        inflater.lose();
        assert_eq!(inflater.inflate(&records[1], &mut out), Err(InflateError::StreamLost));
    }
}
