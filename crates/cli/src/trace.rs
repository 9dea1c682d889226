//! How the binary shows the library's live trace events (`serve --trace`, `get -v`, `get --html`): as
//! `tlskit dump` shows a capture, in its text lines or its JSON objects (docs/dump-json.md), or drawn as
//! its HTML report's ladders, with wire's renderers.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use tlskit::trace::{TraceEvent, TraceStep};
use tlskit_wire::render::html::{HtmlOptions, HtmlReport};
use tlskit_wire::render::{self, TextOptions, TextRenderer};
use tlskit_wire::text::escape_json_controls;

/// Connections whose end was never seen are forgotten beyond this many (their text state is small).
const OPEN_CONNECTIONS_LIMIT: usize = 65_536;

/// Renders trace events; keeps each open connection's text state (its times are relative to its start).
#[derive(Debug)]
pub struct TracePrinter {
    json: bool,
    options: TextOptions,
    text: HashMap<u64, TextRenderer>,
    scratch: Vec<u8>,
}

impl TracePrinter {
    /// Text lines, or JSON objects when `json`. The text shows each certificate of a Certificate message
    /// when `certificates` (a server's trace of its clients); `get -v` prints the peer chain once, in its
    /// session block, so its trace only counts them.
    pub fn new(json: bool, certificates: bool) -> Self {
        let options = TextOptions { certificates, ..TextOptions::default() };
        TracePrinter { json, options, text: HashMap::new(), scratch: Vec::new() }
    }

    /// Hands each line `event` renders to `line`, without its newline (some events show nothing).
    pub fn render(&mut self, event: &TraceEvent, line: &mut dyn FnMut(&str)) {
        let conn = &event.conn;
        if self.json {
            let value = match &event.step {
                TraceStep::Start => Some(render::connection_json(conn, None)),
                TraceStep::Event(e) => render::event_json(conn, e, false),
                TraceStep::End(summary) => Some(render::connection_json(conn, Some(summary))),
            };
            if let Some(value) = value {
                line(&escape_json_controls(&value.to_string()));
            }
            return;
        }
        self.scratch.clear();
        let out = &mut self.scratch;
        // Writing to a Vec does not fail.
        let _ = match &event.step {
            TraceStep::Start => {
                if self.text.len() >= OPEN_CONNECTIONS_LIMIT {
                    self.text.clear();
                }
                self.text.entry(conn.id).or_insert_with(|| TextRenderer::new(self.options)).connection_start(out, conn)
            }
            TraceStep::Event(e) => {
                self.text.entry(conn.id).or_insert_with(|| TextRenderer::new(self.options)).event(out, conn.id, e)
            }
            TraceStep::End(summary) => self
                .text
                .remove(&conn.id)
                .unwrap_or_else(|| TextRenderer::new(self.options))
                .connection_end(out, conn, summary),
        };
        for text in String::from_utf8_lossy(out).lines().filter(|l| !l.is_empty()) {
            line(text);
        }
    }
}

/// The ladders of a client's traced connections (`get --html FILE`): wire's HTML report fed the trace's
/// events, written as one page once the connections are over.
pub struct TraceLadders {
    report: HtmlReport,
    rows: Vec<u8>,
    ladders: Vec<u8>,
    path: PathBuf,
}

impl TraceLadders {
    /// A report titled `title`, to be written to `path`.
    pub fn new(title: String, path: PathBuf) -> Self {
        let report = HtmlReport::new(HtmlOptions { title, command: "tlskit get --html", ..HtmlOptions::default() });
        TraceLadders { report, rows: Vec::new(), ladders: Vec::new(), path }
    }

    /// One trace event: a connection's row and ladder are drawn when it ends.
    pub fn add(&mut self, event: &TraceEvent) {
        let conn = &event.conn;
        match &event.step {
            TraceStep::Start => self.report.connection_start(conn),
            TraceStep::Event(e) => self.report.event(conn, e),
            TraceStep::End(summary) => {
                // Writing to a Vec does not fail.
                let _ = self.report.connection_end(&mut self.rows, &mut self.ladders, conn, summary);
            }
        }
    }

    /// The page of the connections ended so far, written to its file.
    pub fn write(&self) -> anyhow::Result<()> {
        let path = &self.path;
        let mut page = Vec::with_capacity(self.rows.len() + self.ladders.len() + 8192);
        self.report.head(&mut page)?;
        page.extend_from_slice(&self.rows);
        self.report.middle(&mut page)?;
        page.extend_from_slice(&self.ladders);
        self.report.tail(&mut page)?;
        std::fs::write(path, page).with_context(|| format!("--html: writing {}", path.display()))
    }
}
