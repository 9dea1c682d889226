//! TLS 1.3 keys: each direction's stage (early data, handshake, application), the traffic secret it needs, and
//! decryption that follows a stage change it could not read.

use super::{max_lost_records, undecryptable_suite, Decrypted, DirKeys, Failure, Keying, Stage};
use crate::cipher::CipherSuite;
use crate::dissect::{Direction, UndecryptedReason};
use crate::keys::Label;
use crate::record::RecordHeader;

impl Keying {
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

    /// The key log label of a direction's TLS 1.3 stage.
    fn stage_label(dir: Direction, stage: Stage) -> Option<Label> {
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
    fn tls13_keys(&self, dir: Direction, stage: Stage) -> Option<DirKeys> {
        let secret = self.secret(Self::stage_label(dir, stage)?)?;
        DirKeys::tls13(self.suite?, secret)
    }

    /// TLS 1.3: try the current stage's keys, then the next stage's (a Finished or EndOfEarlyData we
    /// could not read would otherwise leave us on stale keys).
    pub(super) fn decrypt_tls13(
        &mut self,
        dir: Direction,
        header: RecordHeader,
        fragment: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<Decrypted, Failure> {
        let i = dir.index();
        let Some(stage) = self.dirs[i].stage else {
            return Err(Some(UndecryptedReason::BeforeHandshakeKeys));
        };
        if self.dirs[i].keys.is_none() {
            self.dirs[i].keys =
                if stage == Stage::Early { self.early_keys(header, fragment) } else { self.tls13_keys(dir, stage) };
        }
        let mut failure = None;
        let lost = std::mem::take(&mut self.dirs[i].lost);
        if let Some(keys) = self.dirs[i].keys.as_mut() {
            buf.clear();
            buf.extend_from_slice(fragment);
            let result = if lost > 0 {
                keys.resync(header, fragment, buf, max_lost_records(lost))
            } else {
                keys.decrypt(header, None, buf)
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
                if let Ok(ok) = keys.decrypt(header, None, buf) {
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
            Some(e) => Err(Some(e)),
            None => {
                let first = !self.dirs[i].reported_missing;
                self.dirs[i].reported_missing = true;
                Err(first.then(|| match self.suite_id {
                    Some(id) if self.suite.is_none() => undecryptable_suite(id),
                    _ => UndecryptedReason::NoTrafficSecret(Self::stage_label(dir, stage)),
                }))
            }
        }
    }

    /// 0-RTT keys before the ServerHello names the suite: the secret's length and a trial decryption pick it.
    fn early_keys(&self, header: RecordHeader, fragment: &[u8]) -> Option<DirKeys> {
        let secret = self.secret(Label::ClientEarlyTrafficSecret)?;
        if let Some(suite) = self.suite {
            return DirKeys::tls13(suite, secret);
        }
        for suite in CipherSuite::all().iter().filter(|s| s.is_tls13()) {
            if suite.prf_hash.output_len() != secret.len() {
                continue;
            }
            let Some(mut keys) = DirKeys::tls13(suite, secret.clone()) else { continue };
            let mut probe = fragment.to_vec();
            if keys.decrypt(header, None, &mut probe).is_ok() {
                return DirKeys::tls13(suite, secret);
            }
        }
        None
    }
}
