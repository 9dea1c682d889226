#![no_main]
//! See `tlskit_fuzz_harness::conditional`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tlskit_fuzz_harness::conditional(data));
