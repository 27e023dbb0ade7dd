//! Delivery to back-offices: signed push forwarding ([`push`]), the
//! reference receiver ([`receiver`]) and the vendors' test kit
//! ([`conformance`]). The pull feed is an API resource (`api::feed`).

pub mod conformance;
pub mod push;
pub mod receiver;
pub mod signature;
