//! Round trips with real peers: `openssl s_server` ↔ Python's `ssl` client through a recording TCP relay
//! (a socket tap). The recorded bytes are (1) fed to the library's `Dissector` as a live trace would, and
//! (2) written as capture files of several link types, with reordered, retransmitted and split segments, for
//! `tlskit dump --extract`. Both must give back exactly the HTTP bytes the client sent and the server answered.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use common::process::CommandExt as _;
use tlskit_wire::dissect::{Direction, Dissector, Event, Timestamp};
use tlskit_wire::keys::KeyLog;

/// How long a relay waits for the next bytes from either side.
const RELAY_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

const REQUEST: &[u8] = b"GET /roundtrip HTTP/1.0\r\nHost: localhost\r\nX-Test: tlskit dump\r\n\r\n";

/// One recorded read: direction (true = client to server), time, bytes.
type Chunk = (bool, u64, Vec<u8>);
type Tap = Arc<Mutex<Vec<Chunk>>>;
/// Recorded chunks, key log text, the server's answer, and the directory holding the server key.
type Exchange = (Vec<Chunk>, String, Vec<u8>, tempfile::TempDir);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// `openssl s_server -www` on a free port with a fresh key of the given kind; returns it and its port.
fn start_server(dir: &Path, key_kind: &str, extra: &[&str]) -> (Server, u16) {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let newkey: &[&str] = if key_kind == "rsa" {
        &["-newkey", "rsa:2048"]
    } else {
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    };
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(newkey)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output_checked();
    assert!(ok.status.success(), "openssl req: {}", String::from_utf8_lossy(&ok.stderr));
    let mut child = Command::new("openssl")
        .args(["s_server", "-www", "-accept", "127.0.0.1:0", "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // It prints "ACCEPT 127.0.0.1:PORT" once listening; the rest of its output is drained.
    let port = common::peers::wait_for_port(&mut child, "openssl s_server", |line| {
        line.strip_prefix("ACCEPT")?.trim().rsplit(':').next()?.parse().ok()
    });
    (Server(child), port)
}

/// A relay on a free port that forwards one connection to `port` and records both directions.
fn start_tap(port: u16) -> (u16, Tap, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tap_port = listener.local_addr().unwrap().port();
    let tap: Tap = Arc::default();
    let record = tap.clone();
    let handle = std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let server = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let pipe = |mut from: TcpStream, mut to: TcpStream, c2s: bool, tap: Tap| {
            std::thread::spawn(move || {
                // A peer that stalls ends the relay (and fails the test) instead of hanging it.
                let _ = from.set_read_timeout(Some(RELAY_IDLE));
                let mut buf = [0u8; 16384];
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    tap.lock().unwrap().push((c2s, now_nanos(), buf[..n].to_vec()));
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            })
        };
        let a = pipe(client.try_clone().unwrap(), server.try_clone().unwrap(), true, record.clone());
        let b = pipe(server, client, false, record);
        let _ = (a.join(), b.join());
    });
    (tap_port, tap, handle)
}

/// Python's ssl client: sends REQUEST, reads the answer to EOF, logs keys to `keylog`. Returns the answer.
fn python_client(port: u16, keylog: &Path, tls: &str, ciphers: Option<&str>) -> Vec<u8> {
    let script = format!(
        r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = {keylog:?}
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.{tls}
{ciphers}
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", {port})), server_hostname="localhost")
s.sendall({request})
out = b""
while True:
    try:
        d = s.recv(65536)
    except (ssl.SSLEOFError, ConnectionResetError):
        break
    if not d:
        break
    out += d
sys.stdout.buffer.write(out)
"#,
        keylog = keylog.to_str().unwrap(),
        ciphers = ciphers.map(|c| format!("ctx.set_ciphers({c:?})")).unwrap_or_default(),
        request = "b".to_string() + &format!("{:?}", String::from_utf8_lossy(REQUEST)),
    );
    let out = Command::new("python3").arg("-c").arg(script).output_checked();
    assert!(out.status.success(), "python client: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Runs one exchange through the tap; returns (recorded chunks, key log text, server answer).
fn exchange(key_kind: &str, tls: &str, ciphers: Option<&str>) -> Exchange {
    exchange_with(key_kind, tls, ciphers, &[])
}

fn exchange_with(key_kind: &str, tls: &str, ciphers: Option<&str>, server_args: &[&str]) -> Exchange {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_server(dir.path(), key_kind, server_args);
    let (tap_port, tap, relay) = start_tap(port);
    let keylog = dir.path().join("keylog.txt");
    let answer = python_client(tap_port, &keylog, tls, ciphers);
    relay.join().unwrap();
    let chunks = tap.lock().unwrap().clone();
    (chunks, std::fs::read_to_string(&keylog).unwrap(), answer, dir)
}

/// The plaintext a Dissector recovers from the recorded chunks, per direction.
fn dissect(chunks: &[(bool, u64, Vec<u8>)], keylog: &str) -> [Vec<u8>; 2] {
    let mut dissector = Dissector::new(Arc::new(KeyLog::parse(keylog).0));
    let mut plain: [Vec<u8>; 2] = Default::default();
    for (c2s, ts, bytes) in chunks {
        let dir = if *c2s { Direction::ClientToServer } else { Direction::ServerToClient };
        dissector.feed(dir, bytes, Timestamp(*ts), &mut |e| {
            if let Event::ApplicationData { dir, data, .. } = e {
                plain[dir.index()].extend_from_slice(data);
            }
        });
    }
    plain
}

#[test]
fn live_tap_tls13_plaintext_equals_what_was_sent() {
    let (chunks, keylog, answer, _dir) = exchange("ec", "TLSv1_3", None);
    assert!(answer.starts_with(b"HTTP/1.0 200 ok"), "{}", String::from_utf8_lossy(&answer));
    let [c2s, s2c] = dissect(&chunks, &keylog);
    assert_eq!(c2s, REQUEST);
    assert_eq!(s2c, answer);
}

#[test]
fn live_tap_tls13_after_hello_retry_request() {
    // The client's only key share is x25519; a server that wants P-384 answers with a HelloRetryRequest.
    let (chunks, keylog, answer, _dir) = exchange_with("ec", "TLSv1_3", None, &["-groups", "P-384"]);
    let mut dissector = Dissector::new(Arc::new(KeyLog::parse(&keylog).0));
    let mut messages = Vec::new();
    let mut plain: [Vec<u8>; 2] = Default::default();
    for (c2s, ts, bytes) in &chunks {
        let dir = if *c2s { Direction::ClientToServer } else { Direction::ServerToClient };
        dissector.feed(dir, bytes, Timestamp(*ts), &mut |e| match e {
            Event::Handshake { detail: tlskit_wire::dissect::HandshakeDetail::ServerHello { retry, .. }, .. } => {
                messages.push(if *retry { "HelloRetryRequest" } else { "ServerHello" })
            }
            Event::Handshake { msg_type, .. } => messages.push(msg_type.name()),
            Event::ApplicationData { dir, data, .. } => plain[dir.index()].extend_from_slice(data),
            _ => {}
        });
    }
    assert_eq!(&messages[..3], ["ClientHello", "HelloRetryRequest", "ClientHello"], "{messages:?}");
    assert!(messages.contains(&"Finished"), "{messages:?}");
    assert_eq!(plain[0], REQUEST);
    assert_eq!(plain[1], answer);
}

#[test]
fn live_tap_tls12_rsa_key_exchange_with_ems_via_private_key() {
    // Static RSA (no key log needed: the server key recovers the premaster); OpenSSL negotiates EMS.
    let (chunks, _keylog, answer, dir) = exchange("rsa", "TLSv1_2", Some("AES128-SHA256"));
    let mut pcap = Vec::new();
    write_capture(&mut pcap, &chunks, Link::Ethernet { vlan: false, v6: false }, false);
    let file = dir.path().join("rsa.pcap");
    std::fs::write(&file, &pcap).unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
        .env_remove("SSLKEYLOGFILE")
        .args(["dump", "-k"])
        .arg(dir.path().join("key.pem"))
        .arg("--extract")
        .arg(&out_dir)
        .arg(&file)
        .output_checked();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(out_dir.join("1-c2s.bin")).unwrap(), REQUEST);
    assert_eq!(std::fs::read(out_dir.join("1-s2c.bin")).unwrap(), answer);
    let index = std::fs::read_to_string(out_dir.join("index.json")).unwrap();
    assert!(index.contains("TLS_RSA_WITH_AES_128_CBC_SHA256"), "{index}");
    // The master secret came from the extended-master-secret derivation (RFC 7627).
    let text = Command::new(env!("CARGO_BIN_EXE_tlskit")).arg("dump").arg(&file).output_checked();
    let text = String::from_utf8_lossy(&text.stdout);
    let server_hello = text.lines().find(|l| l.contains("ServerHello ")).unwrap_or_default();
    assert!(server_hello.contains("extended_master_secret"), "{text}");
}

#[test]
fn captures_of_every_link_type_with_reordering_extract_the_exact_bytes() {
    let (chunks, keylog, answer, dir) = exchange("ec", "TLSv1_2", Some("ECDHE-ECDSA-AES128-GCM-SHA256"));
    let keys = dir.path().join("keylog.txt");
    std::fs::write(&keys, &keylog).unwrap();
    let links = [
        ("eth-vlan-v4", Link::Ethernet { vlan: true, v6: false }, false),
        ("sll2-v6-nano-be", Link::Sll2, true),
        ("null-v6", Link::Null, false),
        ("raw-v4", Link::Raw, false),
    ];
    for (name, link, nano_be) in links {
        let mut pcap = Vec::new();
        write_capture(&mut pcap, &chunks, link, nano_be);
        let file = dir.path().join(format!("{name}.pcap"));
        std::fs::write(&file, &pcap).unwrap();
        let out_dir = dir.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
            .env_remove("SSLKEYLOGFILE")
            .args(["dump", "-l"])
            .arg(&keys)
            .arg("--extract")
            .arg(&out_dir)
            .arg(&file)
            .output_checked();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(out_dir.join("1-c2s.bin")).unwrap(), REQUEST, "{name}");
        assert_eq!(std::fs::read(out_dir.join("1-s2c.bin")).unwrap(), answer, "{name}");
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("index.json")).unwrap()).unwrap();
        let server = index["connections"][0]["server"].as_str().unwrap().to_string();
        if matches!(link, Link::Sll2 | Link::Null) {
            assert!(server.starts_with("[::1]:"), "{name}: {server}");
        } else {
            assert!(server.starts_with("127.0.0.1:"), "{name}: {server}");
        }
        assert_eq!(index["connections"][0]["version"], "TLSv1.2");
    }
}

#[derive(Clone, Copy)]
enum Link {
    Ethernet { vlan: bool, v6: bool },
    Sll2,
    Null,
    Raw,
}

impl Link {
    fn linktype(self) -> u32 {
        match self {
            Link::Ethernet { .. } => 1,
            Link::Sll2 => 276,
            Link::Null => 0,
            Link::Raw => 101,
        }
    }
    fn v6(self) -> bool {
        match self {
            Link::Ethernet { v6, .. } => v6,
            Link::Sll2 | Link::Null => true,
            Link::Raw => false,
        }
    }
}

/// Writes the recorded exchange as a pcap: handshake SYNs, data cut into segments of at most 700 bytes,
/// every 4th segment swapped with the next one of the same direction, every 5th sent twice, FINs at the end.
fn write_capture(out: &mut Vec<u8>, chunks: &[(bool, u64, Vec<u8>)], link: Link, nano_be: bool) {
    let w32 = |v: u32| if nano_be { v.to_be_bytes() } else { v.to_le_bytes() };
    out.extend(w32(if nano_be { 0xa1b23c4d } else { 0xa1b2c3d4 }));
    out.extend(if nano_be { [0, 2, 0, 4] } else { [2, 0, 4, 0] });
    out.extend(w32(0));
    out.extend(w32(0));
    out.extend(w32(65535));
    out.extend(w32(link.linktype()));
    let (client, server) = if link.v6() {
        (
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 50123),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 8443),
        )
    } else {
        (
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50123),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8443),
        )
    };
    let t0 = chunks.first().map_or(0, |c| c.1);
    let mut seq = [1000u32, 9000u32];
    let mut segments: Vec<(bool, u64, u32, u8, Vec<u8>)> = vec![
        (true, t0, seq[0] - 1, 0x02, vec![]),
        (false, t0, seq[1] - 1, 0x12, vec![]),
        (true, t0, seq[0], 0x10, vec![]),
    ];
    for (c2s, ts, bytes) in chunks {
        let i = usize::from(!*c2s);
        for piece in bytes.chunks(700) {
            segments.push((*c2s, *ts, seq[i], 0x18, piece.to_vec()));
            seq[i] = seq[i].wrapping_add(piece.len() as u32);
        }
    }
    let last = chunks.last().map_or(t0, |c| c.1);
    segments.push((true, last, seq[0], 0x11, vec![]));
    segments.push((false, last, seq[1], 0x11, vec![]));
    let mut order: Vec<(bool, u64, u32, u8, Vec<u8>)> = Vec::new();
    let mut k = 3;
    while k < segments.len() - 2 {
        let s = segments[k].clone();
        if k % 4 == 0 && k + 1 < segments.len() - 2 && segments[k + 1].0 == s.0 && !s.4.is_empty() {
            order.push(segments[k + 1].clone());
            order.push(s);
            k += 2;
            continue;
        }
        if k % 5 == 0 {
            order.push(s.clone());
        }
        order.push(s);
        k += 1;
    }
    let mut all: Vec<_> = segments[..3].to_vec();
    all.extend(order);
    all.extend(segments[segments.len() - 2..].to_vec());
    for (c2s, ts, sq, flags, payload) in all {
        let (src, dst) = if c2s { (client, server) } else { (server, client) };
        let mut tcp = Vec::new();
        tcp.extend(src.port().to_be_bytes());
        tcp.extend(dst.port().to_be_bytes());
        tcp.extend(sq.to_be_bytes());
        tcp.extend(0u32.to_be_bytes());
        tcp.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend(&payload);
        let ip = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
                ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
                ip.extend(s.octets());
                ip.extend(d.octets());
                ip.extend(&tcp);
                ip
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut ip = vec![0x60, 0, 0, 0];
                ip.extend((tcp.len() as u16).to_be_bytes());
                ip.extend([6, 64]);
                ip.extend(s.octets());
                ip.extend(d.octets());
                ip.extend(&tcp);
                ip
            }
            _ => unreachable!(),
        };
        let v6 = matches!(src.ip(), IpAddr::V6(_));
        let mut frame = Vec::new();
        match link {
            Link::Ethernet { vlan, .. } => {
                frame.extend([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
                if vlan {
                    frame.extend([0x81, 0x00, 0x00, 0x07]);
                }
                frame.extend(if v6 { [0x86, 0xdd] } else { [0x08, 0x00] });
            }
            Link::Sll2 => {
                frame.extend(if v6 { [0x86, 0xdd] } else { [0x08, 0x00] });
                frame.extend([0u8; 18]);
            }
            Link::Null => frame.extend(if v6 { 30u32 } else { 2u32 }.to_le_bytes()),
            Link::Raw => {}
        }
        frame.extend(ip);
        let (secs, frac) = (ts / 1_000_000_000, ts % 1_000_000_000);
        out.extend(w32(secs as u32));
        out.extend(w32(if nano_be { frac as u32 } else { (frac / 1000) as u32 }));
        out.extend(w32(frame.len() as u32));
        out.extend(w32(frame.len() as u32));
        out.extend(frame);
    }
}

#[test]
fn resumed_tls12_session_decrypts_with_the_rsa_key_of_the_first_connection() {
    use tlskit_wire::keys::RsaKey;
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_server(dir.path(), "rsa", &[]);
    // A relay for two connections in turn, each recorded apart.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tap_port = listener.local_addr().unwrap().port();
    let relay = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for _ in 0..2 {
            let (client, _) = listener.accept().unwrap();
            let server = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let tap: Tap = Arc::default();
            let pipe = |mut from: TcpStream, mut to: TcpStream, c2s: bool, tap: Tap| {
                std::thread::spawn(move || {
                    let _ = from.set_read_timeout(Some(RELAY_IDLE));
                    let mut buf = [0u8; 16384];
                    while let Ok(n @ 1..) = from.read(&mut buf) {
                        tap.lock().unwrap().push((c2s, now_nanos(), buf[..n].to_vec()));
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Write);
                })
            };
            let a = pipe(client.try_clone().unwrap(), server.try_clone().unwrap(), true, tap.clone());
            let b = pipe(server, client, false, tap.clone());
            let _ = (a.join(), b.join());
            conns.push(tap.lock().unwrap().clone());
        }
        conns
    });
    let script = format!(
        r#"
import socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers("AES128-SHA256")
session = None
for i in range(2):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", {tap_port})), server_hostname="localhost", session=session)
    s.sendall(b"GET /" + str(i).encode() + b" HTTP/1.0\r\n\r\n")
    answer = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        answer += chunk
    print(answer.hex())
    assert (i == 1) == s.session_reused, (i, s.session_reused)
    session = s.session
    s.close()
"#
    );
    let out = Command::new("python3").arg("-c").arg(script).output_checked();
    assert!(out.status.success(), "python client: {}", String::from_utf8_lossy(&out.stderr));
    let conns = relay.join().unwrap();
    let key = Arc::new(RsaKey::from_pem(&std::fs::read_to_string(dir.path().join("key.pem")).unwrap()).unwrap());
    let cache = tlskit_wire::dissect::SessionCache::default();
    // What the client received, per connection (the script prints each answer in hex).
    let unhex = |l: &str| (0..l.len()).step_by(2).map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap()).collect();
    let answers: Vec<Vec<u8>> = String::from_utf8_lossy(&out.stdout).lines().map(unhex).collect();
    assert_eq!(answers.len(), 2);
    let mut requests = Vec::new();
    for (i, chunks) in conns.iter().enumerate() {
        let mut d = Dissector::new(Arc::new(KeyLog::new()))
            .with_rsa_key(Some(key.clone()))
            .with_session_cache(Some(cache.clone()));
        let mut plain: [Vec<u8>; 2] = Default::default();
        for (to_server, ts, bytes) in chunks {
            let dir = if *to_server { Direction::ClientToServer } else { Direction::ServerToClient };
            d.feed(dir, bytes, Timestamp(*ts), &mut |e| {
                if let Event::ApplicationData { dir, data, .. } = e {
                    plain[dir.index()].extend_from_slice(data);
                }
            });
        }
        assert_eq!(d.summary().resumed, i == 1);
        assert!(plain[1] == answers[i], "connection {i}: the answer, byte for byte");
        requests.push(String::from_utf8(std::mem::take(&mut plain[0])).unwrap());
    }
    assert_eq!(requests, ["GET /0 HTTP/1.0\r\n\r\n", "GET /1 HTTP/1.0\r\n\r\n"]);
}

/// Our own stack end to end: `tlskit get` → recording relay → `tlskit serve --keylog`, written as a capture,
/// then `tlskit dump --extract` must give back exactly the HTTP exchange, byte for byte: the request `get -v`
/// says it sent, and the response `get -i` received (whose body is the served file).
fn tlskit_serve_get_round_trip(tls_flags: &[&str], version: &str) {
    let (_pki_dir, pki) = common::pki();
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    // Larger than one TLS record, not a multiple of anything, not text.
    let body: Vec<u8> = (0..40_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(www.join("blob.bin"), &body).unwrap();
    let keys = dir.path().join("server-keys.log");
    let (cert, key, keys_arg) = (common::path(&pki.server), common::path(&pki.server_key), common::path(&keys));
    let server = common::serve::Serve::start(&www, &["--cert", &cert, "--key", &key, "--keylog", &keys_arg, "--quiet"]);
    let (tap_port, tap, relay) = start_tap(server.port);

    let url = format!("https://localhost:{tap_port}/blob.bin");
    let resolve = format!("localhost:{tap_port}:127.0.0.1");
    // -i: stdout is the response as received (status line, headers, body); -v: stderr shows the request.
    let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
        .env_remove("SSLKEYLOGFILE")
        .args(["get", "-v", "-i", "--http1.1", "--cacert", &common::path(&pki.ca), "--resolve", &resolve])
        .args(tls_flags)
        .arg(&url)
        .output_checked();
    assert!(out.status.success(), "tlskit get: {}", String::from_utf8_lossy(&out.stderr));
    let received = out.stdout;
    assert!(received.ends_with(&body), "tlskit get received the file");
    // The request as `-v` shows it: `> GET /blob.bin HTTP/1.1`, `> name: value` lines, then `>`.
    let shown = String::from_utf8_lossy(&out.stderr);
    let mut sent = Vec::new();
    for line in shown.lines().skip_while(|l| !l.starts_with("> GET ")) {
        match line.strip_prefix("> ") {
            Some(header) => sent.extend_from_slice(format!("{header}\r\n").as_bytes()),
            None => break,
        }
    }
    sent.extend_from_slice(b"\r\n");
    relay.join().unwrap();
    let chunks = tap.lock().unwrap().clone();

    let mut pcap = Vec::new();
    write_capture(&mut pcap, &chunks, Link::Ethernet { vlan: false, v6: false }, false);
    let capture = dir.path().join("roundtrip.pcap");
    std::fs::write(&capture, &pcap).unwrap();
    let extract = dir.path().join("extract");
    let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
        .env_remove("SSLKEYLOGFILE")
        .args(["dump", "-l"])
        .arg(&keys)
        .arg("--extract")
        .arg(&extract)
        .arg(&capture)
        .output_checked();
    assert!(out.status.success(), "tlskit dump: {}", String::from_utf8_lossy(&out.stderr));

    // Whole bytes, both ways: the request get says it sent, the response get received.
    let c2s = std::fs::read(extract.join("1-c2s.bin")).unwrap();
    let s2c = std::fs::read(extract.join("1-s2c.bin")).unwrap();
    assert!(sent.starts_with(b"GET /blob.bin HTTP/1.1\r\n"), "{shown}");
    assert_eq!(String::from_utf8_lossy(&c2s), String::from_utf8_lossy(&sent), "the request, byte for byte");
    assert!(
        s2c == received,
        "the response, byte for byte ({} bytes decrypted, {} received)",
        s2c.len(),
        received.len()
    );
    let head = String::from_utf8_lossy(&s2c[..s2c.len() - body.len()]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())), "{head}");

    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(extract.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["connections"][0]["version"], version);
    assert_eq!(index["connections"].as_array().map(Vec::len), Some(1));
}

#[test]
fn tlskit_serve_and_get_round_trip_tls13() {
    tlskit_serve_get_round_trip(&["--tlsv1.3"], "TLSv1.3");
}

#[test]
fn tlskit_serve_and_get_round_trip_tls12() {
    tlskit_serve_get_round_trip(&["--tls-max", "1.2"], "TLSv1.2");
}
