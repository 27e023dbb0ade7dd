//! Delivery to back-offices: signed push forwarding ([`push`]) to the
//! addresses it may reach ([`address`]), the reference receiver
//! ([`receiver`]) and the vendors' test kit ([`conformance`]). The pull feed is an API resource (`api::feed`).

pub mod address;
pub mod conformance;
pub mod push;
pub mod receiver;
pub mod signature;
