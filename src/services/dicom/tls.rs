//! The TLS client configuration for DICOM associations: the system's trust store or a CA
//! bundle, an optional client certificate, and certificate plus host name verification always on
//! (there is no insecure mode, as in the reference).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::core::{Error, Result};

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::InvalidInput(format!(
                "cannot read certificates from {}: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// A client configuration trusting `ca_bundle` (else the system roots), presenting `cert` with
/// `key` (the key may sit in the certificate file) when given.
pub fn client_config(
    ca_bundle: Option<&Path>,
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match ca_bundle {
        Some(path) => {
            for c in certs(path)? {
                roots.add(c).map_err(|e| {
                    Error::InvalidInput(format!("bad CA certificate in {}: {e}", path.display()))
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                let _ = roots.add(c);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidInput(format!("TLS setup: {e}")))?
        .with_root_certificates(roots);
    let config = match cert {
        None => builder.with_no_client_auth(),
        Some(cert_path) => {
            let chain = certs(cert_path)?;
            let key_path = key.unwrap_or(cert_path);
            let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
                Error::InvalidInput(format!(
                    "Could not load the DICOM TLS client certificate: no private key in {}: {e}",
                    key_path.display()
                ))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                Error::InvalidInput(format!(
                    "Could not load the DICOM TLS client certificate: {e}"
                ))
            })?
        }
    };
    Ok(Arc::new(config))
}
