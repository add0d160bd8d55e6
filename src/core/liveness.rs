//! Whether a face that stays open (the TUI) can reach its team vault's server: online,
//! offline (the server went away: the last snapshot is kept and writes are refused), or
//! reconnecting (an attempt is under way). A pure state machine: the runtime reports what
//! happened (the change feed's connection was lost, an attempt failed or succeeded) and does
//! what it says (wait this long, then try again), so the rules live here and are tested here.
//!
//! ```text
//!  Online ──lost──> Offline{attempt 0} ──wait backoff(0)──> Reconnecting{0}
//!    ▲                    ▲                                        │
//!    │                    └───────── failed: attempt + 1 ──────────┤
//!    └──────────────────────── connected (reloaded) ───────────────┘
//! ```
//!
//! The wait doubles from `FIRST_WAIT` up to `LONGEST_WAIT`, and starts again from the first
//! once a connection succeeds.

use std::time::Duration;

/// The wait before the first reconnection attempt.
pub const FIRST_WAIT: Duration = Duration::from_millis(500);
/// The most the wait grows to.
pub const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// Where the link to the server stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Online,
    /// The server cannot be reached; `attempt` attempts have failed since it went away, and
    /// the next one is due after `backoff(attempt)`.
    Offline {
        attempt: u32,
        why: String,
    },
    /// Attempt number `attempt` (from 0) is under way.
    Reconnecting {
        attempt: u32,
        why: String,
    },
}

/// What the runtime is to do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing (already where the event leads).
    Nothing,
    /// Wait this long, then attempt to connect (and report `attempt_started`).
    RetryAfter(Duration),
    /// Connected again: reload everything (a teammate's changes while offline were missed).
    Reload,
}

/// The wait before attempt `attempt` (0-based): 0.5 s, 1 s, 2 s, ... at most 10 s.
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
    FIRST_WAIT.saturating_mul(factor).min(LONGEST_WAIT)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liveness {
    link: Link,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness::online()
    }
}

impl Liveness {
    pub fn online() -> Liveness {
        Liveness { link: Link::Online }
    }

    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Whether writes are refused: whenever the server is not known to be reachable.
    pub fn read_only(&self) -> bool {
        self.link != Link::Online
    }

    /// Why the server cannot be reached, while it cannot.
    pub fn why(&self) -> Option<&str> {
        match &self.link {
            Link::Online => None,
            Link::Offline { why, .. } | Link::Reconnecting { why, .. } => Some(why),
        }
    }

    /// The connection was lost (the feed's connection ended, or a read or write found the
    /// server gone). While an attempt is under way or due, nothing more is to be done.
    pub fn lost(&mut self, why: String) -> Next {
        match self.link {
            Link::Online => {
                self.link = Link::Offline { attempt: 0, why };
                Next::RetryAfter(backoff(0))
            }
            Link::Offline { .. } | Link::Reconnecting { .. } => Next::Nothing,
        }
    }

    /// The runtime began the attempt that `RetryAfter` asked for.
    pub fn attempt_started(&mut self) {
        if let Link::Offline { attempt, why } = &self.link {
            self.link = Link::Reconnecting {
                attempt: *attempt,
                why: why.clone(),
            };
        }
    }

    /// The attempt failed: offline again, the next attempt after a longer wait.
    pub fn attempt_failed(&mut self, why: String) -> Next {
        let attempt = match &self.link {
            Link::Online => return Next::Nothing,
            Link::Offline { attempt, .. } | Link::Reconnecting { attempt, .. } => *attempt,
        };
        let next = attempt.saturating_add(1);
        self.link = Link::Offline { attempt: next, why };
        Next::RetryAfter(backoff(next))
    }

    /// The attempt succeeded: online, the backoff reset, and everything to be reloaded.
    pub fn connected(&mut self) -> Next {
        match self.link {
            Link::Online => Next::Nothing,
            Link::Offline { .. } | Link::Reconnecting { .. } => {
                self.link = Link::Online;
                Next::Reload
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_half_a_second_to_ten_seconds() {
        let waits: Vec<u64> = (0..8).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
        assert_eq!(backoff(u32::MAX), LONGEST_WAIT);
    }

    #[test]
    fn online_offline_reconnecting_online_and_the_backoff_resets() {
        let mut live = Liveness::online();
        assert!(!live.read_only());
        assert_eq!(live.lost("gone".into()), Next::RetryAfter(backoff(0)));
        assert!(live.read_only());
        assert_eq!(live.why(), Some("gone"));
        // A second loss while offline (a write that found the server gone) changes nothing.
        assert_eq!(live.lost("again".into()), Next::Nothing);
        live.attempt_started();
        assert!(matches!(live.link(), Link::Reconnecting { attempt: 0, .. }));
        assert!(live.read_only());
        assert_eq!(
            live.attempt_failed("refused".into()),
            Next::RetryAfter(backoff(1))
        );
        live.attempt_started();
        assert_eq!(
            live.attempt_failed("refused".into()),
            Next::RetryAfter(backoff(2))
        );
        assert_eq!(live.why(), Some("refused"));
        live.attempt_started();
        assert_eq!(live.connected(), Next::Reload);
        assert_eq!(live.link(), &Link::Online);
        assert!(!live.read_only());
        // Lost again: the wait starts from the first.
        assert_eq!(live.lost("gone".into()), Next::RetryAfter(FIRST_WAIT));
    }

    #[test]
    fn events_that_do_not_apply_change_nothing() {
        let mut live = Liveness::online();
        assert_eq!(live.connected(), Next::Nothing);
        assert_eq!(live.attempt_failed("x".into()), Next::Nothing);
        live.attempt_started();
        assert_eq!(live, Liveness::online());
    }
}
