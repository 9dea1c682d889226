//! One connection's live trace, for `serve --trace` and `get -v` alike: the tap's bytes fed to the wire
//! crate's dissector (the decoder `tlskit dump` uses) with the connection's own secrets from a
//! [`SecretLog`], handed on as owned [`TraceEvent`]s as they happen. The library renders nothing: the
//! binary prints the events with wire's renderers, as `tlskit dump`'s text or its JSON.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tlskit_wire::dissect::{Direction, Dissector, Event, Summary, Timestamp};
use tlskit_wire::handshake::{self, ClientHello, HandshakeType};
use tlskit_wire::record::{self, ContentType, RecordHeader};
use tlskit_wire::render::Connection;

use super::{SecretLog, TapSink};

/// Receives a traced connection's events, in order (called from the connection's task or thread).
pub type TraceSink = Arc<dyn Fn(TraceEvent) + Send + Sync>;

/// One step of a connection's live trace, as owned values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    /// The traced connection: its number (connections of a process are numbered as `tlskit dump`
    /// numbers those of a capture), client and server, and the time of its first byte.
    pub conn: Connection,
    /// What happened.
    pub step: TraceStep,
}

/// What a [`TraceEvent`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceStep {
    /// The connection is traced from here on (the renderers' connection header).
    Start,
    /// Something the decoder saw. After the handshake, application data (the HTTP exchange) is left out.
    Event(Event<'static>),
    /// The connection is over (answered, closed or failed): what it negotiated, and the decoder's counts.
    End(Summary),
}

/// Traced connections of this process are numbered as `tlskit dump` numbers them.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Per-connection trace state; the [`TapSink`] of one connection's tap.
pub(crate) struct ConnTracer {
    sink: TraceSink,
    /// The direction of the bytes this end reads (the peer's).
    incoming: Direction,
    secrets: Arc<SecretLog>,
    handshake_done: AtomicBool,
    finished: AtomicBool,
    state: Mutex<State>,
}

struct State {
    conn: Connection,
    dissector: Dissector,
    /// The client's first bytes, until they hold its first record (to read the client random from).
    hello: Option<Vec<u8>>,
    client_random: Option<[u8; 32]>,
    /// The peer's latest bytes, fed once rustls has read them (and logged the secrets they lead to).
    held: Vec<u8>,
}

impl ConnTracer {
    /// The tracer of a connection between `local` and `peer` whose reads go `incoming`.
    pub(crate) fn new(
        incoming: Direction,
        sink: TraceSink,
        secrets: Arc<SecretLog>,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (client, server) = match incoming {
            Direction::ClientToServer => (peer, local),
            Direction::ServerToClient => (local, peer),
        };
        let conn = Connection { id, client, server, first_ts: Timestamp::now(), midstream: false };
        let tracer = ConnTracer {
            sink,
            incoming,
            secrets: secrets.clone(),
            handshake_done: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            state: Mutex::new(State {
                conn,
                dissector: Dissector::new(secrets),
                hello: Some(Vec::new()),
                client_random: None,
                held: Vec::new(),
            }),
        };
        (tracer.sink)(TraceEvent { conn, step: TraceStep::Start });
        tracer
    }

    /// The handshake is over: from now on application-data records are not shown.
    pub(crate) fn handshake_finished(&self) {
        self.handshake_done.store(true, Ordering::Relaxed);
    }

    /// The connection is done (answered, closed or failed): its summary, and its secrets forgotten.
    /// Only the first call does anything.
    pub(crate) fn finish(&self) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut out = Vec::new();
        {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let state = &mut *guard;
            state.feed_held(self.incoming, self.handshake_done.load(Ordering::Relaxed), &mut out);
            out.push(TraceEvent { conn: state.conn, step: TraceStep::End(state.dissector.summary()) });
            if let Some(random) = state.client_random {
                self.secrets.forget(&random);
            }
        }
        self.emit(out);
    }

    fn emit(&self, events: Vec<TraceEvent>) {
        for event in events {
            (self.sink)(event);
        }
    }
}

impl State {
    /// Feed `bytes` of one direction, collecting the events into `out`.
    fn feed(&mut self, dir: Direction, bytes: &[u8], quiet_data: bool, out: &mut Vec<TraceEvent>) {
        let State { conn, dissector, .. } = self;
        let mut sink = |event: &Event<'_>| {
            // After the handshake, plain application data is the HTTP exchange: not traced.
            if quiet_data {
                match event {
                    Event::Record { content_type, inner_type, .. }
                        if inner_type.unwrap_or(*content_type) == ContentType::ApplicationData =>
                    {
                        return
                    }
                    Event::ApplicationData { .. } => return,
                    _ => {}
                }
            }
            out.push(TraceEvent { conn: *conn, step: TraceStep::Event(event.clone().into_owned()) });
        };
        dissector.feed(dir, bytes, Timestamp::now(), &mut sink);
    }

    fn feed_held(&mut self, incoming: Direction, quiet_data: bool, out: &mut Vec<TraceEvent>) {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.feed(incoming, &held, quiet_data, out);
        }
    }

    /// Note the client's bytes until its first record is whole, then read the client random from it.
    fn look_for_client_random(&mut self, bytes: &[u8]) {
        let Some(hello) = &mut self.hello else { return };
        hello.extend_from_slice(bytes);
        match first_record(hello) {
            FirstRecord::Incomplete => {}
            FirstRecord::Complete(record) => {
                self.client_random = client_random(record);
                self.hello = None;
            }
            FirstRecord::NotAHandshake => self.hello = None,
        }
    }
}

/// What the client's first bytes hold so far.
enum FirstRecord<'a> {
    Incomplete,
    /// The first record's fragment.
    Complete(&'a [u8]),
    NotAHandshake,
}

fn first_record(bytes: &[u8]) -> FirstRecord<'_> {
    let Some(header) = RecordHeader::parse(bytes) else { return FirstRecord::Incomplete };
    if header.content_type != ContentType::Handshake || !header.is_plausible() {
        return FirstRecord::NotAHandshake;
    }
    match bytes.get(record::HEADER_LEN..record::HEADER_LEN + usize::from(header.length)) {
        Some(fragment) => FirstRecord::Complete(fragment),
        None => FirstRecord::Incomplete,
    }
}

/// The random of the ClientHello a first handshake record holds (what rustls keys the secrets by).
fn client_random(fragment: &[u8]) -> Option<[u8; 32]> {
    // The handshake header: message type, then the body's 24-bit length.
    let header = fragment.get(..handshake::HEADER_LEN)?;
    if HandshakeType::from(header[0]) != HandshakeType::ClientHello {
        return None;
    }
    let len = usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
    let body = fragment.get(handshake::HEADER_LEN..handshake::HEADER_LEN + len)?;
    ClientHello::parse(body).map(|hello| hello.random)
}

impl TapSink for ConnTracer {
    fn bytes(&self, direction: Direction, data: &[u8]) {
        if self.finished.load(Ordering::Relaxed) {
            return;
        }
        let quiet_data = self.handshake_done.load(Ordering::Relaxed);
        let mut out = Vec::new();
        {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let state = &mut *guard;
            // Bytes read are decoded one step late: by the next read or write rustls has
            // processed them and logged the secrets they need (TLS 1.2's Finished comes in
            // the same read as the ClientKeyExchange that yields its key).
            state.feed_held(self.incoming, quiet_data, &mut out);
            if direction == Direction::ClientToServer {
                state.look_for_client_random(data);
            }
            if direction == self.incoming {
                state.held.extend_from_slice(data);
            } else {
                state.feed(direction, data, quiet_data, &mut out);
            }
        }
        self.emit(out);
    }
}

/// Calls [`ConnTracer::finish`] when a request or connection is over, however it ends.
pub(crate) struct FinishOnDrop(pub Option<Arc<ConnTracer>>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(tracer) = &self.0 {
            tracer.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record with this random, as rustls would send it (no extensions needed here).
    fn client_hello(random: [u8; 32]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&random);
        body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0, 0, 0]);
        let mut message = vec![1, 0, 0, body.len() as u8];
        message.extend_from_slice(&body);
        let mut record = vec![22, 3, 1, 0, message.len() as u8];
        record.extend_from_slice(&message);
        record
    }

    fn state() -> State {
        let addr = "127.0.0.1:1".parse().unwrap();
        State {
            conn: Connection { id: 0, client: addr, server: addr, first_ts: Timestamp(0), midstream: false },
            dissector: Dissector::new(Arc::new(SecretLog::new(None))),
            hello: Some(Vec::new()),
            client_random: None,
            held: Vec::new(),
        }
    }

    #[test]
    fn client_random_comes_from_the_first_record_even_when_split() {
        let hello = client_hello([9; 32]);
        let mut s = state();
        for piece in hello.chunks(7) {
            s.look_for_client_random(piece);
        }
        assert_eq!(s.client_random, Some([9; 32]));
        assert!(s.hello.is_none(), "nothing kept once the random is known");
    }

    #[test]
    fn no_client_random_in_other_bytes() {
        for bytes in [&b"GET / HTTP/1.1\r\n"[..], &[21, 3, 3, 0, 2, 2, 40], &[22, 3, 3, 0, 4, 2, 0, 0, 0]] {
            let mut s = state();
            s.look_for_client_random(bytes);
            assert_eq!(s.client_random, None, "{bytes:?}");
            assert!(s.hello.is_none(), "{bytes:?}");
        }
        // Any truncation or corruption of a hello is refused or read, never a panic.
        let hello = client_hello([3; 32]);
        for cut in 0..hello.len() {
            state().look_for_client_random(&hello[..cut]);
        }
        for at in 0..hello.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = hello.clone();
                bad[at] ^= flip;
                state().look_for_client_random(&bad);
            }
        }
        // A first record not yet whole is waited for.
        let mut s = state();
        s.look_for_client_random(&client_hello([1; 32])[..20]);
        assert!(s.hello.is_some());
    }
}
