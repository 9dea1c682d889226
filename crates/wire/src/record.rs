//! The TLS record layer: record headers, content types, protocol versions, and
//! the SSLv2-format ClientHello that old clients send as their first record.

/// Length of a TLS record header (type, version, length).
pub const HEADER_LEN: usize = 5;

/// Largest ciphertext fragment a record may carry (2^14 + 2048, RFC 5246 6.2.3).
pub const MAX_FRAGMENT_LEN: usize = 16384 + 2048;

/// A record's content type (the outer one, or TLS 1.3's inner one once decrypted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// change_cipher_spec (20)
    ChangeCipherSpec,
    /// alert (21)
    Alert,
    /// handshake (22)
    Handshake,
    /// application_data (23)
    ApplicationData,
    /// heartbeat (24)
    Heartbeat,
    /// Any other value.
    Unknown(u8),
}

impl ContentType {
    /// The type for a wire byte.
    pub fn from_u8(v: u8) -> Self {
        match v {
            20 => Self::ChangeCipherSpec,
            21 => Self::Alert,
            22 => Self::Handshake,
            23 => Self::ApplicationData,
            24 => Self::Heartbeat,
            other => Self::Unknown(other),
        }
    }

    /// The wire byte.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::ChangeCipherSpec => 20,
            Self::Alert => 21,
            Self::Handshake => 22,
            Self::ApplicationData => 23,
            Self::Heartbeat => 24,
            Self::Unknown(v) => v,
        }
    }

    /// The RFC name (`handshake`, `application_data`, ...), as tshark and our JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChangeCipherSpec => "change_cipher_spec",
            Self::Alert => "alert",
            Self::Handshake => "handshake",
            Self::ApplicationData => "application_data",
            Self::Heartbeat => "heartbeat",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// A protocol version as it appears on the wire (0x0300 SSL 3.0 ... 0x0304 TLS 1.3).
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv1.0",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        0xfeff => "DTLSv1.0",
        0xfefd => "DTLSv1.2",
        0xfefc => "DTLSv1.3",
        v if v & 0x0f0f == 0x0a0a => "GREASE",
        _ => "unknown",
    }
}

/// A zero-copy view of one TLS record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The outer content type.
    pub content_type: ContentType,
    /// The record-layer version.
    pub version: u16,
    /// Length of the fragment that follows the header.
    pub length: u16,
}

impl RecordHeader {
    /// Reads a header from the first five bytes, if there are five.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let h = bytes.get(..HEADER_LEN)?;
        Some(Self {
            content_type: ContentType::from_u8(h[0]),
            version: u16::from_be_bytes([h[1], h[2]]),
            length: u16::from_be_bytes([h[3], h[4]]),
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
        known && (0x0300..=0x0304).contains(&self.version) && (self.length as usize) <= MAX_FRAGMENT_LEN
    }
}

/// An SSLv2-format ClientHello (RFC 6101 appendix E.2; RFC 5246 appendix E.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sslv2ClientHello<'a> {
    /// Highest version the client offers (0x0002 SSLv2, 0x0300, 0x0301, ...).
    pub version: u16,
    /// Three-byte cipher kinds (SSLv2 kinds have a non-zero first byte).
    pub cipher_specs: Vec<u32>,
    /// Session ID (usually empty).
    pub session_id: &'a [u8],
    /// Challenge (16..32 bytes), the client random right-aligned in 32 bytes.
    pub challenge: &'a [u8],
}

impl<'a> Sslv2ClientHello<'a> {
    /// Total length of an SSLv2 record if `bytes` starts with a 2-byte SSLv2
    /// header carrying a ClientHello (msg type 1) with a plausible version.
    pub fn record_len(bytes: &[u8]) -> Option<usize> {
        let b = bytes.get(..5)?;
        if b[0] & 0x80 == 0 || b[2] != 1 {
            return None;
        }
        let len = (((b[0] & 0x7f) as usize) << 8) | b[1] as usize;
        let version = u16::from_be_bytes([b[3], b[4]]);
        let plausible = version == 0x0002 || (0x0300..=0x0303).contains(&version);
        (plausible && len >= 9).then_some(len + 2)
    }

    /// Parses the body of an SSLv2 ClientHello record (starting at the 2-byte header).
    pub fn parse(record: &'a [u8]) -> Option<Self> {
        let body = record.get(2..)?;
        let version = u16::from_be_bytes([*body.get(1)?, *body.get(2)?]);
        let spec_len = u16::from_be_bytes([*body.get(3)?, *body.get(4)?]) as usize;
        let sid_len = u16::from_be_bytes([*body.get(5)?, *body.get(6)?]) as usize;
        let chal_len = u16::from_be_bytes([*body.get(7)?, *body.get(8)?]) as usize;
        let specs = body.get(9..9 + spec_len)?;
        let session_id = body.get(9 + spec_len..9 + spec_len + sid_len)?;
        let challenge = body.get(9 + spec_len + sid_len..9 + spec_len + sid_len + chal_len)?;
        let cipher_specs =
            specs.chunks_exact(3).map(|c| (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32).collect();
        Some(Self { version, cipher_specs, session_id, challenge })
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
        assert_eq!(ch.version, 0x0300);
        assert_eq!(ch.cipher_specs, vec![0x35]);
        assert_eq!(ch.client_random()[16..], (1..=16u8).collect::<Vec<_>>()[..]);
    }
}
