//! The byte dumps of the text form: every record in hex (`-x`), and decrypted application data as text or,
//! when it is mostly binary, hex (`-d`). Built by table into one buffer and written once: these dumps were
//! format-bound before.

use std::io::{self, Write};

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

pub(super) fn hex_dump(out: &mut dyn Write, bytes: &[u8], buf: &mut Vec<u8>) -> io::Result<()> {
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
pub(super) fn data_dump(out: &mut dyn Write, data: &[u8], text: &mut Vec<u8>) -> io::Result<()> {
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
}
