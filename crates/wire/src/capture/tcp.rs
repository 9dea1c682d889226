//! Per-direction TCP reassembly: in-order delivery despite out-of-order
//! segments, retransmissions and overlaps; mid-stream starts; gaps reported.

use std::collections::BTreeMap;

/// What the reassembler hands on, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// The next bytes of the stream.
    Data(&'a [u8]),
    /// Bytes that were never captured: the stream resumes after them.
    Gap(u64),
}

/// Out-of-order bytes held at most per direction before giving up on a hole.
const MAX_PENDING: usize = 4 << 20;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// Sequence number of the next byte we expect; `None` until the first segment.
    next: Option<u32>,
    /// Out-of-order segments, keyed by offset from `next`'s origin.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Stream offset of `next` (bytes delivered or skipped so far).
    delivered: u64,
    /// Whether the stream began with a SYN (otherwise mid-stream).
    pub saw_syn: bool,
    /// Whether a FIN or RST was seen.
    pub closed: bool,
}

impl Reassembler {
    /// Feeds one segment; in-order bytes (and gaps) go to `out`.
    pub fn segment(&mut self, seq: u32, syn: bool, fin_or_rst: bool, payload: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        if syn {
            self.saw_syn = true;
            if self.next.is_none() || self.delivered == 0 {
                self.next = Some(seq.wrapping_add(1));
            }
            // A SYN may carry data (TFO): it starts at seq + 1.
            if !payload.is_empty() {
                self.deliver(seq.wrapping_add(1), payload, out);
            }
        } else if !payload.is_empty() {
            if self.next.is_none() {
                self.next = Some(seq);
            }
            self.deliver(seq, payload, out);
        }
        if fin_or_rst {
            self.closed = true;
        }
    }

    fn deliver(&mut self, seq: u32, payload: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        let Some(next) = self.next else { return };
        let ahead = seq.wrapping_sub(next) as i32;
        if ahead <= 0 {
            // Retransmission or overlap: skip what we already have.
            let skip = ahead.unsigned_abs() as usize;
            if skip >= payload.len() {
                return;
            }
            let fresh = &payload[skip..];
            out(Chunk::Data(fresh));
            self.advance(fresh.len());
            self.drain(out);
        } else {
            let key = self.delivered + ahead as u64;
            let keep = match self.pending.get(&key) {
                Some(old) => old.len() < payload.len(),
                None => true,
            };
            if keep {
                if let Some(old) = self.pending.insert(key, payload.to_vec()) {
                    self.pending_bytes -= old.len();
                }
                self.pending_bytes += payload.len();
            }
            if self.pending_bytes > MAX_PENDING {
                self.skip_hole(out);
            }
        }
    }

    fn advance(&mut self, n: usize) {
        self.delivered += n as u64;
        self.next = self.next.map(|s| s.wrapping_add(n as u32));
    }

    /// Delivers pending segments that have become contiguous.
    fn drain(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let key = *entry.key();
            if key > self.delivered {
                break;
            }
            let data = entry.remove();
            self.pending_bytes -= data.len();
            let skip = (self.delivered - key) as usize;
            if skip < data.len() {
                out(Chunk::Data(&data[skip..]));
                self.advance(data.len() - skip);
            }
        }
    }

    /// Gives up on the first hole: reports it and continues after it.
    fn skip_hole(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        if let Some((&key, _)) = self.pending.first_key_value() {
            if key > self.delivered {
                let missing = key - self.delivered;
                out(Chunk::Gap(missing));
                self.advance(missing as usize);
            }
            self.drain(out);
        }
    }

    /// At the end of the capture (or connection): report holes and flush what is held.
    pub fn flush(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while !self.pending.is_empty() {
            self.skip_hole(out);
        }
    }

    /// Whether `seq` lies in or near this direction's sequence space (within a window of the next byte
    /// expected): a late segment of this connection rather than the start of another on the same addresses.
    pub fn is_near(&self, seq: u32) -> bool {
        /// Far more than any receive window of a real connection (1 GiB scaled windows are theoretical).
        const NEAR: u32 = 64 << 20;
        match self.next {
            None => true,
            Some(next) => seq.wrapping_sub(next).min(next.wrapping_sub(seq)) < NEAR,
        }
    }

    /// Bytes held out of order.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut Reassembler, seq: u32, data: &[u8], log: &mut Vec<String>) {
        r.segment(seq, false, false, data, &mut |c| match c {
            Chunk::Data(d) => log.push(String::from_utf8_lossy(d).into_owned()),
            Chunk::Gap(n) => log.push(format!("<gap {n}>")),
        });
    }

    #[test]
    fn out_of_order_retransmission_and_overlap() {
        let mut r = Reassembler::default();
        let mut log = Vec::new();
        run(&mut r, 100, b"abc", &mut log);
        run(&mut r, 106, b"ghi", &mut log); // ahead
        run(&mut r, 100, b"abc", &mut log); // retransmission
        run(&mut r, 102, b"cdef", &mut log); // overlap, fills the hole
        assert_eq!(log.concat(), "abcdefghi");
    }

    #[test]
    fn gap_reported_at_flush_and_sequence_wraps() {
        let mut r = Reassembler::default();
        let mut log = Vec::new();
        run(&mut r, u32::MAX - 1, b"ab", &mut log);
        run(&mut r, 5, b"zz", &mut log);
        let mut out = |c: Chunk<'_>| match c {
            Chunk::Data(d) => log.push(String::from_utf8_lossy(d).into_owned()),
            Chunk::Gap(n) => log.push(format!("<gap {n}>")),
        };
        r.flush(&mut out);
        assert_eq!(log, vec!["ab", "<gap 5>", "zz"]);
    }
}
