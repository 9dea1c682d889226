//! Path-traversal test support: a served tree with secrets beside it, the request targets that try to
//! reach them, and a raw HTTPS request through `openssl s_client` for bytes curl will not send.

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Content of the files outside the served root: no response may ever contain it.
pub const CANARY: &str = "CANARY-outside-the-root-8f14e45fceea167a";

/// Content of `/hello.txt` inside the root (the control request).
pub const HELLO: &str = "hello, inside the root\n";

/// `outer/secret.txt`, `outer/secretdir/`, and the served `outer/root/` with symlinks leading out.
pub struct Tree {
    _outer: tempfile::TempDir,
    pub root: PathBuf,
}

impl Tree {
    pub fn build() -> Tree {
        let outer = tempfile::tempdir().expect("tempdir");
        let o = outer.path();
        std::fs::write(o.join("secret.txt"), CANARY).unwrap();
        std::fs::create_dir(o.join("secretdir")).unwrap();
        std::fs::write(o.join("secretdir/inner.txt"), CANARY).unwrap();
        let root = o.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("hello.txt"), HELLO).unwrap();
        std::fs::write(root.join("sub/a.txt"), "a").unwrap();
        std::fs::write(root.join(".hidden"), CANARY).unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/config"), CANARY).unwrap();
        symlink("../secret.txt", root.join("escape")).unwrap();
        symlink(o.join("secret.txt"), root.join("escape_abs.txt")).unwrap();
        symlink("../secretdir", root.join("escapedir")).unwrap();
        symlink(".hidden", root.join("hiddenlink")).unwrap();
        Tree { _outer: outer, root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Request targets curl sends as they are with `--path-as-is -g`.
pub fn curl_corpus() -> Vec<String> {
    let mut corpus: Vec<String> = shared_targets();
    corpus.extend(
        ["/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/..;/secret.txt", "/.git/config", "/.git/"].iter().map(|s| s.to_string()),
    );
    corpus.push(format!("/{}secret.txt", "../".repeat(40)));
    corpus.push(format!("/{}", "a/".repeat(2500)));
    corpus
}

/// Request lines (without CRLF) that curl refuses or rewrites: raw backslashes, NUL, non-ASCII,
/// relative and absolute-form targets.
pub fn raw_corpus() -> Vec<Vec<u8>> {
    let lines: [&[u8]; 14] = [
        b"GET /..\\secret.txt HTTP/1.1",
        b"GET /..\\..\\secret.txt HTTP/1.1",
        b"GET /../secret.txt HTTP/1.1",
        b"GET ../secret.txt HTTP/1.1",
        b"GET /\x00/../secret.txt HTTP/1.1",
        b"GET /escape\x00.txt HTTP/1.1",
        b"GET /\xc0\xae\xc0\xae/secret.txt HTTP/1.1",
        b"GET https://localhost/../secret.txt HTTP/1.1",
        b"GET https://localhost/%2e%2e/secret.txt HTTP/1.1",
        b"GET //../secret.txt HTTP/1.1",
        b"GET /.\\./secret.txt HTTP/1.1",
        b"GET /escapedir/inner.txt HTTP/1.1",
        b"GET /escape HTTP/1.0",
        b"HEAD /escape_abs.txt HTTP/1.1",
    ];
    lines.iter().map(|l| l.to_vec()).collect()
}

/// The raw response to `request_line` sent over TLS with `openssl s_client` (connection closed after).
pub fn raw_https(addr: &str, ca: &Path, request_line: &[u8], extra_headers: &str) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", addr, "-servername", "localhost", "-verify_return_error"])
        .arg("-CAfile")
        .arg(ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl runs");
    let mut request = request_line.to_vec();
    request.extend_from_slice(format!("\r\nHost: localhost\r\n{extra_headers}Connection: close\r\n\r\n").as_bytes());
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&request);
        // stdin closes here; -quiet keeps the connection open until the server closes it.
    }
    // A server that never closes shows as an empty or cut answer, which the callers reject.
    super::process::collect_within(child, Duration::from_secs(15)).1
}

/// The status code of a raw HTTP/1.x response, if it has a status line.
pub fn raw_status(response: &[u8]) -> Option<u16> {
    let line = response.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    words.next().filter(|w| w.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

/// The targets shared by the library and the server traversal tests (comments and blank lines skipped).
fn shared_targets() -> Vec<String> {
    include_str!("../../../tlskit/tests/data/traversal-targets.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}
