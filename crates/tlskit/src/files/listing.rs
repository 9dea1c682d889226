//! Directory listings: read a directory, order it, render it as JSON (schema in the module docs of
//! [`crate::files`]); the HTML page is [`super::listing_page`].

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use http::header::{HeaderMap, ACCEPT};
use serde::Serialize;

use super::listing_order::{ListingOrder, SortKey, SortOrder};
use super::path::check_beneath;

/// One visible entry of a directory.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(super) name: OsString,
    pub(super) is_dir: bool,
    /// Bytes (0 for a directory).
    pub(super) size: u64,
    pub(super) modified: Option<SystemTime>,
}

/// The entries of `dir` a client may see: directories first, then files, each sorted by name.
///
/// Hidden names are left out unless `show_hidden`; so are symlinks that resolve outside `root` (or to
/// a hidden name), dangling ones, and anything that is neither a regular file nor a directory.
pub(crate) fn read(dir: &Path, root: &Path, show_hidden: bool) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        if !show_hidden && name.as_bytes().first() == Some(&b'.') {
            continue;
        }
        let Ok(file_type) = entry.file_type() else { continue };
        let metadata = if file_type.is_symlink() {
            let Ok(target) = std::fs::canonicalize(entry.path()) else { continue };
            if check_beneath(root, &target, show_hidden).is_err() {
                continue;
            }
            std::fs::metadata(&target)
        } else {
            entry.metadata()
        };
        let Ok(metadata) = metadata else { continue };
        if !metadata.is_dir() && !metadata.is_file() {
            continue;
        }
        entries.push(Entry {
            name,
            is_dir: metadata.is_dir(),
            size: if metadata.is_dir() { 0 } else { metadata.len() },
            modified: metadata.modified().ok(),
        });
    }
    sort(&mut entries, ListingOrder::default());
    Ok(entries)
}

/// Puts `entries` in `order`: directories first, then files; ties by name. Directories have no size:
/// sorted by size, they stay in name order.
pub(crate) fn sort(entries: &mut [Entry], order: ListingOrder) {
    entries.sort_by(|a, b| {
        let by_name = || a.name.as_bytes().cmp(b.name.as_bytes());
        if a.is_dir != b.is_dir {
            return b.is_dir.cmp(&a.is_dir);
        }
        let by_key = match order.key {
            SortKey::Size if a.is_dir => return by_name(),
            SortKey::Name => by_name(),
            SortKey::Size => a.size.cmp(&b.size).then_with(by_name),
            SortKey::Time => a.modified.cmp(&b.modified).then_with(by_name),
        };
        match order.order {
            SortOrder::Asc => by_key,
            SortOrder::Desc => by_key.reverse(),
        }
    });
}

#[derive(Serialize)]
struct JsonListing<'a> {
    path: &'a str,
    entries: Vec<JsonEntry>,
}

#[derive(Serialize)]
struct JsonEntry {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    size: Option<u64>,
    modified: Option<String>,
}

/// The JSON listing of the directory shown as `display_path`.
pub(crate) fn json(display_path: &str, entries: &[Entry]) -> String {
    let listing = JsonListing {
        path: display_path,
        entries: entries
            .iter()
            .map(|e| JsonEntry {
                name: e.name.to_string_lossy().into_owned(),
                kind: if e.is_dir { "dir" } else { "file" },
                size: (!e.is_dir).then_some(e.size),
                modified: e.modified.map(rfc3339),
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&listing).unwrap_or_else(|_| "{}".to_owned());
    out.push('\n');
    out
}

/// `t` as RFC 3339 in UTC, to the second: `2026-11-28T21:02:41Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Whether the Accept header prefers `application/json` to `text/html`.
///
/// Each media type takes the quality of the most specific range that matches it; a tie goes to HTML.
pub(crate) fn prefers_json(headers: &HeaderMap) -> bool {
    let mut json = Quality::default();
    let mut html = Quality::default();
    for value in headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()) {
        for item in value.split(',') {
            let mut params = item.split(';');
            let range = params.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = params
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .and_then(|(_, v)| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            json.offer(&range, "application", "json", q);
            html.offer(&range, "text", "html", q);
        }
    }
    json.q > 0.0 && json.q > html.q
}

/// The quality of one media type, from its most specific matching range so far.
#[derive(Debug, Default)]
struct Quality {
    specificity: u8,
    q: f32,
}

impl Quality {
    fn offer(&mut self, range: &str, top: &str, sub: &str, q: f32) {
        let (range_top, range_sub) = range.split_once('/').unwrap_or((range, ""));
        let specificity = match (range_top, range_sub) {
            (t, s) if t == top && s == sub => 3,
            (t, "*") if t == top => 2,
            ("*", "*") => 1,
            _ => return,
        };
        if specificity > self.specificity || (specificity == self.specificity && q > self.q) {
            self.specificity = specificity;
            self.q = q;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accept(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_str(v).unwrap());
        prefers_json(&h)
    }

    #[test]
    fn negotiation() {
        assert!(accept("application/json"));
        assert!(accept("application/json, text/html;q=0.5"));
        assert!(accept("application/*"));
        assert!(!accept("*/*"));
        assert!(!accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
        assert!(!accept("application/json;q=0, */*"));
        assert!(!prefers_json(&HeaderMap::new()));
    }

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::new(1_000_000_000, 123);
        assert_eq!(rfc3339(t), "2001-09-09T01:46:40Z");
    }
}
