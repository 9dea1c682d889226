//! docs/howto.md, checked: every HOWTO example in crates/tlskit/examples runs against a real server
//! (`tlskit serve`, openssl s_server, a Python ssl server, or the example itself), its output is checked,
//! and the document shows exactly these programs (`include` markers) and these runs (`output` markers,
//! with ports, times and random bytes masked; common/howto.rs). `TLSKIT_BLESS=1` rewrites the blocks.
//!
//! `cargo test` builds the examples; when this file runs alone (`-p tlskit-cli --test
//! examples`) a missing or stale example is built first (wire/tests/support/examples.rs).

mod common;
#[path = "../../wire/tests/support/examples.rs"]
mod support_examples;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::howto::{check_output, Transcript};
use common::peers::{openssl_server, python_server};
use common::process::CommandExt as _;
use common::serve::Serve;
use common::{path, pki};
use tlskit::pki::PkiFiles;

/// The runs docs/howto.md shows, by marker name; each is checked by the test of the same section.
const OUTPUTS: &[&str] = &[
    "setup",
    "dump",
    "serve",
    "serve-get",
    "get_https",
    "post_https",
    "threaded_client",
    "async_session_reuse",
    "verify_server_cert",
    "verify_hook",
    "client_cert",
    "simple_https_server",
    "simple_https_server-get",
    "async_https_server",
    "async_https_server-get",
    "client_cert_auth",
    "client_cert_auth-get",
    "session_reuse_control",
    "key_update",
    "key_update-serve",
    "key_log",
    "fleet_sessions",
];

/// The `tlskit serve` every client section talks to, as the document shows it.
const SERVE: &str = "tlskit serve site --cert pki/server.pem --key pki/server-key.pem --listen 127.0.0.1:4433";

/// The directory a reader of the HOWTO works in: `pki/` from `tlskit cert init pki`, `site/hello.txt`.
struct Howto {
    dir: tempfile::TempDir,
    pki: PkiFiles,
    /// What `tlskit cert init pki` printed.
    init: String,
}

impl Howto {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
            .args(["cert", "init", "pki"])
            .current_dir(dir.path())
            .output_within(Duration::from_secs(60));
        assert!(out.status.success(), "cert init: {}", String::from_utf8_lossy(&out.stderr));
        let pki = PkiFiles::in_dir(&dir.path().join("pki"), false);
        std::fs::create_dir_all(dir.path().join("site")).expect("mkdir site");
        std::fs::write(dir.path().join("site/hello.txt"), "hello from the HOWTO\n").expect("write");
        let init = String::from_utf8_lossy(&out.stdout).into_owned();
        Howto { dir, pki, init }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The example NAME run in the HOWTO's directory; its transcript (the command as `cargo run` shows
    /// it) and its output.
    fn example(&self, name: &str, args: &[&str]) -> (String, String) {
        let out =
            Command::new(example(name)).args(args).current_dir(self.path()).output_within(Duration::from_secs(60));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{name} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
        let mut shown = format!("cargo run -q -p tlskit --example {name}");
        if !args.is_empty() {
            shown = format!("{shown} -- {}", args.join(" "));
        }
        let mut transcript = Transcript::default();
        transcript.command(&shown).output(&stdout);
        (self.local(transcript.text()), stdout)
    }

    /// `tlskit ARGS…` run in the HOWTO's directory: its transcript and the run.
    fn tlskit(&self, args: &[&str]) -> (String, std::process::Output) {
        let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
            .args(args)
            .current_dir(self.path())
            .env_remove("SSLKEYLOGFILE")
            .output_within(Duration::from_secs(60));
        let mut transcript = Transcript::default();
        transcript
            .command(&format!("tlskit {}", args.join(" ")))
            .output(&String::from_utf8_lossy(&out.stdout))
            .output(&String::from_utf8_lossy(&out.stderr));
        (self.local(transcript.text()), out)
    }

    /// `tlskit serve site` with the HOWTO's certificate, on a free port.
    fn serve(&self, extra: &[&str]) -> Serve {
        let mut args = vec!["serve", "site", "--cert", "pki/server.pem", "--key", "pki/server-key.pem"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--listen", "127.0.0.1:0"]);
        Serve::try_start_exactly(&args, self.path(), &[]).unwrap_or_else(|e| panic!("tlskit serve: {e}"))
    }

    /// `text` with the scratch directory spelled as the reader's `~/howto`.
    fn local(&self, text: &str) -> String {
        text.replace(&self.path().display().to_string(), "~/howto")
    }
}

/// A server's console: the command and the lines it printed (stdout, then stderr).
fn server_transcript(howto: &Howto, shown: &str, lines: &[String]) -> String {
    let mut transcript = Transcript::default();
    transcript.command(shown);
    for line in lines {
        transcript.output(line);
    }
    howto.local(transcript.text())
}

#[test]
fn howto_shows_the_example_files() {
    common::howto::check_includes();
    let included = common::howto::markers("include");
    let dir = common::howto::root().join("crates/tlskit/examples");
    for entry in std::fs::read_dir(&dir).expect("examples dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        let file = format!("crates/tlskit/examples/{name}");
        assert!(included.contains(&file), "docs/howto.md does not include {file}");
    }
}

#[test]
fn howto_outputs_are_all_checked() {
    let mut shown = common::howto::markers("output");
    let mut checked: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
    shown.sort();
    checked.sort();
    assert_eq!(shown, checked, "docs/howto.md's output markers and the runs this file checks differ");
}

#[test]
fn howto_setup() {
    let howto = Howto::new();
    let mut transcript = Transcript::default();
    transcript.command("tlskit cert init pki").output(&howto.init);
    check_output("setup", &howto.local(transcript.text()), None, &[]);
}

#[test]
fn howto_dump() {
    // A published TLS 1.3 capture and its key log, from the repository root.
    let dir = "tests/captures/wireshark-tls13-rfc8446";
    let (pcap, keys) = (format!("{dir}/tls13-rfc8446.pcap"), format!("{dir}/tls13-rfc8446.keys"));
    let out = Command::new(env!("CARGO_BIN_EXE_tlskit"))
        .args(["dump", &pcap, "--keylog", &keys])
        .current_dir(common::howto::root())
        .output_within(Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first: String =
        stdout.lines().take_while(|l| !l.starts_with("New TLS connection #2")).map(|l| format!("{l}\n")).collect();
    assert!(first.contains("(decrypted)") && first.contains("Certificate (1 certificates)"), "{first}");
    let mut transcript = Transcript::default();
    transcript.command(&format!("tlskit dump {pcap} --keylog {keys} | head -{}", first.lines().count())).output(&first);
    check_output("dump", transcript.text(), None, &[]);
}

#[test]
fn howto_serve() {
    let howto = Howto::new();
    let server = howto.serve(&[]);
    let url = server.url_for("/hello.txt");
    let (get, out) = howto.tlskit(&["get", "--cacert", "pki/ca.pem", &url]);
    assert!(out.status.success(), "{get}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from the HOWTO\n");
    server
        .wait_for_stdout(|l| l.contains("\"GET /hello.txt HTTP/2\" 200"), Duration::from_secs(10))
        .expect("access line");
    check_output("serve-get", &get, Some(server.port), &[]);
    check_output("serve", &server_transcript(&howto, SERVE, &server.stdout_lines()), Some(server.port), &[]);

    // The README's samples name the suite today's defaults negotiate.
    let access = server.access_line("/hello.txt").expect("access line");
    let suite = regex::Regex::new(r"TLSv1\.3[ /]+(TLS_[A-Z0-9_]+)").expect("pattern");
    let real = &suite.captures(&access).expect("suite in the access line")[1];
    let readme = std::fs::read_to_string(common::howto::root().join("README.md")).expect("README.md");
    for shown in suite.captures_iter(&readme) {
        assert_eq!(&shown[1], real, "README.md shows {} where tlskit serve and get now agree on {real}", &shown[1]);
    }
}

/// target/debug/examples/NAME of the library; built if missing or older than its source.
fn example(name: &str) -> PathBuf {
    support_examples::example("tlskit", "tlskit", name)
}

/// Run an example to completion (60 s at most) and return its stdout; it must exit 0.
fn run_example(name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name)).args(args).output_within(Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The number after `label` on its line of `output`.
fn count(output: &str, label: &str) -> usize {
    output
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{output}"))
}

#[test]
fn get_https() {
    // Interop: openssl s_server's own status page (TLS 1.3, its preferred suite).
    let (_dir, pki) = pki();
    let peer = openssl_server(&pki.dir, &pki.server, &pki.server_key, &["-www"]);
    let out = run_example("get_https", &[&peer.url("/"), &path(&pki.ca)]);
    assert!(out.contains("status: 200\n"), "{out}");
    assert!(out.contains("tls: TLSv1.3 TLS_AES_256_GCM_SHA384 resumed=false\n"), "{out}");
    assert!(out.contains("server certificate: O=tlskit test PKI, CN=localhost\n"), "{out}");
    assert!(out.contains("Protocol  : TLSv1.3"), "the s_server page is printed: {out}");

    // The HOWTO's run: against tlskit serve.
    let howto = Howto::new();
    let server = howto.serve(&[]);
    let (transcript, out) = howto.example("get_https", &[&server.url_for("/hello.txt"), "pki/ca.pem"]);
    assert!(
        out.contains("tls: TLSv1.3 TLS_AES_128_GCM_SHA256 resumed=false\n") && out.contains("hello from the HOWTO"),
        "{out}"
    );
    check_output("get_https", &transcript, Some(server.port), &[]);
}

#[test]
fn post_https() {
    let howto = Howto::new();
    let peer = python_server(&howto.pki.server, &howto.pki.server_key, None);
    let (transcript, out) = howto.example("post_https", &[&peer.url("/submit"), "pki/ca.pem"]);
    assert!(out.contains("status: 200\n"), "{out}");
    // The Python server echoes what it received.
    assert!(out.contains(r#""method": "POST""#) && out.contains(r#""body": "name=tlskit&howto=m2crypto""#), "{out}");
    check_output("post_https", &transcript, Some(peer.port), &[]);
}

#[test]
fn threaded_client() {
    let howto = Howto::new();
    let server = howto.serve(&[]);
    let (transcript, out) = howto.example("threaded_client", &[&server.url_for("/hello.txt"), "pki/ca.pem", "4", "5"]);
    let (full, resumed) = (count(&out, "full handshakes:"), count(&out, "resumed handshakes:"));
    assert_eq!(count(&out, "failed:"), 0, "{out}");
    assert_eq!(full + resumed, 20, "{out}");
    // At most each thread's first connection needs a full handshake; the rest share sessions.
    assert!(resumed >= 16, "{out}");
    // How the first four split between full and resumed depends on the threads' timing.
    let split = [(r"(full|resumed) handshakes: \d+", "$1 handshakes: N")];
    check_output("threaded_client", &transcript, Some(server.port), &split);
}

#[test]
fn async_session_reuse() {
    let howto = Howto::new();
    let server = howto.serve(&[]);
    let (transcript, out) = howto.example("async_session_reuse", &[&server.url_for("/hello.txt"), "pki/ca.pem", "8"]);
    assert!(out.contains("first: full\n"), "{out}");
    let (full, resumed) = (count(&out, "full:"), count(&out, "resumed:"));
    assert_eq!(full + resumed, 8, "{out}");
    assert!(resumed >= 1, "{out}");
    check_output("async_session_reuse", &transcript, Some(server.port), &[]);
}

#[test]
fn verify_server_cert() {
    let howto = Howto::new();
    let server = howto.serve(&[]);
    let (transcript, out) =
        howto.example("verify_server_cert", &[&server.url_for("/hello.txt"), "pki/ca.pem", "pki/other-ca.pem"]);
    assert!(out.contains("trusting pki/ca.pem: verified\n"), "{out}");
    assert!(out.contains("  0: subject O=tlskit test PKI, CN=localhost (issuer O=tlskit test PKI, CN=tlskit test CA"));
    assert!(out.contains("names DNS:localhost, IP:127.0.0.1, IP:::1"), "{out}");
    assert!(
        out.contains(
            "trusting pki/other-ca.pem: refused: certificate for localhost is not signed by a trusted CA (unknown issuer)"
        ),
        "{out}"
    );
    check_output("verify_server_cert", &transcript, Some(server.port), &[]);
}

#[test]
fn verify_hook() {
    let howto = Howto::new();
    let server = howto.serve(&[]);
    let (transcript, out) = howto.example("verify_hook", &[&server.url_for("/hello.txt"), "pki/ca.pem"]);
    // An untrusted CA, accepted by the hook.
    assert!(out.contains("no trusted CA: 200 OK TLSv1.3\n"), "{out}");
    assert!(out.contains("  unknown issuer allowed by the hook: O=tlskit test PKI, CN=localhost (issuer O=tlskit test PKI, CN=tlskit test CA"), "{out}");
    // A trusted CA, its leaf refused by the hook.
    assert!(
        out.contains(
            "trusting pki/ca.pem: refused: certificate for localhost rejected: rejected by the verify hook: valid for "
        ),
        "{out}"
    );
    assert!(out.contains(" days, more than 90\n"), "{out}");
    check_output("verify_hook", &transcript, Some(server.port), &[]);
}

#[test]
fn client_cert() {
    // Interop: openssl s_server requires a client certificate and serves the HOWTO's directory (-WWW).
    let howto = Howto::new();
    let ca = path(&howto.pki.ca);
    let peer = openssl_server(
        howto.path(),
        &howto.pki.server,
        &howto.pki.server_key,
        &["-WWW", "-Verify", "1", "-verify_return_error", "-CAfile", &ca],
    );
    let url = peer.url("/site/hello.txt");
    let (transcript, out) = howto.example("client_cert", &[&url, "pki/ca.pem", "pki/client.pem", "pki/client-key.pem"]);
    assert!(out.contains("with certificate: status 200\nhello from the HOWTO\n"), "{out}");
    assert!(out.contains("without certificate: the server requires a client certificate and none was given"), "{out}");
    check_output("client_cert", &transcript, Some(peer.port), &[]);

    // That the server saw our certificate: its -www page names it.
    let peer = openssl_server(
        howto.path(),
        &howto.pki.server,
        &howto.pki.server_key,
        &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca],
    );
    let out =
        run_example("client_cert", &[&peer.url("/"), &ca, &path(&howto.pki.client), &path(&howto.pki.client_key)]);
    assert!(out.contains("CN=tlskit test client"), "the server saw our certificate: {out}");
}

/// A server example running in the background, in the HOWTO's directory; killed when dropped.
struct RunningServer {
    child: Child,
    lines: Receiver<String>,
    /// Everything it printed so far, the `listening on` line first.
    printed: Vec<String>,
    /// The command as the document shows it.
    shown: String,
    port: u16,
}

impl RunningServer {
    fn start(howto: &Howto, name: &str, args: &[&str]) -> Self {
        let mut child = Command::new(example(name))
            .args(args)
            .current_dir(howto.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("example starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(20)).expect("server example prints its address");
        let url = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        let port = url.trim_end_matches('/').rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        let shown = format!("cargo run -q -p tlskit --example {name} -- {}", args.join(" "));
        RunningServer { child, lines, printed: vec![first], shown, port }
    }

    /// `https://localhost:PORT/PATH`: the certificate is for localhost.
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// The next line the server printed (within 10 s).
    fn next_line(&mut self) -> String {
        let line = self.lines.recv_timeout(Duration::from_secs(10)).expect("a line from the server example");
        self.printed.push(line.clone());
        line
    }

    fn transcript(&self, howto: &Howto) -> String {
        server_transcript(howto, &self.shown, &self.printed)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn simple_https_server() {
    let howto = Howto::new();
    let mut server =
        RunningServer::start(&howto, "simple_https_server", &["site", "pki/server.pem", "pki/server-key.pem"]);
    let url = server.url("/hello.txt");
    let (get, run) = howto.tlskit(&["get", "--cacert", "pki/ca.pem", &url, &url]);
    assert!(run.status.success(), "{get}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello from the HOWTO\nhello from the HOWTO\n");
    let (first, second) = (server.next_line(), server.next_line());
    assert!(first.contains("\"GET /hello.txt\" 200 TLSv1.3 resumed=false"), "{first}");
    assert!(second.contains("\"GET /hello.txt\" 200 TLSv1.3 resumed=true"), "{second}");
    check_output("simple_https_server-get", &get, Some(server.port), &[]);
    check_output("simple_https_server", &server.transcript(&howto), Some(server.port), &[]);
}

#[test]
fn async_https_server() {
    let howto = Howto::new();
    let mut server =
        RunningServer::start(&howto, "async_https_server", &["site", "pki/server.pem", "pki/server-key.pem"]);
    let url = server.url("/hello.txt");
    let (get, run) = howto.tlskit(&["get", "--cacert", "pki/ca.pem", &url]);
    assert!(run.status.success(), "{get}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello from the HOWTO\n");
    let line = server.next_line();
    assert!(line.contains("\"GET /hello.txt HTTP/2\" 200 alpn=h2 resumed=false"), "{line}");
    check_output("async_https_server-get", &get, Some(server.port), &[]);
    check_output("async_https_server", &server.transcript(&howto), Some(server.port), &[]);
}

#[test]
fn client_cert_auth() {
    let howto = Howto::new();
    let mut server = RunningServer::start(
        &howto,
        "client_cert_auth",
        &["site", "pki/server.pem", "pki/server-key.pem", "pki/ca.pem"],
    );
    let url = server.url("/hello.txt");
    let (with, run) = howto.tlskit(&[
        "get",
        "--cacert",
        "pki/ca.pem",
        "--cert",
        "pki/client.pem",
        "--key",
        "pki/client-key.pem",
        &url,
    ]);
    assert!(run.status.success(), "{with}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello from the HOWTO\n");
    let line = server.next_line();
    assert!(line.starts_with("GET /hello.txt 200 client=") && line.contains("CN=tlskit test client"), "{line}");

    let (without, run) = howto.tlskit(&["get", "--cacert", "pki/ca.pem", &url]);
    assert_eq!(run.status.code(), Some(58), "{without}");
    assert!(without.contains("requires a client certificate"), "{without}");
    let line = server.next_line();
    assert!(line.starts_with("refused 127.0.0.1:") && line.contains(" at handshake: "), "{line}");
    check_output("client_cert_auth-get", &format!("{with}{without}"), Some(server.port), &[]);
    check_output("client_cert_auth", &server.transcript(&howto), Some(server.port), &[]);
}

#[test]
fn session_reuse_control() {
    let howto = Howto::new();
    let (transcript, out) = howto.example("session_reuse_control", &[]);
    let expected = "\
cache off, tickets off TLSv1.2: first full, second full
cache off, tickets off TLSv1.3: first full, second full
cache on,  tickets off TLSv1.2: first full, second resumed
cache on,  tickets off TLSv1.3: first full, second resumed
cache off, tickets on  TLSv1.2: first full, second resumed
cache off, tickets on  TLSv1.3: first full, second resumed
cache on,  tickets on  TLSv1.2: first full, second resumed
cache on,  tickets on  TLSv1.3: first full, second resumed
";
    assert_eq!(out, expected);
    check_output("session_reuse_control", &transcript, None, &[]);
}

#[test]
fn key_update() {
    let howto = Howto::new();
    let server = howto.serve(&[]);
    let (transcript, out) = howto.example(
        "watch_handshake",
        &["pki/ca.pem", &server.url_for("/_reneg_/hello.txt"), &server.url_for("/hello.txt")],
    );
    assert!(out.contains("  C>S ClientHello (") && out.contains("  S>C Certificate ("), "{out}");
    assert!(out.contains("  S>C KeyUpdate (1 bytes, decrypted)\n"), "{out}");
    assert!(out.ends_with("end: TLS_AES_128_GCM_SHA256, resumed=true\n"), "the second connection resumes: {out}");
    server
        .wait_for_stdout(|l| l.contains("session after KeyUpdate:"), Duration::from_secs(10))
        .expect("KeyUpdate logged");
    // The client's answering KeyUpdate goes out with its next write, which a connection closed right after
    // the response may never make.
    let answer = [(r"  C>S KeyUpdate \(\d+ bytes, decrypted\)\n", "")];
    check_output("key_update", &transcript, Some(server.port), &answer);
    check_output("key_update-serve", &server_transcript(&howto, SERVE, &server.stdout_lines()), Some(server.port), &[]);
}

#[test]
fn key_log() {
    let howto = Howto::new();
    let server = howto.serve(&[]);
    let (transcript, out) = howto.example("key_log", &[&server.url_for("/hello.txt"), "pki/ca.pem", "keys.log"]);
    assert!(out.contains("status: 200 over TLSv1.3\n"), "{out}");
    for label in ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"] {
        assert!(out.contains(&format!("{label} client random ")), "{out}");
    }
    check_output("key_log", &transcript, Some(server.port), &[]);
}

#[test]
fn fleet_sessions() {
    common::require_packages(&["redis-server"]);
    let howto = Howto::new();
    let port = common::fleet::free_port();
    let _redis = common::fleet::redis(port);
    let store = format!("redis://127.0.0.1:{port}");
    let (transcript, out) =
        howto.example("fleet_sessions", &[&store, "pki/server.pem", "pki/server-key.pem", "pki/ca.pem"]);
    let expected = "\
TLSv1.2 web-1: 200 full
TLSv1.2 web-2: 200 resumed
TLSv1.3 web-1: 200 full
TLSv1.3 web-2: 200 resumed
";
    assert_eq!(out, expected);
    check_output("fleet_sessions", &transcript.replace(&format!(":{port}"), ":6379"), None, &[]);
}
