//! Fetching the certificate chain a TLS server sends, with verification off,
//! so that a broken chain can still be shown and then judged by [`super::verify_chain`].

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use super::PkiError;
use crate::client::{blocking, Client, ResolveOverride};
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
/// without verifying, and return the chain the server sent. This is the library client's
/// [`handshake`](crate::client::Client::handshake) with verification off; it blocks (from async
/// code, call that instead).
pub fn fetch_chain(
    host: &str,
    port: u16,
    server_name: Option<&str>,
    timeout: Duration,
) -> Result<FetchedChain, PkiError> {
    let bracketed = |h: &str| if h.contains(':') { format!("[{h}]") } else { h.to_string() };
    let target = format!("{}:{port}", bracketed(host));
    let fail = |reason: String| PkiError::Fetch { target: target.clone(), reason };
    let name = server_name.unwrap_or(host);
    let ctx = Context::new().dangerous_disable_verification();
    let mut builder = Client::builder(&ctx).connect_timeout(Some(timeout)).timeout(Some(timeout));
    if name != host {
        // Connect to `host`, name `server_name`: the client's --resolve, to the first address of host.
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| fail(format!("cannot resolve: {e}")))?
            .next()
            .ok_or_else(|| fail("cannot resolve: no address".into()))?;
        builder = builder.resolve(ResolveOverride { host: name.to_string(), port, addr: addr.ip() });
    }
    let client = blocking::Client::from_builder(builder).map_err(|e| fail(e.to_string()))?;
    let shaken = client.handshake(&format!("https://{}:{port}/", bracketed(name))).map_err(|e| fail(e.to_string()))?;
    Ok(FetchedChain { peer: shaken.remote_addr, chain: shaken.chain, session: shaken.session })
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
