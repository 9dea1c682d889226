//! HOWTO "your own verification": a hook that sees the chain and the built-in verdict and has the
//! last word. First no CA is trusted and the hook allows an unknown issuer (M2Crypto's
//! `set_allow_unknown_ca`); then the CA is trusted and the hook refuses certificates that live longer
//! than 90 days.
//!
//! Usage: verify_hook URL CA_FILE

use std::sync::{Arc, Mutex};

use tlskit::client::blocking::Client;
use tlskit::context::Context;
use tlskit::pki::CertificateReason;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, ca] = args.as_slice() else {
        return Err("usage: verify_hook URL CA_FILE".into());
    };
    // 1. No trusted CA: the built-in verdict is "unknown issuer", and the hook overrules it.
    let overruled = Arc::new(Mutex::new(Vec::new()));
    let seen = overruled.clone();
    let allow_unknown_ca = Context::new().verify_with(move |peer| match &peer.verdict {
        Err(CertificateReason::UnknownIssuer) => {
            let leaf = peer.summaries().remove(0);
            seen.lock().unwrap().push(format!("{} (issuer {})", leaf.subject, leaf.issuer));
            Ok(())
        }
        verdict => verdict.clone(),
    });
    let response = Client::new(&allow_unknown_ca)?.get(url)?;
    println!("no trusted CA: {} {}", response.status, response.session.version);
    for chain in overruled.lock().unwrap().iter() {
        println!("  unknown issuer allowed by the hook: {chain}");
    }
    // 2. The CA is trusted, so the chain verifies; the hook still refuses a long-lived leaf.
    let roots = tlskit::pki::load_certs(ca.as_ref())?;
    let short_lived_only = Context::new().trust(roots).verify_with(|peer| {
        peer.verdict.clone()?;
        let leaf = peer.summaries().remove(0);
        let days = (leaf.not_after_unix - leaf.not_before_unix) / 86_400;
        if days > 90 {
            return Err(CertificateReason::Hook(format!("valid for {days} days, more than 90")));
        }
        Ok(())
    });
    match Client::new(&short_lived_only)?.get(url) {
        Ok(response) => println!("trusting {ca}: {}", response.status),
        Err(err) => println!("trusting {ca}: refused: {err}"),
    }
    Ok(())
}
