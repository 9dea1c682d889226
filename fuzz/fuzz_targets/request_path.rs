#![no_main]
//! See `tlskit_fuzz_harness::request_path`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tlskit_fuzz_harness::request_path(data));
