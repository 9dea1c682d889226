//! Key-log plumbing: tlskit's own [`KeyLog`] trait (what a context, client or server hands each secret
//! to), a [`KeyLog`] that keeps each connection's secrets by client random for the
//! live decoder ([`SecretLog`]) and still forwards every line to another key log, and the NSS key log
//! file (`--keylog`, `SSLKEYLOGFILE`) that Wireshark and `tlskit dump --keylog` read ([`KeyLogWriter`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where the secrets of each connection go, one NSS key log line's worth at a time (what
/// `SSLKEYLOGFILE` gets): implement it to collect secrets your own way, or use [`KeyLogWriter`].
pub trait KeyLog: Send + Sync + std::fmt::Debug {
    /// One secret: its NSS label (`CLIENT_RANDOM`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET`, …), the
    /// connection's client random, and the secret itself.
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]);
}

/// A key log as the context, the client and the server options take it.
pub type SharedKeyLog = Arc<dyn KeyLog>;

/// Our key log as rustls's: the one place the two traits meet.
#[derive(Debug)]
pub(crate) struct ToRustls(pub(crate) SharedKeyLog);

impl rustls::KeyLog for ToRustls {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0.log(label, client_random, secret);
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

/// One secret as rustls logged it: NSS label and value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LoggedSecret {
    /// `CLIENT_RANDOM`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`, …
    label: String,
    /// The secret (master secret for TLS 1.2, a traffic secret for TLS 1.3).
    secret: Vec<u8>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_log_keeps_and_forgets_by_client_random() {
        use tlskit_wire::keys::{Label, SecretSource};
        let log = SecretLog::new(None);
        let random = [7u8; 32];
        log.log("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &random, b"abc");
        log.log("not a random", b"short", b"x");
        assert_eq!(log.lock().len(), 1);
        assert_eq!(log.secret(Label::ClientHandshakeTrafficSecret, &random).as_deref(), Some(&b"abc"[..]));
        assert_eq!(log.secret(Label::ServerHandshakeTrafficSecret, &random), None);
        log.forget(&random);
        assert_eq!(log.secret(Label::ClientHandshakeTrafficSecret, &random), None);
    }

    #[test]
    fn nss_line_is_hex() {
        assert_eq!(nss_line("CLIENT_RANDOM", &[0xab, 0x01], &[0xff]), "CLIENT_RANDOM ab01 ff\n");
    }
}
