//! `tlskit serve` held as an attacker would hold it, in both execution models,
//! while a well-behaved client keeps being served: stalled readers (HTTP/1.1
//! and HTTP/2), HTTP/2 PINGs on an idle connection, HTTP/2 headers that never
//! end, the caps by state (handshakes, idle, total), descriptors per
//! connection, stuck stdout and stderr, client-chosen escapes in the logs,
//! shutdown with idle HTTP/2 clients and a second signal, and the HTTP rules
//! (Host, HTTP/2 preface on http/1.1, long request line, 10,000 headers).
//! Raw HTTP/2 frames come from Python's `h2` (installed with pip when missing).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use common::serve::{curl, for_each_model, python, Serve};

fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from tlskit\n").unwrap();
    // Far more than loopback's socket buffers hold, so a client that does not read stalls the response.
    let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    big.set_len(64 << 20).unwrap();
    dir
}

fn ca(server: &Serve) -> String {
    server.ca.clone().expect("start-up CA").display().to_string()
}

/// The well-behaved client: gets the small file.
fn served(server: &Serve) -> bool {
    let (ok, body, _) = curl(&["--cacert", &ca(server), &server.url_for("hello.txt")]);
    ok && body == b"hello from tlskit\n"
}

/// Python's `h2` package, installed once per test process when missing: by pip where the python3 on PATH is
/// its own (pyenv, a venv), else from Debian (python3-h2), since Debian's python3 refuses pip installs
/// (externally-managed-environment) for a user who is not root.
fn require_python_h2() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let have = || Command::new("python3").args(["-c", "import h2"]).status().is_ok_and(|s| s.success());
        if have() {
            return;
        }
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "h2"])
            .output()
            .expect("run pip");
        if !out.status.success() {
            common::require_packages(&["python3-h2"]);
        }
        assert!(have(), "python3 cannot import h2: pip said {}", String::from_utf8_lossy(&out.stderr).trim());
    });
}

/// Python helpers shared by the HTTP/2 programs: a TLS connection that negotiated h2, and a request.
const PY_H2: &str = r#"
import socket, ssl, sys, time
import h2.connection, h2.config, h2.events, h2.exceptions, h2.settings
port, ca = int(sys.argv[1]), sys.argv[2]
def connect(settings=None):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    assert s.selected_alpn_protocol() == "h2", s.selected_alpn_protocol()
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    if settings:
        c.update_settings(settings)
    s.sendall(c.data_to_send())
    return s, c
def request(c, sid, path, extra=()):
    c.send_headers(sid, [(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "localhost")] + list(extra), end_stream=True)
def answer(s, c, sid, timeout=20):
    """(status, body) of stream sid; reads until it ends or is reset."""
    s.settimeout(timeout)
    status, body = None, b""
    while True:
        data = s.recv(65536)
        if not data:
            return status, body, "closed"
        for e in c.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived) and e.stream_id == sid:
                status = dict(e.headers)[b":status"].decode()
            elif isinstance(e, h2.events.DataReceived) and e.stream_id == sid:
                body += e.data
                c.acknowledge_received_data(e.flow_controlled_length, sid)
            elif isinstance(e, h2.events.StreamEnded) and e.stream_id == sid:
                s.sendall(c.data_to_send())
                return status, body, "ended"
            elif isinstance(e, h2.events.StreamReset) and e.stream_id == sid:
                return status, body, "reset"
        s.sendall(c.data_to_send())
"#;

fn py_h2(program: &str, server: &Serve) -> String {
    require_python_h2();
    let (ok, out, err) = python(&format!("{PY_H2}{program}"), &[&server.port.to_string(), &ca(server)]);
    assert!(ok, "python: {err}\n{out}");
    out
}

/// The first number after `word ` in `out`.
fn number_after(out: &str, word: &str) -> f64 {
    let at = out.find(&format!("{word} ")).unwrap_or_else(|| panic!("no {word:?} in {out:?}"));
    out[at + word.len() + 1..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn a_stalled_http1_reader_is_cut_by_the_send_timeout() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model, "--send-timeout", "1", "--idle-timeout", "30"]);
        // Asks for 64 MiB and reads nothing until told to; then reads what is left and counts it.
        let program = r#"
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
print("sent", flush=True)
sys.stdin.readline()
s.settimeout(20)
total = 0
try:
    while True:
        data = s.recv(1 << 20)
        if not data:
            break
        total += len(data)
except (ConnectionResetError, ssl.SSLError):
    pass
print("received", total, flush=True)
"#;
        let mut child = Command::new("python3")
            .args(["-c", program, &server.port.to_string(), &ca(&server)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "sent");
        let started = Instant::now();
        assert!(served(&server), "{model}: served while a reader stalls");
        let cut = server.wait_for_stderr(|l| l.contains("no progress for the send timeout"), Duration::from_secs(20));
        let waited = started.elapsed();
        assert!(cut.is_some(), "{model}: stalled response not aborted: {:?}", server.stderr_lines());
        assert!(waited < Duration::from_secs(15), "{model}: send timeout 1 s fired after {waited:?}");
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        line.clear();
        out.read_line(&mut line).unwrap();
        let _ = child.wait();
        let received = number_after(&line, "received") as u64;
        assert!(received < 64 << 20, "{model}: the whole file arrived ({received}): not aborted");
        assert!(served(&server), "{model}: served after the abort");
    });
}

#[test]
fn a_stalled_http2_stream_is_reset_and_its_connection_goes_on() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model, "--send-timeout", "1", "--idle-timeout", "30"]);
        // A zero stream window: the response's DATA can never be sent.
        let out = py_h2(
            r#"
s, c = connect({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
request(c, 1, "/big.bin")
s.sendall(c.data_to_send())
start = time.monotonic()
status, body, how = answer(s, c, 1)
print("stream1", how, status, f"after {time.monotonic() - start:.2f}")
c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
request(c, 3, "/hello.txt")
s.sendall(c.data_to_send())
status, body, how = answer(s, c, 3)
print("stream3", how, status, body.decode().strip())
"#,
            &server,
        );
        assert!(out.contains("stream1 reset 200"), "{model}: {out}");
        let after = number_after(&out, "after");
        assert!((0.5..15.0).contains(&after), "{model}: send timeout 1 s reset the stream after {after} s");
        assert!(
            out.contains("stream3 ended 200 hello from tlskit"),
            "{model}: the connection died with its stream: {out}"
        );
        assert!(served(&server));
    });
}

#[test]
fn http2_pings_do_not_keep_an_idle_connection_open() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model, "--idle-timeout", "1"]);
        let out = py_h2(
            r#"
s, c = connect()
start = time.monotonic()
s.settimeout(0.25)
how = "open"
while time.monotonic() - start < 20:
    try:
        c.ping(b"12345678")
        s.sendall(c.data_to_send())
        data = s.recv(65536)
    except socket.timeout:
        continue
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        how = "reset"
        break
    if not data:
        how = "closed"
        break
    try:
        events = c.receive_data(data)
    except h2.exceptions.ProtocolError:
        # The server's shutdown PING after its GOAWAY: h2 refuses input on a closed connection.
        events = [h2.events.ConnectionTerminated()]
    if any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
        how = "goaway"
        break
after = time.monotonic() - start
# After its GOAWAY the server closes at once, without waiting for the PING it sent to be answered.
s.settimeout(10)
try:
    while s.recv(65536):
        pass
    end = "closed"
except socket.timeout:
    end = "open"
except (ConnectionResetError, ssl.SSLError):
    end = "closed"
print(how, f"after {after:.2f}", end)
"#,
            &server,
        );
        assert!(!out.starts_with("open"), "{model}: PINGs kept the connection open: {out}");
        assert!(out.trim_end().ends_with("closed"), "{model}: not closed after its GOAWAY: {out}");
        let after = number_after(&out, "after");
        assert!((0.5..10.0).contains(&after), "{model}: idle timeout 1 s closed after {after} s");
        assert!(served(&server));
    });
}

#[test]
fn http2_request_headers_that_never_end_are_cut_by_the_header_timeout() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model, "--header-timeout", "1", "--idle-timeout", "30"]);
        // HEADERS without END_HEADERS, then a CONTINUATION frame whose bytes come one at a time.
        let out = py_h2(
            r#"
s, c = connect()
def frame(kind, flags, sid, payload):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + sid.to_bytes(4, "big") + payload
s.sendall(frame(1, 0x1, 1, b"\x82\x87\x84") + frame(9, 0, 1, b"\x90" * 1000)[:9])
start = time.monotonic()
s.settimeout(0.3)
how = "open"
while time.monotonic() - start < 20:
    try:
        s.sendall(b"\x90")
        if not s.recv(65536):
            how = "closed"
            break
    except socket.timeout:
        continue
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        how = "reset"
        break
print(how, f"after {time.monotonic() - start:.2f}")
"#,
            &server,
        );
        assert!(!out.starts_with("open"), "{model}: an endless header block was not cut: {out}");
        let after = number_after(&out, "after");
        assert!((0.5..10.0).contains(&after), "{model}: header timeout 1 s cut after {after} s");
        let line = server.wait_for_stderr(|l| l.contains("header timeout"), Duration::from_secs(5));
        assert!(line.is_some(), "{:?}", server.stderr_lines());
        assert!(served(&server));
    });
}

/// Python: `n` keep-alive HTTP/1.1 connections opened one after another, each with one request answered;
/// then the first `closed` are expected to be closed by the server and the rest to answer again.
const PY_IDLE: &str = r#"
import socket, ssl, sys
port, ca, n, closed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)
def get(s):
    s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while b"hello from tlskit" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    return data.split(b" ")[1].decode()
conns = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    assert get(s) == "200"
    conns.append(s)
if len(sys.argv) > 5:
    print("opened", flush=True)
    sys.stdin.readline()
result = []
for i, s in enumerate(conns):
    s.settimeout(10)
    if i < closed:
        try:
            result.append("closed" if s.recv(4096) == b"" else "data")
        except (ConnectionResetError, ssl.SSLError):
            result.append("closed")
        except socket.timeout:
            result.append("open")
    else:
        try:
            result.append(get(s))
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            result.append("closed")
print(" ".join(result))
"#;

#[test]
fn idle_connections_are_closed_oldest_first_at_the_idle_cap() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model, "--max-idle-connections", "5"]);
        let (ok, out, err) = python(PY_IDLE, &[&server.port.to_string(), &ca(&server), "10", "5"]);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), "closed closed closed closed closed 200 200 200 200 200", "{model}");
        assert!(served(&server));
    });
}

#[test]
fn at_the_total_cap_the_oldest_idle_connection_makes_room() {
    let root = docroot();
    for_each_model(|model| {
        let server =
            Serve::start(root.path(), &["--model", model, "--max-connections", "3", "--max-idle-connections", "3"]);
        let mut child = Command::new("python3")
            .args(["-c", PY_IDLE, &server.port.to_string(), &ca(&server), "3", "1", "wait"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "opened");
        // Three idle connections fill the cap: a new client is still served, in the oldest one's place.
        assert!(served(&server), "{model}: a new client waited while idle connections held every place");
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        line.clear();
        out.read_line(&mut line).unwrap();
        let _ = child.wait();
        assert_eq!(line.trim(), "closed 200 200", "{model}");
    });
}

#[test]
fn at_the_handshake_cap_the_oldest_handshake_is_closed() {
    let root = docroot();
    for_each_model(|model| {
        let server =
            Serve::start(root.path(), &["--model", model, "--max-handshakes", "2", "--handshake-timeout", "60"]);
        let mut silent: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(server.addr()).unwrap()).collect();
        // Both silent connections are in the table once the server has closed neither and served a client.
        let line = server.wait_for_stderr(|l| l.contains("too many handshakes"), Duration::from_millis(1));
        assert!(line.is_none());
        assert!(served(&server), "{model}: a client waited behind silent handshakes");
        let first = &mut silent[0];
        first.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 16];
        assert!(matches!(first.read(&mut buf), Ok(0) | Err(_)), "{model}");
        let line = server.wait_for_stderr(|l| l.contains("too many handshakes"), Duration::from_secs(5));
        assert!(line.is_some(), "{:?}", server.stderr_lines());
    });
}

/// Descriptors the process holds now.
fn fds_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn each_connection_costs_at_most_two_descriptors_in_both_models() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model]);
        assert!(served(&server));
        let before = fds_of(server.pid());
        const N: usize = 100;
        let mut child = Command::new("python3")
            .args(["-c", PY_IDLE, &server.port.to_string(), &ca(&server), &N.to_string(), "0", "wait"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "opened");
        let during = fds_of(server.pid());
        assert!(during + 5 >= before + N, "{model}: {N} connections but {before} -> {during} descriptors");
        assert!(during <= before + 2 * N, "{model}: {N} idle connections took {} descriptors", during - before);
        drop(child.stdin.take());
        let _ = child.wait();
        // Back to the baseline once they are gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while fds_of(server.pid()) > before + 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(fds_of(server.pid()) <= before + 2, "{model}: descriptors not given back");
    });
}

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pipe whose buffer is one page, so a few lines fill it: (read end, write end).
fn small_pipe() -> (std::fs::File, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors we own from here on.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fds[1] is a pipe descriptor just made.
    unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 4096) };
    // SAFETY: each descriptor is owned once.
    unsafe { (std::fs::File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

#[test]
fn stuck_stdout_and_stderr_do_not_stop_service() {
    let root = docroot();
    for_each_model(|model| {
        let (stdout_read, stdout_write) = small_pipe();
        let (stderr_read, stderr_write) = small_pipe();
        let child = Command::new(env!("CARGO_BIN_EXE_tlskit"))
            .args(["serve", root.path().to_str().unwrap(), "--listen", "127.0.0.1:0", "--model", model, "--trace"])
            // Short queues, so that a test-sized flood fills them.
            .args(["--log-queue", "16"])
            .env_remove("SSLKEYLOGFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout_write))
            .stderr(Stdio::from(stderr_write))
            .spawn()
            .unwrap();
        let _server = KillOnDrop(child);
        // Read the start-up lines (up to the CA's), then read nothing more: both pipes fill.
        let mut stdout = BufReader::new(stdout_read);
        let mut head = Vec::new();
        while !head.last().is_some_and(|l: &String| l.starts_with("start-up CA written to ")) {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0 && head.len() < 10, "no start-up CA line: {head:?}");
            head.push(line);
        }
        let url = head[0].split_whitespace().find(|w| w.starts_with("https://")).unwrap().to_string();
        let port = url.trim_end_matches('/').rsplit(':').next().unwrap().to_string();
        let ca = head.iter().find_map(|l| l.strip_prefix("start-up CA written to ")).unwrap().trim().to_string();
        let hello = format!("https://localhost:{port}/hello.txt");
        for round in 0..60 {
            // Trace and access lines for stdout; a garbage connection's warning for stderr.
            let (ok, body, err) = curl(&["--cacert", &ca, &hello]);
            assert!(ok && body == b"hello from tlskit\n", "{model}: round {round}: {err}");
            let mut garbage = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
            let _ = garbage.write_all(&[0x47; 64]);
        }
        // Drain both: the server says what it dropped, and is still serving.
        let drain = |pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut lines = Vec::new();
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let done = line.contains("log lines dropped");
                    lines.push(line);
                    if done {
                        break;
                    }
                }
                lines
            })
        };
        let errors = drain(Box::new(stderr_read));
        let out = drain(Box::new(stdout));
        let (ok, _, err) = curl(&["--cacert", &ca, &hello]);
        assert!(ok, "{model}: {err}");
        let (finished_tx, finished_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = finished_tx.send(errors.join().unwrap());
        });
        let errors = finished_rx.recv_timeout(Duration::from_secs(20)).expect("stderr drained");
        drop(_server);
        let _ = out.join();
        assert!(errors.iter().any(|l| l.contains("log lines dropped: output not draining")), "{model}: {errors:?}");
    });
}

#[test]
fn a_client_cannot_make_the_server_log_a_line_per_connection() {
    // rustls warns about each ClientHello carrying an IP address as SNI (wrk and openssl
    // -servername 127.0.0.1 send one); a server would print that once per connection.
    let root = docroot();
    let server = Serve::start(root.path(), &[]);
    for _ in 0..3 {
        let mut s_client = Command::new("openssl")
            .args(["s_client", "-connect", &server.addr(), "-servername", "127.0.0.1", "-quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        s_client.stdin.take().unwrap().write_all(b"GET /hello.txt HTTP/1.0\r\n\r\n").unwrap();
        let out = s_client.wait_with_output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("HTTP/1.0 200"), "{out:?}");
    }
    let served = server.wait_for_stdout_count(|l| l.contains("\"GET /hello.txt"), 3, Duration::from_secs(5));
    assert_eq!(served.len(), 3, "{:?}", server.stdout_lines());
    assert!(server.stderr_lines().iter().all(|l| !l.contains("SNI")), "{:?}", server.stderr_lines());
}

#[test]
fn client_chosen_escapes_are_escaped_in_the_trace_and_the_access_log() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model, "--trace"]);
        // SNI and ALPN carrying a screen clear, a title change and a newline.
        let mut s_client = Command::new("openssl")
            .args(["s_client", "-connect", &server.addr(), "-servername", "evil\x1b[2J\nname"])
            .args(["-alpn", "h\x1b]0;owned\x07"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let hello =
            server.wait_for_stdout(|l| l.contains("ClientHello") && l.contains("sni="), Duration::from_secs(10));
        let _ = s_client.kill();
        let _ = s_client.wait();
        let hello = hello.expect("ClientHello traced");
        assert!(hello.contains("sni=evil\\x1b[2J\\x0aname"), "{model}: {hello}");
        assert!(hello.contains("alpn=h\\x1b]0;owned\\x07"), "{model}: {hello}");
        // An 8-bit CSI (U+009B) in an HTTP/2 path reaches the access line escaped.
        let out = py_h2(
            r#"
s, c = connect()
request(c, 1, "/x\u009b2J")
s.sendall(c.data_to_send())
print(*answer(s, c, 1)[::2])
"#,
            &server,
        );
        assert!(out.starts_with("404"), "{model}: {out}");
        let line = server.wait_for_stdout(|l| l.contains("\"GET /x"), Duration::from_secs(5)).expect("access line");
        assert!(line.contains("/x\\u{9b}2J"), "{model}: {line}");
        for line in server.stdout_lines() {
            assert!(!line.chars().any(|c| c.is_control()), "{model}: raw control character in {line:?}");
        }
    });
}

#[test]
fn client_chosen_controls_are_escaped_in_the_json_trace() {
    let root = docroot();
    let server = Serve::start(root.path(), &["--trace", "--json-log"]);
    // An 8-bit CSI (U+009B) and DEL in the SNI: serde_json would leave both raw.
    let mut s_client = Command::new("openssl")
        .args(["s_client", "-connect", &server.addr(), "-servername", "evil\u{9b}2J\x7fname"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The connection's end carries the SNI as a JSON string (the ClientHello's text is escaped as text).
    let end = |l: &str| l.contains("\"sni\"") && l.contains("evil");
    let hello = server.wait_for_stdout(end, Duration::from_secs(10));
    let _ = s_client.kill();
    let _ = s_client.wait();
    let hello = hello.expect("connection traced as JSON");
    assert!(hello.contains("evil\\u009b2J\\u007fname"), "{hello}");
    let value: serde_json::Value = serde_json::from_str(&hello).expect("still one JSON object");
    assert!(value.to_string().contains("evil\u{9b}2J\u{7f}name"), "the value is unchanged: {value}");
    for line in server.stdout_lines() {
        assert!(!line.chars().any(|c| c.is_control()), "raw control character in {line:?}");
    }
}

#[test]
fn warnings_go_through_the_log_and_quiet_silences_them() {
    let root = docroot();
    for quiet in [false, true] {
        // rustls's warnings are off by default (see a_client_cannot_make_the_server_log_a_line_per_connection);
        // RUST_LOG turns them on, and -q silences them even then.
        let args: &[&str] = if quiet { &["-q"] } else { &[] };
        let server = Serve::try_start_with(root.path(), args, &[("RUST_LOG", "warn")]).unwrap();
        // An IP address as SNI, as wrk sends: rustls warns.
        let ok = Command::new("openssl")
            .args(["s_client", "-connect", &server.addr(), "-servername", "127.0.0.1"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&ok.stdout).contains("CONNECTED"));
        assert!(served(&server));
        let warning =
            server.wait_for_stderr(|l| l.contains("IP address presented as hostname"), Duration::from_secs(3));
        assert_eq!(warning.is_some(), !quiet, "quiet={quiet}: {:?}", server.stderr_lines());
    }
}

#[test]
fn shutdown_closes_idle_http2_at_once_and_a_second_signal_exits() {
    let root = docroot();
    for_each_model(|model| {
        // An idle HTTP/2 client that never answers the shutdown PING does not hold the exit for the grace.
        let mut server = Serve::start(root.path(), &["--model", model, "--shutdown-grace", "60"]);
        require_python_h2();
        let program = format!(
            "{PY_H2}{}",
            r#"
s, c = connect()
request(c, 1, "/hello.txt")
s.sendall(c.data_to_send())
print(answer(s, c, 1)[0], flush=True)
sys.stdin.readline()
"#
        );
        let mut idle = Command::new("python3")
            .args(["-c", &program, &server.port.to_string(), &ca(&server)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(idle.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "200");
        let status = server.terminate(Duration::from_secs(20));
        let _ = idle.kill();
        let _ = idle.wait();
        assert!(status.is_some_and(|s| s.success()), "{model}: waited for an idle client: {status:?}");

        // In flight: a slow download holds the shutdown; the second signal ends it at once.
        let mut server = Serve::start(root.path(), &["--model", model, "--shutdown-grace", "60"]);
        let url = server.url_for("big.bin");
        let ca = ca(&server);
        let saved = tempfile::NamedTempFile::new().unwrap();
        let path = saved.path().display().to_string();
        let download = std::thread::spawn(move || curl(&["--cacert", &ca, "--limit-rate", "200K", "-o", &path, &url]));
        // In flight once its first bytes are in the file.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(saved.path()).map_or(0, |m| m.len()) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = server.pid().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(server.wait_for_stderr(|l| l.contains("shutting down"), Duration::from_secs(10)).is_some());
        assert!(server.is_running(), "{model}: exited with a download in flight");
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = server.terminate(Duration::from_secs(10));
        assert!(status.is_some_and(|s| !s.success()), "{model}: second signal did not exit: {status:?}");
        let (ok, _, _) = download.join().unwrap();
        assert!(!ok, "{model}: the download finished: the second signal waited for it");
    });
}

/// Raw bytes over TLS with Python's ssl (ALPN `alpn`), and what came back until the server closed.
fn raw_tls(server: &Serve, alpn: &str, request: &[u8]) -> Vec<u8> {
    let program = r#"
import socket, ssl, sys
port, ca, alpn = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols([alpn])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.sendall(sys.stdin.buffer.read())
s.settimeout(10)
out = b""
try:
    while True:
        data = s.recv(65536)
        if not data:
            break
        out += data
except (ConnectionResetError, ssl.SSLError, socket.timeout):
    pass
sys.stdout.buffer.write(out)
"#;
    let mut child = Command::new("python3")
        .args(["-c", program, &server.port.to_string(), &ca(server), alpn])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(request).unwrap();
    child.wait_with_output().unwrap().stdout
}

fn status_of(response: &[u8]) -> String {
    String::from_utf8_lossy(response).lines().next().unwrap_or("").to_string()
}

#[test]
fn http_rules_host_preface_long_request_line_and_many_headers() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model]);
        let ok =
            raw_tls(&server, "http/1.1", b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assert!(status_of(&ok).starts_with("HTTP/1.1 200"), "{model}: {}", status_of(&ok));
        for (what, request) in [
            ("no Host", &b"GET /hello.txt HTTP/1.1\r\nConnection: close\r\n\r\n"[..]),
            ("two Hosts", b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nHost: other\r\nConnection: close\r\n\r\n"),
            ("a bad Host", b"GET /hello.txt HTTP/1.1\r\nHost: user@localhost\r\nConnection: close\r\n\r\n"),
        ] {
            let answer = raw_tls(&server, "http/1.1", request);
            assert!(status_of(&answer).starts_with("HTTP/1.1 400"), "{model}: {what}: {}", status_of(&answer));
            assert!(!String::from_utf8_lossy(&answer).contains("hello from tlskit"), "{model}: {what}");
        }
        // HTTP/1.0 needs no Host.
        let answer = raw_tls(&server, "http/1.1", b"GET /hello.txt HTTP/1.0\r\n\r\n");
        assert!(status_of(&answer).contains(" 200"), "{model}: {}", status_of(&answer));

        // The HTTP/2 preface on a connection that negotiated http/1.1 is an HTTP/1.1 request, and a bad one.
        let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        // hyper closes such a connection without an answer (no SETTINGS: it was not taken as HTTP/2).
        let answer = raw_tls(&server, "http/1.1", &preface);
        assert!(answer.is_empty() || status_of(&answer).starts_with("HTTP/1.1 400"), "{model}: {answer:?}");
        assert!(server.wait_for_stderr(|l| l.contains("HTTP2 preface"), Duration::from_secs(5)).is_some());

        // A 100 KB request line: 414.
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', 100_000));
        long.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let answer = raw_tls(&server, "http/1.1", &long);
        assert!(status_of(&answer).starts_with("HTTP/1.1 414"), "{model}: {}", status_of(&answer));

        // 10,000 HTTP/2 headers: 431 for that request, and the connection goes on.
        let out = py_h2(
            r#"
s, c = connect()
request(c, 1, "/hello.txt", [(f"x-h{i}", "v") for i in range(10000)])
s.sendall(c.data_to_send())
print(*answer(s, c, 1)[::2])
request(c, 3, "/hello.txt")
s.sendall(c.data_to_send())
status, body, how = answer(s, c, 3)
print(status, how, body.decode().strip())
"#,
            &server,
        );
        assert!(out.lines().next().is_some_and(|l| l.starts_with("431")), "{model}: {out}");
        assert!(out.contains("200 ended hello from tlskit"), "{model}: {out}");
        assert!(served(&server));
    });
}

#[test]
fn stalled_http2_streams_cannot_hold_more_files_than_the_connection_cap() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(root.path(), &["--model", model, "--max-connections", "10"]);
        // 20 streams of one connection, each a large file that can never be sent (zero window).
        let out = py_h2(
            r#"
s, c = connect({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
for i in range(20):
    request(c, 1 + 2 * i, "/big.bin")
s.sendall(c.data_to_send())
s.settimeout(10)
statuses = {}
while len(statuses) < 20:
    for e in c.receive_data(s.recv(65536)):
        if isinstance(e, h2.events.ResponseReceived):
            statuses[e.stream_id] = dict(e.headers)[b":status"].decode()
    s.sendall(c.data_to_send())
print(" ".join(sorted(statuses.values())), flush=True)
"#,
            &server,
        );
        let statuses: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(statuses.iter().filter(|s| **s == "200").count(), 10, "{model}: {out}");
        assert_eq!(statuses.iter().filter(|s| **s == "503").count(), 10, "{model}: {out}");
        assert!(served(&server), "{model}: small files are still served");
    });
}
