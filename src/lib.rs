//! ladderpost: the hub between the Participatieladder entry application and
//! the municipalities' client-tracking systems.
//!
//! Data flows one way: bytes → hardened XML reading ([`xml`]) → schema
//! validation against the published XSD ([`schema`]) → domain rules and typed
//! messages ([`domain`]). [`validate()`] is that pipeline's entry point.

pub mod api;
pub mod auth;
pub mod bench;
pub mod dashboard;
pub mod delivery;
pub mod diagnostics;
pub mod domain;
pub mod generate;
pub mod history;
pub mod http_error;
pub mod replies;
pub mod reports;
pub mod schema;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod transport;
pub mod validate;
pub mod xml;

pub use diagnostics::{Code, Layer, Melding, Position};
pub use validate::{validate, validate_schema, Rejection, Valid};
