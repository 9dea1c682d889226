//! Hello extensions by name, and the handful whose contents we decode
//! (SNI, ALPN, supported_versions, supported_groups, key_share, psk modes, ...).

/// One extension as it appears in a hello: its type and its raw body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// Extension type (IANA number).
    pub typ: u16,
    /// The body, undecoded.
    pub data: &'a [u8],
}

/// Extension type numbers we act on.
pub mod ext {
    /// server_name
    pub const SERVER_NAME: u16 = 0;
    /// supported_groups (elliptic_curves)
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation
    pub const ALPN: u16 = 16;
    /// encrypt_then_mac
    pub const ENCRYPT_THEN_MAC: u16 = 22;
    /// extended_master_secret
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    /// session_ticket
    pub const SESSION_TICKET: u16 = 35;
    /// pre_shared_key
    pub const PRE_SHARED_KEY: u16 = 41;
    /// early_data
    pub const EARLY_DATA: u16 = 42;
    /// supported_versions
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// psk_key_exchange_modes
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 45;
    /// key_share
    pub const KEY_SHARE: u16 = 51;
}

/// Whether a 16-bit value is a GREASE value (RFC 8701): 0x?a?a with equal bytes.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// The IANA name of an extension type.
pub fn extension_name(typ: u16) -> &'static str {
    match typ {
        0 => "server_name",
        1 => "max_fragment_length",
        5 => "status_request",
        10 => "supported_groups",
        11 => "ec_point_formats",
        13 => "signature_algorithms",
        14 => "use_srtp",
        15 => "heartbeat",
        16 => "application_layer_protocol_negotiation",
        17 => "status_request_v2",
        18 => "signed_certificate_timestamp",
        19 => "client_certificate_type",
        20 => "server_certificate_type",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        27 => "compress_certificate",
        28 => "record_size_limit",
        34 => "delegated_credentials",
        35 => "session_ticket",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        47 => "certificate_authorities",
        48 => "oid_filters",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        57 => "quic_transport_parameters",
        13172 => "next_protocol_negotiation",
        17513 | 17613 => "application_settings",
        65037 => "encrypted_client_hello",
        65281 => "renegotiation_info",
        t if is_grease(t) => "GREASE",
        _ => "unknown",
    }
}

/// The IANA name of a named group (supported_groups, key_share).
pub fn group_name(group: u16) -> &'static str {
    match group {
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        29 => "x25519",
        30 => "x448",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x11ec => "X25519MLKEM768",
        0x11eb => "SecP256r1MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        g if is_grease(g) => "GREASE",
        _ => "unknown",
    }
}

/// A big-endian cursor over untrusted bytes: every read is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u24(&mut self) -> Option<usize> {
        self.take(3).map(|b| (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize)
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A vector with a 1-byte length prefix.
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }
    /// A vector with a 2-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
    /// A vector with a 3-byte length prefix.
    pub(crate) fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }
}

/// Splits an extensions block (with its 2-byte length) into extensions.
/// A missing block (old hellos) gives an empty list.
pub(crate) fn parse_extensions<'a>(r: &mut Reader<'a>) -> Option<Vec<Extension<'a>>> {
    let mut out = Vec::new();
    if r.is_empty() {
        return Some(out);
    }
    let mut block = Reader::new(r.vec16()?);
    while !block.is_empty() {
        let typ = block.u16()?;
        let data = block.vec16()?;
        out.push(Extension { typ, data });
    }
    Some(out)
}

/// Finds an extension's body by type.
pub fn find<'a>(exts: &[Extension<'a>], typ: u16) -> Option<&'a [u8]> {
    exts.iter().find(|e| e.typ == typ).map(|e| e.data)
}

/// Reads a list of u16 values with a length prefix of `prefix` bytes (1 or 2).
fn u16_list(data: &[u8], prefix: usize) -> Vec<u16> {
    let mut r = Reader::new(data);
    let body = if prefix == 1 { r.vec8() } else { r.vec16() };
    body.map(|b| b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect()).unwrap_or_default()
}

/// The host name in a server_name extension.
pub fn server_name(data: &[u8]) -> Option<String> {
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.vec16()?);
    while !list.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?;
        if kind == 0 {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
    }
    None
}

/// The protocol names of an ALPN extension.
pub fn alpn(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut r = Reader::new(data);
    if let Some(list) = r.vec16() {
        let mut list = Reader::new(list);
        while let Some(p) = list.vec8() {
            out.push(String::from_utf8_lossy(p).into_owned());
        }
    }
    out
}

/// The versions of a ClientHello's supported_versions (1-byte length prefix).
pub fn supported_versions_client(data: &[u8]) -> Vec<u16> {
    u16_list(data, 1)
}

/// The version a ServerHello's supported_versions selects.
pub fn supported_version_server(data: &[u8]) -> Option<u16> {
    Reader::new(data).u16()
}

/// The groups of supported_groups.
pub fn supported_groups(data: &[u8]) -> Vec<u16> {
    u16_list(data, 2)
}

/// The schemes of signature_algorithms.
pub fn signature_algorithms(data: &[u8]) -> Vec<u16> {
    u16_list(data, 2)
}

/// The formats of ec_point_formats.
pub fn ec_point_formats(data: &[u8]) -> Vec<u8> {
    Reader::new(data).vec8().map(<[u8]>::to_vec).unwrap_or_default()
}

/// The groups of a ClientHello key_share (one share per group).
pub fn key_share_client_groups(data: &[u8]) -> Vec<u16> {
    let mut out = Vec::new();
    let mut r = Reader::new(data);
    if let Some(list) = r.vec16() {
        let mut list = Reader::new(list);
        while let (Some(group), Some(_)) = (list.u16(), list.vec16()) {
            out.push(group);
        }
    }
    out
}

/// The group of a ServerHello key_share (or of a HelloRetryRequest's, which has no key).
pub fn key_share_server_group(data: &[u8]) -> Option<u16> {
    Reader::new(data).u16()
}

/// The modes of psk_key_exchange_modes (0 psk_ke, 1 psk_dhe_ke).
pub fn psk_modes(data: &[u8]) -> Vec<u8> {
    Reader::new(data).vec8().map(<[u8]>::to_vec).unwrap_or_default()
}

/// The identities of a ClientHello's pre_shared_key extension (RFC 8446
/// 4.2.11), in order: a resumption ticket or a stateful session's id each.
pub fn psk_identities(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut r = Reader::new(data);
    if let Some(list) = r.vec16() {
        let mut list = Reader::new(list);
        while let (Some(identity), Some(_age)) = (list.vec16(), list.u32()) {
            out.push(identity);
        }
    }
    out
}

/// A short name for a psk_key_exchange_mode.
pub fn psk_mode_name(mode: u8) -> &'static str {
    match mode {
        0 => "psk_ke",
        1 => "psk_dhe_ke",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_sni_and_alpn() {
        let sni = [0, 14, 0, 0, 11, b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'o', b'r', b'g'];
        assert_eq!(server_name(&sni).as_deref(), Some("example.org"));
        let alpn_body = [0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1'];
        assert_eq!(alpn(&alpn_body), vec!["h2", "http/1.1"]);
        assert!(server_name(&[0, 5, 0]).is_none());
    }

    #[test]
    fn psk_identities_in_order() {
        // identities: [ {01 02, age 7}, {03, age 8} ], then binders (ignored)
        let body = [0, 15, 0, 2, 1, 2, 0, 0, 0, 7, 0, 1, 3, 0, 0, 0, 8, 0, 0];
        assert_eq!(psk_identities(&body), vec![&[1u8, 2][..], &[3u8][..]]);
        assert!(psk_identities(&[0, 9, 0, 200]).is_empty());
    }

    #[test]
    fn grease_and_names() {
        assert!(is_grease(0x1a1a));
        assert!(!is_grease(0x1a2a));
        assert_eq!(extension_name(43), "supported_versions");
        assert_eq!(group_name(29), "x25519");
    }
}
