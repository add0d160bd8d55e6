//! The one save decision, "nothing invalid is saved", for every face: the CLI's `credential add`,
//! `edit` and `login`, the TUI's form (and with it the wizard's and promotion's inline adds), and
//! `import`. A live check of the credential comes first; its result decides.

use super::domain::{Status, Verification};

/// What the save rule says about a credential, given the result of checking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveDecision {
    /// Save it, with this result as its newest.
    Save(Verification),
    /// Nothing is saved: the service said no (rejected), or the fields cannot form a request
    /// (misconfigured).
    Refuse { status: Status, reason: String },
    /// Nothing is saved: the service could not be reached. Saving it marked unverified is the
    /// user's explicit choice, to be asked for (`decide(check, true)`).
    Unreachable { reason: String },
}

/// Decides on `check`, the result of verifying the credential about to be saved.
/// `save_unverified`: the user asked to save it even if the service cannot be reached; it is
/// then saved marked unverified, keeping what the check found (reason, latency, detail) so an
/// audit can say why.
pub fn decide(check: Verification, save_unverified: bool) -> SaveDecision {
    match check.status {
        Status::Verified => SaveDecision::Save(check),
        Status::Unreachable if save_unverified => SaveDecision::Save(Verification {
            status: Status::Unverified,
            reason: format!("Saved unverified: {}", check.reason),
            ..check
        }),
        Status::Unreachable => SaveDecision::Unreachable {
            reason: check.reason,
        },
        // A check never answers Unverified; if one did, it proved nothing.
        status @ (Status::Rejected | Status::Misconfigured | Status::Unverified) => {
            SaveDecision::Refuse {
                status,
                reason: check.reason,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Timestamp;

    fn check(status: Status, reason: &str) -> Verification {
        Verification {
            status,
            reason: reason.into(),
            detail: Some("PostgreSQL 15.8".into()),
            latency_ms: Some(40),
            at: Timestamp(7),
            run: None,
            tls: None,
        }
    }

    #[test]
    fn only_a_verified_credential_is_saved_unless_unreachable_and_asked() {
        let ok = check(Status::Verified, "accepted");
        assert_eq!(decide(ok.clone(), false), SaveDecision::Save(ok.clone()));
        assert_eq!(decide(ok.clone(), true), SaveDecision::Save(ok));
        for status in [Status::Rejected, Status::Misconfigured] {
            for asked in [false, true] {
                assert_eq!(
                    decide(check(status, "no"), asked),
                    SaveDecision::Refuse {
                        status,
                        reason: "no".into()
                    }
                );
            }
        }
        assert_eq!(
            decide(check(Status::Unreachable, "refused"), false),
            SaveDecision::Unreachable {
                reason: "refused".into()
            }
        );
    }

    #[test]
    fn saved_unverified_keeps_what_the_check_found() {
        let saved = decide(check(Status::Unreachable, "Connection refused."), true);
        assert_eq!(
            saved,
            SaveDecision::Save(Verification {
                status: Status::Unverified,
                reason: "Saved unverified: Connection refused.".into(),
                ..check(Status::Unreachable, "")
            })
        );
    }
}
