//! Content-Type from the file name's extension.

use std::path::Path;

use http::HeaderValue;

/// The Content-Type of `path`: mime_guess's first guess, with the HOWTO server's certificate types,
/// `.pem` as UTF-8 text, and `; charset=utf-8` on text types; unknown extensions are octet streams.
pub(crate) fn content_type(path: &Path) -> HeaderValue {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let raw = match ext.to_ascii_lowercase().as_str() {
        "der" | "crt" => "application/x-x509-ca-cert",
        "pem" => return HeaderValue::from_static("text/plain; charset=utf-8"),
        lower => mime_guess::from_ext(lower).first_raw().unwrap_or("application/octet-stream"),
    };
    if raw.starts_with("text/") || raw == "application/xml" || raw == "image/svg+xml" {
        // Text read by a browser must say its charset, or it guesses.
        return HeaderValue::from_str(&format!("{raw}; charset=utf-8"))
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    }
    HeaderValue::from_static(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(name: &str) -> String {
        content_type(Path::new(name)).to_str().unwrap_or("").to_owned()
    }

    #[test]
    fn extensions() {
        assert_eq!(ct("ca.der"), "application/x-x509-ca-cert");
        assert_eq!(ct("server.CRT"), "application/x-x509-ca-cert");
        assert_eq!(ct("key.pem"), "text/plain; charset=utf-8");
        assert_eq!(ct("index.html"), "text/html; charset=utf-8");
        assert_eq!(ct("a.png"), "image/png");
        assert_eq!(ct("README"), "application/octet-stream");
        assert_eq!(ct("x.json"), "application/json");
    }
}
