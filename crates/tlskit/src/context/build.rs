//! Where a [`Context`] becomes rustls configurations: the only code in tlskit that builds them.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};

use super::error::refused;
use super::tickets::{SessionLifetime, TicketLifetime};
use super::verify::{Layered, NoVerification, Then};
use super::{provider, ClientAuth, Context, ContextError, TlsError};
use crate::names::{self, from_rustls};
use crate::trace::ToRustls;

impl Context {
    fn crypto_provider(&self) -> Result<Arc<CryptoProvider>, ContextError> {
        let mut p = provider();
        if let Some(chosen) = &self.cipher_suites {
            p.cipher_suites = chosen.clone();
        }
        if let Some(groups) = &self.kx_groups {
            p.kx_groups = groups.clone();
        }
        // Keep only suites of the versions in use, so a 1.3-only list with 1.2 fails loudly.
        p.cipher_suites.retain(|s| self.versions.iter().any(|v| s.version() == v.rustls()));
        if p.cipher_suites.is_empty() {
            return Err(ContextError::NoUsableCipherSuite);
        }
        Ok(Arc::new(p))
    }

    fn rustls_versions(&self) -> Vec<&'static rustls::SupportedProtocolVersion> {
        // rustls wants TLS 1.3 first for its preference order.
        let mut v: Vec<_> = self.versions.iter().map(|v| v.rustls()).collect();
        v.sort_by_key(|v| if v.version == rustls::ProtocolVersion::TLSv1_3 { 0 } else { 1 });
        v.dedup_by_key(|v| v.version);
        v
    }

    fn root_store(&self) -> Result<RootCertStore, ContextError> {
        let mut store = RootCertStore::empty();
        for root in &self.roots {
            store.add(root.clone()).map_err(|e| ContextError::BadCa(e.to_string()))?;
        }
        if self.system_roots {
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                if let Some(err) = found.errors.first() {
                    return Err(ContextError::SystemRoots(err.to_string()));
                }
            }
            store.add_parsable_certificates(found.certs);
        }
        Ok(store)
    }

    /// Build the server configuration. Fails on a missing or mismatched identity.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, ContextError> {
        let provider = self.crypto_provider()?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&self.rustls_versions())
            .map_err(refused)?;
        let builder = match self.client_auth {
            ClientAuth::Off => builder.with_no_client_auth(),
            mode => {
                if self.roots.is_empty() {
                    return Err(ContextError::NoClientCa);
                }
                let mut v = WebPkiClientVerifier::builder_with_provider(Arc::new(self.root_store()?), provider.clone())
                    .with_crls(self.crls.iter().cloned());
                if mode == ClientAuth::Optional {
                    v = v.allow_unauthenticated();
                }
                let verifier = v.build().map_err(|e| ContextError::Verifier(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let identity = self.identity.clone().ok_or(ContextError::NoServerIdentity)?;
        let mut config = builder.with_single_cert(identity.chain, identity.key).map_err(identity_error)?;
        config.alpn_protocols = self.alpn.clone();
        config.ignore_client_order = self.server_order;
        let shared_sessions = self.stores.as_ref().and_then(|s| s.session_storage());
        config.session_storage = match shared_sessions {
            _ if self.session_cache == 0 => Arc::new(NoServerSessionStorage {}),
            Some(shared) => shared,
            None => Arc::new(SessionLifetime {
                inner: ServerSessionMemoryCache::new(self.session_cache),
                lifetime: self.ticket_lifetime,
            }),
        };
        if self.tickets {
            config.ticketer = match self.stores.as_ref().and_then(|s| s.ticketer()) {
                Some(ours) => ours,
                None => {
                    let inner = aws_lc_rs::Ticketer::new().map_err(refused)?;
                    Arc::new(TicketLifetime { inner, lifetime: self.ticket_lifetime })
                }
            };
        } else if self.session_cache == 0 {
            // Neither tickets nor a cache: TLS 1.3 tickets would be unusable, so send none.
            config.send_tls13_tickets = 0;
        }
        if let Some(log) = &self.key_log {
            config.key_log = Arc::new(ToRustls(log.clone()));
        }
        Ok(Arc::new(config))
    }

    /// Build the client configuration.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, ContextError> {
        let provider = self.crypto_provider()?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&self.rustls_versions())
            .map_err(refused)?;
        let verifier: Arc<dyn ServerCertVerifier> = if self.verify_peer {
            let store = self.root_store()?;
            if store.is_empty() && self.verify_hook.is_some() {
                // No roots: every chain is of an unknown issuer, unless the hook says otherwise.
                Arc::new(NoVerification { provider: provider.clone(), unknown_issuer: true })
            } else if store.is_empty() {
                return Err(ContextError::BadCa(
                    "no trusted CA certificates (Context::trust, or Context::trust_system_roots on a system that has some)"
                        .into(),
                ));
            } else {
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                    .with_crls(self.crls.iter().cloned())
                    .build()
                    .map_err(|e| ContextError::Verifier(e.to_string()))?
            }
        } else {
            Arc::new(NoVerification { provider: provider.clone(), unknown_issuer: false })
        };
        let verifier: Arc<dyn ServerCertVerifier> = if self.pinned_spki_sha256.is_empty() {
            verifier
        } else {
            Arc::new(Layered { inner: verifier, then: Then::Pins(self.pinned_spki_sha256.clone()) })
        };
        let verifier: Arc<dyn ServerCertVerifier> = match &self.verify_hook {
            Some(hook) => Arc::new(Layered { inner: verifier, then: Then::Hook(hook.clone()) }),
            None => verifier,
        };
        let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
        let mut config = match self.identity.clone() {
            Some(id) => builder.with_client_auth_cert(id.chain, id.key).map_err(identity_error)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.clone();
        config.resumption = if self.session_cache == 0 {
            Resumption::disabled()
        } else {
            let r = Resumption::in_memory_sessions(self.session_cache);
            if self.tickets {
                r
            } else {
                r.tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly)
            }
        };
        if let Some(log) = &self.key_log {
            config.key_log = Arc::new(ToRustls(log.clone()));
        }
        Ok(Arc::new(config))
    }
}

pub(super) fn suite_matches(suite: &SupportedCipherSuite, name: &str) -> bool {
    let iana = names::suite_name(from_rustls::suite(suite.suite()));
    let want = name.to_ascii_uppercase().replace('-', "_");
    if iana == want {
        return true;
    }
    // rustls's spelling of TLS 1.3 suites: TLS13_AES_128_GCM_SHA256 for TLS_AES_128_GCM_SHA256.
    if want.strip_prefix("TLS13_").is_some_and(|rest| iana.strip_prefix("TLS_") == Some(rest)) {
        return true;
    }
    // OpenSSL names: ECDHE-ECDSA-AES128-GCM-SHA256 for TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.
    let openssl = iana
        .trim_start_matches("TLS_")
        .replace("_WITH_", "_")
        .replace("AES_128", "AES128")
        .replace("AES_256", "AES256")
        .replace("CHACHA20_POLY1305_SHA256", "CHACHA20_POLY1305");
    openssl == want
}

/// A key that does not fit its certificate gets its own error; anything else about it is an identity error.
fn identity_error(err: rustls::Error) -> ContextError {
    match err {
        rustls::Error::InconsistentKeys(_) => ContextError::KeyMismatch,
        other => ContextError::Identity(TlsError::from_rustls(other)),
    }
}
