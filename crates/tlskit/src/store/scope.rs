//! What one connection's handshake carries into rustls's synchronous callbacks.
//!
//! rustls calls `ProducesTickets::decrypt` and `StoresServerSessions::get/take`
//! inside the handshake, with the key alone and no way to say which connection
//! asks. The server runs each TLS accept inside [`Handshake::scope`], a tokio
//! task-local that is set exactly while that connection's handshake future is
//! polled, so the callbacks find the entries fetched for this connection (and
//! note which server issued the session being resumed) without any shared map.

use std::future::Future;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    static HANDSHAKE: Arc<Handshake>;
}

/// A session entry fetched from the shared store before the handshake.
#[derive(Debug)]
pub(crate) struct Staged {
    pub(crate) key: Vec<u8>,
    /// rustls's encoded session value.
    pub(crate) value: Vec<u8>,
    /// The server id that stored it.
    pub(crate) issued_by: String,
}

/// One connection's handshake: entries fetched for it, and who issued the resumed session.
#[derive(Debug, Default)]
pub struct Handshake {
    staged: Mutex<Vec<Staged>>,
    issued_by: Mutex<Option<String>>,
}

impl Handshake {
    /// Run `handshake` (a TLS accept) with this connection's entries available to rustls's callbacks.
    pub async fn scope<F: Future>(self: Arc<Self>, handshake: F) -> F::Output {
        HANDSHAKE.scope(self, handshake).await
    }

    /// The server id that issued the session this handshake resumed, if it resumed one of ours.
    pub fn issued_by(&self) -> Option<String> {
        self.issued_by.lock().ok()?.clone()
    }

    pub(crate) fn stage(&self, entries: Vec<Staged>) {
        if let Ok(mut staged) = self.staged.lock() {
            staged.extend(entries);
        }
    }
}

/// Inside a handshake's callbacks: note the server that issued the session just decrypted or found.
pub(crate) fn note_issuer(id: &str) {
    let _ = HANDSHAKE.try_with(|h| {
        if let Ok(mut issued) = h.issued_by.lock() {
            *issued = Some(id.to_string());
        }
    });
}

/// Inside a handshake's callbacks: the entry staged for `key`, removed (each is used once).
pub(crate) fn staged(key: &[u8]) -> Option<Vec<u8>> {
    HANDSHAKE
        .try_with(|h| {
            let mut staged = h.staged.lock().ok()?;
            let i = staged.iter().position(|s| s.key == key)?;
            let entry = staged.swap_remove(i);
            drop(staged);
            if let Ok(mut issued) = h.issued_by.lock() {
                *issued = Some(entry.issued_by);
            }
            Some(entry.value)
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_are_seen_only_inside_their_own_scope_and_once() {
        let a = Arc::new(Handshake::default());
        a.stage(vec![Staged { key: b"k".to_vec(), value: b"v".to_vec(), issued_by: "s1".into() }]);
        assert_eq!(staged(b"k"), None, "outside any handshake");
        let b = Arc::new(Handshake::default());
        assert_eq!(b.clone().scope(async { staged(b"k") }).await, None, "another connection's scope");
        assert_eq!(a.clone().scope(async { (staged(b"k"), staged(b"k")) }).await, (Some(b"v".to_vec()), None));
        assert_eq!(a.issued_by().as_deref(), Some("s1"));
        assert_eq!(b.issued_by(), None);
    }
}
