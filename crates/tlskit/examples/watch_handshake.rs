//! HOWTO "watching the handshake": a GET whose connection is traced as it happens. The client's own
//! secrets let the decoder read the encrypted part of a TLS 1.3 handshake, so every message shows up,
//! as `tlskit dump` would print it from a capture and a key log; on `/_reneg_/PATH` the server's
//! KeyUpdate shows up too, and the client's answer to it once the client writes again.
//!
//! Usage: watch_handshake CA_FILE URL [URL…]   (fetched in turn by one client)

use std::sync::{Arc, Mutex};

use tlskit::client::blocking::Client;
use tlskit::context::Context;
use tlskit::trace::{TraceEvent, TraceStep};
use tlskit_wire::dissect::Event;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ca, urls @ ..] = args.as_slice() else {
        return Err("usage: watch_handshake CA_FILE URL [URL…]".into());
    };
    let ctx = Context::new().trust(tlskit::pki::load_certs(ca.as_ref())?);
    // The observer is a closure that receives owned events; here it keeps them for later.
    let seen: Arc<Mutex<Vec<TraceEvent>>> = Arc::default();
    let keep = seen.clone();
    let client = Client::from_builder(
        tlskit::client::Client::builder(&ctx).trace(Arc::new(move |event| keep.lock().unwrap().push(event))),
    )?;
    for url in urls {
        let response = client.get(url)?;
        println!("{url}: status {}", response.status.as_u16());
    }
    drop(client); // closes the connection: its trace ends
                  // Connections overlap (the first may still be closing when the second starts): one at a time.
    let mut events = std::mem::take(&mut *seen.lock().unwrap());
    events.sort_by_key(|event| event.conn.id);
    for event in &events {
        match &event.step {
            TraceStep::Start => println!("connection {} to {}", event.conn.id, event.conn.server),
            TraceStep::Event(Event::Handshake { dir, msg_type, length, encrypted, .. }) => {
                let how = if *encrypted { "decrypted" } else { "in the clear" };
                println!("  {} {} ({length} bytes, {how})", dir.arrow(), msg_type.name());
            }
            TraceStep::Event(Event::Alert { dir, alert: Some(alert), .. }) => {
                println!("  {} alert {}", dir.arrow(), alert.description.name());
            }
            TraceStep::Event(_) => {}
            TraceStep::End(summary) => {
                let suite = summary.cipher_suite.map(|s| s.name()).unwrap_or("-");
                println!("end: {suite}, resumed={}", summary.resumed);
            }
        }
    }
    Ok(())
}
