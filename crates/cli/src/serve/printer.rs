//! serve's stdout: access lines and trace lines (text, or JSON with `--json-log`), written by a printer
//! thread behind a bounded queue so that no connection ever waits on the terminal; errors go to stderr's
//! queue (output.rs). What a client chose (target, SNI, ALPN, names) is printed escaped.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tlskit::server::{AccessRecord, ServerEvent};
use tlskit_wire::text::{escape_json_controls, escape_untrusted};
use tlskit_wire::time::rfc3339_of;

use crate::output::{dropped_line, Lines};
use crate::trace::TracePrinter;

/// How events look: access lines and trace lines (text, or JSON with `--json-log`) on stdout, errors on stderr.
#[derive(Clone)]
pub(super) struct Printer {
    pub(super) json: bool,
    pub(super) quiet: bool,
    pub(super) errors: Arc<Lines>,
}

/// What the printer thread receives.
enum LogMessage {
    Event(ServerEvent),
    Line(String),
    /// Everything before this is written: say so.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The sending side of the printer's queue.
pub(super) struct EventQueue {
    tx: std::sync::mpsc::SyncSender<LogMessage>,
    dropped: Arc<AtomicU64>,
}

impl EventQueue {
    fn send(&self, message: LogMessage) {
        if self.tx.try_send(message).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queue a line for stdout.
    pub(super) fn line(&self, line: String) {
        self.send(LogMessage::Line(line));
    }

    /// Wait up to `timeout` until the printer has written everything sent before.
    pub(super) fn flush(&self, timeout: Duration) {
        let (ack_tx, ack_rx) = std::sync::mpsc::channel();
        if self.tx.try_send(LogMessage::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(timeout);
        }
    }
}

impl Printer {
    /// The printer runs on its own thread so no connection ever waits on the
    /// terminal: events are queued without blocking (dropped and counted when
    /// the queue is full because stdout does not drain). A lone line is written
    /// as soon as it arrives; under load lines gather and leave in one write.
    pub(super) fn spawn(self, capacity: usize) -> anyhow::Result<(tlskit::server::EventSink, Arc<EventQueue>)> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<LogMessage>(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = dropped.clone();
        std::thread::Builder::new().name("tlskit log".into()).spawn(move || {
            let mut batch = String::with_capacity(64 * 1024);
            let mut trace = TracePrinter::new(self.json, true);
            while let Ok(first) = rx.recv() {
                let mut acks = Vec::new();
                let mut next = Some(first);
                let mut count = 0usize;
                while let Some(message) = next.take() {
                    count += 1;
                    match message {
                        LogMessage::Event(event) => self.format(event, &mut trace, &mut batch),
                        LogMessage::Line(line) => {
                            batch.push_str(&line);
                            batch.push('\n');
                        }
                        LogMessage::Flush(ack) => acks.push(ack),
                    }
                    if batch.len() < 60 * 1024 {
                        next = rx.try_recv().ok();
                    }
                }
                if !batch.is_empty() {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(batch.as_bytes());
                    let _ = out.flush();
                    batch.clear();
                }
                // stdout moved again: say what was dropped while it did not.
                let n = lost.swap(0, Ordering::Relaxed);
                if n > 0 {
                    self.errors.line(dropped_line(n));
                }
                for ack in acks {
                    let _ = ack.send(());
                }
                if count > 1 {
                    // Under load: let lines gather for a moment instead of being woken for each one.
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        })?;
        let queue = Arc::new(EventQueue { tx, dropped });
        let sender = queue.clone();
        let sink: tlskit::server::EventSink = Arc::new(move |event| sender.send(LogMessage::Event(event)));
        Ok((sink, queue))
    }

    /// Append the event's stdout lines to `batch`; errors go to stderr's queue.
    fn format(&self, event: ServerEvent, trace: &mut TracePrinter, batch: &mut String) {
        match event {
            ServerEvent::Access(record) => {
                if !self.quiet {
                    batch.push_str(&if self.json { access_json(&record) } else { access_line(&record) });
                    batch.push('\n');
                }
            }
            ServerEvent::Trace { peer, event } => {
                // Text lines say whose connection they are about; JSON objects stand alone, as in `dump --json`.
                let prefix = if self.json { String::new() } else { format!("trace {peer} ") };
                trace.render(&event, &mut |line| {
                    batch.push_str(&prefix);
                    batch.push_str(line);
                    batch.push('\n');
                });
            }
            ServerEvent::Connection { peer, stage, error } => {
                self.errors.warn(format!("tlskit serve: {peer}: {stage}: {}", escape_untrusted(&error)));
            }
            ServerEvent::Store(event) => {
                // Through stderr's queue like every other line: a stuck stderr must not stop the printer.
                self.errors.line(format!("tlskit serve: store: {event}"));
            }
        }
    }
}

fn access_line(r: &AccessRecord) -> String {
    let s = &r.session;
    let dash = |o: &Option<String>| o.as_deref().map_or_else(|| "-".into(), escape_untrusted).into_owned();
    let mut line = format!(
        "{} {} \"{} {} {}\" {} {} {:.3}ms {} {} {} sni={} alpn={} {}",
        rfc3339_of(r.time),
        r.peer,
        escape_untrusted(&r.method),
        escape_untrusted(&r.target),
        r.http_version,
        r.status,
        r.bytes,
        r.duration.as_secs_f64() * 1000.0,
        s.version,
        s.cipher_suite,
        s.key_exchange_group.as_deref().unwrap_or("-"),
        dash(&s.sni),
        dash(&s.alpn),
        if s.resumed { "resumed" } else { "full" },
    );
    if let Some(issuer) = &s.issued_by {
        line.push_str(" issued-by=");
        line.push_str(issuer);
    }
    if let Some(subject) = r.client_subject() {
        line.push_str(&format!(
            " client=\"{}\" issuer=\"{}\"",
            escape_untrusted(subject),
            escape_untrusted(r.client_issuer().unwrap_or(""))
        ));
    }
    // The magic URL: the session before and after the KeyUpdate, as the HOWTO's server printed it.
    if let Some(k) = &r.key_update {
        line.push_str(&format!(" key_update={}->{}", k.generation_before, k.generation_after));
        line.push_str(&format!(
            "\n  session before KeyUpdate: {}, server traffic keys generation {}",
            session_brief(&k.before),
            k.generation_before
        ));
        match &k.after {
            Some(after) => line.push_str(&format!(
                "\n  session after KeyUpdate: {}, server traffic keys generation {}",
                session_brief(after),
                k.generation_after
            )),
            None => line.push_str("\n  session after KeyUpdate: none sent (the connection ended first)"),
        }
    }
    line
}

/// A session on one line: `TLSv1.3 TLS_AES_128_GCM_SHA256 X25519 sni=localhost alpn=h2 full`.
fn session_brief(s: &tlskit::session::SessionInfo) -> String {
    format!(
        "{} {} {} sni={} alpn={} {}",
        s.version,
        s.cipher_suite,
        s.key_exchange_group.as_deref().unwrap_or("-"),
        escape_untrusted(s.sni.as_deref().unwrap_or("-")),
        escape_untrusted(s.alpn.as_deref().unwrap_or("-")),
        if s.resumed { "resumed" } else { "full" }
    )
}

fn access_json(r: &AccessRecord) -> String {
    let s = &r.session;
    let mut v = serde_json::json!({
        "time": rfc3339_of(r.time),
        "client": r.peer.to_string(),
        "method": r.method,
        "target": r.target,
        "http_version": r.http_version,
        "status": r.status,
        "bytes": r.bytes,
        "duration_ms": r.duration.as_secs_f64() * 1000.0,
        "tls_version": s.version,
        "cipher_suite": s.cipher_suite,
        "group": s.key_exchange_group,
        "sni": s.sni,
        "alpn": s.alpn,
        "resumed": s.resumed,
        "issued_by": s.issued_by,
        "client_subject": r.client_subject(),
        "client_issuer": r.client_issuer(),
    });
    // Only the magic URL's lines carry it: the session before and after the KeyUpdate.
    if let Some(k) = &r.key_update {
        v["key_update"] = serde_json::json!({
            "generation_before": k.generation_before,
            "generation_after": k.generation_after,
            "before": &*k.before,
            "after": k.after.as_deref(),
        });
    }
    escape_json_controls(&v.to_string()).into_owned()
}
