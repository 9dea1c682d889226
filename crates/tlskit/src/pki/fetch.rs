//! Fetching the certificate chain a TLS server sends, with verification off,
//! so that a broken chain can still be shown and then judged by [`super::verify_chain`].

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::ClientConnection;

use super::PkiError;
use crate::context::Context;
use crate::session::SessionInfo;

/// What one handshake with a server showed.
#[derive(Clone, Debug)]
pub struct FetchedChain {
    /// The address the connection went to.
    pub peer: SocketAddr,
    /// The certificates the server sent, leaf first, exactly as sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// What the handshake negotiated.
    pub session: SessionInfo,
}

/// Split `HOST:PORT` (`[::1]:443` for IPv6) into host and port.
pub fn split_host_port(target: &str) -> Option<(&str, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if host.is_empty() || host.contains(':') && !target.starts_with('[') {
        return None;
    }
    Some((host, port.parse().ok()?))
}

/// Connect to `host:port`, handshake (SNI `server_name`, else `host` unless it is an IP address)
/// without verifying, and return the chain the server sent.
pub fn fetch_chain(
    host: &str,
    port: u16,
    server_name: Option<&str>,
    timeout: Duration,
) -> Result<FetchedChain, PkiError> {
    let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let fail = |reason: String| PkiError::Fetch { target: target.clone(), reason };
    let name = server_name.unwrap_or(host);
    let sni = ServerName::try_from(name.to_string()).map_err(|_| fail(format!("bad server name {name:?}")))?;
    let config = Context::new().dangerous_disable_verification().client_config().map_err(|e| fail(e.to_string()))?;

    let addrs: Vec<SocketAddr> =
        (host, port).to_socket_addrs().map_err(|e| fail(format!("cannot resolve: {e}")))?.collect();
    let mut last_error = String::from("no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some((s, addr));
                break;
            }
            Err(e) => last_error = format!("{addr}: {e}"),
        }
    }
    let (mut sock, peer) = stream.ok_or_else(|| fail(last_error))?;
    let io = |e: std::io::Error| fail(e.to_string());
    sock.set_read_timeout(Some(timeout)).map_err(io)?;
    sock.set_write_timeout(Some(timeout)).map_err(io)?;

    let mut conn = ClientConnection::new(Arc::clone(&config), sni).map_err(|e| fail(e.to_string()))?;
    let started = Instant::now();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| fail(format!("handshake failed: {e}")))?;
    }
    let elapsed = started.elapsed();
    let chain: Vec<CertificateDer<'static>> =
        conn.peer_certificates().map(|c| c.iter().map(|d| d.clone().into_owned()).collect()).unwrap_or_default();
    let sni_sent = match ServerName::try_from(name) {
        Ok(ServerName::DnsName(_)) => Some(name),
        _ => None,
    };
    let session = SessionInfo::from_connection(&conn, sni_sent, Some(elapsed));
    // Say goodbye politely; the server's reaction does not matter any more.
    conn.send_close_notify();
    let _ = conn.write_tls(&mut sock);
    let _ = sock.flush();
    Ok(FetchedChain { peer, chain, session })
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("localhost:443"), Some(("localhost", 443)));
        assert_eq!(split_host_port("[::1]:8443"), Some(("::1", 8443)));
        assert_eq!(split_host_port("127.0.0.1:1"), Some(("127.0.0.1", 1)));
        assert_eq!(split_host_port("::1:443"), None);
        assert_eq!(split_host_port("localhost"), None);
        assert_eq!(split_host_port("host:http"), None);
    }
}
