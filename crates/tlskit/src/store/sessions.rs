//! The shared session cache as rustls sees it: a `StoresServerSessions` that
//! never touches the network from inside a handshake.
//!
//! Why this is safe:
//! - `get`/`take` only look at the entries fetched for this connection before
//!   its handshake began ([`super::scope`]); an entry is found only under the
//!   exact key the client presented, just as a direct lookup would find it,
//!   and resuming still needs the session's secret (TLS 1.2 Finished, TLS 1.3
//!   binder), which the entry holds and the client must prove.
//! - `take` must delete reliably (TLS 1.3 stateful tickets are single use, the
//!   only mode rustls allows 0-RTT in): the entry was fetched with GETDEL, one
//!   atomic read-and-delete in Redis, so across the whole fleet one connection
//!   at most gets it; and the staged copy is removed as it is taken.
//! - A lookup that times out may still delete its entry later: a session lost,
//!   never a session resumed twice.
//! - `put` queues the write for a background task: a handshake never waits for Redis.
//! - Entries carry the client-auth policy tag; one made under another policy is not resumed.

use std::fmt;
use std::sync::Arc;

use rustls::server::StoresServerSessions;
use tokio::sync::mpsc;

use super::envelope::{self, PolicyTag};
use super::health::Health;
use super::scope;
use super::ticketer::now_secs;

/// The session cache in Redis, as rustls's store.
pub(crate) struct SharedSessions {
    pub(crate) writes: mpsc::Sender<(Vec<u8>, Vec<u8>)>,
    pub(crate) health: Arc<Health>,
    pub(crate) policy: PolicyTag,
    pub(crate) server_id: String,
}

impl fmt::Debug for SharedSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSessions").field("server_id", &self.server_id).finish()
    }
}

impl StoresServerSessions for SharedSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        if !self.health.is_up() {
            // No session ID or stateful ticket is promised that no server could find.
            self.health.dropped_write();
            return false;
        }
        let sealed = envelope::seal(now_secs(), &self.server_id, &self.policy, &value);
        if self.writes.try_send((key, sealed)).is_err() {
            self.health.dropped_write();
            return false;
        }
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        scope::staged(key)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        scope::staged(key)
    }

    fn can_cache(&self) -> bool {
        self.health.is_up()
    }
}
