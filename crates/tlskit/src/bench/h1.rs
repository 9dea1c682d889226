//! The bench's own HTTP/1.1 keep-alive client codec, for the hot path: the request bytes are
//! built once per URL ([`request_bytes`]), the response head is parsed in place with `httparse`
//! (headers on the stack), and the body (Content-Length, chunked, or until close) is read and
//! dropped without being copied anywhere else. No allocation per request.

use std::io;

use http::{HeaderMap, Method};
use tlskit_wire::http::h1::{ends_in_chunked, response_framing, BodyFraming};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Read buffer size; a response head must fit in it.
const BUF: usize = 16 * 1024;
/// Response headers parsed at most.
const MAX_HEADERS: usize = 64;

/// The request as it goes on the wire: request line, headers, blank line, body.
pub(crate) fn request_bytes(method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() && !headers.contains_key(http::header::CONTENT_LENGTH) {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Why an exchange failed.
#[derive(Debug)]
pub(crate) enum H1Error {
    /// The connection ended before any byte of the response, on a connection that had
    /// already answered: the server closed it while idle (the request is retried elsewhere).
    IdleClose,
    /// The stream failed (TLS, reset, early close: `UnexpectedEof`).
    Io(io::Error),
    /// The response is not HTTP/1.1 as we read it.
    Malformed,
}

impl From<io::Error> for H1Error {
    fn from(e: io::Error) -> Self {
        H1Error::Io(e)
    }
}

/// One HTTP/1.1 connection: the stream and a read buffer of `BUF` bytes.
pub(crate) struct H1Conn<S> {
    io: S,
    buf: Box<[u8]>,
    /// Unconsumed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// Responses read on this connection.
    answered: u64,
    /// The server said `Connection: close`, or the stream failed: no further request.
    pub closed: bool,
}

impl<S> std::fmt::Debug for H1Conn<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H1Conn").field("answered", &self.answered).field("closed", &self.closed).finish()
    }
}

/// How the body of a response is delimited.
enum Body {
    Length(u64),
    Chunked,
    UntilClose,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Conn<S> {
    /// A codec on an open stream.
    pub(crate) fn new(io: S) -> Self {
        H1Conn { io, buf: vec![0; BUF].into_boxed_slice(), start: 0, end: 0, answered: 0, closed: false }
    }

    /// Read more bytes after `end`, compacting first if the buffer is full. 0 means EOF.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() {
            if self.start == 0 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "response head too large"));
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = self.io.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// Like [`Self::fill`], but EOF is an error (the response is incomplete).
    async fn fill_more(&mut self) -> Result<(), H1Error> {
        match self.fill().await {
            Ok(0) => Err(H1Error::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(H1Error::Malformed),
            Err(e) => Err(e.into()),
        }
    }

    /// Send `request` and read the response; `on_head` is called when its head is in (for the
    /// time to first byte). Returns the status code. `head_only` for HEAD requests (no body).
    pub(crate) async fn exchange(
        &mut self,
        request: &[u8],
        head_only: bool,
        mut on_head: impl FnMut(),
    ) -> Result<u16, H1Error> {
        let result = self.exchange_inner(request, head_only, &mut on_head).await;
        if result.is_err() {
            self.closed = true;
        }
        result
    }

    async fn exchange_inner(
        &mut self,
        request: &[u8],
        head_only: bool,
        on_head: &mut impl FnMut(),
    ) -> Result<u16, H1Error> {
        self.io.write_all(request).await?;
        self.io.flush().await?;
        loop {
            let (status, body, consumed, close) = loop {
                if self.end > self.start {
                    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                    let mut resp = httparse::Response::new(&mut headers);
                    match resp.parse(&self.buf[self.start..self.end]) {
                        Ok(httparse::Status::Complete(n)) => {
                            let (body, close) = delimit(&resp, head_only).ok_or(H1Error::Malformed)?;
                            break (resp.code.unwrap_or(0), body, n, close);
                        }
                        Ok(httparse::Status::Partial) => {}
                        Err(_) => return Err(H1Error::Malformed),
                    }
                }
                let fresh = self.start == self.end;
                match self.fill().await {
                    Ok(0) if fresh && self.answered > 0 => return Err(H1Error::IdleClose),
                    Ok(0) => return Err(H1Error::Io(io::ErrorKind::UnexpectedEof.into())),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::InvalidData => return Err(H1Error::Malformed),
                    Err(e) if fresh && self.answered > 0 && e.kind() == io::ErrorKind::ConnectionReset => {
                        return Err(H1Error::IdleClose)
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            self.start += consumed;
            if (100..200).contains(&status) && status != 101 {
                // An interim response (100 Continue, 103 Early Hints): the real one follows.
                continue;
            }
            on_head();
            match body {
                Body::Length(n) => self.skip(n).await?,
                Body::Chunked => self.skip_chunked().await?,
                Body::UntilClose => {
                    self.start = self.end;
                    while self.fill().await? > 0 {
                        self.start = self.end;
                    }
                    self.closed = true;
                }
            }
            if close {
                self.closed = true;
            }
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            }
            self.answered += 1;
            return Ok(status);
        }
    }

    /// Drop `n` body bytes.
    async fn skip(&mut self, mut n: u64) -> Result<(), H1Error> {
        loop {
            let have = (self.end - self.start) as u64;
            if have >= n {
                self.start += n as usize;
                return Ok(());
            }
            n -= have;
            self.start = 0;
            self.end = 0;
            self.fill_more().await?;
        }
    }

    /// Drop a chunked body, trailers included.
    async fn skip_chunked(&mut self) -> Result<(), H1Error> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.start += used;
                        break size;
                    }
                    Ok(httparse::Status::Partial) => self.fill_more().await?,
                    Err(_) => return Err(H1Error::Malformed),
                }
            };
            if size == 0 {
                // Trailer lines, then the blank line.
                loop {
                    match memchr_crlf(&self.buf[self.start..self.end]) {
                        Some(0) => {
                            self.start += 2;
                            return Ok(());
                        }
                        Some(line) => self.start += line + 2,
                        None => self.fill_more().await?,
                    }
                }
            }
            self.skip(size).await?;
            while self.end - self.start < 2 {
                self.fill_more().await?;
            }
            if &self.buf[self.start..self.start + 2] != b"\r\n" {
                return Err(H1Error::Malformed);
            }
            self.start += 2;
        }
    }
}

/// Where the next CRLF starts in `bytes`.
fn memchr_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

/// The body's delimitation and whether the server closes after it; None when malformed.
fn delimit(resp: &httparse::Response<'_, '_>, head_only: bool) -> Option<(Body, bool)> {
    let status = resp.code?;
    let mut length = None;
    let mut chunked = false;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = std::str::from_utf8(h.value).ok()?.trim().parse().ok()?;
            if length.is_some_and(|l| l != n) {
                return None;
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = ends_in_chunked(h.value);
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = h.value;
            if v.split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close")) {
                close = true;
            } else if v.split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"keep-alive")) {
                close = false;
            }
        }
    }
    let method = if head_only { "HEAD" } else { "GET" };
    let body = match response_framing(status, method, chunked, length) {
        BodyFraming::None => Body::Length(0),
        BodyFraming::Length(n) => Body::Length(n),
        BodyFraming::Chunked => Body::Chunked,
        BodyFraming::UntilClose => Body::UntilClose,
    };
    Some((body, close))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(response: &[u8], head_only: bool) -> (Result<u16, H1Error>, bool, Vec<u8>) {
        let (client, mut server) = tokio::io::duplex(64);
        let response = response.to_vec();
        let serve = tokio::spawn(async move {
            let mut got = vec![0; 18];
            server.read_exact(&mut got).await.unwrap();
            // Trickle the response to exercise partial reads.
            for piece in response.chunks(7) {
                server.write_all(piece).await.unwrap();
            }
            got
        });
        let mut conn = H1Conn::new(client);
        let mut heads = 0;
        let result = conn.exchange(b"GET / HTTP/1.1\r\n\r\n", head_only, || heads += 1).await;
        let got = serve.await.unwrap();
        assert!(result.is_err() || heads == 1);
        (result, conn.closed, got)
    }

    #[tokio::test]
    async fn reads_length_chunked_and_close_delimited_bodies() {
        let (r, closed, got) = run(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false).await;
        assert_eq!(r.unwrap(), 200);
        assert!(!closed);
        assert_eq!(got, b"GET / HTTP/1.1\r\n\r\n");
        let chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n";
        assert_eq!(run(chunked, false).await.0.unwrap(), 404);
        let (r, closed, _) =
            run(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 E\r\nConnection: close\r\n\r\nbody", false).await;
        assert_eq!(r.unwrap(), 500);
        assert!(closed);
        let (r, closed, _) = run(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true).await;
        assert_eq!(r.unwrap(), 200);
        assert!(!closed);
    }

    #[tokio::test]
    async fn bad_and_short_responses_fail() {
        assert!(matches!(run(b"NOT HTTP\r\n\r\n", false).await.0, Err(H1Error::Malformed)));
        let short = run(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc", false).await;
        assert!(matches!(short.0, Err(H1Error::Io(ref e)) if e.kind() == io::ErrorKind::UnexpectedEof));
        assert!(short.1);
        let bad_len = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert!(matches!(run(bad_len, false).await.0, Err(H1Error::Malformed)));
    }

    #[test]
    fn request_bytes_are_the_wire_form() {
        let mut h = HeaderMap::new();
        h.insert(http::header::HOST, "a:1".parse().unwrap());
        assert_eq!(request_bytes(&Method::GET, "/x?y", &h, b""), b"GET /x?y HTTP/1.1\r\nhost: a:1\r\n\r\n");
        assert_eq!(
            request_bytes(&Method::POST, "/", &h, b"abc"),
            b"POST / HTTP/1.1\r\nhost: a:1\r\ncontent-length: 3\r\n\r\nabc"
        );
    }
}
