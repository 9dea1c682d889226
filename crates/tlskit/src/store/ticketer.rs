//! The ticketer of a fleet: rustls's `ProducesTickets` over a [`KeySet`] that
//! can be replaced while the server runs (refreshed from Redis, re-read from a
//! key file, or rotated in process).
//!
//! A ticket is `key name (16) | nonce (12) | AES-256-GCM-SIV(envelope) | tag (16)`,
//! with the key name as associated data. Why AES-256-GCM-SIV: many servers
//! encrypt with one key at once and cannot share a counter, so nonces are
//! random; GCM-SIV stays safe when random nonces collide (it then only shows
//! that two identical tickets are identical), where plain GCM would leak the
//! authentication key. Why not RFC 5077's AES-CBC + HMAC (nginx, OpenSSL,
//! rustls's own ticketer): one primitive checked before any byte is decrypted,
//! no padding, and a smaller ticket. Tickets are read only by tlskit, so the
//! format is ours; the key files are nginx's.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{Aad, Nonce, NONCE_LEN};
use rustls::server::ProducesTickets;

use super::envelope::{self, PolicyTag};
use super::keys::{KeySet, NAME_LEN};
use super::scope;

const TAG_LEN: usize = 16;
const AAD_PREFIX: &[u8] = b"tlskit ticket v1";

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Encrypts and decrypts session tickets with a replaceable key set.
pub struct Ticketer {
    keys: RwLock<Arc<KeySet>>,
    /// The longest lifetime advertised: the configured one, at most one rotation period.
    lifetime: u32,
    policy: PolicyTag,
    server_id: String,
}

impl fmt::Debug for Ticketer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticketer").field("lifetime", &self.lifetime).field("server_id", &self.server_id).finish()
    }
}

fn aad(name: &[u8]) -> Aad<Vec<u8>> {
    let mut aad = Vec::with_capacity(AAD_PREFIX.len() + NAME_LEN);
    aad.extend_from_slice(AAD_PREFIX);
    aad.extend_from_slice(name);
    Aad::from(aad)
}

impl Ticketer {
    /// A ticketer over `keys` whose tickets live at most `lifetime` seconds,
    /// bound to `policy`, naming `server_id` as their issuer.
    pub fn new(keys: KeySet, lifetime: u32, policy: PolicyTag, server_id: &str) -> Ticketer {
        Ticketer { keys: RwLock::new(Arc::new(keys)), lifetime, policy, server_id: server_id.to_string() }
    }

    /// The keys in use now.
    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.read().map(|k| k.clone()).unwrap_or_default()
    }

    /// Replace the keys (a refresh, a reload, a rotation).
    pub fn set_keys(&self, keys: KeySet) {
        if let Ok(mut slot) = self.keys.write() {
            *slot = Arc::new(keys);
        }
    }

    /// The lifetime to advertise at `now`: never longer than the encrypting
    /// key can still decrypt.
    pub fn lifetime_at(&self, now: u64) -> u32 {
        let keys = self.keys();
        let left = keys.encrypting(now).map(|k| k.retires.saturating_sub(now)).unwrap_or(0);
        u64::from(self.lifetime).min(left) as u32
    }

    /// Encrypt a session value at `now`.
    pub fn encrypt_at(&self, plain: &[u8], now: u64) -> Option<Vec<u8>> {
        let keys = self.keys();
        let key = keys.encrypting(now)?;
        let mut sealed = envelope::seal(now, &self.server_id, &self.policy, plain);
        let nonce = key.aead.seal_in_place_append_tag(aad(&key.name), &mut sealed).ok()?;
        let mut ticket = Vec::with_capacity(NAME_LEN + NONCE_LEN + sealed.len());
        ticket.extend_from_slice(&key.name);
        ticket.extend_from_slice(nonce.as_ref());
        ticket.extend_from_slice(&sealed);
        Some(ticket)
    }

    /// Decrypt a ticket at `now`: its key must still decrypt, it must have been
    /// made under this server's client-auth policy and be within its lifetime.
    /// Returns the session value and the id of the server that issued it.
    pub fn decrypt_at(&self, ticket: &[u8], now: u64) -> Option<(Vec<u8>, String)> {
        if ticket.len() < NAME_LEN + NONCE_LEN + TAG_LEN {
            return None;
        }
        let (name, rest) = ticket.split_at(NAME_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let keys = self.keys();
        let key = keys.decrypting(name, now)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let plain = key.aead.open_in_place(nonce, aad(name), &mut buf).ok()?;
        let env = envelope::open(plain, &self.policy)?;
        if now.saturating_sub(env.issued_at) > u64::from(self.lifetime) {
            return None;
        }
        Some((env.value.to_vec(), env.server_id.to_string()))
    }
}

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        self.lifetime_at(now_secs())
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.encrypt_at(plain, now_secs())
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let (value, issued_by) = self.decrypt_at(cipher, now_secs())?;
        scope::note_issuer(&issued_by);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::TicketKey;

    const P: u64 = 100;
    const POLICY: PolicyTag = PolicyTag([9; 32]);

    fn ticketer(keys: KeySet) -> Ticketer {
        Ticketer::new(keys, P as u32, POLICY, "a")
    }

    #[test]
    fn a_ticket_decrypts_on_another_server_with_the_same_keys() {
        let set = KeySet::fresh(1000, P).unwrap();
        let record = set.to_record(P);
        let a = ticketer(set);
        let b = Ticketer::new(KeySet::from_record(record.as_bytes()).unwrap().0, P as u32, POLICY, "b");
        let ticket = a.encrypt_at(b"session", 1010).unwrap();
        assert_eq!(b.decrypt_at(&ticket, 1020), Some((b"session".to_vec(), "a".to_string())));
        // Another set of keys: refused.
        let c = ticketer(KeySet::fresh(1000, P).unwrap());
        assert_eq!(c.decrypt_at(&ticket, 1020), None);
    }

    #[test]
    fn another_client_auth_policy_does_not_resume() {
        let set = KeySet::fresh(1000, P).unwrap();
        let record = set.to_record(P);
        let a = ticketer(set);
        let strict = Ticketer::new(KeySet::from_record(record.as_bytes()).unwrap().0, 100, PolicyTag([8; 32]), "b");
        let ticket = a.encrypt_at(b"session", 1010).unwrap();
        assert_eq!(strict.decrypt_at(&ticket, 1011), None);
    }

    #[test]
    fn tickets_across_a_rotation_and_their_end() {
        let fresh = KeySet::fresh(1000, P).unwrap();
        let t = ticketer(fresh);
        // Issued just before the next key activates, used just after: still good.
        let before = t.encrypt_at(b"s", 1090).unwrap();
        let rotated = t.keys().rotated(1090, P, false).unwrap().unwrap();
        t.set_keys(rotated);
        assert!(t.decrypt_at(&before, 1110).is_some(), "no resumption lost at the rotation");
        let after = t.encrypt_at(b"s", 1110).unwrap();
        assert_ne!(before[..16], after[..16], "the next key encrypts after its activation");
        // Older than the lifetime (one period): refused even while its key still decrypts.
        assert!(t.decrypt_at(&before, 1191).is_none());
        // Older than two periods: its key is retired too.
        assert!(t.decrypt_at(&before, 1201).is_none());
    }

    #[test]
    fn the_advertised_lifetime_never_outlives_the_key() {
        let t = ticketer(KeySet::fresh(1000, P).unwrap());
        assert_eq!(t.lifetime_at(1000), 100);
        // Keys not renewed: the last key encrypts past its period, and the lifetime shrinks to its retirement.
        assert_eq!(t.lifetime_at(1250), 50);
        assert_eq!(t.lifetime_at(1299), 1);
    }

    #[test]
    fn garbage_and_tampering_are_refused() {
        let t = ticketer(KeySet::fresh(1000, P).unwrap());
        let mut ticket = t.encrypt_at(b"session", 1000).unwrap();
        assert!(t.decrypt_at(&[], 1000).is_none());
        assert!(t.decrypt_at(&ticket[..40], 1000).is_none());
        let last = ticket.len() - 1;
        ticket[last] ^= 1;
        assert!(t.decrypt_at(&ticket, 1000).is_none());
    }

    #[test]
    fn the_first_key_file_encrypts_and_the_others_decrypt() {
        let first = TicketKey::from_nginx_bytes("a", &[1; 80], 2).unwrap();
        let second = TicketKey::from_nginx_bytes("b", &[2; 48], 1).unwrap();
        let old = ticketer(KeySet::new(vec![TicketKey::from_nginx_bytes("b", &[2; 48], 1).unwrap()]));
        let t = ticketer(KeySet::new(vec![first, second]));
        let ticket = t.encrypt_at(b"s", 1000).unwrap();
        assert_eq!(&ticket[..16], &[1; 16]);
        let from_old = old.encrypt_at(b"s", 1000).unwrap();
        assert!(t.decrypt_at(&from_old, 1001).is_some());
    }
}
