//! docs/howto.md and its checks: the programs it shows are the files they name, and the runs it shows are
//! what the programs print.
//!
//! Two markers, each followed by one fenced block:
//! - `<!-- include: PATH -->`: the block is the file PATH (from the repository root), byte for byte.
//! - `<!-- output: NAME -->`: the block is the transcript (commands and their output) that the test of
//!   that name produces, once the variable parts ([`mask`]) are masked on both sides.
//!
//! `TLSKIT_BLESS=1 cargo test -p tlskit-cli --test examples` rewrites the blocks from the files and the
//! real runs instead of comparing them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use regex::Regex;

/// Tests of one process rewrite the document one at a time.
static WRITE: Mutex<()> = Mutex::new(());

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// docs/howto.md.
pub fn document() -> PathBuf {
    root().join("docs/howto.md")
}

fn blessing() -> bool {
    std::env::var_os("TLSKIT_BLESS").is_some_and(|v| !v.is_empty())
}

/// A marked block: the marker's argument and the byte range of the block's content.
struct Block {
    arg: String,
    content: std::ops::Range<usize>,
}

/// Every `<!-- KIND: ARG -->` marker of `text` and the fenced block after it.
fn blocks(text: &str, kind: &str) -> Vec<Block> {
    let open = format!("<!-- {kind}: ");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(&open) {
        let start = from + at + open.len();
        let end = start + text[start..].find(" -->").expect("marker closed on its line");
        let arg = text[start..end].to_string();
        // The fence follows on the next line; the content runs to the closing fence.
        let fence_line = end + text[end..].find('\n').expect("newline after marker") + 1;
        assert!(text[fence_line..].starts_with("```"), "{kind} {arg}: no fenced block right after the marker");
        let content_start = fence_line + text[fence_line..].find('\n').expect("fence line ends") + 1;
        let content_end = content_start
            + text[content_start..].find("\n```").map(|i| i + 1).unwrap_or_else(|| panic!("{kind} {arg}: unclosed"));
        found.push(Block { arg, content: content_start..content_end });
        from = content_end;
    }
    found
}

/// The arguments of every marker of `kind` in the document.
pub fn markers(kind: &str) -> Vec<String> {
    let text = std::fs::read_to_string(document()).expect("docs/howto.md");
    blocks(&text, kind).into_iter().map(|b| b.arg).collect()
}

/// Masks what changes from run to run: ports, times and dates, durations, hex strings (random bytes,
/// fingerprints, keys), message lengths that depend on signatures and certificates.
pub fn mask(text: &str, extra: &[(&str, &str)]) -> String {
    let rules = [
        (r"server id [^\s,]+", "server id ID"),
        // Whether the refusal came as an alert or a closed connection depends on timing.
        (r"none was given \([^)]*\)", "none was given (…)"),
        // `tlskit cert init` names each CA with a random suffix.
        (r"(test CA|other CA) [0-9A-F]{4}\b", "$1 XXXX"),
        (r"(localhost|127\.0\.0\.1|\[::1\]):\d+", "$1:PORT"),
        (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?", "TIME"),
        (r"[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \d{4}( GMT)?", "TIME"),
        (r"\d+(\.\d+)? ?(ms|µs|s)\b", "DURATION"),
        (r"([0-9A-F]{2}:){8,}[0-9A-F]{2}", "FINGERPRINT"),
        (r"\b[0-9a-fA-F]{16,}\b", "HEX"),
        (r"\(\d+ bytes", "(N bytes"),
    ];
    let mut text = text.to_string();
    for &(pattern, with) in extra.iter().chain(&rules) {
        text = Regex::new(pattern).expect("mask pattern").replace_all(&text, with).into_owned();
    }
    text
}

/// Compares (or, blessing, rewrites) one marked block with `expected`; `same` says whether two agree.
fn check(kind: &str, arg: &str, expected: &str, same: impl Fn(&str, &str) -> bool) {
    let _guard = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let path = document();
    let text = std::fs::read_to_string(&path).expect("docs/howto.md");
    let block = blocks(&text, kind)
        .into_iter()
        .find(|b| b.arg == arg)
        .unwrap_or_else(|| panic!("docs/howto.md has no <!-- {kind}: {arg} --> block"));
    let shown = &text[block.content.clone()];
    if same(shown, expected) {
        return;
    }
    if blessing() {
        let mut text = text.clone();
        text.replace_range(block.content, expected);
        std::fs::write(&path, text).expect("write docs/howto.md");
        return;
    }
    panic!(
        "docs/howto.md, {kind} {arg}: the block drifted from the real one \
         (TLSKIT_BLESS=1 rewrites it)\n--- shown\n{shown}--- real\n{expected}"
    );
}

/// Every `include` block is its file.
pub fn check_includes() {
    for arg in markers("include") {
        let file = std::fs::read_to_string(root().join(&arg)).unwrap_or_else(|e| panic!("{arg}: {e}"));
        check("include", &arg, &file, |a, b| a == b);
    }
}

/// The `output` block NAME is `transcript`, masked alike; `port` (the one a test's server got) is shown
/// as 4433 when blessing, the port the document's commands use. `extra` masks (pattern, replacement) what
/// only this run varies in (a count that depends on thread timing).
pub fn check_output(name: &str, transcript: &str, port: Option<u16>, extra: &[(&str, &str)]) {
    let transcript = match port {
        Some(port) => transcript.replace(&format!(":{port}"), ":4433"),
        None => transcript.to_string(),
    };
    check("output", name, &transcript, |a, b| mask(a, extra) == mask(b, extra));
}

/// A transcript as a console shows it: `$ command` lines and what they printed.
#[derive(Default)]
pub struct Transcript(String);

impl Transcript {
    /// A command as the reader types it.
    pub fn command(&mut self, shown: &str) -> &mut Self {
        self.0.push_str("$ ");
        self.0.push_str(shown);
        self.0.push('\n');
        self
    }

    /// Output, as printed.
    pub fn output(&mut self, text: &str) -> &mut Self {
        self.0.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            self.0.push('\n');
        }
        self
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.0
    }
}
