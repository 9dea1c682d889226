//! The regression corpus of every fuzz target (fuzz/regressions/<target>/: crash inputs fuzzing found, and
//! seeds), replayed through the targets' own bodies. A panic is a regression; a target without inputs, or a
//! corpus directory or fuzz target that names no target, fails the test.

use std::path::{Path, PathBuf};

use tlskit_fuzz_harness::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn names_in(dir: &Path, suffix: &str) -> Vec<String> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(suffix).map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn every_target_replays_its_regression_corpus() {
    let mut total = 0;
    for (name, body) in TARGETS {
        let dir = fuzz_dir().join("regressions").join(name);
        let inputs = names_in(&dir, "");
        assert!(!inputs.is_empty(), "{}: no regression inputs for fuzz target {name}", dir.display());
        for input in inputs {
            let path = dir.join(&input);
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            println!("{name}: {input} ({} bytes)", data.len());
            body(&data);
            total += 1;
        }
    }
    println!("{total} inputs replayed");
}

#[test]
fn the_target_lists_agree() {
    let mut known: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    known.sort();
    assert_eq!(names_in(&fuzz_dir().join("fuzz_targets"), ".rs"), known, "fuzz/fuzz_targets/ and TARGETS differ");
    assert_eq!(names_in(&fuzz_dir().join("regressions"), ""), known, "fuzz/regressions/ and TARGETS differ");
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for name in &known {
        assert!(manifest.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml has no [[bin]] {name}");
    }
}
