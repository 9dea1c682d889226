//! How `tlskit get` shows a response: curl's `-v` and `-i` forms, and `-w json`.

use std::io::{self, Write};

use serde_json::{json, Map, Value};
use tlskit::client::{http, Response};
use tlskit::names::http_version;

/// HTTP/1.1 -> `1.1`, HTTP/2 -> `2`, as curl's `%{http_version}`.
fn http_version_number(v: http::Version) -> &'static str {
    http_version(v).trim_start_matches("HTTP/")
}

/// `-i`/`-I`: the status line and headers, then a blank line.
pub fn status_and_headers(out: &mut impl Write, response: &Response) -> io::Result<()> {
    let reason = response.status.canonical_reason().unwrap_or("");
    write!(out, "{} {}", http_version(response.version), response.status.as_u16())?;
    if !reason.is_empty() && response.version != http::Version::HTTP_2 {
        write!(out, " {reason}")?;
    }
    write!(out, "\r\n")?;
    for (name, value) in &response.headers {
        write!(out, "{name}: ")?;
        out.write_all(value.as_bytes())?;
        write!(out, "\r\n")?;
    }
    write!(out, "\r\n")
}

/// `-v`: the connection, its TLS session and peer chain, then the request and response headers.
pub fn verbose(err: &mut impl Write, response: &Response) -> io::Result<()> {
    let remote = response.remote_addr;
    writeln!(err, "* Connected to {} ({}) port {}", host_of(&response.url), remote.ip(), remote.port())?;
    let s = &response.session;
    writeln!(
        err,
        "* {} handshake: {} / {}{} in {:.1} ms",
        if s.resumed { "Resumed" } else { "Full" },
        s.version,
        s.cipher_suite,
        s.key_exchange_group.as_deref().map(|g| format!(" / {g}")).unwrap_or_default(),
        s.handshake_ms.unwrap_or_default()
    )?;
    for line in s.to_string().lines() {
        writeln!(err, "* {line}")?;
    }
    writeln!(err, "* resumed: {}", if s.resumed { "yes" } else { "no" })?;
    // A tlskit fleet names the server that answered and the one that issued the resumed session.
    let header = |name: &tlskit::client::http::HeaderName| response.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(server) = header(&tlskit::server::TLSKIT_SERVER) {
        match header(&tlskit::server::TLSKIT_SESSION_ISSUER) {
            Some(issuer) if s.resumed => writeln!(err, "* served by {server}, session issued by {issuer}")?,
            _ => writeln!(err, "* served by {server}")?,
        }
    }
    let path = response.url.parse::<http::Uri>().ok();
    let path = path.as_ref().and_then(|u| u.path_and_query()).map(|p| p.as_str()).unwrap_or("/");
    let method = response.method.as_str();
    // Our requests are HTTP/2 or HTTP/1.1, whatever version an HTTP/1.x server answers in.
    let request_version = http_version(match response.version {
        http::Version::HTTP_2 => http::Version::HTTP_2,
        _ => http::Version::HTTP_11,
    });
    writeln!(err, "> {method} {path} {request_version}")?;
    for (name, value) in &response.request_headers {
        writeln!(err, "> {name}: {}", String::from_utf8_lossy(value.as_bytes()))?;
    }
    writeln!(err, ">")?;
    writeln!(err, "< {} {}", http_version(response.version), response.status)?;
    for (name, value) in &response.headers {
        writeln!(err, "< {name}: {}", String::from_utf8_lossy(value.as_bytes()))?;
    }
    writeln!(err, "<")
}

fn host_of(url: &str) -> String {
    url.parse::<http::Uri>().ok().and_then(|u| u.host().map(str::to_string)).unwrap_or_default()
}

/// `-w json`: curl's `%{json}` names for what they share, plus the headers and the TLS session.
pub fn write_out_json(requested: &str, response: &Response, redirects: u32, size_download: usize) -> Value {
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        let entry = headers.entry(name.as_str().to_string()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.push(Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
        }
    }
    let t = &response.timings;
    let secs = |ms: f64| ms / 1000.0;
    json!({
        "url": requested,
        "url_effective": response.url,
        "method": response.method.as_str(),
        "response_code": response.status.as_u16(),
        "http_version": http_version_number(response.version),
        "content_type": response.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        "num_redirects": redirects,
        "remote_ip": response.remote_addr.ip().to_string(),
        "remote_port": response.remote_addr.port(),
        "local_ip": response.local_addr.ip().to_string(),
        "local_port": response.local_addr.port(),
        "size_download": size_download,
        "size_upload": response.request_body_len,
        "time_namelookup": secs(t.dns_ms),
        "time_connect": secs(t.connect_ms),
        "time_appconnect": secs(t.tls_ms),
        "time_starttransfer": secs(t.first_byte_ms),
        "time_total": secs(t.total_ms),
        "headers": headers,
        "session": response.session,
    })
}
