//! The response body of the file service: nothing, one buffer, or a file streamed in chunks.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::{Frame, SizeHint};

/// How much of a file one frame carries: large enough for few syscalls, small enough to bound memory.
pub(crate) const CHUNK_SIZE: usize = 64 * 1024;

/// A response body: empty, one in-memory buffer, or a sequence of buffers and file ranges.
///
/// Files are never read whole into memory: each frame is one positional read of at most 64 KiB.
/// Reads are synchronous `pread`s on the polling thread (as nginx does without aio): from the page
/// cache that costs microseconds, less than a hop to a blocking pool, and it works the same in a
/// multi-thread and a current-thread tokio runtime.
#[derive(Debug)]
pub struct Body {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Empty,
    Full(Option<Bytes>),
    Stream(Box<Stream>),
}

/// A sequence of segments, some of them ranges of one open file.
#[derive(Debug)]
struct Stream {
    file: Option<File>,
    segments: VecDeque<Segment>,
    remaining: u64,
}

/// One piece of a streamed body.
#[derive(Debug)]
pub(crate) enum Segment {
    /// Bytes already in memory (a multipart header, or a slice of a cached file).
    Bytes(Bytes),
    /// `len` bytes of the stream's file from `offset`.
    File { offset: u64, len: u64 },
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Bytes(b) => b.len() as u64,
            Segment::File { len, .. } => *len,
        }
    }
}

impl Body {
    /// A body of one buffer, sent as one frame.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Self::empty();
        }
        Body { kind: Kind::Full(Some(bytes)) }
    }

    /// A body with no bytes.
    pub fn empty() -> Self {
        Body { kind: Kind::Empty }
    }

    /// `len` bytes of `file` from `offset`, read in chunks as the connection asks for them.
    pub(crate) fn file_range(file: File, offset: u64, len: u64) -> Self {
        Self::segments(Some(file), VecDeque::from([Segment::File { offset, len }]))
    }

    /// A sequence of segments; file segments read from `file`.
    pub(crate) fn segments(file: Option<File>, segments: VecDeque<Segment>) -> Self {
        let remaining = segments.iter().map(Segment::len).sum();
        if remaining == 0 {
            return Self::empty();
        }
        Body { kind: Kind::Stream(Box::new(Stream { file, segments, remaining })) }
    }

    /// Whether this body holds an open file (a descriptor) until it ends.
    pub fn holds_file(&self) -> bool {
        matches!(&self.kind, Kind::Stream(s) if s.file.is_some())
    }

    /// Exact number of bytes left to send.
    pub fn remaining(&self) -> u64 {
        match &self.kind {
            Kind::Empty | Kind::Full(None) => 0,
            Kind::Full(Some(b)) => b.len() as u64,
            Kind::Stream(s) => s.remaining,
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self::full(bytes)
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Self::full(s)
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Self::full(Bytes::from_static(s.as_bytes()))
    }
}

impl Stream {
    /// The next frame's bytes, or None at the end.
    fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            let segment = self.segments.front_mut()?;
            match segment {
                Segment::Bytes(b) => {
                    let b = std::mem::take(b);
                    self.segments.pop_front();
                    if b.is_empty() {
                        continue;
                    }
                    self.remaining = self.remaining.saturating_sub(b.len() as u64);
                    return Some(Ok(b));
                }
                Segment::File { offset, len } => {
                    if *len == 0 {
                        self.segments.pop_front();
                        continue;
                    }
                    let Some(file) = self.file.as_ref() else {
                        return Some(Err(io::Error::other("file segment without a file")));
                    };
                    let want = (*len).min(CHUNK_SIZE as u64) as usize;
                    let mut buf = BytesMut::with_capacity(want);
                    let n = match pread_into(file, &mut buf, want, *offset) {
                        Ok(0) => {
                            // The file shrank under us: the promised length can no longer be honoured.
                            return Some(Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "file truncated while sent",
                            )));
                        }
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Some(Err(e)),
                    };
                    *offset += n as u64;
                    *len -= n as u64;
                    self.remaining = self.remaining.saturating_sub(n as u64);
                    if *len == 0 {
                        self.segments.pop_front();
                    }
                    return Some(Ok(buf.freeze()));
                }
            }
        }
    }
}

/// Reads up to `want` bytes of `file` at `offset` into the spare capacity of `buf` (at least `want`),
/// without zeroing it first: at 64 KiB a chunk, clearing the buffer would cost a sizeable share of
/// what encrypting it does.
fn pread_into(file: &File, buf: &mut BytesMut, want: usize, offset: u64) -> io::Result<usize> {
    let want = want.min(buf.capacity() - buf.len());
    let offset = libc::off_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let spare = buf.spare_capacity_mut();
    // SAFETY: `spare` is valid for writes of `want` bytes (bounded by the spare capacity above), and
    // the descriptor is open for as long as `file` is borrowed.
    let n = unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), want, offset) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    // SAFETY: pread initialized the first `n` bytes of the spare capacity (n <= want).
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let frame = match &mut self.kind {
            Kind::Empty => None,
            Kind::Full(b) => b.take().map(|b| Ok(Frame::data(b))),
            Kind::Stream(s) => {
                let next = s.next_chunk().map(|r| r.map(Frame::data));
                if next.is_none() {
                    s.file = None;
                }
                next
            }
        };
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining())
    }
}
