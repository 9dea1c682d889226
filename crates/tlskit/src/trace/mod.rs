//! Live tap: a connection's bytes and its key log, for `serve --trace`.
//!
//! A [`Tap`] wraps a socket and copies every byte read and written, in order
//! and with its direction, to a per-connection [`TapSink`]. With no sink it is
//! a plain pass-through: nothing is copied when tracing is off.
//!
//! A [`SecretLog`] is a rustls [`KeyLog`] that remembers each connection's
//! secrets by client random (so the decoder can decrypt the TLS 1.3 handshake
//! live) and still forwards every line to another key log (`--keylog`,
//! `SSLKEYLOGFILE`). [`KeyLogWriter`] is that file, in NSS format.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rustls::KeyLog;

pub(crate) mod tracer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
pub use tracer::{LineSink, Side};

/// A key log as the server and client options take it.
pub type SharedKeyLog = Arc<dyn KeyLog>;

/// Which way bytes went, seen from our end of the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Read from the socket: what the peer sent.
    FromPeer,
    /// Written to the socket: what we sent.
    ToPeer,
}

/// Receives a connection's bytes as they cross the socket.
pub trait TapSink: Send + Sync {
    /// Called once per successful read or write, in the order they happened.
    fn bytes(&self, direction: Direction, data: &[u8]);
}

/// A socket wrapper that copies the bytes it carries to a [`TapSink`].
pub struct Tap<S> {
    inner: S,
    sink: Option<Arc<dyn TapSink>>,
}

impl<S> Tap<S> {
    /// Wrap `inner`; with `sink` None the tap copies nothing.
    pub fn new(inner: S, sink: Option<Arc<dyn TapSink>>) -> Self {
        Tap { inner, sink }
    }

    /// The wrapped socket.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped socket, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(sink)) = (&polled, &self.sink) {
            if let Some(new) = buf.filled().get(before..) {
                if !new.is_empty() {
                    sink.bytes(Direction::FromPeer, new);
                }
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if let (Poll::Ready(Ok(n)), Some(sink)) = (&polled, &self.sink) {
            if let Some(sent) = data.get(..*n) {
                if !sent.is_empty() {
                    sink.bytes(Direction::ToPeer, sent);
                }
            }
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.sink.is_none() {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        // Traced: write the first non-empty slice only, so the copy matches what was sent.
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(first) => self.poll_write(cx, first),
            None => Poll::Ready(Ok(0)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One secret as rustls logged it: NSS label and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedSecret {
    /// `CLIENT_RANDOM`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`, …
    pub label: String,
    /// The secret (master secret for TLS 1.2, a traffic secret for TLS 1.3).
    pub secret: Vec<u8>,
}

/// A [`KeyLog`] that keeps secrets by client random for the live decoder,
/// and forwards every line to another key log.
pub struct SecretLog {
    forward: Option<Arc<dyn KeyLog>>,
    by_client_random: Mutex<HashMap<[u8; 32], Vec<LoggedSecret>>>,
}

impl std::fmt::Debug for SecretLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretLog").field("forward", &self.forward.is_some()).finish()
    }
}

/// More remembered connections than this means nobody collects them: drop the lot.
const SECRET_LOG_LIMIT: usize = 65_536;

impl SecretLog {
    /// A log that remembers secrets and forwards each line to `forward`, if any.
    pub fn new(forward: Option<Arc<dyn KeyLog>>) -> Self {
        SecretLog { forward, by_client_random: Mutex::new(HashMap::new()) }
    }

    /// The secrets logged so far for this client random.
    pub fn secrets(&self, client_random: &[u8; 32]) -> Vec<LoggedSecret> {
        self.lock().get(client_random).cloned().unwrap_or_default()
    }

    /// Forget a connection's secrets (when it ends).
    pub fn forget(&self, client_random: &[u8; 32]) {
        self.lock().remove(client_random);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Vec<LoggedSecret>>> {
        // A poisoned map only held secrets: keep using it.
        self.by_client_random.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl KeyLog for SecretLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Some(forward) = &self.forward {
            forward.log(label, client_random, secret);
        }
        let Ok(random) = <[u8; 32]>::try_from(client_random) else { return };
        let mut map = self.lock();
        if map.len() >= SECRET_LOG_LIMIT && !map.contains_key(&random) {
            map.clear();
        }
        map.entry(random).or_default().push(LoggedSecret { label: label.to_string(), secret: secret.to_vec() });
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

impl tlskit_wire::keys::SecretSource for SecretLog {
    fn secret(&self, label: tlskit_wire::keys::Label, client_random: &[u8; 32]) -> Option<Vec<u8>> {
        let map = self.lock();
        map.get(client_random)?.iter().find(|s| s.label == label.as_str()).map(|s| s.secret.clone())
    }
}

/// Writes secrets to a file in the NSS key log format (Wireshark, `tlskit dump --keylog`).
pub struct KeyLogWriter {
    path: PathBuf,
    file: Mutex<File>,
}

impl std::fmt::Debug for KeyLogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLogWriter").field("path", &self.path).finish()
    }
}

impl KeyLogWriter {
    /// Open `path` for appending (created 0600 if missing, as it holds secrets).
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path)?;
        Ok(KeyLogWriter { path, file: Mutex::new(file) })
    }

    /// Where the lines go.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One NSS key log line: `LABEL <client random hex> <secret hex>`.
pub fn nss_line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
    format!("{label} {} {}\n", hex::encode(client_random), hex::encode(secret))
}

impl KeyLog for KeyLogWriter {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = nss_line(label, client_random, secret);
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // A key log that cannot be written must not break the connection.
        let _ = file.write_all(line.as_bytes());
    }
}

/// The client random of a ClientHello at the start of a TLS byte stream, if
/// the first record holds one (what the secrets are keyed by).
pub fn client_random_of(stream_start: &[u8]) -> Option<[u8; 32]> {
    // record header (5) + handshake header (4) + legacy_version (2), then 32 random bytes.
    if stream_start.first() != Some(&0x16) || stream_start.get(5) != Some(&0x01) {
        return None;
    }
    stream_start.get(11..43)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_log_keeps_and_forgets_by_client_random() {
        let log = SecretLog::new(None);
        let random = [7u8; 32];
        log.log("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &random, b"abc");
        log.log("not a random", b"short", b"x");
        assert_eq!(log.secrets(&random).len(), 1);
        assert_eq!(log.secrets(&random)[0].label, "CLIENT_HANDSHAKE_TRAFFIC_SECRET");
        log.forget(&random);
        assert!(log.secrets(&random).is_empty());
    }

    #[test]
    fn nss_line_is_hex() {
        assert_eq!(nss_line("CLIENT_RANDOM", &[0xab, 0x01], &[0xff]), "CLIENT_RANDOM ab01 ff\n");
    }

    #[test]
    fn client_random_needs_a_client_hello() {
        let mut hello = vec![0x16, 3, 1, 0, 200, 0x01, 0, 0, 196, 3, 3];
        hello.extend_from_slice(&[9u8; 32]);
        assert_eq!(client_random_of(&hello), Some([9u8; 32]));
        assert_eq!(client_random_of(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(client_random_of(&hello[..20]), None);
    }
}
