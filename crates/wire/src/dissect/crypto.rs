//! The dissector's side of decryption: which secret to ask for, and building
//! record decryptors from it (the primitives live in `schedule` and `cipher`).

use std::ops::Range;

use crate::cipher::{CipherSuite, RecordDecryptor};
use crate::schedule;

/// A record decryptor for one direction, with what it needs to roll forward.
pub(crate) struct DirKeys {
    pub(crate) decryptor: RecordDecryptor,
    pub(crate) suite: &'static CipherSuite,
    /// TLS 1.3: the traffic secret these keys came from (for KeyUpdate).
    pub(crate) secret: Vec<u8>,
}

/// Why a record could not be decrypted.
pub(crate) type DecryptFailure = String;

impl DirKeys {
    /// TLS 1.3 keys from a traffic secret.
    pub(crate) fn tls13(suite: &'static CipherSuite, secret: Vec<u8>) -> Option<Self> {
        let decryptor = RecordDecryptor::tls13(suite, &secret).ok()?;
        Some(Self { decryptor, suite, secret })
    }

    /// TLS 1.3 KeyUpdate: the next generation of application traffic keys.
    pub(crate) fn next_generation(&self) -> Option<Self> {
        let secret = schedule::tls13_next_secret(self.suite.prf_hash, &self.secret);
        Self::tls13(self.suite, secret)
    }

    /// Decrypts a record fragment in place: the inner content type and the plaintext range.
    pub(crate) fn decrypt(
        &mut self,
        content_type: u8,
        version: u16,
        fragment: &mut [u8],
    ) -> Result<(u8, Range<usize>), DecryptFailure> {
        match self.decryptor.decrypt(content_type, version, fragment) {
            Ok(plain) => Ok((plain.content_type, plain.range)),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl DirKeys {
    /// After bytes were lost from the capture: find the sequence number that authenticates this record, trying
    /// at most `max` numbers past the expected one. Each failed try consumes one sequence number (a failed
    /// `decrypt` advances it, as `RecordDecryptor` documents), so the search walks forward.
    pub(crate) fn resync(
        &mut self,
        content_type: u8,
        version: u16,
        fragment: &[u8],
        buf: &mut Vec<u8>,
        max: u64,
    ) -> Result<(u8, Range<usize>), DecryptFailure> {
        for _ in 0..=max {
            buf.clear();
            buf.extend_from_slice(fragment);
            if let Ok(plain) = self.decryptor.try_decrypt(content_type, version, buf) {
                return Ok((plain.content_type, plain.range));
            }
            let _ = self.decryptor.decrypt(content_type, version, &mut []);
        }
        Err(format!("no sequence number within {max} records of the expected one authenticates the record"))
    }
}

/// TLS 1.2-and-older keys for both directions from the master secret.
pub(crate) fn tls12_pair(
    suite: &'static CipherSuite,
    version: u16,
    master: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    encrypt_then_mac: bool,
) -> Result<(DirKeys, DirKeys), String> {
    let (c, s) = schedule::tls12_keys(suite, version, master, client_random, server_random);
    let client =
        RecordDecryptor::new(suite, version, &c).map_err(|e| e.to_string())?.with_encrypt_then_mac(encrypt_then_mac);
    let server =
        RecordDecryptor::new(suite, version, &s).map_err(|e| e.to_string())?.with_encrypt_then_mac(encrypt_then_mac);
    Ok((
        DirKeys { decryptor: client, suite, secret: Vec::new() },
        DirKeys { decryptor: server, suite, secret: Vec::new() },
    ))
}

/// The master secret computed from a premaster secret (RSA key exchange, PSK), with EMS when negotiated.
pub(crate) fn master_from_premaster(
    suite: &'static CipherSuite,
    version: u16,
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

/// The TLS 1.3 suites, for guessing the suite of 0-RTT data before the ServerHello names it.
pub(crate) const TLS13_SUITES: [u16; 5] = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305];
