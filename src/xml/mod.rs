//! Hardened XML reading.
