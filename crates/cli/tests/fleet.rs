//! Fleet mode: redis-server, three `tlskit serve` and HAProxy in TCP mode,
//! round-robin in front. A session made through HAProxy on one server is
//! resumed on another, by openssl s_client (TLS 1.3 tickets, TLS 1.3 stateful,
//! TLS 1.2 tickets and session IDs), Python's ssl module and `tlskit get`.
//! And Redis over TLS only (`rediss://`, a private CA, client certificates).

mod common;

use std::time::Duration;

use common::fleet::{self, s_client};
use common::peers;

/// Save a session through HAProxy, resume it through HAProxy: the second
/// connection lands on the next server and must be `Reused`, naming the first as issuer.
fn resumes_across(haproxy: u16, ca: &std::path::Path, flags: &[&str], what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sess = dir.path().join("sess.pem");
    let first = s_client(haproxy, ca, flags, None, Some(&sess));
    assert!(!first.reused, "{what}: the first connection is a full handshake\n{}", first.output);
    let issuer = first.server.clone().unwrap_or_else(|| panic!("{what}: no Tlskit-Server header\n{}", first.output));
    let second = s_client(haproxy, ca, flags, Some(&sess), None);
    assert!(second.reused, "{what}: not resumed on the next server\n{}", second.output);
    assert_ne!(second.server.as_deref(), Some(issuer.as_str()), "{what}: HAProxy sent both to one server");
    assert_eq!(second.issuer.as_deref(), Some(issuer.as_str()), "{what}: issuer\n{}", second.output);
}

#[test]
fn openssl_resumes_on_another_server_with_tickets_and_session_ids() {
    common::require_packages(fleet::PACKAGES);
    let (_pki_dir, pki) = common::pki();
    let site = fleet::site();
    let redis = fleet::redis(fleet::free_port());
    let servers = fleet::servers(site.path(), &pki, redis.port, 3, &[]);
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let haproxy = fleet::haproxy(site.path(), &ports);
    resumes_across(haproxy.port, &pki.ca, &["-tls1_3"], "TLS 1.3 ticket");
    resumes_across(haproxy.port, &pki.ca, &["-tls1_2"], "TLS 1.2 ticket");
    resumes_across(haproxy.port, &pki.ca, &["-tls1_2", "-no_ticket"], "TLS 1.2 session ID");
    // The resuming server's access line names the issuer.
    let all: Vec<&common::serve::Serve> = servers.iter().collect();
    let resumed = fleet::lines_matching(&all, 3, |l| l.contains(" resumed issued-by=s"));
    assert_eq!(resumed.len(), 3, "{resumed:?}");
}

#[test]
fn openssl_resumes_tls13_stateful_sessions_on_another_server_once() {
    common::require_packages(fleet::PACKAGES);
    let (_pki_dir, pki) = common::pki();
    let site = fleet::site();
    let redis = fleet::redis(fleet::free_port());
    // The thread model here (one runtime per connection): lookups still run where the Redis connection lives.
    let servers = fleet::servers(site.path(), &pki, redis.port, 3, &["--tickets", "off", "--model", "threads"]);
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let haproxy = fleet::haproxy(site.path(), &ports);
    resumes_across(haproxy.port, &pki.ca, &["-tls1_3"], "TLS 1.3 stateful");
    resumes_across(haproxy.port, &pki.ca, &["-tls1_2"], "TLS 1.2 session ID, tickets off");
    // A stateful TLS 1.3 ticket is single use across the whole fleet (GETDEL).
    let dir = tempfile::tempdir().unwrap();
    let sess = dir.path().join("sess.pem");
    let first = s_client(haproxy.port, &pki.ca, &["-tls1_3"], None, Some(&sess));
    assert!(!first.reused);
    assert!(s_client(haproxy.port, &pki.ca, &["-tls1_3"], Some(&sess), None).reused);
    let again = s_client(haproxy.port, &pki.ca, &["-tls1_3"], Some(&sess), None);
    assert!(!again.reused, "a stateful ticket resumed twice\n{}", again.output);
    // The sessions are in Redis under the prefix, with a TTL.
    let keys = fleet::redis_cli(redis.port, &["--scan", "--pattern", "tlskit:session:*"]);
    let key = keys.lines().next().expect("sessions in Redis");
    let ttl: i64 = fleet::redis_cli(redis.port, &["PTTL", key]).trim().parse().unwrap();
    assert!(ttl > 0 && ttl <= 86_400_000, "TTL {ttl}");
}

const PYTHON_RESUME: &str = r#"
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if sys.argv[3] == "1.3" else ssl.TLSVersion.TLSv1_2
def visit(session=None):
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            tls.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
            head = data.split(b"\r\n\r\n")[0].decode().lower()
            server = [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.startswith("tlskit-server:")]
            return tls.session, tls.session_reused, server[0] if server else None
session, reused1, server1 = visit()
_, reused2, server2 = visit(session)
print(reused1, server1, reused2, server2)
"#;

#[test]
fn python_and_tlskit_get_resume_on_another_server() {
    common::require_packages(fleet::PACKAGES);
    let (_pki_dir, pki) = common::pki();
    let site = fleet::site();
    let redis = fleet::redis(fleet::free_port());
    let servers = fleet::servers(site.path(), &pki, redis.port, 3, &[]);
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let haproxy = fleet::haproxy(site.path(), &ports);
    let port = haproxy.port.to_string();
    for version in ["1.3", "1.2"] {
        let (ok, out, err) = common::serve::python(PYTHON_RESUME, &[&port, &common::path(&pki.ca), version]);
        assert!(ok, "python: {err}");
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(words.len(), 4, "{out}");
        assert_eq!((words[0], words[2]), ("False", "True"), "TLS {version}: second visit resumed: {out}");
        assert_ne!(words[1], words[3], "TLS {version}: HAProxy sent both to one server: {out}");
    }
    // tlskit get: two URLs, two connections; the second resumes on the next server and -v says who issued it.
    let url = format!("https://localhost:{port}/hello.txt");
    let resolve = format!("localhost:{port}:127.0.0.1");
    let run = peers::tlskit(["get", "-v", "--cacert", &common::path(&pki.ca), "--resolve", &resolve, &url, &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let served: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("* served by")).collect();
    assert_eq!(served.len(), 2, "{}", run.stderr);
    let first = served[0].trim_start_matches("* served by ").to_string();
    assert!(!first.contains(','), "the first connection is not resumed: {}", served[0]);
    assert!(served[1].ends_with(&format!(", session issued by {first}")), "{}", run.stderr);
    assert!(!served[1].starts_with(&format!("* served by {first},")), "{}", run.stderr);
    // And /_tls (JSON) on a resumed connection shows it too.
    let tls_url = format!("https://localhost:{port}/_tls");
    let run = peers::tlskit([
        "get",
        "--cacert",
        &common::path(&pki.ca),
        "--resolve",
        &resolve,
        "-H",
        "Accept: application/json",
        &tls_url,
        &tls_url,
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&run.stdout)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .expect("two JSON documents");
    assert_eq!(docs.len(), 2, "{}", run.stdout);
    assert_eq!(docs[1]["session"]["resumed"], true, "{}", run.stdout);
    assert_eq!(docs[1]["session"]["issued_by"], docs[0]["server_id"], "{}", run.stdout);
    assert_ne!(docs[1]["server_id"], docs[0]["server_id"]);
}

#[test]
fn a_session_made_without_client_auth_does_not_resume_where_it_is_required() {
    common::require_packages(fleet::PACKAGES);
    let (_pki_dir, pki) = common::pki();
    let site = fleet::site();
    let redis = fleet::redis(fleet::free_port());
    let open = fleet::servers(site.path(), &pki, redis.port, 2, &[]);
    let ca = common::path(&pki.ca);
    let strict_args = ["--client-ca", ca.as_str(), "--client-auth", "required"];
    let mut strict = fleet::servers(site.path(), &pki, redis.port, 1, &strict_args);
    let strict = strict.remove(0);
    let client = ["-cert", pki.client.to_str().unwrap(), "-key", pki.client_key.to_str().unwrap()];
    for (flags, what) in [
        (vec!["-tls1_3"], "TLS 1.3 ticket"),
        (vec!["-tls1_2"], "TLS 1.2 ticket"),
        (vec!["-tls1_2", "-no_ticket"], "TLS 1.2 session ID"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let sess = dir.path().join("sess.pem");
        let mut with_cert = flags.clone();
        with_cert.extend_from_slice(&client);
        let first = s_client(open[0].port, &pki.ca, &with_cert, None, Some(&sess));
        assert!(!first.reused, "{what}\n{}", first.output);
        // Same policy on another server: resumed (so what follows is the policy, not the sharing).
        let same = s_client(open[1].port, &pki.ca, &with_cert, Some(&sess), None);
        assert!(same.reused, "{what}: same policy, other server\n{}", same.output);
        // Client auth required: a full handshake, in which the certificate is asked for and verified.
        let first = s_client(open[0].port, &pki.ca, &with_cert, None, Some(&sess));
        assert!(!first.reused);
        let other = s_client(strict.port, &pki.ca, &with_cert, Some(&sess), None);
        assert!(!other.reused, "{what}: resumed under another client-auth policy\n{}", other.output);
        assert!(other.output.contains("hello from the fleet"), "{what}: the full handshake serves\n{}", other.output);
    }
    // The strict server saw the client certificate on each of those full handshakes.
    let access = fleet::lines_matching(&[&strict], 3, |l| l.contains("/hello.txt"));
    assert_eq!(access.len(), 3, "{access:?}");
    assert!(access.iter().all(|l| l.contains(" full ") && l.contains("client=")), "{access:?}");
}

#[test]
fn servers_sharing_a_key_file_resume_each_others_tickets_without_redis() {
    common::require_packages(&["openssl"]);
    let (_pki_dir, pki) = common::pki();
    let site = fleet::site();
    let keys = tempfile::tempdir().unwrap();
    let shared80 = keys.path().join("shared80.key");
    let shared48 = keys.path().join("shared48.key");
    let other = keys.path().join("other.key");
    std::fs::write(&shared80, [0x5a; 80]).unwrap();
    std::fs::write(&shared48, [0x33; 48]).unwrap();
    std::fs::write(&other, [0x77; 80]).unwrap();
    let start = |id: &str, files: &[&std::path::Path]| {
        let mut args: Vec<String> = vec!["--cert".into(), common::path(&pki.server)];
        args.extend(["--key".into(), common::path(&pki.server_key), "--server-id".into(), id.into()]);
        for f in files {
            args.extend(["--ticket-key-file".into(), common::path(f)]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let serve = common::serve::Serve::start(site.path(), &args);
        assert!(
            serve.wait_for_stderr(|l| l.contains("ticket keys loaded"), Duration::from_secs(10)).is_some(),
            "{:?}",
            serve.stderr_lines()
        );
        serve
    };
    let a = start("a", &[&shared80]);
    let b = start("b", &[&shared80]);
    // c encrypts with the 48-byte key and still decrypts the 80-byte one (nginx's order: first encrypts).
    let c = start("c", &[&shared48, &shared80]);
    let mut d = start("d", &[&other]);
    for (flags, what) in [(vec!["-tls1_3"], "TLS 1.3"), (vec!["-tls1_2"], "TLS 1.2")] {
        let dir = tempfile::tempdir().unwrap();
        let sess = dir.path().join("sess.pem");
        assert!(!s_client(a.port, &pki.ca, &flags, None, Some(&sess)).reused);
        let on_b = s_client(b.port, &pki.ca, &flags, Some(&sess), None);
        assert!(on_b.reused, "{what}: same key file\n{}", on_b.output);
        assert_eq!(on_b.issuer.as_deref(), Some("a"), "{what}\n{}", on_b.output);
        assert!(s_client(c.port, &pki.ca, &flags, Some(&sess), None).reused, "{what}: a decrypt-only key");
        let on_d = s_client(d.port, &pki.ca, &flags, Some(&sess), None);
        assert!(!on_d.reused, "{what}: another key file resumed\n{}", on_d.output);
        // c's tickets (48-byte key) do not resume on a, which lacks that key.
        assert!(!s_client(c.port, &pki.ca, &flags, None, Some(&sess)).reused);
        assert!(!s_client(a.port, &pki.ca, &flags, Some(&sess), None).reused, "{what}: a lacks c's key");
    }
    // d's file is replaced by the shared key and re-read on SIGHUP: now it resumes a's tickets.
    std::fs::copy(&shared80, &other).unwrap();
    let _ = std::process::Command::new("kill").args(["-HUP", &d.pid().to_string()]).status();
    let loaded =
        |s: &common::serve::Serve| s.stderr_lines().iter().filter(|l| l.contains("ticket keys loaded")).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while loaded(&d) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(loaded(&d) >= 2, "{:?}", d.stderr_lines());
    let dir = tempfile::tempdir().unwrap();
    let sess = dir.path().join("sess.pem");
    assert!(!s_client(a.port, &pki.ca, &["-tls1_3"], None, Some(&sess)).reused);
    assert!(s_client(d.port, &pki.ca, &["-tls1_3"], Some(&sess), None).reused, "after the reload");
    assert!(d.is_running(), "SIGHUP reloads, it does not stop the server");
}

/// The stderr lines of a server that say its store is unreachable (the first report and the later ones).
fn unreachable_reports(serve: &common::serve::Serve) -> Vec<String> {
    serve.stderr_lines().into_iter().filter(|l| l.contains("session store") && l.contains("unreachable")).collect()
}

#[test]
fn servers_share_sessions_through_redis_over_tls_and_a_wrong_ca_means_full_handshakes() {
    common::require_packages(fleet::PACKAGES);
    let (_pki_dir, pki) = common::pki();
    let (_other_dir, other) = common::pki();
    let site = fleet::site();
    let redis = fleet::redis_tls(fleet::free_port(), &pki, fleet::RedisClients::Anyone);
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let ca = common::path(&pki.ca);
    let servers = fleet::servers_with_store(site.path(), &pki, &url, 1, 2, &["--store-cacert", &ca]);
    // A server told to trust another CA: it cannot verify Redis, and must not hang or fail for that.
    let wrong_ca = common::path(&other.ca);
    let lost = fleet::servers_with_store(site.path(), &pki, &url, 3, 1, &["--store-cacert", &wrong_ca]).remove(0);
    for (flags, what) in [(&["-tls1_3"][..], "TLS 1.3 ticket"), (&["-tls1_2", "-no_ticket"][..], "TLS 1.2 session ID")]
    {
        let dir = tempfile::tempdir().unwrap();
        let sess = dir.path().join("sess.pem");
        let first = s_client(servers[0].port, &pki.ca, flags, None, Some(&sess));
        assert!(!first.reused, "{what}\n{}", first.output);
        let across = s_client(servers[1].port, &pki.ca, flags, Some(&sess), None);
        assert!(across.reused, "{what}: not resumed through rediss://\n{}", across.output);
        assert_eq!(across.issuer.as_deref(), Some("s1"), "{what}\n{}", across.output);
        let full = s_client(lost.port, &pki.ca, flags, Some(&sess), None);
        assert!(!full.reused, "{what}: resumed without the store\n{}", full.output);
        assert!(full.output.contains("hello from the fleet"), "{what}: the full handshake serves\n{}", full.output);
    }
    // What the servers keep in Redis went there over TLS: the key record and the session entries.
    let tls = ["--tls", "--cacert", ca.as_str()];
    assert_eq!(fleet::redis_cli_with(redis.port, &tls, &["EXISTS", "tlskit:ticket-keys"]).trim(), "1");
    let sessions = fleet::redis_cli_with(redis.port, &tls, &["--scan", "--pattern", "tlskit:session:*"]);
    assert!(sessions.lines().count() >= 1, "no session entries in Redis: {sessions:?}");
    // The wrong CA: said once, with the reason, then at most once per interval (not per connection).
    let first = lost.wait_for_stderr(|l| l.contains("session store unreachable"), Duration::from_secs(10));
    let first = first.unwrap_or_else(|| panic!("no report: {:?}", lost.stderr_lines()));
    assert!(first.contains("UnknownIssuer") || first.contains("certificate"), "{first}");
    assert!(!first.contains("panic"), "{first}");
    let later = lost.wait_for_stderr(|l| l.contains("still unreachable"), Duration::from_secs(30));
    let later = later.unwrap_or_else(|| panic!("no later report: {:?}", lost.stderr_lines()));
    let reports = unreachable_reports(&lost);
    assert_eq!(reports.len(), 2, "one report at the start and one after the interval: {reports:?}");
    let counted = later.split(" failures in the last interval").next().and_then(|t| t.rsplit(' ').next());
    let failures: u64 = counted.and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(failures >= 2, "the interval's failures are counted in one line: {later}");
    for s in &servers {
        assert!(unreachable_reports(s).is_empty(), "{:?}", s.stderr_lines());
    }
}

#[test]
fn a_redis_that_requires_client_certificates_gets_the_store_cert() {
    common::require_packages(fleet::PACKAGES);
    let (_pki_dir, pki) = common::pki();
    let site = fleet::site();
    let redis = fleet::redis_tls(fleet::free_port(), &pki, fleet::RedisClients::Certified);
    let url = format!("rediss://127.0.0.1:{}", redis.port);
    let (ca, cert, key) = (common::path(&pki.ca), common::path(&pki.client), common::path(&pki.client_key));
    // TLS 1.3 stateful sessions (tickets off): every resumption is a GETDEL over the client-authenticated link.
    let args = ["--store-cacert", ca.as_str(), "--store-cert", &cert, "--store-key", &key, "--tickets", "off"];
    let servers = fleet::servers_with_store(site.path(), &pki, &url, 1, 2, &args);
    let uncertified = fleet::servers_with_store(site.path(), &pki, &url, 3, 1, &args[..2]).remove(0);
    for flags in [&["-tls1_3"][..], &["-tls1_2"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let sess = dir.path().join("sess.pem");
        assert!(!s_client(servers[0].port, &pki.ca, flags, None, Some(&sess)).reused);
        let across = s_client(servers[1].port, &pki.ca, flags, Some(&sess), None);
        assert!(across.reused, "{flags:?}: not resumed through rediss:// with a client certificate\n{}", across.output);
        assert_eq!(across.issuer.as_deref(), Some("s1"), "{}", across.output);
    }
    // Without --store-cert Redis refuses the server: the store-down behaviour, reported once, and full handshakes.
    let report = uncertified.wait_for_stderr(|l| l.contains("session store unreachable"), Duration::from_secs(10));
    let report = report.unwrap_or_else(|| panic!("{:?}", uncertified.stderr_lines()));
    assert!(report.to_lowercase().contains("certificate"), "the reason is shown: {report}");
    let full = s_client(uncertified.port, &pki.ca, &["-tls1_3"], None, None);
    assert!(full.output.contains("hello from the fleet"), "{}", full.output);
    assert_eq!(unreachable_reports(&uncertified).len(), 1, "{:?}", uncertified.stderr_lines());
    for s in &servers {
        assert!(unreachable_reports(s).is_empty(), "{:?}", s.stderr_lines());
    }
}

#[test]
fn a_bad_key_file_or_store_url_is_one_clear_error() {
    let site = fleet::site();
    let keys = tempfile::tempdir().unwrap();
    let short = keys.path().join("short.key");
    std::fs::write(&short, [1u8; 20]).unwrap();
    let err = common::serve::Serve::try_start(site.path(), &["--ticket-key-file", &common::path(&short)])
        .err()
        .expect("refused");
    assert!(err.contains("80 bytes (or 48), not 20") && err.contains("short.key"), "{err}");
    let err = common::serve::Serve::try_start(site.path(), &["--session-store", "memcache://127.0.0.1:11211"])
        .err()
        .expect("refused");
    assert!(err.contains("--session-store") && err.contains("redis://"), "{err}");
    let err = common::serve::Serve::try_start(site.path(), &["--server-id", "has space"]).err().expect("refused");
    assert!(err.contains("--server-id"), "{err}");
    // TLS settings for the store: checked at start-up, each a one-line error naming its flag.
    let cacert = |url: &str, file: &str| {
        common::serve::Serve::try_start(site.path(), &["--session-store", url, "--store-cacert", file])
            .err()
            .expect("refused")
    };
    let err = cacert("redis://127.0.0.1:1", &common::path(&short));
    assert!(err.contains("rediss://") && err.contains("--store-cacert"), "{err}");
    let err = cacert("rediss://127.0.0.1:1", "/nonexistent/ca.pem");
    assert!(err.contains("--store-cacert") && err.contains("/nonexistent/ca.pem"), "{err}");
    let err = cacert("rediss://127.0.0.1:1", &common::path(&short));
    assert!(err.contains("--store-cacert") && err.contains("short.key"), "{err}");
    let no_key = ["--session-store", "rediss://127.0.0.1:1", "--store-cert", short.to_str().unwrap()];
    let err = common::serve::Serve::try_start(site.path(), &no_key).err().expect("refused");
    assert!(err.contains("--store-key") && err.contains("short.key"), "{err}");
}
