//! JSON lines with the stable schema of docs/dump-json.md: one object per event, and one at each
//! connection's start and end.

use super::handshake::handshake_line;
use super::Connection;
use crate::cipher::CipherSuiteId;
use crate::dissect::{Event, HandshakeDetail, Summary, Timestamp};
use crate::extensions::{ExtensionType, NamedGroup, PskKeyExchangeMode, SignatureScheme};
use crate::handshake::HandshakeType;
use crate::http::{frame_type_name, HttpEvent, StartLine};
use crate::record::ProtocolVersion;

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
            if let Some(fields) = hello_fields(detail) {
                v["hello"] = serde_json::Value::Object(fields);
            }
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

/// One JSON object for an HTTP event (`--http`; schema: docs/dump-json.md), or `None` for body bytes.
/// Serialize it through [`crate::text::escape_json_controls`]: header values are the peer's.
pub fn http_event_json(conn: &Connection, event: &HttpEvent<'_>) -> Option<serde_json::Value> {
    use serde_json::json;
    let base = |kind: &str, dir: &str| json!({"conn": conn.id, "event": kind, "dir": dir, "ts": null});
    Some(match event {
        HttpEvent::Message { dir, head, body_len, complete } => {
            let kind = match head.start {
                StartLine::Request { .. } => "http_request",
                StartLine::Response { .. } => "http_response",
            };
            let mut v = base(kind, dir.short());
            v["stream"] = json!(head.stream);
            v["version"] = json!(head.version.name());
            match &head.start {
                StartLine::Request { method, target } => {
                    v["method"] = json!(method);
                    v["target"] = json!(target);
                }
                StartLine::Response { status, reason } => {
                    v["status"] = json!(status);
                    v["reason"] = json!(reason);
                }
            }
            v["headers"] = json!(head.headers.iter().map(|(n, v)| [n, v]).collect::<Vec<_>>());
            v["body_length"] = json!(body_len);
            v["complete"] = json!(complete);
            v
        }
        HttpEvent::Frame { dir, frame_type, flags, stream, length } => {
            let mut v = base("http2_frame", dir.short());
            v["frame_type"] = json!(frame_type_name(*frame_type));
            v["stream"] = json!(stream);
            v["flags"] = json!(flags);
            v["length"] = json!(length);
            v
        }
        HttpEvent::Malformed { dir, what } => {
            let mut v = base("malformed", dir.short());
            v["reason"] = json!(format!("HTTP: {what}"));
            v
        }
        HttpEvent::Body { .. } => return None,
    })
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
        v["compression"] = json!(s.compression.map(|c| c.name()));
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

/// The structured fields of a ClientHello or ServerHello (docs/dump-json.md, "Hello fields"): what
/// `dump --json` puts beside a hello's `text` (as `hello`) and what the server's `/_tls` page shows of this
/// connection's hellos. Typed numbers are `{"id", "name", "grease"}` objects, lists in the order sent; `None` for other messages.
///
/// ```
/// use tlskit_wire::dissect::HandshakeDetail;
/// use tlskit_wire::handshake::ClientHello;
/// use tlskit_wire::render::json::hello_fields;
///
/// let mut body = vec![3, 3];
/// body.extend([7u8; 32]);
/// body.push(0);
/// body.extend([0, 4, 0x1a, 0x1a, 0x13, 0x01, 1, 0]); // GREASE, TLS_AES_128_GCM_SHA256
/// body.extend([0, 7, 0, 43, 0, 3, 2, 3, 4]); // supported_versions: TLS 1.3
/// let detail = HandshakeDetail::client_hello(&ClientHello::parse(&body).unwrap());
/// let fields = hello_fields(&detail).unwrap();
/// assert_eq!(fields["cipher_suites"][0]["grease"], true);
/// assert_eq!(fields["cipher_suites"][1]["name"], "TLS_AES_128_GCM_SHA256");
/// assert_eq!(fields["versions"][0]["name"], "TLSv1.3");
/// assert_eq!(fields["extensions"][0]["name"], "supported_versions");
/// ```
pub fn hello_fields(detail: &HandshakeDetail) -> Option<serde_json::Map<String, serde_json::Value>> {
    use serde_json::{json, Value};
    fn typed(id: u16, name: &str, grease: bool) -> Value {
        json!({"id": id, "name": name, "grease": grease})
    }
    fn list<T: Copy>(items: &[T], one: impl Fn(T) -> Value) -> Value {
        Value::Array(items.iter().map(|&i| one(i)).collect())
    }
    let suite = |s: CipherSuiteId| {
        let name = match s {
            CipherSuiteId::Unknown(_) if !s.is_grease() => s.to_string(),
            known => known.name().to_string(),
        };
        typed(s.value(), &name, s.is_grease())
    };
    let version = |v: ProtocolVersion| typed(v.value(), v.name(), v.is_grease());
    let group = |g: NamedGroup| typed(g.value(), g.name(), g.is_grease());
    let extension = |e: ExtensionType| typed(e.value(), e.name(), e.is_grease());
    let scheme = |s: SignatureScheme| typed(s.value(), s.name(), s.is_grease());
    let mode = |m: PskKeyExchangeMode| typed(u16::from(m.value()), m.name(), false);
    let v = match detail {
        HandshakeDetail::ClientHello {
            version: legacy,
            cipher_suites,
            extensions,
            server_name,
            alpn,
            versions,
            key_share,
            supported_groups,
            signature_algorithms,
            psk_modes,
            session_ticket,
            psk_identities,
            early_data,
            ..
        } => json!({
            "legacy_version": version(*legacy),
            "versions": list(versions, version),
            "cipher_suites": list(cipher_suites, suite),
            "supported_groups": list(supported_groups, group),
            "key_shares": list(key_share, group),
            "signature_algorithms": list(signature_algorithms, scheme),
            "alpn": alpn,
            "sni": server_name,
            "psk_modes": list(psk_modes, mode),
            "ticket_offered": session_ticket.is_some_and(|len| len > 0) || *psk_identities > 0,
            "psk_identities": psk_identities,
            "early_data": early_data,
            "extensions": list(extensions, extension),
        }),
        HandshakeDetail::ServerHello {
            legacy_version,
            version: chosen,
            cipher_suite,
            extensions,
            key_share,
            alpn,
            resumed,
            ..
        } => {
            let selected = extensions.contains(&ExtensionType::SupportedVersions);
            json!({
                "legacy_version": version(*legacy_version),
                "versions": if selected { vec![version(*chosen)] } else { Vec::new() },
                "cipher_suites": [suite(*cipher_suite)],
                "supported_groups": [],
                "key_shares": key_share.map(group).into_iter().collect::<Vec<_>>(),
                "signature_algorithms": [],
                "alpn": alpn.iter().collect::<Vec<_>>(),
                "sni": null,
                "psk_modes": [],
                "ticket_offered": false,
                "psk_identities": 0,
                "early_data": false,
                "resumed": resumed,
                "extensions": list(extensions, extension),
            })
        }
        _ => return None,
    };
    match v {
        Value::Object(map) => Some(map),
        _ => None,
    }
}
