//! Support code shared by the integration tests: each helper module starts one kind of real peer.
#![allow(dead_code)]
pub mod peers;
pub mod pki;
pub mod serve;
pub mod traversal;

use std::path::Path;

/// A fresh test PKI made by the library (`tlskit::pki::init`); the directory lives as long as the guard.
pub fn pki() -> (tempfile::TempDir, tlskit::pki::PkiFiles) {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tlskit::pki::init(dir.path(), &Default::default()).expect("test PKI");
    (dir, files)
}

/// A path as a command-line argument.
pub fn path(p: &Path) -> String {
    p.display().to_string()
}
