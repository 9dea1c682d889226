#![no_main]
//! The listing's sort query (`?sort=size&order=desc`), parsed from any bytes: an order always comes out,
//! never a panic; the query it writes for itself and for each header link parses back to that order.
//!
//! The parser is tlskit's `files/listing_order.rs`, compiled here by path (it uses only `std`), so this
//! target does not build the whole server library.

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/tlskit/src/files/listing_order.rs"]
#[allow(dead_code)]
mod listing_order;

use listing_order::{ListingOrder, SortKey};

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    let order = ListingOrder::from_query(Some(&query));
    assert_eq!(ListingOrder::from_query(Some(&order.query())), order);
    for key in [SortKey::Name, SortKey::Size, SortKey::Time] {
        let link = order.toggled(key);
        assert_eq!(link.key, key);
        assert_eq!(ListingOrder::from_query(Some(&link.query())), link);
    }
});
