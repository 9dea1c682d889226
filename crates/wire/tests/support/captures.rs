//! Where the shared test captures are, for every test that reads them (included with `#[path]` by the
//! tests of tlskit-wire and tlskit-cli, which sit at the same depth below the repository).

use std::path::PathBuf;

/// `$TLSKIT_CAPTURES`, else `<repo>/../shared/captures` (where CI puts it), else `/work/shared/captures`.
/// Panics with the fix when none holds `expected.json`: a test must not pass without its captures.
pub fn captures_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("TLSKIT_CAPTURES").map(PathBuf::from),
        Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"))),
        Some(PathBuf::from("/work/shared/captures")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("expected.json").is_file())
        .unwrap_or_else(|| panic!("captures not found: set TLSKIT_CAPTURES or put shared/ beside the repository"))
}
