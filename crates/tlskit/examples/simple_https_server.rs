//! HOWTO "a simple HTTPS server" (SimpleHTTPSServer): serve a directory, one OS
//! thread per connection, and print one line per request.
//!
//! Usage: simple_https_server DIR CERT_FILE KEY_FILE [ADDR]   (ADDR defaults to 127.0.0.1:0)
//! Prints "listening on https://ADDR/" once ready; stops on Ctrl-C.

use std::sync::Arc;

use tlskit::context::Context;
use tlskit::files::{FileOptions, FileService};
use tlskit::server::{Model, Server, ServerEvent, ServerOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(cert), Some(key)) = (args.first(), args.get(1), args.get(2)) else {
        return Err("usage: simple_https_server DIR CERT_FILE KEY_FILE [ADDR]".into());
    };
    let addr = args.get(3).map(String::as_str).unwrap_or("127.0.0.1:0").parse()?;

    // The server's identity goes into the same Context type the clients use.
    let identity = tlskit::pki::load_identity(cert.as_ref(), Some(key.as_ref()))?;
    let context = Context::new().identity(identity);
    let files = FileService::new(dir, FileOptions::default())?;
    // The library never prints: it hands each event to us.
    let events = Arc::new(|event: ServerEvent| match event {
        ServerEvent::Access(r) => println!(
            "{} \"{} {}\" {} {} resumed={}",
            r.peer, r.method, r.target, r.status, r.session.version, r.session.resumed
        ),
        ServerEvent::Connection { peer, stage, error } => println!("{peer}: {stage}: {error}"),
        ServerEvent::Store(e) => println!("store: {e}"),
        ServerEvent::Trace { .. } => {}
    });
    let mut options = ServerOptions::new(addr, context, files, events);
    options.model = Model::Threads; // blocking style: a thread per connection
    let server = Server::bind(options)?;
    println!("listening on https://{}/", server.local_addr());

    // The accept loop itself runs on a small runtime; each connection gets its own thread.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(server.run(async {
        let _ = tokio::signal::ctrl_c().await;
    }))?;
    Ok(())
}
