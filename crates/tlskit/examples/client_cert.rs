//! HOWTO "using a client certificate": present a certificate and key to a server
//! that asks for one; show what happens without it too.
//!
//! Usage: client_cert URL CA_FILE CERT_FILE KEY_FILE

use tlskit::client::blocking::Client;
use tlskit::context::Context;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, ca, cert, key] = args.as_slice() else {
        return Err("usage: client_cert URL CA_FILE CERT_FILE KEY_FILE".into());
    };
    let base = Context::new().trust(tlskit::pki::load_certs(ca.as_ref())?);

    // With our identity: the certificate chain and its key go into the Context.
    let identity = tlskit::pki::load_identity(cert.as_ref(), Some(key.as_ref()))?;
    let response = Client::new(&base.clone().identity(identity))?.get(url)?;
    println!("with certificate: status {}", response.status.as_u16());
    println!("{}", response.text());

    // Without it, a server that requires one refuses us, and the error names the cause.
    match Client::new(&base)?.get(url) {
        Ok(r) => println!("without certificate: status {}", r.status.as_u16()),
        Err(err) => println!("without certificate: {err}"),
    }
    Ok(())
}
