//! How an expiry reads on screen (the audit table, the detail view): "in 3d", "⚠ in 3d" in the
//! warning colour within the window, "expired 2d ago" in red.

use ratatui::text::Span;

use super::theme::Theme;
use crate::core::expiry::ExpiryState;
use crate::core::time::Timestamp;

/// "in 3d", or "expired 2d ago".
pub fn expiry_text(expires: Timestamp, now: Timestamp) -> String {
    if expires <= now {
        format!("expired {}", expires.relative_to(now))
    } else {
        expires.relative_to(now)
    }
}

/// An expiry as the audit table and the detail view show it: red once expired, ⚠ and the
/// warning colour within the window, dim `none` when there is none; `dated` adds the date to
/// an expiry still ahead.
pub fn expiry_span(
    e: ExpiryState,
    now: Timestamp,
    t: &Theme,
    none: &'static str,
    dated: bool,
) -> Span<'static> {
    let text = |at: Timestamp| match dated {
        true => format!("{} ({})", expiry_text(at, now), at.rfc3339()),
        false => expiry_text(at, now),
    };
    match e {
        ExpiryState::None => Span::styled(none, t.dim()),
        ExpiryState::Expired { at, .. } => Span::styled(expiry_text(at, now), t.error()),
        ExpiryState::Soon { at, .. } => Span::styled(format!("⚠ {}", text(at)), t.warn()),
        ExpiryState::Fine { at } => Span::raw(text(at)),
    }
}
