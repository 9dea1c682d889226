//! Keys: which secret each direction needs at each stage, looked up lazily, and decryption of one record
//! with the right keys (TLS 1.2 master secret from the key log, an RSA key or a PSK; TLS 1.3 stages).

use super::crypto::{self, DirKeys};
use super::{Direction, Dissector, Stage};
use crate::cipher::CipherSuite;
use crate::keys::Label;
use crate::record::RecordHeader;

impl Dissector {
    pub(super) fn tls13(&self) -> bool {
        self.version == Some(0x0304)
    }

    /// Asks for a secret; `None` while it is not (yet) there.
    pub(super) fn secret(&self, label: Label) -> Option<Vec<u8>> {
        self.secrets.secret(label, self.client_random.as_ref()?)
    }

    /// Sets a direction's TLS 1.3 stage; keys are looked up lazily on the next record.
    pub(super) fn set_stage(&mut self, dir: Direction, stage: Stage) {
        let d = &mut self.dirs[dir.index()];
        if d.stage.is_some_and(|s| s >= stage) && stage != Stage::Handshake {
            return;
        }
        d.stage = Some(stage);
        d.keys = None;
        d.reported_missing = false;
    }

    pub(super) fn stage_label(dir: Direction, stage: Stage) -> Option<Label> {
        use Direction::*;
        Some(match (dir, stage) {
            (ClientToServer, Stage::Early) => Label::ClientEarlyTrafficSecret,
            (ClientToServer, Stage::Handshake) => Label::ClientHandshakeTrafficSecret,
            (ServerToClient, Stage::Handshake) => Label::ServerHandshakeTrafficSecret,
            (ClientToServer, Stage::Application) => Label::ClientTrafficSecret0,
            (ServerToClient, Stage::Application) => Label::ServerTrafficSecret0,
            _ => return None,
        })
    }

    /// TLS 1.3 keys for a stage of one direction, if the secret is known.
    pub(super) fn tls13_keys(&self, dir: Direction, stage: Stage) -> Option<DirKeys> {
        let secret = self.secret(Self::stage_label(dir, stage)?)?;
        if let Some(suite) = self.suite {
            return DirKeys::tls13(suite, secret);
        }
        None
    }

    /// Decrypts one protected record in place. Err: (reason to report, authentication failed).
    #[allow(clippy::type_complexity)]
    pub(super) fn decrypt(
        &mut self,
        dir: Direction,
        header: RecordHeader,
        fragment: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(u8, std::ops::Range<usize>), (Option<String>, bool)> {
        let i = dir.index();
        let typ = header.content_type.to_u8();
        if self.tls13() || (self.version.is_none() && self.dirs[i].stage == Some(Stage::Early)) {
            return self.decrypt_tls13(dir, header, fragment, buf);
        }
        if self.version.is_none() {
            return Err((None, false));
        }
        if self.dirs[i].keys.is_none() {
            if let Err(reason) = self.tls12_keys() {
                let first = !self.dirs[i].reported_missing;
                self.dirs[i].reported_missing = true;
                return Err((first.then(|| reason.unwrap_or_else(|| self.tls12_missing())), false));
            }
        }
        let lost = std::mem::take(&mut self.dirs[i].lost);
        let Some(keys) = self.dirs[i].keys.as_mut() else { return Err((None, false)) };
        if lost > 0 {
            return keys
                .resync(typ, header.version, fragment, buf, max_lost_records(lost))
                .map_err(|e| (Some(e), true));
        }
        buf.clear();
        buf.extend_from_slice(fragment);
        keys.decrypt(typ, header.version, buf).map_err(|e| (Some(e), true))
    }

    /// TLS 1.3: try the current stage's keys, then the next stage's (a Finished or EndOfEarlyData we
    /// could not read would otherwise leave us on stale keys).
    pub(super) fn decrypt_tls13(
        &mut self,
        dir: Direction,
        header: RecordHeader,
        fragment: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(u8, std::ops::Range<usize>), (Option<String>, bool)> {
        let i = dir.index();
        let typ = header.content_type.to_u8();
        let Some(stage) = self.dirs[i].stage else {
            return Err((Some("protected record before the handshake keys are known".into()), false));
        };
        if self.dirs[i].keys.is_none() {
            self.dirs[i].keys = if stage == Stage::Early {
                self.early_keys(fragment, typ, header.version)
            } else {
                self.tls13_keys(dir, stage)
            };
        }
        let mut failure = None;
        let lost = std::mem::take(&mut self.dirs[i].lost);
        if let Some(keys) = self.dirs[i].keys.as_mut() {
            buf.clear();
            buf.extend_from_slice(fragment);
            let result = if lost > 0 {
                keys.resync(typ, header.version, fragment, buf, max_lost_records(lost))
            } else {
                keys.decrypt(typ, header.version, buf)
            };
            match result {
                Ok(ok) => return Ok(ok),
                Err(e) => failure = Some(e),
            }
        }
        // The next stage, when this record may already be under it.
        let next = match (dir, stage) {
            (Direction::ClientToServer, Stage::Early) if self.server_random.is_some() => Some(Stage::Handshake),
            (_, Stage::Handshake) => Some(Stage::Application),
            _ => None,
        };
        if let Some(next) = next {
            if let Some(mut keys) = self.tls13_keys(dir, next) {
                buf.clear();
                buf.extend_from_slice(fragment);
                if let Ok(ok) = keys.decrypt(typ, header.version, buf) {
                    if stage == Stage::Early && self.early_accepted.is_none() {
                        self.early_accepted = Some(false);
                    }
                    let d = &mut self.dirs[i];
                    d.stage = Some(next);
                    d.keys = Some(keys);
                    d.reported_missing = false;
                    return Ok(ok);
                }
            }
        }
        match failure {
            Some(e) => Err((Some(e), true)),
            None => {
                let first = !self.dirs[i].reported_missing;
                self.dirs[i].reported_missing = true;
                let reason = first.then(|| match self.suite_id {
                    Some(id) if self.suite.is_none() => undecryptable_suite(id),
                    _ => {
                        let label = Self::stage_label(dir, stage).map_or("traffic secret", Label::as_str);
                        format!("no {label} for this connection")
                    }
                });
                Err((reason, false))
            }
        }
    }

    /// 0-RTT keys before the ServerHello names the suite: the secret's length and a trial decryption pick it.
    pub(super) fn early_keys(&self, record: &[u8], typ: u8, version: u16) -> Option<DirKeys> {
        let secret = self.secret(Label::ClientEarlyTrafficSecret)?;
        if let Some(suite) = self.suite {
            return DirKeys::tls13(suite, secret);
        }
        for id in crypto::TLS13_SUITES {
            let Some(suite) = CipherSuite::lookup(id) else { continue };
            if suite.prf_hash.output_len() != secret.len() {
                continue;
            }
            let Some(mut keys) = DirKeys::tls13(suite, secret.clone()) else { continue };
            let mut probe = record.to_vec();
            if keys.decrypt(typ, version, &mut probe).is_ok() {
                return DirKeys::tls13(suite, secret);
            }
        }
        None
    }

    /// TLS 1.2-and-older: derive both directions' keys once the master secret is known.
    /// TLS 1.2-and-older: derive both directions' keys once the master secret is known. On failure the reason
    /// is built only when asked for ([`Self::tls12_missing`]): this runs for every record while keys are absent.
    pub(super) fn tls12_keys(&mut self) -> Result<(), Option<String>> {
        let (Some(cr), Some(sr), Some(version), Some(suite)) =
            (self.client_random, self.server_random, self.version, self.suite)
        else {
            return Err(None);
        };
        let master: [u8; 48] = if let Some(ms) = self.secret(Label::ClientRandom) {
            ms.as_slice().try_into().map_err(|_| Some("CLIENT_RANDOM secret is not 48 bytes".to_string()))?
        } else if let Some(pre) = self.premaster.as_ref() {
            let transcript = if self.ems { self.transcript.as_deref() } else { None };
            crypto::master_from_premaster(suite, version, pre, &cr, &sr, transcript)
        } else if let Some(master) = self.cached_master() {
            master
        } else {
            return Err(None);
        };
        self.master = Some(master);
        self.remember_session(None);
        let (c, s) = crypto::tls12_pair(suite, version, &master, &cr, &sr, self.etm).map_err(Some)?;
        // A direction already under way keeps its keys (its sequence number has moved on).
        if self.dirs[0].protected && self.dirs[0].keys.is_none() {
            self.dirs[0].keys = Some(c);
        }
        if self.dirs[1].protected && self.dirs[1].keys.is_none() {
            self.dirs[1].keys = Some(s);
        }
        Ok(())
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
    pub(super) fn remember_session(&self, ticket: Option<&[u8]>) {
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
    fn tls12_missing(&self) -> String {
        let (Some(cr), Some(_), Some(_)) = (self.client_random, self.server_random, self.version) else {
            return "handshake not seen: no randoms to derive keys from".into();
        };
        match (self.suite, self.suite_id) {
            (None, Some(id)) => undecryptable_suite(id),
            (None, None) => "no cipher suite".into(),
            (Some(_), _) => format!("no CLIENT_RANDOM for {} in the key log", hex::encode(cr)),
        }
    }
}

/// How many records `lost` bytes can have held at most (a protected record is at least 22 bytes), capped.
fn max_lost_records(lost: u64) -> u64 {
    (lost / 22 + 1).min(4096)
}

/// Why a suite's records stay encrypted: named, so the user sees which cipher is missing.
fn undecryptable_suite(id: u16) -> String {
    match CipherSuite::lookup(id) {
        Some(suite) => format!("{} is not supported for decryption ({:?})", suite.name, suite.cipher),
        None => format!("unknown cipher suite 0x{id:04x}: cannot decrypt"),
    }
}
