//! The integration tests, as one test binary: a cold build spent most of
//! its time linking one binary per file. One module per area; `common` is
//! the shared harness (servers on port 0, in-process or as a child process
//! where a process is the point; real clients, replies, receivers, message
//! builders). Run one area with `cargo test --test it api::`.

mod common;

mod api;
mod auth;
mod bench;
mod controles;
mod crash;
mod dashboard;
mod delivery;
mod delivery_faults;
mod fixtures;
mod generate;
mod layers;
mod migrate;
mod no_panic;
mod on_postgres;
mod oracle;
mod postgres_outage;
mod reports;
mod security;
mod store_contract;
mod two_instances;
mod typed_model;
