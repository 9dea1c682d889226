//! ssldump-style text: a header per connection, one line per record, one indented line per handshake
//! message, and a summary line at the end.

use std::io::{self, Write};

use super::dump::{data_dump, hex_dump};
use super::handshake::handshake_text;
use super::Connection;
use crate::dissect::{Event, Summary, Timestamp};
use crate::http::{frame_type_name, HttpEvent, StartLine};
use crate::record::{ContentType, ProtocolVersion};
use crate::text::escape_untrusted;

/// What the text renderer shows besides the record lines.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// Hex dump of every record (`-x`).
    pub hex: bool,
    /// Decrypted application data (`-d`).
    pub data: bool,
    /// The certificates of a Certificate message, one line each (subject, issuer, validity, SANs); without
    /// them the message's line only counts them.
    pub certificates: bool,
}

impl Default for TextOptions {
    /// Record and handshake lines with the certificates, no dumps: `tlskit dump` without options.
    fn default() -> Self {
        Self { hex: false, data: false, certificates: true }
    }
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
    pub fn connection_start(&mut self, out: &mut dyn Write, conn: &Connection) -> io::Result<()> {
        self.first_ts = conn.first_ts;
        self.last_ts = conn.first_ts;
        let mid = if conn.midstream { " (capture starts mid-connection)" } else { "" };
        writeln!(out, "New TLS connection #{}: {} <-> {}{mid}", conn.id, conn.client, conn.server)
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
                line.extend_from_slice(version.name().as_bytes());
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
                writeln!(out, "    {}", handshake_text(*msg_type, *length, detail, self.options.certificates))?;
            }
            Event::ChangeCipherSpec { .. } => writeln!(out, "    ChangeCipherSpec")?,
            Event::Alert { alert, .. } => match alert {
                Some(a) => writeln!(out, "    Alert {} {}", a.level, a.description)?,
                None => writeln!(out, "    Alert (encrypted)")?,
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
            Event::Undecrypted { number, reason, .. } => {
                let what = if reason.is_auth_failure() { "failed to decrypt" } else { "not decrypted" };
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
    pub fn connection_end(&mut self, out: &mut dyn Write, conn: &Connection, s: &Summary) -> io::Result<()> {
        writeln!(out, "{} end: {}", conn.id, summary_line(s))
    }
}

/// Nanoseconds shown as seconds with four decimals (`12.3456`).
pub(super) struct Secs4(pub(super) u64);

impl Secs4 {
    /// Appends `12.3456` without the formatting machinery.
    pub(super) fn push_to(&self, buf: &mut Vec<u8>) {
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

/// The record type as the text form labels it.
pub(super) fn type_label(t: ContentType) -> &'static str {
    match t {
        ContentType::ChangeCipherSpec => "ChangeCipherSpec",
        ContentType::Alert => "Alert",
        ContentType::Handshake => "Handshake",
        ContentType::ApplicationData => "ApplicationData",
        ContentType::Heartbeat => "Heartbeat",
        ContentType::Unknown(_) => "Unknown",
    }
}

impl TextRenderer {
    /// One HTTP event (`tlskit dump --http`): a message's start line and header fields, with its body's
    /// length, or an HTTP/2 frame header. Everything the peer chose is escaped.
    pub fn http_event(&mut self, out: &mut dyn Write, event: &HttpEvent<'_>) -> io::Result<()> {
        match event {
            HttpEvent::Message { head, body_len, complete, .. } => {
                let start = match &head.start {
                    StartLine::Request { method, target } => {
                        format!("request {}: {} {}", head.stream, escape_untrusted(method), escape_untrusted(target))
                    }
                    StartLine::Response { status, reason } if reason.is_empty() => {
                        format!("response {}: {status}", head.stream)
                    }
                    StartLine::Response { status, reason } => {
                        format!("response {}: {status} {}", head.stream, escape_untrusted(reason))
                    }
                };
                let end = if *complete { "" } else { ", incomplete" };
                writeln!(out, "    {} {start} (body {body_len} bytes{end})", head.version.name())?;
                for (name, value) in &head.headers {
                    writeln!(out, "        {}: {}", escape_untrusted(name), escape_untrusted(value))?;
                }
            }
            HttpEvent::Frame { dir, frame_type, flags, stream, length } => writeln!(
                out,
                "    HTTP/2 {} {} stream={stream} flags=0x{flags:02x} len={length}",
                dir.arrow(),
                frame_type_name(*frame_type)
            )?,
            HttpEvent::Malformed { what, .. } => writeln!(out, "    HTTP: {what}")?,
            HttpEvent::Body { .. } => {}
        }
        Ok(())
    }
}

/// One line for a connection's summary.
pub fn summary_line(s: &Summary) -> String {
    let mut line = format!(
        "{} {}",
        s.version.map_or("-", ProtocolVersion::name),
        s.cipher_suite.map_or_else(|| "-".to_string(), |c| c.to_string())
    );
    if let Some(sni) = &s.server_name {
        line += &format!(" sni={}", escape_untrusted(sni));
    }
    if let Some(alpn) = &s.alpn {
        line += &format!(" alpn={}", escape_untrusted(alpn));
    }
    line += if s.resumed { " resumed" } else { " full-handshake" };
    if let Some(method) = s.compression {
        line += &format!(" compression={}", method.name());
    }
    if let Some(ja3) = &s.fingerprints.ja3 {
        line += &format!(" ja3={ja3}");
    }
    if let Some(ja3s) = &s.fingerprints.ja3s {
        line += &format!(" ja3s={ja3s}");
    }
    if let Some(ja4) = &s.fingerprints.ja4 {
        line += &format!(" ja4={ja4}");
    }
    if let Some(ja4s) = &s.fingerprints.ja4s {
        line += &format!(" ja4s={ja4s}");
    }
    line += &format!(
        " decrypted={}+{} bytes failed={} undecrypted={}",
        s.stats.plaintext_bytes[0], s.stats.plaintext_bytes[1], s.stats.failed_records, s.stats.undecrypted_records
    );
    line
}

#[cfg(test)]
mod tests {
    use super::*;

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
