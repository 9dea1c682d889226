//! The capture reader: arbitrary bytes as a pcap/pcapng file, read to the end and every packet decoded
//! (link layer, IP, TCP reassembly, TLS) as `tlskit dump` does.
#![no_main]

use std::io::Cursor;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use tlskit_wire::capture::{self, file::CaptureReader, Analyzer, Handler};
use tlskit_wire::render::Connection;
use tlskit_wire::dissect::{Event, Summary};
use tlskit_wire::keys::KeyLog;

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

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(Box::new(Cursor::new(data.to_vec()))) else { return };
    let mut analyzer = Analyzer::new(Arc::new(KeyLog::new()));
    let mut handler = Count(0);
    let _report = capture::run(&mut reader, &mut analyzer, &mut |text| drop(KeyLog::parse_bytes(text)), &mut handler);
});
