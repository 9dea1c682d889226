//! Resumption lifetimes: rustls's own Ticketer has a fixed one and its memory cache none, so
//! tickets and stored sessions carry their issue time and are refused past the lifetime.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::server::{ProducesTickets, StoresServerSessions};

/// A ticketer that stamps each ticket with its issue time and refuses it
/// after `lifetime` seconds (rustls's own Ticketer has a fixed lifetime).
pub(super) struct TicketLifetime {
    pub(super) inner: Arc<dyn ProducesTickets>,
    pub(super) lifetime: u32,
}

impl fmt::Debug for TicketLifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketLifetime").field("lifetime", &self.lifetime).finish()
    }
}

pub(super) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `value` behind its issue time (8 bytes, big-endian Unix seconds).
fn stamp(value: &[u8]) -> Vec<u8> {
    let mut stamped = Vec::with_capacity(value.len() + 8);
    stamped.extend_from_slice(&now_secs().to_be_bytes());
    stamped.extend_from_slice(value);
    stamped
}

/// The value of a [`stamp`]ed one still within `lifetime` seconds of its issue, else None.
fn unstamp(stamped: &[u8], lifetime: u32) -> Option<Vec<u8>> {
    let issued = u64::from_be_bytes(stamped.get(..8)?.try_into().ok()?);
    if now_secs().saturating_sub(issued) > u64::from(lifetime) {
        return None;
    }
    Some(stamped[8..].to_vec())
}

impl ProducesTickets for TicketLifetime {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.lifetime
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.inner.encrypt(&stamp(plain))
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        unstamp(&self.inner.decrypt(cipher)?, self.lifetime)
    }
}

/// The in-memory session cache (TLS 1.2 session IDs, TLS 1.3 stateful tickets) with the same
/// lifetime as tickets: rustls's own keeps a session until it is pushed out by newer ones.
pub(super) struct SessionLifetime {
    pub(super) inner: Arc<dyn StoresServerSessions>,
    pub(super) lifetime: u32,
}

impl fmt::Debug for SessionLifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLifetime").field("lifetime", &self.lifetime).finish()
    }
}

impl StoresServerSessions for SessionLifetime {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, stamp(&value))
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        unstamp(&self.inner.get(key)?, self.lifetime)
    }
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        unstamp(&self.inner.take(key)?, self.lifetime)
    }
    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}
