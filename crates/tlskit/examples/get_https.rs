//! HOWTO "a simple HTTPS GET": fetch a URL, verify the server against a CA file
//! (or the system roots), and print what the handshake negotiated and the body.
//!
//! Usage: get_https URL [CA_FILE]

use tlskit::client::blocking::Client;
use tlskit::context::Context;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: get_https URL [CA_FILE]")?;
    // Trust: our own CA if given, else the operating system's roots. Verification is on by default.
    let ctx = match args.next() {
        Some(ca) => Context::new().trust(tlskit::pki::load_certs(ca.as_ref())?),
        None => Context::new().trust_system_roots(true),
    };
    let client = Client::new(&ctx)?;
    let response = client.get(&url)?;
    // Every response carries the SessionInfo of the connection it came over.
    let s = &response.session;
    println!("status: {}", response.status.as_u16());
    println!("tls: {} {} resumed={}", s.version, s.cipher_suite, s.resumed);
    if let Some(leaf) = s.peer_leaf() {
        println!("server certificate: {}", leaf.subject);
    }
    println!("body: {} bytes", response.body.len());
    println!("{}", response.text());
    Ok(())
}
