//! One direction's record decryption: AEAD (AES-GCM, AES-CCM, AES-CCM_8, ChaCha20-Poly1305, ARIA-GCM; TLS 1.2 and
//! 1.3 nonce rules), CBC (AES, Camellia, ARIA, DES, 3DES, IDEA; implicit and explicit IV; MAC-then-encrypt and
//! encrypt-then-MAC) and NULL
//! suites, with HMAC or the SSL 3.0 MAC. Records are decrypted in place; nothing is allocated per record except
//! for SSL 3.0's MAC.

#[cfg(test)]
#[path = "decrypt_tests.rs"]
mod tests;

use std::ops::Range;

use aes::{Aes128, Aes256};
use aes_gcm::AesGcm;
use aria::{Aria128, Aria256};
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{DecryptingKey, DecryptionContext, UnboundCipherKey};
use aws_lc_rs::hmac;
use camellia::cipher::generic_array::GenericArray;
use camellia::cipher::{BlockDecrypt, BlockSizeUser, KeyInit};
use camellia::{Camellia128, Camellia256};
use ccm::aead::AeadInPlace;
use ccm::consts::{U12, U16, U8};
use ccm::Ccm;
use rc4::{Rc4, StreamCipher as _};

use super::mac::RecordMac;
use super::{BulkCipher, CipherKind, CipherSuite};
use crate::record::{ContentType, ProtocolVersion};
use crate::schedule::{self, DirectionKeys, HashAlg};

use ProtocolVersion::{SSLv3, TLSv1_0, TLSv1_3};

/// Why a decryptor could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The suite's cipher is one this tool does not implement (ARIA, SEED, IDEA, RC2, RC4, export, …).
    #[error("cannot decrypt {0}: cipher not supported")]
    Unsupported(&'static str),
    /// The suite cannot be used with the negotiated protocol version.
    #[error("{suite} cannot be used with protocol version {:#06x}", .version.value())]
    Version {
        /// The suite's name.
        suite: &'static str,
        /// The negotiated version.
        version: ProtocolVersion,
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
    pub content_type: ContentType,
    /// The plaintext bytes within the fragment passed to [`RecordDecryptor::decrypt`].
    pub range: Range<usize>,
}

/// Decrypts the records of one direction of one connection, in order.
pub struct RecordDecryptor {
    suite: &'static CipherSuite,
    version: ProtocolVersion,
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
    Rc4(Box<Rc4<U16>>),
    Cbc { cipher: BlockCipher, implicit_iv: Option<[u8; 16]> },
    Aead { cipher: AeadCipher, iv: [u8; 12], explicit_nonce: bool },
}

enum BlockCipher {
    Aes(Box<DecryptingKey>),
    Camellia128(Box<Camellia128>),
    Camellia256(Box<Camellia256>),
    Des(des::Des),
    TripleDes(Box<des::TdesEde3>),
    Idea(Box<idea::Idea>),
    Aria128(Box<Aria128>),
    Aria256(Box<Aria256>),
}

enum AeadCipher {
    AwsLc(LessSafeKey),
    Ccm128(Box<Ccm<Aes128, U16, U12>>),
    Ccm256(Box<Ccm<Aes256, U16, U12>>),
    Ccm128Short(Box<Ccm<Aes128, U8, U12>>),
    Ccm256Short(Box<Ccm<Aes256, U8, U12>>),
    AriaGcm128(Box<AesGcm<Aria128, U12>>),
    AriaGcm256(Box<AesGcm<Aria256, U12>>),
}

impl RecordDecryptor {
    /// A decryptor for a TLS 1.2-and-older direction (SSL 3.0 to TLS 1.2, DTLS 1.0 and 1.2), from the keys of
    /// that direction ([`schedule::tls12_keys`]).
    pub fn new(
        suite: &'static CipherSuite,
        version: ProtocolVersion,
        keys: &DirectionKeys,
    ) -> Result<Self, CryptoError> {
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
            Some(hash) if version == SSLv3 => RecordMac::Ssl3 { hash, secret: keys.mac_key.clone() },
            Some(HashAlg::Md5) => RecordMac::HmacMd5(Box::new(
                <::hmac::Hmac<md5::Md5> as ::hmac::Mac>::new_from_slice(&keys.mac_key)
                    .map_err(|_| CryptoError::KeyMaterial(suite.name))?,
            )),
            Some(hash) => match hash.hmac_algorithm() {
                Some(alg) => RecordMac::Hmac(Box::new(hmac::Key::new(alg, &keys.mac_key))),
                None => return Err(CryptoError::Unsupported(suite.name)),
            },
        };
        // DTLS protects records as its TLS counterpart does; only the sequence number differs (`decrypt_explicit`).
        let version = version.tls_counterpart();
        let protection = build_protection(suite, version, &keys.key, &keys.iv)?;
        Ok(Self { suite, version, seq: 0, protection, mac, encrypt_then_mac: false, traffic_secret: None })
    }

    /// A decryptor for a TLS 1.3 direction from its traffic secret (handshake, application or early data).
    pub fn tls13(suite: &'static CipherSuite, traffic_secret: &[u8]) -> Result<Self, CryptoError> {
        if !suite.is_tls13() {
            return Err(CryptoError::Version { suite: suite.name, version: TLSv1_3 });
        }
        if !suite.can_decrypt() {
            return Err(CryptoError::Unsupported(suite.name));
        }
        if traffic_secret.len() != suite.prf_hash.output_len() {
            return Err(CryptoError::KeyMaterial(suite.name));
        }
        let keys = schedule::tls13_traffic_keys(suite, traffic_secret);
        let protection = build_protection(suite, TLSv1_3, &keys.key, &keys.iv)?;
        Ok(Self {
            suite,
            version: TLSv1_3,
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
    /// 4.2.10). On failure the fragment may have been overwritten: try another key on a copy. (RC4's keystream
    /// cannot be rewound: an RC4 record that fails has still consumed it.)
    pub fn try_decrypt(
        &mut self,
        content_type: ContentType,
        version: ProtocolVersion,
        fragment: &mut [u8],
    ) -> Result<Plain, DecryptError> {
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

    /// Decrypts one DTLS record's fragment in place. `sequence` is what its header carries, `epoch << 48 |
    /// sequence_number`: it stands for TLS's implicit count in the MAC input and the AEAD nonce and additional
    /// data (RFC 6347 4.1.2.1), so records decrypt in any order and after losses.
    pub fn decrypt_explicit(
        &mut self,
        sequence: u64,
        content_type: ContentType,
        version: ProtocolVersion,
        fragment: &mut [u8],
    ) -> Result<Plain, DecryptError> {
        self.seq = sequence;
        self.decrypt(content_type, version, fragment)
    }

    /// Decrypts one record's fragment in place. `content_type` and `version` are the record header's. The
    /// sequence number advances whether or not the record authenticates.
    pub fn decrypt(
        &mut self,
        content_type: ContentType,
        version: ProtocolVersion,
        fragment: &mut [u8],
    ) -> Result<Plain, DecryptError> {
        let (content_type, version) = (content_type.value(), version.value());
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        match &mut self.protection {
            Protection::Null | Protection::Rc4(_) => {
                if let Protection::Rc4(rc4) = &mut self.protection {
                    // The keystream advances over every record, authentic or not, like the sequence number.
                    rc4.apply_keystream(fragment);
                }
                let mac_len = self.mac.len();
                let n = fragment.len().checked_sub(mac_len).ok_or(DecryptError::Length(fragment.len()))?;
                let (data, mac) = fragment.split_at(n);
                if !self.mac.verify(seq, content_type, version, &[data], mac) {
                    return Err(DecryptError::BadRecordMac);
                }
                Ok(Plain { content_type: ContentType::new(content_type), range: 0..n })
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
    version: ProtocolVersion,
    key: &[u8],
    iv: &[u8],
) -> Result<Protection, CryptoError> {
    let bad = || CryptoError::KeyMaterial(suite.name);
    Ok(match suite.cipher.kind() {
        CipherKind::Stream => match suite.cipher {
            BulkCipher::Null => Protection::Null,
            BulkCipher::Rc4_128 => Protection::Rc4(Box::new(Rc4::new_from_slice(key).map_err(|_| bad())?)),
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
                BulkCipher::IdeaCbc => BlockCipher::Idea(Box::new(idea::Idea::new_from_slice(key).map_err(|_| bad())?)),
                BulkCipher::Aria128Cbc => {
                    BlockCipher::Aria128(Box::new(Aria128::new_from_slice(key).map_err(|_| bad())?))
                }
                BulkCipher::Aria256Cbc => {
                    BlockCipher::Aria256(Box::new(Aria256::new_from_slice(key).map_err(|_| bad())?))
                }
                _ => return Err(CryptoError::Unsupported(suite.name)),
            };
            let implicit_iv = if matches!(version, SSLv3 | TLSv1_0) {
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
                BulkCipher::Aria128Gcm => {
                    AeadCipher::AriaGcm128(Box::new(AesGcm::new_from_slice(key).map_err(|_| bad())?))
                }
                BulkCipher::Aria256Gcm => {
                    AeadCipher::AriaGcm256(Box::new(AesGcm::new_from_slice(key).map_err(|_| bad())?))
                }
                BulkCipher::Aes128Ccm8 => {
                    AeadCipher::Ccm128Short(Box::new(Ccm::new_from_slice(key).map_err(|_| bad())?))
                }
                BulkCipher::Aes256Ccm8 => {
                    AeadCipher::Ccm256Short(Box::new(Ccm::new_from_slice(key).map_err(|_| bad())?))
                }
                _ => return Err(CryptoError::Unsupported(suite.name)),
            };
            // TLS 1.2 GCM/CCM: 4-byte salt + 8-byte explicit nonce; ChaCha20 and TLS 1.3: 12-byte IV xor seq.
            let explicit_nonce = version != TLSv1_3 && iv.len() == 4;
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
    protocol: ProtocolVersion,
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
    let aad: &[u8] = if protocol == TLSv1_3 {
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
        AeadCipher::AriaGcm128(c) => ccm_open(&**c, &nonce, aad, body, tag_len),
        AeadCipher::AriaGcm256(c) => ccm_open(&**c, &nonce, aad, body, tag_len),
    };
    if !ok {
        return Err(DecryptError::BadRecordMac);
    }
    let range = start..start + plain_len;
    if protocol != TLSv1_3 {
        return Ok(Plain { content_type: ContentType::new(content_type), range });
    }
    // TLS 1.3: strip zero padding; the last non-zero byte is the real content type.
    let plain = &fragment[range.clone()];
    let at = plain.iter().rposition(|&b| b != 0).ok_or(DecryptError::NoContentType)?;
    Ok(Plain { content_type: ContentType::new(plain[at]), range: start..start + at })
}

/// Opens an AEAD record with a RustCrypto cipher (CCM, and GCM over ARIA).
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
            BlockCipher::Des(_) | BlockCipher::TripleDes(_) | BlockCipher::Idea(_) => 8,
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
            BlockCipher::Idea(c) => cbc_in_place(&**c, iv, data),
            BlockCipher::Aria128(c) => cbc_in_place(&**c, iv, data),
            BlockCipher::Aria256(c) => cbc_in_place(&**c, iv, data),
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
    protocol: ProtocolVersion,
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
    let pad_ok = if protocol == SSLv3 {
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
    Ok(Plain { content_type: ContentType::new(content_type), range: iv_len..iv_len + plain_len })
}
