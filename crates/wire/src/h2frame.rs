//! HTTP/2 frames as they arrive (RFC 9113 §4.1): the 9-byte frame header as a
//! zero-copy view, and [`HeaderBlockWatch`], which follows a decrypted client
//! stream byte by byte and says whether a request's header block (HEADERS and
//! its CONTINUATION frames) has started and not yet ended. A server uses it to
//! give HTTP/2 request headers a timeout, as HTTP/1.1 headers have one, without
//! decoding HPACK: only frame boundaries and the END_HEADERS flag matter. The dissector of
//! `tlskit dump --http` reads frames with the same view ([`crate::http::h2`]).

/// The client connection preface that opens every HTTP/2 connection.
pub const CLIENT_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of a frame header.
pub const FRAME_HEADER_LEN: usize = 9;

/// HTTP/2 frame types (RFC 9113 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameType {
    /// DATA (0x0).
    Data,
    /// HEADERS (0x1).
    Headers,
    /// PRIORITY (0x2).
    Priority,
    /// RST_STREAM (0x3).
    RstStream,
    /// SETTINGS (0x4).
    Settings,
    /// PUSH_PROMISE (0x5).
    PushPromise,
    /// PING (0x6).
    Ping,
    /// GOAWAY (0x7).
    GoAway,
    /// WINDOW_UPDATE (0x8).
    WindowUpdate,
    /// CONTINUATION (0x9).
    Continuation,
    /// A type this crate does not know (ignored by receivers, §5.5).
    Unknown(u8),
}

impl From<u8> for FrameType {
    fn from(t: u8) -> Self {
        match t {
            0 => FrameType::Data,
            1 => FrameType::Headers,
            2 => FrameType::Priority,
            3 => FrameType::RstStream,
            4 => FrameType::Settings,
            5 => FrameType::PushPromise,
            6 => FrameType::Ping,
            7 => FrameType::GoAway,
            8 => FrameType::WindowUpdate,
            9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }
}

/// The END_HEADERS flag of HEADERS, PUSH_PROMISE and CONTINUATION frames.
pub const FLAG_END_HEADERS: u8 = 0x4;
/// The END_STREAM flag of DATA and HEADERS frames.
pub const FLAG_END_STREAM: u8 = 0x1;
/// The ACK flag of SETTINGS and PING frames.
pub const FLAG_ACK: u8 = 0x1;
/// The PADDED flag of DATA, HEADERS and PUSH_PROMISE frames.
pub const FLAG_PADDED: u8 = 0x8;
/// The PRIORITY flag of HEADERS frames.
pub const FLAG_PRIORITY: u8 = 0x20;

/// A view of one frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader<'a>(&'a [u8; FRAME_HEADER_LEN]);

impl<'a> FrameHeader<'a> {
    /// The first [`FRAME_HEADER_LEN`] bytes of `bytes` as a frame header, if there are that many.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        bytes.first_chunk::<FRAME_HEADER_LEN>().map(FrameHeader)
    }

    /// Payload length (24 bits).
    pub fn length(&self) -> u32 {
        u32::from_be_bytes([0, self.0[0], self.0[1], self.0[2]])
    }

    /// Frame type.
    pub fn frame_type(&self) -> FrameType {
        FrameType::from(self.0[3])
    }

    /// Flags byte.
    pub fn flags(&self) -> u8 {
        self.0[4]
    }

    /// Stream identifier (the reserved bit cleared).
    pub fn stream_id(&self) -> u32 {
        u32::from_be_bytes([self.0[5], self.0[6], self.0[7], self.0[8]]) & 0x7fff_ffff
    }

    /// Whether this frame starts or continues a header block.
    pub fn carries_header_block(&self) -> bool {
        matches!(self.frame_type(), FrameType::Headers | FrameType::PushPromise | FrameType::Continuation)
    }
}

/// Follows the client side of an HTTP/2 connection and tracks whether a header block is open.
///
/// ```
/// use tlskit_wire::h2frame::{HeaderBlockWatch, CLIENT_PREFACE};
/// let mut watch = HeaderBlockWatch::new();
/// watch.feed(CLIENT_PREFACE);
/// watch.feed(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
/// assert!(!watch.header_block_open());
/// watch.feed(&[0, 0, 3, 1, 0, 0, 0, 0, 1, 0x82]); // HEADERS without END_HEADERS, 1 of 3 payload bytes
/// assert!(watch.header_block_open());
/// watch.feed(&[0x84, 0x87, 0, 0, 0, 9, 4, 0, 0, 0, 1]); // rest of it, then an empty CONTINUATION + END_HEADERS
/// assert!(!watch.header_block_open());
/// ```
#[derive(Clone, Debug)]
pub struct HeaderBlockWatch {
    preface_left: usize,
    header: [u8; FRAME_HEADER_LEN],
    header_filled: usize,
    payload_left: u32,
    /// The frame being received ends the header block when its payload is complete.
    ends_block: bool,
    block_open: bool,
    frames: u64,
}

impl Default for HeaderBlockWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderBlockWatch {
    /// A watch for a connection that has not sent its preface yet.
    pub fn new() -> Self {
        HeaderBlockWatch {
            preface_left: CLIENT_PREFACE.len(),
            header: [0; FRAME_HEADER_LEN],
            header_filled: 0,
            payload_left: 0,
            ends_block: false,
            block_open: false,
            frames: 0,
        }
    }

    /// Whether a header block has started (its first frame header was seen) and not yet been received whole.
    pub fn header_block_open(&self) -> bool {
        self.block_open
    }

    /// Frame headers seen so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Account for `bytes`, the next bytes the client sent (any split is fine).
    pub fn feed(&mut self, mut bytes: &[u8]) {
        if self.preface_left > 0 {
            let n = self.preface_left.min(bytes.len());
            self.preface_left -= n;
            bytes = &bytes[n..];
        }
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let n = (self.payload_left as usize).min(bytes.len());
                self.payload_left -= n as u32;
                bytes = &bytes[n..];
                if self.payload_left == 0 {
                    self.frame_done();
                }
                continue;
            }
            let n = (FRAME_HEADER_LEN - self.header_filled).min(bytes.len());
            self.header[self.header_filled..self.header_filled + n].copy_from_slice(&bytes[..n]);
            self.header_filled += n;
            bytes = &bytes[n..];
            if self.header_filled == FRAME_HEADER_LEN {
                self.header_filled = 0;
                self.frames += 1;
                let header = FrameHeader(&self.header);
                if header.carries_header_block() {
                    self.block_open = true;
                    self.ends_block = header.flags() & FLAG_END_HEADERS != 0;
                } else {
                    self.ends_block = false;
                }
                self.payload_left = header.length();
                if self.payload_left == 0 {
                    self.frame_done();
                }
            }
        }
    }

    fn frame_done(&mut self) {
        if self.ends_block {
            self.block_open = false;
            self.ends_block = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn header_view_reads_fields() {
        let f = frame(1, 0x5, 0x8000_0003, &[0; 300]);
        let h = FrameHeader::new(&f).unwrap();
        assert_eq!((h.length(), h.frame_type(), h.flags(), h.stream_id()), (300, FrameType::Headers, 5, 3));
        assert!(FrameHeader::new(&f[..8]).is_none());
    }

    #[test]
    fn pings_and_settings_never_open_a_block_and_any_split_gives_the_same_answer() {
        let mut stream = CLIENT_PREFACE.to_vec();
        stream.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 100]));
        stream.extend(frame(6, 0, 0, &[7; 8]));
        let open_at = stream.len() + FRAME_HEADER_LEN;
        stream.extend(frame(1, 0, 1, &[0x82; 20]));
        stream.extend(frame(9, 0, 1, &[0x84; 10]));
        let close_at = stream.len() + FRAME_HEADER_LEN + 5;
        stream.extend(frame(9, FLAG_END_HEADERS, 1, &[0x87; 5]));
        stream.extend(frame(6, 0, 0, &[1; 8]));
        for step in [1, 2, 7, 9, 13, 64, stream.len()] {
            let mut watch = HeaderBlockWatch::new();
            let mut fed = 0;
            for chunk in stream.chunks(step) {
                watch.feed(chunk);
                fed += chunk.len();
                let want = fed >= open_at && fed < close_at;
                // A chunk boundary may fall anywhere: the answer is exact at every byte count.
                assert_eq!(watch.header_block_open(), want, "step {step} after {fed} bytes");
            }
            assert_eq!(watch.frames(), 6);
        }
    }

    #[test]
    fn headers_with_end_headers_close_when_their_payload_is_in() {
        let mut watch = HeaderBlockWatch::new();
        watch.feed(CLIENT_PREFACE);
        let f = frame(1, FLAG_END_HEADERS | 1, 1, &[0x82; 4]);
        watch.feed(&f[..FRAME_HEADER_LEN + 2]);
        assert!(watch.header_block_open());
        watch.feed(&f[FRAME_HEADER_LEN + 2..]);
        assert!(!watch.header_block_open());
    }
}
