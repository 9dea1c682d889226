//! TLS fingerprints: JA3 and JA3S (Salesforce), JA4 (FoxIO) of a ClientHello.

use md5::{Digest, Md5};

use crate::extensions::{self, ext, is_grease};
use crate::handshake::{ClientHello, ServerHello};

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
    /// JA3 and JA4 of a ClientHello.
    pub fn client_hello(&mut self, ch: &ClientHello<'_>) {
        let suites = ch.cipher_suites.iter().copied().filter(|&s| !is_grease(s));
        let exts = ch.extensions.iter().map(|e| e.typ).filter(|&t| !is_grease(t));
        let groups = ch.extension(ext::SUPPORTED_GROUPS).map(extensions::supported_groups).unwrap_or_default();
        let formats = ch.extension(ext::EC_POINT_FORMATS).map(extensions::ec_point_formats).unwrap_or_default();
        let mut s = String::with_capacity(256);
        push_joined(&mut s, std::iter::once(ch.version));
        s.push(',');
        push_joined(&mut s, suites);
        s.push(',');
        push_joined(&mut s, exts);
        s.push(',');
        push_joined(&mut s, groups.into_iter().filter(|&g| !is_grease(g)));
        s.push(',');
        push_joined(&mut s, formats.into_iter().map(u16::from));
        self.ja3 = Some(md5_hex(&s));
        self.ja3_string = Some(s);
        self.ja4 = Some(ja4(ch, 't'));
    }

    /// JA3S of a ServerHello.
    pub fn server_hello(&mut self, sh: &ServerHello<'_>) {
        let mut s = format!("{},{},", sh.version, sh.cipher_suite);
        push_joined(&mut s, sh.extensions.iter().map(|e| e.typ));
        self.ja3s = Some(md5_hex(&s));
        self.ja3s_string = Some(s);
    }
}

/// JA4 of a ClientHello; `transport` is `t` (TCP), `q` (QUIC) or `d` (DTLS).
pub fn ja4(ch: &ClientHello<'_>, transport: char) -> String {
    let version = ch.versions().into_iter().filter(|&v| !is_grease(v)).max().unwrap_or(ch.version);
    let version = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    };
    let sni = if ch.extension(ext::SERVER_NAME).is_some() { 'd' } else { 'i' };
    let mut suites: Vec<u16> = ch.cipher_suites.iter().copied().filter(|&s| !is_grease(s)).collect();
    let mut exts: Vec<u16> = ch.extensions.iter().map(|e| e.typ).filter(|&t| !is_grease(t)).collect();
    let alpn = match ch.alpn().first().map(String::as_bytes) {
        Some([]) | None => "00".to_string(),
        Some(p) => {
            let (first, last) = (p[0], p[p.len() - 1]);
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                format!("{}{}", first as char, last as char)
            } else {
                let h = hex::encode([first, last]);
                format!("{}{}", &h[..1], &h[3..])
            }
        }
    };
    let a = format!("{transport}{version}{sni}{:02}{:02}{alpn}", suites.len().min(99), exts.len().min(99));
    suites.sort_unstable();
    let b = if suites.is_empty() {
        "000000000000".to_string()
    } else {
        let mut list = String::with_capacity(suites.len() * 5);
        push_hex_list(&mut list, &suites);
        sha256_12(&list)
    };
    exts.retain(|&t| t != ext::SERVER_NAME && t != ext::ALPN);
    exts.sort_unstable();
    let sigs = ch.extension(ext::SIGNATURE_ALGORITHMS).map(extensions::signature_algorithms).unwrap_or_default();
    let mut c_input = String::with_capacity((exts.len() + sigs.len()) * 5 + 1);
    push_hex_list(&mut c_input, &exts);
    if !sigs.is_empty() {
        c_input.push('_');
        push_hex_list(&mut c_input, &sigs);
    }
    let c = if exts.is_empty() { "000000000000".to_string() } else { sha256_12(&c_input) };
    format!("{a}_{b}_{c}")
}

#[cfg(test)]
mod tests {
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
        f.client_hello(&ch);
        assert_eq!(f.ja3_string.as_deref(), Some("771,47,10,,"));
        assert_eq!(f.ja3.as_deref(), Some(md5_hex("771,47,10,,").as_str()));
        assert!(f.ja4.as_deref().unwrap().starts_with("t12i010100_"));
    }
}
