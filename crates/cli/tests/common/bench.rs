//! Running `tlskit bench` in tests: with a time limit, its JSON report parsed.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished `tlskit bench` left.
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `--json` report.
    pub fn json(&self) -> serde_json::Value {
        assert!(self.success, "tlskit bench failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", self.stdout))
    }
}

/// Start `tlskit bench ARGS` with piped output.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tlskit"))
        .arg("bench")
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tlskit bench")
}

/// Wait for a started bench, killing it (and failing) after `limit`.
pub fn finish(mut child: Child, limit: Duration) -> Run {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tlskit bench still running after {limit:?}: {}", err.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run { success: status.success(), stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

/// `tlskit bench ARGS`, allowed `limit` to finish.
pub fn bench(args: &[&str], limit: Duration) -> Run {
    finish(spawn(args), limit)
}

/// `tlskit bench --json ARGS`: the report (the run must succeed within `limit`).
pub fn report(args: &[&str], limit: Duration) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    bench(&all, limit).json()
}

/// An integer at a JSON pointer (`/handshakes/full`), 0 when absent.
pub fn count(doc: &serde_json::Value, pointer: &str) -> u64 {
    doc.pointer(pointer).and_then(|v| v.as_u64()).unwrap_or(0)
}

/// A number at a JSON pointer; panics with the document when absent.
pub fn number(doc: &serde_json::Value, pointer: &str) -> f64 {
    doc.pointer(pointer).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("no number at {pointer}: {doc:#}"))
}
