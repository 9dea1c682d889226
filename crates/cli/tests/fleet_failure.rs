//! Redis killed mid-run under load: wrk through HAProxy to three `tlskit serve`
//! with stateful sessions in Redis (`--tickets off`, one new connection per
//! request). No request fails; while Redis is away the handshakes are full
//! ones, reported once per server rather than per connection; once Redis is
//! back, sessions resume across servers again by themselves.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::fleet;
use common::serve::Serve;

/// Wait until every server has printed a stderr line containing `text`.
fn all_say(servers: &[Serve], text: &str, timeout: Duration) {
    for s in servers {
        let line = s.wait_for_stderr(|l| l.contains(text), timeout);
        assert!(line.is_some(), "no {text:?} from {}: {:?}", s.port, s.stderr_lines());
    }
}

/// Access lines of every server so far, each with its server's id.
fn access(servers: &[Serve]) -> Vec<Vec<String>> {
    servers.iter().map(|s| s.stdout_lines().into_iter().filter(|l| l.contains(" /hello.txt ")).collect()).collect()
}

/// Wait until the access lines after `marks` satisfy `pred` (up to `timeout`).
fn wait_for_lines(
    servers: &[Serve],
    marks: &[usize],
    timeout: Duration,
    pred: impl Fn(&[Vec<String>]) -> bool,
) -> Vec<Vec<String>> {
    let deadline = Instant::now() + timeout;
    loop {
        let now: Vec<Vec<String>> =
            access(servers).into_iter().zip(marks).map(|(lines, m)| lines[(*m).min(lines.len())..].to_vec()).collect();
        if pred(&now) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lines resumed from a session another server issued.
fn resumed_across(lines: &[Vec<String>]) -> usize {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let own = format!("issued-by=s{}", i + 1);
            l.iter().filter(|l| l.contains(" resumed issued-by=") && !l.ends_with(&own)).count()
        })
        .sum()
}

#[test]
fn redis_killed_under_load_means_full_handshakes_and_no_failed_request() {
    common::require_packages(fleet::PACKAGES);
    common::require_packages(&["wrk"]);
    let (_pki_dir, pki) = common::pki();
    let site = fleet::site();
    let redis_port = fleet::free_port();
    let mut redis = fleet::redis(redis_port);
    let servers = fleet::servers(site.path(), &pki, redis_port, 3, &["--tickets", "off"]);
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let haproxy = fleet::haproxy(site.path(), &ports);

    // wrk: a new connection per request (Connection: close), so every request is a handshake; bounded run.
    let url = format!("https://127.0.0.1:{}/hello.txt", haproxy.port);
    let wrk = Command::new("timeout")
        .args(["90", "wrk", "-t", "2", "-c", "4", "-d", "30s", "-H", "Connection: close", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wrk starts");

    // 1. Redis up: reconnects resume on other servers.
    let up = wait_for_lines(&servers, &[0, 0, 0], Duration::from_secs(30), |l| resumed_across(l) >= 20);
    assert!(resumed_across(&up) >= 20, "no resumption across servers before the outage: {up:?}");

    // 2. Redis killed: each server says so once, and handshakes go on as full ones.
    redis.kill();
    all_say(&servers, "session store unreachable", Duration::from_secs(20));
    // Connections already past their lookup may still resume: skip a few lines per server.
    let marks: Vec<usize> = access(&servers).iter().map(|l| l.len() + 8).collect();
    let down =
        wait_for_lines(&servers, &marks, Duration::from_secs(30), |l| l.iter().map(Vec::len).sum::<usize>() >= 60);
    let count: usize = down.iter().map(Vec::len).sum();
    assert!(count >= 60, "too few requests while Redis was away: {count}");
    let resumed: Vec<&String> = down.iter().flatten().filter(|l| l.contains(" resumed")).collect();
    assert!(resumed.is_empty(), "resumed while the store was away: {resumed:?}");
    for s in &servers {
        let reports = s.stderr_lines().iter().filter(|l| l.contains("session store unreachable")).count();
        assert_eq!(reports, 1, "one report per outage, not per connection: {:?}", s.stderr_lines());
    }

    // 3. Redis back (empty): each server finds it by itself, and resumption across servers comes back.
    let _redis = fleet::redis(redis_port);
    all_say(&servers, "session store reachable again", Duration::from_secs(20));
    let marks: Vec<usize> = access(&servers).iter().map(Vec::len).collect();
    let back = wait_for_lines(&servers, &marks, Duration::from_secs(30), |l| resumed_across(l) >= 20);
    assert!(resumed_across(&back) >= 20, "no resumption across servers after the outage: {back:?}");

    // 4. wrk: not one failed request in the whole run.
    let out = wrk.wait_with_output().expect("wrk finishes");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk: {report} {}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("requests in"), "{report}");
    assert!(!report.contains("Socket errors"), "failed connections: {report}");
    assert!(!report.contains("Non-2xx"), "failed requests: {report}");
}
