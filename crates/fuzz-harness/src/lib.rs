//! The bodies of tlskit's fuzz targets, one function per target: each cargo-fuzz target in fuzz/ is
//! `fuzz_target!(|data| tlskit_fuzz_harness::NAME(data))`, and this crate's test replays the regression corpus
//! (fuzz/regressions/NAME/) through the same functions. Every function takes any bytes; a panic is a bug in
//! the library (or a broken invariant the function checks), never an expected outcome.

mod files;
mod pki;
mod sealed;
mod wire;

pub use files::{conditional, listing_query, range, request_path};
pub use pki::{keylog, pki, rsa_key};
pub use sealed::sealed;
pub use wire::{capture, compression, decrypt, h2frame, http, record};

/// A target's body: one input, any bytes; a panic is a finding.
pub type Target = fn(&[u8]);

/// Every target by its name (the fuzz/ binary and the fuzz/regressions/ directory).
pub const TARGETS: &[(&str, Target)] = &[
    ("record", record),
    ("capture", capture),
    ("decrypt", decrypt),
    ("sealed", sealed),
    ("h2frame", h2frame),
    ("http", http),
    ("compression", compression),
    ("listing_query", listing_query),
    ("request_path", request_path),
    ("range", range),
    ("conditional", conditional),
    ("pki", pki),
    ("keylog", keylog),
    ("rsa_key", rsa_key),
];
