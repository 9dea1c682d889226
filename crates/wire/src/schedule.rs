//! Key derivation: SSL 3.0 (MD5/SHA-1 construction), the TLS 1.0/1.1 PRF (P_MD5 xor P_SHA1), the TLS 1.2 PRF
//! (P_SHA256 / P_SHA384), master secret (standard and extended), key block; and the TLS 1.3 HKDF schedule
//! (HKDF-Expand-Label, traffic key + IV, KeyUpdate).
//!
//! aws-lc-rs does HMAC-SHA1/256/384 and SHA digests; MD5 (the legacy PRFs, SSL 3.0) comes from RustCrypto because
//! aws-lc-rs has none.

use ::hmac::Mac as _;
use aws_lc_rs::{digest, hmac};
use md5::Digest as _;

use crate::cipher::CipherSuite;
use crate::record::ProtocolVersion;

/// A hash function used by a PRF, a MAC or the TLS 1.3 key schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-384 (48 bytes).
    Sha384,
}

impl HashAlg {
    /// Output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            HashAlg::Md5 => 16,
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }

    /// The aws-lc-rs HMAC algorithm (None for MD5).
    pub(crate) fn hmac_algorithm(self) -> Option<hmac::Algorithm> {
        match self {
            HashAlg::Md5 => None,
            HashAlg::Sha1 => Some(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
            HashAlg::Sha256 => Some(hmac::HMAC_SHA256),
            HashAlg::Sha384 => Some(hmac::HMAC_SHA384),
        }
    }

    fn digest_algorithm(self) -> Option<&'static digest::Algorithm> {
        match self {
            HashAlg::Md5 => None,
            HashAlg::Sha1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
            HashAlg::Sha256 => Some(&digest::SHA256),
            HashAlg::Sha384 => Some(&digest::SHA384),
        }
    }

    /// Hash of the concatenation of `parts`.
    pub fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        match self.digest_algorithm() {
            Some(alg) => {
                let mut ctx = digest::Context::new(alg);
                parts.iter().for_each(|p| ctx.update(p));
                ctx.finish().as_ref().to_vec()
            }
            None => {
                let mut ctx = md5::Md5::new();
                parts.iter().for_each(|p| ctx.update(p));
                ctx.finalize().to_vec()
            }
        }
    }

    /// HMAC of the concatenation of `parts` under `key`.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self.hmac_algorithm() {
            Some(alg) => {
                let mut ctx = hmac::Context::with_key(&hmac::Key::new(alg, key));
                parts.iter().for_each(|p| ctx.update(p));
                ctx.sign().as_ref().to_vec()
            }
            None => {
                // HMAC accepts keys of any length, so this cannot fail.
                let mut mac = <::hmac::Hmac<md5::Md5> as ::hmac::Mac>::new_from_slice(key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
                parts.iter().for_each(|p| mac.update(p));
                mac.finalize().into_bytes().to_vec()
            }
        }
    }
}

/// Which pseudo-random function a connection uses to turn secrets into keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prf {
    /// SSL 3.0's MD5(secret + SHA1("A" + secret + seed)) construction.
    Ssl3,
    /// TLS 1.0 and 1.1: P_MD5 xor P_SHA1 over the two halves of the secret.
    Md5Sha1,
    /// TLS 1.2: P_hash with the suite's PRF hash.
    Tls12(HashAlg),
}

impl Prf {
    /// The PRF for a protocol version and (for TLS 1.2) the suite's PRF hash; a DTLS version has its TLS
    /// counterpart's ([`ProtocolVersion::tls_counterpart`]).
    pub fn for_version(version: ProtocolVersion, suite_prf_hash: HashAlg) -> Prf {
        match version.tls_counterpart() {
            ProtocolVersion::SSLv3 => Prf::Ssl3,
            ProtocolVersion::TLSv1_0 | ProtocolVersion::TLSv1_1 => Prf::Md5Sha1,
            _ => Prf::Tls12(suite_prf_hash),
        }
    }

    /// PRF(secret, label, seed) filling `out`. SSL 3.0 has no label: the seed alone is used.
    pub fn derive(self, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
        match self {
            Prf::Ssl3 => ssl3_expand(secret, seed, out),
            Prf::Md5Sha1 => {
                // RFC 2246 5: the halves share the middle byte when the secret length is odd.
                let half = secret.len().div_ceil(2);
                let s1 = &secret[..half];
                let s2 = &secret[secret.len() - half..];
                p_hash(HashAlg::Md5, s1, &[label, seed], out);
                let mut sha = vec![0u8; out.len()];
                p_hash(HashAlg::Sha1, s2, &[label, seed], &mut sha);
                out.iter_mut().zip(sha).for_each(|(o, s)| *o ^= s);
            }
            Prf::Tls12(hash) => p_hash(hash, secret, &[label, seed], out),
        }
    }

    /// The hash that the extended master secret's session hash uses (RFC 7627 4): for TLS 1.0/1.1 the
    /// MD5 || SHA-1 concatenation, see [`session_hash`].
    pub fn session_hash_algs(self) -> &'static [HashAlg] {
        match self {
            Prf::Ssl3 | Prf::Md5Sha1 => &[HashAlg::Md5, HashAlg::Sha1],
            Prf::Tls12(HashAlg::Sha384) => &[HashAlg::Sha384],
            Prf::Tls12(HashAlg::Sha1) => &[HashAlg::Sha1],
            Prf::Tls12(HashAlg::Md5) => &[HashAlg::Md5],
            Prf::Tls12(HashAlg::Sha256) => &[HashAlg::Sha256],
        }
    }
}

/// P_hash(secret, seed) of RFC 5246 5, `seed` given as parts to concatenate.
fn p_hash(hash: HashAlg, secret: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    // A(1) = HMAC(secret, seed); A(i) = HMAC(secret, A(i-1)); output = HMAC(secret, A(i) + seed) ...
    let mut a = hash.hmac(secret, seed);
    let mut filled = 0;
    while filled < out.len() {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 1);
        parts.push(&a);
        parts.extend_from_slice(seed);
        let block = hash.hmac(secret, &parts);
        let take = block.len().min(out.len() - filled);
        out[filled..filled + take].copy_from_slice(&block[..take]);
        filled += take;
        a = hash.hmac(secret, &[&a]);
    }
}

/// SSL 3.0: MD5(secret + SHA1("A" + secret + seed)) + MD5(secret + SHA1("BB" + secret + seed)) + …
fn ssl3_expand(secret: &[u8], seed: &[u8], out: &mut [u8]) {
    let mut filled = 0;
    let mut round = 0u8;
    while filled < out.len() {
        round += 1;
        let salt = vec![b'A' + round - 1; usize::from(round)];
        let inner = HashAlg::Sha1.hash(&[&salt, secret, seed]);
        let block = HashAlg::Md5.hash(&[secret, &inner]);
        let take = block.len().min(out.len() - filled);
        out[filled..filled + take].copy_from_slice(&block[..take]);
        filled += take;
    }
}

/// The 48-byte master secret from the premaster secret and the two hello randoms.
pub fn master_secret(prf: Prf, premaster: &[u8], client_random: &[u8; 32], server_random: &[u8; 32]) -> [u8; 48] {
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(client_random);
    seed[32..].copy_from_slice(server_random);
    let mut out = [0u8; 48];
    prf.derive(premaster, b"master secret", &seed, &mut out);
    out
}

/// The extended master secret (RFC 7627): PRF(premaster, "extended master secret", session_hash).
pub fn extended_master_secret(prf: Prf, premaster: &[u8], session_hash: &[u8]) -> [u8; 48] {
    let mut out = [0u8; 48];
    prf.derive(premaster, b"extended master secret", session_hash, &mut out);
    out
}

/// The session hash of RFC 7627 over the handshake messages up to and including ClientKeyExchange.
pub fn session_hash(prf: Prf, handshake_messages: &[u8]) -> Vec<u8> {
    prf.session_hash_algs().iter().flat_map(|h| h.hash(&[handshake_messages])).collect()
}

/// The premaster secret of a plain-PSK suite (RFC 4279 2): N zero bytes and the N-byte PSK, each length-prefixed.
pub fn psk_premaster(psk: &[u8]) -> Vec<u8> {
    let len = (psk.len() as u16).to_be_bytes();
    let mut out = Vec::with_capacity(4 + 2 * psk.len());
    out.extend_from_slice(&len);
    out.resize(2 + psk.len(), 0);
    out.extend_from_slice(&len);
    out.extend_from_slice(psk);
    out
}

/// `len` bytes of key block: PRF(master, "key expansion", server_random + client_random).
pub fn key_block(
    prf: Prf,
    master: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    len: usize,
) -> Vec<u8> {
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(server_random);
    seed[32..].copy_from_slice(client_random);
    let mut out = vec![0u8; len];
    prf.derive(master, b"key expansion", &seed, &mut out);
    out
}

/// The keys that protect one direction of a connection.
#[derive(Clone, PartialEq, Eq)]
pub struct DirectionKeys {
    /// MAC key (empty for AEAD suites).
    pub mac_key: Vec<u8>,
    /// Cipher key (empty for NULL ciphers).
    pub key: Vec<u8>,
    /// Implicit IV: the CBC IV of SSL 3.0/TLS 1.0, the AEAD salt (GCM/CCM: 4 bytes) or full nonce base
    /// (ChaCha20-Poly1305, TLS 1.3: 12 bytes); empty when the record carries its own IV.
    pub iv: Vec<u8>,
}

impl std::fmt::Debug for DirectionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are secrets: show only their sizes.
        f.debug_struct("DirectionKeys")
            .field("mac_key_len", &self.mac_key.len())
            .field("key_len", &self.key.len())
            .field("iv_len", &self.iv.len())
            .finish()
    }
}

/// Splits the key block of a TLS 1.2-and-older connection into (client write, server write) keys.
pub fn tls12_keys(
    suite: &CipherSuite,
    version: ProtocolVersion,
    master: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> (DirectionKeys, DirectionKeys) {
    let prf = Prf::for_version(version, suite.prf_hash);
    let mac_len = suite.mac.map_or(0, HashAlg::output_len);
    let key_len = suite.cipher.key_len();
    let iv_len = suite.cipher.implicit_iv_len(version);
    let block = key_block(prf, master, client_random, server_random, 2 * (mac_len + key_len + iv_len));
    let mut at = 0;
    let mut take = |n: usize| {
        let part = block[at..at + n].to_vec();
        at += n;
        part
    };
    let (cm, sm) = (take(mac_len), take(mac_len));
    let (ck, sk) = (take(key_len), take(key_len));
    let (ci, si) = (take(iv_len), take(iv_len));
    (DirectionKeys { mac_key: cm, key: ck, iv: ci }, DirectionKeys { mac_key: sm, key: sk, iv: si })
}

/// HKDF-Expand-Label(secret, label, context, len) of RFC 8446 7.1 (the "tls13 " prefix is added here).
pub fn hkdf_expand_label(hash: HashAlg, secret: &[u8], label: &[u8], context: &[u8], len: usize) -> Vec<u8> {
    let mut info = Vec::with_capacity(4 + 6 + label.len() + context.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    hkdf_expand(hash, secret, &info, len)
}

/// HKDF-Expand (RFC 5869 2.3): T(i) = HMAC(PRK, T(i-1) | info | i).
fn hkdf_expand(hash: HashAlg, prk: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut previous: Vec<u8> = Vec::new();
    let mut counter = 1u8;
    while out.len() < len {
        previous = hash.hmac(prk, &[&previous, info, &[counter]]);
        let take = previous.len().min(len - out.len());
        out.extend_from_slice(&previous[..take]);
        counter = counter.wrapping_add(1);
    }
    out
}

/// TLS 1.3 traffic key and IV (RFC 8446 7.3) from a traffic secret.
pub fn tls13_traffic_keys(suite: &CipherSuite, secret: &[u8]) -> DirectionKeys {
    DirectionKeys {
        mac_key: Vec::new(),
        key: hkdf_expand_label(suite.prf_hash, secret, b"key", b"", suite.cipher.key_len()),
        iv: hkdf_expand_label(suite.prf_hash, secret, b"iv", b"", 12),
    }
}

/// The next application traffic secret after a KeyUpdate (RFC 8446 7.2): HKDF-Expand-Label(s, "traffic upd").
pub fn tls13_next_secret(hash: HashAlg, secret: &[u8]) -> Vec<u8> {
    hkdf_expand_label(hash, secret, b"traffic upd", b"", hash.output_len())
}

/// The TLS 1.3 Finished key for a handshake traffic secret (RFC 8446 4.4.4), for checking Finished messages.
pub fn tls13_finished_key(hash: HashAlg, secret: &[u8]) -> Vec<u8> {
    hkdf_expand_label(hash, secret, b"finished", b"", hash.output_len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    /// The TLS 1.2 PRF (SHA-256) vector published with the IETF TLS WG mailing list test vectors.
    #[test]
    fn tls12_prf_sha256_vector() {
        let secret = unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let mut out = [0u8; 100];
        Prf::Tls12(HashAlg::Sha256).derive(&secret, b"test label", &seed, &mut out);
        assert_eq!(
            out.to_vec(),
            unhex(
                "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
                 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
                 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
                 87 34 7b 66"
            )
        );
    }

    /// The TLS 1.2 PRF with SHA-384 from the same set of vectors.
    #[test]
    fn tls12_prf_sha384_vector() {
        let secret = unhex("b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df");
        let seed = unhex("cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65");
        let mut out = [0u8; 148];
        Prf::Tls12(HashAlg::Sha384).derive(&secret, b"test label", &seed, &mut out);
        assert_eq!(
            out[..32].to_vec(),
            unhex("7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a 1c 14 df fb 49 00 bb 5f d7 94 21 07 e8 1c 83 cd")
        );
    }

    /// RFC 8448 section 3: the server handshake traffic secret gives the server handshake key and IV.
    #[test]
    fn rfc8448_handshake_key_and_iv() {
        let suite = CipherSuite::lookup(crate::cipher::CipherSuiteId::new(0x1301)).unwrap();
        let secret =
            unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38");
        let keys = tls13_traffic_keys(suite, &secret);
        assert_eq!(keys.key, unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"));
        assert_eq!(keys.iv, unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    }

    #[test]
    fn md5_sha1_prf_splits_an_odd_secret_with_a_shared_byte() {
        // PRF over a 3-byte secret must use secret[0..2] for MD5 and secret[1..3] for SHA-1.
        let secret = [1u8, 2, 3];
        let mut out = [0u8; 40];
        Prf::Md5Sha1.derive(&secret, b"l", b"s", &mut out);
        let mut md5 = [0u8; 40];
        p_hash(HashAlg::Md5, &secret[..2], &[b"l", b"s"], &mut md5);
        let mut sha = [0u8; 40];
        p_hash(HashAlg::Sha1, &secret[1..], &[b"l", b"s"], &mut sha);
        let xored: Vec<u8> = md5.iter().zip(sha).map(|(a, b)| a ^ b).collect();
        assert_eq!(out.to_vec(), xored);
    }

    #[test]
    fn key_update_is_hkdf_expand_label_traffic_upd() {
        let secret = [7u8; 32];
        let next = tls13_next_secret(HashAlg::Sha256, &secret);
        assert_eq!(next.len(), 32);
        assert_eq!(next, hkdf_expand_label(HashAlg::Sha256, &secret, b"traffic upd", b"", 32));
        assert_ne!(next, tls13_next_secret(HashAlg::Sha256, &next));
    }
}
