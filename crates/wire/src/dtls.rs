//! The DTLS wire format (RFC 6347; RFC 4347 and OpenSSL's pre-RFC 0x0100 alike): the record header with
//! its epoch and sequence number, the handshake fragment header, and DTLS 1.3's unified header (RFC 9147
//! 4), as zero-copy views. What the records mean is [`crate::dissect::Dissector::datagram`]'s business.

use crate::codec::Reader;
use crate::handshake::HandshakeType;
use crate::record::{ContentType, ProtocolVersion, RecordHeader};

/// Length of a DTLS 1.0/1.2 record header (type, version, epoch, 48-bit sequence, length).
pub const HEADER_LEN: usize = 13;
/// Length of a DTLS handshake message header (type, length, message_seq, fragment_offset, fragment_length).
pub const HS_HEADER_LEN: usize = 12;

/// Whether a datagram begins with a DTLS record: a plaintext header with a DTLS version, or a DTLS 1.3
/// unified header (first bits 001) after one has been seen.
pub fn looks_like_dtls(datagram: &[u8]) -> bool {
    let mut r = Reader::new(datagram);
    let (Some(content_type), Some(version)) = (r.u8(), r.u16()) else { return false };
    // Content types 20 (change_cipher_spec) to 25 (tls12_cid, RFC 9146).
    (20..=25).contains(&content_type) && ProtocolVersion::new(version).is_dtls() && datagram.len() >= HEADER_LEN
}

/// Whether a datagram on a DTLS flow is DTLS at all: RFC 7983 demultiplexes DTLS (first byte 20 to 63) from
/// STUN, ZRTP, TURN channels and RTP sharing the 5-tuple (as WebRTC does).
pub fn is_dtls_datagram(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| (20..=63).contains(b))
}

/// A DTLS 1.0/1.2 record header (RFC 6347 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtlsRecordHeader {
    /// The content type.
    pub content_type: ContentType,
    /// The record-layer version (0xfeff, 0xfefd, or 0x0100).
    pub version: ProtocolVersion,
    /// The cipher state's epoch: 0 until the sender's ChangeCipherSpec, then incremented at each.
    pub epoch: u16,
    /// The 48-bit sequence number within the epoch.
    pub sequence: u64,
    /// Length of the fragment that follows the header.
    pub length: u16,
}

impl DtlsRecordHeader {
    /// Reads a header from the first thirteen bytes, if there are thirteen.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        Some(Self {
            content_type: ContentType::new(r.u8()?),
            version: ProtocolVersion::new(r.u16()?),
            epoch: r.u16()?,
            sequence: r.u48()?,
            length: r.u16()?,
        })
    }

    /// The 64-bit number that the MAC and AEAD inputs take in place of TLS's implicit sequence number:
    /// `epoch << 48 | sequence` (RFC 6347 4.1.2.1).
    pub fn record_sequence(&self) -> u64 {
        (u64::from(self.epoch) << 48) | self.sequence
    }

    /// The fields a TLS record header shares with this one.
    pub fn tls_header(&self) -> RecordHeader {
        RecordHeader { content_type: self.content_type, version: self.version, length: self.length }
    }
}

/// The length of the DTLS 1.3 ciphertext record (unified header, RFC 9147 4) at the start of `rest`, if it
/// starts with one (first bits 001). With a connection ID (of a length only the endpoints know) or no length
/// field, the record runs to the end of the datagram.
pub fn unified_record_len(rest: &[u8]) -> Option<usize> {
    let mut r = Reader::new(rest);
    let flags = r.u8()?;
    if flags & 0xe0 != 0x20 {
        return None;
    }
    let (has_cid, long_seq, has_len) = (flags & 0x10 != 0, flags & 0x08 != 0, flags & 0x04 != 0);
    if has_cid || !has_len {
        return Some(rest.len());
    }
    let (Some(_sequence), Some(length)) = (r.take(if long_seq { 2 } else { 1 }), r.u16()) else {
        return Some(rest.len());
    };
    Some((rest.len() - r.left() + usize::from(length)).min(rest.len()))
}

/// One handshake message fragment (RFC 6347 4.2.2), borrowed from its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeFragment<'a> {
    /// The message's type.
    pub msg_type: HandshakeType,
    /// The whole message's length.
    pub length: usize,
    /// The message's number in the sender's handshake (retransmissions repeat it).
    pub message_seq: u16,
    /// Where this fragment's bytes start in the message body.
    pub offset: usize,
    /// This fragment's bytes of the body.
    pub body: &'a [u8],
    /// The header and bytes as sent.
    pub raw: &'a [u8],
}

impl<'a> HandshakeFragment<'a> {
    /// Reads the fragment at the start of `r`; `None` (and `r` unchanged or partly read) when it is truncated.
    pub fn read(r: &mut Reader<'a>) -> Option<Self> {
        let start = r.rest();
        let msg_type = HandshakeType::new(r.u8()?);
        let length = r.u24()?;
        let message_seq = r.u16()?;
        let offset = r.u24()?;
        let fragment_length = r.u24()?;
        let body = r.take(fragment_length)?;
        Some(Self { msg_type, length, message_seq, offset, body, raw: &start[..HS_HEADER_LEN + body.len()] })
    }

    /// Whether the fragment is the whole message (offset 0, every byte): its `raw` is then the message in
    /// the form the handshake hash takes it.
    pub fn is_whole(&self) -> bool {
        self.offset == 0 && self.body.len() == self.length
    }

    /// Whether the fragment lies within its message.
    pub fn fits(&self) -> bool {
        self.offset.checked_add(self.body.len()).is_some_and(|end| end <= self.length)
    }
}

/// The 12-byte header of a whole message of this type, length and number (fragment offset 0, fragment
/// length the whole): what a reassembled message is hashed and read with.
pub fn whole_message_header(msg_type: HandshakeType, length: usize, message_seq: u16) -> [u8; HS_HEADER_LEN] {
    let mut h = [0u8; HS_HEADER_LEN];
    let len = (length as u32).to_be_bytes();
    h[0] = msg_type.value();
    h[1..4].copy_from_slice(&len[1..]);
    h[4..6].copy_from_slice(&message_seq.to_be_bytes());
    h[9..12].copy_from_slice(&len[1..]);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_header_and_sequence() {
        let h = DtlsRecordHeader::parse(&[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 1, 2, 0, 40]).unwrap();
        assert_eq!(
            (h.content_type, h.version, h.epoch, h.sequence, h.length),
            (ContentType::ApplicationData, ProtocolVersion::DTLSv1_2, 1, 0x102, 40)
        );
        assert_eq!(h.record_sequence(), 0x0001_0000_0000_0102);
        assert!(DtlsRecordHeader::parse(&[23, 0xfe, 0xfd, 0, 1]).is_none());
    }

    #[test]
    fn fragments_and_whole_messages() {
        // ServerHelloDone (empty), then 3 bytes at offset 2 of a 9-byte Certificate, then a truncated one.
        let bytes = [
            14, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, //
            11, 0, 0, 9, 0, 2, 0, 0, 2, 0, 0, 3, 7, 8, 9, //
            11, 0, 0, 9, 0, 2, 0, 0, 5, 0, 0, 4, 1,
        ];
        let mut r = Reader::new(&bytes);
        let done = HandshakeFragment::read(&mut r).unwrap();
        assert!(done.is_whole() && done.fits() && done.message_seq == 4 && done.raw.len() == HS_HEADER_LEN);
        assert_eq!(done.raw, whole_message_header(HandshakeType::ServerHelloDone, 0, 4));
        let cert = HandshakeFragment::read(&mut r).unwrap();
        assert_eq!(
            (cert.msg_type, cert.length, cert.offset, cert.body),
            (HandshakeType::Certificate, 9, 2, &[7, 8, 9][..])
        );
        assert!(!cert.is_whole() && cert.fits());
        assert!(HandshakeFragment::read(&mut r).is_none());
    }

    #[test]
    fn unified_header_lengths() {
        // 001 C=0 S=1 L=1 EE: 2-byte sequence, 2-byte length 3, then 3 bytes, then another record.
        assert_eq!(unified_record_len(&[0x2c, 0, 1, 0, 3, 9, 9, 9, 0x2c]), Some(8));
        assert_eq!(unified_record_len(&[0x30, 1, 2, 3]), Some(4), "connection ID: to the end");
        assert_eq!(unified_record_len(&[22, 0xfe, 0xfd]), None);
        assert!(is_dtls_datagram(&[22]) && !is_dtls_datagram(&[0, 1]) && !is_dtls_datagram(&[]));
    }
}
