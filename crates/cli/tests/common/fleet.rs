//! A fleet for the tests: a real redis-server, several `tlskit serve` sharing
//! it, and HAProxy in TCP mode, round-robin, in front of them; all on free
//! loopback ports, all stopped on drop. Plus `openssl s_client` with
//! `-sess_out`/`-sess_in`, which says whether it resumed and which server answered.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::serve::Serve;

/// The Debian packages a fleet test needs.
pub const PACKAGES: &[&str] = &["redis-server", "haproxy", "openssl"];

/// A port nobody listens on now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Wait (up to `timeout`) until something accepts connections on the port.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A child process stopped on drop.
pub struct Process {
    child: Option<Child>,
    pub port: u16,
}

impl Process {
    /// Stop it now (SIGKILL) and wait for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `redis-server` on `port` (no persistence), ready when this returns.
pub fn redis(port: u16) -> Process {
    redis_with(port, &["--port", &port.to_string()])
}

/// Who may connect to a TLS-only Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisClients {
    /// Any client (`--tls-auth-clients no`).
    Anyone,
    /// Only clients with a certificate of the PKI's CA (`--tls-auth-clients yes`, Redis's default).
    Certified,
}

/// `redis-server` with TLS only (`--port 0 --tls-port PORT`), with the PKI's server certificate.
pub fn redis_tls(port: u16, pki: &tlskit::pki::PkiFiles, clients: RedisClients) -> Process {
    let tls_port = port.to_string();
    let (cert, key, ca) = (super::path(&pki.server), super::path(&pki.server_key), super::path(&pki.ca));
    let mut args = vec!["--port", "0", "--tls-port", &tls_port, "--tls-cert-file", &cert, "--tls-key-file", &key];
    match clients {
        RedisClients::Anyone => args.extend(["--tls-auth-clients", "no"]),
        RedisClients::Certified => args.extend(["--tls-auth-clients", "yes", "--tls-ca-cert-file", &ca]),
    }
    redis_with(port, &args)
}

fn redis_with(port: u16, args: &[&str]) -> Process {
    let child = Command::new(super::program("redis-server"))
        .args(args)
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let process = Process { child: Some(child), port };
    assert!(wait_for_port(port, Duration::from_secs(20)), "redis-server did not listen on {port}");
    process
}

/// `redis-cli -p PORT ARGS…`: its output.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    redis_cli_with(port, &[], args)
}

/// `redis-cli -p PORT CONNECTION… ARGS…` (e.g. `--tls --cacert CA`), with a deadline: its output.
pub fn redis_cli_with(port: u16, connection: &[&str], args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["20", "redis-cli", "-p", &port.to_string()])
        .args(connection)
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// HAProxy in TCP mode, round-robin over `backends`, listening on its own port.
pub fn haproxy(dir: &Path, backends: &[u16]) -> Process {
    let port = free_port();
    let mut config = format!(
        "global\n    maxconn 4096\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 60s\n    \
         timeout server 60s\nfrontend tls\n    bind 127.0.0.1:{port}\n    default_backend fleet\nbackend fleet\n    \
         balance roundrobin\n"
    );
    for (i, backend) in backends.iter().enumerate() {
        config.push_str(&format!("    server s{i} 127.0.0.1:{backend}\n"));
    }
    let path = dir.join(format!("haproxy-{port}.cfg"));
    std::fs::write(&path, config).expect("write haproxy.cfg");
    let child = Command::new(super::program("haproxy"))
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy starts");
    let process = Process { child: Some(child), port };
    assert!(wait_for_port(port, Duration::from_secs(20)), "haproxy did not listen on {port}");
    process
}

/// A directory to serve, with one small file.
pub fn site() -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("tempdir");
    std::fs::write(site.path().join("hello.txt"), "hello from the fleet\n").expect("write");
    site
}

/// The store timeout the tests give: the default (20 ms) is for a production machine; on a shared
/// test machine a lookup can miss it, and that would be a full handshake, not the resumption under test.
pub const TEST_STORE_TIMEOUT_MS: &str = "200";

/// `count` servers sharing the Redis on `redis_port` (ids s1, s2, …), with the test PKI's certificate.
pub fn servers(site: &Path, pki: &tlskit::pki::PkiFiles, redis_port: u16, count: usize, extra: &[&str]) -> Vec<Serve> {
    servers_with_store(site, pki, &format!("redis://127.0.0.1:{redis_port}"), 1, count, extra)
}

/// `count` servers on the session store at `url`, with ids s`first`, s`first+1`, …
pub fn servers_with_store(
    site: &Path,
    pki: &tlskit::pki::PkiFiles,
    url: &str,
    first: usize,
    count: usize,
    extra: &[&str],
) -> Vec<Serve> {
    (first..first + count)
        .map(|i| {
            let id = format!("s{i}");
            let mut args = vec![
                "--cert",
                pki.server.to_str().unwrap(),
                "--key",
                pki.server_key.to_str().unwrap(),
                "--session-store",
                url,
                "--server-id",
                &id,
                "--store-timeout",
                TEST_STORE_TIMEOUT_MS,
            ];
            args.extend_from_slice(extra);
            Serve::start(site, &args)
        })
        .collect()
}

/// What one `openssl s_client` connection saw.
#[derive(Debug)]
pub struct Visit {
    /// `Reused` (resumed) rather than `New`.
    pub reused: bool,
    /// The `Tlskit-Server` header: which server answered.
    pub server: Option<String>,
    /// The `Tlskit-Session-Issuer` header: which server issued the resumed session.
    pub issuer: Option<String>,
    /// The whole output, for failure messages.
    pub output: String,
}

/// `openssl s_client -connect 127.0.0.1:PORT` with `flags`, saving the session
/// to `sess_out` or resuming `sess_in`, and a GET of `/hello.txt`.
pub fn s_client(port: u16, ca: &Path, flags: &[&str], sess_in: Option<&Path>, sess_out: Option<&Path>) -> Visit {
    s_client_with(&[], port, ca, flags, sess_in, sess_out)
}

/// [`s_client`] run under `wrapper` (e.g. `faketime -f -30s`).
pub fn s_client_with(
    wrapper: &[&str],
    port: u16,
    ca: &Path,
    flags: &[&str],
    sess_in: Option<&Path>,
    sess_out: Option<&Path>,
) -> Visit {
    let (program, before) = match wrapper.split_first() {
        Some((first, rest)) => (*first, rest.to_vec()),
        None => ("openssl", Vec::new()),
    };
    let mut cmd = Command::new("timeout");
    cmd.arg("20").arg(program).args(&before);
    if !wrapper.is_empty() {
        cmd.arg("openssl");
    }
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost", "-ign_eof"])
        .arg("-CAfile")
        .arg(ca)
        .args(flags);
    if let Some(p) = sess_in {
        cmd.arg("-sess_in").arg(p);
    }
    if let Some(p) = sess_out {
        cmd.arg("-sess_out").arg(p);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("openssl");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    }
    let mut output = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut output);
    let _ = child.wait();
    let header = |name: &str| {
        output.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    Visit {
        reused: output.lines().any(|l| l.starts_with("Reused,")),
        server: header("tlskit-server"),
        issuer: header("tlskit-session-issuer"),
        output,
    }
}

/// The stdout lines of `servers` that match `pred`, once there are at least `count` of them (up to 10 s: access
/// lines reach stdout through each server's printer thread, a moment after the response).
pub fn lines_matching(servers: &[&Serve], count: usize, pred: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<String> = servers.iter().flat_map(|s| s.stdout_lines()).filter(|l| pred(l)).collect();
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
