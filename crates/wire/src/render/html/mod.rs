//! The HTML report of `tlskit dump --html`: one self-contained page for a capture, with a table of every
//! connection and a ladder diagram (client and server columns, one arrow per record or handshake message)
//! for the first connections.
//!
//! The report is fed the same events as the text and JSON renderers and streams: each connection's table
//! row and ladder are written when the connection ends, into two writers the caller keeps (temporary files
//! for a large capture), and memory holds only the connections still open. At the end the caller writes
//! [`HtmlReport::head`] (which carries the totals), the rows, [`HtmlReport::middle`], the ladders and
//! [`HtmlReport::tail`], in that order.
//!
//! The page loads nothing (no script, no external resource) and says so in its own Content-Security-Policy:
//! its one style sheet is allowed by hash. Everything that comes from the capture (names, ALPN protocols,
//! certificate subjects, HTTP lines) is escaped.
//!
//! ```
//! use tlskit_wire::render::html::{HtmlOptions, HtmlReport};
//!
//! let mut report = HtmlReport::new(HtmlOptions { title: "empty.pcap".into(), ..HtmlOptions::default() });
//! let (mut rows, mut ladders) = (Vec::new(), Vec::new());
//! // ... report.connection_start / event / connection_end(&mut rows, &mut ladders, ...) per connection ...
//! let mut page = Vec::new();
//! report.head(&mut page).unwrap();
//! page.extend_from_slice(&rows);
//! report.middle(&mut page).unwrap();
//! page.extend_from_slice(&ladders);
//! report.tail(&mut page).unwrap();
//! let page = String::from_utf8(page).unwrap();
//! assert!(page.contains("<table class=\"conns\"") && page.contains("no TLS connections"));
//! ```

mod ladder;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

use super::Connection;
use crate::alert::AlertLevel;
use crate::dissect::{Event, Summary, Timestamp};
use crate::record::ProtocolVersion;

use ladder::Ladder;

/// The report's style sheet; the page's CSP allows exactly these bytes (by SHA-256).
const STYLE: &str = include_str!("report.css");

/// Ladders drawn by default (`--html-connections`).
pub const DEFAULT_LADDERS: usize = 1000;

/// Arrows drawn per ladder by default; the rest of a long connection is counted, not drawn.
pub const DEFAULT_STEPS_PER_LADDER: usize = 2000;

/// What the report shows.
#[derive(Debug, Clone)]
pub struct HtmlOptions {
    /// The capture's name, shown in the title.
    pub title: String,
    /// Ladders are drawn for the first this many connections (by connection number); the table lists all.
    pub ladders: usize,
    /// Arrows per ladder before the rest is counted instead of drawn.
    pub steps_per_ladder: usize,
    /// The command that wrote the report, named in its footer.
    pub command: &'static str,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        Self {
            title: String::new(),
            ladders: DEFAULT_LADDERS,
            steps_per_ladder: DEFAULT_STEPS_PER_LADDER,
            command: "tlskit dump --html",
        }
    }
}

/// What the table shows of one connection besides its [`Summary`].
#[derive(Debug, Default)]
struct Tally {
    /// Records per direction.
    records: [u64; 2],
    /// Record bytes (headers included) per direction.
    bytes: [u64; 2],
    /// `S>C handshake_failure` (and whether it was fatal), at most [`MAX_ALERTS`] of them.
    alerts: Vec<(bool, String)>,
    alerts_total: u64,
    /// A fatal alert was among them.
    fatal: bool,
    last_ts: Timestamp,
}

/// Alerts listed per connection in the table (the rest are counted).
const MAX_ALERTS: usize = 4;

/// An open connection.
#[derive(Default)]
struct Open {
    tally: Tally,
    ladder: Option<Ladder>,
}

/// Counts for the report's head.
#[derive(Debug, Default)]
struct Totals {
    connections: u64,
    resumed: u64,
    with_alerts: u64,
    with_fatal_alerts: u64,
    ladders: u64,
    decrypted_records: u64,
    failed_records: u64,
    undecrypted_records: u64,
    versions: BTreeMap<&'static str, u64>,
}

/// The streaming HTML report (see the module documentation for the order of the parts).
pub struct HtmlReport {
    options: HtmlOptions,
    open: HashMap<u64, Open>,
    ladders_assigned: usize,
    totals: Totals,
    /// The first connection's start: the table's times are offsets from it.
    origin: Option<Timestamp>,
    /// Reused row buffer.
    scratch: String,
}

impl HtmlReport {
    /// A report with these options.
    pub fn new(options: HtmlOptions) -> Self {
        Self {
            options,
            open: HashMap::new(),
            ladders_assigned: 0,
            totals: Totals::default(),
            origin: None,
            scratch: String::new(),
        }
    }

    /// A connection begins: the first [`HtmlOptions::ladders`] of them get a ladder.
    pub fn connection_start(&mut self, conn: &Connection) {
        self.origin.get_or_insert(conn.first_ts);
        let ladder = (self.ladders_assigned < self.options.ladders).then(|| {
            self.ladders_assigned += 1;
            Ladder::new(conn.first_ts, self.options.steps_per_ladder)
        });
        self.open.insert(conn.id, Open { tally: Tally { last_ts: conn.first_ts, ..Tally::default() }, ladder });
    }

    /// One event of a connection.
    pub fn event(&mut self, conn: &Connection, event: &Event<'_>) {
        let open = self.open.entry(conn.id).or_default();
        let tally = &mut open.tally;
        match event {
            Event::Record { dir, ts, length, .. } => {
                tally.records[dir.index()] += 1;
                tally.bytes[dir.index()] += *length as u64 + crate::record::HEADER_LEN as u64;
                tally.last_ts = tally.last_ts.max(*ts);
            }
            Event::Alert { dir, alert, .. } => {
                tally.alerts_total += 1;
                let fatal = alert.is_some_and(|a| a.level == AlertLevel::Fatal);
                tally.fatal |= fatal;
                if tally.alerts.len() < MAX_ALERTS {
                    tally.alerts.push(match alert {
                        Some(a) => (fatal, format!("{} {}", dir.arrow(), a.description.name())),
                        None => (false, format!("{} encrypted alert", dir.arrow())),
                    });
                }
            }
            _ => {}
        }
        if let Some(ladder) = &mut open.ladder {
            ladder.event(event);
        }
    }

    /// A connection ended: its table row goes to `rows`, its ladder (if it has one) to `ladders`.
    pub fn connection_end(
        &mut self,
        rows: &mut dyn Write,
        ladders: &mut dyn Write,
        conn: &Connection,
        summary: &Summary,
    ) -> io::Result<()> {
        let Open { tally, ladder } = self.open.remove(&conn.id).unwrap_or_default();
        let t = &mut self.totals;
        t.connections += 1;
        t.resumed += u64::from(summary.resumed);
        t.with_alerts += u64::from(tally.alerts_total > 0);
        t.with_fatal_alerts += u64::from(tally.fatal);
        t.ladders += u64::from(ladder.is_some());
        t.decrypted_records += summary.stats.decrypted_records;
        t.failed_records += summary.stats.failed_records;
        t.undecrypted_records += summary.stats.undecrypted_records;
        *t.versions.entry(summary.version.map_or("unknown", ProtocolVersion::name)).or_default() += 1;
        let origin = self.origin.unwrap_or(conn.first_ts);
        let mut row = std::mem::take(&mut self.scratch);
        row.clear();
        write_row(&mut row, conn, summary, &tally, ladder.is_some(), origin);
        let written = rows.write_all(row.as_bytes());
        self.scratch = row;
        written?;
        if let Some(mut ladder) = ladder {
            let mut html = String::with_capacity(4096);
            ladder.finish();
            write_ladder_header(&mut html, conn, summary);
            ladder.write(&mut html, conn);
            html.push_str("</section>\n");
            ladders.write_all(html.as_bytes())?;
        }
        Ok(())
    }

    /// Connections reported so far, and how many of them have a ladder.
    pub fn counts(&self) -> (u64, u64) {
        (self.totals.connections, self.totals.ladders)
    }

    /// The start of the page, up to the table's first row: title, totals, the table's header.
    pub fn head(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut h = String::with_capacity(STYLE.len() + 4096);
        let title = if self.options.title.is_empty() { "capture" } else { self.options.title.as_str() };
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        let _ = writeln!(h, "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">", report_csp());
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(h, "<meta name=\"generator\" content=\"tlskit {}\">", env!("CARGO_PKG_VERSION"));
        h.push_str("<title>TLS report: ");
        push_escaped(&mut h, title);
        h.push_str("</title>\n<style>");
        h.push_str(STYLE);
        h.push_str("</style>\n</head>\n<body>\n<header>\n<h1>TLS report <span class=\"file\">");
        push_escaped(&mut h, title);
        h.push_str("</span></h1>\n<dl class=\"totals\">\n");
        let t = &self.totals;
        let versions: Vec<String> = t.versions.iter().map(|(v, n)| format!("{v} ×{n}")).collect();
        let total = |h: &mut String, name: &str, value: String, bad: bool| {
            let class = match (bad, name) {
                (true, _) => " class=\"bad\"",
                (false, "versions") => " class=\"wide\"",
                _ => "",
            };
            let _ = writeln!(h, "<div{class}><dt>{name}</dt><dd>{}</dd></div>", escape_html(&value));
        };
        total(&mut h, "connections", t.connections.to_string(), false);
        total(&mut h, "ladders drawn", t.ladders.to_string(), false);
        total(&mut h, "resumed", t.resumed.to_string(), false);
        total(&mut h, "with alerts", t.with_alerts.to_string(), false);
        total(&mut h, "with fatal alerts", t.with_fatal_alerts.to_string(), t.with_fatal_alerts > 0);
        total(&mut h, "records decrypted", t.decrypted_records.to_string(), false);
        total(&mut h, "left encrypted", t.undecrypted_records.to_string(), false);
        total(&mut h, "failed to decrypt", t.failed_records.to_string(), t.failed_records > 0);
        if !versions.is_empty() {
            total(&mut h, "versions", versions.join(", "), false);
        }
        h.push_str("</dl>\n</header>\n<main>\n<h2 id=\"connections\">Connections</h2>\n");
        h.push_str(
            "<div class=\"scroll\"><table class=\"conns\">\n<thead><tr><th>#</th><th>client<br>server</th>\
             <th>start<br>duration</th><th>version<br>cipher suite</th><th>SNI<br>ALPN</th><th>resumed</th>\
             <th>fingerprints</th><th>records / bytes</th><th>decrypted</th><th>alerts</th></tr></thead>\n<tbody>\n",
        );
        if t.connections == 0 {
            h.push_str("<tr><td colspan=\"10\" class=\"empty\">no TLS connections in this capture</td></tr>\n");
        }
        out.write_all(h.as_bytes())
    }

    /// Between the last row and the first ladder.
    pub fn middle(&self, out: &mut dyn Write) -> io::Result<()> {
        let t = &self.totals;
        let mut h = String::from("</tbody>\n</table></div>\n<h2 id=\"ladders\">Handshakes</h2>\n");
        if t.ladders < t.connections {
            let _ = writeln!(
                h,
                "<p class=\"muted\">Ladders for the first {} connections (by connection number) of {}; \
                 <code>--html-connections N</code> draws more.</p>",
                t.ladders, t.connections
            );
        }
        if t.ladders == 0 {
            h.push_str("<p class=\"muted\">No ladder drawn.</p>\n");
        }
        out.write_all(h.as_bytes())
    }

    /// The end of the page.
    pub fn tail(&self, out: &mut dyn Write) -> io::Result<()> {
        let footer = format!(
            "</main>\n<footer>Written by tlskit {} (<code>{}</code>). Times are seconds from \
             each connection's first packet; arrows marked <span class=\"badge dec\">decrypted</span> were \
             read with the key log, <span class=\"badge enc\">encrypted</span> ones could not be.</footer>\n\
             </body>\n</html>\n",
            env!("CARGO_PKG_VERSION"),
            escape_html(self.options.command)
        );
        out.write_all(footer.as_bytes())
    }
}

/// The report's Content-Security-Policy: nothing loads, no script runs, only its own style sheet applies.
pub fn report_csp() -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    format!("default-src 'none'; style-src 'sha256-{hash}'; img-src data:; base-uri 'none'; form-action 'none'")
}

/// Appends `s` escaped, with a line-break opportunity after each `_` (long suite names wrap at their words).
fn push_breakable(out: &mut String, s: &str) {
    for (i, part) in s.split('_').enumerate() {
        if i > 0 {
            out.push_str("_<wbr>");
        }
        push_escaped(out, part);
    }
}

/// One row of the connections table.
fn write_row(h: &mut String, conn: &Connection, s: &Summary, tally: &Tally, has_ladder: bool, origin: Timestamp) {
    let id = conn.id;
    let _ = write!(h, "<tr id=\"row-{id}\"><td class=\"num\">");
    if has_ladder {
        let _ = write!(h, "<a href=\"#conn-{id}\">{id}</a>");
    } else {
        let _ = write!(h, "{id}");
    }
    let _ = write!(h, "</td><td class=\"ends\"><code>{}</code><br><code>{}</code></td>", conn.client, conn.server);
    let start = conn.first_ts.0.saturating_sub(origin.0);
    let duration = tally.last_ts.0.saturating_sub(conn.first_ts.0);
    let _ = write!(h, "<td class=\"num\">+{} s<br>{} s</td>", secs(start), secs(duration));
    let _ = write!(h, "<td class=\"suite\">{}<br>", s.version.map_or("-", ProtocolVersion::name));
    match s.cipher_suite {
        Some(id) => push_breakable(h, &id.to_string()),
        None => h.push('-'),
    }
    h.push_str("</td><td class=\"name\">");
    push_escaped(h, s.server_name.as_deref().unwrap_or("-"));
    h.push_str("<br>");
    push_escaped(h, s.alpn.as_deref().unwrap_or("-"));
    h.push_str("</td><td>");
    h.push_str(if s.resumed { "yes" } else { "no" });
    match s.early_data {
        Some(true) => h.push_str("<br><span class=\"badge early\">0-RTT accepted</span>"),
        Some(false) => h.push_str("<br><span class=\"badge early\">0-RTT rejected</span>"),
        None => {}
    }
    h.push_str("</td><td>");
    let fp = &s.fingerprints;
    for (name, value, string) in [
        ("JA3", &fp.ja3, &fp.ja3_string),
        ("JA3S", &fp.ja3s, &fp.ja3s_string),
        ("JA4", &fp.ja4, &None),
        ("JA4S", &fp.ja4s, &None),
    ] {
        let Some(value) = value else { continue };
        h.push_str("<span class=\"fp\"");
        if let Some(string) = string {
            h.push_str(" title=\"");
            push_escaped(h, string);
            h.push('"');
        }
        let _ = write!(h, "><b>{name}</b><code>");
        push_escaped(h, value);
        h.push_str("</code></span>");
    }
    h.push_str("</td><td class=\"num\">");
    for (i, dir) in ["C>S", "S>C"].iter().enumerate() {
        if i > 0 {
            h.push_str("<br>");
        }
        let _ = write!(
            h,
            "<span class=\"dir\">{}</span>{} / <span title=\"{} bytes\">{}</span>",
            escape_html(dir),
            tally.records[i],
            tally.bytes[i],
            binary_size(tally.bytes[i])
        );
    }
    let plain = s.stats.plaintext_bytes;
    let _ = write!(
        h,
        "</td><td class=\"num\">{} rec<br><span title=\"{} bytes\">{}</span></td>",
        s.stats.decrypted_records,
        plain[0] + plain[1],
        binary_size(plain[0] + plain[1])
    );
    if tally.alerts_total == 0 {
        h.push_str("<td>-</td></tr>\n");
        return;
    }
    h.push_str("<td class=\"alerts\">");
    for (i, (fatal, alert)) in tally.alerts.iter().enumerate() {
        if i > 0 {
            h.push_str("<br>");
        }
        h.push_str(if *fatal { "<span class=\"fatal\" title=\"fatal\">" } else { "<span title=\"warning\">" });
        push_escaped(h, alert);
        h.push_str("</span>");
    }
    let more = tally.alerts_total - tally.alerts.len() as u64;
    if more > 0 {
        let _ = write!(h, "<br>and {more} more");
    }
    h.push_str("</td></tr>\n");
}

/// The opening of a connection's ladder section, with what it negotiated.
fn write_ladder_header(h: &mut String, conn: &Connection, s: &Summary) {
    let id = conn.id;
    let _ = write!(
        h,
        "<section class=\"ladder\" id=\"conn-{id}\">\n<header><h3>#{id} <code>{}</code> → <code>{}</code></h3>\
         <span class=\"facts\">",
        conn.client, conn.server
    );
    let mut facts = String::new();
    facts.push_str(s.version.map_or("version unknown", ProtocolVersion::name));
    if let Some(suite) = s.cipher_suite {
        facts.push_str(" · ");
        facts.push_str(&suite.to_string());
    }
    if let Some(sni) = &s.server_name {
        facts.push_str(" · SNI ");
        facts.push_str(sni);
    }
    if let Some(alpn) = &s.alpn {
        facts.push_str(" · ALPN ");
        facts.push_str(alpn);
    }
    facts.push_str(if s.resumed { " · resumed" } else { " · full handshake" });
    if conn.midstream {
        facts.push_str(" · capture starts mid-connection");
    }
    push_escaped(h, &facts);
    let _ = writeln!(h, "</span><a class=\"top\" href=\"#row-{id}\">table ↑</a></header>");
}

/// Nanoseconds as seconds with four decimals, as the text renderer writes them.
fn secs(ns: u64) -> String {
    let mut buf = Vec::with_capacity(12);
    super::text::Secs4(ns).push_to(&mut buf);
    String::from_utf8(buf).unwrap_or_default()
}

/// Appends `s` with `&`, `<`, `>`, `"` and `'` escaped: inert in HTML text and in quoted attributes.
pub fn push_escaped(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped: inert in HTML text and in quoted attributes.
///
/// ```
/// assert_eq!(tlskit_wire::render::html::escape_html("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    push_escaped(&mut out, s);
    out
}

/// `n` bytes in binary units, as a person reads them: `512 B`, `1.5 KiB`, `12.3 MiB`, `120 GiB`.
///
/// One decimal below 100 of a unit, none above; a value that rounds to 1024 of a unit is shown in the next.
///
/// ```
/// use tlskit_wire::render::html::binary_size;
/// assert_eq!(binary_size(1023), "1023 B");
/// assert_eq!(binary_size(1536), "1.5 KiB");
/// assert_eq!(binary_size(5 << 30), "5.0 GiB");
/// ```
pub fn binary_size(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let n = u128::from(n);
    let mut k = 1;
    while k < UNITS.len() - 1 && n >= 1u128 << (10 * (k + 1)) {
        k += 1;
    }
    loop {
        let unit = 1u128 << (10 * k);
        let tenths = (n * 10 + unit / 2) / unit;
        if tenths < 1000 {
            return format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[k]);
        }
        let whole = (n + unit / 2) / unit;
        if whole < 1024 || k == UNITS.len() - 1 {
            return format!("{whole} {}", UNITS[k]);
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_units() {
        let cases = [
            (0, "0 B"),
            (1, "1 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1075, "1.0 KiB"),
            (1076, "1.1 KiB"),
            (102_348, "99.9 KiB"),
            (102_349, "100 KiB"),
            (1_048_063, "1023 KiB"),
            (1_048_064, "1.0 MiB"),
            (1_048_575, "1.0 MiB"),
            (5 << 30, "5.0 GiB"),
            (u64::MAX, "16.0 EiB"),
        ];
        for (n, shown) in cases {
            assert_eq!(binary_size(n), shown, "{n}");
        }
    }

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(escape_html("<img src=x onerror='a'>\"&"), "&lt;img src=x onerror=&#39;a&#39;&gt;&quot;&amp;");
        assert_eq!(escape_html("plain é ✓"), "plain é ✓");
    }

    #[test]
    fn the_policy_allows_exactly_the_style_sheet() {
        use base64::Engine as _;
        let csp = report_csp();
        let hash = csp.split("'sha256-").nth(1).and_then(|r| r.split('\'').next()).unwrap();
        let digest = base64::engine::general_purpose::STANDARD.decode(hash).unwrap();
        assert_eq!(digest, aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes()).as_ref());
        assert!(csp.starts_with("default-src 'none'") && !csp.contains("unsafe"));
    }
}
