//! HTTPS with rustls: the certificate chain and key come from
//! `server.tls_cert` and `server.tls_key` (PEM). Connections are served
//! by [`super::conn`].

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub type Acceptor = tokio_rustls::TlsAcceptor;

fn invalid(path: &Path, what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{}: {what}: {e}", path.display()),
    )
}

/// Reads the certificate chain and key.
pub fn acceptor(cert: &Path, key: &Path) -> std::io::Result<Acceptor> {
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| invalid(cert, "not a PEM certificate file", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert, "not a PEM certificate file", e))?;
    if certs.is_empty() {
        return Err(invalid(cert, "no certificate", "the file holds none"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(key, "no private key", e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(cert, "TLS", e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(cert, "certificate and key do not fit", e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
