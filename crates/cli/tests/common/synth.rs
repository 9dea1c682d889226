//! Synthetic captures for tests that need what no third-party capture has (hostile names, many
//! connections): Ethernet/IPv4/TCP frames with real TCP sequence numbers, carrying a TLS 1.3-style
//! ClientHello (given SNI and ALPN), a ServerHello, ChangeCipherSpecs, encrypted records and an alert.

/// What one synthetic connection offers.
pub struct Hello<'a> {
    pub sni: &'a [u8],
    pub alpn: &'a [u8],
}

fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![msg_type];
    h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    h.extend_from_slice(body);
    h
}

fn extension(typ: u16, body: &[u8]) -> Vec<u8> {
    let mut e = typ.to_be_bytes().to_vec();
    e.extend_from_slice(&(body.len() as u16).to_be_bytes());
    e.extend_from_slice(body);
    e
}

fn client_hello(hello: &Hello<'_>) -> Vec<u8> {
    let mut sni = ((hello.sni.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(hello.sni.len() as u16).to_be_bytes());
    sni.extend_from_slice(hello.sni);
    let mut alpn = ((hello.alpn.len() + 1) as u16).to_be_bytes().to_vec();
    alpn.push(hello.alpn.len() as u8);
    alpn.extend_from_slice(hello.alpn);
    let mut exts = extension(0, &sni);
    exts.extend(extension(43, &[2, 3, 4]));
    exts.extend(extension(16, &alpn));
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x11; 32]);
    body.extend_from_slice(&[0, 0, 4, 0x13, 0x01, 0x13, 0x02, 1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend(exts);
    let mut r = record(22, &handshake(1, &body));
    r[2] = 1; // legacy record version TLS 1.0, as browsers send it
    r
}

fn server_hello() -> Vec<u8> {
    let exts = extension(43, &[3, 4]);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x22; 32]);
    body.extend_from_slice(&[0, 0x13, 0x01, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend(exts);
    record(22, &handshake(2, &body))
}

/// A pcap (Ethernet) writer with increasing timestamps.
pub struct Pcap {
    bytes: Vec<u8>,
    usec: u64,
}

impl Default for Pcap {
    fn default() -> Self {
        let mut bytes = Vec::new();
        for field in [0xa1b2_c3d4u32.to_le_bytes().to_vec(), vec![2, 0, 4, 0], vec![0; 8]] {
            bytes.extend(field);
        }
        bytes.extend_from_slice(&65_535u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        Pcap { bytes, usec: 1_800_000_000_000_000 }
    }
}

impl Pcap {
    #[allow(clippy::too_many_arguments)]
    fn frame(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.extend_from_slice(&[5 << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let sum = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u32>();
        let folded = (sum & 0xffff) + (sum >> 16);
        ip[10..12].copy_from_slice(&(!(folded as u16)).to_be_bytes());
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
        frame.extend(ip);
        frame.extend(tcp);
        self.usec += 10;
        self.bytes.extend_from_slice(&((self.usec / 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&((self.usec % 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend(frame);
    }

    /// One whole connection number `i` (client 10.x.y.z, server 192.0.2.1:443), closed with a fatal alert
    /// from the server and FINs.
    pub fn connection(&mut self, i: u32, hello: &Hello<'_>) {
        let client = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let server = [192, 0, 2, 1];
        let port = 1024 + (i % 60_000) as u16;
        let (mut c_seq, mut s_seq) = (1000u32, 5000u32);
        let ccs = record(20, &[1]);
        let mut from_server = server_hello();
        from_server.extend_from_slice(&ccs);
        from_server.extend(record(23, &[0x5a; 300]));
        let mut from_client = ccs.clone();
        from_client.extend(record(23, &[0xa5; 60]));
        let alert = record(21, &[2, 40]);
        self.frame(client, server, port, 443, c_seq, 0, 0x02, &[]);
        c_seq += 1;
        self.frame(server, client, 443, port, s_seq, c_seq, 0x12, &[]);
        s_seq += 1;
        for (from_client_side, payload) in
            [(true, client_hello(hello)), (false, from_server), (true, from_client), (false, alert)]
        {
            if from_client_side {
                self.frame(client, server, port, 443, c_seq, s_seq, 0x18, &payload);
                c_seq += payload.len() as u32;
            } else {
                self.frame(server, client, 443, port, s_seq, c_seq, 0x18, &payload);
                s_seq += payload.len() as u32;
            }
        }
        self.frame(client, server, port, 443, c_seq, s_seq, 0x11, &[]);
        self.frame(server, client, 443, port, s_seq, c_seq + 1, 0x11, &[]);
        self.frame(client, server, port, 443, c_seq + 1, s_seq + 1, 0x10, &[]);
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
