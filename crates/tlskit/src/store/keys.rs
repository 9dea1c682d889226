//! Ticket keys: one key, a fleet's set of them with its rotation schedule, and
//! the two ways keys arrive from outside (nginx's key files, the Redis record).
//!
//! A key has a 16-byte name (sent in the clear at the front of every ticket, so
//! a server finds the key without trying each one) and secret material from
//! which the AEAD key is derived. Every key carries its schedule: it encrypts
//! from `activates` until the next key activates, and decrypts until `retires`
//! (one rotation period after it stopped encrypting). A set always holds the
//! previous, the current and the next key, so a server that has not yet seen
//! a rotation still decrypts what a server that has already rotated issues.

use std::fmt;

use aws_lc_rs::aead::{RandomizedNonceKey, AES_256_GCM_SIV};
use aws_lc_rs::hkdf;

/// Length of a key name.
pub const NAME_LEN: usize = 16;

/// One ticket key: its name, its derived AEAD key and its schedule.
pub struct TicketKey {
    /// Sent in the clear at the front of each ticket.
    pub name: [u8; NAME_LEN],
    /// The secret as stored (32 random bytes, or the two secrets of an nginx key file).
    secret: Vec<u8>,
    /// AES-256-GCM-SIV key derived from `secret` (see [`derive_key`]).
    pub(crate) aead: RandomizedNonceKey,
    /// Unix seconds from which this key encrypts (when it is the newest active one).
    pub activates: u64,
    /// Unix seconds from which this key no longer encrypts.
    pub stops: u64,
    /// Unix seconds from which this key no longer decrypts.
    pub retires: u64,
    /// Made by this process alone while the fleet's store was out of reach.
    pub local: bool,
}

impl fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret is never shown: only the public name and the schedule.
        f.debug_struct("TicketKey")
            .field("name", &hex::encode(self.name))
            .field("activates", &self.activates)
            .field("stops", &self.stops)
            .field("retires", &self.retires)
            .field("local", &self.local)
            .finish()
    }
}

/// Why keys could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key file whose length is neither of nginx's formats.
    #[error("{path}: a ticket key file holds exactly 80 bytes (or 48), not {len}")]
    FileLength {
        /// The file.
        path: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A key file that could not be read.
    #[error("{path}: {source}")]
    FileRead {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The Redis record of the key set does not parse.
    #[error("the ticket key record in the store is malformed: {0}")]
    Record(String),
    /// The system's random generator failed.
    #[error("no randomness for a ticket key")]
    Random,
}

/// HKDF-SHA256 from the stored secret to the 32-byte AES-256-GCM-SIV key.
///
/// Derived, not used as is: an nginx 48-byte file has only 16-byte halves, and
/// a secret meant for AES-CBC + HMAC in nginx must not also be an AES-GCM-SIV key
/// here without separation.
fn derive_key(secret: &[u8], name: &[u8; NAME_LEN]) -> RandomizedNonceKey {
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"tlskit ticket key v1");
    let prk = salt.extract(secret);
    let info = [&name[..], b"aes-256-gcm-siv"];
    let okm = prk.expand(&info, &AES_256_GCM_SIV).expect("32 bytes is within HKDF's limit");
    let mut key = [0u8; 32];
    okm.fill(&mut key).expect("the output length matches the key length");
    RandomizedNonceKey::new(&AES_256_GCM_SIV, &key).expect("a 32-byte key suits AES-256-GCM-SIV")
}

impl TicketKey {
    /// A key from its name and secret, with its schedule.
    pub fn new(name: [u8; NAME_LEN], secret: Vec<u8>, activates: u64, stops: u64, retires: u64) -> TicketKey {
        let aead = derive_key(&secret, &name);
        TicketKey { name, secret, aead, activates, stops, retires, local: false }
    }

    /// A fresh random key that encrypts for one period from `activates` and
    /// decrypts for one more.
    pub fn generate(activates: u64, period: u64) -> Result<TicketKey, KeyError> {
        let mut name = [0u8; NAME_LEN];
        let mut secret = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut name).map_err(|_| KeyError::Random)?;
        aws_lc_rs::rand::fill(&mut secret).map_err(|_| KeyError::Random)?;
        Ok(TicketKey::new(name, secret, activates, activates + period, activates + 2 * period))
    }

    /// The same key material and schedule (keys are shared between sets by copying).
    fn duplicate(&self) -> TicketKey {
        let copy = TicketKey::new(self.name, self.secret.clone(), self.activates, self.stops, self.retires);
        TicketKey { local: self.local, ..copy }
    }

    /// The first four bytes of the name in hex: enough to tell keys apart in a log, nothing secret.
    pub fn short_name(&self) -> String {
        hex::encode(&self.name[..4])
    }

    /// A key from an nginx `ssl_session_ticket_key` file: 80 bytes (name, HMAC
    /// secret, AES secret; 32 each after the name) or 48 (name, AES, HMAC: 16
    /// each). Both secrets together are the key material.
    pub fn from_nginx_bytes(path: &str, bytes: &[u8], activates: u64) -> Result<TicketKey, KeyError> {
        if bytes.len() != 80 && bytes.len() != 48 {
            return Err(KeyError::FileLength { path: path.to_string(), len: bytes.len() });
        }
        let name: [u8; NAME_LEN] = bytes[..NAME_LEN].try_into().expect("length checked");
        Ok(TicketKey::new(name, bytes[NAME_LEN..].to_vec(), activates, u64::MAX, u64::MAX))
    }
}

/// The keys a server encrypts and decrypts with, newest activation last.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<TicketKey>,
}

impl KeySet {
    /// A set of the given keys (sorted by activation).
    pub fn new(mut keys: Vec<TicketKey>) -> KeySet {
        keys.sort_by_key(|k| k.activates);
        KeySet { keys }
    }

    /// A first set at `now`: a current key and the next one, published a period early.
    pub fn fresh(now: u64, period: u64) -> Result<KeySet, KeyError> {
        Ok(KeySet::new(vec![TicketKey::generate(now, period)?, TicketKey::generate(now + period, period)?]))
    }

    /// The keys, oldest activation first.
    pub fn keys(&self) -> &[TicketKey] {
        &self.keys
    }

    /// The key that encrypts at `now`: the newest one in its encrypting
    /// period, the fleet's before this process's own; failing that (keys not
    /// renewed in time) the newest that still decrypts, or the oldest if a
    /// clock is behind every activation. The ticketer shortens the advertised
    /// lifetime to what the chosen key can still decrypt.
    pub fn encrypting(&self, now: u64) -> Option<&TicketKey> {
        let encrypts = |k: &&TicketKey| k.activates <= now && now < k.stops;
        (self.keys.iter().rev().filter(|k| !k.local).find(encrypts))
            .or_else(|| self.keys.iter().rev().find(encrypts))
            .or_else(|| self.keys.iter().rev().find(|k| k.activates <= now && now < k.retires))
            .or_else(|| self.keys.first())
    }

    /// The key of this name that still decrypts at `now`.
    pub fn decrypting(&self, name: &[u8], now: u64) -> Option<&TicketKey> {
        self.keys.iter().find(|k| k.name == name && now < k.retires)
    }

    /// Whether the set needs a rotation step: the newest key is active already
    /// or activates within half a period, so it must be followed by a next key
    /// that every server has time to fetch before it is used; or a key has
    /// retired and its secret should not be kept any longer.
    pub fn is_stale(&self, now: u64, period: u64) -> bool {
        let retired = self.keys.iter().any(|k| k.retires <= now);
        match self.keys.iter().map(|k| k.activates).max() {
            None => true,
            Some(newest) => retired || newest < now + period / 2,
        }
    }

    /// The set after one rotation step at `now`: retired keys dropped, new keys
    /// appended a period apart after the newest until the next one lies at
    /// least half a period ahead (or a fresh set if the keys were away for
    /// longer than they live). `None` when nothing is due. `local` marks the
    /// new keys as this process's own (made while the fleet's store was away).
    pub fn rotated(&self, now: u64, period: u64, local: bool) -> Result<Option<KeySet>, KeyError> {
        if !self.is_stale(now, period) {
            return Ok(None);
        }
        let mut keys: Vec<TicketKey> = self.keys.iter().filter(|k| now < k.retires).map(TicketKey::duplicate).collect();
        let newest = keys.iter().map(|k| k.activates).max();
        let mut next = match newest {
            Some(newest) if newest + 2 * period > now => newest + period,
            // Away for longer than a key encrypts: start the schedule again at now.
            _ => now,
        };
        while keys.iter().map(|k| k.activates).max().is_none_or(|newest| newest < now + period / 2) {
            let mut key = TicketKey::generate(next, period)?;
            key.local = local;
            keys.push(key);
            next += period;
        }
        Ok(Some(KeySet::new(keys)))
    }

    /// This set with `others`' keys that it lacks and that still decrypt at
    /// `now` (local keys made during an outage stay usable until they retire).
    pub fn merged_with(mut self, others: &KeySet, now: u64) -> KeySet {
        for key in &others.keys {
            if now < key.retires && !self.keys.iter().any(|k| k.name == key.name) {
                self.keys.push(key.duplicate());
            }
        }
        KeySet::new(self.keys)
    }

    /// A copy of the fleet's keys alone (what may go to the store).
    pub fn without_local(&self) -> KeySet {
        KeySet::new(self.keys.iter().filter(|k| !k.local).map(TicketKey::duplicate).collect())
    }

    /// A copy of this process's own keys alone.
    pub fn local_only(&self) -> KeySet {
        KeySet::new(self.keys.iter().filter(|k| k.local).map(TicketKey::duplicate).collect())
    }

    /// A copy with every key marked as made by this process alone.
    pub fn into_local(mut self) -> KeySet {
        for key in &mut self.keys {
            key.local = true;
        }
        self
    }

    /// Whether the two sets hold the same keys (by name).
    pub fn same_keys(&self, other: &KeySet) -> bool {
        self.keys.len() == other.keys.len() && self.keys.iter().zip(&other.keys).all(|(a, b)| a.name == b.name)
    }

    /// The record stored in Redis: JSON with hex names and secrets, and the
    /// schedule. Local keys never leave the process.
    pub fn to_record(&self, period: u64) -> String {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .filter(|k| !k.local)
            .map(|k| {
                serde_json::json!({
                    "name": hex::encode(k.name),
                    "secret": hex::encode(&k.secret),
                    "activates": k.activates,
                    "stops": k.stops,
                    "retires": k.retires,
                })
            })
            .collect();
        serde_json::json!({ "version": 1, "period": period, "keys": keys }).to_string()
    }

    /// A set (and the period it was made with) from its Redis record.
    pub fn from_record(record: &[u8]) -> Result<(KeySet, u64), KeyError> {
        let bad = |what: &str| KeyError::Record(what.to_string());
        let value: serde_json::Value = serde_json::from_slice(record).map_err(|e| KeyError::Record(e.to_string()))?;
        if value["version"].as_u64() != Some(1) {
            return Err(bad("unknown version"));
        }
        let period = value["period"].as_u64().ok_or_else(|| bad("no period"))?;
        let mut keys = Vec::new();
        for k in value["keys"].as_array().ok_or_else(|| bad("no keys"))? {
            let name = hex::decode(k["name"].as_str().unwrap_or_default()).map_err(|_| bad("name is not hex"))?;
            let name: [u8; NAME_LEN] = name.try_into().map_err(|_| bad("name is not 16 bytes"))?;
            let secret = hex::decode(k["secret"].as_str().unwrap_or_default()).map_err(|_| bad("secret is not hex"))?;
            if secret.len() < 32 {
                return Err(bad("secret shorter than 32 bytes"));
            }
            let activates = k["activates"].as_u64().ok_or_else(|| bad("no activation time"))?;
            let stops = k["stops"].as_u64().ok_or_else(|| bad("no end of encryption"))?;
            let retires = k["retires"].as_u64().ok_or_else(|| bad("no retirement time"))?;
            keys.push(TicketKey::new(name, secret, activates, stops, retires));
        }
        if keys.is_empty() {
            return Err(bad("no keys"));
        }
        Ok((KeySet::new(keys), period))
    }
}

/// Keys from nginx key files, first file first: it encrypts, the others only
/// decrypt. Their schedule is not ours to know: they never retire.
pub fn read_key_files(paths: &[std::path::PathBuf]) -> Result<KeySet, KeyError> {
    let mut keys = Vec::new();
    // Activation times that keep the first file's key the encrypting one (the newest active).
    let count = paths.len() as u64;
    for (i, path) in paths.iter().enumerate() {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| KeyError::FileRead { path: shown.clone(), source })?;
        keys.push(TicketKey::from_nginx_bytes(&shown, &bytes, count - i as u64)?);
    }
    Ok(KeySet::new(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 100;

    #[test]
    fn a_fresh_set_has_the_current_and_the_next_key() {
        let set = KeySet::fresh(1000, P).unwrap();
        assert_eq!(set.keys().len(), 2);
        assert_eq!(set.encrypting(1000).unwrap().activates, 1000);
        assert_eq!(set.encrypting(1099).unwrap().activates, 1000);
        assert_eq!(set.encrypting(1100).unwrap().activates, 1100);
        assert!(!set.is_stale(1000, P));
        assert!(set.is_stale(1051, P), "the next key activates within half a period: publish one more");
    }

    #[test]
    fn rotation_appends_a_next_key_and_drops_retired_ones() {
        let set = KeySet::fresh(1000, P).unwrap();
        assert!(set.rotated(1010, P, false).unwrap().is_none());
        let r = set.rotated(1060, P, false).unwrap().expect("due");
        let acts: Vec<u64> = r.keys().iter().map(|k| k.activates).collect();
        assert_eq!(acts, [1000, 1100, 1200]);
        // The first key retires two periods after it activated.
        let later = r.rotated(1160, P, false).unwrap().expect("due");
        let acts: Vec<u64> = later.keys().iter().map(|k| k.activates).collect();
        assert_eq!(acts, [1000, 1100, 1200, 1300]);
        let later = later.rotated(1260, P, false).unwrap().expect("due");
        let acts: Vec<u64> = later.keys().iter().map(|k| k.activates).collect();
        assert_eq!(acts, [1100, 1200, 1300, 1400], "1000 retired at 1200");
        // A retired key alone makes the set stale: it is dropped without a new key.
        let pruned = later.rotated(1301, P, false).unwrap().expect("1100 retired at 1300");
        let acts: Vec<u64> = pruned.keys().iter().map(|k| k.activates).collect();
        assert_eq!(acts, [1200, 1300, 1400]);
    }

    #[test]
    fn a_long_absence_starts_a_new_schedule() {
        let set = KeySet::fresh(1000, P).unwrap();
        let r = set.rotated(5000, P, false).unwrap().expect("due");
        let acts: Vec<u64> = r.keys().iter().map(|k| k.activates).collect();
        assert_eq!(acts, [5000, 5100]);
    }

    #[test]
    fn after_a_short_absence_the_schedule_catches_up() {
        let set = KeySet::fresh(1000, P).unwrap();
        let r = set.rotated(1250, P, false).unwrap().expect("due");
        let acts: Vec<u64> = r.keys().iter().map(|k| k.activates).collect();
        assert_eq!(acts, [1100, 1200, 1300]);
        assert_eq!(r.encrypting(1250).unwrap().activates, 1200);
    }

    #[test]
    fn the_fleet_key_encrypts_before_a_local_one() {
        let fleet = KeySet::fresh(1000, P).unwrap();
        let local = fleet.rotated(1060, P, true).unwrap().unwrap();
        let newest_local = local.keys().last().unwrap();
        assert!(newest_local.local && newest_local.activates == 1200);
        // At 1210 the local key is the newest active one, but a fleet key (1100) is active too.
        let both = KeySet::fresh(1100, P).unwrap().merged_with(&local, 1210);
        assert!(!both.encrypting(1210).unwrap().local);
        assert!(local.encrypting(1210).unwrap().local, "the fleet's 1100 key stopped encrypting at 1200");
    }

    #[test]
    fn records_round_trip_without_local_keys() {
        let set = KeySet::fresh(1000, P).unwrap();
        let local = KeySet::fresh(1000, P).unwrap().into_local();
        let both = set.without_local().merged_with(&local, 1000);
        assert_eq!(both.keys().len(), 4);
        let record = both.to_record(P);
        let (back, period) = KeySet::from_record(record.as_bytes()).unwrap();
        assert_eq!(period, P);
        assert!(back.same_keys(&set));
        assert!(KeySet::from_record(b"{\"version\":1}").is_err());
        assert!(KeySet::from_record(b"garbage").is_err());
    }

    #[test]
    fn nginx_formats_and_wrong_lengths() {
        let k80 = TicketKey::from_nginx_bytes("k", &[7u8; 80], 0).unwrap();
        assert_eq!(k80.name, [7u8; 16]);
        assert!(TicketKey::from_nginx_bytes("k", &[7u8; 48], 0).is_ok());
        let err = TicketKey::from_nginx_bytes("k.key", &[7u8; 81], 0).unwrap_err().to_string();
        assert!(err.contains("k.key") && err.contains("81"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = TicketKey::new([1; 16], vec![0xab; 32], 0, 1, 2);
        let shown = format!("{key:?}");
        assert!(!shown.contains("abab"), "{shown}");
    }
}
