//! Text that came from the network, made safe to print: one escaping rule for
//! everything a peer chose (SNI, ALPN, certificate names, request targets),
//! used by every renderer of `wire` and by the server's access and trace lines.

use std::borrow::Cow;
use std::fmt::Write;

/// `s` with terminal control characters written as escapes, so a peer cannot
/// move the cursor, clear the screen, start a new log line or hide text.
///
/// C0 controls (including TAB, CR and LF), DEL and the C1 controls
/// (U+0080..=U+009F, which some terminals obey as 8-bit CSI) become `\xNN` or
/// `\u{NN}`; `\` and `"` become `\\` and `\"` so an escape can never be forged
/// and a quoted field cannot be closed early (nginx's access-log rule). Any
/// other text, spaces included, is kept as it is, and is borrowed when there
/// is nothing to escape.
///
/// ```
/// use tlskit_wire::text::escape_untrusted;
/// assert_eq!(escape_untrusted("localhost"), "localhost");
/// assert_eq!(escape_untrusted("evil\x1b[2J\nnext"), "evil\\x1b[2J\\x0anext");
/// assert_eq!(escape_untrusted("a\"b\\c"), "a\\\"b\\\\c");
/// assert_eq!(escape_untrusted("csi\u{9b}"), "csi\\u{9b}");
/// ```
pub fn escape_untrusted(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Bytes that should be text (a host name, a protocol name) in printable form:
/// UTF-8 decoded lossily, then escaped by [`escape_untrusted`].
pub fn escape_untrusted_bytes(bytes: &[u8]) -> String {
    escape_untrusted(&String::from_utf8_lossy(bytes)).into_owned()
}

/// Serialized JSON with DEL and the C1 controls written as `\uXXXX` too (serde_json
/// escapes only C0, `"` and `\`), so a JSON log line is as safe on a terminal as
/// a text one. The JSON value is unchanged.
///
/// ```
/// use tlskit_wire::text::escape_json_controls;
/// let line = serde_json::json!({ "target": "/x\u{9b}2J" }).to_string();
/// assert_eq!(escape_json_controls(&line), r#"{"target":"/x\u009b2J"}"#);
/// ```
pub fn escape_json_controls(json: &str) -> Cow<'_, str> {
    if !json.chars().any(|c| ('\x7f'..='\u{9f}').contains(&c)) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if ('\x7f'..='\u{9f}').contains(&c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\\' | '"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_and_unchanged() {
        for s in ["", "localhost", "h2", "http/1.1", "CN=tlskit test client, O=tlskit", "ünïcødé ok"] {
            assert!(matches!(escape_untrusted(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn every_control_character_is_escaped() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let escaped = escape_untrusted(&c.to_string()).into_owned();
            assert!(escaped.starts_with('\\'), "{c:?} -> {escaped}");
            assert!(escaped.chars().all(|e| (' '..='~').contains(&e)), "{c:?} -> {escaped}");
        }
        assert_eq!(escape_untrusted("\r\n\t"), "\\x0d\\x0a\\x09");
        assert_eq!(escape_untrusted_bytes(b"x\xff\x1b"), "x\u{fffd}\\x1b");
    }
}
