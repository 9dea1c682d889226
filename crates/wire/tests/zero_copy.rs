//! The views borrow: parsing a real ClientHello and ServerHello (curl talking to www.google.com) and walking
//! every field of the views allocates nothing, counted by a global allocator. Only the owned form allocates.

#[path = "support/captures.rs"]
mod support_captures;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tlskit_wire::capture::file::{Block, CaptureReader};
use tlskit_wire::capture::link::{Decoded, LinkDecoder};
use tlskit_wire::cipher::CipherSuiteId;
use tlskit_wire::dissect::HandshakeDetail;
use tlskit_wire::extensions::{self, ExtensionType};
use tlskit_wire::handshake::{self, Certificates, ClientHello, HandshakeType, ServerHello};
use tlskit_wire::record::{ContentType, ProtocolVersion, RecordHeader};

/// Counts the allocations of the current thread (the test harness's other threads do not disturb it).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is passed on unchanged to the system allocator; counting touches a const-initialised
// thread-local Cell, which itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The value of `f` and how many allocations it made.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

/// The bodies of the first handshake message of each direction's first handshake record in a capture.
fn hello_bodies(path: &str) -> Vec<Vec<u8>> {
    let mut reader = CaptureReader::open(&support_captures::captures_dir().join(path)).expect("capture");
    let mut link = LinkDecoder::default();
    let mut bodies = Vec::new();
    while let Some(block) = reader.next_block().expect("readable") {
        let Block::Packet { linktype, data, .. } = block else { continue };
        let Decoded::Segment(segment) = link.decode(linktype, data) else { continue };
        let payload = segment.payload;
        let Some(header) = RecordHeader::parse(payload) else { continue };
        if header.content_type != ContentType::Handshake {
            continue;
        }
        if let Some((_, message)) = payload.get(5..).and_then(handshake::message) {
            bodies.push(message[handshake::HEADER_LEN..].to_vec());
        }
        if bodies.len() == 2 {
            break;
        }
    }
    bodies
}

#[test]
fn parsing_and_walking_hello_views_allocates_nothing() {
    let bodies = hello_bodies("ssldump-samples/tls1.3_curl_google.pcap");
    let [client, server] = &bodies[..] else { panic!("expected a ClientHello and a ServerHello: {bodies:?}") };

    let ((sni_borrowed, suites, extensions, alpn, versions, groups, shares), n) = allocations(|| {
        let ch = ClientHello::parse(client).expect("ClientHello parses");
        let sni = ch.server_name().expect("SNI");
        let sni_borrowed = matches!(sni, std::borrow::Cow::Borrowed("www.google.com"));
        let suites = ch.cipher_suites().filter(|s| *s == CipherSuiteId::TLS_AES_128_GCM_SHA256).count()
            + ch.cipher_suites().count() * 1000;
        let extensions = ch.extensions.iter().filter(|e| !e.data.is_empty() || e.typ.is_grease()).count();
        let alpn = ch.alpn().filter(|p| *p == b"h2").count();
        let versions = ch.versions().filter(|v| *v == ProtocolVersion::TLSv1_3).count();
        let groups = extensions::supported_groups(ch.extension(ExtensionType::SupportedGroups).unwrap_or_default())
            .filter(|g| !g.is_grease())
            .count();
        let shares = ch.key_share_groups().count();
        let _ = (ch.psk_modes().count(), ch.compression_methods().count(), ch.session_ticket());
        let _ = extensions::signature_algorithms(ch.extension(ExtensionType::SignatureAlgorithms).unwrap_or_default())
            .map(|s| s.name().len())
            .sum::<usize>();
        (sni_borrowed, suites, extensions, alpn, versions, groups, shares)
    });
    assert_eq!(n, 0, "parsing and walking the ClientHello allocated {n} times");
    assert!(sni_borrowed, "the host name is borrowed from the message");
    assert_eq!(suites % 1000, 1, "TLS_AES_128_GCM_SHA256 offered once");
    assert!(suites / 1000 > 10 && extensions > 5 && groups > 2 && shares >= 1);
    assert_eq!((alpn, versions), (1, 1));

    let ((version, suite, retry), n) = allocations(|| {
        let sh = ServerHello::parse(server).expect("ServerHello parses");
        let _ = (sh.key_share_group(), sh.extensions.len(), sh.alpn());
        (sh.negotiated_version(), sh.cipher_suite, sh.is_hello_retry_request())
    });
    assert_eq!(n, 0, "parsing and walking the ServerHello allocated {n} times");
    assert_eq!((version, retry), (ProtocolVersion::TLSv1_3, false));
    assert!(suite.name().starts_with("TLS_"), "{suite}");

    // A TLS 1.3 Certificate body: no context, two entries with empty extensions.
    let certs = [0, 0, 0, 13, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 0, 1, 0xcc, 0, 0];
    let (count, n) =
        allocations(|| Certificates::parse(&certs, true).map(|c| c.iter().map(<[u8]>::len).sum::<usize>()));
    assert_eq!((count, n), (Some(3), 0));

    // The owned form is where allocation happens, and only there.
    let ch = ClientHello::parse(client).expect("ClientHello parses");
    let (detail, n) = allocations(|| HandshakeDetail::client_hello(&ch));
    assert!(n > 0, "the owned detail copies the lists");
    let HandshakeDetail::ClientHello { server_name, cipher_suites, .. } = detail else { panic!("{detail:?}") };
    assert_eq!((server_name.as_deref(), cipher_suites.len()), (Some("www.google.com"), suites / 1000));
    assert_eq!(HandshakeType::ClientHello.name(), "ClientHello");
}
