//! HTTP/1.x messages (RFC 9112): heads read with `httparse`, bodies framed by Content-Length, chunked
//! transfer coding (followed, trailers skipped) or the connection's end; HEAD, 1xx, 204, 304 and CONNECT
//! answers follow the RFC's rules for which responses have no body.
//!
//! Why not hyper, the server's HTTP engine: hyper runs one side of a connection it takes part in; an
//! analyzer reads both sides of a recorded one, passively, from any byte on and without answering. The heads
//! are read by httparse, the parser hyper itself uses; only body framing is written here.

use std::collections::VecDeque;

use super::{lossy, Head, HttpEvent, HttpVersion, StartLine};
use crate::dissect::Direction;

/// Largest message head kept (request line or status line and header fields).
pub const MAX_HEAD_LEN: usize = 64 * 1024;
/// Most header fields in one head.
const MAX_HEADERS: usize = 256;

#[derive(Debug)]
enum Body {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
}

#[derive(Debug)]
enum Chunked {
    /// Reading a chunk-size line (bytes so far).
    Size(Vec<u8>),
    /// Inside a chunk: bytes left.
    Data(u64),
    /// The CRLF after a chunk's data: bytes left.
    DataEnd(u8),
    /// Trailer lines after the last chunk (the current line so far).
    Trailers(Vec<u8>),
}

#[derive(Debug)]
enum State {
    /// Collecting a head.
    Head,
    /// Inside a body.
    Body { head: Head, body: Body, len: u64 },
    /// Not HTTP any more (a tunnel after CONNECT or an upgrade, malformed bytes, lost bytes).
    Stopped,
}

#[derive(Debug)]
struct Side {
    buf: Vec<u8>,
    state: State,
    /// Messages begun in this direction.
    messages: u64,
}

impl Side {
    fn new() -> Self {
        Self { buf: Vec::new(), state: State::Head, messages: 0 }
    }
}

/// Both directions of an HTTP/1.x connection.
#[derive(Debug)]
pub struct Http1 {
    sides: [Side; 2],
    /// Methods of requests not answered yet (a response's framing depends on its request's method).
    pending: VecDeque<(u64, String)>,
}

impl Default for Http1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Http1 {
    /// A connection's HTTP/1.x, from its first byte.
    pub fn new() -> Self {
        Self { sides: [Side::new(), Side::new()], pending: VecDeque::new() }
    }

    /// The next bytes of one direction.
    pub fn feed(&mut self, dir: Direction, mut data: &[u8], sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        while !data.is_empty() {
            let i = dir.index();
            match self.sides[i].state {
                State::Stopped => return,
                State::Head => {
                    let side = &mut self.sides[i];
                    let had = side.buf.len();
                    side.buf.extend_from_slice(data);
                    match self.head(dir, sink) {
                        Some(used) => data = &data[used.saturating_sub(had)..],
                        None => return,
                    }
                }
                State::Body { .. } => {
                    let used = self.body(dir, data, sink);
                    data = &data[used..];
                }
            }
        }
    }

    /// Tries to read a head from the side's buffer: the bytes of the buffer it used, `None` for "need more"
    /// (or stopped).
    fn head(&mut self, dir: Direction, sink: &mut dyn FnMut(&HttpEvent<'_>)) -> Option<usize> {
        let i = dir.index();
        let buf = std::mem::take(&mut self.sides[i].buf);
        // Tolerate the empty lines a client may send between messages (RFC 9112 §2.2).
        let skip = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let parsed = match dir {
            Direction::ClientToServer => {
                let mut req = httparse::Request::new(&mut fields);
                match req.parse(&buf[skip..]) {
                    Ok(httparse::Status::Complete(used)) => {
                        let start = StartLine::Request {
                            method: req.method.unwrap_or_default().to_string(),
                            target: req.path.unwrap_or_default().to_string(),
                        };
                        Ok(Some((used, start, req.version.unwrap_or(1), headers(req.headers))))
                    }
                    Ok(httparse::Status::Partial) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Direction::ServerToClient => {
                let mut res = httparse::Response::new(&mut fields);
                match res.parse(&buf[skip..]) {
                    Ok(httparse::Status::Complete(used)) => {
                        let start = StartLine::Response {
                            status: res.code.unwrap_or_default(),
                            reason: res.reason.unwrap_or_default().to_string(),
                        };
                        Ok(Some((used, start, res.version.unwrap_or(1), headers(res.headers))))
                    }
                    Ok(httparse::Status::Partial) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        };
        let (used, start, minor, headers) = match parsed {
            Ok(Some(head)) => head,
            Ok(None) if buf.len() <= MAX_HEAD_LEN => {
                self.sides[i].buf = buf;
                return None;
            }
            Ok(None) => {
                self.stop(dir, format!("HTTP/1 head longer than {MAX_HEAD_LEN} bytes"), sink);
                return None;
            }
            Err(e) => {
                self.stop(dir, format!("not an HTTP/1 message head: {e}"), sink);
                return None;
            }
        };
        let used = skip + used;
        let side = &mut self.sides[i];
        side.messages += 1;
        let stream = match dir {
            Direction::ClientToServer => side.messages,
            Direction::ServerToClient => self.pending.front().map_or(side.messages, |(n, _)| *n),
        };
        let head = Head { stream, version: HttpVersion::Http1(minor), start, headers };
        let body = self.framing(&head);
        let Some(body) = body else {
            // No body: the message is complete with its head.
            let tunnel = self.after_head_without_body(dir, &head);
            sink(&HttpEvent::Message { dir, head, body_len: 0, complete: true });
            if tunnel {
                self.sides[i].state = State::Stopped;
            }
            // What followed the head in the buffer is the next message's (or the tunnel's).
            return Some(used);
        };
        if dir == Direction::ServerToClient {
            self.pending.pop_front();
        }
        self.sides[i].state = State::Body { head, body, len: 0 };
        Some(used)
    }

    /// Bookkeeping for a message without a body: returns whether the connection becomes a tunnel.
    fn after_head_without_body(&mut self, dir: Direction, head: &Head) -> bool {
        match (&head.start, dir) {
            (StartLine::Request { method, .. }, _) => {
                self.pending.push_back((head.stream, method.clone()));
                false
            }
            (StartLine::Response { status, .. }, _) => {
                let status = *status;
                if (100..200).contains(&status) && status != 101 {
                    return false; // interim: the request still waits for its final response
                }
                let method = self.pending.pop_front().map(|(_, m)| m).unwrap_or_default();
                status == 101 || (method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&status))
            }
        }
    }

    /// How the body of this message is framed; `None` when it has none.
    fn framing(&mut self, head: &Head) -> Option<Body> {
        let header =
            |name: &'static str| head.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        let chunked = header("transfer-encoding").any(|v| ends_in_chunked(v.as_bytes()));
        let length = header("content-length").next().and_then(|v| v.trim().parse::<u64>().ok());
        match &head.start {
            StartLine::Request { .. } => {
                if chunked {
                    self.pending_request(head);
                    Some(Body::Chunked(Chunked::Size(Vec::new())))
                } else {
                    match length {
                        Some(n) if n > 0 => {
                            self.pending_request(head);
                            Some(Body::Length(n))
                        }
                        _ => None,
                    }
                }
            }
            StartLine::Response { status, .. } => {
                let method = self.pending.front().map(|(_, m)| m.as_str()).unwrap_or_default();
                match response_framing(*status, method, chunked, length) {
                    BodyFraming::None | BodyFraming::Length(0) => None,
                    BodyFraming::Length(n) => Some(Body::Length(n)),
                    BodyFraming::Chunked => Some(Body::Chunked(Chunked::Size(Vec::new()))),
                    BodyFraming::UntilClose => Some(Body::UntilClose),
                }
            }
        }
    }

    fn pending_request(&mut self, head: &Head) {
        if let StartLine::Request { method, .. } = &head.start {
            self.pending.push_back((head.stream, method.clone()));
        }
    }

    /// Body bytes: returns how many of `data` belong to the current body.
    fn body(&mut self, dir: Direction, data: &[u8], sink: &mut dyn FnMut(&HttpEvent<'_>)) -> usize {
        let i = dir.index();
        let State::Body { head, body, len } = &mut self.sides[i].state else { return data.len() };
        let stream = head.stream;
        let mut at = 0;
        let mut done = false;
        let mut bad = None;
        let mut emit = |len: &mut u64, bytes: &[u8]| {
            if !bytes.is_empty() {
                *len += bytes.len() as u64;
                sink(&HttpEvent::Body { dir, stream, data: bytes });
            }
        };
        match body {
            Body::Length(left) => {
                let n = (*left).min(data.len() as u64) as usize;
                emit(len, &data[..n]);
                *left -= n as u64;
                at = n;
                done = *left == 0;
            }
            Body::UntilClose => {
                emit(len, data);
                at = data.len();
            }
            Body::Chunked(state) => {
                while at < data.len() && !done {
                    match state {
                        Chunked::Size(line) => {
                            let Some(nl) = data[at..].iter().position(|&b| b == b'\n') else {
                                line.extend_from_slice(&data[at..]);
                                at = data.len();
                                if line.len() > 1024 {
                                    bad = Some("chunk-size line over 1024 bytes".to_string());
                                }
                                break;
                            };
                            line.extend_from_slice(&data[at..at + nl]);
                            at += nl + 1;
                            let text = String::from_utf8_lossy(line);
                            let size = text.split(';').next().unwrap_or_default().trim();
                            match u64::from_str_radix(size, 16) {
                                Ok(0) => *state = Chunked::Trailers(Vec::new()),
                                Ok(n) => *state = Chunked::Data(n),
                                Err(_) => {
                                    bad = Some(format!("bad chunk size {:?}", crate::text::escape_untrusted(size)));
                                    break;
                                }
                            }
                        }
                        Chunked::Data(left) => {
                            let n = (*left).min((data.len() - at) as u64) as usize;
                            emit(len, &data[at..at + n]);
                            at += n;
                            *left -= n as u64;
                            if *left == 0 {
                                *state = Chunked::DataEnd(2);
                            }
                        }
                        Chunked::DataEnd(left) => {
                            // CRLF (a bare LF is tolerated).
                            if data[at] == b'\n' {
                                *state = Chunked::Size(Vec::new());
                            } else {
                                *left = left.saturating_sub(1);
                            }
                            at += 1;
                        }
                        Chunked::Trailers(line) => {
                            let Some(nl) = data[at..].iter().position(|&b| b == b'\n') else {
                                line.extend_from_slice(&data[at..]);
                                at = data.len();
                                break;
                            };
                            line.extend_from_slice(&data[at..at + nl]);
                            at += nl + 1;
                            if line.iter().all(|&b| b == b'\r') {
                                done = true;
                            } else {
                                line.clear();
                            }
                        }
                    }
                }
            }
        }
        if let Some(what) = bad {
            self.stop(dir, what, sink);
            return data.len();
        }
        if done {
            if let State::Body { head, len, .. } = std::mem::replace(&mut self.sides[i].state, State::Head) {
                sink(&HttpEvent::Message { dir, head, body_len: len, complete: true });
            }
        }
        at
    }

    fn stop(&mut self, dir: Direction, what: String, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        let side = &mut self.sides[dir.index()];
        side.buf = Vec::new();
        if let State::Body { head, len, .. } = std::mem::replace(&mut side.state, State::Stopped) {
            sink(&HttpEvent::Message { dir, head, body_len: len, complete: false });
        }
        sink(&HttpEvent::Malformed { dir, what });
    }

    /// Bytes of one direction were lost: it is no longer followed.
    pub fn lose(&mut self, dir: Direction, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        if !matches!(self.sides[dir.index()].state, State::Stopped) {
            self.stop(dir, "bytes lost from the stream: HTTP no longer followed".into(), sink);
        }
    }

    /// The connection ended.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&HttpEvent<'_>)) {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let side = &mut self.sides[dir.index()];
            if let State::Body { head, body, len } = std::mem::replace(&mut side.state, State::Stopped) {
                let complete = matches!(body, Body::UntilClose);
                sink(&HttpEvent::Message { dir, head, body_len: len, complete });
            }
        }
    }
}

/// How an HTTP/1.1 response's body is delimited (RFC 9112 section 6.3): the one rule `tlskit dump --http` and
/// `tlskit bench`'s client both read responses by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body, whatever the headers say (HEAD, 1xx, 204, 304, a CONNECT tunnel's 2xx).
    None,
    /// Exactly this many bytes (Content-Length).
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// The framing of a response with `status` to a request with `method`, given whether its Transfer-Encoding
/// ends in chunked ([`ends_in_chunked`]) and its Content-Length; chunked wins over a length.
///
/// ```
/// use tlskit_wire::http::h1::{response_framing, BodyFraming};
/// assert_eq!(response_framing(200, "HEAD", false, Some(5)), BodyFraming::None);
/// assert_eq!(response_framing(200, "GET", true, Some(5)), BodyFraming::Chunked);
/// assert_eq!(response_framing(200, "GET", false, None), BodyFraming::UntilClose);
/// ```
pub fn response_framing(status: u16, method: &str, chunked: bool, length: Option<u64>) -> BodyFraming {
    let bodiless = (100..200).contains(&status)
        || status == 204
        || status == 304
        || method.eq_ignore_ascii_case("HEAD")
        || (method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&status));
    match (bodiless, chunked, length) {
        (true, ..) => BodyFraming::None,
        (false, true, _) => BodyFraming::Chunked,
        (false, false, Some(n)) => BodyFraming::Length(n),
        (false, false, None) => BodyFraming::UntilClose,
    }
}

/// Whether a Transfer-Encoding value's last coding is chunked: only then does chunked delimit the message.
pub fn ends_in_chunked(value: &[u8]) -> bool {
    value.split(|&b| b == b',').next_back().is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

fn headers(fields: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    fields.iter().map(|h| (h.name.to_string(), lossy(h.value))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[(Direction, &[u8])]) -> Vec<String> {
        let mut h = Http1::new();
        let mut log = Vec::new();
        for (dir, bytes) in chunks {
            // Byte by byte: framing must not depend on how the stream was cut.
            for b in bytes.iter() {
                h.feed(*dir, std::slice::from_ref(b), &mut |e| {
                    if let HttpEvent::Message { head, body_len, complete, .. } = e {
                        log.push(format!("{} {:?} {body_len} {complete}", head.stream, head.start));
                    }
                });
            }
        }
        h.finish(&mut |e| {
            if let HttpEvent::Message { head, body_len, complete, .. } = e {
                log.push(format!("{} {:?} {body_len} {complete}", head.stream, head.start));
            }
        });
        log
    }

    #[test]
    fn chunked_head_and_keep_alive_in_order() {
        use Direction::*;
        let log = run(&[
            (ClientToServer, b"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nPOST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"),
            (ServerToClient, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
        ]);
        assert_eq!(
            log,
            [
                "1 Request { method: \"HEAD\", target: \"/h\" } 0 true",
                "2 Request { method: \"POST\", target: \"/p\" } 3 true",
                "1 Response { status: 200, reason: \"OK\" } 0 true",
                "2 Response { status: 100, reason: \"Continue\" } 0 true",
                "2 Response { status: 200, reason: \"OK\" } 2 true",
            ]
        );
    }

    #[test]
    fn body_until_close_and_garbage() {
        use Direction::*;
        let log = run(&[
            (ClientToServer, b"GET / HTTP/1.0\r\n\r\n"),
            (ServerToClient, b"HTTP/1.0 200 ok\r\n\r\nbody to the close"),
        ]);
        assert_eq!(log[1], "1 Response { status: 200, reason: \"ok\" } 17 true");
        let mut h = Http1::new();
        let mut malformed = 0;
        h.feed(ClientToServer, b"\x16\x03\x01 not http\r\n\r\n", &mut |e| {
            malformed += matches!(e, HttpEvent::Malformed { .. }) as usize
        });
        assert_eq!(malformed, 1);
    }
}
