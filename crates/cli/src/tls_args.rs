//! The client TLS flags that `get`, `post` and `bench` share (curl's names), and the
//! [`Context`] they describe.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use tlskit::client;
use tlskit::context::{Context, TlsVersion};

/// Client TLS policy: trust, our certificate, versions, suites, groups, pins.
#[derive(clap::Args, Debug, Clone)]
pub struct TlsArgs {
    /// Do not verify the server's certificate (the handshake's signatures are still checked)
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// Trust the CA certificates in FILE instead of the system roots
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Also check the server's certificate against the CRLs in FILE
    #[arg(long = "crlfile", value_name = "FILE")]
    pub crlfile: Option<PathBuf>,
    /// Client certificate (PEM; may hold the key too)
    #[arg(short = 'E', long = "cert", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Private key of --cert
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// TLS 1.2 or later
    #[arg(long = "tlsv1.2")]
    pub tlsv1_2: bool,
    /// TLS 1.3 only
    #[arg(long = "tlsv1.3")]
    pub tlsv1_3: bool,
    /// Highest TLS version to use: 1.2 or 1.3
    #[arg(long = "tls-max", value_name = "VERSION")]
    pub tls_max: Option<TlsVersion>,
    /// Protocol versions to offer, comma-separated: 1.2, 1.3 (as `serve --tls-versions`)
    #[arg(long = "tls-versions", value_name = "LIST", conflicts_with_all = ["tlsv1_2", "tlsv1_3", "tls_max"])]
    pub tls_versions: Option<String>,
    /// Cipher suites to offer (comma- or colon-separated, rustls, IANA or OpenSSL names)
    #[arg(long = "ciphers", value_name = "LIST")]
    pub ciphers: Option<String>,
    /// Key exchange groups to offer, in order (X25519MLKEM768, X25519, secp256r1, secp384r1, MLKEM768)
    #[arg(long = "groups", visible_alias = "curves", value_name = "LIST")]
    pub groups: Option<String>,
    /// Require the server key to have this hash: sha256//BASE64 (several joined by ';')
    #[arg(long = "pinnedpubkey", value_name = "PINS")]
    pub pinned_pubkey: Option<String>,
}

fn list(value: &str) -> Vec<&str> {
    value.split([',', ':', ' ']).filter(|s| !s.is_empty()).collect()
}

impl TlsArgs {
    /// The TLS policy the flags describe, offering `alpn`.
    pub fn context(&self, alpn: &[&str]) -> anyhow::Result<Context> {
        let mut versions = match &self.tls_versions {
            Some(given) => {
                let parsed = given
                    .split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::parse::<TlsVersion>)
                    .collect::<Result<Vec<_>, _>>()
                    .context("--tls-versions")?;
                if parsed.is_empty() {
                    bail!("--tls-versions: no version given");
                }
                parsed
            }
            None => vec![TlsVersion::Tls13, TlsVersion::Tls12],
        };
        if self.tlsv1_3 {
            versions.retain(|v| *v == TlsVersion::Tls13);
        }
        if self.tls_max == Some(TlsVersion::Tls12) {
            versions.retain(|v| *v == TlsVersion::Tls12);
        }
        if versions.is_empty() {
            bail!("--tlsv1.3 and --tls-max 1.2 leave no TLS version to use");
        }
        let mut ctx = Context::new().versions(&versions).alpn(alpn);
        if let Some(names) = &self.ciphers {
            ctx = ctx.cipher_suites(&list(names)).context("--ciphers")?;
        }
        if let Some(names) = &self.groups {
            ctx = ctx.key_exchange_groups(&list(names)).context("--groups")?;
        }
        match &self.cacert {
            Some(path) => ctx = ctx.trust(tlskit::pki::load_certs(path).context("--cacert")?),
            None => ctx = ctx.trust_system_roots(true),
        }
        if self.insecure {
            ctx = ctx.dangerous_disable_verification();
        }
        if let Some(path) = &self.crlfile {
            ctx = ctx.crls(tlskit::pki::load_crls(path).context("--crlfile")?);
        }
        if let Some(cert) = &self.cert {
            ctx = ctx.identity(tlskit::pki::load_identity(cert, self.key.as_deref()).context("--cert/--key")?);
        } else if self.key.is_some() {
            bail!("--key needs --cert");
        }
        if let Some(pins) = &self.pinned_pubkey {
            for pin in client::parse_pinned_pubkeys(pins).context("--pinnedpubkey")? {
                ctx = ctx.pin_spki_sha256(pin);
            }
        }
        Ok(ctx)
    }
}
