//! HOWTO "an asynchronous HTTPS server" (the Medusa server): serve a directory
//! with every connection a task on a multi-thread runtime; HTTP/2 or 1.1 by ALPN.
//!
//! Usage: async_https_server DIR CERT_FILE KEY_FILE [ADDR]   (ADDR defaults to 127.0.0.1:0)
//! Prints "listening on https://ADDR/" once ready; stops on Ctrl-C.

use std::sync::Arc;

use tlskit::context::Context;
use tlskit::files::{FileOptions, FileService};
use tlskit::server::{Model, Server, ServerEvent, ServerOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(cert), Some(key)) = (args.first(), args.get(1), args.get(2)) else {
        return Err("usage: async_https_server DIR CERT_FILE KEY_FILE [ADDR]".into());
    };
    let addr = args.get(3).map(String::as_str).unwrap_or("127.0.0.1:0").parse()?;

    let identity = tlskit::pki::load_identity(cert.as_ref(), Some(key.as_ref()))?;
    let context = Context::new().identity(identity).alpn(&["h2", "http/1.1"]);
    let files = FileService::new(dir, FileOptions::default())?;
    let events = Arc::new(|event: ServerEvent| {
        if let ServerEvent::Access(r) = event {
            println!(
                "{} \"{} {} {}\" {} alpn={} resumed={}",
                r.peer,
                r.method,
                r.target,
                r.http_version,
                r.status,
                r.session.alpn.as_deref().unwrap_or("-"),
                r.session.resumed
            );
        }
    });
    let mut options = ServerOptions::new(addr, context, files, events);
    options.model = Model::Async; // connections are tasks on this runtime
    let server = Server::bind(options)?;
    println!("listening on https://{}/", server.local_addr());
    server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
