//! TCP-level robustness on a real capture (ssldump's tls1.2_aes256.pcap): mid-stream starts, lost segments,
//! and connection state freed at FIN.

#[path = "support/captures.rs"]
mod support_captures;

use std::sync::Arc;
use support_captures::captures_dir;

use tlskit_wire::capture::file::{Block, CaptureReader};
use tlskit_wire::capture::{Analyzer, Handler};
use tlskit_wire::dissect::{Event, Summary};
use tlskit_wire::keys::KeyLog;
use tlskit_wire::render::Connection;

/// Every frame of a capture: (link type, time, bytes).
fn frames(path: &str) -> Vec<(u32, tlskit_wire::dissect::Timestamp, Vec<u8>)> {
    let mut reader = CaptureReader::open(&captures_dir().join(path)).unwrap();
    let mut out = Vec::new();
    while let Some(block) = reader.next_block().unwrap() {
        if let Block::Packet { linktype, ts, data } = block {
            out.push((linktype, ts, data.to_vec()));
        }
    }
    out
}

#[derive(Default)]
struct Seen {
    starts: Vec<Connection>,
    gaps: u64,
    resyncs: u64,
    plaintext: Vec<u8>,
    summaries: Vec<Summary>,
}

impl Handler for Seen {
    fn connection_start(&mut self, conn: &Connection) {
        self.starts.push(*conn);
    }
    fn event(&mut self, _: &Connection, e: &Event<'_>) {
        match e {
            Event::Gap { .. } => self.gaps += 1,
            Event::Resync { .. } => self.resyncs += 1,
            Event::ApplicationData { data, .. } => self.plaintext.extend_from_slice(data),
            _ => {}
        }
    }
    fn connection_end(&mut self, _: &Connection, s: &Summary) {
        self.summaries.push(s.clone());
    }
}

fn analyzer() -> Analyzer {
    let log = std::fs::read_to_string(captures_dir().join("ssldump-samples/log.txt")).unwrap();
    Analyzer::new(Arc::new(KeyLog::parse(&log).0))
}

fn run(frames: &[(u32, tlskit_wire::dissect::Timestamp, Vec<u8>)]) -> (Seen, usize) {
    let mut a = analyzer();
    let mut seen = Seen::default();
    for (lt, ts, f) in frames {
        a.packet(*lt, *ts, f, &mut seen);
    }
    let open = a.open_connections();
    a.finish(&mut seen);
    (seen, open)
}

fn payload_len(frame: &[u8]) -> usize {
    // Ethernet + IPv4 + TCP, as in this capture.
    let ip = &frame[14..];
    let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    let ihl = (ip[0] & 15) as usize * 4;
    let tcp_off = (ip[ihl + 12] >> 4) as usize * 4;
    total - ihl - tcp_off
}

#[test]
fn whole_capture_decrypts_and_the_connection_is_freed_after_fin() {
    let mut all = frames("ssldump-samples/tls1.2_aes256.pcap");
    let (_, open) = run(&all);
    assert_eq!(open, 1, "a closed connection lingers a while for late segments");
    // A packet of the last flow's bare ACK, well after the linger time: the closed connection is freed first.
    let (lt, ts, last) = all.last().cloned().unwrap();
    all.push((lt, tlskit_wire::dissect::Timestamp(ts.0 + 4_000_000_000), last));
    let (seen, open) = run(&all);
    assert_eq!(open, 0, "FIN in both directions frees the connection after its linger time");
    assert_eq!(seen.summaries.len(), 1);
    assert_eq!(seen.plaintext.len(), 32);
    assert!(!seen.starts[0].midstream);
}

#[test]
fn capture_without_the_syn_still_decodes_everything() {
    let all = frames("ssldump-samples/tls1.2_aes256.pcap");
    let data: Vec<_> = all.iter().filter(|f| payload_len(&f.2) > 0).cloned().collect();
    let (seen, _) = run(&data);
    assert_eq!(seen.starts.len(), 1);
    assert!(seen.starts[0].midstream);
    assert_eq!(seen.plaintext.len(), 32);
    assert_eq!(seen.summaries[0].stats.records.values().sum::<u64>(), 16);
}

#[test]
fn capture_starting_after_the_hello_resynchronises_and_reports_no_keys() {
    let all = frames("ssldump-samples/tls1.2_aes256.pcap");
    let data: Vec<_> = all.iter().filter(|f| payload_len(&f.2) > 0).cloned().collect();
    // Drop the ClientHello packet, and cut the next packet in the middle of its first record.
    let mut later: Vec<_> = data[1..].to_vec();
    let (lt, ts, frame) = later[0].clone();
    let mut cut = frame.clone();
    // Remove 3 payload bytes right after the TCP header: the stream now starts inside a record.
    let ip_start = 14;
    let ihl = (cut[ip_start] & 15) as usize * 4;
    let tcp_off = (cut[ip_start + ihl + 12] >> 4) as usize * 4;
    let at = ip_start + ihl + tcp_off;
    cut.drain(at..at + 3);
    let total = u16::from_be_bytes([cut[ip_start + 2], cut[ip_start + 3]]) - 3;
    cut[ip_start + 2..ip_start + 4].copy_from_slice(&total.to_be_bytes());
    later[0] = (lt, ts, cut);
    let (seen, _) = run(&later);
    assert_eq!(seen.starts.len(), 1, "still recognised as TLS by its bytes");
    assert!(seen.resyncs >= 1, "skipped to a record boundary");
    assert_eq!(seen.plaintext.len(), 0, "no ClientHello, no client random: nothing to decrypt with");
    assert!(seen.summaries[0].stats.records.values().sum::<u64>() >= 10);
}

#[test]
fn lost_segment_is_reported_as_a_gap_and_decoding_continues() {
    let all = frames("ssldump-samples/tls1.2_aes256.pcap");
    let data_idx: Vec<usize> = (0..all.len()).filter(|&i| payload_len(&all[i].2) > 0).collect();
    // Drop a data segment after the handshake, keeping the rest.
    let drop = data_idx[data_idx.len() - 4];
    let kept: Vec<_> = all.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, f)| f.clone()).collect();
    let (seen, _) = run(&kept);
    assert_eq!(seen.gaps, 1);
    assert_eq!(seen.summaries.len(), 1);
    let records: u64 = seen.summaries[0].stats.records.values().sum();
    assert!((13..16).contains(&records), "records after the gap are still framed: {records}");
    // Decryption picks up again after the gap: the record sequence number is searched for.
    assert_eq!(seen.summaries[0].stats.failed_records, 0);
    assert!(!seen.plaintext.is_empty() && seen.plaintext.len() < 32, "{}", seen.plaintext.len());
}

/// The two TCP payload streams of a single-connection capture (in capture order, no reordering in it).
fn streams(path: &str) -> Vec<(bool, Vec<u8>)> {
    let mut link = tlskit_wire::capture::link::LinkDecoder::default();
    let mut client = None;
    let mut out = Vec::new();
    for (lt, _, frame) in frames(path) {
        if let tlskit_wire::capture::link::Decoded::Segment(s) = link.decode(lt, &frame) {
            let client = *client.get_or_insert(s.src);
            if !s.payload.is_empty() {
                out.push((s.src == client, s.payload.to_vec()));
            }
        }
    }
    out
}

#[test]
fn feeding_one_byte_at_a_time_gives_the_same_result() {
    use tlskit_wire::dissect::{Direction, Dissector, Timestamp};
    let log = std::fs::read_to_string(captures_dir().join("ssldump-samples/log.txt")).unwrap();
    let keys = Arc::new(KeyLog::parse(&log).0);
    for path in ["ssldump-samples/tls1.3_keyupdates_aes256.pcap", "ssldump-samples/tls1.2_aes256.pcap"] {
        let run = |piece: usize| {
            let mut d = Dissector::new(keys.clone());
            let mut plain = Vec::new();
            for (c2s, bytes) in streams(path) {
                let dir = if c2s { Direction::ClientToServer } else { Direction::ServerToClient };
                for chunk in bytes.chunks(piece) {
                    d.feed(dir, chunk, Timestamp(0), &mut |e| {
                        if let Event::ApplicationData { data, .. } = e {
                            plain.extend_from_slice(data);
                        }
                    });
                }
            }
            (d.summary(), plain)
        };
        let (whole, whole_plain) = run(usize::MAX);
        let (bytewise, bytewise_plain) = run(1);
        assert_eq!(whole, bytewise, "{path}");
        assert_eq!(whole_plain, bytewise_plain, "{path}");
        assert!(!whole_plain.is_empty(), "{path}");
    }
}
