//! Content negotiation by the `Accept` header (RFC 9110, section 12.5.1): which of the media types a
//! resource can be sent as the client prefers. The listing and the server's own pages (`/_tls`) both ask
//! here, so one request gets one answer everywhere.
//!
//! Each offered type takes the quality (`q`, default 1) of the most specific media range that matches it:
//! `type/subtype` with parameters, then `type/subtype`, then `type/*`, then `*/*`; a range's parameters
//! must all be the offered type's. The highest quality above 0 wins; a tie goes to the type offered
//! first (the server's preference), and so does a request without `Accept` or that accepts nothing
//! offered (a 406 helps no one looking at a listing).

use http::header::{HeaderMap, ACCEPT};

use super::page::{HTML_CONTENT_TYPE, JSON_CONTENT_TYPE};

/// Whether the request's `Accept` prefers our JSON to our HTML (HTML on a tie).
pub(crate) fn prefers_json(headers: &HeaderMap) -> bool {
    preferred(headers, &[HTML_CONTENT_TYPE, JSON_CONTENT_TYPE]) == 1
}

/// The index in `offered` (media types, in the server's order of preference) of the one to send.
pub(crate) fn preferred(headers: &HeaderMap, offered: &[&str]) -> usize {
    let ranges = accept_ranges(headers);
    if ranges.is_empty() {
        return 0;
    }
    let mut best = (0, 0u16);
    for (index, offered) in offered.iter().enumerate() {
        let Some(offered) = MediaRange::parse(offered) else { continue };
        let q = quality(&ranges, &offered);
        if q > best.1 {
            best = (index, q);
        }
    }
    best.0
}

/// The media ranges of every Accept header, in order; malformed elements left out.
fn accept_ranges(headers: &HeaderMap) -> Vec<MediaRange<'_>> {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(split_list)
        .filter_map(MediaRange::parse)
        .collect()
}

/// The quality (0 to 1000) the ranges give `offered`: that of the most specific range matching it.
fn quality(ranges: &[MediaRange<'_>], offered: &MediaRange<'_>) -> u16 {
    let mut found: Option<(usize, u16)> = None;
    for range in ranges {
        let Some(precedence) = range.precedence_for(offered) else { continue };
        // Among equally specific ranges (a repeated one), the better quality counts.
        match found {
            Some((p, q)) if p > precedence || (p == precedence && q >= range.q) => {}
            _ => found = Some((precedence, range.q)),
        }
    }
    found.map_or(0, |(_, q)| q)
}

/// One element of an Accept list: `type/subtype;param=value;q=0.5`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MediaRange<'a> {
    /// Lower-cased; `*` for a wildcard.
    top: String,
    sub: String,
    /// Media type parameters (before `q`), names lower-cased, values unquoted.
    params: Vec<(String, &'a str)>,
    /// Quality in thousandths.
    q: u16,
}

impl<'a> MediaRange<'a> {
    /// None for an element that is not a media range (it is then ignored, as a recipient may).
    fn parse(item: &'a str) -> Option<Self> {
        let mut parts = split_params(item);
        let range = parts.next()?.trim();
        let (top, sub) = match range.split_once('/') {
            Some((t, s)) => (t.trim(), s.trim()),
            // Old clients send a bare `*` for `*/*`.
            None if range == "*" => ("*", "*"),
            None => return None,
        };
        if !is_token(top) || !is_token(sub) || (top == "*" && sub != "*") {
            return None;
        }
        let mut params = Vec::new();
        let mut q = 1000;
        for part in parts {
            let (name, value) = part.split_once('=')?;
            let (name, value) = (name.trim(), unquote(value.trim()));
            if name.eq_ignore_ascii_case("q") {
                q = qvalue(value)?;
                // What follows the weight is not a media type parameter.
                break;
            }
            params.push((name.to_ascii_lowercase(), value));
        }
        Some(MediaRange { top: top.to_ascii_lowercase(), sub: sub.to_ascii_lowercase(), params, q })
    }

    /// How specific this range is if it matches the media type `offered`, None if it does not match.
    fn precedence_for(&self, offered: &MediaRange<'_>) -> Option<usize> {
        if self.top == "*" {
            return Some(1);
        }
        if self.top != offered.top {
            return None;
        }
        if self.sub == "*" {
            return Some(2);
        }
        if self.sub != offered.sub {
            return None;
        }
        let has = |(name, value): &(String, &str)| {
            offered.params.iter().any(|(n, v)| n == name && (v == value || v.eq_ignore_ascii_case(value)))
        };
        self.params.iter().all(has).then_some(3 + self.params.len())
    }
}

/// `0`, `0.5`, `1.000` (RFC 9110's qvalue; `.5` accepted too) in thousandths; None if malformed or above 1.
fn qvalue(s: &str) -> Option<u16> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.len() > 1 || frac.len() > 3 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let whole: u16 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    let q = whole.checked_mul(1000)?.checked_add(frac)?;
    (q <= 1000).then_some(q)
}

/// RFC 9110 token characters.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A quoted-string's content (escapes left in: only compared, never shown).
fn unquote(s: &str) -> &str {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// The elements of a comma-separated header value, commas inside quoted strings kept.
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    split_outside_quotes(value, b',').filter(|item| !item.trim().is_empty())
}

/// A media range's parts: the range, then each `;` parameter.
fn split_params(item: &str) -> impl Iterator<Item = &str> {
    split_outside_quotes(item, b';')
}

fn split_outside_quotes(s: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let text = rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (i, b) in text.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                _ if b == separator && !quoted => {
                    rest = text.get(i + 1..);
                    return text.get(..i);
                }
                _ => {}
            }
        }
        rest = None;
        Some(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn json(accept: &str) -> bool {
        prefers_json(&headers(&[accept]))
    }

    #[test]
    fn json_only_when_its_quality_is_higher() {
        assert!(json("application/json"));
        assert!(json("text/html;q=0.1, application/json"));
        assert!(json("application/json, text/html;q=0.5"));
        assert!(json("application/*"));
        assert!(json("APPLICATION/JSON"));
        assert!(json("application/json;q=0.9, text/*;q=0.5"));
        assert!(json("text/html;q=0, */*;q=0.1"));
        assert!(!json("application/json, text/html"));
        assert!(!json("text/html, application/json"));
        assert!(!json("*/*"));
        assert!(!json("*"));
        assert!(!json("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
        assert!(!json("application/json;q=0, */*"));
        assert!(!json("application/json;q=0"));
        assert!(!prefers_json(&HeaderMap::new()));
    }

    #[test]
    fn the_most_specific_range_decides() {
        // A wildcard never overrides the type's own range, however high its quality.
        assert!(!json("*/*, application/json;q=0.1, text/html;q=0.2"));
        assert!(json("text/*;q=0.9, text/html;q=0.2, application/json;q=0.5"));
        // Parameters make a range more specific; one the type lacks does not match it.
        assert!(json("text/html;charset=UTF-8;q=0.1, text/html, application/json;q=0.5"));
        assert!(!json("text/html;level=1;q=0.1, text/html, application/json;q=0.5"));
    }

    #[test]
    fn several_headers_and_odd_elements() {
        assert!(prefers_json(&headers(&["text/html;q=0.2", "application/json;q=0.3"])));
        // Malformed elements are ignored, not taken as "everything".
        assert!(json("text/html;q=2, application/json;q=0.5"));
        assert!(json("text/html;q=abc, application/json;q=0.5"));
        assert!(json("nonsense, /html, */json, application/json"));
        // A quoted comma or semicolon stays inside its parameter.
        assert!(json(r#"application/json;q=0.5, text/*;x="a,b;q=1";q=0.1"#));
        assert!(!json(",,,"));
    }

    #[test]
    fn rfc_9110_example() {
        let h = headers(&[
            "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, text/plain;format=fixed;q=0.4, */*;q=0.5",
        ]);
        let ranges = accept_ranges(&h);
        let quality_of = |t: &str| quality(&ranges, &MediaRange::parse(t).unwrap());
        assert_eq!(quality_of("text/plain;format=flowed"), 1000);
        assert_eq!(quality_of("text/plain"), 700);
        assert_eq!(quality_of("text/html"), 300);
        assert_eq!(quality_of("image/jpeg"), 500);
        assert_eq!(quality_of("text/plain;format=fixed"), 400);
        assert_eq!(quality_of("text/html;level=3"), 300);
        assert_eq!(preferred(&h, &["text/html", "image/jpeg", "text/plain"]), 2);
        assert_eq!(preferred(&h, &["text/html", "image/png"]), 1);
    }

    #[test]
    fn qvalues() {
        assert_eq!(qvalue("0"), Some(0));
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("0.05"), Some(50));
        assert_eq!(qvalue(".2"), Some(200));
        for bad in ["", ".", "1.001", "2", "0.0001", "-1", "0,5", "q"] {
            assert_eq!(qvalue(bad), None, "{bad}");
        }
    }
}
