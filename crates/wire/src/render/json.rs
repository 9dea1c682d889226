//! JSON lines with the stable schema of docs/dump-json.md: one object per event, and one at each
//! connection's start and end.

use super::handshake::handshake_line;
use super::Connection;
use crate::dissect::{Event, HandshakeDetail, Summary, Timestamp};
use crate::handshake::HandshakeType;

/// One JSON object for an event (schema: docs/dump-json.md), or `None` for events JSON does not carry.
pub fn event_json(conn: &Connection, event: &Event<'_>, with_data: bool) -> Option<serde_json::Value> {
    use serde_json::json;
    let base = |kind: &str, dir: Option<&str>, ts: Option<Timestamp>| json!({"conn": conn.id, "event": kind, "dir": dir, "ts": ts.map(|t| t.as_secs_f64())});
    let mut v = match event {
        Event::Record { dir, ts, number, content_type, inner_type, version, length, encrypted, decrypted, .. } => {
            let mut v = base("record", Some(dir.short()), Some(*ts));
            v["record"] = json!(number);
            v["content_type"] = json!(content_type.name());
            v["inner_content_type"] = json!(inner_type.map(|t| t.name()));
            v["version"] = json!(version.name());
            v["length"] = json!(length);
            v["encrypted"] = json!(encrypted);
            v["decrypted"] = json!(decrypted);
            v
        }
        Event::Handshake { dir, ts, msg_type, length, encrypted, detail } => {
            let mut v = base("handshake", Some(dir.short()), Some(*ts));
            v["message"] = json!(match detail {
                HandshakeDetail::ServerHello { retry: true, .. } => HandshakeType::HelloRetryRequest.name(),
                _ => msg_type.name(),
            });
            v["length"] = json!(length);
            v["encrypted"] = json!(encrypted);
            v["text"] = json!(handshake_line(*msg_type, *length, detail));
            v
        }
        Event::ChangeCipherSpec { dir, ts } => base("change_cipher_spec", Some(dir.short()), Some(*ts)),
        Event::Alert { dir, ts, alert } => {
            let mut v = base("alert", Some(dir.short()), Some(*ts));
            v["level"] = json!(alert.map(|a| a.level.name()));
            v["description"] = json!(alert.map(|a| a.description.name()));
            v
        }
        Event::ApplicationData { dir, ts, data, early } => {
            let mut v = base("application_data", Some(dir.short()), Some(*ts));
            v["length"] = json!(data.len());
            v["early"] = json!(early);
            v["data"] = json!(with_data.then(|| String::from_utf8_lossy(data)));
            v
        }
        Event::EarlyData { accepted } => {
            let mut v = base("early_data", None, None);
            v["accepted"] = json!(accepted);
            v
        }
        Event::Negotiated { .. } => return None,
        Event::Undecrypted { dir, ts, number, reason } => {
            let mut v = base("undecrypted", Some(dir.short()), Some(*ts));
            v["record"] = json!(number);
            v["reason"] = json!(reason.to_string());
            v["auth_failed"] = json!(reason.is_auth_failure());
            v
        }
        Event::Gap { dir, bytes } => {
            let mut v = base("gap", Some(dir.short()), None);
            v["length"] = json!(bytes);
            v
        }
        Event::Resync { dir, skipped } => {
            let mut v = base("resync", Some(dir.short()), None);
            v["length"] = json!(skipped);
            v
        }
        Event::Malformed { dir, ts, what } => {
            let mut v = base("malformed", Some(dir.short()), Some(*ts));
            v["reason"] = json!(what);
            v
        }
    };
    if v["dir"].is_null() {
        v["dir"] = serde_json::Value::Null;
    }
    Some(v)
}

/// The JSON objects of a connection's start and end.
pub fn connection_json(conn: &Connection, summary: Option<&Summary>) -> serde_json::Value {
    use serde_json::json;
    let mut v = json!({
        "conn": conn.id,
        "event": if summary.is_some() { "connection_end" } else { "connection_start" },
        "dir": null,
        "ts": conn.first_ts.as_secs_f64(),
        "client": conn.client.to_string(),
        "server": conn.server.to_string(),
        "midstream": conn.midstream,
    });
    if let Some(s) = summary {
        v["version"] = json!(s.version.map(|v| v.name()));
        v["cipher_suite"] = json!(s.cipher_suite.map(|c| c.to_string()));
        v["sni"] = json!(s.server_name);
        v["alpn"] = json!(s.alpn);
        v["resumed"] = json!(s.resumed);
        v["ja3"] = json!(s.fingerprints.ja3);
        v["ja3s"] = json!(s.fingerprints.ja3s);
        v["ja4"] = json!(s.fingerprints.ja4);
        v["ja4s"] = json!(s.fingerprints.ja4s);
        v["records"] = json!(s.stats.records);
        v["handshake_messages"] = json!(s.stats.handshake);
        v["plaintext_bytes_c2s"] = json!(s.stats.plaintext_bytes[0]);
        v["plaintext_bytes_s2c"] = json!(s.stats.plaintext_bytes[1]);
        v["failed_records"] = json!(s.stats.failed_records);
        v["undecrypted_records"] = json!(s.stats.undecrypted_records);
    }
    v
}
