//! Streaming reader for capture files: pcap (both byte orders, micro- and
//! nanosecond) and pcapng (several interfaces, Decryption Secrets Blocks),
//! optionally gzip-compressed. Memory stays bounded whatever the file's size:
//! pcap is read in 2 MiB blocks whose packets are handed out in place, pcapng
//! one block at a time.

use std::io::{BufReader, Read};

use super::Timestamp;

/// Why a capture file could not be read (further).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("cannot read capture: {0}")]
    Io(#[from] std::io::Error),
    /// The first bytes are neither pcap nor pcapng.
    #[error("not a pcap or pcapng file (magic {0:08x})")]
    BadMagic(u32),
    /// The file ends in the middle of a block or packet.
    #[error("capture truncated at byte offset {offset}: {what}")]
    Truncated {
        /// Offset (in the uncompressed stream) of the incomplete block.
        offset: u64,
        /// What was being read.
        what: &'static str,
    },
    /// A block's framing is invalid.
    #[error("corrupt capture at byte offset {offset}: {what}")]
    Corrupt {
        /// Offset of the bad block.
        offset: u64,
        /// What is wrong.
        what: String,
    },
}

/// One item of a capture file.
#[derive(Debug)]
pub enum Block<'a> {
    /// A captured frame.
    Packet {
        /// Link-layer type (DLT/LINKTYPE number) of the frame's interface.
        linktype: u32,
        /// Capture time.
        ts: Timestamp,
        /// The captured bytes (possibly shorter than the original frame).
        data: &'a [u8],
    },
    /// The text of an NSS key log embedded in a pcapng Decryption Secrets Block.
    TlsKeyLog(&'a [u8]),
}

enum Item {
    Eof,
    Skip,
    Packet { linktype: u32, ts: Timestamp, range: std::ops::Range<usize> },
    KeyLog(std::ops::Range<usize>),
}

enum Format {
    Pcap { big_endian: bool, nanos: bool, linktype: u32 },
    PcapNg { big_endian: bool, interfaces: Vec<Interface> },
}

#[derive(Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
}

/// A capture file reader: call [`CaptureReader::next_block`] until it returns `Ok(None)`.
pub struct CaptureReader {
    input: Box<dyn Read + Send>,
    format: Format,
    buf: Vec<u8>,
    offset: u64,
    /// pcap: bytes read ahead from the input; `block[at..end]` not yet parsed.
    block: Vec<u8>,
    at: usize,
    end: usize,
}

/// How much a pcap file is read at a time once it has proved long: more than the input's BufReader, which then
/// steps aside (no copy).
const READ_BLOCK: usize = 2 << 20;

/// The first read block: the block doubles at each refill up to [`READ_BLOCK`], so a small capture does not
/// pay for zeroing 2 MiB (a thousand times its size) and a long one reaches full-size reads in six refills.
const FIRST_BLOCK: usize = 64 << 10;

/// Upper bound for one block: protects against a corrupt length asking for gigabytes.
const MAX_BLOCK: usize = 64 << 20;

impl CaptureReader {
    /// Opens a file; `.gz` (by magic, not name) is decompressed on the fly.
    pub fn open(path: &std::path::Path) -> Result<Self, CaptureError> {
        let file = std::fs::File::open(path)?;
        Self::new(Box::new(file))
    }

    /// Reads from any byte source.
    pub fn new(input: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let mut input = BufReader::with_capacity(1 << 20, input);
        let mut magic = [0u8; 4];
        read_exact_or(&mut input, &mut magic, 0, "file header")?;
        let mut input: Box<dyn Read + Send> = if magic[..2] == [0x1f, 0x8b] {
            let chained = std::io::Cursor::new(magic.to_vec()).chain(input);
            let mut gz = BufReader::with_capacity(1 << 20, flate2::read::MultiGzDecoder::new(chained));
            read_exact_or(&mut gz, &mut magic, 0, "file header")?;
            Box::new(gz)
        } else {
            Box::new(input)
        };
        let m = u32::from_le_bytes(magic);
        let mut reader = Self {
            input: Box::new(std::io::empty()),
            format: Format::PcapNg { big_endian: false, interfaces: vec![] },
            buf: Vec::new(),
            offset: 4,
            block: Vec::new(),
            at: 0,
            end: 0,
        };
        match m {
            0xa1b2c3d4 | 0xa1b23c4d | 0xd4c3b2a1 | 0x4d3cb2a1 => {
                let big_endian = matches!(m, 0xd4c3b2a1 | 0x4d3cb2a1);
                let nanos = matches!(m, 0xa1b23c4d | 0x4d3cb2a1);
                let mut rest = [0u8; 20];
                read_exact_or(&mut input, &mut rest, 4, "pcap file header")?;
                let linktype = u32_at(&rest, 16, big_endian) & 0x0fff_ffff;
                reader.format = Format::Pcap { big_endian, nanos, linktype };
                reader.offset = 24;
            }
            0x0a0d0d0a => {
                // Section header: length, then the byte-order magic tells the endianness.
                let mut head = [0u8; 8];
                read_exact_or(&mut input, &mut head, 4, "pcapng section header")?;
                let big_endian = match u32::from_le_bytes([head[4], head[5], head[6], head[7]]) {
                    0x1a2b3c4d => false,
                    0x4d3c2b1a => true,
                    other => return Err(CaptureError::BadMagic(other)),
                };
                let total = u32_at(&head, 0, big_endian) as usize;
                if !(28..=MAX_BLOCK).contains(&total) {
                    return Err(CaptureError::Corrupt { offset: 0, what: format!("section header length {total}") });
                }
                let mut rest = Vec::new();
                read_len_or(&mut input, &mut rest, total - 12, 12, "pcapng section header")?;
                reader.format = Format::PcapNg { big_endian, interfaces: Vec::new() };
                reader.offset = total as u64;
            }
            other => return Err(CaptureError::BadMagic(u32::from_be_bytes(other.to_le_bytes()))),
        }
        reader.input = input;
        Ok(reader)
    }

    /// The next packet or embedded key log; `Ok(None)` at a clean end of file.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, CaptureError> {
        match self.format {
            Format::Pcap { big_endian, nanos, linktype } => {
                // Zero-copy: records are parsed in place in a large block read straight from the input.
                let start = self.offset;
                if !self.window(16)? {
                    if self.end == self.at {
                        return Ok(None);
                    }
                    return Err(CaptureError::Truncated { offset: start, what: "packet record header" });
                }
                let head = self.block.get(self.at..self.at + 16).unwrap_or_default();
                let secs = u32_at(head, 0, big_endian) as u64;
                let frac = u32_at(head, 4, big_endian) as u64;
                let caplen = u32_at(head, 8, big_endian) as usize;
                if caplen > MAX_BLOCK {
                    return Err(CaptureError::Corrupt { offset: start, what: format!("packet length {caplen}") });
                }
                if !self.window(16 + caplen)? {
                    return Err(CaptureError::Truncated { offset: start, what: "packet data" });
                }
                let data_at = self.at + 16;
                self.at = data_at + caplen;
                self.offset += 16 + caplen as u64;
                let nanos_total = secs * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
                let data = self.block.get(data_at..self.at).unwrap_or_default();
                Ok(Some(Block::Packet { linktype, ts: Timestamp(nanos_total), data }))
            }
            Format::PcapNg { .. } => self.next_pcapng_block(),
        }
    }

    fn next_pcapng_block(&mut self) -> Result<Option<Block<'_>>, CaptureError> {
        loop {
            match self.next_pcapng_item()? {
                Item::Eof => return Ok(None),
                Item::Skip => {}
                Item::Packet { linktype, ts, range } => {
                    return Ok(Some(Block::Packet { linktype, ts, data: &self.buf[range] }));
                }
                Item::KeyLog(range) => return Ok(Some(Block::TlsKeyLog(&self.buf[range]))),
            }
        }
    }

    /// One pcapng block, as positions in `self.buf` (keeps the borrow checker out of the loop).
    fn next_pcapng_item(&mut self) -> Result<Item, CaptureError> {
        {
            let Format::PcapNg { big_endian, .. } = self.format else { return Ok(Item::Eof) };
            let start = self.offset;
            let mut head = [0u8; 8];
            if !self.fill_or_eof(&mut head, "block header")? {
                return Ok(Item::Eof);
            }
            let typ = u32_at(&head, 0, big_endian);
            let total = u32_at(&head, 4, big_endian) as usize;
            if typ == 0x0a0d0d0a {
                // A new section may switch byte order: read it from the byte-order magic.
                let mut bom = [0u8; 4];
                read_exact_or(&mut self.input, &mut bom, start, "section header")?;
                self.offset += 4;
                let be = match u32::from_le_bytes(bom) {
                    0x1a2b3c4d => false,
                    0x4d3c2b1a => true,
                    _ => return Err(CaptureError::Corrupt { offset: start, what: "section byte-order magic".into() }),
                };
                let total = u32_at(&head, 4, be) as usize;
                if !(28..=MAX_BLOCK).contains(&total) {
                    return Err(CaptureError::Corrupt { offset: start, what: format!("section length {total}") });
                }
                read_len_or(&mut self.input, &mut self.buf, total - 12, start, "section header")?;
                self.offset += (total - 12) as u64;
                self.format = Format::PcapNg { big_endian: be, interfaces: Vec::new() };
                return Ok(Item::Skip);
            }
            if total < 12 || !total.is_multiple_of(4) || total > MAX_BLOCK {
                return Err(CaptureError::Corrupt { offset: start, what: format!("block length {total}") });
            }
            read_len_or(&mut self.input, &mut self.buf, total - 8, start, "block body")?;
            self.offset += (total - 8) as u64;
            let body_len = total - 12;
            let Format::PcapNg { ref mut interfaces, .. } = self.format else { return Ok(Item::Eof) };
            let body = &self.buf[..body_len];
            match typ {
                1 => {
                    // Interface Description Block: link type and timestamp resolution option.
                    if body.len() < 8 {
                        return Err(CaptureError::Corrupt { offset: start, what: "short interface block".into() });
                    }
                    let linktype = u16_at(body, 0, big_endian) as u32;
                    let units_per_sec = if_tsresol(&body[8..], big_endian);
                    interfaces.push(Interface { linktype, units_per_sec });
                }
                6 | 2 => {
                    if body.len() < 20 {
                        return Err(CaptureError::Corrupt { offset: start, what: "short packet block".into() });
                    }
                    // Enhanced (6) and obsolete (2) packet blocks differ only in the interface id's width.
                    let iface = if typ == 6 {
                        u32_at(body, 0, big_endian) as usize
                    } else {
                        u16_at(body, 0, big_endian) as usize
                    };
                    let (ts_hi, ts_lo, caplen, data_at) = (
                        u32_at(body, 4, big_endian),
                        u32_at(body, 8, big_endian),
                        u32_at(body, 12, big_endian) as usize,
                        20,
                    );
                    let Some(&Interface { linktype, units_per_sec }) = interfaces.get(iface) else {
                        return Err(CaptureError::Corrupt {
                            offset: start,
                            what: format!("packet for undeclared interface {iface}"),
                        });
                    };
                    let Some(data) = body.get(data_at..data_at + caplen) else {
                        return Err(CaptureError::Corrupt {
                            offset: start,
                            what: "packet longer than its block".into(),
                        });
                    };
                    let raw = (ts_hi as u64) << 32 | ts_lo as u64;
                    let ts = Timestamp(to_nanos(raw, units_per_sec));
                    return Ok(Item::Packet { linktype, ts, range: data_at..data_at + data.len() });
                }
                3 => {
                    // Simple Packet Block: interface 0, no timestamp.
                    let linktype = interfaces.first().map_or(1, |i| i.linktype);
                    let orig = if body.len() >= 4 { u32_at(body, 0, big_endian) as usize } else { 0 };
                    let caplen = orig.min(body.len().saturating_sub(4));
                    return Ok(Item::Packet { linktype, ts: Timestamp(0), range: 4..4 + caplen });
                }
                // Decryption Secrets Block: 'TLSK' carries an NSS key log.
                0x0a if body.len() >= 8 => {
                    let secrets_type = u32_at(body, 0, big_endian);
                    let len = u32_at(body, 4, big_endian) as usize;
                    if secrets_type == 0x544c_534b && self.buf.len() >= 8 + len {
                        return Ok(Item::KeyLog(8..8 + len));
                    }
                }
                // Statistics, name resolution, custom blocks: nothing to show.
                _ => {}
            }
            Ok(Item::Skip)
        }
    }

    /// Makes at least `n` unread bytes available in `block[at..end]`, reading large chunks; `Ok(false)` if the
    /// input ends first.
    fn window(&mut self, n: usize) -> Result<bool, CaptureError> {
        if self.end - self.at >= n {
            return Ok(true);
        }
        self.block.copy_within(self.at..self.end, 0);
        self.end -= self.at;
        self.at = 0;
        let grown = (self.block.len() * 2).clamp(FIRST_BLOCK, READ_BLOCK);
        if self.block.len() < grown {
            self.block.resize(grown, 0);
        }
        while self.end < n {
            // Past the read size, grow only as bytes arrive: a corrupt length must not allocate before its data.
            if self.end == self.block.len() {
                self.block.resize((self.block.len() * 2).min(n), 0);
            }
            match self.input.read(&mut self.block[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(got) => self.end += got,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    /// Reads exactly `buf.len()` bytes; `Ok(false)` at a clean end of input.
    fn fill_or_eof(&mut self, buf: &mut [u8], what: &'static str) -> Result<bool, CaptureError> {
        let mut got = 0;
        while got < buf.len() {
            match self.input.read(&mut buf[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => return Err(CaptureError::Truncated { offset: self.offset, what }),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.offset += buf.len() as u64;
        Ok(true)
    }
}

/// Reads exactly `len` bytes into `buf` (replacing its contents), growing it as the bytes arrive, so that a
/// corrupt length costs memory only for the data that is really there.
fn read_len_or(
    input: &mut dyn Read,
    buf: &mut Vec<u8>,
    len: usize,
    offset: u64,
    what: &'static str,
) -> Result<(), CaptureError> {
    buf.clear();
    input.take(len as u64).read_to_end(buf).map_err(CaptureError::Io)?;
    if buf.len() < len {
        return Err(CaptureError::Truncated { offset, what });
    }
    Ok(())
}

fn read_exact_or(input: &mut dyn Read, buf: &mut [u8], offset: u64, what: &'static str) -> Result<(), CaptureError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => CaptureError::Truncated { offset, what },
        _ => CaptureError::Io(e),
    })
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big_endian {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let v = [b[at], b[at + 1]];
    if big_endian {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

/// The if_tsresol option of an interface block (default: microseconds).
fn if_tsresol(mut opts: &[u8], big_endian: bool) -> u64 {
    while opts.len() >= 4 {
        let code = u16_at(opts, 0, big_endian);
        let len = u16_at(opts, 2, big_endian) as usize;
        let padded = (len + 3) & !3;
        if code == 0 {
            break;
        }
        if code == 9 && len >= 1 && opts.len() > 4 {
            let v = opts[4];
            let exp = (v & 0x7f) as u32;
            return if v & 0x80 == 0 { 10u64.checked_pow(exp) } else { 2u64.checked_pow(exp) }.unwrap_or(1_000_000);
        }
        opts = opts.get(4 + padded..).unwrap_or(&[]);
    }
    1_000_000
}

fn to_nanos(raw: u64, units_per_sec: u64) -> u64 {
    if units_per_sec == 1_000_000_000 {
        raw
    } else {
        let secs = raw / units_per_sec.max(1);
        let frac = raw % units_per_sec.max(1);
        secs.saturating_mul(1_000_000_000)
            .saturating_add((frac as u128 * 1_000_000_000 / units_per_sec.max(1) as u128) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(big_endian: bool, nanos: bool, packets: &[&[u8]]) -> Vec<u8> {
        let magic: u32 = if nanos { 0xa1b23c4d } else { 0xa1b2c3d4 };
        let w = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut out = Vec::new();
        out.extend(w(magic));
        out.extend(if big_endian { [0, 2, 0, 4] } else { [2, 0, 4, 0] });
        out.extend(w(0));
        out.extend(w(0));
        out.extend(w(65535));
        out.extend(w(1));
        for p in packets {
            out.extend(w(10));
            out.extend(w(5));
            out.extend(w(p.len() as u32));
            out.extend(w(p.len() as u32));
            out.extend(*p);
        }
        out
    }

    #[test]
    fn reads_pcap_in_both_byte_orders() {
        for (be, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
            let bytes = pcap(be, nanos, &[b"abc", b"de"]);
            let mut r = CaptureReader::new(Box::new(std::io::Cursor::new(bytes))).unwrap();
            match r.next_block().unwrap() {
                Some(Block::Packet { linktype, ts, data }) => {
                    assert_eq!((linktype, data), (1, &b"abc"[..]));
                    assert_eq!(ts.0, 10_000_000_000 + if nanos { 5 } else { 5000 });
                }
                other => panic!("{other:?}"),
            }
            assert!(matches!(r.next_block().unwrap(), Some(Block::Packet { .. })));
            assert!(r.next_block().unwrap().is_none());
        }
    }

    #[test]
    fn truncated_packet_is_reported_with_offset() {
        let mut bytes = pcap(false, false, &[b"abcdef"]);
        bytes.truncate(bytes.len() - 2);
        let mut r = CaptureReader::new(Box::new(std::io::Cursor::new(bytes))).unwrap();
        let err = r.next_block().unwrap_err();
        assert!(matches!(err, CaptureError::Truncated { offset: 24, .. }), "{err}");
    }

    #[test]
    fn corrupt_length_costs_only_the_bytes_present() {
        // A record claiming 60 MiB with 100 bytes behind it: truncated, and the block never grew to the claim.
        let mut bytes = pcap(false, false, &[&[7u8; 100]]);
        bytes[24 + 8..24 + 12].copy_from_slice(&(60u32 << 20).to_le_bytes());
        let mut r = CaptureReader::new(Box::new(std::io::Cursor::new(bytes))).unwrap();
        let err = r.next_block().unwrap_err();
        assert!(matches!(err, CaptureError::Truncated { offset: 24, what: "packet data" }), "{err}");
        assert!(r.block.len() <= READ_BLOCK, "block of {} bytes for 116 present", r.block.len());
    }

    #[test]
    fn packet_longer_than_the_read_block_is_read_whole() {
        let big: Vec<u8> = (0..READ_BLOCK as u32 + 12345).map(|i| (i % 251) as u8).collect();
        let bytes = pcap(true, false, &[b"x", &big, b"yz"]);
        let mut r = CaptureReader::new(Box::new(std::io::Cursor::new(bytes))).unwrap();
        assert!(matches!(r.next_block().unwrap(), Some(Block::Packet { data: b"x", .. })));
        match r.next_block().unwrap() {
            Some(Block::Packet { data, .. }) => assert!(data == &big[..], "the long packet arrived intact"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(r.next_block().unwrap(), Some(Block::Packet { data: b"yz", .. })));
        assert!(r.next_block().unwrap().is_none());
    }

    fn block(typ: u32, body: &[u8]) -> Vec<u8> {
        let padded = (body.len() + 3) & !3;
        let total = (12 + padded) as u32;
        let mut b = typ.to_le_bytes().to_vec();
        b.extend(total.to_le_bytes());
        b.extend(body);
        b.resize(8 + padded, 0);
        b.extend(total.to_le_bytes());
        b
    }

    #[test]
    fn pcapng_with_two_interfaces_and_a_secrets_block() {
        let mut f =
            block(0x0a0d0d0a, &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        // Interface 0: Ethernet, default microseconds. Interface 1: raw IP, if_tsresol = 9 (nanoseconds).
        f.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
        f.extend(block(1, &[101, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]));
        let mut dsb = 0x544c_534bu32.to_le_bytes().to_vec();
        dsb.extend(5u32.to_le_bytes());
        dsb.extend(b"hello");
        f.extend(block(0x0a, &dsb));
        let epb = |iface: u32, ts: u64, data: &[u8]| {
            let mut b = iface.to_le_bytes().to_vec();
            b.extend(((ts >> 32) as u32).to_le_bytes());
            b.extend((ts as u32).to_le_bytes());
            b.extend((data.len() as u32).to_le_bytes());
            b.extend((data.len() as u32).to_le_bytes());
            b.extend(data);
            block(6, &b)
        };
        f.extend(epb(1, 1_500_000_000, b"raw"));
        f.extend(epb(0, 2_000_000, b"eth"));
        let mut r = CaptureReader::new(Box::new(std::io::Cursor::new(f))).unwrap();
        assert!(matches!(r.next_block().unwrap(), Some(Block::TlsKeyLog(b"hello"))));
        match r.next_block().unwrap() {
            Some(Block::Packet { linktype: 101, ts, data: b"raw" }) => assert_eq!(ts.0, 1_500_000_000),
            other => panic!("{other:?}"),
        }
        match r.next_block().unwrap() {
            Some(Block::Packet { linktype: 1, ts, data: b"eth" }) => assert_eq!(ts.0, 2_000_000_000),
            other => panic!("{other:?}"),
        }
        assert!(r.next_block().unwrap().is_none());
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            CaptureReader::new(Box::new(std::io::Cursor::new(b"hello world".to_vec()))),
            Err(CaptureError::BadMagic(_))
        ));
    }
}
