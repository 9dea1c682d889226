//! HOWTO "requiring client certificates" (server side): only clients with a
//! certificate from CA_FILE get through the handshake; print who each one is.
//!
//! Usage: client_cert_auth DIR CERT_FILE KEY_FILE CA_FILE [ADDR]
//! Prints "listening on https://ADDR/" once ready; stops on Ctrl-C.

use std::sync::Arc;

use tlskit::context::{ClientAuth, Context};
use tlskit::files::{FileOptions, FileService};
use tlskit::server::{Server, ServerEvent, ServerOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(cert), Some(key), Some(ca)) = (args.first(), args.get(1), args.get(2), args.get(3)) else {
        return Err("usage: client_cert_auth DIR CERT_FILE KEY_FILE CA_FILE [ADDR]".into());
    };
    let addr = args.get(4).map(String::as_str).unwrap_or("127.0.0.1:0").parse()?;

    let identity = tlskit::pki::load_identity(cert.as_ref(), Some(key.as_ref()))?;
    // trust() on a server means: the CAs client certificates must chain to.
    let context = Context::new()
        .identity(identity)
        .trust(tlskit::pki::load_certs(ca.as_ref())?)
        .client_auth(ClientAuth::Required);
    let files = FileService::new(dir, FileOptions::default())?;
    let events = Arc::new(|event: ServerEvent| match event {
        ServerEvent::Access(r) => {
            println!("{} {} {} client={}", r.method, r.target, r.status, r.client_subject().unwrap_or("(none)"))
        }
        // A client without an acceptable certificate never gets past the handshake.
        ServerEvent::Connection { peer, stage, error } => println!("refused {peer} at {stage}: {error}"),
        ServerEvent::Trace { .. } | ServerEvent::Store(_) => {}
    });
    let server = Server::bind(ServerOptions::new(addr, context, files, events))?;
    println!("listening on https://{}/", server.local_addr());
    server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
