//! The TLS record layer: record headers, content types, protocol versions, and
//! the SSLv2-format ClientHello that old clients send as their first record.

use crate::cipher::CipherSuiteId;
use crate::codec::{enum_builder, Reader};

/// Length of a TLS record header (type, version, length).
pub const HEADER_LEN: usize = 5;

/// Largest ciphertext fragment a record may carry (2^14 + 2048, RFC 5246 6.2.3).
pub const MAX_FRAGMENT_LEN: usize = 16384 + 2048;

enum_builder! {
    /// A record's content type (the outer one, or TLS 1.3's inner one once decrypted).
    pub enum ContentType: u8 (unknown "unknown") {
        /// change_cipher_spec (20)
        ChangeCipherSpec = 20 => "change_cipher_spec",
        /// alert (21)
        Alert = 21 => "alert",
        /// handshake (22)
        Handshake = 22 => "handshake",
        /// application_data (23)
        ApplicationData = 23 => "application_data",
        /// heartbeat (24)
        Heartbeat = 24 => "heartbeat",
    }
}

enum_builder! {
    /// A protocol version as it appears on the wire: in record headers, hellos and supported_versions.
    /// (TLS 1.3's drafts, `0x7fXX`, are `Unknown` here.)
    pub enum ProtocolVersion: u16 (unknown "unknown", grease) {
        /// SSL 2.0 (the version of an SSLv2-format ClientHello)
        SSLv2 = 0x0002 => "SSLv2",
        /// SSL 3.0
        SSLv3 = 0x0300 => "SSLv3",
        /// TLS 1.0
        TLSv1_0 = 0x0301 => "TLSv1.0",
        /// TLS 1.1
        TLSv1_1 = 0x0302 => "TLSv1.1",
        /// TLS 1.2
        TLSv1_2 = 0x0303 => "TLSv1.2",
        /// TLS 1.3
        TLSv1_3 = 0x0304 => "TLSv1.3",
        /// DTLS 1.0
        DTLSv1_0 = 0xfeff => "DTLSv1.0",
        /// DTLS 1.2
        DTLSv1_2 = 0xfefd => "DTLSv1.2",
        /// DTLS 1.3
        DTLSv1_3 = 0xfefc => "DTLSv1.3",
    }
}

impl ProtocolVersion {
    /// Whether this is SSL 3.0 or a TLS version (what a TLS record header may carry).
    pub fn is_ssl3_or_tls(self) -> bool {
        use ProtocolVersion::*;
        matches!(self, SSLv3 | TLSv1_0 | TLSv1_1 | TLSv1_2 | TLSv1_3)
    }
}

/// A zero-copy view of one TLS record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The outer content type.
    pub content_type: ContentType,
    /// The record-layer version.
    pub version: ProtocolVersion,
    /// Length of the fragment that follows the header.
    pub length: u16,
}

impl RecordHeader {
    /// Reads a header from the first five bytes, if there are five.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        Some(Self {
            content_type: ContentType::new(r.u8()?),
            version: ProtocolVersion::new(r.u16()?),
            length: r.u16()?,
        })
    }

    /// Whether this header could start a real TLS/SSLv3 record: a known content
    /// type, a 3.x version and a length within the protocol's limit. Used to
    /// recognise TLS by its bytes and to resynchronise after a gap.
    pub fn is_plausible(&self) -> bool {
        let known = matches!(
            self.content_type,
            ContentType::ChangeCipherSpec
                | ContentType::Alert
                | ContentType::Handshake
                | ContentType::ApplicationData
                | ContentType::Heartbeat
        );
        known && self.version.is_ssl3_or_tls() && (self.length as usize) <= MAX_FRAGMENT_LEN
    }
}

/// An SSLv2-format ClientHello (RFC 6101 appendix E.2; RFC 5246 appendix E.2), borrowed from the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sslv2ClientHello<'a> {
    /// Highest version the client offers (SSLv2, SSLv3, TLSv1.0, ...).
    pub version: ProtocolVersion,
    /// The three-byte cipher kinds, undecoded (see [`Self::cipher_specs`]).
    pub cipher_spec_bytes: &'a [u8],
    /// Session ID (usually empty).
    pub session_id: &'a [u8],
    /// Challenge (16..32 bytes), the client random right-aligned in 32 bytes.
    pub challenge: &'a [u8],
}

impl<'a> Sslv2ClientHello<'a> {
    /// Total length of an SSLv2 record if `bytes` starts with a 2-byte SSLv2
    /// header carrying a ClientHello (msg type 1) with a plausible version.
    pub fn record_len(bytes: &[u8]) -> Option<usize> {
        let mut r = Reader::new(bytes);
        let len = r.u16()?;
        let (msg_type, version) = (r.u8()?, ProtocolVersion::new(r.u16()?));
        if len & 0x8000 == 0 || msg_type != 1 {
            return None;
        }
        let len = usize::from(len & 0x7fff);
        use ProtocolVersion::*;
        let plausible = matches!(version, SSLv2 | SSLv3 | TLSv1_0 | TLSv1_1 | TLSv1_2);
        (plausible && len >= 9).then_some(len + 2)
    }

    /// Parses the body of an SSLv2 ClientHello record (starting at the 2-byte header).
    pub fn parse(record: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(record);
        r.take(3)?; // record header, message type
        let version = ProtocolVersion::new(r.u16()?);
        let (spec_len, sid_len, chal_len) = (r.u16()?, r.u16()?, r.u16()?);
        let cipher_spec_bytes = r.take(spec_len.into())?;
        let session_id = r.take(sid_len.into())?;
        let challenge = r.take(chal_len.into())?;
        Some(Self { version, cipher_spec_bytes, session_id, challenge })
    }

    /// The three-byte cipher kinds (SSLv2 kinds have a non-zero first byte).
    pub fn cipher_specs(&self) -> impl Iterator<Item = u32> + 'a {
        self.cipher_spec_bytes.chunks_exact(3).map(|c| (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32)
    }

    /// The cipher kinds that are TLS cipher suites (first byte zero), in order.
    pub fn cipher_suites(&self) -> impl Iterator<Item = CipherSuiteId> + 'a {
        self.cipher_specs().filter_map(|s| u16::try_from(s).ok()).map(CipherSuiteId::new)
    }

    /// The client random as TLS uses it: the challenge right-aligned in 32 bytes.
    pub fn client_random(&self) -> [u8; 32] {
        let mut random = [0u8; 32];
        let n = self.challenge.len().min(32);
        random[32 - n..].copy_from_slice(&self.challenge[self.challenge.len() - n..]);
        random
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_beside_numbers() {
        assert_eq!(ProtocolVersion::from(0x0304), ProtocolVersion::TLSv1_3);
        assert_eq!(ProtocolVersion::TLSv1_3.name(), "TLSv1.3");
        assert_eq!(ProtocolVersion::from(0x7a7a).name(), "GREASE");
        assert_eq!(ProtocolVersion::from(0x7f17).to_string(), "unknown");
        assert_eq!(u16::from(ProtocolVersion::DTLSv1_2), 0xfefd);
        assert_eq!(ContentType::from(23).name(), "application_data");
        assert_eq!(ContentType::Unknown(99).value(), 99);
    }

    #[test]
    fn header_plausibility() {
        let h = RecordHeader::parse(&[22, 3, 1, 0, 200]).unwrap();
        assert!(h.is_plausible());
        assert_eq!(h.content_type, ContentType::Handshake);
        assert!(!RecordHeader::parse(&[22, 4, 1, 0, 200]).unwrap().is_plausible());
        assert!(!RecordHeader::parse(&[23, 3, 3, 0xff, 0xff]).unwrap().is_plausible());
        assert!(RecordHeader::parse(&[22, 3]).is_none());
    }

    #[test]
    fn sslv2_client_hello() {
        // 2-byte header, type 1, version 3.0, 3 bytes of specs, no session id, 16-byte challenge.
        let mut rec = vec![0x80, 9 + 3 + 16, 1, 3, 0, 0, 3, 0, 0, 0, 16, 0, 0, 0x35];
        rec.extend(1..=16u8);
        assert_eq!(Sslv2ClientHello::record_len(&rec), Some(rec.len()));
        let ch = Sslv2ClientHello::parse(&rec).unwrap();
        assert_eq!(ch.version, ProtocolVersion::SSLv3);
        assert_eq!(ch.cipher_specs().collect::<Vec<_>>(), [0x35]);
        assert_eq!(ch.cipher_suites().collect::<Vec<_>>(), [CipherSuiteId::TLS_RSA_WITH_AES_256_CBC_SHA]);
        assert_eq!(ch.client_random()[16..], (1..=16u8).collect::<Vec<_>>()[..]);
    }
}
