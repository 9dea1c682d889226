//! The README's library example is a doctest: each ```rust block of README.md appears, line for line, as an
//! example in the crate's front-page documentation (src/lib.rs), where `cargo test` compiles and runs it.
//! Lines starting with `# ` are rustdoc's hidden lines (set-up, checks) and are not compared.

/// The visible lines of each ```rust block in `markdown`, where each line is first passed through `unwrap`.
fn rust_blocks(markdown: &str, unwrap: impl Fn(&str) -> Option<&str>) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in markdown.lines().filter_map(&unwrap) {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```rust") => current = Some(Vec::new()),
            Some(_) if fence.starts_with("```") => blocks.extend(current.take()),
            Some(block) if !(line.starts_with("# ") || line == "#") => block.push(line.to_string()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn the_readme_library_example_is_the_front_page_doctest() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).expect("src/lib.rs");
    let in_readme = rust_blocks(&readme, |l| Some(l));
    let in_docs = rust_blocks(&lib, |l| l.strip_prefix("//! ").or_else(|| (l == "//!").then_some("")));
    assert!(!in_readme.is_empty(), "README.md has no ```rust example");
    for block in &in_readme {
        assert!(
            in_docs.contains(block),
            "this README example is not a doctest in crates/tlskit/src/lib.rs:\n{}",
            block.join("\n")
        );
    }
}
