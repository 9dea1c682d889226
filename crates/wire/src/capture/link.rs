//! From a link-layer frame to a TCP segment: Ethernet (+VLAN), raw IP, Linux
//! SLL and SLL2, BSD null/loopback; IPv4 and IPv6 with fragment reassembly.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A TCP segment (or UDP datagram) lifted out of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// TCP sequence number (0 for UDP).
    pub seq: u32,
    /// TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10).
    pub flags: u8,
    /// Whether this is UDP rather than TCP.
    pub udp: bool,
    /// The payload.
    pub payload: &'a [u8],
}

/// TCP flag bits.
pub mod flags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// ACK
    pub const ACK: u8 = 0x10;
}

/// What became of a frame.
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A TCP segment or UDP datagram.
    Segment(Segment<'a>),
    /// A fragment was stored; the datagram is not complete yet.
    Fragment,
    /// Not IP/TCP/UDP, or a link type we do not know: skip quietly.
    Other,
    /// Malformed: the reason.
    Malformed(&'static str),
}

/// Frame decoder with the IP fragment reassembly state it needs.
#[derive(Default)]
pub struct LinkDecoder {
    fragments: HashMap<FragKey, FragBuf>,
    /// The last reassembled datagram (the returned segment borrows from it).
    reassembled: Vec<u8>,
    tick: u64,
    /// IP packets whose length field was 0 (segmentation offload): their captured length was used.
    pub length_from_capture: u64,
}

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

struct FragBuf {
    parts: Vec<(usize, Vec<u8>)>,
    total: Option<usize>,
    born: u64,
}

/// Pending fragmented datagrams kept at most (oldest dropped): memory stays bounded.
const MAX_PENDING_DATAGRAMS: usize = 256;

impl LinkDecoder {
    /// Decodes one frame of the given link type.
    pub fn decode<'a>(&'a mut self, linktype: u32, frame: &'a [u8]) -> Decoded<'a> {
        let (ethertype, ip) = match linktype {
            // Ethernet, with any number of 802.1Q / 802.1ad tags.
            1 => {
                let Some(mut et) = frame.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
                    return Decoded::Malformed("short Ethernet header");
                };
                let mut at = 14;
                while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
                    let Some(b) = frame.get(at + 2..at + 4) else { return Decoded::Malformed("short VLAN tag") };
                    et = u16::from_be_bytes([b[0], b[1]]);
                    at += 4;
                }
                (et, &frame[at.min(frame.len())..])
            }
            // Raw IP (101, 12 and 14 are used for it by different systems), IPv4 (228), IPv6 (229).
            101 | 12 | 14 | 228 | 229 => (0, frame),
            // BSD null/loopback: a 4-byte address family in host order (0) or network order (108).
            0 | 108 => {
                let Some(af) = frame.get(..4) else { return Decoded::Malformed("short loopback header") };
                let le = u32::from_le_bytes([af[0], af[1], af[2], af[3]]);
                let be = u32::from_be_bytes([af[0], af[1], af[2], af[3]]);
                let af = if le < 256 { le } else { be };
                match af {
                    2 => (0x0800, &frame[4..]),
                    10 | 24 | 28 | 30 => (0x86dd, &frame[4..]),
                    _ => return Decoded::Other,
                }
            }
            // Linux cooked capture v1: protocol in bytes 14..16 of a 16-byte header.
            113 => {
                let Some(p) = frame.get(14..16) else { return Decoded::Malformed("short SLL header") };
                (u16::from_be_bytes([p[0], p[1]]), &frame[16..])
            }
            // Linux cooked capture v2: protocol in bytes 0..2 of a 20-byte header.
            276 => {
                let (Some(p), true) = (frame.get(0..2), frame.len() >= 20) else {
                    return Decoded::Malformed("short SLL2 header");
                };
                (u16::from_be_bytes([p[0], p[1]]), &frame[20..])
            }
            _ => return Decoded::Other,
        };
        match ethertype {
            0x0800 | 0x86dd | 0 => {}
            _ => return Decoded::Other,
        }
        match ip.first().map(|b| b >> 4) {
            Some(4) => self.ipv4(ip),
            Some(6) => self.ipv6(ip),
            _ if ethertype == 0 => Decoded::Other,
            _ => Decoded::Malformed("bad IP version"),
        }
    }

    fn ipv4<'a>(&'a mut self, ip: &'a [u8]) -> Decoded<'a> {
        if ip.len() < 20 {
            return Decoded::Malformed("short IPv4 header");
        }
        let ihl = ((ip[0] & 0x0f) as usize) * 4;
        let mut total = (u16::from_be_bytes([ip[2], ip[3]]) as usize).min(ip.len());
        if total == 0 {
            // Captured on the sending host before segmentation offload filled it in: the frame is the packet,
            // as tshark reads it.
            total = ip.len();
            self.length_from_capture += 1;
        }
        if ihl < 20 || total < ihl {
            return Decoded::Malformed("bad IPv4 header length");
        }
        let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
        let dst = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
        let proto = ip[9];
        let frag = u16::from_be_bytes([ip[6], ip[7]]);
        let more = frag & 0x2000 != 0;
        let offset = ((frag & 0x1fff) as usize) * 8;
        let payload = &ip[ihl..total];
        if more || offset != 0 {
            let key = FragKey { src, dst, id: u16::from_be_bytes([ip[4], ip[5]]) as u32, proto };
            return self.fragment(key, offset, more, payload);
        }
        transport(src, dst, proto, payload)
    }

    fn ipv6<'a>(&'a mut self, ip: &'a [u8]) -> Decoded<'a> {
        if ip.len() < 40 {
            return Decoded::Malformed("short IPv6 header");
        }
        let plen = u16::from_be_bytes([ip[4], ip[5]]) as usize;
        let end = if plen == 0 {
            // Segmentation offload (or a jumbogram, RFC 2675, whose length is the frame's too): the frame's length.
            self.length_from_capture += 1;
            ip.len()
        } else {
            (40 + plen).min(ip.len())
        };
        let addr = |b: &[u8]| -> IpAddr {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            IpAddr::V6(Ipv6Addr::from(a))
        };
        let (src, dst) = (addr(&ip[8..24]), addr(&ip[24..40]));
        let mut next = ip[6];
        let mut at = 40;
        loop {
            match next {
                // hop-by-hop, routing, destination options: skip.
                0 | 43 | 60 => {
                    let Some(h) = ip.get(at..at + 2) else { return Decoded::Malformed("short IPv6 extension") };
                    next = h[0];
                    at += (h[1] as usize + 1) * 8;
                }
                44 => {
                    let Some(h) = ip.get(at..at + 8) else { return Decoded::Malformed("short IPv6 fragment header") };
                    let off_flags = u16::from_be_bytes([h[2], h[3]]);
                    let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                    let (proto, offset, more) = (h[0], (off_flags & 0xfff8) as usize, off_flags & 1 != 0);
                    let Some(payload) = ip.get(at + 8..end) else { return Decoded::Malformed("bad IPv6 fragment") };
                    if !more && offset == 0 {
                        return transport(src, dst, proto, payload);
                    }
                    return self.fragment(FragKey { src, dst, id, proto }, offset, more, payload);
                }
                proto => {
                    let Some(payload) = ip.get(at..end) else { return Decoded::Malformed("bad IPv6 length") };
                    return transport(src, dst, proto, payload);
                }
            }
        }
    }

    fn fragment<'a>(&'a mut self, key: FragKey, offset: usize, more: bool, data: &[u8]) -> Decoded<'a> {
        self.tick += 1;
        if self.fragments.len() >= MAX_PENDING_DATAGRAMS && !self.fragments.contains_key(&key) {
            if let Some(oldest) = self.fragments.iter().min_by_key(|(_, f)| f.born).map(|(k, _)| *k) {
                self.fragments.remove(&oldest);
            }
        }
        let tick = self.tick;
        let buf = self.fragments.entry(key).or_insert_with(|| FragBuf { parts: Vec::new(), total: None, born: tick });
        if offset + data.len() > 65535 + 8 {
            return Decoded::Malformed("fragment beyond 64 KiB");
        }
        buf.parts.push((offset, data.to_vec()));
        if !more {
            buf.total = Some(offset + data.len());
        }
        let Some(total) = buf.total else { return Decoded::Fragment };
        // Complete when the parts, sorted by offset, cover 0..total with no hole.
        buf.parts.sort_by_key(|p| p.0);
        let mut covered = 0;
        for (off, part) in &buf.parts {
            if *off > covered {
                return Decoded::Fragment;
            }
            covered = covered.max(off + part.len());
        }
        if covered < total {
            return Decoded::Fragment;
        }
        let Some(done) = self.fragments.remove(&key) else { return Decoded::Fragment };
        self.reassembled.clear();
        self.reassembled.resize(total, 0);
        for (off, part) in &done.parts {
            let end = (off + part.len()).min(total);
            if *off < end {
                self.reassembled[*off..end].copy_from_slice(&part[..end - off]);
            }
        }
        transport(key.src, key.dst, key.proto, &self.reassembled)
    }
}

fn transport<'a>(src: IpAddr, dst: IpAddr, proto: u8, data: &'a [u8]) -> Decoded<'a> {
    match proto {
        6 => {
            if data.len() < 20 {
                return Decoded::Malformed("short TCP header");
            }
            let off = ((data[12] >> 4) as usize) * 4;
            if off < 20 || off > data.len() {
                return Decoded::Malformed("bad TCP header length");
            }
            Decoded::Segment(Segment {
                src: SocketAddr::new(src, u16::from_be_bytes([data[0], data[1]])),
                dst: SocketAddr::new(dst, u16::from_be_bytes([data[2], data[3]])),
                seq: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
                flags: data[13],
                udp: false,
                payload: &data[off..],
            })
        }
        17 => {
            if data.len() < 8 {
                return Decoded::Malformed("short UDP header");
            }
            let len = (u16::from_be_bytes([data[4], data[5]]) as usize).clamp(8, data.len());
            Decoded::Segment(Segment {
                src: SocketAddr::new(src, u16::from_be_bytes([data[0], data[1]])),
                dst: SocketAddr::new(dst, u16::from_be_bytes([data[2], data[3]])),
                seq: 0,
                flags: 0,
                udp: true,
                payload: &data[8..len],
            })
        }
        _ => Decoded::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp(frag: u16, payload: &[u8], id: u16) -> Vec<u8> {
        let mut ip = vec![0x45, 0, 0, 0, (id >> 8) as u8, id as u8, (frag >> 8) as u8, frag as u8, 64, 6, 0, 0];
        ip.extend([127, 0, 0, 1, 127, 0, 0, 2]);
        ip.extend(payload);
        let len = ip.len() as u16;
        ip[2..4].copy_from_slice(&len.to_be_bytes());
        ip
    }

    fn tcp(payload: &[u8]) -> Vec<u8> {
        let mut t = vec![0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 7, 0, 0, 0, 0, 0x50, 0x18, 0, 0, 0, 0, 0, 0];
        t.extend(payload);
        t
    }

    #[test]
    fn sll2_and_null_loopback() {
        let ip = ipv4_tcp(0, &tcp(b"hi"), 1);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend([0u8; 18]);
        sll2.extend(&ip);
        let mut d = LinkDecoder::default();
        match d.decode(276, &sll2) {
            Decoded::Segment(s) => assert_eq!((s.payload, s.seq, s.dst.port()), (&b"hi"[..], 7, 443)),
            other => panic!("{other:?}"),
        }
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend(&ip);
        assert!(matches!(d.decode(0, &null), Decoded::Segment(_)));
    }

    #[test]
    fn reassembles_ipv6_fragments() {
        let seg = tcp(&[7u8; 40]);
        let (a, b) = seg.split_at(32);
        let v6 = |off_flags: u16, part: &[u8]| {
            let mut ip = vec![0x60, 0, 0, 0];
            ip.extend(((8 + part.len()) as u16).to_be_bytes());
            ip.extend([44, 64]);
            ip.extend(Ipv6Addr::LOCALHOST.octets());
            ip.extend(Ipv6Addr::LOCALHOST.octets());
            ip.extend([6, 0]);
            ip.extend(off_flags.to_be_bytes());
            ip.extend(99u32.to_be_bytes());
            ip.extend(part);
            ip
        };
        let mut d = LinkDecoder::default();
        assert!(matches!(d.decode(229, &v6(1, a)), Decoded::Fragment));
        match d.decode(229, &v6(32, b)) {
            Decoded::Segment(s) => {
                assert_eq!(s.payload, &[7u8; 40][..]);
                assert_eq!(s.src.to_string(), "[::1]:12345");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reassembles_ipv4_fragments_in_any_order() {
        let seg = tcp(&[9u8; 30]);
        let (a, b) = seg.split_at(24);
        let first = ipv4_tcp(0x2000, a, 5);
        let second = ipv4_tcp(3, b, 5);
        let mut d = LinkDecoder::default();
        assert!(matches!(d.decode(101, &second), Decoded::Fragment));
        match d.decode(101, &first) {
            Decoded::Segment(s) => assert_eq!(s.payload, &[9u8; 30][..]),
            other => panic!("{other:?}"),
        }
    }
}
