//! Keying material: the NSS key log (`SSLKEYLOGFILE`, `-l/--keylog`, pcapng Decryption Secrets Blocks) and RSA
//! private keys for static-RSA key exchange (`-k/--key`).
//!
//! The key log is read once into an index keyed by (label, client random); the dissector asks it lazily through
//! [`SecretSource`], so a live source (rustls's key-log callback) can fill in secrets while a connection runs.

use std::collections::HashMap;
use std::fmt;

use aws_lc_rs::rsa::{Pkcs1PrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine as _;

/// The secrets an NSS key log line can carry, by their label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// `CLIENT_RANDOM`: the TLS 1.2-and-older master secret (48 bytes).
    ClientRandom,
    /// `CLIENT_EARLY_TRAFFIC_SECRET` (also the old `EARLY_TRAFFIC_SECRET`): TLS 1.3 0-RTT data.
    ClientEarlyTrafficSecret,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    ClientHandshakeTrafficSecret,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    ServerHandshakeTrafficSecret,
    /// `CLIENT_TRAFFIC_SECRET_0`: the first client application traffic secret.
    ClientTrafficSecret0,
    /// `SERVER_TRAFFIC_SECRET_0`: the first server application traffic secret.
    ServerTrafficSecret0,
    /// `EARLY_EXPORTER_SECRET`.
    EarlyExporterSecret,
    /// `EXPORTER_SECRET`.
    ExporterSecret,
}

impl Label {
    /// Every label, in key-schedule order.
    pub const ALL: [Label; 8] = [
        Label::ClientRandom,
        Label::ClientEarlyTrafficSecret,
        Label::ClientHandshakeTrafficSecret,
        Label::ServerHandshakeTrafficSecret,
        Label::ClientTrafficSecret0,
        Label::ServerTrafficSecret0,
        Label::EarlyExporterSecret,
        Label::ExporterSecret,
    ];

    /// The label as it is spelled in a key log file.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::ClientRandom => "CLIENT_RANDOM",
            Label::ClientEarlyTrafficSecret => "CLIENT_EARLY_TRAFFIC_SECRET",
            Label::ClientHandshakeTrafficSecret => "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            Label::ServerHandshakeTrafficSecret => "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            Label::ClientTrafficSecret0 => "CLIENT_TRAFFIC_SECRET_0",
            Label::ServerTrafficSecret0 => "SERVER_TRAFFIC_SECRET_0",
            Label::EarlyExporterSecret => "EARLY_EXPORTER_SECRET",
            Label::ExporterSecret => "EXPORTER_SECRET",
        }
    }

    /// Parses a key log label (exact spelling; `EARLY_TRAFFIC_SECRET` is the pre-RFC name of the early secret).
    pub fn from_name(name: &str) -> Option<Label> {
        Some(match name {
            "CLIENT_RANDOM" => Label::ClientRandom,
            "CLIENT_EARLY_TRAFFIC_SECRET" | "EARLY_TRAFFIC_SECRET" => Label::ClientEarlyTrafficSecret,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshakeTrafficSecret,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshakeTrafficSecret,
            "CLIENT_TRAFFIC_SECRET_0" => Label::ClientTrafficSecret0,
            "SERVER_TRAFFIC_SECRET_0" => Label::ServerTrafficSecret0,
            "EARLY_EXPORTER_SECRET" => Label::EarlyExporterSecret,
            "EXPORTER_SECRET" => Label::ExporterSecret,
            _ => return None,
        })
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the dissector gets secrets from: a key log file, or a live key-log callback.
///
/// Object safe, and `Send + Sync` so one source can serve connections on many threads; the dissector holds an
/// `Arc<dyn SecretSource + Send + Sync>` and asks again later when a secret is not there yet.
pub trait SecretSource: Send + Sync {
    /// The secret logged under `label` for the connection whose ClientHello carried `client_random`.
    fn secret(&self, label: Label, client_random: &[u8; 32]) -> Option<Vec<u8>>;

    /// The TLS 1.2-and-older master secret logged for a session ID (the old `RSA Session-ID:<hex>
    /// Master-Key:<hex>` line of early NSS and of Wireshark's own export).
    fn master_by_session_id(&self, _session_id: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// Why one key log line was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    /// The line does not have the three fields `LABEL <client random hex> <secret hex>`.
    #[error("expected three fields: LABEL CLIENT_RANDOM SECRET")]
    Fields,
    /// A label this tool does not know, or one it cannot use (`RSA`, `PMS_CLIENT_RANDOM`).
    #[error("unsupported label {0:?}")]
    UnknownLabel(String),
    /// The client random is not 64 hex digits.
    #[error("client random is not 32 bytes of hex")]
    ClientRandom,
    /// The secret is not hex, or has the wrong length for its label.
    #[error("secret is not valid hex of a usable length")]
    Secret,
}

/// One key log line that was not used, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key log line {line}: {kind}")]
pub struct ParseProblem {
    /// 1-based line number in the text given to [`KeyLog::parse`].
    pub line: usize,
    /// What was wrong with it.
    pub kind: ProblemKind,
}

/// An NSS key log, indexed by (label, client random).
#[derive(Debug, Clone, Default)]
pub struct KeyLog {
    index: HashMap<(Label, [u8; 32]), Vec<u8>>,
    /// Master secrets by session ID (`RSA Session-ID:… Master-Key:…` lines).
    by_session_id: HashMap<Vec<u8>, Vec<u8>>,
}

/// The pcapng Decryption Secrets Block type for a TLS key log ("TLSK").
pub const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;

impl KeyLog {
    /// An empty key log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses key log text. Comments (`#`) and blank lines are skipped; bad lines are skipped and reported.
    /// When a (label, client random) pair appears twice, the later line wins, as in NSS and Wireshark.
    pub fn parse(text: &str) -> (KeyLog, Vec<ParseProblem>) {
        let mut log = KeyLog::new();
        let mut problems = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(parsed) = parse_session_id_line(line) {
                match parsed {
                    Ok((id, master)) => {
                        log.by_session_id.insert(id, master);
                    }
                    Err(kind) => problems.push(ParseProblem { line: i + 1, kind }),
                }
                continue;
            }
            match parse_line(line) {
                Ok((label, random, secret)) => {
                    log.index.insert((label, random), secret);
                }
                Err(kind) => problems.push(ParseProblem { line: i + 1, kind }),
            }
        }
        (log, problems)
    }

    /// Parses key log bytes that may not be UTF-8 (a file, a pcapng Decryption Secrets Block); invalid bytes
    /// only spoil the lines they are on.
    pub fn parse_bytes(bytes: &[u8]) -> (KeyLog, Vec<ParseProblem>) {
        Self::parse(&String::from_utf8_lossy(bytes))
    }

    /// Parses the body of a pcapng Decryption Secrets Block; `None` when its secrets type is not a TLS key log.
    pub fn from_dsb(secrets_type: u32, data: &[u8]) -> Option<(KeyLog, Vec<ParseProblem>)> {
        (secrets_type == DSB_TLS_KEY_LOG).then(|| Self::parse_bytes(data))
    }

    /// Adds every secret of `other`; on a clash `other`'s secret wins (it was read later).
    pub fn merge(&mut self, other: KeyLog) {
        self.index.extend(other.index);
        self.by_session_id.extend(other.by_session_id);
    }

    /// Adds one secret (a live key-log callback uses this).
    pub fn insert(&mut self, label: Label, client_random: [u8; 32], secret: Vec<u8>) {
        self.index.insert((label, client_random), secret);
    }

    /// The secret for (label, client random), borrowed.
    pub fn get(&self, label: Label, client_random: &[u8; 32]) -> Option<&[u8]> {
        self.index.get(&(label, *client_random)).map(Vec::as_slice)
    }

    /// Number of secrets held.
    pub fn len(&self) -> usize {
        self.index.len() + self.by_session_id.len()
    }

    /// Whether no secret is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SecretSource for KeyLog {
    fn secret(&self, label: Label, client_random: &[u8; 32]) -> Option<Vec<u8>> {
        self.get(label, client_random).map(<[u8]>::to_vec)
    }

    fn master_by_session_id(&self, session_id: &[u8]) -> Option<Vec<u8>> {
        self.by_session_id.get(session_id).cloned()
    }
}

impl<T: SecretSource + ?Sized> SecretSource for std::sync::RwLock<T> {
    fn secret(&self, label: Label, client_random: &[u8; 32]) -> Option<Vec<u8>> {
        // A poisoned lock still holds usable secrets: a writer panicking mid-insert leaves the map consistent.
        let guard = self.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.secret(label, client_random)
    }

    fn master_by_session_id(&self, session_id: &[u8]) -> Option<Vec<u8>> {
        self.read().unwrap_or_else(std::sync::PoisonError::into_inner).master_by_session_id(session_id)
    }
}

impl<T: SecretSource + ?Sized> SecretSource for std::sync::Arc<T> {
    fn secret(&self, label: Label, client_random: &[u8; 32]) -> Option<Vec<u8>> {
        (**self).secret(label, client_random)
    }

    fn master_by_session_id(&self, session_id: &[u8]) -> Option<Vec<u8>> {
        (**self).master_by_session_id(session_id)
    }
}

/// A session ID and its master secret.
type SessionMaster = (Vec<u8>, Vec<u8>);

/// `RSA Session-ID:<hex> Master-Key:<hex>`: `None` when the line is not of that form.
fn parse_session_id_line(line: &str) -> Option<Result<SessionMaster, ProblemKind>> {
    let mut fields = line.split_ascii_whitespace();
    let (Some("RSA"), Some(id), Some(master), None) = (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    let id = id.strip_prefix("Session-ID:")?;
    let Some(master) = master.strip_prefix("Master-Key:") else { return Some(Err(ProblemKind::Fields)) };
    let (Ok(id), Ok(master)) = (hex::decode(id), hex::decode(master)) else { return Some(Err(ProblemKind::Secret)) };
    if id.is_empty() || id.len() > 32 || master.len() != 48 {
        return Some(Err(ProblemKind::Secret));
    }
    Some(Ok((id, master)))
}

fn parse_line(line: &str) -> Result<(Label, [u8; 32], Vec<u8>), ProblemKind> {
    let mut fields = line.split_ascii_whitespace();
    let (Some(name), Some(random_hex), Some(secret_hex), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(ProblemKind::Fields);
    };
    let label = Label::from_name(name).ok_or_else(|| ProblemKind::UnknownLabel(name.to_string()))?;
    let mut random = [0u8; 32];
    hex::decode_to_slice(random_hex, &mut random).map_err(|_| ProblemKind::ClientRandom)?;
    let secret = hex::decode(secret_hex).map_err(|_| ProblemKind::Secret)?;
    let usable = match label {
        Label::ClientRandom => secret.len() == 48,
        // TLS 1.3 secrets are one hash long: SHA-256 or SHA-384 (SHA-512 for completeness).
        _ => matches!(secret.len(), 32 | 48 | 64),
    };
    if !usable {
        return Err(ProblemKind::Secret);
    }
    Ok((label, random, secret))
}

/// Why an RSA private key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No `-----BEGIN RSA PRIVATE KEY-----` or `-----BEGIN PRIVATE KEY-----` block in the text.
    #[error("no RSA PRIVATE KEY or PRIVATE KEY PEM block found")]
    NoKey,
    /// An `ENCRYPTED PRIVATE KEY` block, or a legacy PEM with a `Proc-Type: 4,ENCRYPTED` header.
    #[error("the private key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)")]
    Encrypted,
    /// The PEM body is not base64.
    #[error("the PEM body is not valid base64")]
    Base64,
    /// The DER is not an RSA private key aws-lc accepts.
    #[error("not a usable RSA private key: {0}")]
    Rejected(String),
}

/// Smallest RSA modulus accepted (the export-grade keys of the 1990s were 512 bits).
pub const MIN_RSA_BITS: usize = 512;
/// Below this, a key is accepted for decrypting old captures only: [`RsaKey::is_legacy_size`].
pub const LEGACY_RSA_BITS: usize = 2048;

/// An RSA private key for TLS static-RSA key exchange (the server's key).
pub struct RsaKey {
    key: RsaKeyImpl,
}

/// aws-lc-rs for the sizes it accepts (2048 bits and up); RustCrypto's `rsa` for the old, smaller keys that
/// aws-lc-rs refuses. Constant time does not matter here: an offline analyzer decrypting a recorded premaster
/// is not an oracle anyone can query.
enum RsaKeyImpl {
    AwsLc(Pkcs1PrivateDecryptingKey),
    Small(Box<rsa::RsaPrivateKey>),
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey").field("bits", &self.bits()).finish_non_exhaustive()
    }
}

impl RsaKey {
    /// Loads the first RSA private key in PEM text (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`); other
    /// blocks (certificates) in the same file are skipped, as `ssldump -k` and tshark do.
    pub fn from_pem(pem: &str) -> Result<RsaKey, KeyError> {
        let mut encrypted = false;
        for (label, headers, body) in pem_blocks(pem) {
            let pkcs1 = match label {
                "RSA PRIVATE KEY" => true,
                "PRIVATE KEY" => false,
                "ENCRYPTED PRIVATE KEY" => {
                    encrypted = true;
                    continue;
                }
                _ => continue,
            };
            if headers.contains("ENCRYPTED") {
                return Err(KeyError::Encrypted);
            }
            let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let der = base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| KeyError::Base64)?;
            return Self::from_der(&der, pkcs1);
        }
        Err(if encrypted { KeyError::Encrypted } else { KeyError::NoKey })
    }

    /// Loads an RSA private key from DER: PKCS#1 `RSAPrivateKey` when `pkcs1`, else PKCS#8 `PrivateKeyInfo`.
    pub fn from_der(der: &[u8], pkcs1: bool) -> Result<RsaKey, KeyError> {
        let pkcs8 = if pkcs1 { wrap_pkcs1_in_pkcs8(der) } else { der.to_vec() };
        let aws = PrivateDecryptingKey::from_pkcs8(&pkcs8)
            .map_err(|e| KeyError::Rejected(e.to_string()))
            .and_then(|k| Pkcs1PrivateDecryptingKey::new(k).map_err(|e| KeyError::Rejected(e.to_string())));
        match aws {
            Ok(key) => Ok(RsaKey { key: RsaKeyImpl::AwsLc(key) }),
            Err(refused) => {
                use rsa::pkcs8::DecodePrivateKey as _;
                use rsa::traits::PublicKeyParts as _;
                // Only a well-formed key aws-lc-rs refused for its size is taken by the small-key path.
                let Ok(small) = rsa::RsaPrivateKey::from_pkcs8_der(&pkcs8) else { return Err(refused) };
                let bits = small.n().bits();
                if !(MIN_RSA_BITS..LEGACY_RSA_BITS).contains(&bits) {
                    return Err(refused);
                }
                small.validate().map_err(|e| KeyError::Rejected(e.to_string()))?;
                Ok(RsaKey { key: RsaKeyImpl::Small(Box::new(small)) })
            }
        }
    }

    /// Key size in bits.
    pub fn bits(&self) -> usize {
        match &self.key {
            RsaKeyImpl::AwsLc(k) => k.key_size_bits(),
            RsaKeyImpl::Small(k) => {
                use rsa::traits::PublicKeyParts as _;
                k.n().bits()
            }
        }
    }

    /// Below 2048 bits: usable to decrypt old captures, to be reported with a warning.
    pub fn is_legacy_size(&self) -> bool {
        self.bits() < LEGACY_RSA_BITS
    }

    /// Decrypts a ClientKeyExchange's EncryptedPreMasterSecret (PKCS#1 v1.5). Accepts the TLS form (2-byte length
    /// prefix) and the SSL 3.0 form (bare). `None` for a wrong key, bad padding or a premaster that is not 48
    /// bytes: the caller reports "wrong key" rather than decrypting garbage.
    pub fn decrypt_premaster(&self, encrypted: &[u8]) -> Option<[u8; 48]> {
        let size = self.bits().div_ceil(8);
        let ciphertext = if encrypted.len() == size + 2 {
            crate::codec::Reader::new(encrypted).vec16().filter(|c| c.len() == size)?
        } else if encrypted.len() == size {
            encrypted
        } else {
            return None;
        };
        match &self.key {
            RsaKeyImpl::AwsLc(key) => {
                let mut out = vec![0u8; key.min_output_size()];
                let plain = key.decrypt(ciphertext, &mut out).ok()?;
                <[u8; 48]>::try_from(&*plain).ok()
            }
            RsaKeyImpl::Small(key) => {
                let plain = key.decrypt(rsa::Pkcs1v15Encrypt, ciphertext).ok()?;
                <[u8; 48]>::try_from(&*plain).ok()
            }
        }
    }
}

/// Yields (label, header lines, base64 body) for each `-----BEGIN X-----` … `-----END X-----` block.
fn pem_blocks(text: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || loop {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after.find("-----")?;
        let label = &after[..label_end];
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            rest = body_start;
            continue;
        };
        let block = &body_start[..end];
        rest = &body_start[end + end_marker.len()..];
        // Legacy encrypted PEM puts "Name: value" headers before a blank line.
        let (headers, body) = match block.find("\n\n").or_else(|| block.find("\r\n\r\n")) {
            Some(split) if block[..split].contains(':') => (&block[..split], &block[split..]),
            _ => ("", block),
        };
        return Some((label, headers, body));
    })
}

/// PKCS#8 `PrivateKeyInfo { version 0, AlgorithmIdentifier { rsaEncryption, NULL }, OCTET STRING { pkcs1 } }`.
fn wrap_pkcs1_in_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    const VERSION_AND_ALGORITHM: [u8; 18] = [
        0x02, 0x01, 0x00, // INTEGER 0
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut octets = vec![0x04];
    der_length(&mut octets, pkcs1.len());
    octets.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    der_length(&mut out, VERSION_AND_ALGORITHM.len() + octets.len());
    out.extend_from_slice(&VERSION_AND_ALGORITHM);
    out.extend_from_slice(&octets);
    out
}

fn der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn session_id_lines_give_master_secrets() {
        let id = "11".repeat(32);
        let text = format!(
            "RSA Session-ID:{id} Master-Key:{}\nRSA Session-ID:{id} Master-Key:abcd\nRSA Session-ID: Master-Key:{}\n",
            "4e".repeat(48),
            "4e".repeat(48)
        );
        let (log, problems) = KeyLog::parse(&text);
        assert_eq!(log.master_by_session_id(&[0x11; 32]), Some(vec![0x4e; 48]));
        assert_eq!(problems.iter().map(|p| p.line).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn parses_every_label_in_any_case_and_reports_bad_lines() {
        let secret32 = "AB".repeat(32);
        let secret48 = "cd".repeat(48);
        let mut text = String::from("# comment\n\n");
        for label in Label::ALL {
            let secret = if label == Label::ClientRandom { &secret48 } else { &secret32 };
            text.push_str(&format!("{label} {} {secret}\n", CR.to_uppercase()));
        }
        text.push_str("EARLY_TRAFFIC_SECRET ");
        text.push_str(&"ff".repeat(32));
        text.push(' ');
        text.push_str(&"11".repeat(48));
        text.push('\n');
        text.push_str("garbage\n");
        text.push_str(&format!("RSA {} {}\n", "00".repeat(8), "00".repeat(48)));
        text.push_str(&format!("CLIENT_RANDOM {CR} {}\n", "00".repeat(47)));
        text.push_str(&format!("CLIENT_RANDOM {} {secret48}\n", "zz".repeat(32)));

        let (log, problems) = KeyLog::parse(&text);
        assert_eq!(log.len(), 9);
        let cr: [u8; 32] = hex::decode(CR).unwrap().try_into().unwrap();
        for label in Label::ALL {
            let want = if label == Label::ClientRandom { vec![0xcd; 48] } else { vec![0xab; 32] };
            assert_eq!(log.secret(label, &cr), Some(want), "{label}");
        }
        assert_eq!(log.get(Label::ClientEarlyTrafficSecret, &[0xff; 32]), Some(&[0x11; 48][..]));
        let lines: Vec<(usize, ProblemKind)> = problems.into_iter().map(|p| (p.line, p.kind)).collect();
        assert_eq!(
            lines,
            vec![
                (12, ProblemKind::Fields),
                (13, ProblemKind::UnknownLabel("RSA".into())),
                (14, ProblemKind::Secret),
                (15, ProblemKind::ClientRandom),
            ]
        );
    }

    #[test]
    fn merge_and_dsb() {
        let (mut a, _) = KeyLog::parse(&format!("CLIENT_RANDOM {CR} {}", "01".repeat(48)));
        let (b, p) =
            KeyLog::from_dsb(DSB_TLS_KEY_LOG, format!("CLIENT_RANDOM {CR} {}\r\n", "02".repeat(48)).as_bytes())
                .expect("TLSK");
        assert!(p.is_empty());
        assert!(KeyLog::from_dsb(0x5353_4857, b"x").is_none());
        a.merge(b);
        let cr: [u8; 32] = hex::decode(CR).unwrap().try_into().unwrap();
        assert_eq!(a.get(Label::ClientRandom, &cr), Some(&[2u8; 48][..]));
        let shared: std::sync::Arc<dyn SecretSource + Send + Sync> = std::sync::Arc::new(std::sync::RwLock::new(a));
        assert!(shared.secret(Label::ClientRandom, &cr).is_some());
        assert!(shared.secret(Label::ExporterSecret, &cr).is_none());
    }

    #[test]
    fn rsa_key_errors_are_values() {
        assert!(matches!(RsaKey::from_pem("nothing"), Err(KeyError::NoKey)));
        assert!(matches!(
            RsaKey::from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
            Err(KeyError::Encrypted)
        ));
        assert!(matches!(
            RsaKey::from_pem("-----BEGIN RSA PRIVATE KEY-----\n!!!\n-----END RSA PRIVATE KEY-----\n"),
            Err(KeyError::Base64)
        ));
        assert!(matches!(
            RsaKey::from_pem("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
            Err(KeyError::Rejected(_))
        ));
    }
}
