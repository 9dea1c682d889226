//! From capture frames to TLS connections: link layers, IP, TCP reassembly,
//! and one [`Dissector`] per TCP connection that carries TLS or UDP flow that
//! carries DTLS (recognised by its bytes, not its port).

pub mod file;
pub mod link;
pub mod tcp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub use crate::dissect::Timestamp;
use crate::dissect::{Direction, Dissector, Event, Summary};
use crate::handshake::HandshakeType;
use crate::keys::{RsaKey, SecretSource};
use crate::record::{self, ContentType, RecordHeader};
use crate::render::Connection;
use link::{flags, Decoded, LinkDecoder, Segment};
use tcp::{Chunk, Reassembler};

/// Receives what the analyzer finds, connection by connection.
pub trait Handler {
    /// A TCP connection turned out to carry TLS.
    fn connection_start(&mut self, conn: &Connection);
    /// Something happened on a TLS connection.
    fn event(&mut self, conn: &Connection, event: &Event<'_>);
    /// The connection closed, went idle, or the capture ended.
    fn connection_end(&mut self, conn: &Connection, summary: &Summary);
    /// [`run`] has read this many frames (called every [`PROGRESS_EVERY`] frames: a progress display).
    fn packets_read(&mut self, _packets: u64) {}
}

/// How often [`run`] reports progress to [`Handler::packets_read`], in frames.
pub const PROGRESS_EVERY: u64 = 1024;

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct FlowKey(SocketAddr, SocketAddr);

impl FlowKey {
    fn of(s: &Segment<'_>) -> Self {
        if s.src <= s.dst {
            Self(s.src, s.dst)
        } else {
            Self(s.dst, s.src)
        }
    }
}

/// A multiply-rotate hasher for flow keys: SipHash's DoS resistance is not needed for a table bounded by open
/// connections, and hashing showed in profiles at a lookup per packet.
#[derive(Default, Clone, Copy)]
struct FlowHasher(u64);

impl std::hash::Hasher for FlowHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(v as u64);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

type FlowTable = HashMap<FlowKey, Flow, std::hash::BuildHasherDefault<FlowHasher>>;

struct UdpFlow {
    info: Connection,
    /// A dissector fed datagrams: DTLS.
    dtls: Dissector,
    last_ts: Timestamp,
}

struct Flow {
    info: Connection,
    reasm: [Reassembler; 2],
    dissector: Dissector,
    announced: bool,
    /// Bytes skipped to find the first record, shown once the connection turns out to be TLS.
    skipped: [u64; 2],
    /// Not TLS (gave up looking): its segments are ignored until it closes.
    ignored: bool,
    last_ts: Timestamp,
    closed: [bool; 2],
    /// When both sides closed (FIN each way, or a RST): the flow lingers until [`LINGER_NANOS`] later, so late
    /// segments (retransmissions, reordered data, half-close data) still belong to it.
    closed_at: Option<Timestamp>,
}

/// Bytes looked at per connection before deciding it is not TLS.
const MAX_NON_TLS_BYTES: u64 = 64 * 1024;
/// A connection quiet this long (capture time) is ended and its memory freed.
const IDLE_NANOS: u64 = 600 * 1_000_000_000;
/// How long (capture time) a closed connection keeps its state for late segments: past the first
/// retransmission timeouts (200 ms, doubling) that put segments after a FIN or RST, and short, because closed
/// connections held this long are what a busy capture's memory grows by.
const LINGER_NANOS: u64 = 3 * 1_000_000_000;

/// Turns frames into TLS events. Memory is bounded by the open connections.
pub struct Analyzer {
    secrets: Arc<dyn SecretSource + Send + Sync>,
    rsa: Option<Arc<RsaKey>>,
    psk: Option<Vec<u8>>,
    sessions: crate::dissect::SessionCache,
    link: LinkDecoder,
    flows: FlowTable,
    /// Closed flows in the order they closed, with the time they did: ended once they stop lingering.
    lingering: std::collections::VecDeque<(Timestamp, FlowKey)>,
    /// DTLS associations (UDP).
    udp: HashMap<FlowKey, UdpFlow, std::hash::BuildHasherDefault<FlowHasher>>,
    next_id: u64,
    packets: u64,
    /// Frames that were malformed: how many, and the last one's reason.
    malformed: (u64, Option<&'static str>),
}

impl Analyzer {
    /// An analyzer that asks `secrets` for keys.
    pub fn new(secrets: Arc<dyn SecretSource + Send + Sync>) -> Self {
        Self {
            secrets,
            rsa: None,
            psk: None,
            sessions: Default::default(),
            link: LinkDecoder::default(),
            flows: FlowTable::default(),
            lingering: Default::default(),
            udp: Default::default(),
            next_id: 1,
            packets: 0,
            malformed: (0, None),
        }
    }

    /// Decrypt RSA key exchanges with this server key.
    pub fn with_rsa_key(mut self, key: Option<Arc<RsaKey>>) -> Self {
        self.rsa = key;
        self
    }

    /// Decrypt plain-PSK suites with this key.
    pub fn with_psk(mut self, psk: Option<Vec<u8>>) -> Self {
        self.psk = psk;
        self
    }

    /// Frames whose link layer, IP or TCP/UDP header was malformed: how many, and why the last one was.
    pub fn malformed_frames(&self) -> (u64, Option<&'static str>) {
        self.malformed
    }

    /// IP packets whose total (IPv4) or payload (IPv6) length was 0, as captured on a sending host with
    /// segmentation offload: read with their captured length instead.
    pub fn length_from_capture(&self) -> u64 {
        self.link.length_from_capture
    }

    /// Connections currently held.
    pub fn open_connections(&self) -> usize {
        self.flows.len() + self.udp.len()
    }

    /// Feeds one captured frame.
    pub fn packet(&mut self, linktype: u32, ts: Timestamp, frame: &[u8], handler: &mut dyn Handler) {
        self.packets += 1;
        if self.packets.is_multiple_of(8192) {
            self.expire(ts, handler);
        }
        self.end_lingering(ts, handler);
        let seg = match self.link.decode(linktype, frame) {
            Decoded::Segment(s) if s.udp => {
                // UDP is rare in these captures: a copy frees the borrow of the link decoder.
                let (key, src, dst, payload) = (FlowKey::of(&s), s.src, s.dst, s.payload.to_vec());
                self.datagram(key, src, dst, &payload, ts, handler);
                return;
            }
            Decoded::Segment(s) => s,
            Decoded::Malformed(why) => {
                self.malformed = (self.malformed.0 + 1, Some(why));
                return;
            }
            _ => return,
        };
        let key = FlowKey::of(&seg);
        let syn = seg.flags & flags::SYN != 0;
        let fin_or_rst = seg.flags & (flags::FIN | flags::RST) != 0;
        if let Some(flow) = self.flows.get(&key) {
            // A closed connection takes its late segments; a new SYN, or a sequence number far from its
            // sequence space, is another connection on the same addresses.
            let dir = if seg.src == flow.info.client { Direction::ClientToServer } else { Direction::ServerToClient };
            let other = flow.closed_at.is_some()
                && ((syn && seg.flags & flags::ACK == 0) || !flow.reasm[dir.index()].is_near(seg.seq));
            if other {
                if let Some(flow) = self.flows.remove(&key) {
                    end_flow(flow, &mut self.next_id, handler);
                }
            }
        }
        if !self.flows.contains_key(&key) {
            if seg.payload.is_empty() && !syn {
                return; // a bare ACK/FIN of a connection we never saw
            }
            let (client, server) = guess_roles(&seg);
            let mut dissector = Dissector::new(self.secrets.clone())
                .with_rsa_key(self.rsa.clone())
                .with_psk(self.psk.clone())
                .with_session_cache(Some(self.sessions.clone()));
            if !syn {
                dissector.start_midstream(Direction::ClientToServer);
                dissector.start_midstream(Direction::ServerToClient);
            }
            let info = Connection { id: 0, client, server, first_ts: ts, midstream: !syn };
            let flow = Flow {
                info,
                reasm: Default::default(),
                dissector,
                announced: false,
                skipped: [0; 2],
                ignored: false,
                last_ts: ts,
                closed: [false; 2],
                closed_at: None,
            };
            self.flows.insert(key, flow);
        }
        let Some(flow) = self.flows.get_mut(&key) else { return };
        flow.last_ts = ts;
        let dir = if seg.src == flow.info.client { Direction::ClientToServer } else { Direction::ServerToClient };
        if syn && seg.flags & flags::ACK == 0 && dir == Direction::ServerToClient && !flow.announced {
            // The SYN says who the client is, whatever the first packet suggested.
            std::mem::swap(&mut flow.info.client, &mut flow.info.server);
        }
        let dir = if seg.src == flow.info.client { Direction::ClientToServer } else { Direction::ServerToClient };
        if !flow.ignored {
            let next_id = &mut self.next_id;
            let Flow { reasm, dissector, info, announced, skipped, .. } = flow;
            let mut conn = Conn { dissector, info, announced, skipped, next_id };
            reasm[dir.index()].segment(seg.seq, syn, fin_or_rst, seg.payload, &mut |chunk| {
                deliver(&mut conn, handler, dir, ts, chunk)
            });
            if !flow.announced
                && flow.dissector.bytes_seen(Direction::ClientToServer)
                    + flow.dissector.bytes_seen(Direction::ServerToClient)
                    > MAX_NON_TLS_BYTES
            {
                flow.ignored = true;
                flow.reasm = Default::default();
            }
        }
        if fin_or_rst {
            flow.closed[dir.index()] = true;
        }
        if (seg.flags & flags::RST != 0 || flow.closed == [true, true]) && flow.closed_at.is_none() {
            flow.closed_at = Some(ts);
            flow.dissector.release_buffers();
            self.lingering.push_back((ts, key));
        }
    }

    /// Ends the closed flows whose lingering time is over (in the order they closed).
    fn end_lingering(&mut self, now: Timestamp, handler: &mut dyn Handler) {
        while let Some(&(closed, key)) = self.lingering.front() {
            if now.0.saturating_sub(closed.0) <= LINGER_NANOS {
                break;
            }
            self.lingering.pop_front();
            // The flow may be gone already (ended for a new connection on its addresses, or expired).
            if self.flows.get(&key).is_some_and(|f| f.closed_at == Some(closed)) {
                if let Some(flow) = self.flows.remove(&key) {
                    self.end(flow, handler);
                }
            }
        }
    }

    /// One UDP datagram: DTLS if its bytes say so.
    fn datagram(
        &mut self,
        key: FlowKey,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        ts: Timestamp,
        handler: &mut dyn Handler,
    ) {
        if !self.udp.contains_key(&key) {
            if !crate::dtls::looks_like_dtls(payload) {
                return;
            }
            let hello = payload.get(crate::dtls::HEADER_LEN).map(|&t| HandshakeType::new(t));
            let from_client = hello == Some(HandshakeType::ClientHello) || src.port() > dst.port();
            let (client, server) = if from_client { (src, dst) } else { (dst, src) };
            let info = Connection { id: self.next_id, client, server, first_ts: ts, midstream: false };
            self.next_id += 1;
            handler.connection_start(&info);
            let dtls = Dissector::new(self.secrets.clone())
                .with_rsa_key(self.rsa.clone())
                .with_psk(self.psk.clone())
                .with_session_cache(Some(self.sessions.clone()));
            self.udp.insert(key, UdpFlow { info, dtls, last_ts: ts });
        }
        let Some(flow) = self.udp.get_mut(&key) else { return };
        flow.last_ts = ts;
        let dir = if src == flow.info.client { Direction::ClientToServer } else { Direction::ServerToClient };
        let info = &flow.info;
        flow.dtls.datagram(dir, payload, ts, &mut |e| handler.event(info, e));
    }

    /// End of capture: flush and end every open connection, in connection order.
    pub fn finish(&mut self, handler: &mut dyn Handler) {
        let mut udp: Vec<UdpFlow> = self.udp.drain().map(|(_, f)| f).collect();
        udp.sort_by_key(|f| f.info.id);
        for f in udp {
            handler.connection_end(&f.info, &f.dtls.summary());
        }
        self.lingering.clear();
        let mut flows: Vec<Flow> = self.flows.drain().map(|(_, f)| f).collect();
        flows.sort_by_key(|f| (f.info.id == 0, f.info.id, f.info.first_ts));
        for flow in flows {
            self.end(flow, handler);
        }
    }

    fn expire(&mut self, now: Timestamp, handler: &mut dyn Handler) {
        let idle: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, f)| now.0.saturating_sub(f.last_ts.0) > IDLE_NANOS)
            .map(|(k, _)| *k)
            .collect();
        for key in idle {
            if let Some(flow) = self.flows.remove(&key) {
                self.end(flow, handler);
            }
        }
        let idle: Vec<FlowKey> =
            self.udp.iter().filter(|(_, f)| now.0.saturating_sub(f.last_ts.0) > IDLE_NANOS).map(|(k, _)| *k).collect();
        for key in idle {
            if let Some(f) = self.udp.remove(&key) {
                handler.connection_end(&f.info, &f.dtls.summary());
            }
        }
    }

    fn end(&mut self, flow: Flow, handler: &mut dyn Handler) {
        end_flow(flow, &mut self.next_id, handler);
    }
}

/// Flushes a flow's held segments and reports its end (if it was TLS).
fn end_flow(mut flow: Flow, next_id: &mut u64, handler: &mut dyn Handler) {
    if !flow.ignored {
        let ts = flow.last_ts;
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let Flow { reasm, dissector, info, announced, skipped, .. } = &mut flow;
            let mut conn = Conn { dissector, info, announced, skipped, next_id };
            reasm[dir.index()].flush(&mut |chunk| deliver(&mut conn, handler, dir, ts, chunk));
        }
    }
    if flow.announced {
        handler.connection_end(&flow.info, &flow.dissector.summary());
    }
}

/// The parts of a flow that delivering a chunk touches.
struct Conn<'a> {
    dissector: &'a mut Dissector,
    info: &'a mut Connection,
    announced: &'a mut bool,
    skipped: &'a mut [u64; 2],
    next_id: &'a mut u64,
}

/// Hands one reassembled chunk to the dissector, announcing the connection at its first TLS record.
fn deliver(c: &mut Conn<'_>, handler: &mut dyn Handler, dir: Direction, ts: Timestamp, chunk: Chunk<'_>) {
    let Conn { dissector, info, announced, skipped, next_id } = c;
    let mut sink = |e: &Event<'_>| {
        if !**announced {
            match e {
                Event::Record { .. } => {}
                Event::Resync { dir, skipped: n } => {
                    skipped[dir.index()] += n;
                    return;
                }
                _ => return, // noise before the first TLS record: not a TLS connection (yet)
            }
            info.id = **next_id;
            **next_id += 1;
            **announced = true;
            handler.connection_start(info);
            for d in [Direction::ClientToServer, Direction::ServerToClient] {
                if skipped[d.index()] > 0 {
                    handler.event(info, &Event::Resync { dir: d, skipped: skipped[d.index()] });
                }
            }
        }
        handler.event(info, e);
    };
    match chunk {
        Chunk::Data(bytes) => dissector.feed(dir, bytes, ts, &mut sink),
        Chunk::Gap(n) => dissector.gap(dir, n, &mut sink),
    }
}

/// How far reading a capture got.
#[derive(Debug, Default)]
pub struct ReadReport {
    /// Frames read.
    pub packets: u64,
    /// Why reading stopped early (truncated or corrupt file), if it did.
    pub error: Option<file::CaptureError>,
}

/// Reads every block of `reader` into `analyzer` (embedded key logs go to `on_keylog` first, as they come),
/// then ends all connections. A read error stops the reading but not the decoding of what came before.
pub fn run(
    reader: &mut file::CaptureReader,
    analyzer: &mut Analyzer,
    on_keylog: &mut dyn FnMut(&[u8]),
    handler: &mut dyn Handler,
) -> ReadReport {
    let mut report = ReadReport::default();
    loop {
        match reader.next_block() {
            Ok(Some(file::Block::Packet { linktype, ts, data })) => {
                report.packets += 1;
                analyzer.packet(linktype, ts, data, handler);
                if report.packets.is_multiple_of(PROGRESS_EVERY) {
                    handler.packets_read(report.packets);
                }
            }
            Ok(Some(file::Block::TlsKeyLog(text))) => on_keylog(text),
            Ok(None) => break,
            Err(e) => {
                report.error = Some(e);
                break;
            }
        }
    }
    analyzer.finish(handler);
    handler.packets_read(report.packets);
    report
}

/// Client and server of a connection first seen at this segment.
fn guess_roles(seg: &Segment<'_>) -> (SocketAddr, SocketAddr) {
    let syn = seg.flags & flags::SYN != 0;
    let ack = seg.flags & flags::ACK != 0;
    if syn {
        return if ack { (seg.dst, seg.src) } else { (seg.src, seg.dst) };
    }
    // Mid-stream: a hello says who is who; otherwise the ephemeral (higher) port is the client's.
    let p = seg.payload;
    if let (Some(header), Some(&typ)) = (RecordHeader::parse(p), p.get(record::HEADER_LEN)) {
        if header.content_type == ContentType::Handshake && header.version.value() >> 8 == 3 {
            match HandshakeType::new(typ) {
                HandshakeType::ClientHello => return (seg.src, seg.dst),
                HandshakeType::ServerHello => return (seg.dst, seg.src),
                _ => {}
            }
        }
    }
    if seg.src.port() >= seg.dst.port() {
        (seg.src, seg.dst)
    } else {
        (seg.dst, seg.src)
    }
}
