//! TLS with optional client certificates (mutual TLS, as the Digikoppeling
//! REST profile asks): the rustls server configuration, and the OIN of a
//! verified client certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::Decode;

use crate::auth::ClientCertificate;

/// The PEM files of a TLS listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first.
    pub cert: PathBuf,
    /// The server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When given, clients may present a certificate, which must then
    /// verify against these CA certificates; clients without one are still
    /// served (and authenticate with a bearer token).
    pub client_ca: Option<PathBuf>,
}

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(pub String);

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            TlsError(format!(
                "cannot read certificates from {}: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(TlsError(format!("no certificate in {}", path.display())));
    }
    Ok(certs)
}

/// Reads the PEM files and builds the server configuration: TLS 1.2 and
/// 1.3 with rustls' safe defaults, HTTP/1.1 by ALPN.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        TlsError(format!(
            "cannot read a private key from {}: {e}",
            files.key.display()
        ))
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca)? {
                roots.add(cert).map_err(|e| {
                    TlsError(format!("bad CA certificate in {}: {e}", ca.display()))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError(format!("client CA {}: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError(format!("certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// X.520 serialNumber, where Digikoppeling certificates carry the OIN.
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");

/// The OIN in a certificate's subject serialNumber: 20 digits. `None` when
/// the certificate cannot be parsed or carries no such attribute.
pub fn oin(certificate: &[u8]) -> Option<String> {
    let cert = x509_cert::Certificate::from_der(certificate).ok()?;
    let oin = cert
        .tbs_certificate()
        .subject()
        .iter()
        .filter(|a| a.oid == SERIAL_NUMBER)
        .find_map(|a| {
            let value = std::str::from_utf8(a.value.value()).ok()?.trim();
            (value.len() == 20 && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.to_string())
        });
    oin
}

/// What a connection's verified client certificate says, if it presented
/// one (rustls has verified the chain by the time this is asked).
pub fn client_certificate(connection: &rustls::ServerConnection) -> Option<ClientCertificate> {
    let leaf = connection.peer_certificates()?.first()?;
    match oin(leaf) {
        Some(oin) => Some(ClientCertificate { oin }),
        None => {
            tracing::warn!("client certificate without an OIN in its subject serialNumber");
            None
        }
    }
}
