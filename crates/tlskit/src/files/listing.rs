//! Directory listings: read a directory, then render it as HTML or JSON (schema in the module docs of
//! [`crate::files`]).

use std::cmp::Ordering;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;
use tlskit_wire::time::rfc3339_of;

use super::page::{escape_html, html_page};
use super::path::{check_beneath, encode_name};

/// One visible entry of a directory.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: OsString,
    is_dir: bool,
    size: u64,
    modified: Option<SystemTime>,
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
    entries.sort_by(|a, b| match (a.is_dir, b.is_dir) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.name.as_bytes().cmp(b.name.as_bytes()),
    });
    Ok(entries)
}

/// The HTML listing of the directory shown as `display_path` (decoded, ending in `/`).
pub(crate) fn html(display_path: &str, entries: &[Entry], at_root: bool) -> String {
    let title = format!("Index of {display_path}");
    let mut body = String::with_capacity(256 + entries.len() * 160);
    let _ = write!(
        body,
        "<h1>{}</h1>\n<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n",
        escape_html(&title)
    );
    if !at_root {
        body.push_str("<tr><td><a href=\"../\">../</a></td><td class=\"size\">-</td><td></td></tr>\n");
    }
    for entry in entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let size = if entry.is_dir { "-".to_owned() } else { entry.size.to_string() };
        let _ = writeln!(
            body,
            "<tr><td><a href=\"{href}{slash}\">{name}{slash}</a></td><td class=\"size\">{size}</td><td>{modified}</td></tr>",
            href = encode_name(&entry.name),
            name = escape_html(&entry.name.to_string_lossy()),
            modified = entry.modified.map(rfc3339_of).unwrap_or_default(),
        );
    }
    body.push_str("</tbody>\n</table>");
    html_page(&title, &body)
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
        assert!(html("/", &entries, true).contains("<td>2001-09-09T01:46:40Z</td>"));
    }
}
