//! HOWTO "controlling session reuse": the same server with the session cache
//! off, the cache on (no tickets), and tickets on; a client connects twice to
//! each, over TLS 1.2 and 1.3, and we print which second handshakes resumed.
//!
//! Usage: session_reuse_control   (self-contained: a throwaway CA and servers on 127.0.0.1)

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tlskit::client::Client;
use tlskit::context::{Context, TlsVersion};
use tlskit::files::{FileOptions, FileService};
use tlskit::server::{Server, ServerOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pki = tlskit::pki::ephemeral_server(&[])?;
    let ca: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()).collect::<Result<_, _>>()?;
    // An empty directory to serve: the pages do not matter here, the handshakes do.
    let dir = std::env::temp_dir().join(format!("tlskit-session-reuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let files = FileService::new(&dir, FileOptions::default())?;

    let policies: [(&str, usize, bool); 4] = [
        ("cache off, tickets off", 0, false),
        ("cache on,  tickets off", 256, false),
        ("cache off, tickets on ", 0, true),
        ("cache on,  tickets on ", 256, true),
    ];
    for (name, cache, tickets) in policies {
        for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
            // Server side: the reuse policy lives in the Context.
            let context = Context::new().identity(pki.identity.clone()).session_cache(cache).tickets(tickets);
            let options = ServerOptions::new("127.0.0.1:0".parse()?, context, files.clone(), Arc::new(|_| {}));
            let server = Server::bind(options)?;
            let url = format!("https://localhost:{}/", server.local_addr().port());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let running = tokio::spawn(server.run(async {
                let _ = stopped.await;
            }));

            // Client side: a fresh client (and session cache) per server, two connections.
            let client = Client::new(&Context::new().versions(&[version]).trust(ca.clone()))?;
            let first = client.get(&url).await?;
            let second = client.get(&url).await?;
            let word = |resumed: bool| if resumed { "resumed" } else { "full" };
            println!(
                "{name} {}: first {}, second {}",
                version,
                word(first.session.resumed),
                word(second.session.resumed)
            );
            let _ = stop.send(());
            running.await??;
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
