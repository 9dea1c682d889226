//! `examples/events.rs` run on a third-party capture: it prints every dissector event, and what it prints is
//! what the capture holds (tshark's counts in tests/captures/expected.json, the plaintext sent).

#[path = "support/captures.rs"]
mod support_captures;
#[path = "support/examples.rs"]
mod support_examples;

use std::process::{Command, Output};
use std::time::Duration;

/// `events ARGS…` to completion (60 s at most).
fn events(args: &[&std::path::Path]) -> Output {
    let child = Command::new(support_examples::example("tlskit-wire", "wire", "events"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("events runs");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("events finishes within 60 s").expect("events output")
}

/// The lines whose event name (after the connection number) is `name`.
fn lines<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.split_whitespace().nth(1) == Some(name)).collect()
}

#[test]
fn events_prints_every_event_of_a_decrypted_capture() {
    let dir = support_captures::captures_dir().join("ssldump-samples");
    let out = events(&[&dir.join("tls1.2_aes256.pcap"), &dir.join("log.txt")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let starts: Vec<&str> = text.lines().filter(|l| l.starts_with("start ")).collect();
    assert_eq!(starts.len(), 1, "{text}");
    assert!(starts[0].contains("client: 127.0.0.1:54524, server: 127.0.0.1:4433"), "{text}");
    // tshark: 16 records, 9 handshake messages (the two Finished decrypted), 2 CCS, 1 alert.
    assert_eq!(lines(&text, "Record").len(), 16, "{text}");
    assert_eq!(lines(&text, "Handshake").len(), 9, "{text}");
    assert_eq!(lines(&text, "ChangeCipherSpec").len(), 2, "{text}");
    assert_eq!(lines(&text, "Alert").len(), 1, "{text}");
    // The plaintext, both ways: "hello tls12\n" then "bye\n".
    let data: Vec<&str> = lines(&text, "ApplicationData");
    let shown = |bytes: &[u8]| format!("data: {bytes:?}, early: false");
    for (line, sent) in
        data.iter().zip([b"hello tls12\n", b"hello tls12\n"].iter().map(|b| &b[..]).chain([&b"bye\n"[..]; 2]))
    {
        assert!(line.contains(&shown(sent)), "{line} lacks {sent:?}");
    }
    assert_eq!(data.len(), 4, "{text}");
    let end = text.lines().find(|l| l.starts_with("end 1 ")).expect("an end line");
    assert!(
        end.contains("cipher_suite: Some(TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)")
            && end.contains("plaintext_bytes: [16, 16]"),
        "{end}"
    );
    assert!(end.contains("871a754af286dfb70c1b53c6887c62e0"), "the JA3 tshark computes: {end}");
    assert_eq!(text.lines().last(), Some("ReadReport { packets: 22, error: None }"), "{text}");
}

#[test]
fn events_without_keys_shows_no_plaintext_and_without_a_file_says_how_to_call_it() {
    let dir = support_captures::captures_dir().join("ssldump-samples");
    let out = events(&[&dir.join("tls1.2_aes256.pcap")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(lines(&text, "Record").len(), 16, "{text}");
    assert!(lines(&text, "ApplicationData").is_empty(), "{text}");
    assert!(text.contains("Undecrypted"), "{text}");
    let out = events(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: events FILE [KEYLOG]"));
}
