//! A TLS-aware load generator: the engine of `tlskit bench`, returning a [`Report`].
//!
//! The HOWTO's multi-threaded client and its session-reusing asynchronous client, grown into
//! a load generator that tells what each handshake was. Connections are driven by hand, one
//! per *slot*, so the run decides when a connection is reused ([`Mode::KeepAlive`]), replaced
//! with a full handshake ([`Mode::NewConnection`]) or replaced with a resumed one
//! ([`Mode::Resume`]); rustls says which handshake happened, and every slot has a session store
//! of its own ([`crate::context::Connector`]) so resumption never runs dry silently.
//!
//! Each worker thread runs a current-thread tokio runtime with its own statistics (counters
//! and HdrHistograms, no lock or allocation per request), merged when the run ends. With a
//! [`Bench::rate`], requests follow a fixed schedule and latency is measured from each one's
//! intended start (so a stalled server cannot hide: coordinated omission), beside the
//! uncorrected figure.
//!
//! ```no_run
//! use std::time::Duration;
//! use tlskit::bench::{self, Bench, Control, Mode, Stop};
//! use tlskit::context::Context;
//!
//! let ctx = Context::new().trust_system_roots(true);
//! let mut load = Bench::new(ctx, vec!["https://example.com/".into()]);
//! load.connections = 64;
//! load.mode = Mode::Resume;
//! load.stop = Stop::After(Duration::from_secs(5));
//! let report = bench::run(&load, &Control::new())?;
//! println!("{} req/s, {} full and {} resumed handshakes ({} resumptions attempted)",
//!     report.rps, report.handshakes.full, report.handshakes.resumed, report.handshakes.resumption_attempted);
//! # Ok::<(), tlskit::bench::BenchError>(())
//! ```

mod config;
mod conn;
mod engine;
mod errors;
mod h1;
mod report;
mod stats;
mod timeline;

pub use config::{Bench, BenchError, Mode, Protocol, Stop};
pub use engine::{run, Control, Progress};
pub use errors::ErrorKind;
pub use report::{
    HandshakeRates, Handshakes, Latency, Percentiles, Report, Setup, SpectrumPoint, Timeline, TimelinePoint, TlsSeen,
    Uncorrected,
};
