//! `tlskit dump --html`: the report of every third-party capture (tests/captures) has one table row and one
//! ladder per connection, an arrow per alert and per decrypted handshake message, counted against the JSON
//! events of the same capture; hostile names from a synthetic capture come out escaped; `--html-connections`
//! bounds the ladders, never the table.

mod common;
#[path = "../../wire/tests/support/captures.rs"]
mod support_captures;

use std::path::{Path, PathBuf};

use common::peers::tlskit;
use common::synth::{Hello, Pcap};
use support_captures::captures_dir;

/// The `dump` arguments that give a capture its keys, from expected.json.
fn key_args(dir: &Path, entry: &serde_json::Value) -> Vec<String> {
    let keys = &entry["keys"];
    let path = |k: &str| dir.join(keys[k].as_str().unwrap()).display().to_string();
    if keys.get("keylog").is_some() {
        vec!["-l".into(), path("keylog")]
    } else if keys.get("rsa_private_key").is_some() {
        vec!["-k".into(), path("rsa_private_key")]
    } else if let Some(psk) = keys.get("psk_hex").and_then(|p| p.as_str()) {
        vec!["--psk".into(), psk.into()]
    } else {
        Vec::new()
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The report of `capture` (with `args`), read back.
fn report(capture: &Path, args: &[String]) -> String {
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("report.html");
    let run = tlskit(
        ["dump".into(), "--html".into(), path.display().to_string()]
            .into_iter()
            .chain(args.iter().cloned())
            .chain([capture.display().to_string()]),
    );
    assert_eq!(run.code, Some(0), "{}: {}", capture.display(), run.stderr);
    assert!(run.stdout.is_empty(), "--html prints no text dump: {}", run.stdout);
    assert!(run.stderr.contains("report written to"), "{}", run.stderr);
    std::fs::read_to_string(&path).unwrap()
}

/// Checks that hold for every report: self-contained, no script, its own CSP, a well-formed end.
fn assert_self_contained(html: &str, what: &str) {
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"), "{what}");
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'"), "{what}");
    assert!(!html.contains("<script"), "{what}: a script");
    for attr in ["src=\"", "href=\"http", "href=\"//", "url("] {
        assert!(!html.contains(attr), "{what}: external reference {attr}");
    }
}

#[test]
fn every_capture_gets_a_row_and_a_ladder_per_connection_with_alerts_and_decrypted_messages_marked() {
    let dir = captures_dir();
    let expected: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut checked = 0;
    let (mut alerts_seen, mut decrypted_seen) = (0, 0);
    for entry in expected.iter().filter(|e| e["transport"] == "tcp") {
        let capture: PathBuf = dir.join(entry["path"].as_str().unwrap());
        let args = key_args(&dir, entry);
        let html = report(&capture, &args);
        let what = capture.display().to_string();
        assert_self_contained(&html, &what);

        // The same capture's events as JSON: the independent count.
        let json = tlskit(["dump".into(), "--json".into()].into_iter().chain(args.clone()).chain([what.clone()]));
        assert_eq!(json.code, Some(0), "{what}: {}", json.stderr);
        let events: Vec<serde_json::Value> = json.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let of = |kind: &str| events.iter().filter(|e| e["event"] == kind).count();
        let connections = of("connection_end");
        assert!(connections > 0, "{what}: no connection");
        assert_eq!(count(&html, "<tr id=\"row-"), connections, "{what}: one row per connection");
        assert_eq!(count(&html, "<section class=\"ladder\""), connections, "{what}: one ladder per connection");
        for id in 1..=connections {
            assert!(html.contains(&format!("<section class=\"ladder\" id=\"conn-{id}\">")), "{what}: ladder {id}");
            assert!(html.contains(&format!("<a href=\"#conn-{id}\">{id}</a>")), "{what}: row {id} links its ladder");
        }

        // Alerts: one red arrow per alert event.
        let alerts = of("alert");
        let alert_arrows = count(&html, "<li class=\"step c2s alert") + count(&html, "<li class=\"step s2c alert");
        assert_eq!(alert_arrows, alerts, "{what}: one red arrow per alert");
        alerts_seen += alerts;

        // Decrypted: every handshake message read from protected records is an arrow marked decrypted.
        let decrypted_messages = events.iter().filter(|e| e["event"] == "handshake" && e["encrypted"] == true).count();
        assert_eq!(count(&html, " hs dec\">"), decrypted_messages, "{what}: decrypted handshake messages marked");
        decrypted_seen += decrypted_messages;
        let plaintext = of("application_data");
        if plaintext > 0 {
            assert!(html.contains(" data dec\">"), "{what}: decrypted application data marked");
        }
        checked += 1;
    }
    assert!(checked >= 160, "only {checked} captures checked");
    assert!(alerts_seen >= 100 && decrypted_seen >= 400, "alerts {alerts_seen}, decrypted messages {decrypted_seen}");
}

#[test]
fn without_keys_nothing_is_marked_decrypted_and_the_encrypted_records_are_drawn() {
    let c = captures_dir().join("ssldump-samples");
    let html = report(&c.join("tls1.3_curl_google.pcap"), &[]);
    assert_self_contained(&html, "no keys");
    assert_eq!(count(&html, "badge dec\">decrypted</span></span>"), 0);
    assert!(count(&html, "<span class=\"badge enc\">encrypted</span>") >= 2, "encrypted arrows");
    assert!(html.contains("not decrypted: no SERVER_HANDSHAKE_TRAFFIC_SECRET"), "why it stayed encrypted");
    assert!(html.contains("www.google.com"), "the SNI");

    // With the key log: the HTTP/2 preface and the decrypted messages appear.
    let html = report(&c.join("tls1.3_curl_google.pcap"), &["-l".into(), c.join("log.txt").display().to_string()]);
    assert!(html.contains("PRI * HTTP/2.0"), "the first line of the decrypted stream");
    assert!(html.contains("Certificate<span class=\"badge dec\">decrypted</span>"));
}

#[test]
fn hostile_names_from_the_capture_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("hostile.pcap");
    let mut pcap = Pcap::default();
    pcap.connection(1, &Hello { sni: b"<script>alert(1)</script>.example", alpn: b"\"><img src=x onerror=alert(2)>" });
    pcap.connection(2, &Hello { sni: b"a'b&c", alpn: b"h2" });
    std::fs::write(&capture, pcap.into_bytes()).unwrap();
    let html = report(&capture, &[]);
    assert_self_contained(&html, "hostile");
    assert!(!html.contains("<img") && !html.contains("onerror=alert(2)>"), "markup from the capture got through");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.example"), "SNI escaped");
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"), "ALPN escaped");
    assert!(html.contains("a&#39;b&amp;c"));
    // Both connections ended with the server's fatal alert: red, and counted.
    assert_eq!(count(&html, "<li class=\"step s2c alert fatal"), 2);
    assert!(html.contains("<span class=\"fatal\" title=\"fatal\">S&gt;C handshake_failure</span>"));
}

#[test]
fn html_connections_bounds_the_ladders_not_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("many.pcap");
    let mut pcap = Pcap::default();
    for i in 1..=30 {
        pcap.connection(i, &Hello { sni: format!("host{i}.example").as_bytes(), alpn: b"http/1.1" });
    }
    std::fs::write(&capture, pcap.into_bytes()).unwrap();
    let html = report(&capture, &["--html-connections".into(), "5".into()]);
    assert_eq!(count(&html, "<tr id=\"row-"), 30);
    assert_eq!(count(&html, "<section class=\"ladder\""), 5);
    for id in 1..=5 {
        assert!(html.contains(&format!("id=\"conn-{id}\"")), "the first five connections are drawn");
    }
    assert!(html.contains("Ladders for the first 5 connections (by connection number) of 30"));
    assert!(html.contains("host30.example"), "the table lists every connection");

    // `-` writes the page to standard output.
    let run = tlskit(["dump", "--html", "-", "--html-connections", "0", capture.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("<!DOCTYPE html>") && run.stdout.contains("No ladder drawn."));
    assert_eq!(count(&run.stdout, "<tr id=\"row-"), 30);

    // Flags that make no sense together are refused with one line.
    let run = tlskit(["dump", "--html", "r.html", "--json", capture.to_str().unwrap()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let run = tlskit(["dump", "--html-connections", "3", capture.to_str().unwrap()]);
    assert_eq!(run.code, Some(2), "--html-connections without --html: {}", run.stderr);
}
