//! Output that never makes the server wait. Lines go into a bounded queue that
//! one writer thread drains: stderr's lines here ([`Lines`]: warnings, errors,
//! notices, and tracing's events through [`TracingWriter`]), stdout's access
//! and trace lines in serve.rs's printer, by the same rule. When a stream stops
//! draining (a paused terminal, a stuck pipe) its queue fills, further lines
//! are dropped and counted, and the count is printed once it moves again
//! ("N log lines dropped: output not draining"). Warnings are rate-limited
//! too, so a flood of misbehaving clients cannot flood the operator's terminal.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Warnings let through in a burst, and per second after it.
const WARN_BURST: f64 = 100.0;
const WARN_PER_SECOND: f64 = 20.0;

enum Message {
    Text(String),
    /// Everything queued before this is written: say so.
    Flush(mpsc::Sender<()>),
}

/// Lines at most this many bytes long are queued whole; longer ones are cut.
const MAX_LINE: usize = 16 * 1024;

/// The sending side of stderr's queue; shared behind an `Arc`.
pub struct Lines {
    tx: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
    warnings: Mutex<Bucket>,
}

/// A token bucket for warnings, and how many it turned away since the last report.
struct Bucket {
    tokens: f64,
    at: Instant,
    suppressed: u64,
}

impl Lines {
    /// Start stderr's writer thread, with room for `capacity` lines.
    pub fn spawn(capacity: usize) -> std::io::Result<Arc<Lines>> {
        let (tx, rx) = mpsc::sync_channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let lines = Arc::new(Lines {
            tx,
            dropped: dropped.clone(),
            warnings: Mutex::new(Bucket { tokens: WARN_BURST, at: Instant::now(), suppressed: 0 }),
        });
        std::thread::Builder::new().name("tlskit stderr".into()).spawn(move || writer(rx, dropped))?;
        Ok(lines)
    }

    /// Queue `line` (a newline is added); dropped and counted when the queue is full.
    pub fn line(&self, mut line: String) {
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        self.send(Message::Text(line));
    }

    /// Queue a warning: like [`line`](Self::line), within the warning rate.
    pub fn warn(&self, line: String) {
        let suppressed = {
            let mut bucket = self.warnings.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let refill = now.duration_since(bucket.at).as_secs_f64() * WARN_PER_SECOND;
            bucket.tokens = (bucket.tokens + refill).min(WARN_BURST);
            bucket.at = now;
            if bucket.tokens < 1.0 {
                bucket.suppressed += 1;
                return;
            }
            bucket.tokens -= 1.0;
            std::mem::take(&mut bucket.suppressed)
        };
        if suppressed > 0 {
            self.line(format!("tlskit serve: {suppressed} warnings suppressed (more than {WARN_PER_SECOND} a second)"));
        }
        self.line(line);
    }

    fn send(&self, message: Message) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(message) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Wait up to `timeout` until everything queued so far is written.
    pub fn flush(&self, timeout: Duration) {
        let (ack_tx, ack_rx) = mpsc::channel();
        if self.tx.try_send(Message::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(timeout);
        }
    }
}

/// The line that reports drops.
pub fn dropped_line(n: u64) -> String {
    format!("tlskit serve: {n} log lines dropped: output not draining")
}

/// Stderr's writer: gathers what is queued into one write, with the count of what was dropped.
fn writer(rx: Receiver<Message>, dropped: Arc<AtomicU64>) {
    let mut batch = String::with_capacity(64 * 1024);
    while let Ok(first) = rx.recv() {
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Text(line) => {
                    batch.push_str(&line);
                    batch.push('\n');
                }
                Message::Flush(ack) => acks.push(ack),
            }
            if batch.len() < 60 * 1024 {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let _ = write_all(&mut std::io::stderr().lock(), &batch);
            batch.clear();
        }
        // The stream moved again after lines were dropped: say how many, at once.
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = write_all(&mut std::io::stderr().lock(), &(dropped_line(lost) + "\n"));
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

fn write_all(out: &mut dyn Write, text: &str) -> std::io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A `tracing` writer: each formatted event becomes one rate-limited warning line.
#[derive(Clone)]
pub struct TracingWriter(pub Arc<Lines>);

/// One event being formatted.
pub struct EventBuffer {
    lines: Arc<Lines>,
    buf: Vec<u8>,
}

impl Write for EventBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim_end();
        if !text.is_empty() {
            self.lines.warn(text.to_string());
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for TracingWriter {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> EventBuffer {
        EventBuffer { lines: self.0.clone(), buf: Vec::with_capacity(256) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_beyond_the_rate_are_counted_not_queued() {
        let lines = Lines::spawn(16).unwrap();
        for i in 0..1000 {
            lines.warn(format!("w{i}"));
        }
        let bucket = lines.warnings.lock().unwrap();
        assert!(bucket.suppressed >= 1000 - WARN_BURST as u64 - 5, "{}", bucket.suppressed);
    }
}
