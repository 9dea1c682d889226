//! Ticket key rotation through Redis with a short period (4 s): a ticket
//! issued just before a rotation resumes just after it on another server, the
//! next key takes over on schedule, and a ticket older than two periods is
//! refused even by a client that still offers it (run under faketime).

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::fleet::{self, s_client, s_client_with};

const PERIOD: u64 = 4;

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Sleep until the wall clock reads `at` (the subject of this test is time itself).
fn sleep_until(at: f64) {
    let left = at - now();
    if left > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(left));
    }
}

/// The key record in Redis: (hex name, activation) of each key.
fn keys_in_redis(port: u16) -> Vec<(String, u64)> {
    let record = fleet::redis_cli(port, &["GET", "tlskit:ticket-keys"]);
    let value: serde_json::Value = serde_json::from_str(record.trim()).unwrap_or_else(|e| panic!("{e}: {record}"));
    assert_eq!(value["period"], PERIOD);
    value["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["name"].as_str().unwrap().to_string(), k["activates"].as_u64().unwrap()))
        .collect()
}

/// The key name (first 16 bytes, hex) of the last ticket s_client printed.
fn ticket_key_name(output: &str) -> String {
    let mut name = None;
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("TLS session ticket:") {
            let first = lines.next().unwrap_or_default();
            // "0000 - 6d 1f 2a ... 9c   ascii"
            let bytes = first.split(" - ").nth(1).unwrap_or_default();
            let hex: String = bytes.split([' ', '-']).filter(|t| t.len() == 2).take(16).collect();
            name = Some(hex);
        }
    }
    name.unwrap_or_else(|| panic!("no ticket printed:\n{output}"))
}

#[test]
fn rotation_loses_no_resumption_and_old_tickets_are_refused() {
    common::require_packages(fleet::PACKAGES);
    common::require_packages(&["faketime"]);
    let (_pki_dir, pki) = common::pki();
    let site = fleet::site();
    let redis = fleet::redis(fleet::free_port());
    let period = PERIOD.to_string();
    let servers = fleet::servers(site.path(), &pki, redis.port, 2, &["--ticket-rotation", &period]);
    let (a, b) = (servers[0].port, servers[1].port);
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.pem");
    let sess = dir.path().join("sess.pem");

    // A ticket that will be older than two periods by the end.
    let first = s_client(a, &pki.ca, &["-tls1_3"], None, Some(&old));
    assert!(!first.reused);
    let issued_old = now();
    let old_key = ticket_key_name(&first.output);

    // The next key activates at a boundary the record announces (at least half a period ahead when published);
    // wait for one at least 2.5 s ahead, then issue a ticket 2 s before it.
    let deadline = now() + 3.0 * PERIOD as f64;
    let (keys, boundary) = loop {
        let keys = keys_in_redis(redis.port);
        let ahead = keys.iter().map(|(_, at)| *at as f64).filter(|at| *at > now() + 2.5).fold(f64::MAX, f64::min);
        if ahead < f64::MAX {
            break (keys, ahead);
        }
        assert!(now() < deadline, "no next key published ahead: {keys:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let next_key = keys.iter().find(|(_, at)| *at as f64 == boundary).unwrap().0.clone();
    sleep_until(boundary - 2.0);
    let before = s_client(a, &pki.ca, &["-tls1_3"], None, Some(&sess));
    assert_ne!(ticket_key_name(&before.output), next_key, "the next key encrypted before its time");

    // Just after the rotation: the ticket from before resumes on the other server, and new tickets use the next key.
    sleep_until(boundary + 0.5);
    let across = s_client(b, &pki.ca, &["-tls1_3"], Some(&sess), None);
    assert!(across.reused, "resumption lost at the rotation\n{}", across.output);
    assert_eq!(across.issuer.as_deref(), Some("s1"));
    let after = s_client(a, &pki.ca, &["-tls1_3"], None, Some(&sess));
    assert_eq!(ticket_key_name(&after.output), next_key, "the next key took over at its activation");

    // Older than two periods: its key is gone from the fleet's record, and the ticket is refused even when the
    // client (its clock set back to the ticket's issue time, so it still offers it) presents it.
    // (A retired key leaves the record at the next refresh, a quarter period later.)
    sleep_until(issued_old + 2.0 * PERIOD as f64 + 2.5);
    let names: Vec<String> = keys_in_redis(redis.port).into_iter().map(|(n, _)| n).collect();
    assert!(!names.contains(&old_key), "a retired key is still in the record: {names:?}");
    let back = format!("-{}", (now() - issued_old).floor() as u64);
    let refused = s_client_with(&["faketime", "-f", &back], b, &pki.ca, &["-tls1_3"], Some(&old), None);
    assert!(refused.output.contains("New, TLSv1.3"), "{}", refused.output);
    assert!(!refused.reused, "a ticket older than two periods resumed\n{}", refused.output);
    // The same clock trick on a young ticket resumes: the refusal above is the server's.
    let young = dir.path().join("young.pem");
    assert!(!s_client(a, &pki.ca, &["-tls1_3"], None, Some(&young)).reused);
    let issued_young = now();
    std::thread::sleep(Duration::from_secs(1));
    let back = format!("-{}", (now() - issued_young).floor() as u64);
    let resumed = s_client_with(&["faketime", "-f", &back], b, &pki.ca, &["-tls1_3"], Some(&young), None);
    assert!(resumed.reused, "a young ticket under faketime\n{}", resumed.output);
}
