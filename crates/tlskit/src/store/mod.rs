//! Server session stores and ticket keys: what lets a fleet of servers
//! resume each other's TLS sessions.
//!
//! [`Stores`] is started once per server and handed to the server (which puts
//! it into its [`Context`]): it holds
//! - the [`Ticketer`] (rustls's `ProducesTickets`) over a key set that is one
//!   of: random keys rotated in this process (the default), nginx key files
//!   (`--ticket-key-file`, re-read on change or [`Stores::reload_key_files`]),
//!   or the fleet's keys in Redis, rotated under a lock by whichever server
//!   finds them stale and refreshed by every server in the background;
//! - with a Redis session store, the session cache for TLS 1.2 session IDs and
//!   TLS 1.3 stateful tickets (`--tickets off`), which rustls calls
//!   synchronously inside the handshake. The server calls
//!   [`Stores::before_handshake`] before its TLS accept: it peeks at the
//!   ClientHello, fetches the entry it names within the store timeout, and
//!   hands it to that connection's handshake ([`Handshake`]).
//!
//! Every session carries the id of the server that issued it and a tag of the
//! client-authentication policy it was made under ([`PolicyTag`]): a session
//! never resumes under another policy. Redis slow or away means full
//! handshakes, reported through [`StoreEvent`]s at most once per interval,
//! never a blocked handshake or accept loop.
//!
//! ```no_run
//! # async fn demo(context: tlskit::context::Context) -> Result<(), tlskit::store::StoreError> {
//! use std::sync::Arc;
//! use tlskit::store::{StoreOptions, Stores};
//!
//! let options = StoreOptions {
//!     session_store: Some("redis://127.0.0.1:6379".into()),
//!     server_id: "web-1".into(),
//!     ..StoreOptions::default()
//! };
//! let stores = Stores::start(options, &context, Arc::new(|event| eprintln!("{event}"))).await?;
//! let context = context.stores(stores);
//! # let _ = context; Ok(()) }
//! ```

mod envelope;
mod health;
mod keys;
mod prefetch;
mod redis;
mod scope;
mod sessions;
mod ticketer;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::server::{ProducesTickets, StoresServerSessions};

pub use envelope::PolicyTag;
pub use health::{StoreStats, REPORT_INTERVAL};
pub use keys::{read_key_files, KeyError, KeySet, TicketKey};
pub use redis::shown_url;
pub use scope::Handshake;
pub use ticketer::Ticketer;

use crate::context::{Context, TlsVersion};
use prefetch::Resumption;
use scope::Staged;
use ticketer::now_secs;

/// How a server keeps its sessions and ticket keys.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// `redis://[user:pass@]HOST:PORT[/DB]` or `rediss://…` (TLS); `None`: this process's memory.
    pub session_store: Option<String>,
    /// CA certificates (PEM) that a `rediss://` server's certificate must chain to; default: the system's.
    pub store_cacert: Option<PathBuf>,
    /// Client certificate chain (PEM) for a `rediss://` server that asks for one (`tls-auth-clients yes`).
    pub store_cert: Option<PathBuf>,
    /// The private key of `store_cert` (PEM); default: looked for in the `store_cert` file.
    pub store_key: Option<PathBuf>,
    /// Prefix of every Redis key (`tlskit:`), so fleets can share one Redis.
    pub prefix: String,
    /// How long a ticket key encrypts (then it decrypts for as long again).
    pub ticket_rotation: Duration,
    /// nginx `ssl_session_ticket_key` files: the first encrypts, the others decrypt.
    pub ticket_key_files: Vec<PathBuf>,
    /// How long a handshake may wait for the session it names (then it is a full one).
    /// Default 20 ms: the wait includes this server's own scheduling, and on a busy
    /// server a tighter bound turns resumptions into full handshakes just when CPU is short.
    pub store_timeout: Duration,
    /// This server's name in the sessions it issues.
    pub server_id: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            session_store: None,
            store_cacert: None,
            store_cert: None,
            store_key: None,
            prefix: "tlskit:".into(),
            ticket_rotation: Duration::from_secs(3600),
            ticket_key_files: Vec::new(),
            store_timeout: Duration::from_millis(20),
            server_id: "tlskit".into(),
        }
    }
}

/// Why the stores could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The session store URL is not one we can use.
    #[error("--session-store {url}: {error}")]
    Url {
        /// The URL as given (with its password).
        url: String,
        /// What is wrong with it.
        error: String,
    },
    /// A ticket key file could not be read.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// A setting out of range.
    #[error("{0}")]
    Setting(String),
}

/// Something the stores have to say (the server passes it on; the CLI prints it).
#[derive(Clone, Debug)]
pub enum StoreEvent {
    /// The store stopped answering: handshakes are full ones until it is back.
    Unreachable {
        /// The client's error.
        error: String,
    },
    /// Still away (at most one per [`REPORT_INTERVAL`]), with the failures since the last report.
    StillUnreachable {
        /// How long it has been away.
        since: Duration,
        /// Failed operations since the last report.
        failures: u64,
        /// The counters so far.
        stats: StoreStats,
    },
    /// Lookups went unanswered within the store timeout (at most one per interval).
    Slow {
        /// Lookups that timed out since the last report.
        timeouts: u64,
    },
    /// The store answers again.
    Reachable {
        /// How long it was away.
        after: Duration,
        /// The counters so far.
        stats: StoreStats,
    },
    /// This server rotated the fleet's ticket keys (names shortened, never the secrets).
    KeysRotated {
        /// The encrypting key's shortened name.
        current: String,
        /// When the next key starts encrypting (Unix seconds).
        next_activates: Option<u64>,
    },
    /// The fleet's keys ran out while the store was away: this server uses keys of its own.
    LocalKeys {
        /// The encrypting key's shortened name.
        current: String,
    },
    /// Ticket key files (re)loaded.
    KeysLoaded {
        /// How many files.
        files: usize,
        /// The encrypting key's shortened name.
        current: String,
    },
    /// A ticket key file could not be used; the keys in use stay.
    KeyFileError {
        /// What went wrong.
        error: String,
    },
    /// The key record in the store does not parse (it is replaced at the next rotation).
    BadKeyRecord {
        /// What does not parse.
        error: String,
    },
    /// The fleet's keys were made with another rotation period than ours.
    PeriodMismatch {
        /// Our rotation period, in seconds.
        ours: u64,
        /// The fleet's, in seconds.
        fleet: u64,
    },
}

impl fmt::Display for StoreEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| format!("{:.1} s", d.as_secs_f64());
        match self {
            StoreEvent::Unreachable { error } => {
                write!(f, "session store unreachable ({error}): full handshakes until it is back")
            }
            StoreEvent::StillUnreachable { since, failures, stats } => write!(
                f,
                "session store still unreachable after {}: {failures} failures in the last interval \
                 ({} errors, {} timeouts, {} lookups skipped, {} writes dropped in all)",
                secs(since),
                stats.errors,
                stats.timeouts,
                stats.skipped,
                stats.dropped_writes
            ),
            StoreEvent::Slow { timeouts } => {
                write!(f, "session store slow: {timeouts} lookups unanswered within the store timeout")
            }
            StoreEvent::Reachable { after, stats } => write!(
                f,
                "session store reachable again after {} ({} errors, {} timeouts, {} lookups skipped in all)",
                secs(after),
                stats.errors,
                stats.timeouts,
                stats.skipped
            ),
            StoreEvent::KeysRotated { current, next_activates } => {
                write!(f, "ticket keys rotated: key {current}… encrypts")?;
                if let Some(at) = next_activates {
                    write!(f, ", the next one from {}", tlskit_wire::time::rfc3339_of(unix_time(*at)))?;
                }
                Ok(())
            }
            StoreEvent::LocalKeys { current } => {
                write!(f, "the fleet's ticket keys ran out while the store is away: own key {current}… encrypts")
            }
            StoreEvent::KeysLoaded { files, current } => {
                write!(f, "ticket keys loaded from {files} file(s): key {current}… encrypts")
            }
            StoreEvent::KeyFileError { error } => write!(f, "ticket key file not used ({error}): the keys in use stay"),
            StoreEvent::BadKeyRecord { error } => write!(f, "{error}: it is replaced at the next rotation"),
            StoreEvent::PeriodMismatch { ours, fleet } => write!(
                f,
                "the fleet's ticket keys rotate every {fleet} s, this server's --ticket-rotation is {ours} s: \
                 give every server the same period"
            ),
        }
    }
}

fn unix_time(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// Where the stores send their events.
pub type StoreEventSink = Arc<dyn Fn(StoreEvent) + Send + Sync>;

/// Where the ticket keys come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// Random keys made and rotated by this process (one server).
    Local,
    /// nginx key files, shared by the operator.
    Files,
    /// The fleet's keys in Redis.
    Redis,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeySource::Local => "in-process keys",
            KeySource::Files => "key files",
            KeySource::Redis => "the fleet's keys in the session store",
        })
    }
}

/// A file's identity and version, to notice it was replaced or rewritten.
type FileStamp = Option<(u64, u64, SystemTime)>;

fn stamp(path: &std::path::Path) -> FileStamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.ino(), meta.len(), meta.modified().ok()?))
}

/// A server's session cache and ticket keys, with their background tasks.
pub struct Stores {
    options: StoreOptions,
    ticketer: Option<Arc<Ticketer>>,
    key_source: KeySource,
    sessions: Option<Arc<sessions::SharedSessions>>,
    redis: Option<Arc<redis::Redis>>,
    health: Arc<health::Health>,
    resumption: Resumption,
    policy: PolicyTag,
    file_stamps: Mutex<Vec<FileStamp>>,
    /// The runtime the stores started on: lookups run there, where the Redis
    /// connection's driver lives (a thread-model connection's runtime ends with it).
    runtime: tokio::runtime::Handle,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("server_id", &self.options.server_id)
            .field("key_source", &self.key_source)
            .field("shared_sessions", &self.sessions.is_some())
            .finish()
    }
}

impl Stores {
    /// Start the stores for a server with this context (its versions, tickets,
    /// session cache, ticket lifetime and client-auth policy): read the key
    /// files or fetch the fleet's keys (bounded: without an answer the server
    /// starts on keys of its own), and spawn the background tasks on the
    /// current tokio runtime.
    pub async fn start(
        options: StoreOptions,
        context: &Context,
        events: StoreEventSink,
    ) -> Result<Arc<Stores>, StoreError> {
        let period = options.ticket_rotation.as_secs();
        if period == 0 {
            return Err(StoreError::Setting("--ticket-rotation: at least 1 second".into()));
        }
        if options.server_id.is_empty() || options.server_id.len() > 64 {
            return Err(StoreError::Setting("--server-id: 1 to 64 characters".into()));
        }
        let policy = context.resumption_policy();
        let health = health::Health::new(events);
        let redis = match &options.session_store {
            None => None,
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Some(Arc::new(redis::connect(
                url,
                redis::StoreTls {
                    cacert: options.store_cacert.as_deref(),
                    cert: options.store_cert.as_deref(),
                    key: options.store_key.as_deref(),
                },
                &options.prefix,
                options.store_timeout,
                health.clone(),
            )?)),
            Some(url) => {
                return Err(StoreError::Url {
                    url: redis::shown_url(url),
                    error: "expected redis://HOST:PORT or rediss://HOST:PORT".into(),
                })
            }
        };
        let lifetime = context.ticket_lifetime_secs().min(u32::try_from(period).unwrap_or(u32::MAX));
        let key_source = match (options.ticket_key_files.is_empty(), &redis) {
            (false, _) => KeySource::Files,
            (true, Some(_)) => KeySource::Redis,
            (true, None) => KeySource::Local,
        };
        let tickets = context.tickets_enabled();
        let ticketer = if tickets {
            let keys = match key_source {
                KeySource::Files => read_key_files(&options.ticket_key_files)?,
                // Fleet keys replace these at the first refresh; until then (store away) they are our own.
                KeySource::Redis => KeySet::fresh(now_secs(), period)?.into_local(),
                KeySource::Local => KeySet::fresh(now_secs(), period)?,
            };
            Some(Arc::new(Ticketer::new(keys, lifetime, policy, &options.server_id)))
        } else {
            None
        };
        let shared_sessions = redis.is_some() && context.session_cache_size() > 0;
        let sessions = match (&redis, shared_sessions) {
            (Some(redis), true) => {
                let (writes, queue) = tokio::sync::mpsc::channel(redis::WRITE_QUEUE);
                let ttl = Duration::from_secs(u64::from(context.ticket_lifetime_secs()));
                tokio::spawn(redis::write_sessions(redis.clone(), queue, ttl));
                Some(Arc::new(sessions::SharedSessions {
                    writes,
                    health: health.clone(),
                    policy,
                    server_id: options.server_id.clone(),
                }))
            }
            _ => None,
        };
        let versions = context.allowed_versions();
        let resumption = Resumption {
            tls13: versions.contains(&TlsVersion::Tls13),
            tls12: versions.contains(&TlsVersion::Tls12),
            tickets,
        };
        let file_stamps = Mutex::new(options.ticket_key_files.iter().map(|p| stamp(p)).collect());
        let stores = Arc::new(Stores {
            options,
            ticketer,
            key_source,
            sessions,
            redis,
            health,
            resumption,
            policy,
            file_stamps,
            runtime: tokio::runtime::Handle::current(),
        });
        if let Some(redis) = &stores.redis {
            let fleet_keys = stores.ticketer.clone().filter(|_| key_source == KeySource::Redis);
            // Connect now, not at the first handshake that needs the store (bounded: the server starts anyway).
            match &fleet_keys {
                Some(ticketer) => redis::first_keys(redis, ticketer, period).await,
                None => redis.probe().await,
            }
            tokio::spawn(redis::maintain(redis.clone(), fleet_keys, period));
        }
        match key_source {
            KeySource::Files if stores.ticketer.is_some() => {
                stores.report_keys_loaded();
                tokio::spawn(watch_key_files(Arc::downgrade(&stores)));
            }
            KeySource::Local if stores.ticketer.is_some() => {
                tokio::spawn(rotate_local_keys(Arc::downgrade(&stores), period));
            }
            _ => {}
        }
        Ok(stores)
    }

    /// This server's id, as carried in the sessions it issues.
    pub fn server_id(&self) -> &str {
        &self.options.server_id
    }

    /// Where the ticket keys come from.
    pub fn key_source(&self) -> KeySource {
        self.key_source
    }

    /// Whether sessions (TLS 1.2 IDs, TLS 1.3 stateful tickets) live in the shared store.
    pub fn shares_sessions(&self) -> bool {
        self.sessions.is_some()
    }

    /// Whether this server resumes sessions of other servers (shared keys or a shared store).
    pub fn is_shared(&self) -> bool {
        self.key_source != KeySource::Local || self.sessions.is_some()
    }

    /// The counters of the shared store.
    pub fn stats(&self) -> StoreStats {
        self.health.stats()
    }

    /// The client-auth policy tag bound into every session.
    pub fn policy(&self) -> PolicyTag {
        self.policy
    }

    /// The ticketer for rustls (`None` with tickets off).
    pub(crate) fn ticketer(&self) -> Option<Arc<dyn ProducesTickets>> {
        self.ticketer.clone().map(|t| t as Arc<dyn ProducesTickets>)
    }

    /// The session store for rustls, when sessions are shared (else the server keeps its own in memory).
    pub(crate) fn session_storage(&self) -> Option<Arc<dyn StoresServerSessions>> {
        self.sessions.clone().map(|s| s as Arc<dyn StoresServerSessions>)
    }

    /// The step before a connection's TLS accept: with a shared session cache,
    /// fetch the session its ClientHello (the body the server peeked) names (at most the
    /// store timeout, and not at all while the store is away). Run the accept
    /// inside the returned [`Handshake::scope`]. The caller bounds the whole
    /// step with its handshake deadline.
    pub async fn before_handshake(&self, client_hello: Option<&[u8]>) -> Arc<Handshake> {
        let handshake = Arc::new(Handshake::default());
        let (Some(redis), Some(_)) = (&self.redis, &self.sessions) else { return handshake };
        let Some(hello) = client_hello.and_then(tlskit_wire::handshake::ClientHello::parse) else { return handshake };
        let wanted = prefetch::lookups(&hello, self.resumption);
        if wanted.is_empty() {
            return handshake;
        }
        let lookup = {
            let (redis, wanted) = (redis.clone(), wanted.clone());
            self.runtime.spawn(async move { redis.fetch(&wanted).await })
        };
        // The fetch bounds itself by the store timeout.
        let found = lookup.await.unwrap_or_else(|_| vec![None; wanted.len()]);
        let staged = wanted
            .into_iter()
            .zip(found)
            .filter_map(|((key, _), value)| {
                let value = value?;
                let env = envelope::open(&value, &self.policy)?;
                Some(Staged { key, value: env.value.to_vec(), issued_by: env.server_id.to_string() })
            })
            .collect();
        handshake.stage(staged);
        handshake
    }

    /// Read the ticket key files again (SIGHUP); on an error the keys in use stay.
    pub fn reload_key_files(&self) -> Result<(), KeyError> {
        let Some(ticketer) = self.ticketer.as_ref().filter(|_| self.key_source == KeySource::Files) else {
            return Ok(());
        };
        if let Ok(mut stamps) = self.file_stamps.lock() {
            *stamps = self.options.ticket_key_files.iter().map(|p| stamp(p)).collect();
        }
        match read_key_files(&self.options.ticket_key_files) {
            Ok(keys) => {
                ticketer.set_keys(keys);
                self.report_keys_loaded();
                Ok(())
            }
            Err(e) => {
                self.health.emit(StoreEvent::KeyFileError { error: e.to_string() });
                Err(e)
            }
        }
    }

    fn report_keys_loaded(&self) {
        if let Some(ticketer) = &self.ticketer {
            let current = ticketer.keys().encrypting(now_secs()).map(TicketKey::short_name).unwrap_or_default();
            self.health.emit(StoreEvent::KeysLoaded { files: self.options.ticket_key_files.len(), current });
        }
    }
}

/// Key files are looked at once a second and re-read when one changed.
async fn watch_key_files(stores: std::sync::Weak<Stores>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(stores) = stores.upgrade() else { return };
        let now: Vec<FileStamp> = stores.options.ticket_key_files.iter().map(|p| stamp(p)).collect();
        let changed = stores.file_stamps.lock().map(|s| *s != now).unwrap_or(false);
        if changed {
            let _ = stores.reload_key_files();
        }
    }
}

/// One server alone: its keys rotate in process on the same schedule as a fleet's.
async fn rotate_local_keys(stores: std::sync::Weak<Stores>, period: u64) {
    loop {
        tokio::time::sleep(redis::refresh_interval(period)).await;
        let Some(stores) = stores.upgrade() else { return };
        if let Some(ticketer) = &stores.ticketer {
            if let Ok(Some(set)) = ticketer.keys().rotated(now_secs(), period, false) {
                ticketer.set_keys(set);
            }
        }
    }
}
