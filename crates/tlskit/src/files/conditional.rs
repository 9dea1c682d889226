//! Conditional requests (RFC 9110 section 13): If-Match, If-Unmodified-Since, If-None-Match,
//! If-Modified-Since, evaluated in the RFC's order, and If-Range.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE};

/// What the preconditions of a GET or HEAD say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Answer normally.
    Proceed,
    /// 304 Not Modified: the client's copy is current.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// The validators of one file version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Validators<'a> {
    /// The strong entity tag, with its quotes.
    pub etag: &'a str,
    /// Last modification, truncated to whole seconds (what Last-Modified can say).
    pub modified: SystemTime,
}

/// `t` truncated to whole seconds since the epoch.
pub(crate) fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Evaluates the preconditions of a GET or HEAD request against the file's validators.
pub(crate) fn evaluate(headers: &HeaderMap, v: Validators<'_>) -> Precondition {
    // Step 1 and 2: the client's write-side preconditions.
    if headers.contains_key(IF_MATCH) {
        if !any_matches(headers, IF_MATCH, v.etag, Compare::Strong) {
            return Precondition::Failed;
        }
    } else if let Some(since) = header_date(headers, IF_UNMODIFIED_SINCE) {
        if v.modified > since {
            return Precondition::Failed;
        }
    }
    // Step 3 and 4: the cache's revalidation; If-None-Match wins over If-Modified-Since.
    if headers.contains_key(IF_NONE_MATCH) {
        if any_matches(headers, IF_NONE_MATCH, v.etag, Compare::Weak) {
            return Precondition::NotModified;
        }
    } else if let Some(since) = header_date(headers, IF_MODIFIED_SINCE) {
        if v.modified <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// Whether a Range header may be honoured: no If-Range, or one that matches the current version
/// (a strong ETag, or exactly the Last-Modified date).
pub(crate) fn if_range_allows(headers: &HeaderMap, v: Validators<'_>) -> bool {
    let Some(value) = headers.get(IF_RANGE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return tag_matches(value, v.etag, Compare::Strong);
    }
    httpdate::parse_http_date(value).map(|date| date == v.modified).unwrap_or(false)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Strong,
    Weak,
}

/// Whether any instance of the list header `name` lists `*` or a tag matching `ours`.
fn any_matches(headers: &HeaderMap, name: http::header::HeaderName, ours: &str, compare: Compare) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|list| split_tags(list).any(|tag| tag == "*" || tag_matches(tag, ours, compare)))
}

/// The entity tags of a comma-separated list (commas inside quotes do not split).
fn split_tags(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    std::iter::from_fn(move || loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return None;
        }
        let quote = rest.find('"');
        let end = match quote {
            // The tag runs to its closing quote.
            Some(q) => rest[q + 1..].find('"').map(|c| q + 1 + c + 1).unwrap_or(rest.len()),
            None => rest.find(',').unwrap_or(rest.len()),
        };
        let tag = rest[..end].trim();
        rest = &rest[end..];
        if !tag.is_empty() {
            return Some(tag);
        }
    })
}

/// Compares one entity tag from the client with ours (always strong).
fn tag_matches(theirs: &str, ours: &str, compare: Compare) -> bool {
    match theirs.strip_prefix("W/") {
        Some(weak) => compare == Compare::Weak && weak == ours,
        None => theirs == ours,
    }
}

fn header_date(headers: &HeaderMap, name: http::header::HeaderName) -> Option<SystemTime> {
    let value = headers.get(name)?.to_str().ok()?;
    httpdate::parse_http_date(value.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const TAG: &str = "\"1-2-3\"";

    fn eval(name: http::header::HeaderName, value: &str) -> Precondition {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        let modified = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        evaluate(&h, Validators { etag: TAG, modified })
    }

    #[test]
    fn none_match() {
        assert_eq!(eval(IF_NONE_MATCH, TAG), Precondition::NotModified);
        assert_eq!(eval(IF_NONE_MATCH, "W/\"1-2-3\""), Precondition::NotModified);
        assert_eq!(eval(IF_NONE_MATCH, "\"x\", \"1-2-3\""), Precondition::NotModified);
        assert_eq!(eval(IF_NONE_MATCH, "*"), Precondition::NotModified);
        assert_eq!(eval(IF_NONE_MATCH, "\"x,y\""), Precondition::Proceed);
    }

    #[test]
    fn match_is_strong() {
        assert_eq!(eval(IF_MATCH, TAG), Precondition::Proceed);
        assert_eq!(eval(IF_MATCH, "W/\"1-2-3\""), Precondition::Failed);
        assert_eq!(eval(IF_MATCH, "\"other\""), Precondition::Failed);
    }

    #[test]
    fn dates() {
        assert_eq!(eval(IF_MODIFIED_SINCE, "Sun, 09 Sep 2001 01:46:40 GMT"), Precondition::NotModified);
        assert_eq!(eval(IF_MODIFIED_SINCE, "Sun, 09 Sep 2001 01:46:39 GMT"), Precondition::Proceed);
        assert_eq!(eval(IF_MODIFIED_SINCE, "garbage"), Precondition::Proceed);
        assert_eq!(eval(IF_UNMODIFIED_SINCE, "Sun, 09 Sep 2001 01:46:39 GMT"), Precondition::Failed);
    }
}
