//! One certificate, two renderings: `tlskit dump`'s Certificate line (tlskit-wire's summary) and a session's
//! peer chain (the library's description, printed by `tlskit get -v`) must spell its validity and its subject
//! alternative names alike.

use tlskit::pki;
use tlskit::session::SessionInfo;
use tlskit_wire::dissect::HandshakeDetail;
use tlskit_wire::handshake::{CertSummary, HandshakeType};
use tlskit_wire::render::handshake_line;

/// The text of `line` between `start` and `end` (or the end of the line).
fn between<'a>(line: &'a str, start: &str, end: &str) -> &'a str {
    let rest = &line[line.find(start).unwrap_or_else(|| panic!("no {start:?} in {line:?}")) + start.len()..];
    rest.find(end).map_or(rest, |at| &rest[..at])
}

#[test]
fn dump_and_session_show_a_certificate_alike() {
    let ephemeral = pki::ephemeral_server(&["myhost.test".to_string()]).expect("certificate");
    let der = &ephemeral.identity.chain[0];
    let described = pki::describe(der).expect("described");
    let summary = CertSummary::from_der(der).expect("summarised");
    let detail = HandshakeDetail::Certificate { certificates: vec![summary], count: 1 };
    let dump = handshake_line(HandshakeType::Certificate, der.len(), &detail);
    let session = SessionInfo { peer_certificates: vec![described.clone()], ..Default::default() }.to_string();
    let session_line = |prefix: &str| {
        session.lines().find_map(|l| l.trim().strip_prefix(prefix)).unwrap_or_else(|| panic!("{prefix}: {session}"))
    };

    let dump_validity = between(&dump, " valid=", " san=").split_once("..").expect("from..to");
    let session_validity = session_line("valid ").split_once(" to ").expect("from to to");
    assert_eq!(dump_validity, session_validity, "validity differs:\n{dump}\n{session}");
    assert_eq!(session_validity, (described.not_before.as_str(), described.not_after.as_str()));
    assert!(described.not_before.ends_with('Z') && described.not_before.contains('T'), "RFC 3339, UTC");

    let dump_sans: Vec<&str> = between(&dump, " san=", " ").split(',').collect();
    let session_sans: Vec<&str> = session_line("SANs ").split(", ").collect();
    assert_eq!(dump_sans, session_sans, "SANs differ:\n{dump}\n{session}");
    assert_eq!(session_sans, ["DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:myhost.test"]);
}
