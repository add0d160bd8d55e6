//! Rotating a database password in place: the rules, apart from the network and the vault.
//!
//! A rotation writes the new password into the vault as a *pending rotation* of the credential
//! (sealed with it) before the server is touched, so a crash at any step leaves the vault
//! holding a password that works: the current one, or the pending one the server may already
//! have. The next use of the credential resolves it (`resolution`): whichever password the
//! server accepts becomes current.

use rand::seq::SliceRandom;
use rand::{CryptoRng, RngCore};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::schema::{Component, DbEngine, VerifySpec};
use super::secret::SecretFields;
use super::time::Timestamp;
use super::{Credential, Status};

/// The field a rotation replaces.
pub const PASSWORD_FIELD: &str = "password";

/// The characters of a generated password: letters, digits, `-` and `_`. Safe in a URL (no
/// percent-encoding in DATABASE_URL) and in a shell word (no quoting), and 64 of them, so each
/// character carries 6 bits.
pub const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The default length: 192 bits.
pub const DEFAULT_LENGTH: usize = 32;
/// At least 96 bits; at most what every supported server takes without truncating.
pub const MIN_LENGTH: usize = 16;
pub const MAX_LENGTH: usize = 64;

/// A password change started and not finished: the new secret values, sealed with the
/// credential record (Debug shows the field names only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRotation {
    /// The new values by field name (`password`).
    pub secrets: SecretFields,
    pub started_at: Timestamp,
    /// Who started it (`user@host (keyway credential rotate)`).
    pub started_by: String,
}

impl PendingRotation {
    pub fn password(&self) -> Option<&SecretString> {
        self.secrets.get(PASSWORD_FIELD)
    }
}

/// Why a password length is refused.
pub fn check_length(length: usize) -> Result<(), String> {
    if (MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        Ok(())
    } else {
        Err(format!(
            "--length must be between {MIN_LENGTH} and {MAX_LENGTH} characters (got {length})"
        ))
    }
}

/// A new password of `length` characters of `ALPHABET`, each drawn uniformly by `rng` (the
/// OS's CSPRNG at the edges: `rand::rngs::OsRng`).
pub fn generate_password<R: RngCore + CryptoRng>(rng: &mut R, length: usize) -> SecretString {
    let mut text = Zeroizing::new(String::with_capacity(length));
    for _ in 0..length {
        // `choose` samples uniformly (no modulo bias); the alphabet is never empty.
        let c = ALPHABET.choose(rng).copied().unwrap_or(b'A');
        text.push(char::from(c));
    }
    SecretString::from(text.as_str().to_owned())
}

/// Whether keyway can rotate this component's passwords: a database login whose server lets
/// a user change its own password (PostgreSQL, MySQL/MariaDB; not Redis, whose passwords are
/// the server's configuration).
pub fn is_rotatable(component: &Component) -> bool {
    matches!(
        component.verify,
        VerifySpec::Database {
            dbengine: DbEngine::Postgres | DbEngine::Mysql
        }
    )
}

/// When the credential's password was last set: its last saved password change, or, for one
/// never changed since keyway stored it, when it was stored.
pub fn password_set_at(c: &Credential) -> Timestamp {
    c.password_changed_at.unwrap_or(c.created_at)
}

/// How old the password is, in seconds (0 for a time in the future).
pub fn password_age(c: &Credential, now: Timestamp) -> u64 {
    u64::try_from(now.0.saturating_sub(password_set_at(c).0)).unwrap_or(0)
}

/// Whether the password is older than `span` seconds.
pub fn is_older_than(c: &Credential, span: u64, now: Timestamp) -> bool {
    c.secrets.contains(PASSWORD_FIELD) && password_age(c, now) > span
}

/// What to do with a pending rotation once both passwords were tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The server still takes the current password: the change never reached it; drop the
    /// pending one.
    KeepCurrent,
    /// The server takes the pending password: the change went through; make it current.
    TakePending,
    /// Neither answer decides (the server unreachable, or both refused): keep both.
    Undecided,
}

/// The decision from what the server said to each password (`pending` is None when it was not
/// tried, because the current one was accepted: a server holds one password per role).
pub fn resolution(current: Status, pending: Option<Status>) -> Resolution {
    match (current, pending) {
        (Status::Verified, _) => Resolution::KeepCurrent,
        (_, Some(Status::Verified)) => Resolution::TakePending,
        _ => Resolution::Undecided,
    }
}

/// The history's words for a resolved rotation.
pub fn resolved_reason(resolution: Resolution, started_at: Timestamp) -> Option<String> {
    match resolution {
        Resolution::KeepCurrent => Some(format!(
            "Rotation interrupted, resolved: the rotation started {} never reached the server; the current password works and stays.",
            started_at.rfc3339()
        )),
        Resolution::TakePending => Some(format!(
            "Rotation interrupted, resolved: the server had taken the new password of the rotation started {}; it is now the credential's password.",
            started_at.rfc3339()
        )),
        Resolution::Undecided => None,
    }
}

/// Parses a span such as `90d`, `12h` or `2w` into seconds (humantime's units).
pub fn parse_span(text: &str) -> Result<u64, String> {
    humantime::parse_duration(text.trim())
        .map(|d| d.as_secs())
        .map_err(|e| format!("'{text}' is not a span such as 90d, 2w or 12h ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn generated_passwords_use_the_alphabet_and_length() {
        let mut rng = rand::rngs::OsRng;
        let a = generate_password(&mut rng, 32);
        let b = generate_password(&mut rng, 32);
        assert_eq!(a.expose_secret().len(), 32);
        assert!(a.expose_secret().bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(generate_password(&mut rng, 16).expose_secret().len(), 16);
    }

    #[test]
    fn lengths_outside_the_bounds_are_refused() {
        assert!(check_length(15).is_err());
        assert!(check_length(16).is_ok());
        assert!(check_length(64).is_ok());
        assert!(check_length(65).is_err());
    }

    #[test]
    fn resolution_keeps_what_the_server_accepts() {
        use Status::*;
        assert_eq!(resolution(Verified, None), Resolution::KeepCurrent);
        assert_eq!(
            resolution(Rejected, Some(Verified)),
            Resolution::TakePending
        );
        assert_eq!(resolution(Rejected, Some(Rejected)), Resolution::Undecided);
        assert_eq!(
            resolution(Unreachable, Some(Unreachable)),
            Resolution::Undecided
        );
    }

    #[test]
    fn spans_parse() {
        assert_eq!(parse_span("90d"), Ok(90 * 86_400));
        assert_eq!(parse_span("2w"), Ok(14 * 86_400));
        assert_eq!(parse_span("12h"), Ok(12 * 3_600));
        assert!(parse_span("90").is_err());
        assert!(parse_span("d").is_err());
        assert!(parse_span("9x").is_err());
    }

    #[test]
    fn password_age_falls_back_to_creation() {
        let mut c = Credential::with_fields(&[], &[("password", "x")]);
        c.created_at = Timestamp(100);
        assert_eq!(password_age(&c, Timestamp(200)), 100);
        c.password_changed_at = Some(Timestamp(150));
        assert_eq!(password_age(&c, Timestamp(200)), 50);
        assert!(is_older_than(&c, 49, Timestamp(200)));
        assert!(!is_older_than(&c, 50, Timestamp(200)));
    }
}
