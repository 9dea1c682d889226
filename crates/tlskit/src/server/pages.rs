//! The server's own pages: `/_tls` (this connection's session), the
//! `/_reneg_` magic URL, and the 403 of a path that needs a client certificate.

use std::sync::atomic::Ordering;

use http::{Response, StatusCode, Version};
use serde_json::json;

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
    if json {
        let value = json!({
            "client": conn.peer.to_string(),
            "http_version": http_version(version),
            "client_certificate_verified": conn.client_verified,
            "key_updates_sent": key_updates,
            "server_id": conn.server_id,
            "session": &*conn.session,
        });
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
    html_response(StatusCode::OK, "TLS session", &body, head_only)
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
