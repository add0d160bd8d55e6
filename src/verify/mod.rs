//! Live verification: one verifier per credential kind behind one async entry point, and the
//! pool that runs them with bounded concurrency, deadlines and cancellation.
//!
//! Interface contract (used by the CLI and the TUI):
//! - `Verifier::new(&VerifyConfig)` builds the shared HTTP stack (one reqwest 0.12 client, which
//!   oauth2 5 also uses) and holds the timeouts.
//! - `Verifier::verify(&self, &Component, &Credential, now: Timestamp) -> Outcome` runs one
//!   non-mutating check within the configured deadline. It never panics and never logs secrets.
//! - `pool::Pool` runs many of them (see pool.rs) and reports `PoolEvent`s over a channel.

use std::time::Duration;

use secrecy::SecretString;

use crate::core::time::Timestamp;
use crate::core::{Status, Verification};

/// The result of one verification.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Verified, Rejected, Unreachable or Misconfigured (never Unverified).
    pub status: Status,
    /// One sentence a person understands ("PostgreSQL rejected the password for user 'etl'").
    pub reason: String,
    /// A short detail on success: account name, server version.
    pub detail: Option<String>,
    pub latency: Duration,
    /// New OAuth2 tokens obtained while verifying (refresh grant, client credentials); the
    /// caller stores them together with the result, in one transaction.
    pub tokens: Option<TokenUpdate>,
}

/// Tokens to store after a successful grant. Debug redacts the secrets (SecretString).
#[derive(Debug, Clone)]
pub struct TokenUpdate {
    pub access_token: SecretString,
    /// A rotated refresh token, when the provider issued one.
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<Timestamp>,
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
        }
    }
}
