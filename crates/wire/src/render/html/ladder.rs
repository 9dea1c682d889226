//! One connection's ladder diagram: client and server lanes, one arrow per handshake message, alert,
//! ChangeCipherSpec or record, with its time offset; runs of application data records in one direction
//! drawn as one arrow; gaps and malformed bytes as notes across both lanes.

use std::fmt::Write as _;

use super::{binary_size, push_escaped, secs};
use crate::alert::AlertLevel;
use crate::dissect::{Direction, Event, HandshakeDetail, Timestamp};
use crate::record::ContentType;
use crate::render::Connection;

/// A long detail is folded under a `<details>` after this many bytes of it.
const FOLD_AFTER: usize = 160;

/// How much of a folded detail (its lines joined) its summary shows.
const SUMMARY_LEN: usize = 100;

/// The longest HTTP line shown for a run of application data.
const HTTP_LINE_MAX: usize = 200;

/// What an arrow stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Handshake,
    ChangeCipherSpec,
    Alert,
    /// Decrypted application data.
    Data,
    /// A record none of whose content was drawn: left encrypted, or part of a message continued later.
    Record,
    /// Across both lanes: a gap, a resynchronisation, malformed bytes, the answer to 0-RTT.
    Note,
}

/// One arrow (or note) of the ladder.
#[derive(Debug)]
struct Step {
    dir: Option<Direction>,
    ts: Timestamp,
    kind: Kind,
    label: String,
    detail: String,
    /// The (first) record it came in; 0 for notes.
    record: u64,
    /// Records merged into this arrow (runs of application data).
    records: u64,
    bytes: u64,
    decrypted: bool,
    encrypted: bool,
    early: bool,
    alert: bool,
    /// A fatal alert (drawn heavier).
    fatal: bool,
}

impl Step {
    fn new(dir: Option<Direction>, ts: Timestamp, kind: Kind, label: impl Into<String>) -> Self {
        Self {
            dir,
            ts,
            kind,
            label: label.into(),
            detail: String::new(),
            record: 0,
            records: 1,
            bytes: 0,
            decrypted: false,
            encrypted: false,
            early: false,
            alert: false,
            fatal: false,
        }
    }
}

/// The record whose contents are being drawn.
#[derive(Debug)]
struct Current {
    dir: Direction,
    ts: Timestamp,
    number: u64,
    shown_type: ContentType,
    length: usize,
    encrypted: bool,
    decrypted: bool,
    /// Whether an arrow came of it.
    drawn: bool,
    reason: Option<String>,
}

/// The steps of one connection, gathered as its events come.
#[derive(Debug)]
pub(super) struct Ladder {
    first_ts: Timestamp,
    max_steps: usize,
    steps: Vec<Step>,
    current: Option<Current>,
    /// Arrows not drawn past `max_steps`, and the record bytes they carried.
    hidden_steps: u64,
    hidden_bytes: u64,
}

impl Ladder {
    pub(super) fn new(first_ts: Timestamp, max_steps: usize) -> Self {
        Self { first_ts, max_steps, steps: Vec::new(), current: None, hidden_steps: 0, hidden_bytes: 0 }
    }

    pub(super) fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Record { dir, ts, number, content_type, inner_type, length, encrypted, decrypted, .. } => {
                self.close_record();
                self.current = Some(Current {
                    dir: *dir,
                    ts: *ts,
                    number: *number,
                    shown_type: inner_type.unwrap_or(*content_type),
                    length: *length,
                    encrypted: *encrypted,
                    decrypted: *decrypted,
                    drawn: false,
                    reason: None,
                });
            }
            Event::Handshake { dir, ts, msg_type, length, encrypted, detail } => {
                let label = match detail {
                    HandshakeDetail::ServerHello { retry: true, .. } => "HelloRetryRequest",
                    _ => msg_type.name(),
                };
                let text = super::super::handshake_line(*msg_type, *length, detail);
                let mut step = self.step(Some(*dir), *ts, Kind::Handshake, label);
                step.detail = text.strip_prefix(label).unwrap_or(&text).trim_start().to_owned();
                step.decrypted = *encrypted;
                step.bytes = *length as u64 + 4;
                self.push(step);
            }
            Event::ChangeCipherSpec { dir, ts } => {
                let step = self.step(Some(*dir), *ts, Kind::ChangeCipherSpec, "ChangeCipherSpec");
                self.push(step);
            }
            Event::Alert { dir, ts, alert } => {
                let (label, detail) = match alert {
                    Some(a) => (format!("Alert {}", a.description.name()), format!("level {}", a.level.name())),
                    None => ("Alert (unreadable)".to_owned(), String::new()),
                };
                let mut step = self.step(Some(*dir), *ts, Kind::Alert, label);
                step.detail = detail;
                step.alert = true;
                step.fatal = alert.is_some_and(|a| a.level == AlertLevel::Fatal);
                self.push(step);
            }
            Event::ApplicationData { dir, ts, data, early } => self.data(*dir, *ts, data, *early),
            Event::Undecrypted { number, reason, .. } => {
                if let Some(c) = self.current.as_mut().filter(|c| c.number == *number) {
                    let what = if reason.is_auth_failure() { "failed to decrypt" } else { "not decrypted" };
                    c.reason = Some(format!("{what}: {reason}"));
                }
            }
            Event::EarlyData { accepted } => {
                let what =
                    if *accepted { "the server accepted the 0-RTT data" } else { "the server rejected the 0-RTT data" };
                self.note(self.last_ts(), what.to_owned(), false);
            }
            Event::Negotiated { .. } => {}
            Event::Gap { dir, bytes } => {
                self.close_record();
                self.note(self.last_ts(), format!("{} gap: {bytes} bytes missing from the capture", dir.arrow()), true);
            }
            Event::Resync { dir, skipped } => {
                self.close_record();
                self.note(self.last_ts(), format!("{} skipped {skipped} bytes to the next record", dir.arrow()), false);
            }
            Event::Malformed { dir, ts, what } => {
                self.close_record();
                self.note(*ts, format!("{} malformed: {what}", dir.arrow()), true);
            }
        }
    }

    /// The connection ended: the last record is drawn if nothing else was.
    pub(super) fn finish(&mut self) {
        self.close_record();
    }

    /// A step from the current record (its number and state), marking the record as drawn.
    fn step(&mut self, dir: Option<Direction>, ts: Timestamp, kind: Kind, label: impl Into<String>) -> Step {
        let mut step = Step::new(dir, ts, kind, label);
        if let Some(c) = self.current.as_mut() {
            c.drawn = true;
            step.record = c.number;
            step.decrypted = c.decrypted;
        }
        step
    }

    fn push(&mut self, step: Step) {
        if self.steps.len() >= self.max_steps {
            self.hidden_steps += 1;
            self.hidden_bytes += step.bytes;
            return;
        }
        self.steps.push(step);
    }

    fn note(&mut self, ts: Timestamp, text: String, alert: bool) {
        let mut step = Step::new(None, ts, Kind::Note, text);
        step.alert = alert;
        self.push(step);
    }

    fn last_ts(&self) -> Timestamp {
        self.current.as_ref().map(|c| c.ts).or_else(|| self.steps.last().map(|s| s.ts)).unwrap_or(self.first_ts)
    }

    /// Decrypted application data: merged into the previous arrow when that is data the same way.
    fn data(&mut self, dir: Direction, ts: Timestamp, data: &[u8], early: bool) {
        if let Some(c) = self.current.as_mut() {
            c.drawn = true;
        }
        if let Some(last) = self.steps.last_mut() {
            if last.kind == Kind::Data && last.dir == Some(dir) && last.early == early && self.hidden_steps == 0 {
                last.records += 1;
                last.bytes += data.len() as u64;
                return;
            }
        }
        let mut step = self.step(Some(dir), ts, Kind::Data, if early { "0-RTT data" } else { "ApplicationData" });
        step.bytes = data.len() as u64;
        step.early = early;
        step.decrypted = true;
        if let Some(line) = http_line(data) {
            step.detail = line;
        }
        self.push(step);
    }

    /// Draws the current record if none of its content was drawn (left encrypted, or a fragment).
    fn close_record(&mut self) {
        let Some(c) = self.current.take() else { return };
        if c.drawn {
            return;
        }
        let encrypted = c.encrypted && !c.decrypted;
        if let Some(last) = self.steps.last_mut() {
            let mergeable = last.kind == Kind::Record
                && last.encrypted
                && encrypted
                && last.dir == Some(c.dir)
                && c.shown_type == ContentType::ApplicationData
                && last.label.starts_with("ApplicationData")
                && self.hidden_steps == 0;
            if mergeable {
                last.records += 1;
                last.bytes += c.length as u64;
                return;
            }
        }
        let name = type_label(c.shown_type);
        let label = if encrypted {
            name.to_owned()
        } else if c.shown_type == ContentType::Handshake {
            format!("{name} fragment")
        } else {
            format!("{name} record")
        };
        let mut step = Step::new(Some(c.dir), c.ts, Kind::Record, label);
        step.record = c.number;
        step.bytes = c.length as u64;
        step.encrypted = encrypted;
        step.decrypted = c.decrypted;
        step.detail = c.reason.unwrap_or_default();
        if c.shown_type == ContentType::Alert {
            step.alert = true;
        }
        self.push(step);
    }

    /// The lanes and the steps, after the section's header.
    pub(super) fn write(&self, h: &mut String, conn: &Connection) {
        let _ = write!(
            h,
            "<div class=\"lanes\"><div class=\"who\"><span class=\"c\">client <code>{}</code></span>\
             <span class=\"s\">server <code>{}</code></span></div></div>\n<ol class=\"steps\">\n",
            conn.client, conn.server
        );
        for step in &self.steps {
            self.write_step(h, step);
        }
        if self.hidden_steps > 0 {
            let _ = writeln!(
                h,
                "<li class=\"step more\"><span class=\"t\"></span><div class=\"lane\">… {} more arrows ({}) not drawn: \
                 <code>tlskit dump</code> lists every record</div></li>",
                self.hidden_steps,
                binary_size(self.hidden_bytes)
            );
        }
        if self.steps.is_empty() {
            h.push_str("<li class=\"step more\"><span class=\"t\"></span><div class=\"lane\">no records</div></li>\n");
        }
        h.push_str("</ol>\n");
    }

    fn write_step(&self, h: &mut String, s: &Step) {
        let rel = secs(s.ts.0.saturating_sub(self.first_ts.0));
        let Some(dir) = s.dir else {
            let class = if s.alert { "step note alert" } else { "step note" };
            let _ = write!(h, "<li class=\"{class}\"><span class=\"t\">{rel}</span><div class=\"lane\">");
            push_escaped(h, &s.label);
            h.push_str("</div></li>\n");
            return;
        };
        let kind = match s.kind {
            Kind::Handshake => "hs",
            Kind::ChangeCipherSpec => "ccs",
            Kind::Alert => "alert",
            Kind::Data => "data",
            Kind::Record => "rec",
            Kind::Note => "note",
        };
        let _ = write!(h, "<li class=\"step {} {kind}", dir.short());
        if s.alert && s.kind != Kind::Alert {
            h.push_str(" alert");
        }
        if s.fatal {
            h.push_str(" fatal");
        }
        if s.encrypted {
            h.push_str(" enc");
        }
        if s.decrypted {
            h.push_str(" dec");
        }
        let way = match dir {
            Direction::ClientToServer => "client to server",
            Direction::ServerToClient => "server to client",
        };
        let _ = write!(
            h,
            "\"><span class=\"t\">{rel}</span><div class=\"lane\"><div class=\"arrow\" title=\"{way}\"><span class=\"label\">"
        );
        push_escaped(h, &s.label);
        if s.records > 1 {
            let _ = write!(h, " ×{}", s.records);
        }
        if s.decrypted {
            h.push_str("<span class=\"badge dec\">decrypted</span>");
        }
        if s.encrypted {
            h.push_str("<span class=\"badge enc\">encrypted</span>");
        }
        h.push_str("</span></div></div><div class=\"detail\">");
        if s.record > 0 {
            let plural = if s.records > 1 { "records" } else { "record" };
            let _ = write!(h, "<span class=\"rec\">{plural} {}", s.record);
            if s.records > 1 {
                let _ = write!(h, "–{}", s.record + s.records - 1);
            }
            h.push_str("</span>");
        }
        if matches!(s.kind, Kind::Data | Kind::Record) {
            let _ = write!(h, "<span title=\"{} bytes\">{}</span> ", s.bytes, binary_size(s.bytes));
        }
        write_detail(h, &s.detail);
        h.push_str("</div></li>\n");
    }
}

/// The detail text, escaped; its lines kept; folded under a summary when long.
fn write_detail(h: &mut String, detail: &str) {
    if detail.is_empty() {
        return;
    }
    let lines: Vec<&str> = detail.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let write_lines = |h: &mut String, lines: &[&str]| {
        for line in lines {
            h.push_str("<span class=\"line\">");
            push_escaped(h, line);
            h.push_str("</span>");
        }
    };
    if detail.len() <= FOLD_AFTER {
        write_lines(h, &lines);
        return;
    }
    let joined = lines.join(" ");
    let cut = floor_char_boundary(&joined, joined.len().min(SUMMARY_LEN));
    h.push_str("<details><summary>");
    push_escaped(h, &joined[..cut]);
    if cut < joined.len() {
        h.push('…');
    }
    h.push_str("</summary>");
    write_lines(h, &lines);
    h.push_str("</details>");
}

/// The largest index `<= at` that is a char boundary of `s`.
fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The first line of an HTTP/1 request or response (or the HTTP/2 preface), if `data` starts with one.
fn http_line(data: &[u8]) -> Option<String> {
    let end = data.iter().take(HTTP_LINE_MAX + 1).position(|&b| b == b'\r' || b == b'\n');
    let line = &data[..end.unwrap_or(data.len().min(HTTP_LINE_MAX))];
    if line.is_empty() || !line.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let method_len = text.bytes().take_while(|b| b.is_ascii_uppercase()).count();
    let target = text.get(method_len..).unwrap_or_default();
    let request = (3..=10).contains(&method_len)
        && (target.starts_with(" /") || target.starts_with(" *") || target.starts_with(" http"));
    if !(request || text.starts_with("HTTP/")) {
        return None;
    }
    let mut shown = text.to_owned();
    if end.is_none() && data.len() > HTTP_LINE_MAX {
        shown.push('…');
    }
    Some(shown)
}

fn type_label(t: ContentType) -> &'static str {
    super::super::text::type_label(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_lines_are_recognised_and_bounded() {
        assert_eq!(
            http_line(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n").as_deref(),
            Some("GET /index.html HTTP/1.1")
        );
        assert_eq!(http_line(b"HTTP/1.1 200 OK\r\n").as_deref(), Some("HTTP/1.1 200 OK"));
        assert_eq!(http_line(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").as_deref(), Some("PRI * HTTP/2.0"));
        assert_eq!(http_line(b"\x00\x00\x12\x04"), None);
        assert_eq!(http_line(b"hello world"), None);
        let long = format!("GET /{} HTTP/1.1", "a".repeat(500));
        let shown = http_line(long.as_bytes()).unwrap();
        assert!(shown.ends_with('…') && shown.len() <= HTTP_LINE_MAX + 3, "{shown}");
    }

    #[test]
    fn long_details_fold_on_a_char_boundary() {
        let mut h = String::new();
        write_detail(&mut h, &"é".repeat(200));
        assert!(h.starts_with("<details><summary>") && h.contains('…'), "{h}");
        let mut h = String::new();
        write_detail(&mut h, "short <b>");
        assert_eq!(h, "<span class=\"line\">short &lt;b&gt;</span>");
    }

    #[test]
    fn runs_of_encrypted_data_are_one_arrow_and_the_cap_counts_the_rest() {
        let mut ladder = Ladder::new(Timestamp(0), 3);
        for number in 1..=10u64 {
            let dir = if number <= 5 { Direction::ClientToServer } else { Direction::ServerToClient };
            ladder.event(&Event::Record {
                dir,
                ts: Timestamp(number * 1_000_000),
                number,
                content_type: ContentType::ApplicationData,
                inner_type: None,
                version: crate::record::ProtocolVersion::TLSv1_2,
                length: 100,
                encrypted: true,
                decrypted: false,
                raw: std::borrow::Cow::Borrowed(&[]),
            });
        }
        ladder.event(&Event::Gap { dir: Direction::ServerToClient, bytes: 7 });
        ladder.event(&Event::Gap { dir: Direction::ServerToClient, bytes: 9 });
        ladder.finish();
        assert_eq!(ladder.steps.len(), 3);
        assert_eq!((ladder.steps[0].records, ladder.steps[0].bytes), (5, 500));
        assert_eq!((ladder.steps[1].records, ladder.steps[1].dir), (5, Some(Direction::ServerToClient)));
        assert_eq!(ladder.steps[2].kind, Kind::Note);
        assert_eq!(ladder.hidden_steps, 1);
    }
}
