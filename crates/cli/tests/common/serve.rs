//! A real `tlskit serve` process for integration tests: started on a free port
//! (`--listen 127.0.0.1:0`), its URL read from the first stdout line, its
//! output collected, and killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::process::{self, CommandExt as _};

/// How long start-up, and the end of a stopped server's output, may take.
const START: Duration = Duration::from_secs(30);

/// Lines a stream has printed so far (and whether it has ended), and a way to wait for more.
#[derive(Default)]
struct Lines {
    lines: Mutex<(Vec<String>, bool)>,
    grew: Condvar,
}

/// A running `tlskit serve`.
pub struct Serve {
    child: Option<Child>,
    /// `https://127.0.0.1:PORT/`
    pub url: String,
    pub port: u16,
    /// The start-up CA's PEM, when no --cert was given.
    pub ca: Option<PathBuf>,
    stdout: Arc<Lines>,
    stderr: Arc<Lines>,
}

fn collect(stream: impl std::io::Read + Send + 'static, into: Arc<Lines>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            into.lines.lock().unwrap().0.push(line);
            into.grew.notify_all();
        }
        into.lines.lock().unwrap().1 = true;
        into.grew.notify_all();
    });
}

impl Serve {
    /// Start `tlskit serve DIR --listen 127.0.0.1:0 ARGS…` and wait for its URL (and the start-up CA's path).
    pub fn start(dir: &Path, args: &[&str]) -> Serve {
        Self::try_start(dir, args).unwrap_or_else(|e| panic!("tlskit serve {args:?} did not start: {e}"))
    }

    /// Like [`start`](Self::start) but returns the error output if it exits instead.
    pub fn try_start(dir: &Path, args: &[&str]) -> Result<Serve, String> {
        Self::try_start_with(dir, args, &[])
    }

    /// Like [`try_start`](Self::try_start), with extra environment variables.
    pub fn try_start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Serve, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlskit"));
        cmd.arg("serve").arg(dir).args(["--listen", "127.0.0.1:0"]).args(args);
        Self::spawn(cmd, env, !args.contains(&"--cert"))
    }

    /// Start `tlskit ARGS…` exactly as given (no directory, no --listen), with `env` added.
    pub fn try_start_exactly(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Result<Serve, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlskit"));
        cmd.args(args).current_dir(cwd);
        Self::spawn(cmd, env, !args.contains(&"--cert"))
    }

    fn spawn(mut cmd: Command, env: &[(&str, &str)], startup_cert: bool) -> Result<Serve, String> {
        cmd.env_remove("SSLKEYLOGFILE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn tlskit");
        let stdout = Arc::new(Lines::default());
        let stderr = Arc::new(Lines::default());
        collect(child.stdout.take().unwrap(), stdout.clone());
        collect(child.stderr.take().unwrap(), stderr.clone());
        let mut serve = Serve { child: Some(child), url: String::new(), port: 0, ca: None, stdout, stderr };
        // The first line names the URL; a process that exits instead closes its stdout without one.
        let Some(first) = Self::wait_in(&serve.stdout, |_| true, START) else {
            if Self::ended(&serve.stdout) {
                let status = serve.child.take().and_then(|c| process::wait_status(c, START));
                Self::wait_end(&serve.stderr, START);
                return Err(format!("exited with {status:?}: {}", serve.stderr_lines().join("\n")));
            }
            return Err(format!("no URL within {START:?}"));
        };
        let url = first.split_whitespace().find(|w| w.starts_with("https://")).expect("URL on the first line");
        serve.url = url.to_string();
        let port = url.trim_end_matches('/').rsplit(':').next().unwrap();
        serve.port = port.parse().expect("port in URL");
        // Then the fingerprint, and with a start-up certificate (no --cert) where its CA went.
        let ca_line = if startup_cert { "start-up CA written to " } else { "certificate SHA-256" };
        let line = Self::wait_in(&serve.stdout, |l| l.starts_with(ca_line), START)
            .ok_or_else(|| format!("no {ca_line:?} line: {:?}", serve.stdout_lines()))?;
        serve.ca = line.strip_prefix("start-up CA written to ").map(PathBuf::from);
        Ok(serve)
    }

    /// `https://localhost:PORT/PATH` (the name the certificates carry).
    pub fn url_for(&self, path: &str) -> String {
        format!("https://localhost:{}/{}", self.port, path.trim_start_matches('/'))
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// curl's `--resolve` so `localhost` means 127.0.0.1 for this port.
    pub fn resolve(&self) -> String {
        format!("localhost:{}:127.0.0.1", self.port)
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lines.lock().unwrap().0.clone()
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lines.lock().unwrap().0.clone()
    }

    /// The first line matching `pred`, waiting up to `timeout` for it (None as soon as the stream ends).
    fn wait_in(lines: &Lines, pred: impl Fn(&str) -> bool, timeout: Duration) -> Option<String> {
        Self::wait_count(lines, pred, 1, timeout).into_iter().next()
    }

    /// Waits until `count` lines match `pred` (or the stream ends, or `timeout` passes); returns those that do.
    fn wait_count(lines: &Lines, pred: impl Fn(&str) -> bool, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut guard = lines.lines.lock().unwrap();
        loop {
            let found: Vec<String> = guard.0.iter().filter(|l| pred(l)).cloned().collect();
            let now = Instant::now();
            if found.len() >= count || guard.1 || now >= deadline {
                return found;
            }
            guard = lines.grew.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    fn ended(lines: &Lines) -> bool {
        lines.lines.lock().unwrap().1
    }

    /// Waits (up to `timeout`) for the stream to end.
    fn wait_end(lines: &Lines, timeout: Duration) {
        Self::wait_count(lines, |_| false, 1, timeout);
    }

    /// The first stdout line matching `pred`, waiting up to `timeout` for it.
    pub fn wait_for_stdout(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> Option<String> {
        Self::wait_in(&self.stdout, pred, timeout)
    }

    /// The stdout lines matching `pred` once there are `count` of them (fewer after `timeout`).
    pub fn wait_for_stdout_count(&self, pred: impl Fn(&str) -> bool, count: usize, timeout: Duration) -> Vec<String> {
        Self::wait_count(&self.stdout, pred, count, timeout)
    }

    /// The first stderr line matching `pred`, waiting up to `timeout` for it.
    pub fn wait_for_stderr(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> Option<String> {
        Self::wait_in(&self.stderr, pred, timeout)
    }

    /// The access line of a request for `target` (waits up to 5 s).
    pub fn access_line(&self, target: &str) -> Option<String> {
        let needle = format!(" {target} HTTP/");
        self.wait_for_stdout(|l| l.contains(&needle), Duration::from_secs(5))
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// The process id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Send SIGTERM and wait (up to `timeout`) for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.stop(libc::SIGTERM, timeout)
    }

    /// Send `signal` and wait (up to `timeout`) for the exit status (see [`wait_exit`](Self::wait_exit)).
    pub fn stop(&mut self, signal: libc::c_int, timeout: Duration) -> Option<std::process::ExitStatus> {
        process::signal(self.pid(), signal);
        self.wait_exit(timeout)
    }

    /// Wait (up to `timeout`) for the process to exit; `None` if it had to be killed. Afterwards the output
    /// it printed is complete (both streams have ended).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.take()?;
        let status = process::wait_status(child, timeout);
        Self::wait_end(&self.stdout, START);
        Self::wait_end(&self.stderr, START);
        status
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Run `body` once for each execution model, with the model's `--model` argument.
pub fn for_each_model(mut body: impl FnMut(&str)) {
    for model in ["async", "threads"] {
        body(model);
    }
}

/// `curl -sS` with the given arguments: (exit success, stdout bytes, stderr text).
pub fn curl(args: &[&str]) -> (bool, Vec<u8>, String) {
    let out = Command::new("curl").args(["-sS", "--max-time", "20"]).args(args).output_within(process::LIMIT);
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The start of a Python client over one TLS connection: `port, ca, version` from argv (version as
/// `ssl.TLSVersion` names it, e.g. `TLSv1_3`), a context trusting `ca` at exactly that version, and
/// `response(s)`: one HTTP/1.1 response read by its Content-Length, as (status line, body bytes).
pub const PY_HTTPS_CLIENT: &str = r#"
import socket, ssl, sys, json
port, ca, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.maximum_version = ctx.minimum_version = getattr(ssl.TLSVersion, version)
def response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, "connection closed in the header"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk, "connection closed in the body"
        body += chunk
    return head.split(b"\r\n")[0].decode(), body
"#;

/// Run a Python program with arguments: (exit success, stdout, stderr).
pub fn python(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("python3").arg("-c").arg(program).args(args).output_checked();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
