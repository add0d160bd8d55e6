//! The CAs every verifier trusts unless a credential names its own: the webpki roots (Mozilla's
//! list, built in), the system's store, and `verify.extra_ca_file`.
//!
//! The system's store is read as OpenSSL reads it, since that is what `curl`, `psql` and the
//! rest of an ops host use: certificates from a file (SSL_CERT_FILE, else the platform's bundle,
//! e.g. /etc/ssl/certs/ca-certificates.crt, which `update-ca-certificates` writes) and from
//! directories (SSL_CERT_DIR, colon-separated, else the platform's, e.g. /etc/ssl/certs). Each
//! variable replaces only its own default, as in OpenSSL; rustls-native-certs alone would drop
//! both defaults when either is set. A variable that names something unreadable is worth a
//! warning; a platform default that is missing (a minimal container) is not.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::core::pem::{self, PemKind};
use crate::files;

/// The most keyway reads of one CA file (a system bundle is a few hundred KiB): a FIFO or a
/// device named as one is refused, and a file without end is not read into memory.
const CA_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// A CA file keyway was told to trust (`verify.extra_ca_file`) could not be used; the setup
/// stops, since verifying without it would refuse the very servers it was added for.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("verify.extra_ca_file {path} {source}")]
    Unreadable {
        path: String,
        #[source]
        source: crate::files::ReadError,
    },
    #[error("verify.extra_ca_file {path}: {message}")]
    NotCertificates { path: String, message: String },
}

/// What to trust, loaded once per Verifier, and the crypto provider every TLS config uses
/// (ring, passed explicitly so no process-wide default has to be installed).
pub(crate) struct Trust {
    pub(crate) provider: Arc<CryptoProvider>,
    /// webpki roots + the system's store + verify.extra_ca_file.
    pub(crate) shared: Arc<RootCertStore>,
    /// The certificates `shared` adds to the webpki roots (the system's and
    /// verify.extra_ca_file's), for a client that builds its own trust store from certificates
    /// (mysql_async) rather than taking a rustls config.
    pub(crate) added: Arc<Vec<CertificateDer<'static>>>,
    /// Problems worth telling the user about (an SSL_CERT_FILE that cannot be read, ...).
    pub(crate) warnings: Vec<String>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("roots", &self.shared.len())
            .field("warnings", &self.warnings)
            .finish()
    }
}

const CERT_FILE_VAR: &str = "SSL_CERT_FILE";
const CERT_DIR_VAR: &str = "SSL_CERT_DIR";

impl Trust {
    pub(crate) fn load(extra_ca_file: Option<&Path>) -> Result<Trust, TrustError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut warnings = Vec::new();
        let mut added = Vec::new();
        // A system bundle may hold a certificate webpki cannot use as an anchor (an odd
        // encoding, an unsupported key); OpenSSL skips those too.
        for cert in system_certificates(&mut warnings) {
            if roots.add(cert.clone()).is_ok() {
                added.push(cert);
            }
        }
        if let Some(path) = extra_ca_file {
            for cert in extra_certificates(path)? {
                roots
                    .add(cert.clone())
                    .map_err(|e| TrustError::NotCertificates {
                        path: path.display().to_string(),
                        message: format!("holds a certificate that cannot be a trust anchor ({e})"),
                    })?;
                added.push(cert);
            }
        }
        Ok(Trust {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            shared: Arc::new(roots),
            added: Arc::new(added),
            warnings,
        })
    }
}

/// The system's certificates, OpenSSL-style (see the module docs).
fn system_certificates(warnings: &mut Vec<String>) -> Vec<CertificateDer<'static>> {
    let file_var = std::env::var_os(CERT_FILE_VAR).filter(|v| !v.is_empty());
    let dir_var = std::env::var_os(CERT_DIR_VAR).filter(|v| !v.is_empty());
    let file: Option<PathBuf> = match &file_var {
        Some(file) => Some(PathBuf::from(file)),
        // Without the variable, probe() reports the platform's bundle.
        None => openssl_probe::probe().cert_file,
    };
    let dirs: Vec<PathBuf> = match &dir_var {
        Some(dirs) => std::env::split_paths(dirs)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => openssl_probe::candidate_cert_dirs()
            .map(Path::to_path_buf)
            .collect(),
    };
    let mut certs = Vec::new();
    if let Some(file) = &file {
        match bundle_certificates(file) {
            Ok(found) => {
                if file_var.is_some() && found.is_empty() {
                    warnings.push(format!(
                        "{CERT_FILE_VAR}: {} holds no PEM certificate",
                        file.display()
                    ));
                }
                certs.extend(found);
            }
            Err(problem) if file_var.is_some() => warnings.push(format!(
                "{CERT_FILE_VAR}: {} {problem}; those certificates are not trusted",
                file.display()
            )),
            Err(_) => {}
        }
    }
    for dir in &dirs {
        let found = rustls_native_certs::load_certs_from_paths(None, Some(dir));
        if dir_var.is_some() {
            note(warnings, CERT_DIR_VAR, &found.errors);
        }
        certs.extend(found.certs);
    }
    // The platform's directory usually links every certificate of its bundle again.
    certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    certs.dedup();
    certs
}

/// One warning for what went wrong reading the certificates a variable names.
fn note(warnings: &mut Vec<String>, variable: &str, errors: &[rustls_native_certs::Error]) {
    if let Some(first) = errors.first() {
        let more = match errors.len() {
            1 => String::new(),
            n => format!(" (and {} more problems)", n - 1),
        };
        warnings.push(format!(
            "{variable}: {first}{more}; those certificates are not trusted"
        ));
    }
}

/// The certificates of a PEM bundle file, read through `files` (a regular file, bounded) rather
/// than by rustls-native-certs, which would block on a FIFO and read a device without end.
/// Blocks that are not certificates are skipped, as OpenSSL does.
fn bundle_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = files::read_bounded(path, CA_FILE_LIMIT).map_err(|e| e.to_string())?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not a PEM file ({e})"))
}

/// The certificates of `verify.extra_ca_file`: a PEM file of one or more CA certificates.
fn extra_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let shown = path.display().to_string();
    let text = files::read_text(path, CA_FILE_LIMIT).map_err(|source| TrustError::Unreadable {
        path: shown.clone(),
        source,
    })?;
    let canonical = pem::normalise(PemKind::Certificates, &text).map_err(|message| {
        TrustError::NotCertificates {
            path: shown.clone(),
            message,
        }
    })?;
    certificates(&canonical).map_err(|message| TrustError::NotCertificates {
        path: shown,
        message,
    })
}

/// The DER certificates of a canonical PEM value (see `core::pem`).
pub(crate) fn certificates(canonical: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(canonical.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot be read as PEM certificates ({e})"))
}
