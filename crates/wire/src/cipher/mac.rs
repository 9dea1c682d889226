//! The record MACs of stream and CBC suites: HMAC (aws-lc-rs; RustCrypto for HMAC-MD5) and SSL 3.0's own
//! construction, over TLS's MAC input (sequence number, type, version, length, data).

use ::hmac::Mac as _;
use aws_lc_rs::{constant_time, hmac};

use crate::schedule::HashAlg;

/// How the records of one direction are authenticated (AEAD suites: `None`, the tag is the cipher's).
pub(super) enum RecordMac {
    None,
    Hmac(Box<hmac::Key>),
    HmacMd5(Box<::hmac::Hmac<md5::Md5>>),
    Ssl3 { hash: HashAlg, secret: Vec<u8> },
}

impl RecordMac {
    pub(super) fn len(&self) -> usize {
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
    pub(super) fn verify(&self, seq: u64, content_type: u8, version: u16, data: &[&[u8]], received: &[u8]) -> bool {
        let mut expected = [0u8; 48];
        let n = self.compute(seq, content_type, version, data, &mut expected);
        constant_time::verify_slices_are_equal(&expected[..n], received).is_ok()
    }
}
