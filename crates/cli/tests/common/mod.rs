//! Support code shared by the integration tests: each helper module starts one kind of real peer.
#![allow(dead_code)]
pub mod peers;
pub mod pki;
pub mod serve;
pub mod traversal;
