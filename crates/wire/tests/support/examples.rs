//! Where a workspace example's binary is, for the tests that run examples (included with `#[path]` by the
//! tests of tlskit-wire and tlskit-cli). `cargo test` builds every example beside the tests; when one test
//! file runs alone, a missing or stale example is built first.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

static BUILD: Mutex<()> = Mutex::new(());

/// `target/<profile>/examples/NAME` of `package`, whose sources are in `crates/<dir>/examples/NAME.rs`.
pub fn example(package: &str, dir: &str, name: &str) -> PathBuf {
    // The test binary is target/<profile>/deps/TEST-HASH; examples sit in target/<profile>/examples.
    let test_exe = std::env::current_exe().expect("test binary path");
    let profile_dir = test_exe.parent().and_then(Path::parent).expect("target/<profile>");
    let exe = profile_dir.join("examples").join(name);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir).join("examples").join(format!("{name}.rs"));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let stale = match (modified(&exe), modified(&source)) {
        (Some(built), Some(written)) => built < written,
        _ => true,
    };
    if stale {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut child = Command::new(cargo)
            .args(["build", "--locked", "-p", package, "--example", name])
            .spawn()
            .expect("cargo runs");
        // A build that hangs fails the test rather than hanging the suite.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status =
            rx.recv_timeout(Duration::from_secs(900)).expect("example built within 15 minutes").expect("cargo");
        assert!(status.success(), "building example {name}");
    }
    exe
}
