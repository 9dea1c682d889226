//! `tlskit bench` against a real nginx (TLS 1.2 and 1.3, session cache and tickets on, and a
//! site with both off): handshake counts per connection mode, resumption at 64 connections,
//! the open-model rate, a stalled server seen by the corrected latency only, HTTP/2 streams.

mod common;

use std::time::Duration;

use common::bench::{count, number, report, spawn};
use common::nginx::{Nginx, Site};

/// A docroot with a small file, the test PKI and nginx with four sites:
/// 0: TLS 1.3 with resumption, 1: TLS 1.2 with resumption, 2: TLS 1.3 without, 3: TLS 1.2 without,
/// 4: TLS 1.3 with X25519 only (a client that leads with another group gets a HelloRetryRequest).
struct Setup {
    _tmp: tempfile::TempDir,
    _pki: tempfile::TempDir,
    ca: String,
    nginx: Nginx,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("www");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("100b.txt"), [b'x'; 100]).unwrap();
    let (pki_dir, pki) = common::pki();
    let sites = [
        Site { protocols: "TLSv1.3", resumption: true, extra: "" },
        Site { protocols: "TLSv1.2", resumption: true, extra: "" },
        Site { protocols: "TLSv1.3", resumption: false, extra: "" },
        Site { protocols: "TLSv1.2", resumption: false, extra: "" },
        Site { protocols: "TLSv1.3", resumption: false, extra: "ssl_ecdh_curve X25519;" },
    ];
    let nginx = Nginx::start(tmp.path(), &root, &pki.server, &pki.server_key, &sites);
    Setup { ca: common::path(&pki.ca), _tmp: tmp, _pki: pki_dir, nginx }
}

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn keep_alive_counts_one_handshake_per_connection() {
    let s = setup();
    for (site, version) in [(0, "TLSv1.3"), (1, "TLSv1.2")] {
        let url = s.nginx.url(site, "100b.txt");
        let doc = report(&["--cacert", &s.ca, "--http1.1", "-c", "4", "-t", "2", "-n", "400", &url], LIMIT);
        let handshakes =
            count(&doc, "/handshakes/full") + count(&doc, "/handshakes/resumed") + count(&doc, "/handshakes/hrr");
        assert_eq!(handshakes, 4, "{version}: {doc:#}");
        assert_eq!(count(&doc, "/requests"), 400, "{version}: {doc:#}");
        assert_eq!(count(&doc, "/status/200"), 400, "{version}");
        assert_eq!(count(&doc, &format!("/tls/versions/{version}")), 4, "{version}: {doc:#}");
        assert_eq!(count(&doc, "/tls/alpn/http~11.1"), 4, "{version}: {doc:#}");
        assert_eq!(count(&doc, "/latency_ms/handshake/count"), 4);
        assert_eq!(count(&doc, "/latency_ms/request/count"), 400);
        // 100-byte bodies plus their heads.
        assert!(count(&doc, "/bytes") > 400 * 100, "{doc:#}");
    }
}

#[test]
fn new_conn_against_a_server_without_resumption_counts_only_full_handshakes() {
    let s = setup();
    for (site, version) in [(2, "TLSv1.3"), (3, "TLSv1.2")] {
        let url = s.nginx.url(site, "100b.txt");
        let doc = report(&["--cacert", &s.ca, "--new-conn", "-c", "4", "-n", "120", &url], LIMIT);
        assert_eq!(count(&doc, "/requests"), 120, "{version}: {doc:#}");
        assert_eq!(count(&doc, "/handshakes/full"), 120, "{version}: {doc:#}");
        assert_eq!(count(&doc, "/handshakes/resumed"), 0, "{version}: {doc:#}");
        assert_eq!(count(&doc, "/handshakes/resumption_attempted"), 0, "{version}: {doc:#}");
    }
    // --new-conn never offers a session, even to a server that would take it.
    let doc = report(&["--cacert", &s.ca, "--new-conn", "-c", "4", "-n", "40", &s.nginx.url(0, "100b.txt")], LIMIT);
    assert_eq!((count(&doc, "/handshakes/full"), count(&doc, "/handshakes/resumption_attempted")), (40, 0), "{doc:#}");
}

#[test]
fn resume_with_64_connections_resumes_at_least_95_percent() {
    let s = setup();
    for (site, version) in [(0, "TLSv1.3"), (1, "TLSv1.2")] {
        let url = s.nginx.url(site, "100b.txt");
        let doc = report(&["--cacert", &s.ca, "--resume", "-c", "64", "-n", "1920", &url], LIMIT);
        let (full, resumed) = (count(&doc, "/handshakes/full"), count(&doc, "/handshakes/resumed"));
        let attempted = count(&doc, "/handshakes/resumption_attempted");
        let all = full + resumed + count(&doc, "/handshakes/hrr");
        assert_eq!(count(&doc, "/requests"), 1920, "{version}: {doc:#}");
        assert_eq!(all, 1920, "{version}: one handshake per request: {doc:#}");
        assert!(resumed * 100 >= all * 95, "{version}: {resumed} of {all} resumed");
        // Every slot's first handshake is full; after that each one offers its session.
        assert!(attempted >= resumed && attempted >= all - 64, "{version}: {attempted} attempted: {doc:#}");
    }
    // Against a server that resumes nothing, the attempts show and none is accepted.
    let doc = report(&["--cacert", &s.ca, "--resume", "-c", "4", "-n", "40", &s.nginx.url(2, "100b.txt")], LIMIT);
    assert_eq!(count(&doc, "/handshakes/resumed"), 0, "{doc:#}");
    assert_eq!(count(&doc, "/handshakes/full"), 40, "{doc:#}");
}

#[test]
fn a_fixed_rate_of_200_for_3_seconds_makes_600_requests() {
    let s = setup();
    let url = s.nginx.url(0, "100b.txt");
    // Enough connections that a slow moment of a busy machine is caught up on.
    let doc = report(&["--cacert", &s.ca, "--rate", "200", "-d", "3s", "-c", "10", &url], LIMIT);
    let requests = count(&doc, "/requests");
    assert!((570..=630).contains(&requests), "{requests} requests: {doc:#}");
    assert!((number(&doc, "/duration_s") - 3.0).abs() < 0.2, "{doc:#}");
    assert!(doc.pointer("/latency_uncorrected_ms/request/p99").is_some_and(|v| v.is_number()), "{doc:#}");
}

#[test]
fn a_stalled_server_shows_in_the_corrected_p99_and_not_in_the_uncorrected_one() {
    let s = setup();
    let url = s.nginx.url(0, "100b.txt");
    let child =
        spawn(&["--json", "--cacert", &s.ca, "--http1.1", "--rate", "200", "-d", "4s", "-c", "4", "-t", "1", &url]);
    // Once a good part of a second has been served, stop nginx's workers for one second.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while s.nginx.access_lines(0) < 200 {
        assert!(std::time::Instant::now() < deadline, "the bench never reached 200 requests");
        std::thread::sleep(Duration::from_millis(10));
    }
    let workers = s.nginx.workers();
    assert!(!workers.is_empty());
    for &pid in &workers {
        unsafe { libc::kill(pid, libc::SIGSTOP) };
    }
    std::thread::sleep(Duration::from_secs(1));
    for &pid in &workers {
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }
    let doc = common::bench::finish(child, LIMIT).json();
    let corrected = number(&doc, "/latency_ms/request/p99");
    let uncorrected = number(&doc, "/latency_uncorrected_ms/request/p99");
    assert!(corrected >= 500.0, "corrected p99 {corrected} ms hides the 1 s stall: {doc:#}");
    // Only the few requests in flight when the stall began (one per connection, under 1%) waited it out.
    assert!(
        uncorrected < 500.0 && uncorrected * 2.0 < corrected,
        "uncorrected p99 {uncorrected} ms should not show the stall: {doc:#}"
    );
    assert!(number(&doc, "/latency_uncorrected_ms/request/max") >= 900.0, "the stalled requests themselves: {doc:#}");
}

#[test]
fn http2_streams_share_each_connection() {
    let s = setup();
    let url = s.nginx.url(0, "100b.txt");
    let doc = report(&["--cacert", &s.ca, "--http2", "--streams", "8", "-c", "2", "-t", "1", "-n", "800", &url], LIMIT);
    assert_eq!(count(&doc, "/requests"), 800, "{doc:#}");
    assert_eq!(count(&doc, "/tls/alpn/h2"), 2, "{doc:#}");
    assert_eq!(count(&doc, "/handshakes/full") + count(&doc, "/handshakes/resumed"), 2, "{doc:#}");
    assert_eq!(count(&doc, "/setup/streams"), 8);
}

#[test]
fn groups_are_chosen_and_a_hello_retry_is_counted() {
    let s = setup();
    let url = s.nginx.url(4, "100b.txt");
    // secp256r1 first: its key share is refused, the server asks for X25519 again.
    let doc =
        report(&["--cacert", &s.ca, "--groups", "secp256r1,X25519", "--new-conn", "-c", "2", "-n", "20", &url], LIMIT);
    assert_eq!(count(&doc, "/requests"), 20, "{doc:#}");
    assert_eq!((count(&doc, "/handshakes/hrr"), count(&doc, "/handshakes/full")), (20, 0), "{doc:#}");
    assert_eq!(count(&doc, "/tls/groups/x25519"), 20, "{doc:#}");
    // X25519 alone: no retry.
    let doc = report(&["--cacert", &s.ca, "--curves", "X25519", "--new-conn", "-c", "2", "-n", "20", &url], LIMIT);
    assert_eq!((count(&doc, "/handshakes/hrr"), count(&doc, "/handshakes/full")), (0, 20), "{doc:#}");
    // OpenSSL 3.0 has no X25519MLKEM768: with X25519 alone offered, that is what is counted.
    let plain = s.nginx.url(2, "100b.txt");
    let doc = report(&["--cacert", &s.ca, "--groups", "X25519", "-c", "1", "-n", "5", &plain], LIMIT);
    assert_eq!(count(&doc, "/tls/groups/x25519"), 1, "{doc:#}");
}
