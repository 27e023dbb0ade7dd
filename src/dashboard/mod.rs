//! The dashboard: web pages for a team leader, served by ladderpost
//! itself under `/dashboard` (the routes and their handlers are in
//! `api::dashboard`; this module has no HTTP in it).
//!
//! Everything is rendered on the server as HTML with inline SVG charts
//! ([`charts`]), with one embedded stylesheet and no script, so that the
//! strict content security policy holds and nothing is fetched from
//! elsewhere. The figures come from `crate::reports`, the same functions
//! the reports API answers with; a browser logs in with its token, which
//! stays server-side in a [`session::Sessions`] entry.

pub mod charts;
pub mod html;
pub mod pages;
pub mod session;

pub use session::Sessions;

/// The served stylesheet: the embedded file and the colour rules.
pub fn stylesheet() -> &'static str {
    static CSS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSS.get_or_init(|| format!("{}\n{}", include_str!("stijl.css"), charts::colour_rules()))
}

/// The content security policy of the dashboard's pages: the service's
/// default (`default-src 'none'`) plus its own stylesheet and forms.
/// No script at all, no inline styles.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
