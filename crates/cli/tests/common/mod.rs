//! Support code shared by the integration tests: each helper module starts one kind of real peer.
#![allow(dead_code)]
pub mod peers;
pub mod pki;
pub mod serve;
pub mod synth;
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

/// Installs the Debian packages a test needs (by `scripts/install-peers`) when they are missing, so that one
/// suite run alone sets up its own peers. Panics with the installer's one-line reason when it cannot: a test
/// never passes because its peer is missing.
pub fn require_packages(packages: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-peers");
    let out = std::process::Command::new(&script).args(packages).output().expect("run scripts/install-peers");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr).trim());
}
