//! A real `tlskit serve` process for integration tests: started on a free port
//! (`--listen 127.0.0.1:0`), its URL read from the first stdout line, its
//! output collected, and killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Lines a stream has printed so far, and a way to wait for more.
#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<String>>,
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
            into.lines.lock().unwrap().push(line);
            into.grew.notify_all();
        }
    });
}

impl Serve {
    /// Start `tlskit serve DIR --listen 127.0.0.1:0 ARGS…` and wait for its URL.
    pub fn start(dir: &Path, args: &[&str]) -> Serve {
        Self::try_start(dir, args).unwrap_or_else(|e| panic!("tlskit serve {args:?} did not start: {e}"))
    }

    /// Like [`start`](Self::start) but returns the error output if it exits instead.
    pub fn try_start(dir: &Path, args: &[&str]) -> Result<Serve, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tlskit"))
            .arg("serve")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("SSLKEYLOGFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tlskit");
        let stdout = Arc::new(Lines::default());
        let stderr = Arc::new(Lines::default());
        collect(child.stdout.take().unwrap(), stdout.clone());
        collect(child.stderr.take().unwrap(), stderr.clone());
        let mut serve = Serve { child: Some(child), url: String::new(), port: 0, ca: None, stdout, stderr };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(first) = serve.stdout_lines().first() {
                let url = first.split_whitespace().find(|w| w.starts_with("https://")).expect("URL on the first line");
                serve.url = url.to_string();
                let port = url.trim_end_matches('/').rsplit(':').next().unwrap();
                serve.port = port.parse().expect("port in URL");
                break;
            }
            if let Some(status) = serve.child.as_mut().unwrap().try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!("exited with {status}: {}", serve.stderr_lines().join("\n")));
            }
            if Instant::now() > deadline {
                return Err("no URL within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The CA line follows the URL at once when there is one.
        if serve.wait_for_stdout(|l| l.starts_with("certificate SHA-256"), Duration::from_secs(5)).is_some() {
            std::thread::sleep(Duration::from_millis(20));
            serve.ca =
                serve.stdout_lines().iter().find_map(|l| l.strip_prefix("start-up CA written to ").map(PathBuf::from));
        }
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
        self.stdout.lines.lock().unwrap().clone()
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lines.lock().unwrap().clone()
    }

    fn wait_in(lines: &Lines, pred: impl Fn(&str) -> bool, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut guard = lines.lines.lock().unwrap();
        loop {
            if let Some(l) = guard.iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            guard = lines.grew.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    /// The first stdout line matching `pred`, waiting up to `timeout` for it.
    pub fn wait_for_stdout(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> Option<String> {
        Self::wait_in(&self.stdout, pred, timeout)
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
        let child = self.child.as_mut()?;
        send_sigterm(child.id());
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

fn send_sigterm(pid: u32) {
    let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
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
    let out = Command::new("curl").args(["-sS", "--max-time", "20"]).args(args).output().expect("curl runs");
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Run a Python program with arguments: (exit success, stdout, stderr).
pub fn python(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("python3").arg("-c").arg(program).args(args).output().expect("python3 runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
