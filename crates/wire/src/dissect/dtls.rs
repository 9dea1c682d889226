//! DTLS 1.0/1.2 in the dissector: datagrams split into records, each protected one decrypted on its own with
//! the epoch and sequence number its header carries (datagrams may be lost or reordered), and handshake
//! fragments reassembled by message_seq, retransmissions dropped. The records then go the way TLS records
//! go (`Dissector::record`), and the messages where TLS messages go (`messages.rs`), so both give the same
//! events. DTLS 1.3 ciphertext (unified header) is reported as not decrypted.

use std::collections::VecDeque;

use super::{Direction, Dissector, Event, Layer, Timestamp, UndecryptedReason};
use crate::codec::Reader;
use crate::dtls::{self, DtlsRecordHeader, HandshakeFragment};
use crate::handshake::HandshakeType;

/// Messages remembered as delivered, per direction (a flight is a handful; a renegotiation adds one).
const MAX_DONE: usize = 64;
/// Messages being reassembled at once, per direction.
const MAX_PARTIAL: usize = 8;
/// Largest handshake message reassembled (as over TCP).
const MAX_MESSAGE_LEN: usize = 1 << 20;

/// A DTLS association's record-layer state.
#[derive(Default)]
pub(super) struct DtlsState {
    reassembly: [Reassembly; 2],
    /// A DTLS 1.3 ciphertext record was reported in this direction.
    unified_reported: [bool; 2],
}

/// One handshake message: its epoch, number and type (a retransmission repeats all three).
type MessageKey = (u16, u16, HandshakeType);

/// One direction's handshake reassembly.
#[derive(Default)]
struct Reassembly {
    /// Messages delivered, the most recent [`MAX_DONE`]: their retransmissions are dropped.
    done: VecDeque<MessageKey>,
    /// Messages of which only some bytes came.
    partial: Vec<Partial>,
}

struct Partial {
    key: MessageKey,
    /// The message as hashed: the whole-message header, then the body as far as it came.
    message: Vec<u8>,
    /// The body ranges received, sorted and disjoint.
    have: Vec<(usize, usize)>,
}

/// What a fragment completes.
enum Fragment<'a> {
    /// Nothing yet, or a retransmission of a message already read.
    Nothing,
    /// A message, whole in the fragment.
    Whole(&'a [u8]),
    /// A message joined from fragments.
    Joined(Vec<u8>),
    /// A fragment that contradicts its message or is too long.
    Bad(String),
}

impl Reassembly {
    fn fragment<'a>(&mut self, epoch: u16, f: &HandshakeFragment<'a>) -> Fragment<'a> {
        let key = (epoch, f.message_seq, f.msg_type);
        if self.done.contains(&key) {
            return Fragment::Nothing;
        }
        if !f.fits() {
            return Fragment::Bad(format!(
                "{} fragment at {} of {} bytes past its length {}",
                f.msg_type.name(),
                f.offset,
                f.body.len(),
                f.length
            ));
        }
        if f.is_whole() {
            self.partial.retain(|p| p.key != key);
            self.delivered(key);
            return Fragment::Whole(f.raw);
        }
        if f.length > MAX_MESSAGE_LEN {
            return Fragment::Bad(format!("{} of {} bytes not reassembled", f.msg_type.name(), f.length));
        }
        let header = dtls::whole_message_header(f.msg_type, f.length, f.message_seq);
        let at = match self.partial.iter().position(|p| p.key == key) {
            Some(at) if self.partial[at].message.len() == header.len() + f.length => at,
            found => {
                // A new message (or one whose length changed: begin it again).
                if let Some(at) = found {
                    self.partial.remove(at);
                }
                if self.partial.len() >= MAX_PARTIAL {
                    self.partial.remove(0);
                }
                let mut message = vec![0; header.len() + f.length];
                message[..header.len()].copy_from_slice(&header);
                self.partial.push(Partial { key, message, have: Vec::new() });
                self.partial.len() - 1
            }
        };
        let p = &mut self.partial[at];
        let start = dtls::HS_HEADER_LEN + f.offset;
        p.message[start..start + f.body.len()].copy_from_slice(f.body);
        add_range(&mut p.have, (f.offset, f.offset + f.body.len()));
        if p.have != [(0, f.length)] {
            return Fragment::Nothing;
        }
        let p = self.partial.remove(at);
        self.delivered(key);
        Fragment::Joined(p.message)
    }

    fn delivered(&mut self, key: MessageKey) {
        if self.done.len() >= MAX_DONE {
            self.done.pop_front();
        }
        self.done.push_back(key);
    }
}

/// Adds `r` to sorted disjoint ranges, merging what touches or overlaps it.
fn add_range(have: &mut Vec<(usize, usize)>, r: (usize, usize)) {
    if r.0 == r.1 {
        return;
    }
    let (mut start, mut end) = r;
    have.retain(|&(s, e)| {
        let apart = e < start || s > end;
        if !apart {
            start = start.min(s);
            end = end.max(e);
        }
        apart
    });
    let at = have.partition_point(|&(s, _)| s < start);
    have.insert(at, (start, end));
}

impl Dissector {
    /// Feeds one UDP datagram of a DTLS association (it may hold several records); events go to `sink`.
    /// A dissector fed datagrams reads DTLS; feed it nothing else.
    pub fn datagram(&mut self, dir: Direction, data: &[u8], ts: Timestamp, sink: &mut dyn FnMut(&Event<'_>)) {
        if !dtls::is_dtls_datagram(data) {
            return;
        }
        self.tls = true;
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            if let Some(len) = dtls::unified_record_len(rest) {
                self.record_number += 1;
                self.stats.undecrypted_records += 1;
                let state = self.dtls.get_or_insert_with(Default::default);
                if !std::mem::replace(&mut state.unified_reported[dir.index()], true) {
                    let number = self.record_number;
                    sink(&Event::Undecrypted { dir, ts, number, reason: UndecryptedReason::Dtls13 });
                }
                at += len.max(1);
                continue;
            }
            let Some(header) = DtlsRecordHeader::parse(rest) else {
                sink(&Event::Malformed { dir, ts, what: format!("{} bytes after the last DTLS record", rest.len()) });
                break;
            };
            let Some(rec) = rest.get(..dtls::HEADER_LEN + usize::from(header.length)) else {
                sink(&Event::Malformed { dir, ts, what: "DTLS record longer than its datagram".into() });
                break;
            };
            self.dtls.get_or_insert_with(Default::default);
            self.record(dir, ts, header.tls_header(), rec, Layer::Dtls(header.record_sequence()), sink);
            at += rec.len();
        }
    }

    /// The handshake fragments of one DTLS record (plaintext, or decrypted): each message once, when whole.
    pub(super) fn dtls_handshake(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        epoch: u16,
        data: &[u8],
        protected: bool,
        sink: &mut dyn FnMut(&Event<'_>),
    ) {
        let mut r = Reader::new(data);
        while r.left() > 0 {
            let Some(f) = HandshakeFragment::read(&mut r) else {
                sink(&Event::Malformed {
                    dir,
                    ts,
                    what: format!("truncated DTLS handshake fragment in {} bytes", data.len()),
                });
                return;
            };
            let Some(state) = self.dtls.as_mut() else { return };
            match state.reassembly[dir.index()].fragment(epoch, &f) {
                Fragment::Nothing => {}
                Fragment::Whole(msg) => self.handshake_message(dir, ts, f.msg_type, msg, protected, sink),
                Fragment::Joined(msg) => self.handshake_message(dir, ts, f.msg_type, &msg, protected, sink),
                Fragment::Bad(what) => sink(&Event::Malformed { dir, ts, what }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(seq: u16, length: usize, offset: usize, body: &[u8]) -> Vec<u8> {
        let mut b = vec![HandshakeType::Certificate.value()];
        b.extend_from_slice(&(length as u32).to_be_bytes()[1..]);
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&(offset as u32).to_be_bytes()[1..]);
        b.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        b.extend_from_slice(body);
        b
    }

    fn feed(r: &mut Reassembly, bytes: &[u8]) -> Option<Vec<u8>> {
        let f = HandshakeFragment::read(&mut Reader::new(bytes)).unwrap();
        match r.fragment(0, &f) {
            Fragment::Nothing => None,
            Fragment::Whole(m) => Some(m.to_vec()),
            Fragment::Joined(m) => Some(m),
            Fragment::Bad(why) => panic!("{why}"),
        }
    }

    #[test]
    fn out_of_order_overlapping_fragments_join_once() {
        let mut r = Reassembly::default();
        assert_eq!(feed(&mut r, &fragment(2, 10, 6, b"6789")), None);
        assert_eq!(feed(&mut r, &fragment(2, 10, 0, b"0123")), None);
        // A retransmission cut differently overlaps both.
        let joined = feed(&mut r, &fragment(2, 10, 3, b"3456")).expect("complete");
        assert_eq!(joined, fragment(2, 10, 0, b"0123456789"), "the whole message, with a whole-message header");
        // The message again, whole or in part: a retransmission, dropped.
        assert_eq!(feed(&mut r, &fragment(2, 10, 0, b"0123456789")), None);
        assert_eq!(feed(&mut r, &fragment(2, 10, 0, b"01")), None);
        // The next message, whole in one fragment, is delivered as sent.
        assert_eq!(feed(&mut r, &fragment(3, 2, 0, b"ab")), Some(fragment(3, 2, 0, b"ab")));
    }

    #[test]
    fn bad_fragments_are_named() {
        let mut r = Reassembly::default();
        let f = fragment(0, 4, 3, b"xyz");
        let f = HandshakeFragment::read(&mut Reader::new(&f)).unwrap();
        assert!(matches!(r.fragment(0, &f), Fragment::Bad(why) if why.contains("past its length")));
    }

    #[test]
    fn ranges_merge() {
        let mut have = Vec::new();
        for r in [(5, 7), (0, 2), (9, 10), (2, 5), (6, 9)] {
            add_range(&mut have, r);
        }
        assert_eq!(have, [(0, 10)]);
    }
}
