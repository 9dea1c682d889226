//! One direction's record decryption: AEAD (AES-GCM, AES-CCM, AES-CCM_8, ChaCha20-Poly1305; TLS 1.2 and 1.3 nonce
//! rules), CBC (AES, Camellia, DES, 3DES; implicit and explicit IV; MAC-then-encrypt and encrypt-then-MAC) and NULL
//! suites, with HMAC or the SSL 3.0 MAC. Records are decrypted in place; nothing is allocated per record except
//! for SSL 3.0's MAC.

use std::ops::Range;

use ::hmac::Mac as _;
use aes::{Aes128, Aes256};
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{DecryptingKey, DecryptionContext, UnboundCipherKey};
use aws_lc_rs::{constant_time, hmac};
use camellia::cipher::generic_array::GenericArray;
use camellia::cipher::{BlockDecrypt, BlockSizeUser, KeyInit};
use camellia::{Camellia128, Camellia256};
use ccm::aead::AeadInPlace;
use ccm::consts::{U12, U16, U8};
use ccm::Ccm;

use super::{BulkCipher, CipherKind, CipherSuite};
use crate::schedule::{self, DirectionKeys, HashAlg, SSL3_0, TLS1_0, TLS1_3};

/// Why a decryptor could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The suite's cipher is one this tool does not implement (ARIA, SEED, IDEA, RC2, RC4, export, …).
    #[error("cannot decrypt {0}: cipher not supported")]
    Unsupported(&'static str),
    /// The suite cannot be used with the negotiated protocol version.
    #[error("{suite} cannot be used with protocol version {version:#06x}")]
    Version {
        /// The suite's name.
        suite: &'static str,
        /// The negotiated version.
        version: u16,
    },
    /// Keys of the wrong length for the suite.
    #[error("key material of the wrong length for {0}")]
    KeyMaterial(&'static str),
}

/// Why one record did not decrypt. The sequence number has still advanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The record is too short or not a whole number of cipher blocks.
    #[error("record length {0} is impossible for this cipher")]
    Length(usize),
    /// AEAD tag or MAC did not verify: wrong keys, or a corrupted/forged record (`bad_record_mac`).
    #[error("record failed authentication (bad_record_mac)")]
    BadRecordMac,
    /// CBC padding was malformed: wrong keys, or a corrupted record.
    #[error("CBC padding check failed")]
    BadPadding,
    /// A TLS 1.3 record whose plaintext is all zeros (no inner content type).
    #[error("TLS 1.3 record has no inner content type")]
    NoContentType,
}

/// A decrypted record: its (inner) content type and where the plaintext lies in the fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plain {
    /// The content type: the record's own, or for TLS 1.3 the inner type (padding removed).
    pub content_type: u8,
    /// The plaintext bytes within the fragment passed to [`RecordDecryptor::decrypt`].
    pub range: Range<usize>,
}

/// Decrypts the records of one direction of one connection, in order.
pub struct RecordDecryptor {
    suite: &'static CipherSuite,
    version: u16,
    seq: u64,
    protection: Protection,
    mac: RecordMac,
    encrypt_then_mac: bool,
    /// TLS 1.3: the current traffic secret, for KeyUpdate.
    traffic_secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for RecordDecryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordDecryptor")
            .field("suite", &self.suite.name)
            .field("version", &self.version)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

enum Protection {
    Null,
    Cbc { cipher: BlockCipher, implicit_iv: Option<[u8; 16]> },
    Aead { cipher: AeadCipher, iv: [u8; 12], explicit_nonce: bool },
}

enum BlockCipher {
    Aes(Box<DecryptingKey>),
    Camellia128(Box<Camellia128>),
    Camellia256(Box<Camellia256>),
    Des(des::Des),
    TripleDes(Box<des::TdesEde3>),
}

enum AeadCipher {
    AwsLc(LessSafeKey),
    Ccm128(Box<Ccm<Aes128, U16, U12>>),
    Ccm256(Box<Ccm<Aes256, U16, U12>>),
    Ccm128Short(Box<Ccm<Aes128, U8, U12>>),
    Ccm256Short(Box<Ccm<Aes256, U8, U12>>),
}

enum RecordMac {
    None,
    Hmac(Box<hmac::Key>),
    HmacMd5(Box<::hmac::Hmac<md5::Md5>>),
    Ssl3 { hash: HashAlg, secret: Vec<u8> },
}

impl RecordMac {
    fn len(&self) -> usize {
        match self {
            RecordMac::None => 0,
            RecordMac::Hmac(key) => key.algorithm().digest_algorithm().output_len(),
            RecordMac::HmacMd5(_) => 16,
            RecordMac::Ssl3 { hash, .. } => hash.output_len(),
        }
    }

    /// Writes the MAC of (seq, type, version, data) into `out` and returns its length.
    fn compute(&self, seq: u64, content_type: u8, version: u16, data: &[&[u8]], out: &mut [u8; 48]) -> usize {
        let len: usize = data.iter().map(|d| d.len()).sum();
        let mut header = [0u8; 13];
        header[..8].copy_from_slice(&seq.to_be_bytes());
        header[8] = content_type;
        header[9..11].copy_from_slice(&version.to_be_bytes());
        header[11..13].copy_from_slice(&(len as u16).to_be_bytes());
        match self {
            RecordMac::None => 0,
            RecordMac::Hmac(key) => {
                let mut ctx = hmac::Context::with_key(key);
                ctx.update(&header);
                data.iter().for_each(|d| ctx.update(d));
                let tag = ctx.sign();
                let tag = tag.as_ref();
                out[..tag.len()].copy_from_slice(tag);
                tag.len()
            }
            RecordMac::HmacMd5(keyed) => {
                let mut mac = (**keyed).clone();
                mac.update(&header);
                data.iter().for_each(|d| mac.update(d));
                out[..16].copy_from_slice(&mac.finalize().into_bytes());
                16
            }
            RecordMac::Ssl3 { hash, secret } => {
                // SSL 3.0 MAC: hash(secret + pad_2 + hash(secret + pad_1 + seq + type + length + data)).
                let pad_len = if *hash == HashAlg::Md5 { 48 } else { 40 };
                let short_header = [&header[..9], &header[11..13]].concat();
                let mut parts: Vec<&[u8]> = vec![secret, &[0x36; 48][..pad_len], &short_header];
                parts.extend_from_slice(data);
                let inner = hash.hash(&parts);
                let outer = hash.hash(&[secret, &[0x5c; 48][..pad_len], &inner]);
                out[..outer.len()].copy_from_slice(&outer);
                outer.len()
            }
        }
    }

    /// Constant-time comparison of the expected MAC with `received`.
    fn verify(&self, seq: u64, content_type: u8, version: u16, data: &[&[u8]], received: &[u8]) -> bool {
        let mut expected = [0u8; 48];
        let n = self.compute(seq, content_type, version, data, &mut expected);
        constant_time::verify_slices_are_equal(&expected[..n], received).is_ok()
    }
}

impl RecordDecryptor {
    /// A decryptor for a TLS 1.2-and-older direction (SSL 3.0 to TLS 1.2), from the keys of that direction
    /// ([`schedule::tls12_keys`]).
    pub fn new(suite: &'static CipherSuite, version: u16, keys: &DirectionKeys) -> Result<Self, CryptoError> {
        if suite.is_tls13() {
            // TLS 1.3 keys come from a traffic secret: see `tls13`.
            return Err(CryptoError::Version { suite: suite.name, version });
        }
        if !suite.can_decrypt() {
            return Err(CryptoError::Unsupported(suite.name));
        }
        if !suite.applies_to(version) {
            return Err(CryptoError::Version { suite: suite.name, version });
        }
        let mac_len = suite.mac.map_or(0, HashAlg::output_len);
        if keys.mac_key.len() != mac_len
            || keys.key.len() != suite.cipher.key_len()
            || keys.iv.len() != suite.cipher.implicit_iv_len(version)
        {
            return Err(CryptoError::KeyMaterial(suite.name));
        }
        let mac = match suite.mac {
            None => RecordMac::None,
            Some(hash) if version == SSL3_0 => RecordMac::Ssl3 { hash, secret: keys.mac_key.clone() },
            Some(HashAlg::Md5) => RecordMac::HmacMd5(Box::new(
                <::hmac::Hmac<md5::Md5> as ::hmac::Mac>::new_from_slice(&keys.mac_key)
                    .map_err(|_| CryptoError::KeyMaterial(suite.name))?,
            )),
            Some(hash) => match hash.hmac_algorithm() {
                Some(alg) => RecordMac::Hmac(Box::new(hmac::Key::new(alg, &keys.mac_key))),
                None => return Err(CryptoError::Unsupported(suite.name)),
            },
        };
        let protection = build_protection(suite, version, &keys.key, &keys.iv)?;
        Ok(Self { suite, version, seq: 0, protection, mac, encrypt_then_mac: false, traffic_secret: None })
    }

    /// A decryptor for a TLS 1.3 direction from its traffic secret (handshake, application or early data).
    pub fn tls13(suite: &'static CipherSuite, traffic_secret: &[u8]) -> Result<Self, CryptoError> {
        if !suite.is_tls13() {
            return Err(CryptoError::Version { suite: suite.name, version: TLS1_3 });
        }
        if !suite.can_decrypt() {
            return Err(CryptoError::Unsupported(suite.name));
        }
        if traffic_secret.len() != suite.prf_hash.output_len() {
            return Err(CryptoError::KeyMaterial(suite.name));
        }
        let keys = schedule::tls13_traffic_keys(suite, traffic_secret);
        let protection = build_protection(suite, TLS1_3, &keys.key, &keys.iv)?;
        Ok(Self {
            suite,
            version: TLS1_3,
            seq: 0,
            protection,
            mac: RecordMac::None,
            encrypt_then_mac: false,
            traffic_secret: Some(traffic_secret.to_vec()),
        })
    }

    /// Encrypt-then-MAC (RFC 7366), when both hellos carried the extension and the suite is CBC.
    pub fn with_encrypt_then_mac(mut self, on: bool) -> Self {
        self.encrypt_then_mac = on && matches!(self.protection, Protection::Cbc { .. });
        self
    }

    /// TLS 1.3: switch to a new traffic secret (sequence number back to 0).
    pub fn update_traffic_secret(&mut self, secret: &[u8]) -> Result<(), CryptoError> {
        *self = Self::tls13(self.suite, secret)?;
        Ok(())
    }

    /// TLS 1.3 KeyUpdate: derive the next traffic secret ("traffic upd") and switch to it. Returns false for a
    /// TLS 1.2-and-older decryptor, which has no KeyUpdate.
    pub fn key_update(&mut self) -> Result<bool, CryptoError> {
        let Some(secret) = &self.traffic_secret else { return Ok(false) };
        let next = schedule::tls13_next_secret(self.suite.prf_hash, secret);
        self.update_traffic_secret(&next)?;
        Ok(true)
    }

    /// The suite this decryptor was built for.
    pub fn suite(&self) -> &'static CipherSuite {
        self.suite
    }

    /// The sequence number of the next record.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// Trial decryption: like [`decrypt`](Self::decrypt), but a record that fails leaves the sequence number (and
    /// the chained CBC IV) as they were. This is how a TLS 1.3 server skips rejected 0-RTT records (RFC 8446
    /// 4.2.10). On failure the fragment may have been overwritten: try another key on a copy.
    pub fn try_decrypt(&mut self, content_type: u8, version: u16, fragment: &mut [u8]) -> Result<Plain, DecryptError> {
        let seq = self.seq;
        let chained = match &self.protection {
            Protection::Cbc { implicit_iv, .. } => *implicit_iv,
            _ => None,
        };
        let result = self.decrypt(content_type, version, fragment);
        if result.is_err() {
            self.seq = seq;
            if let Protection::Cbc { implicit_iv, .. } = &mut self.protection {
                *implicit_iv = chained;
            }
        }
        result
    }

    /// Decrypts one record's fragment in place. `content_type` and `version` are the record header's. The
    /// sequence number advances whether or not the record authenticates.
    pub fn decrypt(&mut self, content_type: u8, version: u16, fragment: &mut [u8]) -> Result<Plain, DecryptError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        match &mut self.protection {
            Protection::Null => {
                let mac_len = self.mac.len();
                let n = fragment.len().checked_sub(mac_len).ok_or(DecryptError::Length(fragment.len()))?;
                let (data, mac) = fragment.split_at(n);
                if !self.mac.verify(seq, content_type, version, &[data], mac) {
                    return Err(DecryptError::BadRecordMac);
                }
                Ok(Plain { content_type, range: 0..n })
            }
            Protection::Aead { cipher, iv, explicit_nonce } => {
                decrypt_aead(cipher, iv, *explicit_nonce, self.version, seq, content_type, version, fragment)
            }
            Protection::Cbc { cipher, implicit_iv } => {
                let etm = self.encrypt_then_mac;
                decrypt_cbc(cipher, implicit_iv, &self.mac, etm, self.version, seq, content_type, version, fragment)
            }
        }
    }
}

fn build_protection(
    suite: &'static CipherSuite,
    version: u16,
    key: &[u8],
    iv: &[u8],
) -> Result<Protection, CryptoError> {
    let bad = || CryptoError::KeyMaterial(suite.name);
    Ok(match suite.cipher.kind() {
        CipherKind::Stream => match suite.cipher {
            BulkCipher::Null => Protection::Null,
            _ => return Err(CryptoError::Unsupported(suite.name)),
        },
        CipherKind::Block => {
            let cipher = match suite.cipher {
                BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc => {
                    let alg = if key.len() == 16 { &aws_lc_rs::cipher::AES_128 } else { &aws_lc_rs::cipher::AES_256 };
                    let unbound = UnboundCipherKey::new(alg, key).map_err(|_| bad())?;
                    BlockCipher::Aes(Box::new(DecryptingKey::cbc(unbound).map_err(|_| bad())?))
                }
                BulkCipher::Camellia128Cbc => {
                    BlockCipher::Camellia128(Box::new(Camellia128::new_from_slice(key).map_err(|_| bad())?))
                }
                BulkCipher::Camellia256Cbc => {
                    BlockCipher::Camellia256(Box::new(Camellia256::new_from_slice(key).map_err(|_| bad())?))
                }
                BulkCipher::DesCbc => BlockCipher::Des(des::Des::new_from_slice(key).map_err(|_| bad())?),
                BulkCipher::TripleDesEdeCbc => {
                    BlockCipher::TripleDes(Box::new(des::TdesEde3::new_from_slice(key).map_err(|_| bad())?))
                }
                _ => return Err(CryptoError::Unsupported(suite.name)),
            };
            let implicit_iv = if version <= TLS1_0 {
                let mut block = [0u8; 16];
                block.get_mut(..iv.len()).ok_or_else(bad)?.copy_from_slice(iv);
                Some(block)
            } else {
                None
            };
            Protection::Cbc { cipher, implicit_iv }
        }
        CipherKind::Aead => {
            let aws = |alg: &'static aead::Algorithm| -> Result<AeadCipher, CryptoError> {
                Ok(AeadCipher::AwsLc(LessSafeKey::new(UnboundKey::new(alg, key).map_err(|_| bad())?)))
            };
            let cipher = match suite.cipher {
                BulkCipher::Aes128Gcm => aws(&aead::AES_128_GCM)?,
                BulkCipher::Aes256Gcm => aws(&aead::AES_256_GCM)?,
                BulkCipher::ChaCha20Poly1305 => aws(&aead::CHACHA20_POLY1305)?,
                BulkCipher::Aes128Ccm => AeadCipher::Ccm128(Box::new(Ccm::new_from_slice(key).map_err(|_| bad())?)),
                BulkCipher::Aes256Ccm => AeadCipher::Ccm256(Box::new(Ccm::new_from_slice(key).map_err(|_| bad())?)),
                BulkCipher::Aes128Ccm8 => {
                    AeadCipher::Ccm128Short(Box::new(Ccm::new_from_slice(key).map_err(|_| bad())?))
                }
                BulkCipher::Aes256Ccm8 => {
                    AeadCipher::Ccm256Short(Box::new(Ccm::new_from_slice(key).map_err(|_| bad())?))
                }
                _ => return Err(CryptoError::Unsupported(suite.name)),
            };
            // TLS 1.2 GCM/CCM: 4-byte salt + 8-byte explicit nonce; ChaCha20 and TLS 1.3: 12-byte IV xor seq.
            let explicit_nonce = version < TLS1_3 && iv.len() == 4;
            let mut full = [0u8; 12];
            full.get_mut(..iv.len()).ok_or_else(bad)?.copy_from_slice(iv);
            if !explicit_nonce && iv.len() != 12 {
                return Err(bad());
            }
            Protection::Aead { cipher, iv: full, explicit_nonce }
        }
    })
}

#[allow(clippy::too_many_arguments)] // One record's whole context; a struct would only rename it.
fn decrypt_aead(
    cipher: &AeadCipher,
    iv: &[u8; 12],
    explicit_nonce: bool,
    protocol: u16,
    seq: u64,
    content_type: u8,
    version: u16,
    fragment: &mut [u8],
) -> Result<Plain, DecryptError> {
    let tag_len = cipher.tag_len();
    let start = if explicit_nonce { 8 } else { 0 };
    let plain_len = fragment.len().checked_sub(start + tag_len).ok_or(DecryptError::Length(fragment.len()))?;
    let mut nonce = *iv;
    if explicit_nonce {
        nonce[4..].copy_from_slice(&fragment[..8]);
    } else {
        nonce[4..].iter_mut().zip(seq.to_be_bytes()).for_each(|(n, s)| *n ^= s);
    }
    let mut aad = [0u8; 13];
    let aad: &[u8] = if protocol >= TLS1_3 {
        aad[0] = content_type;
        aad[1..3].copy_from_slice(&version.to_be_bytes());
        aad[3..5].copy_from_slice(&(fragment.len() as u16).to_be_bytes());
        &aad[..5]
    } else {
        aad[..8].copy_from_slice(&seq.to_be_bytes());
        aad[8] = content_type;
        aad[9..11].copy_from_slice(&version.to_be_bytes());
        aad[11..13].copy_from_slice(&(plain_len as u16).to_be_bytes());
        &aad
    };
    let body = &mut fragment[start..];
    let ok = match cipher {
        AeadCipher::AwsLc(key) => key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body).is_ok(),
        AeadCipher::Ccm128(c) => ccm_open(&**c, &nonce, aad, body, tag_len),
        AeadCipher::Ccm256(c) => ccm_open(&**c, &nonce, aad, body, tag_len),
        AeadCipher::Ccm128Short(c) => ccm_open(&**c, &nonce, aad, body, tag_len),
        AeadCipher::Ccm256Short(c) => ccm_open(&**c, &nonce, aad, body, tag_len),
    };
    if !ok {
        return Err(DecryptError::BadRecordMac);
    }
    let range = start..start + plain_len;
    if protocol < TLS1_3 {
        return Ok(Plain { content_type, range });
    }
    // TLS 1.3: strip zero padding; the last non-zero byte is the real content type.
    let plain = &fragment[range.clone()];
    let at = plain.iter().rposition(|&b| b != 0).ok_or(DecryptError::NoContentType)?;
    Ok(Plain { content_type: plain[at], range: start..start + at })
}

fn ccm_open<C: AeadInPlace>(cipher: &C, nonce: &[u8; 12], aad: &[u8], body: &mut [u8], tag_len: usize) -> bool {
    let split = body.len() - tag_len;
    let (data, tag) = body.split_at_mut(split);
    cipher.decrypt_in_place_detached(GenericArray::from_slice(nonce), aad, data, GenericArray::from_slice(tag)).is_ok()
}

impl AeadCipher {
    fn tag_len(&self) -> usize {
        match self {
            AeadCipher::Ccm128Short(_) | AeadCipher::Ccm256Short(_) => 8,
            _ => 16,
        }
    }
}

impl BlockCipher {
    fn block_len(&self) -> usize {
        match self {
            BlockCipher::Des(_) | BlockCipher::TripleDes(_) => 8,
            _ => 16,
        }
    }

    /// CBC-decrypts `data` (a whole number of blocks) in place with `iv`.
    fn cbc_decrypt(&self, iv: &[u8], data: &mut [u8]) -> bool {
        match self {
            BlockCipher::Aes(key) => {
                let Ok(iv) = <[u8; 16]>::try_from(iv) else { return false };
                key.decrypt(data, DecryptionContext::Iv128(iv.into())).is_ok()
            }
            BlockCipher::Camellia128(c) => cbc_in_place(&**c, iv, data),
            BlockCipher::Camellia256(c) => cbc_in_place(&**c, iv, data),
            BlockCipher::Des(c) => cbc_in_place(c, iv, data),
            BlockCipher::TripleDes(c) => cbc_in_place(&**c, iv, data),
        }
    }
}

/// CBC over a RustCrypto block cipher: P_i = D(C_i) xor C_{i-1}.
fn cbc_in_place<C: BlockDecrypt + BlockSizeUser>(cipher: &C, iv: &[u8], data: &mut [u8]) -> bool {
    let bs = C::block_size();
    if iv.len() != bs || !data.len().is_multiple_of(bs) || bs > 16 {
        return false;
    }
    let mut previous = [0u8; 16];
    previous[..bs].copy_from_slice(iv);
    let mut current = [0u8; 16];
    for block in data.chunks_exact_mut(bs) {
        current[..bs].copy_from_slice(block);
        cipher.decrypt_block(GenericArray::from_mut_slice(block));
        block.iter_mut().zip(&previous[..bs]).for_each(|(b, p)| *b ^= p);
        previous[..bs].copy_from_slice(&current[..bs]);
    }
    true
}

#[allow(clippy::too_many_arguments)] // One record's whole context; a struct would only rename it.
fn decrypt_cbc(
    cipher: &BlockCipher,
    implicit_iv: &mut Option<[u8; 16]>,
    mac: &RecordMac,
    encrypt_then_mac: bool,
    protocol: u16,
    seq: u64,
    content_type: u8,
    version: u16,
    fragment: &mut [u8],
) -> Result<Plain, DecryptError> {
    let bs = cipher.block_len();
    let mac_len = mac.len();
    let total = fragment.len();
    let explicit = implicit_iv.is_none();
    let iv_len = if explicit { bs } else { 0 };
    let (body, tag) = if encrypt_then_mac {
        let split = total.checked_sub(mac_len).ok_or(DecryptError::Length(total))?;
        fragment.split_at_mut(split)
    } else {
        fragment.split_at_mut(total)
    };
    let cipher_len = body.len().checked_sub(iv_len).ok_or(DecryptError::Length(total))?;
    if cipher_len == 0 || !cipher_len.is_multiple_of(bs) {
        return Err(DecryptError::Length(total));
    }
    // SSL 3.0 / TLS 1.0: the next record's IV is this record's last ciphertext block, authentic or not.
    let mut iv = [0u8; 16];
    match implicit_iv {
        Some(chained) => {
            iv[..bs].copy_from_slice(&chained[..bs]);
            chained[..bs].copy_from_slice(&body[body.len() - bs..]);
        }
        None => iv[..bs].copy_from_slice(&body[..bs]),
    }
    if encrypt_then_mac && !mac.verify(seq, content_type, version, &[body], tag) {
        return Err(DecryptError::BadRecordMac);
    }
    let data = &mut body[iv_len..];
    if !cipher.cbc_decrypt(&iv[..bs], data) {
        return Err(DecryptError::Length(total));
    }
    let n = data.len();
    let pad = usize::from(data[n - 1]);
    let trailer = if encrypt_then_mac { pad + 1 } else { pad + 1 + mac_len };
    if trailer > n {
        return Err(DecryptError::BadPadding);
    }
    let pad_ok = if protocol == SSL3_0 {
        // SSL 3.0 padding bytes are arbitrary; only the length is bounded.
        pad < bs
    } else {
        // Every padding byte equals the length byte; look at 256 bytes whatever the length (constant shape).
        let mut diff = 0u8;
        for i in 0..256usize.min(n) {
            let in_padding = u8::from(i <= pad).wrapping_neg();
            diff |= (data[n - 1 - i] ^ pad as u8) & in_padding;
        }
        diff == 0
    };
    if !pad_ok {
        return Err(DecryptError::BadPadding);
    }
    let plain_len = n - trailer;
    if !encrypt_then_mac {
        let (plain, rest) = data.split_at(plain_len);
        if !mac.verify(seq, content_type, version, &[plain], &rest[..mac_len]) {
            return Err(DecryptError::BadRecordMac);
        }
    }
    Ok(Plain { content_type, range: iv_len..iv_len + plain_len })
}

/// Helpers for tests in this crate: where the shared captures are.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// `$TLSKIT_CAPTURES`, else `<repo>/../shared/captures`, else `/work/shared/captures`; None if none exists.
    pub(crate) fn captures_dir() -> Option<PathBuf> {
        let candidates = [
            std::env::var_os("TLSKIT_CAPTURES").map(PathBuf::from),
            Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"))),
            Some(PathBuf::from("/work/shared/captures")),
        ];
        candidates.into_iter().flatten().find(|p| p.join("expected.json").is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    /// RFC 8448 section 3 (Simple 1-RTT Handshake): the server's encrypted handshake record (EncryptedExtensions
    /// … Finished) decrypts under the server handshake traffic secret.
    #[test]
    fn rfc8448_server_handshake_record() {
        let suite = CipherSuite::lookup(0x1301).unwrap();
        let secret =
            unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38");
        let mut record = unhex(RFC8448_SERVER_HS_RECORD);
        let mut dec = RecordDecryptor::tls13(suite, &secret).unwrap();
        let plain = dec.decrypt(23, 0x0303, &mut record[5..]).unwrap();
        assert_eq!(plain.content_type, 22);
        let body = &record[5..][plain.range];
        assert_eq!(body.len(), 0x02a2 - 16 - 1);
        assert_eq!(&body[..4], &[0x08, 0x00, 0x00, 0x24], "EncryptedExtensions header");
        assert_eq!(&body[body.len() - 36..body.len() - 32], &[0x14, 0x00, 0x00, 0x20], "Finished header");
    }

    /// RFC 8448 section 3: the client's first application data record and the server's reply, under the
    /// application traffic secrets; then a record with a flipped bit fails and the sequence still advances.
    #[test]
    fn rfc8448_application_records_and_tamper() {
        let suite = CipherSuite::lookup(0x1301).unwrap();
        let client =
            unhex("9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5");
        let server =
            unhex("a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43");
        let mut c2s = unhex(RFC8448_CLIENT_APP_RECORD);
        let mut dec = RecordDecryptor::tls13(suite, &client).unwrap();
        let plain = dec.decrypt(23, 0x0303, &mut c2s[5..]).unwrap();
        assert_eq!(plain.content_type, 23);
        let expected: Vec<u8> = (0u8..50).collect();
        assert_eq!(&c2s[5..][plain.range], &expected[..]);

        let mut s2c = unhex(RFC8448_SERVER_APP_RECORD);
        let mut dec = RecordDecryptor::tls13(suite, &server).unwrap();
        // The server's application keys were already used once for the NewSessionTicket.
        dec.decrypt(23, 0x0303, &mut [0u8; 17]).unwrap_err();
        assert_eq!(dec.sequence(), 1);
        let plain = dec.decrypt(23, 0x0303, &mut s2c[5..]).unwrap();
        assert_eq!(&s2c[5..][plain.range], &expected[..]);

        let mut tampered = unhex(RFC8448_CLIENT_APP_RECORD);
        tampered[10] ^= 1;
        let mut dec = RecordDecryptor::tls13(suite, &client).unwrap();
        assert_eq!(dec.decrypt(23, 0x0303, &mut tampered[5..]), Err(DecryptError::BadRecordMac));
        assert_eq!(dec.sequence(), 1);
        assert!(dec.key_update().unwrap());
        assert_eq!(dec.sequence(), 0);
    }

    #[test]
    fn short_and_misaligned_records_are_errors_not_panics() {
        for id in [0x1301u16, 0x1304, 0x1305, 0x1303, 0xC02F, 0xC0A0, 0xCCA8, 0x002F, 0x0041, 0x000A, 0xC010] {
            let suite = CipherSuite::lookup(id).unwrap();
            let mut dec = if suite.is_tls13() {
                RecordDecryptor::tls13(suite, &vec![1u8; suite.prf_hash.output_len()]).unwrap()
            } else {
                for version in [0x0300u16, 0x0301, 0x0302, 0x0303] {
                    if !suite.applies_to(version) {
                        continue;
                    }
                    let (c, _) = schedule::tls12_keys(suite, version, &[3; 48], &[1; 32], &[2; 32]);
                    let mut dec = RecordDecryptor::new(suite, version, &c).unwrap();
                    for len in [0usize, 1, 7, 8, 15, 16, 17, 31, 32, 33, 48, 64, 300] {
                        let mut buf = vec![0xA5u8; len];
                        assert!(dec.decrypt(23, version, &mut buf).is_err(), "{} {version:#x} {len}", suite.name);
                    }
                }
                continue;
            };
            for len in [0usize, 1, 8, 15, 16, 17, 40] {
                let mut buf = vec![0x5Au8; len];
                assert!(dec.decrypt(23, 0x0303, &mut buf).is_err(), "{} {len}", suite.name);
            }
        }
        let aria = CipherSuite::lookup(0xC050).unwrap();
        let keys = DirectionKeys { mac_key: vec![], key: vec![0; 16], iv: vec![0; 4] };
        assert_eq!(RecordDecryptor::new(aria, 0x0303, &keys).unwrap_err(), CryptoError::Unsupported(aria.name));
    }

    const RFC8448_SERVER_HS_RECORD: &str = "
        17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a f3 5e df 78 69 fc
        f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca 07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29 ba 91 91 cd
        05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb
        35 5c 7c 79 02 07 16 cf b9 b1 18 3e f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c
        7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12 cb b3 60 98 72 55
        cc 74 41 10 c4 53 ba a4 fc d6 10 92 8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70
        a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8 94 41 ac 66 27 2f d8 fb 33 0e f8 19
        05 79 b3 68 45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f
        44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26 f5 9e ca ba
        9a cb bb 31 7b 66 d9 02 f4 f2 92 a3 6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1
        00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e 1b 7a 6c 71 78 af 36 87 90 18 e3 f2
        52 10 7f 24 3d 24 3d c7 33 9d 56 84 c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c
        f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c 74 11 6d bd
        29 72 fd a1 fa 80 f8 5d f8 81 ed be 5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6
        fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb 56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e
        2a c4 c8 59 77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38
        eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84 5e 27 55 92
        c1 23 35 ee 34 0b bc 4f dd d5 02 78 40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3
        79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e 75 0e dc 53 37 0d 2b";

    const RFC8448_CLIENT_APP_RECORD: &str = "
        17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f 2b 98 19 a8
        a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";

    const RFC8448_SERVER_APP_RECORD: &str = "
        17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b 36 e3 0e fa f9
        7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";
}
