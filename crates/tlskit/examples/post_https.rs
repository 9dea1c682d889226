//! HOWTO "POSTing over HTTPS": send a form body and print the server's answer.
//!
//! Usage: post_https URL CA_FILE [BODY]   (BODY defaults to a small form)

use tlskit::client::blocking::Client;
use tlskit::context::Context;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(ca)) = (args.next(), args.next()) else {
        return Err("usage: post_https URL CA_FILE [BODY]".into());
    };
    let body = args.next().unwrap_or_else(|| "name=tlskit&howto=m2crypto".to_string());
    let ctx = Context::new().trust(tlskit::pki::load_certs(ca.as_ref())?);
    let client = Client::new(&ctx)?;
    let response = client.post(&url, "application/x-www-form-urlencoded", body.clone())?;
    println!("sent: {} bytes", body.len());
    println!("status: {}", response.status.as_u16());
    println!("tls: {} {}", response.session.version, response.session.cipher_suite);
    println!("{}", response.text());
    Ok(())
}
