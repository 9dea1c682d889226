//! Ticket lifetime: rustls's own Ticketer has a fixed one, so tickets carry their issue time.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::server::ProducesTickets;

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

impl ProducesTickets for TicketLifetime {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.lifetime
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut stamped = Vec::with_capacity(plain.len() + 8);
        stamped.extend_from_slice(&now_secs().to_be_bytes());
        stamped.extend_from_slice(plain);
        self.inner.encrypt(&stamped)
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let stamped = self.inner.decrypt(cipher)?;
        let issued = u64::from_be_bytes(stamped.get(..8)?.try_into().ok()?);
        if now_secs().saturating_sub(issued) > u64::from(self.lifetime) {
            return None;
        }
        Some(stamped[8..].to_vec())
    }
}
