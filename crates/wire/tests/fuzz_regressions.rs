//! Inputs that once crashed a fuzz target (fuzz/), replayed through the same code as the target. Each file under
//! tests/fuzz_regressions/<target>/ is one input; a panic here is a regression.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

use tlskit_wire::capture::{self, file::CaptureReader, Analyzer, Handler};
use tlskit_wire::dissect::{Direction, Dissector, Event, Summary, Timestamp};
use tlskit_wire::keys::KeyLog;
use tlskit_wire::render::Connection;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz_regressions")).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read regression input");
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

struct Count(usize);

impl Handler for Count {
    fn connection_start(&mut self, _: &Connection) {
        self.0 += 1;
    }
    fn event(&mut self, _: &Connection, _: &Event<'_>) {
        self.0 += 1;
    }
    fn connection_end(&mut self, _: &Connection, _: &Summary) {
        self.0 += 1;
    }
}

/// fuzz/fuzz_targets/capture.rs: the bytes as a capture file, read to the end.
#[test]
fn capture_reader_regressions() {
    let files = inputs("capture");
    assert!(!files.is_empty(), "the pcapng timestamp overflow input must be here");
    for (path, data) in files {
        let Ok(mut reader) = CaptureReader::new(Box::new(Cursor::new(data))) else { continue };
        let mut analyzer = Analyzer::new(Arc::new(KeyLog::new()));
        let mut handler = Count(0);
        let report =
            capture::run(&mut reader, &mut analyzer, &mut |text| drop(KeyLog::parse_bytes(text)), &mut handler);
        println!("{}: {} packets, error {:?}", path.display(), report.packets, report.error);
    }
}

/// fuzz/fuzz_targets/record.rs: chunks of [u16 LE dir|len][bytes] fed to one dissector.
#[test]
fn record_decoder_regressions() {
    for (_, data) in inputs("record") {
        let mut dissector = Dissector::new(Arc::new(KeyLog::new()));
        let mut rest = &data[..];
        while rest.len() >= 2 {
            let head = u16::from_le_bytes([rest[0], rest[1]]);
            let dir = if head & 0x8000 != 0 { Direction::ServerToClient } else { Direction::ClientToServer };
            let len = usize::from(head & 0x7fff).min(rest.len() - 2);
            dissector.feed(dir, &rest[2..2 + len], Timestamp(0), &mut |_| {});
            rest = &rest[2 + len..];
        }
    }
}
