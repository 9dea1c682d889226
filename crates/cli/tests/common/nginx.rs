//! A real nginx for integration tests: a config written into a temporary directory, free
//! loopback ports, `daemon off` so the master is our child, stopped (with its workers) on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `server` block: TLS versions, and whether sessions can be resumed (cache and tickets).
pub struct Site {
    pub protocols: &'static str,
    pub resumption: bool,
    /// More directives for the server block (e.g. `ssl_ecdh_curve X25519;`).
    pub extra: &'static str,
}

/// A running nginx with one port per [`Site`].
pub struct Nginx {
    child: Option<Child>,
    pub ports: Vec<u16>,
    pub dir: PathBuf,
}

/// A port nothing listens on right now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind a free port").port()
}

impl Nginx {
    /// Start nginx serving `root` with the certificate `cert`/`key` on one port per site; waits
    /// until every port accepts connections.
    pub fn start(work: &Path, root: &Path, cert: &Path, key: &Path, sites: &[Site]) -> Nginx {
        super::require_packages(&["nginx"]);
        let dir = work.join("nginx");
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let ports: Vec<u16> = sites.iter().map(|_| free_port()).collect();
        let servers: String = sites
            .iter()
            .zip(&ports)
            .map(|(site, port)| {
                let resumption = if site.resumption {
                    "ssl_session_cache shared:S:10m; ssl_session_tickets on;"
                } else {
                    "ssl_session_cache off; ssl_session_tickets off;"
                };
                format!(
                    "server {{ listen 127.0.0.1:{port} ssl http2; root {root}; ssl_protocols {protocols}; {resumption}\n\
                     access_log {dir}/logs/access-{port}.log; {extra} }}\n",
                    root = root.display(),
                    protocols = site.protocols,
                    dir = dir.display(),
                    extra = site.extra,
                )
            })
            .collect();
        // As root, nginx would run its workers as nobody, who cannot read a private temp dir.
        let user = if unsafe { libc::geteuid() } == 0 { "user root root;" } else { "" };
        let conf = format!(
            "{user}\ndaemon off;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             keepalive_requests 1000000; keepalive_timeout 75s;\n\
             ssl_certificate {cert}; ssl_certificate_key {key};\n{servers}}}\n",
            d = dir.display(),
            cert = cert.display(),
            key = key.display(),
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(super::program("nginx"))
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.join("logs/error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx { child: Some(child), ports, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in nginx.ports.clone() {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Some(status) = nginx.child.as_mut().unwrap().try_wait().unwrap() {
                    let log = std::fs::read_to_string(nginx.dir.join("logs/error.log")).unwrap_or_default();
                    panic!("nginx exited with {status}: {log}");
                }
                assert!(Instant::now() < deadline, "nginx did not listen on {port} within 20 s");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        nginx
    }

    /// `https://localhost:PORT/PATH` for site `i`.
    pub fn url(&self, i: usize, path: &str) -> String {
        format!("https://localhost:{}/{}", self.ports[i], path.trim_start_matches('/'))
    }

    /// The master's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// The worker processes (children of the master).
    pub fn workers(&self) -> Vec<i32> {
        let master = self.pid().to_string();
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // Fields after the ")" of the command name: state, then the parent's pid.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
            if rest.split_whitespace().nth(1) == Some(master.as_str()) {
                if let Ok(pid) = entry.file_name().to_string_lossy().parse() {
                    out.push(pid);
                }
            }
        }
        out
    }

    /// Lines in site `i`'s access log so far (nginx writes each line as the request ends).
    pub fn access_lines(&self, i: usize) -> usize {
        let path = self.dir.join(format!("logs/access-{}.log", self.ports[i]));
        std::fs::read_to_string(path).map(|s| s.lines().count()).unwrap_or(0)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGCONT first, in case a test left the workers stopped; SIGTERM ends master and workers.
            for pid in self.workers() {
                unsafe { libc::kill(pid, libc::SIGCONT) };
            }
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
