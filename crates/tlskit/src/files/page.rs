//! The one HTML page template of tlskit, its Content-Security-Policy, and the error pages built on it.

use http::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use http::{Response, StatusCode};

use super::body::Body;

/// Escapes `&`, `<`, `>`, `"` and `'` so that a string is inert in HTML text and quoted attributes (the one
/// escaper of tlskit's pages and of the dump report).
pub use tlskit_wire::render::html::escape_html;

/// The Content-Security-Policy of every generated page: nothing may load; only inline CSS applies.
pub const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Content-Type of the generated HTML pages.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// Content-Type of the generated JSON documents.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The inline style sheet of the page template (allowed by [`PAGE_CSP`]): light and dark, phone to desktop.
const STYLE: &str = include_str!("page.css");

/// A complete HTML document: `title` is escaped here, `body_html` is inserted as is (the caller escapes).
///
/// The page uses no script and no external resource, so it works under [`PAGE_CSP`].
pub fn html_page(title: &str, body_html: &str) -> String {
    let title = escape_html(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body_html}\n</body>\n</html>\n"
    )
}

/// A generated page as a response: Content-Type, Content-Length and [`PAGE_CSP`] set.
///
/// With `head_only` the headers describe the page but the body is empty (the answer to HEAD).
pub fn page_response(status: StatusCode, content_type: &'static str, page: String, head_only: bool) -> Response<Body> {
    let len = page.len();
    let body = if head_only { Body::empty() } else { Body::full(page) };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    response
}

/// A small HTML error page: the status as title and heading, then `detail` (escaped here).
pub fn error_response(status: StatusCode, detail: &str, head_only: bool) -> Response<Body> {
    let reason = status.canonical_reason().unwrap_or("Error");
    let title = format!("{} {}", status.as_u16(), reason);
    let body = format!("<h1>{}</h1>\n<p>{}</p>", escape_html(&title), escape_html(detail));
    page_response(status, HTML_CONTENT_TYPE, html_page(&title, &body), head_only)
}

/// 405 with `Allow: GET, HEAD`.
pub(crate) fn method_not_allowed(head_only: bool) -> Response<Body> {
    let mut response = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "This server serves files: only GET and HEAD are allowed.",
        head_only,
    );
    response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape_html(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape_html("plain é"), "plain é");
    }

    #[test]
    fn page_escapes_title_only() {
        let page = html_page("<t>", "<p>ok</p>");
        assert!(page.contains("<title>&lt;t&gt;</title>"));
        assert!(page.contains("<p>ok</p>"));
        assert!(!page.contains("<script"));
    }
}
