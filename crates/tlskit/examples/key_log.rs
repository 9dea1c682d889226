//! HOWTO "key logs": write the session secrets of a GET to an NSS key log file (what browsers write to
//! `SSLKEYLOGFILE`), then list what the file holds. With it, `tlskit dump --keylog FILE`, Wireshark or
//! tshark decrypt a capture of that connection.
//!
//! Usage: key_log URL CA_FILE KEY_LOG_FILE

use std::sync::Arc;

use tlskit::client::blocking::Client;
use tlskit::context::Context;
use tlskit::trace::KeyLogWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, ca, file] = args.as_slice() else {
        return Err("usage: key_log URL CA_FILE KEY_LOG_FILE".into());
    };
    let log = Arc::new(KeyLogWriter::open(file)?);
    let ctx = Context::new().trust(tlskit::pki::load_certs(ca.as_ref())?);
    let client = Client::from_builder(tlskit::client::Client::builder(&ctx).key_log(log))?;
    let response = client.get(url)?;
    println!("status: {} over {}", response.status.as_u16(), response.session.version);
    // One line per secret: LABEL CLIENT_RANDOM SECRET, both in hex.
    for line in std::fs::read_to_string(file)?.lines() {
        let mut fields = line.split(' ');
        let (Some(label), Some(random), Some(secret)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        println!("{label} client random {}… secret of {} bytes", &random[..16], secret.len() / 2);
    }
    Ok(())
}
