//! HOWTO "an async client that reuses sessions": one request to get a session,
//! then M concurrent requests over one client; print how many resumed.
//!
//! Usage: async_session_reuse URL CA_FILE [CONCURRENT]

use tlskit::client::Client;
use tlskit::context::Context;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(ca)) = (args.first(), args.get(1)) else {
        return Err("usage: async_session_reuse URL CA_FILE [CONCURRENT]".into());
    };
    let concurrent: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(8);
    // TLS 1.2 here: one session ID is good for many connections at once. (A TLS 1.3 ticket
    // is used once; the server sends only a few, so concurrent resumptions are limited.)
    let ctx =
        Context::new().versions(&[tlskit::context::TlsVersion::Tls12]).trust(tlskit::pki::load_certs(ca.as_ref())?);
    let client = Client::new(&ctx)?;

    let first = client.get(url).await?;
    println!("first: {}", if first.session.resumed { "resumed" } else { "full" });

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrent {
        let client = client.clone(); // clones share the session cache
        let url = url.clone();
        tasks.spawn(async move { client.get(&url).await });
    }
    let (mut full, mut resumed) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let response = done??;
        if response.session.resumed {
            resumed += 1;
        } else {
            full += 1;
        }
    }
    println!("concurrent: {concurrent}");
    println!("full: {full}");
    println!("resumed: {resumed}");
    Ok(())
}
