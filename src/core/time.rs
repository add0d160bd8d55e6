//! Time as the core sees it: whole seconds since the Unix epoch, passed in by the edges (the core
//! never reads the clock), and formatted for people.

use serde::{Deserialize, Serialize};

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// A duration in its largest whole unit: 45s, 5m, 2h, 3d. Rounded down, so a warning never
/// promises more time than is left.
pub fn span(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}

impl Timestamp {
    /// The earliest and latest times RFC 3339 can write: years 0000 to 9999.
    pub const RFC3339_MIN: Timestamp = Timestamp(-62_167_219_200);
    pub const RFC3339_MAX: Timestamp = Timestamp(253_402_300_799);

    /// Whether this time can be written as RFC 3339 (every time keyway itself makes can).
    pub fn is_rfc3339(self) -> bool {
        (Self::RFC3339_MIN..=Self::RFC3339_MAX).contains(&self)
    }

    /// RFC 3339 in UTC, e.g. `2026-11-25T20:01:02Z`.
    pub fn rfc3339(self) -> String {
        time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| format!("@{}", self.0))
    }

    /// "3m ago", "2d ago", "in 5h" relative to `now`.
    pub fn relative_to(self, now: Timestamp) -> String {
        // Saturating: a timestamp from an imported file may be anywhere in i64.
        let delta = now.0.saturating_sub(self.0);
        let text = span(delta.unsigned_abs());
        if delta < 0 {
            format!("in {text}")
        } else {
            format!("{text} ago")
        }
    }
}

/// Parses a user-typed time: RFC 3339, or a date `YYYY-MM-DD` (midnight UTC).
pub fn parse_user_time(text: &str) -> Option<Timestamp> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(Timestamp(t.unix_timestamp()));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .ok()
        .map(|d| Timestamp(d.midnight().assume_utc().unix_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let t = Timestamp(1_764_100_862);
        assert_eq!(t.rfc3339(), "2025-11-25T20:01:02Z");
        assert_eq!(parse_user_time(&t.rfc3339()), Some(t));
        assert_eq!(
            parse_user_time("2026-01-02"),
            Some(Timestamp(1_767_312_000))
        );
        assert_eq!(parse_user_time("tomorrow"), None);
        assert_eq!(parse_user_time("2026-13-01"), None);
    }

    #[test]
    fn the_rfc3339_range_is_exactly_what_formats() {
        assert_eq!(Timestamp::RFC3339_MIN.rfc3339(), "0000-01-01T00:00:00Z");
        assert_eq!(Timestamp::RFC3339_MAX.rfc3339(), "9999-12-31T23:59:59Z");
        assert!(!Timestamp(Timestamp::RFC3339_MAX.0 + 1).is_rfc3339());
        assert!(!Timestamp(i64::MAX).is_rfc3339());
        assert!(Timestamp(0).is_rfc3339());
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = Timestamp(10_000);
        assert_eq!(Timestamp(9_990).relative_to(now), "10s ago");
        assert_eq!(Timestamp(10_000 - 180).relative_to(now), "3m ago");
        assert_eq!(Timestamp(10_000 + 7200).relative_to(now), "in 2h");
    }
}
