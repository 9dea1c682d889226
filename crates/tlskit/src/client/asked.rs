//! Did the server ask for a client certificate? rustls does not say, so the client-cert
//! resolver is wrapped: rustls calls it, synchronously, when a CertificateRequest arrives.
//! A TLS 1.3 server refuses a missing certificate only after our handshake is done, and its
//! alert can be lost to a TCP reset; knowing it asked lets us still name the cause.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

thread_local! {
    /// Set by the resolver during one poll of one handshake on this thread.
    static ASKED: Cell<bool> = const { Cell::new(false) };
}

/// Passes every call to the real resolver, noting that the server asked.
#[derive(Debug)]
pub(crate) struct NoteRequest(pub Arc<dyn ResolvesClientCert>);

impl ResolvesClientCert for NoteRequest {
    fn resolve(&self, root_hint_subjects: &[&[u8]], sigschemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        ASKED.with(|a| a.set(true));
        self.0.resolve(root_hint_subjects, sigschemes)
    }

    fn only_raw_public_keys(&self) -> bool {
        self.0.only_raw_public_keys()
    }

    fn has_certs(&self) -> bool {
        self.0.has_certs()
    }
}

/// Wraps a handshake future; `asked` is true once the resolver ran inside one of its polls.
pub(crate) struct Watch<F> {
    inner: Pin<Box<F>>,
    pub asked: bool,
}

impl<F: Future> Watch<F> {
    pub(crate) fn new(inner: F) -> Self {
        Watch { inner: Box::pin(inner), asked: false }
    }
}

impl<F: Future> Future for Watch<F> {
    type Output = (F::Output, bool);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Each poll runs on one thread: clear, poll, read back.
        ASKED.with(|a| a.set(false));
        let polled = self.inner.as_mut().poll(cx);
        if ASKED.with(|a| a.replace(false)) {
            self.asked = true;
        }
        polled.map(|out| (out, self.asked))
    }
}
