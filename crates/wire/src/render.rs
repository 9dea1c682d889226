//! Renderings of dissector events: text lines in ssldump's spirit, JSON
//! lines with the stable schema of docs/dump-json.md, and the HTML report
//! ([`html`]). All write into a caller-supplied writer (the caller decides
//! where output goes).

pub mod html;

use std::io::{self, Write};
use std::net::SocketAddr;

use crate::alert::Alert;
use crate::capture::ConnInfo;
use crate::cipher::CipherSuite;
use crate::dissect::{Event, HandshakeDetail, Summary, Timestamp};
use crate::extensions::{extension_name, group_name, psk_mode_name};
use crate::handshake::{signature_scheme_name, type_name};
use crate::record::{version_name, ContentType};

/// The IANA name of a cipher suite, or its number.
pub fn suite_name(id: u16) -> String {
    CipherSuite::lookup(id).map_or_else(|| format!("0x{id:04x}"), |s| s.name.to_string())
}

/// `127.0.0.1:443` or `[::1]:443`.
pub fn addr(a: &SocketAddr) -> String {
    a.to_string()
}

/// What the text renderer shows besides the record lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// Hex dump of every record (`-x`).
    pub hex: bool,
    /// Decrypted application data (`-d`).
    pub data: bool,
}

/// ssldump-style text: a header per connection, one line per record, one indented line per handshake message.
#[derive(Debug, Default)]
pub struct TextRenderer {
    /// Options.
    pub options: TextOptions,
    first_ts: Timestamp,
    last_ts: Timestamp,
    /// Reused line buffer: no allocation per record.
    scratch: Vec<u8>,
}

impl TextRenderer {
    /// A renderer with these options.
    pub fn new(options: TextOptions) -> Self {
        Self { options, ..Self::default() }
    }

    /// The header line of a connection.
    pub fn connection_start(&mut self, out: &mut dyn Write, conn: &ConnInfo) -> io::Result<()> {
        self.first_ts = conn.first_ts;
        self.last_ts = conn.first_ts;
        let mid = if conn.midstream { " (capture starts mid-connection)" } else { "" };
        writeln!(out, "New TLS connection #{}: {} <-> {}{mid}", conn.id, addr(&conn.client), addr(&conn.server))
    }

    /// One event of connection `id`.
    pub fn event(&mut self, out: &mut dyn Write, id: u64, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Record { dir, ts, number, content_type, inner_type, version, length, encrypted, decrypted, raw } => {
                // Integer arithmetic: float formatting was a tenth of the run time.
                let rel = Secs4(ts.0.saturating_sub(self.first_ts.0));
                let delta = Secs4(ts.0.saturating_sub(self.last_ts.0));
                self.last_ts = *ts;
                let shown = inner_type.unwrap_or(*content_type);
                let state = match (encrypted, decrypted) {
                    (false, _) => "",
                    (true, true) => " (decrypted)",
                    (true, false) => " (encrypted)",
                };
                // Built by hand into the scratch buffer: `write!` with nine arguments per record was a hot spot.
                let line = &mut self.scratch;
                line.clear();
                push_u64(line, id);
                line.push(b' ');
                push_u64(line, *number);
                line.push(b' ');
                rel.push_to(line);
                line.extend_from_slice(b" (");
                delta.push_to(line);
                line.extend_from_slice(b") ");
                line.extend_from_slice(dir.arrow().as_bytes());
                line.push(b' ');
                line.extend_from_slice(version_name(*version).as_bytes());
                line.push(b' ');
                line.extend_from_slice(type_label(shown).as_bytes());
                line.extend_from_slice(b" len=");
                push_u64(line, *length as u64);
                line.extend_from_slice(state.as_bytes());
                line.push(b'\n');
                out.write_all(line)?;
                if self.options.hex {
                    hex_dump(out, raw, &mut self.scratch)?;
                }
            }
            Event::Handshake { detail, msg_type, length, .. } => {
                writeln!(out, "    {}", handshake_line(*msg_type, *length, detail))?;
            }
            Event::ChangeCipherSpec { .. } => writeln!(out, "    ChangeCipherSpec")?,
            Event::Alert { alert, .. } => match alert {
                Some(a) => writeln!(out, "    Alert {} {}", a.level_name(), a.description_name())?,
                None => writeln!(out, "    Alert (unreadable)")?,
            },
            Event::ApplicationData { data, early, .. } => {
                if self.options.data {
                    let tag = if *early { " (0-RTT)" } else { "" };
                    writeln!(out, "    application data{tag}, {} bytes", data.len())?;
                    data_dump(out, data, &mut self.scratch)?;
                }
            }
            Event::EarlyData { accepted } => {
                writeln!(out, "    0-RTT data {}", if *accepted { "accepted" } else { "rejected" })?
            }
            Event::Negotiated { .. } => {}
            Event::Undecrypted { number, reason, auth_failed, .. } => {
                let what = if *auth_failed { "failed to decrypt" } else { "not decrypted" };
                writeln!(out, "    record {number} {what}: {reason}")?
            }
            Event::Gap { dir, bytes } => {
                writeln!(out, "{id} {} gap: {bytes} bytes missing from the capture", dir.arrow())?
            }
            Event::Resync { dir, skipped } => {
                writeln!(out, "{id} {} skipped {skipped} bytes to the next record boundary", dir.arrow())?
            }
            Event::Malformed { dir, what, .. } => writeln!(out, "{id} {} malformed: {what}", dir.arrow())?,
        }
        Ok(())
    }

    /// The closing line of a connection.
    pub fn connection_end(&mut self, out: &mut dyn Write, conn: &ConnInfo, s: &Summary) -> io::Result<()> {
        writeln!(out, "{} end: {}", conn.id, summary_line(s))
    }
}

/// Nanoseconds shown as seconds with four decimals (`12.3456`).
struct Secs4(u64);

impl Secs4 {
    /// Appends `12.3456` without the formatting machinery.
    fn push_to(&self, buf: &mut Vec<u8>) {
        push_u64(buf, self.0 / 1_000_000_000);
        let frac = (self.0 % 1_000_000_000) / 100_000;
        buf.extend_from_slice(&[
            b'.',
            b'0' + (frac / 1000) as u8,
            b'0' + (frac / 100 % 10) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ]);
    }
}

/// Appends `n` in decimal.
fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

fn type_label(t: ContentType) -> &'static str {
    match t {
        ContentType::ChangeCipherSpec => "ChangeCipherSpec",
        ContentType::Alert => "Alert",
        ContentType::Handshake => "Handshake",
        ContentType::ApplicationData => "ApplicationData",
        ContentType::Heartbeat => "Heartbeat",
        ContentType::Unknown(_) => "Unknown",
    }
}

/// One line for a connection's summary.
pub fn summary_line(s: &Summary) -> String {
    let mut line = format!(
        "{} {}",
        s.version.map_or("-", version_name),
        s.cipher_suite.map_or_else(|| "-".to_string(), suite_name)
    );
    if let Some(sni) = &s.server_name {
        line += &format!(" sni={sni}");
    }
    if let Some(alpn) = &s.alpn {
        line += &format!(" alpn={alpn}");
    }
    line += if s.resumed { " resumed" } else { " full-handshake" };
    if let Some(ja3) = &s.fingerprints.ja3 {
        line += &format!(" ja3={ja3}");
    }
    if let Some(ja3s) = &s.fingerprints.ja3s {
        line += &format!(" ja3s={ja3s}");
    }
    if let Some(ja4) = &s.fingerprints.ja4 {
        line += &format!(" ja4={ja4}");
    }
    line += &format!(
        " decrypted={}+{} bytes failed={} undecrypted={}",
        s.stats.plaintext_bytes[0], s.stats.plaintext_bytes[1], s.stats.failed_records, s.stats.undecrypted_records
    );
    line
}

/// Appends `label` and the names of `items` joined by `,` (no String per item).
fn push_names<T: Copy, N: AsRef<str>>(out: &mut String, label: &str, items: &[T], name: impl Fn(T) -> N) {
    out.push_str(label);
    for (i, &item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name(item).as_ref());
    }
}

/// The IANA name of a cipher suite (borrowed), or its number.
fn suite_label(id: u16) -> std::borrow::Cow<'static, str> {
    CipherSuite::lookup(id).map_or_else(|| format!("0x{id:04x}").into(), |s| s.name.into())
}

/// The text of one handshake message line.
pub fn handshake_line(msg_type: u8, length: usize, detail: &HandshakeDetail) -> String {
    match detail {
        HandshakeDetail::ClientHello {
            version,
            sslv2,
            cipher_suites,
            extensions,
            server_name,
            alpn,
            versions,
            key_share,
            psk_modes,
            early_data,
            ..
        } => {
            let mut s =
                format!("ClientHello{} {}", if *sslv2 { " (SSLv2 format)" } else { "" }, version_name(*version));
            if let Some(n) = server_name {
                s += &format!(" sni={n}");
            }
            if !alpn.is_empty() {
                s += &format!(" alpn={}", alpn.join(","));
            }
            if !versions.is_empty() {
                push_names(&mut s, " versions=", versions, version_name);
            }
            if !key_share.is_empty() {
                push_names(&mut s, " key_share=", key_share, group_name);
            }
            if !psk_modes.is_empty() {
                push_names(&mut s, " psk_modes=", psk_modes, psk_mode_name);
            }
            if *early_data {
                s += " early_data";
            }
            push_names(&mut s, " suites=", cipher_suites, suite_label);
            push_names(&mut s, " extensions=", extensions, extension_name);
            s
        }
        HandshakeDetail::ServerHello { retry, version, cipher_suite, extensions, key_share, alpn, resumed } => {
            let mut s = format!(
                "{} {} {}",
                if *retry { "HelloRetryRequest" } else { "ServerHello" },
                version_name(*version),
                suite_name(*cipher_suite)
            );
            if let Some(g) = key_share {
                s += &format!(" key_share={}", group_name(*g));
            }
            if let Some(a) = alpn {
                s += &format!(" alpn={a}");
            }
            if *resumed {
                s += " resumed";
            }
            push_names(&mut s, " extensions=", extensions, extension_name);
            s
        }
        HandshakeDetail::Certificate { certificates, count } => {
            let mut s = format!("Certificate ({count} certificates)");
            for c in certificates {
                s += &format!(
                    "\n        subject={} issuer={} valid={}..{}",
                    c.subject, c.issuer, c.not_before, c.not_after
                );
                if !c.san.is_empty() {
                    s += &format!(" san={}", c.san.join(","));
                }
            }
            s
        }
        HandshakeDetail::EncryptedExtensions { extensions, early_data, alpn } => {
            let mut s = String::from("EncryptedExtensions");
            push_names(&mut s, " extensions=", extensions, extension_name);
            if let Some(a) = alpn {
                s += &format!(" alpn={a}");
            }
            if *early_data {
                s += " early_data";
            }
            s
        }
        HandshakeDetail::NewSessionTicket { lifetime, ticket_len, max_early_data } => {
            let mut s = format!("NewSessionTicket lifetime={lifetime}s ticket={ticket_len} bytes");
            if let Some(m) = max_early_data {
                s += &format!(" max_early_data={m}");
            }
            s
        }
        HandshakeDetail::KeyUpdate { update_requested } => {
            format!("KeyUpdate{}", if *update_requested { " update_requested" } else { "" })
        }
        HandshakeDetail::CertificateVerify { scheme } => {
            format!("CertificateVerify {}", signature_scheme_name(*scheme))
        }
        HandshakeDetail::Finished { verify_data } => format!("Finished verify_data={}", hex::encode(verify_data)),
        HandshakeDetail::Other => format!("{} len={length}", type_name(msg_type)),
    }
}

/// Each byte as two lowercase hex digits, by table (no per-byte formatting or branching).
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 0xf]];
        i += 1;
    }
    t
};

/// Whether a byte makes data look like text: printable ASCII or ASCII whitespace (`is_ascii_graphic` or
/// `is_ascii_whitespace`), written branch-free so that counting over a slice vectorizes.
#[inline(always)]
fn is_text(b: u8) -> bool {
    (b.wrapping_sub(0x20) < 0x5f) | (b == b'\t') | (b == b'\n') | (b == 0x0c) | (b == b'\r')
}

/// What `-d` shows for a byte of a text line: printable ASCII, space and tab as is, others as `.` (branch-free).
#[inline(always)]
fn shown(b: u8) -> u8 {
    if (b.wrapping_sub(0x20) < 0x5f) | (b == b'\t') {
        b
    } else {
        b'.'
    }
}

/// Offset of the first `\n`: 32 bytes at a time (a fold the compiler vectorizes), then byte by byte.
fn find_newline(s: &[u8]) -> Option<usize> {
    let mut at = 0;
    for chunk in s.chunks_exact(32) {
        if chunk.iter().fold(false, |seen, &b| seen | (b == b'\n')) {
            break;
        }
        at += 32;
    }
    s.get(at..)?.iter().position(|&b| b == b'\n').map(|p| at + p)
}

/// One hex dump line (`    0010  de ad ...`) is at most this long.
const HEX_LINE_MAX: usize = 4 + 4 + 1 + 16 * 3 + 1;

fn hex_dump(out: &mut dyn Write, bytes: &[u8], buf: &mut Vec<u8>) -> io::Result<()> {
    // The whole dump is built in place in one buffer by table and written once: -x/-d output was format-bound.
    let rest = bytes.len() % 16;
    let len = bytes.len() / 16 * HEX_LINE_MAX + if rest > 0 { HEX_LINE_MAX - (16 - rest) * 3 } else { 0 };
    buf.clear();
    buf.resize(len, b' ');
    for (i, (line, chunk)) in buf.chunks_mut(HEX_LINE_MAX).zip(bytes.chunks(16)).enumerate() {
        let off = (i * 16) as u16;
        line[4..6].copy_from_slice(&HEX_PAIRS[usize::from(off >> 8)]);
        line[6..8].copy_from_slice(&HEX_PAIRS[usize::from(off & 0xff)]);
        for (cell, &b) in line[9..].chunks_exact_mut(3).zip(chunk) {
            cell[1..].copy_from_slice(&HEX_PAIRS[usize::from(b)]);
        }
        if let Some(end) = line.last_mut() {
            *end = b'\n';
        }
    }
    out.write_all(buf)
}

/// Printable text as is (other bytes as `.`), or a hex dump when the data is mostly binary.
fn data_dump(out: &mut dyn Write, data: &[u8], text: &mut Vec<u8>) -> io::Result<()> {
    // Text means at least 90% text bytes; counting stops as soon as the binary ones pass 10%.
    let mut binary = 0usize;
    let mut text_like = true;
    for chunk in data.chunks(256) {
        binary += chunk.iter().map(|&b| u32::from(!is_text(b))).sum::<u32>() as usize;
        if binary * 10 > data.len() {
            text_like = false;
            break;
        }
    }
    if !text_like {
        return hex_dump(out, data, text);
    }
    const RULE: &[u8] = b"    ---------------------------------------------------------------\n";
    text.clear();
    text.reserve(data.len() + data.len() / 8 + 2 * RULE.len() + 8);
    text.extend_from_slice(RULE);
    let mut rest = data;
    loop {
        let (line, next) = match find_newline(rest) {
            Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i + 1..)),
            None => (rest, None),
        };
        text.extend_from_slice(b"    ");
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        text.extend(line.iter().map(|&b| shown(b)));
        text.push(b'\n');
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    text.extend_from_slice(RULE);
    out.write_all(text)
}

/// One JSON object for an event (schema: docs/dump-json.md), or `None` for events JSON does not carry.
pub fn event_json(conn: &ConnInfo, event: &Event<'_>, with_data: bool) -> Option<serde_json::Value> {
    use serde_json::json;
    let base = |kind: &str, dir: Option<&str>, ts: Option<Timestamp>| json!({"conn": conn.id, "event": kind, "dir": dir, "ts": ts.map(|t| t.as_secs_f64())});
    let mut v = match event {
        Event::Record { dir, ts, number, content_type, inner_type, version, length, encrypted, decrypted, .. } => {
            let mut v = base("record", Some(dir.short()), Some(*ts));
            v["record"] = json!(number);
            v["content_type"] = json!(content_type.name());
            v["inner_content_type"] = json!(inner_type.map(|t| t.name()));
            v["version"] = json!(version_name(*version));
            v["length"] = json!(length);
            v["encrypted"] = json!(encrypted);
            v["decrypted"] = json!(decrypted);
            v
        }
        Event::Handshake { dir, ts, msg_type, length, encrypted, detail } => {
            let mut v = base("handshake", Some(dir.short()), Some(*ts));
            v["message"] = json!(match detail {
                HandshakeDetail::ServerHello { retry: true, .. } => "HelloRetryRequest",
                _ => type_name(*msg_type),
            });
            v["length"] = json!(length);
            v["encrypted"] = json!(encrypted);
            v["text"] = json!(handshake_line(*msg_type, *length, detail));
            v
        }
        Event::ChangeCipherSpec { dir, ts } => base("change_cipher_spec", Some(dir.short()), Some(*ts)),
        Event::Alert { dir, ts, alert } => {
            let mut v = base("alert", Some(dir.short()), Some(*ts));
            v["level"] = json!(alert.map(|a: Alert| a.level_name()));
            v["description"] = json!(alert.map(|a: Alert| a.description_name()));
            v
        }
        Event::ApplicationData { dir, ts, data, early } => {
            let mut v = base("application_data", Some(dir.short()), Some(*ts));
            v["length"] = json!(data.len());
            v["early"] = json!(early);
            v["data"] = json!(with_data.then(|| String::from_utf8_lossy(data).into_owned()));
            v
        }
        Event::EarlyData { accepted } => {
            let mut v = base("early_data", None, None);
            v["accepted"] = json!(accepted);
            v
        }
        Event::Negotiated { .. } => return None,
        Event::Undecrypted { dir, ts, number, reason, auth_failed } => {
            let mut v = base("undecrypted", Some(dir.short()), Some(*ts));
            v["record"] = json!(number);
            v["reason"] = json!(reason);
            v["auth_failed"] = json!(auth_failed);
            v
        }
        Event::Gap { dir, bytes } => {
            let mut v = base("gap", Some(dir.short()), None);
            v["length"] = json!(bytes);
            v
        }
        Event::Resync { dir, skipped } => {
            let mut v = base("resync", Some(dir.short()), None);
            v["length"] = json!(skipped);
            v
        }
        Event::Malformed { dir, ts, what } => {
            let mut v = base("malformed", Some(dir.short()), Some(*ts));
            v["reason"] = json!(what);
            v
        }
    };
    if v["dir"].is_null() {
        v["dir"] = serde_json::Value::Null;
    }
    Some(v)
}

/// The JSON objects of a connection's start and end.
pub fn connection_json(conn: &ConnInfo, summary: Option<&Summary>) -> serde_json::Value {
    use serde_json::json;
    let mut v = json!({
        "conn": conn.id,
        "event": if summary.is_some() { "connection_end" } else { "connection_start" },
        "dir": null,
        "ts": conn.first_ts.as_secs_f64(),
        "client": addr(&conn.client),
        "server": addr(&conn.server),
        "midstream": conn.midstream,
    });
    if let Some(s) = summary {
        v["version"] = json!(s.version.map(version_name));
        v["cipher_suite"] = json!(s.cipher_suite.map(suite_name));
        v["sni"] = json!(s.server_name);
        v["alpn"] = json!(s.alpn);
        v["resumed"] = json!(s.resumed);
        v["ja3"] = json!(s.fingerprints.ja3);
        v["ja3s"] = json!(s.fingerprints.ja3s);
        v["ja4"] = json!(s.fingerprints.ja4);
        v["records"] = json!(s.stats.records);
        v["handshake_messages"] = json!(s.stats.handshake);
        v["plaintext_bytes_c2s"] = json!(s.stats.plaintext_bytes[0]);
        v["plaintext_bytes_s2c"] = json!(s.stats.plaintext_bytes[1]);
        v["failed_records"] = json!(s.stats.failed_records);
        v["undecrypted_records"] = json!(s.stats.undecrypted_records);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition the table/vectorized dumps must equal: split on `\n`, `\r` stripped, 90% text rule.
    fn data_dump_reference(data: &[u8]) -> Vec<u8> {
        let printable = data.iter().filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()).count();
        let mut out = Vec::new();
        if printable * 10 >= data.len() * 9 {
            let rule = b"    ---------------------------------------------------------------\n";
            out.extend_from_slice(rule);
            for line in data.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                out.extend_from_slice(b"    ");
                out.extend(
                    line.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' || b == b'\t' { b } else { b'.' }),
                );
                out.push(b'\n');
            }
            out.extend_from_slice(rule);
        } else {
            for (i, chunk) in data.chunks(16).enumerate() {
                out.extend_from_slice(format!("    {:04x} ", (i * 16) & 0xffff).as_bytes());
                for b in chunk {
                    out.extend_from_slice(format!(" {b:02x}").as_bytes());
                }
                out.push(b'\n');
            }
        }
        out
    }

    #[test]
    fn dumps_equal_the_plain_definition() {
        let mut inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\n".to_vec(),
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
            b"no newline at the end, and longer than thirty-two bytes \x01\x7f\xff".to_vec(),
            (0..=255u8).collect(),
            (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect(),
        ];
        // Text with lines of every length around the 32-byte step, a few control bytes, CR LF endings.
        let mut text = Vec::new();
        for len in 0..100 {
            text.extend((0..len).map(|i| if i % 37 == 5 { 0x07 } else { b'a' + (i % 26) as u8 }));
            text.extend_from_slice(if len % 3 == 0 { b"\r\n" } else { b"\n" });
        }
        inputs.push(text);
        let mut scratch = Vec::new();
        for data in &inputs {
            let mut out = Vec::new();
            data_dump(&mut out, data, &mut scratch).unwrap();
            assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&data_dump_reference(data)));
        }
    }

    #[test]
    fn numbers_written_by_hand_equal_format() {
        for n in [0u64, 7, 10, 99, 1_000_000_007, u64::MAX] {
            let mut buf = Vec::new();
            push_u64(&mut buf, n);
            assert_eq!(buf, n.to_string().into_bytes());
            buf.clear();
            Secs4(n).push_to(&mut buf);
            let expected = format!("{}.{:04}", n / 1_000_000_000, (n % 1_000_000_000) / 100_000);
            assert_eq!(buf, expected.into_bytes());
        }
    }
}
