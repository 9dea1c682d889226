//! What a handshake negotiated: the facts the HOWTO's servers printed.
//!
//! A [`SessionInfo`] is read from either side of a rustls connection once its
//! handshake is done. It has a text form (one line per fact) and a JSON form
//! with one spelling per field.

use std::fmt;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::{CommonState, HandshakeKind};
use serde::Serialize;

use crate::names::{self, from_rustls};
use crate::pki::{self, CertificateSummary};

/// The negotiated parameters of one TLS connection.
///
/// Every client [`Response`](crate::client::Response) and server access record carries one; its
/// `Display` is the text form (what M2Crypto's `Session.as_text()` printed), one `name: value` line per
/// fact:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pki = tlskit::pki::ephemeral_server(&[])?;
/// # let dir = std::env::temp_dir().join(format!("tlskit-doc-{}-{}", line!(), std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # std::fs::write(dir.join("ca.pem"), &pki.ca_pem)?;
/// # let files = tlskit::files::FileService::new(&dir, Default::default())?;
/// # let context = tlskit::context::Context::new().identity(pki.identity.clone());
/// # let options = tlskit::server::ServerOptions::new("127.0.0.1:0".parse()?, context, files, std::sync::Arc::new(|_| {}));
/// # let server = tlskit::server::Server::bind(options)?;
/// # let url = format!("https://localhost:{}/ca.pem", server.local_addr().port());
/// # tokio::spawn(server.run(std::future::pending()));
/// # let ca_file = dir.join("ca.pem");
/// use tlskit::client::Client;
/// use tlskit::context::Context;
///
/// let client = Client::new(&Context::new().trust(tlskit::pki::load_certs(&ca_file)?))?;
/// let session = client.get(&url).await?.session;
/// assert_eq!((session.version.as_str(), session.resumed), ("TLSv1.3", false));
/// let text = session.to_string();
/// assert!(text.starts_with("version: TLSv1.3\ncipher suite: TLS_"), "{text}");
/// assert!(text.contains("peer certificate 0: subject "), "{text}");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionInfo {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// IANA name, e.g. `TLS_AES_256_GCM_SHA384` or `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// IANA name, e.g. `X25519MLKEM768`, `x25519`, `secp256r1`; none on a TLS 1.2 resumption.
    pub key_exchange_group: Option<String>,
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// The ALPN protocol agreed on, e.g. `h2`.
    pub alpn: Option<String>,
    /// `full`, `full-with-hello-retry` or `resumed`.
    pub handshake: String,
    /// True when the session was resumed (ticket or session ID / PSK).
    pub resumed: bool,
    /// From the first byte to the end of the handshake, in milliseconds.
    pub handshake_ms: Option<f64>,
    /// The peer's certificate chain as sent, leaf first.
    pub peer_certificates: Vec<CertificateSummary>,
    /// Server side, on a resumed session in fleet mode (shared ticket keys or
    /// session store): the id of the server that issued it (another one of
    /// the fleet, or this one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

impl SessionInfo {
    /// Read the facts from a connection whose handshake has completed.
    ///
    /// `sni` is the server name: the one a server received, or the one a client sent.
    pub(crate) fn from_connection(conn: &CommonState, sni: Option<&str>, handshake_time: Option<Duration>) -> Self {
        let version =
            conn.protocol_version().map(|v| names::protocol_version_name(from_rustls::version(v))).unwrap_or_default();
        let cipher_suite = conn
            .negotiated_cipher_suite()
            .map(|s| names::suite_name(from_rustls::suite(s.suite())))
            .unwrap_or_default();
        let key_exchange_group =
            conn.negotiated_key_exchange_group().map(|g| names::group_name(from_rustls::group(g.name())));
        let handshake = match conn.handshake_kind() {
            Some(HandshakeKind::Full) => "full",
            Some(HandshakeKind::FullWithHelloRetryRequest) => "full-with-hello-retry",
            Some(HandshakeKind::Resumed) => "resumed",
            None => "",
        }
        .to_string();
        SessionInfo {
            version,
            cipher_suite,
            key_exchange_group,
            sni: sni.map(str::to_string),
            alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
            handshake,
            handshake_ms: handshake_time.map(|d| d.as_secs_f64() * 1000.0),
            peer_certificates: conn.peer_certificates().map(summarize_chain).unwrap_or_default(),
            issued_by: None,
        }
    }

    /// The peer's leaf certificate, if it sent one.
    pub fn peer_leaf(&self) -> Option<&CertificateSummary> {
        self.peer_certificates.first()
    }
}

fn summarize_chain(chain: &[CertificateDer<'_>]) -> Vec<CertificateSummary> {
    chain.iter().map(|c| pki::describe(c).unwrap_or_else(|_| CertificateSummary::unparsable(c))).collect()
}

impl fmt::Display for SessionInfo {
    /// One `name: value` line per fact, the peer chain indented below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "version: {}", self.version)?;
        writeln!(f, "cipher suite: {}", self.cipher_suite)?;
        writeln!(f, "key exchange: {}", self.key_exchange_group.as_deref().unwrap_or("none (resumed)"))?;
        writeln!(f, "server name: {}", self.sni.as_deref().unwrap_or("-"))?;
        writeln!(f, "alpn: {}", self.alpn.as_deref().unwrap_or("-"))?;
        writeln!(f, "handshake: {}", self.handshake)?;
        if let Some(ms) = self.handshake_ms {
            writeln!(f, "handshake time: {ms:.3} ms")?;
        }
        if self.peer_certificates.is_empty() {
            writeln!(f, "peer certificates: none")?;
        }
        for (depth, cert) in self.peer_certificates.iter().enumerate() {
            writeln!(f, "peer certificate {depth}: subject {}", cert.subject)?;
            writeln!(f, "  issuer {}", cert.issuer)?;
            writeln!(f, "  valid {} to {}", cert.not_before, cert.not_after)?;
            if !cert.subject_alt_names.is_empty() {
                writeln!(f, "  SANs {}", cert.subject_alt_names.join(", "))?;
            }
            writeln!(f, "  key {}", cert.key)?;
        }
        Ok(())
    }
}
