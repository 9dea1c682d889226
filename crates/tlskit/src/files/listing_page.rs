//! The HTML listing of a directory: breadcrumbs, a parent link, one row per entry (size in binary units
//! with the exact bytes in a title, modification time), and column headers that sort it through links.
//! No script: the page works under [`super::PAGE_CSP`]; the icons are CSS data images.
//!
//! Every link is relative (`../`, `name`, `?sort=…`), so the page is right wherever it is served from,
//! `/_reneg_/dir/` included.

use std::fmt::Write as _;

use tlskit_wire::render::html::binary_size;
use tlskit_wire::time::rfc3339_of;

use super::listing::{sort, Entry};
use super::listing_order::{ListingOrder, SortKey, SortOrder};
use super::page::{escape_html, html_page};
use super::path::{encode_name, RequestPath};

/// The listing page of the directory `path`, its entries in `order`.
pub(crate) fn html(path: &RequestPath, entries: &mut [Entry], order: ListingOrder) -> String {
    sort(entries, order);
    let display = path.display_dir();
    let title = format!("Index of {display}");
    // Directory links keep a chosen order as one browses; file links stay plain.
    let keep = if order.is_default() { String::new() } else { format!("?{}", escape_html(&order.query())) };
    let mut body = String::with_capacity(1024 + entries.len() * 240);
    breadcrumbs(&mut body, &path.display_segments(), &keep);
    let _ = writeln!(body, "<h1>{}</h1>", escape_html(&title));
    summary(&mut body, entries);
    body.push_str("<table class=\"listing\">\n<thead><tr>");
    for (key, label, class) in
        [(SortKey::Name, "Name", "name"), (SortKey::Size, "Size", "size"), (SortKey::Time, "Modified (UTC)", "time")]
    {
        header(&mut body, order, key, label, class);
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    if !path.is_root() {
        let _ = writeln!(
            body,
            "<tr class=\"up\"><td class=\"name\"><a href=\"../{keep}\">Parent directory</a></td>\
             <td class=\"size\"></td><td class=\"time\"></td></tr>"
        );
    }
    if entries.is_empty() {
        body.push_str("<tr class=\"empty\"><td colspan=\"3\">This directory is empty.</td></tr>\n");
    }
    for entry in entries.iter() {
        row(&mut body, entry, &keep);
    }
    body.push_str("</tbody>\n</table>");
    html_page(&title, &body)
}

/// `root / a / b`: each ancestor a relative link, the current directory plain text.
fn breadcrumbs(body: &mut String, segments: &[String], keep: &str) {
    body.push_str("<nav class=\"crumbs\" aria-label=\"Breadcrumbs\">");
    let depth = segments.len();
    let up = |levels: usize| if levels == 0 { "./".to_owned() } else { "../".repeat(levels) };
    if depth == 0 {
        body.push_str("<span aria-current=\"page\">root</span>");
    } else {
        let _ = write!(body, "<a href=\"{}{keep}\">root</a>", up(depth));
    }
    for (i, segment) in segments.iter().enumerate() {
        body.push_str("<span class=\"sep\">/</span>");
        if i + 1 == depth {
            let _ = write!(body, "<span aria-current=\"page\">{}</span>", escape_html(segment));
        } else {
            let _ = write!(body, "<a href=\"{}{keep}\">{}</a>", up(depth - 1 - i), escape_html(segment));
        }
    }
    body.push_str("</nav>\n");
}

/// `2 directories, 5 files (12.3 MiB)`.
fn summary(body: &mut String, entries: &[Entry]) {
    let dirs = entries.iter().filter(|e| e.is_dir).count();
    let files = entries.len() - dirs;
    let bytes: u64 = entries.iter().filter(|e| !e.is_dir).map(|e| e.size).sum();
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        body,
        "<p class=\"meta\">{}, {} (<span title=\"{bytes} bytes\">{}</span>)</p>",
        plural(dirs, "directory", "directories"),
        plural(files, "file", "files"),
        binary_size(bytes)
    );
}

/// A column header: a link to the order a click asks for; the active one marked for eyes and screen readers.
fn header(body: &mut String, order: ListingOrder, key: SortKey, label: &str, class: &str) {
    let target = order.toggled(key);
    let href = escape_html(&format!("?{}", target.query()));
    if order.key == key {
        let (aria, mark) = match order.order {
            SortOrder::Asc => ("ascending", "▲"),
            SortOrder::Desc => ("descending", "▼"),
        };
        let _ = write!(
            body,
            "<th class=\"{class}\" aria-sort=\"{aria}\"><a href=\"{href}\">{label}<span class=\"sortmark\" \
             aria-hidden=\"true\">{mark}</span></a></th>"
        );
    } else {
        let _ = write!(body, "<th class=\"{class}\"><a href=\"{href}\">{label}</a></th>");
    }
}

fn row(body: &mut String, entry: &Entry, keep: &str) {
    let name = escape_html(&entry.name.to_string_lossy());
    let href = encode_name(&entry.name);
    if entry.is_dir {
        let _ = write!(
            body,
            "<tr class=\"dir\"><td class=\"name\"><a href=\"{href}/{keep}\">{name}/</a></td><td class=\"size\">-</td>"
        );
    } else {
        let _ = write!(
            body,
            "<tr class=\"file\"><td class=\"name\"><a href=\"{href}\">{name}</a></td>\
             <td class=\"size\" title=\"{} bytes\">{}</td>",
            entry.size,
            binary_size(entry.size)
        );
    }
    match entry.modified.map(rfc3339_of) {
        // `2026-11-28T21:02:41Z`: the date and the minute shown, the whole instant in the element.
        Some(t) if t.len() >= 16 => {
            let _ = writeln!(
                body,
                "<td class=\"time\"><time datetime=\"{t}\" title=\"{t}\">{}<span class=\"hm\"> {}</span></time></td></tr>",
                &t[..10],
                &t[11..16]
            );
        }
        _ => body.push_str("<td class=\"time\"></td></tr>\n"),
    }
}
