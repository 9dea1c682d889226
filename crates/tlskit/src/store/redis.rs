//! Redis as the fleet's store: the ticket key record and its rotation under a
//! lock, the session entries, and the background tasks that talk to it.
//!
//! Layout under the prefix (default `tlskit:`):
//! - `PREFIX ticket-keys`: the key set's record (JSON, see [`KeySet::to_record`]),
//!   expiring when its last key retires;
//! - `PREFIX ticket-keys:lock`: held (SET NX PX) by the server that rotates;
//! - `PREFIX session:HEX`: one session (TLS 1.2 session ID or TLS 1.3
//!   stateful ticket), expiring with the session lifetime.
//!
//! No handshake waits on this module except for [`Redis::fetch`], which is
//! bounded by the store timeout and skipped while the store is known to be away.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use rustls::pki_types::PrivateKeyDer;
use tokio::sync::mpsc;

use super::health::Health;
use super::keys::KeySet;
use super::ticketer::{now_secs, Ticketer};
use super::{StoreError, StoreEvent};
use crate::pki::{load_certs, load_key, pem_block};

/// How long a background command may take before it counts as a failure.
const BACKGROUND_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the rotating server holds the lock at most.
const LOCK_MS: u64 = 5000;
/// When a lookup that found nothing is made again (see [`Redis::fetch`]).
const REREAD_AFTER: Duration = Duration::from_millis(1);
/// Session writes waiting to go out; beyond this they are dropped and counted.
pub(crate) const WRITE_QUEUE: usize = 16_384;

/// What a lookup before the handshake asks for one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fetch {
    /// TLS 1.2 session ID: rustls `get`s it, and it may be resumed again.
    Get,
    /// TLS 1.3 stateful ticket: rustls `take`s it, so it is deleted as it is read (GETDEL).
    Take,
}

/// A connection to the fleet's Redis and what this server knows about it.
pub(crate) struct Redis {
    conn: ConnectionManager,
    prefix: String,
    pub(crate) health: Arc<Health>,
    timeout: Duration,
    /// A rotation period other than ours was reported once already.
    period_warned: std::sync::atomic::AtomicBool,
}

/// How to reach a `rediss://` store: whom to trust, and what to show when it asks
/// for a client certificate (Redis's default, `tls-auth-clients yes`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StoreTls<'a> {
    pub(crate) cacert: Option<&'a Path>,
    pub(crate) cert: Option<&'a Path>,
    pub(crate) key: Option<&'a Path>,
}

/// Opens the (lazy) connection: it is made on first use and remade after
/// failures by the connection manager, with backoff.
pub(crate) fn connect(
    url: &str,
    tls: StoreTls<'_>,
    prefix: &str,
    timeout: Duration,
    health: Arc<Health>,
) -> Result<Redis, StoreError> {
    let bad = |error: String| StoreError::Url { url: shown_url(url), error };
    let secure = url.starts_with("rediss://");
    if !secure && (tls.cacert.is_some() || tls.cert.is_some()) {
        return Err(bad("--store-cacert and --store-cert need a rediss:// URL (TLS to Redis)".into()));
    }
    let client = if secure {
        // The redis crate builds its rustls config from the process's default provider.
        let _ = rustls::crypto::CryptoProvider::install_default(crate::context::provider());
        redis::Client::build_with_tls(url, tls_files(tls).map_err(bad)?)
    } else {
        redis::Client::open(url)
    }
    .map_err(|e| bad(e.to_string()))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(BACKGROUND_TIMEOUT))
        .set_response_timeout(Some(BACKGROUND_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| bad(e.to_string()))?;
    Ok(Redis { conn, prefix: prefix.to_string(), health, timeout, period_warned: Default::default() })
}

/// The files read and checked now (a missing file or one without a certificate is an
/// error at start-up, not a failed connection later), as the PEM the redis crate takes.
fn tls_files(tls: StoreTls<'_>) -> Result<redis::TlsCertificates, String> {
    let pem_certs = |flag: &str, path: &Path| -> Result<Vec<u8>, String> {
        let certs = load_certs(path).map_err(|e| format!("{flag}: {e}"))?;
        Ok(certs.iter().map(|c| pem_block("CERTIFICATE", c)).collect::<String>().into_bytes())
    };
    let root_cert = tls.cacert.map(|path| pem_certs("--store-cacert", path)).transpose()?;
    let client_tls = match tls.cert {
        Some(cert) => {
            let key = load_key(tls.key.unwrap_or(cert)).map_err(|e| format!("--store-key: {e}"))?;
            let label = match &key {
                PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
                PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
                _ => "PRIVATE KEY",
            };
            let client_key = pem_block(label, key.secret_der()).into_bytes();
            Some(redis::ClientTlsConfig { client_cert: pem_certs("--store-cert", cert)?, client_key })
        }
        None => None,
    };
    Ok(redis::TlsCertificates { client_tls, root_cert })
}

/// A store URL as it may be shown (logs, start-up line, errors): without its password.
pub fn shown_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_string(),
    }
}

impl Redis {
    fn keys_record(&self) -> String {
        format!("{}ticket-keys", self.prefix)
    }

    pub(crate) fn session_key(&self, id: &[u8]) -> String {
        format!("{}session:{}", self.prefix, hex::encode(id))
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(BACKGROUND_TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", BACKGROUND_TIMEOUT.as_millis())),
        }
    }

    /// Fetch the entries named by a ClientHello, within the store timeout.
    /// `None` for each key when the store is away, slow or has no entry.
    ///
    /// A key that is missing is asked for once more, [`REREAD_AFTER`] later and
    /// still within the store timeout: the server that issued the session queued
    /// its write (no handshake waits for one), and a client that reconnects at once
    /// through the load balancer can ask the next server before that write lands.
    pub(crate) async fn fetch(&self, lookups: &[(Vec<u8>, Fetch)]) -> Vec<Option<Vec<u8>>> {
        let none = || vec![None; lookups.len()];
        if !self.health.is_up() {
            // Known to be away: no handshake waits for it (the background task finds it back).
            self.health.skipped();
            return none();
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut values = match tokio::time::timeout_at(deadline, self.lookup(lookups)).await {
            Ok(Ok(values)) => values,
            Ok(Err(e)) => {
                self.health.failed(&e);
                return none();
            }
            Err(_) => {
                // A GETDEL that answers late still deletes: the session is lost, never resumed twice.
                self.health.timed_out();
                return none();
            }
        };
        let missing: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_none()).collect();
        let reread_at = tokio::time::Instant::now() + REREAD_AFTER;
        if !missing.is_empty() && reread_at < deadline {
            tokio::time::sleep_until(reread_at).await;
            let again: Vec<_> = missing.iter().map(|&i| lookups[i].clone()).collect();
            // Late or failed, the second asking changes nothing: the first one answered.
            if let Ok(Ok(found)) = tokio::time::timeout_at(deadline, self.lookup(&again)).await {
                for (&i, value) in missing.iter().zip(found) {
                    values[i] = value;
                }
            }
        }
        let hits = values.iter().filter(|v| v.is_some()).count() as u64;
        self.health.looked_up(hits, lookups.len() as u64 - hits);
        values
    }

    /// One pipelined GET/GETDEL per key, answered in order.
    async fn lookup(&self, lookups: &[(Vec<u8>, Fetch)]) -> Result<Vec<Option<Vec<u8>>>, String> {
        let mut pipe = redis::pipe();
        for (id, fetch) in lookups {
            pipe.cmd(if *fetch == Fetch::Take { "GETDEL" } else { "GET" }).arg(self.session_key(id));
        }
        let mut conn = self.conn.clone();
        let values = pipe.query_async::<Vec<Option<Vec<u8>>>>(&mut conn).await.map_err(|e| e.to_string())?;
        if values.len() != lookups.len() {
            return Err(format!("{} answers to {} lookups", values.len(), lookups.len()));
        }
        Ok(values)
    }

    /// Is the store there? (While it is away, once a second.)
    pub(crate) async fn probe(&self) {
        match self.run::<String>(&redis::cmd("PING")).await {
            Ok(_) => self.health.answered(),
            Err(e) => self.health.failed(&e),
        }
    }

    /// One refresh of the ticket keys: read the record; create it, restore it or
    /// rotate it under the lock when it is missing or stale; install the result
    /// (with this server's own keys made during an outage, until they retire).
    async fn refresh_keys(&self, ticketer: &Ticketer, period: u64) -> Result<(), String> {
        let record: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(self.keys_record())).await?;
        let now = now_secs();
        let mut fleet = self.parse_record(record, period);
        if fleet.as_ref().is_none_or(|set| set.is_stale(now, period)) {
            if let Some(rotated) = self.rotate_under_lock(ticketer, period).await? {
                fleet = Some(rotated);
            }
        }
        if let Some(fleet) = fleet {
            let current = ticketer.keys();
            if !fleet.same_keys(&current.without_local()) {
                let set = fleet.merged_with(&current.local_only(), now);
                ticketer.set_keys(set);
            }
        }
        Ok(())
    }

    fn parse_record(&self, record: Option<Vec<u8>>, period: u64) -> Option<KeySet> {
        let (set, stored_period) = match KeySet::from_record(&record?) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.health.emit(StoreEvent::BadKeyRecord { error: e.to_string() });
                return None;
            }
        };
        if stored_period != period && !self.period_warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            self.health.emit(StoreEvent::PeriodMismatch { ours: period, fleet: stored_period });
        }
        Some(set)
    }

    /// Rotate (or create, or restore after Redis lost its data) the record,
    /// if this server gets the lock; another server holding it is rotating.
    async fn rotate_under_lock(&self, ticketer: &Ticketer, period: u64) -> Result<Option<KeySet>, String> {
        let lock = format!("{}:lock", self.keys_record());
        let mut token = [0u8; 16];
        aws_lc_rs::rand::fill(&mut token).map_err(|_| "no randomness".to_string())?;
        let token = hex::encode(token);
        let got: Option<String> =
            self.run(redis::cmd("SET").arg(&lock).arg(&token).arg("NX").arg("PX").arg(LOCK_MS)).await?;
        if got.is_none() {
            return Ok(None);
        }
        let result = self.rotate_locked(ticketer, period).await;
        // Release only our own lock (it may have expired and been taken by another server).
        let release = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
        let _: Result<i64, String> = self.run(redis::cmd("EVAL").arg(release).arg(1).arg(&lock).arg(&token)).await;
        result
    }

    async fn rotate_locked(&self, ticketer: &Ticketer, period: u64) -> Result<Option<KeySet>, String> {
        let now = now_secs();
        // Read again under the lock: another server may have rotated just before.
        let record: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(self.keys_record())).await?;
        let (base, restored) = match record.and_then(|r| KeySet::from_record(&r).ok()) {
            Some((set, _)) => (set, false),
            // Missing (first server, or Redis lost its data): start from the fleet keys we hold.
            None => (ticketer.keys().without_local(), true),
        };
        let next = match base.rotated(now, period, false).map_err(|e| e.to_string())? {
            Some(next) => next,
            None if restored && !base.keys().is_empty() => base,
            None => return Ok(Some(base)),
        };
        let ttl_ms = next.keys().iter().map(|k| k.retires).max().unwrap_or(now).saturating_sub(now).max(1) * 1000;
        let _: () = self
            .run(redis::cmd("SET").arg(self.keys_record()).arg(next.to_record(period)).arg("PX").arg(ttl_ms))
            .await?;
        let current = next.encrypting(now).map(|k| k.short_name()).unwrap_or_default();
        let upcoming = next.keys().iter().filter(|k| k.activates > now).map(|k| k.activates).min();
        self.health.emit(StoreEvent::KeysRotated { current, next_activates: upcoming });
        Ok(Some(next))
    }
}

/// The refresh period of the ticket keys: a quarter of the rotation period,
/// at most 30 s, so every server holds the next key well before it activates.
pub(crate) fn refresh_interval(period: u64) -> Duration {
    Duration::from_millis((period * 250).clamp(200, 30_000))
}

/// The background task: ticket keys refreshed (and rotated) on schedule; while
/// the store is away, a probe once a second, and local keys when the fleet's
/// run out, so tickets keep working on this server.
pub(crate) async fn maintain(redis: Arc<Redis>, ticketer: Option<Arc<Ticketer>>, period: u64) {
    loop {
        match &ticketer {
            Some(ticketer) => {
                match redis.refresh_keys(ticketer, period).await {
                    Ok(()) => redis.health.answered(),
                    Err(e) => redis.health.failed(&e),
                }
                rotate_locally_if_due(&redis, ticketer, period);
            }
            None if !redis.health.is_up() => redis.probe().await,
            None => {}
        }
        let wait = match (&ticketer, redis.health.is_up()) {
            (_, false) => Duration::from_secs(1).min(refresh_interval(period)),
            (Some(_), true) => refresh_interval(period),
            (None, true) => Duration::from_secs(1),
        };
        tokio::time::sleep(wait).await;
    }
}

/// While the store is away and the fleet's keys run out: keys of our own.
fn rotate_locally_if_due(redis: &Redis, ticketer: &Ticketer, period: u64) {
    if redis.health.is_up() {
        return;
    }
    let now = now_secs();
    if let Ok(Some(set)) = ticketer.keys().rotated(now, period, true) {
        let current = set.encrypting(now).map(|k| k.short_name()).unwrap_or_default();
        ticketer.set_keys(set);
        redis.health.emit(StoreEvent::LocalKeys { current });
    }
}

/// The first key refresh at start-up, bounded: without an answer the server
/// starts on keys of its own and joins the fleet's when the store answers.
pub(crate) async fn first_keys(redis: &Redis, ticketer: &Ticketer, period: u64) {
    match tokio::time::timeout(2 * BACKGROUND_TIMEOUT, redis.refresh_keys(ticketer, period)).await {
        Ok(Ok(())) => redis.health.answered(),
        Ok(Err(e)) => redis.health.failed(&e),
        Err(_) => redis.health.failed("no answer at start-up"),
    }
}

/// The session writer: entries leave in pipelined batches, never from inside a handshake.
pub(crate) async fn write_sessions(redis: Arc<Redis>, mut queue: mpsc::Receiver<(Vec<u8>, Vec<u8>)>, ttl: Duration) {
    let ttl_ms = ttl.as_millis().max(1) as u64;
    let mut batch = Vec::with_capacity(128);
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < 128 {
            match queue.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        let mut pipe = redis::pipe();
        for (id, value) in &batch {
            pipe.cmd("SET").arg(redis.session_key(id)).arg(value.as_slice()).arg("PX").arg(ttl_ms).ignore();
        }
        let mut conn = redis.conn.clone();
        match tokio::time::timeout(BACKGROUND_TIMEOUT, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => redis.health.answered(),
            Ok(Err(e)) => {
                redis.health.failed(&e.to_string());
                batch.iter().for_each(|_| redis.health.dropped_write());
            }
            Err(_) => {
                redis.health.failed("a session write got no answer within 1 s");
                batch.iter().for_each(|_| redis.health.dropped_write());
            }
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(shown_url("redis://user:secret@10.0.0.1:6379/2"), "redis://***@10.0.0.1:6379/2");
        assert_eq!(shown_url("rediss://127.0.0.1:6380"), "rediss://127.0.0.1:6380");
    }

    #[test]
    fn keys_are_refreshed_four_times_a_period() {
        assert_eq!(refresh_interval(3600), Duration::from_secs(30));
        assert_eq!(refresh_interval(4), Duration::from_secs(1));
        assert_eq!(refresh_interval(0), Duration::from_millis(200));
    }
}
