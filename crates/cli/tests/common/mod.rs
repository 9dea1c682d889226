//! Support code shared by the integration tests: each helper module starts one kind of real peer.
#![allow(dead_code)]
pub mod peers;
pub mod serve;
pub mod traversal;
pub mod pki;
