//! One connection, from TCP accept to close: first-byte check, TLS handshake
//! (timed), then HTTP/1.1 or HTTP/2 (as ALPN chose) through hyper, watched by
//! the connection's timers (timers.rs) and closed when its state's cap or the
//! shutdown asks. Both execution models run exactly this.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::hello::{self, Hellos, Start, MAX_HELLO};
use super::io::{ConnIo, ConnSignals};
use super::service::{ConnInfo, Handler};
use super::stall::StreamExecutor;
use super::states::Slot;
use super::timers::{ConnWatch, Verdict};
use super::{Limits, Model, ServerEvent, Shared, Stage};
use crate::context::ClientAuth;
use crate::session::SessionInfo;
use crate::store::Handshake;
use crate::trace::tracer::{ConnTracer, FinishOnDrop};
use crate::trace::{Tap, TapSink, TraceSink};
use tlskit_wire::dissect::Direction;

/// The HTTP engine of every connection of both models.
pub(crate) type Engine = auto::Builder<StreamExecutor>;

/// Largest request head (HTTP/1.1 request line and headers, and HTTP/2's decoded
/// header list). hyper answers 414 to a target over 64 KiB only when the whole
/// head fits its read buffer, so the buffer is larger than that: a request line
/// of 64-128 KiB gets 414, a longer one 431 (hyper stops reading at the buffer's
/// end without knowing which part was too long). h2 answers 431 to a header list
/// over this size, and closes the connection only for a header block that needs
/// more CONTINUATION frames than this size allows (its CONTINUATION-flood guard).
pub(crate) const MAX_REQUEST_HEAD: usize = 128 * 1024;

/// The two engines, chosen by ALPN: h2 speaks only HTTP/2, everything else only
/// HTTP/1.1, so an HTTP/2 preface on a connection that negotiated http/1.1 is refused.
pub(crate) fn engines(limits: &Limits, model: Model) -> (Engine, Engine) {
    let executor = StreamExecutor { local: model == Model::Threads, send_timeout: limits.send_timeout };
    let mut builder = auto::Builder::new(executor);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // Header and a small body in one buffer: one TLS record, one write.
        .writev(false)
        .max_buf_size(MAX_REQUEST_HEAD);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(128).max_header_list_size(MAX_REQUEST_HEAD as u32);
    (builder.clone().http1_only(), builder.http2_only())
}

/// The plain-text answer to an HTTP request sent to the TLS port (as nginx gives).
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 61\r\n\
Connection: close\r\n\
X-Content-Type-Options: nosniff\r\n\
\r\n\
This port speaks HTTPS: the request was sent as plain HTTP.\r\n";

/// Serve one accepted connection to its end; errors become events.
pub(crate) async fn serve(
    shared: &Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
    slot: Slot,
) {
    let accepted_at = Instant::now();
    let deadline = tokio::time::Instant::from_std(accepted_at + shared.limits.handshake_timeout);
    let _ = tcp.set_nodelay(true);
    let fail = |stage: Stage, error: String| shared.emit(ServerEvent::Connection { peer, stage, error });

    let tracer = shared.secrets.as_ref().map(|secrets| {
        let local = tcp.local_addr().unwrap_or(peer);
        let events = shared.clone();
        let trace: TraceSink = Arc::new(move |event| events.emit(ServerEvent::Trace { peer, event: Box::new(event) }));
        Arc::new(ConnTracer::new(Direction::ClientToServer, trace, secrets.clone(), local, peer))
    });
    // However the connection ends (a failed or abandoned handshake too), its trace ends and its secrets go.
    let _finish = FinishOnDrop(tracer.clone());
    let handshake = async {
        // Look at the first bytes before TLS reads them: plain HTTP gets a plain answer. The same peek
        // keeps the ClientHello: the session prefetch reads it, `/_tls` shows it.
        let client = match tokio::time::timeout_at(deadline, hello::peek_start(&tcp)).await {
            Err(_) => return Err((Stage::Handshake, "timed out waiting for a ClientHello".into())),
            Ok(Err(err)) => return Err((Stage::Handshake, err.to_string())),
            Ok(Ok(Start::Closed)) => return Err((Stage::Handshake, "closed before sending anything".into())),
            Ok(Ok(Start::NotTls(first))) => {
                refuse_non_tls(tcp, &first, fail).await;
                return Ok(None);
            }
            Ok(Ok(Start::Tls(client))) => client,
        };
        let hellos = Hellos { client, ..Hellos::default() };
        let Ok(resumption) = tokio::time::timeout_at(deadline, prepare_resumption(shared, &hellos)).await else {
            return Err((Stage::Handshake, "timed out waiting for the session store".into()));
        };
        let sink = tracer.clone().map(|t| t as Arc<dyn TapSink>);
        let tap =
            Tap::new(tcp, Direction::ClientToServer, sink).keep_first_sent_message(MAX_HELLO, hellos.server.clone());
        let accept = resumption.clone().scope(shared.tls.accept(tap));
        match tokio::time::timeout_at(deadline, accept).await {
            Err(_) => Err((Stage::Handshake, "TLS handshake timed out".into())),
            Ok(Err(err)) => Err((Stage::Handshake, format!("TLS handshake failed: {err}"))),
            Ok(Ok(tls)) => Ok(Some((tls, resumption, hellos))),
        }
    };
    // A handshake ends early when the handshake cap needs its place or the server stops.
    let (tls, resumption, hellos) = tokio::select! {
        done = handshake => match done {
            Ok(Some(done)) => done,
            Ok(None) => return,
            Err((stage, error)) => return fail(stage, error),
        },
        _ = slot.kick().kicked() => {
            return fail(Stage::Handshake, "closed: too many handshakes in progress (--max-handshakes)".into());
        }
        _ = stop.wait_for(|stopping| *stopping) => return,
    };
    let handshake_time = accepted_at.elapsed();
    if let Some(tracer) = &tracer {
        tracer.handshake_finished();
    }
    let (_, server_conn) = tls.get_ref();
    let mut session = SessionInfo::from_connection(server_conn, server_conn.server_name(), Some(handshake_time));
    if let Some(stores) = shared.stores.as_ref().filter(|s| s.is_shared() && session.resumed) {
        // Fleet mode: which server issued the session (ours when none came with it: the in-process cache).
        session.issued_by = resumption.issued_by().or_else(|| Some(stores.server_id().to_string()));
    }
    let session = Arc::new(session);
    let client_verified = shared.client_auth != ClientAuth::Off && !session.peer_certificates.is_empty();
    let http2 = session.alpn.as_deref() == Some("h2");
    let signals = Arc::new(ConnSignals::new(slot, accepted_at, http2));
    let server_id = shared.stores.as_ref().map(|s| s.server_id().to_string());
    let handler = Handler::new(
        shared.clone(),
        Arc::new(ConnInfo { peer, session, client_verified, signals: signals.clone(), server_id, hellos }),
    );

    let engine = if http2 { &shared.http2 } else { &shared.http1 };
    let conn = engine.serve_connection(TokioIo::new(ConnIo::new(tls, signals.clone(), shared.events.clone())), handler);
    tokio::pin!(conn);
    let mut timers = ConnWatch::new(&shared.limits);
    let mut stopping = false;
    let result = loop {
        let wait = match timers.check(&signals, signals.now_ms()) {
            Verdict::Wait(wait) => wait,
            Verdict::Close => {
                timers.closing(&signals);
                conn.as_mut().graceful_shutdown();
                continue;
            }
            Verdict::Abort(reason) => {
                if let Some(reason) = reason {
                    fail(Stage::Http, format!("closed: {reason}"));
                }
                break Ok(());
            }
        };
        let close = tokio::select! {
            result = conn.as_mut() => break result,
            // Shutdown: idle connections close at once, in-flight responses finish.
            _ = stop.wait_for(|stopping| *stopping), if !stopping => {
                stopping = true;
                true
            }
            // The idle cap (or the total cap) needs this connection's place.
            _ = signals.slot().kick().kicked(), if !timers.is_closing() => true,
            _ = signals.wake.notified() => false,
            _ = tokio::time::sleep(wait) => false,
        };
        if close && !timers.is_closing() {
            timers.closing(&signals);
            conn.as_mut().graceful_shutdown();
        }
    };
    if let Err(err) = result {
        if !is_routine_close(&*err) {
            fail(Stage::Http, err.to_string());
        }
    }
    signals.key_update_log.connection_done(&signals, &shared.events);
}

/// The one step before the TLS accept: with a shared session cache, the
/// session this ClientHello names is fetched (bounded by the store timeout)
/// and handed to the handshake's scope (store/ says why this is safe).
async fn prepare_resumption(shared: &Shared, hellos: &Hellos) -> Arc<Handshake> {
    match &shared.stores {
        Some(stores) => stores.before_handshake(hellos.client.as_deref()).await,
        None => Arc::new(Handshake::default()),
    }
}

/// Garbage or plain HTTP on the TLS port: a plain 400 for HTTP, then close.
async fn refuse_non_tls(mut tcp: TcpStream, peeked: &[u8], fail: impl Fn(Stage, String)) {
    let looks_like_http = peeked.len() >= 3
        && peeked.iter().take_while(|b| b.is_ascii_uppercase()).count() >= 3
        && peeked.contains(&b' ');
    if looks_like_http {
        fail(Stage::Handshake, "plain HTTP request on the TLS port (answered 400)".into());
        // Drain what the client sent so the close does not reset the answer away.
        let mut sink = [0u8; 4096];
        let _ = tcp.try_read(&mut sink);
        let _ = tcp.write_all(PLAIN_HTTP_ANSWER).await;
        let _ = tcp.shutdown().await;
    } else {
        let shown: Vec<String> = peeked.iter().map(|b| format!("{b:02x}")).collect();
        fail(Stage::Handshake, format!("not TLS: first bytes {}", shown.join(" ")));
    }
}

/// Peers closing or resetting a connection is not worth a line.
fn is_routine_close(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(io.kind(), ConnectionReset | BrokenPipe | UnexpectedEof | ConnectionAborted) {
                return true;
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_timeout() {
                return true;
            }
        }
        source = e.source();
    }
    false
}
