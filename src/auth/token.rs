//! API tokens: `lp_<credential id>_<base64url secret>`, 32 random bytes,
//! stored only as a SHA-256 hash and compared in constant time.

use base64::Engine;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "lp_";

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// A fresh credential id: 16 hex digits (never an underscore).
pub fn new_id() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b)?;
    Ok(hex(&b))
}

/// A fresh token for credential `id`.
pub fn generate(id: &str) -> Result<String, getrandom::Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    Ok(format!(
        "{PREFIX}{id}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    ))
}

/// The credential id a token names, if it has the token's shape.
pub fn credential_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (!id.is_empty() && !secret.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(id)
}

/// Hex SHA-256 of a token: what is stored.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Whether `token` hashes to `stored`, comparing every byte (no early exit).
pub fn matches(token: &str, stored: &str) -> bool {
    let a = hash(token);
    let (a, b) = (a.as_bytes(), stored.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Salted SHA-256 of a BSN for the audit log (hex).
pub fn bsn_hash(salt: &[u8], bsn: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(bsn.as_bytes());
    hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let id = new_id().unwrap();
        let t = generate(&id).unwrap();
        assert_eq!(credential_id(&t), Some(id.as_str()));
        let h = hash(&t);
        assert!(matches(&t, &h));
        assert!(!matches(&format!("{t}x"), &h));
        assert_eq!(credential_id("lp__abc"), None);
        assert_eq!(credential_id("xx_ab_cd"), None);
    }
}
