//! One description of TLS policy, for both sides of a connection.
//!
//! A [`Context`] is what M2Crypto's `SSL.Context` was: protocol versions,
//! cipher suites, ALPN, trust, verification, our own certificate, client
//! authentication, session reuse and key logging, in one value. It builds the
//! rustls configurations; nothing else in tlskit builds them, and no other
//! public item names a rustls type, so the move to rustls 0.24 stays local to
//! this module. [`raw`] hands the configurations out, for use with rustls directly.
//!
//! ```
//! use tlskit::context::{raw, Context, TlsVersion};
//!
//! let ctx = Context::new()
//!     .versions(&[TlsVersion::Tls13])
//!     .alpn(&["h2", "http/1.1"])
//!     .trust_system_roots(true);
//! // A client with no trusted CA at all is refused, rather than trusting nothing silently.
//! assert!(raw::client_config(&Context::new()).is_err());
//! # let ctx = ctx.trust_system_roots(false).dangerous_disable_verification();
//! let client = raw::client_config(&ctx).unwrap();
//! assert_eq!(client.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
//! ```

mod build;
mod connector;
mod error;
mod hook;
pub mod raw;
mod tickets;
mod verify;

pub(crate) use connector::ClientTls;
pub use connector::{prime_random, Connector, Handshake, HandshakeFacts, PeerName, Sessions};
pub use error::{ContextError, TlsError, TlsErrorKind};
pub use hook::{PeerChain, VerifyHook};

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::crypto::SupportedKxGroup;
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::SupportedCipherSuite;

use crate::names::{self, from_rustls};
use crate::store::{PolicyTag, Stores};
use crate::trace::SharedKeyLog;
use build::suite_matches;

/// A TLS protocol version tlskit can negotiate (rustls offers no other).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl TlsVersion {
    /// The name OpenSSL and Wireshark print: `TLSv1.2`, `TLSv1.3`.
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }

    fn rustls(self) -> &'static rustls::SupportedProtocolVersion {
        match self {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        }
    }
}

impl FromStr for TlsVersion {
    type Err = ContextError;

    /// Accepts `1.2`, `tls1.2`, `TLSv1.2`, `tls12` (and the same for 1.3).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s.to_ascii_lowercase().chars().filter(|c| *c != 'v' && *c != '_').collect();
        match norm.trim_start_matches("tls") {
            "1.2" | "12" => Ok(TlsVersion::Tls12),
            "1.3" | "13" => Ok(TlsVersion::Tls13),
            _ => Err(ContextError::UnknownVersion(s.to_string())),
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a server asks for, and insists on, a client certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// No CertificateRequest is sent.
    #[default]
    Off,
    /// Asked for; a client without one still connects (per-path rules decide).
    Optional,
    /// The handshake fails without a certificate that verifies.
    Required,
}

impl FromStr for ClientAuth {
    type Err = ContextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "none" => Ok(ClientAuth::Off),
            "optional" => Ok(ClientAuth::Optional),
            "required" | "require" => Ok(ClientAuth::Required),
            _ => Err(ContextError::UnknownClientAuth(s.to_string())),
        }
    }
}

/// A certificate chain (leaf first) and the leaf's private key.
#[derive(Debug)]
pub struct Identity {
    /// The certificates, leaf first, then the intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity { chain: self.chain.clone(), key: self.key.clone_key() }
    }
}

/// The TLS policy of one endpoint; builds rustls's server and client configurations (see [`raw`]).
#[derive(Clone)]
pub struct Context {
    versions: Vec<TlsVersion>,
    cipher_suites: Option<Vec<SupportedCipherSuite>>,
    kx_groups: Option<Vec<&'static dyn SupportedKxGroup>>,
    alpn: Vec<Vec<u8>>,
    roots: Vec<CertificateDer<'static>>,
    system_roots: bool,
    verify_peer: bool,
    pinned_spki_sha256: Vec<[u8; 32]>,
    verify_hook: Option<VerifyHook>,
    identity: Option<Identity>,
    client_auth: ClientAuth,
    crls: Vec<CertificateRevocationListDer<'static>>,
    session_cache: usize,
    tickets: bool,
    ticket_lifetime: u32,
    key_log: Option<SharedKeyLog>,
    server_order: bool,
    stores: Option<Arc<Stores>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("versions", &self.versions)
            .field(
                "cipher_suites",
                &self
                    .cipher_suites
                    .as_ref()
                    .map(|s| s.iter().map(|s| names::suite_name(from_rustls::suite(s.suite()))).collect::<Vec<_>>()),
            )
            .field(
                "kx_groups",
                &self
                    .kx_groups
                    .as_ref()
                    .map(|g| g.iter().map(|g| names::group_name(from_rustls::group(g.name()))).collect::<Vec<_>>()),
            )
            .field("alpn", &self.alpn.iter().map(|p| String::from_utf8_lossy(p)).collect::<Vec<_>>())
            .field("roots", &self.roots.len())
            .field("system_roots", &self.system_roots)
            .field("verify_peer", &self.verify_peer)
            .field("verify_hook", &self.verify_hook.is_some())
            .field("identity", &self.identity.as_ref().map(|i| i.chain.len()))
            .field("client_auth", &self.client_auth)
            .field("crls", &self.crls.len())
            .field("session_cache", &self.session_cache)
            .field("tickets", &self.tickets)
            .field("ticket_lifetime", &self.ticket_lifetime)
            .field("key_log", &self.key_log.is_some())
            .field("stores", &self.stores)
            .finish()
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

/// The crypto provider every config uses (aws-lc-rs, as docs/design.md chose).
pub fn provider() -> CryptoProvider {
    aws_lc_rs::default_provider()
}

/// Every suite the provider knows, by IANA name, in its preference order.
pub fn known_cipher_suites() -> Vec<String> {
    provider().cipher_suites.iter().map(|s| names::suite_name(from_rustls::suite(s.suite()))).collect()
}

impl Context {
    /// TLS 1.2 and 1.3, the provider's suites, verification on, no identity,
    /// a 256-entry session cache, tickets on (24 h lifetime).
    pub fn new() -> Self {
        Context {
            versions: vec![TlsVersion::Tls13, TlsVersion::Tls12],
            cipher_suites: None,
            kx_groups: None,
            alpn: Vec::new(),
            roots: Vec::new(),
            system_roots: false,
            verify_peer: true,
            pinned_spki_sha256: Vec::new(),
            verify_hook: None,
            identity: None,
            client_auth: ClientAuth::Off,
            crls: Vec::new(),
            session_cache: 256,
            tickets: true,
            ticket_lifetime: 24 * 3600,
            key_log: None,
            server_order: true,
            stores: None,
        }
    }

    /// Protocol versions to offer or accept.
    pub fn versions(mut self, versions: &[TlsVersion]) -> Self {
        self.versions = versions.to_vec();
        self
    }

    /// Restrict and order cipher suites by IANA name (`TLS_AES_256_GCM_SHA384`,
    /// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`, …). rustls's spelling of TLS 1.3 suites
    /// (`TLS13_AES_256_GCM_SHA384`) and OpenSSL's names (`ECDHE-ECDSA-AES128-GCM-SHA256`) are
    /// accepted too.
    pub fn cipher_suites<S: AsRef<str>>(mut self, names: &[S]) -> Result<Self, ContextError> {
        let known = provider().cipher_suites;
        let mut chosen = Vec::new();
        for name in names {
            let name = name.as_ref().trim();
            if name.is_empty() {
                continue;
            }
            let found = known.iter().find(|s| suite_matches(s, name)).ok_or_else(|| {
                ContextError::UnknownCipherSuite { name: name.to_string(), known: known_cipher_suites() }
            })?;
            chosen.push(*found);
        }
        self.cipher_suites = Some(chosen);
        Ok(self)
    }

    /// Restrict and order the key exchange groups (`X25519MLKEM768`, `X25519`, `secp256r1`,
    /// `secp384r1`, `MLKEM768`, …; `P-256`/`prime256v1` and `P-384` are accepted too). A client
    /// sends a key share for the first; a server picks by this order.
    pub fn key_exchange_groups<S: AsRef<str>>(mut self, names: &[S]) -> Result<Self, ContextError> {
        let known = || {
            aws_lc_rs::ALL_KX_GROUPS.iter().map(|g| names::group_name(from_rustls::group(g.name()))).collect::<Vec<_>>()
        };
        let mut chosen = Vec::new();
        for name in names {
            let name = name.as_ref().trim();
            if name.is_empty() {
                continue;
            }
            let want = match name.to_ascii_lowercase().as_str() {
                "p-256" | "p256" | "prime256v1" => "secp256r1".to_string(),
                "p-384" | "p384" => "secp384r1".to_string(),
                other => other.to_string(),
            };
            let found = aws_lc_rs::ALL_KX_GROUPS
                .iter()
                .find(|g| names::group_name(from_rustls::group(g.name())).eq_ignore_ascii_case(&want))
                .ok_or_else(|| ContextError::UnknownGroup { name: name.to_string(), known: known() })?;
            chosen.push(*found);
        }
        if chosen.is_empty() {
            return Err(ContextError::UnknownGroup { name: String::new(), known: known() });
        }
        self.kx_groups = Some(chosen);
        Ok(self)
    }

    /// ALPN protocols in preference order (`h2`, `http/1.1`).
    pub fn alpn<S: AsRef<str>>(mut self, protocols: &[S]) -> Self {
        self.alpn = protocols.iter().map(|p| p.as_ref().as_bytes().to_vec()).collect();
        self
    }

    /// Trust these CA certificates (for verifying servers, or client certificates).
    pub fn trust(mut self, roots: impl IntoIterator<Item = CertificateDer<'static>>) -> Self {
        self.roots.extend(roots);
        self
    }

    /// Also trust the operating system's roots (clients only).
    pub fn trust_system_roots(mut self, on: bool) -> Self {
        self.system_roots = on;
        self
    }

    /// Turn server-certificate verification off (curl's `-k`). Signatures in
    /// the handshake are still checked; the chain and the name are not.
    pub fn dangerous_disable_verification(mut self) -> Self {
        self.verify_peer = false;
        self
    }

    /// Require the server's leaf to have this SPKI SHA-256 (curl's `--pinnedpubkey`).
    pub fn pin_spki_sha256(mut self, pin: [u8; 32]) -> Self {
        self.pinned_spki_sha256.push(pin);
        self
    }

    /// Client side: judge the server's chain yourself. `hook` sees the chain and the built-in
    /// verdict (trusted roots, name, CRLs, pins) and returns the final word: `Ok(())` accepts,
    /// `Err(reason)` refuses (the request fails with [`ClientError::BadCertificate`] or the
    /// variant the reason names). With no trusted roots at all the built-in verdict is
    /// [`CertificateReason::UnknownIssuer`] for every chain, so a hook can accept a CA by its own
    /// rule (M2Crypto's `set_verify` callback and `set_allow_unknown_ca`). Handshake signatures
    /// are checked either way.
    ///
    /// [`ClientError::BadCertificate`]: crate::client::ClientError::BadCertificate
    /// [`CertificateReason::UnknownIssuer`]: crate::pki::CertificateReason::UnknownIssuer
    pub fn verify_with(
        mut self,
        hook: impl Fn(&PeerChain<'_>) -> Result<(), crate::pki::CertificateReason> + Send + Sync + 'static,
    ) -> Self {
        self.verify_hook = Some(Arc::new(hook));
        self
    }

    /// Our own certificate chain and key: the server's, or the client certificate.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Server side: ask for client certificates verified against the trusted CAs.
    pub fn client_auth(mut self, mode: ClientAuth) -> Self {
        self.client_auth = mode;
        self
    }

    /// Certificate revocation lists checked when verifying the peer.
    pub fn crls(mut self, crls: impl IntoIterator<Item = CertificateRevocationListDer<'static>>) -> Self {
        self.crls.extend(crls);
        self
    }

    /// Session cache size, both sides (0 turns session-ID / stateful resumption off).
    pub fn session_cache(mut self, size: usize) -> Self {
        self.session_cache = size;
        self
    }

    /// Session tickets: a server issues them, a client accepts them.
    pub fn tickets(mut self, on: bool) -> Self {
        self.tickets = on;
        self
    }

    /// How long a server's tickets, and the sessions in its memory cache, are good for, in
    /// seconds (M2Crypto's `set_session_timeout`; default a day).
    pub fn ticket_lifetime(mut self, secs: u32) -> Self {
        self.ticket_lifetime = secs;
        self
    }

    /// Where the session secrets go (NSS key log format), for Wireshark or `tlskit dump`.
    pub fn key_log(mut self, log: SharedKeyLog) -> Self {
        self.key_log = Some(log);
        self
    }

    /// Server side: prefer our own suite order over the client's (default on).
    pub fn server_cipher_order(mut self, ours: bool) -> Self {
        self.server_order = ours;
        self
    }

    /// Server side: session cache and ticket keys from these [`Stores`] (shared
    /// by a fleet, or rotated in process) instead of rustls's own.
    pub fn stores(mut self, stores: Arc<Stores>) -> Self {
        self.stores = Some(stores);
        self
    }

    /// The stores in use, if any.
    pub fn stores_in_use(&self) -> Option<&Arc<Stores>> {
        self.stores.as_ref()
    }

    /// Whether tickets are on.
    pub fn tickets_enabled(&self) -> bool {
        self.tickets
    }

    /// The ticket (and session) lifetime, in seconds.
    pub fn ticket_lifetime_secs(&self) -> u32 {
        self.ticket_lifetime
    }

    /// The session cache size (0: off).
    pub fn session_cache_size(&self) -> usize {
        self.session_cache
    }

    /// A hash of the client-authentication policy: the mode, and with client
    /// auth on the CAs and CRLs that verify clients. Bound into every shared
    /// session and ticket, so that a session made under one policy never
    /// resumes under another (rustls trusts a resumed session's client
    /// certificate as verified once).
    pub fn resumption_policy(&self) -> PolicyTag {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"tlskit client-auth policy v1");
        h.update([match self.client_auth {
            ClientAuth::Off => 0u8,
            ClientAuth::Optional => 1,
            ClientAuth::Required => 2,
        }]);
        if self.client_auth != ClientAuth::Off {
            let mut ders: Vec<&[u8]> = self.roots.iter().map(|c| c.as_ref()).collect();
            ders.sort();
            let mut crls: Vec<&[u8]> = self.crls.iter().map(|c| c.as_ref()).collect();
            crls.sort();
            for (kind, list) in [(b'c', ders), (b'r', crls)] {
                for der in list {
                    h.update([kind]);
                    h.update((der.len() as u64).to_be_bytes());
                    h.update(der);
                }
            }
        }
        PolicyTag(h.finalize().into())
    }

    /// The versions this context allows.
    pub fn allowed_versions(&self) -> &[TlsVersion] {
        &self.versions
    }

    /// The client-auth mode.
    pub fn client_auth_mode(&self) -> ClientAuth {
        self.client_auth
    }

    /// The ALPN protocols offered or accepted, in preference order.
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.alpn
    }
}

#[cfg(test)]
mod tests {
    use super::tickets::{now_secs, SessionLifetime, TicketLifetime};
    use super::*;
    use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};

    #[test]
    fn versions_parse_in_every_spelling() {
        for s in ["1.2", "tls1.2", "TLSv1.2", "tls12"] {
            assert_eq!(s.parse::<TlsVersion>().unwrap(), TlsVersion::Tls12, "{s}");
        }
        assert_eq!("TLSv1.3".parse::<TlsVersion>().unwrap(), TlsVersion::Tls13);
        assert!("1.1".parse::<TlsVersion>().is_err());
    }

    #[test]
    fn cipher_suites_accept_rustls_iana_and_openssl_names() {
        for name in ["TLS13_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"] {
            Context::new().cipher_suites(&[name]).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let err = Context::new().cipher_suites(&["RC4-MD5"]).unwrap_err().to_string();
        assert!(err.contains("RC4-MD5") && err.contains("TLS_AES_256_GCM_SHA384"), "{err}");
        assert!(!err.contains("TLS13_"), "{err}");
    }

    #[test]
    fn tls13_suites_with_only_tls12_is_an_error() {
        let ctx = Context::new().versions(&[TlsVersion::Tls12]).cipher_suites(&["TLS13_AES_128_GCM_SHA256"]).unwrap();
        assert!(matches!(ctx.client_config(), Err(ContextError::NoUsableCipherSuite)));
    }

    #[test]
    fn server_without_identity_is_an_error() {
        assert!(matches!(Context::new().server_config(), Err(ContextError::NoServerIdentity)));
    }

    #[test]
    fn client_without_roots_is_an_error_unless_verification_is_off() {
        assert!(Context::new().client_config().is_err());
        assert!(Context::new().dangerous_disable_verification().client_config().is_ok());
    }

    #[test]
    fn the_resumption_policy_changes_with_client_auth_and_its_cas() {
        let ca_der = crate::pki::ephemeral_server(&[]).unwrap().identity.chain[0].clone();
        let off = Context::new().resumption_policy();
        assert_eq!(off, Context::new().trust([ca_der.clone()]).resumption_policy(), "CAs do not matter when off");
        let required = Context::new().trust([ca_der.clone()]).client_auth(ClientAuth::Required).resumption_policy();
        let optional = Context::new().trust([ca_der.clone()]).client_auth(ClientAuth::Optional).resumption_policy();
        assert_ne!(off, required);
        assert_ne!(optional, required);
        let other_der = crate::pki::ephemeral_server(&[]).unwrap().identity.chain[0].clone();
        let required_other = Context::new().trust([other_der]).client_auth(ClientAuth::Required).resumption_policy();
        assert_ne!(required, required_other, "another CA is another policy");
    }

    #[test]
    fn stored_sessions_expire_with_the_ticket_lifetime() {
        let cache = SessionLifetime { inner: ServerSessionMemoryCache::new(16), lifetime: 3600 };
        assert!(cache.put(b"id".to_vec(), b"state".to_vec()));
        assert_eq!(cache.get(b"id").as_deref(), Some(&b"state"[..]));
        assert_eq!(cache.take(b"id").as_deref(), Some(&b"state"[..]));
        assert_eq!(cache.get(b"id"), None, "taken");
        // A session stored two hours ago is not resumed.
        let mut old = (now_secs() - 7200).to_be_bytes().to_vec();
        old.extend_from_slice(b"state");
        cache.inner.put(b"old".to_vec(), old);
        assert_eq!(cache.get(b"old"), None);
        assert_eq!(cache.take(b"old"), None);
    }

    #[test]
    fn ticket_lifetime_refuses_old_tickets() {
        let t = TicketLifetime { inner: aws_lc_rs::Ticketer::new().unwrap(), lifetime: 3600 };
        let ticket = t.encrypt(b"state").unwrap();
        assert_eq!(t.decrypt(&ticket).unwrap(), b"state");
        // A ticket stamped two hours ago, under the same keys, is refused.
        let mut old = (now_secs() - 7200).to_be_bytes().to_vec();
        old.extend_from_slice(b"state");
        let old_ticket = t.inner.encrypt(&old).unwrap();
        assert!(t.decrypt(&old_ticket).is_none());
        assert!(t.decrypt(b"garbage").is_none());
    }
}
