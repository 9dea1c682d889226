//! TLS fingerprints: JA3 and JA3S (Salesforce) of the hellos, JA4 of a ClientHello and JA4S of a ServerHello (FoxIO).

use md5::{Digest, Md5};

use crate::extensions::{self, ExtensionType};
use crate::handshake::{ClientHello, ServerHello};
use crate::record::ProtocolVersion;

/// The fingerprints of one connection (each `None` until its hello is seen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprints {
    /// JA3 string (`version,ciphers,extensions,groups,point_formats`).
    pub ja3_string: Option<String>,
    /// MD5 of the JA3 string.
    pub ja3: Option<String>,
    /// JA3S string (`version,cipher,extensions`).
    pub ja3s_string: Option<String>,
    /// MD5 of the JA3S string.
    pub ja3s: Option<String>,
    /// JA4 of the ClientHello (`t13d1516h2_8daaf6152771_e5627efa2ab1`).
    pub ja4: Option<String>,
    /// JA4S of the ServerHello (`t130200_1301_234ea6891581`).
    pub ja4s: Option<String>,
}

/// Appends `values` in decimal joined by `-` (one string, no allocation per value).
fn push_joined(out: &mut String, values: impl Iterator<Item = u16>) {
    use std::fmt::Write as _;
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{v}");
    }
}

/// Appends `values` as 4-digit lowercase hex joined by `,` (JA4's lists), without formatting machinery.
fn push_hex_list(out: &mut String, values: &[u16]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for shift in [12, 8, 4, 0] {
            out.push(char::from(DIGITS[usize::from((v >> shift) & 0xf)]));
        }
    }
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

fn sha256_12(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    hex::encode(&d.as_ref()[..6])
}

impl Fingerprints {
    /// JA3 and JA4 of the connection's first ClientHello (later ones, after a HelloRetryRequest or in a
    /// renegotiation, leave them as they are: both are defined on the first); `transport` as for [`ja4`].
    pub fn client_hello(&mut self, ch: &ClientHello<'_>, transport: char) {
        if self.ja3.is_some() {
            return;
        }
        let suites = ch.cipher_suites().filter(|s| !s.is_grease()).map(u16::from);
        let exts = ch.extensions.types().filter(|t| !t.is_grease()).map(u16::from);
        let groups = extensions::supported_groups(ch.extension(ExtensionType::SupportedGroups).unwrap_or_default());
        let formats = extensions::ec_point_formats(ch.extension(ExtensionType::EcPointFormats).unwrap_or_default());
        let mut s = String::with_capacity(256);
        push_joined(&mut s, std::iter::once(ch.version.value()));
        s.push(',');
        push_joined(&mut s, suites);
        s.push(',');
        push_joined(&mut s, exts);
        s.push(',');
        push_joined(&mut s, groups.filter(|g| !g.is_grease()).map(u16::from));
        s.push(',');
        push_joined(&mut s, formats.map(|f| u16::from(f.value())));
        self.ja3 = Some(md5_hex(&s));
        self.ja3_string = Some(s);
        self.ja4 = Some(ja4(ch, transport));
    }

    /// JA3S and JA4S of the connection's first ServerHello; `transport` as for [`ja4s`].
    pub fn server_hello(&mut self, sh: &ServerHello<'_>, transport: char) {
        if self.ja3s.is_some() {
            return;
        }
        let mut s = format!("{},{},", sh.version.value(), sh.cipher_suite.value());
        push_joined(&mut s, sh.extensions.types().map(u16::from));
        self.ja3s = Some(md5_hex(&s));
        self.ja3s_string = Some(s);
        self.ja4s = Some(ja4s(sh, transport));
    }
}

/// JA4's two-digit version code of a protocol version.
fn version_code(version: ProtocolVersion) -> &'static str {
    use ProtocolVersion::*;
    match version {
        TLSv1_3 => "13",
        TLSv1_2 => "12",
        TLSv1_1 => "11",
        TLSv1_0 => "10",
        SSLv3 => "s3",
        SSLv2 => "s2",
        DTLSv1_0 => "d1",
        DTLSv1_2 => "d2",
        DTLSv1_3 => "d3",
        _ => "00",
    }
}

/// JA4S of a ServerHello; `transport` is `t` (TCP), `q` (QUIC) or `d` (DTLS), the same letter as the JA4 of
/// the connection (FoxIO's specification names `d` for JA4; its reference code marks any UDP ServerHello `q`,
/// which would call DTLS QUIC). Unlike JA4 nothing is sorted or left out: a server's extensions are hashed
/// in the order sent.
///
/// ```
/// use tlskit_wire::fingerprint::ja4s;
/// use tlskit_wire::handshake::ServerHello;
///
/// // TLS 1.2, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, extensions 0005,0017,ff01,0000 (FoxIO's example).
/// let mut body = vec![3, 3];
/// body.extend([1u8; 32]);
/// body.extend([0, 0xc0, 0x30, 0]);
/// body.extend([0, 17, 0, 5, 0, 0, 0, 0x17, 0, 0, 0xff, 1, 0, 1, 0, 0, 0, 0, 0]);
/// let hello = ServerHello::parse(&body).expect("well formed");
/// assert_eq!(ja4s(&hello, 't'), "t120400_c030_4e8089b08790");
/// ```
pub fn ja4s(sh: &ServerHello<'_>, transport: char) -> String {
    let exts: Vec<u16> = sh.extensions.types().map(u16::from).collect();
    let alpn = ja4_alpn(extensions::alpn(sh.extension(ExtensionType::Alpn).unwrap_or_default()).next());
    let mut list = String::with_capacity(exts.len() * 5);
    push_hex_list(&mut list, &exts);
    let c = if exts.is_empty() { "000000000000".to_string() } else { sha256_12(&list) };
    format!(
        "{transport}{}{:02}{alpn}_{:04x}_{c}",
        version_code(sh.negotiated_version()),
        exts.len().min(99),
        sh.cipher_suite.value()
    )
}

/// JA4 of a ClientHello; `transport` is `t` (TCP), `q` (QUIC) or `d` (DTLS).
pub fn ja4(ch: &ClientHello<'_>, transport: char) -> String {
    // The highest version offered, by number (as the JA4 specification says).
    let highest = ch.versions().filter(|v| !v.is_grease()).max_by_key(|v| v.value()).unwrap_or(ch.version);
    let version = version_code(highest);
    let sni = if ch.extension(ExtensionType::ServerName).is_some() { 'd' } else { 'i' };
    let mut suites: Vec<u16> = ch.cipher_suites().filter(|s| !s.is_grease()).map(u16::from).collect();
    let mut exts: Vec<u16> = ch.extensions.types().filter(|t| !t.is_grease()).map(u16::from).collect();
    let alpn = ja4_alpn(ch.alpn().next());
    let a = format!("{transport}{version}{sni}{:02}{:02}{alpn}", suites.len().min(99), exts.len().min(99));
    suites.sort_unstable();
    let b = if suites.is_empty() {
        "000000000000".to_string()
    } else {
        let mut list = String::with_capacity(suites.len() * 5);
        push_hex_list(&mut list, &suites);
        sha256_12(&list)
    };
    exts.retain(|&t| t != u16::from(ExtensionType::ServerName) && t != u16::from(ExtensionType::Alpn));
    exts.sort_unstable();
    let sigs: Vec<u16> =
        extensions::signature_algorithms(ch.extension(ExtensionType::SignatureAlgorithms).unwrap_or_default())
            .map(u16::from)
            .collect();
    let mut c_input = String::with_capacity((exts.len() + sigs.len()) * 5 + 1);
    push_hex_list(&mut c_input, &exts);
    if !sigs.is_empty() {
        c_input.push('_');
        push_hex_list(&mut c_input, &sigs);
    }
    let c = if exts.is_empty() { "000000000000".to_string() } else { sha256_12(&c_input) };
    format!("{a}_{b}_{c}")
}

/// JA4's two ALPN characters: the first and last bytes of the first protocol when both are ASCII letters or
/// digits, else the first hex digit of the first byte and the last hex digit of the last byte; `00` for none,
/// an empty one, or a GREASE value (RFC 8701), as FoxIO's Rust implementation reads its specification.
fn ja4_alpn(first: Option<&[u8]>) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let Some(p) = first.filter(|p| !p.is_empty()) else { return "00".to_string() };
    let (first, last) = (&p[0], &p[p.len() - 1]);
    // GREASE has one pattern in every registry (RFC 8701): a version's test serves.
    if p.len() == 2 && ProtocolVersion::new(u16::from_be_bytes([*first, *last])).is_grease() {
        return "00".to_string();
    }
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        [char::from(*first), char::from(*last)].iter().collect()
    } else {
        [char::from(HEX[usize::from(first >> 4)]), char::from(HEX[usize::from(last & 0xf)])].iter().collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ja4_alpn_follows_the_specification_examples() {
        let cases: [(&[u8], &str); 9] = [
            (b"h2", "h2"),
            (b"http/1.1", "h1"),
            (b"h", "hh"),
            (b"", "00"),
            (&[0xab], "ab"),
            (&[0xab, 0xcd], "ad"),
            (&[0x30, 0xab], "3b"),
            (&[0x30, 0x31, 0xab, 0xcd], "3d"),
            (&[0x30, 0xab, 0xcd, 0x31], "01"),
        ];
        for (alpn, want) in cases {
            assert_eq!(super::ja4_alpn(Some(alpn)), want, "{alpn:02x?}");
        }
        assert_eq!(super::ja4_alpn(Some(&[0x3a, 0x3a])), "00", "GREASE");
        assert_eq!(super::ja4_alpn(None), "00");
    }

    use super::*;

    #[test]
    fn ja3_of_a_minimal_hello_drops_grease() {
        let mut body = vec![3, 3];
        body.extend([0u8; 32]);
        body.push(0);
        body.extend([0, 4, 0x0a, 0x0a, 0x00, 0x2f]);
        body.extend([1, 0]);
        body.extend([0, 8, 0x1a, 0x1a, 0, 0, 0, 10, 0, 0]);
        let ch = ClientHello::parse(&body).unwrap();
        let mut f = Fingerprints::default();
        f.client_hello(&ch, 't');
        assert_eq!(f.ja3_string.as_deref(), Some("771,47,10,,"));
        assert_eq!(f.ja3.as_deref(), Some(md5_hex("771,47,10,,").as_str()));
        assert!(f.ja4.as_deref().unwrap().starts_with("t12i010100_"));
    }

    #[test]
    fn ja4s_reads_the_negotiated_version_and_the_chosen_alpn() {
        let mut body = vec![3, 3];
        body.extend([2u8; 32]);
        body.extend([0, 0x13, 0x01, 0]);
        // supported_versions TLS 1.3, ALPN h2.
        body.extend([0, 15, 0, 43, 0, 2, 3, 4, 0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
        let sh = ServerHello::parse(&body).unwrap();
        let mut f = Fingerprints::default();
        f.server_hello(&sh, 't');
        let expected = format!("t1302h2_1301_{}", sha256_12("002b,0010"));
        assert_eq!(f.ja4s.as_deref(), Some(expected.as_str()));
        assert_eq!(f.ja3s_string.as_deref(), Some("771,4865,43-16"));
    }

    #[test]
    fn a_dtls_server_hello_is_marked_d_like_its_client_hello() {
        // DTLS 1.2 (0xfefd), TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, no extensions.
        let mut body = vec![0xfe, 0xfd];
        body.extend([3u8; 32]);
        body.extend([0, 0xc0, 0x2f, 0]);
        let sh = ServerHello::parse(&body).unwrap();
        let mut f = Fingerprints::default();
        f.server_hello(&sh, 'd');
        assert_eq!(f.ja4s.as_deref(), Some("dd20000_c02f_000000000000"));
    }
}
