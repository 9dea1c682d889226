//! HOWTO "a multi-threaded client": N threads share one Context (one client,
//! one session cache), each making M requests; count the resumed handshakes.
//!
//! Usage: threaded_client URL CA_FILE [THREADS] [REQUESTS_PER_THREAD]

use std::thread;

use tlskit::client::blocking::Client;
use tlskit::context::Context;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(ca)) = (args.first(), args.get(1)) else {
        return Err("usage: threaded_client URL CA_FILE [THREADS] [REQUESTS_PER_THREAD]".into());
    };
    let threads: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(4);
    let per_thread: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5);

    let ctx = Context::new().trust(tlskit::pki::load_certs(ca.as_ref())?);
    let client = Client::new(&ctx)?;
    let mut workers = Vec::new();
    for _ in 0..threads {
        // A clone shares the session cache; it brings its own small runtime for its thread.
        let client = client.try_clone()?;
        let url = url.clone();
        workers.push(thread::spawn(move || {
            let mut resumed = Vec::new();
            for _ in 0..per_thread {
                match client.get(&url) {
                    Ok(r) => resumed.push(Ok(r.session.resumed)),
                    Err(e) => resumed.push(Err(e.to_string())),
                }
            }
            resumed
        }));
    }
    let (mut full, mut resumed, mut failed) = (0, 0, 0);
    for worker in workers {
        for outcome in worker.join().map_err(|_| "a worker thread panicked")? {
            match outcome {
                Ok(true) => resumed += 1,
                Ok(false) => full += 1,
                Err(e) => {
                    eprintln!("request failed: {e}");
                    failed += 1;
                }
            }
        }
    }
    println!("threads: {threads}, requests: {}", threads * per_thread);
    println!("full handshakes: {full}");
    println!("resumed handshakes: {resumed}");
    println!("failed: {failed}");
    Ok(())
}
