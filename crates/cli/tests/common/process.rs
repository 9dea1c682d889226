//! Every child process a test starts runs under a deadline: a child still running at its deadline is
//! killed and the test fails with what it printed so far, instead of hanging the suite.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The deadline of a command that should finish soon (a decode, a short exchange): generous, as the whole
/// suite shares two busy cores; it only turns a hang into a failure.
pub const LIMIT: Duration = Duration::from_secs(120);

/// Running a command to completion under a deadline.
pub trait CommandExt {
    /// Runs to completion with stdin closed; stdout and stderr are collected. Panics at `limit`.
    fn output_within(&mut self, limit: Duration) -> Output;
    /// Like [`output_within`](Self::output_within), with `input` written to stdin.
    fn output_with_input(&mut self, input: &[u8], limit: Duration) -> Output;
    /// `output_within(LIMIT)`.
    fn output_checked(&mut self) -> Output {
        self.output_within(LIMIT)
    }
}

impl CommandExt for Command {
    fn output_within(&mut self, limit: Duration) -> Output {
        self.stdin(Stdio::null());
        let child = spawn_piped(self);
        wait_within(child, limit)
    }

    fn output_with_input(&mut self, input: &[u8], limit: Duration) -> Output {
        self.stdin(Stdio::piped());
        let mut child = spawn_piped(self);
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        // A child that stops reading must not block the test: write from a thread.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        wait_within(child, limit)
    }
}

fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()))
}

fn drain(stream: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut s) = stream {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    })
}

/// Waits for a spawned child (its stdout/stderr, when piped, are collected); kills it and panics with what
/// it printed when it is still running after `limit`.
pub fn wait_within(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    match collect_within(child, limit) {
        (Some(status), stdout, stderr) => Output { status, stdout, stderr },
        (None, out, err) => panic!(
            "process {pid} did not finish within {limit:?} and was killed\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        ),
    }
}

/// Like [`wait_within`], but a child killed at the deadline gives `None` and what it printed until then.
pub fn collect_within(mut child: Child, limit: Duration) -> (Option<ExitStatus>, Vec<u8>, Vec<u8>) {
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let status = wait_status(child, limit);
    (status, stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default())
}

/// The exit status of `child` if it ends within `limit`; `None` if it had to be killed at the deadline.
pub fn wait_status(mut child: Child, limit: Duration) -> Option<ExitStatus> {
    // The waiting thread reaps the child; we keep only its pid to kill it if it outlives the deadline.
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let status = child.wait().expect("wait for child");
        let _ = tx.send(());
        status
    });
    let in_time = rx.recv_timeout(limit).is_ok();
    if !in_time {
        // SAFETY: kill(2) on the pid of our child, which the blocked waiter has not reaped yet.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
    let status = waiter.join().expect("waiter");
    in_time.then_some(status)
}

/// Sends `signal` (libc::SIGTERM, SIGINT, …) to process `pid`.
pub fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal}): {}", std::io::Error::last_os_error());
}
