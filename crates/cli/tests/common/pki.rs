//! Running `tlskit cert …` and the openssl/curl commands that judge its files.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use super::process::CommandExt as _;

/// `tlskit ARGS` run to completion in `dir` (a generous deadline: `cert init` of RSA keys is slow on a busy
/// machine).
pub fn tlskit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tlskit")).args(args).current_dir(dir).output_within(Duration::from_secs(600))
}

/// A program's stdout and stderr together, for assertions and failure messages.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `tlskit cert init DIR EXTRA…` in a new temporary directory; panics with the output on failure.
pub fn make_pki(extra: &[&str]) -> (tempfile::TempDir, tlskit::pki::PkiFiles) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut args = vec!["cert", "init", "pki"];
    args.extend_from_slice(extra);
    let out = tlskit(tmp.path(), &args);
    assert!(out.status.success(), "cert init failed: {}", text(&out));
    let files = tlskit::pki::PkiFiles::in_dir(&tmp.path().join("pki"), extra.contains(&"--pkcs12"));
    (tmp, files)
}

/// `openssl ARGS` run to completion in `dir`.
pub fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl").args(args).current_dir(dir).output_checked()
}

/// `curl -sS ARGS` with a 10-second cap, run in `dir`.
pub fn curl(dir: &Path, args: &[&str]) -> Output {
    Command::new("curl").args(["-sS", "--max-time", "10"]).args(args).current_dir(dir).output_checked()
}
