//! Byte ranges (RFC 9110 section 14): parsing a Range header against a length, and the framing of
//! multipart/byteranges bodies.

use std::hash::{BuildHasher, RandomState};

use bytes::Bytes;

/// More ranges than this in one request are not worth honouring: the whole file is sent instead.
pub(crate) const MAX_RANGES: usize = 64;

/// One satisfiable byte range, both ends inclusive (as Content-Range writes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    /// Number of bytes in the range.
    pub(crate) fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// The Content-Range value for this range of a `total`-byte representation.
    pub(crate) fn content_range(&self, total: u64) -> String {
        format!("bytes {}-{}/{}", self.first, self.last, total)
    }
}

/// What a Range header asks of a representation of a given length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    /// No usable range (unknown unit, bad syntax, too many or overlapping ranges): send everything.
    Full,
    /// Syntactically fine but no range overlaps the representation: 416.
    Unsatisfiable,
    /// The satisfiable ranges, in the order asked.
    Partial(Vec<ByteRange>),
}

/// Parses a Range header value (`bytes=0-99,200-,-50`) against a representation of `len` bytes.
pub(crate) fn parse(value: &str, len: u64) -> RangeRequest {
    let Some((unit, specs)) = value.trim().split_once('=') else {
        return RangeRequest::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeRequest::Full;
    }
    let mut ranges = Vec::new();
    let mut count = 0;
    for spec in specs.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        count += 1;
        if count > MAX_RANGES {
            return RangeRequest::Full;
        }
        let Some((first, last)) = spec.split_once('-') else {
            return RangeRequest::Full;
        };
        let (first, last) = (first.trim(), last.trim());
        if first.is_empty() {
            // Suffix range: the last N bytes.
            let Some(n) = digits(last) else {
                return RangeRequest::Full;
            };
            if n > 0 && len > 0 {
                ranges.push(ByteRange { first: len.saturating_sub(n), last: len - 1 });
            }
            continue;
        }
        let Some(first) = digits(first) else {
            return RangeRequest::Full;
        };
        let last = if last.is_empty() {
            u64::MAX
        } else {
            match digits(last) {
                Some(l) if l >= first => l,
                _ => return RangeRequest::Full,
            }
        };
        if first < len {
            ranges.push(ByteRange { first, last: last.min(len - 1) });
        }
    }
    if count == 0 {
        return RangeRequest::Full;
    }
    if ranges.is_empty() {
        return RangeRequest::Unsatisfiable;
    }
    // Overlapping ranges that add up to more than the file are an amplification trick, not a need.
    let total: u64 = ranges.iter().map(ByteRange::len).fold(0, u64::saturating_add);
    if ranges.len() > 1 && total > len {
        return RangeRequest::Full;
    }
    RangeRequest::Partial(ranges)
}

/// A decimal number of ASCII digits only; values past u64 saturate.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0'))))
}

/// The framing of a multipart/byteranges body: a header before each part and a closing delimiter.
#[derive(Debug)]
pub(crate) struct Multipart {
    /// The Content-Type of the whole response (`multipart/byteranges; boundary=…`).
    pub content_type: String,
    /// For each range, the bytes that precede its data.
    pub part_headers: Vec<Bytes>,
    /// The closing delimiter.
    pub trailer: Bytes,
    /// Length of the whole body: framing plus data.
    pub total_len: u64,
}

impl Multipart {
    /// Frames `ranges` of a `len`-byte representation of type `part_type`.
    pub(crate) fn new(ranges: &[ByteRange], len: u64, part_type: &str) -> Self {
        let boundary = format!("tlskit-{:016x}", RandomState::new().hash_one(len));
        let mut part_headers = Vec::with_capacity(ranges.len());
        let mut total_len = 0u64;
        for range in ranges {
            let header = format!(
                "\r\n--{boundary}\r\nContent-Type: {part_type}\r\nContent-Range: {}\r\n\r\n",
                range.content_range(len)
            );
            total_len += header.len() as u64 + range.len();
            part_headers.push(Bytes::from(header));
        }
        let trailer = Bytes::from(format!("\r\n--{boundary}--\r\n"));
        total_len += trailer.len() as u64;
        Multipart {
            content_type: format!("multipart/byteranges; boundary={boundary}"),
            part_headers,
            trailer,
            total_len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(first: u64, last: u64) -> ByteRange {
        ByteRange { first, last }
    }

    #[test]
    fn single_forms() {
        assert_eq!(parse("bytes=0-9", 100), RangeRequest::Partial(vec![r(0, 9)]));
        assert_eq!(parse("bytes=90-", 100), RangeRequest::Partial(vec![r(90, 99)]));
        assert_eq!(parse("bytes=-10", 100), RangeRequest::Partial(vec![r(90, 99)]));
        assert_eq!(parse("bytes=-1000", 100), RangeRequest::Partial(vec![r(0, 99)]));
        assert_eq!(parse("bytes=50-1000", 100), RangeRequest::Partial(vec![r(50, 99)]));
        assert_eq!(parse("BYTES = 1-1", 100), RangeRequest::Partial(vec![r(1, 1)]));
    }

    #[test]
    fn unsatisfiable_and_invalid() {
        assert_eq!(parse("bytes=100-", 100), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 100), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=0-0", 0), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=5-1", 100), RangeRequest::Full);
        assert_eq!(parse("items=0-1", 100), RangeRequest::Full);
        assert_eq!(parse("bytes=a-b", 100), RangeRequest::Full);
        assert_eq!(parse("bytes=+1-2", 100), RangeRequest::Full);
        assert_eq!(parse("bytes=", 100), RangeRequest::Full);
        assert_eq!(parse("bytes=99999999999999999999999-", 100), RangeRequest::Unsatisfiable);
    }

    #[test]
    fn multiple_and_abuse() {
        assert_eq!(parse("bytes=0-1, 5-6", 100), RangeRequest::Partial(vec![r(0, 1), r(5, 6)]));
        assert_eq!(parse("bytes=0-1,200-300", 100), RangeRequest::Partial(vec![r(0, 1)]));
        assert_eq!(parse("bytes=0-99,0-99", 100), RangeRequest::Full);
        let many = format!("bytes={}", vec!["0-0"; MAX_RANGES + 1].join(","));
        assert_eq!(parse(&many, 100), RangeRequest::Full);
    }

    #[test]
    fn multipart_length_is_exact() {
        let ranges = [r(0, 1), r(5, 9)];
        let m = Multipart::new(&ranges, 100, "text/plain");
        let framing: usize = m.part_headers.iter().map(Bytes::len).sum::<usize>() + m.trailer.len();
        assert_eq!(m.total_len, framing as u64 + 7);
        assert!(m.content_type.starts_with("multipart/byteranges; boundary=tlskit-"));
    }
}
