//! Real peers for client tests: `openssl s_server`, a Python `ssl` HTTPS server, and
//! misbehaving TCP listeners (silent, garbage, closing mid-handshake). All on 127.0.0.1, port 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::process::{self, CommandExt as _};

/// A child process killed when dropped.
pub struct Peer {
    child: Child,
    // Held open: s_server reads commands from stdin and must not see EOF.
    _stdin: Option<ChildStdin>,
    pub port: u16,
}

impl Peer {
    /// `https://localhost:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Read the child's stdout until `find_port` recognises a line; the rest is drained in the background.
pub fn wait_for_port(child: &mut Child, what: &str, find_port: fn(&str) -> Option<u16>) -> u16 {
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("{what}: no stdout"));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut sent = false;
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if !sent {
                if let Some(port) = find_port(&line) {
                    let _ = tx.send(port);
                    sent = true;
                }
            }
            line.clear();
        }
    });
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("{what} did not report its port"))
}

/// `openssl s_server -accept 127.0.0.1:0 -cert … -key … -www` plus `extra` flags, run in `dir`.
pub fn openssl_server(dir: &Path, cert: &Path, key: &Path, extra: &[&str]) -> Peer {
    let mut cmd = Command::new("openssl");
    cmd.arg("s_server").arg("-accept").arg("127.0.0.1:0").arg("-cert").arg(cert).arg("-key").arg(key);
    cmd.args(extra).current_dir(dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("openssl s_server starts");
    let stdin = child.stdin.take();
    // It prints "ACCEPT 127.0.0.1:PORT" once listening.
    let port = wait_for_port(&mut child, "openssl s_server", |line| {
        line.strip_prefix("ACCEPT")?.trim().rsplit(':').next()?.parse().ok()
    });
    Peer { child, _stdin: stdin, port }
}

const PYTHON_SERVER: &str = r#"
import http.server, json, ssl, sys
cert, key, client_ca = sys.argv[1], sys.argv[2], sys.argv[3]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, body, ctype="application/json"):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def facts(self):
        tls = self.connection
        peer = tls.getpeercert()
        subject = dict(x[0] for x in peer["subject"]) if peer else None
        facts = {"method": self.command, "path": self.path, "version": tls.version(),
                 "cipher": tls.cipher()[0], "reused": tls.session_reused,
                 "client_cn": subject.get("commonName") if subject else None,
                 "content_type": self.headers.get("Content-Type"), "accept": self.headers.get("Accept"),
                 "content_length": self.headers.get("Content-Length")}
        if "Authorization" in self.headers:
            facts["authorization"] = self.headers["Authorization"]
        return facts
    def redirect(self, status, location):
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        # /redirect/N answers 302 to /redirect/N-1, down to /redirect/0 (which answers with the facts).
        if self.path.startswith("/redirect/") and int(self.path.rsplit("/", 1)[1]) > 0:
            return self.redirect(302, "/redirect/%d" % (int(self.path.rsplit("/", 1)[1]) - 1))
        # /elsewhere/PATH answers 302 to the same server by another name (127.0.0.1): another origin.
        if self.path.startswith("/elsewhere/"):
            return self.redirect(302, "https://127.0.0.1:%d/%s" % (self.server.server_address[1], self.path[11:]))
        self.reply(self.facts())
    def do_POST(self):
        if self.path == "/see-other":
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            return self.redirect(303, "/redirect/0")
        n = int(self.headers.get("Content-Length", "0"))
        facts = self.facts()
        facts["body"] = self.rfile.read(n).decode("utf-8", "replace")
        self.reply(facts)
    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST
    def log_message(self, *args):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if client_ca != "-":
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("PORT", server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A Python `http.server` behind an `ssl.SSLContext`: answers GET, POST, PUT, PATCH, DELETE and OPTIONS with
/// JSON facts (method, path, TLS version, cipher, session reused, client CN, Authorization if sent, body); `/redirect/N`
/// redirects N times, `/elsewhere/PATH` to PATH on `127.0.0.1` (another origin), POST `/see-other` answers 303.
/// `client_ca` makes client certs required.
pub fn python_server(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Peer {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_SERVER)
        .arg(cert)
        .arg(key)
        .arg(client_ca.map(|p| p.as_os_str()).unwrap_or("-".as_ref()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 starts");
    let port = wait_for_port(&mut child, "python ssl server", |line| line.strip_prefix("PORT")?.trim().parse().ok());
    Peer { child, _stdin: None, port }
}

/// How a misbehaving listener treats each connection.
#[derive(Clone, Copy, Debug)]
pub enum Misbehaviour {
    /// Accepts and never says a word.
    Silent,
    /// Answers the ClientHello with bytes that are not TLS.
    Garbage,
    /// Reads the ClientHello, then closes.
    CloseMidHandshake,
}

/// A TCP listener on 127.0.0.1 that misbehaves as told; lives as long as the test process.
pub fn misbehaving_listener(how: Misbehaviour) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            match how {
                Misbehaviour::Silent => held.push(stream),
                Misbehaviour::Garbage => {
                    let mut buf = [0u8; 512];
                    let _ = stream.read(&mut buf);
                    let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nhello, this is not TLS\r\n\r\n");
                    let _ = stream.shutdown(Shutdown::Write);
                    // Close only once the client has: closing first could reset the answer away unread.
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    while stream.read(&mut buf).is_ok_and(|n| n > 0) {}
                }
                Misbehaviour::CloseMidHandshake => {
                    let mut buf = [0u8; 512];
                    let _ = stream.read(&mut buf);
                    let _ = stream.shutdown(Shutdown::Both);
                }
            }
        }
    });
    port
}

/// A port with nothing listening on it (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local addr").port()
}

/// What one run of the `tlskit` binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stderr lines, without blank ones.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| !l.trim().is_empty()).collect()
    }

    /// Each stdout line that is a JSON document (the `-w json` output).
    pub fn json_docs(&self) -> Vec<serde_json::Value> {
        self.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

/// Run `tlskit ARGS…` (under the default deadline) and collect its output.
pub fn tlskit<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    tlskit_with_stdin(args, b"")
}

/// Run `tlskit ARGS…` with `stdin` as its standard input.
pub fn tlskit_with_stdin<I, S>(args: I, stdin: &[u8]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    tlskit_env(args, stdin, &[], process::LIMIT)
}

/// Run `tlskit ARGS…` with `stdin`, extra environment variables, and a deadline of its own.
pub fn tlskit_env<I, S>(args: I, stdin: &[u8], env: &[(&str, &str)], limit: Duration) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlskit"));
    cmd.args(args).env_remove("SSLKEYLOGFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output_with_input(stdin, limit);
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const TLS_NOT_HTTP: &str = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print("PORT", listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        tls.recv(65536)
        tls.sendall(b"this is TLS, but not HTTP\r\n\r\n")
        tls.close()
    except Exception:
        conn.close()
"#;

/// A Python server that completes the TLS handshake, then answers with something that is not HTTP.
pub fn tls_not_http_server(cert: &Path, key: &Path) -> Peer {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(TLS_NOT_HTTP)
        .arg(cert)
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 starts");
    let port = wait_for_port(&mut child, "python TLS server", |line| line.strip_prefix("PORT")?.trim().parse().ok());
    Peer { child, _stdin: None, port }
}
