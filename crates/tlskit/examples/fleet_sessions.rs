//! HOWTO "a fleet sharing sessions": two servers that share their ticket keys and session cache through
//! Redis; a client's second connection goes to the other server and still resumes.
//!
//! Usage: fleet_sessions REDIS_URL CERT_FILE KEY_FILE CA_FILE

use std::sync::Arc;

use tlskit::client::Client;
use tlskit::context::{Context, TlsVersion};
use tlskit::files::{FileOptions, FileService};
use tlskit::server::{Server, ServerOptions};
use tlskit::store::{StoreOptions, Stores};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [redis, cert, key, ca] = args.as_slice() else {
        return Err("usage: fleet_sessions REDIS_URL CERT_FILE KEY_FILE CA_FILE".into());
    };
    let identity = tlskit::pki::load_identity(cert.as_ref(), Some(key.as_ref()))?;
    let files = FileService::new(std::env::current_dir()?, FileOptions::default())?;
    let mut urls = Vec::new();
    let mut stops = Vec::new();
    for id in ["web-1", "web-2"] {
        let context = Context::new().identity(identity.clone());
        // Each server has stores of its own; what they share is in Redis.
        let options = StoreOptions {
            session_store: Some(redis.clone()),
            server_id: id.into(),
            store_timeout: std::time::Duration::from_millis(200),
            ..StoreOptions::default()
        };
        let stores = Stores::start(options, &context, Arc::new(|event| eprintln!("store: {event}"))).await?;
        let mut server = ServerOptions::new("127.0.0.1:0".parse()?, context, files.clone(), Arc::new(|_| {}));
        server.stores = Some(stores);
        let server = Server::bind(server)?;
        urls.push((id, format!("https://localhost:{}/", server.local_addr().port())));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        stops.push(stop);
    }
    // One client, one session cache; over TLS 1.2 and 1.3 in turn.
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let client = Client::new(&Context::new().versions(&[version]).trust(tlskit::pki::load_certs(ca.as_ref())?))?;
        for (id, url) in &urls {
            let response = client.get(url).await?;
            let how = if response.session.resumed { "resumed" } else { "full" };
            println!("{version} {id}: {} {how}", response.status.as_u16());
        }
    }
    for stop in stops {
        let _ = stop.send(());
    }
    Ok(())
}
