//! Where the test captures are, for every test that reads them (included with `#[path]` by the tests of
//! tlskit-wire and tlskit-cli, which sit at the same depth below the repository).

use std::path::PathBuf;

/// `<repo>/tests/captures`, found from the crate's own manifest so that a bare clone has everything.
/// Panics when `expected.json` is not there: a test must not pass without its captures.
pub fn captures_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/captures"));
    assert!(dir.join("expected.json").is_file(), "captures not found: {} has no expected.json", dir.display());
    dir
}
