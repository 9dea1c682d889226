//! Directory listings: read a directory, order it, render it as JSON (schema in the module docs of
//! [`crate::files`]); the HTML page is [`super::listing_page`].

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;
use tlskit_wire::time::rfc3339_of;

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
                modified: e.modified.map(rfc3339_of),
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&listing).unwrap_or_else(|_| "{}".to_owned());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_dates_are_rfc3339_to_the_second() {
        let modified = Some(SystemTime::UNIX_EPOCH + std::time::Duration::new(1_000_000_000, 123));
        let entries = [Entry { name: "a".into(), is_dir: false, size: 1, modified }];
        let listing: serde_json::Value = serde_json::from_str(&json("/", &entries)).unwrap();
        assert_eq!(listing["entries"][0]["modified"], "2001-09-09T01:46:40Z");
    }
}
