//! TLS for every verifier: what keyway trusts (roots.rs), how a server's certificate is checked
//! (check.rs), why a check failed in words a person can act on (explain.rs), and libpq's sslmode
//! words with the `ssl_ca` / `ssl_cert` / `ssl_key` fields, which every database engine shares:
//! PostgreSQL today; MySQL/MariaDB and the other engines take `DbTls` as it is.
//!
//! The sslmode words mean what libpq's table "SSL Mode Descriptions" says:
//! - `disable`: no TLS. The password may then cross the network in clear, so keyway allows it
//!   only for a loopback host (as plain http is ruled).
//! - `require`: encrypted; the certificate is checked only when a CA is given (`ssl_ca`), and
//!   then as verify-ca, as libpq does when a root certificate file exists. Without one the
//!   result says "encrypted, server certificate not checked" and its TLS state is `unchecked`.
//! - `verify-ca`: the certificate must chain to `ssl_ca`, or without it to the shared trust
//!   (the system's CAs, webpki's, verify.extra_ca_file); any host name.
//! - `verify-full`: verify-ca and the certificate must name the host (keyway's default).
//!
//! libpq's `allow` and `prefer` fall back to plaintext, which keyway never does; they are not
//! offered. `ssl_ca` replaces the shared trust for that connection, like libpq's sslrootcert.

mod check;
mod explain;
mod roots;

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};

pub(crate) use check::{ClientCertRequest, ServerCheck};
pub(crate) use explain::{Advice, CertificateProblem};
pub(crate) use roots::{Trust, TrustError};

use super::safety;
use super::Finding;
use crate::core::{Credential, TlsState};

/// libpq's sslmode words (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub(crate) const DEFAULT: SslMode = SslMode::VerifyFull;

    pub(crate) fn parse(word: &str) -> Option<SslMode> {
        match word {
            "disable" => Some(SslMode::Disable),
            "require" => Some(SslMode::Require),
            "verify-ca" => Some(SslMode::VerifyCa),
            "verify-full" => Some(SslMode::VerifyFull),
            _ => None,
        }
    }
}

/// A client certificate and its key (mutual TLS), read from `ssl_cert` and `ssl_key`.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// The TLS side of a database credential, read and checked before any socket is opened.
pub(crate) struct DbTls {
    pub(crate) mode: SslMode,
    /// `ssl_ca`: the CAs trusted instead of the shared ones.
    ca: Option<Vec<CertificateDer<'static>>>,
    identity: Option<Identity>,
}

impl std::fmt::Debug for DbTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbTls")
            .field("mode", &self.mode)
            .field("ca", &self.ca.as_ref().map(Vec::len))
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

/// A credential's connection to `host` over the TLS the credential asks for: the config for
/// the handshake, and what the handshake will tell about the server's client-certificate
/// request.
pub(crate) struct Connector {
    pub(crate) config: ClientConfig,
    pub(crate) client_cert_request: ClientCertRequest,
}

impl DbTls {
    /// Reads sslmode, ssl_ca, ssl_cert and ssl_key for a connection to `host`.
    pub(crate) fn from_credential(credential: &Credential, host: &str) -> Result<DbTls, Finding> {
        let mode = match safety::optional(credential, "sslmode") {
            None => SslMode::DEFAULT,
            Some(word) => SslMode::parse(word).ok_or_else(|| {
                Finding::misconfigured(format!(
                    "The field 'sslmode' ('{word}') must be verify-full, verify-ca, require or disable."
                ))
            })?,
        };
        let ca = safety::optional(credential, "ssl_ca")
            .map(|pem| pem_certificates(pem, "ssl_ca"))
            .transpose()?;
        let cert = safety::optional(credential, "ssl_cert");
        let key = safety::optional(credential, "ssl_key");
        let identity = match (cert, key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(Identity {
                chain: pem_certificates(cert, "ssl_cert")?,
                key: PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|_| {
                    Finding::misconfigured(
                        "The field 'ssl_key' is not a PEM private key keyway can read.".into(),
                    )
                })?,
            }),
            (Some(_), None) => {
                return Err(Finding::misconfigured(
                    "The field 'ssl_cert' needs its private key in 'ssl_key'.".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(Finding::misconfigured(
                    "The field 'ssl_key' needs its certificate in 'ssl_cert'.".into(),
                ))
            }
        };
        if mode == SslMode::Disable {
            if !crate::core::transport::is_loopback_host(host) {
                return Err(Finding::misconfigured(format!(
                    "sslmode = disable would let the password cross the network in clear, so keyway allows it only for a loopback host, not {host}; use verify-full (or require)."
                )));
            }
            let unused = [("ssl_ca", ca.is_some()), ("ssl_cert", identity.is_some())];
            if let Some((field, _)) = unused.iter().find(|(_, set)| *set) {
                return Err(Finding::misconfigured(format!(
                    "The field '{field}' is set but sslmode = disable makes no TLS connection; clear it or choose another sslmode."
                )));
            }
        }
        Ok(DbTls { mode, ca, identity })
    }

    /// The team vault's connection (vault/postgres.rs): its URL's sslmode and sslrootcert,
    /// no client certificate.
    pub(crate) fn for_team_vault(mode: SslMode, ca: Option<Vec<CertificateDer<'static>>>) -> DbTls {
        DbTls {
            mode,
            ca,
            identity: None,
        }
    }

    /// verify-full against the shared trust, no client certificate: the TLS of an engine whose
    /// credential has only on / off (Redis's `tls`).
    pub(crate) fn verify_full() -> DbTls {
        DbTls {
            mode: SslMode::VerifyFull,
            ca: None,
            identity: None,
        }
    }

    /// Whether a TLS connection is made at all.
    pub(crate) fn uses_tls(&self) -> bool {
        self.mode != SslMode::Disable
    }

    /// How much of the server's certificate is checked (libpq's rules, module docs).
    pub(crate) fn server_check(&self) -> ServerCheck {
        match (self.mode, self.ca.is_some()) {
            (SslMode::VerifyFull, _) => ServerCheck::ChainAndName,
            (SslMode::VerifyCa, _) | (SslMode::Require, true) => ServerCheck::Chain,
            (SslMode::Require, false) | (SslMode::Disable, _) => ServerCheck::Nothing,
        }
    }

    /// The TLS state a connection of this credential has once it is made.
    pub(crate) fn state(&self) -> TlsState {
        match (self.uses_tls(), self.server_check()) {
            (false, _) => TlsState::None,
            (true, ServerCheck::Nothing) => TlsState::Unchecked,
            (true, _) => TlsState::Verified,
        }
    }

    /// How the connection was protected, for a verified result's reason.
    pub(crate) fn phrase(&self) -> &'static str {
        match (self.uses_tls(), self.server_check()) {
            (false, _) => "unencrypted: sslmode = disable, loopback only",
            (true, ServerCheck::Nothing) => "encrypted, server certificate not checked",
            (true, ServerCheck::Chain) => {
                "encrypted, server certificate verified; host name not checked"
            }
            (true, ServerCheck::ChainAndName) => "encrypted, server certificate verified",
        }
    }

    /// The CAs of `ssl_ca`, which replace the shared trust for this credential.
    pub(crate) fn own_cas(&self) -> Option<&[CertificateDer<'static>]> {
        self.ca.as_deref()
    }

    /// Whether the credential carries a client certificate.
    pub(crate) fn has_client_certificate(&self) -> bool {
        self.identity.is_some()
    }

    /// The rustls config for this credential's connections, trusting `ssl_ca` or else `trust`.
    pub(crate) fn connector(&self, trust: &Trust) -> Result<Connector, Finding> {
        let (roots, advice) = match &self.ca {
            Some(cas) => {
                let mut own = RootCertStore::empty();
                for ca in cas {
                    own.add(ca.clone()).map_err(|_| {
                        Finding::misconfigured(
                            "The field 'ssl_ca' holds a certificate that cannot be a trusted CA."
                                .into(),
                        )
                    })?;
                }
                (Arc::new(own), Advice::DatabaseOwnCa)
            }
            None => (trust.shared.clone(), Advice::DatabaseSharedCas),
        };
        let verifier = check::server_verifier(
            self.server_check(),
            roots,
            trust.provider.signature_verification_algorithms,
            advice,
        );
        let identity = match &self.identity {
            None => None,
            Some(id) => Some(Arc::new(
                CertifiedKey::from_der(id.chain.clone(), id.key.clone_key(), &trust.provider)
                    .map_err(|_| {
                        Finding::misconfigured(
                            "The fields 'ssl_cert' and 'ssl_key' do not belong together (or the key is of a kind keyway cannot use)."
                                .into(),
                        )
                    })?,
            )),
        };
        let asked = ClientCertRequest::default();
        let config = ClientConfig::builder_with_provider(trust.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|_| {
                Finding::misconfigured("The TLS configuration could not be built.".into())
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::new(check::RecordingResolver {
                identity,
                asked: asked.clone(),
            }));
        Ok(Connector {
            config,
            client_cert_request: asked,
        })
    }
}

impl Trust {
    /// The TLS config of every HTTPS request: the shared trust plus `extra_cas` (a credential's
    /// `ca_cert`), the chain and the host name checked, HTTP/1.1 offered (keyway's reqwest
    /// speaks nothing else).
    pub(crate) fn https_config(
        &self,
        extra_cas: &[CertificateDer<'static>],
    ) -> Result<ClientConfig, rustls::Error> {
        let roots = if extra_cas.is_empty() {
            self.shared.clone()
        } else {
            let mut roots = RootCertStore::clone(&self.shared);
            for ca in extra_cas {
                roots.add(ca.clone())?;
            }
            Arc::new(roots)
        };
        let verifier = check::server_verifier(
            ServerCheck::ChainAndName,
            roots,
            self.provider.signature_verification_algorithms,
            Advice::Http,
        );
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// The certificates of a PEM field, as stored (canonical, see `core::pem`).
pub(crate) fn pem_certificates(
    text: &str,
    field: &str,
) -> Result<Vec<CertificateDer<'static>>, Finding> {
    roots::certificates(text)
        .ok()
        .filter(|certs| !certs.is_empty())
        .ok_or_else(|| {
            Finding::misconfigured(format!(
                "The field '{field}' is not a PEM certificate keyway can read."
            ))
        })
}

/// The server answered the request for TLS with "no": keyway never falls back to plaintext.
/// Misconfigured rather than unreachable: the server is there, and saving the credential
/// unverified would not change what it offers.
pub(crate) fn not_offered(where_: &str) -> Finding {
    Finding::misconfigured(format!(
        "The server at {where_} does not offer TLS; set sslmode = disable only for loopback."
    ))
}

/// The server asked for a client certificate the credential does not have.
pub(crate) fn client_certificate_required(where_: &str) -> Finding {
    Finding::misconfigured(format!(
        "The server at {where_} requires a client certificate: set ssl_cert and ssl_key."
    ))
}
