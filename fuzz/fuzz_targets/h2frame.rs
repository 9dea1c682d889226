//! The HTTP/2 frame watch of `serve`'s header timeout: arbitrary client bytes, fed in arbitrary splits, never
//! panic, and the split never changes the answer.
//!
//! Input: [split: u8][bytes...]; the bytes are fed whole to one watch and in chunks of `split + 1` to another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlskit_wire::h2frame::{FrameHeader, HeaderBlockWatch};

fuzz_target!(|data: &[u8]| {
    let Some((&split, bytes)) = data.split_first() else { return };
    let mut whole = HeaderBlockWatch::new();
    whole.feed(bytes);
    let mut pieces = HeaderBlockWatch::new();
    for chunk in bytes.chunks(usize::from(split) + 1) {
        pieces.feed(chunk);
    }
    assert_eq!(whole.header_block_open(), pieces.header_block_open());
    assert_eq!(whole.frames(), pieces.frames());
    if let Some(h) = FrameHeader::new(bytes) {
        let _ = (h.length(), h.frame_type(), h.flags(), h.stream_id(), h.carries_header_block());
    }
});
