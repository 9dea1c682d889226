//! Prints every dissector event of a capture (a debugging aid): `events FILE [KEYLOG]`.

use std::sync::{Arc, RwLock};

use tlskit_wire::capture::{self, file::CaptureReader, Analyzer, Handler};
use tlskit_wire::dissect::{Event, Summary};
use tlskit_wire::keys::KeyLog;
use tlskit_wire::render::Connection;

struct Print;

impl Handler for Print {
    fn connection_start(&mut self, c: &Connection) {
        println!("start {c:?}");
    }
    fn event(&mut self, c: &Connection, e: &Event<'_>) {
        let text = format!("{e:?}");
        println!("{} {}", c.id, &text[..text.len().min(300)]);
    }
    fn connection_end(&mut self, c: &Connection, s: &Summary) {
        println!("end {} {s:?}", c.id);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let log = Arc::new(RwLock::new(KeyLog::new()));
    if let Some(path) = args.get(2) {
        log.write().map_err(|_| "lock")?.merge(KeyLog::parse(&std::fs::read_to_string(path)?).0);
    }
    let mut reader = CaptureReader::open(std::path::Path::new(args.get(1).ok_or("usage: events FILE [KEYLOG]")?))?;
    let mut analyzer = Analyzer::new(log.clone());
    let report = capture::run(&mut reader, &mut analyzer, &mut |_| {}, &mut Print);
    println!("{report:?}");
    Ok(())
}
