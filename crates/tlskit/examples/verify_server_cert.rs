//! HOWTO "verifying the server certificate": connect trusting the right CA and
//! show the verified chain; then trusting another CA and show the refusal.
//!
//! Usage: verify_server_cert URL CA_FILE OTHER_CA_FILE

use tlskit::client::blocking::Client;
use tlskit::client::ClientError;
use tlskit::context::Context;

fn fetch(url: &str, ca: &str) -> Result<tlskit::client::Response, ClientError> {
    let roots = tlskit::pki::load_certs(ca.as_ref()).map_err(|e| ClientError::Http(e.to_string()))?;
    Client::new(&Context::new().trust(roots))?.get(url)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, ca, other_ca] = args.as_slice() else {
        return Err("usage: verify_server_cert URL CA_FILE OTHER_CA_FILE".into());
    };
    // 1. The server's CA is trusted: the chain and the host name verify.
    let response = fetch(url, ca)?;
    println!("trusting {ca}: verified");
    for (depth, cert) in response.session.peer_certificates.iter().enumerate() {
        println!("  {depth}: subject {} (issuer {})", cert.subject, cert.issuer);
        println!("     valid until {}, names {}", cert.not_after, cert.subject_alt_names.join(", "));
    }
    // 2. Only another CA is trusted: the handshake is refused, and the error says why.
    match fetch(url, other_ca) {
        Ok(_) => println!("trusting {other_ca}: unexpectedly verified"),
        Err(err @ ClientError::UnknownIssuer { .. }) => println!("trusting {other_ca}: refused: {err}"),
        Err(err) => println!("trusting {other_ca}: failed otherwise: {err}"),
    }
    Ok(())
}
