//! One connection, from TCP accept to close: first-byte check, TLS handshake
//! (timed), then HTTP/1.1 or HTTP/2 through hyper with idle and shutdown
//! handling. Both execution models run exactly this.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::io::{ConnIo, ConnSignals};
use super::service::{ConnInfo, Handler};
use super::{Limits, ServerEvent, Shared, Stage};
use crate::context::ClientAuth;
use crate::session::SessionInfo;
use crate::trace::tracer::ConnTracer;
use crate::trace::Side;
use crate::trace::{Tap, TapSink};

/// The HTTP engine shared by every connection of both models.
pub(crate) fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // Header and a small body in one buffer: one TLS record, one write.
        .writev(false)
        .max_buf_size(64 * 1024);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(128);
    builder
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
pub(crate) async fn serve(shared: &Arc<Shared>, tcp: TcpStream, peer: SocketAddr, mut stop: watch::Receiver<bool>) {
    let accepted_at = Instant::now();
    let deadline = tokio::time::Instant::from_std(accepted_at + shared.limits.handshake_timeout);
    let _ = tcp.set_nodelay(true);
    let fail = |stage: Stage, error: String| shared.emit(ServerEvent::Connection { peer, stage, error });

    // Look at the first bytes before TLS reads them: plain HTTP gets a plain answer.
    let mut first = [0u8; 8];
    let peeked = match tokio::time::timeout_at(deadline, tcp.peek(&mut first)).await {
        Err(_) => return fail(Stage::Handshake, "timed out waiting for a ClientHello".into()),
        Ok(Err(err)) => return fail(Stage::Handshake, err.to_string()),
        Ok(Ok(0)) => return fail(Stage::Handshake, "closed before sending anything".into()),
        Ok(Ok(n)) => first.get(..n).unwrap_or_default(),
    };
    if peeked.first() != Some(&0x16) {
        return refuse_non_tls(tcp, peeked, fail).await;
    }

    let tracer = shared.secrets.as_ref().map(|secrets| {
        let local = tcp.local_addr().unwrap_or(peer);
        let lines_shared = shared.clone();
        let lines: crate::trace::LineSink =
            Arc::new(move |line: &str| lines_shared.emit(ServerEvent::Trace { peer, line: line.to_string() }));
        Arc::new(ConnTracer::new(Side::Server, lines, secrets.clone(), local, peer))
    });
    let sink = tracer.clone().map(|t| t as Arc<dyn TapSink>);
    let tls = match tokio::time::timeout_at(deadline, shared.tls.accept(Tap::new(tcp, sink))).await {
        Err(_) => return fail(Stage::Handshake, "TLS handshake timed out".into()),
        Ok(Err(err)) => return fail(Stage::Handshake, format!("TLS handshake failed: {err}")),
        Ok(Ok(tls)) => tls,
    };
    let handshake_time = accepted_at.elapsed();
    if let Some(tracer) = &tracer {
        tracer.handshake_finished();
    }
    let (_, server_conn) = tls.get_ref();
    let session = Arc::new(SessionInfo::from_connection(server_conn, server_conn.server_name(), Some(handshake_time)));
    let client_verified = shared.client_auth != ClientAuth::Off && !session.peer_certificates.is_empty();
    let signals = Arc::new(ConnSignals::default());
    let handler =
        Handler::new(shared.clone(), Arc::new(ConnInfo { peer, session, client_verified, signals: signals.clone() }));

    let conn =
        shared.http.serve_connection(TokioIo::new(ConnIo::new(tls, signals.clone(), shared.events.clone())), handler);
    tokio::pin!(conn);
    let idle = shared.limits.idle_timeout;
    let tick = (idle / 2).max(Duration::from_millis(50));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
    let mut quiet_ticks = 0u32;
    let mut last_activity = signals.activity.load(Ordering::Relaxed);
    let mut closing = false;
    let result = loop {
        tokio::select! {
            result = conn.as_mut() => break result,
            changed = stop.changed(), if !closing => {
                // Shutdown (or the server is gone): finish what is in flight, take nothing new.
                let _ = changed;
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = ticker.tick(), if !closing => {
                let now = signals.activity.load(Ordering::Relaxed);
                let busy = signals.in_flight.load(Ordering::Relaxed) > 0;
                if now != last_activity || busy {
                    last_activity = now;
                    quiet_ticks = 0;
                } else {
                    quiet_ticks += 1;
                    if quiet_ticks >= 2 {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    };
    if let Err(err) = result {
        if !is_routine_close(&*err) {
            fail(Stage::Http, err.to_string());
        }
    }
    signals.key_update_log.connection_done(&signals, &shared.events);
    if let Some(tracer) = tracer {
        tracer.finish();
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
