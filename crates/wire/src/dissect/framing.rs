//! Where records begin and end in one direction's bytes: the buffers that hold an incomplete record or
//! handshake message across calls, and the search for a record boundary after a gap or a mid-stream start.
//! What the records mean is the dissector's business.

use crate::record::{self, RecordHeader, Sslv2ClientHello};

/// One direction's framing state.
#[derive(Default)]
pub(super) struct Framing {
    /// Bytes of an incomplete record.
    pub(super) pending: Vec<u8>,
    /// Bytes of an incomplete handshake message.
    pub(super) handshake: Vec<u8>,
    /// Scratch for in-place decryption (kept to avoid an allocation per record).
    pub(super) scratch: Vec<u8>,
    /// Searching for a record boundary (mid-stream start or after a gap).
    pub(super) syncing: bool,
    /// Bytes fed so far.
    pub(super) bytes_seen: u64,
}

/// What the bytes at the front of a direction's stream hold.
pub(super) enum Frame<'a> {
    /// A complete TLS record (header and fragment).
    Record(RecordHeader, &'a [u8]),
    /// A complete SSLv2-format ClientHello record.
    Sslv2ClientHello(&'a [u8]),
    /// Bytes skipped to reach a record boundary.
    Skipped(usize),
    /// Bytes skipped with no boundary in sight yet: report them, then wait for more.
    SkippedAndWaiting(usize),
    /// Five bytes that cannot start a record: one byte is dropped and a boundary searched for.
    NotAHeader(&'a [u8]),
    /// Not enough bytes yet.
    Incomplete,
}

impl Frame<'_> {
    /// Bytes of the stream the frame uses up.
    pub(super) fn len(&self) -> usize {
        match self {
            Frame::Record(_, bytes) | Frame::Sslv2ClientHello(bytes) => bytes.len(),
            Frame::Skipped(n) | Frame::SkippedAndWaiting(n) => *n,
            Frame::NotAHeader(_) => 1,
            Frame::Incomplete => 0,
        }
    }
}

impl Framing {
    /// The frame at the start of `rest`; `sslv2` allows an SSLv2-format ClientHello (a client's first record).
    pub(super) fn next<'a>(&mut self, rest: &'a [u8], sslv2: bool) -> Frame<'a> {
        if self.syncing {
            match find_boundary(rest) {
                Some(skip) => {
                    self.syncing = false;
                    if skip > 0 {
                        return Frame::Skipped(skip);
                    }
                }
                None => {
                    // Keep the tail that could still begin a header; skip the rest once there is a lot of it.
                    let keep = rest.len().min(2 * record::HEADER_LEN);
                    let skip = rest.len() - keep;
                    if skip > 0 && rest.len() > 64 * 1024 {
                        return Frame::SkippedAndWaiting(skip);
                    }
                    return Frame::Incomplete;
                }
            }
        }
        if sslv2 && rest.first().is_some_and(|b| b & 0x80 != 0) {
            if rest.len() < 5 {
                return Frame::Incomplete;
            }
            if let Some(len) = Sslv2ClientHello::record_len(rest) {
                return rest.get(..len).map_or(Frame::Incomplete, Frame::Sslv2ClientHello);
            }
        }
        let Some(header) = RecordHeader::parse(rest) else { return Frame::Incomplete };
        if !header.is_plausible() {
            self.syncing = true;
            return Frame::NotAHeader(&rest[..record::HEADER_LEN]);
        }
        let total = record::HEADER_LEN + header.length as usize;
        rest.get(..total).map_or(Frame::Incomplete, |rec| Frame::Record(header, rec))
    }
}

/// Offset of the first plausible record boundary: a header whose record is
/// followed by another plausible header (or runs to the end of the data).
fn find_boundary(buf: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + record::HEADER_LEN <= buf.len() {
        if let Some(h) = RecordHeader::parse(&buf[at..]) {
            if h.is_plausible() && h.length > 0 {
                let next = at + record::HEADER_LEN + h.length as usize;
                match buf.get(next..next + record::HEADER_LEN) {
                    Some(n) if RecordHeader::parse(n).is_some_and(|n| n.is_plausible()) => return Some(at),
                    None if next >= buf.len() || buf.len() - next < record::HEADER_LEN => return Some(at),
                    _ => {}
                }
            }
        }
        at += 1;
    }
    None
}
