//! How a credential stands at a glance, and a group of them (a component's tile, a flow, a
//! workspace): the worst of its members. One rule for every face: rejected or misconfigured is
//! failing; unreachable, unverified or expiring (by `core::expiry`'s rule: what keyway cannot
//! renew) needs attention; never checked is unchecked; verified and not expiring is good.

use super::expiry::ExpiryState;
use super::{Credential, Status};

/// Worst first, so the worst of a group is its minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    Failing,
    Attention,
    Unchecked,
    Good,
}

impl Health {
    pub const ALL: [Health; 4] = [
        Health::Failing,
        Health::Attention,
        Health::Unchecked,
        Health::Good,
    ];

    /// By the last verification's status alone (None: never checked).
    pub fn of_status(status: Option<Status>) -> Health {
        match status {
            Some(Status::Rejected | Status::Misconfigured) => Health::Failing,
            Some(Status::Unreachable | Status::Unverified) => Health::Attention,
            None => Health::Unchecked,
            Some(Status::Verified) => Health::Good,
        }
    }

    /// A credential, given where its expiry stands.
    pub fn of(c: &Credential, expiry: ExpiryState) -> Health {
        let by_status = Health::of_status(c.last_verification.as_ref().map(|v| v.status));
        if expiry.needs_attention() {
            by_status.min(Health::Attention)
        } else {
            by_status
        }
    }

    /// The worst of a group; None for an empty one.
    pub fn worst(members: impl IntoIterator<Item = Health>) -> Option<Health> {
        members.into_iter().min()
    }

    /// The glyph that carries the health where colour does not (NO_COLOR, 16 colours).
    pub fn glyph(self) -> &'static str {
        match self {
            Health::Failing => "✗",
            Health::Attention => "!",
            Health::Unchecked => "○",
            Health::Good => "✓",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Health::Failing => "failing",
            Health::Attention => "needs attention",
            Health::Unchecked => "never checked",
            Health::Good => "good",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Timestamp;

    #[test]
    fn a_group_is_as_healthy_as_its_worst_member() {
        assert_eq!(
            Health::worst([Health::Good, Health::Failing, Health::Attention]),
            Some(Health::Failing)
        );
        assert_eq!(
            Health::worst([Health::Good, Health::Unchecked]),
            Some(Health::Unchecked)
        );
        assert_eq!(Health::worst([]), None);
        assert_eq!(
            Health::of_status(Some(Status::Misconfigured)),
            Health::Failing
        );
        assert_eq!(
            Health::of_status(Some(Status::Unverified)),
            Health::Attention
        );
    }

    #[test]
    fn expiring_makes_a_verified_credential_need_attention_but_never_hides_a_failure() {
        let soon = ExpiryState::of(
            Some(Timestamp(1_000 + 3_600)),
            Timestamp(1_000),
            std::time::Duration::from_secs(14 * 86_400),
        );
        assert!(soon.needs_attention());
        let mut c = Credential {
            id: crate::core::RecordId("c1".into()),
            workspace: crate::core::RecordId("w1".into()),
            component: "stripe".into(),
            name: "n".into(),
            environment: crate::core::Environment::Staging,
            public: Default::default(),
            secrets: Default::default(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            last_verification: None,
            revision: Default::default(),
            password_changed_at: None,
            pending_rotation: None,
        };
        assert_eq!(Health::of(&c, ExpiryState::None), Health::Unchecked);
        assert_eq!(Health::of(&c, soon), Health::Attention);
        c.last_verification = Some(crate::core::Verification {
            status: Status::Rejected,
            reason: "no".into(),
            detail: None,
            latency_ms: None,
            at: Timestamp(900),
            run: None,
            tls: None,
        });
        assert_eq!(Health::of(&c, soon), Health::Failing);
    }
}
