//! Bad input never stops `tlskit serve`: raw garbage, plain HTTP on the TLS
//! port, a truncated ClientHello, and 200 connections that never send anything
//! while another client is served; both execution models. Nothing here times the
//! server: what is asserted is who was served, and that each timeout fired (within
//! a generous multiple of its setting).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::serve::{curl, for_each_model, Serve};

fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from tlskit\n").unwrap();
    dir
}

/// A good client still gets the file.
fn served(server: &Serve) -> bool {
    let ca = server.ca.clone().unwrap();
    let (ok, body, _) = curl(&["--cacert", ca.to_str().unwrap(), &server.url_for("hello.txt")]);
    ok && body == b"hello from tlskit\n"
}

/// Send `bytes`, then read what comes back until the server closes (or 5 s pass).
fn send_raw(server: &Serve, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    answer
}

/// The server closed the connection (FIN, an alert then FIN, or a reset), as opposed to a read timeout.
fn closed(read: std::io::Result<usize>) -> bool {
    match read {
        Ok(_) => true,
        Err(e) => matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted),
    }
}

#[test]
fn garbage_plain_http_and_truncated_hello_are_refused_and_the_server_goes_on() {
    let root = docroot();
    for_each_model(|model| {
        let mut server = Serve::start(root.path(), &["--model", model, "--handshake-timeout", "2"]);

        let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let answer = send_raw(&server, &garbage);
        assert!(answer.len() < 64, "garbage got a real answer");
        assert!(served(&server), "{model}: after garbage");

        let answer = send_raw(&server, b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("HTTPS"), "{model}: {answer}");
        assert!(!answer.contains("hello from tlskit"));
        assert!(served(&server), "{model}: after plain HTTP");

        // A TLS record header announcing 512 bytes of ClientHello, then only a few of them.
        let truncated = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0xaa, 0xbb];
        let answer = send_raw(&server, &truncated);
        assert!(answer.is_empty() || answer[0] == 0x15, "only an alert, if anything: {answer:?}");
        // A ClientHello cut off and left hanging: reaped by the handshake timeout.
        let mut hanging = TcpStream::connect(server.addr()).unwrap();
        hanging.write_all(&truncated).unwrap();
        assert!(served(&server), "{model}: while a truncated hello hangs");
        // The handshake timeout is 2 s: the server must have closed it well within 5 times that.
        hanging.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 64];
        assert!(closed(hanging.read(&mut buf)), "{model}: hanging hello not timed out");

        assert!(server.is_running());
        let errors = server.stderr_lines();
        assert!(errors.iter().any(|l| l.contains("not TLS")), "{errors:?}");
        assert!(errors.iter().any(|l| l.contains("plain HTTP")), "{errors:?}");
        assert!(server.wait_for_stderr(|l| l.contains("timed out"), Duration::from_secs(5)).is_some(), "{errors:?}");
        assert!(!errors.iter().any(|l| l.contains("panic")), "{errors:?}");
    });
}

#[test]
fn two_hundred_silent_connections_do_not_stop_service() {
    let root = docroot();
    for_each_model(|model| {
        let mut server = Serve::start(root.path(), &["--model", model, "--handshake-timeout", "3"]);
        let silent: Vec<TcpStream> = (0..200).map(|_| TcpStream::connect(server.addr()).unwrap()).collect();
        for _ in 0..3 {
            assert!(served(&server), "{model}: a client is served while 200 connections sit silent");
        }
        // The handshake timeout (3 s) closes them all.
        for mut s in silent {
            s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
            let mut buf = [0u8; 16];
            assert!(closed(s.read(&mut buf)), "{model}: a silent connection was not closed");
        }
        assert!(served(&server));
        assert!(server.is_running());
    });
}

/// Python ssl: handshake, optionally one full request, then send `tail` and time how long until the server closes.
const PY_TIMED_CLOSE: &str = r#"
import socket, ssl, sys, time
port, ca, request_first, tail = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", sys.argv[4].encode()
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.settimeout(20)
        if request_first:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = b""
            while b"hello from tlskit" not in data:
                data += s.recv(4096)
        s.sendall(tail)
        start = time.monotonic()
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, ssl.SSLError):
            pass
        print(f"{time.monotonic() - start:.2f}")
"#;

#[test]
fn header_and_idle_timeouts_close_slow_and_idle_connections() {
    let root = docroot();
    for_each_model(|model| {
        // Idle keep-alive connection: closed by the idle timeout (header timeout kept long).
        let server = Serve::start(root.path(), &["--model", model, "--idle-timeout", "1", "--header-timeout", "30"]);
        let ca = server.ca.clone().unwrap();
        let (ok, out, err) =
            common::serve::python(PY_TIMED_CLOSE, &[&server.port.to_string(), ca.to_str().unwrap(), "1", ""]);
        assert!(ok, "{err}");
        // Closed by the 1 s idle timeout: not at once, and long before the 30 s header timeout.
        let secs: f64 = out.trim().parse().unwrap();
        assert!((0.5..15.0).contains(&secs), "{model}: idle connection closed after {secs} s");
        drop(server);

        // A request header that never completes: closed by the header timeout.
        let server = Serve::start(root.path(), &["--model", model, "--idle-timeout", "30", "--header-timeout", "1"]);
        let ca = server.ca.clone().unwrap();
        let (ok, out, err) = common::serve::python(
            PY_TIMED_CLOSE,
            &[&server.port.to_string(), ca.to_str().unwrap(), "0", "GET /hello.txt HTTP/1.1\r\nHost: local"],
        );
        assert!(ok, "{err}");
        let secs: f64 = out.trim().parse().unwrap();
        assert!((0.5..15.0).contains(&secs), "{model}: slow header cut after {secs} s");
        assert!(served(&server));
    });
}

#[test]
fn max_connections_bounds_what_is_served_at_once() {
    let root = docroot();
    for_each_model(|model| {
        let server = Serve::start(
            root.path(),
            &["--model", model, "--max-connections", "2", "--max-handshakes", "2", "--handshake-timeout", "1.5"],
        );
        // Two silent handshakes take both slots and none is idle to make room: a third client waits in the
        // backlog until the handshake timeout reaps one of them.
        let silent: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(server.addr()).unwrap()).collect();
        assert!(served(&server), "{model}: the waiting client is served once a slot frees");
        // It was let in only after a slot was given back: the server had already closed a silent one.
        let reaped = silent.iter().filter(|s| {
            s.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 16];
            closed((&**s).read(&mut buf))
        });
        assert!(reaped.count() >= 1, "{model}: served while both slots were still held");
        drop(silent);
        assert!(served(&server), "{model}: slots not given back");
    });
}
