//! A deliberately small capture walker for the crypto tests: pcap/pcapng (+gzip), a few link types, IPv4/IPv6,
//! in-order TCP with retransmissions dropped, TLS records, and just enough handshake state to pick keys. It is
//! independent of the `capture`/`dissect` modules so the cryptography is checked on its own.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use tlskit_wire::cipher::{CipherSuite, KeyExchange, RecordDecryptor};
use tlskit_wire::keys::{KeyLog, Label, RsaKey};
use tlskit_wire::record::{ContentType, ProtocolVersion};
use tlskit_wire::schedule::{self, Prf};

#[path = "../support/captures.rs"]
mod captures;
pub use captures::captures_dir;

/// Keying material for one capture.
#[derive(Default)]
pub struct Keys {
    pub log: KeyLog,
    pub rsa: Option<RsaKey>,
    pub psk: Option<Vec<u8>>,
}

/// What decrypting a capture gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Application data plaintext bytes, early data included.
    pub plaintext_bytes: u64,
    /// Of which 0-RTT early data.
    pub early_bytes: u64,
    /// Records that decrypted and authenticated.
    pub decrypted: u64,
    /// Records that failed authentication/padding under the keys we had.
    pub failed: u64,
    /// Encrypted records we had no keys for.
    pub undecryptable: u64,
    /// Why.
    pub errors: Vec<String>,
}

type Endpoint = (IpAddr, u16);

#[derive(Default)]
struct Side {
    next: Option<u32>,
    out_of_order: Vec<(u32, Vec<u8>)>,
    buf: Vec<u8>,
    handshake: Vec<u8>,
    ccs: bool,
}

#[derive(Default)]
struct Conn {
    first: Option<Endpoint>,
    sides: [Side; 2],
    client: Option<usize>,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: Option<&'static CipherSuite>,
    first_tls13_offer: Option<u16>,
    version: u16,
    tls13: bool,
    ems: bool,
    etm: bool,
    early_offered: bool,
    early_active: bool,
    early: Option<RecordDecryptor>,
    transcript: Vec<u8>,
    transcript_at_cke: Option<Vec<u8>>,
    cke: Option<Vec<u8>>,
    tls12_tried: bool,
    pending: [Option<RecordDecryptor>; 2],
    active: [Option<RecordDecryptor>; 2],
    switch_to_app: [bool; 2],
    key_update: [bool; 2],
}

const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11,
    0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// Decrypts every record of every TCP connection in a capture file.
pub fn decrypt_capture(path: &Path, mut keys: Keys) -> Result<Outcome, String> {
    let mut bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).map_err(|e| e.to_string())?;
        bytes = out;
    }
    let packets = read_packets(&bytes, &mut keys.log)?;
    let mut conns: HashMap<(Endpoint, Endpoint), Conn> = HashMap::new();
    let mut out = Outcome::default();
    for (link, frame) in packets {
        let Some(seg) = parse_frame(link, &frame) else { continue };
        let key = if seg.src <= seg.dst { (seg.src, seg.dst) } else { (seg.dst, seg.src) };
        let conn = conns.entry(key).or_default();
        let first = *conn.first.get_or_insert(seg.src);
        let side = usize::from(seg.src != first);
        if seg.syn {
            conn.sides[side].next = Some(seg.seq.wrapping_add(1));
        }
        if seg.payload.is_empty() {
            continue;
        }
        append_segment(&mut conn.sides[side], seg.seq, seg.payload);
        while let Some(record) = next_record(&mut conn.sides[side].buf) {
            handle_record(conn, side, record, &keys, &mut out);
        }
    }
    Ok(out)
}

fn read_packets(bytes: &[u8], log: &mut KeyLog) -> Result<Vec<(u32, Vec<u8>)>, String> {
    let u32_at = |b: &[u8], at: usize, le: bool| -> Option<u32> {
        let raw: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(raw) } else { u32::from_be_bytes(raw) })
    };
    let mut packets = Vec::new();
    let magic = u32_at(bytes, 0, false).ok_or("empty file")?;
    if magic == 0x0A0D_0D0A {
        let mut at = 0;
        let mut le = true;
        let mut links: Vec<u32> = Vec::new();
        while at + 12 <= bytes.len() {
            if u32_at(bytes, at, false) == Some(0x0A0D_0D0A) {
                le = u32_at(bytes, at + 8, true) == Some(0x1A2B_3C4D);
                links.clear();
            }
            let kind = u32_at(bytes, at, le).ok_or("truncated")?;
            let len = u32_at(bytes, at + 4, le).ok_or("truncated")? as usize;
            let block = bytes.get(at..at + len).ok_or("truncated block")?;
            match kind {
                1 => links.push(u32::from(u16::from_le_bytes(if le {
                    [block[8], block[9]]
                } else {
                    [block[9], block[8]]
                }))),
                6 => {
                    let iface = u32_at(block, 8, le).ok_or("epb")? as usize;
                    let cap = u32_at(block, 20, le).ok_or("epb")? as usize;
                    let data = block.get(28..28 + cap).ok_or("epb data")?;
                    packets.push((*links.get(iface).ok_or("interface")?, data.to_vec()));
                }
                10 => {
                    let kind = u32_at(block, 8, le).ok_or("dsb")?;
                    let n = u32_at(block, 12, le).ok_or("dsb")? as usize;
                    if let Some((more, _)) = KeyLog::from_dsb(kind, block.get(16..16 + n).ok_or("dsb data")?) {
                        log.merge(more);
                    }
                }
                _ => {}
            }
            at += len.max(12);
        }
        return Ok(packets);
    }
    let le = match magic {
        0xA1B2_C3D4 | 0xA1B2_3C4D => false,
        0xD4C3_B2A1 | 0x4D3C_B2A1 => true,
        _ => return Err(format!("not a capture file (magic {magic:#x})")),
    };
    let link = u32_at(bytes, 20, le).ok_or("header")?;
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let cap = u32_at(bytes, at + 8, le).ok_or("record")? as usize;
        let data = bytes.get(at + 16..at + 16 + cap).ok_or("truncated packet")?;
        packets.push((link, data.to_vec()));
        at += 16 + cap;
    }
    Ok(packets)
}

struct Segment<'a> {
    src: Endpoint,
    dst: Endpoint,
    seq: u32,
    syn: bool,
    payload: &'a [u8],
}

fn parse_frame(link: u32, frame: &[u8]) -> Option<Segment<'_>> {
    let ip = match link {
        1 => {
            let mut at = 12;
            let mut ethertype = u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]);
            while ethertype == 0x8100 || ethertype == 0x88a8 {
                at += 4;
                ethertype = u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]);
            }
            frame.get(at + 2..)?
        }
        0 => frame.get(4..)?,
        113 => frame.get(16..)?,
        276 => frame.get(20..)?,
        _ => frame,
    };
    let (src_ip, dst_ip, tcp): (IpAddr, IpAddr, &[u8]) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            if *ip.get(9)? != 6 {
                return None;
            }
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (src.into(), dst.into(), ip.get(ihl..total.min(ip.len()))?)
        }
        6 => {
            if *ip.get(6)? != 6 {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (src.into(), dst.into(), ip.get(40..(40 + len).min(ip.len()))?)
        }
        _ => return None,
    };
    let src_port = u16::from_be_bytes([*tcp.first()?, *tcp.get(1)?]);
    let dst_port = u16::from_be_bytes([*tcp.get(2)?, *tcp.get(3)?]);
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let offset = usize::from(tcp.get(12)? >> 4) * 4;
    let syn = tcp.get(13)? & 0x02 != 0;
    Some(Segment { src: (src_ip, src_port), dst: (dst_ip, dst_port), seq, syn, payload: tcp.get(offset..)? })
}

fn append_segment(side: &mut Side, seq: u32, payload: &[u8]) {
    let next = *side.next.get_or_insert(seq);
    let ahead = seq.wrapping_sub(next) as i32;
    if ahead > 0 {
        side.out_of_order.push((seq, payload.to_vec()));
        return;
    }
    let skip = (-ahead) as usize;
    if skip < payload.len() {
        side.buf.extend_from_slice(&payload[skip..]);
        side.next = Some(seq.wrapping_add(payload.len() as u32));
    }
    // Segments that became contiguous.
    while let Some(i) = side.out_of_order.iter().position(|(s, _)| s.wrapping_sub(side.next.unwrap_or(0)) as i32 <= 0) {
        let (s, data) = side.out_of_order.swap_remove(i);
        append_segment(side, s, &data);
    }
}

struct Record {
    content_type: u8,
    version: u16,
    fragment: Vec<u8>,
}

fn next_record(buf: &mut Vec<u8>) -> Option<Record> {
    if buf.len() < 5 {
        return None;
    }
    if buf[0] & 0x80 != 0 {
        // SSLv2-format ClientHello: two-byte length with the top bit set.
        let len = usize::from(u16::from_be_bytes([buf[0] & 0x7f, buf[1]])) + 2;
        if buf.len() < len {
            return None;
        }
        let fragment = buf.drain(..len).collect();
        return Some(Record { content_type: 0x80, version: 0x0002, fragment });
    }
    if !(20..=24).contains(&buf[0]) || buf[1] != 3 {
        buf.clear();
        return None;
    }
    let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    if buf.len() < 5 + len {
        return None;
    }
    let header: Vec<u8> = buf.drain(..5).collect();
    let fragment = buf.drain(..len).collect();
    Some(Record { content_type: header[0], version: u16::from_be_bytes([header[1], header[2]]), fragment })
}

fn handle_record(conn: &mut Conn, side: usize, mut record: Record, keys: &Keys, out: &mut Outcome) {
    match record.content_type {
        0x80 => {
            conn.client = Some(side);
            return;
        }
        20 if !conn.tls13 => {
            derive_tls12(conn, keys, out);
            conn.active[side] = conn.pending[side].take();
            conn.sides[side].ccs = true;
            return;
        }
        20 => return,
        _ => {}
    }
    let is_client = conn.client == Some(side);
    let encrypted = if conn.tls13 { record.content_type == 23 } else { conn.sides[side].ccs };
    let early_phase = is_client && record.content_type == 23 && conn.early_active;
    if early_phase {
        let mut copy = record.fragment.clone();
        if let Some(early) = conn.early.as_mut() {
            if let Ok(plain) = early.try_decrypt(ContentType::ApplicationData, record.version.into(), &mut copy) {
                out.decrypted += 1;
                if plain.content_type == ContentType::ApplicationData {
                    out.plaintext_bytes += plain.range.len() as u64;
                    out.early_bytes += plain.range.len() as u64;
                } else if plain.content_type == ContentType::Handshake {
                    handle_handshake_bytes(conn, side, &copy[plain.range], keys, out, true);
                }
                return;
            }
        }
        let Some(dec) = conn.active[side].as_mut() else {
            out.undecryptable += 1;
            return;
        };
        let mut copy = record.fragment.clone();
        match dec.try_decrypt(ContentType::ApplicationData, record.version.into(), &mut copy) {
            Ok(plain) => {
                conn.early_active = false;
                record.fragment = copy;
                finish_plain(conn, side, &record, plain, keys, out);
            }
            Err(_) => out.undecryptable += 1,
        }
        return;
    }
    if !encrypted {
        if record.content_type == 22 {
            handle_handshake_bytes(conn, side, &record.fragment, keys, out, false);
        } else if record.content_type == 23 {
            out.undecryptable += 1;
        }
        return;
    }
    let Some(dec) = conn.active[side].as_mut() else {
        out.undecryptable += 1;
        return;
    };
    match dec.decrypt(record.content_type.into(), record.version.into(), &mut record.fragment) {
        Ok(plain) => finish_plain(conn, side, &record, plain, keys, out),
        Err(e) => {
            out.failed += 1;
            out.errors.push(format!("side {side} record type {}: {e}", record.content_type));
        }
    }
}

fn finish_plain(
    conn: &mut Conn,
    side: usize,
    record: &Record,
    plain: tlskit_wire::cipher::Plain,
    keys: &Keys,
    out: &mut Outcome,
) {
    out.decrypted += 1;
    match plain.content_type {
        ContentType::ApplicationData => out.plaintext_bytes += plain.range.len() as u64,
        ContentType::Handshake => handle_handshake_bytes(conn, side, &record.fragment[plain.range], keys, out, true),
        _ => {}
    }
    if conn.tls13 && conn.switch_to_app[side] {
        conn.switch_to_app[side] = false;
        let label = if conn.client == Some(side) { Label::ClientTrafficSecret0 } else { Label::ServerTrafficSecret0 };
        conn.active[side] = tls13_decryptor(conn, &keys.log, label, out);
    }
    if conn.key_update[side] {
        conn.key_update[side] = false;
        if let Some(dec) = conn.active[side].as_mut() {
            if !matches!(dec.key_update(), Ok(true)) {
                out.errors.push("KeyUpdate failed".into());
            }
        }
    }
}

fn tls13_decryptor(conn: &Conn, log: &KeyLog, label: Label, out: &mut Outcome) -> Option<RecordDecryptor> {
    let (suite, random) = (conn.suite?, conn.client_random?);
    let Some(secret) = log.get(label, &random) else {
        out.errors.push(format!("no {label}"));
        return None;
    };
    match RecordDecryptor::tls13(suite, secret) {
        Ok(dec) => Some(dec),
        Err(e) => {
            out.errors.push(e.to_string());
            None
        }
    }
}

fn handle_handshake_bytes(conn: &mut Conn, side: usize, bytes: &[u8], keys: &Keys, out: &mut Outcome, enc: bool) {
    conn.sides[side].handshake.extend_from_slice(bytes);
    loop {
        let hs = &conn.sides[side].handshake;
        if hs.len() < 4 {
            break;
        }
        let len = usize::from(hs[1]) << 16 | usize::from(hs[2]) << 8 | usize::from(hs[3]);
        if hs.len() < 4 + len {
            break;
        }
        let msg: Vec<u8> = conn.sides[side].handshake.drain(..4 + len).collect();
        handle_message(conn, side, &msg, keys, out, enc);
    }
}

/// Extensions of a hello body starting at `at`: (type, data).
fn extensions(body: &[u8], at: usize) -> Vec<(u16, &[u8])> {
    let mut exts = Vec::new();
    let Some(total) = body.get(at..at + 2) else { return exts };
    let end = (at + 2 + usize::from(u16::from_be_bytes([total[0], total[1]]))).min(body.len());
    let mut i = at + 2;
    while i + 4 <= end {
        let kind = u16::from_be_bytes([body[i], body[i + 1]]);
        let n = usize::from(u16::from_be_bytes([body[i + 2], body[i + 3]]));
        let Some(data) = body.get(i + 4..i + 4 + n) else { break };
        exts.push((kind, data));
        i += 4 + n;
    }
    exts
}

fn handle_message(conn: &mut Conn, side: usize, msg: &[u8], keys: &Keys, out: &mut Outcome, enc: bool) {
    let body = &msg[4..];
    if !enc {
        conn.transcript.extend_from_slice(msg);
    }
    match msg[0] {
        1 if !enc => {
            conn.client = Some(side);
            let Some(random) = body.get(2..34) else { return };
            conn.client_random = random.try_into().ok();
            let sid = usize::from(*body.get(34).unwrap_or(&0));
            let suites_at = 35 + sid;
            let Some(n) = body.get(suites_at..suites_at + 2) else { return };
            let n = usize::from(u16::from_be_bytes([n[0], n[1]]));
            let suites = body.get(suites_at + 2..suites_at + 2 + n).unwrap_or(&[]);
            conn.first_tls13_offer = suites
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .find(|id| (0x1301..=0x1305).contains(id));
            let comp_at = suites_at + 2 + n;
            let comp = usize::from(*body.get(comp_at).unwrap_or(&0));
            conn.early_offered = extensions(body, comp_at + 1 + comp).iter().any(|(k, _)| *k == 42);
            if conn.early_offered {
                conn.early_active = true;
                let suite = conn.first_tls13_offer.and_then(|id| CipherSuite::lookup(id.into()));
                let secret = conn.client_random.and_then(|r| keys.log.get(Label::ClientEarlyTrafficSecret, &r));
                conn.early = match (suite, secret) {
                    (Some(suite), Some(secret)) => RecordDecryptor::tls13(suite, secret).ok(),
                    _ => None,
                };
            }
        }
        2 if !enc => {
            let Some(random) = body.get(2..34) else { return };
            if random == HRR_RANDOM {
                return;
            }
            conn.server_random = random.try_into().ok();
            conn.version = u16::from_be_bytes([body[0], body[1]]);
            let sid = usize::from(*body.get(34).unwrap_or(&0));
            let Some(id) = body.get(35 + sid..37 + sid) else { return };
            conn.suite = CipherSuite::lookup(u16::from_be_bytes([id[0], id[1]]).into());
            for (kind, data) in extensions(body, 37 + sid + 1) {
                match kind {
                    0x2b if data.len() == 2 => conn.version = u16::from_be_bytes([data[0], data[1]]),
                    0x17 => conn.ems = true,
                    0x16 => conn.etm = true,
                    _ => {}
                }
            }
            if conn.version == u16::from(ProtocolVersion::TLSv1_3) {
                conn.tls13 = true;
                let server = 1 - conn.client.unwrap_or(0);
                let client = conn.client.unwrap_or(0);
                conn.active[server] = tls13_decryptor(conn, &keys.log, Label::ServerHandshakeTrafficSecret, out);
                conn.active[client] = tls13_decryptor(conn, &keys.log, Label::ClientHandshakeTrafficSecret, out);
            } else {
                conn.early_active = false;
            }
        }
        16 if !enc => {
            conn.cke = Some(body.to_vec());
            conn.transcript_at_cke = Some(conn.transcript.clone());
        }
        // EncryptedExtensions without early_data: the server rejected 0-RTT.
        8 if enc && !extensions(body, 0).iter().any(|(k, _)| *k == 42) => conn.early_active = false,
        5 if enc => conn.early_active = false,
        20 if enc && conn.tls13 => {
            conn.switch_to_app[side] = true;
            if conn.client == Some(side) {
                conn.early_active = false;
            }
        }
        24 if enc => conn.key_update[side] = true,
        _ => {}
    }
}

fn derive_tls12(conn: &mut Conn, keys: &Keys, out: &mut Outcome) {
    if conn.tls12_tried {
        return;
    }
    conn.tls12_tried = true;
    let (Some(suite), Some(cr), Some(sr), Some(client)) =
        (conn.suite, conn.client_random, conn.server_random, conn.client)
    else {
        out.errors.push("no hellos before ChangeCipherSpec".into());
        return;
    };
    if !suite.can_decrypt() {
        out.errors.push(format!("{} cannot be decrypted", suite.name));
        return;
    }
    let prf = Prf::for_version(conn.version.into(), suite.prf_hash);
    let master: [u8; 48] = if let Some(m) = keys.log.get(Label::ClientRandom, &cr) {
        match m.try_into() {
            Ok(m) => m,
            Err(_) => return,
        }
    } else {
        let premaster = match (suite.kx, &keys.rsa, &keys.psk, &conn.cke) {
            (KeyExchange::Rsa, Some(rsa), _, Some(cke)) => match rsa.decrypt_premaster(cke) {
                Some(pm) => pm.to_vec(),
                None => {
                    out.errors.push("RSA: no premaster (wrong key or bad padding)".into());
                    return;
                }
            },
            (KeyExchange::Psk, _, Some(psk), _) => schedule::psk_premaster(psk),
            _ => {
                out.errors.push("no master secret".into());
                return;
            }
        };
        match (conn.ems, &conn.transcript_at_cke) {
            (true, Some(t)) => schedule::extended_master_secret(prf, &premaster, &schedule::session_hash(prf, t)),
            _ => schedule::master_secret(prf, &premaster, &cr, &sr),
        }
    };
    let (c, s) = schedule::tls12_keys(suite, conn.version.into(), &master, &cr, &sr);
    let build = |k| RecordDecryptor::new(suite, conn.version.into(), k).map(|d| d.with_encrypt_then_mac(conn.etm));
    match (build(&c), build(&s)) {
        (Ok(cd), Ok(sd)) => {
            conn.pending[client] = Some(cd);
            conn.pending[1 - client] = Some(sd);
        }
        (Err(e), _) | (_, Err(e)) => out.errors.push(e.to_string()),
    }
}
