//! Signed deliveries, after the Standard Webhooks convention
//! (<https://www.standardwebhooks.com>): headers `webhook-id`,
//! `webhook-timestamp` (Unix seconds) and `webhook-signature`
//! (`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with the
//! secret's bytes). A secret is written `whsec_` + base64 of 32 random
//! bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a delivery's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

const PREFIX: &str = "whsec_";

/// A signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A fresh random secret.
    pub fn generate() -> Result<Secret, getrandom::Error> {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Secret(bytes))
    }

    /// Reads `whsec_…` (the prefix is optional).
    pub fn parse(s: &str) -> Option<Secret> {
        let b64 = s.trim().strip_prefix(PREFIX).unwrap_or(s.trim());
        let bytes = STANDARD.decode(b64).ok()?;
        (bytes.len() >= 16).then_some(Secret(bytes))
    }

    /// The secret as shown (once) to a subscriber.
    pub fn encode(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` header value.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!(
            "v1,{}",
            STANDARD.encode(self.mac(id, timestamp, body).finalize().into_bytes())
        )
    }

    /// Checks a `webhook-signature` header (space-separated list; any `v1`
    /// entry may match) in constant time, and the timestamp against `now`.
    pub fn verify(
        &self,
        id: &str,
        timestamp: i64,
        body: &[u8],
        header: &str,
        now: i64,
    ) -> Result<(), VerifyError> {
        if (now - timestamp).abs() > TOLERANCE_SECONDS {
            return Err(VerifyError::Timestamp);
        }
        let matched = header
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .any(|sig| {
                STANDARD
                    .decode(sig)
                    .is_ok_and(|bytes| self.mac(id, timestamp, body).verify_slice(&bytes).is_ok())
            });
        if matched {
            Ok(())
        } else {
            Err(VerifyError::Signature)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the timestamp is too far from now (replayed or delayed delivery)")]
    Timestamp,
    #[error("no valid signature")]
    Signature,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // From the Standard Webhooks specification's examples.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verifies_and_rejects() {
        let s = Secret::generate().unwrap();
        let sig = s.sign("id1", 1000, b"body");
        assert_eq!(s.verify("id1", 1000, b"body", &sig, 1010), Ok(()));
        assert_eq!(
            s.verify("id1", 1000, b"bodY", &sig, 1010),
            Err(VerifyError::Signature)
        );
        assert_eq!(
            s.verify("id2", 1000, b"body", &sig, 1010),
            Err(VerifyError::Signature)
        );
        assert_eq!(
            s.verify("id1", 1000, b"body", &sig, 1000 + 301),
            Err(VerifyError::Timestamp)
        );
        let other = Secret::generate().unwrap();
        assert_eq!(
            other.verify("id1", 1000, b"body", &sig, 1000),
            Err(VerifyError::Signature)
        );
        assert_eq!(Secret::parse(&s.encode()), Some(s));
    }
}
