//! The server's own pages: `/_tls` (this connection's session), the
//! `/_reneg_` magic URL, and the 403 of a path that needs a client certificate.

use std::sync::atomic::Ordering;

use http::{Response, StatusCode, Version};
use serde_json::{json, Map, Value};
use tlskit_wire::dissect::HandshakeDetail;
use tlskit_wire::fingerprint::Fingerprints;
use tlskit_wire::handshake::{ClientHello, HandshakeType, ServerHello, HEADER_LEN};
use tlskit_wire::render::json::hello_fields;

use super::service::ConnInfo;
use crate::files::{self, escape_html, html_page, Body, HTML_CONTENT_TYPE, JSON_CONTENT_TYPE};
use crate::names::http_version;
use crate::session::SessionInfo;

/// Why TLS 1.2 gets no renegotiation here (docs/design.md, "Where rustls says no").
const NO_RENEGOTIATION: &str = "This connection uses TLS 1.2. Renegotiation is not offered: rustls refuses it by \
design (it was the source of the 2009 renegotiation attack and of later triple-handshake attacks, and a client \
certificate for one URL only is better asked for with optional client authentication plus per-path rules). \
On TLS 1.3 this URL performs a KeyUpdate instead.";

fn json_response(status: StatusCode, value: serde_json::Value, head_only: bool) -> Response<Body> {
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    files::page_response(status, JSON_CONTENT_TYPE, text, head_only)
}

fn html_response(status: StatusCode, title: &str, body: &str, head_only: bool) -> Response<Body> {
    files::page_response(status, HTML_CONTENT_TYPE, html_page(title, body), head_only)
}

/// `/_tls`: the requesting connection's own session, HTML or JSON.
pub(crate) fn tls_info(conn: &ConnInfo, version: Version, json: bool, head_only: bool) -> Response<Body> {
    let key_updates = conn.signals.key_updates_sent.load(Ordering::Relaxed);
    let offered = handshake_fields(conn);
    if json {
        let mut value = json!({
            "client": conn.peer.to_string(),
            "http_version": http_version(version),
            "client_certificate_verified": conn.client_verified,
            "key_updates_sent": key_updates,
            "server_id": conn.server_id,
            "session": &*conn.session,
        });
        if let Some(object) = value.as_object_mut() {
            object.extend(offered);
        }
        return json_response(StatusCode::OK, value, head_only);
    }
    let mut body = String::from("<h1>This connection</h1>\n");
    body.push_str(&session_table(
        &conn.session,
        &[
            ("client", conn.peer.to_string()),
            ("HTTP version", http_version(version).to_string()),
            ("KeyUpdates sent by the server", key_updates.to_string()),
            ("this server", conn.server_id.clone().unwrap_or_else(|| "-".into())),
        ],
    ));
    body.push_str(&chain_html(&conn.session));
    body.push_str(&handshake_html(&offered));
    html_response(StatusCode::OK, "TLS session", &body, head_only)
}

/// What the handshake of this connection carried, decoded by wire as `tlskit dump` decodes a capture: the
/// ClientHello's fields (docs/dump-json.md, "Hello fields") at the top level, the ServerHello's as
/// `server_hello`, and the fingerprints.
fn handshake_fields(conn: &ConnInfo) -> Map<String, Value> {
    let client = conn.hellos.client.as_deref().and_then(ClientHello::parse);
    let server = conn
        .hellos
        .server
        .get()
        .filter(|m| m.first() == Some(&u8::from(HandshakeType::ServerHello)))
        .and_then(|m| ServerHello::parse(m.get(HEADER_LEN..)?));
    let mut fingerprints = Fingerprints::default();
    let mut fields = Map::new();
    if let Some(hello) = &client {
        fingerprints.client_hello(hello, 't');
        fields = hello_fields(&HandshakeDetail::client_hello(hello)).unwrap_or_default();
    }
    fields.insert("client_hello_seen".into(), json!(client.is_some()));
    let server_fields = server.as_ref().and_then(|sh| {
        if !sh.is_hello_retry_request() {
            fingerprints.server_hello(sh, 't');
        }
        let mut fields = hello_fields(&HandshakeDetail::server_hello(sh, conn.session.resumed))?;
        fields.insert("hello_retry_request".into(), json!(sh.is_hello_retry_request()));
        Some(Value::Object(fields))
    });
    fields.insert("server_hello".into(), server_fields.unwrap_or(Value::Null));
    fields.insert("ja3".into(), json!(fingerprints.ja3));
    fields.insert("ja3_string".into(), json!(fingerprints.ja3_string));
    fields.insert("ja3s".into(), json!(fingerprints.ja3s));
    fields.insert("ja3s_string".into(), json!(fingerprints.ja3s_string));
    fields.insert("ja4".into(), json!(fingerprints.ja4));
    fields.insert("ja4s".into(), json!(fingerprints.ja4s));
    fields
}

/// One typed number of the hello fields (`{"id", "name", "grease"}`), GREASE marked.
fn typed_html(v: &Value) -> String {
    let id = v["id"].as_u64().unwrap_or_default();
    let name = v["name"].as_str().unwrap_or("?");
    if v["grease"].as_bool() == Some(true) {
        return format!("<em>GREASE</em> <small>0x{id:04x}</small>");
    }
    format!("{} <small>0x{id:04x}</small>", escape_html(name))
}

/// A list of the hello fields as HTML: typed numbers or strings, in order; `none` when empty.
fn list_html(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| match i.as_str() {
                    Some(s) => escape_html(s),
                    None => typed_html(i),
                })
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        return "none".into();
    }
    let mut html = String::from("<ol class=\"offered\">");
    for item in items {
        html.push_str(&format!("<li>{item}</li>"));
    }
    html.push_str("</ol>");
    html
}

/// The offered and chosen hellos and the fingerprints, as sections of the `/_tls` page.
fn handshake_html(fields: &Map<String, Value>) -> String {
    let yes_no = |v: &Value| if v.as_bool() == Some(true) { "yes" } else { "no" }.to_string();
    let text = |v: &Value| v.as_str().map(escape_html).unwrap_or_else(|| "-".into());
    let rows = |rows: Vec<(&str, String)>| {
        let mut html = String::from("<table>\n");
        for (name, value) in rows {
            html.push_str(&format!("<tr><th>{}</th><td>{value}</td></tr>\n", escape_html(name)));
        }
        html.push_str("</table>\n");
        html
    };
    let mut html = String::from("<h2>What your client offered (its ClientHello)</h2>\n");
    if fields.get("client_hello_seen").and_then(Value::as_bool) != Some(true) {
        html.push_str(
            "<p>The ClientHello of this connection was not kept (not a whole ClientHello within 32 KiB).</p>\n",
        );
    } else {
        let f = |k: &str| fields.get(k).cloned().unwrap_or(Value::Null);
        html.push_str(&rows(vec![
            ("legacy version", typed_html(&f("legacy_version"))),
            ("supported versions", list_html(&f("versions"))),
            ("cipher suites", list_html(&f("cipher_suites"))),
            ("supported groups", list_html(&f("supported_groups"))),
            ("key shares", list_html(&f("key_shares"))),
            ("signature algorithms", list_html(&f("signature_algorithms"))),
            ("ALPN", list_html(&f("alpn"))),
            ("server name (SNI)", text(&f("sni"))),
            ("PSK key exchange modes", list_html(&f("psk_modes"))),
            ("session ticket or PSK offered", yes_no(&f("ticket_offered"))),
            ("early data (0-RTT) offered", yes_no(&f("early_data"))),
            ("extensions, in the order sent", list_html(&f("extensions"))),
        ]));
    }
    html.push_str("<h2>What the server chose (its ServerHello)</h2>\n");
    match fields.get("server_hello").filter(|v| v.is_object()) {
        None => html.push_str("<p>The ServerHello of this connection was not kept.</p>\n"),
        Some(sh) => html.push_str(&rows(vec![
            ("HelloRetryRequest", yes_no(&sh["hello_retry_request"])),
            ("legacy version", typed_html(&sh["legacy_version"])),
            ("selected version", list_html(&sh["versions"])),
            ("cipher suite", list_html(&sh["cipher_suites"])),
            ("key share", list_html(&sh["key_shares"])),
            ("ALPN", list_html(&sh["alpn"])),
            ("extensions, in the order sent", list_html(&sh["extensions"])),
        ])),
    }
    html.push_str("<h2>Fingerprints</h2>\n");
    let fingerprint = |hash: &str, string: Option<&str>| {
        let value = fields.get(hash).and_then(Value::as_str).map(escape_html).unwrap_or_else(|| "-".into());
        match string.and_then(|s| fields.get(s)).and_then(Value::as_str) {
            Some(s) => format!("<code>{value}</code><br><small>{}</small>", escape_html(s)),
            None => format!("<code>{value}</code>"),
        }
    };
    html.push_str(&rows(vec![
        ("JA3", fingerprint("ja3", Some("ja3_string"))),
        ("JA3S", fingerprint("ja3s", Some("ja3s_string"))),
        ("JA4", fingerprint("ja4", None)),
        ("JA4S", fingerprint("ja4s", None)),
    ]));
    html
}

/// Asks the connection's IO wrapper for a KeyUpdate before the next response byte, on TLS 1.3.
/// Returns whether one was asked for (TLS 1.2 has none: the caller answers [`no_renegotiation`]).
pub(crate) fn ask_key_update(conn: &ConnInfo) -> bool {
    if conn.session.version != "TLSv1.3" {
        return false;
    }
    conn.signals.key_update_wanted.store(true, Ordering::Release);
    true
}

/// 501 on TLS 1.2: why there is no renegotiation.
pub(crate) fn no_renegotiation(conn: &ConnInfo, json: bool, head_only: bool) -> Response<Body> {
    if json {
        let value = json!({
            "renegotiated": false,
            "key_update": false,
            "reason": NO_RENEGOTIATION,
            "session": &*conn.session,
        });
        return json_response(StatusCode::NOT_IMPLEMENTED, value, head_only);
    }
    let body = format!(
        "<h1>No renegotiation</h1>\n<p>{}</p>\n{}",
        escape_html(NO_RENEGOTIATION),
        session_table(&conn.session, &[])
    );
    html_response(StatusCode::NOT_IMPLEMENTED, "No renegotiation", &body, head_only)
}

/// `/_reneg_` alone: a KeyUpdate on TLS 1.3 (asked for by the caller) and what it did; on TLS 1.2 why
/// there is no renegotiation.
pub(crate) fn renegotiate(conn: &ConnInfo, version: Version, json: bool, head_only: bool) -> Response<Body> {
    if conn.session.version != "TLSv1.3" {
        return no_renegotiation(conn, json, head_only);
    }
    // The IO wrapper sends the KeyUpdate just before this response's first byte.
    let before = conn.signals.key_updates_sent.load(Ordering::Relaxed);
    let after = before + 1;
    let what = "The server sent a KeyUpdate (update_requested) on this connection: this response is the first \
                data under the server's new traffic keys, and the client answers with a KeyUpdate of its own. \
                TLS 1.3 has no renegotiation; the negotiated parameters stay the same. The server's log shows \
                the session before and after.";
    let usage = "Ask for /_reneg_/PATH to have PATH served after the KeyUpdate, as the HOWTO's server served it \
                 after renegotiating.";
    if json {
        let value = json!({
            "renegotiated": false,
            "key_update": true,
            "http_version": http_version(version),
            "explanation": what,
            "usage": usage,
            "before": { "key_updates_sent": before, "session": &*conn.session },
            "after": { "key_updates_sent": after, "session": &*conn.session },
        });
        return json_response(StatusCode::OK, value, head_only);
    }
    let body = format!(
        "<h1>KeyUpdate</h1>\n<p>{}</p>\n<p>{} For example: <a href=\"/_reneg_/\"><code>/_reneg_/</code></a> \
         lists the top directory.</p>\n<h2>Before</h2>\n{}\n<h2>After</h2>\n{}",
        escape_html(what),
        escape_html(usage),
        session_table(&conn.session, &[("server traffic key generation", before.to_string())]),
        session_table(&conn.session, &[("server traffic key generation", after.to_string())]),
    );
    html_response(StatusCode::OK, "KeyUpdate", &body, head_only)
}

/// 403 for a protected prefix without a verified client certificate.
pub(crate) fn client_cert_required(prefix: &str, head_only: bool) -> Response<Body> {
    let body = format!(
        "<h1>403 Forbidden</h1>\n<p>Paths under <code>{}</code> need a client certificate that this server \
         verifies, and this connection presented none. Connect again with one (for example \
         <code>curl --cert client.pem --key client-key.pem</code>). A TLS connection cannot be asked for a \
         certificate after its handshake here: rustls offers neither renegotiation nor TLS 1.3 post-handshake \
         authentication.</p>",
        escape_html(prefix)
    );
    html_response(StatusCode::FORBIDDEN, "403 Forbidden", &body, head_only)
}

fn session_table(s: &SessionInfo, extra: &[(&str, String)]) -> String {
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let mut rows: Vec<(&str, String)> = vec![
        ("protocol", s.version.clone()),
        ("cipher suite", s.cipher_suite.clone()),
        ("key exchange group", s.key_exchange_group.clone().unwrap_or_else(|| "none (resumed)".into())),
        ("server name (SNI)", dash(&s.sni)),
        ("ALPN", dash(&s.alpn)),
        ("handshake", s.handshake.clone()),
        ("resumed", if s.resumed { "yes" } else { "no" }.into()),
        ("session issued by", s.issued_by.clone().unwrap_or_else(|| "-".into())),
        ("handshake time", s.handshake_ms.map(|ms| format!("{ms:.3} ms")).unwrap_or_else(|| "-".into())),
        ("client certificate", s.peer_leaf().map(|c| c.subject.clone()).unwrap_or_else(|| "none".into())),
    ];
    rows.extend(extra.iter().cloned());
    let mut html = String::from("<table>\n");
    for (name, value) in rows {
        html.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>\n", escape_html(name), escape_html(&value)));
    }
    html.push_str("</table>\n");
    html
}

fn chain_html(s: &SessionInfo) -> String {
    if s.peer_certificates.is_empty() {
        return "<h2>Client certificate chain</h2>\n<p>none</p>\n".into();
    }
    let mut html = String::from("<h2>Client certificate chain</h2>\n<table>\n");
    html.push_str(
        "<tr><th>#</th><th>subject</th><th>issuer</th><th>valid until</th><th>key</th><th>SHA-256</th></tr>\n",
    );
    for (depth, c) in s.peer_certificates.iter().enumerate() {
        html.push_str(&format!(
            "<tr><td>{depth}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
            escape_html(&c.subject),
            escape_html(&c.issuer),
            escape_html(&c.not_after),
            escape_html(&c.key),
            escape_html(&c.sha256_fingerprint)
        ));
    }
    html.push_str("</table>\n");
    html
}
