//! TLS to a remote daemon, as the docker CLI sets it up: `DOCKER_TLS_VERIFY`
//! turns it on, `DOCKER_CERT_PATH` names the directory holding `ca.pem`
//! (the only certificate authority trusted for the daemon), `cert.pem` and
//! `key.pem` (the client's certificate and key).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that turns TLS on (any non-empty value), as for
/// the docker CLI.
pub const TLS_VERIFY_ENV_VAR: &str = "DOCKER_TLS_VERIFY";

/// The environment variable naming the directory of the TLS files (default:
/// `~/.docker`).
pub const CERT_PATH_ENV_VAR: &str = "DOCKER_CERT_PATH";

/// The files of a TLS connection to the daemon: the daemon's certificate
/// authority and the client's certificate and key, all PEM. The daemon's
/// certificate must be issued by that authority for the host name (or IP
/// address) of `DOCKER_HOST`.
///
/// ```
/// let tls = dock_lite::TlsOptions::from_cert_path("/home/me/.docker");
/// assert!(tls.ca_cert().ends_with("ca.pem"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    ca_cert: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

impl TlsOptions {
    /// `ca.pem`, `cert.pem` and `key.pem` in `dir`, as the docker CLI names them.
    pub fn from_cert_path(dir: impl AsRef<Path>) -> TlsOptions {
        let dir = dir.as_ref();
        TlsOptions {
            ca_cert: dir.join("ca.pem"),
            client_cert: dir.join("cert.pem"),
            client_key: dir.join("key.pem"),
        }
    }

    /// Three files named one by one.
    pub fn new(
        ca_cert: impl Into<PathBuf>,
        client_cert: impl Into<PathBuf>,
        client_key: impl Into<PathBuf>,
    ) -> TlsOptions {
        TlsOptions {
            ca_cert: ca_cert.into(),
            client_cert: client_cert.into(),
            client_key: client_key.into(),
        }
    }

    /// What the environment asks for: `None` unless `DOCKER_TLS_VERIFY` is
    /// set to a non-empty value; then the files of `DOCKER_CERT_PATH`, or of
    /// `~/.docker` when it is unset.
    pub fn from_env() -> Option<TlsOptions> {
        let verify = std::env::var_os(TLS_VERIFY_ENV_VAR)?;
        if verify.is_empty() {
            return None;
        }
        let dir = match std::env::var_os(CERT_PATH_ENV_VAR) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".docker"),
        };
        Some(TlsOptions::from_cert_path(dir))
    }

    /// The certificate authority trusted for the daemon.
    pub fn ca_cert(&self) -> &Path {
        &self.ca_cert
    }

    /// The client's certificate.
    pub fn client_cert(&self) -> &Path {
        &self.client_cert
    }

    /// The client's private key.
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }
}

/// The connection target for `host:port` over TLS; the files are read (and
/// checked) now, so that a missing or unreadable one fails before anything
/// is sent.
#[cfg(feature = "tls")]
pub(crate) fn target(
    host: &str,
    port: u16,
    options: &TlsOptions,
) -> Result<crate::transport::Target> {
    use std::sync::Arc;

    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio_rustls::rustls;

    fn file_error(
        path: &Path,
        reason: &'static str,
    ) -> impl FnOnce(rustls_pki_types::pem::Error) -> Error {
        let path = path.to_owned();
        move |err| Error::TlsConfig {
            path,
            reason: reason.to_owned(),
            source: Some(Box::new(err)),
        }
    }
    let certificates = |path: &Path| -> Result<Vec<CertificateDer<'static>>> {
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(file_error(path, "cannot read it"))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(file_error(path, "not a PEM certificate file"))?;
        if certificates.is_empty() {
            return Err(Error::TlsConfig {
                path: path.to_owned(),
                reason: "holds no certificate".into(),
                source: None,
            });
        }
        Ok(certificates)
    };
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates(&options.ca_cert)? {
        roots.add(certificate).map_err(|err| Error::TlsConfig {
            path: options.ca_cert.clone(),
            reason: "not a usable CA certificate".into(),
            source: Some(Box::new(err)),
        })?;
    }
    let chain = certificates(&options.client_cert)?;
    let key = PrivateKeyDer::from_pem_file(&options.client_key)
        .map_err(file_error(&options.client_key, "not a PEM private key"))?;
    // An explicit provider: the process-wide default is absent (or
    // ambiguous) when several crates of one build enable different ones.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| {
            builder
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)
        })
        .map_err(|err| Error::TlsConfig {
            path: options.client_key.clone(),
            reason: "the client certificate and key do not make a usable pair".into(),
            source: Some(Box::new(err)),
        })?;
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let server_name = ServerName::try_from(name.to_owned()).map_err(|_| Error::MalformedHost {
        host: format!("tcp://{host}:{port}"),
        reason: "not a host name or address a certificate can be checked against",
    })?;
    Ok(crate::transport::Target::Tls {
        host: host.to_owned(),
        port,
        connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        server_name,
    })
}

/// Without the `tls` feature, TLS is a typed error.
#[cfg(not(feature = "tls"))]
pub(crate) fn target(
    _host: &str,
    _port: u16,
    options: &TlsOptions,
) -> Result<crate::transport::Target> {
    Err(Error::TlsConfig {
        path: options.ca_cert.clone(),
        reason: "dock-lite was built without its `tls` feature".into(),
        source: None,
    })
}
