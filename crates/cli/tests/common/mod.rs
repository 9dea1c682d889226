//! Support code shared by the integration tests: each helper module starts one kind of real peer.
//!
//! Rules every suite here follows:
//! - A peer that is a Debian package (nginx, wrk, h2o, redis-server, haproxy, tshark, chromium, …) is
//!   installed by the suite that uses it: call [`require_packages`] before starting it. It runs
//!   `scripts/install-peers`, which installs what is missing with apt-get as root, with sudo when not root
//!   and sudo is there, and otherwise stops with one line naming the packages; the test then fails with that
//!   line. So one suite run alone on a fresh machine sets up its own peers, and no suite passes because a peer
//!   is missing. `scripts/test` installs only the base peers every suite uses (curl, openssl, python3,
//!   libpcap-dev).
//! - Every child process runs under a deadline ([`process`]); every socket a test reads has a timeout.
//! - No sleep stands in for synchronisation: wait for the line ([`serve::Serve::wait_for_stdout`]), the
//!   port ([`peers::wait_for_port`]), the process's exit ([`process::wait_status`]). No assertion on how
//!   long something took, except that a timeout fired within a generous multiple of its setting.
#![allow(dead_code)]
pub mod bench;
pub mod capture;
pub mod fleet;
pub mod howto;
pub mod nginx;
pub mod peers;
pub mod pki;
pub mod process;
pub mod serve;
pub mod synth;
pub mod traversal;

use std::path::{Path, PathBuf};

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
    // Installing may take minutes on a fresh machine.
    let out = process::CommandExt::output_within(
        std::process::Command::new(&script).args(packages),
        std::time::Duration::from_secs(900),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr).trim());
}

/// The path of a peer's program: found on PATH, else in the sbin directories, which a non-root user's PATH
/// on Debian leaves out although nginx and haproxy install there. Falls back to the bare name, so a missing
/// program fails with spawn's NotFound.
pub fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let sbin = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(sbin)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}
