//! Reading TLS's encodings: one checked big-endian [`Reader`] that every parser in the crate uses, the
//! `enum_builder!` macro that gives each registry of protocol numbers its typed enum with names beside the
//! numbers, lists of such numbers read lazily ([`List`]), and the one GREASE test ([`is_grease`]).

mod enum_builder;

use std::marker::PhantomData;

pub(crate) use enum_builder::enum_builder;

/// A big-endian cursor over untrusted bytes: every read is checked and returns `None` past the end.
///
/// ```
/// use tlskit_wire::codec::Reader;
///
/// let mut r = Reader::new(&[0x03, 0x03, 2, 0xaa, 0xbb, 9]);
/// assert_eq!(r.u16(), Some(0x0303));
/// assert_eq!(r.vec8(), Some(&[0xaa, 0xbb][..]));
/// assert_eq!(r.rest(), &[9]);
/// assert_eq!(r.u16(), None);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes not read yet.
    pub fn left(&self) -> usize {
        self.buf.len()
    }

    /// The bytes not read yet (without consuming them).
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }

    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A big-endian 16-bit number.
    pub fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// A big-endian 24-bit number (handshake lengths).
    pub fn u24(&mut self) -> Option<usize> {
        self.take(3).map(|b| (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize)
    }

    /// A big-endian 32-bit number.
    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// A big-endian 48-bit number (DTLS record sequence numbers).
    pub fn u48(&mut self) -> Option<u64> {
        self.take(6).map(|b| b.iter().fold(0u64, |n, &byte| n << 8 | u64::from(byte)))
    }

    /// A vector with a 1-byte length prefix.
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    /// A vector with a 2-byte length prefix.
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    /// A vector with a 3-byte length prefix.
    pub fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }
}

/// A value with a fixed-size wire encoding, read by a [`Reader`] (the typed protocol numbers).
pub trait Codec: Sized + Copy {
    /// Reads one value; `None` when the bytes run out.
    fn read(r: &mut Reader<'_>) -> Option<Self>;
}

impl Codec for u8 {
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        r.u8()
    }
}

impl Codec for u16 {
    fn read(r: &mut Reader<'_>) -> Option<Self> {
        r.u16()
    }
}

/// The items of a TLS vector (its length prefix already read), decoded as they are iterated: no allocation.
/// A trailing partial item is not yielded.
#[derive(Debug, Clone, Copy)]
pub struct List<'a, T> {
    r: Reader<'a>,
    item: PhantomData<T>,
}

impl<'a, T: Codec> List<'a, T> {
    /// The items in `body`.
    pub fn new(body: &'a [u8]) -> Self {
        Self { r: Reader::new(body), item: PhantomData }
    }

    /// An empty list.
    pub fn empty() -> Self {
        Self::new(&[])
    }

    /// The undecoded bytes of the list.
    pub fn bytes(&self) -> &'a [u8] {
        self.r.rest()
    }
}

impl<T: Codec> Iterator for List<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let item = T::read(&mut self.r);
        if item.is_none() {
            self.r = Reader::default();
        }
        item
    }
}

/// Whether a 16-bit value is a GREASE value (RFC 8701): `0x?a?a` with both bytes equal. The one test for
/// GREASE in the crate: versions, cipher suites, extensions, groups and signature schemes all use it.
pub const fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked() {
        let mut r = Reader::new(&[0, 0, 5, 1, 2, 3, 4, 5, 0, 1]);
        assert_eq!(r.vec24(), Some(&[1, 2, 3, 4, 5][..]));
        assert_eq!(r.vec16(), None, "length 1 with nothing after it");
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(r.u48(), Some(0x0102_0304_0506));
        assert!(r.is_empty());
    }

    #[test]
    fn lists_stop_at_a_partial_item() {
        let items: Vec<u16> = List::new(&[0, 1, 0, 2, 9]).collect();
        assert_eq!(items, [1, 2]);
    }

    #[test]
    fn grease() {
        assert!(is_grease(0x1a1a) && is_grease(0xfafa));
        assert!(!is_grease(0x1a2a) && !is_grease(0x0a0b));
    }
}
