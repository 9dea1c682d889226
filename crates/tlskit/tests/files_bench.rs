//! Cost of the file service alone per request (no TLS, no HTTP): the small-file cache hit path,
//! the uncached path and a listing. Run: `cargo test --release -p tlskit --test files_bench -- --ignored --nocapture`.

use std::time::Duration;

use http::Request;
use tlskit::files::{FileOptions, FileService};

/// CPU time of this thread (user + system): unlike wall time, not inflated by other load.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the valid pointer given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU nanoseconds per `respond_now` of `uri`, body included.
fn per_request(svc: &FileService, uri: &str, n: u32) -> f64 {
    let request = Request::get(uri).body(()).unwrap();
    let want = svc.respond_now(&request).status();
    let start = thread_cpu();
    for _ in 0..n {
        let response = svc.respond_now(&request);
        assert_eq!(response.status(), want);
    }
    (thread_cpu() - start).as_nanos() as f64 / f64::from(n)
}

#[test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
fn cost_per_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.txt"), vec![b'x'; 100]).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for i in 0..50 {
        std::fs::write(dir.path().join("sub").join(format!("f{i}.txt")), "x").unwrap();
    }
    let cached = FileService::new(dir.path(), FileOptions::default()).unwrap();
    let uncached = FileService::new(dir.path(), FileOptions { cache_bytes: 0, ..FileOptions::default() }).unwrap();
    let every_hit = FileOptions { revalidate_after: Duration::ZERO, ..FileOptions::default() };
    let stat_each = FileService::new(dir.path(), every_hit).unwrap();
    for (name, svc, uri, n) in [
        ("100-byte file, cached", &cached, "/small.txt", 200_000),
        ("100-byte file, cached, stat on every hit", &stat_each, "/small.txt", 200_000),
        ("100-byte file, no cache", &uncached, "/small.txt", 50_000),
        ("listing of 50 files", &cached, "/sub/", 2_000),
    ] {
        println!("{name}: {:.0} CPU ns/request", per_request(svc, uri, n));
    }
}
