//! Dashboard sessions: a browser that pasted a valid token gets a random
//! session id in a cookie; the token itself stays here, server-side, so
//! that every request is checked again by `auth::Auth::bearer` (a revoked
//! or expired token ends its sessions at once).
//!
//! Sessions live in this process's memory: each instance behind a load
//! balancer has its own, a restart ends them all (the user logs in again),
//! and a balancer must keep a browser on one instance (docs/security.md).
//! The map is keyed by the SHA-256 of the id, so a lookup's timing says
//! nothing about the ids that exist.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// And after this long in any case.
pub const ABSOLUTE: Duration = Duration::from_secs(8 * 60 * 60);
/// At most this many sessions at once (expired ones are dropped first).
pub const MAX_SESSIONS: usize = 10_000;

/// The session cookie's name.
pub const COOKIE: &str = "lp_sessie";
/// The login form's double-submit cookie (before there is a session).
pub const LOGIN_COOKIE: &str = "lp_inlog";

/// Why no session could be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("too many open sessions; try again later")]
    Full,
    #[error("no randomness for a session id")]
    Random,
}

struct Session {
    token: String,
    csrf: String,
    created: Instant,
    used: Instant,
}

/// A session just opened: the id for the cookie, the CSRF token for forms.
#[derive(Debug)]
pub struct Opened {
    pub id: String,
    pub csrf: String,
}

/// A live session, as a request finds it.
#[derive(Clone)]
pub struct Active {
    /// The token the user logged in with, checked again on every request.
    pub token: String,
    /// Every form of this session carries it; every POST is checked.
    pub csrf: String,
}

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Active { .. }")
    }
}

/// The sessions of this instance.
pub struct Sessions {
    by_hash: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
    absolute: Duration,
    max: usize,
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions::new(IDLE, ABSOLUTE, MAX_SESSIONS)
    }
}

fn hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// 32 random bytes, base64url without padding.
pub fn random_token() -> Result<String, SessionError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| SessionError::Random)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Equality that takes as long whatever the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Sessions {
    pub fn new(idle: Duration, absolute: Duration, max: usize) -> Sessions {
        Sessions {
            by_hash: Mutex::new(HashMap::new()),
            idle,
            absolute,
            max,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.by_hash.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.used) < self.idle
            && now.saturating_duration_since(s.created) < self.absolute
    }

    /// Opens a session for a token that `Auth` accepted.
    pub fn open(&self, token: &str) -> Result<Opened, SessionError> {
        self.open_at(token, Instant::now())
    }

    fn open_at(&self, token: &str, now: Instant) -> Result<Opened, SessionError> {
        let (id, csrf) = (random_token()?, random_token()?);
        let mut map = self.map();
        if map.len() >= self.max {
            map.retain(|_, s| self.live(s, now));
            if map.len() >= self.max {
                return Err(SessionError::Full);
            }
        }
        map.insert(
            hash(&id),
            Session {
                token: token.to_string(),
                csrf: csrf.clone(),
                created: now,
                used: now,
            },
        );
        Ok(Opened { id, csrf })
    }

    /// The live session with this id, its idle time restarted; an expired
    /// one is removed.
    pub fn find(&self, id: &str) -> Option<Active> {
        self.find_at(id, Instant::now())
    }

    fn find_at(&self, id: &str, now: Instant) -> Option<Active> {
        let key = hash(id);
        let mut map = self.map();
        let live = self.live(map.get(&key)?, now);
        if !live {
            map.remove(&key);
            return None;
        }
        let s = map.get_mut(&key)?;
        s.used = now;
        Some(Active {
            token: s.token.clone(),
            csrf: s.csrf.clone(),
        })
    }

    /// Ends a session (logout, or its token no longer valid).
    pub fn close(&self, id: &str) {
        self.map().remove(&hash(id));
    }

    /// Sessions now held, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The `Set-Cookie` value of the session cookie: never readable by script,
/// never sent cross-site, only to the dashboard's own paths.
pub fn session_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/dashboard; Secure; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn session_cookie_removed() -> String {
    format!("{COOKIE}=; Path=/dashboard; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The login form's double-submit cookie, only for the login path.
pub fn login_cookie(value: &str) -> String {
    format!("{LOGIN_COOKIE}={value}; Path=/dashboard/inloggen; Secure; HttpOnly; SameSite=Strict")
}

pub fn login_cookie_removed() -> String {
    format!(
        "{LOGIN_COOKIE}=; Path=/dashboard/inloggen; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    )
}

/// Whether a POST's `Origin` is this service itself, as the browser
/// reached it (`Host`). A missing `Origin` is refused too: every browser
/// that can run the dashboard sends it on a form POST.
pub fn same_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|a| !host.is_empty() && a.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_finds_its_token_and_csrf_and_ends_on_close() {
        let s = Sessions::default();
        let opened = s.open("lp_abc_def").unwrap();
        let found = s.find(&opened.id).unwrap();
        assert_eq!(found.token, "lp_abc_def");
        assert_eq!(found.csrf, opened.csrf);
        assert_ne!(opened.id, opened.csrf);
        assert!(s.find("another id").is_none());
        s.close(&opened.id);
        assert!(s.find(&opened.id).is_none());
    }

    #[test]
    fn a_session_expires_when_idle_and_after_its_absolute_limit() {
        let s = Sessions::new(Duration::from_secs(10), Duration::from_secs(25), 10);
        let t0 = Instant::now();
        let a = s.open_at("t", t0).unwrap();
        // Used every 9 s it stays alive until the absolute limit.
        assert!(s.find_at(&a.id, t0 + Duration::from_secs(9)).is_some());
        assert!(s.find_at(&a.id, t0 + Duration::from_secs(18)).is_some());
        assert!(s.find_at(&a.id, t0 + Duration::from_secs(25)).is_none());
        let b = s.open_at("t", t0).unwrap();
        assert!(s.find_at(&b.id, t0 + Duration::from_secs(10)).is_none());
        assert!(s.is_empty(), "expired sessions are removed when found");
    }

    #[test]
    fn a_full_table_drops_expired_sessions_before_refusing() {
        let s = Sessions::new(Duration::from_secs(10), Duration::from_secs(100), 2);
        let t0 = Instant::now();
        s.open_at("a", t0).unwrap();
        s.open_at("b", t0).unwrap();
        assert_eq!(s.open_at("c", t0).err(), Some(SessionError::Full));
        assert!(s.open_at("c", t0 + Duration::from_secs(11)).is_ok());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn ids_are_random_and_url_safe() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let h = "a=1; lp_sessie=xyz; lp_inlog=q";
        assert_eq!(cookie(h, COOKIE), Some("xyz"));
        assert_eq!(cookie(h, LOGIN_COOKIE), Some("q"));
        assert_eq!(cookie(h, "b"), None);
        assert!(session_cookie("x").contains("HttpOnly; SameSite=Strict"));
        assert!(session_cookie("x").contains("Secure"));
    }

    #[test]
    fn only_the_own_origin_may_post() {
        let host = Some("127.0.0.1:8080");
        assert!(same_origin(Some("http://127.0.0.1:8080"), host));
        assert!(same_origin(Some("https://127.0.0.1:8080"), host));
        assert!(!same_origin(Some("http://evil.example"), host));
        assert!(!same_origin(Some("http://127.0.0.1:8081"), host));
        assert!(!same_origin(Some("null"), host));
        assert!(!same_origin(None, host));
        assert!(!same_origin(Some("http://127.0.0.1:8080"), None));
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
