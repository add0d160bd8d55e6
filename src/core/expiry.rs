//! How credentials age: when they expire, whether that is soon, and whether an OAuth2 access
//! token should be refreshed before it is used. Pure arithmetic on values the edges pass in (the
//! clock included), so the audit screen, `keyway audit --json` and the verifier agree on every
//! boundary.
//!
//! Two public fields carry expiry, both RFC 3339 (or a `YYYY-MM-DD` date a person typed):
//! - `expires_at`: for OAuth2 credentials the access token's expiry (written by the store after
//!   every grant); for API keys and database passwords an optional date the user sets.
//! - `refresh_expires_at`: the refresh token's expiry, when the provider states one
//!   (`refresh_token_expires_in`).
//! - `client_secret_expires_at`: an OAuth2 client secret's expiry, a date the user sets
//!   (Microsoft Entra and others issue secrets that lapse after months).
//!
//! What expires for the user is what keyway cannot renew by itself (`lapses_at`): a refresh
//! token's or a client secret's date, an API key's or a password's; an access token only when
//! nothing renews it. The audit (CLI, TUI, metrics) counts and colours that one date.

use std::fmt;
use std::time::Duration;

use super::time::{parse_user_time, span, Timestamp};
use super::Credential;

/// The public field holding the access-token expiry or the user-set expiry date.
pub const EXPIRES_AT_FIELD: &str = "expires_at";
/// The public field holding the refresh token's expiry, when the provider states one.
pub const REFRESH_EXPIRES_AT_FIELD: &str = "refresh_expires_at";

/// The public field holding an OAuth2 client secret's expiry, when the user sets one.
pub const CLIENT_SECRET_EXPIRES_AT_FIELD: &str = "client_secret_expires_at";

/// `audit.expiry_warning_days` as a window (saturating, so an absurd setting means "always").
pub fn warning_window(days: u64) -> Duration {
    Duration::from_secs(days.saturating_mul(86_400))
}

/// `audit.refresh_margin_minutes` as a margin.
pub fn refresh_margin(minutes: u64) -> Duration {
    Duration::from_secs(minutes.saturating_mul(60))
}

/// The parsed public `expires_at`; None when absent, blank or not a time keyway can read (an
/// unreadable value is the form's problem to report, not a reason to guess an expiry).
pub fn expires_at(c: &Credential) -> Option<Timestamp> {
    public_time(c, EXPIRES_AT_FIELD)
}

/// The parsed public `refresh_expires_at`.
pub fn refresh_expires_at(c: &Credential) -> Option<Timestamp> {
    public_time(c, REFRESH_EXPIRES_AT_FIELD)
}

fn public_time(c: &Credential, field: &str) -> Option<Timestamp> {
    c.public
        .get(field)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .and_then(parse_user_time)
}

/// The parsed public `client_secret_expires_at`.
pub fn client_secret_expires_at(c: &Credential) -> Option<Timestamp> {
    public_time(c, CLIENT_SECRET_EXPIRES_AT_FIELD)
}

/// How keyway gets a new OAuth2 access token by itself, when it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// A refresh grant with the stored refresh token.
    RefreshToken,
    /// A client-credentials grant with the stored client secret (no refresh token).
    ClientCredentials,
}

/// How the credential's access token is renewed without a person, if it can be: by its
/// refresh token, else by its client secret.
pub fn renewal(c: &Credential) -> Option<Renewal> {
    if has_refresh_token(c) {
        Some(Renewal::RefreshToken)
    } else if has_value(c, "client_secret") {
        Some(Renewal::ClientCredentials)
    } else {
        None
    }
}

/// Whether the credential holds a usable (non-blank) refresh token.
pub fn has_refresh_token(c: &Credential) -> bool {
    has_value(c, "refresh_token")
}

fn has_value(c: &Credential, field: &str) -> bool {
    c.value(field).is_some_and(|v| !v.trim().is_empty())
}

/// When the credential stops working unless a person acts: the earliest date keyway cannot
/// renew. With a refresh token the access token renews itself, so its hourly expiry is not a
/// warning; only the refresh token's own expiry (if the provider stated one) is. With a client
/// secret and no refresh token, a client-credentials grant renews it. Without either,
/// `expires_at` is the date: an access token nobody can renew, or the user-set expiry of an API
/// key or password. A client secret's own date counts in every case.
pub fn lapses_at(c: &Credential) -> Option<Timestamp> {
    let own = match renewal(c) {
        Some(Renewal::RefreshToken) => refresh_expires_at(c),
        Some(Renewal::ClientCredentials) => None,
        None => expires_at(c),
    };
    [own, client_secret_expires_at(c)]
        .into_iter()
        .flatten()
        .min()
}

/// Where an expiry stands relative to now and the warning window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryState {
    /// No expiry is known.
    None,
    /// Expires after the warning window.
    Fine { at: Timestamp },
    /// Expires within the warning window (at its end included); `in_secs` > 0.
    Soon { at: Timestamp, in_secs: u64 },
    /// Expired at or before now; `ago_secs` >= 0.
    Expired { at: Timestamp, ago_secs: u64 },
}

impl ExpiryState {
    /// Classifies `at`. Expiry is inclusive (a token whose expiry equals now is expired, as the
    /// provider would treat it), and so is the end of the warning window ("within 14 days"
    /// includes exactly 14 days).
    pub fn of(at: Option<Timestamp>, now: Timestamp, warning: Duration) -> ExpiryState {
        let Some(at) = at else {
            return ExpiryState::None;
        };
        // i128 so that no pair of i64 timestamps can overflow the difference.
        let left = i128::from(at.0) - i128::from(now.0);
        if left <= 0 {
            return ExpiryState::Expired {
                at,
                ago_secs: clamp_u64(-left),
            };
        }
        let in_secs = clamp_u64(left);
        if in_secs <= warning.as_secs() {
            ExpiryState::Soon { at, in_secs }
        } else {
            ExpiryState::Fine { at }
        }
    }

    /// The expiry, if any.
    pub fn at(&self) -> Option<Timestamp> {
        match *self {
            ExpiryState::None => None,
            ExpiryState::Fine { at }
            | ExpiryState::Soon { at, .. }
            | ExpiryState::Expired { at, .. } => Some(at),
        }
    }

    /// Soon or expired: what the audit's "needs attention" filter and `--fail-on-expiring` count.
    pub fn needs_attention(&self) -> bool {
        matches!(self, ExpiryState::Soon { .. } | ExpiryState::Expired { .. })
    }

    /// A stable word for scripts: none, fine, soon, expired.
    pub fn as_str(&self) -> &'static str {
        match self {
            ExpiryState::None => "none",
            ExpiryState::Fine { .. } => "fine",
            ExpiryState::Soon { .. } => "soon",
            ExpiryState::Expired { .. } => "expired",
        }
    }

    /// "expires in 3d", "expired 2h ago", "no expiry". A Fine state needs `now` for its
    /// distance, which it does not keep; `text_at` gives it.
    pub fn text(&self) -> String {
        match *self {
            ExpiryState::None => "no expiry".to_string(),
            ExpiryState::Fine { at } => format!("expires {}", at.rfc3339()),
            ExpiryState::Soon { in_secs, .. } => expires_in_text(in_secs),
            ExpiryState::Expired { ago_secs, .. } => expired_ago_text(ago_secs),
        }
    }

    /// The same text with the distance for every state ("expires in 40d" for a Fine one).
    pub fn text_at(&self, now: Timestamp) -> String {
        match *self {
            ExpiryState::Fine { at } => expires_in_text(secs_until(at, now)),
            _ => self.text(),
        }
    }
}

impl fmt::Display for ExpiryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// The state of the expiry that needs a person (`lapses_at`).
pub fn expiry_state(c: &Credential, now: Timestamp, warning: Duration) -> ExpiryState {
    ExpiryState::of(lapses_at(c), now, warning)
}

/// Whether verification should refresh the OAuth2 access token before anything else: there is a
/// refresh token, and either no access token at all or one whose known expiry falls within
/// `margin` of now (already expired included). An access token with no known expiry is not
/// refreshed ahead: the verifier tries it and refreshes only if the provider refuses it.
pub fn needs_refresh(c: &Credential, now: Timestamp, margin: Duration) -> bool {
    has_refresh_token(c)
        && refresh_due(has_value(c, "access_token"), expires_at(c), now, margin).is_some()
}

/// Why a credential that has a refresh token should refresh before anything else (the rule of
/// `needs_refresh`, on parts a verifier already holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDue {
    NoAccessToken,
    /// The access token expires (or expired) at this time, within the margin.
    Expiring(Timestamp),
}

/// `needs_refresh`'s rule for a credential with a refresh token, given whether it has an
/// access token and that token's known expiry.
pub fn refresh_due(
    has_access_token: bool,
    access_expiry: Option<Timestamp>,
    now: Timestamp,
    margin: Duration,
) -> Option<RefreshDue> {
    if !has_access_token {
        return Some(RefreshDue::NoAccessToken);
    }
    access_expiry
        .filter(|at| due_within(*at, now, margin))
        .map(RefreshDue::Expiring)
}

/// Whether `at` falls within `margin` of `now` (or is already past).
pub fn due_within(at: Timestamp, now: Timestamp, margin: Duration) -> bool {
    i128::from(at.0) - i128::from(now.0) <= i128::from(margin.as_secs())
}

/// Seconds from `now` until `at`; zero once it is past.
pub fn secs_until(at: Timestamp, now: Timestamp) -> u64 {
    clamp_u64(i128::from(at.0) - i128::from(now.0))
}

/// "expires in 3d".
fn expires_in_text(secs: u64) -> String {
    format!("expires in {}", span(secs))
}

/// "expired 2h ago" ("expired just now" at zero, which reads better than "0s ago").
fn expired_ago_text(secs: u64) -> String {
    if secs == 0 {
        "expired just now".to_string()
    } else {
        format!("expired {} ago", span(secs))
    }
}

fn clamp_u64(v: i128) -> u64 {
    u64::try_from(v.max(0)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    use secrecy::SecretString;

    const NOW: Timestamp = Timestamp(1_780_000_000);
    const DAY: i64 = 86_400;

    /// A credential with these public fields and these secrets (each set to "<name>-value").
    fn cred(public: &[(&str, &str)], secrets: &[&str]) -> Credential {
        let values: Vec<String> = secrets.iter().map(|n| format!("{n}-value")).collect();
        let pairs: Vec<(&str, &str)> = secrets
            .iter()
            .zip(&values)
            .map(|(n, v)| (*n, v.as_str()))
            .collect();
        Credential::with_fields(public, &pairs)
    }

    fn at(offset: i64) -> Timestamp {
        Timestamp(NOW.0 + offset)
    }

    #[test]
    fn states_at_the_boundaries() {
        let w = warning_window(14);
        assert_eq!(ExpiryState::of(None, NOW, w), ExpiryState::None);
        // Exactly now is expired, zero seconds ago.
        assert_eq!(
            ExpiryState::of(Some(NOW), NOW, w),
            ExpiryState::Expired {
                at: NOW,
                ago_secs: 0
            }
        );
        assert_eq!(
            ExpiryState::of(Some(at(-1)), NOW, w),
            ExpiryState::Expired {
                at: at(-1),
                ago_secs: 1
            }
        );
        assert_eq!(
            ExpiryState::of(Some(at(1)), NOW, w),
            ExpiryState::Soon {
                at: at(1),
                in_secs: 1
            }
        );
        // The window's last second is still "soon"; one more is fine.
        assert_eq!(
            ExpiryState::of(Some(at(14 * DAY)), NOW, w),
            ExpiryState::Soon {
                at: at(14 * DAY),
                in_secs: 14 * DAY as u64
            }
        );
        assert_eq!(
            ExpiryState::of(Some(at(14 * DAY + 1)), NOW, w),
            ExpiryState::Fine {
                at: at(14 * DAY + 1)
            }
        );
        // A zero window: only expired or fine.
        assert_eq!(
            ExpiryState::of(Some(at(1)), NOW, Duration::ZERO),
            ExpiryState::Fine { at: at(1) }
        );
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let w = warning_window(u64::MAX);
        assert_eq!(w, Duration::from_secs(u64::MAX));
        let far = Timestamp(i64::MAX);
        let past = Timestamp(i64::MIN);
        assert!(matches!(
            ExpiryState::of(Some(far), past, w),
            ExpiryState::Soon { .. }
        ));
        assert_eq!(
            ExpiryState::of(Some(past), far, w),
            ExpiryState::Expired {
                at: past,
                ago_secs: u64::MAX
            }
        );
        assert_eq!(refresh_margin(u64::MAX), Duration::from_secs(u64::MAX));
    }

    #[test]
    fn needs_attention_and_words() {
        let w = warning_window(14);
        let fine = ExpiryState::of(Some(at(30 * DAY)), NOW, w);
        let soon = ExpiryState::of(Some(at(3 * DAY)), NOW, w);
        let gone = ExpiryState::of(Some(at(-2 * 3600)), NOW, w);
        assert!(!ExpiryState::None.needs_attention() && !fine.needs_attention());
        assert!(soon.needs_attention() && gone.needs_attention());
        assert_eq!(
            [ExpiryState::None, fine, soon, gone].map(|s| s.as_str()),
            ["none", "fine", "soon", "expired"]
        );
        assert_eq!(soon.at(), Some(at(3 * DAY)));
        assert_eq!(ExpiryState::None.at(), None);
    }

    #[test]
    fn human_text() {
        let w = warning_window(14);
        assert_eq!(
            ExpiryState::of(Some(at(3 * DAY)), NOW, w).to_string(),
            "expires in 3d"
        );
        // Rounded down: 3 days 23 hours is still "3d".
        assert_eq!(
            ExpiryState::of(Some(at(4 * DAY - 3600)), NOW, w).text(),
            "expires in 3d"
        );
        assert_eq!(
            ExpiryState::of(Some(at(-2 * 3600)), NOW, w).text(),
            "expired 2h ago"
        );
        assert_eq!(
            ExpiryState::of(Some(NOW), NOW, w).text(),
            "expired just now"
        );
        assert_eq!(ExpiryState::None.text(), "no expiry");
        let fine = ExpiryState::of(Some(at(40 * DAY)), NOW, w);
        assert_eq!(fine.text_at(NOW), "expires in 40d");
        assert!(fine.text().starts_with("expires 20"), "{}", fine.text());
        assert_eq!(
            [0, 59, 60, 3_599, 3_600, 86_399, 86_400].map(span),
            ["0s", "59s", "1m", "59m", "1h", "23h", "1d"]
        );
    }

    #[test]
    fn expiry_fields_are_read_from_public_values() {
        let c = cred(
            &[
                ("expires_at", "2026-06-01T00:00:00Z"),
                ("refresh_expires_at", "2026-07-01"),
            ],
            &[],
        );
        assert_eq!(expires_at(&c), parse_user_time("2026-06-01T00:00:00Z"));
        assert_eq!(refresh_expires_at(&c), parse_user_time("2026-07-01"));
        assert_eq!(expires_at(&cred(&[("expires_at", "  ")], &[])), None);
        assert_eq!(expires_at(&cred(&[("expires_at", "soon")], &[])), None);
        assert_eq!(expires_at(&cred(&[], &[])), None);
    }

    #[test]
    fn a_refresh_token_moves_the_lapse_to_its_own_expiry() {
        let access = at(3600).rfc3339();
        let refresh = at(20 * DAY).rfc3339();
        let fields = [
            ("expires_at", access.as_str()),
            ("refresh_expires_at", refresh.as_str()),
        ];
        // An API key (or token with no refresh token): its own date counts.
        let key = cred(&fields[..1], &["api_key"]);
        assert_eq!(lapses_at(&key), Some(at(3600)));
        assert!(matches!(
            expiry_state(&key, NOW, warning_window(14)),
            ExpiryState::Soon { in_secs: 3600, .. }
        ));
        // With a refresh token the hourly access expiry is routine; the refresh token's counts.
        let oauth = cred(&fields, &["access_token", "refresh_token"]);
        assert_eq!(lapses_at(&oauth), Some(at(20 * DAY)));
        assert!(matches!(
            expiry_state(&oauth, NOW, warning_window(14)),
            ExpiryState::Fine { .. }
        ));
        let oauth_no_refresh_expiry = cred(&fields[..1], &["access_token", "refresh_token"]);
        assert_eq!(
            expiry_state(&oauth_no_refresh_expiry, NOW, warning_window(14)),
            ExpiryState::None
        );
    }

    #[test]
    fn what_lapses_is_what_keyway_cannot_renew() {
        let access = at(3600).rfc3339();
        let secret_date = at(10 * DAY).rfc3339();
        // Client credentials: the access token is renewed by a new grant; nothing lapses.
        let client = cred(
            &[("expires_at", &access)],
            &["client_secret", "access_token"],
        );
        assert_eq!(renewal(&client), Some(Renewal::ClientCredentials));
        assert_eq!(lapses_at(&client), None);
        // ...until the client secret's own date.
        let dated = cred(
            &[
                ("expires_at", &access),
                ("client_secret_expires_at", &secret_date),
            ],
            &["client_secret", "access_token"],
        );
        assert_eq!(lapses_at(&dated), Some(at(10 * DAY)));
        // A refresh token wins over the client secret; the earlier of its date and the secret's.
        let refresh_date = at(20 * DAY).rfc3339();
        let both = cred(
            &[
                ("expires_at", &access),
                ("refresh_expires_at", &refresh_date),
                ("client_secret_expires_at", &secret_date),
            ],
            &["client_secret", "access_token", "refresh_token"],
        );
        assert_eq!(renewal(&both), Some(Renewal::RefreshToken));
        assert_eq!(lapses_at(&both), Some(at(10 * DAY)));
        // An access token alone: nothing renews it, so its expiry is the date.
        let alone = cred(&[("expires_at", &access)], &["access_token"]);
        assert_eq!((renewal(&alone), lapses_at(&alone)), (None, Some(at(3600))));
    }

    #[test]
    fn refresh_is_needed_within_the_margin_only() {
        let margin = refresh_margin(5);
        let with_expiry = |offset: i64, secrets: &[&str]| {
            let text = at(offset).rfc3339();
            needs_refresh(&cred(&[("expires_at", &text)], secrets), NOW, margin)
        };
        let both = ["access_token", "refresh_token"];
        assert!(with_expiry(120, &both), "2 minutes left");
        assert!(with_expiry(300, &both), "exactly the margin");
        assert!(!with_expiry(301, &both), "one second beyond the margin");
        assert!(!with_expiry(2 * 3600, &both), "2 hours left");
        assert!(with_expiry(-60, &both), "already expired");
        // Nothing to refresh with.
        assert!(!with_expiry(120, &["access_token"]));
        // A refresh token and no access token: refresh to get one.
        assert!(needs_refresh(&cred(&[], &["refresh_token"]), NOW, margin));
        // An access token of unknown expiry is tried first, not refreshed ahead.
        assert!(!needs_refresh(&cred(&[], &both), NOW, margin));
        // A blank refresh token is no refresh token.
        let mut blank = cred(&[], &["access_token"]);
        blank
            .secrets
            .insert("refresh_token", SecretString::from(" ".to_string()));
        assert!(!needs_refresh(&blank, NOW, Duration::from_secs(u64::MAX)));
        assert!(!has_refresh_token(&blank));
    }
}
