//! TLS 1.2-and-older keys: the master secret (from the key log, an RSA key exchange, a plain PSK, or an earlier
//! connection of the capture that the session resumes), and both directions' keys derived from it.

use super::{undecryptable_suite, DirKeys, Keying};
use crate::cipher::{CipherSuite, KeyExchange, RecordDecryptor};
use crate::codec::Reader;
use crate::dissect::UndecryptedReason;
use crate::keys::Label;
use crate::record::ProtocolVersion;
use crate::schedule;

impl Keying {
    /// A TLS 1.2 NewSessionTicket: its ticket resumes this session later in the capture.
    pub(in crate::dissect) fn new_session_ticket(&mut self, ticket: &[u8]) {
        if !self.tls13() {
            self.remember_session(Some(ticket));
        }
    }

    /// RSA key exchange (with an RSA key) or plain PSK: the premaster secret, hence the master secret.
    pub(in crate::dissect) fn client_key_exchange(&mut self, body: &[u8]) {
        let (Some(suite_id), Some(version)) = (self.suite_id, self.version) else { return };
        let Some(suite) = CipherSuite::lookup(suite_id) else { return };
        match suite.kx {
            KeyExchange::Rsa => {
                let Some(rsa) = self.rsa.as_ref() else { return };
                // TLS wraps the encrypted premaster in a 2-byte length; SSL 3.0 does not.
                let encrypted = if version == ProtocolVersion::SSLv3 { Some(body) } else { Reader::new(body).vec16() };
                if let Some(pre) = encrypted.and_then(|e| rsa.decrypt_premaster(e)) {
                    self.premaster = Some(pre.to_vec());
                }
            }
            KeyExchange::Psk => {
                if let Some(psk) = self.psk.as_ref() {
                    self.premaster = Some(schedule::psk_premaster(psk));
                }
            }
            _ => {}
        }
    }

    /// TLS 1.2-and-older: derive both directions' keys once the master secret is known. On failure the reason
    /// is built only when asked for ([`Self::tls12_missing`]): this runs for every record while keys are absent.
    pub(super) fn tls12_keys(&mut self) -> Result<(), Option<UndecryptedReason>> {
        let (Some(cr), Some(sr), Some(version), Some(suite)) =
            (self.client_random, self.server_random, self.version, self.suite)
        else {
            return Err(None);
        };
        let master: [u8; 48] = if let Some(ms) = self.secret(Label::ClientRandom) {
            ms.as_slice().try_into().map_err(|_| Some(UndecryptedReason::BadMasterSecret))?
        } else if let Some(pre) = self.premaster.as_ref() {
            let transcript = if self.ems { self.transcript.as_deref() } else { None };
            master_from_premaster(suite, version, pre, &cr, &sr, transcript)
        } else if let Some(master) = self.cached_master() {
            master
        } else if let Some(ms) = self.master_by_session_id() {
            ms
        } else {
            return Err(None);
        };
        self.master = Some(master);
        self.remember_session(None);
        let (c, s) = schedule::tls12_keys(suite, version, &master, &cr, &sr);
        let keys = |k: schedule::DirectionKeys| -> Result<DirKeys, Option<UndecryptedReason>> {
            let decryptor = RecordDecryptor::new(suite, version, &k)
                .map_err(|e| Some(UndecryptedReason::Keys(e)))?
                .with_encrypt_then_mac(self.etm);
            Ok(DirKeys { decryptor, suite, secret: Vec::new() })
        };
        let (c, s) = (keys(c)?, keys(s)?);
        // A direction already under way keeps its keys (its sequence number has moved on).
        for (d, k) in self.dirs.iter_mut().zip([c, s]) {
            if d.protected && d.keys.is_none() {
                d.keys = Some(k);
            }
        }
        Ok(())
    }

    /// The master secret the key log gives for this connection's session ID (the server's; for a resumed
    /// session it is the client's too).
    fn master_by_session_id(&self) -> Option<[u8; 48]> {
        if self.server_session_id.is_empty() {
            return None;
        }
        self.secrets.master_by_session_id(&self.server_session_id)?.as_slice().try_into().ok()
    }

    /// A resumed session's master secret from an earlier connection of the capture (by ticket, then by ID).
    fn cached_master(&self) -> Option<[u8; 48]> {
        if !self.resumed && self.client_ticket.is_empty() {
            return None;
        }
        let cache = self.sessions.as_ref()?.lock().ok()?;
        let by_ticket = (!self.client_ticket.is_empty()).then(|| cache.get(&self.client_ticket)).flatten();
        let by_id = || (self.resumed && !self.server_session_id.is_empty()).then(|| cache.get(&self.server_session_id));
        by_ticket.or_else(|| by_id().flatten()).copied()
    }

    /// Stores this connection's master secret under its session ID and, when one is issued, its ticket.
    fn remember_session(&self, ticket: Option<&[u8]>) {
        let (Some(cache), Some(master)) = (self.sessions.as_ref(), self.master) else { return };
        let Ok(mut cache) = cache.lock() else { return };
        // Bounded: a capture with very many sessions keeps the most recent ones.
        if cache.len() > 100_000 {
            cache.clear();
        }
        if !self.server_session_id.is_empty() {
            cache.insert(self.server_session_id.clone(), master);
        }
        if let Some(t) = ticket.filter(|t| !t.is_empty()) {
            cache.insert(t.to_vec(), master);
        }
    }

    /// Why TLS 1.2 keys cannot be derived (yet).
    pub(super) fn tls12_missing(&self) -> UndecryptedReason {
        let (Some(client_random), Some(_), Some(_)) = (self.client_random, self.server_random, self.version) else {
            return UndecryptedReason::NoHandshake;
        };
        match (self.suite, self.suite_id) {
            (None, Some(id)) => undecryptable_suite(id),
            (None, None) => UndecryptedReason::NoCipherSuite,
            (Some(_), _) => UndecryptedReason::NoMasterSecret { client_random },
        }
    }
}

/// The master secret computed from a premaster secret (RSA key exchange, PSK), with EMS when negotiated.
fn master_from_premaster(
    suite: &'static CipherSuite,
    version: ProtocolVersion,
    premaster: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    ems_transcript: Option<&[u8]>,
) -> [u8; 48] {
    let prf = schedule::Prf::for_version(version, suite.prf_hash);
    match ems_transcript {
        Some(messages) => {
            let hash = schedule::session_hash(prf, messages);
            schedule::extended_master_secret(prf, premaster, &hash)
        }
        None => schedule::master_secret(prf, premaster, client_random, server_random),
    }
}
