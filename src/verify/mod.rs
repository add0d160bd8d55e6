//! Live verification: one verifier per credential kind behind one async entry point, and the
//! pool that runs them with bounded concurrency, deadlines and cancellation.
//!
//! Interface contract (used by the CLI and the TUI):
//! - `Verifier::new(&VerifyConfig)` builds the shared HTTP stack (reqwest 0.12 clients of one
//!   configuration, which oauth2 5 also uses: one for verification, and one with a backstop
//!   timeout for the login flows, which run outside the verification deadline) and holds the
//!   timeouts.
//!   `Verifier::with_audit(&VerifyConfig, &AuditConfig)` also takes the refresh-ahead margin
//!   (`audit.refresh_margin_minutes`); `Verifier::new` uses the default margin (5 minutes).
//! - `Verifier::verify(&self, &Component, &Credential, now: Timestamp) -> Outcome` runs one
//!   check within the configured deadline. It never panics and never logs secrets.
//! - `pool::Pool` runs many of them (see pool.rs) and reports `PoolEvent`s over a channel;
//!   `pool::verify_all` is the bulk form for the CLI (`credential verify --all`, `audit`).
//! - `login` gets OAuth2 tokens from a terminal: the device grant and auth code + PKCE.
//!
//! OAuth2 and refresh tokens (issue 3 verifies with a refresh grant, issue 6 refreshes ahead):
//! a refresh grant is a write at the provider (it spends and rotates the refresh token), so
//! keyway refreshes only when it needs a new access token: when there is none, when the stored
//! one expires within the refresh margin (or has expired), or when the provider refuses it. An
//! access token far from expiry is verified by the read-only userinfo request and nothing is
//! rotated; this keeps two verifications racing (the TUI and a cron audit) from spending the
//! same refresh token, which providers with reuse detection punish by revoking the whole grant.
//! Whenever a refresh does happen, the new tokens come back in `Outcome.tokens` for the caller
//! to store with the result, atomically.

mod budget;
mod endpoints;
pub(crate) mod failure;
mod http;
pub mod login;
mod mysql;
mod oauth;
pub mod pool;
mod postgres;
mod redis;
mod safety;
mod scrub;
mod sftp;
pub(crate) mod tls;
mod token;
mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::config::{AuditConfig, VerifyConfig};
use crate::core::schema::{Component, DbEngine, VerifySpec};
use crate::core::time::Timestamp;
use crate::core::{Credential, Status, TlsState, Verification};

pub use login::{authorize_url, decode_token_responses, DeviceAuthorization, DevicePollEvent};
pub use oauth2::{CsrfToken, PkceCodeVerifier};
pub use pool::{verify_all, JobHandle, Pool, PoolEvent, Progress};
pub use token::{FlowError, OAuthClient};

/// The result of one verification.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Verified, Rejected, Unreachable or Misconfigured (never Unverified).
    pub status: Status,
    /// One sentence a person understands ("PostgreSQL rejected the password for user 'etl'").
    pub reason: String,
    /// A short detail on success: account name, server version (at most 80 characters, and
    /// none at all when the service's answer held a form of a secret: see scrub.rs).
    pub detail: Option<String>,
    pub latency: Duration,
    /// How the connection was protected (None: no connection was made).
    pub tls: Option<TlsState>,
    /// New OAuth2 tokens obtained while verifying (refresh grant, client credentials); the
    /// caller stores them together with the result, in one transaction.
    pub tokens: Option<TokenUpdate>,
    /// SSH: the server's host key fingerprint (`SHA256:...`) when the credential pins none,
    /// for the user to confirm before anything is sent (trust on first use, never silently;
    /// `core::save::decide` turns it into `SaveDecision::ConfirmHostKey`).
    pub host_key_to_confirm: Option<String>,
}

/// Tokens to store after a successful grant. Debug redacts the secrets (SecretString).
#[derive(Debug, Clone)]
pub struct TokenUpdate {
    pub access_token: SecretString,
    /// A rotated refresh token, when the provider issued one.
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<Timestamp>,
    /// When the refresh token expires, if the provider said (`refresh_token_expires_in`).
    /// Stored as the public field `refresh_expires_at` (see `core::expiry`).
    pub refresh_expires_at: Option<Timestamp>,
}

impl Outcome {
    /// The record stored on the credential.
    pub fn to_verification(&self, at: Timestamp) -> Verification {
        Verification {
            status: self.status,
            reason: self.reason.clone(),
            detail: self.detail.clone(),
            latency_ms: Some(self.latency.as_millis() as u64),
            at,
            run: None,
            tls: self.tls,
        }
    }
}

/// What a verifier found, before the latency is measured and the text scrubbed.
#[derive(Debug)]
pub(crate) struct Finding {
    pub(crate) status: Status,
    pub(crate) reason: String,
    pub(crate) detail: Option<String>,
    /// How the connection was protected, once one was made.
    pub(crate) tls: Option<TlsState>,
    /// Boxed: rare, and it would make every `Result<_, Finding>` large.
    pub(crate) tokens: Option<Box<TokenUpdate>>,
    /// See `Outcome::host_key_to_confirm`.
    pub(crate) host_key_to_confirm: Option<String>,
}

impl Finding {
    pub(crate) fn with(status: Status, reason: String) -> Finding {
        Finding {
            status,
            reason,
            detail: None,
            tls: None,
            tokens: None,
            host_key_to_confirm: None,
        }
    }

    /// The same finding, made over a connection protected as `tls` says.
    pub(crate) fn over(self, tls: TlsState) -> Finding {
        Finding {
            tls: Some(tls),
            ..self
        }
    }
    pub(crate) fn verified(reason: String, detail: Option<String>) -> Finding {
        Finding {
            detail,
            ..Finding::with(Status::Verified, reason)
        }
    }
    /// A database login that worked: the server's short version, where, as whom, and how
    /// the connection was protected (the same sentence for every engine).
    pub(crate) fn logged_in(
        short_version: String,
        at: &str,
        user: &str,
        tls: &tls::DbTls,
    ) -> Finding {
        Finding::verified(
            format!(
                "Logged in to {short_version} at {at} as '{user}' ({}).",
                tls.phrase()
            ),
            Some(short_version),
        )
        .over(tls.state())
    }
    pub(crate) fn rejected(reason: String) -> Finding {
        Finding::with(Status::Rejected, reason)
    }
    pub(crate) fn unreachable(reason: String) -> Finding {
        Finding::with(Status::Unreachable, reason)
    }
    pub(crate) fn misconfigured(reason: String) -> Finding {
        Finding::with(Status::Misconfigured, reason)
    }
}

/// Timeouts every verifier honours, copied out of the config.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect_timeout: Duration,
    pub(crate) deadline: Duration,
}

/// Why verification could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// `verify.extra_ca_file` cannot be used: a problem with the user's configuration.
    #[error(transparent)]
    Trust(#[from] tls::TrustError),
    #[error(transparent)]
    Client(#[from] transport::ClientBuildError),
}

impl SetupError {
    /// Whether the user's configuration is at fault (the CLI's usage exit code).
    pub fn is_config(&self) -> bool {
        matches!(self, SetupError::Trust(_))
    }
}

/// Runs verifications. Cheap to share behind an `Arc`; holds what every verification of the
/// process shares: the trusted CAs (read once, see tls/roots.rs) and the HTTP clients.
pub struct Verifier {
    /// For `verify`, whose deadline bounds every request (see `transport::Backstop`).
    verify_http: transport::HttpClients,
    /// For the login flows: the same settings plus a per-request backstop timeout.
    http: transport::HttpClients,
    trust: Arc<tls::Trust>,
    /// Endpoints already parsed (see endpoints.rs).
    endpoints: endpoints::Endpoints,
    limits: Limits,
    /// OAuth2 access tokens expiring within this are refreshed before they are checked.
    refresh_margin: Duration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("limits", &self.limits)
            .field("refresh_margin", &self.refresh_margin)
            .field("trust", &self.trust)
            .finish()
    }
}

impl Verifier {
    /// Reads the trusted CAs (webpki's, the system's, `verify.extra_ca_file`) and builds the
    /// HTTP clients (redirects off, the proxy variables honoured except for loopback, the
    /// configured timeouts). Fails when `verify.extra_ca_file` cannot be used or the TLS stack
    /// cannot be initialised, which the caller reports and exits on.
    pub fn new(config: &VerifyConfig) -> Result<Verifier, SetupError> {
        let limits = Limits {
            connect_timeout: config.connect_timeout(),
            deadline: config.deadline(),
        };
        let trust = Arc::new(tls::Trust::load(config.extra_ca_file.as_deref())?);
        let verify_http =
            transport::HttpClients::new(trust.clone(), limits, transport::Backstop::None)?;
        let http = transport::HttpClients::new(
            trust.clone(),
            limits,
            transport::Backstop::DeadlinePlusOne,
        )?;
        Ok(Verifier {
            verify_http,
            http,
            trust,
            endpoints: endpoints::Endpoints::default(),
            limits,
            refresh_margin: crate::core::expiry::refresh_margin(
                AuditConfig::default().refresh_margin_minutes,
            ),
        })
    }

    /// Problems with the system's CA store worth telling the user (an SSL_CERT_FILE that
    /// cannot be read, ...): verification goes on without those certificates.
    pub fn warnings(&self) -> &[String] {
        &self.trust.warnings
    }

    /// The same, with the refresh-ahead margin from `audit.refresh_margin_minutes`.
    pub fn with_audit(verify: &VerifyConfig, audit: &AuditConfig) -> Result<Verifier, SetupError> {
        Ok(
            Verifier::new(verify)?.with_refresh_margin(crate::core::expiry::refresh_margin(
                audit.refresh_margin_minutes,
            )),
        )
    }

    /// Sets the refresh-ahead margin: an OAuth2 access token expiring within it (and holding a
    /// refresh token) is refreshed before verification. Zero refreshes only expired tokens.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Verifier {
        self.refresh_margin = margin;
        self
    }

    /// The refresh-ahead margin in use.
    pub fn refresh_margin(&self) -> Duration {
        self.refresh_margin
    }

    /// One live check of `credential` as `component` describes it, non-mutating except for the
    /// OAuth2 refresh the module docs describe. The whole check (DNS, connect, TLS, request,
    /// body) runs within the configured deadline.
    pub async fn verify(
        &self,
        component: &Component,
        credential: &Credential,
        now: Timestamp,
    ) -> Outcome {
        let started = Instant::now();
        // The OAuth2 and PostgreSQL futures are boxed: an async block is as large as its largest
        // state, and theirs (about 2.4 KB and 5.5 KB) made every API-key verification, the bulk
        // of an audit, a 5.5 KB future to carry and copy around (1.5 KB boxed).
        let work = async {
            match &component.verify {
                VerifySpec::Http { .. } => {
                    http::verify_api_key(
                        &self.verify_http,
                        &self.endpoints,
                        self.limits,
                        component,
                        credential,
                    )
                    .await
                }
                VerifySpec::Oauth2 { .. } => {
                    let ctx = oauth::Context {
                        http: &self.verify_http,
                        endpoints: &self.endpoints,
                        limits: self.limits,
                        refresh_margin: self.refresh_margin,
                        now,
                    };
                    Box::pin(oauth::verify_oauth2(ctx, component, credential)).await
                }
                VerifySpec::Database {
                    dbengine: DbEngine::Postgres,
                } => {
                    Box::pin(postgres::verify_postgres(
                        &self.trust,
                        self.limits,
                        credential,
                    ))
                    .await
                }
                VerifySpec::Database {
                    dbengine: DbEngine::Mysql,
                } => Box::pin(mysql::verify_mysql(&self.trust, self.limits, credential)).await,
                VerifySpec::Database {
                    dbengine: DbEngine::Redis,
                } => Box::pin(redis::verify_redis(&self.trust, self.limits, credential)).await,
                VerifySpec::Database {
                    dbengine: DbEngine::Sftp,
                } => Box::pin(sftp::verify_sftp(self.limits, credential)).await,
            }
        };
        let finding = match tokio::time::timeout(self.limits.deadline, work).await {
            Ok(finding) => finding,
            Err(_) => Finding::unreachable(format!(
                "{} did not finish within the {} s deadline.",
                component.name,
                self.limits.deadline.as_secs()
            )),
        };
        let scrubber = scrub::Scrubber::of(credential);
        Outcome {
            status: finding.status,
            reason: scrubber.reason(finding.reason),
            detail: finding.detail.and_then(|d| scrubber.detail(d)),
            latency: started.elapsed(),
            tls: finding.tls,
            tokens: finding.tokens.map(|t| *t),
            host_key_to_confirm: finding.host_key_to_confirm,
        }
    }

    /// Changes the password on the server to `new_password`, logged in with `credential` as it
    /// is (the role's own password; no administrator needed), within the deadline. Verified:
    /// the server took it; the reason says how it was sent. Otherwise what stopped it, the
    /// server's reason included. Every form of both passwords is scrubbed from the text.
    pub async fn change_password(
        &self,
        component: &Component,
        credential: &Credential,
        new_password: &SecretString,
    ) -> Outcome {
        use secrecy::ExposeSecret;
        let started = Instant::now();
        let work = async {
            match &component.verify {
                VerifySpec::Database {
                    dbengine: DbEngine::Postgres,
                } => {
                    Box::pin(postgres::change_password_postgres(
                        &self.trust,
                        self.limits,
                        credential,
                        new_password.expose_secret(),
                    ))
                    .await
                }
                VerifySpec::Database {
                    dbengine: DbEngine::Mysql,
                } => {
                    Box::pin(mysql::change_password_mysql(
                        &self.trust,
                        self.limits,
                        credential,
                        new_password.expose_secret(),
                    ))
                    .await
                }
                _ => Finding::misconfigured(format!(
                    "keyway cannot change {} passwords: only PostgreSQL and MySQL/MariaDB logins can be rotated.",
                    component.name
                )),
            }
        };
        let finding = match tokio::time::timeout(self.limits.deadline, work).await {
            Ok(finding) => finding,
            Err(_) => Finding::unreachable(format!(
                "{} did not answer the password change within the {} s deadline.",
                component.name,
                self.limits.deadline.as_secs()
            )),
        };
        let mut with_new = credential.clone();
        with_new
            .secrets
            .insert(crate::core::rotation::PASSWORD_FIELD, new_password.clone());
        let (old, new) = (
            scrub::Scrubber::of(credential),
            scrub::Scrubber::of(&with_new),
        );
        Outcome {
            status: finding.status,
            reason: new.reason(old.reason(finding.reason)),
            detail: None,
            latency: started.elapsed(),
            tls: finding.tls,
            tokens: None,
            host_key_to_confirm: None,
        }
    }

    /// The HTTP clients for the OAuth2 login flows (with the backstop timeout).
    pub(crate) fn http(&self) -> &transport::HttpClients {
        &self.http
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }
}
