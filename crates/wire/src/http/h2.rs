//! HTTP/2 (RFC 9113): frames read with [`crate::h2frame::FrameHeader`], header blocks (HEADERS or
//! PUSH_PROMISE and their CONTINUATIONs) decoded with HPACK (RFC 7541, the `loona-hpack` crate: one decoder
//! per direction, as each endpoint has its own encoder), messages per stream.

use std::collections::HashMap;

use super::{lossy, Head, HttpEvent, HttpVersion, StartLine};
use crate::dissect::Direction;
use crate::h2frame::{
    FrameHeader, FrameType, CLIENT_PREFACE, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM, FLAG_PADDED, FLAG_PRIORITY,
    FRAME_HEADER_LEN,
};

/// Largest frame payload followed (SETTINGS_MAX_FRAME_SIZE may be up to 2^24-1; real peers use 16 KiB to 1 MiB).
pub const MAX_FRAME_LEN: usize = 1 << 20;
/// Largest header block kept while its CONTINUATIONs arrive.
pub const MAX_HEADER_BLOCK: usize = 256 * 1024;
/// Largest HPACK dynamic table a peer may ask for (SETTINGS_HEADER_TABLE_SIZE); more is capped.
const MAX_TABLE_SIZE: usize = 64 * 1024;

/// A message being received on a stream.
struct Open {
    head: Head,
    body_len: u64,
}

/// A header block being collected.
struct Block {
    stream: u32,
    /// PUSH_PROMISE: the promised stream (its request is this block).
    promised: Option<u32>,
    end_stream: bool,
    bytes: Vec<u8>,
}

struct Side {
    preface_left: usize,
    buf: Vec<u8>,
    decoder: loona_hpack::Decoder<'static>,
    /// HPACK state lost (a decoding error): header blocks are no longer decoded.
    hpack_lost: bool,
    block: Option<Block>,
    open: HashMap<u32, Open>,
    stopped: bool,
}

impl Side {
    fn new(preface: bool) -> Self {
        Self {
            preface_left: if preface { CLIENT_PREFACE.len() } else { 0 },
            buf: Vec::new(),
            decoder: loona_hpack::Decoder::new(),
            hpack_lost: false,
            block: None,
            open: HashMap::new(),
            stopped: false,
        }
    }
}

/// Both directions of an HTTP/2 connection.
pub struct Http2 {
    sides: [Side; 2],
}

impl Default for Http2 {
    fn default() -> Self {
        Self::new()
    }
}

impl Http2 {
    /// A connection from its start: the client's first bytes are the preface when they match it (a capture
    /// that began later has frames there).
    pub fn new() -> Self {
        Self { sides: [Side::new(true), Side::new(false)] }
    }

    /// The next bytes of one direction.
    pub fn feed(&mut self, dir: Direction, mut data: &[u8], sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        let i = dir.index();
        if self.sides[i].stopped {
            return;
        }
        let side = &mut self.sides[i];
        if side.preface_left > 0 {
            let at = CLIENT_PREFACE.len() - side.preface_left;
            let n = side.preface_left.min(data.len());
            if data[..n] != CLIENT_PREFACE[at..at + n] {
                if at > 0 {
                    return self.stop(dir, "not the HTTP/2 client preface".into(), sink);
                }
                // No preface: the capture began after it; frames start here.
                side.preface_left = 0;
            } else {
                side.preface_left -= n;
                data = &data[n..];
            }
        }
        let mut buf = std::mem::take(&mut self.sides[i].buf);
        buf.extend_from_slice(data);
        let mut at = 0;
        while let Some(header) = FrameHeader::new(&buf[at..]) {
            let len = header.length() as usize;
            if len > MAX_FRAME_LEN {
                return self.stop(dir, format!("HTTP/2 frame of {len} bytes: not followed"), sink);
            }
            let Some(payload) = buf.get(at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + len) else { break };
            sink(&HttpEvent::Frame {
                dir,
                frame_type: header.frame_type(),
                flags: header.flags(),
                stream: header.stream_id(),
                length: header.length(),
            });
            self.frame(dir, header, payload, sink);
            at += FRAME_HEADER_LEN + len;
            if self.sides[i].stopped {
                return;
            }
        }
        buf.drain(..at);
        self.sides[i].buf = buf;
    }

    fn frame(&mut self, dir: Direction, header: FrameHeader<'_>, payload: &[u8], sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        let i = dir.index();
        let (flags, stream) = (header.flags(), header.stream_id());
        if self.sides[i].block.is_some() && header.frame_type() != FrameType::Continuation {
            return self.stop(dir, "HTTP/2 header block interrupted by another frame".into(), sink);
        }
        match header.frame_type() {
            FrameType::Data => {
                let Some(data) = unpad(flags, payload) else {
                    return self.stop(dir, "HTTP/2 DATA padding longer than the frame".into(), sink);
                };
                if let Some(open) = self.sides[i].open.get_mut(&stream) {
                    open.body_len += data.len() as u64;
                    sink(&HttpEvent::Body { dir, stream: u64::from(stream), data });
                }
                if flags & FLAG_END_STREAM != 0 {
                    self.end(dir, stream, true, sink);
                }
            }
            FrameType::Headers => {
                let Some(mut fragment) = unpad(flags, payload) else {
                    return self.stop(dir, "HTTP/2 HEADERS padding longer than the frame".into(), sink);
                };
                if flags & FLAG_PRIORITY != 0 {
                    fragment = fragment.get(5..).unwrap_or_default();
                }
                let end_stream = flags & FLAG_END_STREAM != 0;
                self.block(dir, Block { stream, promised: None, end_stream, bytes: fragment.to_vec() }, flags, sink);
            }
            FrameType::PushPromise => {
                let Some(fragment) = unpad(flags, payload) else {
                    return self.stop(dir, "HTTP/2 PUSH_PROMISE padding longer than the frame".into(), sink);
                };
                let Some((id, rest)) = fragment.split_first_chunk::<4>() else {
                    return self.stop(dir, "HTTP/2 PUSH_PROMISE without a stream identifier".into(), sink);
                };
                let promised = Some(u32::from_be_bytes(*id) & 0x7fff_ffff);
                self.block(dir, Block { stream, promised, end_stream: true, bytes: rest.to_vec() }, flags, sink);
            }
            FrameType::Continuation => {
                let Some(block) = self.sides[i].block.as_mut() else {
                    return self.stop(dir, "HTTP/2 CONTINUATION without a header block".into(), sink);
                };
                block.bytes.extend_from_slice(payload);
                if block.bytes.len() > MAX_HEADER_BLOCK {
                    return self.stop(dir, format!("HTTP/2 header block over {MAX_HEADER_BLOCK} bytes"), sink);
                }
                if flags & FLAG_END_HEADERS != 0 {
                    if let Some(block) = self.sides[i].block.take() {
                        self.decode(dir, block, sink);
                    }
                }
            }
            FrameType::RstStream => {
                // The stream ends, both ways, whatever was in flight.
                self.end(Direction::ClientToServer, stream, false, sink);
                self.end(Direction::ServerToClient, stream, false, sink);
            }
            FrameType::Settings if flags & FLAG_ACK == 0 => {
                // SETTINGS_HEADER_TABLE_SIZE bounds the table of the peer's encoder: our decoder of the other
                // direction.
                for setting in payload.chunks_exact(6) {
                    if setting[..2] == [0, 1] {
                        let size = u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]) as usize;
                        self.sides[1 - i].decoder.set_max_allowed_table_size(size.min(MAX_TABLE_SIZE));
                    }
                }
            }
            _ => {}
        }
    }

    fn block(&mut self, dir: Direction, block: Block, flags: u8, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        if flags & FLAG_END_HEADERS != 0 {
            self.decode(dir, block, sink);
        } else {
            self.sides[dir.index()].block = Some(block);
        }
    }

    /// A complete header block: a message head, or trailers.
    fn decode(&mut self, dir: Direction, block: Block, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        let i = dir.index();
        let side = &mut self.sides[i];
        if side.hpack_lost {
            return;
        }
        let mut headers = Vec::new();
        if let Err(e) = side.decoder.decode_with_cb(&block.bytes, |n, v| headers.push((lossy(&n), lossy(&v)))) {
            side.hpack_lost = true;
            sink(&HttpEvent::Malformed { dir, what: format!("HPACK: {e}; later header blocks not decoded") });
            return;
        }
        let stream = block.promised.unwrap_or(block.stream);
        if let Some(open) = side.open.get_mut(&stream) {
            // Trailers: kept with the message's fields.
            open.head.headers.extend(headers);
        } else {
            let pseudo = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            let start = match pseudo(":status") {
                Some(status) => {
                    StartLine::Response { status: status.parse().unwrap_or_default(), reason: String::new() }
                }
                None => StartLine::Request {
                    method: pseudo(":method").unwrap_or_default(),
                    target: pseudo(":path").or_else(|| pseudo(":authority")).unwrap_or_default(),
                },
            };
            let interim = matches!(start, StartLine::Response { status: 100..=199, .. });
            let head = Head { stream: u64::from(stream), version: HttpVersion::Http2, start, headers };
            if interim || block.promised.is_some() {
                // An interim response, or a pushed request: complete as it stands.
                sink(&HttpEvent::Message { dir, head, body_len: 0, complete: true });
                return;
            }
            side.open.insert(stream, Open { head, body_len: 0 });
        }
        if block.end_stream {
            self.end(dir, block.stream, true, sink);
        }
    }

    fn end(&mut self, dir: Direction, stream: u32, complete: bool, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        if let Some(open) = self.sides[dir.index()].open.remove(&stream) {
            sink(&HttpEvent::Message { dir, head: open.head, body_len: open.body_len, complete });
        }
    }

    fn stop(&mut self, dir: Direction, what: String, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        let side = &mut self.sides[dir.index()];
        side.stopped = true;
        side.buf = Vec::new();
        side.block = None;
        self.flush(dir, sink);
        sink(&HttpEvent::Malformed { dir, what });
    }

    /// Reports the messages still open in one direction as incomplete, in stream order.
    fn flush(&mut self, dir: Direction, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        let mut open: Vec<(u32, Open)> = self.sides[dir.index()].open.drain().collect();
        open.sort_by_key(|(id, _)| *id);
        for (_, o) in open {
            sink(&HttpEvent::Message { dir, head: o.head, body_len: o.body_len, complete: false });
        }
    }

    /// Bytes of one direction were lost: frames can no longer be found in it.
    pub fn lose(&mut self, dir: Direction, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        if !self.sides[dir.index()].stopped {
            self.stop(dir, "bytes lost from the stream: HTTP/2 no longer followed".into(), sink);
        }
    }

    /// The connection ended.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        self.flush(Direction::ClientToServer, sink);
        self.flush(Direction::ServerToClient, sink);
    }
}

/// The payload without its padding (PADDED flag: a length byte first, that many bytes at the end).
fn unpad(flags: u8, payload: &[u8]) -> Option<&[u8]> {
    if flags & FLAG_PADDED == 0 {
        return Some(payload);
    }
    let (&pad, rest) = payload.split_first()?;
    rest.get(..rest.len().checked_sub(usize::from(pad))?)
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
    fn request_and_response_with_continuation_padding_and_data() {
        let mut enc = loona_hpack::Encoder::new();
        let req = enc.encode([(&b":method"[..], &b"GET"[..]), (b":path", b"/x"), (b":authority", b"a")]);
        let mut c2s = CLIENT_PREFACE.to_vec();
        c2s.extend(frame(4, 0, 0, &[0, 1, 0, 0, 0x10, 0]));
        c2s.extend(frame(1, FLAG_END_STREAM, 1, &req[..2]));
        c2s.extend(frame(9, FLAG_END_HEADERS, 1, &req[2..]));
        let mut senc = loona_hpack::Encoder::new();
        let res = senc.encode([(&b":status"[..], &b"200"[..]), (b"server", b"t")]);
        let mut s2c = frame(1, FLAG_END_HEADERS | FLAG_PADDED, 1, &[&[3u8][..], &res, &[0, 0, 0]].concat());
        s2c.extend(frame(0, 0, 1, b"hello"));
        s2c.extend(frame(0, FLAG_END_STREAM, 1, b"!"));
        let mut h = Http2::new();
        let mut log = Vec::new();
        for (dir, bytes) in [(Direction::ClientToServer, c2s), (Direction::ServerToClient, s2c)] {
            for b in bytes.chunks(3) {
                h.feed(dir, b, &mut |e| match e {
                    HttpEvent::Message { head, body_len, complete, .. } => log.push(format!(
                        "{} {:?} {body_len} {complete} {}",
                        head.stream,
                        head.start,
                        head.headers.len()
                    )),
                    HttpEvent::Malformed { what, .. } => log.push(what.clone()),
                    _ => {}
                });
            }
        }
        assert_eq!(
            log,
            [
                "1 Request { method: \"GET\", target: \"/x\" } 0 true 3",
                "1 Response { status: 200, reason: \"\" } 6 true 2",
            ]
        );
    }

    #[test]
    fn bad_hpack_and_bad_padding_are_reported_once() {
        let mut h = Http2::new();
        let mut log = Vec::new();
        let mut bytes = frame(1, FLAG_END_HEADERS, 1, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        bytes.extend(frame(1, FLAG_END_HEADERS, 3, &[0x82]));
        bytes.extend(frame(0, FLAG_PADDED, 3, &[9, 1]));
        h.feed(Direction::ClientToServer, &bytes, &mut |e| {
            if let HttpEvent::Malformed { what, .. } = e {
                log.push(what.clone())
            }
        });
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log[0].starts_with("HPACK"));
    }
}
