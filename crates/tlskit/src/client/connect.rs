//! From a URL to a TLS stream: parse, resolve (with `--resolve` overrides), connect, handshake.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::error::{ClientError, Failure, Phase};
use super::Client;
use crate::session::SessionInfo;
use crate::trace::tracer::{ConnTracer, FinishOnDrop};
use crate::trace::{SecretLog, Tap, TapSink, TraceSink};
use tlskit_wire::dissect::Direction;

/// The parts of an `https://` URL a connection needs.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub uri: http::Uri,
    /// Host without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// `host[:port]` as written, for the Host header.
    pub authority: String,
    pub path_and_query: String,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::Url { url: url.to_string(), reason: reason.to_string() };
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => {}
            Some(other) => return Err(bad(&format!("scheme {other} is not supported (only https)"))),
            None => return Err(bad("no scheme (expected https://HOST/...)")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = authority.port_u16().unwrap_or(443);
        // Userinfo is not sent in the Host header.
        let authority = authority.as_str().rsplit('@').next().unwrap_or_default().to_string();
        let path_and_query = uri.path_and_query().map(|p| p.as_str()).filter(|p| !p.is_empty()).unwrap_or("/");
        Ok(Target { host, port, authority, path_and_query: path_and_query.to_string(), uri })
    }
}

/// curl's `--resolve HOST:PORT:ADDR`: connect to ADDR when the URL says HOST:PORT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveOverride {
    /// The host name as the URL writes it.
    pub host: String,
    /// The URL's port (443 when it names none).
    pub port: u16,
    /// Where to connect instead of resolving `host`.
    pub addr: IpAddr,
}

impl std::str::FromStr for ResolveOverride {
    type Err = String;

    /// `HOST:PORT:ADDR`; ADDR may be an IPv6 address, with or without brackets.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{s:?}: expected HOST:PORT:ADDR"));
        };
        let port = port.parse().map_err(|_| format!("{s:?}: bad port {port:?}"))?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr = addr.parse().map_err(|_| format!("{s:?}: bad address {addr:?}"))?;
        Ok(ResolveOverride { host: host.to_string(), port, addr })
    }
}

/// What a handshake alone showed, no request sent (`openssl s_client`'s view): see [`Client::handshake`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TlsHandshake {
    /// The address the connection went to.
    pub remote_addr: SocketAddr,
    /// Our end of it.
    pub local_addr: SocketAddr,
    /// What was negotiated, and the peer's chain described.
    pub session: SessionInfo,
    /// The certificates the server sent, leaf first, exactly as sent.
    pub chain: Vec<CertificateDer<'static>>,
}

impl Client {
    /// Connect to `url`'s server and run the TLS handshake only, then close: the session and
    /// the chain the server sent, under the client's context (its verification, its resolve
    /// overrides and connect timeout). `tlskit cert show HOST:PORT` is this with verification off.
    pub async fn handshake(&self, url: &str) -> Result<TlsHandshake, ClientError> {
        let target = Target::parse(url)?;
        let mut tracer = FinishOnDrop(None);
        let mut conn = self.connected(&target, &mut tracer, Instant::now()).await?;
        let chain = conn.stream.get_ref().1.peer_certificates().map(|c| c.to_vec()).unwrap_or_default();
        // Say goodbye politely; the server's reaction does not matter any more.
        let _ = conn.stream.shutdown().await;
        Ok(TlsHandshake { remote_addr: conn.remote, local_addr: conn.local, session: conn.session, chain })
    }
}

impl Client {
    /// [`connect`] with this client's overrides, trace and connect timeout, then its post-connection check.
    pub(super) async fn connected(
        &self,
        target: &Target,
        tracer: &mut FinishOnDrop,
        start: Instant,
    ) -> Result<Connected, ClientError> {
        let inner = &self.inner;
        let connecting = connect(target, &inner.resolve, &inner.config, inner.trace.as_ref(), tracer, start);
        let conn = match inner.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, connecting)
                .await
                .map_err(|_| ClientError::Timeout { phase: Phase::Connect, after: limit })??,
            None => connecting.await?,
        };
        if let Some(check) = &inner.check {
            check(&conn.session).map_err(|reason| ClientError::CheckFailed { host: target.host.clone(), reason })?;
        }
        Ok(conn)
    }
}

/// An established TLS connection and what it took to get there.
pub(crate) struct Connected {
    pub stream: TlsStream<Tap<TcpStream>>,
    pub session: SessionInfo,
    /// The server sent a CertificateRequest.
    pub cert_requested: bool,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    /// Cumulative from the start: name resolved, TCP connected, TLS done.
    pub resolved_at: Duration,
    pub connected_at: Duration,
    pub handshaked_at: Duration,
}

pub(crate) async fn resolve(target: &Target, overrides: &[ResolveOverride]) -> Result<Vec<SocketAddr>, ClientError> {
    let forced: Vec<SocketAddr> = overrides
        .iter()
        .filter(|o| o.port == target.port && o.host.eq_ignore_ascii_case(&target.host))
        .map(|o| SocketAddr::new(o.addr, target.port))
        .collect();
    if !forced.is_empty() {
        return Ok(forced);
    }
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let dns = |reason: String| ClientError::Dns { host: target.host.clone(), reason };
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host((target.host.as_str(), target.port)).await.map_err(|e| dns(e.to_string()))?.collect();
    if addrs.is_empty() {
        return Err(dns("no addresses".into()));
    }
    Ok(addrs)
}

/// Resolve, try each address in turn, then run the TLS handshake.
pub(crate) async fn connect(
    target: &Target,
    overrides: &[ResolveOverride],
    config: &Arc<rustls::ClientConfig>,
    trace: Option<&(TraceSink, Arc<SecretLog>)>,
    tracer: &mut FinishOnDrop,
    start: Instant,
) -> Result<Connected, ClientError> {
    let addrs = resolve(target, overrides).await?;
    let resolved_at = start.elapsed();
    let mut last_err = None;
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some((s, addr));
                break;
            }
            Err(source) => last_err = Some(ClientError::Connect { addr, source }),
        }
    }
    let (tcp, remote) = match (tcp, last_err) {
        (Some(found), _) => found,
        (None, Some(err)) => return Err(err),
        (None, None) => return Err(ClientError::Dns { host: target.host.clone(), reason: "no addresses".into() }),
    };
    let _ = tcp.set_nodelay(true);
    let local = tcp.local_addr().unwrap_or(remote);
    let connected_at = start.elapsed();
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| ClientError::Url { url: target.uri.to_string(), reason: format!("bad server name: {e}") })?;
    let sni = matches!(name, ServerName::DnsName(_)).then(|| target.host.clone());
    let tap: Option<Arc<dyn TapSink>> = match trace {
        Some((sink, secrets)) => {
            let t = Arc::new(ConnTracer::new(Direction::ServerToClient, sink.clone(), secrets.clone(), local, remote));
            tracer.0 = Some(t.clone());
            Some(t)
        }
        None => None,
    };
    let handshake = TlsConnector::from(config.clone()).connect(name, Tap::new(tcp, Direction::ServerToClient, tap));
    let (stream, cert_requested) = super::asked::Watch::new(handshake).await;
    let failure =
        Failure { host: &target.host, have_identity: config.client_auth_cert_resolver.has_certs(), cert_requested };
    let stream = stream.map_err(|e| failure.classify_io(e, true))?;
    let handshaked_at = start.elapsed();
    let session = SessionInfo::from_connection(
        stream.get_ref().1,
        sni.as_deref(),
        Some(handshaked_at.saturating_sub(connected_at)),
    );
    Ok(Connected { stream, session, cert_requested, remote, local, resolved_at, connected_at, handshaked_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_default_port_and_ipv6() {
        let t = Target::parse("https://[::1]:8443/a?b=1").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path_and_query.as_str()), ("::1", 8443, "/a?b=1"));
        let t = Target::parse("https://example.com").unwrap();
        assert_eq!((t.port, t.path_and_query.as_str(), t.authority.as_str()), (443, "/", "example.com"));
        assert!(matches!(Target::parse("http://example.com/"), Err(ClientError::Url { .. })));
        assert!(matches!(Target::parse("example.com"), Err(ClientError::Url { .. })));
    }

    #[test]
    fn resolve_overrides_parse() {
        let o: ResolveOverride = "example.com:443:127.0.0.1".parse().unwrap();
        assert_eq!(o.addr, IpAddr::from([127, 0, 0, 1]));
        let o: ResolveOverride = "example.com:443:[::1]".parse().unwrap();
        assert_eq!(o.addr, "::1".parse::<IpAddr>().unwrap());
        assert!("example.com:x:1.2.3.4".parse::<ResolveOverride>().is_err());
        assert!("example.com".parse::<ResolveOverride>().is_err());
    }
}
