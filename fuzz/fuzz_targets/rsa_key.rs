#![no_main]
//! See `tlskit_fuzz_harness::rsa_key`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tlskit_fuzz_harness::rsa_key(data));
