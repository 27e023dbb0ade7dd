//! Who may do what: organisations, credentials, roles, authentication
//! (bearer tokens, mutual TLS) and the audit log.
//!
//! Shared vocabulary for the API layer and the server: a request that
//! passed authentication carries a [`Principal`] in its extensions; a
//! connection authenticated by a client certificate carries a
//! [`ClientCertificate`].

pub use crate::store::auth::Rol;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The organisation's id.
    pub organisatie: String,
    /// The credential's id (never the secret).
    pub sleutel: String,
    pub rollen: Vec<Rol>,
    /// The CBS codes of the municipalities the organisation acts for.
    pub gemeenten: Vec<String>,
    /// The organisation's OIN, if it has one: messages it sends must name
    /// it as `Afzender/Oin`.
    pub oin: Option<String>,
    /// `(gemeente, organisatie)`: whose measurements in which municipality
    /// this organisation may correct and withdraw besides its own.
    pub namens: Vec<(String, String)>,
}

/// The installation's own organisation, made at first start. Its `beheer`
/// credentials administer the whole installation; a `beheer` credential of
/// any other organisation administers only that organisation.
pub const INSTALLATIE: &str = "beheer";

impl Principal {
    pub fn heeft(&self, rol: Rol) -> bool {
        self.rollen.contains(&rol)
    }

    /// The installation's administrator: every organisation, credential
    /// and audit entry.
    pub fn installatiebeheer(&self) -> bool {
        self.organisatie == INSTALLATIE && self.heeft(Rol::Beheer)
    }

    /// May manage `organisatie`'s credentials and read its audit entries.
    pub fn beheert(&self, organisatie: &str) -> bool {
        self.heeft(Rol::Beheer) && (self.organisatie == organisatie || self.installatiebeheer())
    }

    pub fn voor(&self, gemeente: &str) -> bool {
        self.gemeenten.iter().any(|g| g == gemeente)
    }

    /// The organisations that authorised this one for `gemeente`.
    pub fn namens_in(&self, gemeente: &str) -> Vec<String> {
        self.namens
            .iter()
            .filter(|(g, _)| g == gemeente)
            .map(|(_, o)| o.clone())
            .collect()
    }
}

/// Set on a request by the TLS acceptor when the client presented a
/// certificate chain that verified against the configured CA: the OIN from
/// the certificate subject's serialNumber (Digikoppeling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub oin: String,
}

pub mod admin;
pub mod inzage;
pub mod service;
pub mod token;

pub use service::Auth;
