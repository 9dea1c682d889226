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
    /// TLS 1.3's drafts and the vendors' pre-RFC variants have their own values: [`ProtocolVersion::is_tls13_draft`].
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
        /// TLS 1.3 draft 14 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft14 = 0x7f0e => "TLSv1.3-draft14",
        /// TLS 1.3 draft 15 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft15 = 0x7f0f => "TLSv1.3-draft15",
        /// TLS 1.3 draft 16 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft16 = 0x7f10 => "TLSv1.3-draft16",
        /// TLS 1.3 draft 17 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft17 = 0x7f11 => "TLSv1.3-draft17",
        /// TLS 1.3 draft 18 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft18 = 0x7f12 => "TLSv1.3-draft18",
        /// TLS 1.3 draft 19 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft19 = 0x7f13 => "TLSv1.3-draft19",
        /// TLS 1.3 draft 20 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft20 = 0x7f14 => "TLSv1.3-draft20",
        /// TLS 1.3 draft 21 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft21 = 0x7f15 => "TLSv1.3-draft21",
        /// TLS 1.3 draft 22 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft22 = 0x7f16 => "TLSv1.3-draft22",
        /// TLS 1.3 draft 23 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft23 = 0x7f17 => "TLSv1.3-draft23",
        /// TLS 1.3 draft 24 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft24 = 0x7f18 => "TLSv1.3-draft24",
        /// TLS 1.3 draft 25 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft25 = 0x7f19 => "TLSv1.3-draft25",
        /// TLS 1.3 draft 26 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft26 = 0x7f1a => "TLSv1.3-draft26",
        /// TLS 1.3 draft 27 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft27 = 0x7f1b => "TLSv1.3-draft27",
        /// TLS 1.3 draft 28 (IETF drafts carried `0x7f00 | n`)
        TLSv1_3Draft28 = 0x7f1c => "TLSv1.3-draft28",
        /// TLS 1.3 draft 23 as Facebook's Fizz deployed it
        TLSv1_3Fb23 = 0xfb17 => "TLSv1.3-fb23",
        /// TLS 1.3 draft 26 as Facebook's Fizz deployed it
        TLSv1_3Fb26 = 0xfb1a => "TLSv1.3-fb26",
        /// TLS 1.3 Google experiment 1 (Chrome, 2017)
        TLSv1_3Exp1 = 0x7e01 => "TLSv1.3-google-exp1",
        /// TLS 1.3 Google experiment 2 (Chrome, 2017)
        TLSv1_3Exp2 = 0x7e02 => "TLSv1.3-google-exp2",
        /// DTLS 1.0 as OpenSSL before 0.9.8f sent it (`DTLS1_BAD_VER`, pre-RFC 4347)
        DTLSv1_0OpenSsl = 0x0100 => "DTLSv1.0-OpenSSL-pre-0.9.8f",
        /// DTLS 1.0
        DTLSv1_0 = 0xfeff => "DTLSv1.0",
        /// DTLS 1.2
        DTLSv1_2 = 0xfefd => "DTLSv1.2",
        /// DTLS 1.3
        DTLSv1_3 = 0xfefc => "DTLSv1.3",
    }
}

impl ProtocolVersion {
    /// Whether this is a pre-RFC TLS 1.3 version: an IETF draft (`0x7fXX`), a Google experiment (`0x7eXX`) or
    /// a Facebook draft (`0xfbXX`).
    pub fn is_tls13_draft(self) -> bool {
        matches!(self.value() >> 8, 0x7f | 0x7e | 0xfb)
    }

    /// Drafts before 22 sent their ServerHello without session ID and compression method, and the version in
    /// the ServerHello itself.
    pub fn has_draft_server_hello_layout(self) -> bool {
        matches!(self.value() >> 8, 0x7f | 0x7e) && self.value() & 0xff < 22
    }

    /// Whether this is a DTLS version (including OpenSSL's pre-RFC one).
    pub fn is_dtls(self) -> bool {
        use ProtocolVersion::*;
        matches!(self, DTLSv1_0OpenSsl | DTLSv1_0 | DTLSv1_2 | DTLSv1_3)
    }

    /// The TLS version whose key schedule and record protection a DTLS version uses: TLS 1.1's for DTLS 1.0
    /// and OpenSSL's pre-RFC version (RFC 4347 1), TLS 1.2's for DTLS 1.2 (RFC 6347 1), TLS 1.3's for DTLS
    /// 1.3. Any other version is its own.
    pub const fn tls_counterpart(self) -> Self {
        use ProtocolVersion::*;
        match self {
            DTLSv1_0OpenSsl | DTLSv1_0 => TLSv1_1,
            DTLSv1_2 => TLSv1_2,
            DTLSv1_3 => TLSv1_3,
            other => other,
        }
    }

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
        assert_eq!(ProtocolVersion::from(0x7f17).to_string(), "TLSv1.3-draft23");
        assert!(ProtocolVersion::from(0x7f12).has_draft_server_hello_layout());
        assert!(
            ProtocolVersion::from(0xfb17).is_tls13_draft()
                && !ProtocolVersion::from(0xfb17).has_draft_server_hello_layout()
        );
        assert_eq!(ProtocolVersion::from(0x7f30).to_string(), "unknown");
        assert_eq!(u16::from(ProtocolVersion::DTLSv1_2), 0xfefd);
        use ProtocolVersion::*;
        let pairs = [(DTLSv1_0OpenSsl, TLSv1_1), (DTLSv1_0, TLSv1_1), (DTLSv1_2, TLSv1_2), (TLSv1_0, TLSv1_0)];
        assert!(pairs.iter().all(|&(d, t)| d.tls_counterpart() == t), "{pairs:?}");
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
